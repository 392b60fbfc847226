package srsapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// decodeStrict decodes b into v and fails on fields v does not know, so a
// fixture field missing from our types is noticed.
func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readFixture(t, name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

var (
	mainRun    = Identity{ServerID: "vid-fm712gk", ServiceID: "6b9632yk", PID: "10870"}
	restartRun = Identity{ServerID: "vid-fm712gk", ServiceID: "74915021", PID: "18823"}
	wantVideo  = Video{Codec: "H264", Profile: "Other", Level: "1.3", Width: 320, Height: 240}
	wantAudio  = Audio{Codec: "AAC", SampleRate: 44100, Channel: 2, Profile: "LC"}
)

func checkIdentity(t *testing.T, name string, got, want Identity) {
	t.Helper()
	if got != want {
		t.Errorf("%s identity = %+v, want %+v", name, got, want)
	}
}

func TestFixtureStreamLists(t *testing.T) {
	type streamWant struct {
		id, name, vhost, url, cid string
		active, media             bool
		clients                   int
	}
	tests := []struct {
		file   string
		id     Identity
		count  int
		first  string // id of the first entry (lists are sorted by id)
		checks []streamWant
		absent []string
	}{
		{file: "api-v1-streams-all.json", id: mainRun, count: 15, first: "vid-0i23620", checks: []streamWant{
			{"vid-5x87v13", "room3", "vid-c9g377e", "video.test.com/live/room3", "7jc99034", true, true, 1},
			{"vid-9859994", "livestream", "vid-12d423j", "/live/livestream", "38x2943d", true, true, 1},
			{"vid-956ym56", "cam2", "vid-12d423j", "/live/cam2", "71sms426", true, true, 1},
		}},
		{file: "api-v1-streams-default.json", id: mainRun, count: 10, first: "vid-0i23620", checks: []streamWant{
			{"vid-956ym56", "cam2", "vid-12d423j", "/live/cam2", "71sms426", true, true, 1},
		}},
		{file: "api-v1-streams-page2.json", id: mainRun, count: 5, first: "vid-9859994", checks: []streamWant{
			{"vid-t953286", "s01", "vid-12d423j", "/live/s01", "d6l945lx", true, true, 1},
		}},
		{file: "api-v1-streams-after-unpublish.json", id: mainRun, count: 14, first: "vid-0i23620", absent: []string{"vid-956ym56"}},
		{file: "api-v1-streams-with-waiting-player.json", id: mainRun, count: 16, first: "vid-0i23620", checks: []streamWant{
			{"vid-zbr6rc4", "nosuchstream", "vid-12d423j", "/live/nosuchstream", "", false, false, 1},
		}},
		{file: "api-v1-streams-unpublished-with-player.json", id: mainRun, count: 2, first: "vid-5x87v13", checks: []streamWant{
			{"vid-5x87v13", "room3", "vid-c9g377e", "video.test.com/live/room3", "7jc99034", false, false, 1},
			{"vid-9859994", "livestream", "vid-12d423j", "/live/livestream", "38x2943d", true, true, 1},
		}},
		{file: "api-v1-streams-publish-pending.json", id: restartRun, count: 2, first: "vid-3p9fz3z", checks: []streamWant{
			{"vid-3p9fz3z", "pending", "vid-vwf290n", "/live/pending", "", false, false, 1},
			{"vid-928p36h", "livestream", "vid-vwf290n", "/live/livestream", "q9770944", true, true, 2},
		}},
		{file: "api-v1-streams-with-player.json", id: restartRun, count: 1, first: "vid-928p36h", checks: []streamWant{
			{"vid-928p36h", "livestream", "vid-vwf290n", "/live/livestream", "q9770944", true, true, 2},
		}},
		{file: "api-v1-streams-empty.json", id: mainRun, count: 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var resp StreamsResponse
			decodeStrict(t, tc.file, &resp)
			if resp.Code != 0 {
				t.Errorf("code = %d", resp.Code)
			}
			checkIdentity(t, tc.file, resp.Identity(), tc.id)
			if resp.Streams == nil || len(resp.Streams) != tc.count {
				t.Fatalf("streams = %d (nil %v), want %d", len(resp.Streams), resp.Streams == nil, tc.count)
			}
			if tc.count > 0 && resp.Streams[0].ID != tc.first {
				t.Errorf("first id = %q, want %q", resp.Streams[0].ID, tc.first)
			}
			byID := map[string]Stream{}
			for i, s := range resp.Streams {
				byID[s.ID] = s
				if i > 0 && resp.Streams[i-1].ID >= s.ID {
					t.Errorf("not sorted by id at %d: %q >= %q", i, resp.Streams[i-1].ID, s.ID)
				}
				if s.App != "live" || s.TcURL != "rtmp://127.0.0.1:1935/live" || s.LiveMs < 1795552000000 {
					t.Errorf("stream %s: app %q tcUrl %q live_ms %d", s.ID, s.App, s.TcURL, s.LiveMs)
				}
			}
			for _, w := range tc.checks {
				s, ok := byID[w.id]
				if !ok {
					t.Fatalf("stream %s missing", w.id)
				}
				if s.Name != w.name || s.Vhost != w.vhost || s.URL != w.url || s.Publish.CID != w.cid || s.Publish.Active != w.active || s.Clients != w.clients {
					t.Errorf("stream %s = %+v, want %+v", w.id, s, w)
				}
				if w.media {
					if s.Video == nil || *s.Video != wantVideo || s.Audio == nil || *s.Audio != wantAudio {
						t.Errorf("stream %s media = %v %v", w.id, s.Video, s.Audio)
					}
				} else if s.Video != nil || s.Audio != nil {
					t.Errorf("stream %s: video/audio should be null, got %v %v", w.id, s.Video, s.Audio)
				}
			}
			for _, id := range tc.absent {
				if _, ok := byID[id]; ok {
					t.Errorf("stream %s should be gone", id)
				}
			}
		})
	}
}

