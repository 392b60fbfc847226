package reconcile

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func TestOneShotWorkers(t *testing.T) {
	pol := enginePol(t) // concurrency 2
	for _, tc := range []struct {
		o    OneShot
		want int
	}{
		{OneShot{Concurrency: 5, Policy: pol}, 5},
		{OneShot{Policy: pol}, 2},
		{OneShot{}, 8},
	} {
		if got := tc.o.workers(); got != tc.want {
			t.Errorf("workers() = %d, want %d", got, tc.want)
		}
	}
	p := *pol
	p.Reconcile.Concurrency = 0
	if got := (&OneShot{Policy: &p}).workers(); got != 8 {
		t.Errorf("policy without concurrency: %d workers, want 8", got)
	}
}

func TestOneShotPlanErrors(t *testing.T) {
	ctx := context.Background()
	if _, _, err := (&OneShot{}).Plan(ctx); err == nil || err.Error() != "no policy loaded" {
		t.Errorf("no policy: %v", err)
	}
	srs := &fakeSRS{err: errors.New("refused")}
	o := &OneShot{Policy: enginePol(t), OWT: &scriptOWT{}, Servers: []SRSServer{{Name: "origin", Client: srs}}}
	if _, _, err := o.Plan(ctx); err == nil || !strings.Contains(err.Error(), `srs "origin": refused`) {
		t.Errorf("SRS failed: %v", err)
	}
	srs.set(liveSnap(), nil)
	o.OWT = &scriptOWT{listRooms: func() ([]owtapi.Room, error) { return nil, errors.New("boom") }}
	if _, _, err := o.Plan(ctx); err == nil || !strings.Contains(err.Error(), "list OWT rooms: boom") {
		t.Errorf("OWT failed: %v", err)
	}
}

// oneShotRig: SRS lists cam and fresh; OWT has room cam (id 1) holding the
// agent's input of cam (recorded with a publish query), and room old (id
// 2, the agent's) holding an input of gone, unwanted for an hour.
func oneShotRig(t *testing.T) (*OneShot, *scriptOWT, *Journal) {
	t.Helper()
	cam := ownedStream("agent", "s1", "cam", "common")
	cam.Info.Attributes = Attributes("agent", key("cam"), "?tier=gold", pullURL("cam"), "op-s1")
	stopped := false
	f := &scriptOWT{
		stop: func(string, string) error { stopped = true; return nil },
		listRooms: func() ([]owtapi.Room, error) {
			return []owtapi.Room{{ID: "1", Name: "cam", Views: []owtapi.View{{Label: "common"}}}, {ID: "2", Name: "old"}}, nil
		},
		listStreams: func(id string) ([]owtapi.Stream, error) {
			switch id {
			case "1":
				return []owtapi.Stream{cam}, nil
			case "2":
				if stopped {
					return nil, nil
				}
				return []owtapi.Stream{ownedStream("agent", "s2", "gone", "common")}, nil
			}
			return nil, errRoomNotFound
		},
	}
	j := testJournal(t)
	j.SetRoom("old", "2", t0())
	j.SetMissing("old", key("gone"), time.Now().Add(-time.Hour))
	o := &OneShot{Agent: "agent", Policy: enginePol(t), OWT: f, Journal: j,
		Servers: []SRSServer{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Client: &fakeSRS{snap: liveSnap("cam", "fresh")}}}}
	return o, f, j
}

func planOps(p *Plan) []string {
	var out []string
	for _, rp := range p.Rooms {
		for _, op := range rp.Ops {
			s := string(op.Kind) + " " + rp.Room
			if op.Stream != "" {
				s += " " + op.Key().Stream
			}
			if op.Held != "" {
				s += " held:" + op.Rule
			}
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func TestOneShotPlanAndApply(t *testing.T) {
	ctx := context.Background()
	o, f, j := oneShotRig(t)
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "ops", planOps(plan), []string{
		"add_view fresh fresh", "create_room fresh", "delete_room old", "start_input fresh fresh", "stop_input old gone",
	})
	// The query recorded in the agent's input is used for the listed stream.
	if p := ob.Desired.Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=gold" {
		t.Errorf("param %q, want the recorded one", p)
	}
	// Only the room the agent may delete has its participants read.
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "participants") && c != "participants 2" {
			t.Errorf("participants read for a room to keep: %s", c)
		}
	}
	results, err := o.Apply(ctx, plan, ob)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s %s: %v", r.Op.Kind, r.Op.Room, r.Err)
		}
	}
	if len(results) != 5 {
		t.Errorf("%d results, want 5", len(results))
	}
	if rec, ok := j.Room("fresh"); !ok || rec.ID != "id-fresh" {
		t.Errorf("created room not recorded: %+v %v", rec, ok)
	}
	if _, ok := j.Room("old"); ok {
		t.Error("deleted room still recorded")
	}
	if j.MissingCount() != 0 {
		t.Errorf("%d grace records after Apply, want 0", j.MissingCount())
	}
	if doc, _ := o.Journal.store.Load(ctx); !strings.Contains(string(doc), "id-fresh") || strings.Contains(string(doc), `"old"`) {
		t.Errorf("journal not committed: %s", doc)
	}
}

