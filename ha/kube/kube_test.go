package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/ha/hatest"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

const ns = "media"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testConfig(c kubernetes.Interface, id, peer string) Config {
	return Config{Namespace: ns, Client: c, Identity: id, Peer: peer, Log: quiet,
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}
}

func mustNew(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func lead(t *testing.T, b *Backend) *ha.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	term, err := b.Campaign(ctx)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	return term
}

// closing closes the backend with the store, so that a reopened store is
// a new replica's (which takes the released Lease at once).
type closing struct {
	reconcile.Store
	b *Backend
}

func (c *closing) Close() error {
	err := c.Store.Close()
	if cerr := c.b.Close(); err == nil {
		err = cerr
	}
	return err
}

// takeLease makes another holder take the Lease, as a replica would once
// the leader's lease expired while it was paused.
func takeLease(t *testing.T, c kubernetes.Interface, holder string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		l, err := c.CoordinationV1().Leases(ns).Get(ctx, DefaultLease, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("read the lease: %v", err)
		}
		now := metav1.NewMicroTime(time.Now())
		one, trans := int32(1), int32(1)
		if l.Spec.LeaseTransitions != nil {
			trans = *l.Spec.LeaseTransitions + 1
		}
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &one,
			AcquireTime: &now, RenewTime: &now, LeaseTransitions: &trans}
		_, err = c.CoordinationV1().Leases(ns).Update(ctx, l, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) || i > 100 {
			t.Fatalf("take the lease: %v", err)
		}
	}
}

func TestContract(t *testing.T) {
	t.Run("store", func(t *testing.T) {
		c := newFake()
		n := 0
		hatest.RunStore(t, hatest.StoreHarness{Open: func(t *testing.T) reconcile.Store {
			n++
			b := mustNew(t, testConfig(c, fmt.Sprintf("store-%d", n), ""))
			return &closing{Store: lead(t, b).Store, b: b}
		}})
	})
	t.Run("backend", func(t *testing.T) {
		var c *fake.Clientset
		hatest.RunBackend(t, hatest.BackendHarness{
			New: func(t *testing.T, identity, peer string) ha.Backend {
				if identity == "replica-0" {
					c = newFake() // a fresh API server per subtest
				}
				b, err := New(testConfig(c, identity, peer))
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			Depose: func(t *testing.T, b ha.Backend) {
				takeLease(t, b.(*Backend).client, "intruder@http://127.0.0.1:1")
			},
			Bound: 5 * time.Second,
		})
	})
}

// prepend adds a reactor under the fake's lock: the backend's goroutines
// call the fake meanwhile.
func prepend(c *fake.Clientset, verb, resource string, fn k8stesting.ReactionFunc) {
	c.Lock()
	defer c.Unlock()
	c.PrependReactor(verb, resource, fn)
}

// conflictOnce makes the first ConfigMap update of c fail its
// resourceVersion check: before it reaches the API server, another writer
// changes the ConfigMap with change.
func conflictOnce(c *fake.Clientset, change func(*corev1.ConfigMap)) *atomic.Int32 {
	var updates atomic.Int32
	prepend(c, "update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if updates.Add(1) != 1 {
			return false, nil, nil
		}
		obj, err := c.Tracker().Get(a.GetResource(), a.GetNamespace(), DefaultConfigMap)
		if err != nil {
			return true, nil, err
		}
		cm := obj.(*corev1.ConfigMap).DeepCopy()
		change(cm)
		cm.ResourceVersion = "changed-by-another-writer"
		if err := c.Tracker().Update(a.GetResource(), cm, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return false, nil, nil // on to the resourceVersion check, which fails
	})
	return &updates
}

