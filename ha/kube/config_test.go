package kube

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// The backend's own defaults are agent.yaml's (policy), so that a Config
// left empty behaves as the documented ha.kubernetes section.
func TestDefaultsAreAgentYAMLs(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"lease", DefaultLease, policy.DefaultHALease},
		{"configmap", DefaultConfigMap, policy.DefaultHAConfigMap},
		{"lease_duration", DefaultLeaseDuration, policy.DefaultHALeaseDuration},
		{"renew_deadline", DefaultRenewDeadline, policy.DefaultHARenewDeadline},
		{"retry_period", DefaultRetryPeriod, policy.DefaultHARetryPeriod},
	} {
		if c.got != c.want {
			t.Errorf("default %s: %v here, %v in agent.yaml", c.name, c.got, c.want)
		}
	}
	b := mustNew(t, Config{Namespace: ns, Client: newFake(), Identity: "a", Log: quiet})
	if b.cfg.LeaseDuration != policy.DefaultHALeaseDuration || b.cfg.RenewDeadline != policy.DefaultHARenewDeadline ||
		b.cfg.RetryPeriod != policy.DefaultHARetryPeriod {
		t.Errorf("an empty Config gets lease %s, renew %s, retry %s", b.cfg.LeaseDuration, b.cfg.RenewDeadline, b.cfg.RetryPeriod)
	}
}

// records keeps the log records' messages and error attributes.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	s := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			s += " err=" + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, s)
	return nil
}

func (r *records) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// An API error on the Lease is logged once a minute while it repeats, and
// at once when it changes.
func TestLeaseErrorsLoggedOnceAMinuteEach(t *testing.T) {
	rec := &records{}
	cfg := testConfig(newFake(), "a", "") // the watcher finds no Lease: nothing to log
	cfg.Log = slog.New(rec)
	b := mustNew(t, cfg)
	refused, down := errors.New("connection refused"), errors.New("no route to host")
	b.warn(refused, "read")
	b.warn(refused, "read")
	b.warn(down, "read")
	b.warn(down, "update")
	b.warn(refused, "read")
	want := []string{"ha: cannot read the Lease err=connection refused", "ha: cannot read the Lease err=no route to host",
		"ha: cannot read the Lease err=connection refused"}
	if got := rec.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged %q, want %q", got, want)
	}
	// A minute later the same error is logged again.
	b.mu.Lock()
	b.warnedAt = b.warnedAt.Add(-time.Minute)
	b.mu.Unlock()
	b.warn(refused, "read")
	if got := rec.all(); len(got) != len(want)+1 {
		t.Errorf("after a minute: logged %q", got)
	}
}

// fakeAPI is an API server that serves one ConfigMap and records the
// queries it was sent.
func fakeAPI(t *testing.T, cm *corev1.ConfigMap) (kubeconfig string, queries func() []string) {
	t.Helper()
	var mu sync.Mutex
	var qs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		qs = append(qs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/"+cm.Namespace+"/configmaps/"+cm.Name {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound})
			return
		}
		out := cm.DeepCopy()
		out.TypeMeta = metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+srv.URL+`"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), qs...)
	}
}

// `diff` outside the cluster: the reader builds its client from a
// kubeconfig, reads the ConfigMap through the API, and bounds each read
// by 10 s (the API server is told so too).
func TestReaderWithKubeconfig(t *testing.T) {
	kc, queries := fakeAPI(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "state"},
		Data: map[string]string{DataKey: `{"version":2}`}})
	r, err := OpenReader(Config{Namespace: ns, ConfigMap: "state", Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	doc, err := r.Load(context.Background())
	if err != nil || string(doc) != `{"version":2}` {
		t.Fatalf("Load = %q, %v", doc, err)
	}
	if got := queries(); len(got) != 1 || got[0] != "GET /api/v1/namespaces/media/configmaps/state?timeout=10s" {
		t.Errorf("requests %q; want one GET of the ConfigMap with timeout=10s", got)
	}
	r2, err := OpenReader(Config{Namespace: ns, Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	if doc, err := r2.Load(context.Background()); doc != nil || err != nil {
		t.Errorf("Load of the absent default ConfigMap = %q, %v", doc, err)
	}
	if r2.String() != "ConfigMap media/"+DefaultConfigMap+" (read-only)" {
		t.Errorf("String = %q", r2.String())
	}
}

// In a pod, the reader takes the pod's namespace from the ServiceAccount
// mount; an empty namespace file is no namespace.
func TestReaderNamespaceFromThePod(t *testing.T) {
	orig := namespaceFile
	t.Cleanup(func() { namespaceFile = orig })
	dir := t.TempDir()
	c := newFake()
	if _, err := c.CoreV1().ConfigMaps("pods-ns").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "pods-ns", Name: DefaultConfigMap}, Data: map[string]string{DataKey: `{"v":1}`},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	namespaceFile = filepath.Join(dir, "namespace")
	if err := os.WriteFile(namespaceFile, []byte("pods-ns\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(Config{Client: c})
	if err != nil {
		t.Fatalf("OpenReader in a pod: %v", err)
	}
	if doc, err := r.Load(context.Background()); string(doc) != `{"v":1}` || err != nil {
		t.Errorf("Load = %q, %v; want the pod namespace's ConfigMap", doc, err)
	}
	if r.String() != "ConfigMap pods-ns/"+DefaultConfigMap+" (read-only)" {
		t.Errorf("String = %q", r.String())
	}
	for _, content := range []string{"", " \n"} {
		if err := os.WriteFile(namespaceFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if r, err := OpenReader(Config{Client: c}); err == nil || !strings.Contains(err.Error(), "ha.kubernetes.namespace is empty") {
			t.Errorf("namespace file %q: %+v, %v; want an error", content, r, err)
		}
	}
}
