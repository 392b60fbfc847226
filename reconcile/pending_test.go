package reconcile

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestPendingLifecycle(t *testing.T) {
	p := NewPending()
	a := key("a")
	now := t0()
	if p.InFlight("lobby", a, now) {
		t.Fatalf("InFlight on an empty registry")
	}
	p.Begin("lobby", a, "op-1", now)
	if !p.InFlight("lobby", a, now.Add(time.Hour)) {
		t.Errorf("a POST in progress must stay in flight however long it takes")
	}
	if p.InFlight("other", a, now) || p.InFlight("lobby", key("b"), now) {
		t.Errorf("InFlight leaks to another room or stream")
	}
	if p.Unresolved("lobby") {
		t.Errorf("Unresolved while the POST is merely in progress")
	}
	p.Done("lobby", a)
	if p.InFlight("lobby", a, now) {
		t.Errorf("InFlight after Done")
	}
}

func TestPendingUnknownExpires(t *testing.T) {
	p := NewPending()
	a := key("a")
	now := t0()
	p.Begin("lobby", a, "op-1", now)
	until := now.Add(95 * time.Second)
	p.Unknown("lobby", a, until)
	tests := []struct {
		at       time.Time
		inFlight bool
	}{
		{now, true},
		{until.Add(-time.Millisecond), true},
		{until, true},
		{until.Add(time.Millisecond), false},
		{now, false}, // expired entries are forgotten
	}
	if !p.Unresolved("lobby") {
		t.Errorf("Unresolved(lobby) = false for a POST of unknown outcome")
	}
	for i, tt := range tests {
		if got := p.InFlight("lobby", a, tt.at); got != tt.inFlight {
			t.Errorf("step %d: InFlight at %s = %v, want %v", i, tt.at.Sub(now), got, tt.inFlight)
		}
	}
	if p.Unresolved("lobby") {
		t.Errorf("Unresolved(lobby) after the entry expired")
	}
}

func TestPendingSeen(t *testing.T) {
	p := NewPending()
	now := t0()
	p.Begin("lobby", key("a"), "op-a", now)
	p.Unknown("lobby", key("a"), now.Add(time.Minute))
	p.Begin("lobby", key("b"), "op-b", now) // still in progress
	p.Begin("other", key("a"), "op-c", now)
	p.Unknown("other", key("a"), now.Add(time.Minute))
	if !p.Unresolved("lobby") || !p.Unresolved("other") || p.Unresolved("lob") {
		t.Fatalf("Unresolved = %v %v %v, want true true false", p.Unresolved("lobby"), p.Unresolved("other"), p.Unresolved("lob"))
	}

	p.Seen("lobby", []Input{owned("s1", "a"), owned("s2", "b")})
	if p.InFlight("lobby", key("a"), now) {
		t.Errorf("a listed stream whose POST outcome was unknown is still in flight")
	}
	if !p.InFlight("lobby", key("b"), now) {
		t.Errorf("Seen cleared a POST still in progress")
	}
	if !p.InFlight("other", key("a"), now) {
		t.Errorf("Seen in lobby cleared room other")
	}
	if p.Unresolved("lobby") {
		t.Errorf("Unresolved(lobby) after Seen")
	}
}

func TestPendingConcurrent(t *testing.T) {
	p := NewPending()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := fmt.Sprintf("room-%d", i%3)
			k := key(fmt.Sprint(i))
			for j := 0; j < 50; j++ {
				p.Begin(room, k, "op", t0())
				p.Unknown(room, k, t0().Add(time.Second))
				_ = p.Unresolved(room)
				p.Seen(room, []Input{{Key: k}})
				if p.InFlight(room, k, t0()) {
					t.Errorf("%s %s still in flight after Seen", room, k)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPendingRoomNamesWithSeparators(t *testing.T) {
	p := NewPending()
	now := t0()
	p.Begin("live|x", key("a"), "op", now)
	p.Unknown("live|x", key("a"), now.Add(time.Minute))
	if p.Unresolved("live") {
		t.Errorf(`Unresolved("live") is true for a POST in room "live|x"`)
	}
	if !p.Unresolved("live|x") {
		t.Errorf(`Unresolved("live|x") = false`)
	}
	if p.InFlight("live", key("a"), now) {
		t.Errorf(`InFlight in room "live" for a POST in room "live|x"`)
	}
}

// TestPendingRestoreSweepNext: held POSTs of an earlier run (restored from
// open intents) say when their room is due, are swept once their hold
// ran out or a listing showed them, and each resolution closes its intent
// exactly once.
func TestPendingRestoreSweepNext(t *testing.T) {
	p := NewPending()
	var resolved []string
	p.OnResolve = func(op string) { resolved = append(resolved, op) }
	now := t0()
	p.Restore("r", key("a"), "op-a", now, now.Add(4*time.Second))
	p.Restore("r", key("b"), "op-b", now, now.Add(2*time.Second))
	p.Restore("other", key("c"), "op-c", now, now.Add(time.Second))
	p.Begin("r", key("d"), "op-d", now) // in progress: no deadline of its own

	if d, ok := p.Next("r", now); !ok || d != 2*time.Second {
		t.Fatalf("Next(r) = %s, %v; want 2s (the earliest hold)", d, ok)
	}
	if d, ok := p.Next("r", now.Add(3*time.Second)); !ok || d != 0 {
		t.Fatalf("Next(r) at +3s = %s, %v; want 0 (b is due)", d, ok)
	}
	if d, ok := p.Next("r", now.Add(10*time.Second)); !ok || d != 0 {
		t.Fatalf("Next(r) after every hold = %s, %v; want 0, true (due now)", d, ok)
	}
	if _, ok := p.Next("none", now); ok {
		t.Fatalf("Next of a room without POSTs reports one")
	}
	if !p.InFlight("r", key("a"), now.Add(time.Second)) || !p.Unresolved("r") {
		t.Fatalf("a restored POST does not hold its stream")
	}
	p.Sweep("r", now.Add(3*time.Second)) // b ran out, a did not
	if p.InFlight("r", key("b"), now) {
		t.Errorf("b still held after its hold ran out and a sweep")
	}
	if !p.InFlight("r", key("a"), now.Add(3*time.Second)) {
		t.Errorf("the sweep dropped a, whose hold is not over")
	}
	if !p.InFlight("other", key("c"), now) {
		t.Errorf("a sweep of r touched another room")
	}
	if d, ok := p.Next("r", now.Add(3*time.Second)); !ok || d != time.Second {
		t.Errorf("Next(r) after the sweep = %s, %v; want 1s (a's hold)", d, ok)
	}
	p.Seen("r", []Input{{Key: key("a")}})
	if p.InFlight("r", key("a"), now) {
		t.Errorf("a listing showing a did not release it")
	}
	if got := fmt.Sprint(resolved); got != "[op-b op-a]" {
		t.Errorf("resolved %s, want [op-b op-a]", got)
	}
	if _, ok := p.Next("r", now); ok {
		t.Errorf("Next(r) with only an in-progress POST left reports a deadline")
	}
}