func TestFixtureSingleStream(t *testing.T) {
	tests := []struct {
		file, id, vhost, cid string
		active               bool
		frames               int64
	}{
		{"api-v1-streams-one.json", "vid-9859994", "vid-12d423j", "38x2943d", true, 750},
		{"api-v1-streams-one-vhost.json", "vid-5x87v13", "vid-c9g377e", "7jc99034", true, 500},
		{"api-v1-streams-one-unpublished-with-player.json", "vid-5x87v13", "vid-c9g377e", "7jc99034", false, 7751},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var resp StreamResponse
			decodeStrict(t, tc.file, &resp)
			checkIdentity(t, tc.file, resp.Identity(), mainRun)
			s := resp.Stream
			if s == nil {
				t.Fatal("no stream object")
			}
			if s.ID != tc.id || s.Vhost != tc.vhost || s.Publish.CID != tc.cid || s.Publish.Active != tc.active || s.Frames != tc.frames {
				t.Errorf("stream = %+v", *s)
			}
			if got := s.Video != nil && s.Audio != nil; got != tc.active {
				t.Errorf("media present = %v, want %v", got, tc.active)
			}
		})
	}
	var nf StreamResponse
	decodeStrict(t, "api-v1-streams-notfound.json", &nf)
	if nf.Code != CodeNotFound || nf.Stream != nil || nf.Server != "" {
		t.Errorf("notfound = %+v", nf)
	}
}

