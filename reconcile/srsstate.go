package reconcile

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// waitSRS: rooms waiting for the next good reading of a server (room
	// -> servers).
	waitSRS map[string]map[string]bool
	// perServer: each server's copy of a stream is its own input
	// (reconcile.one_input_per: server); else one input per vhost/app/stream.
	perServer bool
	// owned: streams the agent holds an input for (the server a stream is
	// pulled from stays while it still lists the stream).
	owned map[StreamKey]bool
	// parked: hooks from a server not identified yet, kept without any OWT
	// write until a reading tells which configured server sent them.
	parked   []parkedHook
	resolved []ResolvedHook
	// hintIdent: which hinted key stands for a stream hinted by several
	// servers (one input per stream): the first one used.
	hintIdent map[StreamKey]StreamKey
}

// parkedHook is a hook whose server is not known yet.
type parkedHook struct {
	hook srsapi.Hook
	at   time.Time
}

// ResolvedHook is a parked hook whose server a reading identified.
type ResolvedHook struct {
	Hook   srsapi.Hook
	Server string
	At     time.Time
}

// maxParked bounds the hooks kept for unidentified servers.
const maxParked = 4096

// ServerReading is what the agent knows of one server's last listing.
type ServerReading struct {
	// At is when the last good listing began (zero: never read).
	At time.Time
	// OK: the last listing succeeded; when false Why says what failed.
	OK  bool
	Why string
	// Live counts the streams it lists as published.
	Live int
}

func newSRSState(servers []SRSServer, hintTTL time.Duration, log *slog.Logger) *SRSState {
	return &SRSState{servers: servers, hintTTL: hintTTL, log: log, readings: map[string]*srsReading{}, serverOf: map[string]string{},
		hints: map[StreamKey]Hint{}, hintRooms: map[StreamKey]*DesiredInput{}, unpub: map[StreamKey]time.Time{},
		unpubSeen: map[StreamKey]time.Time{}, params: map[string]string{}, keyParam: map[StreamKey]string{},
		desired: &Desired{Rooms: map[string]*DesiredRoom{}, ByKey: map[StreamKey]string{}, ByIdent: map[StreamKey]StreamKey{}},
		waitSRS: map[string]map[string]bool{}, owned: map[StreamKey]bool{}, hintIdent: map[StreamKey]StreamKey{}}
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
	s.unparkLocked(at)
	for _, sv := range s.servers {
		if got[sv.Name] {
			continue
		}
		err := failed[sv.Name]
		s.log.Warn("SRS listing failed; creating and patching from its last good reading, deleting none of its streams", "srs", sv.Name, "err", err)
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
			s.dropHintLocked(k)
			continue
		}
		if now.Sub(h.At) > s.hintTTL && listedAfter {
			if _, elsewhere := s.desired.ByIdent[s.identLocked(k)]; elsewhere && !s.perServer {
				// An edge's hook: the origin lists the stream.
				s.dropHintLocked(k)
				continue
			}
			s.log.Info("on_publish hint expired: SRS never listed the stream as published", "stream", k.String())
			if in := s.hintRooms[k]; in != nil {
				s.waitLocked(in.Room, k.Server)
			}
			s.dropHintLocked(k)
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
	if perServer := pol != nil && pol.Reconcile.PerServer(); perServer != s.perServer {
		s.perServer = perServer
		s.hintIdent = map[StreamKey]StreamKey{}
	}
	s.desired = ComputeDesired(DesiredInputs{Policy: pol, Sources: srcs, Hints: hints,
		ParamOf: func(k StreamKey, cid string) string {
			if p, ok := s.params[cid]; ok {
				return p
			}
			return s.keyParam[k]
		},
		Held: func(k StreamKey) bool { return s.owned[k] }})
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

// Reading returns what the agent knows of server's last listing.
func (s *SRSState) Reading(server string) ServerReading {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.readings[server]
	switch {
	case r == nil:
		return ServerReading{Why: fmt.Sprintf("SRS %q not listed yet", server)}
	case !r.ok:
		return ServerReading{At: r.at, Why: "incomplete listing: " + serverErr(server, r.err), Live: len(r.live)}
	}
	return ServerReading{At: r.at, OK: true, Live: len(r.live)}
}

// serverErr renders a listing error of server naming the server once.
func serverErr(server string, err error) string {
	prefix := fmt.Sprintf("srs %q: ", server)
	if err == nil {
		return prefix + "listing failed"
	}
	msg := err.Error()
	var se *srsapi.Error
	if (errors.As(err, &se) && se.Server == server) || strings.HasPrefix(msg, prefix) {
		return msg
	}
	return prefix + msg
}

// Ident is what makes k one stream: k itself when each server's copy is
// its own input, else k without its server.
func (s *SRSState) Ident(k StreamKey) StreamKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identLocked(k)
}

func (s *SRSState) identLocked(k StreamKey) StreamKey {
	if s.perServer {
		return k
	}
	return StreamKey{Vhost: k.Vhost, App: k.App, Stream: k.Stream}
}

// Chosen returns the key the desired state pulls k's stream by (the server
// chosen among those listing it), or k when nothing wants it.
func (s *SRSState) Chosen(k StreamKey) StreamKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chosenLocked(k)
}

