// Package etcd is the ha.Backend on etcd: a concurrency.Election under
// <prefix>leader whose value names the leader and its peer URL, and the
// ownership store at <prefix>state. Every store write is a transaction
// conditioned on this replica's election key still existing with the
// revision it won with, so a deposed leader (its session expired while it
// was paused, or revoked) cannot write: its intent is not recorded and the
// create that would follow does not happen.
package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
)

// Defaults of Config.
const (
	DefaultPrefix     = "/srs-owt-proxy/"
	DefaultSessionTTL = 10 * time.Second
	// DefaultCallTimeout bounds each etcd call.
	DefaultCallTimeout = 5 * time.Second
)

// Config configures New.
type Config struct {
	Endpoints []string
	// Prefix holds the election (<prefix>leader) and the store (<prefix>state).
	Prefix string
	// SessionTTL is the lease of this replica's election key: a leader
	// that stops renewing loses it this long after its last renewal.
	SessionTTL time.Duration
	// CAFile, CertFile and KeyFile set up TLS (client certificates when
	// CertFile and KeyFile are given).
	CAFile, CertFile, KeyFile string
	// Identity and Peer are published as the election value.
	Identity, Peer string
	// CallTimeout bounds each etcd call (default 5 s).
	CallTimeout time.Duration
	Log         *slog.Logger
	// Client, when set, is used instead of dialing Endpoints (tests); the
	// backend does not close it.
	Client *clientv3.Client
}

// Backend is an ha.Backend on etcd.
type Backend struct {
	cfg    Config
	cli    *clientv3.Client
	ownCli bool
	log    *slog.Logger
	ttl    int

	ctx    context.Context // the backend's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	cur    *term
	leader ha.Leader
	closed bool
}

// term is one won election.
type term struct {
	b       *Backend
	session *concurrency.Session
	key     string
	rev     int64
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	// validUntil (unix nanoseconds of the monotonic-backed local clock) is
	// a time before which the lease certainly has not expired: the send
	// time of a TimeToLive call plus the seconds it reported left.
	validUntil atomic.Int64
	start      atomic.Pointer[time.Time]
}

// elapsed is the time since the term started, on the monotonic clock
// (which keeps counting while the process is stopped).
func (t *term) elapsed() time.Duration { return time.Since(*t.start.Load()) }

// fence is the term's Fence: the lease clock, then the context.
func (t *term) fence() error {
	if t.ctx.Err() != nil {
		return fmt.Errorf("etcd election %s: term over: %w", t.b.electionPrefix(), ha.ErrFenced)
	}
	if t.elapsed() >= time.Duration(t.validUntil.Load()) {
		return fmt.Errorf("etcd election %s: the lease may have expired (no renewal confirmed in time; was this process paused?): %w", t.b.electionPrefix(), ha.ErrFenced)
	}
	return nil
}

