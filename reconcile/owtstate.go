package reconcile

import (
	"sync"
	"time"
)

// OWTState is what the agent last observed of OWT: the room listing (when
// it began and whether it succeeded), each room's observed inputs, the
// rooms to list again before planning, and the rooms the agent deleted
// since the listing began. The resync installs listings, each room's
// worker stores its room after applying; one lock guards it.
type OWTState struct {
	mu      sync.Mutex
	rooms   RoomIndex
	ok      bool
	err     error
	cache   map[string]*ObservedRoom
	stale   map[string]bool
	deleted map[string]time.Time // room id -> when the agent deleted it
}

func newOWTState() *OWTState {
	return &OWTState{cache: map[string]*ObservedRoom{}, stale: map[string]bool{}, deleted: map[string]time.Time{}}
}

// SetListing installs a room listing begun at `at`, or records its
// failure. Rooms the agent deleted after the listing began are left out
// of it: a listing cannot undo the agent's newer writes.
func (s *OWTState) SetListing(ix RoomIndex, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.ok, s.err = false, err
		return
	}
	drop := map[string]bool{}
	for id, at := range s.deleted {
		if at.Before(ix.ListedAt) {
			delete(s.deleted, id)
			continue
		}
		drop[id] = true
	}
	s.rooms, s.ok, s.err = ix.Without(drop), true, nil
}

// Listing returns the current room index and whether its listing succeeded
// (with the error when not).
func (s *OWTState) Listing() (RoomIndex, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms, s.ok, s.err
}

// RoomDeleted records a room the agent deleted.
func (s *OWTState) RoomDeleted(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[id] = time.Now()
	s.rooms = s.rooms.Without(map[string]bool{id: true})
}

// Names returns the rooms listed or observed.
func (s *OWTState) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.rooms.Names()
	for n := range s.cache {
		if _, listed := s.rooms.byName[n]; !listed {
			out = append(out, n)
		}
	}
	return out
}

// MarkStale makes each room's worker list it again before planning.
func (s *OWTState) MarkStale(names map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range names {
		s.stale[n] = true
	}
}

// Take returns a private copy of the room for its worker, located again
// from the listing when it is stale or unknown, and whether it must be
// listed before planning.
func (s *OWTState) Take(name string, j *Journal) (obs *ObservedRoom, stale bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stale = s.stale[name]
	delete(s.stale, name)
	if c := s.cache[name]; c != nil && !stale {
		obs = c.Clone()
	}
	return s.locateLocked(name, obs, j), stale
}

// locateLocked completes obs, the cached observation of room name (nil:
// none to use), with the journal's record and the last room listing.
func (s *OWTState) locateLocked(name string, obs *ObservedRoom, j *Journal) *ObservedRoom {
	var rec RoomRecord
	owned := false
	if j != nil {
		rec, owned = j.Room(name)
	}
	switch {
	case obs == nil:
		// After a resync, locate the room again from the fresh listing: a
		// room re-created by someone else has a new id.
		o := s.rooms.Locate(name, j)
		obs = &o
	case owned && (!obs.Exists || obs.ID != rec.ID):
		// The journal's room (created since the observation) is the one.
		obs.ID, obs.Exists, obs.Owned, obs.Listed = rec.ID, true, true, false
	case !obs.Exists:
		if o := s.rooms.Locate(name, j); o.Exists {
			obs = &o
		}
	}
	return obs
}

// Store keeps a worker's observation of its room; a room that does not
// exist, is not the agent's and is not desired is dropped.
func (s *OWTState) Store(obs *ObservedRoom, desired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !obs.Exists && !obs.Owned && !desired {
		delete(s.cache, obs.Name)
		return
	}
	s.cache[obs.Name] = obs
}

// Prime stores fresh observations of rooms read before any worker runs.
func (s *OWTState) Prime(fresh map[string]*ObservedRoom) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, o := range fresh {
		if !o.Exists {
			continue
		}
		s.cache[n] = o
		delete(s.stale, n) // just read: its worker needs no second listing
	}
}

// InView reports whether room holds an owned input for k in every view.
func (s *OWTState) InView(room string, k StreamKey, views []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[room].InView(k, views)
}

// Inputs returns every owned input observed, by room.
func (s *OWTState) Inputs() []RoomStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RoomStream
	for name, o := range s.cache {
		for _, in := range o.Inputs {
			out = append(out, RoomStream{Room: name, Key: in.Key})
		}
	}
	return out
}

// OwnedInputs counts the owned inputs observed.
func (s *OWTState) OwnedInputs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.cache {
		n += len(o.Inputs)
	}
	return n
}

// Holding returns the rooms other than except that hold an owned input of
// one of keys (a stream that joined its views elsewhere may free them).
// Keys are compared by ident (nil: as they are).
func (s *OWTState) Holding(keys map[StreamKey]bool, except string, ident func(StreamKey) StreamKey) []string {
	if ident == nil {
		ident = func(k StreamKey) StreamKey { return k }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for rn, o := range s.cache {
		if rn == except {
			continue
		}
		for _, in := range o.Inputs {
			if keys[ident(in.Key)] {
				out = append(out, rn)
				break
			}
		}
	}
	return out
}
