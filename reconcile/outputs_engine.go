package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// Output timing.
const (
	// outputHold: after an output POST of unknown outcome (a timeout, or
	// OWT's 500/1301 of its 2 s internal RPC timeout), how long OWT may
	// still create it; no second POST is sent meanwhile. OWT's conference
	// gives up on a connecting output after about 18 s.
	outputHold = 20 * time.Second
	// outputStable: an output that lived this long and then vanished is not
	// "failing"; its restart is not delayed.
	outputStable = 30 * time.Second
	// outputRecheck: a room is looked at again this long after an output was
	// started there, since a push that cannot connect vanishes within seconds.
	outputRecheck = 2 * time.Second
)

// outputFailures remembers, per room and output key, how often an output
// vanished soon after it was started, and until when its restart waits.
type outputFailures struct {
	mu   sync.Mutex
	base time.Duration
	max  time.Duration
	m    map[string]*outputFailure
}

type outputFailure struct {
	count int
	until time.Time
}

func newOutputFailures(base, maxDelay time.Duration) *outputFailures {
	return &outputFailures{base: base, max: maxDelay, m: map[string]*outputFailure{}}
}

func failureKey(room, key string) string { return room + "|" + key }

// vanished records that an output started at started is gone at now and
// returns the delay before it may be started again.
func (f *outputFailures) vanished(room, key string, started, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	fk := failureKey(room, key)
	x := f.m[fk]
	if x == nil || (!started.IsZero() && now.Sub(started) >= outputStable) {
		x = &outputFailure{}
		f.m[fk] = x
	}
	x.count++
	d := f.base
	for i := 1; i < x.count && d < f.max; i++ {
		d *= 2
	}
	d = min(d, f.max)
	x.until = now.Add(d)
	return d
}

// left returns how long the restart of an output still waits.
func (f *outputFailures) left(room, key string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x := f.m[failureKey(room, key)]; x != nil && x.until.After(now) {
		return x.until.Sub(now)
	}
	return 0
}

// failing reports whether an output has vanished at least once without
// living long enough since.
func (f *outputFailures) failing(room, key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x := f.m[failureKey(room, key)]; x != nil {
		return x.count
	}
	return 0
}

// forgetRoom drops the failures of a room's outputs.
func (f *outputFailures) forgetRoom(room string, keep map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for fk := range f.m {
		if len(fk) > len(room) && fk[:len(room)+1] == room+"|" && !keep[fk[len(room)+1:]] {
			delete(f.m, fk)
		}
	}
}

// OutputRunner reconciles the outputs of rooms: it lists them, adopts
// outputs of POSTs whose answer was lost, plans, and applies with an
// intent recorded before every POST.
type OutputRunner struct {
	OWT      OutputOWT
	Journal  *Journal
	Failures *outputFailures
	Log      *slog.Logger // nil: discard
	Now      func() time.Time
	// Restarted, if set, is told the room of every output that vanished.
	Restarted func(room string)
	// Hold is how long an output POST of unknown outcome holds a new one
	// (0: 20 s; the engine takes owt.pending_hold when that is shorter).
	Hold time.Duration
}

func (r *OutputRunner) hold() time.Duration {
	if r.Hold > 0 {
		return r.Hold
	}
	return outputHold
}

