package reconcile

import (
	"testing"
	"time"
)

// usedRoom is an existing room the agent did not create, already listed.
func usedRoom(name, id string, inputs ...Input) *ObservedRoom {
	return &ObservedRoom{Name: name, ID: id, Exists: true, Listed: true, Views: []string{"common"}, Inputs: inputs, Participants: -1}
}

// ownRoom is an existing room the agent created, listed, with nobody in it.
func ownRoom(name, id string, inputs ...Input) *ObservedRoom {
	o := usedRoom(name, id, inputs...)
	o.Owned, o.Participants = true, 0
	return o
}

// missingRoom is a room OWT does not have.
func missingRoom(name string) *ObservedRoom {
	return &ObservedRoom{Name: name, Listed: true, Participants: -1}
}

// since returns a MissingSince that reports every stream as unwanted since at.
func since(at time.Time) func(StreamKey) (time.Time, bool) {
	return func(StreamKey) (time.Time, bool) { return at, true }
}

// elsewhere routes every stream to room.
func elsewhere(room string) func(StreamKey) (string, bool) {
	return func(StreamKey) (string, bool) { return room, true }
}

func TestPlanRoom(t *testing.T) {
	a, b := key("a").String(), key("b").String()
	const grace = 10 * time.Second
	longAgo := since(t0().Add(-time.Hour))
	tests := []struct {
		name         string
		desired      *DesiredRoom
		observed     *ObservedRoom
		edit         func(*RoomContext)
		want         []opView
		notes        []string
		newlyMissing []StreamKey
		wanted       []StreamKey
	}{
		{
			name:     "missing room: create, then start and add each input in key order",
			desired:  desiredRoom("class-1", true, want("b", "common"), want("a", "common")),
			observed: missingRoom("class-1"),
			want: []opView{
				{Kind: OpCreateRoom, Room: "class-1", Reason: "2 stream(s) routed here"},
				{Kind: OpStartInput, Room: "class-1", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "class-1", Stream: a, View: "common", Reason: "new input"},
				{Kind: OpStartInput, Room: "class-1", Stream: b, URL: pullURL("b"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "class-1", Stream: b, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a"), key("b")},
		},
		{
			name:     "missing input in an existing room",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1"),
			want: []opView{
				{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "hinted input names the hook as its reason",
			desired:  desiredRoom("lobby", true, func() *DesiredInput { in := want("a"); in.Hint = true; return in }()),
			observed: usedRoom("lobby", "r1"),
			want: []opView{
				{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: a, URL: pullURL("a"), Reason: "on_publish hook (not yet listed by SRS)"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "input out of view",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1", owned("s1", "a")),
			want: []opView{
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", View: "common", Reason: "not in view"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:    "input in a view the policy no longer lists",
			desired: desiredRoom("lobby", true, want("a", "common")),
			observed: func() *ObservedRoom {
				o := usedRoom("lobby", "r1", owned("s1", "a", "common", "stage"))
				o.Views = []string{"common", "stage"}
				return o
			}(),
			want: []opView{
				{Kind: OpRemoveView, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", View: "stage", Reason: "view not in policy"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "in sync: nothing to do",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			wanted:   []StreamKey{key("a")},
		},
		{
			name:     "extra input whose stream is gone, first seen: held by grace and newly missing",
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS", Rule: RuleGrace},
			},
			newlyMissing: []StreamKey{key("a")},
		},
		{
			name:     "extra input within its grace: still held, not newly missing",
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			edit:     func(c *RoomContext) { c.MissingSince = since(t0().Add(-grace + time.Second)) },
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS", Rule: RuleGrace},
			},
		},
		{
			name:     "extra input after its grace: stopped",
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			edit:     func(c *RoomContext) { c.MissingSince = since(t0().Add(-grace)) },
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS"},
			},
		},
		{
			name:     "extra input still live on SRS but no longer routed",
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			edit: func(c *RoomContext) {
				c.MissingSince = longAgo
				c.Live = func(StreamKey) bool { return true }
			},
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer routed to OWT by the policy"},
			},
		},
		{
			name:     "stream moved to another room: old input held until in view there",
			observed: usedRoom("old", "r1", owned("s1", "a", "common")),
			edit: func(c *RoomContext) {
				c.DesiredRoomOf = elsewhere("new")
				c.InViewIn = func(StreamKey, string) bool { return false }
			},
			want: []opView{
				{Kind: OpStopInput, Room: "old", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "moved to room new", Rule: RuleMoving},
			},
		},
		{
			name:     "stream moved, no InViewIn at all: held",
			observed: usedRoom("old", "r1", owned("s1", "a", "common")),
			edit:     func(c *RoomContext) { c.DesiredRoomOf = elsewhere("new") },
			want: []opView{
				{Kind: OpStopInput, Room: "old", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "moved to room new", Rule: RuleMoving},
			},
		},
		{
			name:     "stream moved and in view in the new room: old input stopped without grace",
			observed: usedRoom("old", "r1", owned("s1", "a", "common")),
			edit: func(c *RoomContext) {
				c.DesiredRoomOf = elsewhere("new")
				c.InViewIn = func(k StreamKey, room string) bool { return k == key("a") && room == "new" }
			},
			want: []opView{
				{Kind: OpStopInput, Room: "old", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "moved to room new"},
			},
		},
		{
			name:     "stream moved out of an owned room: no delete_room while its stop is held",
			observed: ownRoom("old", "r1", owned("s1", "a", "common")),
			edit:     func(c *RoomContext) { c.DesiredRoomOf = elsewhere("new") },
			want: []opView{
				{Kind: OpStopInput, Room: "old", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "moved to room new", Rule: RuleMoving},
			},
		},
		{
			name:     "stream moved out of an owned room and in view: stop then delete_room",
			observed: ownRoom("old", "r1", owned("s1", "a", "common")),
			edit: func(c *RoomContext) {
				c.DesiredRoomOf = elsewhere("new")
				c.InViewIn = func(StreamKey, string) bool { return true }
			},
			want: []opView{
				{Kind: OpStopInput, Room: "old", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "moved to room new"},
				{Kind: OpDeleteRoom, Room: "old", RoomID: "r1", Reason: "no stream routed here"},
			},
		},
		{
			name:     "stream moved: the new room starts and adds it",
			desired:  desiredRoom("new", true, want("a", "common")),
			observed: usedRoom("new", "r2"),
			edit:     func(c *RoomContext) { c.DesiredRoomOf = elsewhere("new") },
			want: []opView{
				{Kind: OpStartInput, Room: "new", RoomID: "r2", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "new", RoomID: "r2", Stream: a, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "room deleted by hand: created again",
			desired:  desiredRoom("class-1", true, want("a", "common")),
			observed: &ObservedRoom{Name: "class-1", Exists: false, Owned: false, Listed: true, Participants: -1},
			want: []opView{
				{Kind: OpCreateRoom, Room: "class-1", Reason: "1 stream(s) routed here"},
				{Kind: OpStartInput, Room: "class-1", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "class-1", Stream: a, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:    "foreign room of the same name: used, inputs started in it",
			desired: desiredRoom("class-1", true, want("a", "common")),
			observed: func() *ObservedRoom {
				o := usedRoom("class-1", "theirs")
				o.Foreign, o.Participants = 2, 3
				return o
			}(),
			want: []opView{
				{Kind: OpStartInput, Room: "class-1", RoomID: "theirs", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "class-1", RoomID: "theirs", Stream: a, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "foreign room, empty and unwanted: never deleted",
			observed: func() *ObservedRoom { o := usedRoom("class-1", "theirs"); o.Participants = 0; return o }(),
		},
		{
			name: "foreign room with our input unwanted: input stopped, room kept",
			observed: func() *ObservedRoom {
				o := usedRoom("class-1", "theirs", owned("s1", "a"))
				o.Participants = 0
				return o
			}(),
			edit: func(c *RoomContext) { c.MissingSince = longAgo },
			want: []opView{
				{Kind: OpStopInput, Room: "class-1", RoomID: "theirs", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS"},
			},
		},
		{
			name:     "duplicate inputs: keep the one in view, stop the other without grace even when deletes are not allowed",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1", owned("s1", "a"), owned("s2", "a", "common")),
			edit:     func(c *RoomContext) { c.DeletesAllowed, c.DeletesHeldWhy = false, "the OWT room listing failed" },
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "duplicate of s2"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "duplicate inputs, none in view: keep the lowest id",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1", owned("s2", "a"), owned("s1", "a")),
			want: []opView{
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", View: "common", Reason: "not in view"},
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s2", URL: pullURL("a"), Reason: "duplicate of s1"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "pull URL changed: a new input is started, the old one kept",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1", Input{ID: "s1", Key: key("a"), InViews: []string{"common"}, URL: "rtmp://old:1935/live/a"}),
			want: []opView{
				{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: a, URL: pullURL("a"), Reason: "pull URL changed"},
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:    "pull URL changed, new input not yet in view: old one kept",
			desired: desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1",
				Input{ID: "s1", Key: key("a"), InViews: []string{"common"}, URL: "rtmp://old:1935/live/a"},
				owned("s2", "a")),
			want: []opView{
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s2", View: "common", Reason: "not in view"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:    "pull URL changed, new input in view: old one stopped as replaced",
			desired: desiredRoom("lobby", true, want("a", "common")),
			observed: usedRoom("lobby", "r1",
				Input{ID: "s1", Key: key("a"), InViews: []string{"common"}, URL: "rtmp://old:1935/live/a"},
				owned("s2", "a", "common")),
			edit: func(c *RoomContext) { c.DeletesAllowed = false },
			want: []opView{
				{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", URL: "rtmp://old:1935/live/a", Reason: "replaced by s2 (pull URL changed)"},
			},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "create: false room missing: a note, no ops",
			desired:  desiredRoom("video-wall", false, want("a", "common")),
			observed: missingRoom("video-wall"),
			notes:    []string{`room "video-wall" does not exist and the policy says create: false; create it in OWT or change the route`},
		},
		{
			name:     "view not in room, new input: note, no add for it",
			desired:  desiredRoom("lobby", true, want("a", "common", "hd")),
			observed: usedRoom("lobby", "r1"),
			want: []opView{
				{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, View: "common", Reason: "new input"},
			},
			notes:  []string{`view "hd" does not exist in room "lobby"; ` + a + ` cannot join it`},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "view not in room, existing input: note, no add",
			desired:  desiredRoom("lobby", true, want("a", "common", "hd")),
			observed: usedRoom("lobby", "r1", owned("s1", "a", "common")),
			notes:    []string{`view "hd" does not exist in room "lobby"; ` + a + ` cannot join it`},
			wanted:   []StreamKey{key("a")},
		},
		{
			name: "views of a room about to be created come from its options",
			desired: func() *DesiredRoom {
				d := desiredRoom("class-1", true, want("a", "stage", "hd"))
				d.Options = map[string]any{"views": []any{map[string]any{"label": "stage"}}}
				return d
			}(),
			observed: missingRoom("class-1"),
			want: []opView{
				{Kind: OpCreateRoom, Room: "class-1", Reason: "1 stream(s) routed here"},
				{Kind: OpStartInput, Room: "class-1", Stream: a, URL: pullURL("a"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "class-1", Stream: a, View: "stage", Reason: "new input"},
			},
			notes:  []string{`view "hd" does not exist in room "class-1"; ` + a + ` cannot join it`},
			wanted: []StreamKey{key("a")},
		},
		{
			name:     "POST in flight: no second start",
			desired:  desiredRoom("lobby", true, want("a", "common"), want("b", "common")),
			observed: usedRoom("lobby", "r1"),
			edit:     func(c *RoomContext) { c.InFlight = func(k StreamKey) bool { return k == key("a") } },
			want: []opView{
				{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: b, URL: pullURL("b"), Reason: "published on SRS"},
				{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: b, View: "common", Reason: "new input"},
			},
			wanted: []StreamKey{key("a"), key("b")},
		},
		{
			name:     "owned room with nothing desired: stop its inputs, then delete it",
			observed: ownRoom("class-1", "r1", owned("s1", "a", "common"), owned("s2", "b", "common")),
			edit:     func(c *RoomContext) { c.MissingSince = longAgo },
			want: []opView{
				{Kind: OpStopInput, Room: "class-1", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS"},
				{Kind: OpStopInput, Room: "class-1", RoomID: "r1", Stream: b, StreamID: "s2", URL: pullURL("b"), Reason: "no longer published on SRS"},
				{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r1", Reason: "no stream routed here"},
			},
		},
		{
			name:     "owned empty room: deleted",
			desired:  desiredRoom("class-1", true),
			observed: ownRoom("class-1", "r1"),
			want: []opView{
				{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r1", Reason: "no stream routed here"},
			},
		},
		{
			name:     "owned room whose inputs wait for their grace: no delete_room yet",
			observed: ownRoom("class-1", "r1", owned("s1", "a", "common")),
			want: []opView{
				{Kind: OpStopInput, Room: "class-1", RoomID: "r1", Stream: a, StreamID: "s1", URL: pullURL("a"), Reason: "no longer published on SRS", Rule: RuleGrace},
			},
			newlyMissing: []StreamKey{key("a")},
		},
		{
			name:     "owned room with foreign streams: delete held",
			observed: func() *ObservedRoom { o := ownRoom("class-1", "r1"); o.Foreign = 1; return o }(),
			want:     []opView{{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r1", Reason: "no stream routed here", Rule: RuleOccupied}},
		},
		{
			name:     "owned room with participants: delete held",
			observed: func() *ObservedRoom { o := ownRoom("class-1", "r1"); o.Participants = 2; return o }(),
			want:     []opView{{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r1", Reason: "no stream routed here", Rule: RuleOccupied}},
		},
		{
			name:     "owned room whose participants were not read: delete held",
			observed: func() *ObservedRoom { o := ownRoom("class-1", "r1"); o.Participants = -1; return o }(),
			want:     []opView{{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r1", Reason: "no stream routed here", Rule: RuleOccupied}},
		},
		{
			name:     "owned room that is gone: nothing to delete",
			observed: &ObservedRoom{Name: "class-1", Owned: true, Listed: true, Participants: -1},
		},
		{
			name:     "room not listed: a note, no ops",
			desired:  desiredRoom("lobby", true, want("a", "common")),
			observed: func() *ObservedRoom { o := usedRoom("lobby", "r1"); o.Listed = false; return o }(),
			notes:    []string{`streams of room "lobby" could not be read`},
		},
		{
			name: "room not listed, inputs known from before: a note, no stops",
			observed: func() *ObservedRoom {
				o := ownRoom("lobby", "r1", owned("s1", "a", "common"))
				o.Listed = false
				return o
			}(),
			edit:  func(c *RoomContext) { c.MissingSince = longAgo },
			notes: []string{`streams of room "lobby" could not be read`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := RoomContext{Desired: tt.desired, Observed: tt.observed, SnapshotAt: t0(), Grace: grace, DeletesAllowed: true}
			if tt.edit != nil {
				tt.edit(&c)
			}
			p := PlanRoom(c)
			if p.Room != tt.observed.Name {
				t.Errorf("Room = %q, want %q", p.Room, tt.observed.Name)
			}
			assertOps(t, p.Ops, tt.want)
			assertStrings(t, "notes", p.Notes, tt.notes)
			assertKeys(t, "NewlyMissing", p.NewlyMissing, tt.newlyMissing)
			assertKeys(t, "Wanted", p.Wanted, tt.wanted)
		})
	}
}

func TestPlanRoomCarriesKeyAndInput(t *testing.T) {
	in := want("a", "common")
	p := PlanRoom(RoomContext{Desired: desiredRoom("lobby", true, in), Observed: usedRoom("lobby", "r1"), SnapshotAt: t0(), DeletesAllowed: true})
	if len(p.Ops) != 2 {
		t.Fatalf("ops = %d, want 2", len(p.Ops))
	}
	for _, o := range p.Ops {
		if o.Key() != key("a") {
			t.Errorf("%s: Key() = %v, want %v", o.Kind, o.Key(), key("a"))
		}
	}
	if p.Ops[0].input != in {
		t.Errorf("start_input does not carry the desired input the applier needs")
	}
}

func TestPlanRoomCreateCarriesOptions(t *testing.T) {
	d := desiredRoom("class-1", true, want("a", "common"))
	d.Options = map[string]any{"inputLimit": 4}
	p := PlanRoom(RoomContext{Desired: d, Observed: missingRoom("class-1"), SnapshotAt: t0(), DeletesAllowed: true})
	if len(p.Ops) == 0 || p.Ops[0].Kind != OpCreateRoom {
		t.Fatalf("first op = %+v, want create_room", p.Ops)
	}
	if p.Ops[0].options["inputLimit"] != 4 {
		t.Errorf("create_room options = %v, want the desired room's options", p.Ops[0].options)
	}
}

func TestGraceRetryIn(t *testing.T) {
	c := RoomContext{Observed: usedRoom("lobby", "r1", owned("s1", "a")), SnapshotAt: t0(), Grace: 10 * time.Second, DeletesAllowed: true,
		MissingSince: since(t0().Add(-4 * time.Second))}
	p := PlanRoom(c)
	if len(p.Ops) != 1 {
		t.Fatalf("ops = %v, want one stop", p.Ops)
	}
	if got := p.Ops[0].RetryIn; got != 6*time.Second {
		t.Errorf("RetryIn = %s, want 6s (the rest of the grace)", got)
	}
	if got, want := p.Ops[0].Held, "delete grace: gone for 4s of 10s"; got != want {
		t.Errorf("Held = %q, want %q", got, want)
	}
}

func TestOpAction(t *testing.T) {
	tests := []struct {
		kind   OpKind
		action string
		delete bool
	}{
		{OpCreateRoom, "add", false},
		{OpStartInput, "add", false},
		{OpAddView, "change", false},
		{OpRemoveView, "change", false},
		{OpStopInput, "destroy", true},
		{OpDeleteRoom, "destroy", true},
	}
	for _, tt := range tests {
		o := Op{Kind: tt.kind}
		if got := o.Action(); got != tt.action {
			t.Errorf("%s.Action() = %q, want %q", tt.kind, got, tt.action)
		}
		if got := o.IsDelete(); got != tt.delete {
			t.Errorf("%s.IsDelete() = %v, want %v", tt.kind, got, tt.delete)
		}
	}
}