func stored(t *testing.T, c kubernetes.Interface) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), DefaultConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func TestSaveRereadsOnConflict(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", "http://a:8086"))
	term := lead(t, b)
	ctx := context.Background()
	if err := term.Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	updates := conflictOnce(c, func(cm *corev1.ConfigMap) {
		cm.Labels["edited-by"] = "operator"
		cm.Annotations["note"] = "kept"
	})
	if err := term.Store.Save(ctx, []byte(`{"v":2}`)); err != nil {
		t.Fatalf("save after a conflict: %v", err)
	}
	if n := updates.Load(); n != 2 {
		t.Errorf("%d updates; want 2 (the conflict, then the write of the re-read ConfigMap)", n)
	}
	cm := stored(t, c)
	if cm.Data[DataKey] != `{"v":2}` {
		t.Errorf("stored %q, want the saved document", cm.Data[DataKey])
	}
	if cm.Labels["edited-by"] != "operator" || cm.Annotations["note"] != "kept" {
		t.Errorf("the other writer's change was overwritten (labels %v, annotations %v): the write did not re-read", cm.Labels, cm.Annotations)
	}
	if got, err := term.Store.Load(ctx); err != nil || string(got) != `{"v":2}` {
		t.Errorf("Load = %q, %v", got, err)
	}
}

func TestClaimOfNewerTermFencesAnOlderOne(t *testing.T) {
	c := newFake()
	a := mustNew(t, testConfig(c, "a", "http://a:8086"))
	ta := lead(t, a)
	ctx := context.Background()
	if err := ta.Store.Save(ctx, []byte(`{"by":"a"}`)); err != nil {
		t.Fatal(err)
	}
	// Between a's read and its write, a newer term claims the ConfigMap
	// (as if a's lease expired while it was paused and b took over), while
	// a's own view of its lease is still fresh.
	updates := conflictOnce(c, func(cm *corev1.ConfigMap) {
		cm.Annotations[TermAnnotation] = "b@http://b:8086 (lease uid uid-9, transition 9)"
		cm.Data[DataKey] = `{"by":"b"}`
	})
	takeLease(t, c, "b@http://b:8086")
	a.run.mu.Lock()
	a.run.lastRenew = time.Now() // a has not noticed yet
	a.run.mu.Unlock()
	// The elector may notice the loss first; either way the save is fenced.
	err := ta.Store.Save(ctx, []byte(`{"by":"a","stale":true}`))
	if !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("old term's save: %v; want ha.ErrFenced", err)
	}
	if updates.Load() > 1 {
		t.Errorf("%d updates of the ConfigMap after the newer claim", updates.Load())
	}
	select {
	case <-ta.Ctx.Done():
	case <-time.After(2 * time.Second):
		t.Error("the fenced term did not end")
	}
	if got := stored(t, c).Data[DataKey]; got != `{"by":"b"}` {
		t.Errorf("stored %q: the old term overwrote the newer one", got)
	}
}

// staleStore is the store of a term that believes it leads (fresh
// renewal, context alive) while the Lease and the ConfigMap say otherwise:
// the write the package comment's layers (2) and (3) refuse.
func staleStore(t *testing.T, c kubernetes.Interface) (*store, *run) {
	t.Helper()
	b := mustNew(t, testConfig(c, "a", "http://a:8086"))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &run{b: b, cancel: cancel, done: make(chan struct{}), lastRenew: time.Now()}
	tr := &term{ctx: ctx, cancel: cancel, uid: "uid-1", trans: 1, claim: "a@http://a:8086 (lease uid uid-1, transition 1)"}
	r.term = tr
	return &store{b: b, r: r, t: tr}, r
}

