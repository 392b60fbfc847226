package reconcile

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the buckets of every latency histogram: from 1 ms up to
// 100 s, the streaming-in POST's timeout (OWT may block it ~90 s).
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100}

// Label values the engine's counters start with (at 0), so that a rate or
// an alert sees the first increment.
var (
	reconcileResults = []string{"ok", "retry", "error"}
	resyncResults    = []string{"ok", "partial", "error"}
	hintKinds        = []string{"publish", "unpublish", "busy", "ignored", "denied", "unroutable", "parked"}
	opKinds          = []OpKind{OpCreateRoom, OpStartInput, OpAddView, OpRemoveView, OpStopInput, OpDeleteRoom, OpStartOutput, OpStopOutput}
	opOutcomes       = []string{"ok", "failed", "skipped", "gone", OutcomeNotRecorded}
	heldRules        = []string{RuleIncomplete, RuleGrace, RuleMaxDeletes, RuleEmpty, RuleMoving, RuleOccupied, RuleCreatePending}
	storeResults     = []string{"ok", "error"}
)

// Metrics are the engine's Prometheus metrics, all prefixed srs_owt_proxy_.
type Metrics struct {
	Reconciles     *prometheus.CounterVec
	ReconcileTime  prometheus.Histogram
	QueueDepth     prometheus.GaugeFunc
	Retries        prometheus.Counter
	Ops            *prometheus.CounterVec
	DeletesHeld    *prometheus.CounterVec
	DesiredStreams prometheus.Gauge
	DesiredRooms   prometheus.Gauge
	OwnedStreams   prometheus.GaugeFunc
	OwnedRooms     prometheus.GaugeFunc
	Resyncs        *prometheus.CounterVec
	LastResync     prometheus.Gauge
	Hints          *prometheus.CounterVec
	PolicyErrors   prometheus.Gauge
	// UnroutableTotal counts each stream found unroutable (PolicyErrors,
	// srs_owt_proxy_unroutable_streams, is how many are now).
	UnroutableTotal prometheus.Counter
	StoreWrites     *prometheus.CounterVec
	StoreHealthy    prometheus.Gauge
	// Outputs (streaming-outs and recordings): see outputs_engine.go.
	OutputsDesired prometheus.Gauge
	OutputsOwned   prometheus.GaugeFunc
	OutputRestarts *prometheus.CounterVec
	LoopedStreams  prometheus.Gauge
	outputsOwned   atomic.Pointer[func() float64]
	reg            prometheus.Registerer
	queueDepth     atomic.Pointer[func() float64]
	ownedStreams   atomic.Pointer[func() float64]
	ownedRooms     atomic.Pointer[func() float64]
}

// gaugeFunc is a gauge computed at scrape time by a function set later.
func gaugeFunc(name, help string, f *atomic.Pointer[func() float64]) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		if fn := f.Load(); fn != nil {
			return (*fn)()
		}
		return 0
	})
}

