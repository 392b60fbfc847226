package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// RoomRecord is a room the agent created.
type RoomRecord struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type stateData struct {
	Version int                   `json:"version"`
	Agent   string                `json:"agent"`
	Rooms   map[string]RoomRecord `json:"rooms"`
	// Missing: "room|server/vhost/app/stream" -> first time seen unwanted.
	Missing map[string]time.Time `json:"missing,omitempty"`
}

// State is the agent's small persistent memory: the rooms it created (the
// only rooms it may delete) and when owned inputs were first seen unwanted
// (so the delete grace survives restarts and spans `sync --once` runs).
// Writes are atomic (temp file, fsync, rename).
type State struct {
	// saveMu serializes Save: a Save that marshalled older data must not
	// rename its file over a newer one.
	saveMu sync.Mutex
	mu     sync.Mutex
	path   string
	data   stateData
	dirty  bool
}

// LoadState reads the state file; a missing file is an empty state.
func LoadState(path, agent string) (*State, error) {
	s := &State{path: path, data: stateData{Version: 1, Agent: agent, Rooms: map[string]RoomRecord{}, Missing: map[string]time.Time{}}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w (check agent.state_file and its permissions)", path, err)
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %v (move it away to start afresh; rooms it listed will then be used but never deleted)", path, err)
	}
	if s.data.Agent != "" && s.data.Agent != agent {
		return nil, fmt.Errorf("state file %s belongs to agent %q, not %q: give each agent its own state_file", path, s.data.Agent, agent)
	}
	s.data.Agent = agent
	if s.data.Rooms == nil {
		s.data.Rooms = map[string]RoomRecord{}
	}
	if s.data.Missing == nil {
		s.data.Missing = map[string]time.Time{}
	}
	return s, nil
}

// Room returns the record of a room the agent created, by name.
func (s *State) Room(name string) (RoomRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.data.Rooms[name]
	return r, ok
}

// Rooms returns the names of all rooms the agent created, sorted.
func (s *State) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.data.Rooms))
	for n := range s.data.Rooms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetRoom records a room the agent created.
func (s *State) SetRoom(name, id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Rooms[name] = RoomRecord{ID: id, Created: at}
	s.dirty = true
}

// ForgetRoom drops a room's record (deleted, or gone from OWT).
func (s *State) ForgetRoom(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data.Rooms[name]; ok {
		delete(s.data.Rooms, name)
		s.dirty = true
	}
}

func missingKey(room string, k StreamKey) string { return room + "|" + k.String() }

// MissingSince returns when key was first seen unwanted in room.
func (s *State) MissingSince(room string, k StreamKey) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.data.Missing[missingKey(room, k)]
	return t, ok
}

// SetMissing records the start of key's grace period in room, once.
func (s *State) SetMissing(room string, k StreamKey, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := missingKey(room, k)
	if _, ok := s.data.Missing[mk]; !ok {
		s.data.Missing[mk] = at
		s.dirty = true
	}
}

// ClearMissing forgets key's grace period in room.
func (s *State) ClearMissing(room string, k StreamKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := missingKey(room, k)
	if _, ok := s.data.Missing[mk]; ok {
		delete(s.data.Missing, mk)
		s.dirty = true
	}
}

// RoomStream names an input: a stream in a room.
type RoomStream struct {
	Room string
	Key  StreamKey
}

// PruneMissing forgets every grace period but those of the inputs in keep
// (the inputs that still exist), so the file does not grow with every
// stream that ever left. Dropping one early only restarts a grace: the
// safe direction.
func (s *State) PruneMissing(keep []RoomStream) {
	live := make(map[string]bool, len(keep))
	for _, rs := range keep {
		live[missingKey(rs.Room, rs.Key)] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for mk := range s.data.Missing {
		if !live[mk] {
			delete(s.data.Missing, mk)
			s.dirty = true
		}
	}
}

// MissingCount is the number of grace periods remembered.
func (s *State) MissingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data.Missing)
}

// Save writes the state atomically if it changed.
func (s *State) Save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty || s.path == "" {
		s.mu.Unlock()
		return nil
	}
	b, err := json.MarshalIndent(s.data, "", "  ")
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeAtomic(s.path, append(b, '\n')); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("state file %s: %w (rooms created meanwhile stay in memory; fix the directory's permissions or disk space)", s.path, err)
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
