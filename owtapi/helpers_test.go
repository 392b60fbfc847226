package owtapi

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const (
	testServiceID = "5f1c0000000000000000abcd"
	testKey       = "k3y-that-must-never-leak"
	testNonce     = "0123456789abcdef"
	testBaseURL   = "http://owt.test:3000"
)

var testNow = time.UnixMilli(1700000000000)

// captured is one request seen by the mock.
type captured struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Header http.Header
	Body   []byte
}

// mockOWT answers every request through one httpmock transport with the
// queued responders (the last one repeats) and records the requests.
type mockOWT struct {
	t  *testing.T
	mt *httpmock.MockTransport

	mu         sync.Mutex
	reqs       []captured
	responders []httpmock.Responder
}

func newMockOWT(t *testing.T, responders ...httpmock.Responder) *mockOWT {
	t.Helper()
	m := &mockOWT{t: t, mt: httpmock.NewMockTransport(), responders: responders}
	m.mt.RegisterNoResponder(m.serve)
	return m
}

func (m *mockOWT) serve(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	m.mu.Lock()
	m.reqs = append(m.reqs, captured{
		Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.Query(),
		Header: req.Header.Clone(), Body: body,
	})
	i := len(m.reqs) - 1
	if i >= len(m.responders) {
		i = len(m.responders) - 1
	}
	r := m.responders[i]
	m.mu.Unlock()
	return r(req)
}

func (m *mockOWT) requests() []captured {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]captured(nil), m.reqs...)
}

// client builds a Client on the mock with fixed time and nonce.
func (m *mockOWT) client(mod func(*Config)) *Client {
	m.t.Helper()
	cfg := Config{
		URL: testBaseURL, ServiceID: testServiceID, ServiceKey: testKey,
		Transport: m.mt,
		Now:       func() time.Time { return testNow },
		Nonce:     func() string { return testNonce },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		m.t.Fatalf("New: %v", err)
	}
	return c
}

// jsonResponder answers status with body as application/json.
func jsonResponder(status int, body string) httpmock.Responder {
	return httpmock.NewStringResponder(status, body).HeaderSet(http.Header{"Content-Type": {"application/json; charset=utf-8"}})
}

// checkAuthHeader parses an Authorization value the way OWT does and checks
// it carries a valid signature for key.
func checkAuthHeader(t *testing.T, h, key string) map[string]string {
	t.Helper()
	if strings.Contains(strings.TrimPrefix(h, "MAuth "), " ") || strings.Contains(h, `"`) {
		t.Fatalf("Authorization %q has spaces or quotes", h)
	}
	if !strings.HasPrefix(h, "MAuth realm=http://marte3.dit.upm.es,") {
		t.Fatalf("Authorization %q does not start with the MAuth realm", h)
	}
	items := map[string]string{}
	for _, it := range strings.Split(h, ",") {
		name, value, ok := strings.Cut(it, "=")
		if !ok || len(name) < 6 {
			t.Fatalf("Authorization item %q malformed", it)
		}
		items[name[6:]] = value // OWT drops the first 6 characters
	}
	want := map[string]string{
		"realm":            "http://marte3.dit.upm.es",
		"signature_method": "HMAC_SHA256",
		"serviceid":        testServiceID,
	}
	for k, v := range want {
		if items[k] != v {
			t.Errorf("auth %s = %q, want %q", k, items[k], v)
		}
	}
	if items["timestamp"] == "" || items["cnonce"] == "" {
		t.Fatalf("auth lacks timestamp or cnonce: %q", h)
	}
	if got, want := items["signature"], Signature(key, items["timestamp"], items["cnonce"], "", ""); got != want {
		t.Errorf("auth signature = %q, want %q", got, want)
	}
	if len(items) != 6 {
		t.Errorf("auth has %d items, want 6: %q", len(items), h)
	}
	return items
}
