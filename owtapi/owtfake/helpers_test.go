package owtfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testService    = "5f1c0000000000000000abcd"
	testKey        = "abc"
	otherService   = "5f1c0000000000000000beef"
	otherKey       = "other-key"
	authBody401    = `{"error":{"code":1101,"message":"WWW-Authenticate: MAuth realm=\"http://marte3.dit.upm.es\""}}`
	opFailedBody   = `{"error":{"code":1301,"message":"Operation failed"}}`
	roomNotFound   = `{"error":{"code":1003,"message":"Room not found"}}`
	streamNotFound = `{"error":{"code":1004,"message":"Stream not found"}}`
	jsonType       = "application/json; charset=utf-8"
	goodIn         = `{"connection":{"url":"rtmp://127.0.0.1/live/a"},"media":{"audio":"auto","video":"auto"}}`
)

// testEnv is a fake behind a real HTTP listener on 127.0.0.1.
type testEnv struct {
	t    *testing.T
	fake *Server
	srv  *httptest.Server
}

// newEnv starts a fake with two services.
func newEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	if opts.Services == nil {
		opts.Services = map[string]string{testService: testKey, otherService: otherKey}
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	fake := New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, fake: fake, srv: srv}
}

// signHeader builds an MAuth header per spec section 2.
func signHeader(service, key, ts, cnonce string) string {
	sig := mauthSignature(key, ts+","+cnonce)
	return "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + service +
		",mauth_cnonce=" + cnonce + ",mauth_timestamp=" + ts + ",mauth_signature=" + sig
}

// auth signs as the default test service.
func auth() string {
	return signHeader(testService, testKey, fmt.Sprint(time.Now().UnixMilli()), "4711")
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// raw sends a request with an explicit Authorization header ("" = none).
func (e *testEnv) raw(method, path, body, authorization string) response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("build %s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// do sends a request signed as the default service.
func (e *testEnv) do(method, path, body string) response {
	e.t.Helper()
	return e.raw(method, path, body, auth())
}

// expect asserts status and exact body.
func (e *testEnv) expect(r response, status int, body string) {
	e.t.Helper()
	if r.status != status || string(r.body) != body {
		e.t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, body)
	}
}

// decode unmarshals a 200 JSON answer.
func (e *testEnv) decode(r response, v any) {
	e.t.Helper()
	if r.status != http.StatusOK {
		e.t.Fatalf("status %d, body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != jsonType {
		e.t.Fatalf("content type %q, want %q", ct, jsonType)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		e.t.Fatalf("decode %s: %v", r.body, err)
	}
}

// createRoom creates a room through the API and returns its id.
func (e *testEnv) createRoom(body string) string {
	e.t.Helper()
	var room map[string]any
	e.decode(e.do("POST", "/v1/rooms", body), &room)
	id, _ := room["_id"].(string)
	if id == "" {
		e.t.Fatalf("room without _id: %v", room)
	}
	return id
}

// startIn starts a streaming-in and returns the decoded stream.
func (e *testEnv) startIn(room, body string) map[string]any {
	e.t.Helper()
	var st map[string]any
	e.decode(e.do("POST", "/v1/rooms/"+room+"/streaming-ins", body), &st)
	return st
}

// listStreams returns GET /v1/rooms/{room}/streams.
func (e *testEnv) listStreams(room string) []map[string]any {
	e.t.Helper()
	var list []map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/streams", ""), &list)
	return list
}

// ids returns the ids of a stream list.
func ids(list []map[string]any) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		id, _ := s["id"].(string)
		out = append(out, id)
	}
	return out
}

// jsonEqual compares two JSON texts structurally.
func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}
