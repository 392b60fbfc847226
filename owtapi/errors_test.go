package owtapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// TestErrorMapping runs every error kind through GetStream and checks the
// *Error fields and every predicate.
func TestErrorMapping(t *testing.T) {
	type preds struct{ room, stream, notFound, ambiguous, unauth, bad, timeout, transport bool }
	longBody := strings.Repeat("x", 5000)
	tests := []struct {
		name       string
		respond    httpmock.Responder
		ctx        func() (context.Context, context.CancelFunc)
		status     int
		code       int
		message    string
		want       preds
		wantInText string
	}{
		{name: "room not found", respond: jsonResponder(404, `{"error":{"code":1003,"message":"Room not found"}}`),
			status: 404, code: 1003, message: "Room not found", want: preds{room: true, notFound: true},
			wantInText: "404/1003 Room not found"},
		{name: "stream not found", respond: jsonResponder(404, `{"error":{"code":1004,"message":"Stream not found"}}`),
			status: 404, code: 1004, message: "Stream not found", want: preds{stream: true, notFound: true}},
		{name: "participant not found", respond: jsonResponder(404, `{"error":{"code":1005,"message":"Participant not found"}}`),
			status: 404, code: 1005, message: "Participant not found", want: preds{notFound: true}},
		{name: "unknown path is not absent", respond: jsonResponder(404, `{"error":{"code":1001,"message":"Resource not found"}}`),
			status: 404, code: 1001, message: "Resource not found", want: preds{}, wantInText: "unknown path"},
		{name: "unauthorized", respond: jsonResponder(401, `{"error":{"code":1101,"message":"WWW-Authenticate: MAuth realm=\"http://marte3.dit.upm.es\""}}`),
			status: 401, code: 1101, message: `WWW-Authenticate: MAuth realm="http://marte3.dit.upm.es"`, want: preds{unauth: true},
			wantInText: "service id and key"},
		{name: "bad request", respond: jsonResponder(400, `{"error":{"code":1201,"message":"Invalid request body"}}`),
			status: 400, code: 1201, message: "Invalid request body", want: preds{bad: true}},
		{name: "operation failed", respond: jsonResponder(500, `{"error":{"code":1301,"message":"Operation failed"}}`),
			status: 500, code: 1301, message: "Operation failed", want: preds{ambiguous: true},
			wantInText: "owt: get stream s1 in room r1 on http://owt.test:3000: 500/1301 Operation failed"},
		{name: "internal error", respond: jsonResponder(500, `{"error":{"code":2001,"message":"CastError Cast to ObjectId failed"}}`),
			status: 500, code: 2001, message: "CastError Cast to ObjectId failed", want: preds{}, wantInText: "management_api log"},
		{name: "non-JSON body", respond: httpmock.NewStringResponder(502, "  <html>\n Bad Gateway </html>\n"),
			status: 502, message: "<html> Bad Gateway </html>", want: preds{}, wantInText: "HTTP 502 <html> Bad Gateway </html>"},
		{name: "long non-JSON body is bounded", respond: httpmock.NewStringResponder(503, longBody),
			status: 503, message: longBody[:maxMessageLen] + "...", want: preds{}},
		{name: "empty error body", respond: httpmock.NewStringResponder(500, ""),
			status: 500, message: "Internal Server Error", want: preds{}},
		{name: "redirect is not followed", respond: httpmock.NewStringResponder(302, "").HeaderSet(map[string][]string{"Location": {"https://owt.test:3000/v1/rooms/r1/streams/s1"}}),
			status: 302, message: "redirect to https://owt.test:3000/v1/rooms/r1/streams/s1", want: preds{}, wantInText: "scheme http/https"},
		{name: "body echoing the key is scrubbed", respond: httpmock.NewStringResponder(500, "bad key "+testKey),
			status: 500, message: "bad key [redacted]", want: preds{}},
		{name: "connection reset", respond: httpmock.NewErrorResponder(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}),
			want: preds{transport: true}, wantInText: "reachable at http://owt.test:3000"},
		{name: "EOF", respond: httpmock.NewErrorResponder(io.EOF), want: preds{transport: true}},
		{name: "timeout", respond: jsonResponder(200, "{}").Delay(5 * time.Second),
			want: preds{timeout: true, transport: true}, wantInText: "may still have taken effect"},
		{name: "caller deadline", respond: jsonResponder(200, "{}").Delay(5 * time.Second),
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			want: preds{timeout: true, transport: true}},
		{name: "caller cancel", respond: jsonResponder(200, "{}").Delay(5 * time.Second),
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			},
			want: preds{}, wantInText: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, tt.respond)
			c := m.client(func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := c.GetStream(ctx, "r1", "s1")
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Status != tt.status || e.Code != tt.code || (tt.status != 0 && e.Message != tt.message) {
				t.Errorf("got %d/%d %q, want %d/%d %q", e.Status, e.Code, e.Message, tt.status, tt.code, tt.message)
			}
			if e.Op != "get stream" || e.Room != "r1" || e.Stream != "s1" {
				t.Errorf("op/room/stream = %q/%q/%q", e.Op, e.Room, e.Stream)
			}
			got := preds{
				room: IsRoomNotFound(err), stream: IsStreamNotFound(err), notFound: IsNotFound(err),
				ambiguous: IsAmbiguous(err), unauth: IsUnauthorized(err), bad: IsBadRequest(err),
				timeout: IsTimeout(err), transport: IsTransport(err),
			}
			if got != tt.want {
				t.Errorf("predicates = %+v, want %+v", got, tt.want)
			}
			text := err.Error()
			t.Logf("error: %s", text)
			if strings.Contains(text, testKey) || strings.Contains(e.Message, testKey) {
				t.Errorf("error leaks the service key: %s", text)
			}
			if !strings.Contains(text, tt.wantInText) {
				t.Errorf("error %q lacks %q", text, tt.wantInText)
			}
			if n := len(m.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retries)", n)
			}
		})
	}
}

func TestPredicatesOnOtherErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		timeout   bool
		transport bool
		ambiguous bool
	}{
		{"nil", nil, false, false, false},
		{"plain", errors.New("x"), false, false, false},
		{"deadline", context.DeadlineExceeded, true, true, false},
		{"wrapped refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false, true, false},
		{"invalid request", &Error{Op: "x", Err: ErrInvalidRequest}, false, false, false},
		{"http status", &Error{Op: "x", Status: 500, Code: 1301}, false, false, true},
		{"wrapped http status", fmt.Errorf("ctx: %w", &Error{Op: "x", Status: 500, Code: 1301}), false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTimeout(tt.err); got != tt.timeout {
				t.Errorf("IsTimeout = %v", got)
			}
			if got := IsTransport(tt.err); got != tt.transport {
				t.Errorf("IsTransport = %v", got)
			}
			if got := IsAmbiguous(tt.err); got != tt.ambiguous {
				t.Errorf("IsAmbiguous = %v", got)
			}
		})
	}
}

// TestConnectionRefused uses a real closed port on 127.0.0.1.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(Config{URL: "http://" + addr, ServiceID: testServiceID, ServiceKey: testKey, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListRooms(context.Background())
	if !IsTransport(err) || IsTimeout(err) {
		t.Fatalf("err = %v: want transport, not timeout", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err does not wrap ECONNREFUSED: %v", err)
	}
	if !strings.Contains(err.Error(), "owt: list rooms on http://"+addr+": ") || strings.Contains(err.Error(), testKey) {
		t.Errorf("err text = %q", err.Error())
	}
}

func TestStartStreamingInRejectsBadRequestLocally(t *testing.T) {
	tests := []struct {
		name string
		req  StreamingInRequest
	}{
		{"no url", StreamingInRequest{Media: MediaRequest{Audio: "auto", Video: "auto"}}},
		{"nil media", StreamingInRequest{Connection: Connection{URL: "rtmp://h/a/b"}}},
		{"object media", StreamingInRequest{Connection: Connection{URL: "rtmp://h/a/b"}, Media: MediaRequest{Audio: map[string]any{"codec": "aac"}, Video: "auto"}}},
		{"string true", StreamingInRequest{Connection: Connection{URL: "rtmp://h/a/b"}, Media: MediaRequest{Audio: "true", Video: "auto"}}},
		{"both false", StreamingInRequest{Connection: Connection{URL: "rtmp://h/a/b"}, Media: MediaRequest{Audio: false, Video: false}}},
		{"bad protocol", StreamingInRequest{Connection: Connection{URL: "rtsp://h/a", TransportProtocol: "http"}, Media: MediaRequest{Audio: "auto", Video: "auto"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, jsonResponder(200, "{}"))
			c := m.client(nil)
			_, err := c.StartStreamingIn(context.Background(), "r1", tt.req)
			var oe *Error
			if !errors.Is(err, ErrInvalidRequest) || IsTransport(err) || !errors.As(err, &oe) || oe.Status != 0 || oe.Code != 0 {
				t.Fatalf("err = %v, want ErrInvalidRequest without status or code, and not transport", err)
			}
			if n := len(m.requests()); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}
