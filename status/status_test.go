package status

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Fixture returns a report of an agent with work in every state; trouble
// adds failures of every kind.
func fixture(trouble bool) *Report {
	st := &reconcile.Status{At: at, Ready: true,
		SRS:   []reconcile.SRSStatus{{Name: "origin", ReadAt: at.Add(-1200 * time.Millisecond), AgeSeconds: 1.2, OK: true, Live: 3}},
		OWT:   reconcile.OWTStatus{ListedAt: at.Add(-1500 * time.Millisecond), AgeSeconds: 1.5, OK: true, Rooms: 3},
		Store: reconcile.StoreStatus{Name: "file /var/lib/srs-owt-proxy/state.json", Healthy: true, LastWrite: at.Add(-3 * time.Second), OwnedRooms: 2},
		Rooms: []reconcile.RoomStatus{
			{Name: "class-a", ID: "r-1", Exists: true, Owned: true, Listed: true, Views: []string{"common"}, Participants: -1, InSync: true,
				Inputs: []reconcile.InputStatus{{Stream: "origin/__defaultVhost__/live/class-a", Desired: true, URL: "rtmp://127.0.0.1:1935/live/class-a?vhost=__defaultVhost__",
					Views: []string{"common"}, InView: true, OWT: []reconcile.OWTInput{{ID: "s-1", InViews: []string{"common"}}}}},
				Outputs: []reconcile.OutputStatus{{Output: "output rtmp://127.0.0.1:1935/mix/class-a from view common", URL: "rtmp://127.0.0.1:1935/mix/class-a",
					View: "common", Desired: true, ID: "502424329745486460"}}},
			{Name: "class-b", Participants: -1, Ops: []reconcile.OpStatus{
				{Op: reconcile.Op{Kind: reconcile.OpCreateRoom, Room: "class-b", Reason: "1 stream(s) routed here"}, Action: "add"},
				{Op: reconcile.Op{Kind: reconcile.OpStartInput, Room: "class-b", Stream: "origin/__defaultVhost__/live/class-b", Reason: "published on SRS"}, Action: "add"},
				{Op: reconcile.Op{Kind: reconcile.OpAddView, Room: "class-b", Stream: "origin/__defaultVhost__/live/class-b", View: "common", Reason: "new input"}, Action: "change"}},
				Inputs: []reconcile.InputStatus{{Stream: "origin/__defaultVhost__/live/class-b", Desired: true, Hint: true, Views: []string{"common"}}}},
			{Name: "video-wall", ID: "r-w", Exists: true, Listed: true, Views: []string{"common"}, Participants: 2, Foreign: 1, InSync: true,
				Ops: []reconcile.OpStatus{{Op: reconcile.Op{Kind: reconcile.OpStopInput, Room: "video-wall", Stream: "origin/__defaultVhost__/wall/cam-2", StreamID: "s-9",
					Reason: "no longer published on SRS", Held: "delete grace: gone for 2s of 10s", Rule: reconcile.RuleGrace}, Action: "destroy", TimeLeftSeconds: 8}},
				Inputs: []reconcile.InputStatus{{Stream: "origin/__defaultVhost__/wall/cam-2", OWT: []reconcile.OWTInput{{ID: "s-9", InViews: []string{"common"}}}}}},
		},
		Unroutable: []reconcile.Unroutable{}, Summary: reconcile.Summary{Add: 2, Change: 1, Held: 1}, Denied: 1, Ignored: 2, QueueDepth: 1,
	}
	r := &Report{Agent: "srs-owt-proxy", Version: "v1.2.3", Role: "single", Leader: "host-1/42", Identity: "host-1/42",
		Policy: Policy{File: "/etc/srs-owt-proxy/policy.yaml", Summary: "4 routes (2 route, 1 deny, 1 ignore), interval 30s, grace 10s",
			Generation: 1, LoadedAt: at.Add(-10 * time.Minute)}, Status: st}
	if trouble {
		st.Ready, st.NotReady = false, "OWT room listing failed: connection refused"
		st.OWT = reconcile.OWTStatus{ListedAt: at.Add(-95 * time.Second), AgeSeconds: 95, Error: "connection refused", Rooms: 3}
		st.SRS = append(st.SRS, reconcile.SRSStatus{Name: "edge", Error: "not read yet"})
		st.Store.Healthy, st.Store.Error, st.Store.OpenIntents = false, "write state.json: no space left on device", 1
		st.Unroutable = []reconcile.Unroutable{{Stream: "origin/__defaultVhost__/live/x y", Why: `room "x y": not a valid room name`}}
		st.Rooms[1].Inputs[0].Pending = &reconcile.PendingStatus{Since: at.Add(-3 * time.Second), TimeLeftSeconds: 92}
		st.Rooms[1].Ops = st.Rooms[1].Ops[:1]
		st.Rooms[0].Outputs[0].ID, st.Rooms[0].Outputs[0].Failing, st.Rooms[0].Outputs[0].RetryInSeconds = "", 3, 4
		st.Rooms[2].Notes = []string{`view "hd" does not exist in room "video-wall"; origin/__defaultVhost__/wall/cam-3 cannot join it`}
		st.Rooms[2].LastError, st.Rooms[2].LastErrorAt = "stop s-9 in room video-wall: OWT 500/1301", at.Add(-4*time.Second)
		r.Policy.Generation, r.Policy.LastReloadAt, r.Policy.LastReloadError = 3, at.Add(-time.Minute), "policy.yaml:4: routes[0].room: template: unknown field .Nope"
		r.Role, r.Leader = "follower", "host-2/7"
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./status -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./status -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestWriteTable(t *testing.T) {
	empty := fixture(false)
	empty.Status.Rooms = nil
	for _, c := range []struct {
		name string
		r    *Report
	}{{"table-ok.golden", fixture(false)}, {"table-trouble.golden", fixture(true)}, {"table-empty.golden", empty}} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTable(&b, c.r); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
}

func TestHandler(t *testing.T) {
	r := fixture(true)
	r.Rooms[0].Name = `<script>alert(1)</script>`
	calls := 0
	srv := httptest.NewServer(Handler(func() *Report { calls++; return r }))
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/status")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/status: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var back Report
	if err := json.Unmarshal([]byte(body), &back); err != nil {
		t.Fatal(err)
	}
	if back.Status == nil || back.Role != "follower" || back.Leader != "host-2/7" || len(back.Rooms) != 3 || back.Store.Healthy ||
		back.Rooms[2].Ops[0].Rule != reconcile.RuleGrace || back.Rooms[2].Ops[0].TimeLeftSeconds != 8 || back.Policy.Generation != 3 {
		t.Errorf("/status round trip lost something: %s", body)
	}
	for _, field := range []string{`"role"`, `"leader"`, `"identity"`, `"srs"`, `"owt"`, `"store"`, `"policy"`, `"rooms"`, `"unroutable"`, `"summary"`} {
		if !strings.Contains(body, field) {
			t.Errorf("/status lacks %s", field)
		}
	}

	resp, page := get("/status/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/status/: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="5">`, `name="viewport"`,
		`id="stream:video-wall:origin/__defaultVhost__/wall/cam-2"`, `href="#room:video-wall"`,
		"held by delete_grace", "8.0s left", "follower", "host-2/7", "not ready", "connection refused",
		"no space left on device", "Unroutable streams", "not a valid room name", "POST outcome unknown, holds 92s",
		"last error", "OWT 500/1301", "reload failed", "unknown field .Nope", `view &#34;hd&#34; does not exist`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"output rtmp://127.0.0.1:1935/mix/class-a from view common", "failing (3x), restart in 4.0s",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/status/ lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("/status/ has a script or an external asset")
	}

	_, page = get("/status/?q=CAM-2")
	if !strings.Contains(page, "wall/cam-2") || strings.Contains(page, "live/class-b") || !strings.Contains(page, "2 hidden") {
		t.Errorf("?q=CAM-2 does not keep only cam-2:\n%s", page)
	}
	if resp, _ := get("/status/other"); resp.StatusCode != 404 {
		t.Errorf("/status/other: %d", resp.StatusCode)
	}
	if calls != 3 {
		t.Errorf("report built %d times for 3 status requests", calls)
	}
}

func TestFilterRooms(t *testing.T) {
	rooms := fixture(false).Rooms
	for _, c := range []struct {
		q      string
		rooms  []string
		hidden int
	}{
		{"", []string{"class-a", "class-b", "video-wall"}, 0},
		{"  ", []string{"class-a", "class-b", "video-wall"}, 0},
		{"CLASS", []string{"class-a", "class-b"}, 1},
		{"live/class-b", []string{"class-b"}, 2},
		{"wall", []string{"video-wall"}, 2},
		{"nothing", nil, 3},
	} {
		got, hidden := filterRooms(rooms, c.q)
		var names []string
		for _, r := range got {
			names = append(names, r.Name)
		}
		if strings.Join(names, ",") != strings.Join(c.rooms, ",") || hidden != c.hidden {
			t.Errorf("q=%q: %v (%d hidden), want %v (%d)", c.q, names, hidden, c.rooms, c.hidden)
		}
	}
	// A stream match keeps only that stream and its ops.
	got, _ := filterRooms(rooms, "class-b")
	if len(got[0].Inputs) != 1 || len(got[0].Ops) != 3 {
		t.Errorf("class-b: %+v", got[0])
	}
	if len(rooms[1].Ops) != 3 {
		t.Error("filter changed its input")
	}
	// A match on a stream, not the room's name: the room keeps that
	// stream's ops only (its room create goes).
	got, _ = filterRooms(rooms, "live/class-b")
	if len(got) != 1 || len(got[0].Ops) != 2 || got[0].Ops[0].Kind != reconcile.OpStartInput {
		t.Errorf("live/class-b: %+v", got)
	}
}

func TestAgeText(t *testing.T) {
	for s, want := range map[float64]string{-1: "0s", 0: "0.0s", 1.25: "1.2s", 9.5: "9.5s", 10: "10s", 59: "59s", 119: "119s", 120: "2m",
		125: "2m", 7199: "120m", 7200: "2h", 7300: "2h", 172799: "48h", 172800: "2d", 200000: "2d", 9001.8: "3h"} {
		if got := ageText(s); got != want {
			t.Errorf("ageText(%v) = %q, want %q", s, got, want)
		}
	}
	if role, leader, id := (Single{Identity: "h/1"}).Role(); role != "single" || leader != "h/1" || id != "h/1" {
		t.Errorf("Single.Role() = %q %q %q", role, leader, id)
	}
}
