package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
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
}

type srsReading struct {
	src  Source
	at   time.Time
	ok   bool
	err  error
	live map[StreamKey]string // active streams -> publisher client id
}

func newReading(s Source, at time.Time) *srsReading {
	r := &srsReading{src: s, at: at, ok: true, live: make(map[StreamKey]string, len(s.Snapshot.Streams))}
	for _, st := range s.Snapshot.Streams {
		if st.Publish.Active {
			r.live[StreamKey{Server: s.Name, Vhost: st.VhostName, App: st.App, Stream: st.Name}] = st.Publish.CID
		}
	}
	return r
}

// Engine is the long-running reconciler: a periodic full resync, an SRS
// refresh after hooks, and workers that reconcile one room at a time.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	queue   *Queue
	pending *Pending
	applier *Applier

	policy atomic.Pointer[policy.Policy]

	mu        sync.Mutex
	srs       map[string]*srsReading
	serverOf  map[string]string // SRS server_id -> configured name
	rooms     RoomIndex
	roomsOK   bool
	roomsErr  error
	desired   *Desired
	hints     map[StreamKey]Hint // on_publish hints not yet listed
	hintRooms map[StreamKey]*DesiredInput
	unpub     map[StreamKey]time.Time // on_unpublish hints newer than the listing
	unpubSeen map[StreamKey]time.Time // on_unpublish hooks, kept while the agent still has an input for them
	params    map[string]string       // publisher client id -> param
	keyParam  map[StreamKey]string    // param recorded in owned inputs
	cache     map[string]*ObservedRoom
	stale     map[string]bool // rooms to re-list before planning
	waitSRS   map[string]bool // rooms waiting for a fresher SRS reading
	// deletedRooms: ids of rooms the agent deleted, with when, kept until a
	// listing begun after the delete replaces the index.
	deletedRooms map[string]time.Time
	budget       Budget
	budgetAt     time.Time
	// backlogRooms are rooms queued by the last resync and not yet worked on.
	backlogRooms map[string]bool
	primed       chan struct{}
	primedSet    bool
	lastOK       time.Time

	resyncCh  chan struct{}
	refreshCh chan struct{}
	refreshAt atomic.Int64
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
		srs: map[string]*srsReading{}, serverOf: map[string]string{}, hints: map[StreamKey]Hint{},
		hintRooms: map[StreamKey]*DesiredInput{}, unpub: map[StreamKey]time.Time{}, unpubSeen: map[StreamKey]time.Time{}, params: map[string]string{},
		keyParam: map[StreamKey]string{}, cache: map[string]*ObservedRoom{}, stale: map[string]bool{},
		waitSRS: map[string]bool{}, deletedRooms: map[string]time.Time{}, backlogRooms: map[string]bool{}, primed: make(chan struct{}), desired: &Desired{Rooms: map[string]*DesiredRoom{}, ByKey: map[StreamKey]string{}},
		resyncCh: make(chan struct{}, 1), refreshCh: make(chan struct{}, 1)}
	e.policy.Store(cfg.Policy)
	slots := 8
	if cfg.Policy != nil && cfg.Policy.Reconcile.Concurrency > 0 {
		slots = cfg.Policy.Reconcile.Concurrency
	}
	// reconcile.concurrency bounds both the rooms worked on at once and the
	// OWT operations in flight across them.
	e.applier = &Applier{OWT: cfg.OWT, Agent: cfg.Agent, Journal: cfg.Journal, Pending: e.pending, Log: cfg.Log,
		PendingHold: cfg.PendingHold, Observe: cfg.Metrics.observeOp, Slots: make(chan struct{}, slots), RoomDeleted: e.roomDeleted}
	if j := cfg.Journal; j != nil {
		e.pending.OnResolve = j.End
		j.OnSave = e.storeWritten
	}
	cfg.Metrics.setFuncs(func() float64 { return float64(e.queue.Len()) }, e.ownedStreams, func() float64 {
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.roomsOK {
		if e.roomsErr != nil {
			return false, "OWT room listing failed: " + e.roomsErr.Error()
		}
		return false, "OWT not listed yet"
	}
	for _, s := range e.cfg.Servers {
		r := e.srs[s.Name]
		if r == nil {
			return false, fmt.Sprintf("SRS %q not listed yet", s.Name)
		}
		if !r.ok {
			return false, fmt.Sprintf("SRS %q listing failed: %v", s.Name, r.err)
		}
	}
	return true, ""
}

// Idle reports whether nothing is queued or being worked on.
func (e *Engine) Idle() bool { return e.queue.Busy() == 0 }

// Run runs the engine until ctx is done, then lets in-flight operations
// finish (bounded by each call's own timeout) and saves the state.
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
		return e.cfg.Journal.Commit(sctx)
	}
	return nil
}

