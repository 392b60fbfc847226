// Package examples checks that the example files work together as pasted.
package examples

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// env is what README.md tells an operator to export for the examples.
var env = map[string]string{
	"HOOK_TOKEN":       "CHANGE_ME",
	"OWT_SERVICE_KEY":  "example-service-key",
	"SRS_API_PASSWORD": "example-srs-password",
	"WALL_TOKEN":       "example-wall-token",
}

var hookLine = regexp.MustCompile(`(on_[a-z_]+)\s+(http://[^;\s]+);`)

// hooks returns the hook URLs of an SRS config text, by action.
func hooks(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range hookLine.FindAllStringSubmatch(text, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	if len(out["on_publish"]) == 0 || len(out["on_unpublish"]) == 0 {
		t.Fatalf("no on_publish/on_unpublish hook found")
	}
	return out
}

// TestHooksAsPastedAreAccepted: an agent configured by examples/agent.yaml
// accepts the hooks SRS posts to the URLs of examples/srs.conf and of
// README's snippet (the token agrees), and neither sends on_play/on_stop.
func TestHooksAsPastedAreAccepted(t *testing.T) {
	cfg, err := policy.LoadAgent("agent.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hooks.Token == "" {
		t.Fatal("examples/agent.yaml sets no hook token; this test checks that it agrees with srs.conf")
	}
	h := srsapi.NewHookHandler(srsapi.HookHandlerConfig{Token: cfg.Hooks.Token})
	body, err := os.ReadFile("../srsapi/testdata/hook-on_publish.json")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("srs.conf")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"examples/srs.conf": string(conf), "README.md": string(readme)} {
		hs := hooks(t, text)
		for _, a := range []string{"on_play", "on_stop"} {
			if len(hs[a]) > 0 {
				t.Errorf("%s sends %s to the agent: OWT's pull is a play, refused while the agent is down", name, a)
			}
		}
		for _, action := range []string{"on_publish", "on_unpublish"} {
			for _, raw := range hs[action] {
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				b := bytes.Replace(body, []byte(`"on_publish"`), []byte(`"`+action+`"`), 1)
				req := httptest.NewRequest(http.MethodPost, u.RequestURI(), bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.RemoteAddr = "127.0.0.1:50000"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"code":0}` {
					t.Errorf("%s: %s %s answered %d %s", name, action, raw, rec.Code, rec.Body.String())
				}
			}
		}
	}
}

// TestReadmeListsExampleVariables: README's table names every variable the
// examples read (each *_env value).
func TestReadmeListsExampleVariables(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	envRef := regexp.MustCompile(`_env:\s*([A-Z][A-Z0-9_]*)`)
	files := []string{"agent.yaml", "policy.yaml", "kubernetes/configmap.yaml"}
	if more, err := os.ReadDir("policies"); err == nil {
		for _, f := range more {
			files = append(files, "policies/"+f.Name())
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
			if !strings.Contains(string(readme), "| `"+m[1]+"` |") {
				t.Errorf("%s reads $%s, which README.md's table of variables does not list", f, m[1])
			}
			if _, ok := env[m[1]]; !ok {
				t.Errorf("%s reads $%s, unknown to this test", f, m[1])
			}
		}
	}
}
