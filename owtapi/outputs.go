package owtapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Output kinds: the two collections of room outputs (docs/owt.md, "Outputs").
const (
	KindStreamingOut = "streaming-outs"
	KindRecording    = "recordings"
)

// Streaming-out protocols accepted by OWT's schema.
const (
	ProtocolRTMP = "rtmp"
	ProtocolRTSP = "rtsp"
	ProtocolHLS  = "hls"
	ProtocolDASH = "dash"
)

// Recording containers accepted by OWT's schema.
var recordingContainers = map[string]bool{"": true, "auto": true, "mp4": true, "mkv": true, "ts": true}

// StreamingOutRequest is the body of POST /v1/rooms/{room}/streaming-outs.
// OWT reads only these four fields; it drops anything else silently.
type StreamingOutRequest struct {
	// URL is where OWT pushes; it is echoed verbatim in every answer, which
	// makes it the only client-chosen identity of a streaming-out.
	URL string `json:"url"`
	// Protocol is rtmp, rtsp, hls or dash; empty lets OWT guess it from URL
	// (rtmp:// and rtsp:// prefixes, .m3u8 and .mpd suffixes).
	Protocol string `json:"protocol,omitempty"`
	// Parameters are the HLS or DASH segment settings; OWT ignores them for
	// rtmp and rtsp and defaults them for hls and dash.
	Parameters *StreamingOutParameters `json:"parameters,omitempty"`
	Media      OutputMedia             `json:"media"`
}

// StreamingOutParameters are the HLS (HLSTime, HLSListSize) or DASH
// (DashSegDuration, DashWindowSize) settings; OWT requires Method and both
// numbers of one kind.
type StreamingOutParameters struct {
	Method          string `json:"method"` // PUT or POST
	HLSTime         int    `json:"hlsTime,omitempty"`
	HLSListSize     int    `json:"hlsListSize,omitempty"`
	DashSegDuration int    `json:"dashSegDuration,omitempty"`
	DashWindowSize  int    `json:"dashWindowSize,omitempty"`
}

// RecordingRequest is the body of POST /v1/rooms/{room}/recordings.
type RecordingRequest struct {
	// Container is mp4, mkv, ts or auto; empty means auto (mp4 for aac with
	// h264/h265 or no video, else mkv).
	Container string      `json:"container,omitempty"`
	Media     OutputMedia `json:"media"`
}

// OutputMedia selects what an output takes from the room. A nil kind is
// sent as false (OWT requires both keys and rejects true and "auto").
type OutputMedia struct {
	Audio *AudioOut
	Video *VideoOut
}

// MarshalJSON writes {"audio":<AudioOut>|false,"video":<VideoOut>|false}.
func (m OutputMedia) MarshalJSON() ([]byte, error) {
	var w struct {
		Audio any `json:"audio"`
		Video any `json:"video"`
	}
	w.Audio, w.Video = false, false
	if m.Audio != nil {
		w.Audio = m.Audio
	}
	if m.Video != nil {
		w.Video = m.Video
	}
	return json.Marshal(w)
}

// AudioOut is the audio of an output: the source stream and, optionally,
// a format the source must offer exactly.
type AudioOut struct {
	From   string       `json:"from"` // a mixed stream "<roomId>-<view>" or a forward stream id
	Format *AudioFormat `json:"format,omitempty"`
}

// VideoOut is the video of an output: the source stream and optional
// format and parameters, which the source must offer.
type VideoOut struct {
	From       string           `json:"from"`
	Format     *VideoFormat     `json:"format,omitempty"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// AudioFormat is an OWT audio format.
type AudioFormat struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sampleRate,omitempty"`
	ChannelNum int    `json:"channelNum,omitempty"`
}

// VideoFormat is an OWT video format.
type VideoFormat struct {
	Codec   string `json:"codec"`
	Profile string `json:"profile,omitempty"`
}

// Resolution is a video size in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// VideoParameters are optional video settings of an output. Bitrate is a
// relative string such as "x0.8": OWT rejects numbers.
type VideoParameters struct {
	Resolution       *Resolution `json:"resolution,omitempty"`
	Framerate        int         `json:"framerate,omitempty"`
	Bitrate          string      `json:"bitrate,omitempty"`
	KeyFrameInterval int         `json:"keyFrameInterval,omitempty"`
}

// StreamingOut is a streaming-out as OWT answers it: exactly id, media and
// url. The protocol and HLS/DASH parameters are not returned.
type StreamingOut struct {
	ID    string          `json:"id"` // a decimal string of up to 19 digits
	Media OutputMediaInfo `json:"media"`
	URL   string          `json:"url"` // verbatim as posted
}

