package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noenv(string) string { return "" }

func TestDemoConverges(t *testing.T) {
	var out bytes.Buffer
	if err := demo(&out, 20*time.Second); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"Step 5", "converged in", "SRS refused it", "Demo complete: 5 steps converged, 0 duplicate streaming-ins"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q", want)
		}
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
