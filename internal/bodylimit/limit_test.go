package bodylimit

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type closeBody struct {
	io.Reader
	closed bool
}

func (b *closeBody) Close() error { b.closed = true; return nil }

// Transport errors and bodiless answers pass through untouched.
func TestWrapPassesThrough(t *testing.T) {
	boom := errors.New("boom")
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	if _, err := Wrap(rtFunc(func(*http.Request) (*http.Response, error) { return nil, boom }), 10).RoundTrip(req); err != boom {
		t.Errorf("transport error: %v", err)
	}
	bare := &http.Response{StatusCode: 204}
	if resp, err := Wrap(rtFunc(func(*http.Request) (*http.Response, error) { return bare, nil }), 10).RoundTrip(req); err != nil || resp != bare {
		t.Errorf("no body: %v %v", resp, err)
	}
}

// The announced length is checked before reading; the limit is inclusive;
// a body past it keeps failing, and Close reaches the real body.
func TestLimitExact(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	serve := func(body string, announced int64) (*http.Response, *closeBody, error) {
		b := &closeBody{Reader: strings.NewReader(body)}
		resp, err := Wrap(rtFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: b, ContentLength: announced}, nil
		}), 5).RoundTrip(req)
		return resp, b, err
	}
	if _, b, err := serve("123456", 6); !errors.Is(err, ErrTooLarge) || !b.closed || !strings.Contains(err.Error(), "6 bytes announced, limit 5") {
		t.Errorf("announced 6 of 5: %v (closed %v)", err, b.closed)
	}
	resp, b, err := serve("12345", 5)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || string(got) != "12345" {
		t.Errorf("5 of 5: %q %v", got, err)
	}
	if resp.Body.Close(); !b.closed {
		t.Error("Close did not reach the body")
	}
	resp, _, _ = serve("123456789", -1)
	buf := make([]byte, 3)
	total := 0
	var rerr error
	for i := 0; i < 5 && rerr == nil; i++ {
		var n int
		n, rerr = resp.Body.Read(buf)
		total += n
	}
	if !errors.Is(rerr, ErrTooLarge) || total != 6 {
		t.Errorf("unannounced 9 of 5 in 3-byte reads: %d bytes then %v, want 6 then ErrTooLarge", total, rerr)
	}
	if n, err := resp.Body.Read(buf); n != 0 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("read after the limit: %d %v", n, err)
	}
}

// A read asks the body for at most one byte past the limit, whatever the
// buffer: a 7- or 10-byte buffer on a 9-byte body under a limit of 5 gets
// 6 bytes and ErrTooLarge.
func TestReadStopsOneBytePast(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	for _, size := range []int{6, 7, 10} {
		resp, err := Wrap(rtFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("123456789")), ContentLength: -1}, nil
		}), 5).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		n, err := resp.Body.Read(make([]byte, size))
		if n != 6 || !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d-byte buffer: %d bytes, %v; want 6 and ErrTooLarge", size, n, err)
		}
	}
}
