package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// listRoomsOnce installs a successful room listing of rooms in the engine.
func (te *testEngine) listRoomsOnce(rooms ...owtapi.Room) {
	te.owt.SetListing(listing(time.Now(), rooms...), nil)
}

func TestSnapshotNeedList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cached  *ObservedRoom // stored for room "r" (nil: none)
		stale   bool
		desired bool // a stream is routed to room r
		owned   bool // the journal records room r
		pending func(p *Pending)
		want    bool
	}{
		{name: "fresh listed room", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Participants: 0}, desired: true},
		{name: "stale", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}, stale: true, desired: true, want: true},
		{name: "not listed", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: false}, desired: true, want: true},
		{name: "POST of unknown outcome", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}, desired: true, want: true,
			pending: func(p *Pending) {
				p.Begin("r", key("cam"), "op1", time.Now())
				p.Unknown("r", key("cam"), time.Now().Add(time.Minute))
			}},
		{name: "POST in progress", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}, desired: true,
			pending: func(p *Pending) { p.Begin("r", key("cam"), "op1", time.Now()) }},
		{name: "another room's POST", cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}, desired: true,
			pending: func(p *Pending) {
				p.Begin("x", key("cam"), "op1", time.Now())
				p.Unknown("x", key("cam"), time.Now().Add(time.Minute))
			}},
		{name: "owned room to delete, participants unknown", owned: true,
			cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: -1}, want: true},
		{name: "owned room to delete, participants read", owned: true,
			cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: 0}},
		{name: "owned room still desired, participants unknown", owned: true, desired: true,
			cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: -1}},
		{name: "used room, participants unknown",
			cached: &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Participants: -1}},
		{name: "owned room gone, participants unknown",
			cached: &ObservedRoom{Name: "r", Exists: false, Owned: true, Listed: true, Participants: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			te.listRoomsOnce()
			if tc.desired {
				te.readSRSNow(liveSnap("r"))
			}
			if tc.owned {
				te.journal.SetRoom("r", "1", t0())
			}
			if tc.cached != nil {
				te.owt.Store(tc.cached, true)
			}
			if tc.stale {
				te.owt.MarkStale(map[string]bool{"r": true})
			}
			if tc.pending != nil {
				tc.pending(te.pending)
			}
			s := te.snapshot("r")
			if s.needList != tc.want {
				t.Errorf("needList %v, want %v", s.needList, tc.want)
			}
			if s.deleteCan == tc.desired {
				t.Errorf("deleteCan %v with desired %v", s.deleteCan, tc.desired)
			}
		})
	}
}

// A hold that ran out is swept when the room is looked at: its intent is
// closed and the stream may be started again.
func TestSnapshotSweepsRunOutHolds(t *testing.T) {
	te := newTestEngine(t, nil)
	te.listRoomsOnce()
	in := Intent{ID: "op1", Kind: IntentInput, Room: "r", Stream: key("cam"), Op: "op1", At: time.Now().Add(-2 * time.Minute)}
	if err := te.journal.Begin(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	te.pending.Restore("r", key("cam"), "op1", in.At, time.Now().Add(-time.Second))
	s := te.snapshot("r")
	if !s.needList {
		t.Error("a hold just run out must be looked for in a fresh listing")
	}
	if _, ok := te.pending.Next("r", time.Now()); ok {
		t.Error("run-out hold not swept")
	}
	if n := len(te.journal.Intents()); n != 0 {
		t.Errorf("%d intents open after the sweep, want 0", n)
	}
}

// graceRoom sets up an owned room holding an input of cam, which SRS no
// longer lists (read at snapAt) and which has been missing since since.
func graceRoom(t *testing.T, snapAt, since time.Time) (*testEngine, *ObservedRoom) {
	te := newTestEngine(t, nil)
	te.listRoomsOnce()
	te.srs.Record([]Source{{Name: "origin", Snapshot: liveSnap()}}, nil, snapAt, te.pol())
	te.journal.SetRoom("r", "1", t0())
	te.journal.SetMissing("r", key("cam"), since)
	obs := &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: 0, Inputs: []Input{owned("s1", "cam")}}
	return te, obs
}

