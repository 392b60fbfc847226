package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// applyRig is an Applier on a scriptOWT with a journal on a memory store.
type applyRig struct {
	a       *Applier
	owt     *scriptOWT
	mem     *store.Memory
	journal *Journal
	logs    *recLog
	deleted []string
	results []Result
}

func newApplyRig(t *testing.T) *applyRig {
	t.Helper()
	mem := &store.Memory{}
	j, err := OpenJournal(context.Background(), mem, "agent")
	if err != nil {
		t.Fatal(err)
	}
	r := &applyRig{owt: &scriptOWT{}, mem: mem, journal: j, logs: &recLog{}}
	r.a = &Applier{OWT: r.owt, Agent: "agent", Journal: j, Pending: NewPending(), Log: slog.New(r.logs), PendingHold: time.Minute,
		RoomDeleted: func(id string) { r.deleted = append(r.deleted, id) }, Observe: func(res Result) { r.results = append(r.results, res) }}
	return r
}

func (r *applyRig) apply(obs *ObservedRoom, ops ...Op) []Result {
	return r.a.ApplyRoom(context.Background(), &RoomPlan{Ops: ops}, obs)
}

func startOp(stream string, hint bool) Op {
	in := want(stream, "common")
	in.Room, in.Hint = "r", hint
	return Op{Kind: OpStartInput, Room: "r", Stream: key(stream).String(), key: key(stream), input: in, URL: in.URL}
}

func viewOp(kind OpKind, stream, id, view string) Op {
	return Op{Kind: kind, Room: "r", Stream: key(stream).String(), StreamID: id, View: view, key: key(stream)}
}

func stopOp(stream, id string) Op {
	return Op{Kind: OpStopInput, Room: "r", Stream: key(stream).String(), StreamID: id, key: key(stream)}
}

func roomObs() *ObservedRoom {
	return &ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: 0}
}

var errDial = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

func TestApplyStartInput(t *testing.T) {
	timeout := &owtapi.Error{Op: "start streaming-in", Err: context.DeadlineExceeded}
	reset := &owtapi.Error{Op: "start streaming-in", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name        string
		err         error
		storeFails  bool
		wantOutcome string
		wantInputs  int
		wantHold    bool // the POST keeps holding its stream (outcome unknown)
		wantGone    bool
		wantListed  bool
		wantStarted bool
	}{
		{name: "ok", wantOutcome: "ok", wantInputs: 1, wantListed: true, wantStarted: true},
		{name: "room gone", err: errRoomNotFound, wantOutcome: "failed", wantGone: true, wantStarted: true},
		{name: "OWT unreachable", err: errDial, wantOutcome: "failed", wantListed: true, wantStarted: true},
		{name: "timeout", err: timeout, wantOutcome: "failed", wantHold: true, wantStarted: true},
		{name: "connection dropped", err: reset, wantOutcome: "failed", wantHold: true, wantStarted: true},
		{name: "refused", err: errBadRequest, wantOutcome: "failed", wantListed: true, wantStarted: true},
		{name: "intent not recorded", storeFails: true, wantOutcome: OutcomeNotRecorded, wantListed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			r.journal.SetRoom("r", "1", t0())
			if tc.storeFails {
				r.mem.Fail(errors.New("disk full"))
			}
			var sent owtapi.StreamingInRequest
			r.owt.start = func(room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
				sent = req
				if tc.err != nil {
					return owtapi.Stream{}, tc.err
				}
				return owtapi.Stream{ID: "new", Info: owtapi.StreamInfo{InViews: []string{}}}, nil
			}
			obs := roomObs()
			res := r.apply(obs, startOp("cam", false))
			if len(res) != 1 || res[0].Outcome != tc.wantOutcome {
				t.Fatalf("results %+v, want one %s", res, tc.wantOutcome)
			}
			if (res[0].Err == nil) != (tc.wantOutcome == "ok") {
				t.Errorf("err %v", res[0].Err)
			}
			if started := len(r.owt.Calls()) > 0; started != tc.wantStarted {
				t.Errorf("start sent %v, want %v", started, tc.wantStarted)
			}
			if len(obs.Inputs) != tc.wantInputs {
				t.Errorf("inputs %+v", obs.Inputs)
			}
			if tc.wantInputs == 1 && (obs.Inputs[0].ID != "new" || obs.Inputs[0].Key != key("cam") || obs.Inputs[0].Op == "") {
				t.Errorf("input recorded %+v", obs.Inputs[0])
			}
			if hold := r.a.Pending.InFlight("r", key("cam"), time.Now()); hold != tc.wantHold {
				t.Errorf("stream held %v, want %v", hold, tc.wantHold)
			}
			if open := len(r.journal.Intents()) == 1; open != tc.wantHold {
				t.Errorf("intent open %v, want %v", open, tc.wantHold)
			}
			if tc.wantHold {
				if left, ok := r.a.Pending.Next("r", time.Now()); !ok || left < 59*time.Second {
					t.Errorf("hold %v %v, want PendingHold", left, ok)
				}
			}
			if gone := errors.Is(res[0].Err, errRoomGone); gone != tc.wantGone {
				t.Errorf("room gone %v, want %v", gone, tc.wantGone)
			}
			if tc.wantGone {
				if obs.Exists || obs.ID != "" {
					t.Errorf("gone room still exists: %+v", obs)
				}
				if _, owned := r.journal.Room("r"); owned {
					t.Error("gone room still owned in the journal")
				}
			} else if obs.Listed != tc.wantListed {
				t.Errorf("listed %v, want %v", obs.Listed, tc.wantListed)
			}
			if tc.wantStarted {
				own, ok := ParseAttributes(sent.Attributes)
				if !ok || own.Agent != "agent" || own.Key != key("cam") || sent.Connection.URL != pullURL("cam") ||
					sent.Media.Audio != "auto" || sent.Media.Video != "auto" || sent.Connection.TransportProtocol != "tcp" || sent.Connection.BufferSize != 8192 {
					t.Errorf("request %+v", sent)
				}
			}
			if len(r.results) != 1 {
				t.Errorf("observed %d results, want 1", len(r.results))
			}
		})
	}
}

