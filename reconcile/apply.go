package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// OWT is the part of the OWT management API the reconciler uses.
type OWT interface {
	ListRooms(ctx context.Context) ([]owtapi.Room, error)
	CreateRoom(ctx context.Context, name string, options map[string]any) (owtapi.Room, error)
	DeleteRoom(ctx context.Context, room string) error
	ListStreamsWithoutMedia(ctx context.Context, room string) ([]owtapi.Stream, error)
	GetStream(ctx context.Context, room, stream string) (owtapi.Stream, error)
	StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error)
	StopStreamingIn(ctx context.Context, room, stream string) error
	AddToView(ctx context.Context, room, stream, view string) (owtapi.Stream, error)
	RemoveFromView(ctx context.Context, room, stream, view string) (owtapi.Stream, error)
	ListParticipants(ctx context.Context, room string) ([]owtapi.Participant, error)
}

// Result is the outcome of one applied op.
type Result struct {
	Op       Op
	Outcome  string // ok, failed, skipped, gone
	Err      error
	Duration time.Duration
}

// Applier applies room plans to OWT, keeping the observed room, the
// ownership journal and the pending-POST registry up to date as it goes.
// Every create is recorded in the journal as an intent before it is sent.
type Applier struct {
	OWT     OWT
	Agent   string
	Journal *Journal
	Pending *Pending
	Log     *slog.Logger
	// PendingHold is how long a streaming-in POST of unknown outcome may
	// still complete on OWT (its RPC timeout is 90 s).
	PendingHold time.Duration
	// Slots, if set, bounds the OWT calls in flight across every room.
	Slots chan struct{}
	// Observe, if set, is told about every applied op.
	Observe func(r Result)
	// RoomDeleted, if set, is told the id of every room deleted, so that
	// listings begun before the delete cannot bring it back.
	RoomDeleted func(id string)
	Now         func() time.Time
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// OutcomeNotRecorded is the result of a create that was not made because
// its intent could not be recorded in the journal's store.
const OutcomeNotRecorded = "not_recorded"

// record writes a create's intent durably before the create is sent.
func (a *Applier) record(ctx context.Context, in Intent) error {
	if a.Journal == nil {
		return nil
	}
	if err := a.Journal.Begin(ctx, in); err != nil {
		return fmt.Errorf("its intent could not be recorded in %s: %w (retried with backoff; fix the store)", a.Journal, err)
	}
	return nil
}

// done forgets a POST whose outcome is known and closes its intent.
func (a *Applier) done(room string, k StreamKey, opID string) {
	a.Pending.Done(room, k)
	if a.Journal != nil {
		a.Journal.End(opID)
	}
}

// mayHaveHappened reports a failed create that OWT may still have made:
// anything but a refused connection or a definite 4xx answer.
func mayHaveHappened(err error) bool {
	if isDialError(err) {
		return false
	}
	var oe *owtapi.Error
	if errors.As(err, &oe) && oe.Status >= 400 && oe.Status < 500 {
		return false
	}
	return true
}

// errRoomGone stops a room's plan when OWT says the room no longer exists.
var errRoomGone = errors.New("room is gone from OWT")

// roomRun is the state of one room's plan while it is applied: the
// observed room and the ids of inputs started so far, shared by the
// goroutines that apply independent streams' operations.
type roomRun struct {
	mu     sync.Mutex
	obs    *ObservedRoom
	newIDs map[StreamKey]string
	gone   bool
	out    []Result
}

// with runs f on the observed room under the run's lock.
func (rr *roomRun) with(f func(o *ObservedRoom)) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	f(rr.obs)
}

// ApplyRoom applies the ready ops of plan and returns their results; obs
// is updated to what OWT has after each op. The phases keep the plan's
// dependency order: the room is created first; then each stream's chain
// (start, then its views) runs, chains of different streams in parallel;
// then the stops, in parallel; the room is deleted last. Every OWT call
// takes one of Slots, shared with the other rooms. A failed room creation,
// or OWT saying the room is gone, ends the plan.
func (a *Applier) ApplyRoom(ctx context.Context, plan *RoomPlan, obs *ObservedRoom) []Result {
	rr := &roomRun{obs: obs, newIDs: map[StreamKey]string{}}
	var creates, stops, deletes []Op
	var chainKeys []StreamKey
	chains := map[StreamKey][]Op{}
	for _, op := range plan.Ops {
		if op.Held != "" {
			continue
		}
		switch op.Kind {
		case OpCreateRoom:
			creates = append(creates, op)
		case OpStopInput:
			stops = append(stops, op)
		case OpDeleteRoom:
			deletes = append(deletes, op)
		default:
			if _, ok := chains[op.key]; !ok {
				chainKeys = append(chainKeys, op.key)
			}
			chains[op.key] = append(chains[op.key], op)
		}
	}
	for _, op := range creates {
		if !a.run(ctx, rr, op) {
			return rr.out
		}
	}
	a.parallel(len(chainKeys), func(i int) {
		for _, op := range chains[chainKeys[i]] {
			if !a.run(ctx, rr, op) {
				return
			}
		}
	})
	a.parallel(len(stops), func(i int) { a.run(ctx, rr, stops[i]) })
	for _, op := range deletes {
		a.run(ctx, rr, op)
	}
	return rr.out
}

