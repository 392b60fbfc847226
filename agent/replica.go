package agent

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	etcdha "github.com/srs-owt-proxy/srs-owt-proxy/ha/etcd"
	kubeha "github.com/srs-owt-proxy/srs-owt-proxy/ha/kube"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// PeerHookPath is where a leader takes the hooks its followers forward.
const PeerHookPath = "/peer/v1/hook"

// Forwarding bounds: a follower never waits on the leader, and a lost
// forward is repaired by the leader's next SRS reading.
const (
	forwardQueue   = 1024
	forwardWorkers = 4
	forwardTimeout = 2 * time.Second
	peerBodyLimit  = 64 << 10
)

// peerHook is the body of a forwarded hook: the SRS hook as the follower
// admitted it, with only the query parameters the agent stores (never the
// publish token), and the server its hook URL named.
type peerHook struct {
	Hook   srsapi.Hook `json:"hook"`
	Server string      `json:"server,omitempty"`
	From   string      `json:"from"`
}

// replica is the high-availability side of an agent: the election, the
// leader's engine of the current term, the forwarding of hooks from a
// follower to the leader, and the peer endpoint a leader serves.
type replica struct {
	a        *Agent
	mu       sync.Mutex
	backend  ha.Backend // set by start; read through election()
	identity string
	peerURL  string
	token    string
	log      *slog.Logger

	leading atomic.Bool
	fwd     chan srsapi.Hook
	client  *http.Client
	peer    *http.Server
	peerLn  net.Listener

	leader      prometheus.Gauge
	transitions *prometheus.CounterVec
	forwards    *prometheus.CounterVec
}

// Role implements status.RoleSource.
func (r *replica) Role() (role, leader, identity string) {
	role = "follower"
	if r.leading.Load() {
		role = "leader"
	}
	if b := r.election(); b != nil {
		leader = b.Leader().Identity
	}
	return role, leader, r.identity
}

// election is the backend once start opened it, else nil.
func (r *replica) election() ha.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.backend
}

func (a *Agent) newReplica(identity string) *replica {
	r := &replica{a: a, identity: identity, token: a.opts.Config.HA.PeerToken, log: a.log.With("identity", identity),
		fwd:    make(chan srsapi.Hook, forwardQueue),
		client: &http.Client{Timeout: forwardTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: forwardWorkers, IdleConnTimeout: time.Minute}},
		leader: newLeaderGauge(a.reg, identity),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_leadership_transitions_total",
			Help: "Leadership changes of this replica, by the role it moved to (leader, follower)."}, []string{"to"}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_peer_forwards_total",
			Help: "Hooks a follower forwarded to the leader, by result (ok, error, dropped, no_leader)."}, []string{"result"}),
	}
	a.reg.MustRegister(r.transitions, r.forwards)
	for _, to := range []string{"leader", "follower"} {
		r.transitions.WithLabelValues(to)
	}
	for _, res := range []string{"ok", "error", "dropped", "no_leader"} {
		r.forwards.WithLabelValues(res)
	}
	return r
}

// OnHook answers a hook: the leader's engine when this replica leads;
// else the policy alone, and an accepted publish or unpublish is forwarded
// to the leader without waiting.
func (r *replica) OnHook(ctx context.Context, h srsapi.Hook) error {
	if e := r.a.Engine(); e != nil {
		return e.OnHook(ctx, h)
	}
	if h.Action != srsapi.ActionOnPublish && h.Action != srsapi.ActionOnUnpublish {
		return nil
	}
	p := r.a.currentPolicy()
	if rej, why := reconcile.Admit(p, r.a.servers, h); rej != nil {
		r.log.Info("publish refused by policy", "stream", h.Key().String(), "reason", why)
		return rej
	}
	h.Param = p.StoredParam(h.Param)
	select {
	case r.fwd <- h:
	default:
		r.forwards.WithLabelValues("dropped").Inc()
	}
	return nil
}

// forward sends queued hooks to the leader until ctx ends.
func (r *replica) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-r.fwd:
			r.send(ctx, h)
		}
	}
}

