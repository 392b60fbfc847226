package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// validate --config names where the policy came from: the inline
// `policy:` block of agent.yaml, or the file given by --policy.
func TestValidateSaysWhereThePolicyIs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	pf := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(cfg, []byte(`srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "http://file:3000", service_id: 5f0000000000000000000001, service_key_env: K}
policy: {routes: [{match: {app: live}, room: "{{.Stream}}"}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pf, []byte("routes:\n  - match: {app: live}\n    room: lobby\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"K": "k"}[k] }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--config", cfg}, "valid: " + cfg + ": 1 SRS server(s), OWT http://file:3000; inline policy: "},
		{[]string{"validate", "--config", cfg, "--policy", pf}, "valid: " + cfg + ": 1 SRS server(s), OWT http://file:3000; " + pf + ": "},
	} {
		var o, e bytes.Buffer
		if code := Main(c.args, &o, &e, getenv); code != 0 || !bytes.HasPrefix(o.Bytes(), []byte(c.want)) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q...", c.args, code, o.String(), e.String(), c.want)
		}
	}
}