func seed(t *testing.T, c kubernetes.Interface, holder, claim, doc string) {
	t.Helper()
	ctx := context.Background()
	trans := int32(2)
	if _, err := c.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultLease, Namespace: ns},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseTransitions: &trans},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultConfigMap, Namespace: ns, Annotations: map[string]string{TermAnnotation: claim}},
		Data:       map[string]string{DataKey: doc},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestStaleTermCannotSupersedeAClaim(t *testing.T) {
	for _, tc := range []struct{ name, holder string }{
		{"another_holder", "b@http://b:8086"},
		{"same_holder_later_transition", "a@http://a:8086"}, // transition 2, the term had 1
		{"nobody", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFake()
			seed(t, c, tc.holder, "b (lease uid uid-1, transition 2)", `{"by":"b"}`)
			s, r := staleStore(t, c)
			err := s.Save(context.Background(), []byte(`{"by":"a"}`))
			if !errors.Is(err, ha.ErrFenced) {
				t.Fatalf("save: %v; want ha.ErrFenced", err)
			}
			for _, want := range []string{"refused", "media/srs-owt-proxy-state", "claimed by", tc.holder} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if r.term.ctx.Err() == nil {
				t.Error("the fenced term goes on")
			}
			cm := stored(t, c)
			if cm.Data[DataKey] != `{"by":"b"}` || cm.Annotations[TermAnnotation] != "b (lease uid uid-1, transition 2)" {
				t.Errorf("the stale term wrote: %v %v", cm.Data, cm.Annotations)
			}
			// Over, the term still reads (without claiming).
			got, err := s.Load(context.Background())
			if err != nil || string(got) != `{"by":"b"}` {
				t.Errorf("Load after the term = %q, %v", got, err)
			}
			if stored(t, c).ResourceVersion != cm.ResourceVersion {
				t.Error("Load of an ended term wrote the ConfigMap")
			}
		})
	}
}

func TestLeaseMissingFences(t *testing.T) {
	c := newFake()
	if _, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultConfigMap, Namespace: ns},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s, _ := staleStore(t, c)
	if err := s.Save(context.Background(), []byte(`{}`)); !errors.Is(err, ha.ErrFenced) {
		t.Fatalf("save with no lease: %v; want ha.ErrFenced", err)
	}
}

func TestClaimWithTheLeaseHeld(t *testing.T) {
	// The term holds the lease (holder, uid, transition agree): it claims
	// a ConfigMap another term claimed before, on Load and on Save.
	for _, op := range []string{"load", "save"} {
		t.Run(op, func(t *testing.T) {
			c := newFake()
			seed(t, c, "a@http://a:8086", "old term", `{"by":"old"}`)
			s, _ := staleStore(t, c)
			s.t.uid, s.t.trans = "uid-1", 2
			var err error
			if op == "load" {
				var got []byte
				got, err = s.Load(context.Background())
				if string(got) != `{"by":"old"}` {
					t.Errorf("Load = %q", got)
				}
			} else {
				err = s.Save(context.Background(), []byte(`{"by":"a"}`))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stored(t, c).Annotations[TermAnnotation]; got != s.t.claim {
				t.Errorf("claim = %q, want %q", got, s.t.claim)
			}
		})
	}
}

// TestPreCreatedConfigMap: an operator who creates the ConfigMap by hand
// (to drop the create rule of the Role) gets it claimed and written.
func TestPreCreatedConfigMap(t *testing.T) {
	c := newFake()
	if _, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultConfigMap, Namespace: ns},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	prepend(c, "create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("create must not be needed")
	})
	b := mustNew(t, testConfig(c, "a", ""))
	term := lead(t, b)
	ctx := context.Background()
	if doc, err := term.Store.Load(ctx); doc != nil || err != nil {
		t.Fatalf("Load of the empty ConfigMap = %q, %v", doc, err)
	}
	if err := term.Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if cm := stored(t, c); cm.Data[DataKey] != `{"v":1}` || !strings.HasPrefix(cm.Annotations[TermAnnotation], "a (lease uid ") {
		t.Errorf("stored %v %v", cm.Data, cm.Annotations)
	}
}