func (r *replica) send(ctx context.Context, h srsapi.Hook) {
	var l ha.Leader
	if b := r.election(); b != nil {
		l = b.Leader()
	}
	if l.Peer == "" || l.Identity == r.identity {
		// No leader known, or this replica between its terms: the leader's
		// next SRS reading finds the stream.
		r.forwards.WithLabelValues("no_leader").Inc()
		return
	}
	body, _ := json.Marshal(peerHook{Hook: h, Server: h.Server, From: r.identity})
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.Peer+PeerHookPath, bytes.NewReader(body))
	if err != nil {
		r.forwards.WithLabelValues("error").Inc()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			err = fmt.Errorf("answered %s", resp.Status)
		}
	}
	if err != nil {
		r.forwards.WithLabelValues("error").Inc()
		r.log.Warn("hook not forwarded to the leader; its next SRS reading will find the stream", "leader", l.Identity,
			"peer", l.Peer, "action", h.Action, "stream", h.Key().String(), "err", err)
		return
	}
	r.forwards.WithLabelValues("ok").Inc()
}

// peerHandler takes forwarded hooks on the leader.
func (r *replica) peerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PeerHookPath, func(w http.ResponseWriter, req *http.Request) {
		got := []byte(req.Header.Get("Authorization"))
		want := []byte("Bearer " + r.token)
		if subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, "unauthorized: forwarded hooks need the peer token (ha.peer_token_env)", http.StatusUnauthorized)
			return
		}
		var ph peerHook
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, peerBodyLimit))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ph); err != nil {
			http.Error(w, "bad forwarded hook: "+err.Error(), http.StatusBadRequest)
			return
		}
		if ph.Hook.Action != srsapi.ActionOnPublish && ph.Hook.Action != srsapi.ActionOnUnpublish {
			http.Error(w, "bad forwarded hook: only on_publish and on_unpublish are forwarded", http.StatusBadRequest)
			return
		}
		e := r.a.Engine()
		if e == nil {
			http.Error(w, "not the leader", http.StatusServiceUnavailable)
			return
		}
		ph.Hook.Server = ph.Server
		// The follower already answered SRS; a rejection here (a deny
		// route of a newer policy) only means nothing is done.
		_ = e.OnForwardedHook(req.Context(), ph.Hook)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// listenPeer binds ha.peer_listen (unless a listener was given).
func (r *replica) listenPeer() error {
	if r.peerLn = r.a.opts.PeerListener; r.peerLn == nil {
		ln, err := net.Listen("tcp", r.a.opts.Config.HA.PeerListen)
		if err != nil {
			return fmt.Errorf("ha.peer_listen %s: %w", r.a.opts.Config.HA.PeerListen, err)
		}
		r.peerLn = ln
	}
	r.peer = &http.Server{Handler: r.peerHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)}
	host, _ := os.Hostname()
	r.peerURL = r.a.opts.Config.HA.PeerURL(r.a.getenv("POD_IP"), host, r.peerLn.Addr().(*net.TCPAddr).Port)
	return nil
}

