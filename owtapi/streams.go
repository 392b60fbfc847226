package owtapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

func streamsPath(room string) string { return roomPath(room) + "/streams" }

func streamPath(room, stream string) string {
	return streamsPath(room) + "/" + url.PathEscape(stream)
}

// ListStreams lists the streams of a room (v1 format). An idle room gives an
// empty list; an unknown room gives an error for which IsRoomNotFound is true.
func (c *Client) ListStreams(ctx context.Context, room string) ([]Stream, error) {
	return listStreams(ctx, c, room, wireStream.stream)
}

// ListStreamsWithoutMedia is ListStreams without the media member of each
// stream (Media is nil) and with the attributes left undecoded in
// Info.RawAttributes (Info.Attributes is nil): id, type and info are all a
// reconciler needs, and media, with its long lists of optional formats, is
// most of the bytes.
func (c *Client) ListStreamsWithoutMedia(ctx context.Context, room string) ([]Stream, error) {
	return listStreams(ctx, c, room, briefStream.stream)
}

// listStreams lists a room's streams, decoded as W and converted to Stream.
func listStreams[W any](ctx context.Context, c *Client, room string, conv func(W) Stream) ([]Stream, error) {
	r := request{name: "list_streams", op: "list streams", room: room, method: http.MethodGet, path: streamsPath(room)}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var wire []W
	if err := c.decode(r, body, &wire); err != nil {
		return nil, err
	}
	streams := make([]Stream, len(wire))
	for i, w := range wire {
		streams[i] = conv(w)
	}
	return streams, nil
}

// GetStream returns one stream; a missing one gives an error for which
// IsStreamNotFound is true.
func (c *Client) GetStream(ctx context.Context, room, stream string) (Stream, error) {
	r := request{name: "get_stream", op: "get stream", room: room, stream: stream, method: http.MethodGet, path: streamPath(room, stream)}
	return c.streamCall(ctx, r)
}

// StartStreamingIn asks OWT to pull req.Connection.URL into room. OWT answers
// only once the source is pulled (up to ~90 s), so this call is bounded by
// Config.StreamingInTimeout. On a timeout the stream may still appear later.
func (c *Client) StartStreamingIn(ctx context.Context, room string, req StreamingInRequest) (Stream, error) {
	r := request{
		name: "start_streaming_in", op: "start streaming-in", room: room,
		method: http.MethodPost, path: roomPath(room) + "/streaming-ins",
		body: req, timeout: c.cfg.StreamingInTimeout,
	}
	if err := checkStreamingIn(req); err != nil {
		return Stream{}, c.newError(r, 0, 0, err.Error(), ErrInvalidRequest)
	}
	return c.streamCall(ctx, r)
}

// checkStreamingIn rejects bodies OWT would refuse with an opaque 500/1301.
func checkStreamingIn(req StreamingInRequest) error {
	if req.Connection.URL == "" {
		return fmt.Errorf("connection URL is empty")
	}
	if !validMediaOption(req.Media.Audio) || !validMediaOption(req.Media.Video) {
		return fmt.Errorf("media audio and video must each be \"auto\", true or false")
	}
	if req.Media.Audio == false && req.Media.Video == false {
		return fmt.Errorf("media audio and video are both false")
	}
	switch req.Connection.TransportProtocol {
	case "", "tcp", "udp":
	default:
		return fmt.Errorf("transport protocol %q is not tcp or udp", req.Connection.TransportProtocol)
	}
	return nil
}

func validMediaOption(v any) bool {
	switch x := v.(type) {
	case bool:
		return true
	case string:
		return x == "auto"
	}
	return false
}

// StopStreamingIn deletes a stream through the streaming-ins path. A stream
// that is already gone gives OWT's ambiguous 500/1301 (IsAmbiguous), returned
// as is: confirm with GetStream.
func (c *Client) StopStreamingIn(ctx context.Context, room, stream string) error {
	r := request{
		name: "stop_streaming_in", op: "stop streaming-in", room: room, stream: stream,
		method: http.MethodDelete, path: roomPath(room) + "/streaming-ins/" + url.PathEscape(stream),
	}
	_, err := c.do(ctx, r)
	return err
}

// AddToView mixes a stream into the room's view (label) and returns the
// updated stream. Adding twice is a no-op for OWT.
func (c *Client) AddToView(ctx context.Context, room, stream, view string) (Stream, error) {
	return c.patchInViews(ctx, "add_to_view", "add to view "+strconv.Quote(view), "add", room, stream, view)
}

// RemoveFromView takes a stream out of a view. Check first that view is in
// the stream's InViews: OWT otherwise drops the last view of the stream.
func (c *Client) RemoveFromView(ctx context.Context, room, stream, view string) (Stream, error) {
	return c.patchInViews(ctx, "remove_from_view", "remove from view "+strconv.Quote(view), "remove", room, stream, view)
}

// patchOp is one JSON-patch-like operation of PATCH .../streams/{stream}.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

func (c *Client) patchInViews(ctx context.Context, name, op, verb, room, stream, view string) (Stream, error) {
	r := request{
		name: name, op: op, room: room, stream: stream,
		method: http.MethodPatch, path: streamPath(room, stream),
		body: []patchOp{{Op: verb, Path: "/info/inViews", Value: view}},
	}
	return c.streamCall(ctx, r)
}

func (c *Client) streamCall(ctx context.Context, r request) (Stream, error) {
	body, err := c.do(ctx, r)
	if err != nil {
		return Stream{}, err
	}
	var s Stream
	if err := c.decode(r, body, &s); err != nil {
		return Stream{}, err
	}
	return s, nil
}
