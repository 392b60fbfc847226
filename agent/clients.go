package agent

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// RequestMetrics count the agent's requests to SRS and OWT.
type RequestMetrics struct {
	Requests *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
}

// NewRequestMetrics registers the request metrics with reg (nil: unregistered).
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	m := &RequestMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_upstream_requests_total",
			Help: "Requests to SRS and OWT by server, call and HTTP status (0: no response)."}, []string{"server", "call", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "srs_owt_proxy_upstream_request_duration_seconds",
			Help: "Latency of requests to SRS and OWT by server and call.", Buckets: reconcile.LatencyBuckets}, []string{"server", "call"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Latency)
	}
	return m
}

func (m *RequestMetrics) observe(server, call string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.Requests.WithLabelValues(server, call, strconv.Itoa(status)).Inc()
	m.Latency.WithLabelValues(server, call).Observe(d.Seconds())
}

// srsTransport records SRS API requests in the metrics.
type srsTransport struct {
	next    http.RoundTripper
	server  string
	metrics *RequestMetrics
}

func (t *srsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.metrics.observe(t.server, srsCall(r.URL.Path), status, time.Since(start))
	return resp, err
}

// Clients builds the SRS servers and the OWT client of agent.yaml;
// userAgent names the client to OWT ("" = srs-owt-proxy).
func Clients(cfg *policy.Agent, m *RequestMetrics, userAgent string) ([]reconcile.SRSServer, *owtapi.Client, error) {
	var servers []reconcile.SRSServer
	var names []string
	for _, s := range cfg.SRS {
		names = append(names, s.Name)
		var tr http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
		if m != nil {
			tr = &srsTransport{next: tr, server: s.Name, metrics: m}
		}
		c := srsapi.NewClient(srsapi.Config{Name: s.Name, BaseURL: s.API, Username: s.Username, Password: s.Password, Transport: tr})
		servers = append(servers, reconcile.SRSServer{Name: s.Name, Pull: s.Pull, Client: c})
	}
	oc := owtapi.Config{URL: cfg.OWT.URL, ServiceID: cfg.OWT.ServiceID, ServiceKey: cfg.OWT.ServiceKey, CAFile: cfg.OWT.CAFile,
		InsecureSkipVerify: cfg.OWT.InsecureSkipVerify, Timeout: cfg.OWT.Timeout, StreamingInTimeout: cfg.OWT.StreamingInTimeout,
		UserAgent: userAgent}
	if m != nil {
		oc.Observe = func(call string, status int, d time.Duration) { m.observe("owt", call, status, d) }
	}
	m.init(names)
	owt, err := owtapi.New(oc)
	if err != nil {
		return nil, nil, fmt.Errorf("owt client for %s: %w", cfg.OWT.URL, err)
	}
	return servers, owt, nil
}
