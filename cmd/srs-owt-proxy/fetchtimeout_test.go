package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// deadlineTransport records the deadline of the request it is given.
type deadlineTransport struct {
	deadline time.Time
	ok       bool
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.deadline, d.ok = r.Context().Deadline()
	return nil, errors.New("not sent")
}

// `status` gives a silent agent 10 s (seen as the request's deadline, not
// waited for), and keeps a shorter deadline of its caller.
func TestFetchStatusDeadline(t *testing.T) {
	rec := &deadlineTransport{}
	old := http.DefaultClient.Transport
	http.DefaultClient.Transport = rec
	defer func() { http.DefaultClient.Transport = old }()

	start := time.Now()
	if _, _, err := fetchStatus(context.Background(), "http://127.0.0.1:9"); err == nil {
		t.Fatal("fetch through a failing transport succeeded")
	}
	if left := rec.deadline.Sub(start); !rec.ok || left < 10*time.Second || left > 10900*time.Millisecond {
		t.Errorf("deadline %v after the start (set %v), want 10s", left, rec.ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	_, _, _ = fetchStatus(ctx, "http://127.0.0.1:9")
	if left := rec.deadline.Sub(start); left > 1500*time.Millisecond {
		t.Errorf("deadline %v after the start, want the caller's 1s", left)
	}
}
