package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// statusWorld is an OWT with room "a" (the agent's, stream a in view),
// room "old" (the agent's, stream d nobody publishes any more) and a
// foreign room "lobby", and an SRS publishing a, b and the denied p.
func statusWorld(t *testing.T, edit func(*Config)) *testEngine {
	t.Helper()
	te := newTestEngine(t, edit)
	te.api.listRooms = func() ([]owtapi.Room, error) {
		return []owtapi.Room{{ID: "r-a", Name: "a", Views: []owtapi.View{{Label: "common"}}},
			{ID: "r-old", Name: "old", Views: []owtapi.View{{Label: "common"}}},
			{ID: "r-lobby", Name: "lobby"}}, nil
	}
	te.api.listStreams = func(id string) ([]owtapi.Stream, error) {
		switch id {
		case "r-a":
			return []owtapi.Stream{ownedStream("agent", "s-a", "a", "common")}, nil
		case "r-old":
			return []owtapi.Stream{ownedStream("agent", "s-d", "d", "common")}, nil
		}
		return nil, nil
	}
	te.journal.SetRoom("a", "r-a", t0())
	te.journal.SetRoom("old", "r-old", t0())
	snap := liveSnap("a", "b")
	snap.Streams = append(snap.Streams, live("__defaultVhost__", "private", "p", "cid-p", true))
	te.srsAPI.set(snap, nil)
	return te
}

// opLine is an op in a form both the status and a plan give.
func opLine(room string, o Op) string {
	return fmt.Sprintf("%s %s %s %s held=%s", room, o.Kind, o.Stream, o.View, o.Rule)
}

