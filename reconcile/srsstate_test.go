package reconcile

import (
	"errors"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// srsFixture is an SRSState of the given servers under enginePolicy, with
// a recording log.
type srsFixture struct {
	*SRSState
	pol  *policy.Policy
	logs *recLog
}

func newSRSFixture(t *testing.T, servers ...string) *srsFixture {
	t.Helper()
	if len(servers) == 0 {
		servers = []string{"origin"}
	}
	var sv []SRSServer
	for _, n := range servers {
		sv = append(sv, SRSServer{Name: n, Pull: "rtmp://127.0.0.1:1935"})
	}
	logs := &recLog{}
	return &srsFixture{SRSState: newSRSState(sv, 10*time.Second, slog.New(logs)), pol: enginePol(t), logs: logs}
}

// read records a successful reading of origin listing streams, begun at at.
func (f *srsFixture) read(at time.Time, streams ...string) (bool, *Desired) {
	return f.Record([]Source{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Snapshot: liveSnap(streams...)}}, nil, at, f.pol)
}

// fail records a failed reading of origin begun at at.
func (f *srsFixture) fail(at time.Time) {
	f.Record(nil, map[string]error{"origin": errors.New("connection refused")}, at, f.pol)
}

func (f *srsFixture) hint(stream string, at time.Time) {
	k := key(stream)
	f.Published(Hint{Key: k, Published: true, ClientID: "hook-" + stream, Param: "?h=1", At: at},
		&DesiredInput{Key: k, Room: stream, URL: pullURL(stream), Hint: true})
}

func (f *srsFixture) hinted(stream string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.hints[key(stream)]
	return ok
}

func TestSRSStateHintLifetime(t *testing.T) {
	at := t0()
	for _, tc := range []struct {
		name        string
		reading     func(f *srsFixture)
		wantKept    bool
		wantWaiting []string
	}{
		{name: "listing begun before the hook does not list it", wantKept: true,
			reading: func(f *srsFixture) { f.read(at.Add(-time.Second)) }},
		{name: "listing begun before the hook lists it (old publisher)", wantKept: true,
			reading: func(f *srsFixture) { f.read(at.Add(-time.Second), "cam") }},
		{name: "newer listing lists it: confirmed", wantKept: false,
			reading: func(f *srsFixture) { f.read(at.Add(time.Second), "cam") }},
		{name: "newer listing lacks it within the TTL", wantKept: true,
			reading: func(f *srsFixture) { f.read(at.Add(time.Second)) }},
		{name: "newer listing lacks it after the TTL: expired", wantKept: false, wantWaiting: []string{"cam"},
			reading: func(f *srsFixture) { f.read(at.Add(11 * time.Second)) }},
		{name: "failed listing after the TTL proves nothing", wantKept: true,
			reading: func(f *srsFixture) { f.fail(at.Add(11 * time.Second)) }},
		{name: "failed listing after an older good one proves nothing", wantKept: true,
			reading: func(f *srsFixture) { f.read(at.Add(-time.Second)); f.fail(at.Add(11 * time.Second)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSRSFixture(t)
			f.hint("cam", at)
			tc.reading(f)
			if got := f.hinted("cam"); got != tc.wantKept {
				t.Errorf("hint kept %v, want %v", got, tc.wantKept)
			}
			w := f.TakeWaiting(map[string]bool{"origin": true})
			assertStrings(t, "waiting", w, tc.wantWaiting)
			if w == nil {
				t.Error("TakeWaiting returned nil, want an empty list")
			}
			expiredLog := f.logs.has("INFO on_publish hint expired", "stream="+key("cam").String())
			if expiredLog != (tc.wantWaiting != nil) {
				t.Errorf("expiry logged %v:\n%s", expiredLog, f.logs)
			}
			// Kept or confirmed, the stream is desired in its room.
			if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); (tc.wantKept || tc.name == "newer listing lists it: confirmed") != (d != nil && d.Inputs[key("cam")] != nil) {
				t.Errorf("desired room %+v", d)
			}
		})
	}
}

