package reconcile

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// slowSRS answers after a delay, counting the calls in flight.
type slowSRS struct {
	snap     srsapi.Snapshot
	err      error
	inFlight *atomic.Int32
	maxSeen  *atomic.Int32
}

func (s slowSRS) Snapshot(context.Context) (srsapi.Snapshot, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return s.snap, s.err
}

func TestReadSRS(t *testing.T) {
	var inFlight, maxSeen atomic.Int32
	a := liveSnap("x")
	servers := []SRSServer{
		{Name: "a", Pull: "rtmp://a", Client: slowSRS{snap: a, inFlight: &inFlight, maxSeen: &maxSeen}},
		{Name: "b", Pull: "rtmp://b", Client: slowSRS{err: errors.New("refused"), inFlight: &inFlight, maxSeen: &maxSeen}},
		{Name: "c", Pull: "rtmp://c", Client: slowSRS{inFlight: &inFlight, maxSeen: &maxSeen}},
	}
	srcs, failed := ReadSRS(context.Background(), servers)
	if maxSeen.Load() != 3 {
		t.Errorf("%d servers read at once, want 3 (in parallel)", maxSeen.Load())
	}
	if len(srcs) != 2 || srcs[0].Name != "a" || srcs[0].Pull != "rtmp://a" || len(srcs[0].Snapshot.Streams) != 1 || srcs[1].Name != "c" {
		t.Errorf("sources %+v", srcs)
	}
	if len(failed) != 1 || failed["b"] == nil || failed["b"].Error() != `srs "b": refused` {
		t.Errorf("failed %v", failed)
	}
}

func TestRoomIndex(t *testing.T) {
	ix := IndexRooms([]owtapi.Room{
		{ID: "3", Name: "dup", Views: []owtapi.View{{Label: "c"}}},
		{ID: "1", Name: "dup", Views: []owtapi.View{{Label: "a"}, {Label: "b"}}},
		{ID: "2", Name: "solo"},
	})
	names := ix.Names()
	sort.Strings(names)
	assertStrings(t, "names", names, []string{"dup", "solo"})
	// Rooms of one name keep OWT's id order: the first is used.
	o := ix.Locate("dup", nil)
	if o.ID != "1" || !o.Exists || o.Owned || !reflect.DeepEqual(o.Views, []string{"a", "b"}) || !reflect.DeepEqual(o.NameIDs, []string{"1", "3"}) || o.Participants != -1 {
		t.Errorf("located %+v", o)
	}
	if !ix.Has("3") || ix.Has("9") {
		t.Error("Has wrong")
	}
	assertStrings(t, "new rooms", ix.NewRooms("dup", []string{"1"}), []string{"3"})
	assertStrings(t, "new rooms", ix.NewRooms("dup", nil), []string{"1", "3"})
	assertStrings(t, "new rooms", ix.NewRooms("dup", []string{"1", "3"}), nil)

	at := time.Now()
	ix.ListedAt = at
	w := ix.Without(map[string]bool{"1": true})
	if w.Has("1") || !w.Has("3") || !w.Has("2") || !w.ListedAt.Equal(at) {
		t.Errorf("Without: has1 %v has3 %v listedAt %v", w.Has("1"), w.Has("3"), w.ListedAt)
	}
	if o := w.Locate("dup", nil); o.ID != "3" {
		t.Errorf("after Without the next room is used: %+v", o)
	}
	if same := ix.Without(nil); !same.Has("1") || !same.ListedAt.Equal(at) {
		t.Error("Without(nil) changed the index")
	}

	// The agent's own room is taken from the journal, listed or not.
	j := testJournal(t)
	j.SetRoom("dup", "3", t0())
	j.SetRoom("unlisted", "7", t0())
	if o := ix.Locate("dup", j); o.ID != "3" || !o.Owned || !o.Exists || !reflect.DeepEqual(o.Views, []string{"c"}) {
		t.Errorf("owned listed room %+v", o)
	}
	if o := ix.Locate("unlisted", j); o.ID != "7" || !o.Owned || !o.Exists || o.Views != nil {
		t.Errorf("owned unlisted room %+v", o)
	}
	if o := ix.Locate("none", j); o.Exists || o.ID != "" {
		t.Errorf("missing room %+v", o)
	}
}