func TestPlanGraceWait(t *testing.T) {
	now := time.Now()
	// Missing for 500ms of a 2s grace in a reading taken now: ready in
	// ~1.5s, and the room waits for a reading after that.
	te, obs := graceRoom(t, now, now.Add(-500*time.Millisecond))
	plan, wait, budgetHeld := te.plan("r", obs, nil, "", nil)
	if len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleGrace || budgetHeld {
		t.Fatalf("ops %+v (budget held %v), want one grace-held stop", plan.Ops, budgetHeld)
	}
	if wait < 1300*time.Millisecond || wait > 1500*time.Millisecond {
		t.Errorf("wait %v, want ~1.5s", wait)
	}
	assertStrings(t, "waiting for a reading", te.srs.TakeWaiting(map[string]bool{"origin": true}), []string{"r"})
	if got := testutil.ToFloat64(te.metrics.DeletesHeld.WithLabelValues(RuleGrace)); got != 1 {
		t.Errorf("deletes_held_total{delete_grace} = %v", got)
	}

	// The grace ran out after an old reading: ready now (wait 0), once a
	// fresher reading still lacks the stream.
	te, obs = graceRoom(t, now.Add(-10*time.Second), now.Add(-11*time.Second))
	_, wait, _ = te.plan("r", obs, nil, "", nil)
	if wait != 0 {
		t.Errorf("wait %v, want 0", wait)
	}
	assertStrings(t, "waiting for a reading", te.srs.TakeWaiting(map[string]bool{"origin": true}), []string{"r"})

	// Nothing held: no wait.
	te, obs = graceRoom(t, now, now.Add(-time.Minute))
	plan, wait, _ = te.plan("r", obs, nil, "", nil)
	if wait != -1 || len(plan.Ops) != 2 || plan.Ops[0].Kind != OpStopInput || plan.Ops[0].Held != "" || plan.Ops[1].Held != "" {
		t.Errorf("wait %v ops %+v, want -1, a ready stop and a ready room delete", wait, plan.Ops)
	}
	assertStrings(t, "waiting for a reading", te.srs.TakeWaiting(map[string]bool{"origin": true}), nil)
}

// Two grace-held stops: the room waits for the one ready first.
func TestPlanGraceWaitEarliest(t *testing.T) {
	now := time.Now()
	te, obs := graceRoom(t, now, now.Add(-500*time.Millisecond))
	te.journal.SetMissing("r", key("cam2"), now.Add(-1500*time.Millisecond))
	obs.Inputs = append(obs.Inputs, owned("s2", "cam2"))
	_, wait, _ := te.plan("r", obs, nil, "", nil)
	if wait < 300*time.Millisecond || wait > 500*time.Millisecond {
		t.Errorf("wait %v, want ~0.5s (the earlier of 0.5s and 1.5s)", wait)
	}
	te.journal.SetMissing("r", key("cam2"), now.Add(-500*time.Millisecond))
	te.journal.SetMissing("r", key("cam"), now.Add(-1500*time.Millisecond))
	_, wait, _ = te.plan("r", obs, nil, "", nil)
	if wait < 300*time.Millisecond || wait > 500*time.Millisecond {
		t.Errorf("wait %v, want ~0.5s whichever stream it is", wait)
	}
}

// Deletes are allowed only with complete listings: a failed OWT room
// listing or a failed room listing holds them.
func TestPlanHoldsDeletesOnIncompleteListings(t *testing.T) {
	now := time.Now()
	te, obs := graceRoom(t, now, now.Add(-time.Minute))
	te.owt.SetListing(RoomIndex{}, errors.New("boom"))
	plan, _, _ := te.plan("r", obs, nil, "", nil)
	if len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleIncomplete || !strings.Contains(plan.Ops[0].Held, "the OWT room listing failed") {
		t.Errorf("failed room listing: ops %+v", plan.Ops)
	}
	te, obs = graceRoom(t, now, now.Add(-time.Minute))
	plan, _, _ = te.plan("r", obs, nil, "", errors.New("list failed"))
	// The stop is held with its reason; the room, still holding it, is not planned.
	if len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleIncomplete || plan.Ops[0].Held != "the streams of this room could not be read" {
		t.Errorf("failed stream listing: ops %+v", plan.Ops)
	}
}

func TestPlanBudgetHeld(t *testing.T) {
	now := time.Now()
	te, obs := graceRoom(t, now, now.Add(-time.Minute))
	te.budgetMu.Lock()
	te.budget = Budget{MaxDeletes: 1, used: 1}
	te.budgetAt = time.Now()
	te.budgetMu.Unlock()
	plan, _, budgetHeld := te.plan("r", obs, nil, "", nil)
	if !budgetHeld || plan.Ops[0].Rule != RuleMaxDeletes {
		t.Errorf("budget held %v, ops %+v", budgetHeld, plan.Ops)
	}
	before := time.Now()
	_ = te.report(context.Background(), "r", obs, nil, nil, nil, -1, true)
	te.assertDue(t, "r", before, time.Now(), 10*time.Second) // min(interval 1h, 10s)
}

