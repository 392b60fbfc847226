package owtfake

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// sourceOffer is what a source stream offers to a subscription: its own
// formats and parameters plus the optional ones (conference.js
// validateAudioRequest/validateVideoRequest).
type sourceOffer struct {
	mixed bool
	audio *audioOffer
	video *videoOffer
}

type audioOffer struct {
	format   map[string]any
	optional []map[string]any
}

type videoOffer struct {
	format      map[string]any
	optional    []map[string]any
	params      map[string]any // the source's own parameters (may be empty)
	resolutions []map[string]any
	framerates  []float64
	bitrates    []string
	kfis        []float64
}

// offeredKFIs is the key frame interval list every source offers.
var offeredKFIs = []float64{100, 30, 5, 2, 1}

// offerOf returns what stream id of room r offers, or nil when no such
// stream exists or it has no tracks yet (a connecting streaming-in).
func offerOf(r *room, id string, now time.Time) *sourceOffer {
	if mv := r.mixedByID(id); mv != nil {
		return mixedOffer(r, mv)
	}
	st := r.readyStream(id, now)
	if st == nil {
		return nil
	}
	off := &sourceOffer{}
	if st.audio != nil {
		a := &audioOffer{format: st.audio.format}
		if opt, ok := st.audio.optional.(map[string]any); ok {
			a.optional = mapsOf(opt["format"])
		}
		off.audio = a
	}
	if st.video != nil {
		opt := constMap(videoOptionalJSON)
		params, _ := opt["parameters"].(map[string]any)
		v := &videoOffer{format: st.video.format, optional: mapsOf(opt["format"]), params: st.video.params,
			resolutions: mapsOf(params["resolution"]), framerates: floatsOf(params["framerate"]),
			bitrates: stringsOf(params["bitrate"]), kfis: offeredKFIs}
		if v.params == nil {
			v.params = map[string]any{}
		}
		off.video = v
	}
	return off
}

// mixedOffer is the offer of a view's mixed stream: the view's formats and
// parameters, the other mediaOut formats, and the mediaOut parameters below
// the view's.
func mixedOffer(r *room, mv *mixView) *sourceOffer {
	off := &sourceOffer{mixed: true}
	if mv.audioFormat != nil {
		off.audio = &audioOffer{format: copyMap(mv.audioFormat), optional: mapsOf(normalize(mv.audioOptional))}
	}
	if mv.videoFormat != nil {
		mo, _ := normalize(r.doc["mediaOut"]).(map[string]any)
		video, _ := mo["video"].(map[string]any)
		params, _ := video["parameters"].(map[string]any)
		vformat, vparams := copyMap(mv.videoFormat), copyMap(mv.videoParams)
		if vparams == nil {
			vparams = map[string]any{}
		}
		v := &videoOffer{format: vformat, params: vparams, bitrates: stringsOf(params["bitrate"]), kfis: offeredKFIs}
		for _, f := range mapsOf(video["format"]) {
			if !reflect.DeepEqual(f, vformat) {
				v.optional = append(v.optional, f)
			}
		}
		base, _ := vparams["resolution"].(map[string]any)
		v.resolutions = smallerResolutions(base, stringsOf(params["resolution"]))
		if fr, ok := vparams["framerate"].(float64); ok {
			for _, f := range floatsOf(params["framerate"]) {
				if f < fr {
					v.framerates = append(v.framerates, f)
				}
			}
		}
		off.video = v
	}
	return off
}

// namedResolutions are the mediaOut resolution names.
var namedResolutions = map[string][2]float64{
	"hd1080p": {1920, 1080}, "hd720p": {1280, 720}, "svga": {800, 600}, "vga": {640, 480},
	"qvga": {320, 240}, "cif": {352, 288},
}

