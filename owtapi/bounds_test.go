package owtapi

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

// Server text in an error is kept up to 256 bytes, whole; longer text is
// cut there (on a rune start) and marked.
func TestBoundTextLimit(t *testing.T) {
	exact := strings.Repeat("a", 256)
	if got := boundText(exact); got != exact {
		t.Errorf("256 bytes: cut to %d bytes", len(got))
	}
	if got := boundText(exact + "b"); got != exact+"..." {
		t.Errorf("257 bytes: %q, want the first 256 and ...", got)
	}
	// A 3-byte rune across the limit is dropped whole.
	multi := strings.Repeat("a", 255) + "€tail"
	if got := boundText(multi); got != strings.Repeat("a", 255)+"..." {
		t.Errorf("rune across the limit: %q", got)
	}
	if got := boundText("  a \n\t b  "); got != "a b" {
		t.Errorf("whitespace: %q", got)
	}
}

// A 300 is no success: OWT's API never redirects.
func TestMultipleChoicesIsAnError(t *testing.T) {
	m := newMockOWT(t, httpmock.NewStringResponder(300, "").HeaderSet(http.Header{"Location": {"http://elsewhere/"}}))
	_, err := m.client(nil).GetRoom(context.Background(), "r1")
	var oe *Error
	if !errors.As(err, &oe) || oe.Status != 300 || !strings.Contains(oe.Message, "redirect to http://elsewhere/") {
		t.Fatalf("300 answer: err %v, want an *Error with status 300 naming the redirect", err)
	}
}

// The separator before the cause appears only after a status or message.
func TestErrorTextJoins(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Op: "get room", Status: 502, Err: boom, hint: "h"}, "owt: get room: HTTP 502: boom: h"},
		{Error{Op: "get room", Message: "bad", Err: boom, hint: "h"}, "owt: get room: bad: boom: h"},
		{Error{Op: "get room", Err: boom, hint: "h"}, "owt: get room: boom: h"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.e, got, tc.want)
		}
	}
}

// Hints for the cases only one status/code pair reaches.
func TestHintCorners(t *testing.T) {
	if h := hintFor(&Error{Status: 404, Code: CodeParticipantNotFound}, 0); h != "the participant left the room" {
		t.Errorf("404/participant not found: %q", h)
	}
	// No status, no cause: nothing to say (only a 2xx without a code is odd).
	if h := hintFor(&Error{Code: 7}, 0); h != "" {
		t.Errorf("no status, code 7: %q, want none", h)
	}
	if h := hintFor(&Error{Status: 403}, 0); h != "the service lacks permission for this call" {
		t.Errorf("403: %q", h)
	}
	if h := hintFor(&Error{Status: 499}, 0); h != "" {
		t.Errorf("499 without a code: %q, want none (only 5xx did not answer like OWT)", h)
	}
	if h := hintFor(&Error{Status: 500}, 0); !strings.Contains(h, "did not answer like OWT's management API") {
		t.Errorf("500 without a code: %q", h)
	}
	if h := hintFor(&Error{Status: 299}, 0); !strings.Contains(h, "not what OWT's management API sends") {
		t.Errorf("2xx without a code: %q", h)
	}
}

// A caller's *http.Transport is used as given without TLS options, and
// cloned (never changed) to apply them; the default transport is pooled.
func TestBuildTransport(t *testing.T) {
	given := &http.Transport{}
	rt, err := buildTransport(Config{Transport: given})
	if err != nil || rt != given {
		t.Fatalf("no TLS options: %v %v, want the given transport itself", rt, err)
	}
	rt, err = buildTransport(Config{Transport: given, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS options on a given transport: %v", err)
	}
	tr, ok := rt.(*http.Transport)
	if !ok || tr == given || tr.TLSClientConfig == nil || !tr.TLSClientConfig.InsecureSkipVerify ||
		(given.TLSClientConfig != nil && given.TLSClientConfig.InsecureSkipVerify) {
		t.Fatalf("TLS options on a given transport: want a changed clone, the given one untouched")
	}
	rt, err = buildTransport(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tr = rt.(*http.Transport)
	if tr.MaxIdleConns != 256 || tr.MaxIdleConnsPerHost != 64 || tr.TLSClientConfig == nil {
		t.Errorf("default transport: idle %d per host %d tls %v, want 256, 64 and TLS 1.2+", tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.TLSClientConfig)
	}
}

// A CA file adds to the system roots; it does not replace them.
func TestCAFileKeepsSystemRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tc, err := tlsConfig(Config{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.SystemCertPool()
	if err != nil {
		t.Fatalf("system cert pool: %v", err)
	}
	want.AppendCertsFromPEM(pemBytes)
	if !tc.RootCAs.Equal(want) {
		t.Error("RootCAs is not the system roots plus the CA file")
	}
}
