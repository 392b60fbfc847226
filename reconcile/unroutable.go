package reconcile

import (
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// UnroutableStream is a published stream that a route would send to OWT
// but whose names cannot be put safely into a pull URL or a room name
// (see policy.NameProblem and the room name rules). SRS keeps it (its hook
// was answered 0); the agent keeps it out of OWT.
type UnroutableStream struct {
	Key    StreamKey `json:"stream"`
	Reason string    `json:"reason"`
	// Since is when the agent first saw the stream unroutable.
	Since time.Time `json:"since"`
}

// unroutableSet remembers the unroutable streams, logs each once (and again
// only if its reason changes) and counts them. Streams come from on_publish
// hooks (kept until their on_unpublish, or until SRS's listings stop
// showing them) and from each computation of the desired state.
type unroutableSet struct {
	mu     sync.Mutex
	log    *slog.Logger
	m      *Metrics
	ttl    time.Duration // how long a hook-only entry lives without a listing
	byKey  map[StreamKey]*unroutableEntry
	listed map[StreamKey]bool
}

type unroutableEntry struct {
	reason string
	since  time.Time
	hookAt time.Time // last on_publish that reported it (zero: listings only)
}

func newUnroutableSet(log *slog.Logger, m *Metrics, ttl time.Duration) *unroutableSet {
	return &unroutableSet{log: log, m: m, ttl: ttl, byKey: map[StreamKey]*unroutableEntry{}, listed: map[StreamKey]bool{}}
}

// add records one stream; it reports whether the stream (or its reason) is new.
func (u *unroutableSet) addLocked(k StreamKey, reason string, now time.Time) *unroutableEntry {
	e := u.byKey[k]
	if e != nil && e.reason == reason {
		return e
	}
	if e == nil {
		e = &unroutableEntry{since: now}
		u.byKey[k] = e
		if u.m != nil {
			u.m.UnroutableTotal.Inc()
		}
	}
	e.reason = reason
	u.log.Warn("stream accepted for SRS but kept out of OWT: it cannot be routed safely", "stream", clipKey(k), "reason", reason,
		"fix", "publish it under a name of plain URL characters, or match it with an ignore route")
	return e
}

// hook records an unroutable stream reported by an on_publish.
func (u *unroutableSet) hook(k StreamKey, reason string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.addLocked(k, reason, now).hookAt = now
	u.gaugeLocked()
}

// unpublished forgets a stream whose publisher left.
func (u *unroutableSet) unpublished(k StreamKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.byKey, k)
	delete(u.listed, k)
	u.gaugeLocked()
}

// listing replaces the streams found unroutable in SRS's listings; a
// stream known only from a hook stays for ttl after that hook.
func (u *unroutableSet) listing(set map[StreamKey]string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, reason := range set {
		u.addLocked(k, reason, now)
	}
	for k, e := range u.byKey {
		if _, ok := set[k]; ok {
			continue
		}
		if e.hookAt.IsZero() || now.Sub(e.hookAt) > u.ttl {
			delete(u.byKey, k)
		}
	}
	u.gaugeLocked()
}

func (u *unroutableSet) gaugeLocked() {
	if u.m != nil {
		u.m.PolicyErrors.Set(float64(len(u.byKey)))
	}
}

// snapshot returns the streams sorted by key.
func (u *unroutableSet) snapshot() []UnroutableStream {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]UnroutableStream, 0, len(u.byKey))
	for k, e := range u.byKey {
		out = append(out, UnroutableStream{Key: k, Reason: e.reason, Since: e.since})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// Unroutable returns the published streams the agent keeps out of OWT
// because their names cannot be routed safely, with the reason (for the
// status view). The metric srs_owt_proxy_unroutable_streams counts them and
// srs_owt_proxy_unroutable_total counts each one found.
func (e *Engine) Unroutable() []UnroutableStream { return e.unroutable.snapshot() }

// clipKey shortens a stream key for logs (SRS names reach 32 KB) and hides
// what follows a '?' in it: when a name holds raw UTF-8, SRS does not split
// the publish query off, and the name then carries it (a token, maybe).
func clipKey(k StreamKey) string { return clipTo(hideQuery(k.String()), 200) }

// hideQuery replaces what follows the first '?' with "...".
func hideQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?..."
	}
	return s
}

// clipTo cuts s to at most limit bytes, at a character boundary, marking
// the cut with "...".
func clipTo(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "..."
}

// idSet is a set of ids safe for concurrent use.
type idSet struct {
	mu sync.Mutex
	m  map[string]bool
}

// Add adds id and reports whether it was new.
func (s *idSet) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[id] {
		return false
	}
	if s.m == nil {
		s.m = map[string]bool{}
	}
	s.m[id] = true
	return true
}
