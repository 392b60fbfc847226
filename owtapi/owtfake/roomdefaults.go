package owtfake

import "encoding/json"

// Room defaults of the real data_access model and defaults.js (spec 5.1).
const (
	defaultRolesJSON = `[{"role":"presenter","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}},
{"role":"viewer","publish":{"audio":false,"video":false},"subscribe":{"audio":true,"video":true}},
{"role":"audio_only_presenter","publish":{"audio":true,"video":false},"subscribe":{"audio":true,"video":false}},
{"role":"video_only_viewer","publish":{"audio":false,"video":false},"subscribe":{"audio":false,"video":true}},
{"role":"sip","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}]`
	defaultMediaInJSON = `{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2},{"codec":"isac","sampleRate":16000},{"codec":"isac","sampleRate":32000},
{"codec":"g722","sampleRate":16000,"channelNum":1},{"codec":"pcma"},{"codec":"pcmu"},{"codec":"aac"},{"codec":"ac3"},
{"codec":"nellymoser"},{"codec":"ilbc"}],
"video":[{"codec":"h264"},{"codec":"vp8"},{"codec":"vp9"}]}`
	defaultMediaOutJSON = `{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2},{"codec":"isac","sampleRate":16000},{"codec":"isac","sampleRate":32000},
{"codec":"g722","sampleRate":16000,"channelNum":1},{"codec":"pcma"},{"codec":"pcmu"},{"codec":"aac","sampleRate":48000,"channelNum":2},
{"codec":"ac3"},{"codec":"nellymoser"},{"codec":"ilbc"}],
"video":{"format":[{"codec":"vp8"},{"codec":"h264","profile":"CB"},{"codec":"h264","profile":"B"},{"codec":"vp9"}],
"parameters":{"resolution":["x3/4","x2/3","x1/2","x1/3","x1/4","hd1080p","hd720p","svga","vga","qvga","cif"],
"framerate":[6,12,15,24,30,48,60],"bitrate":["x0.8","x0.6","x0.4","x0.2"],"keyFrameInterval":[100,30,5,2,1]}}}`
	defaultTranscodingJSON = `{"video":{"parameters":{"resolution":true,"framerate":true,"bitrate":true,"keyFrameInterval":true},"format":true},"audio":true}`
	defaultNotifyingJSON   = `{"participantActivities":true,"streamChange":true}`
	defaultViewAudioJSON   = `{"format":{"codec":"opus","sampleRate":48000,"channelNum":2},"vad":true}`
	defaultViewVideoJSON   = `{"parameters":{"resolution":{"width":640,"height":480},"framerate":24,"keyFrameInterval":100},
"bgColor":{"r":0,"g":0,"b":0},"layout":{"templates":{"base":"fluid","custom":[]},"fitPolicy":"letterbox"},
"format":{"codec":"vp8"},"maxInput":16,"motionFactor":0.8,"keepActiveInputPrimary":false}`

	// Media reported for a streaming-in: the H.264 CB 1280x720 + AAC source of spec section 6.
	streamingAudioFormatJSON = `{"codec":"aac"}`
	streamingVideoFormatJSON = `{"codec":"h264","profile":"CB"}`
	streamingVideoParamsJSON = `{"resolution":{"width":1280,"height":720}}`
	// Media of a WebRTC publication added through AddForeignStream.
	webrtcAudioFormatJSON = `{"codec":"opus","sampleRate":48000,"channelNum":2}`
	webrtcVideoFormatJSON = `{"codec":"vp8"}`
	webrtcVideoParamsJSON = `{"resolution":{"width":640,"height":480},"framerate":30}`
	// videoOptionalJSON is the (opaque) media.video.optional of every stream.
	videoOptionalJSON = `{"format":[{"codec":"vp8"},{"codec":"h264","profile":"B"},{"codec":"vp9"}],
"parameters":{"resolution":[{"width":960,"height":540},{"width":852,"height":480},{"width":640,"height":360},{"width":426,"height":240},{"width":320,"height":180},{"width":800,"height":600},{"width":640,"height":480},{"width":320,"height":240},{"width":352,"height":288}],
"bitrate":["x0.8","x0.6","x0.4","x0.2"],"framerate":[],"keyFrameInterval":[100,30,5,2,1]}}`
)

// parseConst decodes one of the constants above into fresh, mutable values
// (numbers as float64).
func parseConst(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic("owtfake: bad built-in JSON constant: " + err.Error())
	}
	return v
}

// constMap is parseConst for objects.
func constMap(s string) map[string]any {
	return parseConst(s).(map[string]any)
}
