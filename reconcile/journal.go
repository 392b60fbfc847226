package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Store is the durable home of the ownership journal. A Store opened for
// writing holds the single-writer lock for its life (store.File holds an
// flock; the HA stores of DESIGN.md section 8 hold a lease). Save returns
// only once the document is durable.
type Store interface {
	Load(ctx context.Context) ([]byte, error)
	Save(ctx context.Context, doc []byte) error
	Close() error
	String() string
}

// JournalVersion is the version of the journal document written today.
// Version 1 (rooms and grace records, no intents) is upgraded on load.
const JournalVersion = 2

// RoomRecord is a room the agent created.
type RoomRecord struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// IntentKind is what an intent is about to create.
type IntentKind string

// Intent kinds.
const (
	IntentRoom  IntentKind = "create_room"
	IntentInput IntentKind = "start_input"
)

// Intent is a create recorded durably before it is sent to OWT, and closed
// once its outcome is known. After a crash, open intents say what may have
// been created without the agent knowing.
type Intent struct {
	ID   string     `json:"id"`
	Kind IntentKind `json:"kind"`
	Room string     `json:"room"`
	// Stream and Op: for IntentInput, the SRS stream and the op id written
	// into the streaming-in's attributes. For IntentOutput, Op is the
	// output's key (its URL for a streaming-out).
	Stream StreamKey `json:"stream,omitzero"`
	Op     string    `json:"op,omitempty"`
	At     time.Time `json:"at"`
	// SeenIDs: for IntentRoom, the ids of the rooms of that name seen just
	// before the create (for IntentOutput, of the room's recordings). A room of that name with any other id is the one
	// this create made.
	SeenIDs []string `json:"seen_ids,omitempty"`
}

type journalDoc struct {
	Version int                   `json:"version"`
	Agent   string                `json:"agent"`
	Rooms   map[string]RoomRecord `json:"rooms"`
	// Missing: "room|server/vhost/app/stream" -> first time seen unwanted.
	Missing map[string]time.Time `json:"missing,omitempty"`
	Intents []Intent             `json:"intents,omitempty"`
	// Outputs: room name -> the streaming-outs and recordings the agent owns.
	Outputs map[string][]OutputRecord `json:"outputs,omitempty"`
	// Queries: "server/vhost/app/stream" -> the stored part of its publish
	// query (policy.StoredParam: what routes read, never a publish token),
	// so that query-matching routes place the stream after a restart.
	Queries map[string]string `json:"queries,omitempty"`
}

// Journal is the agent's ownership memory: the rooms it created (the only
// rooms it may delete), when owned inputs were first seen unwanted (so the
// delete grace survives restarts), and the intents of creates in flight.
// It is kept in memory under its own lock and written to its Store: at
// once (Commit) for what must be durable before OWT is called, in the
// background of the next commit for the rest. Concurrent commits share one
// write.
type Journal struct {
	// saveMu serializes writes: a write that marshalled older data must not
	// land after a newer one.
	saveMu   sync.Mutex
	mu       sync.Mutex
	store    Store
	doc      journalDoc
	gen      uint64 // bumped by every change that Commit must write
	savedGen uint64 // the last generation known durable
	// lazy counts changes that may wait for the next write (closed
	// intents: one that outlives a crash is only resolved again);
	// savedLazy is the count the last write carried.
	lazy, savedLazy uint64
	// OnSave, if set, is told the outcome of every write (store health).
	OnSave func(err error)
}

// OpenJournal loads the journal of agent from st. A store without a
// document gives an empty journal; a version 1 document is upgraded in
// memory and written back at the first commit.
func OpenJournal(ctx context.Context, st Store, agent string) (*Journal, error) {
	j := &Journal{store: st, doc: journalDoc{Version: JournalVersion, Agent: agent, Rooms: map[string]RoomRecord{}, Missing: map[string]time.Time{}}}
	b, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return j, nil
	}
	const fix = "move it away to start afresh; rooms it listed will then be used but never deleted"
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil, fmt.Errorf("state %s holds null, not a journal (%s)", st, fix)
	}
	var d journalDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("state %s is corrupt: %v (%s)", st, err, fix)
	}
	switch {
	case d.Version > JournalVersion:
		return nil, fmt.Errorf("state %s has version %d, written by a newer srs-owt-proxy (this one writes %d): run the newer version", st, d.Version, JournalVersion)
	case d.Version < 1:
		return nil, fmt.Errorf("state %s has no version: it is not an srs-owt-proxy state (%s)", st, fix)
	}
	if d.Agent != "" && d.Agent != agent {
		return nil, fmt.Errorf("state %s belongs to agent %q, not %q: give each agent its own state_file", st, d.Agent, agent)
	}
	if d.Version < JournalVersion || d.Agent != agent {
		j.gen++ // upgraded in place at the first commit
	}
	d.Version, d.Agent = JournalVersion, agent
	if d.Rooms == nil {
		d.Rooms = map[string]RoomRecord{}
	}
	if d.Missing == nil {
		d.Missing = map[string]time.Time{}
	}
	j.doc = d
	return j, nil
}

