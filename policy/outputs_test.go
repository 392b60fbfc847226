package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// withOutputs is a route whose room carries the given outputs YAML (indented
// under outputs:, 8 spaces).
func withOutputs(room, outputs string) string {
	return "routes:\n  - match: {app: live}\n    room:\n      name: \"" + room + "\"\n      outputs:\n" + outputs
}

func TestOutputsErrors(t *testing.T) {
	tests := []struct {
		name    string
		outputs string
		room    string
		want    []string
	}{
		{"not a list", "        {view: common}\n", "", []string{`p.yaml:6: routes[0].room.outputs: must be a list, got a mapping`}},
		{"unknown key", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", colour: red}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].colour: unknown key "colour"`}},
		{"missing view", "        - {url: \"rtmp://h/mix/{{.Room}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].view: missing`}},
		{"bad view", "        - {view: \"a b\", url: \"rtmp://h/mix/{{.Room}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].view: invalid view label "a b"`}},
		{"neither url nor record", "        - {view: common}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0]: missing url`}},
		{"both url and record", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", record: {container: mp4}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].record: an output is either a streaming-out (url) or a recording (record), not both`}},
		{"unknown template field", "        - {view: common, url: \"rtmp://h/mix/{{.Stream}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: template: unknown field .Stream (output URLs know .Room and .View)`}},
		{"bad template", "        - {view: common, url: \"rtmp://h/mix/{{.Room\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: template: unclosed action`}},
		{"param is not an output function", "        - {view: common, url: \"rtmp://h/{{param \\\"x\\\"}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: template: function "param" not defined`}},
		{"no host", "        - {view: common, url: \"rtmp:///mix/{{.Room}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: the output URL "rtmp:///mix/live-sample" must be an absolute URL with a host`}},
		{"spaces", "        - {view: common, url: \"rtmp://h/mix/{{.Room}} x\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: the output URL "rtmp://h/mix/live-sample x" contains spaces`}},
		{"unknown protocol from url", "        - {view: common, url: \"srt://h/mix/{{.Room}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: cannot tell the protocol of "srt://h/mix/live-sample"`}},
		{"http without hls suffix", "        - {view: common, url: \"http://h/mix/{{.Room}}\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: cannot tell the protocol`}},
		{"unknown protocol", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", protocol: srt}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].protocol: unknown protocol "srt"`}},
		{"protocol against scheme", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", protocol: rtsp}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: protocol rtsp needs a rtsp:// URL`}},
		{"hls over rtmp", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}.m3u8\", protocol: hls}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: protocol hls pushes over HTTP`}},
		{"protocol on a recording", "        - {view: common, record: {}, protocol: rtmp}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].protocol: only a streaming-out (url) has a protocol`}},
		{"unknown container", "        - {view: common, record: {container: avi}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].record.container: unknown container "avi"`}},
		{"record not a mapping", "        - {view: common, record: mp4}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].record: must be a mapping, got a string`}},
		{"both media false", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: false, video: false}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0]: audio and video are both false`}},
		{"opus on a streaming-out", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: {codec: opus}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].audio.codec: a streaming-out carries aac audio only`}},
		{"g722 recording", "        - {view: common, record: {}, audio: {codec: g722}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].audio.codec: a recording takes aac, opus, pcmu or pcma audio`}},
		{"sample rate without codec", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: {sample_rate: 48000}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].audio.codec: missing`}},
		{"channels out of range", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: {codec: aac, channels: 9}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].audio.channels: must be between 1 and 8, got 9`}},
		{"audio not a mapping", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: [aac]}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].audio: must be a mapping, got a list`}},
		{"vp8 streaming-out", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {codec: vp8}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.codec: a streaming-out carries h264 video only`}},
		{"unknown recording video codec", "        - {view: common, record: {}, video: {codec: av1}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.codec: unknown video codec "av1"`}},
		{"profile without h264", "        - {view: common, record: {}, video: {codec: vp8, profile: CB}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.profile: a profile needs codec h264`}},
		{"unknown profile", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {profile: X}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.profile: unknown profile "X"`}},
		{"half a resolution", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {resolution: {width: 1280}}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.resolution: needs both width and height`}},
		{"resolution too small", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {resolution: {width: 8, height: 8}}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.resolution.width: must be between 16 and 7680, got 8`,
				`p.yaml:6: routes[0].room.outputs[0].video.resolution.height: must be between 16 and 4320, got 8`}},
		{"numeric bitrate", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {bitrate: 2000}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.bitrate: OWT takes only a relative bitrate`}},
		{"unknown bitrate", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {bitrate: x0.5}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.bitrate: unknown bitrate "x0.5"`}},
		{"framerate zero", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {framerate: 0}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.framerate: must be between 1 and 120, got 0`}},
		{"key frame interval not int", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {key_frame_interval: often}}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].video.key_frame_interval: must be an integer, got a string`}},
		{"same URL for every room", "        - {view: common, url: \"rtmp://h/mix/all\"}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].url: every room of this route would push to the same URL "rtmp://h/mix/all"; put {{.Room}} in it`}},
		{"duplicate URL in a room", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\"}\n        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: false}\n", "",
			[]string{`p.yaml:7: routes[0].room.outputs[1].url: the same URL as routes[0].room.outputs[0]`}},
		{"view not in created room", "        - {view: side, url: \"rtmp://h/mix/{{.Room}}\"}\n      options: {views: [{label: common}]}\n", "",
			[]string{`p.yaml:6: routes[0].room.outputs[0].view: view "side" is not among the views the room is created with ([common])`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			room := tc.room
			if room == "" {
				room = "{{.App}}-{{.Stream}}"
			}
			src := withOutputs(room, tc.outputs)
			p, err := ParsePolicy("p.yaml", []byte(src), envOf(nil))
			if err == nil {
				t.Fatalf("no error; policy %s\n%s", p.Summary(), src)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T: %v", err, err)
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := errs[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got, w)
				}
			}
		})
	}
}

// outputsPolicy is the README example plus a constant room, an
// HLS push and a route that would take the pushed mix back in.
const outputsPolicy = `routes:
  - match: {app: live, stream: "class-*"}
    room:
      name: "{{.App}}-{{.Stream}}"
      outputs:
        - view: common
          url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"
          video: {resolution: {width: 1280, height: 720}, framerate: 25}
        - view: common
          record: {container: mp4}
        - view: common
          url: "https://cdn.example/hls/{{.Room | lower}}/index.m3u8?k=1"
          audio: {codec: aac, sample_rate: 48000, channels: 2}
          video: {codec: h264, profile: CB, key_frame_interval: 30, bitrate: x0.8}
        - view: common
          url: "http://cdn.example/live/{{.Room}}"
          protocol: dash
          audio: false
        - view: common
          record:
          video: false
  - match: {app: wall}
    room:
      name: video-wall
      create: false
      outputs:
        - {view: common, url: "rtsp://10.0.0.9/wall"}
  - match: {app: mix}
    action: ignore
  - match: {app: "*"}
    room: "{{.App}}"
`

func TestOutputsResolve(t *testing.T) {
	p := mustParse(t, outputsPolicy, nil)
	tg, err := p.Resolve(in("__defaultVhost__", "live", "class-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := []Output{
		{View: "common", URL: "rtmp://127.0.0.1:1935/mix/live-class-1", Protocol: "rtmp", Audio: &OutputAudio{},
			Video: &OutputVideo{Width: 1280, Height: 720, Framerate: 25}, Line: 6, Field: "routes[0].room.outputs[0]"},
		{View: "common", Container: "mp4", Audio: &OutputAudio{}, Video: &OutputVideo{}, Line: 9, Field: "routes[0].room.outputs[1]"},
		{View: "common", URL: "https://cdn.example/hls/live-class-1/index.m3u8?k=1", Protocol: "hls",
			Audio: &OutputAudio{Codec: "aac", SampleRate: 48000, Channels: 2},
			Video: &OutputVideo{Codec: "h264", Profile: "CB", KeyFrameInterval: 30, Bitrate: "x0.8"}, Line: 11, Field: "routes[0].room.outputs[2]"},
		{View: "common", URL: "http://cdn.example/live/live-class-1", Protocol: "dash", Video: &OutputVideo{}, Line: 15, Field: "routes[0].room.outputs[3]"},
		{View: "common", Container: "auto", Audio: &OutputAudio{}, Line: 19, Field: "routes[0].room.outputs[4]"},
	}
	if !reflect.DeepEqual(tg.Outputs, want) {
		t.Fatalf("outputs:\n got %+v\nwant %+v", tg.Outputs, want)
	}
	// Rendering is per room, and the room name is escaped into the URL.
	tg2, err := p.Resolve(in("__defaultVhost__", "live", "class-2 b", ""))
	if err != nil {
		t.Fatal(err)
	}
	if tg2.Outputs[0].URL != "rtmp://127.0.0.1:1935/mix/live-class-2%20b" {
		t.Fatalf("URL = %s", tg2.Outputs[0].URL)
	}
	// Targets do not share output values.
	tg2.Outputs[0].Video.Width = 1
	if tg3, _ := p.Resolve(in("__defaultVhost__", "live", "class-1", "")); tg3.Outputs[0].Video.Width != 1280 {
		t.Fatal("targets share an output's video")
	}
	wall, err := p.Resolve(in("__defaultVhost__", "wall", "cam", ""))
	if err != nil || len(wall.Outputs) != 1 || wall.Outputs[0].URL != "rtsp://10.0.0.9/wall" || wall.Outputs[0].Protocol != "rtsp" {
		t.Fatalf("wall outputs %+v, %v", wall.Outputs, err)
	}
	plain, _ := p.Resolve(in("__defaultVhost__", "other", "x", ""))
	if plain.Outputs != nil {
		t.Fatalf("route without outputs has %v", plain.Outputs)
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %v", w)
	}
	if got := want[0].String(); got != "output rtmp://127.0.0.1:1935/mix/live-class-1 from view common" {
		t.Errorf("String = %q", got)
	}
	if got := want[1].String(); got != "recording (mp4) from view common" {
		t.Errorf("String = %q", got)
	}
	if want[0].IsRecording() || !want[1].IsRecording() {
		t.Error("IsRecording")
	}
	keys := map[string]bool{}
	for _, o := range tg.Outputs {
		keys[o.Key()] = true
	}
	if len(keys) != len(tg.Outputs) || !keys["url rtmp://127.0.0.1:1935/mix/live-class-1"] ||
		!keys["record common mp4 audio=/0/0 video=//0x0/0/0/"] || !keys["record common auto audio=/0/0 video=none"] {
		t.Errorf("keys %v", keys)
	}
}

func TestOutputsURLLength(t *testing.T) {
	// "rtmp://h/mix/" and the sample room "live-sample" are 24 bytes.
	at := func(n int) string {
		return withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/"+strings.Repeat("y", n-24)+"{{.Room}}\"}\n")
	}
	mustParse(t, at(4096), nil)
	if _, err := ParsePolicy("p.yaml", []byte(at(4097)), envOf(nil)); err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Fatalf("4097 bytes: %v", err)
	}
}

func TestOutputsRenderError(t *testing.T) {
	p := mustParse(t, withOutputs("{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\"}\n"), nil)
	long := strings.Repeat("x", 120)
	_, err := p.Resolve(in("__defaultVhost__", "live", long, ""))
	if err != nil {
		t.Fatalf("a long room: %v", err)
	}
	p2 := mustParse(t, withOutputs("{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/"+strings.Repeat("y", 4070)+"{{.Room}}\"}\n"), nil)
	_, err = p2.Resolve(in("__defaultVhost__", "live", long, ""))
	var fe FieldError
	if !errors.As(err, &fe) || fe.Field != "routes[0].room.outputs[0].url" || fe.Line != 6 || !strings.Contains(fe.Problem, `room "`+long+`": the output URL is longer than 4096 bytes`) {
		t.Fatalf("err = %v", err)
	}
}

func TestOutputsAcrossRoutes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"constant URL in two rooms", `routes:
  - match: {app: a}
    room: {name: ra, outputs: [{view: common, url: "rtmp://h/mix/one"}]}
  - match: {app: b}
    room: {name: rb, outputs: [{view: common, url: "rtmp://h/mix/one"}]}
`, []string{`p.yaml:5: routes[1].room.outputs[0].url: renders the same URL as routes[0].room.outputs[0] for a different room`}},
		{"same pattern, other settings", `routes:
  - match: {app: a}
    room: {name: "r-{{.Stream}}", outputs: [{view: common, url: "rtmp://h/mix/{{.Room}}"}]}
  - match: {app: b}
    room: {name: "r-{{.Stream}}", outputs: [{view: common, url: "rtmp://h/mix/{{.Room}}", audio: false}]}
`, []string{`p.yaml:5: routes[1].room.outputs[0].url: renders the same URL as routes[0].room.outputs[0], with other settings`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy("p.yaml", []byte(tc.yaml), envOf(nil))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != len(tc.want) {
				t.Fatalf("err = %v, want %d errors", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, errs[i].Error(), w)
				}
			}
		})
	}
	// The same output declared by two routes into one room is fine.
	mustParse(t, `routes:
  - match: {app: a}
    room: {name: "r-{{.Stream}}", outputs: [{view: common, url: "rtmp://h/mix/{{.Room}}"}]}
  - match: {app: b}
    room: {name: "r-{{.Stream}}", outputs: [{view: common, url: "rtmp://h/mix/{{.Room}}"}]}
`, nil)
}

