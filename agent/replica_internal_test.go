package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

const haTestPolicy = `reconcile: {interval: 1h, delete_grace: 1s}
routes:
  - match: {app: private}
    action: deny
  - match: {app: secure}
    room: "{{.Stream}}"
    token_env: PUBLISH_TOKEN
  - match: {app: live}
    room: "{{.Stream}}"
`

const (
	peerToken    = "peer-token-for-tests"
	publishToken = "publish-secret-1234"
)

// stubBackend is an election the test drives: Grant hands the next
// campaign a term, and Leader says what the test sets.
type stubBackend struct {
	mu       sync.Mutex
	leader   ha.Leader
	terms    chan *ha.Term
	resigned int
	closed   bool
}

func newStubBackend() *stubBackend { return &stubBackend{terms: make(chan *ha.Term)} }

func (b *stubBackend) Campaign(ctx context.Context) (*ha.Term, error) {
	select {
	case t := <-b.terms:
		return t, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (b *stubBackend) Resign(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resigned++
	return nil
}
func (b *stubBackend) Leader() ha.Leader {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leader
}
func (b *stubBackend) setLeader(l ha.Leader) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leader = l
}
func (b *stubBackend) Close() error   { b.closed = true; return nil }
func (b *stubBackend) String() string { return "stub election" }

// fencedMemory is a store fenced to a context.
type fencedMemory struct {
	*store.Memory
	ctx context.Context
}

func (f *fencedMemory) Save(ctx context.Context, doc []byte) error {
	if f.ctx.Err() != nil {
		return fmt.Errorf("test store: %w", ha.ErrFenced)
	}
	return f.Memory.Save(ctx, doc)
}

type haSetup struct {
	a       *Agent
	lab     *lab.Lab
	backend *stubBackend
	peer    string // this replica's peer endpoint
	logs    *recLog
}

func setupHA(t *testing.T) *haSetup {
	t.Helper()
	o, l, b, logs := haOptions(t)
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, statErr := os.Stat(o.Config.Agent.StateFile + ".lock"); statErr == nil {
		t.Fatal("a replica took the state file's lock: with ha the store is the election's")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if !b.closed {
			t.Error("the election was not closed at shutdown")
		}
	})
	return &haSetup{a: a, lab: l, backend: b, peer: "http://" + o.PeerListener.Addr().String(), logs: logs}
}