func TestFixtureVhosts(t *testing.T) {
	type vw struct {
		id, name         string
		clients, streams int
	}
	tests := []struct {
		file string
		id   Identity
		want []vw
	}{
		{"api-v1-vhosts.json", mainRun, []vw{{"vid-12d423j", DefaultVhost, 14, 14}, {"vid-c9g377e", "video.test.com", 1, 1}}},
		{"api-v1-vhosts-after-unpublish.json", mainRun, []vw{{"vid-12d423j", DefaultVhost, 1, 1}, {"vid-c9g377e", "video.test.com", 1, 0}}},
		{"api-v1-vhosts-idle.json", mainRun, []vw{{"vid-12d423j", DefaultVhost, 0, 0}, {"vid-c9g377e", "video.test.com", 0, 0}}},
		{"api-v1-vhosts-fresh-start.json", restartRun, []vw{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var resp VhostsResponse
			decodeStrict(t, tc.file, &resp)
			checkIdentity(t, tc.file, resp.Identity(), tc.id)
			if resp.Vhosts == nil || len(resp.Vhosts) != len(tc.want) {
				t.Fatalf("vhosts = %+v, want %d", resp.Vhosts, len(tc.want))
			}
			for i, w := range tc.want {
				v := resp.Vhosts[i]
				if v.ID != w.id || v.Name != w.name || v.Clients != w.clients || v.Streams != w.streams || !v.Enabled || v.HLS.Enabled {
					t.Errorf("vhost %d = %+v, want %+v", i, v, w)
				}
			}
		})
	}
	var one VhostResponse
	decodeStrict(t, "api-v1-vhosts-one.json", &one)
	if one.Vhost == nil || one.Vhost.ID != "vid-12d423j" || one.Vhost.Name != DefaultVhost || one.Vhost.Kbps.Recv30s != 257 {
		t.Errorf("vhost one = %+v", one.Vhost)
	}
}

func TestFixtureClients(t *testing.T) {
	var all ClientsResponse
	decodeStrict(t, "api-v1-clients.json", &all)
	checkIdentity(t, "clients", all.Identity(), mainRun)
	if len(all.Clients) != 15 {
		t.Fatalf("clients = %d, want 15", len(all.Clients))
	}
	for _, c := range all.Clients {
		if c.Type != "fmle-publish" || !c.Publish || c.IP != "127.0.0.1" {
			t.Errorf("client %s: type %q publish %v ip %q", c.ID, c.Type, c.Publish, c.IP)
		}
	}
	if c := all.Clients[7]; c.ID != "7jc99034" || c.Vhost != "vid-c9g377e" || c.Stream != "vid-5x87v13" || c.URL != "video.test.com/live/room3" {
		t.Errorf("room3 publisher = %+v", c)
	}

	var wp ClientsResponse
	decodeStrict(t, "api-v1-clients-with-player.json", &wp)
	checkIdentity(t, "clients-with-player", wp.Identity(), restartRun)
	if len(wp.Clients) != 2 || wp.Clients[0].Type != "fmle-publish" || !wp.Clients[0].Publish ||
		wp.Clients[1].Type != "rtmp-play" || wp.Clients[1].Publish || wp.Clients[1].Alive != 1.78 || wp.Clients[0].Stream != wp.Clients[1].Stream {
		t.Errorf("clients with player = %+v", wp.Clients)
	}

	var one ClientResponse
	decodeStrict(t, "api-v1-clients-one.json", &one)
	if one.Client == nil || one.Client.ID != "s85u24rg" || one.Client.Name != "kicktest" || one.Client.RecvBytes != 50349 || one.Client.Alive != 2.82 {
		t.Errorf("client one = %+v", one.Client)
	}
}

func TestFixtureVersionsSummaries(t *testing.T) {
	var v VersionsResponse
	decodeStrict(t, "api-v1-versions.json", &v)
	checkIdentity(t, "versions", v.Identity(), mainRun)
	if v.Data != (Version{Major: 6, Minor: 0, Revision: 157, Version: "6.0.157"}) {
		t.Errorf("version = %+v", v.Data)
	}
	var s SummariesResponse
	decodeStrict(t, "api-v1-summaries.json", &s)
	checkIdentity(t, "summaries", s.Identity(), mainRun)
	if !s.Data.OK || s.Data.Self.PID != 10870 || s.Data.Self.Version != "6.0.157" || s.Data.System.CPUs != 2 || s.Data.System.ConnSrs != 15 || s.Data.NowMs != 1795552396547 {
		t.Errorf("summary = %+v", s.Data)
	}
}