func TestOutputsLoopWarning(t *testing.T) {
	src := `routes:
  - match: {app: live}
    room:
      name: "r-{{.Stream}}"
      outputs:
        - {view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}
        - {view: common, url: "rtmp://127.0.0.1:1935/live/{{.Room}}-out?vhost=v2"}
        - {view: common, url: "rtmp://127.0.0.1:1935/safe/{{.Room}}"}
        - {view: common, record: {}}
        - {view: common, url: "http://h/x/{{.Room}}.m3u8"}
  - match: {app: safe}
    action: ignore
  - match: {app: "*"}
    room: "all-{{.App}}"
`
	p := mustParse(t, src, nil)
	w := p.Warnings()
	want := []string{
		`policy.yaml:6: routes[0].room.outputs[0].url: the pushed stream __defaultVhost__/mix/r-sample matches routes[2] (line 13)`,
		`policy.yaml:7: routes[0].room.outputs[1].url: the pushed stream v2/live/r-sample-out matches routes[0] (line 2)`,
	}
	if len(w) != len(want) {
		t.Fatalf("warnings %v", w)
	}
	for i := range want {
		if !strings.HasPrefix(w[i], want[i]) {
			t.Errorf("warning %d:\n got %s\nwant %s...", i, w[i], want[i])
		}
	}
}

