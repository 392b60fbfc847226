package reconcile_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// owtHook stands between the engine and OWT and lets a test change what
// one call does; the zero value passes every call through.
type owtHook struct {
	reconcile.OWT
	listRooms  func(ctx context.Context, next func(context.Context) ([]owtapi.Room, error)) ([]owtapi.Room, error)
	createRoom func(ctx context.Context, name string, opts map[string]any) (owtapi.Room, error)
}

func (h *owtHook) ListRooms(ctx context.Context) ([]owtapi.Room, error) {
	if h.listRooms != nil {
		return h.listRooms(ctx, h.OWT.ListRooms)
	}
	return h.OWT.ListRooms(ctx)
}

func (h *owtHook) CreateRoom(ctx context.Context, name string, opts map[string]any) (owtapi.Room, error) {
	if h.createRoom != nil {
		return h.createRoom(ctx, name, opts)
	}
	return h.OWT.CreateRoom(ctx, name, opts)
}

// countRooms counts the rooms named name on the fake OWT.
func countRooms(r *rig, name string) int {
	n := 0
	for _, rm := range r.lab.OWT.Dump().Rooms {
		if rm.Name == name {
			n++
		}
	}
	return n
}

const fastResync = `reconcile: {interval: 150ms, delete_grace: 200ms, max_deletes: 50, allow_empty: true, concurrency: 4}
routes:
  - match: {app: live}
    room: "{{.Stream}}"
`

// TestTornRoomListingDoesNotForgetRoom: OWT pages its room list with
// skip/limit, so a listing that runs while rooms are deleted skips rooms
// that exist. Such a listing lacks a room the agent created although it
// began long after the create. The agent must not take that absence as
// proof: the old code forgot the room (leaking it) and created a second
// room of the same name. Only OWT's NotFound for the room is absence.
func TestTornRoomListingDoesNotForgetRoom(t *testing.T) {
	var tear atomic.Bool
	hook := &owtHook{}
	hook.listRooms = func(ctx context.Context, next func(context.Context) ([]owtapi.Room, error)) ([]owtapi.Room, error) {
		rooms, err := next(ctx)
		if err != nil || !tear.Load() {
			return rooms, err
		}
		out := rooms[:0]
		for _, r := range rooms {
			if r.Name != "a" { // the page holding room "a" was skipped
				out = append(out, r)
			}
		}
		return out, nil
	}
	r := newRig(t, rigOpts{policy: fastResync, wrap: func(o reconcile.OWT) reconcile.OWT { hook.OWT = o; return hook }})
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}}}
	r.publish("live", "a", "")
	r.converge(want, 5*time.Second)
	rec, _ := r.state.Room("a")
	tear.Store(true)
	time.Sleep(time.Second) // several resyncs, each listing without room "a"
	tear.Store(false)
	if n := countRooms(r, "a"); n != 1 {
		t.Fatalf("%d rooms named a after torn listings, want 1 (the agent forgot its room and made another)", n)
	}
	if got, ok := r.state.Room("a"); !ok || got.ID != rec.ID {
		t.Fatalf("journal record of room a = %+v, %v; want %s kept", got, ok, rec.ID)
	}
	r.converge(want, 5*time.Second)
	if n := lab.Duplicates(r.lab.OWT.Dump()); n != 0 {
		t.Fatalf("%d duplicate streaming-ins", n)
	}
}

