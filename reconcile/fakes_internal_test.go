package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// scriptOWT is an OWT whose every call is recorded and answered by the
// test's function for it, or by an empty success when none is set.
type scriptOWT struct {
	mu           sync.Mutex
	calls        []string
	listRooms    func() ([]owtapi.Room, error)
	createRoom   func(name string) (owtapi.Room, error)
	deleteRoom   func(id string) error
	listStreams  func(id string) ([]owtapi.Stream, error)
	getStream    func(room, stream string) (owtapi.Stream, error)
	start        func(room string, req owtapi.StreamingInRequest) (owtapi.Stream, error)
	stop         func(room, stream string) error
	addView      func(room, stream, view string) (owtapi.Stream, error)
	removeView   func(room, stream, view string) (owtapi.Stream, error)
	participants func(room string) ([]owtapi.Participant, error)
}

func (f *scriptOWT) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// Calls returns the calls made so far.
func (f *scriptOWT) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *scriptOWT) ListRooms(context.Context) ([]owtapi.Room, error) {
	f.record("list_rooms")
	if f.listRooms != nil {
		return f.listRooms()
	}
	return nil, nil
}

func (f *scriptOWT) CreateRoom(_ context.Context, name string, _ map[string]any) (owtapi.Room, error) {
	f.record("create_room %s", name)
	if f.createRoom != nil {
		return f.createRoom(name)
	}
	return owtapi.Room{ID: "id-" + name, Name: name}, nil
}

func (f *scriptOWT) DeleteRoom(_ context.Context, id string) error {
	f.record("delete_room %s", id)
	if f.deleteRoom != nil {
		return f.deleteRoom(id)
	}
	return nil
}

func (f *scriptOWT) ListStreamsWithoutMedia(_ context.Context, id string) ([]owtapi.Stream, error) {
	f.record("list_streams %s", id)
	if f.listStreams != nil {
		return f.listStreams(id)
	}
	return nil, nil
}

func (f *scriptOWT) GetStream(_ context.Context, room, stream string) (owtapi.Stream, error) {
	f.record("get_stream %s %s", room, stream)
	if f.getStream != nil {
		return f.getStream(room, stream)
	}
	return owtapi.Stream{ID: stream}, nil
}

func (f *scriptOWT) StartStreamingIn(_ context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	f.record("start %s %s", room, req.Connection.URL)
	if f.start != nil {
		return f.start(room, req)
	}
	return owtapi.Stream{ID: "s-new", Type: "forward"}, nil
}

func (f *scriptOWT) StopStreamingIn(_ context.Context, room, stream string) error {
	f.record("stop %s %s", room, stream)
	if f.stop != nil {
		return f.stop(room, stream)
	}
	return nil
}

func (f *scriptOWT) AddToView(_ context.Context, room, stream, view string) (owtapi.Stream, error) {
	f.record("add_view %s %s %s", room, stream, view)
	if f.addView != nil {
		return f.addView(room, stream, view)
	}
	return owtapi.Stream{ID: stream, Info: owtapi.StreamInfo{InViews: []string{view}}}, nil
}

func (f *scriptOWT) RemoveFromView(_ context.Context, room, stream, view string) (owtapi.Stream, error) {
	f.record("remove_view %s %s %s", room, stream, view)
	if f.removeView != nil {
		return f.removeView(room, stream, view)
	}
	return owtapi.Stream{ID: stream}, nil
}

func (f *scriptOWT) ListParticipants(_ context.Context, room string) ([]owtapi.Participant, error) {
	f.record("participants %s", room)
	if f.participants != nil {
		return f.participants(room)
	}
	return nil, nil
}

// OWT answers used by the tests.
var (
	errRoomNotFound   = &owtapi.Error{Status: 404, Code: owtapi.CodeRoomNotFound, Message: "Room not found"}
	errStreamNotFound = &owtapi.Error{Status: 404, Code: owtapi.CodeStreamNotFound, Message: "Stream not found"}
	errAmbiguous      = &owtapi.Error{Status: 500, Code: owtapi.CodeOperationFailed, Message: "Operation failed"}
	errBadRequest     = &owtapi.Error{Status: 400, Code: owtapi.CodeBadRequest, Message: "Bad request"}
)

// ownedStream is a streaming-in of key(stream) owned by agent.
func ownedStream(agent, id, stream string, inViews ...string) owtapi.Stream {
	return owtapi.Stream{ID: id, Type: "forward", Info: owtapi.StreamInfo{InViews: inViews,
		Attributes: Attributes(agent, key(stream), "", pullURL(stream), "op-"+id)}}
}

// fakeSRS is an SRS server whose snapshot the test sets.
type fakeSRS struct {
	mu   sync.Mutex
	snap srsapi.Snapshot
	err  error
}

