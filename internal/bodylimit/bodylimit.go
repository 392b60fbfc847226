// Package bodylimit caps how much of an HTTP response body a client may
// read, in the transport, so that the client can read bodies in large
// chunks (resty's own limit reads 512 bytes at a time).
package bodylimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrTooLarge is returned by a body read past the limit.
var ErrTooLarge = errors.New("response body too large")

// Wrap returns a RoundTripper whose response bodies fail with ErrTooLarge
// once more than max bytes were read.
func Wrap(next http.RoundTripper, max int64) http.RoundTripper {
	return &transport{next: next, max: max}
}

type transport struct {
	next http.RoundTripper
	max  int64
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &limited{rc: resp.Body, left: t.max}
	return resp, nil
}

type limited struct {
	rc   io.ReadCloser
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	// One byte past the limit is read to tell a body of exactly the limit
	// from a longer one.
	p = p[:min(int64(len(p)), l.left+1)]
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

func (l *limited) Close() error { return l.rc.Close() }
