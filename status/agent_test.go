package status_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/status"
)

func getBody(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestAgentServesStatus: a running agent's /status follows a publish
// into view, counts policy reloads and shows a failed one, and /metrics
// carries the build info.
func TestAgentServesStatus(t *testing.T) {
	base, l, pf := startAgentWithPolicy(t)
	var r status.Report
	read := func() {
		t.Helper()
		r = status.Report{}
		if err := json.Unmarshal([]byte(getBody(t, base+"/status")), &r); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if r.Role != "single" || r.Leader == "" || r.Leader != r.Identity || r.Agent != "srs-owt-proxy-lab" || r.Policy.Generation != 1 || r.Version == "" {
		t.Fatalf("fresh agent: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := l.SRS.Publish(ctx, "__defaultVhost__", "live", "class-z", ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		read()
		inView := false
		for _, room := range r.Rooms {
			for _, in := range room.Inputs {
				if room.Name == "live-class-z" && in.Stream == "origin/__defaultVhost__/live/class-z" && in.InView && len(in.OWT) == 1 {
					inView = true
				}
			}
		}
		if inView && r.Ready && r.Summary.InSync() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("class-z not in view on /status: %+v", r.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A good reload, then a bad one.
	digest := r.Policy.Digest
	if err := os.WriteFile(pf, []byte(strings.Replace(browserPolicy, "interval: 1s", "interval: 2s", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { read(); return r.Policy.Generation == 2 && r.Policy.LastReloadOK })
	if len(digest) != 12 || r.Policy.Digest == digest || len(r.Policy.Digest) != 12 {
		t.Errorf("policy digest %q before the reload, %q after", digest, r.Policy.Digest)
	}
	if err := os.WriteFile(pf, []byte("routes: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { read(); return !r.Policy.LastReloadAt.IsZero() && !r.Policy.LastReloadOK })
	if r.Policy.Generation != 2 || r.Policy.LastReloadError == "" || !strings.Contains(r.Policy.Summary, "interval 2s") {
		t.Errorf("after a bad reload: %+v", r.Policy)
	}

	m := getBody(t, base+"/metrics")
	if !strings.Contains(m, "srs_owt_proxy_build_info{commit=") || !strings.Contains(m, `goversion="go`) {
		t.Errorf("/metrics lacks srs_owt_proxy_build_info")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
