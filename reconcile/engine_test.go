package reconcile_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// rig is an engine wired to in-memory SRS and OWT over loopback HTTP,
// with SRS's hooks going to a real hook handler in front of the engine.
type rig struct {
	t      *testing.T
	lab    *lab.Lab
	engine *reconcile.Engine
	state  *reconcile.Journal
	owt    *owtapi.Client
	cancel context.CancelFunc
	done   chan error
}

type rigOpts struct {
	policy             string
	streamingInTimeout time.Duration
	pendingHold        time.Duration
	hintTTL            time.Duration
	statePath          string
	env                map[string]string
	// store, when set, backs the journal instead of statePath.
	store reconcile.Store
	// wrap, when set, stands between the engine and the OWT client.
	wrap         func(reconcile.OWT) reconcile.OWT
	metrics      *reconcile.Metrics
	intentSettle time.Duration
	// abort is the engine's Abort.
	abort <-chan struct{}
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return startRig(t, l, hookLn, o)
}

func startRig(t *testing.T, l *lab.Lab, hookLn net.Listener, o rigOpts) *rig {
	t.Helper()
	pol, err := policy.ParsePolicy("policy.yaml", []byte(o.policy), func(k string) string { return o.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	owt, err := owtapi.New(owtapi.Config{URL: l.OWTURL, ServiceID: lab.ServiceID, ServiceKey: lab.ServiceKey,
		StreamingInTimeout: o.streamingInTimeout})
	if err != nil {
		t.Fatal(err)
	}
	var backing reconcile.Store = &store.Memory{}
	if o.store != nil {
		backing = o.store
	} else if o.statePath != "" {
		f, err := store.OpenFile(o.statePath)
		if err != nil {
			t.Fatal(err)
		}
		backing = f
	}
	st, err := reconcile.OpenJournal(context.Background(), backing, "test-agent")
	if err != nil {
		t.Fatal(err)
	}
	srs := srsapi.NewClient(srsapi.Config{Name: "origin", BaseURL: l.SRSURL})
	var eowt reconcile.OWT = owt
	if o.wrap != nil {
		eowt = o.wrap(owt)
	}
	e := reconcile.NewEngine(reconcile.Config{Agent: "test-agent", OWT: eowt, Journal: st, Policy: pol, Metrics: o.metrics, IntentSettle: o.intentSettle, Abort: o.abort,
		Servers:     []reconcile.SRSServer{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Client: srs}},
		PendingHold: o.pendingHold, HintTTL: o.hintTTL, RefreshDelay: 50 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	hs := &http.Server{Handler: srsapi.NewHookHandler(srsapi.HookHandlerConfig{Receiver: e}), ReadHeaderTimeout: time.Second}
	go func() { _ = hs.Serve(hookLn) }()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, lab: l, engine: e, state: st, owt: owt, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		r.stop()
		_ = hs.Close()
	})
	return r
}

// stop stops the engine and closes its journal (releasing the state
// file's lock), as the agent does on shutdown.
func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
		if err := r.state.Close(context.Background()); err != nil {
			r.t.Errorf("close journal: %v", err)
		}
	}
}

func (r *rig) converge(w lab.Want, within time.Duration) time.Duration {
	r.t.Helper()
	took, err := lab.WaitFor(context.Background(), within, func() string { return lab.Check(r.lab.OWT.Dump(), w) })
	if err != nil {
		r.t.Fatal(err)
	}
	return took
}

func (r *rig) publish(app, stream, param string) {
	r.t.Helper()
	if _, _, err := r.lab.SRS.Publish(context.Background(), "__defaultVhost__", app, stream, param); err != nil {
		r.t.Fatalf("publish %s/%s: %v", app, stream, err)
	}
}

const slowResync = `reconcile: {interval: 1h, delete_grace: 300ms, max_deletes: 50, allow_empty: true, concurrency: 4}
routes:
  - match: {app: live}
    room: "{{.Stream}}"
  - match: {app: byquery, query: {layout: wall}}
    room: "wall"
  - match: {app: byquery}
    room: "other"
`

// TestFastPath: with a one-hour resync, a published stream is in view and
// an unpublished one is cleaned up after the grace, through hooks alone.
func TestFastPath(t *testing.T) {
	r := newRig(t, rigOpts{policy: slowResync})
	r.lab.OWT.SetLatency(5 * time.Millisecond)
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}, "b": {"live/b"}}}
	r.publish("live", "a", "")
	r.publish("live", "b", "")
	r.converge(want, 5*time.Second)
	if err := r.lab.SRS.Unpublish(context.Background(), "__defaultVhost__", "live", "b"); err != nil {
		t.Fatal(err)
	}
	delete(want.Rooms, "b")
	if took := r.converge(want, 5*time.Second); took < 250*time.Millisecond {
		t.Fatalf("stream stopped after %s, within the 300ms delete grace", took)
	}
	// The stopped input's grace period is not remembered forever.
	if n := r.state.MissingCount(); n != 0 {
		t.Fatalf("state keeps %d grace entries after the stop", n)
	}
	if n := lab.Duplicates(r.lab.OWT.Dump()); n != 0 {
		t.Fatalf("%d duplicates", n)
	}
}

