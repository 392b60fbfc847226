package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Status is what the engine believes right now: its last readings of SRS
// and OWT, the desired and observed state of every room, and the plan the
// same planner as `diff` makes from them (PlanRoom and Budget), with held
// operations and the time they may still wait. It is computed from the
// engine's stores only: no call to SRS or OWT, no write anywhere.
type Status struct {
	At       time.Time `json:"at"`
	Ready    bool      `json:"ready"`
	NotReady string    `json:"not_ready,omitempty"`
	// SRS is the last reading of each configured server.
	SRS []SRSStatus `json:"srs"`
	// OWT is the last room listing.
	OWT   OWTStatus   `json:"owt"`
	Store StoreStatus `json:"store"`
	// QueueDepth is the number of rooms waiting for a worker.
	QueueDepth int `json:"queue_depth"`
	// Summary counts the plan's operations like `diff` does.
	Summary Summary      `json:"summary"`
	Rooms   []RoomStatus `json:"rooms"`
	// Unroutable are live streams the policy could not place, and why.
	Unroutable []Unroutable `json:"unroutable"`
	// Denied and Ignored count live streams the policy keeps out of OWT.
	Denied  int `json:"denied"`
	Ignored int `json:"ignored"`
	// Looped counts live streams that the agent's own outputs push into
	// SRS: never routed back into OWT (counted in Ignored too).
	Looped int `json:"looped"`
}

// SRSStatus is one SRS server's last reading.
type SRSStatus struct {
	Name string `json:"name"`
	// ReadAt is when the last reading began (zero: never read).
	ReadAt     time.Time `json:"read_at,omitzero"`
	AgeSeconds float64   `json:"age_seconds"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	// Live counts the streams it lists as published.
	Live int `json:"live"`
}

// OWTStatus is the last OWT room listing.
type OWTStatus struct {
	ListedAt   time.Time `json:"listed_at,omitzero"`
	AgeSeconds float64   `json:"age_seconds"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	Rooms      int       `json:"rooms"`
}

// StoreStatus is the health of the ownership journal's store.
type StoreStatus struct {
	// Name says where the journal lives ("" when the engine has none).
	Name string `json:"name"`
	// Healthy is false when the last write failed.
	Healthy   bool      `json:"healthy"`
	LastWrite time.Time `json:"last_write,omitzero"`
	Error     string    `json:"error,omitempty"`
	// OwnedRooms and OpenIntents count what the journal holds.
	OwnedRooms  int `json:"owned_rooms"`
	OpenIntents int `json:"open_intents"`
}

// Unroutable is a live stream the policy could not place, or whose names
// cannot be put safely into a pull URL (see Engine.Unroutable).
type Unroutable struct {
	Stream string `json:"stream"`
	Why    string `json:"why"`
}