// recoverIntents turns the open streaming-in intents of an earlier run into
// held POSTs: a stream whose POST may still complete on OWT (which hides it
// meanwhile) is not started again until a listing shows it or the hold runs
// out. Room intents are resolved by the first room listings.
func (e *Engine) recoverIntents(now time.Time) {
	j := e.cfg.Journal
	if j == nil {
		return
	}
	for _, in := range j.Intents() {
		switch in.Kind {
		case IntentInput:
			until := in.At.Add(e.cfg.PendingHold)
			if now.After(until) {
				j.End(in.ID)
				continue
			}
			e.pending.Restore(in.Room, in.Stream, in.ID, in.At, until)
			e.log.Info("streaming-in POST of an earlier run may still complete; holding new POSTs for it", "room", in.Room,
				"stream", in.Stream.String(), "hold_left", until.Sub(now).Round(time.Millisecond))
		case IntentRoom:
			e.log.Info("room create of an earlier run has an open intent; resolving it from the room listing before any write to the room", "room", in.Room)
		}
	}
}

// resolveRoomIntents settles the open room intents with a room listing
// (see Journal.ResolveRoomIntents) and logs what it decided.
func (e *Engine) resolveRoomIntents(ix RoomIndex, only string) {
	if e.cfg.Journal == nil {
		return
	}
	for _, r := range e.cfg.Journal.ResolveRoomIntents(ix, only, e.cfg.IntentSettle) {
		r.log(e.log)
	}
}

// storeWritten is told the outcome of every journal write.
func (e *Engine) storeWritten(err error) {
	if m := e.cfg.Metrics; m != nil {
		m.storeWrite(err)
	}
	if err != nil {
		e.log.Error("ownership journal NOT written: creates are not made until it can be; hooks are still answered", "store", e.cfg.Journal.String(), "err", err)
	}
}

// roomDeleted remembers a room the agent deleted, so that a room listing
// begun before the delete does not bring it back.
func (e *Engine) roomDeleted(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deletedRooms[id] = time.Now()
	e.rooms = e.rooms.Without(map[string]bool{id: true})
}

