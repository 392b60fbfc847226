package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// recorder keeps every request to OWT and every answer, byte for byte.
type owtRecorder struct {
	next http.Handler
	mu   sync.Mutex
	log  bytes.Buffer
}

func (r *owtRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := &teeWriter{ResponseWriter: w}
	r.next.ServeHTTP(rec, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.log, "%s %s\n%s\n%s\n%s\n", req.Method, req.URL.String(), req.Header, body, rec.body.Bytes())
}

func (r *owtRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

func serveOn(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return "http://" + ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (logs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPublishTokenNeverLeaves publishes with a route's publish token and an
// unkept query parameter and checks that no byte of either reaches OWT (the
// requests, their answers, OWT's state), the logs, the metrics, `diff
// --output json` or the state file, while the query parameter the route
// matches on is stored so that a restarted agent still routes the stream.
// Before issue 9 the whole query, token included, went into the
// streaming-in's attributes, which OWT shows to everyone in the room.
func TestPublishTokenNeverLeaves(t *testing.T) {
	const token = "tok-7f3a9c1e5b2d8064ffee"
	const other = "sig-a1b2c3d4e5f60789abcd"
	getenv := func(k string) string {
		switch k {
		case "OWT_SERVICE_KEY":
			return lab.ServiceKey
		case "PUBLISH_TOKEN":
			return token
		}
		return ""
	}
	fake := owtfake.New(owtfake.Options{Services: map[string]string{lab.ServiceID: lab.ServiceKey}, Seed: 1})
	owtRec := &owtRecorder{next: fake}
	owtURL := serveOn(t, owtRec)
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srs := srsfake.New(srsfake.Options{HookURL: "http://" + hookLn.Addr().String() + "/api/v1/streams"})
	srsURL := serveOn(t, srs)

	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	pf := filepath.Join(dir, "policy.yaml")
	af := filepath.Join(dir, "agent.yaml")
	os.WriteFile(pf, []byte(`reconcile: {interval: 200ms, delete_grace: 1s}
attributes: {keep_params: [layout]}
routes:
  - match: {app: live, query: {tier: "*"}}
    room: "{{param \"tier\"}}-{{.Stream}}"
    token_env: PUBLISH_TOKEN
  - match: {}
    action: ignore
`), 0o644)
	os.WriteFile(af, []byte(fmt.Sprintf(`srs:
  - name: origin
    api: %s
    pull: rtmp://127.0.0.1:1935
owt:
  url: %s
  service_id: %s
  service_key_env: OWT_SERVICE_KEY
hooks:
  listen: %s
agent:
  id: srs-owt-proxy-lab
  state_file: %s
  metrics_listen: 127.0.0.1:0
policy: %s
`, srsURL, owtURL, lab.ServiceID, hookLn.Addr(), state, pf)), 0o644)

	logs := &syncBuffer{}
	start := func(ln net.Listener) (*agent.Agent, func()) {
		cfg, err := policy.LoadAgent(af, getenv)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := policy.LoadPolicy(pf, getenv)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Options{Config: cfg, Policy: pol, PolicyFile: pf, Getenv: getenv, HookListener: ln,
			Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return a, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
		}
	}
	a, stop := start(hookLn)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := srs.Publish(ctx, "__defaultVhost__", "live", "wrong", "?tier=gold&token=nope"); err == nil {
		t.Fatal("publish with a wrong token accepted")
	}
	if _, _, err := srs.Publish(ctx, "__defaultVhost__", "live", "cam1", "?tier=gold&token="+token+"&sig="+other+"&layout=wall"); err != nil {
		t.Fatalf("publish with the token refused: %v", err)
	}
	want := lab.Want{Rooms: map[string][]string{"gold-cam1": {"live/cam1"}}}
	if _, err := lab.WaitFor(ctx, 15*time.Second, func() string { return lab.Check(fake.Dump(), want) }); err != nil {
		t.Fatalf("not converged: %v: %s", err, lab.Check(fake.Dump(), want))
	}
	metrics := scrape(t, "http://"+a.MetricsAddr()+"/metrics")
	stop()

	// A restarted agent places the stream by its stored query: no change.
	ln2, err := net.Listen("tcp", hookLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, stop2 := start(ln2)
	time.Sleep(600 * time.Millisecond) // a few resyncs
	stop2()
	var diffOut, diffErr bytes.Buffer
	code := Main([]string{"diff", "--config", af, "--output", "json"}, &diffOut, &diffErr, getenv)
	if code != 0 || !strings.Contains(diffOut.String(), `"in_sync": true`) {
		t.Errorf("diff after restart: exit %d\n%s%s", code, diffOut.String(), diffErr.String())
	}
	if msg := lab.Check(fake.Dump(), want); msg != "" {
		t.Errorf("after restart: %s", msg)
	}

	dump, _ := json.Marshal(fake.Dump())
	stateFile, _ := os.ReadFile(state)
	places := map[string]string{
		"OWT requests and answers": owtRec.String(),
		"OWT state":                string(dump),
		"logs":                     logs.String(),
		"metrics":                  metrics,
		"diff --output json":       diffOut.String() + diffErr.String(),
		"state file":               string(stateFile),
	}
	for where, text := range places {
		for name, secret := range map[string]string{"publish token": token, "unkept parameter": other} {
			// Any 8-byte piece of the secret would be a leak.
			for i := 0; i+8 <= len(secret); i++ {
				if strings.Contains(text, secret[i:i+8]) {
					t.Errorf("%s: %s leaks (%q found)", where, name, secret[i:i+8])
					break
				}
			}
		}
	}
	if !strings.Contains(string(dump), `"query":"?layout=wall"`) {
		t.Errorf("kept parameter not in the attributes: %s", dump)
	}
	if !strings.Contains(string(stateFile), `tier=gold`) {
		t.Errorf("state file lacks the routing parameter:\n%s", stateFile)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
