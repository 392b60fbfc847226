package agent

import (
	"context"
	"errors"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// errNoOutputs is returned by the output calls of a rate limiter whose OWT
// client has none.
var errNoOutputs = errors.New("owt: this client has no streaming-out and recording calls")

// outputs returns the wrapped client's output calls.
func (r *rateLimited) outputs() (reconcile.OutputOWT, error) {
	oo, ok := r.next.(reconcile.OutputOWT)
	if !ok {
		return nil, errNoOutputs
	}
	return oo, nil
}

// ListStreamingOuts spends a token, then lists a room's streaming-outs.
func (r *rateLimited) ListStreamingOuts(ctx context.Context, room string) ([]owtapi.StreamingOut, error) {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return nil, err
	}
	return oo.ListStreamingOuts(ctx, room)
}

// StartStreamingOut spends a token, then starts a streaming-out.
func (r *rateLimited) StartStreamingOut(ctx context.Context, room string, req owtapi.StreamingOutRequest) (owtapi.StreamingOut, error) {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return owtapi.StreamingOut{}, err
	}
	return oo.StartStreamingOut(ctx, room, req)
}

// StopStreamingOut spends a token, then stops a streaming-out.
func (r *rateLimited) StopStreamingOut(ctx context.Context, room, id string) error {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return err
	}
	return oo.StopStreamingOut(ctx, room, id)
}

// ListRecordings spends a token, then lists a room's recordings.
func (r *rateLimited) ListRecordings(ctx context.Context, room string) ([]owtapi.Recording, error) {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return nil, err
	}
	return oo.ListRecordings(ctx, room)
}

// StartRecording spends a token, then starts a recording.
func (r *rateLimited) StartRecording(ctx context.Context, room string, req owtapi.RecordingRequest) (owtapi.Recording, error) {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return owtapi.Recording{}, err
	}
	return oo.StartRecording(ctx, room, req)
}

// StopRecording spends a token, then stops a recording.
func (r *rateLimited) StopRecording(ctx context.Context, room, id string) error {
	oo, err := r.outputs()
	if err == nil {
		err = r.b.Wait(ctx)
	}
	if err != nil {
		return err
	}
	return oo.StopRecording(ctx, room, id)
}