// TestLossNoticedAtOnce: a leader whose renewal finds another holder in
// the Lease ends its term then, not renew_deadline later when the elector
// gives up.
func TestLossNoticedAtOnce(t *testing.T) {
	c := newFake()
	cfg := testConfig(c, "a", "")
	cfg.LeaseDuration, cfg.RenewDeadline = 10*time.Second, 8*time.Second
	b := mustNew(t, cfg)
	term := lead(t, b)
	takeLease(t, c, "b@http://b:8086")
	select {
	case <-term.Ctx.Done():
	case <-time.After(cfg.RenewDeadline / 2):
		t.Fatalf("the term went on for %s after another replica took the Lease", cfg.RenewDeadline/2)
	}
	if err := term.Store.Save(context.Background(), []byte(`{}`)); !errors.Is(err, ha.ErrFenced) {
		t.Errorf("save after the loss: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for b.Leader() != (ha.Leader{Identity: "b", Peer: "http://b:8086"}) {
		if time.Now().After(deadline) {
			t.Fatalf("Leader() = %+v after the loss", b.Leader())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLateRenewalFences(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", ""))
	term := lead(t, b)
	ctx := context.Background()
	if err := term.Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	// A leader paused longer than renew_deadline: its elector has not run,
	// its last renewal is old. It must not write.
	b.run.mu.Lock()
	b.run.lastRenew = time.Now().Add(-2 * b.cfg.RenewDeadline)
	b.run.mu.Unlock()
	err := term.Store.Save(ctx, []byte(`{"v":"late"}`))
	if !errors.Is(err, ha.ErrFenced) || !strings.Contains(err.Error(), "last renewed") {
		t.Fatalf("save after a late renewal: %v; want ha.ErrFenced saying when the lease was last renewed", err)
	}
	if term.Ctx.Err() == nil {
		t.Error("the term goes on after a refused write")
	}
	if got := stored(t, c).Data[DataKey]; got != `{"v":1}` {
		t.Errorf("stored %q", got)
	}
}

func TestDocumentLimits(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", ""))
	term := lead(t, b)
	ctx := context.Background()
	max := bytes.Repeat([]byte("x"), MaxDocument)
	if err := term.Store.Save(ctx, max); err != nil {
		t.Fatalf("a document of %d bytes (the most a ConfigMap holds): %v", len(max), err)
	}
	err := term.Store.Save(ctx, append(max, 'x'))
	if err == nil || !strings.Contains(err.Error(), "1 MiB") || !strings.Contains(err.Error(), "nothing was written") ||
		!strings.Contains(err.Error(), "media/srs-owt-proxy-state") {
		t.Fatalf("oversize document: %v; want a refusal naming the ConfigMap and the 1 MiB limit", err)
	}
	if err := term.Store.Save(ctx, []byte{0xff, 0xfe}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("binary document: %v", err)
	}
	if got := stored(t, c).Data[DataKey]; got != string(max) {
		t.Errorf("a refused document changed the store (%d bytes)", len(got))
	}
	if MaxDocument+len(DataKey) != 1<<20 {
		t.Errorf("MaxDocument %d + key %d != 1 MiB", MaxDocument, len(DataKey))
	}
}

func TestAPIErrorsSayWhatToDo(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"forbidden", apierrors.NewForbidden(gr, DefaultConfigMap, errors.New("no")),
			[]string{"read ConfigMap media/srs-owt-proxy-state", "grant get, create and update on configmaps", `"srs-owt-proxy-state"`, `namespace "media"`}},
		{"unauthorized", apierrors.NewUnauthorized("bad token"), []string{"credentials", "kubeconfig"}},
		{"timeout", apierrors.NewTimeoutError("slow", 1), []string{"did not answer within 1.5s"}},
		{"deadline", context.DeadlineExceeded, []string{"did not answer within 1.5s"}},
		{"other", errors.New("connection refused"), []string{"reachable from the pod", "RBAC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFake()
			b := mustNew(t, testConfig(c, "a", ""))
			term := lead(t, b)
			prepend(c, "get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			for _, op := range []func() error{
				func() error { return term.Store.Save(context.Background(), []byte(`{}`)) },
				func() error { _, err := term.Store.Load(context.Background()); return err },
			} {
				err := op()
				if err == nil {
					t.Fatal("no error")
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("%v does not wrap the API error", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
		})
	}
	if h := hint(apierrors.NewRequestEntityTooLargeError("big"), "configmaps", ns, "x", time.Second); !strings.Contains(h, "1 MiB") {
		t.Errorf("too large: %q", h)
	}
	if h := hint(apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "l", errors.New("no")),
		"leases.coordination.k8s.io", ns, "l", time.Second); !strings.Contains(h, `leases.coordination.k8s.io "l" in namespace "media"`) {
		t.Errorf("lease forbidden: %q", h)
	}
}

func TestCreateAndUpdateErrors(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, DefaultConfigMap, errors.New("no"))
	for _, verb := range []string{"create", "update"} {
		t.Run(verb, func(t *testing.T) {
			c := newFake()
			b := mustNew(t, testConfig(c, "a", ""))
			term := lead(t, b)
			ctx := context.Background()
			if verb == "update" {
				if err := term.Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
					t.Fatal(err)
				}
			}
			prepend(c, verb, "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, forbidden
			})
			err := term.Store.Save(ctx, []byte(`{"v":2}`))
			if !errors.Is(err, forbidden) || !strings.Contains(err.Error(), verb+" ConfigMap media/srs-owt-proxy-state") {
				t.Errorf("save: %v", err)
			}
			if verb == "create" {
				_, err = term.Store.Load(ctx)
				if !errors.Is(err, forbidden) || !strings.Contains(err.Error(), "create ConfigMap") {
					t.Errorf("load: %v", err)
				}
			}
		})
	}
	t.Run("claim", func(t *testing.T) {
		c := newFake()
		seed(t, c, "a@http://a:8086", "old term", `{}`)
		s, _ := staleStore(t, c)
		s.t.uid, s.t.trans = "uid-1", 2
		prepend(c, "update", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, forbidden
		})
		if _, err := s.Load(context.Background()); !errors.Is(err, forbidden) || !strings.Contains(err.Error(), "claim (update) ConfigMap") {
			t.Errorf("load: %v", err)
		}
	})
	t.Run("lease_read", func(t *testing.T) {
		c := newFake()
		seed(t, c, "a@http://a:8086", "old term", `{}`)
		s, _ := staleStore(t, c)
		prepend(c, "get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, DefaultLease, errors.New("no"))
		})
		for _, op := range []func() error{
			func() error { return s.Save(context.Background(), []byte(`{}`)) },
			func() error { _, err := s.Load(context.Background()); return err },
		} {
			err := op()
			if err == nil || errors.Is(err, ha.ErrFenced) || !strings.Contains(err.Error(), "read the lease media/srs-owt-proxy") ||
				!strings.Contains(err.Error(), "grant get, create and update on leases") {
				t.Errorf("lease unreadable: %v", err)
			}
		}
	})
}

