package owtfake

import (
	"encoding/json"
	"time"
)

// track is one media kind of a forward stream.
type track struct {
	status   string
	source   string         // empty for streaming-ins
	format   map[string]any // reported codec
	params   map[string]any // video only
	optional any            // audio: mediaOut.audio minus format; video: opaque constant
}

// stream is a forward stream of a room (streaming-in or foreign publication).
type stream struct {
	id         string
	infoType   string // "streaming", "webrtc", ...
	owner      string
	url        string // streaming-ins only
	attributes any    // nil when not given
	inViews    []string
	extraInfo  map[string]any // other info members of a foreign stream
	audio      *track
	video      *track
	createdAt  time.Time
	readyAt    time.Time // hidden from GET while connecting
	cache      [2][]byte // rendered JSON, v1.0 and v1.1; nil after a change
}

// jsonBytes returns the cached JSON rendering of the stream.
func (st *stream) jsonBytes(v11 bool) []byte {
	i := 0
	if v11 {
		i = 1
	}
	if st.cache[i] == nil {
		st.cache[i] = encodeJSON(st.render(v11))
	}
	return st.cache[i]
}

// changed drops the cached renderings after a mutation.
func (st *stream) changed() {
	st.cache = [2][]byte{}
}

// renderTrack renders one media kind in the v1.0 or v1.1 shape.
func renderTrack(t *track, video, v11 bool) map[string]any {
	out := map[string]any{"status": t.status, "format": t.format}
	if t.optional != nil {
		out["optional"] = t.optional
	}
	if t.source != "" {
		out["source"] = t.source
	}
	if video {
		if v11 {
			delete(out, "format")
			orig := map[string]any{"format": t.format}
			if t.params != nil {
				orig["parameters"] = t.params
			}
			out["original"] = []any{orig}
		} else if t.params != nil {
			out["parameters"] = t.params
		}
	}
	return out
}

// render returns the Stream object of a forward stream.
func (st *stream) render(v11 bool) map[string]any {
	media := map[string]any{}
	if st.audio != nil {
		media["audio"] = renderTrack(st.audio, false, v11)
	}
	if st.video != nil {
		media["video"] = renderTrack(st.video, true, v11)
	}
	info := make(map[string]any, len(st.extraInfo)+4)
	for k, v := range st.extraInfo {
		info[k] = v
	}
	info["owner"] = st.owner
	info["type"] = st.infoType
	views := make([]string, len(st.inViews))
	copy(views, st.inViews)
	info["inViews"] = views
	if st.attributes != nil {
		info["attributes"] = st.attributes
	}
	return map[string]any{"id": st.id, "type": "forward", "media": media, "info": info}
}

// render returns the mixed stream of an initialized view.
func (mv *mixView) render(roomID string, v11 bool) map[string]any {
	media := map[string]any{}
	if mv.audioFormat != nil {
		media["audio"] = renderTrack(&track{status: "active", format: mv.audioFormat,
			optional: map[string]any{"format": mv.audioOptional}}, false, v11)
	}
	if mv.videoFormat != nil {
		media["video"] = renderTrack(&track{status: "active", format: mv.videoFormat, params: mv.videoParams,
			optional: json.RawMessage(videoOptionalJSON)}, true, v11)
	}
	layout := mv.layout
	if layout == nil {
		layout = []any{}
	}
	return map[string]any{
		"id":    roomID + "-" + mv.label,
		"type":  "mixed",
		"media": media,
		"data":  nil,
		"info":  map[string]any{"label": mv.label, "activeInput": "unknown", "layout": layout},
	}
}

// newStreamingIn builds a streaming-in as reported after a successful pull.
func newStreamingIn(id, url string, audio, video bool, attributes any, r *room, now, readyAt time.Time) *stream {
	st := &stream{id: id, infoType: "streaming", owner: "admin", url: url, attributes: attributes,
		inViews: []string{}, createdAt: now, readyAt: readyAt}
	if audio {
		format := constMap(streamingAudioFormatJSON)
		st.audio = &track{status: "active", format: format,
			optional: map[string]any{"format": optionalFormats(r.mediaOutAudio(), format)}}
	}
	if video {
		st.video = &track{status: "active", format: constMap(streamingVideoFormatJSON),
			params: constMap(streamingVideoParamsJSON), optional: json.RawMessage(videoOptionalJSON)}
	}
	return st
}

// newForeignStream builds a publication not made through streaming-ins
// (by default a WebRTC publication with audio and video).
func newForeignStream(id string, info map[string]any, r *room, now time.Time) *stream {
	st := &stream{id: id, infoType: "webrtc", inViews: []string{}, createdAt: now, readyAt: now,
		extraInfo: map[string]any{}}
	for k, v := range info {
		switch k {
		case "type":
			if s, ok := v.(string); ok {
				st.infoType = s
			}
		case "owner":
			if s, ok := v.(string); ok {
				st.owner = s
			}
		case "attributes":
			st.attributes = v
		case "inViews":
			switch views := v.(type) {
			case []string:
				st.inViews = append(st.inViews, views...)
			case []any:
				for _, l := range views {
					if s, ok := l.(string); ok {
						st.inViews = append(st.inViews, s)
					}
				}
			}
		default:
			st.extraInfo[k] = v
		}
	}
	format := constMap(webrtcAudioFormatJSON)
	st.audio = &track{status: "active", source: "mic", format: format,
		optional: map[string]any{"format": optionalFormats(r.mediaOutAudio(), format)}}
	st.video = &track{status: "active", source: "camera", format: constMap(webrtcVideoFormatJSON),
		params: constMap(webrtcVideoParamsJSON), optional: json.RawMessage(videoOptionalJSON)}
	return st
}
