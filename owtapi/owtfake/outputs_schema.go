package owtfake

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Output errors exactly as the real management API answers them
// (docs/owt.md, "Outputs").
var (
	errOutputBadRequest = apiError{http.StatusBadRequest, 1201, "Bad request"}
	errOutputRPC        = apiError{http.StatusInternalServerError, 1301, "RPC:addServerSideSubscription failed"}
)

// outputRequest is a POST body after the resource's rewrite and the
// serverSideSub-req schema: numbers are float64.
type outputRequest struct {
	kind      string
	url       string
	protocol  string
	params    map[string]any
	container string
	audio     *trackRequest // nil = false
	video     *trackRequest
}

// trackRequest is one requested media kind.
type trackRequest struct {
	from   string
	format map[string]any // nil = not requested
	params map[string]any // video only; nil = not requested
}

// Enumerations of the serverSideSub-req schema (restReqValidator.js:210-368).
var (
	audioCodecs      = setOf("pcmu", "pcma", "opus", "g722", "isac", "ilbc", "aac", "ac3", "nellymoser")
	videoCodecs      = setOf("h264", "h265", "vp8", "vp9")
	videoProfiles    = setOf("B", "CB", "M", "H", "E")
	outputProtocols  = setOf("rtmp", "rtsp", "hls", "dash")
	outputContainers = setOf("mp4", "mkv", "ts", "auto")
	hlsDefaults      = map[string]any{"method": "PUT", "hlsTime": 2.0, "hlsListSize": 5.0}
	dashDefaults     = map[string]any{"method": "PUT", "dashSegDuration": 2.0, "dashWindowSize": 5.0}
)

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, i := range items {
		m[i] = true
	}
	return m
}

// guessProtocol is streamingOutsResource.js's guess from the URL.
func guessProtocol(u string) string {
	switch {
	case strings.HasPrefix(u, "rtmp://"):
		return "rtmp"
	case strings.HasPrefix(u, "rtsp://"):
		return "rtsp"
	case strings.HasSuffix(u, ".m3u8"):
		return "hls"
	case strings.HasSuffix(u, ".mpd"):
		return "dash"
	}
	return "unknown"
}

// parseStreamingOut rewrites and validates a POST …/streaming-outs body
// like the resource and the schema do.
func parseStreamingOut(body any) (outputRequest, *apiError) {
	m, _ := body.(map[string]any)
	req := outputRequest{kind: kindStreaming}
	urlV, hasURL := m["url"]
	protocol, _ := m["protocol"].(string)
	if isFalsy(m["protocol"]) {
		switch u := urlV.(type) {
		case string:
			protocol = guessProtocol(u)
		case nil:
			what := "undefined"
			if hasURL {
				what = "null"
			}
			e := internalError("TypeError Cannot read properties of " + what + " (reading 'startsWith')")
			return req, &e
		default:
			e := internalError("TypeError url.startsWith is not a function")
			return req, &e
		}
	} else if _, isString := m["protocol"].(string); !isString {
		return req, &errOutputBadRequest
	}
	if !outputProtocols[protocol] {
		return req, &errOutputBadRequest
	}
	req.protocol = protocol
	u, ok := urlV.(string)
	if !ok {
		return req, &errOutputBadRequest
	}
	req.url = u
	if protocol == "hls" || protocol == "dash" {
		params := hlsDefaults
		if protocol == "dash" {
			params = dashDefaults
		}
		if p, given := m["parameters"]; given && !isFalsy(p) {
			pm, ok := p.(map[string]any)
			if !ok || !validSegmentParams(pm) {
				return req, &errOutputBadRequest
			}
			params = normalize(pm).(map[string]any)
		}
		req.params = params
	}
	if !parseOutputMedia(m["media"], &req) {
		return req, &errOutputBadRequest
	}
	return req, nil
}

// parseRecording rewrites and validates a POST …/recordings body.
func parseRecording(body any) (outputRequest, *apiError) {
	m, _ := body.(map[string]any)
	req := outputRequest{kind: kindRecording}
	if c, given := m["container"]; given {
		s, ok := c.(string)
		if !ok || !outputContainers[s] {
			return req, &errOutputBadRequest
		}
		req.container = s
	}
	if !parseOutputMedia(m["media"], &req) {
		return req, &errOutputBadRequest
	}
	return req, nil
}

// validSegmentParams is the anyOf of the HLS and DASH parameter shapes:
// method plus both numbers of one kind, nothing else.
func validSegmentParams(p map[string]any) bool {
	if len(p) != 3 || (p["method"] != "PUT" && p["method"] != "POST") {
		return false
	}
	return (isNumber(p["hlsTime"]) && isNumber(p["hlsListSize"])) ||
		(isNumber(p["dashSegDuration"]) && isNumber(p["dashWindowSize"]))
}

// parseOutputMedia validates media: both kinds present, each false or a
// sub-request object; it fills req.audio and req.video.
func parseOutputMedia(v any, req *outputRequest) bool {
	media, ok := v.(map[string]any)
	if !ok || !onlyKeys(media, "audio", "video") {
		return false
	}
	a, hasA := media["audio"]
	vid, hasV := media["video"]
	if !hasA || !hasV {
		return false
	}
	if a != false {
		if req.audio, ok = parseAudioSub(a); !ok {
			return false
		}
	}
	if vid != false {
		if req.video, ok = parseVideoSub(vid); !ok {
			return false
		}
	}
	return true
}

