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
		{"buffer_size 2^30", route("    buffer_size: " + strconv.Itoa(1<<30) + "\n"), true},
		{"buffer_size 2^30+1", route("    buffer_size: " + strconv.Itoa(1<<30+1) + "\n"), false},
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
