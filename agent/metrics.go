package agent

import (
	"strings"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// Label values of upstream_requests_total{server,call,status}: server is the
// configured SRS server name or "owt", call an operation name (never a URL
// path), status the HTTP status or 0 for no response.
var (
	srsCalls = map[string]string{
		srsapi.PathStreams:   "list_streams",
		srsapi.PathVhosts:    "list_vhosts",
		srsapi.PathClients:   "list_clients",
		srsapi.PathVersions:  "versions",
		srsapi.PathSummaries: "summaries",
	}
	owtCalls = []string{"list_rooms", "create_room", "get_room", "delete_room", "list_streams", "get_stream",
		"start_streaming_in", "stop_streaming_in", "add_to_view", "remove_from_view", "list_participants"}
	// initialStatuses: the series of each call that exist from the start,
	// so that an error-ratio alert sees the first failure.
	initialStatuses = []string{"200", "0", "500"}
)

// srsCall names the SRS API call of a request path.
func srsCall(path string) string {
	for p, name := range srsCalls {
		if path == p || strings.TrimSuffix(path, "/") == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return name
		}
	}
	return "other"
}

// init creates the request series of every configured server and call at 0.
func (m *RequestMetrics) init(srsServers []string) {
	if m == nil {
		return
	}
	for _, s := range srsServers {
		for _, call := range []string{"list_streams", "list_vhosts", "summaries"} {
			m.Latency.WithLabelValues(s, call)
			for _, st := range initialStatuses {
				m.Requests.WithLabelValues(s, call, st)
			}
		}
	}
	for _, call := range owtCalls {
		m.Latency.WithLabelValues("owt", call)
		for _, st := range initialStatuses {
			m.Requests.WithLabelValues("owt", call, st)
		}
	}
}

// initCounters creates the agent's own labelled counters at 0 for every
// label value they can take.
func (a *Agent) initCounters() {
	for _, r := range []string{"ok", "error"} {
		a.reloads.WithLabelValues(r)
	}
	for _, action := range []string{srsapi.ActionOnPublish, srsapi.ActionOnUnpublish} {
		for _, answer := range []string{srsapi.AnswerOK, srsapi.AnswerRejected, srsapi.AnswerFailedOpen, srsapi.AnswerBadRequest, srsapi.AnswerUnauthorized, srsapi.AnswerForbidden} {
			a.hookCnt.WithLabelValues(action, answer)
		}
	}
	for _, r := range []string{srsapi.RefusedTotal, srsapi.RefusedPerSource} {
		a.refused.WithLabelValues(r)
	}
}
