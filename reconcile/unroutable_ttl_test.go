package reconcile

import (
	"testing"
	"time"
)

// A hooked unroutable stream no listing shows stays for exactly the hint
// TTL after its hook: still there at the TTL, gone just after.
func TestUnroutableTTLBoundary(t *testing.T) {
	te := newTestEngine(t, nil)
	ttl := 10 * time.Second
	u := newUnroutableSet(te.log, NewMetrics(nil), ttl)
	now := t0()
	u.hook(key("b"), "why", now)
	u.listing(map[StreamKey]string{}, now.Add(ttl))
	if got := u.snapshot(); len(got) != 1 {
		t.Fatalf("at the TTL: %+v, want the stream kept", got)
	}
	u.listing(map[StreamKey]string{}, now.Add(ttl+time.Nanosecond))
	if got := u.snapshot(); len(got) != 0 {
		t.Errorf("just after the TTL: %+v, want it gone", got)
	}
}
