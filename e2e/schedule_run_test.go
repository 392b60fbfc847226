package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// Timing of every schedule: short enough for tens of schedules in `make
// test`. The fake holds a streaming-in POST at most 1.5 s plus 160 ms of
// latency and jitter, below pendingHold, as real OWT's ~90 s is below the
// default 95 s; room creations answered up to 2.5 s late outlast
// owt.timeout (2 s), so some creations end with an unknown outcome.
const (
	schedInterval    = 400 * time.Millisecond
	schedGrace       = 300 * time.Millisecond
	schedPendingHold = 3 * time.Second
	schedOWTTimeout  = 2 * time.Second
	// schedHintTTL: how long an on_publish hook stands for a stream SRS does
	// not list (hooks.hint_ttl; 10 s by default). A publish whose unpublish
	// hook was lost keeps its input this long: quiescence waits it out.
	schedHintTTL = time.Second
)

// schedPolicy routes app wall to the foreign room "wall" (create: false),
// app lobby to "lobby" (a foreign room found by name), app g0 to one shared
// room, app live to a room per stream; app private is denied, the rest ignored.
func schedPolicy() string {
	return fmt.Sprintf(`reconcile: {interval: %s, delete_grace: %s, max_deletes: 1000, allow_empty: true, concurrency: 4}
defaults:  {views: [common]}
routes:
  - match: {app: private}
    action: deny
  - match: {app: wall}
    room: {name: wall, create: false}
  - match: {app: lobby}
    room: lobby
  - match: {app: g0}
    room: g0
  - match: {app: live}
    room:
      name: "live-{{.Stream}}"
      outputs: [{view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}]
  - match: {app: mix}
    room: "mixed-{{.Stream}}"           # the loop guard keeps the pushed mixes out
  - match: {}
    action: ignore
`, schedInterval, schedGrace)
}

// schedForeignRooms are the rooms another tool makes before the schedule
// starts: two the policy routes to, one it does not route at all.
func schedForeignRooms() []string { return []string{"wall", "lobby", "foreign-tool-room"} }

// foreignObject is a room or stream of another tool, as created.
type foreignObject struct {
	room, stream string   // stream "" = the room itself
	name         string   // room name
	views        []string // inViews of a stream at creation
}

// scheduleRun is one schedule being executed: its fakes, its agent, and
// what happened, for the invariant checks.
type scheduleRun struct {
	*env
	t      *testing.T
	sched  schedule
	agent  *proc
	client *http.Client
	began  time.Time
	// lastHook is when the last step that fires hooks ran.
	lastHook time.Time
	log      []string // executed steps, with their time and outcome
	foreign  []foreignObject
	live     map[schedStream]bool // published on SRS now
	routes   map[string]bool      // fake-owt routes given their own fault rate
	// problems found while the schedule runs (invariant 4 and the second writer)
	problems []string
	// ha, when set, runs replicas on etcd instead of one agent (schedule_ha_test.go).
	ha *haCluster
}

// newScheduleRun starts fresh fakes, creates the foreign objects and starts
// the agent on a fresh state file.
func newScheduleRun(t *testing.T, sched schedule, ha bool) *scheduleRun {
	t.Helper()
	// The fake's ids and fault coin flips follow the schedule's seed too.
	e := newEnv(t, schedPolicy(), "--seed", strconv.FormatInt(sched.Seed, 10))
	yaml, err := os.ReadFile(e.agentFile)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(yaml), "  service_key_env: OWT_SERVICE_KEY\n",
		fmt.Sprintf("  service_key_env: OWT_SERVICE_KEY\n  pending_hold: %s\n  timeout: %s\n", schedPendingHold, schedOWTTimeout), 1)
	edited = strings.Replace(edited, "hooks:\n", fmt.Sprintf("hooks:\n  hint_ttl: %s\n", schedHintTTL), 1)
	if edited == string(yaml) {
		t.Fatalf("agent.yaml has no owt.service_key_env line to extend:\n%s", yaml)
	}
	if err := os.WriteFile(e.agentFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	r := &scheduleRun{env: e, t: t, sched: sched, client: &http.Client{Timeout: 40 * time.Second, Transport: tr},
		live: map[schedStream]bool{}, routes: map[string]bool{}}
	r.addForeign()
	if ha {
		r.setupHA()
		r.startHA()
	} else {
		r.agent = r.startAgent()
	}
	r.began = time.Now()
	return r
}