// watchLease confirms the lease's time left every fifth of its TTL and
// keeps validUntil; it ends the term when the lease is gone.
func (t *term) watchLease() {
	defer t.b.wg.Done()
	every := t.b.cfg.SessionTTL / 5
	if every < 100*time.Millisecond {
		every = 100 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		sent := t.elapsed()
		ctx, cancel := context.WithTimeout(t.ctx, t.b.cfg.CallTimeout)
		resp, err := t.b.cli.TimeToLive(ctx, t.session.Lease())
		cancel()
		switch {
		case t.ctx.Err() != nil:
			return
		// etcd reports whole seconds, rounded down: 0 is a live lease
		// with under a second left (the fence closes until the next
		// confirmation), -1 a lease that is gone.
		case err == nil && resp.TTL < 0:
			t.end("the etcd lease expired")
			return
		case err == nil:
			// The server measured TTL seconds left at some time after sent.
			t.validUntil.Store(int64(sent + time.Duration(resp.TTL)*time.Second))
		}
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var _ ha.Backend = (*Backend)(nil)

// New connects to etcd (without waiting for it to answer) and starts
// watching the election.
func New(cfg Config) (*Backend, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Identity == "" {
		return nil, errors.New("etcd election: empty identity")
	}
	b := &Backend{cfg: cfg, cli: cfg.Client, log: cfg.Log, ttl: int((cfg.SessionTTL + time.Second - 1) / time.Second)}
	if b.cli == nil {
		if len(cfg.Endpoints) == 0 {
			return nil, errors.New("ha.etcd.endpoints: give at least one etcd endpoint, e.g. https://etcd:2379")
		}
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: cfg.CallTimeout, TLS: tc,
			DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: cfg.CallTimeout, Logger: zap.NewNop()})
		if err != nil {
			return nil, fmt.Errorf("etcd %s: %w (check ha.etcd.endpoints and its TLS files)", strings.Join(cfg.Endpoints, ","), err)
		}
		b.cli, b.ownCli = cli, true
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(1)
	go b.observe()
	return b, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ha.etcd.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ha.etcd.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("ha.etcd: give both cert_file and key_file for a client certificate, or neither")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ha.etcd.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (b *Backend) electionPrefix() string { return b.cfg.Prefix + "leader" }
func (b *Backend) stateKey() string       { return b.cfg.Prefix + "state" }

// String names the engine and the keys.
func (b *Backend) String() string {
	return fmt.Sprintf("etcd election %s (store %s)", b.electionPrefix(), b.stateKey())
}

// Campaign blocks until this replica leads or ctx ends. A failed attempt
// (etcd unreachable) is retried every second.
func (b *Backend) Campaign(ctx context.Context) (*ha.Term, error) {
	val, err := json.Marshal(ha.Leader{Identity: b.cfg.Identity, Peer: b.cfg.Peer})
	if err != nil {
		return nil, err
	}
	for {
		t, err := b.campaignOnce(ctx, string(val))
		if err == nil {
			return &ha.Term{Ctx: t.ctx, Store: &store{t: t}, Fence: t.fence}, nil
		}
		if ctx.Err() != nil || b.ctx.Err() != nil {
			return nil, fmt.Errorf("etcd election %s: campaign stopped: %w", b.electionPrefix(), errors.Join(ctx.Err(), b.ctx.Err()))
		}
		b.log.Warn("etcd election: campaign failed; trying again in 1s", "election", b.electionPrefix(), "err", err)
		select {
		case <-ctx.Done():
		case <-b.ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (b *Backend) campaignOnce(ctx context.Context, val string) (*term, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("backend closed")
	}
	b.mu.Unlock()
	gctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	lease, err := b.cli.Grant(gctx, int64(b.ttl))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("etcd lease: %w (is etcd reachable at %s?)", err, strings.Join(b.cli.Endpoints(), ","))
	}
	// The session's keep-alive lives as long as the backend, not as the
	// call that created it.
	s, err := concurrency.NewSession(b.cli, concurrency.WithLease(lease.ID), concurrency.WithTTL(b.ttl), concurrency.WithContext(b.ctx))
	if err != nil {
		return nil, fmt.Errorf("etcd session: %w (is etcd reachable at %s?)", err, strings.Join(b.cli.Endpoints(), ","))
	}
	el := concurrency.NewElection(s, b.electionPrefix())
	// Campaign returns when this replica's key is the oldest, or when
	// ctx ends or the session expires.
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	go func() {
		select {
		case <-s.Done():
			ccancel()
		case <-cctx.Done():
		}
	}()
	if err := el.Campaign(cctx, val); err != nil {
		closeSession(s, b.cfg.CallTimeout)
		return nil, fmt.Errorf("etcd election %s: %w", b.electionPrefix(), err)
	}
	t := &term{b: b, session: s, key: el.Key(), rev: el.Rev()}
	now := time.Now()
	t.start.Store(&now)
	t.ctx, t.cancel = context.WithCancel(b.ctx)
	// The lease's time left, confirmed before the term starts.
	tctx, tcancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	ttl, err := b.cli.TimeToLive(tctx, lease.ID)
	tcancel()
	// TTL 0 is a live lease with under a second left: the term starts
	// with its fence closed until watchLease confirms a renewal.
	if err != nil || ttl.TTL < 0 {
		t.end("the lease could not be confirmed after winning")
		return nil, fmt.Errorf("etcd election %s: lease not confirmed after winning: %v", b.electionPrefix(), err)
	}
	t.validUntil.Store(int64(time.Duration(ttl.TTL) * time.Second))
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		t.end("backend closed")
		return nil, errors.New("backend closed")
	}
	b.cur = t
	b.leader = ha.Leader{Identity: b.cfg.Identity, Peer: b.cfg.Peer}
	b.mu.Unlock()
	b.log.Info("etcd election: this replica leads", "election", b.electionPrefix(), "identity", b.cfg.Identity, "key", t.key)
	b.wg.Add(2)
	go t.watchLease()
	go func() {
		defer b.wg.Done()
		select {
		case <-s.Done():
			t.end("etcd session expired or revoked: another replica may lead")
		case <-t.ctx.Done():
		}
	}()
	return t, nil
}

// end closes the term once: its context first (no new write starts), then
// the session (its key is deleted so that another replica leads now).
func (t *term) end(why string) {
	t.once.Do(func() {
		t.cancel()
		t.b.mu.Lock()
		if t.b.cur == t {
			t.b.cur = nil
		}
		t.b.mu.Unlock()
		t.b.log.Warn("etcd election: leadership ended", "election", t.b.electionPrefix(), "identity", t.b.cfg.Identity, "reason", why)
		if t.session != nil {
			closeSession(t.session, t.b.cfg.CallTimeout)
		}
	})
}

// closeSession revokes the session's lease (deleting the election key so
// that another replica leads now) and stops its keep-alive; bounded, since
// etcd may be the reason the term ended.
func closeSession(s *concurrency.Session, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, _ = s.Client().Revoke(ctx, s.Lease())
	s.Orphan()
}

// Resign ends the current term at once.
func (b *Backend) Resign(context.Context) error {
	b.mu.Lock()
	t := b.cur
	b.mu.Unlock()
	if t != nil {
		t.end("resigned")
	}
	return nil
}

// Leader is the leader as last observed.
func (b *Backend) Leader() ha.Leader {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leader
}

// Close ends any term, stops watching and closes the client it dialed.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	t := b.cur
	b.mu.Unlock()
	if t != nil {
		t.end("closed")
	}
	b.cancel()
	b.wg.Wait()
	if b.ownCli {
		return b.cli.Close()
	}
	return nil
}

// observe keeps Leader current: the oldest key under the election prefix
// is the leader. A watch wakes it on every change; a poll every half
// session covers a broken watch. A term whose key is no longer the
// leader's is ended here too.
func (b *Backend) observe() {
	defer b.wg.Done()
	poll := b.cfg.SessionTTL / 2
	for b.ctx.Err() == nil {
		wctx, cancel := context.WithCancel(b.ctx)
		wch := b.cli.Watch(clientv3.WithRequireLeader(wctx), b.electionPrefix(), clientv3.WithPrefix())
		b.refreshLeader()
		tick := time.NewTicker(poll)
	loop:
		for {
			select {
			case <-b.ctx.Done():
				break loop
			case resp, ok := <-wch:
				if !ok || resp.Err() != nil {
					break loop
				}
				b.refreshLeader()
			case <-tick.C:
				b.refreshLeader()
			}
		}
		tick.Stop()
		cancel()
		select {
		case <-b.ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *Backend) refreshLeader() {
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.CallTimeout)
	defer cancel()
	resp, err := b.cli.Get(ctx, b.electionPrefix(), clientv3.WithFirstCreate()...)
	if err != nil {
		return // etcd unreachable: keep the last known leader
	}
	var l ha.Leader
	var key string
	if len(resp.Kvs) > 0 {
		key = string(resp.Kvs[0].Key)
		if err := json.Unmarshal(resp.Kvs[0].Value, &l); err != nil {
			l = ha.Leader{Identity: string(resp.Kvs[0].Value)}
		}
	}
	b.mu.Lock()
	b.leader = l
	t := b.cur
	b.mu.Unlock()
	if t != nil && key != t.key && t.ctx.Err() == nil {
		t.end(fmt.Sprintf("the election key is no longer this replica's (leader now %q)", l.Identity))
	}
}

// store is the ownership document at <prefix>state, fenced to one term.
type store struct{ t *term }

func (s *store) String() string { return "etcd " + s.t.b.stateKey() }

// Close does nothing: the backend owns the connection.
func (s *store) Close() error { return nil }

// Load reads the document (nil when absent).
func (s *store) Load(ctx context.Context) ([]byte, error) {
	b := s.t.b
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	resp, err := b.cli.Get(ctx, b.stateKey())
	if err != nil {
		return nil, fmt.Errorf("etcd store %s: read: %w (is etcd reachable?)", b.stateKey(), err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// Save writes doc if, and only if, this term still holds the election.
func (s *store) Save(ctx context.Context, doc []byte) error {
	t, b := s.t, s.t.b
	if t.ctx.Err() != nil {
		return fmt.Errorf("etcd store %s: %w", b.stateKey(), ha.ErrFenced)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	resp, err := b.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).
		Then(clientv3.OpPut(b.stateKey(), string(doc))).
		Commit()
	if err != nil {
		return fmt.Errorf("etcd store %s: write: %w (is etcd reachable? the write may or may not have happened)", b.stateKey(), err)
	}
	if !resp.Succeeded {
		t.end("a store write found the election key gone")
		return fmt.Errorf("etcd store %s: election key %s is gone: %w", b.stateKey(), t.key, ha.ErrFenced)
	}
	return nil
}

// Reader is the ownership store read without an election, for `diff`: it
// never writes.
type Reader struct {
	cli    *clientv3.Client
	key    string
	own    bool
	expiry time.Duration
}

// OpenReader connects to etcd to read the store under cfg.Prefix.
func OpenReader(cfg Config) (*Reader, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	r := &Reader{cli: cfg.Client, key: cfg.Prefix + "state", expiry: cfg.CallTimeout}
	if r.cli == nil {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: cfg.CallTimeout, TLS: tc, Logger: zap.NewNop()})
		if err != nil {
			return nil, fmt.Errorf("etcd %s: %w (check ha.etcd.endpoints and its TLS files)", strings.Join(cfg.Endpoints, ","), err)
		}
		r.cli, r.own = cli, true
	}
	return r, nil
}

// String names the key.
func (r *Reader) String() string { return "etcd " + r.key + " (read-only)" }

// Load reads the document (nil when absent).
func (r *Reader) Load(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.expiry)
	defer cancel()
	resp, err := r.cli.Get(ctx, r.key)
	if err != nil {
		return nil, fmt.Errorf("etcd store %s: read: %w (is etcd reachable?)", r.key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// Save refuses: only the leader writes.
func (r *Reader) Save(context.Context, []byte) error {
	return fmt.Errorf("etcd store %s: opened read-only: only the elected leader writes", r.key)
}

// Close closes the connection it dialed.
func (r *Reader) Close() error {
	if r.own {
		return r.cli.Close()
	}
	return nil
}