// Recording is a recording as OWT answers it. The container shows only as
// the file extension; the file lives on OWT's recording node (Host).
type Recording struct {
	ID      string           `json:"id"`
	Media   OutputMediaInfo  `json:"media"`
	Storage RecordingStorage `json:"storage"`
}

// RecordingStorage says where a recording is written.
type RecordingStorage struct {
	Host string `json:"host"`
	File string `json:"file"`
}

// OutputMediaInfo is the media of an output; a kind that was not requested
// is nil.
type OutputMediaInfo struct {
	Audio *OutputTrack `json:"audio,omitempty"`
	Video *OutputTrack `json:"video,omitempty"`
}

// OutputTrack is one kind of an output's media. Format and Parameters are
// kept raw (their shapes follow the source).
type OutputTrack struct {
	From       string          `json:"from"`
	Status     string          `json:"status"`
	Format     json.RawMessage `json:"format,omitempty"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// OutputPatchOp is one operation of PATCH …/streaming-outs/{id} or
// …/recordings/{id}: op "replace" on /media/{audio,video}/from or on
// /media/video/parameters/{resolution,framerate,bitrate,keyFrameInterval}.
type OutputPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// ReplaceOutputSource is the op that moves kind ("audio" or "video") of an
// output to another source stream.
func ReplaceOutputSource(kind, from string) OutputPatchOp {
	return OutputPatchOp{Op: "replace", Path: "/media/" + kind + "/from", Value: from}
}

// GuessProtocol returns the protocol OWT derives from a streaming-out URL
// when none is given, or "" when OWT could not guess one.
func GuessProtocol(u string) string {
	switch {
	case strings.HasPrefix(u, "rtmp://"):
		return ProtocolRTMP
	case strings.HasPrefix(u, "rtsp://"):
		return ProtocolRTSP
	case strings.HasSuffix(u, ".m3u8"):
		return ProtocolHLS
	case strings.HasSuffix(u, ".mpd"):
		return ProtocolDASH
	}
	return ""
}

func outputsPath(room, kind string) string { return roomPath(room) + "/" + kind }

func outputPath(room, kind, id string) string {
	return outputsPath(room, kind) + "/" + url.PathEscape(id)
}

// ListStreamingOuts lists the connected streaming-outs of a room (an output
// that is still connecting is not listed). An idle room gives an empty list.
func (c *Client) ListStreamingOuts(ctx context.Context, room string) ([]StreamingOut, error) {
	r := request{name: "list_streaming_outs", op: "list streaming-outs", room: room, method: http.MethodGet, path: outputsPath(room, KindStreamingOut)}
	out := []StreamingOut{}
	return out, c.call(ctx, r, &out)
}

// StartStreamingOut asks OWT to push a room's stream to req.URL. OWT answers
// before the push connects: a push that fails later makes the output vanish
// from the list without any error. A 500/1301 (IsAmbiguous) may still leave
// an output behind (OWT's internal 2 s timeout): re-list and adopt it by URL.
// Schema errors are 400/1201 (IsBadRequest).
func (c *Client) StartStreamingOut(ctx context.Context, room string, req StreamingOutRequest) (StreamingOut, error) {
	r := request{
		name: "start_streaming_out", op: "start streaming-out", room: room, stream: req.URL,
		method: http.MethodPost, path: outputsPath(room, KindStreamingOut), body: req,
	}
	var out StreamingOut
	if err := checkStreamingOut(req); err != nil {
		return out, c.newError(r, 0, 0, err.Error(), ErrInvalidRequest)
	}
	return out, c.call(ctx, r, &out)
}

// UpdateStreamingOut applies ops to a streaming-out and returns it. OWT
// answers every failure with 500/1301, an unknown id included.
func (c *Client) UpdateStreamingOut(ctx context.Context, room, id string, ops []OutputPatchOp) (StreamingOut, error) {
	r := c.patchOutput(room, KindStreamingOut, id, "update streaming-out", "patch_streaming_out", ops)
	var out StreamingOut
	return out, c.call(ctx, r, &out)
}

// StopStreamingOut stops a streaming-out. A missing one (already stopped, or
// vanished after a failed push) gives OWT's ambiguous 500/1301: re-list.
func (c *Client) StopStreamingOut(ctx context.Context, room, id string) error {
	return c.stopOutput(ctx, room, KindStreamingOut, id, "stop streaming-out", "stop_streaming_out")
}

// ListRecordings lists the connected recordings of a room.
func (c *Client) ListRecordings(ctx context.Context, room string) ([]Recording, error) {
	r := request{name: "list_recordings", op: "list recordings", room: room, method: http.MethodGet, path: outputsPath(room, KindRecording)}
	out := []Recording{}
	return out, c.call(ctx, r, &out)
}

// StartRecording asks OWT to record a room's stream on its recording node.
// Recordings carry nothing client-chosen: keep the returned id. As with
// StartStreamingOut, a 500/1301 may still leave a recording behind.
func (c *Client) StartRecording(ctx context.Context, room string, req RecordingRequest) (Recording, error) {
	r := request{
		name: "start_recording", op: "start recording", room: room,
		method: http.MethodPost, path: outputsPath(room, KindRecording), body: req,
	}
	var out Recording
	if err := checkRecording(req); err != nil {
		return out, c.newError(r, 0, 0, err.Error(), ErrInvalidRequest)
	}
	return out, c.call(ctx, r, &out)
}

// UpdateRecording applies ops to a recording and returns it.
func (c *Client) UpdateRecording(ctx context.Context, room, id string, ops []OutputPatchOp) (Recording, error) {
	r := c.patchOutput(room, KindRecording, id, "update recording", "patch_recording", ops)
	var out Recording
	return out, c.call(ctx, r, &out)
}

// StopRecording stops a recording; a missing one gives 500/1301.
func (c *Client) StopRecording(ctx context.Context, room, id string) error {
	return c.stopOutput(ctx, room, KindRecording, id, "stop recording", "stop_recording")
}

func (c *Client) patchOutput(room, kind, id, op, name string, ops []OutputPatchOp) request {
	if ops == nil {
		ops = []OutputPatchOp{}
	}
	return request{
		name: name, op: op, room: room, stream: id,
		method: http.MethodPatch, path: outputPath(room, kind, id), body: ops,
	}
}

func (c *Client) stopOutput(ctx context.Context, room, kind, id, op, name string) error {
	r := request{name: name, op: op, room: room, stream: id, method: http.MethodDelete, path: outputPath(room, kind, id)}
	_, err := c.do(ctx, r)
	return err
}

// call performs r and decodes a 2xx answer into v.
func (c *Client) call(ctx context.Context, r request, v any) error {
	body, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	return c.decode(r, body, v)
}

// checkStreamingOut rejects bodies OWT would refuse (400/1201, or its
// 500/2001 TypeError for a missing URL).
func checkStreamingOut(req StreamingOutRequest) error {
	if req.URL == "" {
		return fmt.Errorf("URL is empty")
	}
	switch req.Protocol {
	case "":
		if GuessProtocol(req.URL) == "" {
			return fmt.Errorf("no protocol given and OWT cannot guess one from URL %q: it must start with rtmp:// or rtsp://, or end with .m3u8 or .mpd", req.URL)
		}
	case ProtocolRTMP, ProtocolRTSP, ProtocolHLS, ProtocolDASH:
	default:
		return fmt.Errorf("protocol %q is not rtmp, rtsp, hls or dash", req.Protocol)
	}
	if p := req.Parameters; p != nil {
		hls := p.HLSTime != 0 && p.HLSListSize != 0
		dash := p.DashSegDuration != 0 && p.DashWindowSize != 0
		if (p.Method != "PUT" && p.Method != "POST") || (!hls && !dash) {
			return fmt.Errorf("parameters need method PUT or POST and both hlsTime and hlsListSize, or both dashSegDuration and dashWindowSize")
		}
	}
	return checkOutputMedia(req.Media)
}

// checkRecording rejects bodies OWT would refuse with 400/1201.
func checkRecording(req RecordingRequest) error {
	if !recordingContainers[req.Container] {
		return fmt.Errorf("container %q is not mp4, mkv, ts or auto", req.Container)
	}
	return checkOutputMedia(req.Media)
}

func checkOutputMedia(m OutputMedia) error {
	if m.Audio == nil && m.Video == nil {
		return fmt.Errorf("media audio and video are both absent: an output needs at least one")
	}
	if (m.Audio != nil && m.Audio.From == "") || (m.Video != nil && m.Video.From == "") {
		return fmt.Errorf("media from is empty: name the source, e.g. the mixed stream <roomId>-<view>")
	}
	if m.Audio != nil && m.Audio.Format != nil && m.Audio.Format.Codec == "" {
		return fmt.Errorf("audio format without a codec")
	}
	if m.Video != nil && m.Video.Format != nil && m.Video.Format.Codec == "" {
		return fmt.Errorf("video format without a codec")
	}
	if v := m.Video; v != nil && v.Parameters != nil && v.Parameters.Resolution != nil {
		if r := v.Parameters.Resolution; r.Width <= 0 || r.Height <= 0 {
			return fmt.Errorf("video resolution %dx%d is not positive", r.Width, r.Height)
		}
	}
	return nil
}
