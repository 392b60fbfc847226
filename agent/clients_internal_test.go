package agent

import (
	"errors"
	"math"
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
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("srs:origin", "/api/v1/streams/", "418")); got != 1 {
		t.Errorf("requests{status=418} = %v", got)
	}
	bad := &srsTransport{next: failingTransport{}, server: "origin", metrics: m}
	if _, err := (&http.Client{Transport: bad}).Get(srv.URL + "/api/v1/summaries"); err == nil {
		t.Fatal("failing transport succeeded")
	}
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("srs:origin", "/api/v1/summaries", "0")); got != 1 {
		t.Errorf("requests{status=0} = %v, want 1 (no response)", got)
	}
	var out dto.Metric
	if err := m.Latency.WithLabelValues("srs:origin", "/api/v1/streams/").(prometheus.Histogram).Write(&out); err != nil {
		t.Fatal(err)
	}
	b := out.GetHistogram().GetBucket()
	if out.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("latency samples %d, want 1", out.GetHistogram().GetSampleCount())
	}
	// 15 buckets doubling from 1ms.
	if len(b) != 15 || b[0].GetUpperBound() != 0.001 || math.Abs(b[14].GetUpperBound()-0.001*math.Pow(2, 14)) > 1e-9 {
		t.Errorf("%d latency buckets from %v to %v", len(b), b[0].GetUpperBound(), b[len(b)-1].GetUpperBound())
	}
	var nilMetrics *RequestMetrics
	nilMetrics.observe("x", "y", 200, 0) // no metrics: nothing, no panic
}