// TestStatusShowsWhatDiffPlans: the engine's status, computed from its
// stores after a resync, holds exactly the operations `diff` (OneShot)
// plans from a fresh read of the same servers, held ones with their rule.
// Status itself makes no call, queues nothing and writes nothing.
func TestStatusShowsWhatDiffPlans(t *testing.T) {
	te := statusWorld(t, nil)
	ctx := context.Background()
	te.resync(ctx)
	calls, queued, dirty := len(te.api.Calls()), te.queued(), te.journal.Dirty()

	st := te.Status(time.Now())

	if n := len(te.api.Calls()); n != calls {
		t.Errorf("Status called OWT: %v", te.api.Calls()[calls:])
	}
	if q := te.queued(); strings.Join(q, ",") != strings.Join(queued, ",") {
		t.Errorf("Status changed the queue: %v, was %v", q, queued)
	}
	if te.journal.Dirty() != dirty {
		t.Error("Status changed the journal")
	}

	var got []string
	for i, r := range st.Rooms {
		// Rooms are listed once each, by name, none without a name.
		if r.Name == "" || i > 0 && st.Rooms[i-1].Name >= r.Name {
			t.Errorf("room %d %q out of order or unnamed (after %q)", i, r.Name, st.Rooms[max(i-1, 0)].Name)
		}
		for _, o := range r.Ops {
			got = append(got, opLine(r.Name, o.Op))
		}
	}
	o := &OneShot{Agent: "agent", Servers: te.cfg.Servers, OWT: te.api, Journal: te.journal, Policy: te.pol()}
	plan, _, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var diff []string
	for _, r := range plan.Rooms {
		for _, o := range r.Ops {
			diff = append(diff, opLine(r.Room, o))
		}
	}
	sort.Strings(got)
	sort.Strings(diff)
	want := []string{
		"b add_view origin/__defaultVhost__/live/b common held=",
		"b create_room   held=",
		"b start_input origin/__defaultVhost__/live/b  held=",
		"old stop_input origin/__defaultVhost__/live/d  held=delete_grace",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("status ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(got, "\n") != strings.Join(diff, "\n") {
		t.Errorf("status ops:\n%s\ndiff plans:\n%s", strings.Join(got, "\n"), strings.Join(diff, "\n"))
	}
	if s := st.Summary; s != plan.Summary() {
		t.Errorf("status summary %+v, diff %+v", s, plan.Summary())
	}

	rooms := map[string]RoomStatus{}
	for _, r := range st.Rooms {
		rooms[r.Name] = r
	}
	if _, ok := rooms["lobby"]; !ok {
		t.Error("the foreign room lobby is not shown")
	}
	a := rooms["a"]
	if !a.InSync || !a.Exists || !a.Owned || a.ID != "r-a" || len(a.Inputs) != 1 {
		t.Fatalf("room a: %+v", a)
	}
	if in := a.Inputs[0]; !in.Desired || !in.InView || in.URL != pullURL("a") || len(in.OWT) != 1 || in.OWT[0].ID != "s-a" {
		t.Errorf("room a input: %+v", in)
	}
	b := rooms["b"]
	if b.Exists || b.InSync || len(b.Inputs) != 1 || b.Inputs[0].InView || len(b.Inputs[0].OWT) != 0 {
		t.Errorf("room b: %+v", b)
	}
	old := rooms["old"]
	if len(old.Inputs) != 1 || old.Inputs[0].Desired || old.Ops[0].TimeLeftSeconds <= 0 || old.Ops[0].TimeLeftSeconds > 2 {
		t.Errorf("room old: %+v", old)
	}
	if st.Denied != 1 || !st.Ready || st.NotReady != "" || len(st.SRS) != 1 || !st.SRS[0].OK || st.SRS[0].Live != 3 || !st.OWT.OK || st.OWT.Rooms != 3 {
		t.Errorf("status: denied %d ready %v %q srs %+v owt %+v", st.Denied, st.Ready, st.NotReady, st.SRS, st.OWT)
	}
	if st.Store.Name == "" || !st.Store.Healthy || st.Store.OwnedRooms != 2 {
		t.Errorf("store: %+v", st.Store)
	}
	if st.OWT.ListedAt.IsZero() || st.OWT.AgeSeconds < 0 || st.OWT.AgeSeconds > 5 || st.SRS[0].ReadAt.IsZero() {
		t.Errorf("reading times: owt %+v, srs %+v", st.OWT, st.SRS[0])
	}
	// A room only the journal knows (created by the agent, missing from
	// the listing) is shown too, as the agent's.
	te.journal.SetRoom("ghost", "r-ghost", t0())
	found := false
	for _, r := range te.Status(time.Now()).Rooms {
		if r.Name == "ghost" {
			found = r.Owned && r.ID == "r-ghost"
		}
	}
	if !found {
		t.Error("the journal's room ghost is not shown as the agent's")
	}
}

// TestStatusReportsTrouble: failed readings, a failed journal write, a
// room's last error, a POST of unknown outcome, unroutable streams and
// the max_deletes budget all show, and clear when they are over.
func TestStatusReportsTrouble(t *testing.T) {
	te := statusWorld(t, func(c *Config) {
		pol := *c.Policy
		pol.Reconcile.MaxDeletes = 1
		pol.Reconcile.DeleteGrace = 0
		c.Policy = &pol
	})
	ctx := context.Background()
	// Before any reading: not ready, SRS never read.
	st := te.Status(time.Now())
	if st.Ready || st.SRS[0].Error != "not read yet" || !st.SRS[0].ReadAt.IsZero() || st.OWT.OK || !st.OWT.ListedAt.IsZero() {
		t.Errorf("before any reading: %+v %+v", st.SRS, st.OWT)
	}
	// old holds two streams now: with max_deletes 1, one stop is held.
	te.api.listStreams = func(id string) ([]owtapi.Stream, error) {
		switch id {
		case "r-a":
			return []owtapi.Stream{ownedStream("agent", "s-a", "a", "common")}, nil
		case "r-old":
			return []owtapi.Stream{ownedStream("agent", "s-d", "d", "common"), ownedStream("agent", "s-e", "e", "common")}, nil
		}
		return nil, nil
	}
	te.resync(ctx)
	now := time.Now()
	te.pending.Begin("b", key("b"), "op-1", now.Add(-time.Second))
	te.pending.Restore("a", key("a"), "op-2", now.Add(-2*time.Second), now.Add(30*time.Second))
	te.storeWritten(errors.New("disk full"))
	te.view.roomResult("old", errors.New("OWT said no"))
	te.api.listRooms = func() ([]owtapi.Room, error) { return nil, errors.New("connection refused") }
	te.srsAPI.set(liveSnap("a", "b"), errors.New("SRS down"))
	te.readSRS(ctx)
	te.owt.SetListing(RoomIndex{}, errors.New("connection refused"))
	te.unroutable.hook(key("bad"), "room name renders empty", now)

	st = te.Status(now)
	if st.Ready || !strings.Contains(st.NotReady, "connection refused") || st.OWT.OK || st.OWT.Error != "connection refused" {
		t.Errorf("OWT failing: ready %v %q, %+v", st.Ready, st.NotReady, st.OWT)
	}
	if st.SRS[0].OK || !strings.HasSuffix(st.SRS[0].Error, "SRS down") {
		t.Errorf("SRS failing: %+v", st.SRS[0])
	}
	if st.Store.Healthy || st.Store.Error != "disk full" || st.Store.LastWrite.IsZero() {
		t.Errorf("store: %+v", st.Store)
	}
	if len(st.Unroutable) != 1 || st.Unroutable[0].Stream != key("bad").String() || st.Unroutable[0].Why != "room name renders empty" {
		t.Errorf("unroutable: %+v", st.Unroutable)
	}
	rooms := map[string]RoomStatus{}
	for _, r := range st.Rooms {
		rooms[r.Name] = r
	}
	if r := rooms["old"]; r.LastError != "OWT said no" || r.LastErrorAt.IsZero() {
		t.Errorf("room old: %+v", r)
	}
	// With a listing failed, nothing may be deleted: both stops are held
	// for the incomplete listing.
	for _, o := range rooms["old"].Ops {
		if o.Kind == OpStopInput && o.Rule != RuleIncomplete {
			t.Errorf("stop with OWT failing: %+v", o)
		}
	}
	if p := rooms["b"].Inputs[0].Pending; p == nil || !p.InProgress {
		t.Errorf("room b pending: %+v", rooms["b"].Inputs[0])
	}
	if p := rooms["a"].Inputs[0].Pending; p == nil || p.InProgress || p.TimeLeftSeconds != 30 {
		t.Errorf("room a pending: %+v", rooms["a"].Inputs[0].Pending)
	}
	// A POST being made holds the start of b: no start planned for it.
	for _, o := range rooms["b"].Ops {
		if o.Kind == OpStartInput {
			t.Errorf("start of b planned while its POST is in progress: %+v", o)
		}
	}

	// All clear: readings back, a good write, the room worked.
	te.api.listRooms = statusWorld(t, nil).api.listRooms
	te.srsAPI.set(liveSnap("a", "b"), nil)
	te.resync(ctx)
	te.storeWritten(nil)
	te.view.roomResult("old", nil)
	st = te.Status(time.Now())
	rooms = map[string]RoomStatus{}
	for _, r := range st.Rooms {
		rooms[r.Name] = r
	}
	if !st.Store.Healthy || st.Store.Error != "" || rooms["old"].LastError != "" || !st.SRS[0].OK || !st.OWT.OK {
		t.Errorf("after recovery: store %+v, old %q, srs %+v, owt %+v", st.Store, rooms["old"].LastError, st.SRS[0], st.OWT)
	}
	rules := map[string]int{}
	for _, o := range rooms["old"].Ops {
		rules[string(o.Kind)+"/"+o.Rule]++
	}
	if rules["stop_input/"] != 1 || rules["stop_input/max_deletes"] != 1 {
		t.Errorf("with max_deletes 1, old's stops: %v", rules)
	}
}

// A room's notes are logged when they change, not on every pass.
func TestNotesLoggedOnce(t *testing.T) {
	var m statusMemo
	steps := []struct {
		notes []string
		log   bool
	}{
		{nil, false}, {[]string{"a"}, true}, {[]string{"a"}, false}, {[]string{"a", "b"}, true},
		{[]string{"a", "b"}, false}, {nil, false}, {[]string{"a"}, true},
	}
	for i, s := range steps {
		if got := m.notesChanged("r", s.notes); got != s.log {
			t.Errorf("step %d %v: logged %v, want %v", i, s.notes, got, s.log)
		}
	}
	if !m.notesChanged("other", []string{"a"}) {
		t.Error("rooms share their notes")
	}
}

// An open create intent of a room that does not exist holds its create on
// the status, with the wait when it is young; one of an existing room
// holds nothing.
func TestStatusShowsHeldCreate(t *testing.T) {
	te := statusWorld(t, nil) // IntentSettle: 1h
	ctx := context.Background()
	te.resync(ctx)
	now := time.Now()
	createOf := func(room string) *OpStatus {
		for _, r := range te.Status(now).Rooms {
			if r.Name != room {
				continue
			}
			for i := range r.Ops {
				if r.Ops[i].Kind == OpCreateRoom {
					return &r.Ops[i]
				}
			}
		}
		return nil
	}
	if o := createOf("b"); o == nil || o.Held != "" {
		t.Fatalf("room b without an intent: %+v", o)
	}
	if err := te.journal.Begin(ctx, Intent{ID: "i-b", Kind: IntentRoom, Room: "b", At: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if o := createOf("b"); o == nil || o.Rule != RuleCreatePending || !strings.Contains(o.Held, "sent 1m0s ago has no known outcome yet; waiting") {
		t.Errorf("young intent: %+v", o)
	}
	te.journal.End("i-b")
	if err := te.journal.Begin(ctx, Intent{ID: "i-b2", Kind: IntentRoom, Room: "b", At: now.Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if o := createOf("b"); o == nil || o.Rule != RuleCreatePending || !strings.Contains(o.Held, "the next room listing resolves it") {
		t.Errorf("old intent: %+v", o)
	}
	// An intent for a room that exists holds nothing there.
	if err := te.journal.Begin(ctx, Intent{ID: "i-a", Kind: IntentRoom, Room: "a", At: now}); err != nil {
		t.Fatal(err)
	}
	for _, r := range te.Status(now).Rooms {
		if r.Name == "a" && !r.InSync {
			t.Errorf("room a with an intent: %+v", r.Ops)
		}
	}
}