func TestOutputTarget(t *testing.T) {
	tests := []struct {
		url                string
		vhost, app, stream string
		ok                 bool
	}{
		{"rtmp://127.0.0.1:1935/mix/live-class-1", "__defaultVhost__", "mix", "live-class-1", true},
		{"rtmp://srs.example/mix/r?vhost=v.example&k=1", "v.example", "mix", "r", true},
		{"rtmps://h/a/b/c", "__defaultVhost__", "a/b", "c", true},
		{"rtmp://h/onlyapp", "", "", "", false},
		{"rtmp://h/app/", "", "", "", false},
		{"rtsp://h/a/b", "", "", "", false},
		{"http://h/a/b.m3u8", "", "", "", false},
		{"::", "", "", "", false},
	}
	for _, tc := range tests {
		v, a, s, ok := OutputTarget(tc.url)
		if v != tc.vhost || a != tc.app || s != tc.stream || ok != tc.ok {
			t.Errorf("OutputTarget(%q) = %q %q %q %v", tc.url, v, a, s, ok)
		}
	}
}

func TestOutputsDigest(t *testing.T) {
	base := withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\"}\n")
	d := mustParse(t, base, nil).Digest()
	if d2 := mustParse(t, base+"\n# a comment\n", nil).Digest(); d2 != d {
		t.Error("a comment changed the digest")
	}
	for _, changed := range []string{
		withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix2/{{.Room}}\"}\n"),
		withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: false}\n"),
		withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", video: {framerate: 12}}\n"),
		withOutputs("{{.App}}-{{.Stream}}", "        - {view: common, record: {}}\n"),
	} {
		if mustParse(t, changed, nil).Digest() == d {
			t.Errorf("digest unchanged for\n%s", changed)
		}
	}
}

