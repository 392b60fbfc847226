package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// The identity is host/pid; an unknown host name (an error, or empty) is
// "localhost", whatever name came with the error.
func TestIdentity(t *testing.T) {
	pid := os.Getpid()
	for _, c := range []struct {
		host string
		err  error
		want string
	}{
		{"node-1", nil, fmt.Sprintf("node-1/%d", pid)},
		{"", nil, fmt.Sprintf("localhost/%d", pid)},
		{"", errors.New("uname failed"), fmt.Sprintf("localhost/%d", pid)},
		{"stale", errors.New("uname failed"), fmt.Sprintf("localhost/%d", pid)},
	} {
		if got := identity(c.host, c.err); got != c.want {
			t.Errorf("identity(%q, %v) = %q, want %q", c.host, c.err, got, c.want)
		}
	}
	h, err := os.Hostname()
	if err == nil && h != "" {
		if got, want := defaultIdentity(), fmt.Sprintf("%s/%d", h, pid); got != want {
			t.Errorf("defaultIdentity() = %q, want %q", got, want)
		}
	}
}

// The status page shows the first 12 characters of the policy digest, and
// "no policy" without one.
func TestPolicyStateDigest(t *testing.T) {
	pol, err := policy.ParsePolicy("policy.yaml", []byte(testPolicy), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var p policyState
	at := time.Unix(1700000000, 0)
	p.loaded(pol, at, false)
	st := p.status("policy.yaml")
	if len(pol.Digest()) <= 12 {
		t.Fatalf("digest %q too short for the test", pol.Digest())
	}
	if st.Digest != pol.Digest()[:12] || st.Summary != pol.Summary() || st.Generation != 1 || !st.LoadedAt.Equal(at) {
		t.Errorf("status after a load: %+v, want digest %q", st, pol.Digest()[:12])
	}
	if !st.LastReloadAt.IsZero() || st.LastReloadOK {
		t.Errorf("the first load is no reload: %+v", st)
	}
	p.failed(errors.New("bad yaml"), at.Add(time.Second))
	p.loaded(nil, at.Add(2*time.Second), true)
	st = p.status("policy.yaml")
	if st.Summary != "no policy" || st.Digest != "" || st.Generation != 2 || !st.LastReloadOK || st.LastReloadError != "" {
		t.Errorf("status after a reload without policy: %+v", st)
	}
}

// With metrics, the OWT client built by Clients counts its requests.
func TestClientsObserveOWTAndSRS(t *testing.T) {
	l, err := lab.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := &policy.Agent{}
	cfg.OWT.URL, cfg.OWT.ServiceID, cfg.OWT.ServiceKey = l.OWTURL, lab.ServiceID, lab.ServiceKey
	cfg.OWT.Timeout, cfg.OWT.StreamingInTimeout = 5*time.Second, 5*time.Second
	cfg.SRS = []policy.SRSServer{{Name: "origin", API: l.SRSURL, Pull: "rtmp://127.0.0.1/"}}
	m := NewRequestMetrics(prometheus.NewRegistry())
	servers, owt, err := Clients(cfg, m, "")
	if err != nil {
		t.Fatal(err)
	}
	defer owt.Close()
	if len(servers) != 1 || servers[0].Name != "origin" {
		t.Fatalf("servers %+v", servers)
	}
	if _, err := owt.ListRooms(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(m.Requests.WithLabelValues("owt", "list_rooms", "200")); n != 1 {
		t.Errorf("owt list_rooms requests counted %v, want 1", n)
	}
	if _, err := servers[0].Client.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(m.Requests.WithLabelValues("origin", "list_streams", "200")); n < 1 {
		t.Errorf("srs origin list_streams requests counted %v, want at least 1", n)
	}
}

// agent.policy_reload_check re-reads the policy without any file event: a
// changed publish token (read from the environment) is loaded.
func TestAgentPeriodicPolicyCheck(t *testing.T) {
	var token atomic.Value
	token.Store("first")
	getenv := func(k string) string {
		switch k {
		case "OWT_SERVICE_KEY":
			return lab.ServiceKey
		case "PUB_TOKEN":
			return token.Load().(string)
		}
		return ""
	}
	s := setupAgent(t, func(o *Options) {
		pf := filepath.Join(t.TempDir(), "policy.yaml")
		src := strings.Replace(testPolicy, "room: \"{{.Stream}}\"", "room: \"{{.Stream}}\"\n    token_env: PUB_TOKEN", 1)
		if err := os.WriteFile(pf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		pol, err := policy.LoadPolicy(pf, getenv)
		if err != nil {
			t.Fatal(err)
		}
		o.Policy, o.PolicyFile, o.Getenv = pol, pf, getenv
		o.Config.Agent.PolicyReloadCheck = 50 * time.Millisecond
		o.Config.Agent.MetricsListen = ""
	})
	s.start(t)
	time.Sleep(200 * time.Millisecond)
	if got := testutil.ToFloat64(s.a.reloads.WithLabelValues("ok")); got != 0 {
		t.Fatalf("%v reloads of an unchanged policy", got)
	}
	token.Store("second")
	waitFor(t, "reload by the periodic check", func() bool { return testutil.ToFloat64(s.a.reloads.WithLabelValues("ok")) == 1 })
}
