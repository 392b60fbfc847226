package reconcile

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// Config configures an Engine.
type Config struct {
	Agent   string
	Servers []SRSServer
	OWT     OWT
	// Journal is the ownership journal, opened (and so locked) by the
	// caller, who also closes it. Nil: nothing is owned or remembered.
	Journal *Journal
	Policy  *policy.Policy
	Log     *slog.Logger
	Metrics *Metrics
	// PendingHold: how long a streaming-in POST of unknown outcome may still
	// complete on OWT. Default 95s (OWT's RPC timeout is 90 s).
	PendingHold time.Duration
	// HintTTL: how long an on_publish hint lives without SRS listing the
	// stream. Default 10s.
	HintTTL time.Duration
	// RefreshDelay: SRS is re-read this long after a hook to confirm it. Default 1s.
	RefreshDelay time.Duration
	// RetryBase and RetryMax bound the per-room backoff. Defaults 200ms and 30s.
	RetryBase, RetryMax time.Duration
	// IntentSettle: a room create with an open intent (its outcome unknown,
	// or made before a restart) is resolved by a room listing begun at
	// least this long after the create was sent. Default 2s.
	IntentSettle time.Duration
	// PendingPoll: how often a room with a streaming-in POST of unknown
	// outcome is re-listed to find the stream. Default 1s.
	PendingPoll time.Duration
	// Abort, when it closes, makes Run drop the operations in flight at
	// once instead of letting them finish: the leadership was lost, and
	// another replica owns OWT now.
	Abort <-chan struct{}
}

// Engine is the long-running reconciler, shaped like a controller: the
// state it reads lives in stores that own it (SRSState, OWTState, the
// Journal, Pending), a work queue hands each room to one worker at a time,
// and the worker takes a snapshot, calls the pure planner, applies the plan
// and reports back (room.go). A periodic resync and hook-driven SRS
// refreshes feed the stores and the queue.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	queue   *Queue
	pending *Pending
	applier *Applier
	srs     *SRSState
	owt     *OWTState
	// unroutable: published streams kept out of OWT (unroutable.go).
	unroutable *unroutableSet
	// legacySeen: streaming-ins with pre-issue-9 attributes already logged.
	legacySeen idSet

	policy atomic.Pointer[policy.Policy]

	// budgetMu guards the plan-wide delete budget of the current window.
	budgetMu sync.Mutex
	budget   Budget
	budgetAt time.Time

	// backlog: rooms queued by the last resync and not yet worked on.
	backlogMu sync.Mutex
	backlog   map[string]bool

	primed    chan struct{}
	primedSet atomic.Bool

	resyncCh  chan struct{}
	refreshCh chan struct{}
	refreshAt atomic.Int64

	// view keeps the room errors and store outcome Status shows.
	view statusMemo
	// outputs reconciles rooms' streaming-outs and recordings (outputs_engine.go).
	outputs *OutputRunner
	// loopAt is when the resync loop last went round (unix nanoseconds).
	loopAt atomic.Int64
}