func TestApplyChainUsesNewID(t *testing.T) {
	r := newApplyRig(t)
	obs := roomObs()
	res := r.apply(obs, startOp("cam", false), viewOp(OpAddView, "cam", "", "common"))
	if len(res) != 2 || res[1].Err != nil || res[1].Op.StreamID != "s-new" || res[1].Op.RoomID != "1" {
		t.Fatalf("results %+v", res)
	}
	assertStrings(t, "calls", r.owt.Calls(), []string{"start 1 " + pullURL("cam"), "add_view 1 s-new common"})
	if len(obs.Inputs) != 1 || len(obs.Inputs[0].InViews) != 1 {
		t.Errorf("inputs %+v", obs.Inputs)
	}
	// A view op without any stream id is skipped.
	res = r.apply(roomObs(), viewOp(OpAddView, "other", "", "common"))
	if len(res) != 1 || res[0].Outcome != "skipped" || res[0].Err == nil {
		t.Errorf("no stream id: %+v", res)
	}
	// A failed start ends its chain; an op with its own room id keeps it.
	r.owt.start = func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) { return owtapi.Stream{}, errBadRequest }
	op := startOp("cam", false)
	op.RoomID = "other-id"
	res = r.apply(roomObs(), op, viewOp(OpAddView, "cam", "", "common"))
	if len(res) != 1 || res[0].Op.RoomID != "other-id" {
		t.Errorf("failed start: %+v", res)
	}
}

