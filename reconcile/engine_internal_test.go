package reconcile

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

func TestNewEngineDefaults(t *testing.T) {
	e := NewEngine(Config{})
	got := e.cfg
	if got.PendingHold != 95*time.Second || got.HintTTL != 10*time.Second || got.RefreshDelay != time.Second ||
		got.RetryBase != 200*time.Millisecond || got.RetryMax != 30*time.Second || got.IntentSettle != 2*time.Second ||
		got.PendingPoll != time.Second || got.Log == nil || e.log == nil {
		t.Errorf("defaults: %+v", got)
	}
	if e.queue.initial != 200*time.Millisecond || e.queue.max != 30*time.Second || e.srs.hintTTL != 10*time.Second ||
		e.applier.PendingHold != 95*time.Second || cap(e.applier.Slots) != 8 {
		t.Errorf("defaults not passed on: queue %v..%v, hint TTL %v, hold %v, slots %d",
			e.queue.initial, e.queue.max, e.srs.hintTTL, e.applier.PendingHold, cap(e.applier.Slots))
	}
	set := Config{PendingHold: 1 * time.Second, HintTTL: 2 * time.Second, RefreshDelay: 3 * time.Second, RetryBase: 4 * time.Second,
		RetryMax: 5 * time.Second, IntentSettle: 6 * time.Second, PendingPoll: 7 * time.Second}
	e = NewEngine(set)
	got = e.cfg
	got.Log = nil
	if got.PendingHold != set.PendingHold || got.HintTTL != set.HintTTL || got.RefreshDelay != set.RefreshDelay || got.RetryBase != set.RetryBase ||
		got.RetryMax != set.RetryMax || got.IntentSettle != set.IntentSettle || got.PendingPoll != set.PendingPoll {
		t.Errorf("set values changed: %+v", got)
	}
	if e.queue.initial != 4*time.Second || e.queue.max != 5*time.Second || e.srs.hintTTL != 2*time.Second || e.applier.PendingHold != time.Second {
		t.Error("set values not passed on")
	}
	te := newTestEngine(t, nil) // concurrency 2
	if cap(te.applier.Slots) != 2 {
		t.Errorf("slots %d, want reconcile.concurrency (2)", cap(te.applier.Slots))
	}
}