// lead campaigns, leads for as long as the term lasts, and campaigns
// again, until ctx ends. Each term gets its own journal (loaded from the
// store), engine and abort signal; the hook server keeps answering all
// along.
func (r *replica) lead(ctx context.Context) {
	for ctx.Err() == nil {
		term, err := r.backend.Campaign(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("leader election failed; trying again", "backend", r.backend.String(), "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		r.serveTerm(ctx, term)
	}
}

func (r *replica) serveTerm(ctx context.Context, term *ha.Term) {
	r.log.Info("leadership gained: loading the store, resolving intents, then reconciling", "backend", r.backend.String())
	lctx, cancel := context.WithTimeout(term.Ctx, 30*time.Second)
	j, err := reconcile.OpenJournal(lctx, term.Store, r.a.opts.Config.Agent.ID)
	cancel()
	if err != nil {
		r.log.Error("leadership gained but the store cannot be read; resigning so another replica can lead",
			"store", term.Store.String(), "err", err)
		_ = r.backend.Resign(ctx)
		sleep(ctx, time.Second)
		return
	}
	e := r.a.newEngine(j, term)
	r.leading.Store(true)
	r.leader.Set(1)
	r.transitions.WithLabelValues("leader").Inc()
	r.a.cur.Store(e)
	// The engine stops at the end of the term (its operations dropped at
	// once) or at shutdown (its operations finish).
	runCtx, stop := context.WithCancel(ctx)
	go func() {
		select {
		case <-term.Ctx.Done():
			stop()
		case <-runCtx.Done():
		}
	}()
	err = e.Run(runCtx)
	stop() // Equivalent mutant if deleted: Engine.Run returns only once runCtx is done; kept so the watcher above never outlives the term's engine.
	r.a.cur.Store(nil)
	r.leading.Store(false)
	r.leader.Set(0)
	r.transitions.WithLabelValues("follower").Inc()
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if cerr := j.Close(cctx); cerr != nil && !errors.Is(cerr, ha.ErrFenced) {
		err = errors.Join(err, cerr)
	}
	ccancel()
	if ctx.Err() != nil {
		// Shutdown: hand over at once rather than after the lease.
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.backend.Resign(rctx)
		rcancel()
		r.log.Info("leadership handed over at shutdown")
		return
	}
	r.log.Warn("leadership lost: operations in flight dropped; now a follower (hooks are still answered and forwarded)",
		"leader", r.backend.Leader().Identity, "err", err)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// newLeaderGauge registers srs_owt_proxy_leader for this replica's
// identity, at 0.
func newLeaderGauge(reg prometheus.Registerer, identity string) prometheus.Gauge {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "srs_owt_proxy_leader",
		Help: "1 while this replica is the leader (the only one writing to OWT and the store), 0 while it follows."}, []string{"identity"})
	reg.MustRegister(g)
	return g.WithLabelValues(identity)
}

// start opens the election and serves the peer endpoint and the
// forwarding workers until ctx ends.
func (r *replica) start(ctx context.Context, wg *sync.WaitGroup, errc chan<- error) error {
	b := r.a.opts.Backend
	if b == nil {
		var err error
		if b, err = newBackend(r.a.opts.Config.HA, r.identity, r.peerURL, r.log); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.backend = b
	r.mu.Unlock()
	r.log.Info("high availability: campaigning for the leadership", "backend", r.backend.String(), "peer", r.peerURL)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.peer.Serve(r.peerLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("peer server: %w", err)
		}
	}()
	for i := 0; i < forwardWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.forward(ctx)
		}()
	}
	return nil
}

// stop closes the peer endpoint and the election (after lead returned).
func (r *replica) stop(ctx context.Context) {
	_ = r.peer.Shutdown(ctx)
	if b := r.election(); b != nil {
		if err := b.Close(); err != nil {
			r.log.Warn("closing the election", "backend", b.String(), "err", err)
		}
	}
	r.client.CloseIdleConnections()
}

// newBackend opens the election ha.mode names.
func newBackend(cfg policy.HA, identity, peer string, log *slog.Logger) (ha.Backend, error) {
	switch cfg.Mode {
	case policy.HAModeEtcd:
		return etcdha.New(etcdha.Config{Endpoints: cfg.Etcd.Endpoints, Prefix: cfg.Etcd.Prefix, SessionTTL: cfg.Etcd.SessionTTL,
			CAFile: cfg.Etcd.CAFile, CertFile: cfg.Etcd.CertFile, KeyFile: cfg.Etcd.KeyFile, Identity: identity, Peer: peer, Log: log})
	case policy.HAModeKubernetes:
		return kubeha.New(kubeha.Config{Namespace: cfg.Kubernetes.Namespace, Lease: cfg.Kubernetes.Lease, ConfigMap: cfg.Kubernetes.ConfigMap,
			LeaseDuration: cfg.Kubernetes.LeaseDuration, RenewDeadline: cfg.Kubernetes.RenewDeadline, RetryPeriod: cfg.Kubernetes.RetryPeriod,
			Kubeconfig: cfg.Kubernetes.Kubeconfig, Identity: identity, Peer: peer, Log: log})
	}
	return nil, fmt.Errorf("ha.mode %q: no such election backend in this build", cfg.Mode)
}