// TestTimedOutPostIsNotRetriedBlindly: OWT holds the streaming-in POST
// longer than the client waits; the agent must re-list, not POST again.
func TestTimedOutPostIsNotRetriedBlindly(t *testing.T) {
	r := newRig(t, rigOpts{policy: strings.Replace(slowResync, "interval: 1h", "interval: 100ms", 1),
		streamingInTimeout: 200 * time.Millisecond, pendingHold: 5 * time.Second})
	r.lab.OWT.SetStreamingInDelay(1 * time.Second)
	r.publish("live", "slow", "")
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"slow": {"live/slow"}}}, 8*time.Second)
	st := r.lab.OWT.Dump()
	if len(st.Created) != 1 {
		t.Fatalf("%d streaming-ins created for one stream; want exactly 1 (no blind retry)", len(st.Created))
	}
}

// TestGoneStreamIsConfirmedByGet: a stream OWT dropped by itself answers
// DELETE with the ambiguous 500/1301; the agent confirms with a GET and
// moves on instead of retrying forever.
func TestGoneStreamIsConfirmedByGet(t *testing.T) {
	r := newRig(t, rigOpts{policy: strings.Replace(slowResync, "interval: 1h", "interval: 200ms", 1)})
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"x": {"live/x"}}}
	r.publish("live", "x", "")
	r.converge(want, 5*time.Second)
	// The source is lost: OWT removes the input. The agent pulls it again.
	st := r.lab.OWT.Dump()
	var room, id string
	for _, rm := range st.Rooms {
		for _, s := range rm.Streams {
			room, id = rm.ID, s.ID
		}
	}
	if err := r.lab.OWT.DropStream(room, id); err != nil {
		t.Fatal(err)
	}
	r.converge(want, 5*time.Second)
	// A DELETE of the dropped id is ambiguous; the applier's GET check says gone.
	ctx := context.Background()
	err := r.owt.StopStreamingIn(ctx, room, id)
	if !owtapi.IsAmbiguous(err) {
		t.Fatalf("DELETE of a dropped stream: %v, want 500/1301", err)
	}
	if _, gerr := r.owt.GetStream(ctx, room, id); !owtapi.IsStreamNotFound(gerr) {
		t.Fatalf("GET of a dropped stream: %v, want 404/1004", gerr)
	}
}

// TestBusySecondPublisherChangesNothing: SRS sends on_publish for a second
// encoder on a live stream, then refuses it as busy with no on_unpublish.
func TestBusySecondPublisherChangesNothing(t *testing.T) {
	r := newRig(t, rigOpts{policy: slowResync})
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"wall": {"byquery/cam"}}}
	r.publish("byquery", "cam", "?layout=wall")
	r.converge(want, 5*time.Second)
	// SRS lists the first publisher as active once the refresh ran.
	time.Sleep(200 * time.Millisecond)
	_, _, err := r.lab.SRS.Publish(context.Background(), "__defaultVhost__", "byquery", "cam", "?layout=other")
	if err == nil {
		t.Fatal("second publisher was not refused as busy")
	}
	time.Sleep(500 * time.Millisecond)
	if d := lab.Check(r.lab.OWT.Dump(), want); d != "" {
		t.Fatalf("a busy second publisher disturbed OWT: %s", d)
	}
	if n := len(r.lab.OWT.Dump().Created); n != 1 {
		t.Fatalf("%d streaming-ins created, want 1", n)
	}
}

// TestHintExpires: an on_publish that SRS never turns into a live stream
// (another hook URL refused it) is cleaned up after the hint's TTL.
func TestHintExpires(t *testing.T) {
	r := newRig(t, rigOpts{policy: strings.Replace(slowResync, "interval: 1h", "interval: 200ms", 1), hintTTL: 300 * time.Millisecond})
	err := r.engine.OnHook(context.Background(), srsapi.Hook{Action: srsapi.ActionOnPublish, ClientID: "c1", Vhost: "__defaultVhost__",
		App: "live", Stream: "ghost", StreamID: "vid-x"})
	if err != nil {
		t.Fatal(err)
	}
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"ghost": {"live/ghost"}}}, 5*time.Second)
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}, 5*time.Second)
}

