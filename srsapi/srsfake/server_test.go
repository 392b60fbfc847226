package srsfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// hookSink is a hook receiver that records requests and answers with answer.
type hookSink struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	conns    int
	answer   func(w http.ResponseWriter)
	hold     chan struct{} // if set, the handler waits for it before answering
	received chan struct{} // signalled when a hook arrived
	srv      *httptest.Server
}

func newHookSink(t *testing.T, answer func(w http.ResponseWriter)) *hookSink {
	t.Helper()
	h := &hookSink{answer: answer, received: make(chan struct{}, 16)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.headers = append(h.headers, r.Header.Clone())
		hold := h.hold
		h.mu.Unlock()
		h.received <- struct{}{}
		if hold != nil {
			<-hold
		}
		if h.answer != nil {
			h.answer(w)
			return
		}
		_, _ = io.WriteString(w, "0")
	}))
	h.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			h.mu.Lock()
			h.conns++
			h.mu.Unlock()
		}
	}
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) url() string { return h.srv.URL + "/api/v1/streams" }

func (h *hookSink) got() ([]srsapi.Hook, [][]byte, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var hooks []srsapi.Hook
	for _, b := range h.bodies {
		var hk srsapi.Hook
		_ = json.Unmarshal(b, &hk)
		hooks = append(hooks, hk)
	}
	return hooks, append([][]byte(nil), h.bodies...), h.conns
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHookBodyMatchesFixtureLayout(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{HookURL: sink.url()})
	ctx := context.Background()
	cid, sid, err := s.Publish(ctx, "", "live", "cam2", "?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unpublish(ctx, srsapi.DefaultVhost, "live", "cam2"); err != nil {
		t.Fatal(err)
	}
	id := s.Identity()
	r := strings.NewReplacer("vid-fm712gk", id.ServerID, "6b9632yk", id.ServiceID, "71sms426", cid, "vid-956ym56", sid)
	_, bodies, conns := sink.got()
	if len(bodies) != 2 {
		t.Fatalf("hooks = %d, want 2", len(bodies))
	}
	for i, f := range []string{"hook-on_publish-with-param.json", "hook-on_unpublish-with-param.json"} {
		if want := r.Replace(string(fixture(t, f))); string(bodies[i]) != want {
			t.Errorf("body %d =\n%s\nwant\n%s", i, bodies[i], want)
		}
	}
	if conns != 2 {
		t.Errorf("connections = %d, want a new one per hook (2)", conns)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, h := range sink.headers {
		if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != UserAgent || h.Get("Connection") != "Keep-Alive" || h.Get("Accept-Encoding") != "" {
			t.Errorf("headers = %v", h)
		}
	}
}

func TestPlayHookLayout(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{PlayHookURL: sink.srv.URL + "/api/v1/clients", Vhosts: []string{"video.test.com"}})
	s.PublishSilently("video.test.com", "live", "room3", "")
	cid, err := s.Play(context.Background(), "video.test.com", "live", "room3", "?vhost=video.test.com")
	if err != nil {
		t.Fatal(err)
	}
	s.Stop(context.Background(), "video.test.com", "live", "room3", "?vhost=video.test.com", cid)
	id := s.Identity()
	sid := s.Streams()[0].ID
	r := strings.NewReplacer("vid-fm712gk", id.ServerID, "6b9632yk", id.ServiceID, "t8e6z3r6", cid, "vid-5x87v13", sid)
	_, bodies, _ := sink.got()
	if len(bodies) != 2 || string(bodies[0]) != r.Replace(string(fixture(t, "hook-on_play-vhost.json"))) {
		t.Fatalf("on_play body = %s", bodies)
	}
	var stop map[string]any
	_ = json.Unmarshal(bodies[1], &stop)
	if stop["action"] != "on_stop" || stop["client_id"] != cid || stop["pageUrl"] != nil {
		t.Errorf("on_stop = %s", bodies[1])
	}
}

