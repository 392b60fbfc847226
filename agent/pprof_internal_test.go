package agent

import (
	"strings"
	"testing"
)

// /debug/pprof/ is served only with agent.pprof: true.
func TestPProfOnlyWhenAsked(t *testing.T) {
	a, _ := newTestAgent(t)
	t.Cleanup(func() { _ = a.Close() })
	if code, _ := get(t, a.metricsMux(), "/debug/pprof/"); code != 404 {
		t.Errorf("/debug/pprof/ without agent.pprof: %d, want 404", code)
	}
	a.opts.Config.Agent.PProf = true
	code, body := get(t, a.metricsMux(), "/debug/pprof/")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with agent.pprof: %d", code)
	}
	if code, _ := get(t, a.metricsMux(), "/debug/pprof/cmdline"); code != 200 {
		t.Errorf("/debug/pprof/cmdline: %d", code)
	}
	if code, body := get(t, a.metricsMux(), "/debug/pprof/symbol"); code != 200 || !strings.Contains(body, "num_symbols") {
		t.Errorf("/debug/pprof/symbol: %d %q", code, body)
	}
}