// RoomStatus is one room: what is desired, what OWT has, and the plan.
type RoomStatus struct {
	Name   string `json:"name"`
	ID     string `json:"id,omitempty"`
	Exists bool   `json:"exists"`
	// Owned: the agent created the room and may delete it.
	Owned bool `json:"owned"`
	// Listed: its streams were read; Participants is -1 when not read.
	Listed       bool          `json:"listed"`
	Views        []string      `json:"views,omitempty"`
	Foreign      int           `json:"foreign_streams"`
	Participants int           `json:"participants"`
	Inputs       []InputStatus `json:"inputs"`
	// Outputs are the room's streaming-outs and recordings (outputs_engine.go).
	Outputs []OutputStatus `json:"outputs,omitempty"`
	// Ops are the planned operations, held ones included.
	Ops   []OpStatus `json:"ops"`
	Notes []string   `json:"notes,omitempty"`
	// InSync: nothing to apply (held operations may remain).
	InSync      bool      `json:"in_sync"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// InputStatus is one SRS stream in a room: desired, present in OWT, or both.
type InputStatus struct {
	Stream  string `json:"stream"`
	Desired bool   `json:"desired"`
	// URL and Views are the desired pull URL and views.
	URL   string   `json:"url,omitempty"`
	Views []string `json:"views,omitempty"`
	// Hint: known from an on_publish hook only, SRS does not list it yet.
	Hint bool `json:"hint,omitempty"`
	// OWT holds the agent's streaming-ins for the stream.
	OWT []OWTInput `json:"owt,omitempty"`
	// InView: an owned input is in every desired view.
	InView bool `json:"in_view"`
	// Pending is a streaming-in POST in progress or of unknown outcome.
	Pending *PendingStatus `json:"pending,omitempty"`
}

// OWTInput is one streaming-in the agent owns.
type OWTInput struct {
	ID      string   `json:"id"`
	URL     string   `json:"url,omitempty"`
	InViews []string `json:"in_views"`
}

// PendingStatus is a streaming-in POST whose outcome is not known yet.
type PendingStatus struct {
	Since time.Time `json:"since"`
	// InProgress: the POST has not answered. Otherwise it failed in a way
	// that may still create the stream, and holds new POSTs for
	// TimeLeftSeconds.
	InProgress      bool    `json:"in_progress"`
	TimeLeftSeconds float64 `json:"time_left_seconds,omitempty"`
}

// OpStatus is a planned operation and, when held, how long it may wait.
type OpStatus struct {
	Op
	// Action is add, change or destroy.
	Action string `json:"action"`
	// TimeLeftSeconds: for a grace-held delete, the grace left (0: unknown).
	TimeLeftSeconds float64 `json:"time_left_seconds,omitempty"`
}

// statusMemo keeps what only the engine's workers see: each room's last
// error and the outcome of the last journal write.
type statusMemo struct {
	mu        sync.Mutex
	roomErr   map[string]roomError
	storeAt   time.Time
	storeErr  string
	storeSeen bool
	notes     map[string]string // room -> its notes as last logged
}

type roomError struct {
	err string
	at  time.Time
}

// notesChanged records a room's notes and reports whether they differ
// from the last ones recorded (so each is logged once, not every pass).
func (m *statusMemo) notesChanged(room string, notes []string) bool {
	key := strings.Join(notes, "\n")
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notes == nil {
		m.notes = map[string]string{}
	}
	if m.notes[room] == key {
		return false
	}
	if key == "" {
		delete(m.notes, room)
	} else {
		m.notes[room] = key
	}
	return key != ""
}

// roomResult records the outcome of a worker's pass over room.
func (m *statusMemo) roomResult(room string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.roomErr, room)
		return
	}
	if m.roomErr == nil {
		m.roomErr = map[string]roomError{}
	}
	m.roomErr[room] = roomError{err: err.Error(), at: time.Now()}
}

// storeResult records the outcome of a journal write.
func (m *statusMemo) storeResult(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storeAt, m.storeSeen = time.Now(), true
	m.storeErr = ""
	if err != nil {
		m.storeErr = err.Error()
	}
}

// roomContext is the planner's input for one room, built the same way for
// the workers (which act on it) and for Status (which only shows it).
// Deletes are judged server by server from the SRS readings; inFlight says
// whether a streaming-in POST of k is still outstanding.
func (e *Engine) roomContext(name string, obs *ObservedRoom, desired *DesiredRoom, now time.Time, createHeld string, listErr error, inFlight func(StreamKey) bool) RoomContext {
	complete, why := true, ""
	if _, ok, _ := e.owt.Listing(); !ok {
		complete, why = false, "the OWT room listing failed"
	}
	if listErr != nil {
		complete, why = false, "the streams of this room could not be read"
	}
	j := e.cfg.Journal
	return RoomContext{
		Desired: desired, Observed: obs, Grace: e.pol().Reconcile.DeleteGrace, CreateHeld: createHeld,
		DeletesAllowed: complete, DeletesHeldWhy: why, Reading: e.srs.Reading, Now: now, Ident: e.srs.Ident,
		// A stream unpublished since the reading is no longer live.
		Live: func(k StreamKey) bool {
			if _, ok := e.srs.Unpublished(k); ok {
				return false
			}
			return e.srs.Live(k)
		},
		MissingSince: func(k StreamKey) (time.Time, bool) {
			if at, ok := e.srs.Unpublished(k); ok {
				return at, true
			}
			if j == nil {
				return time.Time{}, false
			}
			return j.MissingSince(name, k)
		},
		InFlight:      inFlight,
		DesiredRoomOf: e.srs.DesiredRoomOf,
		InViewIn: func(k StreamKey, room string) bool {
			k = e.srs.Chosen(k)
			d := e.srs.DesiredRoom(room, e.pol(), e.pullOf)
			if d == nil || d.Inputs[k] == nil {
				return false
			}
			return e.owt.InView(room, k, d.Inputs[k].Views)
		},
	}
}

// Status returns what the engine believes at now, and the plan it would
// make from it. It changes nothing: no store, journal, queue or budget.
func (e *Engine) Status(now time.Time) *Status {
	st := &Status{At: now, Rooms: []RoomStatus{}, Unroutable: []Unroutable{}, QueueDepth: e.queue.Len()}
	st.Ready, st.NotReady = e.Ready()
	st.SRS = e.srs.status(now)
	ix, ok, err := e.owt.Listing()
	st.OWT = OWTStatus{OK: ok, Rooms: len(ix.Names())}
	if !ix.ListedAt.IsZero() {
		st.OWT.ListedAt, st.OWT.AgeSeconds = ix.ListedAt, seconds(now.Sub(ix.ListedAt))
	}
	if err != nil {
		st.OWT.Error = err.Error()
	}
	st.Store = e.storeStatus()
	d := e.srs.Desired()
	st.Denied, st.Ignored, st.Looped = d.Denied, d.Ignored, d.Looped
	// Streams SRS keeps but the agent keeps out of OWT (unroutable.go):
	// those the policy cannot place, from listings and from hooks.
	for _, u := range e.Unroutable() {
		st.Unroutable = append(st.Unroutable, Unroutable{Stream: clipKey(u.Key), Why: u.Reason})
	}

	names := map[string]bool{}
	for n := range d.Rooms {
		names[n] = true
	}
	for _, n := range e.owt.Names() {
		names[n] = true
	}
	j := e.cfg.Journal
	if j != nil {
		for _, n := range j.Rooms() {
			names[n] = true
		}
		for _, in := range j.Intents() {
			names[in.Room] = true
		}
	}
	for _, h := range e.srs.hintedRooms() {
		names[h] = true
	}
	// Equivalent mutant: a length of 1 adds a room named "", which nothing wants or holds, so the loop below skips it.
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	pol := e.pol()
	budget := Budget{}
	if pol != nil {
		budget = Budget{MaxDeletes: pol.Reconcile.MaxDeletes, EmptyGuard: e.srs.EmptyGuard(pol.Reconcile.AllowEmpty, e.ownedByServer())}
	}
	plan := &Plan{}
	e.view.mu.Lock()
	roomErr := make(map[string]roomError, len(e.view.roomErr))
	for k, v := range e.view.roomErr {
		roomErr[k] = v
	}
	e.view.mu.Unlock()
	for _, name := range sorted {
		obs := e.owt.peek(name, j)
		var desired *DesiredRoom
		if pol != nil {
			desired = e.srs.DesiredRoom(name, pol, e.pullOf)
		}
		if desired == nil && !obs.Exists && !obs.Owned {
			continue // nothing wanted, nothing there
		}
		rs := RoomStatus{Name: name, ID: obs.ID, Exists: obs.Exists, Owned: obs.Owned, Listed: obs.Listed,
			Views: obs.Views, Foreign: obs.Foreign, Participants: obs.Participants, Inputs: []InputStatus{}, Ops: []OpStatus{}}
		if re, ok := roomErr[name]; ok {
			rs.LastError, rs.LastErrorAt = re.err, re.at
		}
		var rp RoomPlan
		if pol != nil {
			rp = PlanRoom(e.roomContext(name, obs, desired, now, e.createHeldView(name, obs, now), nil,
				func(k StreamKey) bool { _, ok := e.pending.peek(name, k, now); return ok }))
			budget.Apply(&rp)
			plan.Rooms = append(plan.Rooms, rp)
		}
		rs.Inputs = e.inputStatus(name, obs, desired, now)
		rs.Outputs = e.outputStatus(name, desired, now)
		for _, o := range rp.Ops {
			os := OpStatus{Op: o, Action: o.Action()}
			if o.RetryIn > 0 {
				os.TimeLeftSeconds = seconds(o.RetryIn)
			}
			rs.Ops = append(rs.Ops, os)
		}
		rs.Notes = rp.Notes
		one := Plan{Rooms: []RoomPlan{rp}}
		rs.InSync = one.Summary().InSync()
		st.Rooms = append(st.Rooms, rs)
	}
	st.Summary = plan.Summary()
	return st
}

// inputStatus merges the desired inputs of a room with the agent's
// streaming-ins OWT has there, by stream.
func (e *Engine) inputStatus(room string, obs *ObservedRoom, desired *DesiredRoom, now time.Time) []InputStatus {
	by := map[StreamKey]*InputStatus{}
	var keys []StreamKey
	get := func(k StreamKey) *InputStatus {
		if s := by[k]; s != nil {
			return s
		}
		s := &InputStatus{Stream: k.String()}
		by[k] = s
		keys = append(keys, k)
		return s
	}
	if desired != nil {
		for k, in := range desired.Inputs {
			s := get(k)
			s.Desired, s.URL, s.Views, s.Hint = true, in.URL, in.Views, in.Hint
		}
	}
	for _, in := range obs.Inputs {
		s := get(in.Key)
		s.OWT = append(s.OWT, OWTInput{ID: in.ID, URL: in.URL, InViews: append([]string{}, in.InViews...)})
	}
	out := make([]InputStatus, 0, len(keys))
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		s := by[k]
		if s.Desired {
			s.InView = obs.InView(k, s.Views)
		}
		if pe, ok := e.pending.peek(room, k, now); ok {
			ps := &PendingStatus{Since: pe.started, InProgress: pe.until.IsZero()}
			if !ps.InProgress {
				ps.TimeLeftSeconds = seconds(pe.until.Sub(now))
			}
			s.Pending = ps
		}
		out = append(out, *s)
	}
	return out
}

// createHeldView says why a create of a room that does not exist is held
// (an open create intent), without resolving anything.
func (e *Engine) createHeldView(name string, obs *ObservedRoom, now time.Time) string {
	j := e.cfg.Journal
	if j == nil || obs.Exists {
		return ""
	}
	in, open := j.RoomIntent(name)
	if !open {
		return ""
	}
	age := now.Sub(in.At)
	if age < e.cfg.IntentSettle {
		return fmt.Sprintf("a create of this room sent %s ago has no known outcome yet; waiting for a room listing to tell", age.Round(time.Millisecond))
	}
	return "a create of this room has no known outcome yet; the next room listing resolves it"
}

func (e *Engine) storeStatus() StoreStatus {
	j := e.cfg.Journal
	if j == nil {
		return StoreStatus{Healthy: true}
	}
	st := StoreStatus{Name: j.String(), Healthy: true, OwnedRooms: len(j.Rooms()), OpenIntents: len(j.Intents())}
	e.view.mu.Lock()
	defer e.view.mu.Unlock()
	if e.view.storeSeen {
		st.LastWrite = e.view.storeAt
		st.Healthy = e.view.storeErr == ""
		st.Error = e.view.storeErr
	}
	return st
}

// status reports each configured server's last reading.
func (s *SRSState) status(now time.Time) []SRSStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SRSStatus, 0, len(s.servers))
	for _, sv := range s.servers {
		ss := SRSStatus{Name: sv.Name}
		if r := s.readings[sv.Name]; r != nil {
			ss.OK, ss.Live = r.ok, len(r.live)
			if !r.at.IsZero() {
				ss.ReadAt, ss.AgeSeconds = r.at, seconds(now.Sub(r.at))
			}
			if r.err != nil {
				ss.Error = r.err.Error()
			}
		} else {
			ss.Error = "not read yet"
		}
		out = append(out, ss)
	}
	return out
}

// hintedRooms returns the rooms of on_publish hints SRS does not list yet.
func (s *SRSState) hintedRooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, in := range s.hintRooms {
		if in != nil {
			out = append(out, in.Room)
		}
	}
	return out
}

// peek returns a private copy of the room as its worker would plan it,
// without taking it (nothing is marked or changed).
func (s *OWTState) peek(name string, j *Journal) *ObservedRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	var obs *ObservedRoom
	if c := s.cache[name]; c != nil {
		obs = c.Clone()
	}
	return s.locateLocked(name, obs, j)
}

// peek returns the POST of k in room still outstanding at now, without
// resolving one whose hold ran out.
func (p *Pending) peek(room string, k StreamKey, now time.Time) (pendingEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[pendingKey(room, k)]
	if !ok || (!e.until.IsZero() && now.After(e.until)) {
		return pendingEntry{}, false
	}
	return e, true
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