func TestApplyViews(t *testing.T) {
	for _, tc := range []struct {
		name        string
		kind        OpKind
		err         error
		getErr      error
		wantOutcome string
		wantCalls   []string
		wantInput   bool // the input is still in the room
		wantListed  bool
		wantGone    bool
	}{
		{name: "add ok", kind: OpAddView, wantOutcome: "ok", wantInput: true, wantListed: true,
			wantCalls: []string{"add_view 1 s1 hd"}},
		{name: "remove ok", kind: OpRemoveView, wantOutcome: "ok", wantInput: true, wantListed: true,
			wantCalls: []string{"remove_view 1 s1 hd"}},
		{name: "stream gone", kind: OpAddView, err: errAmbiguous, getErr: errStreamNotFound, wantOutcome: "gone", wantListed: true,
			wantCalls: []string{"add_view 1 s1 hd", "get_stream 1 s1"}},
		{name: "stream still there", kind: OpRemoveView, err: errAmbiguous, wantOutcome: "failed", wantInput: true,
			wantCalls: []string{"remove_view 1 s1 hd", "get_stream 1 s1"}},
		{name: "GET fails too", kind: OpAddView, err: errAmbiguous, getErr: errAmbiguous, wantOutcome: "failed", wantInput: true,
			wantCalls: []string{"add_view 1 s1 hd", "get_stream 1 s1"}},
		{name: "definite refusal: no GET", kind: OpAddView, err: errBadRequest, wantOutcome: "failed", wantInput: true,
			wantCalls: []string{"add_view 1 s1 hd"}},
		{name: "room gone", kind: OpAddView, err: errRoomNotFound, wantOutcome: "failed", wantGone: true,
			wantCalls: []string{"add_view 1 s1 hd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			answer := func(_, stream, view string) (owtapi.Stream, error) {
				if tc.err != nil {
					return owtapi.Stream{}, tc.err
				}
				return owtapi.Stream{ID: stream, Info: owtapi.StreamInfo{InViews: []string{"common", "new-" + view}}}, nil
			}
			r.owt.addView, r.owt.removeView = answer, answer
			r.owt.getStream = func(_, s string) (owtapi.Stream, error) { return owtapi.Stream{ID: s}, tc.getErr }
			obs := roomObs()
			obs.Inputs = []Input{owned("s1", "cam", "common")}
			res := r.apply(obs, viewOp(tc.kind, "cam", "s1", "hd"))
			if len(res) != 1 || res[0].Outcome != tc.wantOutcome {
				t.Fatalf("results %+v, want %s", res, tc.wantOutcome)
			}
			assertStrings(t, "calls", r.owt.Calls(), tc.wantCalls)
			if has := len(obs.Inputs) == 1; has != tc.wantInput {
				t.Errorf("input kept %v, want %v", has, tc.wantInput)
			}
			if tc.wantOutcome == "ok" && (len(obs.Inputs[0].InViews) != 2 || obs.Inputs[0].InViews[1] != "new-hd") {
				t.Errorf("views not taken from the answer: %v", obs.Inputs[0].InViews)
			}
			if !tc.wantGone && obs.Listed != tc.wantListed {
				t.Errorf("listed %v, want %v", obs.Listed, tc.wantListed)
			}
			if gone := errors.Is(res[0].Err, errRoomGone); gone != tc.wantGone || obs.Exists == tc.wantGone {
				t.Errorf("room gone %v (exists %v), want %v", gone, obs.Exists, tc.wantGone)
			}
		})
	}
}