// A grace not over yet is recorded by Apply and holds the stop; a failed
// room listing holds every delete.
func TestOneShotHolds(t *testing.T) {
	ctx := context.Background()
	o, f, j := oneShotRig(t)
	j.ClearMissing("old", key("gone"))
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ops := planOps(plan); !containsString(ops, "stop_input old gone held:delete_grace") {
		t.Errorf("ops %q, want the stop held by the grace", ops)
	}
	if _, err := o.Apply(ctx, plan, ob); err != nil {
		t.Fatal(err)
	}
	if at, ok := j.MissingSince("old", key("gone")); !ok || !at.Equal(ob.SnapshotAt) {
		t.Errorf("grace record %v %v, want the reading's time", at, ok)
	}

	o, f, _ = oneShotRig(t)
	list := f.listStreams
	f.listStreams = func(id string) ([]owtapi.Stream, error) {
		if id == "1" {
			return nil, errAmbiguous
		}
		return list(id)
	}
	plan, _, err = o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range plan.Rooms {
		for _, op := range rp.Ops {
			if op.IsDelete() && (op.Rule != RuleIncomplete || !strings.Contains(op.Held, "some room listings failed")) {
				t.Errorf("delete %s %s not held: %q", op.Kind, rp.Room, op.Held)
			}
		}
	}
}

// Open intents of an earlier run: a room create of unknown outcome holds
// the create; a streaming-in POST within its hold is not made again, one
// older is.
func TestOneShotIntents(t *testing.T) {
	ctx := context.Background()
	o, _, j := oneShotRig(t)
	o.IntentSettle = time.Hour
	o.PendingHold = time.Minute
	_ = j.Begin(ctx, Intent{ID: "r", Kind: IntentRoom, Room: "fresh", At: time.Now()})
	plan, _, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ops := planOps(plan); !containsString(ops, "create_room fresh held:"+RuleCreatePending) {
		t.Errorf("ops %q, want the create held", ops)
	}

	o, _, j = oneShotRig(t)
	o.PendingHold = time.Minute
	_ = j.Begin(ctx, Intent{ID: "p", Kind: IntentInput, Room: "cam2", Stream: key("cam2"), Op: "p", At: time.Now()})
	o.Servers[0].Client = &fakeSRS{snap: liveSnap("cam", "cam2")}
	plan, _, _ = o.Plan(ctx)
	if ops := planOps(plan); containsString(ops, "start_input cam2 cam2") {
		t.Errorf("ops %q: a stream whose POST may still complete is started again", ops)
	}
	o, _, j = oneShotRig(t)
	o.PendingHold = time.Minute
	_ = j.Begin(ctx, Intent{ID: "p", Kind: IntentInput, Room: "cam2", Stream: key("cam2"), Op: "p", At: time.Now().Add(-2 * time.Minute)})
	o.Servers[0].Client = &fakeSRS{snap: liveSnap("cam", "cam2")}
	plan, _, _ = o.Plan(ctx)
	if ops := planOps(plan); !containsString(ops, "start_input cam2 cam2") {
		t.Errorf("ops %q: a stream whose POST ran out of its hold is not started", ops)
	}
}

// SRS lists nothing while the agent owns two inputs: every stop is held
// unless allow_empty.
func TestOneShotEmptyGuard(t *testing.T) {
	ctx := context.Background()
	for _, allow := range []bool{false, true} {
		o, _, j := oneShotRig(t)
		p := *o.Policy
		p.Reconcile.AllowEmpty = allow
		o.Policy = &p
		o.Servers[0].Client = &fakeSRS{snap: liveSnap()}
		j.SetMissing("cam", key("cam"), time.Now().Add(-time.Hour))
		plan, _, err := o.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, rp := range plan.Rooms {
			for _, op := range rp.Ops {
				if op.Kind == OpStopInput && op.Rule == RuleEmpty {
					held++
				}
			}
		}
		if want := map[bool]int{false: 2, true: 0}[allow]; held != want {
			t.Errorf("allow_empty %v: %d stops held by the empty guard, want %d (%q)", allow, held, want, planOps(plan))
		}
	}
}

// sync --once closes the open streaming-in intents its reading settled (the
// stream is listed, or the hold ran out), as a running engine does; diff
// (Plan alone) leaves them to the writer, and an intent still within its
// hold stays open.
func TestOneShotClosesSettledIntents(t *testing.T) {
	ctx := context.Background()
	o, _, j := oneShotRig(t)
	o.PendingHold = time.Minute
	_ = j.Begin(ctx, Intent{ID: "listed", Kind: IntentInput, Room: "cam", Stream: key("cam"), Op: "listed", At: time.Now()})
	_ = j.Begin(ctx, Intent{ID: "expired", Kind: IntentInput, Room: "cam3", Stream: key("cam3"), Op: "expired", At: time.Now().Add(-2 * time.Minute)})
	_ = j.Begin(ctx, Intent{ID: "open", Kind: IntentInput, Room: "cam2", Stream: key("cam2"), Op: "open", At: time.Now()})
	ids := func() []string {
		var out []string
		for _, in := range j.Intents() {
			out = append(out, in.ID)
		}
		sort.Strings(out)
		return out
	}
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "intents after Plan", ids(), []string{"expired", "listed", "open"})
	if _, err := o.Apply(ctx, plan, ob); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "intents after Apply", ids(), []string{"open"})
}

// An Observation made outside Plan (its exported fields only) still
// applies: Apply keeps its own record of POSTs in flight.
func TestOneShotApplyHandMadeObservation(t *testing.T) {
	ctx := context.Background()
	o, _, _ := oneShotRig(t)
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results, err := o.Apply(ctx, plan, &Observation{Desired: ob.Desired, Rooms: ob.Rooms, SnapshotAt: ob.SnapshotAt})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 5 {
		t.Errorf("%d results, want 5", len(results))
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s %s: %v", r.Op.Kind, r.Op.Room, r.Err)
		}
	}
}
