package reconcile

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func TestNoDeletesWhenListingIncomplete(t *testing.T) {
	const why = `the SRS listing of "origin" failed or is incomplete`
	a, b, c := key("a").String(), key("b").String(), key("c").String()
	obs := usedRoom("lobby", "r1", owned("s1", "a"), owned("s2", "b", "common"), owned("s3", "c", "common", "stage"))
	obs.Views = []string{"common", "stage"}
	p := PlanRoom(RoomContext{
		Desired:  desiredRoom("lobby", true, want("a", "common"), want("c", "common"), want("d", "common")),
		Observed: obs, SnapshotAt: t0(), Grace: time.Second,
		DeletesAllowed: false, DeletesHeldWhy: why,
		MissingSince: since(t0().Add(-time.Hour)),
	})
	assertOps(t, p.Ops, []opView{
		{Kind: OpStartInput, Room: "lobby", RoomID: "r1", Stream: key("d").String(), URL: pullURL("d"), Reason: "published on SRS"},
		{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: key("d").String(), View: "common", Reason: "new input"},
		{Kind: OpAddView, Room: "lobby", RoomID: "r1", Stream: a, StreamID: "s1", View: "common", Reason: "not in view"},
		{Kind: OpRemoveView, Room: "lobby", RoomID: "r1", Stream: c, StreamID: "s3", View: "stage", Reason: "view not in policy"},
		{Kind: OpStopInput, Room: "lobby", RoomID: "r1", Stream: b, StreamID: "s2", URL: pullURL("b"), Reason: "no longer published on SRS", Rule: RuleIncomplete},
	})
	if got := p.Ops[4].Held; got != why {
		t.Errorf("held stop says %q, want the reason deletes are held: %q", got, why)
	}

	// An owned empty room is not deleted either.
	p = PlanRoom(RoomContext{Observed: ownRoom("class-1", "r2"), SnapshotAt: t0(), DeletesAllowed: false, DeletesHeldWhy: why})
	assertOps(t, p.Ops, []opView{{Kind: OpDeleteRoom, Room: "class-1", RoomID: "r2", Reason: "no stream routed here", Rule: RuleIncomplete}})

	// An owned room whose inputs are held keeps quiet about the room itself.
	p = PlanRoom(RoomContext{Observed: ownRoom("class-1", "r2", owned("s1", "a")), SnapshotAt: t0(), DeletesAllowed: false,
		DeletesHeldWhy: why, MissingSince: since(t0().Add(-time.Hour))})
	assertOps(t, p.Ops, []opView{{Kind: OpStopInput, Room: "class-1", RoomID: "r2", Stream: a, StreamID: "s1", URL: pullURL("a"),
		Reason: "no longer published on SRS", Rule: RuleIncomplete}})
}

// TestDeleteOnlyAfterGrace walks one vanished stream through successive
// cycles, keeping the start of its grace in a Journal as the engine does.
func TestDeleteOnlyAfterGrace(t *testing.T) {
	st, err := LoadState("", "agent-1")
	if err != nil {
		t.Fatal(err)
	}
	const grace = 10 * time.Second
	steps := []struct {
		after time.Duration
		rule  string
		retry time.Duration
	}{
		{0, RuleGrace, grace},
		{4 * time.Second, RuleGrace, 6 * time.Second},
		{9999 * time.Millisecond, RuleGrace, time.Millisecond},
		{grace, "", 0},
		{time.Minute, "", 0},
	}
	for _, s := range steps {
		snap := t0().Add(s.after)
		p := PlanRoom(RoomContext{Observed: usedRoom("lobby", "r1", owned("s1", "a")), SnapshotAt: snap, Grace: grace, DeletesAllowed: true,
			MissingSince: func(k StreamKey) (time.Time, bool) { return st.MissingSince("lobby", k) }})
		for _, k := range p.NewlyMissing {
			st.SetMissing("lobby", k, snap)
		}
		if len(p.Ops) != 1 || p.Ops[0].Kind != OpStopInput {
			t.Fatalf("after %s: ops = %+v, want one stop_input", s.after, p.Ops)
		}
		if got := p.Ops[0].Rule; got != s.rule {
			t.Errorf("after %s: rule = %q, want %q", s.after, got, s.rule)
		}
		if got := p.Ops[0].RetryIn; got != s.retry {
			t.Errorf("after %s: RetryIn = %s, want %s", s.after, got, s.retry)
		}
		if s.after == 0 && !reflect.DeepEqual(p.NewlyMissing, []StreamKey{key("a")}) {
			t.Errorf("first cycle: NewlyMissing = %v, want [a]", p.NewlyMissing)
		}
		if s.after > 0 && len(p.NewlyMissing) != 0 {
			t.Errorf("after %s: NewlyMissing = %v, want none (grace already started)", s.after, p.NewlyMissing)
		}
	}

	// The stream comes back: the plan says so and the grace is forgotten.
	p := PlanRoom(RoomContext{Desired: desiredRoom("lobby", true, want("a")), Observed: usedRoom("lobby", "r1", owned("s1", "a")),
		SnapshotAt: t0().Add(time.Hour), Grace: grace, DeletesAllowed: true})
	assertOps(t, p.Ops, nil)
	for _, k := range p.Wanted {
		st.ClearMissing("lobby", k)
	}
	if _, ok := st.MissingSince("lobby", key("a")); ok {
		t.Errorf("grace not forgotten after the stream came back")
	}
}

