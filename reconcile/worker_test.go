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

// process counts each outcome, backs off after a failure, resets the
// backoff after a success, and takes the room off the resync backlog.
func TestProcessOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		start       func(string, owtapi.StreamingInRequest) (owtapi.Stream, error)
		hint        bool
		wantResult  string
		wantRetries float64
		wantBackoff bool
	}{
		{name: "ok", wantResult: "ok"},
		{name: "error", wantResult: "error", wantRetries: 1, wantBackoff: true,
			start: func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) { return owtapi.Stream{}, errBadRequest }},
		{name: "not pullable yet", hint: true, wantResult: "retry", wantBackoff: true,
			start: func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) { return owtapi.Stream{}, errAmbiguous }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			te.api.start = tc.start
			te.api.listStreams = func(string) ([]owtapi.Stream, error) { return nil, nil }
			te.listRoomsOnce(owtapi.Room{ID: "1", Name: "cam"})
			if tc.hint {
				_ = te.OnHook(context.Background(), hook("on_publish", "live", "cam", "c1", ""))
			} else {
				te.readSRSNow(liveSnap("cam"))
			}
			te.backlog["cam"] = true
			if !tc.wantBackoff {
				te.queue.AddRateLimited("cam") // an earlier failure
				te.queue.mu.Lock()
				te.queue.timers["cam"].Stop()
				delete(te.queue.timers, "cam")
				delete(te.queue.due, "cam")
				te.queue.mu.Unlock()
			}
			te.process(context.Background(), "cam")
			for _, r := range []string{"ok", "error", "retry"} {
				want := 0.0
				if r == tc.wantResult {
					want = 1
				}
				if got := testutil.ToFloat64(te.metrics.Reconciles.WithLabelValues(r)); got != want {
					t.Errorf("reconciles_total{%s} = %v, want %v", r, got, want)
				}
			}
			if got := testutil.ToFloat64(te.metrics.Retries); got != tc.wantRetries {
				t.Errorf("retries_total = %v, want %v", got, tc.wantRetries)
			}
			if testutil.CollectAndCount(te.metrics.ReconcileTime) != 1 {
				t.Error("reconcile duration not observed")
			}
			te.queue.mu.Lock()
			_, backoff := te.queue.backoffs["cam"]
			_, due := te.queue.due["cam"]
			te.queue.mu.Unlock()
			if backoff != tc.wantBackoff || due != tc.wantBackoff {
				t.Errorf("backoff %v, requeued %v; want %v", backoff, due, tc.wantBackoff)
			}
			if te.backlogLen() != 0 {
				t.Error("room left on the backlog")
			}
			switch tc.wantResult {
			case "retry":
				if !te.logs.has("INFO stream(s) not pullable yet; retrying with backoff", "room=cam") {
					t.Errorf("retry not logged:\n%s", te.logs)
				}
			case "error":
				if !te.logs.has("WARN room not reconciled; retrying with backoff", "room=cam", "err=") {
					t.Errorf("error not logged:\n%s", te.logs)
				}
			}
		})
	}
	// Without metrics a failing room is processed too.
	te := newTestEngine(t, func(c *Config) { c.Metrics = nil })
	te.api.start = func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) { return owtapi.Stream{}, errBadRequest }
	te.listRoomsOnce(owtapi.Room{ID: "1", Name: "cam"})
	te.readSRSNow(liveSnap("cam"))
	te.process(context.Background(), "cam")
}

// A room whose hinted stream SRS never listed asks for an SRS reading now.
func TestReconcileRoomExpiredHint(t *testing.T) {
	te := newTestEngine(t, func(c *Config) { c.HintTTL = time.Millisecond })
	te.listRoomsOnce(owtapi.Room{ID: "1", Name: "cam"})
	_ = te.OnHook(context.Background(), hook("on_publish", "live", "cam", "c1", ""))
	te.refreshAt.Store(0)
	time.Sleep(5 * time.Millisecond)
	before := time.Now()
	_ = te.reconcileRoom(context.Background(), "cam")
	at := time.Unix(0, te.refreshAt.Load())
	if te.refreshAt.Load() == 0 || at.Before(before.Add(-time.Millisecond)) || at.After(time.Now()) {
		t.Errorf("SRS refresh at %v, want now", at.Sub(before))
	}
	// A hint within its TTL asks for nothing.
	te = newTestEngine(t, nil)
	te.listRoomsOnce(owtapi.Room{ID: "1", Name: "cam"})
	_ = te.OnHook(context.Background(), hook("on_publish", "live", "cam", "c1", ""))
	te.refreshAt.Store(0)
	_ = te.reconcileRoom(context.Background(), "cam")
	if te.refreshAt.Load() != 0 {
		t.Error("SRS refresh asked for a live hint")
	}
}

