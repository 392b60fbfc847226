package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// diff and sync --once with one of two SRS servers down: the plan from the
// other is printed (and applied by sync), the unread server is named on
// stderr, and the exit code is 1.
func TestOneShotWithAServerDown(t *testing.T) {
	l, err := lab.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := srsfake.New(srsfake.Options{})
	bsrv := httptest.NewServer(b)
	defer bsrv.Close()
	ctx := context.Background()
	if _, _, err := l.SRS.Publish(ctx, "", "live", "a1", ""); err != nil {
		t.Fatal(err)
	}
	b.SetDown(true)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("routes:\n  - match: {app: live}\n    room: lobby\n"), 0o644)
	os.WriteFile(cfg, []byte(fmt.Sprintf(`srs:
  - name: a
    api: %s
    pull: rtmp://127.0.0.1:1935
  - name: b
    api: %s
    pull: rtmp://127.0.0.2:1935
owt:
  url: %s
  service_id: %s
  service_key_env: OWT_SERVICE_KEY
hooks:
  listen: 127.0.0.1:0
agent:
  id: cli-test
  state_file: %s
policy: %s
`, l.SRSURL, bsrv.URL, l.OWTURL, lab.ServiceID, filepath.Join(dir, "state.json"), filepath.Join(dir, "policy.yaml"))), 0o644)
	env := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	for _, cmd := range [][]string{{"diff", "--config", cfg}, {"diff", "--config", cfg, "--output", "json"}, {"sync", "--config", cfg, "--once"}} {
		var o, e bytes.Buffer
		code := Main(cmd, &o, &e, env)
		if code != 1 || !strings.Contains(o.String(), "a1") ||
			!strings.Contains(e.String(), `could not read SRS "b" (planned from the other servers; deletes of its streams are held): srs "b": GET /api/v1/streams/`) ||
			strings.Contains(e.String(), `srs "b": srs "b"`) {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", cmd, code, o.String(), e.String())
		}
	}
	if rooms := l.OWT.Dump().Rooms; len(rooms) != 1 || len(rooms[0].Streams) == 0 {
		t.Errorf("sync --once did not apply a's plan: %+v", rooms)
	}
}