func TestHookAnswerRules(t *testing.T) {
	write := func(status int, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(status); _, _ = io.WriteString(w, body) }
	}
	tests := []struct {
		name     string
		answer   func(http.ResponseWriter)
		wantCode int // 0 = accepted
	}{
		{"200 0", write(200, "0"), 0},
		{"200 code 0", write(200, `{"code":0}`), 0},
		{"200 code 0 data", write(200, `{"code":0,"data":{"x":1}}`), 0},
		{"201 0", write(201, "0"), 0},
		{"chunked 0", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "0"); w.(http.Flusher).Flush() }, 0},
		{"connection close 0", func(w http.ResponseWriter) { w.Header().Set("Connection", "close"); _, _ = io.WriteString(w, "0") }, 0},
		{"200 1", write(200, "1"), CodeHookResponse},
		{"code 1", write(200, `{"code":1}`), CodeHookObjectCode},
		{"code string", write(200, `{"code":"0"}`), CodeHookObjectCode},
		{"code float", write(200, `{"code":0.5}`), CodeHookObjectCode},
		{"no code", write(200, `{"msg":"x"}`), CodeHookObjectCode},
		{"0 newline", write(200, "0\n"), CodeHookResponse},
		{"space 0", write(200, " 0"), CodeHookResponse},
		{"true", write(200, "true"), CodeHookResponse},
		{"text", write(200, "OK"), CodeHookResponse},
		{"empty", write(200, ""), CodeHookResponse},
		{"500", write(500, "0"), CodeHookStatus},
		{"404", write(404, "0"), CodeHookStatus},
		{"closed without answer", func(http.ResponseWriter) { panic(http.ErrAbortHandler) }, CodeHookIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newHookSink(t, tc.answer)
			s := New(Options{HookURL: sink.url()})
			_, _, err := s.Publish(context.Background(), "", "live", "x", "")
			streams := s.Streams()
			if tc.wantCode == 0 {
				if err != nil || len(streams) != 1 || !streams[0].Publish.Active {
					t.Fatalf("err = %v, streams = %+v", err, streams)
				}
				return
			}
			var pe *PublishError
			if !errors.As(err, &pe) || pe.Code != tc.wantCode || pe.Stream != "__defaultVhost__/live/x" || !strings.Contains(err.Error(), "rejected") {
				t.Fatalf("err = %v, want code %d", err, tc.wantCode)
			}
			if len(streams) != 0 {
				t.Errorf("rejected stream still listed: %+v", streams)
			}
			if hooks, _, _ := sink.got(); len(hooks) != 1 {
				t.Errorf("hooks = %d, want 1 (one attempt, no on_unpublish)", len(hooks))
			}
		})
	}
}

func TestHookServerDownAndSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := New(Options{HookURL: "http://" + addr + "/api/v1/streams"})
	_, _, err = s.Publish(context.Background(), "", "live", "x", "")
	var pe *PublishError
	if !errors.As(err, &pe) || pe.Code != CodeHookConnect {
		t.Fatalf("down: err = %v", err)
	}

	sink := newHookSink(t, nil)
	sink.hold = make(chan struct{})
	defer close(sink.hold)
	s = New(Options{HookURL: sink.url(), HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	_, _, err = s.Publish(context.Background(), "", "live", "slow", "")
	if !errors.As(err, &pe) || pe.Code != CodeHookIO || len(s.Streams()) != 0 {
		t.Fatalf("slow: err = %v, streams %v", err, s.Streams())
	}
}

func TestPendingPublishAndUnpublish(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{HookURL: sink.url()})
	ctx := context.Background()

	sink.hold = make(chan struct{})
	done := make(chan error, 1)
	go func() { _, _, err := s.Publish(ctx, "", "live", "pending", ""); done <- err }()
	<-sink.received
	st := s.Streams()
	if len(st) != 1 || st[0].Publish.Active || st[0].Publish.CID != "" || st[0].Video != nil || st[0].Audio != nil {
		t.Fatalf("pending stream = %+v", st)
	}
	close(sink.hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st = s.Streams()
	if len(st) != 1 || !st[0].Publish.Active || st[0].Publish.CID == "" || st[0].Video == nil {
		t.Fatalf("active stream = %+v", st)
	}
	cid := st[0].Publish.CID

	sink.mu.Lock()
	sink.hold = make(chan struct{})
	sink.mu.Unlock()
	go func() { done <- s.Unpublish(ctx, "", "live", "pending") }()
	<-sink.received
	st = s.Streams()
	if len(st) != 1 || st[0].Publish.Active || st[0].Publish.CID != cid || st[0].Video != nil {
		t.Fatalf("unpublishing stream = %+v", st)
	}
	close(sink.hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st = s.Streams(); len(st) != 0 {
		t.Fatalf("stream not removed: %+v", st)
	}
}

func TestSecondPublishIsBusy(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{HookURL: sink.url()})
	ctx := context.Background()
	cid1, sid1, err := s.Publish(ctx, "", "live", "livestream", "")
	if err != nil {
		t.Fatal(err)
	}
	cid2, sid2, err := s.Publish(ctx, "", "live", "livestream", "")
	var pe *PublishError
	if !errors.As(err, &pe) || pe.Code != CodeStreamBusy {
		t.Fatalf("err = %v, want StreamBusy", err)
	}
	hooks, _, _ := sink.got()
	if len(hooks) != 2 || hooks[1].Action != srsapi.ActionOnPublish || hooks[1].ClientID != cid2 || cid2 == cid1 || hooks[1].StreamID != sid1 || sid2 != sid1 {
		t.Fatalf("hooks = %+v", hooks)
	}
	if st := s.Streams(); len(st) != 1 || st[0].Publish.CID != cid1 || !st[0].Publish.Active {
		t.Errorf("first publisher disturbed: %+v", st)
	}
}

func TestUnpublishErrorsIgnored(t *testing.T) {
	sink := newHookSink(t, func(w http.ResponseWriter) { w.WriteHeader(500) })
	s := New(Options{})
	s.opts.HookURL = "" // publish without hooks, then unpublish with a failing hook
	s.PublishSilently("", "live", "x", "")
	s.opts.HookURL = sink.url()
	if err := s.Unpublish(context.Background(), "", "live", "x"); err != nil || len(s.Streams()) != 0 {
		t.Fatalf("err = %v, streams %v", err, s.Streams())
	}
	if err := s.Unpublish(context.Background(), "", "live", "x"); err == nil {
		t.Error("unpublish of an unknown stream succeeded")
	}
}

func TestRestartAndVhosts(t *testing.T) {
	s := New(Options{Vhosts: []string{"video.test.com"}})
	h := httptest.NewServer(s)
	defer h.Close()
	c := srsapi.NewClient(srsapi.Config{Name: "fake", BaseURL: h.URL})
	ctx := context.Background()
	if v, _, err := c.Vhosts(ctx); err != nil || len(v) != 0 {
		t.Fatalf("fresh vhosts = %v %v", v, err)
	}
	s.PublishSilently("video.test.com", "live", "room3", "?vhost=video.test.com")
	s.PublishSilently("unknown.example.com", "live", "lh", "")
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, st := range snap.Streams {
		names[st.Name] = st.VhostName + " " + st.URL
	}
	if names["room3"] != "video.test.com video.test.com/live/room3" || names["lh"] != "__defaultVhost__ /live/lh" {
		t.Errorf("names = %v", names)
	}
	before, _, _ := c.Vhosts(ctx)
	id1 := s.Identity()
	s.Restart()
	id2 := s.Identity()
	if id2.ServiceID == id1.ServiceID || id2.ServerID != id1.ServerID || len(s.Streams()) != 0 {
		t.Fatalf("restart: %+v -> %+v, streams %v", id1, id2, s.Streams())
	}
	s.PublishSilently("video.test.com", "live", "room3", "")
	after, _, _ := c.Vhosts(ctx)
	if len(before) != 2 || len(after) != 1 || after[0].ID == before[1].ID || after[0].Name != "video.test.com" {
		t.Errorf("vhosts before %+v after %+v", before, after)
	}
}

func TestClientAgainstFakePaging(t *testing.T) {
	s := New(Options{Vhosts: []string{"video.test.com"}})
	h := httptest.NewServer(s)
	defer h.Close()
	for i := 0; i < 37; i++ {
		vh := ""
		if i%5 == 0 {
			vh = "video.test.com"
		}
		s.PublishSilently(vh, "live", "s"+string(rune('a'+i%26))+string(rune('a'+i/26)), "")
	}
	for _, pageSize := range []int{0, 10, 12, 36, 37} {
		c := srsapi.NewClient(srsapi.Config{Name: "fake", BaseURL: h.URL, PageSize: pageSize})
		snap, err := c.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Streams) != 37 || snap.Identity != s.Identity() {
			t.Fatalf("page size %d: %d streams, id %+v", pageSize, len(snap.Streams), snap.Identity)
		}
		seen := map[string]bool{}
		for _, st := range snap.Streams {
			seen[st.ID] = true
			if st.VhostName == "" || !st.Publish.Active {
				t.Errorf("stream %+v", st)
			}
		}
		if len(seen) != 37 {
			t.Errorf("duplicate streams: %d unique", len(seen))
		}
	}
}