func (s *fakeSRS) Snapshot(context.Context) (srsapi.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, s.err
}

func (s *fakeSRS) set(snap srsapi.Snapshot, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap, s.err = snap, err
}

// liveSnap is a snapshot of server "srv-1" (service "svc-1") publishing
// the streams of app live named by streams, each by client "cid-<stream>".
func liveSnap(streams ...string) srsapi.Snapshot {
	s := srsapi.Snapshot{Identity: srsapi.Identity{ServerID: "srv-1", ServiceID: "svc-1"}}
	for _, n := range streams {
		s.Streams = append(s.Streams, live("__defaultVhost__", "live", n, "cid-"+n, true))
	}
	return s
}

// testEngine is an engine built for in-package tests: it is never Run;
// tests call its parts directly.
type testEngine struct {
	*Engine
	api     *scriptOWT
	srsAPI  *fakeSRS
	mem     *store.Memory
	journal *Journal
	metrics *Metrics
	logs    *recLog
}

const enginePolicy = `reconcile: {interval: 1h, delete_grace: 2s, max_deletes: 50, allow_empty: true, concurrency: 2}
attributes: {keep_params: [a, tier]}
routes:
  - match: {app: private}
    action: deny
  - match: {app: secure}
    room: "secure"
    token_env: PUBLISH_TOKEN
  - match: {app: skip}
    action: ignore
  - match: {app: members}
    room: "m-{{.Stream}}"
    token_env: PUBLISH_TOKEN
  - match: {app: live}
    room: "{{.Stream}}"
    views: [common]
`

// enginePol parses enginePolicy (its publish token is "s3cret").
func enginePol(t *testing.T) *policy.Policy {
	t.Helper()
	pol, err := policy.ParsePolicy("policy.yaml", []byte(enginePolicy), func(k string) string {
		if k == "PUBLISH_TOKEN" {
			return "s3cret"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// newTestEngine builds an engine on enginePolicy; edit adjusts its
// config first.
func newTestEngine(t *testing.T, edit func(*Config)) *testEngine {
	t.Helper()
	pol := enginePol(t)
	mem := &store.Memory{}
	j, err := OpenJournal(context.Background(), mem, "agent")
	if err != nil {
		t.Fatal(err)
	}
	te := &testEngine{api: &scriptOWT{}, srsAPI: &fakeSRS{}, mem: mem, journal: j, metrics: NewMetrics(nil), logs: &recLog{}}
	cfg := Config{Agent: "agent", OWT: te.api, Journal: j, Policy: pol, Metrics: te.metrics, Log: slog.New(te.logs),
		Servers:     []SRSServer{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Client: te.srsAPI}},
		PendingHold: time.Minute, HintTTL: 10 * time.Second, RefreshDelay: time.Second,
		RetryBase: time.Hour, RetryMax: time.Hour, IntentSettle: time.Hour, PendingPoll: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	te.Engine = NewEngine(cfg)
	t.Cleanup(te.queue.ShutDown)
	return te
}

// readSRSNow reads the fake SRS into the engine's state.
func (te *testEngine) readSRSNow(snap srsapi.Snapshot) {
	te.srsAPI.set(snap, nil)
	te.readSRS(context.Background())
}

// queued returns the keys waiting in the queue now.
func (te *testEngine) queued() []string {
	te.queue.mu.Lock()
	defer te.queue.mu.Unlock()
	return append([]string(nil), te.queue.order...)
}

// dueAt returns when key's pending AddAfter fires, and whether one is
// pending.
func (te *testEngine) dueAt(key string) (time.Time, bool) {
	te.queue.mu.Lock()
	defer te.queue.mu.Unlock()
	at, ok := te.queue.due[key]
	return at, ok
}

// assertDue checks that key is due again d after a call made between
// before and after.
func (te *testEngine) assertDue(t *testing.T, key string, before, after time.Time, d time.Duration) {
	t.Helper()
	at, ok := te.dueAt(key)
	if !ok {
		t.Errorf("%s: no AddAfter pending, want one after %v", key, d)
		return
	}
	if at.Before(before.Add(d)) || at.After(after.Add(d)) {
		t.Errorf("%s due %v after the call, want %v", key, at.Sub(before), d)
	}
}

// recLog is a slog handler that records every message at or above Info.
type recLog struct {
	mu   sync.Mutex
	recs []string
}

func (l *recLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *recLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, b.String())
	return nil
}
func (l *recLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recLog) WithGroup(string) slog.Handler      { return l }

// has reports whether a record contains every one of parts.
func (l *recLog) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, r := range l.recs {
		for _, p := range parts {
			if !strings.Contains(r, p) {
				continue next
			}
		}
		return true
	}
	return false
}

func (l *recLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recs, "\n")
}
