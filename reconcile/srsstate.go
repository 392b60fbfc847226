package reconcile

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// srsReading is one server's last listing, taken at `at` (when the
// request began).
type srsReading struct {
	src  Source
	at   time.Time
	ok   bool
	err  error
	live map[StreamKey]string // active streams -> publisher client id
}

func newReading(s Source, at time.Time) *srsReading {
	r := &srsReading{src: s, at: at, ok: true, live: make(map[StreamKey]string, len(s.Snapshot.Streams))}
	for _, st := range s.Snapshot.Streams {
		if st.Publish.Active {
			r.live[StreamKey{Server: s.Name, Vhost: st.VhostName, App: st.App, Stream: st.Name}] = st.Publish.CID
		}
	}
	return r
}

// SRSState is what the agent knows of SRS: each server's last reading,
// on_publish hints not listed yet, on_unpublish marks, the publish queries
// learned from hooks and from the agent's own inputs, and the desired state
// computed from all of them. The engine's loop records readings, the hook
// handler records hints and marks, room workers read; one lock guards it.
type SRSState struct {
	mu       sync.Mutex
	servers  []SRSServer
	hintTTL  time.Duration
	log      *slog.Logger
	readings map[string]*srsReading
	serverOf map[string]string // SRS server_id -> configured name
	hints    map[StreamKey]Hint
	// hintRooms: where each hinted stream goes, resolved at hook time.
	hintRooms map[StreamKey]*DesiredInput
	unpub     map[StreamKey]time.Time // on_unpublish hooks newer than the listing
	unpubSeen map[StreamKey]time.Time // on_unpublish hooks, kept while the agent has an input for them
	params    map[string]string       // publisher client id -> param
	keyParam  map[StreamKey]string    // param recorded in owned inputs
	desired   *Desired
	waitSRS   map[string]bool // rooms waiting for a fresher reading
}

func newSRSState(servers []SRSServer, hintTTL time.Duration, log *slog.Logger) *SRSState {
	return &SRSState{servers: servers, hintTTL: hintTTL, log: log, readings: map[string]*srsReading{}, serverOf: map[string]string{},
		hints: map[StreamKey]Hint{}, hintRooms: map[StreamKey]*DesiredInput{}, unpub: map[StreamKey]time.Time{},
		unpubSeen: map[StreamKey]time.Time{}, params: map[string]string{}, keyParam: map[StreamKey]string{},
		desired: &Desired{Rooms: map[string]*DesiredRoom{}, ByKey: map[StreamKey]string{}}, waitSRS: map[string]bool{}}
}

// Record stores the readings of a listing begun at `at` (the servers that
// failed keep their last good reading, marked failed), drops the hints and
// marks the readings settle, and recomputes the desired state. It reports
// whether a server restarted (new service id).
func (s *SRSState) Record(srcs []Source, failed map[string]error, at time.Time, pol *policy.Policy) (restarted bool, d *Desired) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string]bool{}
	for _, src := range srcs {
		got[src.Name] = true
		prev := s.readings[src.Name]
		if prev != nil && prev.src.Snapshot.ServiceID != "" && prev.src.Snapshot.ServiceID != src.Snapshot.ServiceID {
			s.log.Warn("SRS restarted: new service id; resyncing everything", "srs", src.Name,
				"old_service_id", prev.src.Snapshot.ServiceID, "service_id", src.Snapshot.ServiceID)
			restarted = true
		}
		s.readings[src.Name] = newReading(src, at)
		if src.Snapshot.ServerID != "" {
			s.serverOf[src.Snapshot.ServerID] = src.Name
		}
	}
	for _, sv := range s.servers {
		if got[sv.Name] {
			continue
		}
		err := failed[sv.Name]
		s.log.Warn("SRS listing failed; creating and patching from the last good reading, deleting nothing", "srs", sv.Name, "err", err)
		if r := s.readings[sv.Name]; r != nil {
			r.ok, r.err = false, err
		} else {
			s.readings[sv.Name] = &srsReading{ok: false, err: err}
		}
	}
	s.pruneLocked(at)
	return restarted, s.recomputeLocked(pol)
}

