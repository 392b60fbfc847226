package reconcile

import (
	"sort"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// DesiredInput is one stream that should be pulled into a room.
type DesiredInput struct {
	Key        StreamKey
	Room       string
	URL        string
	Views      []string
	Media      policy.Media
	Transport  string
	BufferSize int
	// Param is the stored form of the publish query (policy.StoredParam:
	// what routes read, never a token), "" when unknown or nothing kept.
	Param string
	// AttrParam is what of it goes into the streaming-in's attributes
	// (policy.AttributeParam).
	AttrParam string
	Hint      bool // known only from an on_publish hook, not yet listed by SRS
}

// DesiredRoom is a room that should exist with the given inputs.
type DesiredRoom struct {
	Name    string
	Create  bool
	Options map[string]any
	Inputs  map[StreamKey]*DesiredInput
	// Outputs are the room's streaming-outs and recordings (room.outputs of
	// the routes that send streams here), one per key.
	Outputs []policy.Output
}

// addOutputs merges a route's outputs into the room's: the first route
// that declares an output key wins.
func (r *DesiredRoom) addOutputs(outs []policy.Output) {
	for _, o := range outs {
		dup := false
		for _, have := range r.Outputs {
			if have.Key() == o.Key() {
				dup = true
				break
			}
		}
		if !dup {
			r.Outputs = append(r.Outputs, o)
		}
	}
}

// Desired is the whole desired state.
type Desired struct {
	Rooms map[string]*DesiredRoom
	ByKey map[StreamKey]string // stream -> room
	// ByIdent maps what makes a stream one input (see
	// policy.Reconcile.OneInputPer) to the key it is pulled by.
	ByIdent map[StreamKey]StreamKey
	// Denied and Ignored count streams the policy keeps out of OWT.
	Denied, Ignored int
	// Looped counts streams that the agent's own outputs push into SRS:
	// never routed back into OWT (counted in Ignored too).
	Looped int
	// Errors are streams the policy could not place (bad rendered name, ...).
	Errors []string
	// Unroutable are the streams a route would send to OWT but that cannot
	// be routed safely, with the reason (Errors are among them).
	Unroutable map[StreamKey]string
	// LiveStreams is the number of active streams SRS listed, over all servers.
	LiveStreams int
}

// Source is one SRS server's reading.
type Source struct {
	Name     string
	Pull     string
	Snapshot srsapi.Snapshot
}

// Hint is what an on_publish or on_unpublish hook said about a stream
// before SRS's listing confirms it.
type Hint struct {
	Key       StreamKey
	Published bool
	ClientID  string
	Param     string
	At        time.Time
}

// DesiredInputs says how desired state is computed.
type DesiredInputs struct {
	Policy  *policy.Policy
	Sources []Source
	// ParamOf returns the stored publish query of a listed stream (by its
	// key and publisher client id), or "" when unknown.
	ParamOf func(key StreamKey, cid string) string
	// Hints are on_publish hints still waiting for SRS to list the stream.
	Hints []Hint
	// Held reports whether the agent holds an input for the key: a stream
	// listed by several servers stays pulled from the one it is pulled from.
	Held func(StreamKey) bool
}

// Ident is what makes k one input: k itself when each server's copy is its
// own input (perServer), else k without its server.
func Ident(k StreamKey, perServer bool) StreamKey {
	if perServer {
		return k
	}
	return StreamKey{Vhost: k.Vhost, App: k.App, Stream: k.Stream}
}

// ComputeDesired maps SRS's active streams (and pending publish hints)
// through the policy.
//
// A stream listed by several servers is one input unless the policy says
// one_input_per: server: it is pulled from the server the agent already
// pulls it from while that server lists it, else from the first server (in
// agent.yaml order) that lists it. Hints of a stream listed anywhere add
// nothing.
func ComputeDesired(in DesiredInputs) *Desired {
	d := &Desired{Rooms: map[string]*DesiredRoom{}, ByKey: map[StreamKey]string{}, ByIdent: map[StreamKey]StreamKey{}, Unroutable: map[StreamKey]string{}}
	perServer := in.Policy != nil && in.Policy.Reconcile.PerServer()
	pulls := map[string]string{}
	type listed struct {
		key       StreamKey
		pull, cid string
	}
	var order []StreamKey
	byIdent := map[StreamKey][]listed{}
	for _, src := range in.Sources {
		pulls[src.Name] = src.Pull
		for _, s := range src.Snapshot.Streams {
			if !s.Publish.Active {
				continue
			}
			d.LiveStreams++
			key := StreamKey{Server: src.Name, Vhost: s.VhostName, App: s.App, Stream: s.Name}
			id := Ident(key, perServer)
			if _, seen := byIdent[id]; !seen {
				order = append(order, id)
			}
			byIdent[id] = append(byIdent[id], listed{key: key, pull: src.Pull, cid: s.Publish.CID})
		}
	}
	for _, id := range order {
		copies := byIdent[id]
		pick := copies[0]
		for _, c := range copies {
			if in.Held != nil && in.Held(c.key) {
				pick = c
				break
			}
		}
		param := ""
		if in.ParamOf != nil {
			param = in.ParamOf(pick.key, pick.cid)
		}
		if d.add(in.Policy, pick.key, pick.pull, param, false) {
			d.ByIdent[id] = pick.key
		}
	}
	hints := append([]Hint(nil), in.Hints...)
	sort.Slice(hints, func(i, j int) bool {
		if !hints[i].At.Equal(hints[j].At) {
			return hints[i].At.Before(hints[j].At)
		}
		return hints[i].Key.String() < hints[j].Key.String()
	})
	for _, h := range hints {
		if !h.Published {
			continue
		}
		id := Ident(h.Key, perServer)
		if _, listed := d.ByIdent[id]; listed {
			continue
		}
		if d.add(in.Policy, h.Key, pulls[h.Key.Server], h.Param, true) {
			d.ByIdent[id] = h.Key
		}
	}
	sort.Strings(d.Errors)
	return d
}

// add routes one stream; it reports whether the stream went into a room.
func (d *Desired) add(p *policy.Policy, key StreamKey, pull, param string, hint bool) bool {
	if p == nil {
		return false
	}
	t, err := p.Resolve(policy.Input{Server: key.Server, PullBase: pull, Vhost: key.Vhost, App: key.App, Stream: key.Stream, Param: srsapi.ParseParam(param)})
	if err != nil {
		d.Errors = append(d.Errors, clipKey(key)+": "+err.Error())
		d.Unroutable[key] = err.Error()
		return false
	}
	switch t.Action {
	case policy.ActionDeny:
		d.Denied++
		return false
	case policy.ActionRoute:
	default:
		d.Ignored++
		if t.Loop {
			d.Looped++
		}
		return false
	}
	if t.Unroutable != "" {
		d.Unroutable[key] = t.Unroutable
		return false
	}
	r := d.Rooms[t.Room]
	if r == nil {
		r = &DesiredRoom{Name: t.Room, Create: t.Create, Options: t.RoomOptions, Inputs: map[StreamKey]*DesiredInput{}}
		d.Rooms[t.Room] = r
	}
	// A room any route may create is creatable.
	r.Create = r.Create || t.Create
	if r.Options == nil {
		r.Options = t.RoomOptions
	}
	r.addOutputs(t.Outputs)
	r.Inputs[key] = &DesiredInput{Key: key, Room: t.Room, URL: t.PullURL, Views: t.Views, Media: t.Media,
		Transport: t.Transport, BufferSize: t.BufferSize, Param: param, AttrParam: p.AttributeParam(param), Hint: hint}
	d.ByKey[key] = t.Room
	return true
}

// Room returns the desired room by name, or nil.
func (d *Desired) Room(name string) *DesiredRoom {
	if d == nil {
		return nil
	}
	return d.Rooms[name]
}