func TestReportRequeues(t *testing.T) {
	te := newTestEngine(t, func(c *Config) { c.PendingPoll = 3 * time.Second })
	obs := &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}

	// A hold ending in 1s: looked at again right after it.
	te.pending.Restore("r", key("cam"), "op1", time.Now(), time.Now().Add(time.Second))
	before := time.Now()
	if err := te.report(context.Background(), "r", obs, nil, nil, nil, -1, false); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	at, ok := te.dueAt("r")
	if !ok || at.Before(before.Add(time.Second+9*time.Millisecond)) || at.After(after.Add(time.Second+10*time.Millisecond)) {
		t.Errorf("room due %v after report (pending %v), want the hold's end + 10ms", at.Sub(before), ok)
	}
	if te.refreshAt.Load() != 0 {
		t.Error("SRS refresh scheduled without a grace wait")
	}

	// A hold ending in a minute: polled every PendingPoll.
	te2 := newTestEngine(t, func(c *Config) { c.PendingPoll = 3 * time.Second })
	te2.pending.Restore("r", key("cam"), "op1", time.Now(), time.Now().Add(time.Minute))
	before = time.Now()
	_ = te2.report(context.Background(), "r", obs, nil, nil, nil, -1, false)
	te2.assertDue(t, "r", before, time.Now(), 3*time.Second)

	// A grace wait: SRS is read again 50ms after the stop may be ready.
	te3 := newTestEngine(t, nil)
	before = time.Now()
	_ = te3.report(context.Background(), "r", obs, nil, nil, nil, 2*time.Second, false)
	refresh := time.Unix(0, te3.refreshAt.Load())
	if refresh.Before(before.Add(2050*time.Millisecond).Truncate(0)) || refresh.After(time.Now().Add(2050*time.Millisecond)) {
		t.Errorf("SRS refresh %v after report, want wait+50ms", refresh.Sub(before))
	}
	if _, ok := te3.dueAt("r"); ok {
		t.Error("room requeued with nothing pending")
	}
}

func TestReportErrors(t *testing.T) {
	hinted := &DesiredInput{Key: key("cam"), Hint: true}
	notYet := Result{Op: Op{Kind: OpStartInput, input: hinted}, Err: errAmbiguous}
	listedStart := Result{Op: Op{Kind: OpStartInput, input: &DesiredInput{Key: key("cam")}}, Err: errAmbiguous}
	other := Result{Op: Op{Kind: OpStopInput}, Err: errors.New("stop failed")}
	ok := Result{Op: Op{Kind: OpStopInput}}
	for _, tc := range []struct {
		name       string
		results    []Result
		listErr    error
		wantErr    bool
		wantNotYet bool
	}{
		{name: "all ok", results: []Result{ok}},
		{name: "not pullable yet", results: []Result{notYet, ok}, wantErr: true, wantNotYet: true},
		{name: "two not pullable yet", results: []Result{notYet, notYet}, wantErr: true, wantNotYet: true},
		{name: "ambiguous start of a listed stream", results: []Result{listedStart}, wantErr: true},
		{name: "not yet and another failure", results: []Result{notYet, other}, wantErr: true},
		{name: "not yet and a listing failure", results: []Result{notYet}, listErr: errors.New("list"), wantErr: true},
		{name: "listing failure", listErr: errors.New("list"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			obs := &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true}
			err := te.report(context.Background(), "r", obs, nil, tc.results, tc.listErr, -1, false)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			var ny *notYetError
			if errors.As(err, &ny) != tc.wantNotYet {
				t.Errorf("err %v: not-yet %v, want %v", err, errors.As(err, &ny), tc.wantNotYet)
			}
			if tc.listErr != nil && !errors.Is(err, tc.listErr) {
				t.Errorf("err %v does not carry the listing error", err)
			}
		})
	}
}

