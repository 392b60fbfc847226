package srsapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveHooks serves h on 127.0.0.1 port 0 the way the agent does (same
// server timeouts), behind wrap when set, and returns the address.
func serveHooks(t *testing.T, h http.Handler, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return addr
}

// slowClient connects from local (nil: any), announces a body of n bytes and
// sends one byte of it, then holds the connection open.
func slowClient(t *testing.T, addr string, local net.Addr, n int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	fmt.Fprintf(c, "POST /api/v1/streams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", n)
	return c
}

// postHook sends one real on_publish from local and returns the answer.
func postHook(t *testing.T, addr string, local net.Addr, body []byte) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}).DialContext,
		DisableKeepAlives: true,
	}}
	resp, err := client.Post("http://"+addr+"/api/v1/streams", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("real on_publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHookSlowClientsHoldNoSlot: more slow clients than hook slots, each
// announcing a body and sending one byte, do not keep a real on_publish
// from being answered. Before issue 9 each of them held a slot for the
// server's 10 s read timeout and the real hook got 503 after a 1 s wait.
func TestHookSlowClientsHoldNoSlot(t *testing.T) {
	const slots = 4
	rcv := &recorder{}
	var answers atomic.Value
	answers.Store("")
	h := NewHookHandler(HookHandlerConfig{Receiver: rcv, MaxConcurrent: slots, Logger: slog.New(slog.DiscardHandler),
		Observe: func(a, ans string) {
			if ans != AnswerOK {
				answers.Store(answers.Load().(string) + ans + " ")
			}
		}})
	addr := serveHooks(t, h, nil)
	var slow []net.Conn
	for i := 0; i < 5*slots; i++ {
		slow = append(slow, slowClient(t, addr, nil, 500))
	}
	// Let the server read every slow request's headers.
	time.Sleep(200 * time.Millisecond)
	code, body := postHook(t, addr, nil, readFixture(t, "hook-on_publish.json"))
	if code != http.StatusOK || body != `{"code":0}` {
		t.Fatalf("real on_publish with %d slow clients holding connections: %d %q, want 200 {\"code\":0}", len(slow), code, body)
	}
	if len(rcv.got()) != 1 {
		t.Fatalf("receiver got %d hooks", len(rcv.got()))
	}
	// The slow clients are answered 408 once the body timeout passes.
	_ = slow[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(slow[0]).ReadString('\n')
	if err != nil || !strings.Contains(line, "408") {
		t.Errorf("slow client got %q (%v), want a 408", line, err)
	}
}

// TestHookListenerPerSourceLimit: one source cannot take more than its
// share of connections; another source (SRS) is still served, and a source
// outside the allow-list is closed before anything is read.
func TestHookListenerPerSourceLimit(t *testing.T) {
	var refused atomic.Int64
	var reasons atomic.Value
	reasons.Store("")
	h := NewHookHandler(HookHandlerConfig{Receiver: &recorder{}, Logger: slog.New(slog.DiscardHandler)})
	addr := serveHooks(t, h, func(ln net.Listener) net.Listener {
		return LimitListener(ln, ListenerLimits{MaxConns: 8, MaxConnsPerSource: 3, OnRefuse: func(r string) {
			refused.Add(1)
			reasons.Store(reasons.Load().(string) + r + " ")
		}})
	})
	attacker := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	srs := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	for i := 0; i < 3; i++ {
		slowClient(t, addr, attacker, 500)
	}
	// The fourth connection of the same source is closed at once.
	c := slowClient(t, addr, attacker, 500)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("over-limit connection read %d bytes, want it closed", n)
	}
	if refused.Load() != 1 || reasons.Load() != RefusedPerSource+" " {
		t.Errorf("refused %d (%q), want 1 %s", refused.Load(), reasons.Load(), RefusedPerSource)
	}
	if code, body := postHook(t, addr, srs, readFixture(t, "hook-on_publish.json")); code != 200 || body != `{"code":0}` {
		t.Errorf("SRS's hook: %d %q", code, body)
	}
}

func TestLimitListenerLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var reasons []string
	one := LimitListener(ln, ListenerLimits{MaxConns: 1, MaxConnsPerSource: 1}).(*limitListener)
	x := sourceAddr(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 1})
	if one.admit(x) != "" || one.admit(sourceAddr(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 8), Port: 1})) != RefusedTotal {
		t.Error("MaxConns 1 does not admit exactly one")
	}
	l := LimitListener(ln, ListenerLimits{MaxConns: 2, MaxConnsPerSource: 5}).(*limitListener)
	l.lim.OnRefuse = func(r string) { reasons = append(reasons, r) }
	a := sourceAddr(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1})
	b := sourceAddr(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1})
	if l.admit(a) != "" || l.admit(b) != "" {
		t.Fatal("first two refused")
	}
	if got := l.admit(a); got != RefusedTotal {
		t.Errorf("third = %q, want %s", got, RefusedTotal)
	}
	l.release(a)
	if got := l.admit(b); got != "" {
		t.Errorf("after a release = %q", got)
	}
	if l.total != 2 || l.bySource[b] != 2 || l.bySource[a] != 0 {
		t.Errorf("counts total %d a %d b %d", l.total, l.bySource[a], l.bySource[b])
	}
	if _, ok := l.bySource[a]; ok {
		t.Error("a source with no connection stays in the map")
	}
	if sourceAddr(nil).IsValid() || sourceAddr(&net.UnixAddr{Name: "x"}).IsValid() {
		t.Error("unknown address is valid")
	}
	d := LimitListener(ln, ListenerLimits{}).(*limitListener)
	if d.lim.MaxConns != DefaultHookMaxConns || d.lim.MaxConnsPerSource != DefaultHookMaxConnsPerSource {
		t.Errorf("defaults %+v", d.lim)
	}
}