// TestParamSurvivesRestart: a route matching the publish query keeps the
// stream where it is after an agent restart, because the query is recorded
// in the streaming-in's attributes (SRS's listing does not carry it).
func TestParamSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	o := rigOpts{policy: strings.Replace(slowResync, "interval: 1h", "interval: 200ms", 1), statePath: dir + "/state.json"}
	r := newRig(t, o)
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"wall": {"byquery/cam"}}}
	r.publish("byquery", "cam", "?layout=wall")
	r.converge(want, 5*time.Second)
	r.stop()

	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r2 := startRig(t, r.lab, hookLn, o)
	time.Sleep(800 * time.Millisecond) // several resyncs
	if d := lab.Check(r2.lab.OWT.Dump(), want); d != "" {
		t.Fatalf("after restart: %s", d)
	}
	if n := len(r2.lab.OWT.Dump().Created); n != 1 {
		t.Fatalf("%d streaming-ins created across the restart, want 1", n)
	}
}

// TestConcurrentHooksOneRoom: many hooks for streams of one room at once
// never create the room twice nor a stream twice.
func TestConcurrentHooksOneRoom(t *testing.T) {
	pol := `reconcile: {interval: 1h, delete_grace: 1s, concurrency: 8}
routes:
  - match: {app: shared}
    room: "shared"
`
	r := newRig(t, rigOpts{policy: pol})
	r.lab.OWT.SetLatency(2 * time.Millisecond)
	var wg sync.WaitGroup
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"shared": nil}}
	for i := 0; i < 30; i++ {
		name := "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		want.Rooms["shared"] = append(want.Rooms["shared"], "shared/"+name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.publish("shared", name, "")
		}()
	}
	wg.Wait()
	r.converge(want, 10*time.Second)
	if n := lab.Duplicates(r.lab.OWT.Dump()); n != 0 {
		t.Fatalf("%d duplicates", n)
	}
}

const guarded = `reconcile: {interval: 200ms, delete_grace: 200ms, max_deletes: 50, allow_empty: false, concurrency: 4}
routes:
  - match: {app: live}
    room: "{{.Stream}}"
`

// TestEmptyGuardAllowsHookConfirmedUnpublish: when the last publishers
// leave with on_unpublish hooks, the agent cleans up even without allow_empty.
func TestEmptyGuardAllowsHookConfirmedUnpublish(t *testing.T) {
	r := newRig(t, rigOpts{policy: guarded})
	r.publish("live", "a", "")
	r.publish("live", "b", "")
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}, "b": {"live/b"}}}, 5*time.Second)
	for _, s := range []string{"a", "b"} {
		if err := r.lab.SRS.Unpublish(context.Background(), "__defaultVhost__", "live", s); err != nil {
			t.Fatal(err)
		}
	}
	r.converge(lab.Want{Rooms: map[string][]string{}}, 5*time.Second)
}

// TestEmptyGuardHoldsSuddenEmptyListing: SRS suddenly lists nothing (no
// hooks: a bad answer or a restart); the agent removes nothing.
func TestEmptyGuardHoldsSuddenEmptyListing(t *testing.T) {
	r := newRig(t, rigOpts{policy: guarded, hintTTL: 100 * time.Millisecond})
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"a": {"live/a"}, "b": {"live/b"}}}
	r.publish("live", "a", "")
	r.publish("live", "b", "")
	r.converge(want, 5*time.Second)
	time.Sleep(400 * time.Millisecond)  // SRS's listing has confirmed both publishes
	r.lab.SRS.Restart()                 // every stream gone, no hooks
	time.Sleep(1500 * time.Millisecond) // several resyncs, well past the grace
	if d := lab.Check(r.lab.OWT.Dump(), want); d != "" {
		t.Fatalf("the agent removed inputs on an empty SRS listing: %s", d)
	}
}

// TestTokenWithVhostInTcURL: with the vhost in the tcUrl SRS sends param as
// "?vhost=X?vhost=X" and the stream's own query after it; the publish token
// must still be found (a weaker parser would read it as part of the vhost).
func TestTokenWithVhostInTcURL(t *testing.T) {
	pol := `reconcile: {interval: 1h}
routes:
  - match: {app: wall}
    room: {name: wall, create: true}
    token_env: WALL_TOKEN
`
	r := newRig(t, rigOpts{policy: pol, env: map[string]string{"WALL_TOKEN": "s3cret"}})
	hook := func(param string) error {
		return r.engine.OnHook(context.Background(), srsapi.Hook{Action: srsapi.ActionOnPublish, ClientID: "c-" + param,
			Vhost: "video.test.com", App: "wall", Stream: "cam", StreamID: "vid-1", Param: param})
	}
	for _, ok := range []string{"?vhost=video.test.com?vhost=video.test.com?token=s3cret", "?token=s3cret"} {
		if err := hook(ok); err != nil {
			t.Errorf("param %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"?vhost=video.test.com?vhost=video.test.com", "?vhost=video.test.com?token=wrong", ""} {
		var rej *srsapi.Rejection
		if err := hook(bad); !errors.As(err, &rej) {
			t.Errorf("param %q accepted without the right token", bad)
		}
	}
}