// String names the journal's store.
func (j *Journal) String() string { return j.store.String() }

// changed marks the journal as changed; call with j.mu held.
func (j *Journal) changed() { j.gen++ }

// Commit writes the journal if it changed since its last durable write and
// returns once every change made before the call is durable.
func (j *Journal) Commit(ctx context.Context) error {
	j.mu.Lock()
	want := j.gen
	j.mu.Unlock()
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	if j.savedGen >= want {
		j.mu.Unlock()
		return nil // a write that began after our change carried it
	}
	b, err := json.MarshalIndent(j.doc, "", "  ")
	g, lz := j.gen, j.lazy
	j.mu.Unlock()
	if err == nil {
		err = j.store.Save(ctx, append(b, '\n'))
	}
	if j.OnSave != nil {
		j.OnSave(err)
	}
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.savedGen, j.savedLazy = g, lz
	j.mu.Unlock()
	return nil
}

// Flush writes every change, the lazy ones too.
func (j *Journal) Flush(ctx context.Context) error {
	j.mu.Lock()
	if j.lazy != j.savedLazy {
		j.changed()
	}
	j.mu.Unlock()
	return j.Commit(ctx)
}

// Dirty reports whether changes are not durable yet.
func (j *Journal) Dirty() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.gen != j.savedGen || j.lazy != j.savedLazy
}

// Close writes what is left and releases the store.
func (j *Journal) Close(ctx context.Context) error {
	err := j.Flush(ctx)
	return errors.Join(err, j.store.Close())
}

// Room returns the record of a room the agent created, by name.
func (j *Journal) Room(name string) (RoomRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.doc.Rooms[name]
	return r, ok
}

// Rooms returns the names of all rooms the agent created, sorted.
func (j *Journal) Rooms() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]string, 0, len(j.doc.Rooms))
	for n := range j.doc.Rooms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetRoom records a room the agent created (or adopted after a crash).
func (j *Journal) SetRoom(name, id string, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.doc.Rooms[name] = RoomRecord{ID: id, Created: at}
	j.changed()
}

// ForgetRoom drops a room's record (deleted, or gone from OWT).
func (j *Journal) ForgetRoom(name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.doc.Rooms[name]; ok {
		delete(j.doc.Rooms, name)
		j.changed()
	}
}

// SetQuery records the stored publish query of a stream ("" forgets it).
// It is written with the next commit (the intent of the streaming-in that
// needs it is committed before the POST).
func (j *Journal) SetQuery(k StreamKey, query string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ks := k.String()
	if query == "" {
		if _, ok := j.doc.Queries[ks]; ok {
			delete(j.doc.Queries, ks)
			j.changed()
		}
		return
	}
	if j.doc.Queries[ks] == query {
		return
	}
	if j.doc.Queries == nil {
		j.doc.Queries = map[string]string{}
	}
	j.doc.Queries[ks] = query
	j.changed()
}

// Query returns the stored publish query of a stream.
func (j *Journal) Query(k StreamKey) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	q, ok := j.doc.Queries[k.String()]
	return q, ok
}

// PruneQueries forgets the queries of streams that neither have an input
// in keep nor an open intent.
func (j *Journal) PruneQueries(keep []RoomStream) {
	live := make(map[string]bool, len(keep))
	for _, rs := range keep {
		live[rs.Key.String()] = true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, in := range j.doc.Intents {
		live[in.Stream.String()] = true
	}
	for ks := range j.doc.Queries {
		if !live[ks] {
			delete(j.doc.Queries, ks)
			j.lazy++
		}
	}
}

func missingKey(room string, k StreamKey) string { return room + "|" + k.String() }

// MissingSince returns when key was first seen unwanted in room.
func (j *Journal) MissingSince(room string, k StreamKey) (time.Time, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t, ok := j.doc.Missing[missingKey(room, k)]
	return t, ok
}

// SetMissing records the start of key's grace period in room, once.
func (j *Journal) SetMissing(room string, k StreamKey, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	mk := missingKey(room, k)
	if _, ok := j.doc.Missing[mk]; !ok {
		j.doc.Missing[mk] = at
		j.changed()
	}
}

// ClearMissing forgets key's grace period in room.
func (j *Journal) ClearMissing(room string, k StreamKey) {
	j.mu.Lock()
	defer j.mu.Unlock()
	mk := missingKey(room, k)
	if _, ok := j.doc.Missing[mk]; ok {
		delete(j.doc.Missing, mk)
		j.changed()
	}
}

// RoomStream names an input: a stream in a room.
type RoomStream struct {
	Room string
	Key  StreamKey
}

// PruneMissing forgets every grace period but those of the inputs in keep
// (the inputs that still exist), so the journal does not grow with every
// stream that ever left. Dropping one early only restarts a grace: the
// safe direction.
func (j *Journal) PruneMissing(keep []RoomStream) {
	live := make(map[string]bool, len(keep))
	for _, rs := range keep {
		live[missingKey(rs.Room, rs.Key)] = true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for mk := range j.doc.Missing {
		if !live[mk] {
			delete(j.doc.Missing, mk)
			j.changed()
		}
	}
}

// MissingCount is the number of grace periods remembered.
func (j *Journal) MissingCount() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.doc.Missing)
}