func TestSRSStateUnpublishMarks(t *testing.T) {
	at := t0()
	for _, tc := range []struct {
		name     string
		reading  func(f *srsFixture)
		wantKept bool
	}{
		{name: "no newer listing", wantKept: true, reading: func(f *srsFixture) {}},
		{name: "listing begun before the unpublish", wantKept: true, reading: func(f *srsFixture) { f.read(at.Add(-time.Second), "cam") }},
		{name: "failed listing after it", wantKept: true, reading: func(f *srsFixture) { f.fail(at.Add(time.Second)) }},
		{name: "good listing after it", wantKept: false, reading: func(f *srsFixture) { f.read(at.Add(time.Second)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSRSFixture(t)
			f.read(at.Add(-time.Minute), "cam")
			if rooms := f.Unpublish(key("cam"), at); len(rooms) != 1 || rooms[0] != "cam" {
				t.Errorf("Unpublish returned rooms %q, want [cam]", rooms)
			}
			tc.reading(f)
			_, kept := f.Unpublished(key("cam"))
			if kept != tc.wantKept {
				t.Fatalf("unpublish mark kept %v, want %v", kept, tc.wantKept)
			}
			if !kept {
				return
			}
			// While the mark lives the stream is desired nowhere, even if
			// an older listing still lists it.
			if r, ok := f.DesiredRoomOf(key("cam")); ok {
				t.Errorf("unpublished stream desired in %q", r)
			}
			if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); d != nil && len(d.Inputs) != 0 {
				t.Errorf("unpublished stream still desired: %+v", d.Inputs)
			}
		})
	}
	f := newSRSFixture(t)
	if rooms := f.Unpublish(key("never"), at); rooms != nil {
		t.Errorf("unpublish of a stream desired nowhere returned %q", rooms)
	}
}

func TestSRSStateReadiness(t *testing.T) {
	at := t0()
	f := newSRSFixture(t, "a", "b")
	if why := f.NotReady(); why != `SRS "a" not listed yet` {
		t.Errorf("NotReady = %q", why)
	}
	if !f.SnapshotAt().IsZero() {
		t.Error("SnapshotAt set before any reading")
	}
	src := func(n string) Source { return Source{Name: n, Snapshot: liveSnap()} }
	// b never read: no snapshot time to measure a grace against.
	f.Record([]Source{src("a")}, map[string]error{"b": errors.New("refused")}, at, f.pol)
	if !f.SnapshotAt().IsZero() {
		t.Errorf("SnapshotAt %v with server b never read, want zero", f.SnapshotAt())
	}
	if ok, why := f.Complete(); ok || why != `the SRS listing of "b" failed or is incomplete` {
		t.Errorf("Complete = %v %q", ok, why)
	}
	if why := f.NotReady(); why != `SRS listing failed: srs "b": refused` {
		t.Errorf("NotReady = %q", why)
	}
	f.Record([]Source{src("a"), src("b")}, nil, at.Add(time.Second), f.pol)
	if ok, why := f.Complete(); !ok || why != "" || f.NotReady() != "" {
		t.Errorf("all read: Complete %v %q, NotReady %q", ok, why, f.NotReady())
	}
	// a read later than b: the oldest reading counts, whichever it is.
	f.Record([]Source{src("a")}, map[string]error{"b": errors.New("refused")}, at.Add(5*time.Second), f.pol)
	if got := f.SnapshotAt(); !got.Equal(at.Add(time.Second)) {
		t.Errorf("SnapshotAt %v, want b's reading at +1s", got.Sub(at))
	}
	f.Record([]Source{src("b")}, map[string]error{"a": errors.New("refused")}, at.Add(9*time.Second), f.pol)
	if got := f.SnapshotAt(); !got.Equal(at.Add(5 * time.Second)) {
		t.Errorf("SnapshotAt %v, want a's reading at +5s", got.Sub(at))
	}
	if ok, _ := f.Complete(); ok {
		t.Error("complete although a's last listing failed")
	}
	if !f.logs.has("WARN SRS listing failed; creating and patching from its last good reading, deleting none of its streams", "srs=a", "err=refused") {
		t.Errorf("failed listing not logged:\n%s", f.logs)
	}
}

