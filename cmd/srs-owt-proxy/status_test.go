package main

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/status"
)

var update = flag.Bool("update", false, "rewrite the golden files")

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
		t.Fatalf("%v (go test ./cmd/srs-owt-proxy -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./cmd/srs-owt-proxy -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func statusServer(t *testing.T) *httptest.Server {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	r := &status.Report{Agent: "srs-owt-proxy", Version: "v1.2.3", Role: "single", Leader: "h/1", Identity: "h/1",
		Policy: status.Policy{Summary: "1 route (1 route, 0 deny, 0 ignore), interval 30s, grace 10s", Generation: 1, LoadedAt: at.Add(-time.Minute)},
		Status: &reconcile.Status{At: at, Ready: true,
			SRS: []reconcile.SRSStatus{{Name: "origin", ReadAt: at.Add(-time.Second), AgeSeconds: 1, OK: true, Live: 1}},
			OWT: reconcile.OWTStatus{ListedAt: at.Add(-time.Second), AgeSeconds: 1, OK: true, Rooms: 1}, Store: reconcile.StoreStatus{Name: "memory", Healthy: true},
			Rooms: []reconcile.RoomStatus{{Name: "a", ID: "r-1", Exists: true, Owned: true, Listed: true, InSync: true,
				Inputs: []reconcile.InputStatus{{Stream: "origin/__defaultVhost__/live/a", Desired: true, InView: true, Views: []string{"common"},
					OWT: []reconcile.OWTInput{{ID: "s-1", InViews: []string{"common"}}}}}}},
			Unroutable: []reconcile.Unroutable{}}}
	mux := http.NewServeMux()
	mux.Handle("/status", status.Handler(func() *status.Report { return r }))
	mux.HandleFunc("/old/status", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"hello":1}`)) })
	mux.HandleFunc("/down/status", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestStatusCommand(t *testing.T) {
	srv := statusServer(t)
	for _, c := range []struct {
		name   string
		args   []string
		env    map[string]string
		golden string
	}{
		{"table", []string{"status", "--url", srv.URL}, nil, "status-table.golden"},
		{"table from env", []string{"status"}, map[string]string{"SRS_OWT_STATUS_URL": srv.URL + "/"}, "status-table.golden"},
		{"json", []string{"status", "--url", srv.URL, "-o", "json"}, nil, "status-json.golden"},
		{"json long", []string{"status", "--url=" + srv.URL, "--output=json"}, nil, "status-json.golden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if code := Main(c.args, &o, &e, func(k string) string { return c.env[k] }); code != 0 {
				t.Fatalf("exit %d: %s", code, e.String())
			}
			golden(t, c.golden, o.Bytes())
		})
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"status", "--url", srv.URL, "-o", "yaml"}, `--output "yaml": want table or json`},
		{[]string{"status", "--url", srv.URL + "/old"}, "not a status document"},
		{[]string{"status", "--url", srv.URL + "/down"}, "HTTP 500: boom"},
		{[]string{"status", "--url", "http://127.0.0.1:1"}, "is the agent running"},
		{[]string{"status", "--url", srv.URL, "extra"}, `unexpected argument "extra"`},
	} {
		var o, e bytes.Buffer
		if code := Main(c.args, &o, &e, noenv); code != 1 || !strings.Contains(e.String(), c.err) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, e.String(), c.err)
		}
	}
}