// smallerResolutions turns mediaOut resolution names ("x3/4", "hd720p", ...)
// into sizes for base and keeps the distinct ones smaller in both sides.
func smallerResolutions(base map[string]any, names []string) []map[string]any {
	bw, _ := base["width"].(float64)
	bh, _ := base["height"].(float64)
	var out []map[string]any
	seen := map[[2]float64]bool{}
	for _, n := range names {
		var wh [2]float64
		if strings.HasPrefix(n, "x") {
			num, den, ok := strings.Cut(n[1:], "/")
			a, err1 := strconv.ParseFloat(num, 64)
			b, err2 := strconv.ParseFloat(den, 64)
			if !ok || err1 != nil || err2 != nil || b == 0 {
				continue
			}
			wh = [2]float64{math.Floor(bw * a / b), math.Floor(bh * a / b)}
		} else if named, ok := namedResolutions[n]; ok {
			wh = named
		} else {
			continue
		}
		if wh[0] < bw && wh[1] < bh && !seen[wh] {
			seen[wh] = true
			out = append(out, map[string]any{"width": wh[0], "height": wh[1]})
		}
	}
	return out
}

func mapsOf(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func floatsOf(v any) []float64 {
	list, _ := v.([]any)
	var out []float64
	for _, e := range list {
		if f, ok := e.(float64); ok {
			out = append(out, f)
		}
	}
	return out
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// audioFormatOffered: the requested format must equal one offered exactly.
func (a *audioOffer) formatOffered(f map[string]any) bool {
	if reflect.DeepEqual(a.format, f) {
		return true
	}
	for _, o := range a.optional {
		if reflect.DeepEqual(o, f) {
			return true
		}
	}
	return false
}

// videoFormatOffered: the codec must match and the profile be compatible.
func (v *videoOffer) formatOffered(f map[string]any) bool {
	match := func(o map[string]any) bool {
		if o["codec"] != f["codec"] {
			return false
		}
		p, given := f["profile"]
		op, has := o["profile"]
		return !given || !has || p == op
	}
	if match(v.format) {
		return true
	}
	for _, o := range v.optional {
		if match(o) {
			return true
		}
	}
	return false
}

// paramOffered reports whether the source offers value for parameter name.
func (v *videoOffer) paramOffered(name string, value any) bool {
	switch name {
	case "resolution":
		if reflect.DeepEqual(v.params["resolution"], value) {
			return true
		}
		for _, r := range v.resolutions {
			if reflect.DeepEqual(r, value) {
				return true
			}
		}
	case "framerate":
		f, ok := value.(float64)
		return ok && (v.params["framerate"] == value || inFloats(f, v.framerates))
	case "keyFrameInterval":
		f, ok := value.(float64)
		return ok && (v.params["keyFrameInterval"] == value || inFloats(f, v.kfis))
	case "bitrate":
		s, ok := value.(string)
		if !ok {
			return false // numeric bitrates are never offered
		}
		for _, b := range v.bitrates {
			if b == s {
				return true
			}
		}
	}
	return false
}

// applyParam sets a video parameter on an output's parameters. A relative
// bitrate on a mixed source is multiplied by the view's bitrate, which is
// NaN (null in JSON) when the view sets none.
func applyParam(params map[string]any, name string, value any, off *sourceOffer) {
	if name == "bitrate" && off.mixed {
		s, _ := value.(string)
		factor, err := strconv.ParseFloat(strings.TrimPrefix(s, "x"), 64)
		base, ok := off.video.params["bitrate"].(float64)
		if err != nil || !ok {
			params[name] = nil
			return
		}
		params[name] = base * factor
		return
	}
	params[name] = value
}

// buildOutput runs the conference checks of addServerSideSubscription on a
// validated request (conference.js:2839-2953). It returns nil when the
// conference would reject it (every such rejection is R to the client).
func buildOutput(r *room, req outputRequest, now time.Time) *output {
	if req.audio == nil && req.video == nil {
		return nil // No video or audio source to process
	}
	o := &output{kind: req.kind, url: req.url, protocol: req.protocol, params: req.params}
	mediaOut, _ := r.doc["mediaOut"].(map[string]any)
	if req.audio != nil {
		if len(r.mediaOutAudio()) == 0 {
			return nil // Audio is forbiden
		}
		off := offerOf(r, req.audio.from, now)
		if off == nil || off.audio == nil {
			return nil // Target audio stream does NOT satisfy
		}
		format := req.audio.format
		if format != nil && !off.audio.formatOffered(format) {
			return nil
		}
		if format == nil {
			if req.kind == kindStreaming {
				format = firstAAC(normalize(r.mediaOutAudio()).([]any))
				if format == nil {
					return nil // Audio codec aac not enabled
				}
			} else {
				format = off.audio.format
			}
		}
		codec, _ := format["codec"].(string)
		if req.kind == kindStreaming && codec != "aac" {
			return nil // Audio codec invalid
		}
		if req.kind == kindRecording && codec != "aac" && codec != "opus" && codec != "pcmu" && codec != "pcma" {
			return nil // Audio codec invalid
		}
		o.audio = &outTrack{from: req.audio.from, format: copyMap(format)}
	}
	if req.video != nil {
		video, _ := mediaOut["video"].(map[string]any)
		if len(mapsOf(video["format"])) == 0 {
			return nil // Video is forbiden
		}
		off := offerOf(r, req.video.from, now)
		if off == nil || off.video == nil {
			return nil // Target video stream does NOT satisfy
		}
		format := req.video.format
		if format != nil && !off.video.formatOffered(format) {
			return nil
		}
		requested := map[string]any{}
		for name, value := range req.video.params {
			if name == "bitrate" && (value == "x1" || value == "x1.0") {
				continue // "unspecified"
			}
			if !off.video.paramOffered(name, value) {
				return nil
			}
			requested[name] = value
		}
		if format == nil {
			if req.kind == kindStreaming {
				format = map[string]any{"codec": "h264", "profile": "CB"}
			} else {
				format = off.video.format
			}
		}
		if req.kind == kindStreaming && format["codec"] != "h264" {
			return nil // Video codec invalid
		}
		t := &outTrack{from: req.video.from, format: copyMap(format)}
		if off.mixed {
			t.params = copyMap(off.video.params)
		}
		for name, value := range requested {
			if t.params == nil {
				t.params = map[string]any{}
			}
			applyParam(t.params, name, value, off)
		}
		o.video = t
	}
	if req.kind == kindRecording {
		o.container = req.container
		if o.container == "" || o.container == "auto" {
			o.container = autoContainer(o)
		}
	}
	return o
}

// autoContainer is mp4 iff the audio is aac and the video absent, h264 or
// h265; otherwise mkv. A video-only recording has the placeholder audio
// codec "none-aac", so it gets mkv.
func autoContainer(o *output) string {
	audio := "none-aac"
	if o.audio != nil {
		audio, _ = o.audio.format["codec"].(string)
	}
	video := ""
	if o.video != nil {
		video, _ = o.video.format["codec"].(string)
	}
	if audio == "aac" && (video == "" || video == "h264" || video == "h265") {
		return "mp4"
	}
	return "mkv"
}

// firstAAC returns the room's mediaOut aac format, or nil.
func firstAAC(formats []any) map[string]any {
	for _, f := range mapsOf(formats) {
		if f["codec"] == "aac" {
			return f
		}
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return normalize(deepCopy(m)).(map[string]any)
}

// changeSource re-links one kind of o to stream from: the output's current
// format and parameters must be offered by the new source (conference.js
// updateSubscription). It reports success; on failure o is unchanged.
func changeSource(r *room, o *output, kind, from string, now time.Time) bool {
	off := offerOf(r, from, now)
	if off == nil {
		return false // Invalid path or value
	}
	switch kind {
	case "audio":
		if o.audio == nil || off.audio == nil || !off.audio.formatOffered(o.audio.format) {
			return false
		}
		if o.audio.from != from {
			o.audio.from = from
		}
	case "video":
		if o.video == nil || off.video == nil || !off.video.formatOffered(o.video.format) {
			return false
		}
		for name, value := range o.video.params {
			if name == "bitrate" {
				continue
			}
			if !off.video.paramOffered(name, value) {
				return false // e.g. Framerate is not acceptable
			}
		}
		o.video.from = from
	}
	return true
}
