package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// process reconciles one room and requeues it as its outcome asks.
func (e *Engine) process(ctx context.Context, name string) {
	start := time.Now()
	defer func() {
		e.backlogMu.Lock()
		delete(e.backlog, name)
		e.backlogMu.Unlock()
	}()
	err := e.reconcileRoom(ctx, name)
	e.view.roomResult(name, err)
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

// roomSnapshot is what a worker plans one room from: its own copy of the
// observed room and the desired room, read from the stores.
type roomSnapshot struct {
	obs       *ObservedRoom
	desired   *DesiredRoom
	needList  bool
	deleteCan bool // nothing is desired: the room may be deleted
}

// snapshot takes the room from the OWT state and the desired state, and
// says whether OWT must be listed before planning.
func (e *Engine) snapshot(name string) roomSnapshot {
	obs, stale := e.owt.Take(name, e.cfg.Journal)
	d := e.srs.DesiredRoom(name, e.pol(), e.pullOf)
	s := roomSnapshot{obs: obs, desired: d, deleteCan: d == nil || len(d.Inputs) == 0}
	// A POST of unknown outcome, held or just run out, is looked for in a
	// fresh listing; one whose hold ran out no longer holds its stream.
	s.needList = stale || !obs.Listed || e.pending.Unresolved(name) ||
		(s.deleteCan && obs.Owned && obs.Exists && obs.Participants < 0)
	e.pending.Sweep(name, time.Now())
	return s
}

// reconcileRoom is one pass over one room: snapshot, observe, plan, apply,
// report. Only this worker writes to the room meanwhile.
func (e *Engine) reconcileRoom(ctx context.Context, name string) error {
	snap := e.snapshot(name)
	obs, desired := snap.obs, snap.desired
	if e.srs.HintExpired(desired, time.Now()) {
		e.scheduleRefresh(0) // a hinted stream SRS never listed: read SRS again
	}
	// An open create intent is settled whether or not a room of that name
	// is listed: a room listed too soon after the create (a new leader
	// taking over at once) is adopted by a listing once it may be settled,
	// not at the next periodic resync.
	createHeld, relocated := e.settleRoomIntent(ctx, name, obs)
	snap.needList = snap.needList || relocated
	listErr := e.observe(ctx, obs, snap)

	plan, wait, budgetHeld := e.plan(name, obs, desired, createHeld, listErr)
	if e.view.notesChanged(name, plan.Notes) {
		// Logged when they change, not on every pass over the room.
		for _, n := range plan.Notes {
			e.log.Warn("room needs attention", "room", name, "detail", n)
		}
	}
	// Outputs are stopped before their room is deleted, and started once
	// an input of the room is in view (outputs_engine.go).
	outErr := e.outputsBefore(ctx, obs, desired)
	results := e.applier.ApplyRoom(ctx, &plan, obs)
	outErr = errors.Join(outErr, e.outputsAfter(ctx, obs, desired))
	return errors.Join(e.report(ctx, name, obs, desired, results, listErr, wait, budgetHeld), outErr)
}

// observe lists the room's streams when the snapshot asks for it. OWT's
// NotFound for the room itself is the only proof that it is gone.
func (e *Engine) observe(ctx context.Context, obs *ObservedRoom, snap roomSnapshot) error {
	if !snap.needList || !obs.Exists {
		if !obs.Exists {
			obs.Listed = true
		}
		return nil
	}
	probed := obs.ID
	err := ObserveRoom(ctx, e.cfg.OWT, e.cfg.Agent, obs, snap.deleteCan)
	if err != nil {
		obs.Listed = false
		return err
	}
	e.pending.Seen(obs.Name, obs.Inputs)
	e.learnParams(obs.Inputs)
	if !obs.Exists {
		if j := e.cfg.Journal; j != nil {
			if rec, owned := j.Room(obs.Name); owned && rec.ID == probed {
				e.log.Warn("room the agent created is gone from OWT (deleted by hand or OWT restarted); it will be created again if still needed", "room", obs.Name, "room_id", probed)
				j.ForgetRoom(obs.Name)
			}
		}
		obs.Owned = false
	}
	return nil
}

// plan runs the pure planner on the snapshot, records grace periods and
// spends the delete budget. wait is when a grace-held stop may be ready
// (-1: none); budgetHeld says max_deletes held a delete. A room whose
// deletes wait on an SRS server's reading is queued again by that server's
// next good reading, not before.
func (e *Engine) plan(name string, obs *ObservedRoom, desired *DesiredRoom, createHeld string, listErr error) (plan RoomPlan, wait time.Duration, budgetHeld bool) {
	now := time.Now()
	j := e.cfg.Journal
	plan = PlanRoom(e.roomContext(name, obs, desired, now, createHeld, listErr, func(k StreamKey) bool { return e.pending.InFlight(name, k, now) }))
	if j != nil {
		for _, k := range plan.NewlyMissing {
			if r := e.srs.Reading(k.Server); r.OK {
				j.SetMissing(name, k, r.At)
			}
		}
		for _, k := range plan.Wanted {
			j.ClearMissing(name, k)
		}
	}
	e.spendBudget(&plan)
	wait = -1
	for _, o := range plan.Ops {
		if o.Held == "" {
			continue
		}
		e.cfg.Metrics.held(o.Rule)
		e.log.Debug("operation held", "room", name, "op", string(o.Kind), "stream", o.Stream, "rule", o.Rule, "why", o.Held)
		if o.waitServer != "" {
			e.srs.WaitForReading(name, o.waitServer)
		}
		switch o.Rule {
		case RuleMaxDeletes:
			budgetHeld = true
		case RuleGrace:
			// Ready once a reading of its server begun after the grace
			// still lacks it.
			r := e.srs.Reading(o.waitServer)
			if w := max(0, r.At.Add(o.RetryIn).Sub(now)); wait < 0 || w < wait {
				wait = w
			}
		}
	}
	return plan, wait, budgetHeld
}

// report stores what the worker now knows of the room, commits the
// journal, queues what the results call for, and returns the room's error.
func (e *Engine) report(ctx context.Context, name string, obs *ObservedRoom, desired *DesiredRoom, results []Result, listErr error, wait time.Duration, budgetHeld bool) error {
	if e.cfg.Journal != nil {
		// Grace records and closed intents; creates committed their own.
		// A failure is logged and counted by storeWritten.
		_ = e.cfg.Journal.Commit(ctx)
	}
	e.owt.Store(obs, desired != nil)
	var errs []error
	notYet := 0
	joined := map[StreamKey]bool{}
	perServer := e.pol().Reconcile.PerServer()
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
			if notPullableYet(r) {
				notYet++
			}
		}
		if r.Err == nil && r.Op.Kind == OpAddView {
			joined[Ident(r.Op.key, perServer)] = true
		}
	}
	// A stream that joined its views here may free its old room.
	if len(joined) > 0 {
		for _, rn := range e.owt.Holding(joined, name, func(k StreamKey) StreamKey { return Ident(k, perServer) }) {
			e.queue.Add(rn)
		}
	}
	if left, ok := e.pending.Next(name, time.Now()); ok {
		// A POST of unknown outcome holds a start: look for its stream
		// again soon, and at the latest right after its hold runs out.
		e.queue.AddAfter(name, min(left+10*time.Millisecond, e.cfg.PendingPoll))
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

// notYetError is a room whose only failures are streams OWT cannot pull in
// the first moments of their publish: retried, not reported as broken.
type notYetError struct{ err error }

func (e *notYetError) Error() string { return e.err.Error() }
func (e *notYetError) Unwrap() error { return e.err }

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

// settleRoomIntent handles a room with an open create intent: too young,
// the create is held (the room is looked at again once it may be settled);
// old enough, a fresh room listing resolves it and obs is located again
// (relocated). It returns why a create is held (the planner ignores it for
// a room that exists).
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
