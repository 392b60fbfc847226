package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// recordingOWT is an OWT whose calls take a while, recording their order
// and the most calls ever in flight at once.
type recordingOWT struct {
	mu       sync.Mutex
	calls    []string
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	failURL  string // StartStreamingIn of this URL fails with 500/1301
	nextID   int
}

func (f *recordingOWT) enter(call string) func() {
	n := f.inFlight.Add(1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	return func() { f.inFlight.Add(-1) }
}

func (f *recordingOWT) ListRooms(context.Context) ([]owtapi.Room, error) { return nil, nil }
func (f *recordingOWT) CreateRoom(_ context.Context, name string, _ map[string]any) (owtapi.Room, error) {
	defer f.enter("create " + name)()
	return owtapi.Room{ID: "room-id", Name: name, Views: []owtapi.View{{Label: "common"}}}, nil
}
func (f *recordingOWT) DeleteRoom(context.Context, string) error {
	defer f.enter("delete_room")()
	return nil
}
func (f *recordingOWT) ListStreamsWithoutMedia(context.Context, string) ([]owtapi.Stream, error) {
	return nil, nil
}
func (f *recordingOWT) GetStream(context.Context, string, string) (owtapi.Stream, error) {
	return owtapi.Stream{}, &owtapi.Error{Status: 404, Code: 1004}
}
func (f *recordingOWT) StartStreamingIn(_ context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	defer f.enter("start " + req.Connection.URL)()
	if req.Connection.URL == f.failURL {
		return owtapi.Stream{}, &owtapi.Error{Status: 500, Code: 1301, Message: "Operation failed"}
	}
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprint(f.nextID)
	f.mu.Unlock()
	return owtapi.Stream{ID: id, Type: "forward", Info: owtapi.StreamInfo{InViews: []string{}}}, nil
}
func (f *recordingOWT) StopStreamingIn(_ context.Context, _, stream string) error {
	defer f.enter("stop " + stream)()
	return nil
}
func (f *recordingOWT) AddToView(_ context.Context, _, stream, view string) (owtapi.Stream, error) {
	defer f.enter("view " + stream)()
	return owtapi.Stream{ID: stream, Info: owtapi.StreamInfo{InViews: []string{view}}}, nil
}
func (f *recordingOWT) RemoveFromView(context.Context, string, string, string) (owtapi.Stream, error) {
	return owtapi.Stream{}, errors.New("unexpected")
}
func (f *recordingOWT) ListParticipants(context.Context, string) ([]owtapi.Participant, error) {
	return nil, nil
}

func TestApplyRoomOrderAndSlots(t *testing.T) {
	streams := []string{"a", "b", "c", "d", "e", "f"}
	var ins []*DesiredInput
	for _, s := range streams {
		ins = append(ins, want(s, "common"))
	}
	obs := &ObservedRoom{Name: "r", Participants: -1, Inputs: []Input{owned("old1", "gone1"), owned("old2", "gone2")}}
	plan := PlanRoom(RoomContext{Desired: desiredRoom("r", true, ins...), Observed: obs, DeletesAllowed: true,
		SnapshotAt: t0(), MissingSince: func(StreamKey) (time.Time, bool) { return t0().Add(-time.Hour), true }})
	f := &recordingOWT{failURL: pullURL("c")}
	a := &Applier{OWT: f, Agent: "agent", Pending: NewPending(), Slots: make(chan struct{}, 3)}
	results := a.ApplyRoom(context.Background(), &plan, obs)

	if got := f.maxSeen.Load(); got > 3 || got < 2 {
		t.Errorf("at most %d calls in flight, want 2..3 (Slots is 3)", got)
	}
	pos := map[string]int{}
	for i, c := range f.calls {
		pos[c] = i
	}
	if pos["create r"] != 0 {
		t.Fatalf("the room was not created first: %v", f.calls)
	}
	lastStart, firstStop := 0, len(f.calls)
	for c, i := range pos {
		if len(c) > 5 && c[:5] == "start" && i > lastStart {
			lastStart = i
		}
		if len(c) > 4 && c[:4] == "stop" && i < firstStop {
			firstStop = i
		}
	}
	if firstStop < lastStart {
		t.Errorf("a stop ran before every start had: %v", f.calls)
	}
	views, failed := 0, 0
	for _, r := range results {
		if r.Op.Kind == OpAddView && r.Err == nil {
			views++
		}
		if r.Err != nil {
			failed++
			if r.Op.Kind != OpStartInput || r.Op.Stream != key("c").String() {
				t.Errorf("unexpected failure: %v", r.Err)
			}
		}
	}
	// Five streams joined their view; c's start failed, so its view was skipped.
	if views != 5 || failed != 1 || len(obs.Inputs) != 5 {
		t.Errorf("views %d, failures %d, inputs %d; want 5, 1, 5 (calls %v)", views, failed, len(obs.Inputs), f.calls)
	}
	for _, in := range obs.Inputs {
		if len(in.InViews) != 1 {
			t.Errorf("input %s not recorded in its view: %+v", in.ID, in)
		}
	}
}
