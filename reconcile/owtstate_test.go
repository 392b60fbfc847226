package reconcile

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

func testJournal(t *testing.T) *Journal {
	t.Helper()
	j, err := OpenJournal(context.Background(), &store.Memory{}, "agent")
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func listing(at time.Time, rooms ...owtapi.Room) RoomIndex {
	ix := IndexRooms(rooms)
	ix.ListedAt = at
	return ix
}

func sortedNames(s *OWTState) []string {
	n := s.Names()
	sort.Strings(n)
	return n
}

func TestOWTStateSetListing(t *testing.T) {
	s := newOWTState()
	if _, ok, err := s.Listing(); ok || err != nil {
		t.Errorf("before any listing: ok %v err %v", ok, err)
	}
	s.SetListing(listing(time.Now(), owtapi.Room{ID: "1", Name: "a"}, owtapi.Room{ID: "2", Name: "b"}), nil)
	if ix, ok, err := s.Listing(); !ok || err != nil || !ix.Has("1") || !ix.Has("2") {
		t.Fatalf("listing not installed: %v %v", ok, err)
	}

	// A failed listing keeps the rooms but is not ok.
	boom := errors.New("boom")
	s.SetListing(RoomIndex{}, boom)
	if ix, ok, err := s.Listing(); ok || !errors.Is(err, boom) || !ix.Has("1") {
		t.Errorf("after a failed listing: ok %v err %v has(1) %v", ok, err, ix.Has("1"))
	}

	// A room the agent deletes is out of the listing at once, and a
	// listing begun before the delete cannot bring it back.
	begun := time.Now()
	time.Sleep(time.Millisecond)
	s.RoomDeleted("1")
	if ix, _, _ := s.Listing(); ix.Has("1") {
		t.Error("deleted room still in the listing")
	}
	assertStrings(t, "names", sortedNames(s), []string{"b"})
	s.SetListing(listing(begun, owtapi.Room{ID: "1", Name: "a"}, owtapi.Room{ID: "2", Name: "b"}), nil)
	if ix, ok, _ := s.Listing(); !ok || ix.Has("1") || !ix.Has("2") {
		t.Errorf("a listing begun before the delete brought room 1 back (ok %v)", ok)
	}
	// One begun after the delete is believed, and the delete is forgotten.
	s.SetListing(listing(time.Now(), owtapi.Room{ID: "1", Name: "a"}), nil)
	if ix, _, _ := s.Listing(); !ix.Has("1") {
		t.Error("a listing begun after the delete lost room 1")
	}
	if len(s.deleted) != 0 {
		t.Errorf("deleted rooms kept after a newer listing: %v", s.deleted)
	}
}

func TestOWTStateNames(t *testing.T) {
	s := newOWTState()
	s.SetListing(listing(time.Now(), owtapi.Room{ID: "1", Name: "a"}, owtapi.Room{ID: "2", Name: "b"}), nil)
	s.Store(&ObservedRoom{Name: "a", ID: "1", Exists: true}, true)
	s.Store(&ObservedRoom{Name: "c", Exists: false}, true)
	assertStrings(t, "names", sortedNames(s), []string{"a", "b", "c"})
}

func TestOWTStateTake(t *testing.T) {
	ix := listing(time.Now(), owtapi.Room{ID: "L1", Name: "listed"}, owtapi.Room{ID: "O2", Name: "mine"})
	for _, tc := range []struct {
		name      string
		cached    *ObservedRoom
		stale     bool
		ownedID   string // the journal's record of the room
		want      ObservedRoom
		wantStale bool
	}{
		{name: "cached and fresh: the worker's copy",
			cached: &ObservedRoom{Name: "listed", ID: "L1", Exists: true, Listed: true, Participants: 3, Inputs: []Input{owned("s1", "cam")}},
			want:   ObservedRoom{Name: "listed", ID: "L1", Exists: true, Listed: true, Participants: 3, Inputs: []Input{owned("s1", "cam")}}},
		{name: "cached but stale: located again",
			cached:    &ObservedRoom{Name: "listed", ID: "L0", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}},
			stale:     true,
			want:      ObservedRoom{Name: "listed", ID: "L1", Exists: true, NameIDs: []string{"L1"}, Participants: -1},
			wantStale: true},
		{name: "unknown: located from the listing",
			want: ObservedRoom{Name: "listed", ID: "L1", Exists: true, NameIDs: []string{"L1"}, Participants: -1}},
		{name: "unknown and unlisted",
			want: ObservedRoom{Name: "nowhere", Participants: -1}},
		{name: "owned, cached with another id: the journal's id, to be listed",
			cached:  &ObservedRoom{Name: "mine", ID: "O1", Exists: true, Listed: true, Participants: 0},
			ownedID: "O2",
			want:    ObservedRoom{Name: "mine", ID: "O2", Exists: true, Owned: true, Listed: false, Participants: 0}},
		{name: "owned, cached gone: the journal's id, to be listed",
			cached:  &ObservedRoom{Name: "mine", Exists: false, Listed: true, Participants: -1},
			ownedID: "O2",
			want:    ObservedRoom{Name: "mine", ID: "O2", Exists: true, Owned: true, Listed: false, Participants: -1}},
		{name: "owned, cached with its id: kept as is",
			cached:  &ObservedRoom{Name: "mine", ID: "O2", Exists: true, Owned: true, Listed: true, Participants: 0},
			ownedID: "O2",
			want:    ObservedRoom{Name: "mine", ID: "O2", Exists: true, Owned: true, Listed: true, Participants: 0}},
		{name: "cached gone, now listed: located",
			cached: &ObservedRoom{Name: "listed", Exists: false, Listed: true, Participants: -1},
			want:   ObservedRoom{Name: "listed", ID: "L1", Exists: true, NameIDs: []string{"L1"}, Participants: -1}},
		{name: "cached gone, still unlisted: kept",
			cached: &ObservedRoom{Name: "nowhere", Exists: false, Listed: true, Participants: -1},
			want:   ObservedRoom{Name: "nowhere", Exists: false, Listed: true, Participants: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOWTState()
			s.SetListing(ix, nil)
			name := tc.want.Name
			if tc.cached != nil {
				s.Store(tc.cached, true)
			}
			if tc.stale {
				s.MarkStale(map[string]bool{name: true})
			}
			j := testJournal(t)
			if tc.ownedID != "" {
				j.SetRoom(name, tc.ownedID, t0())
			}
			w := tc.want
			normalize(&w)
			if !tc.stale {
				// The status page sees the room as its worker would take it.
				peeked := s.peek(name, j)
				normalize(peeked)
				if !reflect.DeepEqual(*peeked, w) {
					t.Errorf("peeked\n %+v\nwant\n %+v", *peeked, w)
				}
			}
			got, stale := s.Take(name, j)
			if stale != tc.wantStale {
				t.Errorf("stale %v, want %v", stale, tc.wantStale)
			}
			normalize(got)
			if !reflect.DeepEqual(*got, w) {
				t.Errorf("took\n %+v\nwant\n %+v", *got, w)
			}
			if tc.cached != nil && got == tc.cached {
				t.Error("Take handed out the cached room itself, not a copy")
			}
			if _, stale := s.Take(name, j); stale {
				t.Error("still stale after Take")
			}
		})
	}
	// Without a journal nothing is owned.
	s := newOWTState()
	s.SetListing(ix, nil)
	if got, _ := s.Take("mine", nil); got.Owned || got.ID != "O2" {
		t.Errorf("no journal: %+v", got)
	}
}

