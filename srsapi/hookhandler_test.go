package srsapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a HookReceiver that records hooks and answers err.
type recorder struct {
	mu    sync.Mutex
	hooks []Hook
	err   error
	block chan struct{} // if set, OnHook waits for it
}

func (r *recorder) OnHook(ctx context.Context, h Hook) error {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, h)
	return r.err
}

func (r *recorder) got() []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hook(nil), r.hooks...)
}

// srsRequest builds a hook request with the headers SRS sends.
func srsRequest(path string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Connection", "Keep-Alive")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "SRS/6.0.157(Hang)")
	req.RemoteAddr = "127.0.0.1:46606"
	return req
}

func pathFor(action string) string {
	if action == ActionOnPlay || action == ActionOnStop {
		return "/api/v1/clients"
	}
	return "/api/v1/streams"
}

func assertOK(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Body.String() != `{"code":0}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer = %d %q %q, want 200 {\"code\":0}", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}
}

func TestHookHandlerFixtureBodies(t *testing.T) {
	files, _ := filepath.Glob("testdata/hook-*.json")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := readFixture(t, filepath.Base(f))
			var probe struct{ Action string }
			if err := json.Unmarshal(body, &probe); err != nil {
				t.Fatal(err)
			}
			rcv := &recorder{}
			var answers []string
			h := NewHookHandler(HookHandlerConfig{Receiver: rcv, Observe: func(a, ans string) { answers = append(answers, a+"="+ans) }})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, srsRequest(pathFor(probe.Action), body))
			assertOK(t, rec)
			got := rcv.got()
			if len(got) != 1 || got[0].Action != probe.Action {
				t.Fatalf("receiver got %+v", got)
			}
			want, _ := ParseHook(body)
			if got[0] != want {
				t.Errorf("receiver hook = %+v, want %+v", got[0], want)
			}
			if len(answers) != 1 || answers[0] != probe.Action+"=ok" {
				t.Errorf("observed %v", answers)
			}
		})
	}
}

func TestHookHandlerAllHooks(t *testing.T) {
	raw := readFixture(t, "hooks-all.jsonl")
	rcv := &recorder{}
	h := NewHookHandler(HookHandlerConfig{Receiver: rcv})
	n := 0
	for line := range bytes.Lines(raw) {
		var l struct {
			Method  string     `json:"method"`
			Path    string     `json:"path"`
			Headers [][]string `json:"headers"`
			BodyRaw string     `json:"body_raw"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		req := httptest.NewRequest(l.Method, l.Path, strings.NewReader(l.BodyRaw))
		for _, kv := range l.Headers {
			req.Header.Set(kv[0], kv[1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assertOK(t, rec)
	}
	got := rcv.got()
	if n != 85 || len(got) != 85 {
		t.Fatalf("lines %d, hooks received %d, want 85", n, len(got))
	}
	if got[0].Stream != "livestream" || got[84].Stream != "downunpub" || got[84].Action != ActionOnPublish {
		t.Errorf("first/last = %+v / %+v", got[0], got[84])
	}
}

// TestHookHandlerRawRequests replays the exact bytes SRS sent over a real
// connection and checks the exact answer bytes.
func TestHookHandlerRawRequests(t *testing.T) {
	raw := readFixture(t, "hook-raw-requests.txt")
	rcv := &recorder{}
	srv := httptest.NewServer(NewHookHandler(HookHandlerConfig{Receiver: rcv}))
	defer srv.Close()
	sections := strings.Split(string(raw), "### ")[1:]
	if len(sections) != 4 {
		t.Fatalf("sections = %d, want 4", len(sections))
	}
	for i, sec := range sections {
		_, reqBytes, _ := strings.Cut(sec, "\n")
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(reqBytes)))
		if err != nil {
			t.Fatalf("section %d: %v", i, err)
		}
		body, _ := io.ReadAll(req.Body)
		if int64(len(body)) != req.ContentLength {
			t.Fatalf("section %d: body %d bytes, Content-Length %d", i, len(body), req.ContentLength)
		}
		// Send exactly the captured request bytes (up to the body's end).
		end := strings.Index(reqBytes, "\r\n\r\n") + 4 + len(body)
		conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(reqBytes[:end])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != 200 || string(answer) != `{"code":0}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("section %d answer = %d %q", i, resp.StatusCode, answer)
		}
	}
	var actions []string
	for _, h := range rcv.got() {
		actions = append(actions, h.Action)
		if h.Stream != "rawtest" || h.Param != "?token=xyz" || h.StreamID != "vid-b04395p" {
			t.Errorf("hook = %+v", h)
		}
	}
	if strings.Join(actions, ",") != "on_publish,on_play,on_stop,on_unpublish" {
		t.Errorf("actions = %v", actions)
	}
}

// TestHookHandlerFixtureHeaders sends requests with the header blocks
// documented in hook-headers.txt.
func TestHookHandlerFixtureHeaders(t *testing.T) {
	notes := string(readFixture(t, "hook-headers.txt"))
	type block struct {
		path    string
		headers [][2]string
	}
	var blocks []block
	for _, line := range strings.Split(notes, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "POST ") {
			f := strings.Fields(line)
			blocks = append(blocks, block{path: f[1]})
			continue
		}
		if len(blocks) == 0 || line == "" || strings.HasPrefix(line, "{") {
			continue
		}
		b := &blocks[len(blocks)-1]
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.Contains(k, " ") && len(b.headers) < 5 {
			b.headers = append(b.headers, [2]string{k, v})
		}
	}
	if len(blocks) != 2 || len(blocks[0].headers) != 5 || len(blocks[1].headers) != 5 {
		t.Fatalf("parsed header blocks = %+v", blocks)
	}
	bodies := map[string]string{"/api/v1/streams": "hook-on_publish.json", "/api/v1/clients": "hook-on_play.json"}
	for _, b := range blocks {
		rcv := &recorder{}
		body := readFixture(t, bodies[b.path])
		req := httptest.NewRequest(http.MethodPost, b.path, bytes.NewReader(body))
		for _, kv := range b.headers {
			if kv[0] != "Content-Length" { // the notes' length belongs to another body
				req.Header.Set(kv[0], kv[1])
			}
		}
		if req.Header.Get("User-Agent") != "SRS/6.0.157(Hang)" || req.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers = %v", req.Header)
		}
		rec := httptest.NewRecorder()
		NewHookHandler(HookHandlerConfig{Receiver: rcv}).ServeHTTP(rec, req)
		assertOK(t, rec)
		if len(rcv.got()) != 1 {
			t.Errorf("%s: receiver got %d hooks", b.path, len(rcv.got()))
		}
	}
}

func TestHookHandlerBadInput(t *testing.T) {
	good := readFixture(t, "hook-on_publish.json")
	play := readFixture(t, "hook-on_play.json")
	tests := []struct {
		name       string
		method     string
		path       string
		ctype      string
		body       []byte
		remote     string
		cfg        HookHandlerConfig
		wantStatus int
		wantAnswer string
		wantMsg    string // substring of msg
	}{
		{name: "get", method: "GET", wantStatus: 405, wantAnswer: AnswerMethodNotAllowed},
		{name: "put", method: "PUT", wantStatus: 405, wantAnswer: AnswerMethodNotAllowed},
		{name: "unknown path", path: "/api/v1/other", wantStatus: 404, wantAnswer: AnswerNotFound},
		{name: "text/plain", ctype: "text/plain", wantStatus: 415, wantAnswer: AnswerUnsupportedType},
		{name: "no content type", ctype: "-", wantStatus: 415, wantAnswer: AnswerUnsupportedType},
		{name: "json with charset", ctype: "application/json; charset=utf-8", wantStatus: 200, wantAnswer: AnswerOK},
		{name: "too large", body: bytes.Repeat([]byte(" "), 100), cfg: HookHandlerConfig{MaxBody: 50}, wantStatus: 413, wantAnswer: AnswerTooLarge},
		{name: "malformed json", body: []byte(`{"action":"on_publish"`), wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "not a JSON object"},
		{name: "empty body", body: []byte{}, wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "not a JSON object"},
		{name: "unknown action", body: bytes.Replace(good, []byte("on_publish"), []byte("on_dvr"), 1), wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: `action \"on_dvr\" is unknown`},
		{name: "slash in stream", body: bytes.Replace(good, []byte(`"stream":"livestream"`), []byte(`"stream":"a/b"`), 1), wantStatus: 200, wantAnswer: AnswerOK},
		{name: "missing stream", body: bytes.Replace(good, []byte(`"stream":"livestream"`), []byte(`"streams":"x"`), 1), wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "stream is missing"},
		{name: "missing client_id", body: bytes.Replace(good, []byte(`"client_id"`), []byte(`"clientid"`), 1), wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "client_id is missing"},
		{name: "array", body: []byte(`[]`), wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "not a JSON object"},
		{name: "play on streams path", body: play, wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "does not belong on /api/v1/streams"},
		{name: "publish on clients path", path: "/api/v1/clients", wantStatus: 400, wantAnswer: AnswerBadRequest, wantMsg: "does not belong"},
		{name: "token missing", cfg: HookHandlerConfig{Token: "s3cret"}, wantStatus: 401, wantAnswer: AnswerUnauthorized},
		{name: "token wrong", path: "/api/v1/streams?token=nope", cfg: HookHandlerConfig{Token: "s3cret"}, wantStatus: 401, wantAnswer: AnswerUnauthorized},
		{name: "token right", path: "/api/v1/streams?token=s3cret", cfg: HookHandlerConfig{Token: "s3cret"}, wantStatus: 200, wantAnswer: AnswerOK},
		{name: "source denied", remote: "10.1.2.3:5000", cfg: HookHandlerConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, wantStatus: 403, wantAnswer: AnswerForbidden},
		{name: "source allowed", remote: "127.0.0.1:5000", cfg: HookHandlerConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, wantStatus: 200, wantAnswer: AnswerOK},
		{name: "mapped v4 allowed", remote: "[::ffff:127.0.0.1]:5000", cfg: HookHandlerConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, wantStatus: 200, wantAnswer: AnswerOK},
		{name: "trailing slash path", path: "/api/v1/streams/", wantStatus: 200, wantAnswer: AnswerOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path, body := tc.method, tc.path, tc.body
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/api/v1/streams"
			}
			if body == nil {
				body = good
			}
			req := httptest.NewRequest(method, path, bytes.NewReader(body))
			switch tc.ctype {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.remote != "" {
				req.RemoteAddr = tc.remote
			}
			var logs bytes.Buffer
			rcv := &recorder{}
			var answers []string
			cfg := tc.cfg
			cfg.Receiver = rcv
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg.Observe = func(_, a string) { answers = append(answers, a) }
			rec := httptest.NewRecorder()
			NewHookHandler(cfg).ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body.String(), tc.wantStatus)
			}
			if len(answers) != 1 || answers[0] != tc.wantAnswer {
				t.Errorf("observed %v, want [%s]", answers, tc.wantAnswer)
			}
			if tc.wantStatus == 200 {
				assertOK(t, rec)
				if len(rcv.got()) != 1 {
					t.Errorf("receiver got %d hooks, want 1", len(rcv.got()))
				}
				return
			}
			if len(rcv.got()) != 0 {
				t.Errorf("receiver called for a refused request")
			}
			var ans struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			b := rec.Body.Bytes()
			if err := json.Unmarshal(b, &ans); err != nil || ans.Code != tc.wantStatus || ans.Msg == "" || bytes.ContainsRune(b, '\n') {
				t.Errorf("body = %q (%v)", b, err)
			}
			if !strings.Contains(rec.Body.String(), tc.wantMsg) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tc.wantMsg)
			}
			if strings.Contains(logs.String(), "s3cret") || strings.Contains(logs.String(), "nope") {
				t.Errorf("token in logs: %s", logs.String())
			}
		})
	}
}

