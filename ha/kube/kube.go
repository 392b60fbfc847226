// Package kube is the ha.Backend on Kubernetes: leader election on a
// coordination.k8s.io/v1 Lease with client-go's leaderelection, and the
// ownership store in a ConfigMap updated with resourceVersion checks.
//
// The Lease's holderIdentity is "<identity>@<peer URL>", so that every
// replica learns from the Lease alone who leads and where to forward hooks.
//
// # Fencing
//
// Kubernetes has no transaction over two objects, so a ConfigMap write
// cannot be conditioned on the Lease the way an etcd write is conditioned
// on the election key. The store fences in three layers instead:
//
//  1. Before each write it checks that this term is not over and that the
//     Lease was renewed by this replica less than renew_deadline ago
//     (measured from when the renewal was sent, on this process's monotonic
//     clock). Another replica may take the Lease only lease_duration after
//     it last saw it change, so a write passing the check reaches the API
//     server with lease_duration - renew_deadline to spare.
//  2. The first Load or Save of a term claims the ConfigMap: it writes the
//     term (holder, Lease uid and transition count) into the annotation
//     TermAnnotation, under a resourceVersion check. A claim of another
//     term is superseded only after a fresh read of the Lease shows that
//     this replica holds it in this very term.
//  3. Every write carries the resourceVersion it read. Once a newer term
//     has claimed the ConfigMap, a write of an older term fails its check
//     (Conflict), the re-read shows the foreign claim, the Lease read shows
//     another holder, and the write is refused as fenced: nothing of the old
//     term reaches the store after the new leader's first read.
//
// So fencing on Kubernetes is as strong as the Lease. The residual window:
// a leader paused right after its check in (1) whose write then lands
// after its lease expired, while the new leader has acquired the Lease but
// not yet made its first read. Such a write is not lost or hidden: the new
// leader's first read (its term starts by loading) sees it, and resolves
// its intent like any other. What the store cannot stop is an OWT call the
// old leader makes after a write that passed; the new leader's intent
// resolution is what repairs that.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
)

// Defaults of Config.
const (
	DefaultLease         = "srs-owt-proxy"
	DefaultConfigMap     = "srs-owt-proxy-state"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// DataKey is the key of the ConfigMap's data that holds the document.
const DataKey = "state.json"

// TermAnnotation is the ConfigMap annotation naming the term that last
// claimed the store.
const TermAnnotation = "srs-owt-proxy.io/term"

// MaxDocument is the largest document the store accepts: the API server
// refuses a ConfigMap whose keys and values add up to more than 1 MiB.
const MaxDocument = 1<<20 - len(DataKey)

// namespaceFile is where a pod finds its namespace.
var namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Config configures New. Zero values take the defaults above.
type Config struct {
	// Namespace of the Lease and the ConfigMap; empty: the pod's own.
	Namespace string
	// Lease and ConfigMap name the objects.
	Lease, ConfigMap string
	// LeaseDuration is how long followers wait after the last renewal
	// they saw before taking the Lease; whole seconds (the Lease stores
	// seconds). RenewDeadline is how long the leader retries renewing
	// before it gives up; RetryPeriod is the pace of tries.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Kubeconfig is a kubeconfig path for running outside the cluster;
	// empty: the in-cluster config of the pod's ServiceAccount.
	Kubeconfig string
	// Identity names this replica (ha.Identity when empty); Peer is the
	// base URL of its peer endpoint. Both are published in the Lease.
	Identity, Peer string
	// Client, when set, is used instead of building one (tests: client-go's
	// fake clientset).
	Client kubernetes.Interface
	// Log receives the election's events; slog.Default when nil.
	Log *slog.Logger
}

// Backend is an ha.Backend on a Kubernetes Lease and ConfigMap.
type Backend struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger
	holder string // the Lease's holderIdentity when this replica leads

	ctx    context.Context // the backend's lifetime; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	campaignMu sync.Mutex // one Campaign at a time

	mu       sync.Mutex
	run      *run // the newest elector run
	gen      int  // elector runs started, so that a slow poll does not overwrite fresher news
	leader   ha.Leader
	closed   bool
	warned   string
	warnedAt time.Time
}

