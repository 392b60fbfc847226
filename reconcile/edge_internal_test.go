package reconcile

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// edgePolicy routes everything on app live* and its multi-level apps (a glob
// does not cross '/'), denies app private, and needs a token on app secure.
const edgePolicy = `routes:
  - match: {app: private}
    action: deny
  - match: {app: secure}
    room: secure
    token_env: PUBLISH_TOKEN
  - match: {app: "live*"}
    room: "{{.Stream}}"
  - match: {app: "live/*"}
    room: "{{.Stream}}"
  - match: {app: "live/*/*"}
    room: "{{.Stream}}"
  - match: {}
    action: ignore
`

// TestHookEdgeCasesThroughEngine posts every captured SRS 6 edge-case hook
// (fixtures/srs, edge-*) and more SRS-legal bodies to the real hook handler
// wired to the real engine, and checks the answer SRS gets and what the
// engine does: routed (its room queued), unroutable (accepted, listed by
// Unroutable, nothing queued for OWT), ignored, or refused by the policy.
func TestHookEdgeCasesThroughEngine(t *testing.T) {
	const (
		routed     = "routed"
		unroutable = "unroutable"
		ignored    = "ignored"
		accepted   = "accepted" // on_unpublish: SRS ignores the answer; always 0
	)
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "srsapi", "testdata", "edge", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hookBody := func(app, stream, param string) []byte {
		return []byte(`{"server_id":"srv-1","service_id":"svc-1","action":"on_publish","client_id":"c9","ip":"127.0.0.1","vhost":"__defaultVhost__","app":"` +
			app + `","tcUrl":"rtmp://127.0.0.1:1935/` + app + `","stream":"` + stream + `","param":"` + param + `","stream_url":"/x","stream_id":"vid-9"}`)
	}
	tests := []struct {
		name   string
		body   []byte
		want   string
		answer string // "" = {"code":0}
	}{
		{"dots", fixture("edge-dots-on_publish.json"), routed, ""},
		{"dot collision, first", fixture("edge-dot-collision-first-on_publish.json"), routed, ""},
		{"dot collision, second", fixture("edge-dot-collision-second-on_publish.json"), routed, ""},
		{"300-character stream (room name over 128)", fixture("edge-long300-on_publish.json"), unroutable, ""},
		{"1.5 KB JWT", fixture("edge-jwt1500-on_publish.json"), routed, ""},
		{"JWT cut by ffmpeg", fixture("edge-jwt1500-url-truncated-on_publish.json"), routed, ""},
		{"8 KB token", fixture("edge-token8k-on_publish.json"), routed, ""},
		{"8 KB token cut", fixture("edge-token8k-url-truncated-on_publish.json"), routed, ""},
		{"32767-byte stream+query", fixture("edge-name-max-32767-on_publish.json"), routed, ""},
		{"two-level app", fixture("edge-multiapp-on_publish.json"), routed, ""},
		{"three-level app", fixture("edge-multiapp3-on_publish.json"), routed, ""},
		{"%20 in the name", fixture("edge-pct20-on_publish.json"), unroutable, ""},
		{"%2F in the name", fixture("edge-pct2f-on_publish.json"), unroutable, ""},
		{"raw UTF-8 name", fixture("edge-utf8-on_publish.json"), unroutable, ""},
		{"percent-encoded UTF-8 name", fixture("edge-utf8-pct-on_publish.json"), unroutable, ""},
		{"UTF-8 name with its query kept", fixture("edge-utf8-param-on_publish.json"), unroutable, ""},
		{"several params", fixture("edge-multiparam-on_publish.json"), routed, ""},
		{"vhost in the query", fixture("edge-vhostparam-on_publish.json"), routed, ""},
		{"space cut by ffmpeg", fixture("edge-space-url-on_publish.json"), routed, ""},
		{"space removed by SRS", fixture("edge-space-playpath-on_publish.json"), routed, ""},
		{"unpublish of a 300-character stream", fixture("edge-long300-on_unpublish.json"), accepted, ""},
		{"unpublish of a UTF-8 name", fixture("edge-utf8-on_unpublish.json"), accepted, ""},
		{"unpublish with a 32 KB query", fixture("edge-name-max-32767-on_unpublish.json"), accepted, ""},
		{"raw control byte", hookBody("live", "a\x01b", ""), unroutable, ""},
		{"invalid UTF-8", hookBody("live", "caf\xe9", ""), unroutable, ""},
		{"dot-dot app level", hookBody("live/..", "x", ""), unroutable, ""},
		{"stream named ..", hookBody("live", "..", ""), unroutable, ""},
		{"odd name on an ignored app", hookBody("other", "a%20b\x01", ""), ignored, ""},
		{"odd name on a denied app", hookBody("private", "课堂", ""), "", `{"code":403,`},
		{"odd name on a token app, no token", hookBody("secure", "课堂", "?x=1"), "", `{"code":401,`},
		{"odd name on a token app, token", hookBody("secure", "课堂", "?token=s3cret"), unroutable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			pol, err := policy.ParsePolicy("policy.yaml", []byte(edgePolicy), func(string) string { return "s3cret" })
			if err != nil {
				t.Fatal(err)
			}
			te.policy.Store(pol)
			h := srsapi.NewHookHandler(srsapi.HookHandlerConfig{Receiver: te.Engine, Logger: te.log})
			req := httptest.NewRequest(http.MethodPost, "/api/v1/streams", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			wantAnswer := `{"code":0}`
			if tc.answer != "" {
				wantAnswer = tc.answer
			}
			if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), wantAnswer) {
				t.Fatalf("SRS got %d %q, want 200 %s", rec.Code, rec.Body.String(), wantAnswer)
			}
			// No query reaches a log, not even one SRS left in a UTF-8 name.
			for _, rec := range te.logs.recs {
				if strings.Contains(rec, "token=") {
					t.Errorf("query logged: %.300s", rec)
				}
			}
			queued, un := te.queued(), te.Unroutable()
			switch tc.want {
			case routed:
				if len(queued) == 0 || len(un) != 0 {
					t.Errorf("routed stream: queued %v, unroutable %+v", queued, un)
				}
			case unroutable:
				if len(queued) != 0 || len(un) != 1 || un[0].Reason == "" {
					t.Errorf("unroutable stream: queued %v, unroutable %+v", queued, un)
				}
				if len(te.api.Calls()) != 0 {
					t.Errorf("OWT called for an unroutable stream: %v", te.api.Calls())
				}
			case ignored, accepted, "":
				if len(un) != 0 {
					t.Errorf("%s: unroutable %+v", tc.want, un)
				}
			}
		})
	}
}