// pruneLocked drops hints SRS now lists (or never listed within their
// TTL), unpublish marks older than the readings, and forgotten publishers'
// queries.
func (s *SRSState) pruneLocked(now time.Time) {
	for k, h := range s.hints {
		r := s.readings[k.Server]
		listedAfter := r != nil && r.ok && r.at.After(h.At)
		if _, listed := s.liveLocked(k); listed && listedAfter {
			delete(s.hints, k)
			delete(s.hintRooms, k)
			continue
		}
		if now.Sub(h.At) > s.hintTTL && listedAfter {
			s.log.Info("on_publish hint expired: SRS never listed the stream as published", "stream", k.String())
			if in := s.hintRooms[k]; in != nil {
				s.waitSRS[in.Room] = true
			}
			delete(s.hints, k)
			delete(s.hintRooms, k)
		}
	}
	for k, at := range s.unpub {
		if r := s.readings[k.Server]; r != nil && r.ok && r.at.After(at) {
			delete(s.unpub, k)
		}
	}
	live := map[string]bool{}
	for _, r := range s.readings {
		for _, st := range r.src.Snapshot.Streams {
			live[st.Publish.CID] = true
		}
	}
	for _, h := range s.hints {
		live[h.ClientID] = true
	}
	for cid := range s.params {
		if !live[cid] {
			delete(s.params, cid)
		}
	}
}

// Recompute recomputes the desired state under pol (a policy reload).
func (s *SRSState) Recompute(pol *policy.Policy) *Desired {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recomputeLocked(pol)
}

func (s *SRSState) recomputeLocked(pol *policy.Policy) *Desired {
	var srcs []Source
	for _, sv := range s.servers {
		if r := s.readings[sv.Name]; r != nil {
			srcs = append(srcs, r.src)
		}
	}
	var hints []Hint
	for _, h := range s.hints {
		hints = append(hints, h)
	}
	s.desired = ComputeDesired(DesiredInputs{Policy: pol, Sources: srcs, Hints: hints,
		ParamOf: func(k StreamKey, cid string) string {
			if p, ok := s.params[cid]; ok {
				return p
			}
			return s.keyParam[k]
		}})
	return s.desired
}

func (s *SRSState) liveLocked(k StreamKey) (string, bool) {
	r := s.readings[k.Server]
	if r == nil {
		return "", false
	}
	cid, ok := r.live[k]
	return cid, ok
}

// Live reports whether SRS lists k as actively published.
func (s *SRSState) Live(k StreamKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.liveLocked(k)
	return ok
}

// SnapshotAt is when the oldest current reading began; zero when some
// server was never read (no reading to measure a grace against).
func (s *SRSState) SnapshotAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var at time.Time
	for _, sv := range s.servers {
		r := s.readings[sv.Name]
		if r == nil || r.at.IsZero() {
			return time.Time{}
		}
		if at.IsZero() || r.at.Before(at) {
			at = r.at
		}
	}
	return at
}

// Complete reports whether every server's last listing succeeded, and
// which one did not.
func (s *SRSState) Complete() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.servers {
		if r := s.readings[sv.Name]; r == nil || !r.ok {
			return false, fmt.Sprintf("the SRS listing of %q failed or is incomplete", sv.Name)
		}
	}
	return true, ""
}

// NotReady says why SRS is not read yet, "" when every server is.
func (s *SRSState) NotReady() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.servers {
		r := s.readings[sv.Name]
		if r == nil {
			return fmt.Sprintf("SRS %q not listed yet", sv.Name)
		}
		if !r.ok {
			return fmt.Sprintf("SRS %q listing failed: %v", sv.Name, r.err)
		}
	}
	return ""
}

// Desired returns the desired state of the last computation (shared: do
// not change it).
func (s *SRSState) Desired() *Desired {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.desired
}

// DesiredByKey returns a copy of which room each desired stream goes to.
func (s *SRSState) DesiredByKey() map[StreamKey]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[StreamKey]string, len(s.desired.ByKey))
	for k, r := range s.desired.ByKey {
		out[k] = r
	}
	return out
}

// DesiredRoom is the room's desired state: the listed streams less those
// unpublished since, plus hinted streams not listed yet. Nil when nothing
// is routed there.
func (s *SRSState) DesiredRoom(name string, pol *policy.Policy, pullOf func(string) string) *DesiredRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.desired.Room(name)
	var out *DesiredRoom
	if base != nil {
		out = &DesiredRoom{Name: base.Name, Create: base.Create, Options: base.Options, Inputs: make(map[StreamKey]*DesiredInput, len(base.Inputs))}
		for k, in := range base.Inputs {
			if _, gone := s.unpub[k]; gone {
				continue
			}
			out.Inputs[k] = in
		}
	}
	for k, in := range s.hintRooms {
		if in.Room != name {
			continue
		}
		if _, listed := s.desired.ByKey[k]; listed {
			continue
		}
		if out == nil {
			h := s.hints[k]
			t, _ := pol.Resolve(policy.Input{Server: k.Server, PullBase: pullOf(k.Server), Vhost: k.Vhost, App: k.App, Stream: k.Stream, Param: srsapi.ParseParam(h.Param)})
			out = &DesiredRoom{Name: name, Create: t.Create, Options: t.RoomOptions, Inputs: map[StreamKey]*DesiredInput{}}
		}
		out.Inputs[k] = in
	}
	return out
}