func (s *SRSState) chosenLocked(k StreamKey) StreamKey {
	if _, ok := s.desired.ByKey[k]; ok {
		return k
	}
	if c, ok := s.desired.ByIdent[s.identLocked(k)]; ok {
		return c
	}
	if c, ok := s.hintIdent[s.identLocked(k)]; ok {
		return c
	}
	return k
}

// hintUsedLocked reports whether the hint of k stands for its stream: no
// server lists the stream, and no other server's hint stands for it.
func (s *SRSState) hintUsedLocked(k StreamKey) bool {
	if _, listed := s.desired.ByKey[k]; listed {
		return false
	}
	id := s.identLocked(k)
	if _, listed := s.desired.ByIdent[id]; listed {
		return false
	}
	if c, ok := s.hintIdent[id]; ok && c != k {
		if _, live := s.hints[c]; live {
			return false
		}
	}
	s.hintIdent[id] = k
	return true
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
			return "SRS listing failed: " + serverErr(sv.Name, r.err)
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
		out = &DesiredRoom{Name: base.Name, Create: base.Create, Options: base.Options, Inputs: make(map[StreamKey]*DesiredInput, len(base.Inputs)),
			Outputs: base.Outputs}
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
		if !s.hintUsedLocked(k) {
			continue
		}
		if out == nil {
			h := s.hints[k]
			t, _ := pol.Resolve(policy.Input{Server: k.Server, PullBase: pullOf(k.Server), Vhost: k.Vhost, App: k.App, Stream: k.Stream, Param: srsapi.ParseParam(h.Param)})
			out = &DesiredRoom{Name: name, Create: t.Create, Options: t.RoomOptions, Inputs: map[StreamKey]*DesiredInput{}, Outputs: t.Outputs}
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
	// Another server's copy of the same stream is the one pulled now.
	if c := s.chosenLocked(k); c != k {
		if _, gone := s.unpub[c]; gone {
			return "", false
		}
		if r, ok := s.desired.ByKey[c]; ok {
			return r, true
		}
		if in, ok := s.hintRooms[c]; ok {
			return in.Room, true
		}
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
			s.waitLocked(d.Name, k.Server)
		}
	}
	return expired
}

// WaitForReading marks room as waiting for the next good reading of server.
func (s *SRSState) WaitForReading(room, server string) {
	s.mu.Lock()
	s.waitLocked(room, server)
	s.mu.Unlock()
}

func (s *SRSState) waitLocked(room, server string) {
	w := s.waitSRS[room]
	if w == nil {
		w = map[string]bool{}
		s.waitSRS[room] = w
	}
	w[server] = true
}

// TakeWaiting returns the rooms waiting for a reading of one of the servers
// just read well, and forgets them; a room waiting on a server whose
// reading failed keeps waiting (no re-plan until that server answers).
func (s *SRSState) TakeWaiting(read map[string]bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.waitSRS))
	for r, servers := range s.waitSRS {
		for sv := range servers {
			if read[sv] {
				out = append(out, r)
				delete(s.waitSRS, r)
				break
			}
		}
	}
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
		s.owned[in.Key] = true
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
	for k := range s.owned {
		if !held[k] {
			delete(s.owned, k)
		}
	}
}