// Begin records in durably: it returns only once the intent is in the
// store. On error the intent is dropped and the create must not be made.
func (j *Journal) Begin(ctx context.Context, in Intent) error {
	j.mu.Lock()
	j.doc.Intents = append(j.doc.Intents, in)
	j.changed()
	j.mu.Unlock()
	if err := j.Commit(ctx); err != nil {
		j.End(in.ID)
		return err
	}
	return nil
}

// End closes an intent. It is written with the next write or Flush, not
// at once: an intent that outlives a crash is only resolved again.
func (j *Journal) End(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, in := range j.doc.Intents {
		if in.ID == id {
			j.doc.Intents = append(j.doc.Intents[:i], j.doc.Intents[i+1:]...)
			j.lazy++
			return
		}
	}
}

// RoomCreated records the outcome of a room intent: the room is the
// agent's, and the intent is closed, in one change.
func (j *Journal) RoomCreated(intentID, name, id string, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.doc.Rooms[name] = RoomRecord{ID: id, Created: at}
	for i, in := range j.doc.Intents {
		if in.ID == intentID {
			j.doc.Intents = append(j.doc.Intents[:i], j.doc.Intents[i+1:]...)
			break
		}
	}
	j.changed()
}

// Intents returns the open intents, oldest first.
func (j *Journal) Intents() []Intent {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Intent, len(j.doc.Intents))
	for i, in := range j.doc.Intents {
		in.SeenIDs = append([]string(nil), in.SeenIDs...)
		out[i] = in
	}
	return out
}

// RoomIntent returns the open room intent for name, if any.
func (j *Journal) RoomIntent(name string) (Intent, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, in := range j.doc.Intents {
		if in.Kind == IntentRoom && in.Room == name {
			in.SeenIDs = append([]string(nil), in.SeenIDs...)
			return in, true
		}
	}
	return Intent{}, false
}

// RoomResolution is what a room listing said of an open room intent.
type RoomResolution struct {
	Room string
	// Adopted is the id of the room the create made; "" when it made none.
	Adopted string
	// Others are further new rooms of the name (only one is the agent's).
	Others []string
}

func (r RoomResolution) log(l *slog.Logger) {
	if r.Adopted == "" {
		l.Info("room create of unknown outcome did not happen; it is made again if still needed", "room", r.Room)
		return
	}
	l.Warn("adopted a room whose create had no recorded answer (timeout or restart)", "room", r.Room, "room_id", r.Adopted)
	if len(r.Others) > 0 {
		l.Warn("other new rooms of this name appeared meanwhile; they are not the agent's", "room", r.Room, "room_ids", r.Others)
	}
}

// ResolveRoomIntents settles open room intents (of room only, or all when
// only is "") with a room listing: a room of the intended name whose id
// was not seen before the create is the agent's and is adopted, so nothing
// is orphaned; if there is none, the create did not happen. An intent sent
// less than settle before the listing began stays open: the create may
// still be landing.
func (j *Journal) ResolveRoomIntents(ix RoomIndex, only string, settle time.Duration) []RoomResolution {
	var out []RoomResolution
	for _, in := range j.Intents() {
		if in.Kind != IntentRoom || (only != "" && in.Room != only) || ix.ListedAt.Before(in.At.Add(settle)) {
			continue
		}
		if _, owned := j.Room(in.Room); owned {
			j.End(in.ID)
			continue
		}
		r := RoomResolution{Room: in.Room}
		if ids := ix.NewRooms(in.Room, in.SeenIDs); len(ids) > 0 {
			r.Adopted, r.Others = ids[0], ids[1:]
			j.RoomCreated(in.ID, in.Room, ids[0], ix.ListedAt)
		} else {
			j.End(in.ID)
		}
		out = append(out, r)
	}
	return out
}
