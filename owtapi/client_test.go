package owtapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func roomsJSON(ids ...string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf(`{"name":"n%s","_id":"%s","id":"%s","views":[{"label":"common"}]}`, id, id, id)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestListRoomsPagination(t *testing.T) {
	tests := []struct {
		name     string
		pages    []string
		wantIDs  []string
		wantReqs int
	}{
		{"short first page", []string{roomsJSON("a")}, []string{"a"}, 1},
		{"empty", []string{"[]"}, nil, 1},
		{"short page stops", []string{roomsJSON("a", "b"), roomsJSON("c")}, []string{"a", "b", "c"}, 2},
		{"exact multiple asks one empty page", []string{roomsJSON("a", "b"), roomsJSON("c", "d"), "[]"}, []string{"a", "b", "c", "d"}, 3},
		{"shifted pages are deduplicated", []string{roomsJSON("a", "b"), roomsJSON("b", "c"), "[]"}, []string{"a", "b", "c"}, 3},
		{"server ignoring paging stops", []string{roomsJSON("a", "b", "c"), roomsJSON("a", "b", "c")}, []string{"a", "b", "c"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []httpmock.Responder
			for _, p := range tt.pages {
				rs = append(rs, jsonResponder(200, p))
			}
			rs = append(rs, httpmock.NewStringResponder(599, "too many requests in test"))
			m := newMockOWT(t, rs...)
			c := m.client(func(cfg *Config) { cfg.PageSize = 2 })
			rooms, err := c.ListRooms(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rooms {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
			reqs := m.requests()
			if len(reqs) != tt.wantReqs {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
			for i, r := range reqs {
				if r.Method != "GET" || r.Path != "/v1/rooms" ||
					r.Query.Get("page") != fmt.Sprint(i+1) || r.Query.Get("per_page") != "2" || len(r.Query) != 2 {
					t.Errorf("request %d: %s %s %v", i, r.Method, r.Path, r.Query)
				}
				checkAuthHeader(t, r.Header.Get("Authorization"), testKey)
			}
		})
	}
}

func TestListRoomsErrorMidway(t *testing.T) {
	m := newMockOWT(t, jsonResponder(200, roomsJSON("a", "b")), jsonResponder(401, `{"error":{"code":1101,"message":"x"}}`))
	c := m.client(func(cfg *Config) { cfg.PageSize = 2 })
	rooms, err := c.ListRooms(context.Background())
	if !IsUnauthorized(err) || rooms != nil {
		t.Fatalf("rooms=%v err=%v, want nil and unauthorized", rooms, err)
	}
}

// TestStreamingInTimeoutIsSeparate: a POST slower than Timeout but faster
// than StreamingInTimeout succeeds; the same delay fails other calls.
func TestStreamingInTimeoutIsSeparate(t *testing.T) {
	delay := 300 * time.Millisecond
	fwd := testdata(t, "streaming_in_v1.json")
	m := newMockOWT(t, jsonResponder(200, fwd).Delay(delay))
	c := m.client(func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.StreamingInTimeout = 5 * time.Second
	})
	req := StreamingInRequest{Connection: Connection{URL: "rtmp://127.0.0.1/live/a"}, Media: MediaRequest{Audio: "auto", Video: "auto"}}
	s, err := c.StartStreamingIn(context.Background(), "r1", req)
	if err != nil || s.ID != "548386327382046400" {
		t.Fatalf("StartStreamingIn = %+v, %v", s, err)
	}
	_, err = c.GetStream(context.Background(), "r1", s.ID)
	if !IsTimeout(err) {
		t.Fatalf("GetStream err = %v, want timeout", err)
	}

	m2 := newMockOWT(t, jsonResponder(200, fwd).Delay(delay))
	c2 := m2.client(func(cfg *Config) {
		cfg.Timeout = 5 * time.Second
		cfg.StreamingInTimeout = 50 * time.Millisecond
	})
	if _, err := c2.StartStreamingIn(context.Background(), "r1", req); !IsTimeout(err) {
		t.Fatalf("StartStreamingIn err = %v, want timeout", err)
	}
}

func TestFreshAuthHeaderPerRequest(t *testing.T) {
	m := newMockOWT(t, jsonResponder(200, "[]"))
	var mu sync.Mutex
	ms := int64(1700000000000)
	c, err := New(Config{
		URL: testBaseURL, ServiceID: testServiceID, ServiceKey: testKey, Transport: m.mt,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); ms++; return time.UnixMilli(ms) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.ListStreams(context.Background(), "r1"); err != nil {
			t.Fatal(err)
		}
	}
	reqs := m.requests()
	a := checkAuthHeader(t, reqs[0].Header.Get("Authorization"), testKey)
	b := checkAuthHeader(t, reqs[1].Header.Get("Authorization"), testKey)
	if a["timestamp"] != "1700000000001" || b["timestamp"] != "1700000000002" {
		t.Errorf("timestamps = %s, %s", a["timestamp"], b["timestamp"])
	}
	if a["cnonce"] == b["cnonce"] || len(a["cnonce"]) != 16 {
		t.Errorf("cnonces = %q, %q: want two random 16-hex values", a["cnonce"], b["cnonce"])
	}
}

func TestObserve(t *testing.T) {
	type obs struct {
		call   string
		status int
	}
	var mu sync.Mutex
	var got []obs
	m := newMockOWT(t,
		jsonResponder(200, testdata(t, "room.json")),
		jsonResponder(404, `{"error":{"code":1003,"message":"Room not found"}}`),
		httpmock.NewErrorResponder(fmt.Errorf("boom")),
	)
	c := m.client(func(cfg *Config) {
		cfg.Observe = func(call string, status int, d time.Duration) {
			if d < 0 {
				t.Errorf("negative duration %v", d)
			}
			mu.Lock()
			got = append(got, obs{call, status})
			mu.Unlock()
		}
	})
	ctx := context.Background()
	_, _ = c.CreateRoom(ctx, "x", nil)
	_ = c.DeleteRoom(ctx, "r1")
	_, _ = c.ListParticipants(ctx, "r1")
	want := []obs{{"create_room", 200}, {"delete_room", 404}, {"list_participants", 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

func TestNewConfig(t *testing.T) {
	ok := func(c *Config) {}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", ok, ""},
		{"trailing slash and prefix", func(c *Config) { c.URL = "https://h:3000/owt/" }, ""},
		{"empty url", func(c *Config) { c.URL = "" }, "URL is empty"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://h" }, "http(s)://host:port"},
		{"no host", func(c *Config) { c.URL = "http://" }, "http(s)://host:port"},
		{"credentials in url", func(c *Config) { c.URL = "http://u:p@h:3000" }, "credentials"},
		{"no service id", func(c *Config) { c.ServiceID = "" }, "service id"},
		{"no key", func(c *Config) { c.ServiceKey = "" }, "service key"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "negative"},
		{"missing CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "read CA file"},
		{"CA file without PEM", func(c *Config) { c.CAFile = "testdata/room.json" }, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{URL: "http://127.0.0.1:3000", ServiceID: testServiceID, ServiceKey: testKey}
			tt.mod(&cfg)
			c, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if c.cfg.Timeout != 10*time.Second || c.cfg.StreamingInTimeout != 100*time.Second || c.cfg.PageSize != 100 {
					t.Errorf("defaults = %v %v %d", c.cfg.Timeout, c.cfg.StreamingInTimeout, c.cfg.PageSize)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestBaseURLPrefix(t *testing.T) {
	m := newMockOWT(t, jsonResponder(200, "[]"))
	c := m.client(func(cfg *Config) { cfg.URL = "http://owt.test:3000/owt/" })
	if _, err := c.ListStreams(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	if p := m.requests()[0].Path; p != "/owt/v1/rooms/r1/streams" {
		t.Errorf("path = %q", p)
	}
}