// DesiredRoomOf says which room k belongs to now.
func (s *SRSState) DesiredRoomOf(k StreamKey) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, gone := s.unpub[k]; gone {
		return "", false
	}
	if r, ok := s.desired.ByKey[k]; ok {
		return r, true
	}
	if in, ok := s.hintRooms[k]; ok {
		return in.Room, true
	}
	return "", false
}

// Unpublished returns when an on_unpublish newer than the readings came for k.
func (s *SRSState) Unpublished(k StreamKey) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.unpub[k]
	return at, ok
}

// HintExpired reports whether a hinted input of d has outlived its TTL
// without SRS listing it; the room then waits for a fresher reading.
func (s *SRSState) HintExpired(d *DesiredRoom, now time.Time) bool {
	if d == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	expired := false
	for k, in := range d.Inputs {
		if h, ok := s.hints[k]; ok && in.Hint && now.Sub(h.At) > s.hintTTL {
			expired = true
		}
	}
	if expired {
		s.waitSRS[d.Name] = true
	}
	return expired
}

// WaitForReading marks room as waiting for the next SRS reading.
func (s *SRSState) WaitForReading(room string) {
	s.mu.Lock()
	s.waitSRS[room] = true
	s.mu.Unlock()
}

// TakeWaiting returns the rooms waiting for a fresher reading and forgets them.
func (s *SRSState) TakeWaiting() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.waitSRS))
	for r := range s.waitSRS {
		out = append(out, r)
	}
	s.waitSRS = map[string]bool{}
	return out
}

// LearnParams remembers the stored publish queries of owned inputs, so that
// query-matching routes stay stable across restarts: the agent's store
// (stored, may be nil) first, then the kept query of the attributes, then
// what pol keeps of a legacy attribute (written before issue 9).
func (s *SRSState) LearnParams(inputs []Input, stored func(StreamKey) (string, bool), pol *policy.Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range inputs {
		q := in.Param
		if stored != nil {
			if sq, ok := stored(in.Key); ok {
				q = sq
			}
		}
		if q == "" && in.legacyParam != "" {
			q = pol.StoredParam(in.legacyParam)
		}
		if q != "" {
			s.keyParam[in.Key] = q
		}
	}
}

// Forget drops the publish queries and unpublish confirmations of streams
// the agent no longer holds an input for (nothing grows without bound).
func (s *SRSState) Forget(held map[StreamKey]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.unpubSeen {
		if !held[k] {
			delete(s.unpubSeen, k)
		}
	}
	for k := range s.keyParam {
		if !held[k] {
			delete(s.keyParam, k)
		}
	}
}

// EmptyGuard returns the allow_empty rule for this cycle: when SRS lists no
// live stream at all while the agent owns more than one input, it holds
// every stop not confirmed by an on_unpublish hook. Nil when it does not apply.
func (s *SRSState) EmptyGuard(allowEmpty bool, owned int) func(Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if allowEmpty || s.desired.LiveStreams > 0 || owned < 2 {
		return nil
	}
	confirmed := make(map[StreamKey]bool, len(s.unpubSeen))
	for k := range s.unpubSeen {
		confirmed[k] = true
	}
	return func(op Op) bool { return !confirmed[op.key] }
}

// ServerFor maps a hook's server_id to a configured server, and reports
// whether that server's service id changed since its last reading (SRS
// restarted).
func (s *SRSState) ServerFor(serverID, serviceID string) (name string, restarted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.serverOf[serverID]
	if !ok && len(s.servers) > 0 {
		name = s.servers[0].Name
	}
	if r := s.readings[name]; r != nil && r.ok && serviceID != "" && r.src.Snapshot.ServiceID != "" && r.src.Snapshot.ServiceID != serviceID {
		restarted = true
	}
	return name, restarted
}

// Busy reports a second publisher for a live stream (SRS refuses it as
// busy, without an on_unpublish): its hook changes nothing.
func (s *SRSState) Busy(k StreamKey, clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cid, live := s.liveLocked(k)
	if !live || cid == "" || cid == clientID {
		return false
	}
	_, left := s.unpub[k]
	return !left
}

// Published records an on_publish hint for a stream routed to in.Room.
func (s *SRSState) Published(h Hint, in *DesiredInput) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[h.ClientID] = h.Param
	delete(s.unpub, h.Key)
	delete(s.unpubSeen, h.Key)
	s.hints[h.Key] = h
	s.hintRooms[h.Key] = in
}

// Unpublish records an on_unpublish at `at` and returns the rooms the
// stream was desired in.
func (s *SRSState) Unpublish(k StreamKey, at time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hints, k)
	delete(s.hintRooms, k)
	s.unpub[k] = at
	s.unpubSeen[k] = at
	if r, ok := s.desired.ByKey[k]; ok {
		return []string{r}
	}
	return nil
}