func TestStoreAfterCloseAndCancel(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", ""))
	term := lead(t, b)
	if s := term.Store.String(); s != "configmap media/srs-owt-proxy-state (key state.json)" {
		t.Errorf("String() = %q", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := term.Store.Save(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("save with a cancelled context: %v", err)
	}
	if _, err := term.Store.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("load with a cancelled context: %v", err)
	}
	_ = term.Store.Close()
	if err := term.Store.Save(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("save after close: %v", err)
	}
	if _, err := term.Store.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("load after close: %v", err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), DefaultConfigMap, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused operation created the ConfigMap: %v", err)
	}
}

func TestEmptyStoreAfterTheTermWritesNothing(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", ""))
	term := lead(t, b)
	if err := b.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := term.Store.Save(context.Background(), []byte(`{}`)); !errors.Is(err, ha.ErrFenced) {
		t.Errorf("save after resign: %v", err)
	}
	if doc, err := term.Store.Load(context.Background()); doc != nil || err != nil {
		t.Errorf("load after resign: %q, %v", doc, err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), DefaultConfigMap, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an ended term created the ConfigMap: %v", err)
	}
}

func TestHolderIdentity(t *testing.T) {
	for _, tc := range []struct {
		holder string
		want   ha.Leader
	}{
		{"pod-a-1f2e@http://10.0.0.7:8086", ha.Leader{Identity: "pod-a-1f2e", Peer: "http://10.0.0.7:8086"}},
		{"pod-a-1f2e", ha.Leader{Identity: "pod-a-1f2e"}},
		{"", ha.Leader{}},
		{"a@http://user@host:1", ha.Leader{Identity: "a", Peer: "http://user@host:1"}},
	} {
		if got := parseHolder(tc.holder); got != tc.want {
			t.Errorf("parseHolder(%q) = %+v, want %+v", tc.holder, got, tc.want)
		}
		if tc.holder != "" {
			if got := holderOf(tc.want.Identity, tc.want.Peer); got != tc.holder {
				t.Errorf("holderOf(%+v) = %q", tc.want, got)
			}
		}
	}
}

