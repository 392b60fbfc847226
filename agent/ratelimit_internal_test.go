package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func TestNewLimiterBurst(t *testing.T) {
	for _, tc := range []struct {
		perSecond, burst int
	}{{100, 10}, {25, 2}, {10, 1}, {5, 1}, {1, 1}} {
		l := newLimiter(tc.perSecond)
		if l.Burst() != tc.burst || l.Limit() != rate.Limit(tc.perSecond) || l.Tokens() != float64(tc.burst) {
			t.Errorf("newLimiter(%d): burst %d limit %v tokens %v, want burst %d, full", tc.perSecond, l.Burst(), l.Limit(), l.Tokens(), tc.burst)
		}
	}
}

// A wait that is cancelled gives its token back: the next caller does not
// pay for it (the hand-written bucket kept it, and every cancelled wait
// delayed the requests after it).
func TestCancelledWaitGivesTheTokenBack(t *testing.T) {
	l := newLimiter(10) // one token, then one every 100ms
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		err := l.Wait(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && err == nil {
			t.Fatalf("wait %d got a token it should have waited 100ms for", i)
		}
	}
	// Five cancelled waits owe nothing: the bucket is refilling from 0,
	// not from -5.
	if tok := l.Tokens(); tok < -0.01 {
		t.Errorf("after cancelled waits the bucket holds %.2f tokens; they kept their reservations", tok)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if err := l.Wait(done); err == nil {
		t.Error("a done context got a token")
	}
}

func TestRateLimitOff(t *testing.T) {
	next := &countOWT{}
	for _, n := range []int{0, -1} {
		if got := RateLimit(next, n); got != next {
			t.Errorf("RateLimit(c, %d) wrapped c", n)
		}
	}
	if _, ok := RateLimit(next, 1).(*rateLimited); !ok {
		t.Error("RateLimit(c, 1) did not limit")
	}
}

// countOWT counts calls and answers each with a marker.
type countOWT struct{ calls []string }

var errNext = errors.New("from next")

func (c *countOWT) ListRooms(context.Context) ([]owtapi.Room, error) {
	c.calls = append(c.calls, "ListRooms")
	return []owtapi.Room{{ID: "r"}}, errNext
}
func (c *countOWT) CreateRoom(context.Context, string, map[string]any) (owtapi.Room, error) {
	c.calls = append(c.calls, "CreateRoom")
	return owtapi.Room{ID: "r"}, errNext
}
func (c *countOWT) DeleteRoom(context.Context, string) error {
	c.calls = append(c.calls, "DeleteRoom")
	return errNext
}
func (c *countOWT) ListStreamsWithoutMedia(context.Context, string) ([]owtapi.Stream, error) {
	c.calls = append(c.calls, "ListStreamsWithoutMedia")
	return []owtapi.Stream{{ID: "s"}}, errNext
}
func (c *countOWT) GetStream(context.Context, string, string) (owtapi.Stream, error) {
	c.calls = append(c.calls, "GetStream")
	return owtapi.Stream{ID: "s"}, errNext
}
func (c *countOWT) StartStreamingIn(context.Context, string, owtapi.StreamingInRequest) (owtapi.Stream, error) {
	c.calls = append(c.calls, "StartStreamingIn")
	return owtapi.Stream{ID: "s"}, errNext
}
func (c *countOWT) StopStreamingIn(context.Context, string, string) error {
	c.calls = append(c.calls, "StopStreamingIn")
	return errNext
}
func (c *countOWT) AddToView(context.Context, string, string, string) (owtapi.Stream, error) {
	c.calls = append(c.calls, "AddToView")
	return owtapi.Stream{ID: "s"}, errNext
}
func (c *countOWT) RemoveFromView(context.Context, string, string, string) (owtapi.Stream, error) {
	c.calls = append(c.calls, "RemoveFromView")
	return owtapi.Stream{ID: "s"}, errNext
}
func (c *countOWT) ListParticipants(context.Context, string) ([]owtapi.Participant, error) {
	c.calls = append(c.calls, "ListParticipants")
	return []owtapi.Participant{{ID: "p"}}, errNext
}

// Every call spends a token: with one, it reaches OWT and its answer comes
// back; without one and a done context, it never reaches OWT.
func TestRateLimitedCalls(t *testing.T) {
	calls := map[string]func(r *rateLimited, ctx context.Context) (any, error){
		"ListRooms":  func(r *rateLimited, ctx context.Context) (any, error) { return r.ListRooms(ctx) },
		"CreateRoom": func(r *rateLimited, ctx context.Context) (any, error) { return r.CreateRoom(ctx, "n", nil) },
		"DeleteRoom": func(r *rateLimited, ctx context.Context) (any, error) { return nil, r.DeleteRoom(ctx, "r") },
		"ListStreamsWithoutMedia": func(r *rateLimited, ctx context.Context) (any, error) {
			return r.ListStreamsWithoutMedia(ctx, "r")
		},
		"GetStream": func(r *rateLimited, ctx context.Context) (any, error) { return r.GetStream(ctx, "r", "s") },
		"StartStreamingIn": func(r *rateLimited, ctx context.Context) (any, error) {
			return r.StartStreamingIn(ctx, "r", owtapi.StreamingInRequest{})
		},
		"StopStreamingIn":  func(r *rateLimited, ctx context.Context) (any, error) { return nil, r.StopStreamingIn(ctx, "r", "s") },
		"AddToView":        func(r *rateLimited, ctx context.Context) (any, error) { return r.AddToView(ctx, "r", "s", "v") },
		"RemoveFromView":   func(r *rateLimited, ctx context.Context) (any, error) { return r.RemoveFromView(ctx, "r", "s", "v") },
		"ListParticipants": func(r *rateLimited, ctx context.Context) (any, error) { return r.ListParticipants(ctx, "r") },
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for name, call := range calls {
		next := &countOWT{}
		r := RateLimit(next, 1).(*rateLimited)
		if _, err := call(r, context.Background()); !errors.Is(err, errNext) {
			t.Errorf("%s with a token: err %v, want the answer of OWT", name, err)
		}
		if len(next.calls) != 1 || next.calls[0] != name {
			t.Errorf("%s with a token: calls %v", name, next.calls)
		}
		if _, err := call(r, done); !errors.Is(err, context.Canceled) {
			t.Errorf("%s without a token: err %v, want the context's", name, err)
		}
		if len(next.calls) != 1 {
			t.Errorf("%s without a token reached OWT: %v", name, next.calls)
		}
	}
}