// stopsRoom is an owned room whose two inputs vanished long ago.
func stopsRoom(name string) RoomPlan {
	return PlanRoom(RoomContext{Observed: ownRoom(name, "id-"+name, owned("s1-"+name, "a"), owned("s2-"+name, "b")),
		SnapshotAt: t0(), Grace: time.Second, DeletesAllowed: true, MissingSince: since(t0().Add(-time.Hour))})
}

func TestBudgetMaxDeletes(t *testing.T) {
	tests := []struct {
		name       string
		maxDeletes int
		// rules per room, in op order: "" granted, else the holding rule;
		// "room" marks a granted delete_room.
		want [][]string
		used int
	}{
		{
			name:       "3 rooms x 2 stops, max 3",
			maxDeletes: 3,
			want: [][]string{
				{"", "", "room"},
				{RuleMaxDeletes, RuleMaxDeletes},
				{RuleMaxDeletes, RuleMaxDeletes},
			},
			used: 3,
		},
		{
			name:       "a room half stopped keeps its room",
			maxDeletes: 4,
			want: [][]string{
				{"", "", "room"},
				{"", RuleMaxDeletes},
				{RuleMaxDeletes, RuleMaxDeletes},
			},
			used: 4,
		},
		{
			name:       "delete_room over the budget is held, not dropped",
			maxDeletes: 2,
			want: [][]string{
				{"", "", RuleMaxDeletes},
				{RuleMaxDeletes, RuleMaxDeletes},
				{RuleMaxDeletes, RuleMaxDeletes},
			},
			used: 2,
		},
		{
			name:       "no cap",
			maxDeletes: 0,
			want:       [][]string{{"", "", "room"}, {"", "", "room"}, {"", "", "room"}},
			used:       9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Budget{MaxDeletes: tt.maxDeletes}
			granted := 0
			for i, name := range []string{"r-a", "r-b", "r-c"} {
				p := stopsRoom(name)
				b.Apply(&p)
				var got []string
				for _, o := range p.Ops {
					switch {
					case o.Held != "":
						got = append(got, o.Rule)
					case o.Kind == OpDeleteRoom:
						got = append(got, "room")
						granted++
					default:
						got = append(got, "")
						granted++
					}
				}
				if !reflect.DeepEqual(got, tt.want[i]) {
					t.Errorf("room %s: rules %q, want %q", name, got, tt.want[i])
				}
			}
			if b.Used() != tt.used || granted != tt.used {
				t.Errorf("Used() = %d, granted ops = %d, want %d", b.Used(), granted, tt.used)
			}
		})
	}
}

func TestBudgetKeepsOtherHolds(t *testing.T) {
	b := Budget{MaxDeletes: 1}
	p := PlanRoom(RoomContext{Observed: usedRoom("lobby", "r1", owned("s1", "a"), owned("s2", "b")), SnapshotAt: t0(), Grace: time.Second,
		DeletesAllowed: true, MissingSince: func(k StreamKey) (time.Time, bool) {
			if k == key("a") {
				return t0(), true // still in its grace
			}
			return t0().Add(-time.Hour), true
		}})
	b.Apply(&p)
	got := []string{p.Ops[0].Rule, p.Ops[1].Rule}
	if want := []string{RuleGrace, ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %q, want %q (a held op costs no budget)", got, want)
	}
	if b.Used() != 1 {
		t.Errorf("Used() = %d, want 1", b.Used())
	}
}

