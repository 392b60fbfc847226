package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/version"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/status"
)

// Options configure an Agent.
type Options struct {
	Config *policy.Agent
	Policy *policy.Policy
	// PolicyFile is watched for hot reload ("" = no watching, e.g. inline policy).
	PolicyFile string
	Log        *slog.Logger
	Getenv     func(string) string
	// HookListener and MetricsListener, when set, are used instead of
	// listening on the configured addresses (tests, port 0).
	HookListener, MetricsListener net.Listener
	// ShutdownTimeout bounds the graceful shutdown. Default 30s.
	ShutdownTimeout time.Duration
	// Engine overrides (tests, demo, bench).
	EngineTweak func(*reconcile.Config)
	// Roles says which role this process plays for the status page
	// (default status.Single: the only writer; with ha.mode, the election).
	Roles status.RoleSource
	// PeerListener, when set, is used instead of listening on ha.peer_listen.
	PeerListener net.Listener
	// Backend, when set, is the election instead of the one ha.mode names
	// (tests).
	Backend ha.Backend
	// Identity names this replica (default ha.Identity: POD_NAME or the
	// host name, plus a random suffix).
	Identity string
}

// Agent is the running srs-owt-proxy.
type Agent struct {
	opts   Options
	log    *slog.Logger
	reg    *prometheus.Registry
	getenv func(string) string
	// cur is the engine: the only one without high availability, the one
	// of the current leadership term with it (nil while following).
	cur      atomic.Pointer[reconcile.Engine]
	rmetrics *reconcile.Metrics
	servers  []reconcile.SRSServer
	owt      reconcile.OWT
	replica  *replica
	serving  atomic.Bool
	watcher  *policy.Watcher
	hooks    *http.Server
	metrics  *http.Server
	hookLn   net.Listener
	metricLn net.Listener
	reloads  *prometheus.CounterVec
	reloadOK prometheus.Gauge
	hookCnt  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	journal  *reconcile.Journal
	mu       sync.Mutex
	policy   *policy.Policy
	roles    status.RoleSource
	pstat    policyState
}

