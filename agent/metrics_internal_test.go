package agent

import (
	"strings"
	"testing"
)

// The agent's counters are on /metrics at 0 before anything happened, so
// that alerts fire on the first failure.
func TestAgentCountersStartAtZero(t *testing.T) {
	a, _ := newTestAgent(t)
	t.Cleanup(func() { _ = a.Close() })
	_, body := get(t, a.metricsMux(), "/metrics")
	for _, want := range []string{
		`srs_owt_proxy_policy_reloads_total{result="error"} 0`,
		`srs_owt_proxy_hooks_total{action="on_publish",answer="failed_open"} 0`,
		`srs_owt_proxy_hooks_total{action="on_unpublish",answer="unauthorized"} 0`,
		`srs_owt_proxy_upstream_requests_total{call="start_streaming_in",server="owt",status="500"} 0`,
		`srs_owt_proxy_upstream_requests_total{call="list_streams",server="origin",status="0"} 0`,
		`srs_owt_proxy_operations_total{op="start_input",result="failed"} 0`,
		`srs_owt_proxy_deletes_held_total{rule="max_deletes"} 0`,
		`srs_owt_proxy_upstream_request_duration_seconds_bucket{call="list_rooms",server="owt",le="100"} 0`,
		`srs_owt_proxy_build_info{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