// NewMetrics creates the engine metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_reconciles_total",
			Help: "Room reconciles by result (ok, retry: streams not pullable yet, error)."}, []string{"result"}),
		ReconcileTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "srs_owt_proxy_reconcile_duration_seconds",
			Help: "Time to reconcile one room.", Buckets: LatencyBuckets}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "srs_owt_proxy_retries_total",
			Help: "Rooms requeued with backoff after a failure."}),
		Ops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_operations_total",
			Help: "OWT operations applied, by kind and result."}, []string{"op", "result"}),
		DeletesHeld: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_deletes_held_total",
			Help: "Deletes held back, by safety rule."}, []string{"rule"}),
		DesiredStreams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_desired_streams", Help: "Streams the policy routes to OWT."}),
		DesiredRooms:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_desired_rooms", Help: "Rooms that should hold streams."}),
		Resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_resyncs_total",
			Help: "Full resyncs by result (ok, partial, error)."}, []string{"result"}),
		LastResync: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_last_successful_resync_timestamp_seconds",
			Help: "Unix time of the last resync whose SRS and OWT listings all succeeded."}),
		Hints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_hook_hints_total",
			Help: "Hook hints by kind (publish, unpublish, busy, ignored, denied, unroutable, parked: from an SRS server not identified yet)."}, []string{"kind"}),
		PolicyErrors: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_unroutable_streams",
			Help: "Published streams kept out of OWT because their names cannot be put safely into a pull URL or a room name (SRS keeps them)."}),
		UnroutableTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "srs_owt_proxy_unroutable_total",
			Help: "Streams found unroutable (each counted once while it stays published)."}),
		StoreWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_store_writes_total",
			Help: "Writes of the ownership journal to its store, by result (ok, error). A create whose intent is not written is not made."}, []string{"result"}),
		StoreHealthy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_store_healthy",
			Help: "1 if the last write of the ownership journal succeeded (or none was needed yet), 0 if it failed."}),
		OutputsDesired: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_outputs_desired",
			Help: "Streaming-outs and recordings the policy declares for rooms with streams routed to them."}),
		OutputRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "srs_owt_proxy_output_restarts_total",
			Help: "Outputs that vanished from OWT (failed push, lost source) and are started again, by room."}, []string{"room"}),
		LoopedStreams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "srs_owt_proxy_looped_streams",
			Help: "Published streams that the agent's own outputs push into SRS: never routed back into OWT."}),
		reg: reg,
	}
	m.StoreHealthy.Set(1)
	for _, r := range reconcileResults {
		m.Reconciles.WithLabelValues(r)
	}
	for _, r := range resyncResults {
		m.Resyncs.WithLabelValues(r)
	}
	for _, k := range hintKinds {
		m.Hints.WithLabelValues(k)
	}
	for _, k := range opKinds {
		for _, o := range opOutcomes {
			m.Ops.WithLabelValues(string(k), o)
		}
	}
	for _, r := range heldRules {
		m.DeletesHeld.WithLabelValues(r)
	}
	for _, r := range storeResults {
		m.StoreWrites.WithLabelValues(r)
	}
	m.QueueDepth = gaugeFunc("srs_owt_proxy_queue_depth", "Rooms waiting in the work queue.", &m.queueDepth)
	m.OwnedStreams = gaugeFunc("srs_owt_proxy_owned_streams", "Streaming-ins owned by this agent, as last observed.", &m.ownedStreams)
	m.OwnedRooms = gaugeFunc("srs_owt_proxy_owned_rooms", "Rooms created by this agent.", &m.ownedRooms)
	m.OutputsOwned = gaugeFunc("srs_owt_proxy_outputs_owned", "Streaming-outs and recordings owned by this agent (ownership journal).", &m.outputsOwned)
	if reg != nil {
		reg.MustRegister(m.Reconciles, m.ReconcileTime, m.QueueDepth, m.Retries, m.Ops, m.DeletesHeld,
			m.DesiredStreams, m.DesiredRooms, m.OwnedStreams, m.OwnedRooms, m.Resyncs, m.LastResync, m.Hints, m.PolicyErrors, m.UnroutableTotal, m.StoreWrites, m.StoreHealthy,
			m.OutputsDesired, m.OutputsOwned, m.OutputRestarts, m.LoopedStreams)
	}
	return m
}

func (m *Metrics) setFuncs(queueDepth, ownedStreams, ownedRooms func() float64) {
	if m != nil {
		m.queueDepth.Store(&queueDepth)
		m.ownedStreams.Store(&ownedStreams)
		m.ownedRooms.Store(&ownedRooms)
	}
}

func (m *Metrics) observeOp(r Result) {
	if m == nil {
		return
	}
	m.Ops.WithLabelValues(string(r.Op.Kind), r.Outcome).Inc()
}

func (m *Metrics) held(rule string) {
	if m == nil {
		return
	}
	m.DeletesHeld.WithLabelValues(rule).Inc()
}

func (m *Metrics) reconcile(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.Reconciles.WithLabelValues(result).Inc()
	m.ReconcileTime.Observe(d.Seconds())
}

func (m *Metrics) storeWrite(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.StoreWrites.WithLabelValues("error").Inc()
		m.StoreHealthy.Set(0)
		return
	}
	m.StoreWrites.WithLabelValues("ok").Inc()
	m.StoreHealthy.Set(1)
}