func parseAudioSub(v any) (*trackRequest, bool) {
	m, ok := v.(map[string]any)
	if !ok || !onlyKeys(m, "from", "format") {
		return nil, false
	}
	t := &trackRequest{}
	if t.from, ok = m["from"].(string); !ok {
		return nil, false
	}
	if f, given := m["format"]; given {
		fm, ok := f.(map[string]any)
		if !ok || !onlyKeys(fm, "codec", "sampleRate", "channelNum") {
			return nil, false
		}
		if c, _ := fm["codec"].(string); !audioCodecs[c] {
			return nil, false
		}
		for _, k := range []string{"sampleRate", "channelNum"} {
			if n, given := fm[k]; given && !isNumber(n) {
				return nil, false
			}
		}
		t.format = normalize(fm).(map[string]any)
	}
	return t, true
}

func parseVideoSub(v any) (*trackRequest, bool) {
	m, ok := v.(map[string]any)
	if !ok || !onlyKeys(m, "from", "format", "parameters") {
		return nil, false
	}
	t := &trackRequest{}
	if t.from, ok = m["from"].(string); !ok {
		return nil, false
	}
	if f, given := m["format"]; given {
		fm, ok := f.(map[string]any)
		if !ok || !onlyKeys(fm, "codec", "profile") {
			return nil, false
		}
		if c, _ := fm["codec"].(string); !videoCodecs[c] {
			return nil, false
		}
		if p, given := fm["profile"]; given {
			if ps, _ := p.(string); !videoProfiles[ps] {
				return nil, false
			}
		}
		t.format = normalize(fm).(map[string]any)
	}
	if p, given := m["parameters"]; given {
		pm, ok := p.(map[string]any)
		if !ok || !onlyKeys(pm, "resolution", "framerate", "bitrate", "keyFrameInterval") {
			return nil, false
		}
		if res, given := pm["resolution"]; given && !validResolution(res) {
			return nil, false
		}
		for _, k := range []string{"framerate", "keyFrameInterval"} {
			if n, given := pm[k]; given && !isNumber(n) {
				return nil, false
			}
		}
		if b, given := pm["bitrate"]; given {
			if _, isStr := b.(string); !isStr && !isNumber(b) {
				return nil, false
			}
		}
		t.params = normalize(pm).(map[string]any)
	}
	return t, true
}

// validResolution is {width:number, height:number}, both required, no more.
func validResolution(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 2 && isNumber(m["width"]) && isNumber(m["height"])
}

// onlyKeys reports whether m has no key outside keys (additionalProperties:false).
func onlyKeys(m map[string]any, keys ...string) bool {
	for k := range m {
		found := false
		for _, want := range keys {
			if k == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// isNumber reports a JSON number as decoded by readBody.
func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64:
		return true
	}
	return false
}

// normalize deep-copies v with json.Number turned into float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// outputPatchOp is one validated operation of PATCH …/streaming-outs/{id}.
type outputPatchOp struct {
	kind  string // "audio" or "video"
	field string // "status", "from", or a video parameter name
	value any
}

// Allowed values of the subscription-update schema (restReqValidator.js:370-430).
var (
	patchFramerates = []float64{6, 12, 15, 24, 30, 48, 60}
	patchKFIs       = []float64{1, 2, 5, 30, 100}
	relativeBitrate = setOf("x0.8", "x0.6", "x0.4", "x0.2")
)

// parseOutputPatch validates a PATCH body: an array of exactly
// {op:"replace", path, value} on a media source or video parameter path.
func parseOutputPatch(body any) ([]outputPatchOp, bool) {
	list, ok := body.([]any)
	if !ok {
		return nil, false
	}
	ops := make([]outputPatchOp, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok || len(m) != 3 || m["op"] != "replace" {
			return nil, false
		}
		path, _ := m["path"].(string)
		value, has := m["value"]
		if !has {
			return nil, false
		}
		value = normalize(value)
		var op outputPatchOp
		switch path {
		case "/media/audio/status", "/media/video/status":
			if value != "active" && value != "inactive" {
				return nil, false
			}
			op = outputPatchOp{kind: strings.Split(path, "/")[2], field: "status"}
		case "/media/audio/from", "/media/video/from":
			if _, isStr := value.(string); !isStr {
				return nil, false
			}
			op = outputPatchOp{kind: strings.Split(path, "/")[2], field: "from"}
		case "/media/video/parameters/resolution":
			if !validResolution(value) {
				return nil, false
			}
			op = outputPatchOp{kind: "video", field: "resolution"}
		case "/media/video/parameters/framerate":
			if !inFloats(value, patchFramerates) {
				return nil, false
			}
			op = outputPatchOp{kind: "video", field: "framerate"}
		case "/media/video/parameters/bitrate":
			if s, _ := value.(string); !relativeBitrate[s] {
				return nil, false
			}
			op = outputPatchOp{kind: "video", field: "bitrate"}
		case "/media/video/parameters/keyFrameInterval":
			if !inFloats(value, patchKFIs) {
				return nil, false
			}
			op = outputPatchOp{kind: "video", field: "keyFrameInterval"}
		default:
			return nil, false
		}
		op.value = value
		ops = append(ops, op)
	}
	return ops, true
}

// inFloats reports whether v is a number in list.
func inFloats(v any, list []float64) bool {
	f, ok := v.(float64)
	if !ok {
		return false
	}
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}