func TestLeaderSeenWithoutCampaigning(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "follower", ""))
	if got := b.Leader(); got != (ha.Leader{}) {
		t.Errorf("no lease: Leader() = %+v", got)
	}
	holder := "other-1@http://10.1.2.3:8086"
	if _, err := c.CoordinationV1().Leases(ns).Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultLease, Namespace: ns},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := ha.Leader{Identity: "other-1", Peer: "http://10.1.2.3:8086"}
	deadline := time.Now().Add(3 * time.Second)
	for b.Leader() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Leader() = %+v, want %+v", b.Leader(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	l, _ := c.CoordinationV1().Leases(ns).Get(context.Background(), DefaultLease, metav1.GetOptions{})
	l.Spec.HolderIdentity = nil
	if _, err := c.CoordinationV1().Leases(ns).Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for b.Leader() != (ha.Leader{}) {
		if time.Now().After(deadline.Add(3 * time.Second)) {
			t.Fatalf("released lease: Leader() = %+v", b.Leader())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := b.String(); s != "kubernetes lease media/srs-owt-proxy, configmap media/srs-owt-proxy-state" {
		t.Errorf("String() = %q", s)
	}
}

func TestCampaignMisuse(t *testing.T) {
	c := newFake()
	b := mustNew(t, testConfig(c, "a", ""))
	if err := b.Resign(context.Background()); err != nil {
		t.Errorf("resign without a term: %v", err)
	}
	term := lead(t, b)
	if _, err := b.Campaign(context.Background()); err == nil || !strings.Contains(err.Error(), "already leads") {
		t.Errorf("campaign while leading: %v", err)
	}
	// A follower's campaign blocks; a second one at once is refused.
	f := mustNew(t, testConfig(c, "f", ""))
	fctx, fcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := f.Campaign(fctx); done <- err }()
	time.Sleep(50 * time.Millisecond)
	if _, err := f.Campaign(context.Background()); err == nil || !strings.Contains(err.Error(), "already campaigning") {
		t.Errorf("second campaign: %v", err)
	}
	if err := f.Resign(context.Background()); err != nil {
		t.Errorf("resign of a follower: %v", err)
	}
	fcancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "media/srs-owt-proxy") {
		t.Errorf("cancelled campaign: %v", err)
	}
	// Resign with an expired context still ends the term.
	rctx, rcancel := context.WithCancel(context.Background())
	rcancel()
	if err := b.Resign(rctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("resign: %v", err)
	}
	select {
	case <-term.Ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the term did not end at Resign")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := b.Campaign(context.Background()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("campaign after close: %v", err)
	}
}

func TestCloseEndsACampaign(t *testing.T) {
	c := newFake()
	a := mustNew(t, testConfig(c, "a", ""))
	lead(t, a)
	f := mustNew(t, testConfig(c, "f", ""))
	done := make(chan error, 1)
	go func() { _, err := f.Campaign(context.Background()); done <- err }()
	time.Sleep(50 * time.Millisecond)
	_ = f.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("campaign at close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the campaign")
	}
}

