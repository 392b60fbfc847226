// Package hatest is the contract every ha.Backend and every ownership
// store passes: one test suite over the interfaces, run by the file, etcd
// and Kubernetes backends' own tests.
package hatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// StoreHarness opens stores over one location.
type StoreHarness struct {
	// Open returns a store; every call of one test reaches the same
	// location (a file path, a key, a ConfigMap).
	Open func(t *testing.T) reconcile.Store
}

// RunStore checks what the journal relies on: an empty store loads as
// nothing, a save is read back whole and replaces the previous document,
// and a document survives its store being closed and opened again.
func RunStore(t *testing.T, h StoreHarness) {
	ctx := context.Background()
	t.Run("empty", func(t *testing.T) {
		s := h.Open(t)
		defer s.Close()
		doc, err := s.Load(ctx)
		if err != nil || len(doc) != 0 {
			t.Fatalf("empty store: Load = %q, %v; want nothing, nil", doc, err)
		}
		if s.String() == "" {
			t.Error("String() is empty: logs could not say which store is used")
		}
	})
	t.Run("save_load_replace_reopen", func(t *testing.T) {
		s := h.Open(t)
		docs := [][]byte{[]byte(`{"version":2,"rooms":{"a":{"id":"1"}}}`), []byte(`{"version":2}`), bigDoc(256 << 10)}
		for i, d := range docs {
			if err := s.Save(ctx, d); err != nil {
				t.Fatalf("save %d: %v", i, err)
			}
			got, err := s.Load(ctx)
			if err != nil || !bytes.Equal(got, d) {
				t.Fatalf("after save %d: Load = %d bytes, %v; want the %d bytes saved", i, len(got), err, len(d))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s2 := h.Open(t)
		defer s2.Close()
		got, err := s2.Load(ctx)
		if err != nil || !bytes.Equal(got, docs[2]) {
			t.Fatalf("reopened: Load = %d bytes, %v; want the last document (%d bytes)", len(got), err, len(docs[2]))
		}
	})
}

// bigDoc is a JSON document of about n bytes, as a journal with many rooms.
func bigDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"version":2,"rooms":{`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"room-%06d":{"id":"%024x","created":"2026-12-03T00:00:00Z"}`, i, i)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// BackendHarness makes replicas of one election.
type BackendHarness struct {
	// New returns the backend of one replica; all replicas of a test share
	// one election and one store. The harness closes them at the end.
	New func(t *testing.T, identity, peer string) ha.Backend
	// Depose makes the leader b lose its leadership from outside, as when
	// its lease expires while it is paused (its session revoked, another
	// holder takes the lease).
	Depose func(t *testing.T, b ha.Backend)
	// Bound is how long a change of leader may take: lease duration plus
	// retry period plus a margin.
	Bound time.Duration
}

type campaign struct {
	b    ha.Backend
	id   string
	term *ha.Term
	err  error
	done chan struct{}
}

func start(ctx context.Context, b ha.Backend, id string) *campaign {
	c := &campaign{b: b, id: id, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.term, c.err = b.Campaign(ctx)
	}()
	return c
}

// winner waits for exactly one of cs to lead within bound.
func winner(t *testing.T, cs []*campaign, bound time.Duration) *campaign {
	t.Helper()
	deadline := time.After(bound)
	for {
		var won []*campaign
		for _, c := range cs {
			select {
			case <-c.done:
				if c.err != nil {
					t.Fatalf("campaign of %s: %v", c.id, c.err)
				}
				won = append(won, c)
			default:
			}
		}
		if len(won) > 1 {
			t.Fatalf("two leaders at once: %s and %s", won[0].id, won[1].id)
		}
		if len(won) == 1 {
			// Nobody else may win while the term lasts.
			time.Sleep(bound / 10)
			for _, c := range cs {
				if c == won[0] {
					continue
				}
				select {
				case <-c.done:
					t.Fatalf("two leaders: %s won while %s still led (err %v)", c.id, won[0].id, c.err)
				default:
				}
			}
			return won[0]
		}
		select {
		case <-deadline:
			t.Fatalf("no leader among %d replicas within %s", len(cs), bound)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func waitLeader(t *testing.T, bs []ha.Backend, want ha.Leader, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok := true
		var got ha.Leader
		for _, b := range bs {
			if got = b.Leader(); got != want {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas do not agree on the leader within %s: one says %+v, want %+v", bound, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ended(t *testing.T, term *ha.Term, bound time.Duration, what string) {
	t.Helper()
	select {
	case <-term.Ctx.Done():
	case <-time.After(bound):
		t.Fatalf("%s: the term did not end within %s", what, bound)
	}
}

// RunBackend checks the election and the fenced store of a backend.
func RunBackend(t *testing.T, h BackendHarness) {
	replicas := func(t *testing.T, n int) ([]ha.Backend, []string) {
		var bs []ha.Backend
		var ids []string
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("replica-%d", i)
			b := h.New(t, id, fmt.Sprintf("http://127.0.0.1:%d", 18000+i))
			t.Cleanup(func() { _ = b.Close() })
			bs, ids = append(bs, b), append(ids, id)
		}
		return bs, ids
	}
	peerOf := func(id string) string {
		var i int
		fmt.Sscanf(id, "replica-%d", &i)
		return fmt.Sprintf("http://127.0.0.1:%d", 18000+i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	t.Run("one_leader_and_all_see_it", func(t *testing.T) {
		bs, ids := replicas(t, 3)
		var cs []*campaign
		for i, b := range bs {
			cs = append(cs, start(ctx, b, ids[i]))
		}
		w := winner(t, cs, h.Bound)
		waitLeader(t, bs, ha.Leader{Identity: w.id, Peer: peerOf(w.id)}, h.Bound)
		if w.term.Ctx.Err() != nil {
			t.Fatal("the winner's term ended at once")
		}
	})

	t.Run("store_follows_leadership_and_fences_the_old_leader", func(t *testing.T) {
		bs, ids := replicas(t, 3)
		var cs []*campaign
		for i, b := range bs {
			cs = append(cs, start(ctx, b, ids[i]))
		}
		w := winner(t, cs, h.Bound)
		doc := []byte(`{"version":2,"rooms":{"r":{"id":"x"}}}`)
		if err := w.term.Store.Save(ctx, doc); err != nil {
			t.Fatalf("leader %s save: %v", w.id, err)
		}
		if err := w.b.Resign(ctx); err != nil {
			t.Fatalf("resign: %v", err)
		}
		ended(t, w.term, h.Bound, "after Resign")
		var rest []*campaign
		for _, c := range cs {
			if c != w {
				rest = append(rest, c)
			}
		}
		w2 := winner(t, rest, h.Bound)
		got, err := w2.term.Store.Load(ctx)
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("new leader %s loads %q, %v; want the old leader's last save %q", w2.id, got, err, doc)
		}
		err = w.term.Store.Save(ctx, []byte(`{"stale":true}`))
		if !errors.Is(err, ha.ErrFenced) {
			t.Fatalf("old leader's save after its term: %v; want an error wrapping ha.ErrFenced", err)
		}
		if got, _ := w2.term.Store.Load(ctx); !bytes.Equal(got, doc) {
			t.Fatalf("the old leader's refused save changed the store: %q", got)
		}
		doc2 := []byte(`{"version":2}`)
		if err := w2.term.Store.Save(ctx, doc2); err != nil {
			t.Fatalf("new leader save: %v", err)
		}
		waitLeader(t, bs, ha.Leader{Identity: w2.id, Peer: peerOf(w2.id)}, h.Bound)
	})

	t.Run("deposed_leader_notices_and_cannot_write", func(t *testing.T) {
		bs, ids := replicas(t, 2)
		c0 := start(ctx, bs[0], ids[0])
		w := winner(t, []*campaign{c0}, h.Bound)
		c1 := start(ctx, bs[1], ids[1])
		if err := w.term.Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
			t.Fatalf("save: %v", err)
		}
		if w.term.Fence != nil {
			if err := w.term.Fence(); err != nil {
				t.Fatalf("the fence of a live term: %v", err)
			}
		}
		h.Depose(t, w.b)
		ended(t, w.term, h.Bound, "after Depose")
		if w.term.Fence != nil {
			if err := w.term.Fence(); !errors.Is(err, ha.ErrFenced) {
				t.Fatalf("the fence of a deposed term: %v; want ha.ErrFenced", err)
			}
		}
		if err := w.term.Store.Save(ctx, []byte(`{"v":"stale"}`)); !errors.Is(err, ha.ErrFenced) {
			t.Fatalf("deposed leader's save: %v; want an error wrapping ha.ErrFenced", err)
		}
		w1 := winner(t, []*campaign{c1}, h.Bound)
		if got, _ := w1.term.Store.Load(ctx); !bytes.Equal(got, []byte(`{"v":1}`)) {
			t.Fatalf("new leader loads %q, want {\"v\":1}", got)
		}
		// The deposed replica campaigns again and leads once the other resigns.
		again := start(ctx, bs[0], ids[0])
		if err := w1.b.Resign(ctx); err != nil {
			t.Fatalf("resign: %v", err)
		}
		w0 := winner(t, []*campaign{again}, h.Bound)
		if err := w0.term.Store.Save(ctx, []byte(`{"v":2}`)); err != nil {
			t.Fatalf("the re-elected replica cannot save: %v", err)
		}
		if err := w1.term.Store.Save(ctx, []byte(`{"v":"stale"}`)); !errors.Is(err, ha.ErrFenced) {
			t.Fatalf("resigned leader's save: %v; want ha.ErrFenced", err)
		}
	})

	t.Run("campaign_ends_with_its_context", func(t *testing.T) {
		bs, ids := replicas(t, 2)
		w := winner(t, []*campaign{start(ctx, bs[0], ids[0])}, h.Bound)
		cctx, ccancel := context.WithCancel(ctx)
		c := start(cctx, bs[1], ids[1])
		time.Sleep(50 * time.Millisecond)
		ccancel()
		select {
		case <-c.done:
			if c.err == nil {
				t.Fatal("a cancelled campaign returned a term while another replica leads")
			}
		case <-time.After(h.Bound):
			t.Fatal("Campaign did not return after its context was cancelled")
		}
		if w.term.Ctx.Err() != nil {
			t.Fatal("the leader's term ended when a follower's campaign was cancelled")
		}
	})

	t.Run("close_ends_the_term", func(t *testing.T) {
		bs, ids := replicas(t, 2)
		w := winner(t, []*campaign{start(ctx, bs[0], ids[0])}, h.Bound)
		c1 := start(ctx, bs[1], ids[1])
		if err := w.b.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		ended(t, w.term, h.Bound, "after Close")
		winner(t, []*campaign{c1}, h.Bound)
	})

	t.Run("concurrent_saves_of_one_leader", func(t *testing.T) {
		bs, ids := replicas(t, 1)
		w := winner(t, []*campaign{start(ctx, bs[0], ids[0])}, h.Bound)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- w.term.Store.Save(ctx, []byte(fmt.Sprintf(`{"n":%d}`, i)))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a leader's own concurrent save failed: %v", err)
			}
		}
		got, _ := w.term.Store.Load(ctx)
		if !bytes.HasPrefix(got, []byte(`{"n":`)) {
			t.Fatalf("after concurrent saves Load = %q", got)
		}
	})
}
