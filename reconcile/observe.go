package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// SRS is the part of an SRS API client the reconciler uses.
type SRS interface {
	Snapshot(ctx context.Context) (srsapi.Snapshot, error)
}

// SRSServer is one configured SRS server with its pull base.
type SRSServer struct {
	Name   string
	Pull   string
	Client SRS
}

// ReadSRS reads every server in parallel. It returns the sources that were
// read and, by server name, the error of each server that was not.
func ReadSRS(ctx context.Context, servers []SRSServer) ([]Source, map[string]error) {
	srcs := make([]Source, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snap, err := s.Client.Snapshot(ctx)
			if err != nil {
				// The client's errors name the server already; others
				// get its name once.
				var se *srsapi.Error
				if !errors.As(err, &se) || se.Server != s.Name {
					err = fmt.Errorf("srs %q: %w", s.Name, err)
				}
				errs[i] = err
				return
			}
			srcs[i] = Source{Name: s.Name, Pull: s.Pull, Snapshot: snap}
		}()
	}
	wg.Wait()
	var ok []Source
	failed := map[string]error{}
	for i, s := range servers {
		if errs[i] != nil {
			failed[s.Name] = errs[i]
			continue
		}
		ok = append(ok, srcs[i])
	}
	return ok, failed
}

// RoomIndex indexes OWT's room list by name and id.
type RoomIndex struct {
	byName map[string][]owtapi.Room
	byID   map[string]owtapi.Room
	// ListedAt is when the complete listing behind the index began; zero
	// when unknown.
	ListedAt time.Time
}

// IndexRooms builds an index; rooms of one name keep OWT's _id order.
func IndexRooms(rooms []owtapi.Room) RoomIndex {
	ix := RoomIndex{byName: map[string][]owtapi.Room{}, byID: map[string]owtapi.Room{}}
	sorted := append([]owtapi.Room(nil), rooms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, r := range sorted {
		ix.byName[r.Name] = append(ix.byName[r.Name], r)
		ix.byID[r.ID] = r
	}
	return ix
}

// Names returns every room name in the index.
func (ix RoomIndex) Names() []string {
	out := make([]string, 0, len(ix.byName))
	for n := range ix.byName {
		out = append(out, n)
	}
	return out
}

// Locate finds the room the agent should use for name: the one it created
// (journal) if any, else the first room of that name (used, never owned).
// A room the agent created is taken as existing even when the listing
// lacks it: absence from a listing proves nothing (a listing begun before
// the create, or paged while rooms were deleted, misses rooms), so only
// OWT's NotFound for the room itself, from ObserveRoom, makes it gone.
func (ix RoomIndex) Locate(name string, j *Journal) ObservedRoom {
	o := ObservedRoom{Name: name, Participants: -1}
	for _, r := range ix.byName[name] {
		o.NameIDs = append(o.NameIDs, r.ID)
	}
	if j != nil {
		if rec, ok := j.Room(name); ok {
			o.ID, o.Exists, o.Owned = rec.ID, true, true
			if r, listed := ix.byID[rec.ID]; listed {
				o.Views = ViewLabels(r)
			}
			return o
		}
	}
	if rs := ix.byName[name]; len(rs) > 0 {
		o.ID, o.Exists, o.Views = rs[0].ID, true, ViewLabels(rs[0])
	}
	return o
}

// Without returns a copy of the index without the rooms in ids (rooms the
// agent deleted after the listing behind the index began).
func (ix RoomIndex) Without(ids map[string]bool) RoomIndex {
	if len(ids) == 0 {
		return ix
	}
	var rooms []owtapi.Room
	for _, rs := range ix.byName {
		for _, r := range rs {
			if !ids[r.ID] {
				rooms = append(rooms, r)
			}
		}
	}
	out := IndexRooms(rooms)
	out.ListedAt = ix.ListedAt
	return out
}

// Has reports whether the listing holds a room with that id.
func (ix RoomIndex) Has(id string) bool { _, ok := ix.byID[id]; return ok }

// NewRooms returns the ids of the rooms named name that are not in seen,
// lowest first.
func (ix RoomIndex) NewRooms(name string, seen []string) []string {
	var out []string
	for _, r := range ix.byName[name] {
		if !contains(seen, r.ID) {
			out = append(out, r.ID)
		}
	}
	return out
}

// ObserveRoom reads the streams of a located room (and, for a room the
// agent may delete, its participants). A 404/1003 means the room is gone.
func ObserveRoom(ctx context.Context, c OWT, agent string, o *ObservedRoom, wantDeleteCheck bool) error {
	if !o.Exists {
		return nil
	}
	streams, err := c.ListStreamsWithoutMedia(ctx, o.ID)
	if owtapi.IsRoomNotFound(err) {
		o.Exists, o.ID, o.Inputs, o.Listed = false, "", nil, true
		return nil
	}
	if err != nil {
		o.Listed = false
		return fmt.Errorf("list streams of room %q (%s): %w", o.Name, o.ID, err)
	}
	o.Inputs, o.Foreign = ObserveStreams(agent, streams)
	o.Listed = true
	o.Participants = -1
	if wantDeleteCheck && o.Owned {
		ps, err := c.ListParticipants(ctx, o.ID)
		if err == nil {
			o.Participants = len(ps)
		}
	}
	return nil
}