func TestApplyStop(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err, getErr error
		duplicate   bool
		wantOutcome string
		wantCalls   []string
		wantInput   bool
		wantMissing bool // the grace record is kept
	}{
		{name: "ok", wantOutcome: "ok", wantCalls: []string{"stop 1 s1"}},
		{name: "duplicate keeps the grace record", duplicate: true, wantOutcome: "ok", wantCalls: []string{"stop 1 s1"}, wantMissing: true},
		{name: "ambiguous, GET says gone", err: errAmbiguous, getErr: errStreamNotFound, wantOutcome: "ok",
			wantCalls: []string{"stop 1 s1", "get_stream 1 s1"}},
		{name: "stream not found, confirmed", err: errStreamNotFound, getErr: errStreamNotFound, wantOutcome: "ok",
			wantCalls: []string{"stop 1 s1", "get_stream 1 s1"}},
		{name: "dropped connection, GET says there", err: &owtapi.Error{Err: errors.New("EOF")}, wantOutcome: "failed", wantInput: true, wantMissing: true,
			wantCalls: []string{"stop 1 s1", "get_stream 1 s1"}},
		{name: "refused", err: errBadRequest, wantOutcome: "failed", wantInput: true, wantMissing: true, wantCalls: []string{"stop 1 s1"}},
		{name: "room gone", err: errRoomNotFound, wantOutcome: "failed", wantMissing: true, wantCalls: []string{"stop 1 s1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			r.owt.stop = func(string, string) error { return tc.err }
			r.owt.getStream = func(_, s string) (owtapi.Stream, error) { return owtapi.Stream{ID: s}, tc.getErr }
			r.journal.SetMissing("r", key("cam"), t0())
			obs := roomObs()
			obs.Inputs = []Input{owned("s1", "cam")}
			op := stopOp("cam", "s1")
			op.duplicate = tc.duplicate
			res := r.apply(obs, op)
			if len(res) != 1 || res[0].Outcome != tc.wantOutcome {
				t.Fatalf("results %+v, want %s", res, tc.wantOutcome)
			}
			assertStrings(t, "calls", r.owt.Calls(), tc.wantCalls)
			if has := len(obs.Inputs) == 1; has != tc.wantInput {
				t.Errorf("input kept %v, want %v", has, tc.wantInput)
			}
			if _, missing := r.journal.MissingSince("r", key("cam")); missing != tc.wantMissing {
				t.Errorf("grace record kept %v, want %v", missing, tc.wantMissing)
			}
			if tc.wantOutcome == "failed" && tc.wantInput && obs.Listed {
				t.Error("room still counted as listed after a failed stop")
			}
		})
	}
}

func TestApplyDeleteRoom(t *testing.T) {
	foreign := owtapi.Stream{ID: "f", Type: "forward"}
	for _, tc := range []struct {
		name         string
		participants func(string) ([]owtapi.Participant, error)
		streams      func(string) ([]owtapi.Stream, error)
		del          func(string) error
		wantOutcome  string
		wantCalls    []string
		wantDeleted  bool
	}{
		{name: "empty", wantOutcome: "ok", wantDeleted: true,
			wantCalls: []string{"participants 1", "list_streams 1", "delete_room 1"}},
		{name: "already gone", wantOutcome: "ok", wantDeleted: true,
			participants: func(string) ([]owtapi.Participant, error) { return nil, errRoomNotFound },
			streams:      func(string) ([]owtapi.Stream, error) { return nil, errRoomNotFound },
			del:          func(string) error { return errRoomNotFound },
			wantCalls:    []string{"participants 1", "list_streams 1", "delete_room 1"}},
		{name: "a participant joined", wantOutcome: "skipped",
			participants: func(string) ([]owtapi.Participant, error) { return []owtapi.Participant{{ID: "p"}}, nil },
			wantCalls:    []string{"participants 1"}},
		{name: "participants unreadable", wantOutcome: "failed",
			participants: func(string) ([]owtapi.Participant, error) { return nil, errAmbiguous },
			wantCalls:    []string{"participants 1"}},
		{name: "streams unreadable", wantOutcome: "failed",
			streams:   func(string) ([]owtapi.Stream, error) { return nil, errAmbiguous },
			wantCalls: []string{"participants 1", "list_streams 1"}},
		{name: "a foreign stream came", wantOutcome: "skipped",
			streams:   func(string) ([]owtapi.Stream, error) { return []owtapi.Stream{foreign}, nil },
			wantCalls: []string{"participants 1", "list_streams 1"}},
		{name: "one of the agent's inputs came", wantOutcome: "skipped",
			streams:   func(string) ([]owtapi.Stream, error) { return []owtapi.Stream{ownedStream("agent", "s1", "cam")}, nil },
			wantCalls: []string{"participants 1", "list_streams 1"}},
		{name: "delete fails", wantOutcome: "failed",
			del:       func(string) error { return errAmbiguous },
			wantCalls: []string{"participants 1", "list_streams 1", "delete_room 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			r.journal.SetRoom("r", "1", t0())
			r.owt.participants, r.owt.listStreams, r.owt.deleteRoom = tc.participants, tc.streams, tc.del
			obs := roomObs()
			res := r.apply(obs, Op{Kind: OpDeleteRoom, Room: "r"})
			if len(res) != 1 || res[0].Outcome != tc.wantOutcome {
				t.Fatalf("results %+v, want %s", res, tc.wantOutcome)
			}
			assertStrings(t, "calls", r.owt.Calls(), tc.wantCalls)
			if tc.wantDeleted {
				if obs.Exists || obs.ID != "" {
					t.Errorf("deleted room still exists: %+v", obs)
				}
				assertStrings(t, "rooms deleted", r.deleted, []string{"1"})
				if _, owned := r.journal.Room("r"); owned {
					t.Error("deleted room still in the journal")
				}
				if doc, _ := r.mem.Load(context.Background()); strings.Contains(string(doc), `"r"`) {
					t.Errorf("deleted room still in the saved journal: %s", doc)
				}
				return
			}
			if !obs.Exists || len(r.deleted) != 0 {
				t.Error("room deleted")
			}
			if _, owned := r.journal.Room("r"); !owned {
				t.Error("room forgotten without a delete")
			}
			switch tc.name {
			case "a participant joined":
				if obs.Participants != 1 {
					t.Errorf("participants %d", obs.Participants)
				}
			case "a foreign stream came":
				if obs.Foreign != 1 {
					t.Errorf("foreign %d", obs.Foreign)
				}
			case "one of the agent's inputs came":
				if len(obs.Inputs) != 1 {
					t.Errorf("inputs %+v", obs.Inputs)
				}
			}
		})
	}
	// A deleted room whose removal cannot be saved is logged; without
	// RoomDeleted the delete works too.
	r := newApplyRig(t)
	r.journal.SetRoom("r", "1", t0())
	r.a.RoomDeleted = nil
	r.mem.Fail(errors.New("disk full"))
	if res := r.apply(roomObs(), Op{Kind: OpDeleteRoom, Room: "r"}); res[0].Outcome != "ok" {
		t.Errorf("delete %+v", res)
	}
	if !r.logs.has("ERROR deleted room not recorded yet", "room=r", "err=") {
		t.Errorf("unsaved delete not logged:\n%s", r.logs)
	}
}