func TestAPIPagingAndRedirect(t *testing.T) {
	s := New(Options{})
	for i := 0; i < 15; i++ {
		s.PublishSilently("", "live", "s"+string(rune('a'+i)), "")
	}
	h := httptest.NewServer(s)
	defer h.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	for _, p := range []string{"/api/v1/streams?start=0&count=100", "/api/v1/vhosts", "/api/v1/clients", "/api/v1"} {
		resp, err := noRedirect.Get(h.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		path, q, _ := strings.Cut(p, "?")
		want := path + "/"
		if q != "" {
			want += "?" + q
		}
		if resp.StatusCode != 302 || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d Location %q, want 302 %q", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	count := func(query string) ([]srsapi.Stream, int) {
		resp, err := http.Get(h.URL + "/api/v1/streams" + query) // follows the 302
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sr srsapi.StreamsResponse
		if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
			t.Fatal(err)
		}
		return sr.Streams, resp.StatusCode
	}
	tests := []struct {
		query string
		want  int
	}{{"", 10}, {"?count=0", 10}, {"?count=-1", 10}, {"?count=abc", 10}, {"?count=100", 15}, {"?start=10&count=10", 5}, {"?start=99", 0}, {"?vhost=x&count=3", 10}}
	var all []srsapi.Stream
	for _, tc := range tests {
		got, code := count(tc.query)
		if code != 200 || len(got) != tc.want || got == nil {
			t.Errorf("%q: %d streams (status %d), want %d", tc.query, len(got), code, tc.want)
		}
		if tc.query == "?count=100" {
			all = got
		}
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ID < all[j].ID }) {
		t.Error("streams not sorted by id")
	}
	for _, p := range []string{all[0].ID + "/", "vid-nothere"} {
		resp, err := http.Get(h.URL + "/api/v1/streams/" + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env srsapi.Envelope
		_ = json.Unmarshal(b, &env)
		if resp.StatusCode != 200 || env.Code != 2048 || strings.Contains(string(b), "server") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}
}

func TestFaults(t *testing.T) {
	s := New(Options{})
	h := httptest.NewServer(s)
	defer h.Close()
	c := srsapi.NewClient(srsapi.Config{Name: "faulty", BaseURL: h.URL, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	var e *srsapi.Error

	s.SetDown(true)
	if _, _, err := c.Streams(ctx); !errors.As(err, &e) || e.Status != 0 || e.Server != "faulty" {
		t.Errorf("down: %v", err)
	}
	s.SetDown(false)
	s.SetStatus(503)
	if _, _, err := c.Streams(ctx); !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("status: %v", err)
	}
	s.SetStatus(0)
	s.SetLatency(time.Second)
	if _, _, err := c.Streams(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency: %v", err)
	}
	s.SetLatency(0)
	if _, err := c.Versions(ctx); err != nil {
		t.Errorf("healthy again: %v", err)
	}
}