func TestLoopGuard(t *testing.T) {
	src := `routes:
  - match: {app: "*"}
    room:
      name: "{{.App}}-{{.Stream}}"
      outputs:
        - {view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}
        - {view: common, url: "rtmp://srs/out/{{.Room | lower}}-hd?vhost=cdn"}
        - {view: common, url: "rtmp://srs/{{.Room}}/fixed"}
        - {view: common, url: "http://h/{{.Room}}.m3u8"}
        - {view: common, record: {}}
`
	p := mustParse(t, src, nil)
	tests := []struct {
		vhost, app, stream string
		loop               bool
	}{
		{"__defaultVhost__", "mix", "live-class-1", true},
		{"any.vhost", "mix", "x", true},
		{"__defaultVhost__", "mix", "a b", true},
		{"__defaultVhost__", "mix", "", false},
		{"cdn", "out", "live-a-hd", true},
		{"__defaultVhost__", "out", "live-a-hd", false},
		{"cdn", "out", "live-a", false},
		{"__defaultVhost__", "live-a", "fixed", true},
		{"__defaultVhost__", "live", "cam", false},
		{"__defaultVhost__", "mixx", "a", false},
	}
	for _, tc := range tests {
		if got := p.IsOutputTarget(tc.vhost, tc.app, tc.stream); got != tc.loop {
			t.Errorf("IsOutputTarget(%s/%s/%s) = %v, want %v", tc.vhost, tc.app, tc.stream, got, tc.loop)
		}
		tg, err := p.Resolve(in(tc.vhost, tc.app, tc.stream, ""))
		if err != nil && !tc.loop {
			continue // an empty stream name renders no room
		}
		if tc.loop && (tg.Action != ActionIgnore || !tg.Loop || tg.Room != "" || tg.Route != 0) {
			t.Errorf("Resolve(%s/%s/%s) = %+v, want ignored as a loop", tc.vhost, tc.app, tc.stream, tg)
		}
		if !tc.loop && tc.stream != "" && (tg.Action != ActionRoute || tg.Loop) {
			t.Errorf("Resolve(%s/%s/%s) = %+v, want routed", tc.vhost, tc.app, tc.stream, tg)
		}
	}
	// A deny route still denies: the guard only turns route into ignore.
	d := mustParse(t, "routes:\n  - match: {app: mix}\n    action: deny\n  - match: {}\n    room: {name: \"{{.Stream}}\", outputs: [{view: common, url: \"rtmp://h/mix/{{.Room}}\"}]}\n", nil)
	if tg, _ := d.Resolve(in("__defaultVhost__", "mix", "a", "")); tg.Action != ActionDeny || tg.Loop {
		t.Errorf("deny route: %+v", tg)
	}
	if !d.IsOutputTarget("v", "mix", "a") || mustParse(t, designPolicy, map[string]string{"WALL_TOKEN": "x"}).IsOutputTarget("v", "mix", "a") {
		t.Error("IsOutputTarget without outputs")
	}
}

func TestOutputSpec(t *testing.T) {
	a := Output{View: "common", URL: "rtmp://h/x", Protocol: "rtmp", Audio: &OutputAudio{}, Video: &OutputVideo{Framerate: 15}}
	b := a
	b.Video = &OutputVideo{Framerate: 12}
	c := a
	c.Audio = nil
	if a.Spec() == b.Spec() || a.Spec() == c.Spec() || a.Key() != b.Key() {
		t.Errorf("specs %q %q %q, keys %q %q", a.Spec(), b.Spec(), c.Spec(), a.Key(), b.Key())
	}
	if got := a.Spec(); got != "rtmp  audio=/0/0 video=//0x0/15/0/" {
		t.Errorf("Spec = %q", got)
	}
}
