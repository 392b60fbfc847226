package etcd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// logs is a slog handler that keeps the messages, for tests that check
// what the backend told the operator.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, b.String())
	return nil
}

// count is how many messages contain s.
func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func client(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// ttlLease lets a test see and rewrite the TimeToLive answers the backend
// gets: n counts the calls; edit, when set, replaces an answer.
type ttlLease struct {
	clientv3.Lease
	mu    sync.Mutex
	calls []time.Time
	edit  func(n int, resp *clientv3.LeaseTimeToLiveResponse, err error) (*clientv3.LeaseTimeToLiveResponse, error)
	// grants are the TTLs the backend asked for.
	grants []int64
}

func (l *ttlLease) TimeToLive(ctx context.Context, id clientv3.LeaseID, opts ...clientv3.LeaseOption) (*clientv3.LeaseTimeToLiveResponse, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	n, edit := len(l.calls), l.edit
	l.mu.Unlock()
	resp, err := l.Lease.TimeToLive(ctx, id, opts...)
	if edit != nil {
		return edit(n, resp, err)
	}
	return resp, err
}

func (l *ttlLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	l.mu.Lock()
	l.grants = append(l.grants, ttl)
	l.mu.Unlock()
	return l.Lease.Grant(ctx, ttl)
}

func (l *ttlLease) setEdit(f func(n int, resp *clientv3.LeaseTimeToLiveResponse, err error) (*clientv3.LeaseTimeToLiveResponse, error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.edit = f
}

func (l *ttlLease) callTimes() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *ttlLease) grantTTLs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.grants)
}

// leaseClient is a client whose lease calls a test watches.
func leaseClient(t *testing.T, endpoint string) (*clientv3.Client, *ttlLease) {
	cli := client(t, endpoint)
	l := &ttlLease{Lease: cli.Lease}
	cli.Lease = l
	return cli, l
}

func campaign(t *testing.T, b *Backend) *ha.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	term, err := b.Campaign(ctx)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	return term
}

// electionKeys lists the keys under an election prefix.
func electionKeys(t *testing.T, cli *clientv3.Client, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}

// deadlineKV records how far off the deadline of each Get is when it is
// made, and answers it with an error (no etcd needed).
type deadlineKV struct {
	clientv3.KV
	left chan time.Duration
}

func (k *deadlineKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	d, ok := ctx.Deadline()
	left := time.Duration(-1)
	if ok {
		left = time.Until(d)
	}
	select {
	case k.left <- left:
	default:
	}
	return nil, errors.New("no etcd in this test")
}

