package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// countingOWT records which calls reached it.
type countingOWT struct{ calls []string }

func (c *countingOWT) hit(name string) { c.calls = append(c.calls, name) }
func (c *countingOWT) ListRooms(context.Context) ([]owtapi.Room, error) {
	c.hit("ListRooms")
	return nil, nil
}
func (c *countingOWT) CreateRoom(context.Context, string, map[string]any) (owtapi.Room, error) {
	c.hit("CreateRoom")
	return owtapi.Room{}, nil
}
func (c *countingOWT) DeleteRoom(context.Context, string) error { c.hit("DeleteRoom"); return nil }
func (c *countingOWT) ListStreamsWithoutMedia(context.Context, string) ([]owtapi.Stream, error) {
	c.hit("ListStreamsWithoutMedia")
	return nil, nil
}
func (c *countingOWT) GetStream(context.Context, string, string) (owtapi.Stream, error) {
	c.hit("GetStream")
	return owtapi.Stream{}, nil
}
func (c *countingOWT) StartStreamingIn(context.Context, string, owtapi.StreamingInRequest) (owtapi.Stream, error) {
	c.hit("StartStreamingIn")
	return owtapi.Stream{}, nil
}
func (c *countingOWT) StopStreamingIn(context.Context, string, string) error {
	c.hit("StopStreamingIn")
	return nil
}
func (c *countingOWT) AddToView(context.Context, string, string, string) (owtapi.Stream, error) {
	c.hit("AddToView")
	return owtapi.Stream{}, nil
}
func (c *countingOWT) RemoveFromView(context.Context, string, string, string) (owtapi.Stream, error) {
	c.hit("RemoveFromView")
	return owtapi.Stream{}, nil
}
func (c *countingOWT) ListParticipants(context.Context, string) ([]owtapi.Participant, error) {
	c.hit("ListParticipants")
	return nil, nil
}
func (c *countingOWT) ListStreamingOuts(context.Context, string) ([]owtapi.StreamingOut, error) {
	c.hit("ListStreamingOuts")
	return nil, nil
}
func (c *countingOWT) StartStreamingOut(context.Context, string, owtapi.StreamingOutRequest) (owtapi.StreamingOut, error) {
	c.hit("StartStreamingOut")
	return owtapi.StreamingOut{}, nil
}
func (c *countingOWT) StopStreamingOut(context.Context, string, string) error {
	c.hit("StopStreamingOut")
	return nil
}
func (c *countingOWT) ListRecordings(context.Context, string) ([]owtapi.Recording, error) {
	c.hit("ListRecordings")
	return nil, nil
}
func (c *countingOWT) StartRecording(context.Context, string, owtapi.RecordingRequest) (owtapi.Recording, error) {
	c.hit("StartRecording")
	return owtapi.Recording{}, nil
}
func (c *countingOWT) StopRecording(context.Context, string, string) error {
	c.hit("StopRecording")
	return nil
}

// every call of the fenced client, and whether it writes.
func fenceCalls(f reconcile.OWT) []struct {
	name  string
	write bool
	call  func() error
} {
	ctx := context.Background()
	oo := f.(reconcile.OutputOWT)
	type c = struct {
		name  string
		write bool
		call  func() error
	}
	e1 := func(_ any, err error) error { return err }
	return []c{
		{"ListRooms", false, func() error { return e1(f.ListRooms(ctx)) }},
		{"CreateRoom", true, func() error { return e1(f.CreateRoom(ctx, "r", nil)) }},
		{"DeleteRoom", true, func() error { return f.DeleteRoom(ctx, "r") }},
		{"ListStreamsWithoutMedia", false, func() error { return e1(f.ListStreamsWithoutMedia(ctx, "r")) }},
		{"GetStream", false, func() error { return e1(f.GetStream(ctx, "r", "s")) }},
		{"StartStreamingIn", true, func() error { return e1(f.StartStreamingIn(ctx, "r", owtapi.StreamingInRequest{})) }},
		{"StopStreamingIn", true, func() error { return f.StopStreamingIn(ctx, "r", "s") }},
		{"AddToView", true, func() error { return e1(f.AddToView(ctx, "r", "s", "common")) }},
		{"RemoveFromView", true, func() error { return e1(f.RemoveFromView(ctx, "r", "s", "common")) }},
		{"ListParticipants", false, func() error { return e1(f.ListParticipants(ctx, "r")) }},
		{"ListStreamingOuts", false, func() error { return e1(oo.ListStreamingOuts(ctx, "r")) }},
		{"StartStreamingOut", true, func() error { return e1(oo.StartStreamingOut(ctx, "r", owtapi.StreamingOutRequest{})) }},
		{"StopStreamingOut", true, func() error { return oo.StopStreamingOut(ctx, "r", "o") }},
		{"ListRecordings", false, func() error { return e1(oo.ListRecordings(ctx, "r")) }},
		{"StartRecording", true, func() error { return e1(oo.StartRecording(ctx, "r", owtapi.RecordingRequest{})) }},
		{"StopRecording", true, func() error { return oo.StopRecording(ctx, "r", "o") }},
	}
}

func TestFenceStopsEveryWriteAndNoRead(t *testing.T) {
	for _, open := range []bool{true, false} {
		next := &countingOWT{}
		fence := func() error { return nil }
		if !open {
			fence = func() error { return ha.ErrFenced }
		}
		f := Fence(next, fence)
		for _, c := range fenceCalls(f) {
			before := len(next.calls)
			err := c.call()
			reached := len(next.calls) > before
			switch {
			case open || !c.write:
				if err != nil || !reached || next.calls[len(next.calls)-1] != c.name {
					t.Errorf("fence open=%v: %s: err %v, reached %v", open, c.name, err, reached)
				}
			default:
				if !errors.Is(err, ha.ErrFenced) || reached {
					t.Errorf("fence closed: %s: err %v, reached OWT %v; want ha.ErrFenced and no call", c.name, err, reached)
				}
			}
		}
	}
	if c := (&countingOWT{}); Fence(c, nil) != reconcile.OWT(c) {
		t.Error("Fence with no fence must return the client itself")
	}
}

// noOutputs is an OWT client without the output calls.
type noOutputs struct{ reconcile.OWT }

func TestFenceWithoutOutputCalls(t *testing.T) {
	f := Fence(noOutputs{&countingOWT{}}, func() error { return nil }).(reconcile.OutputOWT)
	ctx := context.Background()
	if _, err := f.ListStreamingOuts(ctx, "r"); !errors.Is(err, errNoOutputs) {
		t.Errorf("ListStreamingOuts: %v", err)
	}
	if _, err := f.StartStreamingOut(ctx, "r", owtapi.StreamingOutRequest{}); !errors.Is(err, errNoOutputs) {
		t.Errorf("StartStreamingOut: %v", err)
	}
	if err := f.StopStreamingOut(ctx, "r", "o"); !errors.Is(err, errNoOutputs) {
		t.Errorf("StopStreamingOut: %v", err)
	}
	if _, err := f.ListRecordings(ctx, "r"); !errors.Is(err, errNoOutputs) {
		t.Errorf("ListRecordings: %v", err)
	}
	if _, err := f.StartRecording(ctx, "r", owtapi.RecordingRequest{}); !errors.Is(err, errNoOutputs) {
		t.Errorf("StartRecording: %v", err)
	}
	if err := f.StopRecording(ctx, "r", "o"); !errors.Is(err, errNoOutputs) {
		t.Errorf("StopRecording: %v", err)
	}
}