// NewEngine builds an engine; Run starts it.
func NewEngine(cfg Config) *Engine {
	if cfg.PendingHold == 0 {
		cfg.PendingHold = 95 * time.Second
	}
	if cfg.HintTTL == 0 {
		cfg.HintTTL = 10 * time.Second
	}
	if cfg.RefreshDelay == 0 {
		cfg.RefreshDelay = time.Second
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 200 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.IntentSettle == 0 {
		cfg.IntentSettle = 2 * time.Second
	}
	if cfg.PendingPoll == 0 {
		cfg.PendingPoll = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, log: cfg.Log, queue: NewQueue(cfg.RetryBase, cfg.RetryMax), pending: NewPending(),
		srs: newSRSState(cfg.Servers, cfg.HintTTL, cfg.Log), owt: newOWTState(), backlog: map[string]bool{},
		primed: make(chan struct{}), resyncCh: make(chan struct{}, 1), refreshCh: make(chan struct{}, 1),
		unroutable: newUnroutableSet(cfg.Log, cfg.Metrics, cfg.HintTTL)}
	e.policy.Store(cfg.Policy)
	slots := 8
	if cfg.Policy != nil && cfg.Policy.Reconcile.Concurrency > 0 {
		slots = cfg.Policy.Reconcile.Concurrency
	}
	// reconcile.concurrency bounds both the rooms worked on at once and the
	// OWT operations in flight across them.
	e.applier = &Applier{OWT: cfg.OWT, Agent: cfg.Agent, Journal: cfg.Journal, Pending: e.pending, Log: cfg.Log,
		PendingHold: cfg.PendingHold, Observe: cfg.Metrics.observeOp, Slots: make(chan struct{}, slots), RoomDeleted: e.owt.RoomDeleted}
	e.outputs = newOutputRunner(cfg)
	cfg.Metrics.setOutputFuncs(cfg.Journal)
	if j := cfg.Journal; j != nil {
		e.pending.OnResolve = j.End
		j.OnSave = e.storeWritten
	}
	cfg.Metrics.setFuncs(func() float64 { return float64(e.queue.Len()) }, func() float64 { return float64(e.owt.OwnedInputs()) }, func() float64 {
		if cfg.Journal == nil {
			return 0
		}
		return float64(len(cfg.Journal.Rooms()))
	})
	return e
}

func (e *Engine) pol() *policy.Policy { return e.policy.Load() }

// SetPolicy replaces the policy atomically and triggers a resync.
func (e *Engine) SetPolicy(p *policy.Policy) {
	e.policy.Store(p)
	e.Resync()
}

// Resync asks for a full resync as soon as possible.
func (e *Engine) Resync() {
	select {
	case e.resyncCh <- struct{}{}:
	default:
	}
}

// Ready reports whether the policy is loaded and the last SRS and OWT
// listings succeeded, with the reason when not.
func (e *Engine) Ready() (bool, string) {
	if e.pol() == nil {
		return false, "no policy loaded"
	}
	if _, ok, err := e.owt.Listing(); !ok {
		if err != nil {
			return false, "OWT room listing failed: " + err.Error()
		}
		return false, "OWT not listed yet"
	}
	if why := e.srs.NotReady(); why != "" {
		return false, why
	}
	return true, ""
}

// Idle reports whether nothing is queued or being worked on.
func (e *Engine) Idle() bool { return e.queue.Busy() == 0 }

// Run runs the engine until ctx is done, then lets in-flight operations
// finish (bounded by each call's own timeout) and commits the journal.
func (e *Engine) Run(ctx context.Context) error {
	workers := e.pol().Reconcile.Concurrency
	if workers < 1 {
		workers = 1
	}
	// Operations get their own context: on shutdown, workers finish the op
	// they are in (each OWT call has a timeout) instead of abandoning a
	// streaming-in POST half-way.
	opCtx, cancelOps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOps()
	if e.cfg.Abort != nil {
		// Ends with opCtx, at the latest when Run returns.
		go func() {
			select {
			case <-e.cfg.Abort:
				cancelOps()
			case <-opCtx.Done():
			}
		}()
	}
	e.recoverIntents(time.Now())
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-e.primed:
			case <-ctx.Done():
				return
			}
			for {
				key, ok := e.queue.Get()
				if !ok {
					return
				}
				e.process(opCtx, key)
				e.queue.Done(key)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.loop(ctx)
	}()
	<-ctx.Done()
	e.queue.ShutDown()
	wg.Wait()
	if e.cfg.Journal != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return e.cfg.Journal.Flush(sctx)
	}
	return nil
}

func (e *Engine) loop(ctx context.Context) {
	// The period runs from the start of each resync, like a ticker: the
	// time a resync takes does not stretch the interval.
	start := time.Now()
	e.beat()
	e.resync(ctx)
	e.beat()
	timer := time.NewTimer(time.Until(start.Add(e.nextInterval())))
	defer timer.Stop()
	refresh := time.NewTimer(time.Hour)
	refresh.Stop()
	defer refresh.Stop()
	for {
		e.beat()
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			// Workers wait for the first complete room listing (primed):
			// until then the backlog cannot drain, and a resync is the only
			// way forward.
			if n := e.backlogLen(); n > 0 && e.primedSet.Load() {
				// The last resync's rooms are still being worked on: a new
				// one would only list them again. Look again shortly.
				e.log.Debug("resync postponed: previous resync still in progress", "rooms_left", n)
				timer.Reset(e.nextInterval() / 4)
				continue
			}
			start := time.Now()
			e.resync(ctx)
			timer.Reset(time.Until(start.Add(e.nextInterval())))
		case <-e.resyncCh:
			start := time.Now()
			e.resync(ctx)
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(time.Until(start.Add(e.nextInterval())))
		case <-e.refreshCh:
			refresh.Reset(time.Until(time.Unix(0, e.refreshAt.Load())))
		case <-refresh.C:
			e.refreshAt.Store(0)
			e.refreshSRS(ctx)
		}
	}
}

// nextInterval is the resync interval less up to 10% jitter.
func (e *Engine) nextInterval() time.Duration {
	iv := e.interval()
	// Jitter only shortens the interval: drift is never found later than
	// one interval after it happens.
	return iv - time.Duration(rand.Float64()*0.1*float64(iv))
}

// interval is the policy's resync interval (default 30 s), without jitter.
func (e *Engine) interval() time.Duration {
	if iv := e.pol().Reconcile.Interval; iv > 0 {
		return iv
	}
	return 30 * time.Second
}