// TestHookBodyBudget: the bytes of bodies being read at once are bounded;
// a body that does not fit is refused with 503, not buffered.
func TestHookBodyBudget(t *testing.T) {
	h := NewHookHandler(HookHandlerConfig{Receiver: &recorder{}, Logger: slog.New(slog.DiscardHandler), BodyBudget: 100}).(*hookHandler)
	addr := serveHooks(t, h, nil)
	body := readFixture(t, "hook-on_publish.json") // > 100 bytes
	if code, _ := postHook(t, addr, nil, body); code != http.StatusServiceUnavailable {
		t.Errorf("body over the budget: %d, want 503", code)
	}
	if n := h.buffered.Load(); n != 0 {
		t.Errorf("%d bytes still counted after the request", n)
	}
	h.cfg.BodyBudget = DefaultHookBodyBudget
	if code, _ := postHook(t, addr, nil, body); code != http.StatusOK {
		t.Errorf("within the budget: %d", code)
	}
	if n := h.buffered.Load(); n != 0 {
		t.Errorf("%d bytes still counted after the request", n)
	}
}

// TestHookDefaultsAsDocumented: the README's security section states the
// hook server's limits; they are the defaults the code uses.
func TestHookDefaultsAsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("under a %d s deadline", int(DefaultHookBodyTimeout/time.Second)),
		fmt.Sprintf("limited to %d per source address and %d in all", DefaultHookMaxConnsPerSource, DefaultHookMaxConns),
		fmt.Sprintf("hold at most\n%d MiB in all", DefaultHookBodyBudget>>20),
		fmt.Sprintf("a body over %d MiB", DefaultHookMaxBody>>20),
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	h := NewHookHandler(HookHandlerConfig{}).(*hookHandler)
	if h.cfg.BodyTimeout != DefaultHookBodyTimeout || h.cfg.BodyBudget != DefaultHookBodyBudget || h.cfg.MaxBody != DefaultHookMaxBody || cap(h.slots) != DefaultHookMaxConcurrent {
		t.Errorf("defaults not applied: %+v", h.cfg)
	}
	// The largest body is accepted whole, one byte more is refused.
	pad := strings.Repeat("a", DefaultHookMaxBody-len(`{"action":"on_play","vhost":"v","app":"a","stream":"s","x":""}`))
	body := `{"action":"on_play","vhost":"v","app":"a","stream":"s","x":"` + pad + `"}`
	for _, tc := range []struct {
		body string
		code int
	}{{body, 200}, {body + " ", 413}} {
		rec := httptest.NewRecorder()
		NewHookHandler(HookHandlerConfig{Receiver: &recorder{}, Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(rec, srsRequest("/api/v1/clients", []byte(tc.body)))
		if rec.Code != tc.code {
			t.Errorf("body of %d bytes: %d, want %d", len(tc.body), rec.Code, tc.code)
		}
	}
}

func TestCheckServerName(t *testing.T) {
	for _, tc := range []struct {
		v, want string
	}{
		{"origin", ""},
		{"édge\u00a01", ""},
		{"", "missing"},
		{"a/b", "contains '/'"},
		{"a\x1fb", "control character U+001F"},
		{"a\x7fb", "control character U+007F"},
		{"a\u009fb", "control character U+009F"},
		{"a\u0080b", "control character U+0080"},
		{"\xff", "not valid UTF-8"},
		{strings.Repeat("s", 257), "257 bytes long"},
		{strings.Repeat("s", 256), ""},
	} {
		err := checkName("server", tc.v)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkName(%q) = %v, want %q", tc.v, err, tc.want)
		}
	}
}