// New builds the agent: clients, state, engine and servers. Nothing runs
// until Run.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	cfg := o.Config
	a := &Agent{opts: o, log: o.Log, reg: prometheus.NewRegistry(), policy: o.Policy, roles: o.Roles, getenv: o.Getenv}
	a.pstat.loaded(o.Policy, time.Now(), false)
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), version.Get().Collector())
	reqs := NewRequestMetrics(a.reg)
	identity := o.Identity
	if identity == "" {
		identity = defaultIdentity()
		if cfg.HA.Enabled() {
			identity = ha.Identity(o.Getenv)
		}
	}
	servers, owt, err := Clients(cfg, reqs, fmt.Sprintf("srs-owt-proxy/%s (%s)", version.Get().Version, identity))
	if err != nil {
		return nil, err
	}
	a.servers, a.owt, a.rmetrics = servers, RateLimit(owt, cfg.OWT.RateLimit), reconcile.NewMetrics(a.reg)
	var receiver srsapi.HookReceiver
	if cfg.HA.Enabled() {
		// The store and the engine come with each leadership term.
		a.replica = a.newReplica(identity)
		receiver = a.replica
		if a.roles == nil {
			a.roles = a.replica
		}
	} else {
		j, err := OpenJournal(cfg, true)
		if err != nil {
			return nil, err
		}
		a.journal = j
		e := a.newEngine(j, nil)
		a.cur.Store(e)
		receiver = e
		if a.roles == nil {
			a.roles = status.Single{Identity: identity}
		}
		newLeaderGauge(a.reg, identity).Set(1) // the only writer: always the leader
	}

	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_policy_reloads_total",
		Help: "Policy reloads by result (ok, error)."}, []string{"result"})
	a.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_policy_last_reload_successful",
		Help: "1 if the last policy reload succeeded."})
	a.hookCnt = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_hooks_total",
		Help: "SRS hooks by action and answer."}, []string{"action", "answer"})
	a.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_hook_connections_refused_total",
		Help: "Hook connections closed at accept, by reason (max_conns, max_conns_per_source)."}, []string{"reason"})
	a.reg.MustRegister(a.reloads, a.reloadOK, a.hookCnt, a.refused)
	a.initCounters()
	a.reloadOK.Set(1)

	var allow []netip.Prefix
	for _, c := range cfg.Hooks.Allow {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			_ = a.Close()
			return nil, fmt.Errorf("hooks.allow: %q is not a CIDR: %w", c, err)
		}
		allow = append(allow, p)
	}
	hh := srsapi.NewHookHandler(srsapi.HookHandlerConfig{Receiver: receiver, Token: cfg.Hooks.Token, Allow: allow, Logger: o.Log,
		Observe: func(action, answer string) { a.hookCnt.WithLabelValues(action, answer).Inc() }})
	a.hooks = &http.Server{Handler: hh, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn)}
	a.metrics = &http.Server{Handler: a.metricsMux(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	if o.PolicyFile != "" {
		a.watcher = policy.NewWatcher(o.PolicyFile, policy.DefaultDebounce, o.Getenv, o.Log)
		a.watcher.SetCheckInterval(cfg.Agent.PolicyReloadCheck)
		a.watcher.Seed(o.Policy)
	}
	return a, nil
}

// newEngine builds the engine over journal j; with a leadership term, its
// OWT writes are fenced to the term and its operations dropped when the
// term ends.
func (a *Agent) newEngine(j *reconcile.Journal, term *ha.Term) *reconcile.Engine {
	cfg := a.opts.Config
	ec := reconcile.Config{Agent: cfg.Agent.ID, Servers: a.servers, OWT: a.owt, Journal: j, Policy: a.currentPolicy(),
		Log: a.log, Metrics: a.rmetrics, PendingHold: cfg.OWT.PendingHold, HintTTL: cfg.Hooks.HintTTL}
	if term != nil {
		ec.OWT = Fence(a.owt, term.Fence)
		ec.Abort = term.Ctx.Done()
	}
	if a.opts.EngineTweak != nil {
		a.opts.EngineTweak(&ec)
	}
	return reconcile.NewEngine(ec)
}

func (a *Agent) currentPolicy() *policy.Policy {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.policy
}

// Close releases the ownership journal (and its single-writer lock) of an
// agent that will not Run; Run releases it itself.
func (a *Agent) Close() error {
	if a.journal == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.journal.Close(ctx)
	a.journal = nil
	return err
}

// Engine returns the agent's engine: with high availability, the engine
// of the current leadership term, nil while this replica follows.
func (a *Agent) Engine() *reconcile.Engine { return a.cur.Load() }

// Registry returns the agent's metrics registry.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// HookAddr and MetricsAddr are the bound addresses (after Listen).
func (a *Agent) HookAddr() string { return a.hookLn.Addr().String() }

// MetricsAddr is the bound address of /metrics, /healthz and /readyz.
func (a *Agent) MetricsAddr() string { return a.metricLn.Addr().String() }

func (a *Agent) metricsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if why := a.stuck(time.Now()); why != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unhealthy: " + why + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if why := a.notReady(); why != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + why + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	sh := status.Handler(a.Status)
	mux.Handle("GET /status", sh)
	mux.Handle("GET /status/", sh)
	if a.opts.Config.Agent.PProf {
		mountPProf(mux)
	}
	return mux
}