// addForeign creates the foreign rooms, each with a WebRTC publication in
// view common; the unrouted room also gets a streaming-in of another tool.
func (r *scheduleRun) addForeign() {
	r.t.Helper()
	for _, name := range schedForeignRooms() {
		var room struct{ ID string }
		if err := json.Unmarshal(r.post(r.owtURL+"/control/room", map[string]any{"name": name, "views": []string{"common"}}), &room); err != nil {
			r.t.Fatalf("foreign room %s: %v", name, err)
		}
		r.foreign = append(r.foreign, foreignObject{room: room.ID, name: name})
		infos := []map[string]any{{"type": "webrtc", "owner": "someone", "inViews": []string{"common"}}}
		if name == "foreign-tool-room" {
			infos = append(infos, map[string]any{"type": "streaming", "attributes": map[string]any{"owner": "another-tool"}, "inViews": []string{"common"}})
		}
		for _, info := range infos {
			var s struct{ ID string }
			if err := json.Unmarshal(r.post(r.owtURL+"/control/foreign-stream", map[string]any{"room": room.ID, "info": info}), &s); err != nil {
				r.t.Fatalf("foreign stream in %s: %v", name, err)
			}
			r.foreign = append(r.foreign, foreignObject{room: room.ID, stream: s.ID, name: name, views: []string{"common"}})
		}
	}
}

// startAgent starts `run` and waits until its hook listener accepts
// connections (not /readyz: OWT may be failing most calls right now).
func (r *scheduleRun) startAgent() *proc {
	r.t.Helper()
	p := launch(r.t, "srs-owt-proxy", agentEnv, "run", "--config", r.agentFile, "--log-format", "json")
	if _, err := lab.WaitFor(t0(), 10*time.Second, func() string {
		select {
		case <-p.done:
			return "" // reported below
		default:
		}
		c, err := net.DialTimeout("tcp", r.hookAddr, 200*time.Millisecond)
		if err != nil {
			return "hook listener not up: " + err.Error()
		}
		c.Close()
		return ""
	}); err != nil {
		r.t.Fatalf("agent never listened for hooks: %v\n%s", err, tail(p.output(), 40))
	}
	select {
	case <-p.done:
		r.t.Fatalf("agent exited at start: %v\n%s", p.err, tail(p.output(), 40))
	default:
	}
	return p
}

// launch runs a binary like start, but on failure logs only the last lines
// of its output (a schedule starts the agent many times).
func launch(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(bin, name), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(p, sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		<-copied
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- last lines of %s (pid %d, %v):\n%s", name, p.cmd.Process.Pid, p.err, tail(p.output(), 30))
		}
	})
	return p
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// control posts a JSON body to a fake's control API; it returns the status
// (0 on a transport error) and the answer.
func (r *scheduleRun) control(url string, body any) (int, string) {
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(out))
}

// problem records a violation found while the schedule runs.
func (r *scheduleRun) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// run executes every step in order and logs each with its outcome.
func (r *scheduleRun) run() {
	for i, st := range r.sched.Steps {
		at := time.Since(r.began)
		outcome := r.do(st)
		r.log = append(r.log, fmt.Sprintf("%7.3fs #%02d %s -> %s", at.Seconds(), i, st, outcome))
	}
}

// do executes one step and describes what happened.
func (r *scheduleRun) do(st step) string {
	switch st.Kind {
	case stepPublish:
		r.lastHook = time.Now()
		return r.publish(st.Stream, st.Silent)
	case stepUnpublish:
		r.lastHook = time.Now()
		return r.unpublish(st.Stream, st.Silent)
	case stepRepublish:
		r.lastHook = time.Now()
		return r.unpublish(st.Stream, false) + "; " + r.publish(st.Stream, false)
	case stepSleep:
		time.Sleep(st.D)
		return "ok"
	case stepLatency:
		return r.owtFault(map[string]any{"latency_ms": st.D.Milliseconds(), "jitter_ms": st.Jitter.Milliseconds()})
	case stepErrors:
		r.routes[st.Route] = true
		return r.owtFault(map[string]any{"error_rate": map[string]float64{st.Route: st.Rate}, "drop_rate": map[string]float64{st.Route: st.Drop}})
	case stepHold:
		return r.owtFault(map[string]any{"streaming_in_delay_ms": st.D.Milliseconds()})
	case stepRoomReplyDelay:
		return r.owtFault(map[string]any{"create_room_reply_delay_ms": st.D.Milliseconds()})
	case stepClearFaults:
		return r.clearFaults()
	case stepKill:
		if r.ha != nil {
			return r.leaderLost(st.D)
		}
		time.Sleep(st.D)
		return r.killAndRestart()
	case stepSecondWriter:
		if r.ha != nil {
			return "skipped: replicas share no state file"
		}
		return r.secondWriter()
	}
	r.t.Fatalf("unknown step %v", st)
	return ""
}

