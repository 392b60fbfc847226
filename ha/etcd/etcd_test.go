package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/ha/hatest"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

func TestContract(t *testing.T) {
	srv := etcdtest.Start(t)
	n := 0
	prefix := func() string { n++; return "/test/" + t.Name() + "/" + string(rune('a'+n)) + "/" }
	t.Run("store", func(t *testing.T) {
		p := prefix()
		hatest.RunStore(t, hatest.StoreHarness{Open: func(t *testing.T) reconcile.Store {
			b, err := New(Config{Endpoints: []string{srv.Endpoint}, Prefix: p, SessionTTL: 2 * time.Second, Identity: "store-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			term, err := b.Campaign(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return &closing{Store: term.Store, b: b}
		}})
	})
	t.Run("backend", func(t *testing.T) {
		var p string
		hatest.RunBackend(t, hatest.BackendHarness{
			New: func(t *testing.T, identity, peer string) ha.Backend {
				if identity == "replica-0" {
					p = prefix() // a fresh election per subtest
				}
				b, err := New(Config{Endpoints: []string{srv.Endpoint}, Prefix: p, SessionTTL: 2 * time.Second, Identity: identity, Peer: peer})
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			Depose: func(t *testing.T, hb ha.Backend) {
				b := hb.(*Backend)
				b.mu.Lock()
				cur := b.cur
				b.mu.Unlock()
				if cur == nil {
					t.Fatal("Depose: no term")
				}
				cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer cli.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, err := cli.Revoke(ctx, cur.session.Lease()); err != nil {
					t.Fatalf("revoke the leader's lease: %v", err)
				}
			},
			Bound: 6 * time.Second,
		})
	})
}

// closing closes the backend with the store, so that a reopened store is
// a new replica's.
type closing struct {
	reconcile.Store
	b *Backend
}

func (c *closing) Close() error { return c.b.Close() }

// A paused leader wakes up before it notices that its session expired:
// its term's context is still alive, and only the transaction's condition
// on the election key stands between it and the store.
func TestSaveFencedByTheElectionKeyAlone(t *testing.T) {
	srv := etcdtest.Start(t)
	ctx := context.Background()
	a, err := New(Config{Endpoints: []string{srv.Endpoint}, Prefix: "/fence/", SessionTTL: 2 * time.Second, Identity: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	won, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := won.Store.Save(ctx, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	st := won.Store.(*store)
	// A term that has not noticed anything, whose key is gone.
	ghost := &store{t: &term{b: a, key: st.t.key + "-gone", rev: st.t.rev, ctx: ctx, cancel: func() {}}}
	if err := ghost.Save(ctx, []byte("stale")); !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("save without the election key: %v; want ha.ErrFenced", err)
	}
	if got, _ := won.Store.Load(ctx); string(got) != "v1" {
		t.Fatalf("store = %q after a fenced save, want v1", got)
	}
	// Same key, another revision (the key was lost and won again by a
	// later campaign of the same replica): fenced too.
	ghost = &store{t: &term{b: a, key: st.t.key, rev: st.t.rev + 1, ctx: ctx, cancel: func() {}}}
	if err := ghost.Save(ctx, []byte("stale")); !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("save with another revision of the key: %v; want ha.ErrFenced", err)
	}
	if !strings.Contains(a.String(), "/fence/leader") || !strings.Contains(won.Store.(*store).String(), "/fence/state") {
		t.Fatalf("names: %q, %q", a.String(), won.Store.(*store).String())
	}
}

// The fence needs no network: it fails once the lease clock runs out, as
// after a SIGSTOP longer than the session TTL, even while the term's
// context still looks alive.
func TestFenceFollowsTheLeaseClock(t *testing.T) {
	srv := etcdtest.Start(t)
	// A TTL of 4 s: renewals (every TTL/3, on the client's 500 ms beat)
	// leave at least 2 s confirmed, so a loaded machine does not close the
	// fence between two confirmations.
	b, err := New(Config{Endpoints: []string{srv.Endpoint}, Prefix: "/clock/", SessionTTL: 4 * time.Second, Identity: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	term, err := b.Campaign(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if term.Fence == nil {
		t.Fatal("an etcd term has no Fence")
	}
	// Renewals keep it open past one TTL.
	for i := 0; i < 10; i++ {
		if err := term.Fence(); err != nil {
			t.Fatalf("fence of a live term after %d×500ms: %v", i, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	st := term.Store.(*store)
	// As if the process had slept: the term started long ago.
	long := st.t.start.Load().Add(-time.Hour)
	st.t.start.Store(&long)
	if err := term.Fence(); !errors.Is(err, ha.ErrFenced) || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("fence after the lease clock ran out: %v", err)
	}
	_ = b.Resign(context.Background())
	if err := term.Fence(); !errors.Is(err, ha.ErrFenced) || !strings.Contains(err.Error(), "term over") {
		t.Fatalf("fence after resign: %v", err)
	}
}

// diff reads the leader's store without campaigning, and never writes.
func TestReader(t *testing.T) {
	srv := etcdtest.Start(t)
	ctx := context.Background()
	b, err := New(Config{Endpoints: []string{srv.Endpoint}, Prefix: "/reader", SessionTTL: 2 * time.Second, Identity: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := OpenReader(Config{Endpoints: []string{srv.Endpoint}, Prefix: "/reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if doc, err := r.Load(ctx); err != nil || doc != nil {
		t.Fatalf("empty store: %q, %v", doc, err)
	}
	term, err := b.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := term.Store.Save(ctx, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if doc, err := r.Load(ctx); err != nil || string(doc) != "v1" {
		t.Fatalf("reader loads %q, %v; want the leader's v1", doc, err)
	}
	if err := r.Save(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("reader save: %v", err)
	}
	if doc, _ := r.Load(ctx); string(doc) != "v1" {
		t.Fatalf("a refused save changed the store: %q", doc)
	}
	if r.String() != "etcd /reader/state (read-only)" {
		t.Fatalf("String = %q", r.String())
	}
	if _, err := OpenReader(Config{Endpoints: []string{srv.Endpoint}, CertFile: "c.pem"}); err == nil {
		t.Fatal("a cert without a key was accepted")
	}
}
