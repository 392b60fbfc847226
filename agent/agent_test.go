package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

const testPolicy = `reconcile: {interval: 1h, delete_grace: 1s}
routes:
  - match: {app: live}
    room: "{{.Stream}}"
`

func newTestAgent(t *testing.T) (*Agent, *lab.Lab) {
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
	a, err := New(Options{Config: cfg, Policy: pol, PolicyFile: pf, Getenv: getenv, HookListener: hookLn})
	if err != nil {
		t.Fatal(err)
	}
	return a, l
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHealthReadyMetrics(t *testing.T) {
	a, _ := newTestAgent(t)
	mux := a.metricsMux()
	if code, body := get(t, mux, "/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, mux, "/readyz"); code != 503 || !strings.Contains(body, "hook listener is not serving") {
		t.Fatalf("/readyz before Run = %d %q, want 503", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, mux, "/readyz")
		if code == 200 && body == "ready\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never ready: %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Ready as soon as hooks are served; the first resync follows.
	var code int
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; {
		code, body = get(t, mux, "/metrics")
		if strings.Contains(body, `srs_owt_proxy_resyncs_total{result="ok"} 1`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, m := range []string{"srs_owt_proxy_resyncs_total{result=\"ok\"} 1", "srs_owt_proxy_queue_depth",
		"srs_owt_proxy_upstream_requests_total{call=\"list_rooms\",server=\"owt\",status=\"200\"}", "srs_owt_proxy_policy_last_reload_successful 1"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// Readiness says whether this replica answers hooks correctly, never
// whether OWT or SRS are up: with readiness following OWT, an OWT outage
// would take every replica out of the hook Service and SRS would refuse
// every publish. The outage shows in metrics and on the status page.
func TestReadyzIgnoresOWTDown(t *testing.T) {
	a, l := newTestAgent(t)
	l.OWT.SetErrorRate("", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Wait until the agent has seen OWT fail.
		if st := a.Status(); st.OWT.Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent never saw OWT fail")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := get(t, a.metricsMux(), "/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz with OWT down = %d %q, want 200: readiness must not follow OWT", code, body)
	}
	if code, body := get(t, a.metricsMux(), "/healthz"); code != 200 {
		t.Fatalf("/healthz with OWT down = %d %q, want 200", code, body)
	}
	cancel()
	<-done
}

func TestLimiterHoldsTheRate(t *testing.T) {
	l := newLimiter(100) // burst 10
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 30; i++ {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 10 from the burst, 20 more at 100/s: at least ~200 ms.
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("30 requests at 100/s took %s; the limit did not hold", el)
	}
}
