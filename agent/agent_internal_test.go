package agent

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// recLog records log messages with their attributes.
type recLog struct {
	mu   sync.Mutex
	recs []string
}

func (l *recLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recLog) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.Key + "=" + a.Value.String(); return true })
	l.mu.Lock()
	l.recs = append(l.recs, s)
	l.mu.Unlock()
	return nil
}
func (l *recLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recLog) WithGroup(string) slog.Handler      { return l }
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

type agentSetup struct {
	a          *Agent
	lab        *lab.Lab
	policyFile string
	cfg        *policy.Agent
	logs       *recLog
}

// setupAgent builds an agent against the lab; edit may change its options
// (the hook listener is the lab's unless edit clears it).
func setupAgent(t *testing.T, edit func(o *Options)) *agentSetup {
	t.Helper()
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	pf := filepath.Join(dir, "policy.yaml")
	af := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(pf, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(af, []byte(l.AgentYAML(hookLn.Addr().String(), "127.0.0.1:0", filepath.Join(dir, "state.json"), pf)), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	cfg, err := policy.LoadAgent(af, getenv)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.LoadPolicy(pf, getenv)
	if err != nil {
		t.Fatal(err)
	}
	logs := &recLog{}
	o := Options{Config: cfg, Policy: pol, PolicyFile: pf, Getenv: getenv, HookListener: hookLn, Log: slog.New(logs)}
	if edit != nil {
		edit(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return &agentSetup{a: a, lab: l, policyFile: pf, cfg: cfg, logs: logs}
}

// start runs the agent until the test ends and returns its result channel.
func (s *agentSetup) start(t *testing.T) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- s.a.Run(ctx); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return cancel, done
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewAgent(t *testing.T) {
	s := setupAgent(t, nil)
	if got := testutil.ToFloat64(s.a.reloadOK); got != 1 {
		t.Errorf("policy_last_reload_successful = %v before any reload, want 1", got)
	}
	// The hook server is bounded against slow or large requests.
	h := s.a.hooks
	if h.MaxHeaderBytes != 16<<10 || h.ReadHeaderTimeout != 5*time.Second || h.ReadTimeout != 10*time.Second ||
		h.WriteTimeout != 10*time.Second || h.IdleTimeout != 60*time.Second {
		t.Errorf("hook server limits: %d bytes, %v %v %v %v", h.MaxHeaderBytes, h.ReadHeaderTimeout, h.ReadTimeout, h.WriteTimeout, h.IdleTimeout)
	}
	if s.a.Engine() == nil || s.a.Registry() == nil {
		t.Error("engine or registry missing")
	}
	// Close releases the state file's lock; a second Close is harmless.
	if err := s.a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	j, err := OpenJournal(s.cfg, true)
	if err != nil {
		t.Fatalf("state file still locked after Close: %v", err)
	}
	_ = j.Close(context.Background())
}

func TestNewAgentBadAllow(t *testing.T) {
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer hookLn.Close()
	cfg := &policy.Agent{}
	cfg.Agent.ID = "a"
	cfg.OWT.URL, cfg.OWT.ServiceID, cfg.OWT.ServiceKey = l.OWTURL, lab.ServiceID, lab.ServiceKey
	cfg.Agent.StateFile = filepath.Join(t.TempDir(), "state.json")
	cfg.Hooks.Allow = []string{"10.0.0.0/8", "nonsense"}
	if _, err := New(Options{Config: cfg}); err == nil || !strings.Contains(err.Error(), `hooks.allow: "nonsense"`) {
		t.Fatalf("New = %v, want the bad CIDR named", err)
	}
	// The journal opened before the error was released.
	j, err := OpenJournal(cfg, true)
	if err != nil {
		t.Fatalf("state file still locked after a failed New: %v", err)
	}
	_ = j.Close(context.Background())
}

// Without a metrics address or a policy file the agent runs with neither
// server nor watcher.
func TestAgentRunsBare(t *testing.T) {
	s := setupAgent(t, func(o *Options) {
		o.PolicyFile = ""
		o.Config.Agent.MetricsListen = ""
	})
	cancel, done := s.start(t)
	waitFor(t, "ready", func() bool { ok, _ := s.a.Engine().Ready(); return ok })
	if s.a.metricLn != nil {
		t.Error("metrics listener bound without an address")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// Listen binds the configured addresses when no listeners are given.
func TestAgentListen(t *testing.T) {
	s := setupAgent(t, func(o *Options) {
		o.HookListener.Close()
		o.HookListener = nil
		o.Config.Hooks.Listen = "127.0.0.1:0"
	})
	if err := s.a.Listen(); err != nil {
		t.Fatal(err)
	}
	defer s.a.hookLn.Close()
	defer s.a.metricLn.Close()
	for _, addr := range []string{s.a.HookAddr(), s.a.MetricsAddr()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("%s not bound: %v", addr, err)
			continue
		}
		c.Close()
	}
	if s.a.HookAddr() == s.a.MetricsAddr() {
		t.Error("hook and metrics on one address")
	}
}

// A policy file edit is loaded, counted and logged, and the engine
// resyncs; a broken edit keeps the old policy and says so; SIGHUP resyncs.
func TestAgentPolicyReload(t *testing.T) {
	s := setupAgent(t, nil)
	s.start(t)
	resyncs := func() float64 {
		mfs, _ := s.a.Registry().Gather()
		for _, mf := range mfs {
			if mf.GetName() == "srs_owt_proxy_resyncs_total" {
				n := 0.0
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
				return n
			}
		}
		return 0
	}
	waitFor(t, "first resync", func() bool { return resyncs() == 1 })
	s.a.Reload()
	waitFor(t, "resync on SIGHUP", func() bool { return resyncs() == 2 })

	edited := strings.Replace(testPolicy, "delete_grace: 1s", "delete_grace: 2s", 1)
	if err := os.WriteFile(s.policyFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", func() bool { return testutil.ToFloat64(s.a.reloads.WithLabelValues("ok")) == 1 })
	waitFor(t, "resync after the reload", func() bool { return resyncs() >= 3 })
	if !s.logs.has("INFO policy reloaded; resyncing", "file="+s.policyFile) {
		t.Error("reload not logged")
	}
	s.a.mu.Lock()
	grace := s.a.policy.Reconcile.DeleteGrace
	s.a.mu.Unlock()
	if grace != 2*time.Second {
		t.Errorf("agent policy grace %v, want the edited 2s", grace)
	}

	if err := os.WriteFile(s.policyFile, []byte("routes: [nonsense"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed reload", func() bool { return testutil.ToFloat64(s.a.reloads.WithLabelValues("error")) == 1 })
	if got := testutil.ToFloat64(s.a.reloadOK); got != 0 {
		t.Errorf("policy_last_reload_successful = %v after a failed reload", got)
	}
	if !s.logs.has("ERROR policy reload failed; keeping the previous policy", "file="+s.policyFile) {
		t.Error("failed reload not logged")
	}
	// One line per failure.
	s.logs.mu.Lock()
	errs := 0
	for _, r := range s.logs.recs {
		if strings.HasPrefix(r, "ERROR") && strings.Contains(r, "nonsense") || strings.HasPrefix(r, "ERROR policy") {
			errs++
		}
	}
	s.logs.mu.Unlock()
	if errs != 1 {
		t.Errorf("a failed reload logged %d ERROR lines, want 1", errs)
	}
}

// A policy file that cannot be watched stops the agent with an error.
func TestAgentWatcherFails(t *testing.T) {
	s := setupAgent(t, func(o *Options) {
		o.Config.Agent.MetricsListen = ""
	})
	s.a.watcher = policy.NewWatcher(filepath.Join(t.TempDir(), "gone", "policy.yaml"), 0, nil, nil)
	_, done := s.start(t)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "policy watcher") {
			t.Errorf("Run = %v, want the watcher's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on a watcher error")
	}
}

// Liveness fails only when the reconcile loop has not gone round for five
// intervals plus a grace; a follower (no engine) is always live.
func TestStuckLoop(t *testing.T) {
	s := setupAgent(t, nil)
	a := s.a
	if why := a.stuck(time.Now()); why != "" {
		t.Fatalf("stuck before Run: %s", why)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var last time.Time
	for deadline := time.Now().Add(5 * time.Second); last.IsZero() && time.Now().Before(deadline); {
		last, _ = a.Engine().Heartbeat()
		time.Sleep(5 * time.Millisecond)
	}
	_, interval := a.Engine().Heartbeat()
	limit := 5*interval + stuckGrace
	if why := a.stuck(last.Add(limit)); why != "" {
		t.Fatalf("stuck at exactly the limit: %s", why)
	}
	why := a.stuck(last.Add(limit + time.Second))
	if !strings.Contains(why, "the reconcile loop has not gone round") {
		t.Fatalf("not stuck past the limit: %q", why)
	}
	a.cur.Store(nil)
	if why := a.stuck(last.Add(10 * limit)); why != "" {
		t.Fatalf("a follower is stuck: %s", why)
	}
}

// A listener that fails under its server ends Run with that server's
// error instead of leaving the agent running without it.
func TestAgentServerErrorEndsRun(t *testing.T) {
	for _, name := range []string{"hook", "metrics"} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			s := setupAgent(t, func(o *Options) {
				if name == "hook" {
					o.HookListener.Close()
					o.HookListener = ln
				} else {
					o.MetricsListener = ln
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// Without the error, Run goes on until the deadline and returns nil.
			if err := s.a.Run(ctx); err == nil || !strings.Contains(err.Error(), name+" server: ") {
				t.Fatalf("Run = %v (deadline: %v), want the %s server's error", err, ctx.Err(), name)
			}
		})
	}
}
