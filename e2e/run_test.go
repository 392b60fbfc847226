package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// The resync interval is minutes: anything that converges sooner went
// through the hook fast path, SIGHUP or the policy watcher.
const runPolicy = `reconcile: {interval: 5m, delete_grace: 1s, max_deletes: 50, allow_empty: true, concurrency: 4}
defaults:  {views: [common]}
routes:
  - match: {app: private}
    action: deny
  - match: {app: live}
    room: "{{.App}}-{{.Stream}}"
  - match: {}
    action: ignore
`

const runPolicyMerged = `reconcile: {interval: 5m, delete_grace: 1s, max_deletes: 50, allow_empty: true, concurrency: 4}
defaults:  {views: [common]}
routes:
  - match: {app: live}
    room: "everyone"
  - match: {}
    action: ignore
`

func (e *env) startAgent() *proc {
	e.t.Helper()
	p, _ := start(e.t, "srs-owt-proxy", "", agentEnv, "run", "--config", e.agentFile, "--log-format", "json")
	if _, err := lab.WaitFor(t0(), 10*time.Second, func() string {
		if code, b := e.get("http://" + e.metrics + "/readyz"); code != 200 {
			return fmt.Sprintf("/readyz answered %d %s", code, b)
		}
		return ""
	}); err != nil {
		e.t.Fatalf("agent never ready: %v\n%s", err, p.output())
	}
	return p
}

func TestRunAgent(t *testing.T) {
	e := newEnv(t, runPolicy)
	agent := e.startAgent()
	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}

	// Fast path: in view long before the 5 minute resync.
	e.publish("live", "a", false)
	e.publish("live", "b", false)
	want.Rooms = map[string][]string{"live-a": {"live/a"}, "live-b": {"live/b"}}
	t.Logf("published: converged in %s", e.converge(want, 5*time.Second))

	// A denied publish is refused by SRS (the control API reports the error).
	code, body := e.getPost(e.srsURL+"/control/publish", `{"vhost":"__defaultVhost__","app":"private","stream":"x"}`)
	if code/100 == 2 && !strings.Contains(body, "rejected") {
		t.Fatalf("private/x was not refused: %d %s", code, body)
	}

	// Unpublish: cleaned up after the 1 s grace.
	e.unpublish("live", "b", false)
	want.Rooms = map[string][]string{"live-a": {"live/a"}}
	if took := e.converge(want, 5*time.Second); took < 900*time.Millisecond {
		t.Fatalf("unpublished stream removed after %s, before the 1s delete grace", took)
	}

	// A lost hook is repaired by the resync (SIGHUP asks for one now).
	e.publish("live", "lost", true)
	_ = agent.cmd.Process.Signal(syscall.SIGHUP)
	want.Rooms["live-lost"] = []string{"live/lost"}
	e.converge(want, 5*time.Second)

	// A room deleted by hand is restored.
	for _, r := range e.owtState().Rooms {
		if r.Name == "live-a" {
			deleteRoom(t, e.owtURL, r.ID)
		}
	}
	_ = agent.cmd.Process.Signal(syscall.SIGHUP)
	e.converge(want, 5*time.Second)

	// OWT wiped (restarted empty): everything restored.
	e.post(e.owtURL+"/control/wipe", map[string]any{})
	_ = agent.cmd.Process.Signal(syscall.SIGHUP)
	e.converge(want, 5*time.Second)

	// The policy edited on disk reroutes the streams (hot reload).
	e.writePolicy(runPolicyMerged)
	want.Rooms = map[string][]string{"everyone": {"live/a", "live/lost"}}
	e.converge(want, 10*time.Second)

	// A broken policy is ignored: counted, old policy kept.
	e.writePolicy("routes: [ {match: {app: live}, room: ") // garbage
	if _, err := lab.WaitFor(t0(), 5*time.Second, func() string {
		if v := e.metric(`srs_owt_proxy_policy_reloads_total{result="error"}`); v == "" || v == "0" {
			return "no failed reload counted yet"
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	e.publish("live", "after-garbage", false)
	want.Rooms["everyone"] = append(want.Rooms["everyone"], "live/after-garbage")
	e.converge(want, 5*time.Second)

	// SIGTERM: exit 0, state saved, nothing half-done.
	if code := agent.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, agent.output())
	}
	if _, err := os.Stat(e.stateFile); err != nil {
		t.Fatalf("state file after shutdown: %v", err)
	}
	if d := lab.Check(e.owtState(), want); d != "" {
		t.Fatalf("after shutdown: %s", d)
	}
	if n := lab.Duplicates(e.owtState()); n != 0 {
		t.Fatalf("%d duplicate streaming-ins", n)
	}
	if out := agent.output(); strings.Contains(out, serviceKey) {
		t.Fatal("the OWT service key appeared in the agent's log")
	}
}