func TestObserve(t *testing.T) {
	mine := func() *ObservedRoom {
		return &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: -1}
	}
	for _, tc := range []struct {
		name       string
		obs        *ObservedRoom
		needList   bool
		journalID  string // the journal's record of room r
		list       func(string) ([]owtapi.Stream, error)
		wantCalls  []string
		wantErr    bool
		wantListed bool
		wantExists bool
		wantOwned  bool // journal still records r
	}{
		{name: "no list needed", obs: mine(), journalID: "1", wantListed: true, wantExists: true, wantOwned: true},
		{name: "gone room: nothing to list", obs: &ObservedRoom{Name: "r"}, needList: true, wantListed: true},
		{name: "listed", obs: mine(), needList: true, journalID: "1", wantCalls: []string{"list_streams 1"},
			wantListed: true, wantExists: true, wantOwned: true},
		{name: "listing fails", obs: mine(), needList: true, journalID: "1", wantCalls: []string{"list_streams 1"},
			list:    func(string) ([]owtapi.Stream, error) { return nil, errAmbiguous },
			wantErr: true, wantExists: true, wantOwned: true},
		{name: "own room gone", obs: mine(), needList: true, journalID: "1", wantCalls: []string{"list_streams 1"},
			list:       func(string) ([]owtapi.Stream, error) { return nil, errRoomNotFound },
			wantListed: true},
		{name: "gone, journal names another room", obs: mine(), needList: true, journalID: "2", wantCalls: []string{"list_streams 1"},
			list:       func(string) ([]owtapi.Stream, error) { return nil, errRoomNotFound },
			wantListed: true, wantOwned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			if tc.journalID != "" {
				te.journal.SetRoom("r", tc.journalID, t0())
			}
			te.api.listStreams = tc.list
			err := te.observe(context.Background(), tc.obs, roomSnapshot{needList: tc.needList})
			if (err != nil) != tc.wantErr {
				t.Errorf("err %v, want error %v", err, tc.wantErr)
			}
			assertStrings(t, "calls", te.api.Calls(), tc.wantCalls)
			if tc.obs.Listed != tc.wantListed || tc.obs.Exists != tc.wantExists {
				t.Errorf("listed %v exists %v, want %v %v", tc.obs.Listed, tc.obs.Exists, tc.wantListed, tc.wantExists)
			}
			if !tc.obs.Exists && tc.obs.Owned {
				t.Error("a gone room is still owned")
			}
			if _, owned := te.journal.Room("r"); owned != tc.wantOwned {
				t.Errorf("journal records r: %v, want %v", owned, tc.wantOwned)
			}
			if forgot := te.logs.has("WARN room the agent created is gone from OWT", "room_id=1"); forgot != (tc.journalID != "" && !tc.wantOwned) {
				t.Errorf("gone room logged %v:\n%s", forgot, te.logs)
			}
		})
	}
}