// normalize makes empty slices nil so that rooms compare by content.
func normalize(o *ObservedRoom) {
	if len(o.NameIDs) == 0 {
		o.NameIDs = nil
	}
	if len(o.Views) == 0 {
		o.Views = nil
	}
	if len(o.Inputs) == 0 {
		o.Inputs = nil
	}
	for i := range o.Inputs {
		if len(o.Inputs[i].InViews) == 0 {
			o.Inputs[i].InViews = nil
		}
	}
}

func TestOWTStateStore(t *testing.T) {
	for _, tc := range []struct {
		exists, owned, desired bool
		kept                   bool
	}{
		{false, false, false, false},
		{true, false, false, true},
		{false, true, false, true},
		{false, false, true, true},
		{true, true, true, true},
	} {
		s := newOWTState()
		s.Store(&ObservedRoom{Name: "r", Exists: true, Inputs: []Input{owned("s1", "old")}}, true)
		s.Store(&ObservedRoom{Name: "r", Exists: tc.exists, Owned: tc.owned}, tc.desired)
		_, kept := s.cache["r"]
		if kept != tc.kept {
			t.Errorf("exists %v owned %v desired %v: kept %v, want %v", tc.exists, tc.owned, tc.desired, kept, tc.kept)
		}
		if kept && len(s.cache["r"].Inputs) != 0 {
			t.Error("the older observation was kept")
		}
	}
}

func TestOWTStatePrime(t *testing.T) {
	s := newOWTState()
	s.MarkStale(map[string]bool{"a": true, "b": true})
	s.Prime(map[string]*ObservedRoom{
		"a": {Name: "a", ID: "1", Exists: true, Listed: true, Inputs: []Input{owned("s1", "cam")}},
		"b": {Name: "b", Exists: false},
	})
	if got, stale := s.Take("a", nil); stale || len(got.Inputs) != 1 {
		t.Errorf("primed room: stale %v inputs %v; want fresh with its input", stale, got.Inputs)
	}
	if _, stale := s.Take("b", nil); !stale {
		t.Error("a room found gone while priming is not stale any more")
	}
	if _, ok := s.cache["b"]; ok {
		t.Error("a room found gone was primed")
	}
}

func TestOWTStateInputs(t *testing.T) {
	s := newOWTState()
	if n := s.OwnedInputs(); n != 0 {
		t.Errorf("empty: %d owned inputs", n)
	}
	s.Store(&ObservedRoom{Name: "a", ID: "1", Exists: true, Inputs: []Input{owned("s1", "x", "common"), owned("s2", "y")}}, true)
	s.Store(&ObservedRoom{Name: "b", ID: "2", Exists: true, Inputs: []Input{owned("s3", "x", "common")}}, true)
	s.Store(&ObservedRoom{Name: "c", ID: "3", Exists: true}, true)
	if n := s.OwnedInputs(); n != 3 {
		t.Errorf("%d owned inputs, want 3", n)
	}
	in := s.Inputs()
	sort.Slice(in, func(i, j int) bool { return in[i].Room+in[i].Key.String() < in[j].Room+in[j].Key.String() })
	if want := []RoomStream{{"a", key("x")}, {"a", key("y")}, {"b", key("x")}}; !reflect.DeepEqual(in, want) {
		t.Errorf("inputs %v, want %v", in, want)
	}
	h := s.Holding(map[StreamKey]bool{key("x"): true}, "a", nil)
	assertStrings(t, "holding x except a", h, []string{"b"})
	h = s.Holding(map[StreamKey]bool{key("y"): true, key("x"): true}, "none", nil)
	sort.Strings(h)
	assertStrings(t, "holding x or y", h, []string{"a", "b"})
	if !s.InView("a", key("x"), []string{"common"}) || s.InView("a", key("y"), []string{"common"}) || s.InView("zz", key("x"), nil) {
		t.Error("InView wrong")
	}
}