// publish publishes s on fake-srs. SRS's answer must follow the policy:
// a denied stream refused, any other accepted (hooks are answered before
// any OWT call, so OWT faults never refuse a publish).
func (r *scheduleRun) publish(s schedStream, silent bool) string {
	code, body := r.control(r.srsURL+"/control/publish", map[string]any{"vhost": "__defaultVhost__", "app": s.App, "stream": s.Stream, "silent": silent})
	_, allowed := schedRoute(s)
	ok := code/100 == 2
	switch {
	case silent && !ok:
		r.t.Fatalf("fake-srs refused a silent publish of %s: %d %s", s.Name(), code, body)
	case !silent && allowed && !ok:
		r.problem("invariant 4 (no allowed publish rejected): publish of %s refused: %d %s", s.Name(), code, body)
	case !silent && !allowed && ok:
		r.problem("invariant 4 (publishes follow the policy): publish of denied %s accepted", s.Name())
	}
	if ok {
		r.live[s] = true
	}
	return fmt.Sprintf("%d", code)
}

// unpublish stops s on fake-srs.
func (r *scheduleRun) unpublish(s schedStream, silent bool) string {
	delete(r.live, s)
	code, body := r.control(r.srsURL+"/control/unpublish", map[string]any{"vhost": "__defaultVhost__", "app": s.App, "stream": s.Stream, "silent": silent})
	if code/100 != 2 && code != http.StatusNotFound {
		r.t.Fatalf("unpublish of %s: %d %s", s.Name(), code, body)
	}
	return fmt.Sprintf("%d", code)
}

// owtFault posts a fault setting to fake-owt.
func (r *scheduleRun) owtFault(f map[string]any) string {
	if code, body := r.control(r.owtURL+"/control/fault", f); code != http.StatusOK {
		r.t.Fatalf("fake-owt fault %v: %d %s", f, code, body)
	}
	return "ok"
}

// clearFaults turns every fake-owt fault off, route rates included.
func (r *scheduleRun) clearFaults() string {
	zero := map[string]float64{"": 0}
	for route := range r.routes {
		zero[route] = 0
	}
	return r.owtFault(map[string]any{"latency_ms": 0, "jitter_ms": 0, "error_rate": zero, "drop_rate": zero,
		"streaming_in_delay_ms": 0, "create_room_reply_delay_ms": 0})
}

// killAndRestart SIGKILLs the agent and starts it again on the same files.
func (r *scheduleRun) killAndRestart() string {
	select {
	case <-r.agent.done:
		r.problem("the agent had exited by itself before a kill step: %v", r.agent.err)
	default:
		_ = r.agent.cmd.Process.Kill()
		<-r.agent.done
	}
	old := r.agent.cmd.Process.Pid
	r.agent = r.startAgent()
	return fmt.Sprintf("pid %d killed, pid %d started", old, r.agent.cmd.Process.Pid)
}

// secondWriter runs `sync --once` on the running agent's agent.yaml. The
// contract: it exits 1 at once, says the state file is in use, and writes
// nothing to OWT. The running agent is paused (SIGSTOP) meanwhile, so that
// every write counted by fake-owt in that window is the second writer's.
func (r *scheduleRun) secondWriter() string {
	select {
	case <-r.agent.done:
		r.problem("the agent had exited by itself before a second-writer step: %v", r.agent.err)
		r.agent = r.startAgent()
	default:
	}
	pid := r.agent.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		r.t.Fatalf("SIGSTOP agent: %v", err)
	}
	defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()
	// Let requests the agent sent just before the pause land and be counted.
	before := writes(r.counts())
	for i := 0; i < 20; i++ {
		time.Sleep(50 * time.Millisecond)
		n := writes(r.counts())
		if n == before {
			break
		}
		before = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "srs-owt-proxy"), "sync", "--config", r.agentFile, "--once")
	cmd.Env = append(os.Environ(), agentEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err := cmd.Run()
	took := time.Since(began)
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if err != nil && ctx.Err() != nil {
		r.problem("second writer: sync --once still running after 30 s")
	}
	wrote := writes(r.counts()) - before
	msg := strings.TrimSpace(out.String())
	if code != 1 || !strings.Contains(msg, "is running with this state file") {
		r.problem("second writer not refused: sync --once exited %d after %s, output:\n%s", code, took.Round(time.Millisecond), tail(msg, 8))
	}
	if wrote != 0 {
		r.problem("second writer made %d write calls to OWT while the agent was running", wrote)
	}
	return fmt.Sprintf("exit %d after %s, %d OWT writes", code, took.Round(time.Millisecond), wrote)
}

// want is the desired OWT content now: every live routed stream in its
// room; the routed foreign rooms always (empty of the agent's inputs when
// nothing live is routed there).
func (r *scheduleRun) want() lab.Want {
	w := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"wall": nil, "lobby": nil}, Keep: []string{"foreign-tool-room"}}
	for s := range r.live {
		if room, _ := schedRoute(s); room != "" {
			w.Rooms[room] = append(w.Rooms[room], s.Name())
		}
	}
	return w
}
