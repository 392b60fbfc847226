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
}

// Desired is the whole desired state.
type Desired struct {
	Rooms map[string]*DesiredRoom
	ByKey map[StreamKey]string // stream -> room
	// Denied and Ignored count streams the policy keeps out of OWT.
	Denied, Ignored int
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
}

// ComputeDesired maps SRS's active streams (and pending publish hints)
// through the policy.
func ComputeDesired(in DesiredInputs) *Desired {
	d := &Desired{Rooms: map[string]*DesiredRoom{}, ByKey: map[StreamKey]string{}, Unroutable: map[StreamKey]string{}}
	pulls := map[string]string{}
	for _, src := range in.Sources {
		pulls[src.Name] = src.Pull
		for _, s := range src.Snapshot.Streams {
			if !s.Publish.Active {
				continue
			}
			d.LiveStreams++
			key := StreamKey{Server: src.Name, Vhost: s.VhostName, App: s.App, Stream: s.Name}
			param := ""
			if in.ParamOf != nil {
				param = in.ParamOf(key, s.Publish.CID)
			}
			d.add(in.Policy, key, src.Pull, param, false)
		}
	}
	for _, h := range in.Hints {
		if !h.Published {
			continue
		}
		if _, listed := d.ByKey[h.Key]; listed {
			continue
		}
		d.add(in.Policy, h.Key, pulls[h.Key.Server], h.Param, true)
	}
	sort.Strings(d.Errors)
	return d
}

func (d *Desired) add(p *policy.Policy, key StreamKey, pull, param string, hint bool) {
	if p == nil {
		return
	}
	t, err := p.Resolve(policy.Input{Server: key.Server, PullBase: pull, Vhost: key.Vhost, App: key.App, Stream: key.Stream, Param: srsapi.ParseParam(param)})
	if err != nil {
		d.Errors = append(d.Errors, clipKey(key)+": "+err.Error())
		d.Unroutable[key] = err.Error()
		return
	}
	switch t.Action {
	case policy.ActionDeny:
		d.Denied++
		return
	case policy.ActionRoute:
	default:
		d.Ignored++
		return
	}
	if t.Unroutable != "" {
		d.Unroutable[key] = t.Unroutable
		return
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
	r.Inputs[key] = &DesiredInput{Key: key, Room: t.Room, URL: t.PullURL, Views: t.Views, Media: t.Media,
		Transport: t.Transport, BufferSize: t.BufferSize, Param: param, AttrParam: p.AttributeParam(param), Hint: hint}
	d.ByKey[key] = t.Room
}

// Room returns the desired room by name, or nil.
func (d *Desired) Room(name string) *DesiredRoom {
	if d == nil {
		return nil
	}
	return d.Rooms[name]
}
