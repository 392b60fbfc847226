package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// keyOn is stream of app live on the default vhost of SRS server sv.
func keyOn(sv, stream string) StreamKey {
	return StreamKey{Server: sv, Vhost: "__defaultVhost__", App: "live", Stream: stream}
}

func pullOn(sv, stream string) string {
	return "rtmp://" + sv + "/live/" + stream + "?vhost=__defaultVhost__"
}

func ownedOn(id, sv, stream string, inViews ...string) Input {
	return Input{ID: id, Key: keyOn(sv, stream), InViews: inViews, URL: pullOn(sv, stream)}
}

func wantOn(sv, stream string, views ...string) *DesiredInput {
	return &DesiredInput{Key: keyOn(sv, stream), URL: pullOn(sv, stream), Views: views}
}

// readings answers Reading from a table; servers not in it were never read.
func readings(m map[string]ServerReading) func(string) ServerReading {
	return func(sv string) ServerReading {
		if r, ok := m[sv]; ok {
			return r
		}
		return ServerReading{Why: "never read " + sv}
	}
}

func streamIdent(k StreamKey) StreamKey { return Ident(k, false) }

// The safety rules hold per server: b's failed listing holds the stop of
// b's stream (naming b's failure, waiting on b) and so the room; a's stop
// follows a's readings alone, its grace measured against a's reading.
func TestPlanRoomPerServerReadings(t *testing.T) {
	now := t0().Add(10 * time.Second)
	obs := ownRoom("lobby", "r1", ownedOn("s1", "a", "gone"), ownedOn("s2", "b", "cam"))
	c := RoomContext{Observed: obs, Grace: 3 * time.Second, DeletesAllowed: true, Now: now,
		Reading: readings(map[string]ServerReading{
			"a": {At: now, OK: true},
			"b": {At: t0(), Why: "incomplete listing: srs \"b\": refused"},
		}),
		MissingSince: func(k StreamKey) (time.Time, bool) {
			if k.Server == "a" {
				return now.Add(-5 * time.Second), true
			}
			return time.Time{}, false
		}}
	p := PlanRoom(c)
	if len(p.Ops) != 2 {
		t.Fatalf("ops %+v, want a's stop and b's held stop, no room delete", p.Ops)
	}
	a, b := p.Ops[0], p.Ops[1]
	if a.Key() != keyOn("a", "gone") || a.Held != "" {
		t.Errorf("a's stop %+v, want it ready (gone 5s of a 3s grace on a's reading)", a)
	}
	if b.Key() != keyOn("b", "cam") || b.Rule != RuleIncomplete || b.Held != `incomplete listing: srs "b": refused` || b.WaitServer() != "b" {
		t.Errorf("b's stop %+v, want held as b's incomplete listing, waiting on b", b)
	}
	if len(p.NewlyMissing) != 0 {
		t.Errorf("NewlyMissing %v: a stream of an unread server starts no grace", p.NewlyMissing)
	}

	// b read again, well: b's stream starts its grace at b's reading; the
	// message counts from it to now, never negative.
	c.Reading = readings(map[string]ServerReading{"a": {At: now, OK: true}, "b": {At: now.Add(-time.Second), OK: true}})
	p = PlanRoom(c)
	b = p.Ops[1]
	if b.Rule != RuleGrace || b.RetryIn != 3*time.Second || b.Held != "delete grace: gone for 1s of 3s" || b.WaitServer() != "b" {
		t.Errorf("b's stop %+v, want a grace of 3s left from b's reading, gone for 1s", b)
	}
	assertStrings(t, "newly missing", keysOf(p.NewlyMissing), []string{"b/__defaultVhost__/live/cam"})

	// An unpublish hook newer than the reading: gone for 0s, not negative.
	c.MissingSince = since(now.Add(time.Second))
	p = PlanRoom(c)
	if h := p.Ops[1].Held; h != "delete grace: gone for 0s of 3s" {
		t.Errorf("hook after the reading: %q", h)
	}
	// Without Now the reading's time is used.
	c.Now = time.Time{}
	c.MissingSince = since(now.Add(-2 * time.Second))
	p = PlanRoom(c)
	if h := p.Ops[0].Held; h != "delete grace: gone for 2s of 3s" {
		t.Errorf("without Now: %q", h)
	}
}

func keysOf(ks []StreamKey) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.String())
	}
	return out
}