// parallel runs f(0..n-1) concurrently and waits; one call runs inline.
func (a *Applier) parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// run applies one op and records its result. It reports whether the ops
// that depend on it (the rest of its chain) may go on.
func (a *Applier) run(ctx context.Context, rr *roomRun, op Op) bool {
	rr.mu.Lock()
	if rr.gone || ctx.Err() != nil {
		rr.mu.Unlock()
		return false
	}
	if op.RoomID == "" {
		op.RoomID = rr.obs.ID
	}
	if op.StreamID == "" && op.Kind == OpAddView {
		op.StreamID = rr.newIDs[op.key]
	}
	rr.mu.Unlock()
	if a.Slots != nil {
		select {
		case a.Slots <- struct{}{}:
			defer func() { <-a.Slots }()
		case <-ctx.Done():
			return false
		}
	}
	start := a.now()
	outcome, err := a.apply(ctx, op, rr)
	r := Result{Op: op, Outcome: outcome, Err: err, Duration: a.now().Sub(start)}
	a.log(r)
	if a.Observe != nil {
		a.Observe(r)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.out = append(rr.out, r)
	if errors.Is(err, errRoomGone) {
		rr.gone = true
	}
	return err == nil || (op.Kind != OpCreateRoom && op.Kind != OpStartInput && !rr.gone)
}

func (a *Applier) log(r Result) {
	if a.Log == nil {
		return
	}
	attrs := []any{"room", r.Op.Room, "op", string(r.Op.Kind), "result", r.Outcome, "duration", r.Duration.Round(time.Microsecond)}
	if r.Op.Stream != "" {
		attrs = append(attrs, "stream", r.Op.Stream)
	}
	if r.Op.StreamID != "" {
		attrs = append(attrs, "stream_id", r.Op.StreamID)
	}
	if r.Op.View != "" {
		attrs = append(attrs, "view", r.Op.View)
	}
	attrs = append(attrs, "reason", r.Op.Reason)
	if notPullableYet(r) {
		// SRS has only just accepted the publish: OWT often cannot pull a
		// stream in its first moments. Retried with backoff; not an alarm.
		a.Log.Info("stream not pullable yet; retrying with backoff", append(attrs, "err", r.Err.Error())...)
		return
	}
	if r.Err != nil {
		a.Log.Warn("operation failed", append(attrs, "err", r.Err.Error())...)
		return
	}
	a.Log.Info("operation applied", attrs...)
}

func (a *Applier) apply(ctx context.Context, op Op, rr *roomRun) (string, error) {
	switch op.Kind {
	case OpCreateRoom:
		intent := Intent{ID: newOpID(), Kind: IntentRoom, Room: op.Room, At: a.now(), SeenIDs: op.seenIDs}
		if err := a.record(ctx, intent); err != nil {
			return OutcomeNotRecorded, fmt.Errorf("create room %q not made: %w", op.Room, err)
		}
		room, err := a.OWT.CreateRoom(ctx, op.Room, op.options)
		if err != nil {
			if a.Journal != nil && !mayHaveHappened(err) {
				a.Journal.End(intent.ID)
			}
			// Otherwise the intent stays open: the next room listing adopts
			// the room if OWT made it, so it is neither made twice nor leaked.
			return "failed", fmt.Errorf("create room %q: %w", op.Room, err)
		}
		rr.with(func(obs *ObservedRoom) {
			obs.ID, obs.Exists, obs.Owned, obs.Listed = room.ID, true, true, true
			obs.Views = ViewLabels(room)
			obs.Participants = 0
		})
		if a.Journal != nil {
			a.Journal.RoomCreated(intent.ID, op.Room, room.ID, a.now())
			if err := a.Journal.Commit(ctx); err != nil && a.Log != nil {
				a.Log.Error("created room not recorded yet; its open intent adopts it after a restart", "room", op.Room, "room_id", room.ID, "err", err)
			}
		}
		return "ok", nil

	case OpStartInput:
		in := op.input
		opID := newOpID()
		req := owtapi.StreamingInRequest{
			Connection: owtapi.Connection{URL: in.URL, TransportProtocol: in.Transport, BufferSize: in.BufferSize},
			Media:      owtapi.MediaRequest{Audio: orAuto(in.Media.Audio), Video: orAuto(in.Media.Video)},
			Attributes: Attributes(a.Agent, in.Key, in.AttrParam, in.URL, opID),
		}
		now := a.now()
		if a.Journal != nil {
			// Committed with the intent below, before the POST.
			a.Journal.SetQuery(in.Key, in.Param)
		}
		if err := a.record(ctx, Intent{ID: opID, Kind: IntentInput, Room: op.Room, Stream: in.Key, Op: opID, At: now}); err != nil {
			return OutcomeNotRecorded, fmt.Errorf("start streaming-in of %s in room %q not made: %w", in.Key, op.Room, err)
		}
		a.Pending.Begin(op.Room, in.Key, opID, now)
		s, err := a.OWT.StartStreamingIn(ctx, op.RoomID, req)
		if err != nil {
			if owtapi.IsRoomNotFound(err) {
				a.done(op.Room, in.Key, opID)
				return "failed", a.roomGone(rr, err)
			}
			if isDialError(err) {
				// The request never left: nothing can have been created.
				a.done(op.Room, in.Key, opID)
				return "failed", fmt.Errorf("start streaming-in of %s in room %q: OWT not reachable: %w", in.Key, op.Room, err)
			}
			if owtapi.IsTimeout(err) || owtapi.IsTransport(err) || ctx.Err() != nil {
				// OWT may still be pulling: re-list, never blindly retry.
				// The intent stays open until a listing shows the stream or
				// the hold runs out, across restarts too.
				a.Pending.Unknown(op.Room, in.Key, now.Add(a.PendingHold))
				rr.with(func(obs *ObservedRoom) { obs.Listed = false })
				return "failed", fmt.Errorf("start streaming-in of %s in room %q: outcome unknown, will re-list before retrying: %w", in.Key, op.Room, err)
			}
			a.done(op.Room, in.Key, opID)
			return "failed", fmt.Errorf("start streaming-in of %s in room %q from %s: %w (OWT could not pull it: check that OWT reaches SRS at that URL and that the stream is live)", in.Key, op.Room, in.URL, err)
		}
		a.done(op.Room, in.Key, opID)
		rr.with(func(obs *ObservedRoom) {
			rr.newIDs[in.Key] = s.ID
			obs.Inputs = append(obs.Inputs, Input{ID: s.ID, Key: in.Key, InViews: append([]string(nil), s.Info.InViews...), URL: in.URL, Param: in.Param, Op: opID})
		})
		return "ok", nil

	case OpAddView, OpRemoveView:
		if op.StreamID == "" {
			return "skipped", fmt.Errorf("%s %s: no streaming-in id", op.Kind, op.Stream)
		}
		var s owtapi.Stream
		var err error
		if op.Kind == OpAddView {
			s, err = a.OWT.AddToView(ctx, op.RoomID, op.StreamID, op.View)
		} else {
			s, err = a.OWT.RemoveFromView(ctx, op.RoomID, op.StreamID, op.View)
		}
		if err != nil {
			if owtapi.IsRoomNotFound(err) {
				return "failed", a.roomGone(rr, err)
			}
			if gone := a.confirmGone(ctx, op, err); gone {
				rr.with(func(obs *ObservedRoom) { removeInput(obs, op.StreamID) })
				return "gone", fmt.Errorf("%s %s in room %q: streaming-in %s is gone from OWT; it will be started again", op.Kind, op.Stream, op.Room, op.StreamID)
			}
			rr.with(func(obs *ObservedRoom) { obs.Listed = false })
			return "failed", fmt.Errorf("%s %s (%s) view %q in room %q: %w", op.Kind, op.Stream, op.StreamID, op.View, op.Room, err)
		}
		rr.with(func(obs *ObservedRoom) {
			if in := obs.input(op.StreamID); in != nil {
				in.InViews = append([]string(nil), s.Info.InViews...)
			}
		})
		return "ok", nil

	case OpStopInput:
		err := a.OWT.StopStreamingIn(ctx, op.RoomID, op.StreamID)
		if err != nil {
			if owtapi.IsRoomNotFound(err) {
				return "failed", a.roomGone(rr, err)
			}
			if !a.confirmGone(ctx, op, err) {
				rr.with(func(obs *ObservedRoom) { obs.Listed = false })
				return "failed", fmt.Errorf("stop streaming-in %s (%s) in room %q: %w", op.Stream, op.StreamID, op.Room, err)
			}
		}
		rr.with(func(obs *ObservedRoom) { removeInput(obs, op.StreamID) })
		if a.Journal != nil && !op.duplicate {
			a.Journal.ClearMissing(op.Room, op.key) // its grace is over: nothing to remember
		}
		return "ok", nil

	case OpDeleteRoom:
		ps, err := a.OWT.ListParticipants(ctx, op.RoomID)
		if err != nil && !owtapi.IsRoomNotFound(err) {
			return "failed", fmt.Errorf("delete room %q: could not read participants: %w", op.Room, err)
		}
		if len(ps) > 0 {
			rr.with(func(obs *ObservedRoom) { obs.Participants = len(ps) })
			return "skipped", nil
		}
		s, err := a.OWT.ListStreamsWithoutMedia(ctx, op.RoomID)
		if err != nil && !owtapi.IsRoomNotFound(err) {
			return "failed", fmt.Errorf("delete room %q: could not re-read its streams, not deleting on doubt: %w", op.Room, err)
		}
		if inputs, foreign := ObserveStreams(a.Agent, s); foreign > 0 || len(inputs) > 0 {
			rr.with(func(obs *ObservedRoom) { obs.Foreign, obs.Inputs = foreign, inputs })
			return "skipped", nil
		}
		if err := a.OWT.DeleteRoom(ctx, op.RoomID); err != nil && !owtapi.IsRoomNotFound(err) {
			return "failed", fmt.Errorf("delete room %q (%s): %w", op.Room, op.RoomID, err)
		}
		rr.with(func(obs *ObservedRoom) { obs.Exists, obs.ID, obs.Inputs = false, "", nil })
		if a.RoomDeleted != nil {
			a.RoomDeleted(op.RoomID)
		}
		if a.Journal != nil {
			a.Journal.ForgetRoom(op.Room)
			if err := a.Journal.Commit(ctx); err != nil && a.Log != nil {
				a.Log.Error("deleted room not recorded yet; it is found gone again after a restart", "room", op.Room, "err", err)
			}
		}
		return "ok", nil
	}
	return "skipped", fmt.Errorf("unknown op %q", op.Kind)
}

// confirmGone decides whether a failed PATCH or DELETE met a stream that no
// longer exists: OWT answers those with the ambiguous 500/1301, so only a
// GET answering 404/1004 proves it.
func (a *Applier) confirmGone(ctx context.Context, op Op, err error) bool {
	if !owtapi.IsAmbiguous(err) && !owtapi.IsTransport(err) && !owtapi.IsStreamNotFound(err) {
		return false
	}
	_, gerr := a.OWT.GetStream(ctx, op.RoomID, op.StreamID)
	return owtapi.IsStreamNotFound(gerr)
}

func (a *Applier) roomGone(rr *roomRun, err error) error {
	owned, name := false, ""
	rr.with(func(obs *ObservedRoom) {
		obs.Exists, obs.ID, obs.Inputs, obs.Listed = false, "", nil, false
		owned, name = obs.Owned, obs.Name
	})
	if owned && a.Journal != nil {
		a.Journal.ForgetRoom(name)
	}
	return fmt.Errorf("%w: %v", errRoomGone, err)
}

func removeInput(obs *ObservedRoom, id string) {
	out := obs.Inputs[:0]
	for _, in := range obs.Inputs {
		if in.ID != id {
			out = append(out, in)
		}
	}
	obs.Inputs = out
}

func orAuto(v any) any {
	if v == nil {
		return "auto"
	}
	return v
}

func newOpID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// notPullableYet reports a start that failed because OWT could not pull a
// stream SRS has only just accepted (known from its on_publish hook).
func notPullableYet(r Result) bool {
	return r.Err != nil && r.Op.Kind == OpStartInput && r.Op.input != nil && r.Op.input.Hint && owtapi.IsAmbiguous(r.Err)
}

// isDialError reports a failure to connect: the request was never sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