// report commits the journal and stores the room; a stream that joined
// its views here frees the rooms still holding it.
func TestReportStoresAndCommits(t *testing.T) {
	te := newTestEngine(t, nil)
	te.owt.Store(&ObservedRoom{Name: "old", ID: "o", Exists: true, Listed: true, Inputs: []Input{owned("s0", "cam")}}, true)
	te.owt.Store(&ObservedRoom{Name: "other", ID: "x", Exists: true, Listed: true, Inputs: []Input{owned("s9", "else")}}, true)
	te.journal.SetMissing("r", key("gone"), t0())
	obs := &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam", "common")}}
	results := []Result{
		{Op: Op{Kind: OpAddView, key: key("cam"), Room: "r"}},
		{Op: Op{Kind: OpAddView, key: key("else"), Room: "r"}, Err: errors.New("failed")},
	}
	_ = te.report(context.Background(), "r", obs, desiredRoom("r", true, want("cam", "common")), results, nil, -1, false)
	assertStrings(t, "queued", te.queued(), []string{"old"})
	doc, _ := te.mem.Load(context.Background())
	if !strings.Contains(string(doc), "gone") {
		t.Errorf("journal not committed: %s", doc)
	}
	if got, stale := te.owt.Take("r", te.journal); stale || len(got.Inputs) != 1 {
		t.Errorf("room not stored: %+v", got)
	}
	// A room that is gone, not the agent's and not desired is dropped.
	gone := &ObservedRoom{Name: "r", Listed: true}
	_ = te.report(context.Background(), "r", gone, nil, nil, nil, -1, false)
	if _, ok := te.owt.cache["r"]; ok {
		t.Error("gone undesired room kept")
	}
	// Without a journal report works too.
	bare := newTestEngine(t, func(c *Config) { c.Journal = nil })
	if err := bare.report(context.Background(), "r", obs, nil, nil, nil, -1, false); err != nil {
		t.Fatal(err)
	}
}

// Of several grace-held stops the room waits for the earliest, even when
// one is ready at once (wait 0).
func TestPlanGraceWaitZeroFirst(t *testing.T) {
	now := time.Now()
	snapAt := now.Add(-10 * time.Second)
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		te, obs := graceRoom(t, snapAt, snapAt)
		obs.Inputs = []Input{owned("s1", order[0]), owned("s2", order[1])}
		te.journal.SetMissing("r", key(order[0]), snapAt.Add(-time.Second)) // ready 1s after the reading: now
		te.journal.SetMissing("r", key(order[1]), now)                      // ready in 2s
		plan, wait, _ := te.plan("r", obs, nil, "", nil)
		if len(plan.Ops) != 2 || plan.Ops[0].Rule != RuleGrace || plan.Ops[1].Rule != RuleGrace {
			t.Fatalf("ops %+v, want two grace-held stops", plan.Ops)
		}
		if wait != 0 {
			t.Errorf("%v first: wait %v, want 0", order, wait)
		}
	}
}

// The plan's grace records: a stream first seen unwanted is recorded at
// the reading's time; one wanted again is forgotten; without a reading
// nothing is recorded.
func TestPlanGraceRecords(t *testing.T) {
	now := time.Now()
	te, obs := graceRoom(t, now, now)
	te.journal.ClearMissing("r", key("cam"))
	te.plan("r", obs, nil, "", nil)
	if at, ok := te.journal.MissingSince("r", key("cam")); !ok || !at.Equal(now) {
		t.Errorf("missing since %v %v, want the reading's time", at, ok)
	}
	te.readSRSNow(liveSnap("cam"))
	te.plan("r", obs, te.srs.DesiredRoom("r", te.pol(), te.pullOf), "", nil)
	// cam is desired in room cam, not r: still missing here.
	if _, ok := te.journal.MissingSince("r", key("cam")); !ok {
		t.Error("grace record of a stream wanted elsewhere dropped")
	}
	te.plan("cam", &ObservedRoom{Name: "cam", ID: "2", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}},
		te.srs.DesiredRoom("cam", te.pol(), te.pullOf), "", nil)
	te.journal.SetMissing("cam", key("cam"), t0())
	te.plan("cam", &ObservedRoom{Name: "cam", ID: "2", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}},
		te.srs.DesiredRoom("cam", te.pol(), te.pullOf), "", nil)
	if _, ok := te.journal.MissingSince("cam", key("cam")); ok {
		t.Error("grace record of a stream wanted again kept")
	}

	// No reading yet: nothing to measure from.
	te2 := newTestEngine(t, nil)
	te2.listRoomsOnce()
	te2.plan("r", &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}}, nil, "", nil)
	if _, ok := te2.journal.MissingSince("r", key("cam")); ok {
		t.Error("grace record made without an SRS reading")
	}
	// Without a journal, planning works.
	te3 := newTestEngine(t, func(c *Config) { c.Journal = nil })
	te3.listRoomsOnce()
	te3.srs.Record([]Source{{Name: "origin", Snapshot: liveSnap()}}, nil, now, te3.pol())
	if plan, _, _ := te3.plan("r", &ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}}, nil, "", nil); len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleGrace {
		t.Errorf("no journal: ops %+v", plan.Ops)
	}
}