func TestNewChecksItsConfig(t *testing.T) {
	c := newFake()
	base := testConfig(c, "a", "http://a:8086")
	dir := t.TempDir()
	orig := namespaceFile
	t.Cleanup(func() { namespaceFile = orig })
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"fraction_of_second", func(c *Config) { c.LeaseDuration = 1500 * time.Millisecond }, "lease_duration 1.5s: give whole seconds"},
		{"sub_second", func(c *Config) { c.LeaseDuration = 500 * time.Millisecond }, "at least 1s"},
		{"renew_not_shorter", func(c *Config) { c.RenewDeadline = 2 * time.Second }, "renew_deadline 2s must be shorter than lease_duration 2s"},
		{"negative_retry", func(c *Config) { c.RetryPeriod = -time.Second }, "must be positive"},
		{"negative_renew", func(c *Config) { c.RenewDeadline = -time.Second }, "must be positive"},
		{"retry_too_long", func(c *Config) { c.RetryPeriod = 1300 * time.Millisecond }, "must exceed 1.2 × retry_period 1.3s"},
		{"identity_with_at", func(c *Config) { c.Identity = "a@b" }, `identity "a@b" contains '@'`},
		{"peer_with_space", func(c *Config) { c.Peer = "http://a b" }, "SRS_OWT_HA_ADVERTISE"},
		{"no_namespace", func(c *Config) { c.Namespace = "" }, "ha.kubernetes.namespace is empty"},
		{"no_cluster", func(c *Config) { c.Client = nil }, "no in-cluster config"},
		{"bad_kubeconfig", func(c *Config) { c.Client, c.Kubeconfig = nil, filepath.Join(dir, "missing") }, "ha.kubernetes.kubeconfig " + dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			namespaceFile = filepath.Join(dir, "no-such-file")
			cfg := base
			tc.edit(&cfg)
			b, err := New(cfg)
			if err == nil {
				_ = b.Close()
				t.Fatalf("New accepted %+v", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	t.Run("defaults_and_pod_namespace", func(t *testing.T) {
		f := filepath.Join(dir, "namespace")
		if err := os.WriteFile(f, []byte("media\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		namespaceFile = f
		b := mustNew(t, Config{Client: c, Log: quiet})
		if b.cfg.Namespace != "media" || b.cfg.Lease != DefaultLease || b.cfg.ConfigMap != DefaultConfigMap ||
			b.cfg.LeaseDuration != DefaultLeaseDuration || b.cfg.RenewDeadline != DefaultRenewDeadline || b.cfg.RetryPeriod != DefaultRetryPeriod {
			t.Errorf("defaults: %+v", b.cfg)
		}
		if b.cfg.Identity == "" || b.holder != b.cfg.Identity {
			t.Errorf("identity %q, holder %q", b.cfg.Identity, b.holder)
		}
	})
	t.Run("kubeconfig", func(t *testing.T) {
		kc := filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := base
		cfg.Client, cfg.Kubeconfig = nil, kc
		b := mustNew(t, cfg)
		if b.client == nil {
			t.Fatal("no client")
		}
	})
}

// TestReaderErrors: the reader of a store says what failed and never writes.
func TestReaderErrors(t *testing.T) {
	c := newFake()
	r, err := OpenReader(Config{Namespace: ns, Client: c})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := mustNew(t, testConfig(c, "a", ""))
	if err := lead(t, b).Store.Save(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	before := stored(t, c).ResourceVersion
	if doc, err := r.Load(ctx); string(doc) != `{"v":1}` || err != nil {
		t.Errorf("Load = %q, %v", doc, err)
	}
	if err := r.Save(ctx, []byte(`{}`)); err == nil || stored(t, c).ResourceVersion != before {
		t.Errorf("Save: %v; the reader must not write", err)
	}
	prepend(c, "get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, DefaultConfigMap, errors.New("no"))
	})
	if _, err := r.Load(ctx); err == nil || !strings.Contains(err.Error(), "read ConfigMap media/srs-owt-proxy-state") || !strings.Contains(err.Error(), "needs get") {
		t.Errorf("forbidden: %v", err)
	}
	orig := namespaceFile
	t.Cleanup(func() { namespaceFile = orig })
	namespaceFile = filepath.Join(t.TempDir(), "none")
	if _, err := OpenReader(Config{Client: c}); err == nil || !strings.Contains(err.Error(), "ha.kubernetes.namespace is empty") {
		t.Errorf("no namespace: %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := OpenReader(Config{Namespace: ns}); err == nil || !strings.Contains(err.Error(), "no in-cluster config") {
		t.Errorf("no cluster: %v", err)
	}
}
