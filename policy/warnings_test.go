package policy

import (
	"strings"
	"testing"
)

func TestPolicyWarnings(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want string
	}{
		{"routes: []\n", "p.yaml: routes is empty: nothing will be routed to OWT"},
		{"routes:\n  - match: {app: x}\n    action: deny\n  - match: {}\n    action: ignore\n", "p.yaml: no route has a room"},
		{"routes:\n  - match: {app: live}\n    room: \"{{.Stream}}\"\n", ""},
	} {
		p, err := ParsePolicy("p.yaml", []byte(c.doc), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(p.Warnings(), "\n")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%q: warnings %q, want %q", c.doc, got, c.want)
		}
	}
	var nilPolicy *Policy
	if nilPolicy.Warnings() != nil {
		t.Error("nil policy warns")
	}
}

// YAML syntax errors are reported at the line of the problem, not the
// line where the enclosing block began (what the parser says).
func TestYAMLErrorLine(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want string
	}{
		{"routes:\n  - match: {app: live}\n    room: x\n   bad: 1\n", "p.yaml:4: invalid YAML: did not find expected '-' indicator"},
		{"reconcile:\n  interval: 1s\n delete_grace: 2s\n", "p.yaml:3: invalid YAML"},
		{"routes:\n  - match: {app: \"y}\n    room: z\n", "p.yaml:2: invalid YAML"},
		{"routes:\n  - match: {app: live}\n\troom: x\n", "p.yaml:3: invalid YAML: found character that cannot start any token"},
	} {
		_, err := ParsePolicy("p.yaml", []byte(c.doc), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestServiceIDShape(t *testing.T) {
	dir := t.TempDir()
	for id, ok := range map[string]bool{"5f0000000000000000000001": true, "5F00000000000000000000AB": true, "sid": false,
		"5f000000000000000000001": false, "5f00000000000000000000011": false, "5f000000000000000000000g": false} {
		path := writeFile(t, dir, "a.yaml", "srs: [{name: o, api: \"http://127.0.0.1:1985\", pull: \"rtmp://h\"}]\nowt: {url: \"http://h\", service_id: \""+id+"\", service_key_env: K}\n")
		_, err := LoadAgent(path, envOf(map[string]string{"K": "k"}))
		if ok != (err == nil) || (!ok && !strings.Contains(err.Error(), "a.yaml:2: owt.service_id: \""+id+"\" is not an OWT service id")) {
			t.Errorf("service_id %q: %v", id, err)
		}
	}
}