func TestApplyCreateRoom(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		wantOutcome string
		wantOpen    bool // the room intent stays open
	}{
		{name: "ok", wantOutcome: "ok"},
		{name: "refused", err: errBadRequest, wantOutcome: "failed"},
		{name: "unreachable", err: errDial, wantOutcome: "failed"},
		{name: "ambiguous", err: errAmbiguous, wantOutcome: "failed", wantOpen: true},
		{name: "timeout", err: &owtapi.Error{Err: context.DeadlineExceeded}, wantOutcome: "failed", wantOpen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			r.owt.createRoom = func(name string) (owtapi.Room, error) {
				return owtapi.Room{ID: "n1", Name: name, Views: []owtapi.View{{Label: "common"}}}, tc.err
			}
			obs := &ObservedRoom{Name: "r", Participants: -1}
			res := r.apply(obs, Op{Kind: OpCreateRoom, Room: "r", seenIDs: []string{"x"}}, startOp("cam", false))
			if res[0].Outcome != tc.wantOutcome {
				t.Fatalf("results %+v", res)
			}
			if tc.err != nil {
				if len(res) != 1 {
					t.Errorf("the plan went on after a failed create: %+v", res)
				}
				if open := len(r.journal.Intents()) == 1; open != tc.wantOpen {
					t.Errorf("intent open %v, want %v", open, tc.wantOpen)
				}
				return
			}
			if !obs.Exists || !obs.Owned || obs.ID != "n1" || !obs.Listed || obs.Participants != 0 || len(obs.Views) != 1 {
				t.Errorf("created room %+v", obs)
			}
			if rec, owned := r.journal.Room("r"); !owned || rec.ID != "n1" || len(r.journal.Intents()) != 0 {
				t.Errorf("journal room %+v %v, intents %v", rec, owned, r.journal.Intents())
			}
			if len(res) != 2 || res[1].Op.RoomID != "n1" {
				t.Errorf("the start did not use the new room: %+v", res)
			}
		})
	}
	// Intent not recorded: no create.
	r := newApplyRig(t)
	r.mem.Fail(errors.New("disk full"))
	res := r.apply(&ObservedRoom{Name: "r"}, Op{Kind: OpCreateRoom, Room: "r"})
	if res[0].Outcome != OutcomeNotRecorded || len(r.owt.Calls()) != 0 {
		t.Errorf("create without its intent: %+v %v", res, r.owt.Calls())
	}
}

