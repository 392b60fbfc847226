package srsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const baseURL = "http://srs.test:1985"

// fakeList answers /api/v1/streams/ like SRS: count = max(10, count) from
// start, sorted by id, and records every query it saw.
type fakeList struct {
	mu      sync.Mutex
	streams []Stream
	queries []string
	auth    []string
	id      Identity
}

func (f *fakeList) respond(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.URL.RawQuery)
	f.auth = append(f.auth, req.Header.Get("Authorization"))
	start, _ := strconv.Atoi(req.URL.Query().Get("start"))
	count, _ := strconv.Atoi(req.URL.Query().Get("count"))
	count = max(10, count)
	start = min(max(0, start), len(f.streams))
	end := min(start+count, len(f.streams))
	resp := StreamsResponse{Envelope: Envelope{Server: f.id.ServerID, Service: f.id.ServiceID, PID: f.id.PID}, Streams: f.streams[start:end]}
	return httpmock.NewJsonResponse(200, resp)
}

func (f *fakeList) seen() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...), append([]string(nil), f.auth...)
}

func makeStreams(n int) []Stream {
	out := make([]Stream, n)
	for i := range out {
		out[i] = Stream{ID: fmt.Sprintf("vid-%07d", i), Name: fmt.Sprintf("s%d", i), Vhost: "vid-12d423j", App: "live", Publish: Publish{Active: true, CID: fmt.Sprintf("c%d", i)}}
	}
	return out
}

func newTestClient(t *testing.T, cfg Config) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	if cfg.Name == "" {
		cfg.Name = "origin"
	}
	cfg.BaseURL = baseURL
	cfg.Transport = mt
	return NewClient(cfg), mt
}

func TestClientStreamsPaging(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		streams  int
		want     []string // queries, in order
	}{
		{"one short page", 100, 15, []string{"count=100&start=0"}},
		{"default page size", 0, 3, []string{"count=1000&start=0"}},
		{"page size below SRS floor", 3, 9, []string{"count=10&start=0"}},
		{"full page doubles", 10, 25, []string{"count=10&start=0", "count=20&start=0", "count=40&start=0"}},
		{"exactly full page", 15, 15, []string{"count=15&start=0", "count=30&start=0"}},
		{"empty", 10, 0, []string{"count=10&start=0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := newTestClient(t, Config{PageSize: tc.pageSize, Username: "admin", Password: "pw"})
			f := &fakeList{streams: makeStreams(tc.streams), id: mainRun}
			mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", f.respond)
			got, id, err := c.Streams(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != tc.streams || id != mainRun {
				t.Fatalf("got %d streams (nil %v), id %+v", len(got), got == nil, id)
			}
			for i, s := range got {
				if s.ID != fmt.Sprintf("vid-%07d", i) {
					t.Fatalf("stream %d = %s", i, s.ID)
				}
			}
			queries, auth := f.seen()
			if strings.Join(queries, " ") != strings.Join(tc.want, " ") {
				t.Errorf("queries = %v, want %v", queries, tc.want)
			}
			wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pw"))
			for _, a := range auth {
				if a != wantAuth {
					t.Errorf("Authorization = %q, want %q", a, wantAuth)
				}
			}
		})
	}
}