func (e *Engine) loop(ctx context.Context) {
	// The period runs from the start of each resync, like a ticker: the
	// time a resync takes does not stretch the interval.
	start := time.Now()
	e.resync(ctx)
	timer := time.NewTimer(time.Until(start.Add(e.nextInterval())))
	defer timer.Stop()
	refresh := time.NewTimer(time.Hour)
	refresh.Stop()
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			if n := e.backlog(); n > 0 {
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
	iv := e.pol().Reconcile.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	// Jitter only shortens the interval: drift is never found later than
	// one interval after it happens.
	return iv - time.Duration(rand.Float64()*0.1*float64(iv))
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

// readSRS reads every server and records the readings. It returns whether
// some server restarted (new service id).
func (e *Engine) readSRS(ctx context.Context) (restarted bool) {
	now := time.Now()
	srcs, failed := ReadSRS(ctx, e.cfg.Servers)
	e.mu.Lock()
	defer e.mu.Unlock()
	got := map[string]bool{}
	for _, s := range srcs {
		got[s.Name] = true
		prev := e.srs[s.Name]
		if prev != nil && prev.src.Snapshot.ServiceID != "" && prev.src.Snapshot.ServiceID != s.Snapshot.ServiceID {
			e.log.Warn("SRS restarted: new service id; resyncing everything", "srs", s.Name,
				"old_service_id", prev.src.Snapshot.ServiceID, "service_id", s.Snapshot.ServiceID)
			restarted = true
		}
		e.srs[s.Name] = newReading(s, now)
		if s.Snapshot.ServerID != "" {
			e.serverOf[s.Snapshot.ServerID] = s.Name
		}
	}
	for _, s := range e.cfg.Servers {
		if got[s.Name] {
			continue
		}
		err := failed[s.Name]
		e.log.Warn("SRS listing failed; creating and patching from the last good reading, deleting nothing", "srs", s.Name, "err", err)
		if r := e.srs[s.Name]; r != nil {
			r.ok, r.err = false, err
		} else {
			e.srs[s.Name] = &srsReading{ok: false, err: err}
		}
	}
	e.pruneHintsLocked(now)
	e.recomputeLocked()
	return restarted
}

// snapshotAtLocked is the time of the oldest current SRS reading.
func (e *Engine) snapshotAtLocked() time.Time {
	var at time.Time
	for _, s := range e.cfg.Servers {
		r := e.srs[s.Name]
		if r == nil || r.at.IsZero() {
			return time.Time{} // a server never read: no reading to measure a grace against
		}
		if at.IsZero() || r.at.Before(at) {
			at = r.at
		}
	}
	return at
}

func (e *Engine) srsCompleteLocked() (bool, string) {
	for _, s := range e.cfg.Servers {
		r := e.srs[s.Name]
		if r == nil || !r.ok {
			return false, fmt.Sprintf("the SRS listing of %q failed or is incomplete", s.Name)
		}
	}
	if !e.roomsOK {
		return false, "the OWT room listing failed"
	}
	return true, ""
}

func (e *Engine) pruneHintsLocked(now time.Time) {
	for k, h := range e.hints {
		r := e.srs[k.Server]
		listedAfter := r != nil && r.ok && r.at.After(h.At)
		if _, listed := e.desiredKeyListed(k); listed && listedAfter {
			delete(e.hints, k)
			delete(e.hintRooms, k)
			continue
		}
		if now.Sub(h.At) > e.cfg.HintTTL && listedAfter {
			e.log.Info("on_publish hint expired: SRS never listed the stream as published", "stream", k.String())
			if in := e.hintRooms[k]; in != nil {
				e.waitSRS[in.Room] = true
			}
			delete(e.hints, k)
			delete(e.hintRooms, k)
		}
	}
	for k, at := range e.unpub {
		if r := e.srs[k.Server]; r != nil && r.ok && r.at.After(at) {
			delete(e.unpub, k)
		}
	}
	// Forget params of publishers SRS no longer lists.
	live := map[string]bool{}
	for _, r := range e.srs {
		for _, s := range r.src.Snapshot.Streams {
			live[s.Publish.CID] = true
		}
	}
	for _, h := range e.hints {
		live[h.ClientID] = true
	}
	for cid := range e.params {
		if !live[cid] {
			delete(e.params, cid)
		}
	}
}

func (e *Engine) desiredKeyListed(k StreamKey) (string, bool) {
	r := e.srs[k.Server]
	if r == nil {
		return "", false
	}
	cid, ok := r.live[k]
	return cid, ok
}

func (e *Engine) recomputeLocked() {
	var srcs []Source
	for _, s := range e.cfg.Servers {
		if r := e.srs[s.Name]; r != nil {
			srcs = append(srcs, r.src)
		}
	}
	var hints []Hint
	for _, h := range e.hints {
		hints = append(hints, h)
	}
	d := ComputeDesired(DesiredInputs{Policy: e.pol(), Sources: srcs, Hints: hints,
		ParamOf: func(k StreamKey, cid string) string {
			if p, ok := e.params[cid]; ok {
				return p
			}
			return e.keyParam[k]
		}})
	e.desired = d
	for _, msg := range d.Errors {
		e.log.Error("policy could not place stream; fix the route's templates", "detail", msg)
	}
	if m := e.cfg.Metrics; m != nil {
		n := 0
		for _, r := range d.Rooms {
			n += len(r.Inputs)
		}
		m.DesiredStreams.Set(float64(n))
		m.DesiredRooms.Set(float64(len(d.Rooms)))
		m.PolicyErrors.Set(float64(len(d.Errors)))
	}
}

// resync is a full resync: read SRS and OWT's room list, then queue every
// room that is desired, owned or listed, each to be re-listed.
func (e *Engine) resync(ctx context.Context) {
	start := time.Now()
	// SRS and OWT are read at the same time: a resync's latency is the
	// slower of the two, not their sum.
	listStart := time.Now()
	var rooms []owtapi.Room
	var err error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		rooms, err = e.cfg.OWT.ListRooms(ctx)
	}()
	e.readSRS(ctx)
	<-listed
	e.mu.Lock()
	if err != nil {
		e.roomsOK, e.roomsErr = false, err
		e.log.Warn("OWT room listing failed; will retry at the next resync", "err", err)
	} else {
		ix := IndexRooms(rooms)
		ix.ListedAt = listStart
		e.rooms, e.roomsOK, e.roomsErr = e.withoutDeletedLocked(ix), true, nil
	}
	names := map[string]bool{}
	for n := range e.desired.Rooms {
		names[n] = true
	}
	for _, n := range e.rooms.Names() {
		names[n] = true
	}
	if e.cfg.Journal != nil {
		if err == nil {
			e.resolveRoomIntents(e.rooms, "")
		}
		for _, n := range e.cfg.Journal.Rooms() {
			names[n] = true
		}
		for _, in := range e.cfg.Journal.Intents() {
			names[in.Room] = true
		}
	}
	for n := range e.cache {
		names[n] = true
	}
	for n := range names {
		e.stale[n] = true
		e.backlogRooms[n] = true
	}
	held := map[StreamKey]bool{}
	var inputs []RoomStream
	for name, o := range e.cache {
		for _, in := range o.Inputs {
			held[in.Key] = true
			inputs = append(inputs, RoomStream{Room: name, Key: in.Key})
		}
	}
	if e.cfg.Journal != nil && e.primedSet {
		e.cfg.Journal.PruneMissing(inputs)
	}
	for k := range e.unpubSeen {
		if !held[k] {
			delete(e.unpubSeen, k)
		}
	}
	// Publish queries are only needed for streams the agent still pulls.
	for k := range e.keyParam {
		if !held[k] {
			delete(e.keyParam, k)
		}
	}
	e.resetBudgetLocked()
	complete, _ := e.srsCompleteLocked()
	if complete {
		e.lastOK = time.Now()
	}
	prime := e.roomsOK && !e.primedSet
	e.mu.Unlock()
	if prime {
		// Like an informer's initial list: read every room once before any
		// worker plans, so the publish queries recorded in the agent's
		// inputs are known and query-matching routes stay stable.
		e.primeCache(ctx, names)
	}
	e.mu.Lock()
	if prime {
		e.recomputeLocked()
		e.primedSet = true
		close(e.primed)
	}
	e.mu.Unlock()
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		e.queue.Add(n)
	}
	if m := e.cfg.Metrics; m != nil {
		switch {
		case complete:
			m.Resyncs.WithLabelValues("ok").Inc()
			m.LastResync.Set(float64(time.Now().Unix()))
		case e.roomsOK:
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
	e.mu.Lock()
	var rooms []*ObservedRoom
	for n := range names {
		o := e.rooms.Locate(n, e.cfg.Journal)
		if o.Exists {
			rooms = append(rooms, &o)
		}
	}
	e.mu.Unlock()
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
	e.mu.Lock()
	defer e.mu.Unlock()
	for n, o := range fresh {
		if !o.Exists {
			continue
		}
		e.cache[n] = o
		delete(e.stale, n) // just read: its worker needs no second listing
		for _, in := range o.Inputs {
			if in.Param != "" {
				e.keyParam[in.Key] = in.Param
			}
		}
	}
}

// budgetWindow is how long one max_deletes budget lasts: a resync
// interval, but at most 10 s so that hook-driven deletes between long
// resyncs do not stall.
func (e *Engine) budgetWindow() time.Duration {
	return min(e.pol().Reconcile.Interval, 10*time.Second)
}

func (e *Engine) resetBudgetLocked() {
	e.budget = Budget{MaxDeletes: e.pol().Reconcile.MaxDeletes, EmptyGuard: e.emptyGuardLocked()}
	e.budgetAt = time.Now()
}

// emptyGuardLocked returns the allow_empty rule for this cycle: when SRS
// lists no live stream at all while the agent owns more than one input, it
// holds every stop not confirmed by an on_unpublish hook.
func (e *Engine) emptyGuardLocked() func(Op) bool {
	if e.pol().Reconcile.AllowEmpty || e.desired.LiveStreams > 0 {
		return nil
	}
	owned := 0
	for _, o := range e.cache {
		owned += len(o.Inputs)
	}
	if owned < 2 {
		return nil
	}
	confirmed := make(map[StreamKey]bool, len(e.unpubSeen))
	for k := range e.unpubSeen {
		confirmed[k] = true
	}
	return func(op Op) bool { return !confirmed[op.key] }
}

// ownedStreams counts the inputs the agent owns, as last observed (for the gauge).
func (e *Engine) ownedStreams() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, o := range e.cache {
		n += len(o.Inputs)
	}
	return float64(n)
}

// refreshSRS re-reads SRS after hooks and queues the rooms whose desired
// streams changed, plus rooms waiting for a fresher reading.
func (e *Engine) refreshSRS(ctx context.Context) {
	e.mu.Lock()
	before := make(map[StreamKey]string, len(e.desired.ByKey))
	for k, r := range e.desired.ByKey {
		before[k] = r
	}
	e.mu.Unlock()
	if e.readSRS(ctx) {
		e.Resync()
	}
	e.mu.Lock()
	touched := map[string]bool{}
	for k, r := range e.desired.ByKey {
		if before[k] != r {
			touched[r] = true
			if before[k] != "" {
				touched[before[k]] = true
			}
		}
	}
	for k, r := range before {
		if _, ok := e.desired.ByKey[k]; !ok {
			touched[r] = true
		}
	}
	for r := range e.waitSRS {
		touched[r] = true
	}
	e.waitSRS = map[string]bool{}
	e.mu.Unlock()
	for r := range touched {
		e.queue.Add(r)
	}
}

// desiredRoomLocked merges the listing-based desired room with hook hints.
func (e *Engine) desiredRoomLocked(name string) *DesiredRoom {
	base := e.desired.Room(name)
	var out *DesiredRoom
	if base != nil {
		out = &DesiredRoom{Name: base.Name, Create: base.Create, Options: base.Options, Inputs: make(map[StreamKey]*DesiredInput, len(base.Inputs))}
		for k, in := range base.Inputs {
			if _, gone := e.unpub[k]; gone {
				continue
			}
			out.Inputs[k] = in
		}
	}
	for k, in := range e.hintRooms {
		if in.Room != name {
			continue
		}
		if _, listed := e.desired.ByKey[k]; listed {
			continue
		}
		if out == nil {
			t, _ := e.hintTarget(k)
			out = &DesiredRoom{Name: name, Create: t.Create, Options: t.RoomOptions, Inputs: map[StreamKey]*DesiredInput{}}
		}
		out.Inputs[k] = in
	}
	return out
}

func (e *Engine) hintTarget(k StreamKey) (policy.Target, error) {
	h := e.hints[k]
	return e.pol().Resolve(policy.Input{Server: k.Server, PullBase: e.pullOf(k.Server), Vhost: k.Vhost, App: k.App, Stream: k.Stream, Param: srsapi.ParseParam(h.Param)})
}

func (e *Engine) pullOf(server string) string {
	for _, s := range e.cfg.Servers {
		if s.Name == server {
			return s.Pull
		}
	}
	return ""
}

func (e *Engine) desiredRoomOfLocked(k StreamKey) (string, bool) {
	if _, gone := e.unpub[k]; gone {
		return "", false
	}
	if r, ok := e.desired.ByKey[k]; ok {
		return r, true
	}
	if in, ok := e.hintRooms[k]; ok {
		return in.Room, true
	}
	return "", false
}

func (e *Engine) backlog() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.backlogRooms)
}

