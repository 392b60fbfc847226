package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
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

// env is one world: a fake OWT and a fake SRS served on 127.0.0.1 by a
// child process (so this process's CPU time and memory are the agent's),
// and the real agent (hook server and engine) in this process.
type env struct {
	Fakes       *fakes
	Agent       *agent.Agent
	hookURL     string
	concurrency int
	rt          time.Duration // injected OWT round trip
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

// newEnv starts the fakes' child process and builds the agent; start runs
// it. close stops both, also when ctx ends first.
func newEnv(ctx context.Context, c envConfig) (*env, error) {
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
	if e.Fakes, err = startFakes(ctx, e.hookURL); err != nil {
		hookLn.Close()
		return nil, err
	}
	policyFile := filepath.Join(e.dir, "policy.yaml")
	pol := fmt.Sprintf(benchPolicy, c.Interval, c.Concurrency)
	if err := os.WriteFile(policyFile, []byte(pol), 0o600); err != nil {
		hookLn.Close()
		return nil, fmt.Errorf("write %s: %w", policyFile, err)
	}
	l := &lab.Lab{OWTURL: e.Fakes.OWTURL, SRSURL: e.Fakes.SRSURL}
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
func (e *env) setLatency(ctx context.Context, d time.Duration) error {
	e.rt = d
	if err := e.Fakes.setLatency(ctx, d); err != nil {
		return fmt.Errorf("set OWT latency to %s: %w", d, err)
	}
	return nil
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
		a, err := e.Fakes.activity(ctx)
		if err != nil {
			return err.Error()
		}
		if quietSince.IsZero() || !maps.Equal(a.OWT, last) || a.SRSReads != lastSRS || a.InFlight > 0 {
			last, lastSRS, quietSince = a.OWT, a.SRSReads, now
		}
		if (!idleSince.IsZero() && now.Sub(idleSince) >= 50*time.Millisecond) || now.Sub(quietSince) >= window {
			return ""
		}
		return "engine busy"
	})
	return err
}

// close stops the agent, the fakes' child process and removes the temp dir.
func (e *env) close() {
	if e.Fakes != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.Fakes.setLatency(ctx, 0) // the agent's shutdown need not wait for slow answers
		cancel()
	}
	if e.stop != nil {
		e.stop()
		<-e.runDone
	}
	if e.Fakes != nil {
		e.Fakes.close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// publishSilently makes streams live in SRS without hooks: rooms apps
// "<prefix>-<r>" with streams "s<m>". It returns the expected OWT content.
func (e *env) publishSilently(ctx context.Context, prefix string, rooms, perRoom int) (lab.Want, error) {
	if err := e.Fakes.publishMany(ctx, prefix, rooms, perRoom, publishWorkers, true); err != nil {
		return lab.Want{}, fmt.Errorf("publish %d streams silently: %w", rooms*perRoom, err)
	}
	return want(prefix, rooms, perRoom), nil
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

// converged waits until OWT holds exactly w; see fakes.converged.
func (e *env) converged(ctx context.Context, w lab.Want, minPatches int, timeout, poll time.Duration) (time.Duration, error) {
	return e.Fakes.converged(ctx, w, minPatches, timeout, poll)
}

// converged waits until OWT holds exactly w, polling every poll. A full
// dump holds the fake's lock and costs CPU, so it is taken only once OWT
// has answered at least minPatches view patches since the last resetCounts.
func (f *fakes) converged(ctx context.Context, w lab.Want, minPatches int, timeout, poll time.Duration) (time.Duration, error) {
	return waitFor(ctx, timeout, poll, f.convergedCond(ctx, w, minPatches))
}

// convergedCond is the condition converged polls: "" once OWT holds w.
func (f *fakes) convergedCond(ctx context.Context, w lab.Want, minPatches int) func() string {
	return func() string {
		a, err := f.activity(ctx)
		if err != nil {
			return err.Error()
		}
		if n := a.OWT[owtfake.RoutePatchStream]; n < minPatches {
			return fmt.Sprintf("%d of %d view patches made", n, minPatches)
		}
		st, err := f.dump(ctx)
		if err != nil {
			return err.Error()
		}
		return lab.Check(st, w)
	}
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

// bareRoundTrip is the mean time of n sequential signed OWT calls (listing
// a room's participants) against the fakes as they are now: what one call
// costs with nothing of the agent around it.
func (e *env) bareRoundTrip(ctx context.Context, room string, n int) (time.Duration, error) {
	return bareRoundTrip(ctx, e.Fakes.OWTURL, room, n)
}

// bareRoundTrip is env.bareRoundTrip against the fake OWT at owtURL.
func bareRoundTrip(ctx context.Context, owtURL, room string, n int) (time.Duration, error) {
	c, err := owtapi.New(owtapi.Config{URL: owtURL, ServiceID: lab.ServiceID, ServiceKey: lab.ServiceKey})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.ListParticipants(ctx, room); err != nil {
			return 0, fmt.Errorf("bare round trip: %w", err)
		}
	}
	return time.Since(start) / time.Duration(n), nil
}

// anyRoomID returns the id of one room of st ("" when none).
func anyRoomID(st owtfake.State) string {
	if len(st.Rooms) == 0 {
		return ""
	}
	return st.Rooms[0].ID
}