// A fresh listing of a room resolves the POSTs of unknown outcome it shows
// and teaches the publish queries recorded in the agent's inputs.
func TestObserveLearns(t *testing.T) {
	te := newTestEngine(t, nil)
	te.readSRSNow(liveSnap("cam"))
	if err := te.journal.Begin(context.Background(), Intent{ID: "op1", Kind: IntentInput, Room: "cam", Stream: key("cam"), Op: "op1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	te.pending.Begin("cam", key("cam"), "op1", time.Now())
	te.pending.Unknown("cam", key("cam"), time.Now().Add(time.Minute))
	s := ownedStream("agent", "s1", "cam")
	s.Info.Attributes = Attributes("agent", key("cam"), "?tier=gold", pullURL("cam"), "op1")
	te.api.listStreams = func(string) ([]owtapi.Stream, error) { return []owtapi.Stream{s}, nil }
	obs := &ObservedRoom{Name: "cam", ID: "1", Exists: true, Listed: false}
	if err := te.observe(context.Background(), obs, roomSnapshot{needList: true}); err != nil {
		t.Fatal(err)
	}
	if te.pending.Unresolved("cam") || len(te.journal.Intents()) != 0 {
		t.Error("the listing that shows the stream did not resolve its POST")
	}
	if p := te.srs.Recompute(te.pol()).Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=gold" {
		t.Errorf("param %q, want the one recorded in the input", p)
	}
}

func TestRecoverIntents(t *testing.T) {
	te := newTestEngine(t, func(c *Config) { c.PendingHold = time.Minute })
	now := time.Now()
	ctx := context.Background()
	for _, in := range []Intent{
		{ID: "young", Kind: IntentInput, Room: "a", Stream: key("a"), Op: "young", At: now.Add(-10 * time.Second)},
		{ID: "old", Kind: IntentInput, Room: "b", Stream: key("b"), Op: "old", At: now.Add(-2 * time.Minute)},
		{ID: "room", Kind: IntentRoom, Room: "c", At: now.Add(-time.Second)},
	} {
		if err := te.journal.Begin(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	te.recoverIntents(now)
	if !te.pending.InFlight("a", key("a"), now) {
		t.Error("a young POST of an earlier run does not hold its stream")
	}
	if left, ok := te.pending.Next("a", now); !ok || left != 50*time.Second {
		t.Errorf("hold left %v %v, want 50s (PendingHold less its age)", left, ok)
	}
	if te.pending.InFlight("b", key("b"), now) {
		t.Error("a POST older than the hold still holds its stream")
	}
	var open []string
	for _, in := range te.journal.Intents() {
		open = append(open, in.ID)
	}
	assertStrings(t, "open intents", open, []string{"young", "room"})
	if !te.logs.has("INFO streaming-in POST of an earlier run may still complete", "room=a", "hold_left=50s") ||
		!te.logs.has("INFO room create of an earlier run has an open intent", "room=c") {
		t.Errorf("recovery not logged:\n%s", te.logs)
	}
	// Without a journal there is nothing to recover.
	newTestEngine(t, func(c *Config) { c.Journal = nil }).recoverIntents(now)
}

func TestSettleRoomIntent(t *testing.T) {
	ctx := context.Background()
	obs := func() *ObservedRoom { return &ObservedRoom{Name: "r", Participants: -1} }

	// No journal, or no open intent: nothing held.
	bare := newTestEngine(t, func(c *Config) { c.Journal = nil })
	if held, relocated := bare.settleRoomIntent(ctx, "r", obs()); held != "" || relocated {
		t.Errorf("no journal: %q %v", held, relocated)
	}
	te := newTestEngine(t, func(c *Config) { c.IntentSettle = 2 * time.Second })
	if held, relocated := te.settleRoomIntent(ctx, "r", obs()); held != "" || relocated || len(te.api.Calls()) != 0 {
		t.Errorf("no intent: %q %v %v", held, relocated, te.api.Calls())
	}

	// A young intent holds the create and looks again once it may be settled.
	at := time.Now().Add(-500 * time.Millisecond)
	if err := te.journal.Begin(ctx, Intent{ID: "i1", Kind: IntentRoom, Room: "r", At: at}); err != nil {
		t.Fatal(err)
	}
	held, relocated := te.settleRoomIntent(ctx, "r", obs())
	if !strings.Contains(held, "has no known outcome yet") || relocated || len(te.api.Calls()) != 0 {
		t.Errorf("young intent: %q %v %v", held, relocated, te.api.Calls())
	}
	due, ok := te.dueAt("r")
	if want := at.Add(2*time.Second + 10*time.Millisecond); !ok || due.Before(want) || due.After(want.Add(time.Millisecond)) {
		t.Errorf("room due %v after the intent, want IntentSettle+10ms", due.Sub(at))
	}

	// An old one is resolved by a fresh listing; a failed listing holds.
	te2 := newTestEngine(t, func(c *Config) { c.IntentSettle = time.Millisecond })
	if err := te2.journal.Begin(ctx, Intent{ID: "i1", Kind: IntentRoom, Room: "r", At: time.Now().Add(-time.Second), SeenIDs: []string{"old"}}); err != nil {
		t.Fatal(err)
	}
	te2.api.listRooms = func() ([]owtapi.Room, error) { return nil, errors.New("boom") }
	held, relocated = te2.settleRoomIntent(ctx, "r", obs())
	if !strings.Contains(held, "the room listing to check it failed: boom") || relocated {
		t.Errorf("failed listing: %q %v", held, relocated)
	}
	te2.api.listRooms = func() ([]owtapi.Room, error) {
		return []owtapi.Room{{ID: "old", Name: "r"}, {ID: "new", Name: "r"}}, nil
	}
	o := obs()
	held, relocated = te2.settleRoomIntent(ctx, "r", o)
	if held != "" || !relocated {
		t.Fatalf("resolved: %q %v", held, relocated)
	}
	if rec, owned := te2.journal.Room("r"); !owned || rec.ID != "new" {
		t.Errorf("journal room %+v %v, want the new room adopted", rec, owned)
	}
	if o.ID != "new" || !o.Exists || !o.Owned {
		t.Errorf("room not located again: %+v", o)
	}
	if !te2.logs.has("WARN adopted a room whose create had no recorded answer", "room_id=new") {
		t.Errorf("adoption not logged:\n%s", te2.logs)
	}
}