func TestClientStreamsBound(t *testing.T) {
	c, mt := newTestClient(t, Config{PageSize: 10})
	c.maxCount = 40
	f := &fakeList{streams: makeStreams(100), id: mainRun}
	mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", f.respond)
	_, _, err := c.Streams(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Server != "origin" || !strings.Contains(err.Error(), "40 or more streams") {
		t.Fatalf("err = %v", err)
	}
	if q, _ := f.seen(); len(q) != 3 || q[2] != "count=40&start=0" {
		t.Errorf("queries = %v", q)
	}
}

func TestClientNoAuthHeaderWithoutUser(t *testing.T) {
	c, mt := newTestClient(t, Config{})
	f := &fakeList{id: mainRun}
	mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", f.respond)
	if _, _, err := c.Streams(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, auth := f.seen(); len(auth) != 1 || auth[0] != "" {
		t.Errorf("Authorization = %q", auth)
	}
}

// TestClientNeverRequestsWithoutSlash registers SRS's 302 for the paths
// without slash and checks that the client never hits them.
func TestClientNeverRequestsWithoutSlash(t *testing.T) {
	c, mt := newTestClient(t, Config{PageSize: 100})
	redirect := func(loc string) httpmock.Responder {
		return func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(302, "Redirect to "+loc)
			r.Header.Set("Location", loc)
			return r, nil
		}
	}
	mt.RegisterResponder("GET", baseURL+"/api/v1/streams", redirect("/api/v1/streams/"))
	mt.RegisterResponder("GET", baseURL+"/api/v1/vhosts", redirect("/api/v1/vhosts/"))
	mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-streams-all.json")))
	mt.RegisterResponder("GET", baseURL+"/api/v1/vhosts/", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-vhosts.json")))
	mt.RegisterResponder("GET", baseURL+"/api/v1/versions", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-versions.json")))
	mt.RegisterResponder("GET", baseURL+"/api/v1/summaries", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-summaries.json")))
	ctx := context.Background()
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Streams) != 15 || snap.Identity != mainRun {
		t.Fatalf("snapshot = %d streams, %+v", len(snap.Streams), snap.Identity)
	}
	v, err := c.Versions(ctx)
	if err != nil || v.Version != "6.0.157" || v.Major != 6 || v.Revision != 157 {
		t.Errorf("versions = %+v %v", v, err)
	}
	id, err := c.Summaries(ctx)
	if err != nil || id != mainRun {
		t.Errorf("summaries = %+v %v", id, err)
	}
	calls := mt.GetCallCountInfo()
	if calls["GET "+baseURL+"/api/v1/streams"] != 0 || calls["GET "+baseURL+"/api/v1/vhosts"] != 0 {
		t.Errorf("requests without slash: %v", calls)
	}
	if calls["GET "+baseURL+"/api/v1/streams/"] != 1 || calls["GET "+baseURL+"/api/v1/vhosts/"] != 1 {
		t.Errorf("calls = %v", calls)
	}
}

func TestClientSnapshotResolvesVhosts(t *testing.T) {
	c, mt := newTestClient(t, Config{PageSize: 100})
	mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-streams-unpublished-with-player.json")))
	mt.RegisterResponder("GET", baseURL+"/api/v1/vhosts/", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-vhosts-after-unpublish.json")))
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Streams) != 2 || snap.ServiceID != "6b9632yk" {
		t.Fatalf("snapshot = %+v", snap)
	}
	if s := snap.Streams[0]; s.Name != "room3" || s.VhostName != "video.test.com" || s.Vhost != "vid-c9g377e" || s.Publish.Active {
		t.Errorf("room3 = %+v", s)
	}
	if s := snap.Streams[1]; s.Name != "livestream" || s.VhostName != DefaultVhost || !s.Publish.Active {
		t.Errorf("livestream = %+v", s)
	}
}

func TestClientSnapshotErrors(t *testing.T) {
	streams := readFixture(t, "api-v1-streams-all.json")
	vhosts := readFixture(t, "api-v1-vhosts.json")
	onlyDefault := []byte(`{"code":0,"server":"vid-fm712gk","service":"6b9632yk","pid":"10870","vhosts":[{"id":"vid-12d423j","name":"__defaultVhost__"}]}`)
	tests := []struct {
		name         string
		vhostAnswers [][]byte
		wantCalls    int
		wantErr      string
	}{
		{"unknown vhost resolved on retry", [][]byte{onlyDefault, vhosts}, 2, ""},
		{"unknown vhost after retry", [][]byte{onlyDefault, onlyDefault}, 2, `vhost id "vid-c9g377e" of a listed stream is not in the vhost list`},
		{"restart between calls", [][]byte{readFixture(t, "api-v1-vhosts-fresh-start.json")}, 1, `service id changed from "6b9632yk" to "74915021"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := newTestClient(t, Config{PageSize: 100})
			mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", httpmock.NewBytesResponder(200, streams))
			n := 0
			mt.RegisterResponder("GET", baseURL+"/api/v1/vhosts/", func(*http.Request) (*http.Response, error) {
				b := tc.vhostAnswers[min(n, len(tc.vhostAnswers)-1)]
				n++
				return httpmock.NewBytesResponse(200, b), nil
			})
			snap, err := c.Snapshot(context.Background())
			if n != tc.wantCalls {
				t.Errorf("vhost calls = %d, want %d", n, tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil || len(snap.Streams) != 15 || snap.Streams[4].VhostName != "video.test.com" {
					t.Fatalf("snapshot = %+v, %v", snap, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Server != "origin" || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `srs "origin"`) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name       string
		responder  httpmock.Responder
		wantStatus int
		wantCode   int
		wantText   []string
	}{
		{"http 500", httpmock.NewStringResponder(500, "boom"), 500, 0, []string{`srs "edge-1": GET /api/v1/streams/: HTTP 500`, "check the SRS log"}},
		{"http 401", httpmock.NewStringResponder(401, ""), 401, 0, []string{"HTTP 401", "username and password"}},
		{"srs code", httpmock.NewStringResponder(200, `{"code":1000}`), 200, 1000, []string{"SRS code 1000"}},
		{"not found", httpmock.NewStringResponder(200, `{"code":2048}`), 200, 2048, []string{"SRS code 2048"}},
		{"not json", httpmock.NewStringResponder(200, ""), 200, 0, []string{"not SRS JSON", "empty body"}},
		{"connection refused", httpmock.ConnectionFailure, 0, 0, []string{`srs "edge-1"`, "check that SRS is running"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := newTestClient(t, Config{Name: "edge-1", Password: "hunter2", Username: "u"})
			mt.RegisterResponder("GET", baseURL+"/api/v1/streams/", tc.responder)
			_, _, err := c.Streams(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Server != "edge-1" || e.Call != "GET /api/v1/streams/" || e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Errorf("error = %+v", e)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err.Error(), want)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("password in error: %v", err)
			}
		})
	}
}

func TestClientTimeout(t *testing.T) {
	c, mt := newTestClient(t, Config{Timeout: 50 * time.Millisecond})
	mt.RegisterResponder("GET", baseURL+"/api/v1/versions", func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done()
		return nil, req.Context().Err()
	})
	_, err := c.Versions(context.Background())
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not answer in time") {
		t.Fatalf("err = %v", err)
	}
}

func TestClientVhostsFreshStart(t *testing.T) {
	c, mt := newTestClient(t, Config{})
	mt.RegisterResponder("GET", baseURL+"/api/v1/vhosts/", httpmock.NewBytesResponder(200, readFixture(t, "api-v1-vhosts-fresh-start.json")))
	v, id, err := c.Vhosts(context.Background())
	if err != nil || v == nil || len(v) != 0 || id != restartRun {
		t.Fatalf("vhosts = %v %+v %v", v, id, err)
	}
	if c.Name() != "origin" {
		t.Errorf("Name = %q", c.Name())
	}
}
