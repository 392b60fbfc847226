package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noenv(string) string { return "" }

func TestDemoConverges(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"demo", "--step-timeout", "20s"}, &out, &errb, noenv); code != 0 {
		t.Fatalf("demo: exit %d\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{"Step 6", "converged in", "SRS refused it", "Demo complete: 6 steps converged, 0 duplicate streaming-ins",
		"agent + start_output", "mix of view common -> rtmp://127.0.0.1:1935/mix/live-class-1", "never routes a stream its own outputs push back",
		"agent - stop_output",
		"Terms used below:", "streaming-in  ", "srs-owt-proxy diff --config agent.yaml --policy", "srs-owt-proxy will perform the following actions:",
		"held: waiting until it is in view in room all-classes", "Next: point the agent at your own SRS and OWT",
		"behind the agent's back", "Installed: policy.yaml now routes live/class-* to room \"all-classes\""} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// What a newcomer reads has no internal error codes.
	for _, bad := range []string{"SRS error", "code 403", "3064"} {
		if strings.Contains(s, bad) {
			t.Errorf("demo output shows %q", bad)
		}
	}
	// Each step's lines in causal order: the publish, then the agent's answer.
	if i, j := strings.Index(s, "encoder publishes rtmp://srs/private/secret"), strings.Index(s, "agent answers SRS's hook: refuse"); i < 0 || j < i {
		t.Errorf("the refusal is printed before the publish (%d, %d)", i, j)
	}
	// No step's work is printed under the next one: every agent line of
	// step 3 (the class-2 stop) comes before step 4's title.
	if i, j := strings.LastIndex(s, "delete_room  room live-class-2"), strings.Index(s, "== Step 4"); i < 0 || j < i {
		t.Errorf("step 3's delete is printed after step 4 began (%d, %d)", i, j)
	}
	// The pushed mix is kept out by the loop guard, not by chance.
	if !strings.Contains(s, "kept 1 stream out of OWT as the agent's own output") || strings.Contains(s, "room mix-live-class-1") {
		t.Errorf("the demo does not show the loop guard at work")
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("routes:\n  - match: {app: live}\n    room: \"{{.Stream}}\"\n"), 0o644)
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, []byte("routes: []\n"), 0o644)
	os.WriteFile(bad, []byte("routes:\n  - match: {app: live}\n    room: \"{{.Nope}}\"\n    colour: red\n"), 0o644)
	loop := filepath.Join(dir, "loop.yaml")
	os.WriteFile(loop, []byte("routes:\n  - match: {app: \"*\"}\n    room:\n      name: \"{{.Stream}}\"\n      outputs: [{view: common, url: \"rtmp://127.0.0.1/mix/{{.Room}}\"}]\n"), 0o644)
	cases := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{}, 1, "", "Usage:\n  srs-owt-proxy [flags]"},
		{[]string{"nope"}, 1, "", `unknown command "nope"`},
		{[]string{"version"}, 0, "srs-owt-proxy ", ""},
		{[]string{"validate", "--policy", good}, 0, "valid: " + good, ""},
		{[]string{"validate", "--policy", bad}, 1, "", "bad.yaml:3: routes[0].room"},
		{[]string{"validate", "--policy", bad}, 1, "", "bad.yaml:4: routes[0].colour"},
		{[]string{"validate"}, 1, "", "give --config, --policy or both"},
		{[]string{"validate", "--policy", loop}, 0, "valid: " + loop, "warning: " + loop + ":5: routes[0].room.outputs[0].url: the pushed stream __defaultVhost__/mix/sample matches routes[0]"},
		{[]string{"validate", "--policy", empty}, 0, "valid: " + empty, "warning: " + empty + ": routes is empty: nothing will be routed to OWT"},
		{[]string{"diff"}, 1, "", "--config is required"},
		{[]string{"diff", "--config", "x.yaml", "--output", "yaml"}, 1, "", `--output "yaml"`},
		{[]string{"sync", "--config", "x.yaml"}, 1, "", "only --once"},
		{[]string{"run", "--log-format", "xml", "--config", "x.yaml"}, 1, "", `--log-format "xml"`},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		code := Main(c.args, &o, &e, noenv)
		if code != c.code || !strings.Contains(o.String(), c.out) || !strings.Contains(e.String(), c.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, o.String(), e.String(), c.code, c.out, c.err)
		}
	}
}
