package reconcile_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// blockingStart holds every streaming-in POST until its context ends.
type blockingStart struct {
	reconcile.OWT
	entered chan struct{}
	ended   chan error
}

func (b *blockingStart) StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	b.entered <- struct{}{}
	<-ctx.Done()
	b.ended <- ctx.Err()
	return owtapi.Stream{}, ctx.Err()
}

// Losing the leadership drops the operations in flight at once (Abort);
// a plain shutdown lets them finish (Run without Abort).
func TestAbortDropsOperationsInFlight(t *testing.T) {
	abort := make(chan struct{})
	b := &blockingStart{entered: make(chan struct{}, 16), ended: make(chan error, 16)}
	r := newRig(t, rigOpts{policy: slowResync, abort: abort, wrap: func(o reconcile.OWT) reconcile.OWT { b.OWT = o; return b }})
	r.publish("live", "cam1", "")
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no streaming-in POST started")
	}
	select {
	case err := <-b.ended:
		t.Fatalf("the POST ended before the abort: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(abort)
	select {
	case err := <-b.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the POST ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the POST in flight was not dropped when the engine was aborted")
	}
}

// Heartbeat goes round with the resync loop.
func TestHeartbeat(t *testing.T) {
	before := time.Now()
	r := newRig(t, rigOpts{policy: slowResync})
	var last time.Time
	deadline := time.Now().Add(5 * time.Second)
	for last.IsZero() && time.Now().Before(deadline) {
		last, _ = r.engine.Heartbeat()
		time.Sleep(5 * time.Millisecond)
	}
	_, interval := r.engine.Heartbeat()
	if last.Before(before) || interval <= 0 {
		t.Fatalf("heartbeat %v (started %v), interval %v", last, before, interval)
	}
}
