package agent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}

func TestSRSTransportRecords(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	m := NewRequestMetrics(prometheus.NewRegistry())
	tr := &srsTransport{next: http.DefaultTransport, server: "origin", metrics: m}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/api/v1/streams/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("origin", "list_streams", "418")); got != 1 {
		t.Errorf("requests{status=418} = %v", got)
	}
	bad := &srsTransport{next: failingTransport{}, server: "origin", metrics: m}
	if _, err := (&http.Client{Transport: bad}).Get(srv.URL + "/api/v1/summaries"); err == nil {
		t.Fatal("failing transport succeeded")
	}
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("origin", "summaries", "0")); got != 1 {
		t.Errorf("requests{status=0} = %v, want 1 (no response)", got)
	}
	var out dto.Metric
	if err := m.Latency.WithLabelValues("origin", "list_streams").(prometheus.Histogram).Write(&out); err != nil {
		t.Fatal(err)
	}
	b := out.GetHistogram().GetBucket()
	if out.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("latency samples %d, want 1", out.GetHistogram().GetSampleCount())
	}
	// 16 buckets from 1ms to 100s (the streaming-in POST's timeout).
	if len(b) != 16 || b[0].GetUpperBound() != 0.001 || b[15].GetUpperBound() != 100 {
		t.Errorf("%d latency buckets from %v to %v", len(b), b[0].GetUpperBound(), b[len(b)-1].GetUpperBound())
	}
	var nilMetrics *RequestMetrics
	nilMetrics.observe("x", "y", 200, 0) // no metrics: nothing, no panic
}

func TestSRSCallNames(t *testing.T) {
	for path, want := range map[string]string{"/api/v1/streams/": "list_streams", "/api/v1/streams": "list_streams",
		"/api/v1/vhosts/": "list_vhosts", "/api/v1/vhosts/vid-0": "list_vhosts", "/api/v1/summaries": "summaries",
		"/api/v1/versions": "versions", "/api/v1/clients/": "list_clients", "/api/v1/streamsx": "other", "/": "other"} {
		if got := srsCall(path); got != want {
			t.Errorf("srsCall(%q) = %q, want %q", path, got, want)
		}
	}
}

// Every request series of the configured servers exists at 0 from the start.
func TestRequestMetricsStartAtZero(t *testing.T) {
	m := NewRequestMetrics(prometheus.NewRegistry())
	m.init([]string{"origin", "edge"})
	if n := testutil.CollectAndCount(m.Requests); n != (2*3+11)*3 {
		t.Errorf("%d request series at start", n)
	}
	if n := testutil.CollectAndCount(m.Latency); n != 2*3+11 {
		t.Errorf("%d latency series at start", n)
	}
	if v := testutil.ToFloat64(m.Requests.WithLabelValues("owt", "start_streaming_in", "500")); v != 0 {
		t.Errorf("owt start_streaming_in 500 = %v", v)
	}
	var nilMetrics *RequestMetrics
	nilMetrics.init([]string{"x"})
}
