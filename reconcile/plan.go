package reconcile

import (
	"fmt"
	"sort"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// OpKind is the kind of one planned operation.
type OpKind string

// Operation kinds, in the order they are applied within a room.
const (
	OpCreateRoom OpKind = "create_room"
	OpStartInput OpKind = "start_input"
	OpAddView    OpKind = "add_view"
	OpRemoveView OpKind = "remove_view"
	OpStopInput  OpKind = "stop_input"
	OpDeleteRoom OpKind = "delete_room"
)

// Op is one planned change to OWT, with the reason for it. A held op is
// shown in plans but not applied: Held says which safety rule holds it.
type Op struct {
	Kind     OpKind `json:"op"`
	Room     string `json:"room"`
	RoomID   string `json:"room_id,omitempty"`
	Stream   string `json:"stream,omitempty"`
	StreamID string `json:"stream_id,omitempty"`
	View     string `json:"view,omitempty"`
	URL      string `json:"url,omitempty"`
	Reason   string `json:"reason"`
	Held     string `json:"held,omitempty"`
	// Rule names the safety rule that holds the op (metrics label).
	Rule string `json:"rule,omitempty"`

	// RetryIn says when a held op may become ready (0: unknown).
	RetryIn time.Duration `json:"-"`
	key     StreamKey
	input   *DesiredInput
	options map[string]any
	// seenIDs: for a room create, the rooms of that name there before it.
	seenIDs []string
	// output: a desired output to start; outputRec: an owned one to stop.
	output    policy.Output
	outputRec OutputRecord
	// duplicate: a second input of a stream that keeps one in the room (a
	// crash leftover, or one replaced after a pull URL change). Stopping it
	// removes nothing live, so it needs neither grace nor complete listings.
	duplicate bool
	// waitServer: the SRS server whose next good reading may release this
	// held op ("" when none does).
	waitServer string
}

// WaitServer names the SRS server whose next good reading may release the
// held op, "" when none does.
func (o Op) WaitServer() string { return o.waitServer }

// Key returns the SRS stream the op is about.
func (o Op) Key() StreamKey { return o.key }

// IsDelete reports whether the op removes something from OWT.
func (o Op) IsDelete() bool { return o.Kind == OpStopInput || o.Kind == OpDeleteRoom }

// Action is the terraform-like class of the op: "add", "change" or "destroy".
func (o Op) Action() string {
	switch o.Kind {
	case OpCreateRoom, OpStartInput, OpStartOutput:
		return "add"
	case OpAddView, OpRemoveView:
		return "change"
	default:
		return "destroy"
	}
}

func (o *Op) hold(rule, why string, retry time.Duration) {
	o.Rule, o.Held, o.RetryIn = rule, why, retry
}

// Safety rules that hold deletes (metric label values).
const (
	RuleIncomplete = "incomplete_listing"
	RuleGrace      = "delete_grace"
	RuleMaxDeletes = "max_deletes"
	RuleEmpty      = "allow_empty"
	RuleMoving     = "awaiting_replacement"
	RuleOccupied   = "room_occupied"
	// RuleCreatePending holds a room create while an earlier create of the
	// same room may still have been made (its intent is open).
	RuleCreatePending = "create_pending"
)

// RoomContext is everything the planner needs to plan one room.
type RoomContext struct {
	Desired  *DesiredRoom  // nil when no stream should be in the room
	Observed *ObservedRoom // never nil
	// SnapshotAt is when the SRS reading behind Desired was taken.
	SnapshotAt time.Time
	Grace      time.Duration
	// DeletesAllowed is false when any listing failed or was incomplete;
	// DeletesHeldWhy says which.
	DeletesAllowed bool
	DeletesHeldWhy string
	// Live reports whether SRS lists the stream as actively published.
	Live func(StreamKey) bool
	// MissingSince is when the stream was first seen unwanted in this room.
	MissingSince func(StreamKey) (time.Time, bool)
	// InFlight reports a streaming-in POST for the stream still in progress.
	InFlight func(StreamKey) bool
	// DesiredRoomOf says which room the stream belongs to now.
	DesiredRoomOf func(StreamKey) (string, bool)
	// InViewIn reports whether the stream is in view in that other room.
	InViewIn func(key StreamKey, room string) bool
	// CreateHeld, when set, says why the room may not be created now (an
	// earlier create of it has an open intent).
	CreateHeld string
	// Reading says what is known of an SRS server's last listing: a stream
	// is deleted only on a good listing of the server it is pulled from, and
	// its grace is measured against that server's readings. Nil: every
	// server was read well at SnapshotAt.
	Reading func(server string) ServerReading
	// Now is when the plan is made (messages only); zero: the reading's time.
	Now time.Time
	// Ident says what makes a stream one input (see Ident); nil: its key.
	Ident func(StreamKey) StreamKey
}

func (c *RoomContext) reading(server string) ServerReading {
	if c.Reading == nil {
		return ServerReading{At: c.SnapshotAt, OK: true}
	}
	return c.Reading(server)
}

func (c *RoomContext) ident(k StreamKey) StreamKey {
	if c.Ident == nil {
		return k
	}
	return c.Ident(k)
}

// RoomPlan is the plan of one room.
type RoomPlan struct {
	Room string `json:"room"`
	Ops  []Op   `json:"ops"`
	// Notes are conditions the agent cannot fix by itself.
	Notes []string `json:"notes,omitempty"`
	// NewlyMissing are owned streams seen unwanted for the first time; the
	// caller records SnapshotAt as the start of their grace period.
	NewlyMissing []StreamKey `json:"-"`
	// Wanted are streams wanted in the room again: the caller forgets their grace.
	Wanted []StreamKey `json:"-"`
}

// PlanRoom computes the operations that make one room match the desired
// state. It is a pure function of its argument.
func PlanRoom(c RoomContext) RoomPlan {
	obs := c.Observed
	p := RoomPlan{Room: obs.Name}
	var desiredInputs []*DesiredInput
	if c.Desired != nil {
		for _, in := range c.Desired.Inputs {
			desiredInputs = append(desiredInputs, in)
		}
		sort.Slice(desiredInputs, func(i, j int) bool { return desiredInputs[i].Key.String() < desiredInputs[j].Key.String() })
	}
	views := obs.Views
	roomID := obs.ID
	if len(desiredInputs) > 0 && !obs.Exists {
		if !c.Desired.Create {
			p.Notes = append(p.Notes, fmt.Sprintf("room %q does not exist and the policy says create: false; create it in OWT or change the route", obs.Name))
			return p
		}
		create := Op{Kind: OpCreateRoom, Room: obs.Name, Reason: fmt.Sprintf("%d stream(s) routed here", len(desiredInputs)),
			options: c.Desired.Options, seenIDs: append([]string(nil), obs.NameIDs...)}
		if c.CreateHeld != "" {
			create.hold(RuleCreatePending, c.CreateHeld, 0)
			p.Ops = append(p.Ops, create)
			return p // nothing can go into a room not made yet
		}
		p.Ops = append(p.Ops, create)
		views = optionViews(c.Desired.Options)
	}
	// Unread streams: inputs known from an earlier listing may be stale, and
	// nothing may be deleted on doubt, so plan nothing at all.
	if obs.Exists && !obs.Listed {
		p.Notes = append(p.Notes, fmt.Sprintf("streams of room %q could not be read", obs.Name))
		return p
	}

	// Group owned inputs by stream.
	byKey := map[StreamKey][]Input{}
	for _, in := range obs.Inputs {
		id := c.ident(in.Key)
		byKey[id] = append(byKey[id], in)
	}
	var adds, changes, stops []Op
	for _, want := range desiredInputs {
		p.Wanted = append(p.Wanted, want.Key)
		have := byKey[c.ident(want.Key)]
		delete(byKey, c.ident(want.Key))
		keep, extra := chooseKeeper(have, want)
		if keep == nil {
			if c.InFlight != nil && c.InFlight(want.Key) {
				continue
			}
			reason := "published on SRS"
			if want.Hint {
				reason = "on_publish hook (not yet listed by SRS)"
			}
			if len(have) > 0 {
				reason = "pull URL changed"
				if have[0].Key != want.Key {
					reason = fmt.Sprintf("stream now pulled from SRS %q", want.Key.Server)
				}
			}
			adds = append(adds, Op{Kind: OpStartInput, Room: obs.Name, RoomID: roomID, Stream: want.Key.String(), URL: want.URL, Reason: reason, key: want.Key, input: want})
			for _, v := range want.Views {
				if views != nil && !contains(views, v) {
					p.Notes = append(p.Notes, fmt.Sprintf("view %q does not exist in room %q; %s cannot join it", v, obs.Name, want.Key))
					continue
				}
				adds = append(adds, Op{Kind: OpAddView, Room: obs.Name, RoomID: roomID, Stream: want.Key.String(), View: v, Reason: "new input", key: want.Key})
			}
			continue
		}
		for _, v := range want.Views {
			if contains(keep.InViews, v) {
				continue
			}
			if views != nil && !contains(views, v) {
				p.Notes = append(p.Notes, fmt.Sprintf("view %q does not exist in room %q; %s cannot join it", v, obs.Name, want.Key))
				continue
			}
			changes = append(changes, Op{Kind: OpAddView, Room: obs.Name, RoomID: roomID, Stream: want.Key.String(), StreamID: keep.ID, View: v, Reason: "not in view", key: want.Key})
		}
		for _, v := range keep.InViews {
			if !contains(want.Views, v) {
				changes = append(changes, Op{Kind: OpRemoveView, Room: obs.Name, RoomID: roomID, Stream: want.Key.String(), StreamID: keep.ID, View: v, Reason: "view not in policy", key: want.Key})
			}
		}
		for _, x := range extra {
			o := Op{Kind: OpStopInput, Room: obs.Name, RoomID: roomID, Stream: x.Key.String(), StreamID: x.ID, URL: x.URL, Reason: "duplicate of " + keep.ID, key: x.Key, duplicate: true}
			switch {
			case x.Key != want.Key:
				o.Reason = fmt.Sprintf("replaced by %s (the stream is now pulled from SRS %q)", keep.ID, want.Key.Server)
			case x.URL != "" && x.URL != want.URL:
				o.Reason = "replaced by " + keep.ID + " (pull URL changed)"
			}
			stops = append(stops, o)
		}
	}

	// Owned inputs nothing wants here any more.
	var unwanted []Input
	for _, ins := range byKey {
		unwanted = append(unwanted, ins...)
	}
	sort.Slice(unwanted, func(i, j int) bool {
		if a, b := unwanted[i].Key.String(), unwanted[j].Key.String(); a != b {
			return a < b
		}
		return unwanted[i].ID < unwanted[j].ID
	})
	newly := map[StreamKey]bool{}
	for _, in := range unwanted {
		k := in.Key
		{
			o := Op{Kind: OpStopInput, Room: obs.Name, RoomID: roomID, Stream: k.String(), StreamID: in.ID, URL: in.URL, key: k}
			other, elsewhere := "", false
			if c.DesiredRoomOf != nil {
				other, elsewhere = c.DesiredRoomOf(k)
			}
			switch {
			case elsewhere && other != obs.Name:
				o.Reason = "moved to room " + other
				if c.InViewIn == nil || !c.InViewIn(k, other) {
					o.hold(RuleMoving, "waiting until it is in view in room "+other, 0)
				}
			default:
				o.Reason = "no longer published on SRS"
				if c.Live != nil && c.Live(k) {
					o.Reason = "no longer routed to OWT by the policy"
				}
				// The server the stream is pulled from says whether it is
				// gone: a failed listing of another server changes nothing.
				r := c.reading(k.Server)
				if !r.OK {
					o.hold(RuleIncomplete, r.Why, 0)
					o.waitServer = k.Server
					break
				}
				since, seen := time.Time{}, false
				if c.MissingSince != nil {
					since, seen = c.MissingSince(k)
				}
				if !seen {
					since = r.At
					if !newly[k] {
						newly[k] = true
						p.NewlyMissing = append(p.NewlyMissing, k)
					}
				}
				// Ready once a reading of its server begun after the grace
				// still lacks it.
				if left := since.Add(c.Grace).Sub(r.At); left > 0 {
					now := c.Now
					if now.IsZero() {
						now = r.At
					}
					o.hold(RuleGrace, fmt.Sprintf("delete grace: gone for %s of %s", max(0, now.Sub(since)).Round(time.Millisecond), c.Grace), left)
					o.waitServer = k.Server
				}
			}
			stops = append(stops, o)
		}
	}
	if !c.DeletesAllowed {
		for i := range stops {
			if stops[i].Held == "" && !stops[i].duplicate {
				stops[i].hold(RuleIncomplete, c.DeletesHeldWhy, 0)
			}
		}
	}
	p.Ops = append(p.Ops, adds...)
	p.Ops = append(p.Ops, changes...)
	p.Ops = append(p.Ops, stops...)

	// The room itself, once nothing of the agent's is left in it.
	if obs.Owned && obs.Exists && obs.Listed && len(desiredInputs) == 0 {
		o := Op{Kind: OpDeleteRoom, Room: obs.Name, RoomID: roomID, Reason: "no stream routed here"}
		held := false
		for _, s := range stops {
			if s.Held != "" {
				held = true
			}
		}
		switch {
		case held:
			o = Op{} // its inputs are still held: nothing to say yet
		case obs.Foreign > 0:
			o.hold(RuleOccupied, fmt.Sprintf("holds %d stream(s) the agent does not own", obs.Foreign), 0)
		case obs.Participants < 0:
			o.hold(RuleOccupied, "participants not read", 0)
		case obs.Participants > 0:
			o.hold(RuleOccupied, fmt.Sprintf("%d participant(s) in the room", obs.Participants), 0)
		case !c.DeletesAllowed:
			o.hold(RuleIncomplete, c.DeletesHeldWhy, 0)
		}
		if o.Kind != "" {
			p.Ops = append(p.Ops, o)
		}
	}
	return p
}

// chooseKeeper picks the input to keep among owned inputs of one stream:
// one pulling the desired URL, in the most desired views, lowest id first.
// When none pulls the desired URL, keep is nil and the old inputs stay
// (returned in neither) until a replacement is in view.
//
// An input of another server's copy of the stream (one input per stream)
// is an old input like one on an old URL: replaced once the keeper is in view.
func chooseKeeper(have []Input, want *DesiredInput) (keep *Input, extra []Input) {
	if len(have) == 0 {
		return nil, nil
	}
	best := -1
	score := func(in Input) int {
		s := 0
		for _, v := range want.Views {
			if contains(in.InViews, v) {
				s++
			}
		}
		return s
	}
	old := func(in Input) bool { return in.Key != want.Key || (in.URL != "" && in.URL != want.URL) }
	for i, in := range have {
		if old(in) {
			continue
		}
		if best < 0 || score(in) > score(have[best]) || (score(in) == score(have[best]) && in.ID < have[best].ID) {
			best = i
		}
	}
	if best < 0 {
		return nil, nil
	}
	k := have[best]
	for i, in := range have {
		if i == best {
			continue
		}
		// An input on an old URL is replaced only once the keeper is in view.
		if old(in) && !containsAll(k.InViews, want.Views) {
			continue
		}
		extra = append(extra, in)
	}
	return &k, extra
}

// optionViews returns the view labels a room created with options gets.
func optionViews(opts map[string]any) []string {
	raw, ok := opts["views"]
	if !ok || raw == nil {
		return []string{"common"}
	}
	list, ok := raw.([]any)
	if !ok {
		if m, ok2 := raw.([]map[string]any); ok2 {
			for _, v := range m {
				list = append(list, v)
			}
		} else {
			return nil
		}
	}
	out := []string{}
	for _, v := range list {
		m, _ := v.(map[string]any)
		l, _ := m["label"].(string)
		if l == "" {
			l = "common"
		}
		out = append(out, l)
	}
	return out
}

// Budget enforces the plan-wide delete rules over rooms planned one by one:
// at most MaxDeletes deletes per cycle, and no emptying of everything.
type Budget struct {
	MaxDeletes int
	used       int
	// EmptyGuard, when set, holds stops for which it returns true.
	EmptyGuard func(Op) bool
}

// Apply holds the deletes of p that exceed the budget and counts the rest.
func (b *Budget) Apply(p *RoomPlan) {
	for i := range p.Ops {
		o := &p.Ops[i]
		if !o.IsDelete() || o.Held != "" {
			continue
		}
		if b.EmptyGuard != nil && o.Kind == OpStopInput && b.EmptyGuard(*o) {
			o.hold(RuleEmpty, "SRS lists no live stream at all; refusing to remove every input (set reconcile.allow_empty: true if this is intended)", 0)
			continue
		}
		if b.MaxDeletes > 0 && b.used >= b.MaxDeletes {
			o.hold(RuleMaxDeletes, fmt.Sprintf("reconcile.max_deletes (%d) reached this cycle", b.MaxDeletes), 0)
			continue
		}
		b.used++
	}
	// A room whose inputs were held is not deleted.
	held := false
	for _, o := range p.Ops {
		if o.Kind == OpStopInput && o.Held != "" {
			held = true
		}
	}
	if held {
		out := p.Ops[:0]
		for _, o := range p.Ops {
			if o.Kind == OpDeleteRoom {
				if o.Held == "" {
					b.used--
				}
				continue
			}
			out = append(out, o)
		}
		p.Ops = out
	}
}

// Used is the number of deletes granted so far.
func (b *Budget) Used() int { return b.used }