func TestHookHandlerBodyTooLargeChunked(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/streams", io.MultiReader(strings.NewReader(`{"action":"`), bytes.NewReader(bytes.Repeat([]byte("a"), 200))))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	NewHookHandler(HookHandlerConfig{MaxBody: 64, Receiver: &recorder{}}).ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("status = %d, want 413", rec.Code)
	}
}

func TestHookHandlerReceiverAnswers(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantBody   string
		wantAnswer string
		wantLog    string
	}{
		{"accept", nil, `{"code":0}`, AnswerOK, "hook accepted"},
		{"reject", &Rejection{Code: 403, Reason: "route denies live/x"}, `{"code":403,"msg":"route denies live/x"}`, AnswerRejected, "route denies live/x"},
		{"wrapped reject", errors.Join(errors.New("policy"), &Rejection{Code: 7, Reason: "bad token"}), `{"code":7,"msg":"bad token"}`, AnswerRejected, "bad token"},
		{"fail open", errors.New("queue full"), `{"code":0}`, AnswerFailedOpen, "level=WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			var answers []string
			h := NewHookHandler(HookHandlerConfig{
				Receiver: &recorder{err: tc.err},
				Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				Observe:  func(a, ans string) { answers = append(answers, a+"="+ans) },
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, srsRequest("/api/v1/streams", readFixture(t, "hook-on_publish.json")))
			if rec.Code != 200 || rec.Body.String() != tc.wantBody {
				t.Errorf("answer = %d %q, want 200 %q", rec.Code, rec.Body.String(), tc.wantBody)
			}
			if len(answers) != 1 || answers[0] != "on_publish="+tc.wantAnswer {
				t.Errorf("observed %v", answers)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || !strings.Contains(logs.String(), "__defaultVhost__/live/livestream") {
				t.Errorf("log %q lacks %q or the stream", logs.String(), tc.wantLog)
			}
		})
	}
}

func TestHookHandlerOverloaded(t *testing.T) {
	rcv := &recorder{block: make(chan struct{})}
	h := NewHookHandler(HookHandlerConfig{Receiver: rcv, MaxConcurrent: 1, Logger: slog.New(slog.DiscardHandler)})
	body := readFixture(t, "hook-on_publish.json")
	first := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, srsRequest("/api/v1/streams", body))
		first <- rec.Code
	}()
	// Wait until the first hook holds the only slot.
	deadline := time.Now().Add(5 * time.Second)
	for len(h.(*hookHandler).slots) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first hook never took the slot")
		}
		time.Sleep(time.Millisecond)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, srsRequest("/api/v1/streams", body))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("second hook status = %d, want 503", rec.Code)
	}
	close(rcv.block)
	if code := <-first; code != 200 {
		t.Errorf("first hook status = %d", code)
	}
}