// haOptions are a replica's options against a new lab, with a stub
// election and a bound peer listener.
func haOptions(t *testing.T) (Options, *lab.Lab, *stubBackend, *recLog) {
	t.Helper()
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	pf := filepath.Join(dir, "policy.yaml")
	af := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(pf, []byte(haTestPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := l.AgentYAML(hookLn.Addr().String(), "127.0.0.1:0", filepath.Join(dir, "state.json"), pf) +
		"ha: {mode: etcd, etcd: {endpoints: [\"http://127.0.0.1:1\"]}, peer_listen: \"127.0.0.1:0\", peer_token_env: PEER_TOKEN}\n"
	if err := os.WriteFile(af, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OWT_SERVICE_KEY": lab.ServiceKey, "PEER_TOKEN": peerToken, "PUBLISH_TOKEN": publishToken}
	getenv := func(k string) string { return env[k] }
	cfg, err := policy.LoadAgent(af, getenv)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.LoadPolicy(pf, getenv)
	if err != nil {
		t.Fatal(err)
	}
	peerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &recLog{}
	b := newStubBackend()
	o := Options{Config: cfg, Policy: pol, Getenv: getenv, HookListener: hookLn, PeerListener: peerLn,
		Backend: b, Identity: "replica-a", Log: slog.New(logs)}
	return o, l, b, logs
}

// capture is a leader's peer endpoint as a follower sees it.
type capture struct {
	mu   sync.Mutex
	reqs []capturedReq
	srv  *httptest.Server
}

type capturedReq struct {
	auth string
	ct   string // Content-Type
	body peerHook
	raw  string
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ph peerHook
		_ = json.Unmarshal(raw, &ph)
		c.mu.Lock()
		c.reqs = append(c.reqs, capturedReq{auth: r.Header.Get("Authorization"), ct: r.Header.Get("Content-Type"), body: ph, raw: string(raw)})
		c.mu.Unlock()
		if r.URL.Path != PeerHookPath {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) got() []capturedReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedReq(nil), c.reqs...)
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowerAnswersFromThePolicyAndForwards(t *testing.T) {
	s := setupHA(t)
	leader := newCapture(t)
	s.backend.setLeader(ha.Leader{Identity: "replica-b", Peer: leader.srv.URL})
	ctx := context.Background()
	waitUntil(t, 5*time.Second, "the status names the leader", func() bool { return s.a.Status().Leader == "replica-b" })
	if role, id := s.a.Status().Role, s.a.Status().Identity; role != "follower" || id != "replica-a" {
		t.Fatalf("status role %q identity %q", role, id)
	}
	if s.a.Engine() != nil {
		t.Fatal("a follower runs an engine")
	}
	cases := []struct {
		app, stream, param string
		wantRej            string // "" = accepted
	}{
		{"private", "x", "", "code 403"},
		{"secure", "s1", "", "code 401"},
		{"secure", "s2", "?token=wrong", "code 401"},
		{"secure", "s3", "?token=" + publishToken + "&lang=en", ""},
		{"live", "l1", "", ""},
		{"other", "o1", "", ""}, // no route: ignored, accepted
	}
	for _, c := range cases {
		_, _, err := s.lab.SRS.Publish(ctx, "", c.app, c.stream, c.param)
		switch {
		case c.wantRej == "" && err != nil:
			t.Errorf("%s/%s%s refused: %v", c.app, c.stream, c.param, err)
		case c.wantRej != "" && (err == nil || !strings.Contains(err.Error(), c.wantRej)):
			t.Errorf("%s/%s%s: %v, want a refusal with %s", c.app, c.stream, c.param, err, c.wantRej)
		}
	}
	// The accepted publishes reach the leader: s3, l1 and o1 (the leader
	// decides what to do with an ignored one).
	waitUntil(t, 5*time.Second, "three forwarded hooks", func() bool { return len(leader.got()) == 3 })
	seen := map[string]bool{}
	for _, r := range leader.got() {
		if r.ct != "application/json" {
			t.Errorf("forwarded with Content-Type %q", r.ct)
		}
		if r.auth != "Bearer "+peerToken {
			t.Errorf("forwarded with Authorization %q", r.auth)
		}
		if strings.Contains(r.raw, publishToken) || strings.Contains(r.raw, "token") {
			t.Errorf("the publish token left the follower: %s", r.raw)
		}
		if r.body.From != "replica-a" || r.body.Hook.Action != srsapi.ActionOnPublish {
			t.Errorf("forwarded %+v", r.body)
		}
		seen[r.body.Hook.App+"/"+r.body.Hook.Stream] = true
	}
	if !seen["secure/s3"] || !seen["live/l1"] || !seen["other/o1"] {
		t.Errorf("forwarded %v", seen)
	}
	// Counted once the leader's answer is read, after the leader saw it.
	waitUntil(t, 5*time.Second, "peer_forwards_total{ok} = 3", func() bool {
		return testutil.ToFloat64(s.a.replica.forwards.WithLabelValues("ok")) == 3
	})
	// An unpublish is forwarded too; nothing was written to OWT meanwhile.
	if err := s.lab.SRS.Unpublish(ctx, "", "live", "l1"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the unpublish forwarded", func() bool { return len(leader.got()) == 4 })
	if r := leader.got()[3]; r.body.Hook.Action != srsapi.ActionOnUnpublish {
		t.Errorf("fourth forward %+v", r.body.Hook)
	}
	if st := s.lab.OWT.Dump(); len(st.Writes) != 0 || len(st.Rooms) != 0 {
		t.Errorf("a follower wrote to OWT: %+v", st.Writes)
	}
	// No leader known: the hook is still answered, nothing is sent.
	s.backend.setLeader(ha.Leader{})
	if _, _, err := s.lab.SRS.Publish(ctx, "", "live", "l2", ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "no_leader counted", func() bool {
		return testutil.ToFloat64(s.a.replica.forwards.WithLabelValues("no_leader")) == 1
	})
	// A leader that does not answer: counted as an error, logged, answered anyway.
	s.backend.setLeader(ha.Leader{Identity: "replica-c", Peer: "http://127.0.0.1:1"})
	if _, _, err := s.lab.SRS.Publish(ctx, "", "live", "l3", ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "error counted", func() bool {
		return testutil.ToFloat64(s.a.replica.forwards.WithLabelValues("error")) == 1
	})
	if !s.logs.has("hook not forwarded to the leader", "replica-c") {
		t.Error("a failed forward is not logged")
	}
}

func TestFollowerDropsWhenTheQueueIsFull(t *testing.T) {
	s := setupHA(t)
	// Hold every forward: a leader that never answers within the timeout.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block); slow.Close() })
	s.backend.setLeader(ha.Leader{Identity: "replica-b", Peer: slow.URL})
	r := s.a.replica
	h := srsapi.Hook{Action: srsapi.ActionOnPublish, App: "live", Stream: "x"}
	for i := 0; i < forwardQueue+forwardWorkers+10; i++ {
		if err := r.OnHook(context.Background(), h); err != nil {
			t.Fatal(err)
		}
	}
	if d := testutil.ToFloat64(r.forwards.WithLabelValues("dropped")); d < 1 || d > float64(forwardWorkers+10) {
		t.Fatalf("dropped %v forwards; want some (the queue holds %d) and at most %d", d, forwardQueue, forwardWorkers+10)
	}
}

func postPeer(t *testing.T, url, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+PeerHookPath, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLeadershipTerms(t *testing.T) {
	s := setupHA(t)
	good := `{"hook":{"action":"on_publish","vhost":"__defaultVhost__","app":"live","stream":"room1","param":"","client_id":"c1","server_id":"` + "" + `"},"server":"origin","from":"replica-b"}`
	if code, body := postPeer(t, s.peer, "Bearer "+peerToken, good); code != http.StatusServiceUnavailable {
		t.Fatalf("peer endpoint of a follower: %d %s, want 503", code, body)
	}
	leaderGauge := func() float64 { return testutil.ToFloat64(s.a.replica.leader) }
	if leaderGauge() != 0 {
		t.Fatal("a follower's leader gauge is not 0")
	}

	// Term 1: the store holds what an earlier leader recorded.
	tctx, end := context.WithCancel(context.Background())
	mem := &store.Memory{}
	_ = mem.Save(context.Background(), []byte(`{"version":2,"agent":"srs-owt-proxy-lab","rooms":{}}`))
	st := &fencedMemory{Memory: mem, ctx: tctx}
	s.backend.terms <- &ha.Term{Ctx: tctx, Store: st, Fence: func() error {
		if tctx.Err() != nil {
			return ha.ErrFenced
		}
		return nil
	}}
	waitUntil(t, 5*time.Second, "an engine for the term", func() bool { return s.a.Engine() != nil })
	if leaderGauge() != 1 || s.a.Status().Role != "leader" {
		t.Fatalf("leading: gauge %v, role %q", leaderGauge(), s.a.Status().Role)
	}
	for _, c := range []struct {
		auth, body string
		want       int
	}{
		{"", good, 401},
		{"Bearer wrong", good, 401},
		{"Bearer " + peerToken, `{"hook":`, 400},
		{"Bearer " + peerToken, `{"hook":{"action":"on_play","app":"live","stream":"x"}}`, 400},
		{"Bearer " + peerToken, `{"hook":{"action":"on_publish"},"extra":1}`, 400},
		{"Bearer " + peerToken, good, 204},
	} {
		if code, body := postPeer(t, s.peer, c.auth, c.body); code != c.want {
			t.Errorf("peer POST auth %q body %s: %d %s, want %d", c.auth, c.body, code, body, c.want)
		}
	}
	// The forwarded publish is acted on by the leader: room1 is created
	// and the stream pulled (SRS does not list it: the hook is the hint).
	waitUntil(t, 10*time.Second, "room1 in OWT", func() bool {
		for _, r := range s.lab.OWT.Dump().Rooms {
			if r.Name == "room1" {
				return true
			}
		}
		return false
	})
	for _, w := range s.lab.OWT.Dump().Writes {
		if !strings.Contains(w.UserAgent, "(replica-a)") {
			t.Errorf("OWT write without the replica's identity in its User-Agent: %+v", w)
		}
	}
	saved, _ := mem.Load(context.Background())
	if !strings.Contains(string(saved), "room1") {
		t.Errorf("the leader did not record its room in the term's store: %s", saved)
	}

	// The term ends: the engine goes, the replica follows again.
	end()
	waitUntil(t, 5*time.Second, "the engine gone", func() bool { return s.a.Engine() == nil })
	waitUntil(t, 5*time.Second, "the gauge at 0", func() bool { return leaderGauge() == 0 })
	if got := testutil.ToFloat64(s.a.replica.transitions.WithLabelValues("follower")); got != 1 {
		t.Errorf("transitions to follower = %v, want 1", got)
	}
	if !s.logs.has("leadership lost") {
		t.Error("the loss of the leadership is not logged")
	}
	if code, _ := postPeer(t, s.peer, "Bearer "+peerToken, good); code != http.StatusServiceUnavailable {
		t.Errorf("peer endpoint after the term: %d, want 503", code)
	}
	if s.a.Status().Role != "follower" {
		t.Errorf("role after the term: %q", s.a.Status().Role)
	}
	// Term 2 loads what term 1 saved.
	t2, end2 := context.WithCancel(context.Background())
	defer end2()
	s.backend.terms <- &ha.Term{Ctx: t2, Store: &fencedMemory{Memory: mem, ctx: t2}}
	waitUntil(t, 5*time.Second, "an engine for term 2", func() bool { return s.a.Engine() != nil })
	if got := testutil.ToFloat64(s.a.replica.transitions.WithLabelValues("leader")); got != 2 {
		t.Errorf("transitions to leader = %v, want 2", got)
	}
	// Term 2 owns room1 from the store: SRS never listed its stream and the
	// hint died with term 1's engine, so term 2 deletes the room, which
	// the agent only ever does to a room it owns.
	defer func() {
		if t.Failed() {
			s.logs.mu.Lock()
			t.Logf("logs:\n%s", strings.Join(s.logs.recs, "\n"))
			s.logs.mu.Unlock()
		}
	}()
	waitUntil(t, 15*time.Second, "term 2 deletes the room it owns", func() bool {
		for _, r := range s.lab.OWT.Dump().Rooms {
			if r.Name == "room1" {
				return false
			}
		}
		return true
	})
}

// A store that cannot be read at the start of a term: the replica resigns
// and follows; it does not lead blind.
func TestTermWithAnUnreadableStoreIsResigned(t *testing.T) {
	s := setupHA(t)
	tctx, end := context.WithCancel(context.Background())
	defer end()
	s.backend.terms <- &ha.Term{Ctx: tctx, Store: brokenStore{}}
	waitUntil(t, 5*time.Second, "a resign", func() bool {
		s.backend.mu.Lock()
		defer s.backend.mu.Unlock()
		return s.backend.resigned == 1
	})
	if s.a.Engine() != nil {
		t.Fatal("an engine runs over an unreadable store")
	}
	if !s.logs.has("store cannot be read", "broken store") {
		t.Error("not logged")
	}
}

type brokenStore struct{}

func (brokenStore) Load(context.Context) ([]byte, error) { return nil, errors.New("etcd down") }
func (brokenStore) Save(context.Context, []byte) error   { return errors.New("etcd down") }
func (brokenStore) Close() error                         { return nil }
func (brokenStore) String() string                       { return "broken store" }

func TestBackendsAndReadersOfEachMode(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	etcdCfg := policy.HA{Mode: policy.HAModeEtcd, Etcd: policy.HAEtcd{Endpoints: []string{"http://127.0.0.1:1"}, Prefix: "/p/", SessionTTL: 2 * time.Second}}
	b, err := newBackend(etcdCfg, "r1", "http://127.0.0.1:8086", log)
	if err != nil || !strings.Contains(b.String(), "etcd election /p/leader") {
		t.Fatalf("etcd backend: %v, %v", b, err)
	}
	_ = b.Close()
	kubeCfg := policy.HA{Mode: policy.HAModeKubernetes, Kubernetes: policy.HAKubernetes{Namespace: "media", Lease: "l", ConfigMap: "c",
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, Kubeconfig: "/nonexistent/kubeconfig"}}
	if _, err := newBackend(kubeCfg, "r1", "http://127.0.0.1:8086", log); err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("kubernetes backend with a missing kubeconfig: %v", err)
	}
	if _, err := newBackend(policy.HA{Mode: "raft"}, "r1", "", log); err == nil {
		t.Fatal("an unknown mode built a backend")
	}
	r, err := haReader(etcdCfg)
	if err != nil || r.String() != "etcd /p/state (read-only)" {
		t.Fatalf("etcd reader: %v, %v", r, err)
	}
	_ = r.Close()
	if _, err := haReader(kubeCfg); err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("kubernetes reader with a missing kubeconfig: %v", err)
	}
	if _, err := haReader(policy.HA{Mode: "raft"}); err == nil {
		t.Fatal("an unknown mode built a reader")
	}
	cfg := &policy.Agent{HA: etcdCfg}
	if _, err := OpenJournal(cfg, true); err == nil || !strings.Contains(err.Error(), "only the elected leader writes") {
		t.Fatalf("a one-shot writer with ha: %v", err)
	}
	if j, err := OpenJournal(&policy.Agent{HA: kubeCfg}, false); err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("a reader of a Kubernetes store with a missing kubeconfig: %v, %v", j, err)
	}
}

// diff's journal reads the leader's store in etcd, read-only.
func TestOpenJournalReadsTheHAStore(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg := &policy.Agent{HA: policy.HA{Mode: policy.HAModeEtcd, Etcd: policy.HAEtcd{Endpoints: []string{srv.Endpoint}, Prefix: "/p/"}}}
	cfg.Agent.ID = "agent-1"
	j, err := OpenJournal(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if j == nil || j.String() != "etcd /p/state (read-only)" {
		t.Fatalf("journal %v", j)
	}
	j.SetRoom("r", "1", time.Now())
	if err := j.Commit(context.Background()); err == nil {
		t.Error("a reader's journal saved to the leader's store")
	}
}

// A peer address that cannot be bound fails Listen and releases the hook
// and metrics listeners it had bound, so a retry can bind them again.
func TestListenPeerFailureReleasesListeners(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	o, _, _, _ := haOptions(t)
	o.PeerListener.Close()
	o.PeerListener = nil
	o.Config.HA.PeerListen = taken.Addr().String()
	o.Config.Agent.MetricsListen = "127.0.0.1:0"
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	err = a.Listen()
	if err == nil || !strings.Contains(err.Error(), "ha.peer_listen "+taken.Addr().String()) {
		t.Fatalf("Listen with the peer address taken: %v", err)
	}
	for name, addr := range map[string]string{"hook": a.HookAddr(), "metrics": a.MetricsAddr()} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s listener %s still bound after the failed Listen: %v", name, addr, err)
			continue
		}
		ln.Close()
	}
}

// The peer server bounds slow or hostile peers as the hook server does,
// with a longer idle time for the leader's keep-alive forwards.
func TestPeerServerLimits(t *testing.T) {
	o, _, _, _ := haOptions(t)
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	defer a.hookLn.Close()
	defer a.replica.peerLn.Close()
	p := a.replica.peer
	if p.MaxHeaderBytes != 16<<10 || p.ReadHeaderTimeout != 5*time.Second || p.ReadTimeout != 10*time.Second ||
		p.WriteTimeout != 10*time.Second || p.IdleTimeout != 2*time.Minute {
		t.Errorf("peer server limits: %d bytes, %v %v %v %v", p.MaxHeaderBytes, p.ReadHeaderTimeout, p.ReadTimeout, p.WriteTimeout, p.IdleTimeout)
	}
}

// failingBackend is an election whose every campaign fails at once.
type failingBackend struct {
	stubBackend
	campaigns atomic.Int64
}

func (b *failingBackend) Campaign(context.Context) (*ha.Term, error) {
	b.campaigns.Add(1)
	return nil, errors.New("etcd unreachable")
}

// A failing election is retried once a second, logged each time, never in
// a hot loop that would flood the log and the election's server.
func TestFailingElectionRetriedEverySecond(t *testing.T) {
	o, _, _, logs := haOptions(t)
	b := &failingBackend{}
	o.Backend = b
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitUntil(t, 5*time.Second, "a second campaign", func() bool { return b.campaigns.Load() >= 2 })
	n := b.campaigns.Load()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	// Two campaigns are a second apart: a hot loop makes thousands by then.
	if n > 3 {
		t.Errorf("%d campaigns by the second retry: the failing election is retried in a loop", n)
	}
	if !logs.has("ERROR leader election failed; trying again", "etcd unreachable") {
		t.Error("the failed campaign was not logged")
	}
}