// EmptyGuard returns the allow_empty rule for this cycle, server by server:
// when a server lists no live stream at all while the agent owns more than
// one input pulled from it (owned, by server), it holds every stop of that
// server's streams not confirmed by an on_unpublish hook. Nil when it
// applies to no server.
func (s *SRSState) EmptyGuard(allowEmpty bool, owned map[string]int) func(Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if allowEmpty {
		return nil
	}
	empty := map[string]bool{}
	for sv, n := range owned {
		if r := s.readings[sv]; n >= 2 && r != nil && r.ok && len(r.live) == 0 {
			empty[sv] = true
		}
	}
	if len(empty) == 0 {
		return nil
	}
	confirmed := make(map[StreamKey]bool, len(s.unpubSeen))
	for k := range s.unpubSeen {
		confirmed[k] = true
	}
	return func(op Op) bool { return empty[op.key.Server] && !confirmed[op.key] }
}

// ServerFor says which configured server sent a hook, never guessing: the
// server whose API answered with this server_id; else the server the hook
// URL names (?server=<name>); else the only configured server while its id
// is not known. "" when it cannot tell (the hook is then parked). It also
// reports whether that server's service id changed since its last reading
// (SRS restarted), and a conflict between the named server and the one
// its API says it is.
func (s *SRSState) ServerFor(serverID, serviceID, named string) (name string, restarted bool, conflict string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	known, ok := s.serverOf[serverID]
	switch {
	case ok && serverID != "":
		name = known
		if named != "" && named != known {
			conflict = fmt.Sprintf("the hook URL names SRS %q but server_id %s is %q by its API; using %q (fix ?server= in that server's hook URLs)", named, serverID, known, known)
		}
	case named != "":
		if !s.configuredLocked(named) {
			return "", false, fmt.Sprintf("the hook URL names SRS %q, which agent.yaml does not configure", named)
		}
		name = named
	case len(s.servers) == 1:
		// Nothing to choose from: the only server's pull base is the one.
		name = s.servers[0].Name
	default:
		return "", false, ""
	}
	if r := s.readings[name]; r != nil && r.ok && serviceID != "" && r.src.Snapshot.ServiceID != "" && r.src.Snapshot.ServiceID != serviceID {
		restarted = true
	}
	return name, restarted, conflict
}

func (s *SRSState) configuredLocked(name string) bool {
	for _, sv := range s.servers {
		if sv.Name == name {
			return true
		}
	}
	return false
}

// Park keeps a hook from a server not identified yet; it is handed back by
// TakeResolved once a reading tells its server, or dropped after the hint
// TTL. It reports false when too many hooks are parked already.
func (s *SRSState) Park(h srsapi.Hook, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.parked) >= maxParked {
		return false
	}
	s.parked = append(s.parked, parkedHook{hook: h, at: at})
	return true
}

// unparkLocked moves the parked hooks whose server_id a reading made known
// to the resolved list, and drops those older than the hint TTL.
func (s *SRSState) unparkLocked(now time.Time) {
	keep := s.parked[:0]
	for _, p := range s.parked {
		if name, ok := s.serverOf[p.hook.ServerID]; ok && p.hook.ServerID != "" {
			s.resolved = append(s.resolved, ResolvedHook{Hook: p.hook, Server: name, At: p.at})
			continue
		}
		if now.Sub(p.at) > s.hintTTL {
			s.log.Warn("hook from an SRS server never identified dropped: no configured server's API answered with its server_id; "+
				"add ?server=<name> to that server's hook URLs", "server_id", p.hook.ServerID, "action", p.hook.Action,
				"stream", p.hook.Key().String())
			continue
		}
		keep = append(keep, p)
	}
	s.parked = keep
}

// TakeResolved returns the parked hooks whose server is now known, and
// forgets them.
func (s *SRSState) TakeResolved() []ResolvedHook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.resolved
	s.resolved = nil
	return out
}

func (s *SRSState) dropHintLocked(k StreamKey) {
	delete(s.hints, k)
	delete(s.hintRooms, k)
	if id := s.identLocked(k); s.hintIdent[id] == k {
		delete(s.hintIdent, id)
	}
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
	s.dropHintLocked(k)
	s.unpub[k] = at
	s.unpubSeen[k] = at
	if r, ok := s.desired.ByKey[k]; ok {
		return []string{r}
	}
	return nil
}
