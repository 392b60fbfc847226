// Package monitoring checks the Prometheus rules and the Grafana dashboard
// of this directory against promtool and against the agent's metrics.
package monitoring

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// promtool finds Debian's promtool (package prometheus): $PROMTOOL, or
// promtool on PATH. PROMTOOL=off skips; CI installs it (.ci/run).
func promtool(t *testing.T) string {
	t.Helper()
	switch v := os.Getenv("PROMTOOL"); v {
	case "off", "0", "false":
		t.Skip("PROMTOOL=" + v + ": promtool checks disabled")
	case "":
	default:
		return v
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("no promtool on PATH: install it (apt-get install -y prometheus), point PROMTOOL at it, or set PROMTOOL=off to skip")
	}
	return p
}

func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// agentMetrics returns the names of the metrics a fresh agent exposes.
func agentMetrics(t *testing.T) map[string]bool {
	t.Helper()
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	pf := filepath.Join(dir, "policy.yaml")
	af := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(pf, []byte("routes:\n  - match: {app: live}\n    room: \"{{.Stream}}\"\n"), 0o644); err != nil {
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
	a, err := agent.New(agent.Options{Config: cfg, Policy: pol, Getenv: getenv, HookListener: hookLn})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mfs, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "srs_owt_proxy_") {
			names[mf.GetName()] = true
		}
	}
	return names
}

var metricRef = regexp.MustCompile(`srs_owt_proxy_[a-z_]+`)

// used returns the agent metrics an expression text refers to.
func used(text string) []string {
	var out []string
	for _, m := range metricRef.FindAllString(text, -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(m, "_seconds"+suf) {
				m = strings.TrimSuffix(m, suf)
			}
		}
		out = append(out, m)
	}
	return out
}

// TestMonitoringUsesRealMetrics: the dashboard and the rules use only
// metrics the agent exposes, and README lists every one of them.
func TestMonitoringUsesRealMetrics(t *testing.T) {
	have := agentMetrics(t)
	if len(have) < 20 {
		t.Fatalf("only %d agent metrics found: %v", len(have), have)
	}
	raw, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range used(tg.Expr) {
				seen[m] = true
				if !have[m] {
					t.Errorf("panel %q uses %s, which the agent does not expose", p.Title, m)
				}
			}
		}
	}
	for _, want := range []string{"srs_owt_proxy_hooks_total", "srs_owt_proxy_reconcile_duration_seconds", "srs_owt_proxy_queue_depth",
		"srs_owt_proxy_operations_total", "srs_owt_proxy_deletes_held_total", "srs_owt_proxy_upstream_request_duration_seconds",
		"srs_owt_proxy_upstream_requests_total", "srs_owt_proxy_desired_streams", "srs_owt_proxy_owned_streams", "srs_owt_proxy_leader"} {
		if !seen[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	rules, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range used(string(rules)) {
		if !have[m] {
			t.Errorf("alerts.yaml uses %s, which the agent does not expose", m)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for m := range have {
		if !strings.Contains(string(readme), "`"+strings.TrimPrefix(m, "srs_owt_proxy_")) {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md does not list %v", missing)
	}
}
