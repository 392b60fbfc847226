package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// Random schedules with high availability: two replicas on a real etcd
// behind a round-robin hook balancer, and the kill step becomes "leader
// lost": the leader is SIGKILLed and started again, or SIGSTOPped past its
// lease while the other replica takes over, then SIGCONTed. The
// invariants are the same (never two live streaming-ins of one stream in a
// room, nothing foreign touched, every allowed publish accepted, OWT
// exactly as desired at quiescence).

// schedHATTL is the replicas' etcd session TTL.
const schedHATTL = 2 * time.Second

// haCluster is the replica set of one HA schedule.
type haCluster struct {
	etcd     *etcdtest.Server
	bal      *lab.Balancer
	replicas []*haReplica
	// stopped is the replica SIGSTOPped now, if any.
	stopped *haReplica
}

type haReplica struct {
	name, hook, metrics, file string
	p                         *proc
}

// setupHA turns the run into an HA run: the balancer takes the hook
// address fake-srs posts to, and each replica gets its own agent.yaml.
func (r *scheduleRun) setupHA() {
	t := r.t
	t.Helper()
	etcd := etcdtest.Start(t)
	bal, err := lab.NewBalancerOn(r.hookAddr)
	if err != nil {
		t.Fatalf("balancer on the hook address %s: %v", r.hookAddr, err)
	}
	t.Cleanup(bal.Close)
	r.ha = &haCluster{etcd: etcd, bal: bal}
	base, err := os.ReadFile(r.agentFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		rp := &haReplica{name: fmt.Sprintf("replica-%d", i), hook: freeAddr(t), metrics: freeAddr(t)}
		y := strings.Replace(string(base), "  listen: "+r.hookAddr+"\n", "  listen: "+rp.hook+"\n", 1)
		y = strings.Replace(y, "  metrics_listen: "+r.metrics+"\n", "  metrics_listen: "+rp.metrics+"\n", 1)
		if y == string(base) {
			t.Fatalf("agent.yaml has no hooks.listen/metrics_listen lines to replace:\n%s", base)
		}
		y += fmt.Sprintf("ha: {mode: etcd, etcd: {endpoints: [%q], prefix: /sched/, session_ttl: %ds}, peer_listen: %q, peer_token_env: PEER_TOKEN}\n",
			etcd.Endpoint, int(schedHATTL/time.Second), freeAddr(t))
		rp.file = filepath.Join(r.dir, rp.name+".yaml")
		if err := os.WriteFile(rp.file, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		r.ha.replicas = append(r.ha.replicas, rp)
	}
}

// startReplica starts rp and waits until it answers hooks.
func (r *scheduleRun) startReplica(rp *haReplica) {
	r.t.Helper()
	rp.p = launch(r.t, "srs-owt-proxy", append(agentEnv, "PEER_TOKEN=sched-peer-token", "POD_NAME="+rp.name),
		"run", "--config", rp.file, "--log-format", "json")
	if _, err := lab.WaitFor(t0(), 15*time.Second, func() string {
		select {
		case <-rp.p.done:
			return ""
		default:
		}
		if code, _ := r.get("http://" + rp.metrics + "/readyz"); code != 200 {
			return rp.name + " not ready"
		}
		return ""
	}); err != nil {
		r.t.Fatalf("%s never ready: %v\n%s", rp.name, err, tail(rp.p.output(), 40))
	}
	select {
	case <-rp.p.done:
		r.t.Fatalf("%s exited at start: %v\n%s", rp.name, rp.p.err, tail(rp.p.output(), 40))
	default:
	}
}

// startHA starts every replica and puts them behind the balancer.
func (r *scheduleRun) startHA() {
	var hooks []string
	for _, rp := range r.ha.replicas {
		r.startReplica(rp)
		hooks = append(hooks, rp.hook)
	}
	r.ha.bal.Set(hooks...)
}

// leader is the replica whose leader gauge is 1, waiting up to within.
func (r *scheduleRun) leader(within time.Duration) *haReplica {
	var found *haReplica
	_, _ = lab.WaitFor(t0(), within, func() string {
		for _, rp := range r.ha.replicas {
			if rp == r.ha.stopped {
				continue
			}
			_, b := r.get("http://" + rp.metrics + "/metrics")
			if leads, _ := leaderOf(b); leads {
				found = rp
				return ""
			}
		}
		return "no leader"
	})
	return found
}

// leaderLost takes the leader away: SIGKILL and a restart, or (odd
// milliseconds in d) a SIGSTOP past its lease while the other replica
// takes over, then SIGCONT.
func (r *scheduleRun) leaderLost(d time.Duration) string {
	l := r.leader(3 * (schedHATTL + time.Second))
	if l == nil {
		r.problem("leader lost step: no replica leads within %s", 3*(schedHATTL+time.Second))
		return "no leader"
	}
	var hooks []string
	for _, rp := range r.ha.replicas {
		if rp != l {
			hooks = append(hooks, rp.hook)
		}
	}
	r.ha.bal.Set(hooks...)
	if d.Milliseconds()%2 == 1 {
		_ = l.p.cmd.Process.Signal(syscall.SIGSTOP)
		r.ha.stopped = l
		time.Sleep(schedHATTL + 1500*time.Millisecond)
		_ = l.p.cmd.Process.Signal(syscall.SIGCONT)
		r.ha.stopped = nil
		r.ha.bal.Set(append(hooks, l.hook)...)
		return l.name + " stopped past its lease, then continued"
	}
	_ = l.p.cmd.Process.Kill()
	<-l.p.done
	time.Sleep(d)
	r.startReplica(l)
	r.ha.bal.Set(append(hooks, l.hook)...)
	return l.name + " killed and started again"
}

// checkReplicas reports replicas that exited by themselves and restarts them.
func (r *scheduleRun) checkReplicas() {
	for _, rp := range r.ha.replicas {
		select {
		case <-rp.p.done:
			r.problem("replica %s exited by itself: %v", rp.name, rp.p.err)
			r.startReplica(rp)
		default:
		}
	}
}

// TestScheduleHA runs random schedules against two replicas on etcd.
func TestScheduleHA(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end schedules skipped in -short")
	}
	began := time.Now()
	sc := shortScheduleScale()
	sc.Schedules = 4
	tally := runSchedulesMode(t, sc, true, "go test -count=1 -run 'TestScheduleHA$' ./e2e")
	t.Logf("%s in %s", tally.summary(), time.Since(began).Round(time.Second))
}
