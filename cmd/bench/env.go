package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// benchPolicy routes app "existing-*" into an existing room named after the
// app and every other app into a room of its own name, created by the agent.
const benchPolicy = `reconcile: {interval: %s, delete_grace: 10s, max_deletes: 100000, allow_empty: false, concurrency: %d}
defaults:  {views: [common], media: {audio: auto, video: auto}, transport: tcp, buffer_size: 8192}
routes:
  - match: {app: "existing-*"}
    room: {name: "{{.App}}", create: false}
  - match: {}
    room: "{{.App}}"
`

// view is the one view every stream must join.
const view = "common"

// env is one in-process world: a fake OWT and a fake SRS served on
// 127.0.0.1, and the real agent (hook server and engine) between them.
type env struct {
	OWT    *owtfake.Server
	SRS    *srsfake.Server
	Agent  *agent.Agent
	OWTURL string
	SRSURL string
	// srsReads counts requests to SRS's /api/ (the agent's reads).
	srsReads    atomic.Int64
	hookURL     string
	concurrency int
	rt          time.Duration // injected OWT round trip
	servers     []*http.Server
	dir         string
	stop        context.CancelFunc
	runDone     chan error
}

// envConfig configures newEnv.
type envConfig struct {
	Interval    time.Duration
	Concurrency int
	Tweak       func(*reconcile.Config)
}

// newEnv serves the fakes and builds the agent; start runs it.
func newEnv(c envConfig) (*env, error) {
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Minute
	}
	e := &env{concurrency: c.Concurrency}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	var err error
	if e.dir, err = os.MkdirTemp("", "srs-owt-proxy-bench-"); err != nil {
		return nil, fmt.Errorf("temp dir for the agent's files: %w", err)
	}
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("hook listener on 127.0.0.1: %w", err)
	}
	e.hookURL = "http://" + hookLn.Addr().String() + "/api/v1/streams"
	e.OWT = owtfake.New(owtfake.Options{Services: map[string]string{lab.ServiceID: lab.ServiceKey}, Seed: 1})
	e.SRS = srsfake.New(srsfake.Options{HookURL: e.hookURL})
	if e.OWTURL, err = e.serve(e.OWT); err != nil {
		hookLn.Close()
		return nil, err
	}
	srsHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			e.srsReads.Add(1)
		}
		e.SRS.ServeHTTP(w, r)
	})
	if e.SRSURL, err = e.serve(srsHandler); err != nil {
		hookLn.Close()
		return nil, err
	}
	policyFile := filepath.Join(e.dir, "policy.yaml")
	pol := fmt.Sprintf(benchPolicy, c.Interval, c.Concurrency)
	if err := os.WriteFile(policyFile, []byte(pol), 0o600); err != nil {
		hookLn.Close()
		return nil, fmt.Errorf("write %s: %w", policyFile, err)
	}
	l := &lab.Lab{OWTURL: e.OWTURL, SRSURL: e.SRSURL}
	agentFile := filepath.Join(e.dir, "agent.yaml")
	yaml := l.AgentYAML(hookLn.Addr().String(), "127.0.0.1:0", filepath.Join(e.dir, "state.json"), policyFile)
	if err := os.WriteFile(agentFile, []byte(yaml), 0o600); err != nil {
		hookLn.Close()
		return nil, fmt.Errorf("write %s: %w", agentFile, err)
	}
	getenv := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	cfg, err := policy.LoadAgent(agentFile, getenv)
	if err != nil {
		hookLn.Close()
		return nil, err
	}
	p, err := policy.LoadPolicy(policyFile, getenv)
	if err != nil {
		hookLn.Close()
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BENCH_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.Agent, err = agent.New(agent.Options{Config: cfg, Policy: p, Log: log, Getenv: getenv,
		HookListener: hookLn, ShutdownTimeout: 10 * time.Second, EngineTweak: c.Tweak})
	if err != nil {
		hookLn.Close()
		return nil, err
	}
	ok = true
	return e, nil
}