func TestEmptyGuardHoldsStops(t *testing.T) {
	b := Budget{MaxDeletes: 50, EmptyGuard: func(o Op) bool { return o.Key() != key("b") }}
	p := stopsRoom("class-1")
	b.Apply(&p)
	assertOps(t, p.Ops, []opView{
		{Kind: OpStopInput, Room: "class-1", RoomID: "id-class-1", Stream: key("a").String(), StreamID: "s1-class-1", URL: pullURL("a"),
			Reason: "no longer published on SRS", Rule: RuleEmpty},
		{Kind: OpStopInput, Room: "class-1", RoomID: "id-class-1", Stream: key("b").String(), StreamID: "s2-class-1", URL: pullURL("b"),
			Reason: "no longer published on SRS"},
	})
	if b.Used() != 1 {
		t.Errorf("Used() = %d, want 1 (only the stop the guard let through)", b.Used())
	}

	// The guard never touches creates or view changes.
	b = Budget{EmptyGuard: func(Op) bool { return true }}
	p = PlanRoom(RoomContext{Desired: desiredRoom("lobby", true, want("a", "common")), Observed: usedRoom("lobby", "r1"),
		SnapshotAt: t0(), DeletesAllowed: true})
	b.Apply(&p)
	for _, o := range p.Ops {
		if o.Held != "" {
			t.Errorf("%s held by the empty guard: %s", o.Kind, o.Held)
		}
	}
}

func TestNeverTouchesNonOwnedStreams(t *testing.T) {
	ours := func(id, stream string, views ...string) owtapi.Stream {
		return owtapi.Stream{ID: id, Type: "forward", Info: owtapi.StreamInfo{Type: "streaming", InViews: views,
			Attributes: Attributes("agent-1", key(stream), "?k=v", pullURL(stream), "op-"+id)}}
	}
	streams := []owtapi.Stream{
		{ID: "mix-1", Type: "mixed", Info: owtapi.StreamInfo{Label: "common", Attributes: Attributes("agent-1", key("z"), "", "", "")}},
		ours("s2", "b", "common"),
		{ID: "webrtc-1", Type: "forward", Info: owtapi.StreamInfo{Type: "webrtc", Owner: "user-1"}},
		{ID: "other-1", Type: "forward", Info: owtapi.StreamInfo{Type: "streaming",
			Attributes: Attributes("agent-2", key("a"), "", pullURL("a"), "x")}},
		{ID: "manual-1", Type: "forward", Info: owtapi.StreamInfo{Type: "streaming", Attributes: map[string]any{"note": "by hand"}}},
		{ID: "broken-1", Type: "forward", Info: owtapi.StreamInfo{Type: "streaming",
			Attributes: map[string]any{"srs-owt-proxy": map[string]any{"agent": "agent-1", "stream": "not-a-key"}}}},
		ours("s1", "a"),
	}
	inputs, foreign := ObserveStreams("agent-1", streams)
	if foreign != 4 {
		t.Errorf("foreign = %d, want 4 (webrtc, other agent, by hand, malformed; mixed streams not counted)", foreign)
	}
	wantInputs := []Input{
		{ID: "s1", Key: key("a"), URL: pullURL("a"), Param: "?k=v", Op: "op-s1", InViews: []string{}},
		{ID: "s2", Key: key("b"), InViews: []string{"common"}, URL: pullURL("b"), Param: "?k=v", Op: "op-s2"},
	}
	// InViews of a stream in no view may be nil or empty; compare by length.
	if len(inputs) != 2 {
		t.Fatalf("inputs = %+v, want s1 and s2", inputs)
	}
	for i := range inputs {
		g, w := inputs[i], wantInputs[i]
		if g.ID != w.ID || g.Key != w.Key || g.URL != w.URL || g.Param != w.Param || g.Op != w.Op || fmt.Sprint(g.InViews) != fmt.Sprint(w.InViews) {
			t.Errorf("input %d = %+v, want %+v", i, g, w)
		}
	}

	obs := ownRoom("class-1", "r1", inputs...)
	obs.Foreign = foreign
	for _, d := range []*DesiredRoom{nil, desiredRoom("class-1", true, want("c", "common"))} {
		p := PlanRoom(RoomContext{Desired: d, Observed: obs, SnapshotAt: t0(), DeletesAllowed: true, MissingSince: since(t0().Add(-time.Hour))})
		var b Budget
		b.Apply(&p)
		for _, o := range p.Ops {
			switch o.StreamID {
			case "", "s1", "s2":
			default:
				t.Errorf("op %s touches %s, a stream the agent does not own", o.Kind, o.StreamID)
			}
			if o.Kind == OpDeleteRoom && o.Held == "" {
				t.Errorf("room with foreign streams deleted")
			}
		}
		if d == nil && len(p.Ops) != 3 {
			t.Errorf("ops = %+v, want two stops and a held delete_room", project(t, p.Ops))
		}
	}
}