var _ ha.Backend = (*Backend)(nil)

// New checks cfg and builds the client; it starts one goroutine that
// watches who leads while this replica does not campaign (Close stops it).
func New(cfg Config) (*Backend, error) {
	cfg, client, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, client: client, log: cfg.Log, holder: holderOf(cfg.Identity, cfg.Peer)}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(1)
	go b.watch()
	return b, nil
}

// prepare fills in the defaults, checks cfg and builds the client.
func prepare(cfg Config) (Config, kubernetes.Interface, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Lease == "" {
		cfg.Lease = DefaultLease
	}
	if cfg.ConfigMap == "" {
		cfg.ConfigMap = DefaultConfigMap
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	if err := checkDurations(cfg); err != nil {
		return cfg, nil, err
	}
	if cfg.Identity == "" {
		cfg.Identity = ha.Identity(nil)
	}
	if strings.ContainsAny(cfg.Identity, "@ \t\n") {
		return cfg, nil, fmt.Errorf("ha kubernetes: replica identity %q contains '@' or a space; the Lease holds <identity>@<peer URL>: set POD_NAME to the pod's name", cfg.Identity)
	}
	if strings.ContainsAny(cfg.Peer, " \t\n") {
		return cfg, nil, fmt.Errorf("ha kubernetes: peer URL %q contains a space: check ha.advertise (SRS_OWT_HA_ADVERTISE)", cfg.Peer)
	}
	if cfg.Namespace == "" {
		ns, err := os.ReadFile(namespaceFile)
		if err != nil || strings.TrimSpace(string(ns)) == "" {
			return cfg, nil, fmt.Errorf("ha.kubernetes.namespace is empty and the agent does not run in a pod (no %s): set the namespace of the Lease and the ConfigMap", namespaceFile)
		}
		cfg.Namespace = strings.TrimSpace(string(ns))
	}
	client := cfg.Client
	if client == nil {
		rc, err := restConfig(cfg.Kubeconfig)
		if err != nil {
			return cfg, nil, err
		}
		rc.UserAgent = "srs-owt-proxy"
		rc.Timeout = cfg.RenewDeadline
		if client, err = kubernetes.NewForConfig(rc); err != nil {
			return cfg, nil, fmt.Errorf("ha kubernetes: build the API client: %w", err)
		}
	}
	return cfg, client, nil
}

// checkDurations refuses what leaderelection would refuse, in the words
// of agent.yaml.
func checkDurations(cfg Config) error {
	switch {
	case cfg.LeaseDuration < time.Second || cfg.LeaseDuration%time.Second != 0:
		return fmt.Errorf("ha.kubernetes.lease_duration %s: give whole seconds, at least 1s (the Lease stores seconds)", cfg.LeaseDuration)
	case cfg.RenewDeadline <= 0 || cfg.RetryPeriod <= 0:
		return fmt.Errorf("ha.kubernetes: renew_deadline %s and retry_period %s must be positive", cfg.RenewDeadline, cfg.RetryPeriod)
	case cfg.RenewDeadline >= cfg.LeaseDuration:
		return fmt.Errorf("ha.kubernetes.renew_deadline %s must be shorter than lease_duration %s", cfg.RenewDeadline, cfg.LeaseDuration)
	case float64(cfg.RenewDeadline) <= leaderelection.JitterFactor*float64(cfg.RetryPeriod):
		return fmt.Errorf("ha.kubernetes.renew_deadline %s must exceed %.1f × retry_period %s", cfg.RenewDeadline, leaderelection.JitterFactor, cfg.RetryPeriod)
	}
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("ha kubernetes: no in-cluster config (%v): run the agent in a pod with a ServiceAccount, or set ha.kubernetes.kubeconfig", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("ha.kubernetes.kubeconfig %s: %w", kubeconfig, err)
	}
	return rc, nil
}

// holderOf is the Lease's holderIdentity of a replica.
func holderOf(identity, peer string) string {
	if peer == "" {
		return identity
	}
	return identity + "@" + peer
}

// parseHolder reads a holderIdentity back: the identity before the first
// '@' (identities have none), the peer URL after it.
func parseHolder(s string) ha.Leader {
	id, peer, _ := strings.Cut(s, "@")
	return ha.Leader{Identity: id, Peer: peer}
}

// String names the engine and the objects, for logs.
func (b *Backend) String() string {
	return fmt.Sprintf("kubernetes lease %s/%s, configmap %s/%s", b.cfg.Namespace, b.cfg.Lease, b.cfg.Namespace, b.cfg.ConfigMap)
}

// Leader is the holder of the Lease as last observed (a zero Leader when
// nobody holds it, or before the first observation). The holder may be
// past its lease; forwarding to it is best effort.
func (b *Backend) Leader() ha.Leader {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leader
}

func (b *Backend) observe(holder string, gen int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen == b.gen {
		b.leader = parseHolder(holder)
	}
}

// watch reads the Lease every retry period while no elector of this
// replica runs (an elector observes the Lease itself).
func (b *Backend) watch() {
	defer b.wg.Done()
	tick := time.NewTicker(b.cfg.RetryPeriod)
	defer tick.Stop()
	for {
		b.mu.Lock()
		gen, idle := b.gen, b.run == nil || b.run.finished()
		b.mu.Unlock()
		if idle {
			b.poll(gen)
		}
		select {
		case <-b.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (b *Backend) poll(gen int) {
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RenewDeadline)
	defer cancel()
	l, err := b.client.CoordinationV1().Leases(b.cfg.Namespace).Get(ctx, b.cfg.Lease, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		b.observe("", gen)
	case err != nil:
		b.warn(err, "read")
	case l.Spec.HolderIdentity != nil:
		b.observe(*l.Spec.HolderIdentity, gen)
	default:
		b.observe("", gen)
	}
}

// warn logs an API error on the Lease with what the operator can do, at
// most once a minute for the same error.
func (b *Backend) warn(err error, verb string) {
	msg := err.Error()
	b.mu.Lock()
	if msg == b.warned && time.Since(b.warnedAt) < time.Minute {
		b.mu.Unlock()
		return
	}
	b.warned, b.warnedAt = msg, time.Now()
	b.mu.Unlock()
	b.log.Warn("ha: cannot "+verb+" the Lease", "lease", b.cfg.Namespace+"/"+b.cfg.Lease, "err", err,
		"hint", hint(err, "leases.coordination.k8s.io", b.cfg.Namespace, b.cfg.Lease, b.cfg.RenewDeadline))
}

// hint says what an operator can do about an API error.
func hint(err error, resource, ns, name string, timeout time.Duration) string {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("the agent's ServiceAccount may not do this: grant get, create and update on %s %q in namespace %q (Role of examples/kubernetes/ha)", resource, name, ns)
	case apierrors.IsUnauthorized(err):
		return "the API server rejected the agent's credentials: check the ServiceAccount token (automountServiceAccountToken) or the kubeconfig"
	case apierrors.IsRequestEntityTooLargeError(err), apierrors.IsInvalid(err):
		return fmt.Sprintf("the API server refused the object (a ConfigMap holds at most 1 MiB); the agent writes at most %d bytes", MaxDocument)
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("the API server did not answer within %s (renew_deadline): check its health and the pod's network path to it", timeout)
	}
	return "check that the API server is reachable from the pod and the agent's RBAC (examples/kubernetes/ha)"
}

// run is one elector run: a campaign and, once won, one term.
type run struct {
	b      *Backend
	gen    int
	cancel context.CancelFunc // stops the elector; ReleaseOnCancel releases the Lease
	done   chan struct{}      // closed when the elector has returned

	mu        sync.Mutex
	lastRenew time.Time // when the last successful write of our record was sent
	leaseUID  string
	trans     int32
	term      *term
}

func (r *run) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// seen records a Lease read or written by the elector; sent is when a
// write was sent (zero for a read).
func (r *run) seen(l *coordinationv1.Lease, sent time.Time) {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	r.b.observe(holder, r.gen)
	r.mu.Lock()
	defer r.mu.Unlock()
	if holder == r.b.holder {
		if !sent.IsZero() {
			r.lastRenew = sent
			r.leaseUID = string(l.UID)
			if l.Spec.LeaseTransitions != nil {
				r.trans = *l.Spec.LeaseTransitions
			}
		}
		return
	}
	if r.term != nil && r.term.ctx.Err() == nil {
		r.b.log.Warn("ha: lost the lease", "lease", r.b.cfg.Namespace+"/"+r.b.cfg.Lease, "holder", holder)
		r.lose()
	}
}

// lose ends the term at once and stops the elector. Called with r.mu held.
func (r *run) lose() {
	if r.term != nil {
		r.term.cancel()
	}
	r.cancel()
}

// term is one won election.
type term struct {
	ctx    context.Context
	cancel context.CancelFunc
	claim  string // the value of TermAnnotation this term writes
	uid    string // the Lease's uid and transition count when the term began
	trans  int32
}

// holds says whether this run's term may write now: the term is not over
// and the Lease was renewed less than renew_deadline ago.
func (r *run) holds(t *term) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.ctx.Err() != nil {
		return fmt.Errorf("%w (lease %s/%s: this replica's term is over)", ha.ErrFenced, r.b.cfg.Namespace, r.b.cfg.Lease)
	}
	if age := time.Since(r.lastRenew); age >= r.b.cfg.RenewDeadline {
		r.lose()
		return fmt.Errorf("%w (lease %s/%s last renewed %s ago, renew_deadline %s)", ha.ErrFenced, r.b.cfg.Namespace, r.b.cfg.Lease, age.Round(time.Millisecond), r.b.cfg.RenewDeadline)
	}
	return nil
}

// leases observes every Lease the elector reads and writes.
type leases struct {
	coordv1client.LeaseInterface
	r *run
}

type leasesGetter struct {
	c coordv1client.LeasesGetter
	r *run
}

func (g leasesGetter) Leases(ns string) coordv1client.LeaseInterface {
	return leases{g.c.Leases(ns), g.r}
}

func (l leases) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	out, err := l.LeaseInterface.Get(ctx, name, opts)
	return l.after(out, err, time.Time{}, "read")
}