// The backend's defaults are agent.yaml's (policy), and a call to etcd is
// bounded by 5 s when nothing else is said.
func TestDefaults(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, leases := leaseClient(t, srv.Endpoint)
	b, err := New(Config{Client: cli, Identity: "a", Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.cfg.Prefix != policy.DefaultHAEtcdPrefix || b.cfg.SessionTTL != policy.DefaultHASessionTTL {
		t.Errorf("defaults: prefix %q, session TTL %s; agent.yaml's are %q, %s", b.cfg.Prefix, b.cfg.SessionTTL,
			policy.DefaultHAEtcdPrefix, policy.DefaultHASessionTTL)
	}
	term := campaign(t, b)
	if got := leases.grantTTLs(); len(got) != 1 || got[0] != int64(policy.DefaultHASessionTTL/time.Second) {
		t.Errorf("lease TTLs asked for %v, want [%d]", got, policy.DefaultHASessionTTL/time.Second)
	}
	key := term.Store.(*store).t.key
	if !strings.HasPrefix(key, policy.DefaultHAEtcdPrefix+"leader/") {
		t.Errorf("election key %q is not under %sleader/", key, policy.DefaultHAEtcdPrefix)
	}

	// A TTL given is the one granted, rounded up to whole seconds.
	cli2, leases2 := leaseClient(t, srv.Endpoint)
	b2, err := New(Config{Client: cli2, Identity: "b", Prefix: "/ttl", SessionTTL: 2500 * time.Millisecond, Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	campaign(t, b2)
	if got := leases2.grantTTLs(); len(got) != 1 || got[0] != 3 {
		t.Errorf("session TTL 2.5s: lease TTLs asked for %v, want [3]", got)
	}

	// The deadline of an etcd call without a CallTimeout.
	kv := &deadlineKV{KV: cli.KV, left: make(chan time.Duration, 1)}
	cli3 := client(t, srv.Endpoint)
	cli3.KV = kv
	b3, err := New(Config{Client: cli3, Identity: "c", Prefix: "/deadline", Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	defer b3.Close()
	select {
	case left := <-kv.left:
		if left > 5*time.Second || left < 4*time.Second {
			t.Errorf("an etcd call has %s left at its start; want the default call timeout, 5s", left)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the backend did not read the election")
	}
}

// writeCerts makes a CA and a client certificate signed by it.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cliKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cliTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cliDER, err := x509.CreateCertificate(rand.Reader, cliTmpl, caTmpl, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("client.pem", "CERTIFICATE", cliDER), write("client-key.pem", "EC PRIVATE KEY", keyDER)
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	if tc, err := tlsConfig(Config{}); tc != nil || err != nil {
		t.Errorf("no TLS files: %v, %v; want plain connections", tc, err)
	}
	for _, c := range []struct {
		name          string
		cfg           Config
		roots, client bool
	}{
		{"ca_only", Config{CAFile: ca}, true, false},
		{"client_cert_only", Config{CertFile: cert, KeyFile: key}, false, true},
		{"ca_and_client_cert", Config{CAFile: ca, CertFile: cert, KeyFile: key}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc, err := tlsConfig(c.cfg)
			if err != nil || tc == nil {
				t.Fatalf("tlsConfig: %v, %v", tc, err)
			}
			if tc.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion %x", tc.MinVersion)
			}
			if (tc.RootCAs != nil) != c.roots {
				t.Errorf("RootCAs set: %v, want %v", tc.RootCAs != nil, c.roots)
			}
			if c.roots {
				if !tc.RootCAs.Equal(caPool(t, ca)) {
					t.Error("RootCAs is not the CA file's certificate")
				}
			}
			if (len(tc.Certificates) == 1) != c.client || len(tc.Certificates) > 1 {
				t.Errorf("%d client certificates, want one: %v", len(tc.Certificates), c.client)
			}
		})
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
		is   error
	}{
		{"ca_missing", Config{CAFile: missing}, "ha.etcd.ca_file: ", fs.ErrNotExist},
		{"ca_not_pem", Config{CAFile: garbage}, "ha.etcd.ca_file " + garbage + ": no PEM certificate", nil},
		{"cert_without_key", Config{CAFile: ca, CertFile: cert}, "give both cert_file and key_file", nil},
		{"key_without_cert", Config{KeyFile: key}, "give both cert_file and key_file", nil},
		{"cert_is_not_the_key", Config{CertFile: cert, KeyFile: cert}, "ha.etcd.cert_file/key_file: ", nil},
		{"key_missing", Config{CertFile: cert, KeyFile: missing}, "ha.etcd.cert_file/key_file: ", fs.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc, err := tlsConfig(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("tlsConfig = %v, %v; want an error saying %q", tc, err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%v does not wrap %v", err, c.is)
			}
			// New and OpenReader refuse the same configuration.
			cfg := c.cfg
			cfg.Endpoints, cfg.Identity = []string{"https://127.0.0.1:1"}, "a"
			if b, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				if b != nil {
					_ = b.Close()
				}
				t.Errorf("New: %v", err)
			}
			if r, err := OpenReader(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				if r != nil {
					_ = r.Close()
				}
				t.Errorf("OpenReader: %v", err)
			}
		})
	}
}

func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return p
}

// While etcd cannot be reached, Campaign keeps trying (saying so) until
// its context ends, and then says why it stopped.
func TestCampaignRetriesUntilItsContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	l := &logs{}
	b, err := New(Config{Endpoints: []string{"http://" + addr}, Identity: "a", CallTimeout: 200 * time.Millisecond, Log: slog.New(l)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const wait = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	type result struct {
		term *ha.Term
		err  error
	}
	done := make(chan result, 1)
	go func() { term, err := b.Campaign(ctx); done <- result{term, err} }()
	var term *ha.Term
	select {
	case r := <-done:
		term, err = r.term, r.err
	case <-time.After(wait + 5*time.Second):
		t.Fatalf("Campaign goes on %s after its context ended", 5*time.Second)
	}
	if took := time.Since(start); took < wait {
		t.Errorf("Campaign gave up after %s, before its context ended (%s)", took, wait)
	}
	if term != nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "campaign stopped") {
		t.Fatalf("Campaign = %v, %v; want no term and an error wrapping the context's", term, err)
	}
	if n := l.count("campaign failed; trying again in 1s"); n < 2 {
		t.Errorf("%d retries logged in %s; want at least 2", n, wait)
	}
	if n := l.count(addr); n < 1 {
		t.Errorf("the retries do not name the endpoint %s: %q", addr, l.msgs)
	}
}

// A won election whose lease cannot be confirmed is given up at once (its
// key deleted, so that the next attempt does not wait behind it), and the
// next attempt wins.
func TestUnconfirmedLeaseGivesUpTheElection(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, leases := leaseClient(t, srv.Endpoint)
	leases.setEdit(func(n int, resp *clientv3.LeaseTimeToLiveResponse, err error) (*clientv3.LeaseTimeToLiveResponse, error) {
		if n == 1 {
			return nil, errors.New("injected: TimeToLive failed")
		}
		return resp, err
	})
	l := &logs{}
	b, err := New(Config{Client: cli, Identity: "a", Prefix: "/unconfirmed", SessionTTL: 2 * time.Second, Log: slog.New(l)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	term := campaign(t, b)
	if n := l.count("lease not confirmed after winning"); n != 1 {
		t.Errorf("%d failed attempts logged as unconfirmed; want 1", n)
	}
	if got := leases.grantTTLs(); len(got) != 2 {
		t.Errorf("%d leases granted; want 2 (the given-up attempt, the won one)", len(got))
	}
	if keys := electionKeys(t, cli, "/unconfirmed/leader"); len(keys) != 1 || keys[0] != term.Store.(*store).t.key {
		t.Errorf("election keys %v; want only the term's", keys)
	}
	if err := term.Fence(); err != nil {
		t.Errorf("fence of the won term: %v", err)
	}
}

// etcd counts whole seconds rounded down: a lease with under a second
// left reports TTL 0 and is alive. The term goes on with its fence closed
// until a renewal is confirmed; only TTL -1 (gone) ends it.
func TestLeaseUnderASecondIsNotExpired(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, leases := leaseClient(t, srv.Endpoint)
	var zero atomic.Bool
	zero.Store(true)
	var gone atomic.Bool
	leases.setEdit(func(n int, resp *clientv3.LeaseTimeToLiveResponse, err error) (*clientv3.LeaseTimeToLiveResponse, error) {
		if err != nil {
			return resp, err
		}
		r := *resp
		switch {
		case gone.Load():
			r.TTL = -1
		case zero.Load():
			r.TTL = 0
		}
		return &r, nil
	})
	l := &logs{}
	b, err := New(Config{Client: cli, Identity: "a", Prefix: "/zero", SessionTTL: 2 * time.Second, Log: slog.New(l)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	term := campaign(t, b)
	if n := len(leases.grantTTLs()); n != 1 {
		t.Errorf("%d leases granted; want 1: a lease with TTL 0 is alive, the won election is kept", n)
	}
	// Several confirmations of TTL 0: the term goes on, fenced.
	for wait := time.Now().Add(5 * time.Second); len(leases.callTimes()) < 4; {
		if term.Ctx.Err() != nil || time.Now().After(wait) {
			t.Fatalf("the term ended on a live lease with under a second left: %q", l.msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if term.Ctx.Err() != nil {
		t.Fatalf("the term ended on a live lease with under a second left: %q", l.msgs)
	}
	if err := term.Fence(); !errors.Is(err, ha.ErrFenced) || !strings.Contains(err.Error(), "may have expired") {
		t.Errorf("fence with under a second confirmed: %v; want closed", err)
	}
	// Renewals confirmed again: the fence opens.
	zero.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for term.Fence() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("fence still closed after confirmed renewals: %v", term.Fence())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A lease reported gone ends the term.
	gone.Store(true)
	select {
	case <-term.Ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the term goes on after etcd reported its lease gone")
	}
	// The term's context ends first; the log follows.
	for l.count("the etcd lease expired") != 1 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("the end of the term is not logged as an expired lease: %q", l.msgs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The lease is confirmed every fifth of the session TTL, so that the fence
// stays open while renewals go on.
func TestLeaseConfirmedEveryFifthOfTheTTL(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, leases := leaseClient(t, srv.Endpoint)
	const ttl = 1500 * time.Millisecond
	b, err := New(Config{Client: cli, Identity: "a", Prefix: "/pace", SessionTTL: ttl, Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	campaign(t, b)
	for wait := time.Now().Add(10 * time.Second); len(leases.callTimes()) < 12; {
		if time.Now().After(wait) {
			t.Fatalf("%d lease confirmations in 10s", len(leases.callTimes()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	calls := leases.callTimes()[1:] // the first confirms the won election
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	slices.Sort(gaps)
	median, want := gaps[len(gaps)/2], ttl/5
	if d := median - want; d < -want/8 || d > want/8 {
		t.Errorf("median gap between lease confirmations %s (gaps %v); want %s", median, gaps, want)
	}
}

// slowKV blocks each Get until its context ends, then takes a while to
// return, as a call on a slow network does.
type slowKV struct {
	clientv3.KV
	entered  chan struct{}
	returned atomic.Bool
}

func (k *slowKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	select {
	case k.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond)
	k.returned.Store(true)
	return nil, ctx.Err()
}

// Close returns once the backend's goroutines have stopped (none is left
// calling etcd), a second Close does nothing, and a client the caller
// gave stays open.
func TestCloseStopsEverything(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := client(t, srv.Endpoint)
	kv := &slowKV{KV: cli.KV, entered: make(chan struct{}, 1)}
	slow := client(t, srv.Endpoint)
	slow.KV = kv
	b, err := New(Config{Client: slow, Identity: "a", Prefix: "/close", Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-kv.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend did not read the election")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !kv.returned.Load() {
		t.Error("Close returned while a goroutine of the backend was still in an etcd call")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Campaign(context.Background()); err == nil || !strings.Contains(err.Error(), "campaign stopped") {
		t.Errorf("Campaign after Close: %v", err)
	}

	r, err := OpenReader(Config{Client: cli, Prefix: "/close"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("reader Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/close/other", "x"); err != nil {
		t.Errorf("the caller's client was closed: %v", err)
	}
}

// A term that ended is not kept by the backend: nothing of it (session,
// contexts, store) outlives it once its holder lets it go.
func TestEndedTermIsNotKept(t *testing.T) {
	srv := etcdtest.Start(t)
	b, err := New(Config{Endpoints: []string{srv.Endpoint}, Identity: "a", Prefix: "/kept", SessionTTL: 2 * time.Second, Log: slog.New(&logs{})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wp := func() weak.Pointer[term] {
		ht := campaign(t, b)
		if err := b.Resign(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-ht.Ctx.Done()
		return weak.Make(ht.Store.(*store).t)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for wp.Value() != nil {
		if time.Now().After(deadline) {
			b.mu.Lock()
			kept := b.cur != nil
			b.mu.Unlock()
			t.Fatalf("the ended term is still reachable (backend's current term set: %v)", kept)
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}