func TestSRSStateServerFor(t *testing.T) {
	f := newSRSFixture(t, "origin", "edge")
	// Never a guess: an id no API answered with names no server.
	if name, restarted, _ := f.ServerFor("unknown", "x", ""); name != "" || restarted {
		t.Errorf("unknown server: %q %v, want none", name, restarted)
	}
	if name, _, conflict := f.ServerFor("unknown", "x", "edge"); name != "edge" || conflict != "" {
		t.Errorf("named server: %q %q, want edge", name, conflict)
	}
	if name, _, conflict := f.ServerFor("unknown", "x", "nope"); name != "" || !strings.Contains(conflict, "does not configure") {
		t.Errorf("unconfigured named server: %q %q", name, conflict)
	}
	snap := liveSnap()
	snap.ServerID, snap.ServiceID = "srv-edge", "svc-1"
	restarted, _ := f.Record([]Source{{Name: "edge", Snapshot: snap}, {Name: "origin", Snapshot: liveSnap()}}, nil, t0(), f.pol)
	if restarted {
		t.Error("first reading reported as a restart")
	}
	for _, tc := range []struct {
		server, service string
		want            string
		restarted       bool
	}{
		{"srv-edge", "svc-1", "edge", false},
		{"srv-edge", "svc-2", "edge", true},
		{"srv-edge", "", "edge", false},
		{"srv-1", "svc-1", "origin", false},
	} {
		name, restarted, _ := f.ServerFor(tc.server, tc.service, "")
		if name != tc.want || restarted != tc.restarted {
			t.Errorf("ServerFor(%q, %q) = %q %v, want %q %v", tc.server, tc.service, name, restarted, tc.want, tc.restarted)
		}
	}
	snap.ServiceID = "svc-2"
	if restarted, _ := f.Record([]Source{{Name: "edge", Snapshot: snap}, {Name: "origin", Snapshot: liveSnap()}}, nil, t0().Add(time.Second), f.pol); !restarted {
		t.Error("new service id not reported as a restart")
	}
	// A failed reading is not compared.
	f.Record([]Source{{Name: "origin", Snapshot: liveSnap()}}, map[string]error{"edge": errors.New("x")}, t0().Add(2*time.Second), f.pol)
	if name, _, conflict := f.ServerFor("srv-edge", "", "origin"); name != "edge" || !strings.Contains(conflict, `names SRS "origin" but server_id srv-edge is "edge"`) {
		t.Errorf("conflicting name: %q %q, want the API's server and a conflict", name, conflict)
	}
	if _, restarted, _ := f.ServerFor("srv-edge", "svc-9", ""); restarted {
		t.Error("restart reported against a failed reading")
	}
	none := newSRSState(nil, time.Second, slog.New(slog.DiscardHandler))
	if name, _, _ := none.ServerFor("x", "y", ""); name != "" {
		t.Errorf("no servers: %q", name)
	}
}

