package reconcile

import (
	"sync"
	"time"
)

// Pending remembers streaming-in POSTs whose outcome is not known yet: in
// progress, or failed in a way that may still have created the stream on
// OWT (timeout, dropped connection). OWT hides a streaming-in from its list
// until it connects, so while an entry lives the planner must not start the
// same stream again; a listing that shows the stream clears it.
type Pending struct {
	mu sync.Mutex
	m  map[pendingID]pendingEntry
	// OnResolve, if set, is told the op id of every POST of unknown outcome
	// that a listing or the end of its hold resolved (to close its intent).
	OnResolve func(op string)
}

// pendingID names one stream in one room. A struct, not a joined string:
// room names may contain any separator.
type pendingID struct {
	room string
	key  StreamKey
}

type pendingEntry struct {
	op      string
	started time.Time
	until   time.Time // zero while the POST is in progress
}

// NewPending returns an empty registry.
func NewPending() *Pending { return &Pending{m: map[pendingID]pendingEntry{}} }

func pendingKey(room string, k StreamKey) pendingID { return pendingID{room: room, key: k} }

// Begin records a POST about to be sent.
func (p *Pending) Begin(room string, k StreamKey, op string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[pendingKey(room, k)] = pendingEntry{op: op, started: now}
}

// Done forgets a POST whose outcome is known (success, or a definite failure).
func (p *Pending) Done(room string, k StreamKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, pendingKey(room, k))
}

// Unknown keeps the entry until the stream shows up in a listing or until
// `until`, after which its absence means the POST failed.
func (p *Pending) Unknown(room string, k StreamKey, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.m[pendingKey(room, k)]
	e.until = until
	p.m[pendingKey(room, k)] = e
}

// Restore re-creates the entry of a POST of unknown outcome made before a
// restart (an open intent): it holds until `until`, or until a listing
// shows the stream.
func (p *Pending) Restore(room string, k StreamKey, op string, started, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[pendingKey(room, k)] = pendingEntry{op: op, started: started, until: until}
}

// InFlight reports whether a start of k in room must wait.
func (p *Pending) InFlight(room string, k StreamKey, now time.Time) bool {
	p.mu.Lock()
	e, ok := p.m[pendingKey(room, k)]
	if !ok {
		p.mu.Unlock()
		return false
	}
	if !e.until.IsZero() && now.After(e.until) {
		delete(p.m, pendingKey(room, k))
		p.mu.Unlock()
		p.resolved(e.op)
		return false
	}
	p.mu.Unlock()
	return true
}

// Waiting reports whether room has a POST that holds a start now.
func (p *Pending) Waiting(room string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.m {
		if id.room == room && (e.until.IsZero() || !now.After(e.until)) {
			return true
		}
	}
	return false
}

func (p *Pending) resolved(op string) {
	if p.OnResolve != nil && op != "" {
		p.OnResolve(op)
	}
}

// Unresolved reports whether room has any POST of unknown outcome.
func (p *Pending) Unresolved(room string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.m {
		if id.room == room && !e.until.IsZero() {
			return true
		}
	}
	return false
}

// Seen clears entries of room whose stream a fresh listing shows.
func (p *Pending) Seen(room string, inputs []Input) {
	var ops []string
	p.mu.Lock()
	for _, in := range inputs {
		k := pendingKey(room, in.Key)
		if e, ok := p.m[k]; ok && !e.until.IsZero() {
			delete(p.m, k)
			ops = append(ops, e.op)
		}
	}
	p.mu.Unlock()
	for _, op := range ops {
		p.resolved(op)
	}
}

// Sweep drops the entries of room whose hold ran out (resolving their
// intents): their POSTs did not create the stream in time, so it may be
// started again. Entries of streams no longer desired end here too.
func (p *Pending) Sweep(room string, now time.Time) {
	var ops []string
	p.mu.Lock()
	for id, e := range p.m {
		if id.room == room && !e.until.IsZero() && now.After(e.until) {
			delete(p.m, id)
			ops = append(ops, e.op)
		}
	}
	p.mu.Unlock()
	for _, op := range ops {
		p.resolved(op)
	}
}

// Next says when room must be looked at again for its POSTs of unknown
// outcome: when the earliest hold runs out; ok is false when it has none.
func (p *Pending) Next(room string, now time.Time) (d time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.m {
		if id.room != room || e.until.IsZero() {
			continue
		}
		if left := max(0, e.until.Sub(now)); !ok || left < d {
			d, ok = left, true
		}
	}
	return d, ok
}