// process reconciles one room.
func (e *Engine) process(ctx context.Context, name string) {
	start := time.Now()
	defer func() {
		e.mu.Lock()
		delete(e.backlogRooms, name)
		e.mu.Unlock()
	}()
	err := e.reconcileRoom(ctx, name)
	var notYet *notYetError
	switch {
	case errors.As(err, &notYet):
		d := e.queue.AddRateLimited(name)
		e.log.Info("stream(s) not pullable yet; retrying with backoff", "room", name, "retry_in", d.Round(time.Millisecond))
		e.cfg.Metrics.reconcile("retry", time.Since(start))
	case err != nil:
		d := e.queue.AddRateLimited(name)
		e.log.Warn("room not reconciled; retrying with backoff", "room", name, "retry_in", d.Round(time.Millisecond), "err", err)
		if m := e.cfg.Metrics; m != nil {
			m.Retries.Inc()
		}
		e.cfg.Metrics.reconcile("error", time.Since(start))
	default:
		e.queue.Forget(name)
		e.cfg.Metrics.reconcile("ok", time.Since(start))
	}
}

func (e *Engine) reconcileRoom(ctx context.Context, name string) error {
	e.mu.Lock()
	// The worker changes a private copy; other workers read the cache.
	obs := e.cache[name]
	if obs != nil {
		obs = obs.Clone()
	}
	if obs == nil || e.stale[name] {
		// After a resync, locate the room again from the fresh room list:
		// a room re-created by someone else has a new id.
		o := e.rooms.Locate(name, e.cfg.Journal)
		obs = &o
	} else if rec, ok := e.journalRoom(name); ok && (!obs.Exists || obs.ID != rec.ID) {
		obs.ID, obs.Exists, obs.Owned, obs.Listed = rec.ID, true, true, false
	} else if !obs.Exists {
		o := e.rooms.Locate(name, e.cfg.Journal)
		if o.Exists {
			obs = &o
		}
	}
	desiredNow := e.desiredRoomLocked(name)
	deleteCandidate := desiredNow == nil || len(desiredNow.Inputs) == 0
	needList := e.stale[name] || !obs.Listed || e.pending.Unresolved(name) ||
		(deleteCandidate && obs.Owned && obs.Exists && obs.Participants < 0)
	delete(e.stale, name)
	desired := desiredNow
	hintExpired := false
	if desired != nil {
		for k, in := range desired.Inputs {
			if h, ok := e.hints[k]; ok && in.Hint && time.Since(h.At) > e.cfg.HintTTL {
				hintExpired = true
			}
		}
	}
	if hintExpired {
		e.waitSRS[name] = true
	}
	e.mu.Unlock()
	if hintExpired {
		e.scheduleRefresh(0)
	}

	createHeld := ""
	if !obs.Exists {
		var relocated bool
		createHeld, relocated = e.settleRoomIntent(ctx, name, obs)
		needList = needList || relocated
	}
	var listErr error
	if needList && obs.Exists {
		probed := obs.ID
		listErr = ObserveRoom(ctx, e.cfg.OWT, e.cfg.Agent, obs, deleteCandidate)
		if listErr == nil {
			e.pending.Seen(name, obs.Inputs)
			if !obs.Exists {
				// OWT's NotFound for the room itself: the only proof it is gone.
				if rec, owned := e.journalRoom(name); owned && rec.ID == probed {
					e.log.Warn("room the agent created is gone from OWT (deleted by hand or OWT restarted); it will be created again if still needed", "room", name, "room_id", probed)
					e.cfg.Journal.ForgetRoom(name)
				}
				obs.Owned = false
			}
		}
	} else if !obs.Exists {
		obs.Listed = true
	}

	e.mu.Lock()
	for _, in := range obs.Inputs {
		if in.Param != "" {
			e.keyParam[in.Key] = in.Param
		}
	}
	now := time.Now()
	snapAt := e.snapshotAtLocked()
	complete, why := e.srsCompleteLocked()
	grace := e.pol().Reconcile.DeleteGrace
	ctxPlan := RoomContext{
		Desired: desired, Observed: obs, SnapshotAt: snapAt, Grace: grace, CreateHeld: createHeld,
		DeletesAllowed: complete && listErr == nil, DeletesHeldWhy: why,
		Live: func(k StreamKey) bool { _, ok := e.desiredKeyListed(k); return ok },
		MissingSince: func(k StreamKey) (time.Time, bool) {
			if at, ok := e.unpub[k]; ok {
				return at, true
			}
			if e.cfg.Journal == nil {
				return time.Time{}, false
			}
			return e.cfg.Journal.MissingSince(name, k)
		},
		InFlight:      func(k StreamKey) bool { return e.pending.InFlight(name, k, now) },
		DesiredRoomOf: e.desiredRoomOfLocked,
		InViewIn: func(k StreamKey, room string) bool {
			other := e.cache[room]
			d := e.desiredRoomLocked(room)
			if other == nil || d == nil || d.Inputs[k] == nil {
				return false
			}
			return other.InView(k, d.Inputs[k].Views)
		},
	}
	if listErr != nil {
		obs.Listed = false
	}
	plan := PlanRoom(ctxPlan)
	if e.cfg.Journal != nil {
		for _, k := range plan.NewlyMissing {
			if !snapAt.IsZero() {
				e.cfg.Journal.SetMissing(name, k, snapAt)
			}
		}
		for _, k := range plan.Wanted {
			e.cfg.Journal.ClearMissing(name, k)
		}
	}
	if time.Since(e.budgetAt) > e.budgetWindow() {
		e.resetBudgetLocked()
	}
	e.budget.Apply(&plan)
	budgetHeld := false
	wait := time.Duration(-1)
	waitSRS := false
	for _, o := range plan.Ops {
		if o.Held == "" {
			continue
		}
		e.cfg.Metrics.held(o.Rule)
		e.log.Debug("operation held", "room", name, "op", string(o.Kind), "stream", o.Stream, "rule", o.Rule, "why", o.Held)
		if o.Rule == RuleMaxDeletes {
			budgetHeld = true
		}
		if o.Rule == RuleGrace {
			// Ready once a reading taken after the grace still lacks it.
			if w := max(0, snapAt.Add(o.RetryIn).Sub(now)); wait < 0 || w < wait {
				wait = w
			}
			waitSRS = true
		}
	}
	if waitSRS {
		e.waitSRS[name] = true
	}
	e.mu.Unlock()
	for _, n := range plan.Notes {
		e.log.Warn("room needs attention", "room", name, "detail", n)
	}

	results := e.applier.ApplyRoom(ctx, &plan, obs)
	if e.cfg.Journal != nil {
		// Grace records and closed intents; creates committed their own.
		// A failure is logged and counted by storeWritten.
		_ = e.cfg.Journal.Commit(ctx)
	}
	if e.pending.Waiting(name, time.Now()) {
		// A POST of unknown outcome holds a start: look for its stream again soon.
		e.queue.AddAfter(name, e.cfg.PendingPoll)
	}

	e.mu.Lock()
	e.cache[name] = obs
	if !obs.Exists && !obs.Owned && desired == nil {
		delete(e.cache, name)
	}
	var errs []error
	notYet := 0
	joined := map[StreamKey]bool{}
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
			if notPullableYet(r) {
				notYet++
			}
		}
		if r.Err == nil && r.Op.Kind == OpAddView {
			joined[r.Op.key] = true
		}
	}
	// A stream that joined its views here may free its old room.
	var movedFrom []string
	if len(joined) > 0 {
		for rn, o := range e.cache {
			if rn == name {
				continue
			}
			for _, in := range o.Inputs {
				if joined[in.Key] {
					movedFrom = append(movedFrom, rn)
					break
				}
			}
		}
	}
	e.mu.Unlock()
	for _, rn := range movedFrom {
		e.queue.Add(rn)
	}
	if wait >= 0 {
		e.scheduleRefresh(wait + 50*time.Millisecond)
	}
	if budgetHeld {
		e.queue.AddAfter(name, e.budgetWindow())
	}
	if listErr != nil {
		errs = append(errs, listErr)
	}
	if len(errs) > 0 && notYet == len(errs) {
		return &notYetError{errors.Join(errs...)}
	}
	return errors.Join(errs...)
}