// TestListingBegunBeforeCreateCannotForgetRoom: a room listing is paused
// after OWT answered it and until the agent has created and recorded room
// "a" (the bad interleaving of a slow listing and a create). The listing
// began before the create, so its lacking "a" must change nothing, and
// when the stream leaves the room is deleted: nothing leaks.
func TestListingBegunBeforeCreateCannotForgetRoom(t *testing.T) {
	var armed atomic.Bool
	paused := make(chan struct{}, 1)
	var r *rig
	hook := &owtHook{}
	hook.listRooms = func(ctx context.Context, next func(context.Context) ([]owtapi.Room, error)) ([]owtapi.Room, error) {
		rooms, err := next(ctx)
		if err != nil || !armed.CompareAndSwap(true, false) {
			return rooms, err
		}
		paused <- struct{}{}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) { // until the create is recorded
			if _, ok := r.state.Room("a"); ok {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return rooms, nil
	}
	r = newRig(t, rigOpts{policy: slowResync, wrap: func(o reconcile.OWT) reconcile.OWT { hook.OWT = o; return hook }})
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}, 5*time.Second)
	time.Sleep(100 * time.Millisecond) // the first resync is over
	armed.Store(true)
	r.engine.Resync()
	<-paused // the listing is taken, without room "a"
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}}}
	r.publish("live", "a", "")
	r.converge(want, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // the stale listing is applied and its rooms worked on
	if _, ok := r.state.Room("a"); !ok {
		t.Fatalf("the agent forgot room a after a listing begun before its create")
	}
	if err := r.lab.SRS.Unpublish(context.Background(), "__defaultVhost__", "live", "a"); err != nil {
		t.Fatal(err)
	}
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}, 5*time.Second)
	if n := countRooms(r, "a"); n != 0 {
		t.Fatalf("room a leaked: %d rooms of that name left", n)
	}
}

// TestAmbiguousRoomCreateIsAdopted: OWT creates the room but its answer is
// lost (a timeout). The create's intent stays open; a room listing adopts
// the new room instead of creating a second one.
func TestAmbiguousRoomCreateIsAdopted(t *testing.T) {
	var lost atomic.Int32
	lost.Store(1)
	hook := &owtHook{}
	hook.createRoom = func(ctx context.Context, name string, opts map[string]any) (owtapi.Room, error) {
		room, err := hook.OWT.CreateRoom(ctx, name, opts)
		if err == nil && lost.Add(-1) >= 0 {
			return owtapi.Room{}, &owtapi.Error{Op: "create room", Err: context.DeadlineExceeded}
		}
		return room, err
	}
	r := newRig(t, rigOpts{policy: slowResync, intentSettle: 200 * time.Millisecond,
		wrap: func(o reconcile.OWT) reconcile.OWT { hook.OWT = o; return hook }})
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}}}
	r.publish("live", "a", "")
	r.converge(want, 5*time.Second)
	if n := countRooms(r, "a"); n != 1 {
		t.Fatalf("%d rooms named a, want 1: the room of the lost answer was not adopted", n)
	}
	rec, ok := r.state.Room("a")
	if !ok || rec.ID != r.lab.OWT.Dump().Rooms[0].ID {
		t.Fatalf("journal does not own the adopted room: %+v %v", rec, ok)
	}
	if in := r.state.Intents(); len(in) != 0 {
		t.Fatalf("intents left open: %+v", in)
	}
}

// TestCreateNotMadeWithoutIntent: while the journal cannot be written, no
// create reaches OWT (it is counted and the store reported unhealthy);
// once the store heals, the room converges.
func TestCreateNotMadeWithoutIntent(t *testing.T) {
	mem := &store.Memory{}
	mem.Fail(errors.New("no space left on device"))
	reg := prometheus.NewRegistry()
	m := reconcile.NewMetrics(reg)
	r := newRig(t, rigOpts{policy: fastResync, store: mem, metrics: m})
	r.publish("live", "a", "")
	time.Sleep(600 * time.Millisecond)
	if n := len(r.lab.OWT.Dump().RoomsCreated); n != 0 {
		t.Fatalf("%d rooms created while their intent could not be recorded", n)
	}
	if v := testutil.ToFloat64(m.StoreHealthy); v != 0 {
		t.Errorf("store_healthy = %v while writes fail", v)
	}
	if v := testutil.ToFloat64(m.Ops.WithLabelValues(string(reconcile.OpCreateRoom), reconcile.OutcomeNotRecorded)); v < 1 {
		t.Errorf("operations_total{create_room,not_recorded} = %v, want > 0", v)
	}
	mem.Fail(nil)
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}}}, 10*time.Second)
	if v := testutil.ToFloat64(m.StoreHealthy); v != 1 {
		t.Errorf("store_healthy = %v after the store healed", v)
	}
}

// killable cuts an engine off OWT at once, as SIGKILL does: calls already
// sent go on at OWT, new calls fail without being sent.
type killable struct {
	reconcile.OWT
	dead atomic.Bool
}

