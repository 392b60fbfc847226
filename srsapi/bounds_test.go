package srsapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults and floors of a client's configuration.
func TestClientConfigDefaults(t *testing.T) {
	c := NewClient(Config{})
	if c.cfg.Timeout != 5*time.Second || c.cfg.PageSize != 1000 {
		t.Errorf("defaults: timeout %v page %d, want 5s and 1000", c.cfg.Timeout, c.cfg.PageSize)
	}
	// SRS answers at least 10 entries whatever the count: a smaller page
	// would look full with 10 streams and be asked again forever.
	for _, tc := range []struct{ in, want int }{{9, 10}, {10, 10}, {11, 11}} {
		if got := NewClient(Config{PageSize: tc.in}).cfg.PageSize; got != tc.want {
			t.Errorf("page size %d: %d, want %d", tc.in, got, tc.want)
		}
	}
}

// A plain transport error reads as the call and the cause, nothing else; a
// cancelled call also says so and matches context.Canceled.
func TestClientTransportErrorText(t *testing.T) {
	c, mt := newTestClient(t, Config{Name: "b"})
	mt.RegisterResponder("GET", baseURL+"/api/v1/versions", func(*http.Request) (*http.Response, error) {
		return nil, errors.New("boom")
	})
	_, err := c.Versions(context.Background())
	want := `srs "b": GET /api/v1/versions: Get "` + baseURL + `/api/v1/versions": boom (check that SRS is running and that http_api listens at the configured address)`
	if err == nil || err.Error() != want {
		t.Errorf("plain transport error:\n got %v\nwant %s", err, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mt.RegisterResponder("GET", baseURL+"/api/v1/summaries", func(*http.Request) (*http.Response, error) {
		cancel()
		return nil, errors.New("reset")
	})
	_, err = c.Summaries(ctx)
	// net/http reports either the transport's error wrapped by the
	// cancellation ("context canceled: reset") or the cancellation alone,
	// depending on which it sees first.
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "context canceled") || !strings.Contains(err.Error(), "(the call was cancelled)") {
		t.Errorf("cancelled call: %v", err)
	}
}

// An answer body is quoted up to 120 bytes in errors.
func TestSnippetLimit(t *testing.T) {
	exact := strings.Repeat("x", 120)
	if got := snippet([]byte(exact)); got != `"`+exact+`"` {
		t.Errorf("120 bytes: %s", got)
	}
	if got := snippet([]byte(exact + "y")); got != `"`+exact+`..."` {
		t.Errorf("121 bytes: %s", got)
	}
	if got := snippet(nil); got != "empty body" {
		t.Errorf("empty: %s", got)
	}
}

// Error text for each combination of HTTP status and SRS code, and the
// hint at each status boundary.
func TestErrorTextAndHints(t *testing.T) {
	cause := errors.New("cause")
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Server: "a", Call: "GET /x", Status: 200, Code: 1000, Err: cause}, `srs "a": GET /x: HTTP 200, SRS code 1000: cause (SRS refused the call; check the SRS log for this error code)`},
		{Error{Server: "a", Call: "GET /x", Code: 1000}, `srs "a": GET /x: SRS code 1000 (SRS refused the call; check the SRS log for this error code)`},
		{Error{Server: "a", Call: "GET /x", Status: 502}, `srs "a": GET /x: HTTP 502 (SRS or a proxy in front of it failed; check the SRS log)`},
		{Error{Server: "a", Call: "GET /x", Status: 499}, `srs "a": GET /x: HTTP 499 (check that the URL points at an SRS 6 HTTP API)`},
		{Error{Server: "a", Call: "GET /x", Status: 500}, `srs "a": GET /x: HTTP 500 (SRS or a proxy in front of it failed; check the SRS log)`},
		{Error{Server: "a", Call: "GET /x", Status: 403}, `srs "a": GET /x: HTTP 403 (check the username and password of SRS http_api auth)`},
		{Error{Server: "a", Call: "GET /x", Status: 402}, `srs "a": GET /x: HTTP 402 (check that the URL points at an SRS 6 HTTP API)`},
		{Error{Server: "a", Call: "GET /x", Status: 404}, `srs "a": GET /x: HTTP 404 (check the API base URL; it must point at SRS http_api (e.g. http://127.0.0.1:1985))`},
		{Error{Server: "a", Call: "GET /x", Status: 405}, `srs "a": GET /x: HTTP 405 (check that the URL points at an SRS 6 HTTP API)`},
		{Error{Server: "a", Call: "GET /x", Err: cause}, `srs "a": GET /x: cause (check that SRS is running and that http_api listens at the configured address)`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.e, got, tc.want)
		}
	}
}