func (r *OutputRunner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *OutputRunner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// OutputPass is the outcome of one room's output pass.
type OutputPass struct {
	Ops     []Op     // the plan, held ops included
	Results []Result // what was applied
	// Recheck asks for the room to be looked at again after this long (0: no).
	Recheck time.Duration
}

// Run reconciles the outputs of one room. declared are the outputs the
// room should have (nil when no stream is routed to it); inView says an
// input of the room is in view. With apply false it only plans (diff).
func (r *OutputRunner) Run(ctx context.Context, obs *ObservedRoom, declared []policy.Output, inView, apply bool) (OutputPass, error) {
	var pass OutputPass
	if r.OWT == nil {
		return pass, nil
	}
	name := obs.Name
	var records []OutputRecord
	var intents []Intent
	if r.Journal != nil {
		records = r.Journal.Outputs(name)
		intents = r.Journal.OutputIntents(name)
	}
	if len(records) == 0 && len(declared) == 0 && len(intents) == 0 {
		return pass, nil
	}
	if !obs.Exists {
		if !apply {
			// diff of a room not made yet: its outputs follow its inputs.
			pass.Ops = PlanOutputs(OutputContext{Room: name, Desired: declared, InputInView: inView, Observed: ObservedOutputs{Listed: true}})
			return pass, nil
		}
		// Outputs die with their room.
		if r.Journal != nil {
			for _, rec := range records {
				r.Journal.ForgetOutput(name, rec.ID)
			}
		}
		return pass, nil
	}
	listed, err := ListOutputs(ctx, r.OWT, obs.ID)
	if err != nil {
		if owtapi.IsRoomNotFound(err) {
			return pass, nil
		}
		return pass, fmt.Errorf("room %q: listing its outputs failed (none is started or stopped until it works): %w", name, err)
	}
	now := r.now()
	observed := ObserveOutputs(listed, records, declared)
	if apply {
		observed = r.settle(name, obs.ID, observed, intents, declared, now)
	}
	pending := map[string]string{}
	for _, in := range intents {
		if now.Sub(in.At) < r.hold() && r.Journal != nil && r.stillOpen(in.ID) {
			pending[in.Op] = fmt.Sprintf("an earlier start sent %s ago has no known outcome yet; OWT may still create it", now.Sub(in.At).Round(time.Millisecond))
		}
	}
	pass.Ops = PlanOutputs(OutputContext{Room: name, RoomID: obs.ID, Desired: declared, InputInView: inView, Observed: observed,
		Backoff: func(key string) time.Duration {
			if r.Failures == nil {
				return 0
			}
			return r.Failures.left(name, key, now)
		},
		Pending: func(key string) string { return pending[key] }})
	for _, o := range pass.Ops {
		switch {
		case o.Held != "" && o.RetryIn > 0:
			pass.Recheck = minPositive(pass.Recheck, o.RetryIn+10*time.Millisecond)
		case o.Rule == RuleOutputPending:
			pass.Recheck = minPositive(pass.Recheck, time.Second)
		}
	}
	if !apply {
		return pass, nil
	}
	var errs []error
	for _, o := range pass.Ops {
		if o.Held != "" {
			continue
		}
		start := time.Now()
		outcome, err := r.apply(ctx, o, listed)
		res := Result{Op: o, Outcome: outcome, Err: err, Duration: time.Since(start)}
		pass.Results = append(pass.Results, res)
		if err != nil {
			errs = append(errs, err)
		}
		if o.Kind == OpStartOutput && err == nil {
			pass.Recheck = minPositive(pass.Recheck, outputRecheck)
		}
		if o.Kind == OpStopOutput && err == nil && o.Reason == settingsChanged {
			pass.Recheck = minPositive(pass.Recheck, 50*time.Millisecond) // start it again soon
		}
	}
	if r.Failures != nil {
		keep := map[string]bool{}
		for _, d := range declared {
			keep[d.Key()] = true
		}
		r.Failures.forgetRoom(name, keep)
	}
	return pass, errors.Join(errs...)
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}

// stillOpen reports whether an intent is still open in the journal.
func (r *OutputRunner) stillOpen(id string) bool {
	for _, in := range r.Journal.Intents() {
		if in.ID == id {
			return true
		}
	}
	return false
}

// settle records what the listing says: owned outputs that vanished are
// forgotten (and counted as failing), streaming-outs adopted by URL are
// recorded, and open intents are closed when their output shows up or
// their hold has run out.
func (r *OutputRunner) settle(name, roomID string, observed ObservedOutputs, intents []Intent, declared []policy.Output, now time.Time) ObservedOutputs {
	j := r.Journal
	if j == nil {
		return observed
	}
	for _, v := range observed.Vanished {
		j.ForgetOutput(name, v.ID)
		if r.Restarted != nil {
			r.Restarted(name)
		}
		delay := time.Duration(0)
		if r.Failures != nil {
			delay = r.Failures.vanished(name, v.Key, v.Started, now)
		}
		r.log().Warn("output vanished from OWT (its push failed or its source went away); starting it again with backoff",
			"room", name, "output", v.ID, "url", v.URL, "view", v.View, "retry_in", delay.Round(time.Millisecond))
	}
	owned := map[string]bool{}
	for _, o := range observed.Owned {
		owned[o.ID] = true
	}
	recorded := map[string]bool{}
	for _, rec := range j.Outputs(name) {
		recorded[rec.ID] = true
	}
	for _, o := range observed.Owned {
		if !recorded[o.ID] {
			o.Started = now
			j.OutputStarted("", name, o)
			r.log().Warn("adopted a streaming-out with this agent's URL (a start whose answer was lost)", "room", name, "output", o.ID, "url", o.URL)
		}
	}
	for _, in := range intents {
		var want *policy.Output
		for i := range declared {
			if declared[i].Key() == in.Op {
				want = &declared[i]
			}
		}
		if want != nil {
			if l, ok := findNewOutput(observed.All, *want, roomID, in.SeenIDs, owned); ok {
				rec := OutputRecord{ID: l.ID, Key: in.Op, URL: l.URL, View: want.View, Started: now, Spec: want.Spec()}
				j.OutputStarted(in.ID, name, rec)
				if !owned[l.ID] {
					observed.Owned = append(observed.Owned, rec)
					owned[l.ID] = true
				}
				continue
			}
		}
		if now.Sub(in.At) >= r.hold() {
			j.End(in.ID)
		}
	}
	return observed
}

// findNewOutput finds the output a POST for d made: a streaming-out with
// d's URL, or a recording of d's view that was not listed before the POST
// (seen) and is not owned yet.
func findNewOutput(all []ListedOutput, d policy.Output, roomID string, seen []string, owned map[string]bool) (ListedOutput, bool) {
	for _, l := range all {
		if !isOutputFor(l, d, roomID) {
			continue
		}
		if d.IsRecording() && (owned[l.ID] || contains(seen, l.ID)) {
			continue
		}
		return l, true
	}
	return ListedOutput{}, false
}

// apply runs one output op.
func (r *OutputRunner) apply(ctx context.Context, o Op, listed []ListedOutput) (string, error) {
	switch o.Kind {
	case OpStartOutput:
		return r.start(ctx, o, listed)
	case OpStopOutput:
		return r.stop(ctx, o)
	}
	return "skipped", nil
}

// start records an intent, then POSTs the output. An answer that may hide
// a created output (500/1301, a timeout) is followed by a listing that
// adopts it; if it is not there yet the intent stays open and holds any
// new POST until OWT shows it or outputHold passes.
func (r *OutputRunner) start(ctx context.Context, o Op, listed []ListedOutput) (string, error) {
	d := o.output
	in := Intent{ID: newOpID(), Kind: IntentOutput, Room: o.Room, Op: d.Key(), At: r.now()}
	for _, l := range listed {
		if l.Recording {
			in.SeenIDs = append(in.SeenIDs, l.ID)
		}
	}
	if r.Journal != nil {
		if err := r.Journal.Begin(ctx, in); err != nil {
			return OutcomeNotRecorded, fmt.Errorf("room %q: %s not started: its intent could not be recorded in %s: %w (retried with backoff; fix the store)", o.Room, d, r.Journal, err)
		}
	}
	so, rec := outputRequest(o.RoomID, d)
	var id, url string
	var err error
	if d.IsRecording() {
		var got owtapi.Recording
		got, err = r.OWT.StartRecording(ctx, o.RoomID, rec)
		id = got.ID
	} else {
		var got owtapi.StreamingOut
		got, err = r.OWT.StartStreamingOut(ctx, o.RoomID, so)
		id, url = got.ID, got.URL
	}
	if err == nil {
		if r.Journal != nil {
			r.Journal.OutputStarted(in.ID, o.Room, OutputRecord{ID: id, Key: d.Key(), URL: url, View: d.View, Started: r.now(), Spec: d.Spec()})
		}
		r.log().Info("output started", "room", o.Room, "output", id, "what", d.String())
		return "ok", nil
	}
	if !mayHaveHappened(err) {
		if r.Journal != nil {
			r.Journal.End(in.ID)
		}
		return "failed", fmt.Errorf("room %q: %s: %w", o.Room, d, err)
	}
	// The output may exist without our knowing its id: look for it.
	if again, lerr := ListOutputs(ctx, r.OWT, o.RoomID); lerr == nil && r.Journal != nil {
		if l, ok := findNewOutput(again, d, o.RoomID, in.SeenIDs, nil); ok {
			r.Journal.OutputStarted(in.ID, o.Room, OutputRecord{ID: l.ID, Key: d.Key(), URL: l.URL, View: d.View, Started: r.now(), Spec: d.Spec()})
			r.log().Warn("output start answered with an error but OWT made it; adopted", "room", o.Room, "output", l.ID, "what", d.String(), "err", err)
			return "ok", nil
		}
	}
	return "failed", fmt.Errorf("room %q: %s: outcome unknown, no new POST for %s unless OWT lists it: %w", o.Room, d, r.hold(), err)
}

// stop deletes an owned output. OWT answers 500/1301 for one already gone;
// a listing that lacks it confirms that.
func (r *OutputRunner) stop(ctx context.Context, o Op) (string, error) {
	var err error
	if o.URL == "" {
		err = r.OWT.StopRecording(ctx, o.RoomID, o.StreamID)
	} else {
		err = r.OWT.StopStreamingOut(ctx, o.RoomID, o.StreamID)
	}
	gone := err == nil || owtapi.IsRoomNotFound(err)
	if !gone && owtapi.IsAmbiguous(err) {
		if again, lerr := ListOutputs(ctx, r.OWT, o.RoomID); lerr == nil {
			gone = true
			for _, l := range again {
				if l.ID == o.StreamID {
					gone = false
				}
			}
		}
	}
	if !gone {
		return "failed", fmt.Errorf("room %q: stop %s: %w", o.Room, outputLabel(o), err)
	}
	if r.Journal != nil {
		r.Journal.ForgetOutput(o.Room, o.StreamID)
	}
	r.log().Info("output stopped", "room", o.Room, "output", o.StreamID, "reason", o.Reason)
	if err != nil {
		return "gone", nil
	}
	return "ok", nil
}

// InputInView reports whether at least one desired input of the room is in
// all of its views.
func InputInView(obs *ObservedRoom, desired *DesiredRoom) bool {
	if desired == nil {
		return false
	}
	for k, in := range desired.Inputs {
		if obs.InView(k, in.Views) {
			return true
		}
	}
	return false
}

// newOutputRunner builds the engine's output runner; an OWT client without
// the output calls gets none.
func newOutputRunner(cfg Config) *OutputRunner {
	oo, ok := cfg.OWT.(OutputOWT)
	if !ok {
		return nil
	}
	base := max(cfg.RetryBase*5, 100*time.Millisecond)
	return &OutputRunner{OWT: oo, Journal: cfg.Journal, Failures: newOutputFailures(base, max(cfg.RetryMax, base)), Log: cfg.Log,
		Restarted: cfg.Metrics.outputRestarted, Hold: min(outputHold, cfg.PendingHold)}
}

// outputsBefore stops the outputs of a room no stream is routed to any
// more, before the input plan deletes the room.
func (e *Engine) outputsBefore(ctx context.Context, obs *ObservedRoom, desired *DesiredRoom) error {
	if e.outputs == nil || (desired != nil && len(desired.Inputs) > 0) {
		return nil
	}
	return e.runOutputs(ctx, obs, nil, false)
}

// outputsAfter starts and stops the outputs of a room with streams routed
// to it, once the input plan is applied.
func (e *Engine) outputsAfter(ctx context.Context, obs *ObservedRoom, desired *DesiredRoom) error {
	if e.outputs == nil || desired == nil || len(desired.Inputs) == 0 {
		return nil
	}
	return e.runOutputs(ctx, obs, desired.Outputs, InputInView(obs, desired))
}

func (e *Engine) runOutputs(ctx context.Context, obs *ObservedRoom, declared []policy.Output, inView bool) error {
	pass, err := e.outputs.Run(ctx, obs, declared, inView, true)
	for _, r := range pass.Results {
		e.cfg.Metrics.observeOp(r)
	}
	if pass.Recheck > 0 {
		e.queue.AddAfter(obs.Name, pass.Recheck)
	}
	if err != nil && e.cfg.Journal != nil {
		_ = e.cfg.Journal.Commit(ctx)
	}
	return err
}

// outputsDesired sets the output gauges from a desired state.
func (m *Metrics) outputsDesired(d *Desired) {
	if m == nil || d == nil {
		return
	}
	n := 0
	for _, r := range d.Rooms {
		if len(r.Inputs) > 0 {
			n += len(r.Outputs)
		}
	}
	m.OutputsDesired.Set(float64(n))
	m.LoopedStreams.Set(float64(d.Looped))
}

// setOutputFuncs makes outputs_owned read the journal.
func (m *Metrics) setOutputFuncs(j *Journal) {
	if m == nil {
		return
	}
	f := func() float64 {
		if j == nil {
			return 0
		}
		return float64(j.OwnedOutputs())
	}
	m.outputsOwned.Store(&f)
}

// outputRestarted counts an output of room that vanished.
func (m *Metrics) outputRestarted(room string) {
	if m != nil {
		m.OutputRestarts.WithLabelValues(room).Inc()
	}
}

// OutputStatus is one output of a room: declared by the policy, owned by
// the agent (in its journal), or both. Status makes no OWT call for it.
type OutputStatus struct {
	Output    string `json:"output"` // e.g. "output rtmp://h/mix/r from view common"
	URL       string `json:"url,omitempty"`
	View      string `json:"view"`
	Recording bool   `json:"recording,omitempty"`
	Desired   bool   `json:"desired"`
	ID        string `json:"id,omitempty"` // the owned output's id in OWT
	// Failing counts how often it vanished soon after a start; RetryIn
	// says when it is started again.
	Failing        int     `json:"failing,omitempty"`
	RetryInSeconds float64 `json:"retry_in_seconds,omitempty"`
}

// outputStatus lists the declared and owned outputs of a room.
func (e *Engine) outputStatus(room string, desired *DesiredRoom, now time.Time) []OutputStatus {
	var out []OutputStatus
	index := map[string]int{}
	if desired != nil && len(desired.Inputs) > 0 {
		for _, d := range desired.Outputs {
			index[d.Key()] = len(out)
			out = append(out, OutputStatus{Output: d.String(), URL: d.URL, View: d.View, Recording: d.IsRecording(), Desired: true})
		}
	}
	if j := e.cfg.Journal; j != nil {
		for _, rec := range j.Outputs(room) {
			i, ok := index[rec.Key]
			if !ok || out[i].ID != "" {
				label := "recording from view " + rec.View
				if rec.URL != "" {
					label = fmt.Sprintf("output %s from view %s", rec.URL, rec.View)
				}
				index[rec.Key] = len(out)
				i = len(out)
				out = append(out, OutputStatus{Output: label, URL: rec.URL, View: rec.View, Recording: rec.URL == ""})
			}
			out[i].ID = rec.ID
		}
	}
	if e.outputs != nil && e.outputs.Failures != nil {
		for key, i := range index {
			out[i].Failing = e.outputs.Failures.failing(room, key)
			out[i].RetryInSeconds = seconds(e.outputs.Failures.left(room, key, now))
		}
	}
	return out
}
