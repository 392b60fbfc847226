package reconcile

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	if got := testutil.ToFloat64(m.StoreHealthy); got != 1 {
		t.Errorf("store_healthy starts at %v, want 1", got)
	}
	// Gauges computed at scrape time read 0 until the engine sets them.
	for _, g := range []prometheus.GaugeFunc{m.QueueDepth, m.OwnedStreams, m.OwnedRooms} {
		if got := testutil.ToFloat64(g); got != 0 {
			t.Errorf("unset gauge func = %v", got)
		}
	}
	m.setFuncs(func() float64 { return 1 }, func() float64 { return 2 }, func() float64 { return 3 })
	if testutil.ToFloat64(m.QueueDepth) != 1 || testutil.ToFloat64(m.OwnedStreams) != 2 || testutil.ToFloat64(m.OwnedRooms) != 3 {
		t.Error("gauge funcs not wired")
	}
	// Without a journal (diff, tests) the agent owns no output.
	m.setOutputFuncs(nil)
	if got := testutil.ToFloat64(m.OutputsOwned); got != 0 {
		t.Errorf("outputs_owned without a journal = %v, want 0", got)
	}
	m.reconcile("ok", 3*time.Millisecond)
	m.observeOp(Result{Op: Op{Kind: OpStopInput}, Outcome: "gone"})
	m.held(RuleGrace)
	m.Hints.WithLabelValues("publish").Inc()
	m.Resyncs.WithLabelValues("ok").Inc()
	m.StoreWrites.WithLabelValues("ok").Inc()
	m.DeletesHeld.WithLabelValues(RuleGrace).Inc()
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n < 16 {
		t.Errorf("%d series registered, want every metric", n)
	}
	if testutil.ToFloat64(m.Ops.WithLabelValues("stop_input", "gone")) != 1 || testutil.ToFloat64(m.DeletesHeld.WithLabelValues(RuleGrace)) != 2 ||
		testutil.ToFloat64(m.Reconciles.WithLabelValues("ok")) != 1 {
		t.Error("counters not counted")
	}
	// The reconcile duration histogram: 16 buckets from 1ms to 100s (the
	// streaming-in POST's timeout).
	var out dto.Metric
	if err := m.ReconcileTime.Write(&out); err != nil {
		t.Fatal(err)
	}
	b := out.GetHistogram().GetBucket()
	if len(b) != 16 || b[0].GetUpperBound() != 0.001 || b[15].GetUpperBound() != 100 {
		t.Errorf("%d buckets from %v to %v", len(b), b[0].GetUpperBound(), b[len(b)-1].GetUpperBound())
	}
	if out.GetHistogram().GetSampleCount() != 1 || b[2].GetCumulativeCount() != 1 || b[1].GetCumulativeCount() != 0 {
		t.Errorf("3ms not observed in the 5ms bucket: %v", b[:4])
	}
	m.storeWrite(errors.New("x"))
	if testutil.ToFloat64(m.StoreHealthy) != 0 || testutil.ToFloat64(m.StoreWrites.WithLabelValues("error")) != 1 {
		t.Error("failed write not counted")
	}
	m.storeWrite(nil)
	if testutil.ToFloat64(m.StoreHealthy) != 1 || testutil.ToFloat64(m.StoreWrites.WithLabelValues("ok")) != 2 {
		t.Error("good write not counted")
	}
}

// Every labelled counter starts at 0 for each label value it can take, so
// that rate() and alerts see the first increment.
func TestMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	for _, c := range []struct {
		vec    *prometheus.CounterVec
		labels [][]string
	}{
		{m.Reconciles, [][]string{{"ok"}, {"retry"}, {"error"}}},
		{m.Resyncs, [][]string{{"ok"}, {"partial"}, {"error"}}},
		{m.Hints, [][]string{{"publish"}, {"unpublish"}, {"busy"}, {"ignored"}, {"denied"}, {"unroutable"}, {"parked"}}},
		{m.DeletesHeld, [][]string{{RuleIncomplete}, {RuleGrace}, {RuleMaxDeletes}, {RuleEmpty}, {RuleMoving}, {RuleOccupied}, {RuleCreatePending}}},
		{m.StoreWrites, [][]string{{"ok"}, {"error"}}},
		{m.Ops, [][]string{{"create_room", "ok"}, {"start_input", "failed"}, {"stop_input", "gone"}, {"add_view", "skipped"}, {"start_input", OutcomeNotRecorded}, {"start_output", "ok"}, {"stop_output", "gone"}}},
	} {
		want := len(c.labels)
		if c.vec == m.Ops {
			want = 8 * 5 // six input and room kinds, two output kinds
		}
		if n := testutil.CollectAndCount(c.vec); n != want {
			t.Errorf("%d series at start, want %d", n, want)
		}
		for _, l := range c.labels {
			if v := testutil.ToFloat64(c.vec.WithLabelValues(l...)); v != 0 {
				t.Errorf("%v = %v at start", l, v)
			}
		}
	}
}

// Every helper is safe on nil metrics (an engine without metrics).
func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.setFuncs(nil, nil, nil)
	m.observeOp(Result{})
	m.held(RuleGrace)
	m.reconcile("ok", time.Second)
	m.storeWrite(errors.New("x"))
}