func TestObserveRoom(t *testing.T) {
	mixed := owtapi.Stream{ID: "m", Type: "mixed"}
	foreign := owtapi.Stream{ID: "f", Type: "forward"}
	other := ownedStream("another-agent", "o", "cam")
	mine := ownedStream("agent", "s1", "cam", "common")
	for _, tc := range []struct {
		name         string
		room         ObservedRoom
		deleteCheck  bool
		streams      []owtapi.Stream
		err          error
		participants func(string) ([]owtapi.Participant, error)
		wantErr      bool
		want         ObservedRoom
		wantCalls    []string
	}{
		{name: "gone room: nothing read", room: ObservedRoom{Name: "r", Participants: -1},
			want: ObservedRoom{Name: "r", Participants: -1}},
		{name: "streams", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Participants: 4},
			streams: []owtapi.Stream{mixed, foreign, other, mine},
			want: ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Foreign: 2, Participants: -1,
				Inputs: []Input{{ID: "s1", Key: key("cam"), InViews: []string{"common"}, URL: pullURL("cam"), Op: "op-s1"}}},
			wantCalls: []string{"list_streams 1"}},
		{name: "owned room to delete: participants read", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Participants: -1},
			deleteCheck: true,
			participants: func(string) ([]owtapi.Participant, error) {
				return []owtapi.Participant{{ID: "a"}, {ID: "b"}}, nil
			},
			want:      ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: 2},
			wantCalls: []string{"list_streams 1", "participants 1"}},
		{name: "participants unreadable", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Participants: 3},
			deleteCheck:  true,
			participants: func(string) ([]owtapi.Participant, error) { return nil, errAmbiguous },
			want:         ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: -1},
			wantCalls:    []string{"list_streams 1", "participants 1"}},
		{name: "used room: participants not read", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Participants: -1},
			deleteCheck: true,
			want:        ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Participants: -1},
			wantCalls:   []string{"list_streams 1"}},
		{name: "owned room kept: participants not read", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Participants: -1},
			want:      ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Listed: true, Participants: -1},
			wantCalls: []string{"list_streams 1"}},
		{name: "room gone", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Owned: true, Inputs: []Input{owned("s1", "cam")}, Participants: -1},
			err:       errRoomNotFound,
			want:      ObservedRoom{Name: "r", Owned: true, Listed: true, Participants: -1},
			wantCalls: []string{"list_streams 1"}},
		{name: "listing fails", room: ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}, Participants: -1},
			err: errAmbiguous, wantErr: true,
			want:      ObservedRoom{Name: "r", ID: "1", Exists: true, Listed: false, Inputs: []Input{owned("s1", "cam")}, Participants: -1},
			wantCalls: []string{"list_streams 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &scriptOWT{participants: tc.participants}
			f.listStreams = func(string) ([]owtapi.Stream, error) { return tc.streams, tc.err }
			o := tc.room
			err := ObserveRoom(context.Background(), f, "agent", &o, tc.deleteCheck)
			if (err != nil) != tc.wantErr {
				t.Errorf("err %v, want error %v", err, tc.wantErr)
			}
			normalize(&o)
			w := tc.want
			normalize(&w)
			if !reflect.DeepEqual(o, w) {
				t.Errorf("observed\n %+v\nwant\n %+v", o, w)
			}
			assertStrings(t, "calls", f.Calls(), tc.wantCalls)
		})
	}
}

func TestPendingWaiting(t *testing.T) {
	now := time.Now()
	p := NewPending()
	if p.Waiting("r", now) {
		t.Error("empty registry waiting")
	}
	p.Begin("r", key("a"), "op1", now)
	if !p.Waiting("r", now) || p.Waiting("other", now) {
		t.Error("a POST in progress must hold its room only")
	}
	p.Done("r", key("a"))
	p.Restore("r", key("b"), "op2", now, now.Add(time.Second))
	if !p.Waiting("r", now) || !p.Waiting("r", now.Add(time.Second)) {
		t.Error("a POST of unknown outcome holds until its hold ends")
	}
	if p.Waiting("r", now.Add(time.Second+time.Nanosecond)) {
		t.Error("a run-out hold still holds")
	}
}

// InFlight drops a run-out hold and closes its intent.
func TestPendingInFlightResolves(t *testing.T) {
	now := time.Now()
	p := NewPending()
	var resolved []string
	p.OnResolve = func(op string) { resolved = append(resolved, op) }
	p.Restore("r", key("a"), "op1", now, now.Add(time.Second))
	if !p.InFlight("r", key("a"), now) || resolved != nil {
		t.Fatal("a live hold does not hold, or was resolved")
	}
	if p.InFlight("r", key("a"), now.Add(2*time.Second)) {
		t.Error("a run-out hold still holds")
	}
	assertStrings(t, "resolved", resolved, []string{"op1"})
	if p.Unresolved("r") {
		t.Error("run-out hold kept")
	}
}