// Two inputs of one unwanted stream make it newly missing once.
func TestPlanRoomNewlyMissingOnce(t *testing.T) {
	obs := ownRoom("lobby", "r1", owned("s1", "cam"), owned("s2", "cam"))
	p := PlanRoom(RoomContext{Observed: obs, SnapshotAt: t0(), Grace: time.Second, DeletesAllowed: true})
	assertStrings(t, "newly missing", keysOf(p.NewlyMissing), []string{key("cam").String()})
	if len(p.Ops) != 2 || p.Ops[0].StreamID != "s1" || p.Ops[1].StreamID != "s2" {
		t.Errorf("ops %+v, want both held stops in id order", p.Ops)
	}
}

// One input per stream: the copy of another server is replaced
// make-before-break, and the old input's stop needs no reading of its server.
func TestPlanRoomSwitchesServer(t *testing.T) {
	d := desiredRoom("lobby", true, wantOn("b", "cam", "common"))
	down := readings(map[string]ServerReading{"b": {At: t0(), OK: true}}) // a never read
	c := RoomContext{Desired: d, Observed: ownRoom("lobby", "r1", ownedOn("s1", "a", "cam", "common")), SnapshotAt: t0(),
		DeletesAllowed: true, Reading: down, Ident: streamIdent}
	p := PlanRoom(c)
	got := p.Ops
	if len(got) != 2 || got[0].Kind != OpStartInput || got[0].Reason != `stream now pulled from SRS "b"` || got[0].URL != pullOn("b", "cam") || got[1].Kind != OpAddView {
		t.Fatalf("before b is in view: %v, want b started and put in view, a kept", got)
	}
	c.Observed = ownRoom("lobby", "r1", ownedOn("s1", "a", "cam", "common"), ownedOn("s2", "b", "cam", "common"))
	p = PlanRoom(c)
	if len(p.Ops) != 1 || p.Ops[0].Kind != OpStopInput || p.Ops[0].StreamID != "s1" || p.Ops[0].Held != "" ||
		p.Ops[0].Key() != keyOn("a", "cam") || p.Ops[0].Reason != `replaced by s2 (the stream is now pulled from SRS "b")` {
		t.Fatalf("b in view: %+v, want a's input stopped at once as replaced", p.Ops)
	}
	// Per server (no Ident): a's input is another stream, unwanted here.
	c.Ident = nil
	p = PlanRoom(c)
	if len(p.Ops) != 1 || p.Ops[0].StreamID != "s1" || p.Ops[0].Rule != RuleIncomplete {
		t.Fatalf("per server: %+v, want a's input as its own stream, held as a was never read", p.Ops)
	}
}

// The keeper is never another server's copy, however well it is in view.
func TestChooseKeeperSkipsOtherServers(t *testing.T) {
	w := wantOn("b", "cam", "common")
	keep, extra := chooseKeeper([]Input{ownedOn("s1", "a", "cam", "common"), ownedOn("s9", "b", "cam")}, w)
	if keep == nil || keep.ID != "s9" {
		t.Fatalf("keeper %+v, want b's s9", keep)
	}
	if len(extra) != 0 {
		t.Errorf("extra %+v: a's input must stay until b's is in view", extra)
	}
	// Among a server's own inputs the one in more views, then the lower id.
	keep, extra = chooseKeeper([]Input{ownedOn("s2", "b", "cam"), ownedOn("s3", "b", "cam", "common"), ownedOn("s1", "b", "cam")}, w)
	if keep.ID != "s3" || len(extra) != 2 {
		t.Errorf("keeper %v extra %v, want s3 (in view) and two duplicates", keep.ID, extra)
	}
	keep, _ = chooseKeeper([]Input{ownedOn("s2", "b", "cam"), ownedOn("s1", "b", "cam")}, w)
	if keep.ID != "s1" {
		t.Errorf("tie: keeper %s, want the lower id", keep.ID)
	}
}

// The per-server empty guard: a server listing nothing while the agent
// pulls two or more of its streams holds its unconfirmed stops, no others.
func TestEmptyGuardPerServer(t *testing.T) {
	f := newSRSFixture(t, "a", "b")
	f.Record([]Source{{Name: "a", Snapshot: liveSnap()}, {Name: "b", Snapshot: liveSnap("x")}}, nil, t0(), f.pol)
	g := f.EmptyGuard(false, map[string]int{"a": 2, "b": 2})
	if g == nil || !g(Op{key: keyOn("a", "cam")}) || g(Op{key: keyOn("b", "cam")}) {
		t.Fatal("guard must hold a's stops only (a lists nothing, b lists x)")
	}
	if f.EmptyGuard(false, map[string]int{"a": 1, "b": 5}) != nil {
		t.Error("one input of a: no guard")
	}
	f.Unpublish(keyOn("a", "cam"), t0().Add(time.Second))
	if g := f.EmptyGuard(false, map[string]int{"a": 3}); g(Op{key: keyOn("a", "cam")}) || !g(Op{key: keyOn("a", "other")}) {
		t.Error("a stop confirmed by on_unpublish is not held")
	}
	// A failed reading is the incomplete-listing rule's, not this one's.
	f.Record([]Source{{Name: "b", Snapshot: liveSnap("x")}}, map[string]error{"a": errors.New("down")}, t0().Add(2*time.Second), f.pol)
	if f.EmptyGuard(false, map[string]int{"a": 3}) != nil {
		t.Error("guard on a failed reading")
	}
}