// The engine's journal resolves POSTs through the pending registry and
// reports its writes; the gauges read the engine's state.
func TestNewEngineWiring(t *testing.T) {
	te := newTestEngine(t, nil)
	ctx := context.Background()
	if err := te.journal.Begin(ctx, Intent{ID: "op1", Kind: IntentInput, Room: "r", Stream: key("cam"), Op: "op1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	te.pending.Restore("r", key("cam"), "op1", time.Now(), time.Now().Add(-time.Second))
	te.pending.Sweep("r", time.Now())
	if len(te.journal.Intents()) != 0 {
		t.Error("a swept POST did not close its intent")
	}
	if got := testutil.ToFloat64(te.metrics.StoreWrites.WithLabelValues("ok")); got != 1 {
		t.Errorf("store_writes_total{ok} = %v, want 1 (the intent)", got)
	}
	te.journal.SetRoom("a", "1", t0())
	te.journal.SetRoom("b", "2", t0())
	te.owt.Store(&ObservedRoom{Name: "a", ID: "1", Exists: true, Inputs: []Input{owned("s1", "x"), owned("s2", "y")}}, true)
	te.queue.Add("a")
	if got := testutil.ToFloat64(te.metrics.OwnedRooms); got != 2 {
		t.Errorf("owned_rooms = %v", got)
	}
	if got := testutil.ToFloat64(te.metrics.OwnedStreams); got != 2 {
		t.Errorf("owned_streams = %v", got)
	}
	if got := testutil.ToFloat64(te.metrics.QueueDepth); got != 1 {
		t.Errorf("queue_depth = %v", got)
	}
	bare := newTestEngine(t, func(c *Config) { c.Journal = nil })
	if got := testutil.ToFloat64(bare.metrics.OwnedRooms); got != 0 {
		t.Errorf("no journal: owned_rooms = %v", got)
	}
}

func TestStoreWritten(t *testing.T) {
	te := newTestEngine(t, nil)
	ctx := context.Background()
	te.mem.Fail(errors.New("disk full"))
	te.journal.SetRoom("a", "1", t0())
	if err := te.journal.Commit(ctx); err == nil {
		t.Fatal("commit succeeded on a failing store")
	}
	if got := testutil.ToFloat64(te.metrics.StoreWrites.WithLabelValues("error")); got != 1 {
		t.Errorf("store_writes_total{error} = %v", got)
	}
	if got := testutil.ToFloat64(te.metrics.StoreHealthy); got != 0 {
		t.Errorf("store_healthy = %v after a failed write", got)
	}
	if !te.logs.has("ERROR ownership journal NOT written", "store=memory", "err=disk full") {
		t.Errorf("failed write not logged:\n%s", te.logs)
	}
	te.mem.Fail(nil)
	te.logs.recs = nil
	if err := te.journal.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if testutil.ToFloat64(te.metrics.StoreHealthy) != 1 || testutil.ToFloat64(te.metrics.StoreWrites.WithLabelValues("ok")) != 1 {
		t.Error("a good write did not restore store health")
	}
	if te.logs.has("ERROR") {
		t.Errorf("a good write logged an error:\n%s", te.logs)
	}
	// Without metrics the outcome is still logged.
	bare := newTestEngine(t, func(c *Config) { c.Metrics = nil })
	bare.storeWritten(errors.New("disk full"))
	if !bare.logs.has("ERROR ownership journal NOT written") {
		t.Error("no metrics: failed write not logged")
	}
}

func TestEngineReady(t *testing.T) {
	te := newTestEngine(t, nil)
	check := func(wantOK bool, wantWhy string) {
		t.Helper()
		if ok, why := te.Ready(); ok != wantOK || why != wantWhy {
			t.Errorf("Ready = %v %q, want %v %q", ok, why, wantOK, wantWhy)
		}
	}
	check(false, "OWT not listed yet")
	te.owt.SetListing(RoomIndex{}, errors.New("boom"))
	check(false, "OWT room listing failed: boom")
	te.listRoomsOnce()
	check(false, `SRS "origin" not listed yet`)
	te.readSRSNow(liveSnap())
	check(true, "")
	te.policy.Store(nil)
	check(false, "no policy loaded")
}

func TestEngineIdle(t *testing.T) {
	te := newTestEngine(t, nil)
	if !te.Idle() {
		t.Error("fresh engine not idle")
	}
	te.queue.AddAfter("r", time.Hour)
	if te.Idle() {
		t.Error("idle with a room due later")
	}
}

func TestSetPolicyResyncs(t *testing.T) {
	te := newTestEngine(t, nil)
	p := enginePol(t)
	te.SetPolicy(p)
	if te.pol() != p || len(te.resyncCh) != 1 {
		t.Errorf("policy replaced %v, resync asked %v", te.pol() == p, len(te.resyncCh) == 1)
	}
	te.Resync() // a second request while one is pending does not block
	if len(te.resyncCh) != 1 {
		t.Errorf("%d resyncs pending, want 1", len(te.resyncCh))
	}
}

// SRS refresh requests: the earliest wins, and the loop is woken once.
func TestScheduleRefresh(t *testing.T) {
	te := newTestEngine(t, nil)
	before := time.Now()
	te.scheduleRefresh(5 * time.Second)
	if len(te.refreshCh) != 1 {
		t.Fatal("loop not woken")
	}
	te.scheduleRefresh(time.Second)
	at := time.Unix(0, te.refreshAt.Load())
	if at.Before(before.Add(time.Second).Truncate(0)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("refresh %v after the requests, want the earliest (1s)", at.Sub(before))
	}
	te.scheduleRefresh(10 * time.Second)
	if got := time.Unix(0, te.refreshAt.Load()); !got.Equal(at) {
		t.Errorf("a later request moved the refresh by %v", got.Sub(at))
	}
	if len(te.refreshCh) != 1 {
		t.Errorf("%d wake-ups pending, want 1", len(te.refreshCh))
	}
}

// reconcile.concurrency bounds the OWT calls in flight; unset, 8.
func TestEngineSlots(t *testing.T) {
	for _, tc := range []struct{ concurrency, want int }{{0, 8}, {1, 1}, {3, 3}} {
		p := *enginePol(t)
		p.Reconcile.Concurrency = tc.concurrency
		e := NewEngine(Config{Policy: &p})
		if got := cap(e.applier.Slots); got != tc.want {
			t.Errorf("concurrency %d: %d slots, want %d", tc.concurrency, got, tc.want)
		}
	}
}

func TestResyncResults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		srsErr   error
		owtErr   error
		want     string
		primed   bool
		lastSync bool
	}{
		{name: "ok", want: "ok", primed: true, lastSync: true},
		{name: "SRS failed", srsErr: errors.New("srs down"), want: "partial", primed: true},
		{name: "OWT failed", owtErr: errors.New("owt down"), want: "error"},
		{name: "both failed", srsErr: errors.New("srs down"), owtErr: errors.New("owt down"), want: "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			te.srsAPI.set(liveSnap("cam"), tc.srsErr)
			te.api.listRooms = func() ([]owtapi.Room, error) { return nil, tc.owtErr }
			te.resync(context.Background())
			for _, r := range []string{"ok", "partial", "error"} {
				want := 0.0
				if r == tc.want {
					want = 1
				}
				if got := testutil.ToFloat64(te.metrics.Resyncs.WithLabelValues(r)); got != want {
					t.Errorf("resyncs_total{%s} = %v, want %v", r, got, want)
				}
			}
			if got := testutil.ToFloat64(te.metrics.LastResync) > 0; got != tc.lastSync {
				t.Errorf("last successful resync set %v, want %v", got, tc.lastSync)
			}
			if te.primedSet.Load() != tc.primed {
				t.Errorf("primed %v, want %v", te.primedSet.Load(), tc.primed)
			}
			if tc.owtErr != nil && !te.logs.has("WARN OWT room listing failed; will retry at the next resync", "err=owt down") {
				t.Errorf("failed listing not logged:\n%s", te.logs)
			}
		})
	}
	// Without metrics a resync works too.
	bare := newTestEngine(t, func(c *Config) { c.Metrics = nil })
	bare.resync(context.Background())
}