func (e *Engine) journalRoom(name string) (RoomRecord, bool) {
	if e.cfg.Journal == nil {
		return RoomRecord{}, false
	}
	return e.cfg.Journal.Room(name)
}

// settleRoomIntent handles a room that does not exist but has an open
// create intent: too young, the create is held (the room is looked at
// again once it may be settled); old enough, a fresh room listing resolves
// it and obs is located again (relocated). It returns why a create is held.
func (e *Engine) settleRoomIntent(ctx context.Context, name string, obs *ObservedRoom) (held string, relocated bool) {
	j := e.cfg.Journal
	if j == nil {
		return "", false
	}
	in, open := j.RoomIntent(name)
	if !open {
		return "", false
	}
	if age := time.Since(in.At); age < e.cfg.IntentSettle {
		e.queue.AddAfter(name, e.cfg.IntentSettle-age+10*time.Millisecond)
		return fmt.Sprintf("a create of this room sent %s ago has no known outcome yet; waiting for a room listing to tell", age.Round(time.Millisecond)), false
	}
	listStart := time.Now()
	rooms, err := e.cfg.OWT.ListRooms(ctx)
	if err != nil {
		return "a create of this room has no known outcome and the room listing to check it failed: " + err.Error(), false
	}
	ix := IndexRooms(rooms)
	ix.ListedAt = listStart
	e.resolveRoomIntents(ix, name)
	*obs = ix.Locate(name, j)
	return "", true
}