// The server name of a hook URL (?server=) is a plain name: its limit at
// the boundary, a space, '/', invalid UTF-8, and the C0, DEL and C1 ranges.
func TestCheckNameBounds(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"256 bytes", strings.Repeat("s", 256), true},
		{"257 bytes", strings.Repeat("s", 257), false},
		{"empty", "", false},
		{"space", "origin b", true},
		{"slash", "a/b", false},
		{"invalid UTF-8", "a\xffb", false},
		{"unit separator 0x1f", "a\x1f", false},
		{"DEL", "a\x7f", false},
		{"C1 0x80", "a\u0080", false},
		{"C1 0x9f", "a\u009f", false},
		{"NBSP 0xa0", "a\u00a0", true},
		{"0x7e", "a~", true},
	} {
		if err := checkName("server", tc.v); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// Long values in messages are clipped at 64 bytes on a rune start.
func TestClip(t *testing.T) {
	if s := strings.Repeat("a", 64); clip(s) != s {
		t.Error("64 bytes clipped")
	}
	if got := clip(strings.Repeat("a", 65)); got != strings.Repeat("a", 64)+"..." {
		t.Errorf("65 bytes: %q", got)
	}
	// "é" is 2 bytes: 63 a's then é straddles the limit.
	if got := clip(strings.Repeat("a", 63) + "éé"); got != strings.Repeat("a", 63)+"..." {
		t.Errorf("multi-byte at the limit: %q", got)
	}
}

// Replies carry their exact length.
func TestReplyContentLength(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteOK(rec)
	if rec.Header().Get("Content-Length") != "10" {
		t.Errorf("ok Content-Length %q", rec.Header().Get("Content-Length"))
	}
	rec = httptest.NewRecorder()
	WriteReject(rec, 403, "no")
	if want := `{"code":403,"msg":"no"}`; rec.Body.String() != want || rec.Header().Get("Content-Length") != "23" {
		t.Errorf("reject %q %q", rec.Body.String(), rec.Header().Get("Content-Length"))
	}
}

// logRec records log lines.
type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRec) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logRec) WithAttrs(as []slog.Attr) slog.Handler {
	return &logAttrs{l, as}
}
func (l *logRec) WithGroup(string) slog.Handler { return l }

type logAttrs struct {
	*logRec
	as []slog.Attr
}

func (l *logAttrs) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(l.as...)
	return l.logRec.Handle(ctx, r)
}