// scheduleRefresh asks for an SRS re-read after d (the earliest request wins).
func (e *Engine) scheduleRefresh(d time.Duration) {
	at := time.Now().Add(d).UnixNano()
	for {
		cur := e.refreshAt.Load()
		if cur != 0 && cur <= at {
			return
		}
		if e.refreshAt.CompareAndSwap(cur, at) {
			break
		}
	}
	select {
	case e.refreshCh <- struct{}{}:
	default:
	}
}

// readSRS reads every server into the SRS state, applies the hooks of
// servers it identified, and updates the desired gauges. It returns
// whether some server restarted (new service id) and the servers read well.
func (e *Engine) readSRS(ctx context.Context) (restarted bool, read map[string]bool) {
	at := time.Now() // a reading counts from when it began
	srcs, failed := ReadSRS(ctx, e.cfg.Servers)
	restarted, d := e.srs.Record(srcs, failed, at, e.pol())
	e.desiredChanged(d)
	e.replayParked()
	read = make(map[string]bool, len(srcs))
	for _, s := range srcs {
		read[s.Name] = true
	}
	return restarted, read
}

// desiredChanged records the streams that cannot be routed (each logged
// once) and updates the desired gauges.
func (e *Engine) desiredChanged(d *Desired) {
	e.unroutable.listing(d.Unroutable, time.Now())
	if m := e.cfg.Metrics; m != nil {
		n := 0
		for _, r := range d.Rooms {
			n += len(r.Inputs)
		}
		m.DesiredStreams.Set(float64(n))
		m.DesiredRooms.Set(float64(len(d.Rooms)))
		m.outputsDesired(d)
	}
}

// resync is a full resync: read SRS and OWT's room list, then queue every
// room that is desired, owned, listed or observed, each to be re-listed.
func (e *Engine) resync(ctx context.Context) {
	start := time.Now()
	// SRS and OWT are read at the same time: a resync's latency is the
	// slower of the two, not their sum.
	var ix RoomIndex
	listed := make(chan error, 1)
	go func() {
		listStart := time.Now() // a listing counts from when it began
		rooms, err := e.cfg.OWT.ListRooms(ctx)
		ix = IndexRooms(rooms)
		ix.ListedAt = listStart
		listed <- err
	}()
	_, read := e.readSRS(ctx)
	err := <-listed
	e.owt.SetListing(ix, err)
	if err != nil {
		e.log.Warn("OWT room listing failed; will retry at the next resync", "err", err)
	} else {
		e.resolveRoomIntents(ix, "")
	}
	names := map[string]bool{}
	for n := range e.srs.Desired().Rooms {
		names[n] = true
	}
	for _, n := range e.owt.Names() {
		names[n] = true
	}
	if j := e.cfg.Journal; j != nil {
		for _, n := range j.Rooms() {
			names[n] = true
		}
		for _, in := range j.Intents() {
			names[in.Room] = true
		}
	}
	e.owt.MarkStale(names)
	e.backlogMu.Lock()
	for n := range names {
		e.backlog[n] = true
	}
	e.backlogMu.Unlock()
	inputs := e.owt.Inputs()
	held := make(map[StreamKey]bool, len(inputs))
	for _, in := range inputs {
		held[in.Key] = true
	}
	if e.cfg.Journal != nil && e.primedSet.Load() {
		e.cfg.Journal.PruneMissing(inputs)
		e.cfg.Journal.PruneQueries(inputs)
	}
	// Publish queries and unpublish confirmations are only needed for
	// streams the agent still pulls.
	e.srs.Forget(held)
	if j := e.cfg.Journal; j != nil {
		_ = j.Flush(ctx) // closed intents; a failure is logged by storeWritten
	}
	e.resetBudget()
	complete, _ := e.srs.Complete()
	complete = complete && err == nil
	if err == nil && !e.primedSet.Load() {
		// Like an informer's initial list: read every room once before any
		// worker plans, so the publish queries recorded in the agent's
		// inputs are known and query-matching routes stay stable.
		e.primeCache(ctx, names)
		e.desiredChanged(e.srs.Recompute(e.pol()))
		e.primedSet.Store(true)
		close(e.primed)
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		e.queue.Add(n)
	}
	// Every room is queued: rooms waiting for these servers' readings are served.
	e.srs.TakeWaiting(read)
	if m := e.cfg.Metrics; m != nil {
		switch {
		case complete:
			m.Resyncs.WithLabelValues("ok").Inc()
			m.LastResync.Set(float64(time.Now().Unix()))
		case err == nil:
			m.Resyncs.WithLabelValues("partial").Inc()
		default:
			m.Resyncs.WithLabelValues("error").Inc()
		}
	}
	e.log.Debug("resync queued rooms", "rooms", len(sorted), "complete", complete, "duration", time.Since(start))
}