func TestSRSStateDesiredRoom(t *testing.T) {
	f := newSRSFixture(t)
	pullOf := func(string) string { return "rtmp://127.0.0.1:1935" }
	f.read(t0(), "listed")
	if d := f.DesiredRoom("nothing", f.pol, pullOf); d != nil {
		t.Errorf("room with nothing routed: %+v", d)
	}
	d := f.DesiredRoom("listed", f.pol, pullOf)
	if d == nil || len(d.Inputs) != 1 || d.Inputs[key("listed")].Hint || !d.Create {
		t.Fatalf("listed room: %+v", d)
	}
	// A hint not recomputed yet: its room is built from the policy.
	f.hint("fresh", t0().Add(time.Second))
	d = f.DesiredRoom("fresh", f.pol, pullOf)
	if d == nil || len(d.Inputs) != 1 || !d.Inputs[key("fresh")].Hint || !d.Create || d.Name != "fresh" {
		t.Fatalf("hinted room: %+v", d)
	}
	if d := f.DesiredRoom("listed", f.pol, pullOf); len(d.Inputs) != 1 {
		t.Errorf("another room's hint leaked into room listed: %+v", d.Inputs)
	}
	if r, ok := f.DesiredRoomOf(key("fresh")); !ok || r != "fresh" {
		t.Errorf("DesiredRoomOf(fresh) = %q %v", r, ok)
	}
	if r, ok := f.DesiredRoomOf(key("listed")); !ok || r != "listed" {
		t.Errorf("DesiredRoomOf(listed) = %q %v", r, ok)
	}
	if _, ok := f.DesiredRoomOf(key("other")); ok {
		t.Error("DesiredRoomOf(other) found a room")
	}
	// A hint routed into a listed room joins it; a hint of a stream the
	// listing has is not added again.
	f.Published(Hint{Key: key("extra"), Published: true, ClientID: "c", At: t0()}, &DesiredInput{Key: key("extra"), Room: "listed", Hint: true})
	f.Published(Hint{Key: key("listed"), Published: true, ClientID: "c", At: t0()}, &DesiredInput{Key: key("listed"), Room: "listed", Hint: true})
	d = f.DesiredRoom("listed", f.pol, pullOf)
	if len(d.Inputs) != 2 || d.Inputs[key("listed")].Hint || !d.Inputs[key("extra")].Hint {
		t.Errorf("listed room with hints: %+v", d.Inputs)
	}
}

func TestSRSStateHintExpired(t *testing.T) {
	f := newSRSFixture(t)
	now := t0().Add(time.Minute)
	if f.HintExpired(nil, now) {
		t.Error("nil room expired")
	}
	f.hint("old", now.Add(-11*time.Second))
	f.hint("young", now.Add(-9*time.Second))
	young := &DesiredRoom{Name: "young", Inputs: map[StreamKey]*DesiredInput{key("young"): {Key: key("young"), Hint: true}}}
	if f.HintExpired(young, now) {
		t.Error("a hint within its TTL expired")
	}
	listedOld := &DesiredRoom{Name: "listed", Inputs: map[StreamKey]*DesiredInput{key("old"): {Key: key("old"), Hint: false}}}
	if f.HintExpired(listedOld, now) {
		t.Error("a listed input counted as an expired hint")
	}
	assertStrings(t, "waiting", f.TakeWaiting(map[string]bool{"origin": true}), nil)
	old := &DesiredRoom{Name: "old", Inputs: map[StreamKey]*DesiredInput{key("old"): {Key: key("old"), Hint: true}}}
	if !f.HintExpired(old, now) {
		t.Error("a hint past its TTL did not expire")
	}
	f.WaitForReading("other", "origin")
	w := f.TakeWaiting(map[string]bool{"origin": true})
	sort.Strings(w)
	assertStrings(t, "waiting", w, []string{"old", "other"})
	assertStrings(t, "waiting after take", f.TakeWaiting(map[string]bool{"origin": true}), nil)
}