func (e *env) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	e.servers = append(e.servers, s)
	go func() { _ = s.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// start runs the agent and waits until it is ready and idle.
func (e *env) start(ctx context.Context, timeout time.Duration) error {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = stop
	e.runDone = make(chan error, 1)
	go func() { e.runDone <- e.Agent.Run(runCtx) }()
	if _, err := waitFor(ctx, timeout, 5*time.Millisecond, func() string {
		if ok, why := e.Agent.Engine().Ready(); !ok {
			return "agent not ready: " + why
		}
		return ""
	}); err != nil {
		return err
	}
	return e.waitIdle(ctx, timeout)
}

// setLatency sets the fake OWT's injected round trip.
func (e *env) setLatency(d time.Duration) {
	e.rt = d
	e.OWT.SetLatency(d)
}

// waitIdle waits until the engine is quiet: either idle (nothing queued,
// delayed or running) for 50 ms, or without any call to OWT or SRS for two
// round trips plus 100 ms (a delayed re-check, such as the one a hook
// schedules for when its hint expires, keeps the engine from being idle).
func (e *env) waitIdle(ctx context.Context, timeout time.Duration) error {
	var idleSince, quietSince time.Time
	var last map[string]int
	var lastSRS int64
	window := 2*e.rt + 100*time.Millisecond
	_, err := waitFor(ctx, timeout, 2*time.Millisecond, func() string {
		now := time.Now()
		if !e.Agent.Engine().Idle() {
			idleSince = time.Time{}
		} else if idleSince.IsZero() {
			idleSince = now
		}
		c, s := e.OWT.Counts(), e.srsReads.Load()
		if quietSince.IsZero() || !maps.Equal(c, last) || s != lastSRS {
			last, lastSRS, quietSince = c, s, now
		}
		if (!idleSince.IsZero() && now.Sub(idleSince) >= 50*time.Millisecond) || now.Sub(quietSince) >= window {
			return ""
		}
		return "engine busy"
	})
	return err
}

// close stops the agent, the servers and removes the temp dir.
func (e *env) close() {
	if e.OWT != nil {
		e.OWT.SetLatency(0)
	}
	if e.stop != nil {
		e.stop()
		<-e.runDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range e.servers {
		_ = s.Shutdown(ctx)
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// publishSilently makes streams live in SRS without hooks: rooms apps
// "<prefix>-<r>" with streams "s<m>". It returns the expected OWT content.
func (e *env) publishSilently(prefix string, rooms, perRoom int) lab.Want {
	w := want(prefix, rooms, perRoom)
	for r := 0; r < rooms; r++ {
		app := fmt.Sprintf("%s-%d", prefix, r)
		for m := 0; m < perRoom; m++ {
			e.SRS.PublishSilently("", app, fmt.Sprintf("s%d", m), "")
		}
	}
	return w
}

// want is the OWT content for apps "<prefix>-<r>" with streams "s<m>".
func want(prefix string, rooms, perRoom int) lab.Want {
	w := lab.Want{Views: []string{view}, Rooms: make(map[string][]string, rooms)}
	for r := 0; r < rooms; r++ {
		app := fmt.Sprintf("%s-%d", prefix, r)
		list := make([]string, 0, perRoom)
		for m := 0; m < perRoom; m++ {
			list = append(list, fmt.Sprintf("%s/s%d", app, m))
		}
		w.Rooms[app] = list
	}
	return w
}

// converged waits until OWT holds exactly w, polling every poll. A full
// dump holds the fake's lock and costs CPU, so it is taken only once OWT
// has answered at least minPatches view patches since the last ResetCounts.
func (e *env) converged(ctx context.Context, w lab.Want, minPatches int, timeout, poll time.Duration) (time.Duration, error) {
	return waitFor(ctx, timeout, poll, func() string {
		if n := e.OWT.Counts()[owtfake.RoutePatchStream]; n < minPatches {
			return fmt.Sprintf("%d of %d view patches made", n, minPatches)
		}
		return lab.Check(e.OWT.Dump(), w)
	})
}

// waitFor polls cond every poll until it returns "" or timeout passes; it
// returns the time taken, or an error with the last difference.
func waitFor(ctx context.Context, timeout, poll time.Duration, cond func() string) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		last := cond()
		if last == "" {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			if len(last) > 300 {
				last = last[:300] + "..."
			}
			return time.Since(start), errors.New("not reached after " + timeout.String() + ": " + last)
		case <-t.C:
		}
	}
}

// inView reports whether room holds app/stream in the bench view.
func inView(st owtfake.State, room, appStream string) bool {
	for _, r := range st.Rooms {
		if r.Name != room {
			continue
		}
		for _, s := range r.Streams {
			if s.Type == "streaming" && lab.StreamOf(s.URL) == appStream {
				for _, v := range s.InViews {
					if v == view {
						return true
					}
				}
			}
		}
	}
	return false
}
