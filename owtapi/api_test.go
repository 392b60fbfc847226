package owtapi

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/jarcoal/httpmock"
)

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMethods checks, for every method, the request on the wire (method,
// escaped path, query, signed Authorization, Content-Type, exact JSON body)
// and the decoded answer.
func TestMethods(t *testing.T) {
	room := testdata(t, "room.json")
	single := testdata(t, "room_single_get.json")
	fwd := testdata(t, "streaming_in_v1.json")
	mixed := testdata(t, "mixed_v1.json")
	parts := testdata(t, "participants.json")
	const rid = "6b05f3f2a02915a554fca0f2"

	tests := []struct {
		name      string
		respond   httpmock.Responder
		call      func(context.Context, *Client) (any, error)
		method    string
		path      string
		query     url.Values
		body      string // exact JSON, "" for no body
		check     func(t *testing.T, got any)
		wantCalls int
	}{
		{
			name:    "list rooms",
			respond: jsonResponder(200, "["+room+"]"),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListRooms(ctx) },
			method:  "GET", path: "/v1/rooms", query: url.Values{"page": {"1"}, "per_page": {"100"}},
			check: func(t *testing.T, got any) {
				rs := got.([]Room)
				if len(rs) != 1 || rs[0].ID != rid || rs[0].Name != "myroom" {
					t.Errorf("rooms = %+v", rs)
				}
			},
		},
		{
			name:    "create room with options",
			respond: jsonResponder(200, room),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateRoom(ctx, "cam wall", map[string]any{"inputLimit": 4, "views": []any{map[string]any{"label": "common"}}})
			},
			method: "POST", path: "/v1/rooms",
			body: `{"name":"cam wall","options":{"inputLimit":4,"views":[{"label":"common"}]}}`,
			check: func(t *testing.T, got any) {
				if r := got.(Room); r.ID != rid || r.MongoID != rid {
					t.Errorf("room id = %q/%q", r.ID, r.MongoID)
				}
			},
		},
		{
			name:    "create room without options",
			respond: jsonResponder(200, room),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.CreateRoom(ctx, "x", nil) },
			method:  "POST", path: "/v1/rooms", body: `{"name":"x"}`,
			check: func(t *testing.T, got any) {
				if r := got.(Room); len(r.Views) != 1 || r.Views[0].Label != "common" {
					t.Errorf("views = %+v", r.Views)
				}
			},
		},
		{
			name:    "get room fills id from _id",
			respond: jsonResponder(200, single),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetRoom(ctx, rid) },
			method:  "GET", path: "/v1/rooms/" + rid,
			check: func(t *testing.T, got any) {
				if r := got.(Room); r.ID != rid {
					t.Errorf("ID = %q, want %q", r.ID, rid)
				}
			},
		},
		{
			name:    "get room escapes the path segment",
			respond: jsonResponder(200, single),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetRoom(ctx, "a b/c?d") },
			method:  "GET", path: "/v1/rooms/a%20b%2Fc%3Fd",
			check: func(*testing.T, any) {},
		},
		{
			name: "delete room",
			respond: httpmock.NewStringResponder(200, "Room deleted").
				HeaderSet(http.Header{"Content-Type": {"text/html; charset=utf-8"}}),
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteRoom(ctx, rid) },
			method: "DELETE", path: "/v1/rooms/" + rid,
			check: func(*testing.T, any) {},
		},
		{
			name:    "list streams",
			respond: jsonResponder(200, "["+mixed+","+fwd+"]"),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListStreams(ctx, rid) },
			method:  "GET", path: "/v1/rooms/" + rid + "/streams",
			check: func(t *testing.T, got any) {
				ss := got.([]Stream)
				if len(ss) != 2 || ss[0].ID != rid+"-common" || ss[0].Type != "mixed" ||
					ss[1].ID != "548386327382046400" || ss[1].Info.Type != "streaming" {
					t.Errorf("streams = %+v", ss)
				}
			},
		},
		{
			name:    "list streams without media",
			respond: jsonResponder(200, "["+mixed+","+fwd+"]"),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListStreamsWithoutMedia(ctx, rid) },
			method:  "GET", path: "/v1/rooms/" + rid + "/streams",
			check: func(t *testing.T, got any) {
				ss := got.([]Stream)
				if len(ss) != 2 || ss[0].ID != rid+"-common" || ss[0].Type != "mixed" || ss[0].Info.Label != "common" ||
					ss[1].ID != "548386327382046400" || ss[1].Info.Type != "streaming" || ss[1].Media != nil {
					t.Errorf("streams = %+v", ss)
				}
			},
		},
		{
			name:    "list streams of an idle room",
			respond: jsonResponder(200, "[]"),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListStreams(ctx, "r1") },
			method:  "GET", path: "/v1/rooms/r1/streams",
			check: func(t *testing.T, got any) {
				if ss := got.([]Stream); ss == nil || len(ss) != 0 {
					t.Errorf("streams = %#v, want empty non-nil", ss)
				}
			},
		},
		{
			name:    "get stream",
			respond: jsonResponder(200, fwd),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetStream(ctx, "r1", "548386327382046400") },
			method:  "GET", path: "/v1/rooms/r1/streams/548386327382046400",
			check: func(t *testing.T, got any) {
				if s := got.(Stream); s.ID != "548386327382046400" || s.Info.Owner != "admin" {
					t.Errorf("stream = %+v", s)
				}
			},
		},
		{
			name:    "start streaming-in",
			respond: jsonResponder(200, fwd),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartStreamingIn(ctx, "r1", StreamingInRequest{
					Connection: Connection{URL: "rtmp://127.0.0.1:1935/live/cam1?vhost=v"},
					Media:      MediaRequest{Audio: "auto", Video: true},
					Attributes: map[string]any{"owner": "srs-owt-proxy"},
				})
			},
			method: "POST", path: "/v1/rooms/r1/streaming-ins",
			body: `{"connection":{"url":"rtmp://127.0.0.1:1935/live/cam1?vhost=v"},"media":{"audio":"auto","video":true},"attributes":{"owner":"srs-owt-proxy"}}`,
			check: func(t *testing.T, got any) {
				if s := got.(Stream); s.ID != "548386327382046400" {
					t.Errorf("stream id = %q", s.ID)
				}
			},
		},
		{
			name:    "start streaming-in rtsp with transport options",
			respond: jsonResponder(200, fwd),
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartStreamingIn(ctx, "r1", StreamingInRequest{
					Connection: Connection{URL: "rtsp://cam/1", TransportProtocol: "udp", BufferSize: 65536},
					Media:      MediaRequest{Audio: false, Video: "auto"},
				})
			},
			method: "POST", path: "/v1/rooms/r1/streaming-ins",
			body:  `{"connection":{"url":"rtsp://cam/1","transportProtocol":"udp","bufferSize":65536},"media":{"audio":false,"video":"auto"}}`,
			check: func(*testing.T, any) {},
		},
		{
			name:    "stop streaming-in",
			respond: httpmock.NewStringResponder(200, ""),
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.StopStreamingIn(ctx, "r1", "s-1_x") },
			method:  "DELETE", path: "/v1/rooms/r1/streaming-ins/s-1_x",
			check: func(*testing.T, any) {},
		},
		{
			name:    "add to view",
			respond: jsonResponder(200, testdata(t, "streaming_in_v1_1.json")),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.AddToView(ctx, "r1", "s1", "common") },
			method:  "PATCH", path: "/v1/rooms/r1/streams/s1",
			body: `[{"op":"add","path":"/info/inViews","value":"common"}]`,
			check: func(t *testing.T, got any) {
				if s := got.(Stream); !reflect.DeepEqual(s.Info.InViews, []string{"common"}) {
					t.Errorf("inViews = %v", s.Info.InViews)
				}
			},
		},
		{
			name:    "remove from view",
			respond: jsonResponder(200, fwd),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.RemoveFromView(ctx, "r1", "s1", "grid 2") },
			method:  "PATCH", path: "/v1/rooms/r1/streams/s1",
			body: `[{"op":"remove","path":"/info/inViews","value":"grid 2"}]`,
			check: func(t *testing.T, got any) {
				if s := got.(Stream); len(s.Info.InViews) != 0 {
					t.Errorf("inViews = %v", s.Info.InViews)
				}
			},
		},
		{
			name:    "list participants",
			respond: jsonResponder(200, parts),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListParticipants(ctx, "r1") },
			method:  "GET", path: "/v1/rooms/r1/participants",
			check: func(t *testing.T, got any) {
				ps := got.([]Participant)
				if len(ps) != 2 || ps[0].ID != "p1" || ps[0].Role != "presenter" || ps[1].User != "bob" {
					t.Errorf("participants = %+v", ps)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, tt.respond)
			c := m.client(nil)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			tt.check(t, got)
			reqs := m.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			wantQuery := tt.query
			if wantQuery == nil {
				wantQuery = url.Values{}
			}
			if !reflect.DeepEqual(r.Query, wantQuery) {
				t.Errorf("query = %v, want %v", r.Query, wantQuery)
			}
			items := checkAuthHeader(t, r.Header.Get("Authorization"), testKey)
			if items["timestamp"] != "1700000000000" || items["cnonce"] != testNonce {
				t.Errorf("timestamp/cnonce = %s/%s", items["timestamp"], items["cnonce"])
			}
			if tt.body == "" {
				if len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
					t.Errorf("unexpected body %q / Content-Type %q", r.Body, r.Header.Get("Content-Type"))
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := string(r.Body); got != tt.body {
				t.Errorf("body = %s\nwant   %s", got, tt.body)
			}
		})
	}
}