// Each applied op is logged with its room, op, result and stream.
func TestApplyLogs(t *testing.T) {
	r := newApplyRig(t)
	r.owt.stop = func(string, string) error { return errBadRequest }
	obs := roomObs()
	obs.Inputs = []Input{owned("s1", "cam"), owned("s2", "cam2")}
	r.apply(obs, viewOp(OpAddView, "cam", "s1", "hd"), stopOp("cam2", "s2"))
	if !r.logs.has("INFO operation applied", "room=r", "op=add_view", "result=ok", "stream="+key("cam").String(), "stream_id=s1", "view=hd") {
		t.Errorf("applied op not logged:\n%s", r.logs)
	}
	if !r.logs.has("WARN operation failed", "op=stop_input", "result=failed", "err=") {
		t.Errorf("failed op not logged:\n%s", r.logs)
	}
	r2 := newApplyRig(t)
	r2.owt.start = func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) { return owtapi.Stream{}, errAmbiguous }
	r2.apply(roomObs(), startOp("cam", true))
	if !r2.logs.has("INFO stream not pullable yet; retrying with backoff", "op=start_input") || r2.logs.has("WARN") {
		t.Errorf("not pullable yet not logged as such:\n%s", r2.logs)
	}
	// Without a log nothing breaks.
	r3 := newApplyRig(t)
	r3.a.Log = nil
	r3.apply(roomObs(), startOp("cam", false))
}

// A gone room ends the plan; a cancelled context runs nothing.
func TestApplyStops(t *testing.T) {
	r := newApplyRig(t)
	r.owt.addView = func(string, string, string) (owtapi.Stream, error) { return owtapi.Stream{}, errRoomNotFound }
	obs := roomObs()
	obs.Inputs = []Input{owned("s1", "cam"), owned("s2", "cam2")}
	res := r.apply(obs, viewOp(OpAddView, "cam", "s1", "hd"), stopOp("cam2", "s2"), Op{Kind: OpDeleteRoom, Room: "r"})
	if len(res) != 1 {
		t.Errorf("ops applied after the room was found gone: %+v", res)
	}
	r = newApplyRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := r.a.ApplyRoom(ctx, &RoomPlan{Ops: []Op{stopOp("cam", "s1")}}, roomObs()); len(res) != 0 || len(r.owt.Calls()) != 0 {
		t.Errorf("cancelled: %+v %v", res, r.owt.Calls())
	}
	// Held ops are not applied.
	held := stopOp("cam", "s1")
	held.hold(RuleGrace, "grace", time.Second)
	if res := r.apply(roomObs(), held); len(res) != 0 {
		t.Errorf("held op applied: %+v", res)
	}
	// An unknown op is skipped with an error.
	if res := r.apply(roomObs(), Op{Kind: "frobnicate", Room: "r"}); len(res) != 1 || res[0].Outcome != "skipped" || res[0].Err == nil {
		t.Errorf("unknown op: %+v", res)
	}
}

func TestNotPullableYet(t *testing.T) {
	hinted, listed := startOp("cam", true), startOp("cam", false)
	for _, tc := range []struct {
		r    Result
		want bool
	}{
		{Result{Op: hinted, Err: errAmbiguous}, true},
		{Result{Op: hinted}, false},
		{Result{Op: hinted, Err: errBadRequest}, false},
		{Result{Op: listed, Err: errAmbiguous}, false},
		{Result{Op: Op{Kind: OpStartInput}, Err: errAmbiguous}, false},
		{Result{Op: Op{Kind: OpAddView, input: hinted.input}, Err: errAmbiguous}, false},
	} {
		if got := notPullableYet(tc.r); got != tc.want {
			t.Errorf("notPullableYet(%s hint=%v err=%v) = %v", tc.r.Op.Kind, tc.r.Op.input != nil && tc.r.Op.input.Hint, tc.r.Err, got)
		}
	}
}

