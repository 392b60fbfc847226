package policy

import (
	"strconv"
	"strings"
	"testing"
)

// Room options and route values at the bounds of their ranges.
func TestRangesAtTheirBounds(t *testing.T) {
	route := func(extra string) string {
		return "routes:\n  - match: {app: live}\n    room: r\n" + extra
	}
	opts := func(o string) string { return route("    room_options: " + o + "\n") }
	for _, tc := range []struct {
		name, yaml string
		ok         bool
	}{
		{"participantLimit 5", opts("{participantLimit: 5}"), true},
		{"participantLimit 2^30", opts("{participantLimit: " + strconv.Itoa(1<<30) + "}"), true},
		{"participantLimit 2^30+1", opts("{participantLimit: " + strconv.Itoa(1<<30+1) + "}"), false},
		{"participantLimit -1", opts("{participantLimit: -1}"), true},
		{"bgColor r 0", opts("{views: [{label: common, video: {bgColor: {r: 0, g: 255, b: 0}}}]}"), true},
		{"bgColor r 256", opts("{views: [{label: common, video: {bgColor: {r: 256, g: 0, b: 0}}}]}"), false},
		{"mediaOut framerate 0", opts("{mediaOut: {video: {parameters: {framerate: [0]}}}}"), false},
		{"mediaOut framerate 1", opts("{mediaOut: {video: {parameters: {framerate: [1, 240]}}}}"), true},
		{"motionFactor float", opts("{views: [{label: common, video: {motionFactor: 0.8}}]}"), true},
		{"motionFactor int", opts("{views: [{label: common, video: {motionFactor: 1}}]}"), true},
		{"motionFactor string", opts("{views: [{label: common, video: {motionFactor: fast}}]}"), false},
		{"view keyFrameInterval 1000", opts("{views: [{label: common, video: {parameters: {keyFrameInterval: 1000}}}]}"), true},
		{"view keyFrameInterval 1001", opts("{views: [{label: common, video: {parameters: {keyFrameInterval: 1001}}}]}"), false},
		{"mediaOut keyFrameInterval 1000", opts("{mediaOut: {video: {parameters: {keyFrameInterval: [1, 1000]}}}}"), true},
		{"mediaOut keyFrameInterval 1001", opts("{mediaOut: {video: {parameters: {keyFrameInterval: [1, 1001]}}}}"), false},
		{"buffer_size 0", route("    buffer_size: 0\n"), false},
		{"buffer_size 1", route("    buffer_size: 1\n"), true},
		{"defaults buffer_size 0", "defaults: {buffer_size: 0}\n" + route(""), false},
		{"defaults buffer_size 1", "defaults: {buffer_size: 1}\n" + route(""), true},
		{"buffer_size 2^30", route("    buffer_size: " + strconv.Itoa(1<<30) + "\n"), true},
		{"buffer_size 2^30+1", route("    buffer_size: " + strconv.Itoa(1<<30+1) + "\n"), false},
		{"reconcile interval 100ms", "reconcile: {interval: 100ms}\n" + route(""), true},
		{"reconcile interval 99ms", "reconcile: {interval: 99ms}\n" + route(""), false},
		{"delete_grace 0s", "reconcile: {delete_grace: 0s}\n" + route(""), true},
		{"delete_grace -1s", "reconcile: {delete_grace: -1s}\n" + route(""), false},
		{"one_input_per server", "reconcile: {one_input_per: server}\n" + route(""), true},
		{"one_input_per other", "reconcile: {one_input_per: room}\n" + route(""), false},
	} {
		_, err := ParsePolicy("p.yaml", []byte(tc.yaml), nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	p := mustParse(t, route(""), nil)
	if p.Reconcile.OneInputPer != InputPerStream || p.Reconcile.PerServer() {
		t.Errorf("one_input_per default %q, want stream", p.Reconcile.OneInputPer)
	}
	_, err := ParsePolicy("p.yaml", []byte("reconcile: {one_input_per: room}\n"+route("")), nil)
	if err == nil || !strings.Contains(err.Error(), `p.yaml:1: reconcile.one_input_per: "room" is not one of stream`) {
		t.Errorf("bad one_input_per: %v", err)
	}
}

// A policy built in code has a digest too.
func TestDigestOfBuiltPolicy(t *testing.T) {
	p := &Policy{}
	if d := p.Digest(); len(d) != 64 || d != p.Digest() {
		t.Errorf("digest %q", d)
	}
}

// A watcher's defaults: the process environment and the default debounce.
func TestWatcherDefaults(t *testing.T) {
	t.Setenv("SRS_OWT_WATCH_TEST", "yes")
	w := NewWatcher("p.yaml", 0, nil, nil)
	if w.getenv("SRS_OWT_WATCH_TEST") != "yes" || w.debounce != DefaultDebounce || w.logger == nil {
		t.Errorf("defaults: getenv %q debounce %v", w.getenv("SRS_OWT_WATCH_TEST"), w.debounce)
	}
}

// More values at the edges of what the parser takes.
func TestParserEdges(t *testing.T) {
	route := "routes:\n  - match: {app: live}\n    room: r\n"
	opts := func(o string) string { return route + "    room_options: " + o + "\n" }
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"inputLimit -1", opts("{inputLimit: -1}"), ""},
		{"inputLimit -2", opts("{inputLimit: -2}"), "inputLimit"},
		{"keyFrameInterval 1", opts("{mediaOut: {video: {parameters: {keyFrameInterval: [1]}}}}"), ""},
		{"keyFrameInterval 0", opts("{mediaOut: {video: {parameters: {keyFrameInterval: [0]}}}}"), "keyFrameInterval"},
		{"float stream name", "routes:\n  - match: {stream: 1.5}\n    room: r\n", ""},
		{"boolean stream name", "routes:\n  - match: {stream: true}\n    room: r\n", "must be a string, got a boolean"},
		{"output audio a number", withOutputs("r", "        - {view: common, url: \"rtmp://h/mix/{{.Room}}\", audio: 5}\n"), "audio: must be a mapping"},
	} {
		_, err := ParsePolicy("p.yaml", []byte(tc.yaml), nil)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	p := mustParse(t, "reconcile: {max_deletes: 7}\n"+route, nil)
	if p.Reconcile.MaxDeletes != 7 {
		t.Errorf("max_deletes 7 read as %d", p.Reconcile.MaxDeletes)
	}
}

// agent.yaml defaults, and an override that fills a section left empty.
func TestAgentDefaultsAndEnvIntoEmptySection(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", `srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "https://owt:3004", service_id: 5f00000000000000000000aa, service_key_env: OWT_SERVICE_KEY}
hooks:
policy:
  routes:
    - match: {app: live}
      room: "{{.Stream}}"
`)
	a, err := LoadAgent(path, envOf(map[string]string{"OWT_SERVICE_KEY": "k", EnvHooksListen: "127.0.0.1:9999"}))
	if err != nil {
		t.Fatal(err)
	}
	if a.OWT.RateLimit != 1000 {
		t.Errorf("owt.rate_limit default %d, want 1000", a.OWT.RateLimit)
	}
	if a.Hooks.Listen != "127.0.0.1:9999" {
		t.Errorf("hooks.listen from the environment into an empty hooks: section: %q", a.Hooks.Listen)
	}
}

// Every match key counts in the digest.
func TestDigestSeesEveryMatchKey(t *testing.T) {
	d := func(match string) string {
		return mustParse(t, "routes:\n  - match: "+match+"\n    room: r\n", nil).Digest()
	}
	base := d("{vhost: v, app: live, stream: a, query: {k: x}}")
	for _, m := range []string{"{vhost: w, app: live, stream: a, query: {k: x}}", "{vhost: v, app: other, stream: a, query: {k: x}}",
		"{vhost: v, app: live, stream: b, query: {k: x}}", "{vhost: v, app: live, stream: a, query: {k: y}}", "{vhost: v, app: live, query: {k: x}}"} {
		if d(m) == base {
			t.Errorf("%s has the digest of the base policy", m)
		}
	}
}