func (l leases) Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	sent := time.Now()
	out, err := l.LeaseInterface.Create(ctx, lease, opts)
	return l.after(out, err, sent, "create")
}

func (l leases) Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	sent := time.Now()
	out, err := l.LeaseInterface.Update(ctx, lease, opts)
	return l.after(out, err, sent, "update")
}

func (l leases) after(out *coordinationv1.Lease, err error, sent time.Time, verb string) (*coordinationv1.Lease, error) {
	switch {
	case err == nil:
		l.r.seen(out, sent)
	case apierrors.IsNotFound(err), apierrors.IsConflict(err), apierrors.IsAlreadyExists(err), errors.Is(err, context.Canceled):
		// The election's own business: it re-reads and retries.
	default:
		l.r.b.warn(err, verb)
	}
	return out, err
}

// Campaign blocks until this replica holds the Lease or ctx ends. The
// term ends when the Lease is lost (another holder, or no renewal within
// renew_deadline), at Resign and at Close; Campaign may then be called
// again.
func (b *Backend) Campaign(ctx context.Context) (*ha.Term, error) {
	if !b.campaignMu.TryLock() {
		return nil, fmt.Errorf("ha kubernetes: lease %s/%s: this replica is already campaigning", b.cfg.Namespace, b.cfg.Lease)
	}
	defer b.campaignMu.Unlock()
	b.mu.Lock()
	prev, closed := b.run, b.closed
	b.mu.Unlock()
	if closed {
		return nil, b.errClosed()
	}
	if prev != nil {
		prev.mu.Lock()
		leading := prev.term != nil && prev.term.ctx.Err() == nil
		prev.mu.Unlock()
		if leading {
			return nil, fmt.Errorf("ha kubernetes: lease %s/%s: this replica already leads", b.cfg.Namespace, b.cfg.Lease)
		}
		// The previous elector is releasing or giving up (bounded by renew_deadline).
		select {
		case <-prev.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r, started, err := b.start()
	if err != nil {
		return nil, err
	}
	var lctx context.Context
	select {
	case lctx = <-started:
	case <-ctx.Done():
		r.cancel()
		<-r.done
		return nil, fmt.Errorf("ha kubernetes: campaign for lease %s/%s: %w", b.cfg.Namespace, b.cfg.Lease, ctx.Err())
	case <-r.done:
		return nil, b.errClosed()
	}
	tctx, tcancel := context.WithCancel(lctx)
	r.mu.Lock()
	t := &term{ctx: tctx, cancel: tcancel, uid: r.leaseUID, trans: r.trans,
		claim: fmt.Sprintf("%s (lease uid %s, transition %d)", b.holder, r.leaseUID, r.trans)}
	r.term = t
	r.mu.Unlock()
	b.log.Info("ha: leading", "lease", b.cfg.Namespace+"/"+b.cfg.Lease, "identity", b.cfg.Identity)
	return &ha.Term{Ctx: tctx, Store: &store{b: b, r: r, t: t}, Fence: func() error { return r.holds(t) }}, nil
}

func (b *Backend) errClosed() error {
	return fmt.Errorf("ha kubernetes: lease %s/%s: the backend is closed", b.cfg.Namespace, b.cfg.Lease)
}

// start runs a new elector.
func (b *Backend) start() (*run, <-chan context.Context, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, b.errClosed()
	}
	b.gen++
	r := &run{b: b, gen: b.gen, done: make(chan struct{})}
	started := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: b.cfg.Namespace, Name: b.cfg.Lease},
			Client:     leasesGetter{b.client.CoordinationV1(), r},
			LockConfig: resourcelock.ResourceLockConfig{Identity: b.holder},
		},
		LeaseDuration:   b.cfg.LeaseDuration,
		RenewDeadline:   b.cfg.RenewDeadline,
		RetryPeriod:     b.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            b.cfg.Lease,
		Callbacks: leaderelection.LeaderCallbacks{
			// Campaign may have given up (its context ended) by now: never block.
			OnStartedLeading: func(lctx context.Context) {
				select {
				case started <- lctx:
				case <-lctx.Done():
				}
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ha kubernetes: %w", err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	r.cancel = cancel
	b.run = r
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(r.done)
		defer cancel()
		le.Run(klog.NewContext(ctx, logr.FromSlogHandler(b.log.Handler())))
	}()
	return r, started, nil
}

// Resign ends the term and releases the Lease, so that another replica
// takes it at its next try instead of after lease_duration.
func (b *Backend) Resign(ctx context.Context) error {
	b.mu.Lock()
	r := b.run
	b.mu.Unlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	leading := r.term != nil
	if leading {
		r.lose()
	}
	r.mu.Unlock()
	if !leading {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ha kubernetes: resign lease %s/%s: %w (the release goes on in the background; at worst the lease expires after %s)", b.cfg.Namespace, b.cfg.Lease, ctx.Err(), b.cfg.LeaseDuration)
	}
}

// Close ends any term (releasing the Lease) and stops every goroutine.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	return nil
}
