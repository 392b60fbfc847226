package srsapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// srsLegalHooks are hook bodies SRS 6 sends for publishes it accepts, beyond
// the captured fixtures: names built from what SrsRequest::strip keeps
// (everything but space, tab, CR, LF), SRS's raw JSON bytes, and the
// 32767-byte AMF0 limit.
func srsLegalHooks() map[string][]byte {
	hook := func(action, vhost, app, stream, param string) []byte {
		b, _ := json.Marshal(map[string]string{"server_id": "vid-a4fak84", "service_id": "y3z75cl4", "action": action,
			"client_id": "c1", "ip": "127.0.0.1", "vhost": vhost, "app": app, "tcUrl": "rtmp://127.0.0.1:1935/" + app,
			"stream": stream, "param": param, "stream_url": "/" + app + "/" + stream, "stream_id": "vid-1"})
		return b
	}
	raw := func(stream string) []byte {
		// SRS's own encoder: only '"', '\\', \b, \f, \n, \r and \t are escaped.
		return []byte(`{"action":"on_publish","client_id":"c1","ip":"127.0.0.1","vhost":"__defaultVhost__","app":"live","stream":"` + stream + `","param":"","stream_id":"vid-1"}`)
	}
	return map[string][]byte{
		"stream 32767 bytes":      hook(ActionOnPublish, DefaultVhost, "live", strings.Repeat("s", 32767), ""),
		"param 32764 bytes":       hook(ActionOnPublish, DefaultVhost, "live", "big", "?token="+strings.Repeat("t", 32757)),
		"app 32767 bytes":         hook(ActionOnPublish, DefaultVhost, strings.Repeat("a", 32767), "s", ""),
		"vhost 32767 bytes":       hook(ActionOnPublish, strings.Repeat("v", 32767), "live", "s", ""),
		"four-level app":          hook(ActionOnPublish, DefaultVhost, "live/a/b/c", "d", ""),
		"dotdot app level":        hook(ActionOnPublish, DefaultVhost, "live/..", "d", ""),
		"stream only dots":        hook(ActionOnPublish, DefaultVhost, "live", "..", ""),
		"slash in stream (UTF-8)": hook(ActionOnPublish, DefaultVhost, "live", "课/堂", ""),
		"question mark in stream": hook(ActionOnPublish, DefaultVhost, "live", "课堂2?token=abc&vhost=video.test.com", ""),
		"hash and percent":        hook(ActionOnPublish, DefaultVhost, "live", "a#b%zz", "?x=%zz"),
		"quotes and backslashes":  hook(ActionOnPublish, DefaultVhost, "live", `a"b\c`, `?q="\`),
		"raw control byte":        raw("a\x01b\x7f"),
		"escaped form feed":       raw(`a\fb\bc`),
		"invalid UTF-8":           raw("caf\xe9"),
		"raw UTF-8 C1":            raw("a\u0085b"),
		"unpublish of odd name":   hook(ActionOnUnpublish, DefaultVhost, "live/sub", "x..y", "?token=z"),
		"duplicated vhost param":  hook(ActionOnPublish, "video.test.com", "live", "room4", "?vhost=video.test.com?vhost=video.test.com"),
	}
}

// TestHookHandlerAcceptsWhatSRSAccepts runs every captured edge-case hook
// (fixtures/srs, SRS 6.0.157) and every SRS-legal synthetic body through the
// real handler: SRS must get HTTP 200 {"code":0} (it keeps the stream), and
// the receiver the hook as SRS sent it. Before issue 9 the handler answered
// 400 to cam..1, 300-character names, the 1.5 KB JWT and more, and SRS then
// refused those publishes.
func TestHookHandlerAcceptsWhatSRSAccepts(t *testing.T) {
	bodies := map[string][]byte{}
	files, _ := filepath.Glob("testdata/edge/edge-*-on_*publish.json")
	if len(files) != 39 {
		t.Fatalf("edge hook fixtures = %d, want 39", len(files))
	}
	for _, f := range files {
		bodies[filepath.Base(f)] = readFixture(t, filepath.Join("edge", filepath.Base(f)))
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(readFixture(t, "edge/edge-utf8-on_publish-raw.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	var rawBody bytes.Buffer
	_, _ = rawBody.ReadFrom(req.Body)
	bodies["edge-utf8-on_publish-raw.txt"] = rawBody.Bytes()
	for name, b := range srsLegalHooks() {
		bodies[name] = b
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			rcv := &recorder{}
			h := NewHookHandler(HookHandlerConfig{Receiver: rcv, Logger: slog.New(slog.DiscardHandler)})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, srsRequest("/api/v1/streams", body))
			assertOK(t, rec)
			got := rcv.got()
			if len(got) != 1 {
				t.Fatalf("receiver got %d hooks", len(got))
			}
			var sent map[string]any
			if err := json.Unmarshal(escapeRawControls(body), &sent); err != nil {
				t.Fatal(err)
			}
			if got[0].Stream != sent["stream"] || got[0].App != sent["app"] || got[0].Vhost != sent["vhost"] || got[0].Param != sent["param"] {
				t.Errorf("receiver hook %q/%q/%q %q differs from the body", got[0].Vhost, got[0].App, got[0].Stream, got[0].Param)
			}
		})
	}
}