// Rooms wait for the server they wait on: a failed reading of it releases nothing.
func TestTakeWaitingPerServer(t *testing.T) {
	f := newSRSFixture(t, "a", "b")
	f.WaitForReading("r1", "b")
	f.WaitForReading("r2", "a")
	f.WaitForReading("r2", "b")
	assertStrings(t, "after a read", f.TakeWaiting(map[string]bool{"a": true}), []string{"r2"})
	assertStrings(t, "after nothing read", f.TakeWaiting(map[string]bool{}), []string{})
	assertStrings(t, "after b read", f.TakeWaiting(map[string]bool{"a": true, "b": true}), []string{"r1"})
	assertStrings(t, "empty", f.TakeWaiting(map[string]bool{"b": true}), []string{})
}

// Reading says what a server's last listing was.
func TestSRSStateReading(t *testing.T) {
	f := newSRSFixture(t, "a", "b")
	if r := f.Reading("a"); r.OK || r.Why != `SRS "a" not listed yet` || !r.At.IsZero() {
		t.Errorf("never read: %+v", r)
	}
	f.Record([]Source{{Name: "a", Snapshot: liveSnap("x", "y")}}, map[string]error{"b": errors.New("refused")}, t0(), f.pol)
	if r := f.Reading("a"); !r.OK || !r.At.Equal(t0()) || r.Live != 2 || r.Why != "" {
		t.Errorf("a read: %+v", r)
	}
	if r := f.Reading("b"); r.OK || r.Why != `incomplete listing: srs "b": refused` {
		t.Errorf("b failed: %+v", r)
	}
	f.Record([]Source{{Name: "b", Snapshot: liveSnap("z")}}, map[string]error{"a": &srsapi.Error{Server: "a", Call: "GET /x", Status: 500}}, t0().Add(time.Second), f.pol)
	if r := f.Reading("a"); r.OK || !r.At.Equal(t0()) || r.Live != 2 || !strings.HasPrefix(r.Why, `incomplete listing: srs "a": GET /x: HTTP 500`) {
		t.Errorf("a failed after a good reading: %+v", r)
	}
	if why := f.NotReady(); !strings.HasPrefix(why, `SRS listing failed: srs "a": GET /x: HTTP 500`) {
		t.Errorf("NotReady %q", why)
	}
}

func TestServerErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, `srs "b": listing failed`},
		{errors.New("boom"), `srs "b": boom`},
		{fmt.Errorf("srs %q: %w", "b", errors.New("boom")), `srs "b": boom`},
		{&srsapi.Error{Server: "b", Call: "GET /x"}, `srs "b": GET /x (check that SRS is running and that http_api listens at the configured address)`},
		{&srsapi.Error{Server: "c", Call: "GET /x", Status: 404}, `srs "b": srs "c": GET /x: HTTP 404 (check the API base URL; it must point at SRS http_api (e.g. http://127.0.0.1:1985))`},
	} {
		if got := serverErr("b", tc.err); got != tc.want {
			t.Errorf("serverErr(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// ReadSRS names each server once in its errors.
func TestReadSRSErrorsNameTheServerOnce(t *testing.T) {
	servers := []SRSServer{
		{Name: "a", Client: &fakeSRS{err: &srsapi.Error{Server: "a", Call: "GET /api/v1/streams/", Status: 500}}},
		{Name: "b", Client: &fakeSRS{err: errors.New("refused")}},
		{Name: "c", Client: &fakeSRS{snap: liveSnap("x")}},
	}
	srcs, failed := ReadSRS(context.Background(), servers)
	if len(srcs) != 1 || srcs[0].Name != "c" {
		t.Fatalf("sources %+v", srcs)
	}
	if got := failed["a"].Error(); strings.Count(got, `srs "a"`) != 1 {
		t.Errorf("a: %q", got)
	}
	if got := failed["b"].Error(); got != `srs "b": refused` {
		t.Errorf("b: %q", got)
	}
}

// The server of a hook is never guessed, and a parked hook comes back once
// a reading names its server (or expires).
func TestParkedHooks(t *testing.T) {
	f := newSRSFixture(t, "a", "b")
	h := srsapi.Hook{Action: srsapi.ActionOnPublish, ServerID: "id-b", Vhost: "__defaultVhost__", App: "live", Stream: "cam"}
	if name, _, _ := f.ServerFor("id-b", "", ""); name != "" {
		t.Fatalf("unknown id: %q", name)
	}
	if !f.Park(h, t0()) {
		t.Fatal("park refused")
	}
	old := h
	old.ServerID = "id-never"
	f.Park(old, t0())
	snapB := liveSnap()
	snapB.ServerID = "id-b"
	f.Record([]Source{{Name: "b", Snapshot: snapB}}, map[string]error{"a": errors.New("x")}, t0().Add(time.Second), f.pol)
	got := f.TakeResolved()
	if len(got) != 1 || got[0].Server != "b" || got[0].Hook.Stream != "cam" || !got[0].At.Equal(t0()) {
		t.Fatalf("resolved %+v, want the hook of b", got)
	}
	if len(f.TakeResolved()) != 0 {
		t.Error("resolved hooks handed out twice")
	}
	// The other hook stays within the hint TTL, then is dropped with a log line.
	f.Record([]Source{{Name: "b", Snapshot: snapB}}, nil, t0().Add(10*time.Second), f.pol)
	if len(f.parked) != 1 {
		t.Errorf("parked %d within the TTL, want 1", len(f.parked))
	}
	f.Record([]Source{{Name: "b", Snapshot: snapB}}, nil, t0().Add(10*time.Second+time.Millisecond), f.pol)
	if len(f.parked) != 0 || len(f.TakeResolved()) != 0 {
		t.Errorf("expired hook kept: %d", len(f.parked))
	}
	if !f.logs.has("WARN hook from an SRS server never identified dropped", "server_id=id-never") {
		t.Errorf("drop not logged:\n%s", f.logs)
	}
	// A bound on what is kept.
	for i := 0; i < maxParked; i++ {
		if !f.Park(h, t0()) {
			t.Fatalf("park %d refused", i)
		}
	}
	if f.Park(h, t0()) {
		t.Error("more than maxParked hooks kept")
	}
}

// The engine parks a hook it cannot attribute (the policy still denies),
// makes no OWT plan for it, reads SRS at once, and applies it once a
// reading names the server.
func TestEngineParksUnknownServer(t *testing.T) {
	srsA, srsB := &fakeSRS{}, &fakeSRS{err: errors.New("down")}
	te := newTestEngine(t, func(c *Config) {
		c.Servers = []SRSServer{{Name: "a", Pull: "rtmp://a", Client: srsA}, {Name: "b", Pull: "rtmp://b", Client: srsB}}
	})
	snapA := liveSnap()
	snapA.ServerID = "id-a"
	srsA.set(snapA, nil)
	te.readSRS(context.Background())

	h := hook(srsapi.ActionOnPublish, "live", "cam", "c1", "")
	h.ServerID = "id-b"
	if err := te.OnHook(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if len(te.queued()) != 0 || te.srs.Desired().Room("cam") != nil || te.srs.DesiredRoom("cam", te.pol(), te.pullOf) != nil {
		t.Fatalf("parked hook changed the desired state or queued %v", te.queued())
	}
	if te.refreshAt.Load() == 0 {
		t.Error("no SRS reading asked to identify the server")
	}
	if hc := hintCounts(te.metrics); hc["publish"] != 0 || hc["parked"] != 1 || !te.logs.has("INFO hook from an SRS server not identified yet", "server_id=id-b") {
		t.Errorf("hints %v; log:\n%s", hintCounts(te.metrics), te.logs)
	}
	deny := hook(srsapi.ActionOnPublish, "private", "x", "c2", "")
	deny.ServerID = "id-b"
	var rej *srsapi.Rejection
	if err := te.OnHook(context.Background(), deny); !errors.As(err, &rej) || rej.Code != 403 {
		t.Errorf("deny route for an unknown server: %v, want a rejection", err)
	}
	tok := hook(srsapi.ActionOnPublish, "secure", "x", "c3", "?token=wrong")
	tok.ServerID = "id-b"
	if err := te.OnHook(context.Background(), tok); !errors.As(err, &rej) || rej.Code != 401 {
		t.Errorf("wrong token for an unknown server: %v, want a rejection", err)
	}
	// A room template that fails for this stream still checks the token.
	long := hook(srsapi.ActionOnPublish, "members", strings.Repeat("n", 200), "c6", "?token=wrong")
	long.ServerID = "id-b"
	if err := te.OnHook(context.Background(), long); !errors.As(err, &rej) || rej.Code != 401 {
		t.Errorf("wrong token for an unknown server, room template failing: %v, want a rejection", err)
	}

	snapB := liveSnap() // b answers: not listed yet, but its id is known now
	snapB.ServerID = "id-b"
	srsB.set(snapB, nil)
	te.readSRS(context.Background())
	d := te.srs.DesiredRoom("cam", te.pol(), te.pullOf)
	if d == nil || d.Inputs[keyOn("b", "cam")] == nil || d.Inputs[keyOn("b", "cam")].URL != "rtmp://b/live/cam?vhost=__defaultVhost__" {
		t.Fatalf("after b is identified: desired %+v, want cam pulled from b", d)
	}
	assertStrings(t, "queued", te.queued(), []string{"cam"})

	// The hook URL may name the server: used at once.
	named := hook(srsapi.ActionOnPublish, "live", "cam2", "c4", "")
	named.ServerID, named.Server = "id-unknown", "a"
	if err := te.OnHook(context.Background(), named); err != nil {
		t.Fatal(err)
	}
	if r, ok := te.srs.DesiredRoomOf(keyOn("a", "cam2")); !ok || r != "cam2" {
		t.Errorf("named server: %q %v", r, ok)
	}
	// A name that contradicts the API is overruled, with a warning.
	wrong := hook(srsapi.ActionOnPublish, "live", "cam3", "c5", "")
	wrong.ServerID, wrong.Server = "id-b", "a"
	if err := te.OnHook(context.Background(), wrong); err != nil {
		t.Fatal(err)
	}
	if _, ok := te.srs.DesiredRoomOf(keyOn("b", "cam3")); !ok || !te.logs.has("WARN hook names the wrong SRS server") {
		t.Errorf("API must win over a wrong name:\n%s", te.logs)
	}
}

// A room held on a server's failed reading is not planned again until that
// server answers; a stop held by grace asks for a reading after the grace.
func TestEngineHeldRoomWaitsForItsServer(t *testing.T) {
	srsA, srsB := &fakeSRS{}, &fakeSRS{}
	te := newTestEngine(t, func(c *Config) {
		c.Servers = []SRSServer{{Name: "a", Pull: "rtmp://a", Client: srsA}, {Name: "b", Pull: "rtmp://b", Client: srsB}}
	})
	srsA.set(liveSnap(), nil)
	srsB.set(liveSnap(), errors.New("down"))
	te.listRoomsOnce()
	te.readSRS(context.Background())
	te.journal.SetRoom("r", "1", t0())
	obs := &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: 0,
		Inputs: []Input{ownedOn("s1", "b", "cam")}}
	plan, wait, _ := te.plan("r", obs, nil, "", nil)
	if len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleIncomplete || wait != -1 {
		t.Fatalf("ops %+v wait %v, want b's stop held as incomplete, no refresh asked", plan.Ops, wait)
	}
	if te.refreshAt.Load() != 0 {
		t.Error("a refresh was scheduled for a room waiting on a dead server")
	}
	// b fails again: the room is not queued; b answers: it is.
	te.refreshSRS(context.Background())
	assertStrings(t, "queued after b failed again", te.queued(), []string{})
	srsB.set(liveSnap(), nil)
	te.refreshSRS(context.Background())
	assertStrings(t, "queued after b answered", te.queued(), []string{"r"})

	// Now b's listing lacks cam: grace from b's reading, a refresh asked for after it.
	plan, wait, _ = te.plan("r", obs, nil, "", nil)
	if len(plan.Ops) != 1 || plan.Ops[0].Rule != RuleGrace || wait < time.Second || wait > 2*time.Second {
		t.Fatalf("ops %+v wait %v, want a 2s grace", plan.Ops, wait)
	}
	if at, ok := te.journal.MissingSince("r", keyOn("b", "cam")); !ok || !at.Equal(te.srs.Reading("b").At) {
		t.Errorf("grace start %v %v, want b's reading time", at, ok)
	}
}

// OneShot plans from the servers it read: the unread one is named, its
// streams' deletes are held, the others' go ahead.
func TestOneShotPartial(t *testing.T) {
	ctx := context.Background()
	f := &scriptOWT{
		listRooms: func() ([]owtapi.Room, error) {
			return []owtapi.Room{{ID: "1", Name: "cam", Views: []owtapi.View{{Label: "common"}}}}, nil
		},
		listStreams: func(id string) ([]owtapi.Stream, error) {
			ia := owtapi.Stream{ID: "sa", Type: "forward", Info: owtapi.StreamInfo{InViews: []string{"common"},
				Attributes: Attributes("agent", keyOn("a", "gone"), "", pullOn("a", "gone"), "op")}}
			ib := owtapi.Stream{ID: "sb", Type: "forward", Info: owtapi.StreamInfo{InViews: []string{"common"},
				Attributes: Attributes("agent", keyOn("b", "cam"), "", pullOn("b", "cam"), "op")}}
			return []owtapi.Stream{ia, ib}, nil
		},
	}
	j := testJournal(t)
	j.SetMissing("cam", keyOn("a", "gone"), time.Now().Add(-time.Hour))
	o := &OneShot{Agent: "agent", Policy: enginePol(t), OWT: f, Journal: j, Servers: []SRSServer{
		{Name: "a", Pull: "rtmp://a", Client: &fakeSRS{snap: liveSnap("x")}},
		{Name: "b", Pull: "rtmp://b", Client: &fakeSRS{err: errors.New("refused")}},
	}}
	plan, ob, err := o.Plan(ctx)
	var unread *UnreadError
	if !errors.As(err, &unread) || plan == nil || ob == nil {
		t.Fatalf("err %v plan %v, want an UnreadError with a plan", err, plan)
	}
	if fmt.Sprint(unread.Servers) != "[b]" || err.Error() != `could not read SRS "b" (planned from the other servers; deletes of its streams are held): srs "b": refused` {
		t.Errorf("unread %v: %v", unread.Servers, err)
	}
	if !errors.Is(err, unread.Err) {
		t.Error("UnreadError does not unwrap")
	}
	ops := planOps(plan)
	sort.Strings(ops)
	assertStrings(t, "ops", ops, []string{"add_view x x", "create_room x", "start_input x x", "stop_input cam cam held:incomplete_listing", "stop_input cam gone"})
	for _, rp := range plan.Rooms {
		for _, op := range rp.Ops {
			if op.Key() == keyOn("b", "cam") && op.Held != `incomplete listing: srs "b": refused` {
				t.Errorf("b's stop held as %q", op.Held)
			}
		}
	}
	// Nothing read at all is an error, with no plan.
	o.Servers = o.Servers[1:]
	if p, _, err := o.Plan(ctx); p != nil || err == nil || errors.As(err, &unread) {
		t.Errorf("nothing read: plan %v err %v", p, err)
	}
}

// Per server, each copy is its own input in OneShot too; by stream, the
// other server's copy replaces the pulled one once in view.
func TestOneShotOneInputPer(t *testing.T) {
	ctx := context.Background()
	for _, per := range []string{"stream", "server"} {
		pol, err := policy.ParsePolicy("p.yaml", []byte("reconcile: {one_input_per: "+per+"}\nroutes:\n  - match: {app: live}\n    room: lobby\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		f := &scriptOWT{
			listRooms: func() ([]owtapi.Room, error) { return []owtapi.Room{{ID: "1", Name: "lobby"}}, nil },
			listStreams: func(string) ([]owtapi.Stream, error) {
				return []owtapi.Stream{{ID: "sb", Type: "forward", Info: owtapi.StreamInfo{InViews: []string{"common"},
					Attributes: Attributes("agent", keyOn("b", "cam"), "", "rtmp://b/live/cam?vhost=__defaultVhost__", "op")}}}, nil
			},
		}
		o := &OneShot{Agent: "agent", Policy: pol, OWT: f, Servers: []SRSServer{
			{Name: "a", Pull: "rtmp://a", Client: &fakeSRS{snap: liveSnap("cam")}},
			{Name: "b", Pull: "rtmp://b", Client: &fakeSRS{snap: liveSnap("cam")}},
		}}
		plan, _, err := o.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"stream": nil,                       // stays pulled from b, where it is pulled from
			"server": {"start_input lobby cam"}, // a's copy too
		}[per]
		assertStrings(t, per, planOps(plan), want)
	}
}

// Streams of several routes in one room: the room gets the options of the
// first stream placed there (listing order), whatever the others' routes say.
func TestComputeDesiredRoomOptionsFirstRouteWins(t *testing.T) {
	pol, err := policy.ParsePolicy("p.yaml", []byte(`routes:
  - match: {stream: "hd-*"}
    room: {name: shared, options: {inputLimit: 4}}
  - match: {stream: "sd-*"}
    room: {name: shared, options: {inputLimit: 9}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]string{{"hd-1", "sd-1"}, {"sd-1", "hd-1"}} {
		d := ComputeDesired(DesiredInputs{Policy: pol, Sources: []Source{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Snapshot: liveSnap(order...)}}})
		r := d.Room("shared")
		want := map[string]float64{"hd-1": 4, "sd-1": 9}[order[0]]
		if r == nil || len(r.Inputs) != 2 || fmt.Sprint(r.Options["inputLimit"]) != fmt.Sprint(want) {
			t.Errorf("order %v: room %+v, want both inputs and inputLimit %v", order, r, want)
		}
	}
}

// Run commits what the journal holds when it stops, and runs without a
// journal at all.
func TestRunFlushesOnStop(t *testing.T) {
	for _, withJournal := range []bool{true, false} {
		te := newTestEngine(t, func(c *Config) {
			if !withJournal {
				c.Journal = nil
			}
		})
		te.srsAPI.set(liveSnap(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- te.Run(ctx) }()
		eventually(t, "primed", 5*time.Second, te.primedSet.Load)
		if withJournal {
			te.journal.SetMissing("r", key("x"), t0())
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("journal %v: Run: %v", withJournal, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("journal %v: Run did not stop", withJournal)
		}
		if !withJournal {
			continue
		}
		j, err := OpenJournal(context.Background(), te.mem, "agent")
		if err != nil {
			t.Fatal(err)
		}
		if at, ok := j.MissingSince("r", key("x")); !ok || !at.Equal(t0()) {
			t.Errorf("journal not flushed on stop: %v %v", at, ok)
		}
	}
}

// Output records: a start is a change (committed by the next Commit), a
// restart of one id replaces it, the start closes its intent, and
// forgetting keeps the room's other outputs until the last one goes.
func TestJournalOutputRecords(t *testing.T) {
	ctx := context.Background()
	j := testJournal(t)
	if err := j.Begin(ctx, Intent{ID: "i1", Kind: IntentOutput, Room: "r", Op: "rtmp://x/1", At: t0()}); err != nil {
		t.Fatal(err)
	}
	j.OutputStarted("i1", "r", OutputRecord{ID: "o2", Key: "rtmp://x/1", View: "common"})
	if j.Dirty() != true {
		t.Error("an output start is not a change")
	}
	j.OutputStarted("", "r", OutputRecord{ID: "o1", Key: "rec", View: "common"})
	j.OutputStarted("", "r", OutputRecord{ID: "o2", Key: "rtmp://x/1", View: "hd"})
	if got := j.Outputs("r"); len(got) != 2 || got[0].ID != "o1" || got[1].View != "hd" || len(j.OutputIntents("r")) != 0 {
		t.Fatalf("outputs %+v intents %+v", got, j.OutputIntents("r"))
	}
	if err := j.Commit(ctx); err != nil || j.Dirty() {
		t.Fatalf("commit: %v dirty %v", err, j.Dirty())
	}
	j.ForgetOutput("r", "o9") // not there: no change
	if j.Dirty() {
		t.Error("forgetting an unknown output is a change")
	}
	j.ForgetOutput("r", "o1")
	if got := j.Outputs("r"); len(got) != 1 || got[0].ID != "o2" || !j.Dirty() {
		t.Fatalf("after forgetting o1: %+v", got)
	}
	j.ForgetOutput("r", "o2")
	if len(j.OutputRooms()) != 0 || j.OwnedOutputs() != 0 {
		t.Errorf("after forgetting the last: rooms %v", j.OutputRooms())
	}
}

// Latency buckets: the 1-2.5-5 series from 1 ms to the streaming-in POST's
// 100 s timeout.
func TestLatencyBuckets(t *testing.T) {
	var want []float64
	for e := -3; e <= 2; e++ {
		for _, m := range []float64{1, 2.5, 5} {
			if v := m * math.Pow(10, float64(e)); v <= 100 {
				want = append(want, v)
			}
		}
	}
	if len(LatencyBuckets) != len(want) {
		t.Fatalf("buckets %v, want %v", LatencyBuckets, want)
	}
	for i := range want {
		if math.Abs(LatencyBuckets[i]-want[i]) > want[i]*1e-9 {
			t.Errorf("bucket %d = %v, want %v", i, LatencyBuckets[i], want[i])
		}
	}
}

// stopOWT is an OutputOWT whose stops answer err and whose listing holds listed.
type stopOWT struct {
	err    error
	listed []owtapi.StreamingOut
}

func (s *stopOWT) ListStreamingOuts(context.Context, string) ([]owtapi.StreamingOut, error) {
	return s.listed, nil
}
func (s *stopOWT) StartStreamingOut(context.Context, string, owtapi.StreamingOutRequest) (owtapi.StreamingOut, error) {
	return owtapi.StreamingOut{}, errors.New("unused")
}
func (s *stopOWT) StopStreamingOut(context.Context, string, string) error { return s.err }
func (s *stopOWT) ListRecordings(context.Context, string) ([]owtapi.Recording, error) {
	return nil, nil
}
func (s *stopOWT) StartRecording(context.Context, string, owtapi.RecordingRequest) (owtapi.Recording, error) {
	return owtapi.Recording{}, errors.New("unused")
}
func (s *stopOWT) StopRecording(context.Context, string, string) error { return s.err }

// Stopping an output: ok when OWT says so, gone when the room is gone or an
// ambiguous answer is followed by a listing without it, failed otherwise;
// the record goes unless it failed.
func TestOutputStopOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		owt    *stopOWT
		want   string
		forgot bool
	}{
		{"ok", &stopOWT{}, "ok", true},
		{"room gone", &stopOWT{err: errRoomNotFound}, "gone", true},
		{"ambiguous, not listed", &stopOWT{err: errAmbiguous}, "gone", true},
		{"ambiguous, still listed", &stopOWT{err: errAmbiguous, listed: []owtapi.StreamingOut{{ID: "o1"}}}, "failed", false},
	} {
		j := testJournal(t)
		j.OutputStarted("", "r", OutputRecord{ID: "o1", Key: "rtmp://x/r", URL: "rtmp://x/r"})
		r := &OutputRunner{OWT: tc.owt, Journal: j, Log: slog.New(slog.DiscardHandler)}
		got, err := r.stop(context.Background(), Op{Room: "r", RoomID: "1", StreamID: "o1", URL: "rtmp://x/r"})
		if got != tc.want || (err != nil) != (tc.want == "failed") || (len(j.Outputs("r")) == 0) != tc.forgot {
			t.Errorf("%s: %q %v (records %v), want %q", tc.name, got, err, j.Outputs("r"), tc.want)
		}
	}
	for _, tc := range []struct {
		m    owtapi.OutputMediaInfo
		want string
	}{
		{owtapi.OutputMediaInfo{Video: &owtapi.OutputTrack{From: "v"}, Audio: &owtapi.OutputTrack{From: "a"}}, "v"},
		{owtapi.OutputMediaInfo{Audio: &owtapi.OutputTrack{From: "a"}}, "a"},
		{owtapi.OutputMediaInfo{}, ""},
	} {
		if got := trackFrom(tc.m); got != tc.want {
			t.Errorf("trackFrom(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// With the parked hooks at their bound, one more hook of an unidentified
// server is dropped with a warning but still answered 0: SRS must never
// refuse a publish the policy allows.
func TestEngineParkFullStillAccepts(t *testing.T) {
	srsB := &fakeSRS{err: errors.New("down")}
	te := newTestEngine(t, func(c *Config) {
		c.Servers = []SRSServer{{Name: "a", Pull: "rtmp://a", Client: &fakeSRS{}}, {Name: "b", Pull: "rtmp://b", Client: srsB}}
	})
	for i := 0; i < maxParked; i++ {
		h := hook(srsapi.ActionOnPublish, "live", "cam", "c1", "")
		h.ServerID = "id-b"
		if err := te.OnHook(context.Background(), h); err != nil {
			t.Fatalf("hook %d: %v", i, err)
		}
	}
	h := hook(srsapi.ActionOnPublish, "live", "cam", "c2", "")
	h.ServerID = "id-b"
	if err := te.OnHook(context.Background(), h); err != nil {
		t.Fatalf("publish refused with the parked hooks full: %v", err)
	}
	if hc := hintCounts(te.metrics); hc["parked"] != maxParked || !te.logs.has("WARN too many hooks from unidentified SRS servers") {
		t.Errorf("hints %v; log:\n%s", hc, te.logs)
	}
}

// With one input per stream, a server's copy that is not the one pulled
// belongs to the room of the copy that is: its input there has moved.
func TestDesiredRoomOfAnotherServersCopy(t *testing.T) {
	f := newSRSFixture(t, "a", "b")
	f.Record([]Source{{Name: "a", Pull: "rtmp://a", Snapshot: liveSnap("cam")}, {Name: "b", Pull: "rtmp://b", Snapshot: liveSnap()}}, nil, t0(), f.pol)
	if r, ok := f.DesiredRoomOf(keyOn("a", "cam")); !ok || r != "cam" {
		t.Fatalf("DesiredRoomOf(a's cam) = %q %v", r, ok)
	}
	if r, ok := f.DesiredRoomOf(keyOn("b", "cam")); !ok || r != "cam" {
		t.Errorf("DesiredRoomOf(b's cam) = %q %v, want the room of a's copy", r, ok)
	}
	if _, ok := f.DesiredRoomOf(keyOn("b", "other")); ok {
		t.Error("a stream no server has found a room")
	}
}