var errKilled = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("process killed")}

func (k *killable) StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	if k.dead.Load() {
		return owtapi.Stream{}, errKilled
	}
	return k.OWT.StartStreamingIn(ctx, room, req)
}

func (k *killable) CreateRoom(ctx context.Context, name string, opts map[string]any) (owtapi.Room, error) {
	if k.dead.Load() {
		return owtapi.Room{}, errKilled
	}
	return k.OWT.CreateRoom(ctx, name, opts)
}

func (k *killable) AddToView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if k.dead.Load() {
		return owtapi.Stream{}, errKilled
	}
	return k.OWT.AddToView(ctx, room, stream, view)
}

func (k *killable) StopStreamingIn(ctx context.Context, room, stream string) error {
	if k.dead.Load() {
		return errKilled
	}
	return k.OWT.StopStreamingIn(ctx, room, stream)
}

// TestKillDuringHeldPostsLeavesNoDuplicates: OWT holds every streaming-in
// POST (hiding the stream while it connects). The agent is killed with its
// POSTs in flight and a new one starts at once on the same store. It must
// not POST again for a stream whose POST may still complete: zero
// duplicates ever, not duplicates removed later.
func TestKillDuringHeldPostsLeavesNoDuplicates(t *testing.T) {
	const n = 6
	disk := &store.Memory{}
	var k *killable
	r := newRig(t, rigOpts{policy: slowResync, store: disk, pendingHold: 10 * time.Second, streamingInTimeout: 10 * time.Second,
		wrap: func(o reconcile.OWT) reconcile.OWT { k = &killable{OWT: o}; return k }})
	r.lab.OWT.SetStreamingInDelay(1500 * time.Millisecond)
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}
	for i := 0; i < n; i++ {
		s := string(rune('a' + i))
		want.Rooms[s] = []string{"live/" + s}
		r.publish("live", s, "")
	}
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		if c := len(r.lab.OWT.Dump().Created); c < n {
			return "POSTs in flight: " + string(rune('0'+c))
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	// SIGKILL: what is durable now is all the next process has.
	k.dead.Store(true)
	doc, _ := disk.Load(context.Background())
	after := &store.Memory{}
	if err := after.Save(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.stop() }() // the dead engine drains its held POSTs
	t.Cleanup(wg.Wait)

	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := rigOpts{policy: strings.Replace(slowResync, "interval: 1h", "interval: 200ms", 1), store: after, pendingHold: 10 * time.Second}
	r2 := startRig(t, r.lab, hookLn, o)
	r2.converge(want, 10*time.Second)
	st := r2.lab.OWT.Dump()
	if d := lab.Duplicates(st); d != 0 || len(st.Created) != n {
		t.Fatalf("%d streaming-ins created for %d streams (%d duplicates): the restarted agent POSTed again while the first POSTs were held", len(st.Created), n, d)
	}
}

// TestFirstListingFailsThenRecovers: the first room listing after a start
// fails (OWT faulty as the agent restarts). Workers wait for a complete
// listing, so the rooms queued by that resync cannot drain; later resyncs
// must still run (they were postponed forever behind that backlog: seed
// 7269717321270097315 of the schedule suite).
func TestFirstListingFailsThenRecovers(t *testing.T) {
	var fails atomic.Int32
	fails.Store(3)
	hook := &owtHook{}
	hook.listRooms = func(ctx context.Context, next func(context.Context) ([]owtapi.Room, error)) ([]owtapi.Room, error) {
		if fails.Add(-1) >= 0 {
			return nil, &owtapi.Error{Op: "list rooms", Status: 500, Code: owtapi.CodeOperationFailed}
		}
		return next(ctx)
	}
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	// A stream is live before the agent starts, so its room is queued by
	// the very first (failing) resync.
	l.SRS.PublishSilently("__defaultVhost__", "live", "a", "")
	r := startRig(t, l, hookLn, rigOpts{policy: fastResync, wrap: func(o reconcile.OWT) reconcile.OWT { hook.OWT = o; return hook }})
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}}}, 5*time.Second)
}
