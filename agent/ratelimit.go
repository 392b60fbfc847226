package agent

import (
	"context"

	"golang.org/x/time/rate"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// newLimiter is the limiter of perSecond requests: a burst of a tenth of
// a second's worth (at least one). A wait that is cancelled gives its
// reservation back (golang.org/x/time/rate).
func newLimiter(perSecond int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), max(1, perSecond/10))
}

// rateLimited is a reconcile.OWT that spends one token per request: the
// global rate limit toward OWT, shared by every worker.
type rateLimited struct {
	next reconcile.OWT
	b    *rate.Limiter
}

// RateLimit wraps c so that all calls together stay under perSecond; 0 returns c.
func RateLimit(c reconcile.OWT, perSecond int) reconcile.OWT {
	if perSecond <= 0 {
		return c
	}
	return &rateLimited{next: c, b: newLimiter(perSecond)}
}

func (r *rateLimited) ListRooms(ctx context.Context) ([]owtapi.Room, error) {
	if err := r.b.Wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListRooms(ctx)
}

func (r *rateLimited) CreateRoom(ctx context.Context, name string, options map[string]any) (owtapi.Room, error) {
	if err := r.b.Wait(ctx); err != nil {
		return owtapi.Room{}, err
	}
	return r.next.CreateRoom(ctx, name, options)
}

func (r *rateLimited) DeleteRoom(ctx context.Context, room string) error {
	if err := r.b.Wait(ctx); err != nil {
		return err
	}
	return r.next.DeleteRoom(ctx, room)
}

func (r *rateLimited) ListStreamsWithoutMedia(ctx context.Context, room string) ([]owtapi.Stream, error) {
	if err := r.b.Wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListStreamsWithoutMedia(ctx, room)
}

func (r *rateLimited) GetStream(ctx context.Context, room, stream string) (owtapi.Stream, error) {
	if err := r.b.Wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.GetStream(ctx, room, stream)
}

func (r *rateLimited) StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	if err := r.b.Wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.StartStreamingIn(ctx, room, req)
}

func (r *rateLimited) StopStreamingIn(ctx context.Context, room, stream string) error {
	if err := r.b.Wait(ctx); err != nil {
		return err
	}
	return r.next.StopStreamingIn(ctx, room, stream)
}

func (r *rateLimited) AddToView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := r.b.Wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.AddToView(ctx, room, stream, view)
}

func (r *rateLimited) RemoveFromView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := r.b.Wait(ctx); err != nil {
		return owtapi.Stream{}, err
	}
	return r.next.RemoveFromView(ctx, room, stream, view)
}

func (r *rateLimited) ListParticipants(ctx context.Context, room string) ([]owtapi.Participant, error) {
	if err := r.b.Wait(ctx); err != nil {
		return nil, err
	}
	return r.next.ListParticipants(ctx, room)
}