// A stream moved to another room is stopped in the old one only once it
// is in view in the new one.
func TestPlanMoveWaitsForView(t *testing.T) {
	for _, inView := range []bool{false, true} {
		te := newTestEngine(t, nil)
		te.listRoomsOnce()
		te.readSRSNow(liveSnap("cam"))
		views := []string{}
		if inView {
			views = []string{"common"}
		}
		te.owt.Store(&ObservedRoom{Name: "cam", ID: "2", Exists: true, Listed: true, Inputs: []Input{owned("s2", "cam", views...)}}, true)
		old := &ObservedRoom{Name: "old", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam", "common")}}
		plan, _, _ := te.plan("old", old, nil, "", nil)
		if len(plan.Ops) == 0 || plan.Ops[0].Kind != OpStopInput {
			t.Fatalf("ops %+v", plan.Ops)
		}
		if held := plan.Ops[0].Rule == RuleMoving; held == inView {
			t.Errorf("in view in the new room %v: stop held %v (%q)", inView, held, plan.Ops[0].Held)
		}
	}
}

// A grace wait of 0 still reads SRS again shortly.
func TestReportZeroWait(t *testing.T) {
	te := newTestEngine(t, nil)
	before := time.Now()
	_ = te.report(context.Background(), "r", &ObservedRoom{Name: "r", Listed: true}, nil, nil, nil, 0, false)
	at := time.Unix(0, te.refreshAt.Load())
	if te.refreshAt.Load() == 0 || at.Before(before.Add(50*time.Millisecond).Truncate(0)) || at.After(time.Now().Add(50*time.Millisecond)) {
		t.Errorf("SRS refresh %v after report, want 50ms", at.Sub(before))
	}
}

// A room with an open create intent: while the intent is young a missing
// room is not created (and is looked at again); a room that exists is
// worked on without waiting, and looked at again to settle the intent; an
// old intent is resolved by a fresh listing
// and the room found is listed before planning.
func TestReconcileRoomWithRoomIntent(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t, func(c *Config) { c.IntentSettle = time.Minute })
	te.listRoomsOnce()
	te.readSRSNow(liveSnap("cam"))
	if err := te.journal.Begin(ctx, Intent{ID: "i1", Kind: IntentRoom, Room: "cam", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_ = te.reconcileRoom(ctx, "cam")
	for _, c := range te.api.Calls() {
		if strings.HasPrefix(c, "create_room") {
			t.Errorf("room created while its earlier create may still land: %v", te.api.Calls())
		}
	}
	if _, ok := te.dueAt("cam"); !ok {
		t.Error("room with a young intent not looked at again")
	}

	te = newTestEngine(t, func(c *Config) { c.IntentSettle = time.Minute })
	te.listRoomsOnce(owtapi.Room{ID: "7", Name: "cam"})
	te.readSRSNow(liveSnap("cam"))
	if err := te.journal.Begin(ctx, Intent{ID: "i1", Kind: IntentRoom, Room: "cam", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_ = te.reconcileRoom(ctx, "cam")
	started := false
	for _, c := range te.api.Calls() {
		started = started || strings.HasPrefix(c, "start")
	}
	if !started {
		t.Errorf("a room that exists waited for its create intent: calls %v", te.api.Calls())
	}
	// ...and is looked at again once the intent can be settled, so that a
	// room a new leader listed right after the create is adopted then,
	// not at the next periodic resync.
	if at, ok := te.dueAt("cam"); !ok || time.Until(at) < 50*time.Second {
		t.Errorf("a room that exists with a young intent is not looked at again when it can be settled (due %v, %v)", at, ok)
	}

	te = newTestEngine(t, func(c *Config) { c.IntentSettle = time.Millisecond })
	te.listRoomsOnce()
	te.readSRSNow(liveSnap("cam"))
	te.owt.Store(&ObservedRoom{Name: "cam", Listed: true, Participants: -1}, true)
	if err := te.journal.Begin(ctx, Intent{ID: "i1", Kind: IntentRoom, Room: "cam", At: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	te.api.listRooms = func() ([]owtapi.Room, error) { return []owtapi.Room{{ID: "new", Name: "cam"}}, nil }
	_ = te.reconcileRoom(ctx, "cam")
	calls := te.api.Calls()
	if len(calls) < 2 || calls[0] != "list_rooms" || calls[1] != "list_streams new" {
		t.Errorf("calls %v, want the room listing, then the adopted room's streams", calls)
	}
}