// Listen binds the hook and metrics addresses (unless listeners were given).
func (a *Agent) Listen() error {
	var err error
	if a.hookLn = a.opts.HookListener; a.hookLn == nil {
		if a.hookLn, err = net.Listen("tcp", a.opts.Config.Hooks.Listen); err != nil {
			return fmt.Errorf("hooks.listen %s: %w", a.opts.Config.Hooks.Listen, err)
		}
	}
	// Slow or hostile clients hold connections, bounded per source and in
	// total, never hook slots (the handler reads the body before taking one).
	a.hookLn = srsapi.LimitListener(a.hookLn, srsapi.ListenerLimits{
		OnRefuse: func(reason string) { a.refused.WithLabelValues(reason).Inc() }})
	if a.metricLn = a.opts.MetricsListener; a.metricLn == nil && a.opts.Config.Agent.MetricsListen != "" {
		if a.metricLn, err = net.Listen("tcp", a.opts.Config.Agent.MetricsListen); err != nil {
			a.hookLn.Close()
			return fmt.Errorf("agent.metrics_listen %s: %w", a.opts.Config.Agent.MetricsListen, err)
		}
	}
	if a.replica != nil {
		if err := a.replica.listenPeer(); err != nil {
			a.hookLn.Close()
			if a.metricLn != nil {
				a.metricLn.Close()
			}
			return err
		}
	}
	return nil
}

// Reload re-reads the policy file now and resyncs (SIGHUP).
func (a *Agent) Reload() {
	if a.watcher != nil {
		a.watcher.Reload()
	}
	if e := a.Engine(); e != nil {
		e.Resync()
	}
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// taking hooks, lets in-flight operations finish, and saves the state.
func (a *Agent) Run(ctx context.Context) error {
	if a.hookLn == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	a.log.Info("srs-owt-proxy running", "hooks", a.HookAddr(), "agent_id", a.opts.Config.Agent.ID,
		"owt", a.opts.Config.OWT.URL, "policy", a.opts.Policy.Summary(), "ha", a.opts.Config.HA.Mode)
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	serve := func(name string, s *http.Server, ln net.Listener) {
		defer wg.Done()
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s server: %w", name, err)
		}
	}
	wg.Add(1)
	go serve("hook", a.hooks, a.hookLn)
	// The listener is bound: connections queue until Serve accepts them.
	a.serving.Store(true)
	if a.metricLn != nil {
		wg.Add(1)
		go serve("metrics", a.metrics, a.metricLn)
	}
	engineDone := make(chan error, 1)
	if a.replica != nil {
		if err := a.replica.start(engineCtx, &wg, errc); err != nil {
			_ = a.hooks.Close()
			_ = a.metrics.Close()
			wg.Wait()
			return err
		}
		go func() { a.replica.lead(engineCtx); engineDone <- nil }()
	} else {
		go func() { engineDone <- a.Engine().Run(engineCtx) }()
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if a.watcher != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.watcher.Run(watchCtx, a.onPolicy, a.onPolicyError)
			if err != nil {
				errc <- fmt.Errorf("policy watcher: %w", err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down: no more hooks, finishing in-flight operations")
	sctx, cancel := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
	defer cancel()
	_ = a.hooks.Shutdown(sctx)
	stopWatch()
	stopEngine()
	select {
	case err := <-engineDone:
		if err != nil && runErr == nil {
			runErr = err
		}
	case <-sctx.Done():
		a.log.Error("shutdown timed out with operations in flight", "timeout", a.opts.ShutdownTimeout)
		runErr = errors.Join(runErr, errors.New("shutdown timed out"))
	}
	if a.replica != nil {
		a.replica.stop(sctx)
	}
	_ = a.metrics.Shutdown(sctx)
	wg.Wait()
	if err := a.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	a.log.Info("stopped")
	return runErr
}

func (a *Agent) onPolicy(p *policy.Policy) {
	a.mu.Lock()
	a.policy = p
	a.mu.Unlock()
	a.reloads.WithLabelValues("ok").Inc()
	a.reloadOK.Set(1)
	a.pstat.loaded(p, time.Now(), true)
	a.log.Info("policy reloaded; resyncing", "file", a.opts.PolicyFile, "policy", p.Summary())
	if e := a.Engine(); e != nil {
		e.SetPolicy(p)
	}
}

func (a *Agent) onPolicyError(err error) {
	// Logged first: whoever sees the counter move finds the reason logged.
	a.log.Error("policy reload failed; keeping the previous policy", "file", a.opts.PolicyFile, "err", err)
	a.reloads.WithLabelValues("error").Inc()
	a.reloadOK.Set(0)
	a.pstat.failed(err, time.Now())
}
