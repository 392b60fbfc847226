package agent

import (
	"context"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// tokenBucket is a rate limiter: rate tokens per second, up to burst saved.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) *tokenBucket {
	burst := max(1, float64(perSecond)/10)
	return &tokenBucket{rate: float64(perSecond), burst: burst, tokens: burst, last: time.Now()}
}

// wait takes one token, sleeping until one is available or ctx ends.
func (b *tokenBucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rateLimited is a reconcile.OWT that spends one token per request: the
// global rate limit toward OWT, shared by every worker.
type rateLimited struct {
	next reconcile.OWT
	b    *tokenBucket
}

// RateLimit wraps c so that all calls together stay under perSecond; 0 returns c.
func RateLimit(c reconcile.OWT, perSecond int) reconcile.OWT {
	if perSecond <= 0 {
		return c
	}
	return &rateLimited{next: c, b: newTokenBucket(perSecond)}
}

func (r *rateLimited) ListRooms(ctx context.Context) ([]owtapi.Room, error) {
	if err := r.b.wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListRooms(ctx)
}

func (r *rateLimited) CreateRoom(ctx context.Context, name string, options map[string]any) (owtapi.Room, error) {
	if err := r.b.wait(ctx); err != nil {
		return owtapi.Room{}, err
	}
	return r.next.CreateRoom(ctx, name, options)
}

func (r *rateLimited) DeleteRoom(ctx context.Context, room string) error {
	if err := r.b.wait(ctx); err != nil {
		return err
	}
	return r.next.DeleteRoom(ctx, room)
}

func (r *rateLimited) ListStreamsWithoutMedia(ctx context.Context, room string) ([]owtapi.Stream, error) {
	if err := r.b.wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListStreamsWithoutMedia(ctx, room)
}

func (r *rateLimited) GetStream(ctx context.Context, room, stream string) (owtapi.Stream, error) {
	if err := r.b.wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.GetStream(ctx, room, stream)
}

func (r *rateLimited) StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	if err := r.b.wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.StartStreamingIn(ctx, room, req)
}

func (r *rateLimited) StopStreamingIn(ctx context.Context, room, stream string) error {
	if err := r.b.wait(ctx); err != nil {
		return err
	}
	return r.next.StopStreamingIn(ctx, room, stream)
}

func (r *rateLimited) AddToView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := r.b.wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.AddToView(ctx, room, stream, view)
}

func (r *rateLimited) RemoveFromView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := r.b.wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.RemoveFromView(ctx, room, stream, view)
}

func (r *rateLimited) ListParticipants(ctx context.Context, room string) ([]owtapi.Participant, error) {
	if err := r.b.wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListParticipants(ctx, room)
}