// A refused hook is logged with its status and reason; the server name of
// the hook URL must be a plain name.
func TestHookRefusedLoggedAndServerParam(t *testing.T) {
	logs := &logRec{}
	rcv := &recorder{}
	h := NewHookHandler(HookHandlerConfig{Receiver: rcv, Logger: slog.New(logs)})
	body := []byte(`{"action":"on_publish","client_id":"c","stream_id":"s","vhost":"v","app":"a","stream":"st","server_id":"id1"}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, srsRequest("/api/v1/streams?server=b", body))
	assertOK(t, rec)
	if got := rcv.got(); len(got) != 1 || got[0].Server != "b" {
		t.Fatalf("hooks %+v, want server b from the URL", got)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, srsRequest("/api/v1/streams?server=a/b", body))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "server (in the hook URL)") {
		t.Fatalf("bad server name: %d %s", rec.Code, rec.Body.String())
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	found := false
	for _, l := range logs.lines {
		if strings.HasPrefix(l, "WARN hook refused") && strings.Contains(l, "status=400") && strings.Contains(l, "reason=") {
			found = true
		}
	}
	if !found {
		t.Errorf("refused hook not logged: %q", logs.lines)
	}
}

// A hook that is not a POST is refused with the method it needs.
func TestHookHandlerMethodAllow(t *testing.T) {
	h := NewHookHandler(HookHandlerConfig{Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/streams", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d Allow %q, want 405 and Allow: POST", rec.Code, rec.Header().Get("Allow"))
	}
}

// The default budget of hook bodies being read at once is 32 MiB.
func TestHookBodyBudgetDefault(t *testing.T) {
	if h := NewHookHandler(HookHandlerConfig{}).(*hookHandler); h.cfg.BodyBudget != 32<<20 {
		t.Errorf("default body budget %d, want 32 MiB", h.cfg.BodyBudget)
	}
}

// A source's count of connections goes down one by one as they close: it
// is forgotten only at zero, so the per-source cap keeps holding.
func TestLimitListenerCountsPerSource(t *testing.T) {
	l := LimitListener(nil, ListenerLimits{MaxConns: 10, MaxConnsPerSource: 2}).(*limitListener)
	src := netip.MustParseAddr("192.0.2.7")
	for i := 0; i < 2; i++ {
		if r := l.admit(src); r != "" {
			t.Fatalf("connection %d refused: %s", i, r)
		}
	}
	if r := l.admit(src); r != RefusedPerSource {
		t.Fatalf("third connection: %q, want %s", r, RefusedPerSource)
	}
	l.release(src)
	if l.bySource[src] != 1 {
		t.Fatalf("after one close: count %d, want 1", l.bySource[src])
	}
	if r := l.admit(src); r != "" {
		t.Fatalf("after one close: %q, want admitted", r)
	}
	if r := l.admit(src); r != RefusedPerSource {
		t.Errorf("cap after a close: %q, want %s", r, RefusedPerSource)
	}
	l.release(src)
	l.release(src)
	if _, kept := l.bySource[src]; kept || l.total != 0 {
		t.Errorf("all closed: source kept %v, total %d", kept, l.total)
	}
}

// Limits of one are kept as given (a single connection in all, or from
// each source); zero or less means the default.
func TestLimitListenerLimitsAtOne(t *testing.T) {
	for _, c := range []struct {
		in, wantTotal, wantPer int
	}{
		{1, 1, 1},
		{2, 2, 2},
		{0, DefaultHookMaxConns, DefaultHookMaxConnsPerSource},
		{-1, DefaultHookMaxConns, DefaultHookMaxConnsPerSource},
	} {
		l := LimitListener(nil, ListenerLimits{MaxConns: c.in, MaxConnsPerSource: c.in}).(*limitListener)
		if l.lim.MaxConns != c.wantTotal || l.lim.MaxConnsPerSource != c.wantPer {
			t.Errorf("limits %d: got %d in all, %d per source; want %d, %d", c.in, l.lim.MaxConns, l.lim.MaxConnsPerSource, c.wantTotal, c.wantPer)
		}
	}
	// With one per source, a second connection from the same address is
	// refused while another address still gets in.
	l := LimitListener(nil, ListenerLimits{MaxConns: 10, MaxConnsPerSource: 1}).(*limitListener)
	a, b := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("192.0.2.8")
	if r := l.admit(a); r != "" {
		t.Fatalf("first connection refused: %s", r)
	}
	if r := l.admit(a); r != RefusedPerSource {
		t.Errorf("second connection from one source: %q, want %s", r, RefusedPerSource)
	}
	if r := l.admit(b); r != "" {
		t.Errorf("another source refused: %s", r)
	}
}