func TestFixtureRedirect(t *testing.T) {
	raw := readFixture(t, "api-v1-streams-no-trailing-slash-302.txt")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("parse 302: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != PathStreams || resp.Header.Get("Server") != "SRS/6.0.157(Hang)" {
		t.Errorf("302 = %d %v", resp.StatusCode, resp.Header)
	}
}

func TestFixtureHookFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/hook-*.json")
	if err != nil || len(files) != 12 {
		t.Fatalf("hook fixtures = %d (%v), want 12", len(files), err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name)
			h, err := ParseHook(body)
			if err != nil {
				t.Fatalf("ParseHook: %v", err)
			}
			wantAction := strings.TrimSuffix(strings.TrimPrefix(name, "hook-"), ".json")
			wantAction, _, _ = strings.Cut(wantAction, "-")
			if h.Action != wantAction || h.ServerID != "vid-fm712gk" || h.ServiceID != "6b9632yk" || h.App != "live" || h.ClientID == "" || h.StreamID == "" {
				t.Errorf("hook = %+v", h)
			}
			if bytes.HasSuffix(body, []byte("\n")) {
				t.Error("fixture has a trailing newline; SRS sends none")
			}
		})
	}
}

// fixtureTests names, for every file in testdata, the test that decodes it.
// TestEveryFixtureCovered keeps it in step with the directory.
func fixtureTests() map[string]string {
	m := map[string]string{
		"api-v1-streams-no-trailing-slash-302.txt": "TestFixtureRedirect, TestClientNeverRequestsWithoutSlash",
		"api-v1-streams-notfound.json":             "TestFixtureSingleStream",
		"api-v1-vhosts-one.json":                   "TestFixtureVhosts",
		"api-v1-clients.json":                      "TestFixtureClients",
		"api-v1-clients-with-player.json":          "TestFixtureClients",
		"api-v1-clients-one.json":                  "TestFixtureClients",
		"api-v1-versions.json":                     "TestFixtureVersionsSummaries",
		"api-v1-summaries.json":                    "TestFixtureVersionsSummaries",
		"hook-headers.txt":                         "TestHookHandlerFixtureHeaders",
		"hook-raw-requests.txt":                    "TestHookHandlerRawRequests",
		"hooks-all.jsonl":                          "TestHookHandlerAllHooks",
	}
	for _, f := range []string{"all", "default", "page2", "after-unpublish", "with-waiting-player", "unpublished-with-player", "publish-pending", "with-player", "empty"} {
		m["api-v1-streams-"+f+".json"] = "TestFixtureStreamLists"
	}
	for _, f := range []string{"one", "one-vhost", "one-unpublished-with-player"} {
		m["api-v1-streams-"+f+".json"] = "TestFixtureSingleStream"
	}
	for _, f := range []string{"", "-after-unpublish", "-idle", "-fresh-start"} {
		m["api-v1-vhosts"+f+".json"] = "TestFixtureVhosts"
	}
	for _, f := range []string{"on_publish", "on_publish-with-param", "on_publish-vhost", "on_publish-vhost-in-tcurl",
		"on_unpublish", "on_unpublish-with-param", "on_unpublish-vhost",
		"on_play", "on_stop", "on_play-with-param", "on_play-vhost", "on_play-vhost-in-tcurl"} {
		m["hook-"+f+".json"] = "TestFixtureHookFiles, TestHookHandlerFixtureBodies"
	}
	return m
}

// TestEveryFixtureCovered fails when testdata holds a file no test decodes.
func TestEveryFixtureCovered(t *testing.T) {
	want := fixtureTests()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		seen[e.Name()] = true
		if _, ok := want[e.Name()]; !ok {
			t.Errorf("fixture %s is decoded by no test", e.Name())
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("fixture %s is missing from testdata", name)
		}
	}
	if len(seen) != 39 {
		t.Errorf("testdata holds %d fixture files, want 39", len(seen))
	}
}
