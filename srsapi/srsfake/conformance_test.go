package srsfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// keySet returns every key path of a JSON document; array elements share
// the path "[]" and null counts as a leaf.
func keySet(t *testing.T, b []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				set[prefix+"."+k] = true
				walk(prefix+"."+k, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// TestConformanceKeySets compares the fake's answers with the real captures
// in the same state, key by key.
func TestConformanceKeySets(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{HookURL: sink.url(), Vhosts: []string{"video.test.com"}})
	h := httptest.NewServer(s)
	defer h.Close()
	ctx := context.Background()

	// Empty state.
	tests := []struct{ path, fixture string }{
		{"/api/v1/streams/", "api-v1-streams-empty.json"},
		{"/api/v1/vhosts/", "api-v1-vhosts-fresh-start.json"},
		{"/api/v1/versions", "api-v1-versions.json"},
		{"/api/v1/summaries", "api-v1-summaries.json"},
		{"/api/v1/streams/vid-unknown", "api-v1-streams-notfound.json"},
	}
	check := func(path, fx string) {
		t.Helper()
		got, want := keySet(t, get(t, h.URL+path)), keySet(t, fixture(t, fx))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s vs %s:\n got  %v\n want %v", path, fx, got, want)
		}
	}
	for _, tc := range tests {
		check(tc.path, tc.fixture)
	}

	// One active stream on each vhost.
	if _, _, err := s.Publish(ctx, "", "live", "livestream", ""); err != nil {
		t.Fatal(err)
	}
	cid, sid, err := s.Publish(ctx, "video.test.com", "live", "room3", "?vhost=video.test.com")
	if err != nil {
		t.Fatal(err)
	}
	var vhostID string
	for _, st := range s.Streams() {
		if st.ID == sid {
			vhostID = st.Vhost
		}
	}
	for _, tc := range []struct{ path, fixture string }{
		{"/api/v1/streams/", "api-v1-streams-all.json"},
		{"/api/v1/streams/" + sid, "api-v1-streams-one-vhost.json"},
		{"/api/v1/vhosts/", "api-v1-vhosts.json"},
		{"/api/v1/vhosts/" + vhostID, "api-v1-vhosts-one.json"},
		{"/api/v1/clients/", "api-v1-clients.json"},
		{"/api/v1/clients/" + cid, "api-v1-clients-one.json"},
	} {
		check(tc.path, tc.fixture)
	}

	// Pending publish beside an active one.
	sink.mu.Lock()
	sink.hold = make(chan struct{})
	sink.mu.Unlock()
	done := make(chan error, 1)
	go func() { _, _, err := s.Publish(ctx, "", "live", "pending", ""); done <- err }()
	<-sink.received
	check("/api/v1/streams/", "api-v1-streams-publish-pending.json")
	var sr srsapi.StreamsResponse
	if err := json.Unmarshal(get(t, h.URL+"/api/v1/streams/"), &sr); err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, st := range sr.Streams {
		if st.Name == "pending" {
			pending++
			if st.Publish.Active || st.Publish.CID != "" || st.Video != nil {
				t.Errorf("pending = %+v", st)
			}
		}
	}
	close(sink.hold)
	if err := <-done; err != nil || pending != 1 {
		t.Fatalf("pending publish: %v, seen %d", err, pending)
	}

	// Unpublishing: listed inactive with cid and null media, like a stream left with a player.
	sink.mu.Lock()
	sink.hold = make(chan struct{})
	sink.mu.Unlock()
	go func() { done <- s.Unpublish(ctx, "video.test.com", "live", "room3") }()
	<-sink.received
	check("/api/v1/streams/"+sid, "api-v1-streams-one-unpublished-with-player.json")
	close(sink.hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check("/api/v1/vhosts/", "api-v1-vhosts-after-unpublish.json")
}

// TestHookBodiesParseWithSrsapi checks the fake's hook bodies against the
// real handler.
func TestHookBodiesParseWithSrsapi(t *testing.T) {
	var got []srsapi.Hook
	handler := srsapi.NewHookHandler(srsapi.HookHandlerConfig{Receiver: receiverFunc(func(_ context.Context, h srsapi.Hook) error {
		got = append(got, h)
		return nil
	})})
	hs := httptest.NewServer(handler)
	defer hs.Close()
	s := New(Options{HookURL: hs.URL + "/api/v1/streams", PlayHookURL: hs.URL + "/api/v1/clients"})
	ctx := context.Background()
	if _, _, err := s.Publish(ctx, "", "live", "a&b<c>", "?token=x&y=1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Play(ctx, "", "live", "a&b<c>", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Unpublish(ctx, "", "live", "a&b<c>"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Stream != "a&b<c>" || got[0].Query().Get("token") != "x" || got[1].Action != "on_play" || got[2].Action != "on_unpublish" {
		t.Fatalf("hooks = %+v", got)
	}
}

type receiverFunc func(context.Context, srsapi.Hook) error

func (f receiverFunc) OnHook(ctx context.Context, h srsapi.Hook) error { return f(ctx, h) }

func TestControlAPI(t *testing.T) {
	sink := newHookSink(t, nil)
	s := New(Options{HookURL: sink.url()})
	h := httptest.NewServer(s)
	defer h.Close()
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(h.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, m := post("/control/publish", `{"app":"live","stream":"cam"}`)
	if code != 200 || m["code"] != 0.0 || m["client_id"] == "" || !strings.HasPrefix(m["stream_id"].(string), "vid-") {
		t.Fatalf("publish = %d %v", code, m)
	}
	if code, m = post("/control/publish", `{"app":"live","stream":"cam"}`); code != 409 || m["code"] != float64(CodeStreamBusy) {
		t.Errorf("busy publish = %d %v", code, m)
	}
	if code, _ = post("/control/publish", `{"app":"live","stream":"quiet","silent":true}`); code != 200 {
		t.Errorf("silent publish = %d", code)
	}
	if code, _ = post("/control/publish", `{"app":"live"`); code != 400 {
		t.Errorf("bad json = %d", code)
	}
	if code, _ = post("/control/unpublish", `{"app":"live","stream":"cam"}`); code != 200 {
		t.Errorf("unpublish = %d", code)
	}
	if code, _ = post("/control/unpublish", `{"app":"live","stream":"cam"}`); code != 404 {
		t.Errorf("unpublish unknown = %d", code)
	}
	if code, m = post("/control/fault", `{"status":503,"latency_ms":5}`); code != 200 || m["status"] != 503.0 || m["latency_ms"] != 5.0 || m["down"] != false {
		t.Errorf("fault = %d %v", code, m)
	}
	resp, err := http.Get(h.URL + "/api/v1/versions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("faulted API status = %d", resp.StatusCode)
	}
	post("/control/fault", `{"status":0,"latency_ms":0}`)
	var state ControlState
	if err := json.Unmarshal(get(t, h.URL+"/control/state"), &state); err != nil {
		t.Fatal(err)
	}
	if len(state.Streams) != 1 || state.Streams[0].Name != "quiet" || state.Status != 0 || len(state.Vhosts) != 1 {
		t.Errorf("state = %+v", state)
	}
	old := state.Service
	if code, m = post("/control/restart", ``); code != 200 || m["service"] == old || len(s.Streams()) != 0 {
		t.Errorf("restart = %d %v", code, m)
	}
	if hooks, _, _ := sink.got(); len(hooks) != 3 {
		t.Errorf("hooks = %d, want 3 (publish, busy publish, unpublish)", len(hooks))
	}
	resp, err = http.Get(h.URL + "/control/publish")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET publish = %d", resp.StatusCode)
	}
}
