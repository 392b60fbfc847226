package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// sync --once prints each result and a count; it exits 0 only when every
// operation applied, 1 when even one failed.
func TestSyncOnceExitCode(t *testing.T) {
	for _, c := range []struct {
		name, unreachable string
		code              int
		applied           string
	}{
		{"all applied", "", 0, `Applied: [1-9][0-9]* operation\(s\), 0 failed\.\n`},
		{"one pull fails", "live/a1", 1, `(?s)start_input lobby .*live/a1.*FAILED: .*Applied: [1-9][0-9]* operation\(s\), 1 failed\.\n`},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := lab.Start("")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, _, err := l.SRS.Publish(context.Background(), "", "live", "a1", ""); err != nil {
				t.Fatal(err)
			}
			if err := l.OWT.SetUnreachable(c.unreachable); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pf, af := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "agent.yaml")
			os.WriteFile(pf, []byte("routes:\n  - match: {app: live}\n    room: lobby\n"), 0o644)
			os.WriteFile(af, []byte(l.AgentYAML("127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "state.json"), pf)), 0o644)
			env := func(k string) string {
				if k == "OWT_SERVICE_KEY" {
					return lab.ServiceKey
				}
				return ""
			}
			var o, e bytes.Buffer
			code := Main([]string{"sync", "--config", af, "--once"}, &o, &e, env)
			if code != c.code || !regexp.MustCompile(c.applied).MatchString(o.String()) {
				t.Errorf("exit %d, want %d; stdout does not match %q:\n%s\nstderr:\n%s", code, c.code, c.applied, o.String(), e.String())
			}
		})
	}
}
