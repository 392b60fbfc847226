package agent

import (
	"context"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// fenced is the OWT client of one leadership term: every write first asks
// the term's fence, so a replica that lost its lease (or was paused past
// it) sends nothing to OWT, even before it has noticed the loss. Reads go
// through: they change nothing.
type fenced struct {
	next  reconcile.OWT
	fence func() error
}

// Fence wraps c so that its writes pass only while fence returns nil; a
// nil fence returns c.
func Fence(c reconcile.OWT, fence func() error) reconcile.OWT {
	if fence == nil {
		return c
	}
	return &fenced{next: c, fence: fence}
}

func (f *fenced) ListRooms(ctx context.Context) ([]owtapi.Room, error) { return f.next.ListRooms(ctx) }

func (f *fenced) CreateRoom(ctx context.Context, name string, options map[string]any) (owtapi.Room, error) {
	if err := f.fence(); err != nil {
		return owtapi.Room{}, err
	}
	return f.next.CreateRoom(ctx, name, options)
}

func (f *fenced) DeleteRoom(ctx context.Context, room string) error {
	if err := f.fence(); err != nil {
		return err
	}
	return f.next.DeleteRoom(ctx, room)
}

func (f *fenced) ListStreamsWithoutMedia(ctx context.Context, room string) ([]owtapi.Stream, error) {
	return f.next.ListStreamsWithoutMedia(ctx, room)
}

func (f *fenced) GetStream(ctx context.Context, room, stream string) (owtapi.Stream, error) {
	return f.next.GetStream(ctx, room, stream)
}

func (f *fenced) StartStreamingIn(ctx context.Context, room string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
	if err := f.fence(); err != nil {
		return owtapi.Stream{}, err
	}
	return f.next.StartStreamingIn(ctx, room, req)
}

func (f *fenced) StopStreamingIn(ctx context.Context, room, stream string) error {
	if err := f.fence(); err != nil {
		return err
	}
	return f.next.StopStreamingIn(ctx, room, stream)
}

func (f *fenced) AddToView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := f.fence(); err != nil {
		return owtapi.Stream{}, err
	}
	return f.next.AddToView(ctx, room, stream, view)
}

func (f *fenced) RemoveFromView(ctx context.Context, room, stream, view string) (owtapi.Stream, error) {
	if err := f.fence(); err != nil {
		return owtapi.Stream{}, err
	}
	return f.next.RemoveFromView(ctx, room, stream, view)
}

func (f *fenced) ListParticipants(ctx context.Context, room string) ([]owtapi.Participant, error) {
	return f.next.ListParticipants(ctx, room)
}

func (f *fenced) outputs() (reconcile.OutputOWT, error) {
	oo, ok := f.next.(reconcile.OutputOWT)
	if !ok {
		return nil, errNoOutputs
	}
	return oo, nil
}

// ListStreamingOuts lists a room's streaming-outs.
func (f *fenced) ListStreamingOuts(ctx context.Context, room string) ([]owtapi.StreamingOut, error) {
	oo, err := f.outputs()
	if err != nil {
		return nil, err
	}
	return oo.ListStreamingOuts(ctx, room)
}

// StartStreamingOut starts a streaming-out while the fence holds.
func (f *fenced) StartStreamingOut(ctx context.Context, room string, req owtapi.StreamingOutRequest) (owtapi.StreamingOut, error) {
	oo, err := f.outputs()
	if err == nil {
		err = f.fence()
	}
	if err != nil {
		return owtapi.StreamingOut{}, err
	}
	return oo.StartStreamingOut(ctx, room, req)
}

// StopStreamingOut stops a streaming-out while the fence holds.
func (f *fenced) StopStreamingOut(ctx context.Context, room, id string) error {
	oo, err := f.outputs()
	if err == nil {
		err = f.fence()
	}
	if err != nil {
		return err
	}
	return oo.StopStreamingOut(ctx, room, id)
}

// ListRecordings lists a room's recordings.
func (f *fenced) ListRecordings(ctx context.Context, room string) ([]owtapi.Recording, error) {
	oo, err := f.outputs()
	if err != nil {
		return nil, err
	}
	return oo.ListRecordings(ctx, room)
}

// StartRecording starts a recording while the fence holds.
func (f *fenced) StartRecording(ctx context.Context, room string, req owtapi.RecordingRequest) (owtapi.Recording, error) {
	oo, err := f.outputs()
	if err == nil {
		err = f.fence()
	}
	if err != nil {
		return owtapi.Recording{}, err
	}
	return oo.StartRecording(ctx, room, req)
}

// StopRecording stops a recording while the fence holds.
func (f *fenced) StopRecording(ctx context.Context, room, id string) error {
	oo, err := f.outputs()
	if err == nil {
		err = f.fence()
	}
	if err != nil {
		return err
	}
	return oo.StopRecording(ctx, room, id)
}