// failAfter is a store whose saves fail after the first n.
type failAfter struct {
	store.Memory
	n int
}

func (f *failAfter) Save(ctx context.Context, b []byte) error {
	if f.n <= 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.Memory.Save(ctx, b)
}

// A room created whose record cannot be saved is logged: its open intent
// adopts it after a restart.
func TestApplyCreateRoomUnsaved(t *testing.T) {
	st := &failAfter{n: 1} // the intent is saved, the outcome is not
	j, err := OpenJournal(context.Background(), st, "agent")
	if err != nil {
		t.Fatal(err)
	}
	logs := &recLog{}
	a := &Applier{OWT: &scriptOWT{}, Agent: "agent", Journal: j, Pending: NewPending(), Log: slog.New(logs)}
	obs := &ObservedRoom{Name: "r", Participants: -1}
	res := a.ApplyRoom(context.Background(), &RoomPlan{Ops: []Op{{Kind: OpCreateRoom, Room: "r"}}}, obs)
	if len(res) != 1 || res[0].Outcome != "ok" || !obs.Exists {
		t.Fatalf("results %+v", res)
	}
	if !logs.has("ERROR created room not recorded yet; its open intent adopts it after a restart", "room=r", "room_id=id-r", "err=disk full") {
		t.Errorf("unsaved create not logged:\n%s", logs)
	}
	// Saved: nothing to report.
	r := newApplyRig(t)
	r.apply(&ObservedRoom{Name: "r"}, Op{Kind: OpCreateRoom, Room: "r"})
	if r.logs.has("ERROR") {
		t.Errorf("a saved create logged an error:\n%s", r.logs)
	}
	// Without a log the failure is only returned by later commits.
	st2 := &failAfter{n: 1}
	j2, _ := OpenJournal(context.Background(), st2, "agent")
	a2 := &Applier{OWT: &scriptOWT{}, Agent: "agent", Journal: j2, Pending: NewPending()}
	if res := a2.ApplyRoom(context.Background(), &RoomPlan{Ops: []Op{{Kind: OpCreateRoom, Room: "r"}}}, &ObservedRoom{Name: "r"}); res[0].Outcome != "ok" {
		t.Errorf("no log: %+v", res)
	}
}

// While a streaming-in POST is in progress its stream is held: no second
// POST for it.
func TestApplyStartHoldsWhileInProgress(t *testing.T) {
	r := newApplyRig(t)
	held := false
	r.owt.start = func(string, owtapi.StreamingInRequest) (owtapi.Stream, error) {
		held = r.a.Pending.InFlight("r", key("cam"), time.Now())
		return owtapi.Stream{ID: "new"}, nil
	}
	r.apply(roomObs(), startOp("cam", false))
	if !held {
		t.Error("stream not held while its POST was in progress")
	}
	if r.a.Pending.InFlight("r", key("cam"), time.Now()) {
		t.Error("stream still held after its POST succeeded")
	}
}

// Only an add_view that is not held puts a stream into view for the
// outputs of a diff; other ops of the room (create, start) do not.
func TestPlansInView(t *testing.T) {
	for _, c := range []struct {
		ops  []Op
		want bool
	}{
		{nil, false},
		{[]Op{{Kind: OpCreateRoom}, {Kind: OpStartInput}}, false},
		{[]Op{{Kind: OpStartInput}, {Kind: OpAddView, Held: "waiting"}}, false},
		{[]Op{{Kind: OpCreateRoom}, {Kind: OpStartInput}, {Kind: OpAddView}}, true},
		{[]Op{{Kind: OpAddView}}, true},
	} {
		if got := plansInView(RoomPlan{Ops: c.ops}); got != c.want {
			t.Errorf("plansInView(%v) = %v, want %v", c.ops, got, c.want)
		}
	}
}
