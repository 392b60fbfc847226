package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func TestNewTokenBucketBurst(t *testing.T) {
	for _, tc := range []struct {
		perSecond int
		burst     float64
	}{{100, 10}, {25, 2.5}, {10, 1}, {5, 1}, {1, 1}} {
		b := newTokenBucket(tc.perSecond)
		if b.burst != tc.burst || b.tokens != tc.burst || b.rate != float64(tc.perSecond) {
			t.Errorf("newTokenBucket(%d): burst %v tokens %v rate %v, want burst %v full", tc.perSecond, b.burst, b.tokens, b.rate, tc.burst)
		}
	}
}

// A token in the bucket is taken at once, even with a context that is
// already done; without one, a done context ends the wait.
func TestTokenBucketTakesAvailableToken(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ {
		b := newTokenBucket(10) // one token
		if err := b.wait(done); err != nil {
			t.Fatalf("try %d: a token was available but wait = %v", i, err)
		}
		if err := b.wait(done); !errors.Is(err, context.Canceled) {
			t.Fatalf("try %d: no token left and a done context: wait = %v", i, err)
		}
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