// OnHook takes an SRS hook: the policy may reject a publish (deny route,
// bad token); otherwise the affected room is queued and the hook answered at
// once. It never waits for OWT. It implements srsapi.HookReceiver.
func (e *Engine) OnHook(_ context.Context, h srsapi.Hook) error {
	if h.Action != srsapi.ActionOnPublish && h.Action != srsapi.ActionOnUnpublish {
		return nil
	}
	p := e.pol()
	if p == nil {
		return nil // fail open until a policy is loaded
	}
	e.mu.Lock()
	server := e.serverFor(h.ServerID)
	key := StreamKey{Server: server, Vhost: h.Vhost, App: h.App, Stream: h.Stream}
	if r := e.srs[server]; r != nil && r.ok && h.ServiceID != "" && r.src.Snapshot.ServiceID != "" && r.src.Snapshot.ServiceID != h.ServiceID {
		e.Resync() // SRS restarted since our last reading
	}
	e.mu.Unlock()
	t, err := p.Resolve(policy.Input{Server: server, PullBase: e.pullOf(server), Vhost: h.Vhost, App: h.App, Stream: h.Stream, Param: srsapi.ParseParam(h.Param)})
	now := time.Now()
	if h.Action == srsapi.ActionOnPublish {
		if err != nil {
			e.log.Error("policy could not place published stream; accepting it (fail open)", "stream", key.String(), "err", err)
			return nil
		}
		switch {
		case t.Action == policy.ActionDeny:
			e.hint("denied")
			e.log.Info("publish refused by policy", "stream", key.String(), "route", t.Route, "reason", "deny route")
			return &srsapi.Rejection{Code: 403, Reason: fmt.Sprintf("stream %s is denied by route %d of the policy", key, t.Route)}
		case !t.CheckToken(srsapi.ParseParam(h.Param)):
			e.hint("denied")
			e.log.Info("publish refused by policy", "stream", key.String(), "route", t.Route, "reason", "missing or wrong publish token")
			return &srsapi.Rejection{Code: 401, Reason: "missing or wrong publish token for " + key.String()}
		case t.Action != policy.ActionRoute:
			e.hint("ignored")
			return nil
		}
		e.mu.Lock()
		if cid, live := e.desiredKeyListed(key); live && cid != "" && cid != h.ClientID {
			if _, left := e.unpub[key]; !left {
				e.mu.Unlock()
				e.hint("busy")
				e.log.Info("second publisher for a live stream; SRS will refuse it as busy, nothing changes", "stream", key.String(), "client_id", h.ClientID)
				return nil
			}
		}
		e.params[h.ClientID] = h.Param
		delete(e.unpub, key)
		delete(e.unpubSeen, key)
		e.hints[key] = Hint{Key: key, Published: true, ClientID: h.ClientID, Param: h.Param, At: now}
		e.hintRooms[key] = &DesiredInput{Key: key, Room: t.Room, URL: t.PullURL, Views: t.Views, Media: t.Media,
			Transport: t.Transport, BufferSize: t.BufferSize, Param: h.Param, Hint: true}
		e.mu.Unlock()
		e.hint("publish")
		e.log.Info("on_publish: stream queued for its room", "stream", key.String(), "room", t.Room, "client_id", h.ClientID)
		e.queue.Add(t.Room)
		// Re-check the hint once its TTL has passed (the worker asks for a
		// fresh SRS reading if SRS still does not list the stream).
		e.queue.AddAfter(t.Room, e.cfg.HintTTL+e.cfg.RefreshDelay)
		e.scheduleRefresh(e.cfg.RefreshDelay)
		return nil
	}
	// on_unpublish: SRS ignores our answer; start the grace period now.
	e.mu.Lock()
	delete(e.hints, key)
	delete(e.hintRooms, key)
	e.unpub[key] = now
	e.unpubSeen[key] = now
	rooms := map[string]bool{}
	if r, ok := e.desired.ByKey[key]; ok {
		rooms[r] = true
	}
	if err == nil && t.Room != "" {
		rooms[t.Room] = true
	}
	grace := p.Reconcile.DeleteGrace
	if e.cfg.Journal != nil {
		for r := range rooms {
			e.cfg.Journal.SetMissing(r, key, now)
		}
	}
	e.mu.Unlock()
	e.hint("unpublish")
	e.log.Info("on_unpublish: stream leaves after the delete grace", "stream", key.String(), "grace", grace, "client_id", h.ClientID)
	for r := range rooms {
		e.queue.Add(r)
		e.queue.AddAfter(r, grace+10*time.Millisecond)
	}
	e.scheduleRefresh(e.cfg.RefreshDelay)
	return nil
}

func (e *Engine) hint(kind string) {
	if m := e.cfg.Metrics; m != nil {
		m.Hints.WithLabelValues(kind).Inc()
	}
}

// serverFor maps a hook's server_id to a configured SRS server.
func (e *Engine) serverFor(serverID string) string {
	if n, ok := e.serverOf[serverID]; ok {
		return n
	}
	if len(e.cfg.Servers) > 0 {
		return e.cfg.Servers[0].Name
	}
	return ""
}

// notYetError is a room whose only failures are streams OWT cannot pull in
// the first moments of their publish: retried, not reported as broken.
type notYetError struct{ err error }

func (e *notYetError) Error() string { return e.err.Error() }
func (e *notYetError) Unwrap() error { return e.err }

// withoutDeletedLocked drops from a fresh index the rooms the agent deleted
// after its listing began, and forgets deletes older than the listing.
func (e *Engine) withoutDeletedLocked(ix RoomIndex) RoomIndex {
	drop := map[string]bool{}
	for id, at := range e.deletedRooms {
		if at.Before(ix.ListedAt) {
			delete(e.deletedRooms, id)
			continue
		}
		drop[id] = true
	}
	return ix.Without(drop)
}