func TestSRSStateParams(t *testing.T) {
	// A query recorded in an owned input is used for a listed stream whose
	// publisher's hook the agent never saw, until the agent lets go of it.
	f := newSRSFixture(t)
	f.read(t0(), "cam")
	f.LearnParams([]Input{{Key: key("cam"), Param: "?tier=gold"}, {Key: key("other"), Param: ""}}, nil, f.pol)
	d := f.Recompute(f.pol)
	if p := d.Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=gold" {
		t.Errorf("param %q, want the learned one", p)
	}
	// The store wins over the attributes; a legacy attribute is used only
	// through the policy's StoredParam.
	f.LearnParams([]Input{{Key: key("cam"), Param: "?tier=gold"}}, func(k StreamKey) (string, bool) { return "?tier=silver", k == key("cam") }, f.pol)
	if p := f.Recompute(f.pol).Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=silver" {
		t.Errorf("param %q, want the stored one", p)
	}
	f.LearnParams([]Input{{Key: key("cam"), legacyParam: "?tier=bronze&token=SECRET"}}, nil, f.pol)
	if p := f.Recompute(f.pol).Rooms["cam"].Inputs[key("cam")].Param; p != f.pol.StoredParam("?tier=bronze&token=SECRET") || strings.Contains(p, "SECRET") {
		t.Errorf("param %q from a legacy attribute", p)
	}
	f.LearnParams([]Input{{Key: key("cam"), Param: "?tier=gold"}}, nil, f.pol)
	f.Forget(map[StreamKey]bool{key("cam"): true})
	if p := f.Recompute(f.pol).Rooms["cam"].Inputs[key("cam")].Param; p != "?tier=gold" {
		t.Errorf("param %q after Forget of others, want kept", p)
	}
	f.Forget(map[StreamKey]bool{})
	if p := f.Recompute(f.pol).Rooms["cam"].Inputs[key("cam")].Param; p != "" {
		t.Errorf("param %q after Forget, want none", p)
	}
	// A hook's query wins while its publisher is listed; it is dropped
	// once no listing or hint names the publisher.
	f.Published(Hint{Key: key("cam"), Published: true, ClientID: "cid-cam", Param: "?hook=1", At: t0()}, &DesiredInput{Key: key("cam"), Room: "cam"})
	f.read(t0().Add(time.Second), "cam")
	if p := f.Desired().Rooms["cam"].Inputs[key("cam")].Param; p != "?hook=1" {
		t.Errorf("param %q, want the hook's", p)
	}
	f.read(t0().Add(2 * time.Second))
	f.mu.Lock()
	_, kept := f.params["cid-cam"]
	f.mu.Unlock()
	if kept {
		t.Error("query of a publisher no longer listed kept")
	}
}

func TestSRSStateEmptyGuard(t *testing.T) {
	f := newSRSFixture(t)
	f.read(t0())
	if f.EmptyGuard(true, map[string]int{"origin": 5}) != nil {
		t.Error("allow_empty: guard set")
	}
	if f.EmptyGuard(false, map[string]int{"origin": 1}) != nil {
		t.Error("one owned input: guard set")
	}
	g := f.EmptyGuard(false, map[string]int{"origin": 2})
	if g == nil {
		t.Fatal("SRS lists nothing while the agent owns 2 inputs: no guard")
	}
	f.Unpublish(key("confirmed"), t0().Add(time.Second))
	g = f.EmptyGuard(false, map[string]int{"origin": 2})
	if g(Op{key: key("confirmed")}) || !g(Op{key: key("other")}) {
		t.Error("guard must hold only stops not confirmed by an on_unpublish")
	}
	f.read(t0().Add(2*time.Second), "cam")
	if f.EmptyGuard(false, map[string]int{"origin": 5}) != nil {
		t.Error("SRS lists a stream: guard set")
	}
	// Confirmations are forgotten with the inputs they were kept for.
	f.read(t0().Add(3 * time.Second))
	f.Forget(map[StreamKey]bool{})
	if g := f.EmptyGuard(false, map[string]int{"origin": 2}); g == nil || !g(Op{key: key("confirmed")}) {
		t.Error("confirmation kept after Forget")
	}
}

// The TTL is a bound: a hint exactly TTL old still lives.
func TestSRSStateHintTTLBoundary(t *testing.T) {
	f := newSRSFixture(t)
	f.hint("cam", t0())
	f.read(t0().Add(10 * time.Second))
	if !f.hinted("cam") {
		t.Error("hint exactly TTL old dropped by a reading")
	}
	d := &DesiredRoom{Name: "cam", Inputs: map[StreamKey]*DesiredInput{key("cam"): {Key: key("cam"), Hint: true}}}
	if f.HintExpired(d, t0().Add(10*time.Second)) {
		t.Error("hint exactly TTL old expired")
	}
	if !f.HintExpired(d, t0().Add(10*time.Second+time.Nanosecond)) {
		t.Error("hint older than its TTL did not expire")
	}
}

