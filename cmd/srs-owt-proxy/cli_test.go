package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

var commands = []string{"run", "diff", "sync", "validate", "status", "demo", "version", "completion"}

// Every command's --help and -h exit 0 and print, on stdout, a one-line
// description, the flags and an example (golden files).
func TestHelp(t *testing.T) {
	for _, cmd := range append([]string{""}, commands...) {
		name := cmd
		if name == "" {
			name = "root"
		}
		t.Run(name, func(t *testing.T) {
			var outs []string
			for _, flag := range []string{"--help", "-h"} {
				args := []string{flag}
				if cmd != "" {
					args = []string{cmd, flag}
				}
				var o, e bytes.Buffer
				if code := Main(args, &o, &e, noenv); code != 0 || e.Len() != 0 {
					t.Fatalf("%v: exit %d, stderr %q", args, code, e.String())
				}
				outs = append(outs, o.String())
			}
			if outs[0] != outs[1] {
				t.Errorf("--help and -h differ")
			}
			out := outs[0]
			first, _, _ := strings.Cut(out, "\n")
			if len(first) < 20 || strings.HasPrefix(first, "Usage") {
				t.Errorf("first line is not a description: %q", first)
			}
			for _, want := range []string{"Usage:", "Flags:", "-h, --help"} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q", want)
				}
			}
			if cmd != "completion" && !strings.Contains(out, "Examples:") {
				t.Errorf("help has no example")
			}
			golden(t, "help-"+name+".golden", []byte(out))
		})
	}
	// `help CMD` says the same as `CMD --help`.
	var a, b, e bytes.Buffer
	Main([]string{"help", "diff"}, &a, &e, noenv)
	Main([]string{"diff", "--help"}, &b, &e, noenv)
	if a.String() != b.String() {
		t.Error("help diff differs from diff --help")
	}
}

// Flags are named in errors the way they were typed, and a command
// rejects the flags it does not use.
func TestFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"diff", "--bogus"}, "srs-owt-proxy diff: unknown flag: --bogus\nRun 'srs-owt-proxy diff --help' for its flags and an example.\n"},
		{[]string{"run", "-x"}, "srs-owt-proxy run: unknown shorthand flag: 'x' in -x\n"},
		{[]string{"validate", "--log-format", "json"}, "srs-owt-proxy validate: unknown flag: --log-format\n"},
		{[]string{"validate", "--once"}, "unknown flag: --once"},
		{[]string{"status", "--config", "a.yaml"}, "srs-owt-proxy status: unknown flag: --config\n"},
		{[]string{"version", "--config", "a.yaml"}, "srs-owt-proxy version: unknown flag: --config\n"},
		{[]string{"demo", "--log-level", "debug"}, "srs-owt-proxy demo: unknown flag: --log-level\n"},
		{[]string{"sync", "--output", "json"}, "srs-owt-proxy sync: unknown flag: --output\n"},
		{[]string{"diff", "--config"}, "srs-owt-proxy diff: flag needs an argument: --config\n"},
		{[]string{"demo", "--step-timeout", "soon"}, `invalid argument "soon" for "--step-timeout"`},
		{[]string{"diff", "extra"}, `srs-owt-proxy diff: unexpected argument "extra": diff takes only flags`},
		{[]string{"nope"}, `srs-owt-proxy: unknown command "nope" for "srs-owt-proxy"`},
	} {
		var o, e bytes.Buffer
		if code := Main(c.args, &o, &e, noenv); code != 1 || !strings.Contains(e.String(), c.err) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, e.String(), c.err)
		}
	}
}

// `completion bash` and `completion zsh` print scripts for the shells.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "# bash completion V2 for srs-owt-proxy", "zsh": "#compdef srs-owt-proxy"} {
		var o, e bytes.Buffer
		if code := Main([]string{"completion", shell}, &o, &e, noenv); code != 0 || !strings.Contains(o.String(), want) {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, o.Len(), e.String())
		}
	}
	// The shell asks the binary itself for the candidates.
	var o, e bytes.Buffer
	Main([]string{"__complete", "di"}, &o, &e, noenv)
	if !strings.Contains(o.String(), "diff\t") {
		t.Errorf("completing \"di\": %q", o.String())
	}
	o.Reset()
	Main([]string{"__complete", "diff", "--det"}, &o, &e, noenv)
	if !strings.Contains(o.String(), "--detailed-exitcode") {
		t.Errorf("completing \"diff --det\": %q", o.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		var o, e bytes.Buffer
		if code := Main(args, &o, &e, noenv); code != 0 || !strings.HasPrefix(o.String(), "srs-owt-proxy ") || !strings.Contains(o.String(), "(commit ") {
			t.Errorf("%v: exit %d, %q %q", args, code, o.String(), e.String())
		}
	}
}

// JSON logs carry durations as seconds (a float), text logs as Go durations.
func TestLogDurations(t *testing.T) {
	var b bytes.Buffer
	l := logging{format: "json", level: "info"}
	log, err := l.logger(&b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("operation applied", "duration", 1500*time.Millisecond, "room", "a")
	if !strings.Contains(b.String(), `"duration":1.5,`) {
		t.Errorf("json: %s", b.String())
	}
	b.Reset()
	l.format = "text"
	if log, err = l.logger(&b); err != nil {
		t.Fatal(err)
	}
	log.Info("x", "duration", 1500*time.Millisecond)
	if !strings.Contains(b.String(), "duration=1.5s") {
		t.Errorf("text: %s", b.String())
	}
	for _, bad := range []logging{{format: "xml", level: "info"}, {format: "json", level: "loud"}} {
		if _, err := bad.logger(&b); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// The flags of common agent.yaml keys beat their variables, which beat the file.
func TestKeyFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(`srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "http://file:3000", service_id: 5f0000000000000000000001, service_key_env: K}
policy: {routes: [{match: {app: live}, room: "{{.Stream}}"}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"K": "k", "SRS_OWT_OWT_URL": "http://env:3000"}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--config", cfg}, "OWT http://env:3000"},
		{[]string{"validate", "--config", cfg, "--owt-url", "http://flag:3000"}, "OWT http://flag:3000"},
	} {
		var o, e bytes.Buffer
		if code := Main(c.args, &o, &e, getenv); code != 0 || !strings.Contains(o.String(), c.want) {
			t.Errorf("%v: exit %d, %q %q; want %q", c.args, code, o.String(), e.String(), c.want)
		}
	}
	// A flag beats the older short variable of its key too.
	env["SRS_OWT_METRICS_LISTEN"] = "127.0.0.1:1"
	var f files
	cmd := &cobra.Command{Use: "x"}
	f.register(cmd, getenv)
	if err := cmd.Flags().Set("metrics-listen", "127.0.0.1:2"); err != nil {
		t.Fatal(err)
	}
	f.config = cfg
	if a, _, _, err := f.load(getenv); err != nil || a.Agent.MetricsListen != "127.0.0.1:2" {
		t.Errorf("--metrics-listen beside $SRS_OWT_METRICS_LISTEN: %+v %v", a, err)
	}
	var o, e bytes.Buffer
	if code := Main([]string{"validate", "--config", cfg, "--hooks-listen", "nonsense", "--agent-id", "a b"}, &o, &e, getenv); code != 1 ||
		!strings.Contains(e.String(), "hooks.listen") || !strings.Contains(e.String(), "agent.id") {
		t.Errorf("bad flag values: exit %d, %q", code, e.String())
	}
}