// A resync queues every room that is desired, listed, observed, owned or
// intended, each to be listed again, and puts them on the backlog.
func TestResyncQueuesEveryRoom(t *testing.T) {
	te := newTestEngine(t, nil)
	ctx := context.Background()
	te.srsAPI.set(liveSnap("desired"), nil)
	te.api.listRooms = func() ([]owtapi.Room, error) { return []owtapi.Room{{ID: "1", Name: "listed"}}, nil }
	te.journal.SetRoom("owned", "2", t0())
	if err := te.journal.Begin(ctx, Intent{ID: "i", Kind: IntentInput, Room: "intended", Stream: key("x"), Op: "i", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	te.owt.Store(&ObservedRoom{Name: "observed", Exists: false, Owned: true}, false)
	te.resync(ctx)
	all := []string{"desired", "intended", "listed", "observed", "owned"}
	assertStrings(t, "queued", te.queued(), all)
	if te.backlogLen() != len(all) {
		t.Errorf("backlog %d, want %d", te.backlogLen(), len(all))
	}
	for _, n := range all {
		te.owt.mu.Lock()
		stale := te.owt.stale[n]
		te.owt.mu.Unlock()
		// Rooms read while priming are fresh; the others are listed again.
		if wantStale := n != "listed" && n != "owned"; stale != wantStale {
			t.Errorf("room %s stale %v, want %v", n, stale, wantStale)
		}
	}
	calls := te.api.Calls()
	sort.Strings(calls)
	assertStrings(t, "calls", calls, []string{"list_rooms", "list_streams 1", "list_streams 2"})
}

// The first complete resync reads every located room before any worker
// runs: the publish queries recorded in the agent's inputs are known, so
// the desired state uses them from the start.
func TestResyncPrimesRooms(t *testing.T) {
	te := newTestEngine(t, nil)
	s := ownedStream("agent", "s1", "cam")
	s.Info.Attributes = Attributes("agent", key("cam"), "?tier=gold", pullURL("cam"), "op1")
	te.srsAPI.set(liveSnap("cam"), nil)
	te.api.listRooms = func() ([]owtapi.Room, error) {
		return []owtapi.Room{{ID: "1", Name: "cam"}, {ID: "2", Name: "broken"}}, nil
	}
	te.api.listStreams = func(id string) ([]owtapi.Stream, error) {
		if id == "2" {
			return nil, errAmbiguous
		}
		return []owtapi.Stream{s}, nil
	}
	if err := te.journal.Begin(context.Background(), Intent{ID: "op1", Kind: IntentInput, Room: "cam", Stream: key("cam"), Op: "op1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	te.pending.Restore("cam", key("cam"), "op1", time.Now(), time.Now().Add(time.Minute))
	te.resync(context.Background())
	select {
	case <-te.primed:
	default:
		t.Fatal("workers not released after the first complete resync")
	}
	if p := te.srs.Desired().Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=gold" {
		t.Errorf("desired param %q, want the one recorded in the agent's input", p)
	}
	if got, stale := te.owt.Take("cam", te.journal); stale || len(got.Inputs) != 1 {
		t.Errorf("primed room: stale %v inputs %v", stale, got.Inputs)
	}
	if _, stale := te.owt.Take("broken", te.journal); !stale {
		t.Error("a room that could not be read while priming is not listed again")
	}
	if !te.logs.has("WARN could not read room at start", "room=broken") {
		t.Errorf("unreadable room not logged:\n%s", te.logs)
	}
	if got := testutil.ToFloat64(te.metrics.DesiredStreams); got != 1 {
		t.Errorf("desired_streams = %v", got)
	}
	if got := testutil.ToFloat64(te.metrics.DesiredRooms); got != 1 {
		t.Errorf("desired_rooms = %v", got)
	}
	if te.pending.Unresolved("cam") || len(te.journal.Intents()) != 0 {
		t.Error("priming did not resolve the POST its listing shows")
	}
	// A second resync does not read the rooms again.
	n := len(te.api.Calls())
	te.resync(context.Background())
	if got := len(te.api.Calls()) - n; got != 1 {
		t.Errorf("second resync made %d calls, want 1 (the room listing): %v", got, te.api.Calls()[n:])
	}
}

// Publish queries and unpublish confirmations are kept only for streams
// the agent still holds an input for, and grace records only for inputs
// it still has, once the rooms are known.
func TestResyncForgets(t *testing.T) {
	te := newTestEngine(t, nil)
	te.srsAPI.set(liveSnap(), nil)
	te.srs.LearnParams([]Input{{Key: key("held"), Param: "?a=1"}, {Key: key("gone"), Param: "?b=1"}}, nil, nil)
	te.owt.Store(&ObservedRoom{Name: "r", ID: "1", Exists: true, Inputs: []Input{owned("s1", "held")}}, true)
	te.journal.SetMissing("r", key("held"), t0())
	te.journal.SetMissing("r", key("gone"), t0())
	te.resync(context.Background())
	te.srs.mu.Lock()
	_, held := te.srs.keyParam[key("held")]
	_, gone := te.srs.keyParam[key("gone")]
	te.srs.mu.Unlock()
	if !held || gone {
		t.Errorf("params kept: held %v gone %v, want only held", held, gone)
	}
	// The first resync primes: grace records are pruned from the next on.
	if te.journal.MissingCount() != 2 {
		t.Errorf("grace records pruned before the rooms were known: %d", te.journal.MissingCount())
	}
	te.resync(context.Background())
	if _, ok := te.journal.MissingSince("r", key("gone")); ok {
		t.Error("grace record of an input the agent no longer has kept")
	}
}

// A hook-driven SRS refresh queues the rooms whose streams changed and the
// rooms waiting for a fresher reading.
func TestRefreshSRS(t *testing.T) {
	te := newTestEngine(t, nil)
	te.readSRSNow(liveSnap("stays", "leaves"))
	te.srs.WaitForReading("waiting", "origin")
	te.srsAPI.set(liveSnap("stays", "comes"), nil)
	te.refreshSRS(context.Background())
	q := te.queued()
	sort.Strings(q)
	assertStrings(t, "queued", q, []string{"comes", "leaves", "waiting"})
	if len(te.resyncCh) != 0 {
		t.Error("resync asked without a restart")
	}

	// A stream routed elsewhere by a policy change: both rooms.
	te = newTestEngine(t, nil)
	te.readSRSNow(liveSnap("cam"))
	te.srs.mu.Lock()
	te.srs.desired.ByKey[key("cam")] = "before"
	te.srs.mu.Unlock()
	te.refreshSRS(context.Background())
	q = te.queued()
	sort.Strings(q)
	assertStrings(t, "queued", q, []string{"before", "cam"})

	// A restarted SRS asks for a resync.
	te = newTestEngine(t, nil)
	te.readSRSNow(liveSnap())
	snap := liveSnap()
	snap.ServiceID = "svc-2"
	te.srsAPI.set(snap, nil)
	te.refreshSRS(context.Background())
	if len(te.resyncCh) != 1 {
		t.Error("SRS restart did not ask for a resync")
	}
}

func TestEngineIntervals(t *testing.T) {
	te := newTestEngine(t, nil) // interval 1h
	for i := 0; i < 20; i++ {
		if iv := te.nextInterval(); iv > time.Hour || iv < 54*time.Minute {
			t.Fatalf("next interval %v, want within 10%% under 1h", iv)
		}
	}
	if w := te.budgetWindow(); w != 10*time.Second {
		t.Errorf("budget window %v, want 10s (capped)", w)
	}
	p := *te.pol()
	p.Reconcile = policy.Reconcile{Interval: 0}
	te.policy.Store(&p)
	for i := 0; i < 50; i++ {
		if iv := te.nextInterval(); iv > 30*time.Second || iv < 27*time.Second {
			t.Fatalf("unset interval: next %v, want 27s..30s", iv)
		}
	}
	p.Reconcile.Interval = 2 * time.Second
	if w := te.budgetWindow(); w != 2*time.Second {
		t.Errorf("budget window %v, want the interval (2s)", w)
	}
}

// The delete budget is spent across rooms within a window and renewed
// once the window is over.
func TestSpendBudget(t *testing.T) {
	te := newTestEngine(t, nil)
	p := *te.pol()
	p.Reconcile.MaxDeletes = 1
	te.policy.Store(&p)
	te.resetBudget()
	stop := func() *RoomPlan { return &RoomPlan{Ops: []Op{{Kind: OpStopInput, key: key("x")}}} }
	a, b := stop(), stop()
	te.spendBudget(a)
	te.spendBudget(b)
	if a.Ops[0].Held != "" || b.Ops[0].Rule != RuleMaxDeletes {
		t.Errorf("first %q, second %q; want the second held by max_deletes", a.Ops[0].Rule, b.Ops[0].Rule)
	}
	te.budgetMu.Lock()
	te.budgetAt = time.Now().Add(-11 * time.Second)
	te.budgetMu.Unlock()
	c := stop()
	te.spendBudget(c)
	if c.Ops[0].Held != "" {
		t.Errorf("budget not renewed after its window: %q", c.Ops[0].Held)
	}
}

// A stream the policy cannot place is counted, logged once, shown by
// Unroutable, and forgotten once SRS no longer lists it.
func TestResyncUnroutable(t *testing.T) {
	te := newTestEngine(t, nil)
	long := strings.Repeat("n", 200)
	te.srsAPI.set(liveSnap(long, "cam", "课堂1"), nil)
	te.resync(context.Background())
	te.resync(context.Background())
	if got := testutil.ToFloat64(te.metrics.PolicyErrors); got != 2 {
		t.Errorf("unroutable_streams = %v, want 2", got)
	}
	if got := testutil.ToFloat64(te.metrics.UnroutableTotal); got != 2 {
		t.Errorf("unroutable_total = %v, want 2", got)
	}
	if n := strings.Count(te.logs.String(), "kept out of OWT"); n != 2 {
		t.Errorf("logged %d times, want once per stream:\n%s", n, te.logs)
	}
	if !te.logs.has("WARN stream accepted for SRS but kept out of OWT", "stream=origin/__defaultVhost__/live/nnn", "room name is longer than 128") {
		t.Errorf("unroutable stream not logged:\n%s", te.logs)
	}
	got := te.Unroutable()
	if len(got) != 2 || got[0].Key.Stream != long || got[1].Key.Stream != "课堂1" || !strings.Contains(got[1].Reason, "SRS does not decode") || got[0].Since.IsZero() {
		t.Errorf("Unroutable() = %+v", got)
	}
	if _, ok := te.srs.Desired().ByKey[got[1].Key]; ok {
		t.Error("unroutable stream is desired")
	}
	te.srsAPI.set(liveSnap("cam"), nil)
	te.resync(context.Background())
	if got := te.Unroutable(); len(got) != 0 || testutil.ToFloat64(te.metrics.PolicyErrors) != 0 {
		t.Errorf("after the streams left: %+v", got)
	}
}

// A resync settles old room intents with its listing, renews the delete
// budget and writes the intents closed meanwhile.
func TestResyncSettlesAndFlushes(t *testing.T) {
	te := newTestEngine(t, func(c *Config) { c.IntentSettle = time.Millisecond })
	ctx := context.Background()
	for _, in := range []Intent{
		{ID: "room", Kind: IntentRoom, Room: "made", At: time.Now().Add(-time.Second)},
		{ID: "closed", Kind: IntentInput, Room: "x", Stream: key("x"), Op: "closed", At: time.Now()},
	} {
		if err := te.journal.Begin(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	te.journal.End("closed")
	te.api.listRooms = func() ([]owtapi.Room, error) { return []owtapi.Room{{ID: "m1", Name: "made"}}, nil }
	te.budgetMu.Lock()
	te.budget.used = 50
	te.budgetMu.Unlock()
	te.resync(ctx)
	if rec, owned := te.journal.Room("made"); !owned || rec.ID != "m1" {
		t.Errorf("room intent not settled by the resync's listing: %+v %v", rec, owned)
	}
	if doc, _ := te.mem.Load(ctx); strings.Contains(string(doc), "closed") {
		t.Errorf("closed intent still in the saved journal: %s", doc)
	}
	te.budgetMu.Lock()
	used := te.budget.used
	te.budgetMu.Unlock()
	if used != 0 {
		t.Errorf("delete budget not renewed: %d used", used)
	}
	// Without a journal a resync works too.
	bare := newTestEngine(t, func(c *Config) { c.Journal = nil })
	bare.api.listRooms = te.api.listRooms
	bare.resync(ctx)
	bare.resync(ctx)
}

// countingSRS counts its readings.
type countingSRS struct {
	n    atomic.Int32
	snap srsapi.Snapshot
}

func (c *countingSRS) Snapshot(context.Context) (srsapi.Snapshot, error) {
	c.n.Add(1)
	return c.snap, nil
}

// runLoop runs the engine's loop until the test ends.
func runLoop(t *testing.T, te *testEngine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		te.loop(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The loop resyncs at once, on request, and reads SRS when a refresh is
// due.
func TestLoopResyncAndRefresh(t *testing.T) {
	srs := &countingSRS{snap: liveSnap()}
	var lists atomic.Int32
	te := newTestEngine(t, func(c *Config) { c.Servers[0].Client = srs })
	te.api.listRooms = func() ([]owtapi.Room, error) { lists.Add(1); return nil, nil }
	runLoop(t, te)
	eventually(t, "first resync", time.Second, func() bool { return lists.Load() == 1 && srs.n.Load() == 1 })
	te.Resync()
	eventually(t, "requested resync", time.Second, func() bool { return lists.Load() == 2 && srs.n.Load() == 2 })
	start := time.Now()
	te.scheduleRefresh(20 * time.Millisecond)
	eventually(t, "SRS refresh", 500*time.Millisecond, func() bool { return srs.n.Load() == 3 })
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("SRS read %v after a refresh asked for in 20ms", took)
	}
	if lists.Load() != 2 {
		t.Error("an SRS refresh listed OWT rooms")
	}
	if te.refreshAt.Load() != 0 {
		t.Error("refresh request not cleared once served")
	}
}

// Resyncs follow the interval; while the last resync's rooms are still
// being worked on, the next is postponed.
func TestLoopInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		snap      srsapi.Snapshot
		postponed bool
	}{
		{name: "nothing to work on", snap: liveSnap()},
		{name: "backlog not drained", snap: liveSnap("cam"), postponed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lists atomic.Int32
			te := newTestEngine(t, nil)
			te.srsAPI.set(tc.snap, nil)
			p := *te.pol()
			p.Reconcile.Interval = 100 * time.Millisecond
			te.policy.Store(&p)
			te.api.listRooms = func() ([]owtapi.Room, error) { lists.Add(1); return nil, nil }
			runLoop(t, te)
			time.Sleep(380 * time.Millisecond)
			n := lists.Load()
			if tc.postponed {
				if n != 1 {
					t.Errorf("%d resyncs while the backlog was not drained, want 1", n)
				}
				// Once the rooms are worked on, resyncs resume.
				te.backlogMu.Lock()
				te.backlog = map[string]bool{}
				te.backlogMu.Unlock()
				eventually(t, "resync after the backlog drained", time.Second, func() bool { return lists.Load() > 1 })
			}
			if !tc.postponed && (n < 3 || n > 5) {
				t.Errorf("%d resyncs in 380ms at a 100ms interval, want 3..5", n)
			}
		})
	}
}