// primeCache lists the streams of every located room, with the engine's
// concurrency, and stores the observations as fresh.
func (e *Engine) primeCache(ctx context.Context, names map[string]bool) {
	ix, _, _ := e.owt.Listing()
	var rooms []*ObservedRoom
	for n := range names {
		if o := ix.Locate(n, e.cfg.Journal); o.Exists {
			rooms = append(rooms, &o)
		}
	}
	workers := max(1, e.pol().Reconcile.Concurrency)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := map[string]*ObservedRoom{}
	for _, o := range rooms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := ObserveRoom(ctx, e.cfg.OWT, e.cfg.Agent, o, false); err != nil {
				e.log.Warn("could not read room at start; it is read again before any change to it", "room", o.Name, "err", err)
				return
			}
			mu.Lock()
			fresh[o.Name] = o
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, o := range fresh {
		e.pending.Seen(o.Name, o.Inputs)
		e.learnParams(o.Inputs)
	}
	e.owt.Prime(fresh)
}

// budgetWindow is how long one max_deletes budget lasts: a resync
// interval, but at most 10 s so that hook-driven deletes between long
// resyncs do not stall.
func (e *Engine) budgetWindow() time.Duration {
	return min(e.pol().Reconcile.Interval, 10*time.Second)
}

// ownedByServer counts the owned inputs observed, by SRS server.
func (e *Engine) ownedByServer() map[string]int {
	owned := map[string]int{}
	for _, in := range e.owt.Inputs() {
		owned[in.Key.Server]++
	}
	return owned
}

func (e *Engine) resetBudget() {
	guard := e.srs.EmptyGuard(e.pol().Reconcile.AllowEmpty, e.ownedByServer())
	e.budgetMu.Lock()
	defer e.budgetMu.Unlock()
	e.budget = Budget{MaxDeletes: e.pol().Reconcile.MaxDeletes, EmptyGuard: guard}
	e.budgetAt = time.Now()
}

// spendBudget holds the deletes of plan that the cycle's budget does not
// allow.
func (e *Engine) spendBudget(plan *RoomPlan) {
	e.budgetMu.Lock()
	stale := time.Since(e.budgetAt) > e.budgetWindow()
	e.budgetMu.Unlock()
	if stale {
		e.resetBudget()
	}
	e.budgetMu.Lock()
	defer e.budgetMu.Unlock()
	e.budget.Apply(plan)
}

// refreshSRS re-reads SRS after hooks and queues the rooms whose desired
// streams changed, plus rooms waiting for a fresher reading.
func (e *Engine) refreshSRS(ctx context.Context) {
	before := e.srs.DesiredByKey()
	restarted, read := e.readSRS(ctx)
	if restarted {
		e.Resync()
	}
	after := e.srs.DesiredByKey()
	touched := map[string]bool{}
	for k, r := range after {
		if before[k] != r {
			touched[r] = true
			if before[k] != "" {
				touched[before[k]] = true
			}
		}
	}
	for k, r := range before {
		if _, ok := after[k]; !ok {
			touched[r] = true
		}
	}
	for _, r := range e.srs.TakeWaiting(read) {
		touched[r] = true
	}
	for r := range touched {
		e.queue.Add(r)
	}
}

// learnParams feeds the stored publish queries of observed inputs to the
// SRS state (the store first, see SRSState.LearnParams) and logs, once each,
// the inputs whose attributes were written before issue 9.
func (e *Engine) learnParams(inputs []Input) {
	var stored func(StreamKey) (string, bool)
	if j := e.cfg.Journal; j != nil {
		stored = j.Query
	}
	e.srs.LearnParams(inputs, stored, e.pol())
	for _, in := range inputs {
		if in.Legacy && e.legacySeen.Add(in.ID) {
			e.log.Warn("streaming-in written by an older srs-owt-proxy carries the publish query in its attributes, which OWT shows to the room; its query is no longer trusted or copied. To clear it, stop the streaming-in in OWT (the agent starts a clean one) or republish the stream",
				"stream_id", in.ID, "stream", clipKey(in.Key))
		}
	}
}

func (e *Engine) pullOf(server string) string {
	for _, s := range e.cfg.Servers {
		if s.Name == server {
			return s.Pull
		}
	}
	return ""
}

func (e *Engine) backlogLen() int {
	e.backlogMu.Lock()
	defer e.backlogMu.Unlock()
	return len(e.backlog)
}

// storeWritten is told the outcome of every journal write.
func (e *Engine) storeWritten(err error) {
	e.view.storeResult(err)
	if m := e.cfg.Metrics; m != nil {
		m.storeWrite(err)
	}
	if err != nil {
		e.log.Error("ownership journal NOT written: creates are not made until it can be; hooks are still answered", "store", e.cfg.Journal.String(), "err", err)
	}
}
