package e2e

import (
	"strings"
	"testing"
)

// TestOutputsCLI: with the built binary, a policy with outputs passes
// validate, diff plans the outputs without writing, sync --once starts
// them, and the next diff is clean; after the unpublish sync --once stops
// them before it deletes the room.
func TestOutputsCLI(t *testing.T) {
	e := newEnv(t, strings.Replace(outputsPolicy, "interval: 1s, delete_grace: 300ms", "interval: 30s, delete_grace: 0s", 1))
	if out, stderr, code := e.cli("validate", "--config", e.agentFile); code != 0 || !strings.Contains(out, "valid:") {
		t.Fatalf("validate exit %d\n%s\n%s", code, out, stderr)
	}
	e.publish("live", "class-1", true)
	out, stderr, code := e.cli("diff", "--config", e.agentFile, "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("diff exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"+ output rtmp://127.0.0.1:1935/mix/live-class-1 from view common", "+ recording (mp4) from view common"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if n := len(e.owtState().OutputsCreated); n != 0 {
		t.Fatalf("diff started %d outputs", n)
	}
	if out, stderr, code := e.cli("sync", "--config", e.agentFile, "--once"); code != 0 {
		t.Fatalf("sync --once exit %d\n%s\n%s", code, out, stderr)
	}
	_, urls, recs, wrong := outputsOf(e.owtState(), "live-class-1")
	if strings.Join(urls, ",") != "rtmp://127.0.0.1:1935/mix/live-class-1" || recs != 1 || wrong != "" {
		t.Fatalf("after sync --once: outputs %v, %d recording(s), source %q", urls, recs, wrong)
	}
	if out, _, code := e.cli("diff", "--config", e.agentFile, "--detailed-exitcode"); code != 0 {
		t.Fatalf("diff after sync exit %d:\n%s", code, out)
	}
	e.unpublish("live", "class-1", true)
	out, _, _ = e.cli("diff", "--config", e.agentFile)
	if i, j := strings.Index(out, "- output rtmp://127.0.0.1:1935/mix/live-class-1"), strings.Index(out, `- room "live-class-1"`); i < 0 || j < i {
		t.Fatalf("diff does not stop the output before the room:\n%s", out)
	}
	if out, stderr, code := e.cli("sync", "--config", e.agentFile, "--once"); code != 0 {
		t.Fatalf("sync --once exit %d\n%s\n%s", code, out, stderr)
	}
	st := e.owtState()
	if len(st.Rooms) != 0 {
		t.Fatalf("rooms left: %+v", st.Rooms)
	}
	for _, d := range st.Deleted {
		if d.Kind == "output" && d.Reason != "api" {
			t.Errorf("output %s removed by %s, not stopped by the agent", d.Stream, d.Reason)
		}
	}
}