// A confirmed hint leaves no trace: once SRS stops listing the stream it
// is desired nowhere.
func TestSRSStateConfirmedHintForgotten(t *testing.T) {
	f := newSRSFixture(t)
	f.hint("cam", t0())
	f.read(t0().Add(time.Second), "cam")
	f.read(t0().Add(2 * time.Second))
	if r, ok := f.DesiredRoomOf(key("cam")); ok {
		t.Errorf("stream SRS no longer lists desired in %q", r)
	}
	if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); d != nil {
		t.Errorf("stream SRS no longer lists still desired: %+v", d.Inputs)
	}
}

// A publish after an unpublish undoes it; an unpublish after a publish
// hint drops the hint.
func TestSRSStatePublishUnpublishSequence(t *testing.T) {
	f := newSRSFixture(t)
	f.read(t0(), "cam")
	f.Unpublish(key("cam"), t0().Add(time.Second))
	f.hint("cam", t0().Add(2*time.Second))
	if _, ok := f.Unpublished(key("cam")); ok {
		t.Error("unpublish mark kept after a new publish")
	}
	if r, ok := f.DesiredRoomOf(key("cam")); !ok || r != "cam" {
		t.Errorf("republished stream: DesiredRoomOf = %q %v", r, ok)
	}
	f.read(t0().Add(1500 * time.Millisecond)) // lists nothing, begun before the hint
	if g := f.EmptyGuard(false, map[string]int{"origin": 2}); g == nil || !g(Op{key: key("cam")}) {
		t.Error("an unpublish undone by a publish still confirms a stop")
	}

	f.Unpublish(key("cam"), t0().Add(3*time.Second))
	if f.hinted("cam") {
		t.Error("hint kept after an unpublish")
	}
	if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); d != nil && len(d.Inputs) != 0 {
		t.Errorf("unpublished hinted stream still desired: %+v", d.Inputs)
	}
	f.read(t0().Add(4 * time.Second))
	if d := f.Desired(); len(d.Rooms) != 0 {
		t.Errorf("unpublished hinted stream desired after a reading: %v", d.ByKey)
	}
}

// The same service id in every reading is no restart.
func TestSRSStateSameServiceNoRestart(t *testing.T) {
	f := newSRSFixture(t)
	for i := 0; i < 2; i++ {
		if restarted, _ := f.read(t0().Add(time.Duration(i) * time.Second)); restarted {
			t.Fatalf("reading %d reported a restart", i)
		}
	}
	snap := liveSnap()
	snap.ServiceID = ""
	// A service id that changes, even to none, is a new SRS process.
	if restarted, _ := f.Record([]Source{{Name: "origin", Snapshot: snap}}, nil, t0().Add(3*time.Second), f.pol); !restarted {
		t.Error("a reading without the service id of the last one is no restart")
	}
	// Without a known service id there is nothing to compare.
	if restarted, _ := f.read(t0().Add(4 * time.Second)); restarted {
		t.Error("a reading after one without service id reported a restart")
	}
}

// An unpublish right after the hook of a stream SRS never listed leaves it
// desired nowhere.
func TestSRSStateUnpublishOfHintOnly(t *testing.T) {
	f := newSRSFixture(t)
	f.read(t0())
	f.hint("cam", t0().Add(time.Second))
	if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); d == nil {
		t.Fatal("hinted stream not desired")
	}
	f.Unpublish(key("cam"), t0().Add(2*time.Second))
	if d := f.DesiredRoom("cam", f.pol, func(string) string { return "rtmp://127.0.0.1:1935" }); d != nil {
		t.Errorf("unpublished hinted stream still desired: %+v", d.Inputs)
	}
}
