package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// High availability against a real etcd: three agent processes behind one
// hook address (a round-robin balancer standing in for the Kubernetes
// Service), one leader.

// haTTL is the etcd session TTL of the replicas: the lease a failover
// waits out. haRetry is the campaign's retry period (the etcd backend
// retries a failed campaign every second; a waiting one is woken by the
// deletion of the leader's key).
const (
	haTTL   = 2 * time.Second
	haRetry = time.Second
)

const haPolicy = `reconcile: {interval: 2s, delete_grace: 1s, max_deletes: 500, allow_empty: false, concurrency: 8}
defaults:  {views: [common]}
routes:
  - match: {app: "class-*"}
    room: "{{.App}}"
  - match: {}
    action: ignore
`

// notAccepted lists the answers of the given replicas that SRS would not
// take as an acceptance.
func notAccepted(b *lab.Balancer, of map[string]bool) (n int, bad []string) {
	for _, a := range b.Answers() {
		if !of[a.Backend] {
			continue
		}
		n++
		if !a.Accepted() {
			bad = append(bad, fmt.Sprintf("%s at %s: %d %q %s", a.Backend, a.At.Format("15:04:05.000"), a.Status, a.Body, a.Err))
		}
	}
	return n, bad
}

// replicaProc is one agent process of the HA set.
type replicaProc struct {
	name    string
	p       *proc
	hook    string
	metrics string
	pid     int
}

type haEnv struct {
	*env
	etcd     *etcdtest.Server
	bal      *lab.Balancer
	replicas []*replicaProc
	prefix   string
}

func newHAEnv(t *testing.T, n int) *haEnv {
	t.Helper()
	etcd := etcdtest.Start(t)
	bal, err := lab.NewBalancer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bal.Close)
	e := &env{t: t, dir: t.TempDir()}
	var owtAddr, srsAddr string
	e.owtProc, owtAddr = start(t, "fake-owt", "fake-owt listening on", nil,
		"--listen", "127.0.0.1:0", "--service-id", lab.ServiceID, "--service-key", serviceKey)
	e.srsProc, srsAddr = start(t, "fake-srs", "fake-srs listening on", nil,
		"--listen", "127.0.0.1:0", "--hook", "http://"+bal.Addr+"/api/v1/streams")
	e.owtURL, e.srsURL = "http://"+owtAddr, "http://"+srsAddr
	e.policyFile = filepath.Join(e.dir, "policy.yaml")
	e.writePolicy(haPolicy)
	h := &haEnv{env: e, etcd: etcd, bal: bal, prefix: fmt.Sprintf("/e2e-%d/", rand.Int64())}
	var hooks []string
	for i := 0; i < n; i++ {
		r := h.startReplica(fmt.Sprintf("agent-%d", i))
		hooks = append(hooks, r.hook)
	}
	bal.Set(hooks...)
	return h
}

func (h *haEnv) startReplica(name string) *replicaProc {
	t := h.t
	t.Helper()
	r := &replicaProc{name: name, hook: freeAddr(t), metrics: freeAddr(t)}
	peer := freeAddr(t)
	cfg := fmt.Sprintf(`srs:
  - name: origin
    api: %s
    pull: rtmp://127.0.0.1:1935
owt:
  url: %s
  service_id: %s
  service_key_env: OWT_SERVICE_KEY
  # A POST the killed leader recorded but may not have sent is waited out
  # this long (the fake OWT creates a stream within its round trip).
  pending_hold: 5s
hooks:
  listen: %s
agent:
  id: srs-owt-proxy-ha
  metrics_listen: %s
ha:
  mode: etcd
  etcd: {endpoints: [%s], prefix: %s, session_ttl: %ds}
  peer_listen: %s
  peer_token_env: PEER_TOKEN
policy: %s
`, h.srsURL, h.owtURL, lab.ServiceID, r.hook, r.metrics, h.etcd.Endpoint, h.prefix, int(haTTL/time.Second), peer, h.policyFile)
	file := filepath.Join(h.dir, name+".yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.p, _ = start(t, "srs-owt-proxy", "", append(agentEnv, "PEER_TOKEN=e2e-peer-token", "POD_NAME="+name),
		"run", "--config", file, "--log-format", "json")
	r.pid = r.p.cmd.Process.Pid
	if _, err := lab.WaitFor(t0(), 15*time.Second, func() string {
		if code, _ := h.get("http://" + r.metrics + "/readyz"); code != 200 {
			return fmt.Sprintf("%s: /readyz answered %d", name, code)
		}
		return ""
	}); err != nil {
		t.Fatalf("replica %s never ready: %v\n%s", name, err, r.p.output())
	}
	h.replicas = append(h.replicas, r)
	return r
}

var leaderLine = regexp.MustCompile(`(?m)^srs_owt_proxy_leader\{identity="([^"]+)"\} (\d+)$`)

// leaderOf reads a replica's /metrics text: whether it says it leads, and
// its identity.
func leaderOf(metrics []byte) (bool, string) {
	if m := leaderLine.FindSubmatch(metrics); m != nil {
		return string(m[2]) == "1", string(m[1])
	}
	return false, ""
}

// leading reports whether a replica says it leads (its leader gauge).
func (h *haEnv) leading(r *replicaProc) (bool, string) {
	_, b := h.get("http://" + r.metrics + "/metrics")
	return leaderOf(b)
}

// leader waits until exactly one of rs leads and returns it.
func (h *haEnv) leader(rs []*replicaProc, within time.Duration) (*replicaProc, time.Duration) {
	h.t.Helper()
	var found *replicaProc
	took, err := lab.WaitFor(t0(), within, func() string {
		var ls []string
		found = nil
		for _, r := range rs {
			if ok, _ := h.leading(r); ok {
				ls = append(ls, r.name)
				found = r
			}
		}
		if len(ls) != 1 {
			return fmt.Sprintf("leaders: %v", ls)
		}
		return ""
	})
	if err != nil {
		h.t.Fatalf("no single leader within %s: %v", within, err)
	}
	return found, took
}

func (h *haEnv) others(not *replicaProc) []*replicaProc {
	var out []*replicaProc
	for _, r := range h.replicas {
		if r != not {
			out = append(out, r)
		}
	}
	return out
}

// haStream is the i-th stream: app class-<i mod 8> (its room), stream cam<i>.
func haStream(i int) (app, stream string) {
	return fmt.Sprintf("class-%d", i%8), fmt.Sprintf("cam%d", i)
}

func haWant(live map[int]bool) lab.Want {
	w := lab.Want{Rooms: map[string][]string{}, Views: []string{"common"}}
	for i := range live {
		app, stream := haStream(i)
		w.Rooms[app] = append(w.Rooms[app], app+"/"+stream)
	}
	return w
}

// checkHistory applies the invariants every HA run keeps: never two live
// streaming-ins of one SRS stream in a room, never two rooms of one name.
func checkHistory(t *testing.T, st owtfake.State) {
	t.Helper()
	for _, p := range append(checkNoTwoLive(st, "srs-owt-proxy-ha"), checkNoTwinRooms(st)...) {
		t.Error(p)
	}
}

// TestHAFailover SIGKILLs the leader in the middle of a publish storm.
func TestHAFailover(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("HA_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (HA_SEED=%d reruns this schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	h := newHAEnv(t, 3)
	old, _ := h.leader(h.replicas, 10*time.Second)
	survivors := map[string]bool{}
	for _, r := range h.others(old) {
		survivors[r.hook] = true
	}

	const streams = 48
	order := rng.Perm(streams)
	killAt := streams/3 + rng.IntN(streams/3)
	live := map[int]bool{}
	var killed time.Time
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for k, i := range order {
		if k == killAt {
			wg.Wait() // the hooks in flight to the leader finish or fail first
			killed = time.Now()
			_ = old.p.cmd.Process.Signal(syscall.SIGKILL)
			h.bal.Remove(old.hook)
			t.Logf("SIGKILL leader %s after %d publishes", old.name, k)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			app, stream := haStream(i)
			h.publish(app, stream, false)
			mu.Lock()
			live[i] = true
			mu.Unlock()
		}(i)
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
	}
	wg.Wait()

	rest := h.others(old)
	nl, _ := h.leader(rest, 3*(haTTL+haRetry))
	// The new leader's first write: the first OWT write request from its
	// identity after the kill.
	_, ident := h.leading(nl)
	bound := haTTL + haRetry + time.Second
	took, err := lab.WaitFor(t0(), 3*bound, func() string {
		for _, w := range h.owtState().Writes {
			if w.Time.After(killed) && strings.Contains(w.UserAgent, "("+ident+")") {
				return ""
			}
		}
		return "no write of the new leader yet"
	})
	if err != nil {
		t.Fatalf("new leader %s never wrote: %v", nl.name, err)
	}
	var first time.Time
	for _, w := range h.owtState().Writes {
		if w.Time.After(killed) && strings.Contains(w.UserAgent, "("+ident+")") {
			first = w.Time
			break
		}
	}
	gap := first.Sub(killed)
	t.Logf("failover: kill to the new leader's first OWT write %s (bound: lease %s + retry %s + 1s), waited %s", gap.Round(time.Millisecond), haTTL, haRetry, took.Round(time.Millisecond))
	if gap > bound {
		t.Errorf("the new leader wrote %s after the kill; want within lease + retry + a round trip (%s)", gap, bound)
	}

	h.converge(haWant(live), 30*time.Second)
	n, bad := notAccepted(h.bal, survivors)
	if n < streams/2 || len(bad) > 0 {
		t.Errorf("%d hooks answered by the survivors, %d not accepted: %v", n, len(bad), bad)
	}
	// One-shot commands beside the replicas: diff reads the leader's store
	// (no change planned at convergence), sync --once would be a second
	// writer and is refused without writing.
	file := filepath.Join(h.dir, nl.name+".yaml")
	t.Setenv("PEER_TOKEN", "e2e-peer-token")
	before := len(h.owtState().Writes)
	if out, errOut, code := h.cli("diff", "--config", file, "--detailed-exitcode"); code != 0 {
		t.Errorf("diff beside the replicas exited %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := h.cli("sync", "--config", file, "--once"); code != 1 || !strings.Contains(out+errOut, "only the elected leader writes") {
		t.Errorf("sync --once beside the replicas exited %d:\n%s%s", code, out, errOut)
	}
	if after := len(h.owtState().Writes); after != before {
		t.Errorf("diff or sync --once wrote to OWT: %d writes", after-before)
	}
	// Everything leaves: no room is left behind.
	for i := range live {
		app, stream := haStream(i)
		h.unpublish(app, stream, false)
	}
	h.converge(lab.Want{Rooms: map[string][]string{}}, 30*time.Second)
	st := h.owtState()
	if len(st.Rooms) != 0 {
		t.Errorf("rooms left after every stream left: %d", len(st.Rooms))
	}
	checkHistory(t, st)
}

// TestHAFencing SIGSTOPs the leader while it has work in flight, lets a
// new leader take over and work, then SIGCONTs the old one: it must not
// write to OWT any more, and must see that it lost the leadership.
func TestHAFencing(t *testing.T) {
	h := newHAEnv(t, 2)
	old, _ := h.leader(h.replicas, 10*time.Second)
	_, oldIdent := h.leading(old)
	live := map[int]bool{}
	for i := 0; i < 8; i++ {
		app, stream := haStream(i)
		h.publish(app, stream, false)
		live[i] = true
	}
	h.converge(haWant(live), 20*time.Second)
	// Work for the leader, then it freezes before it can finish: OWT is
	// slow to answer, so some of its requests are in flight.
	h.post(h.owtURL+"/control/fault", map[string]any{"latency_ms": 300})
	for i := 8; i < 16; i++ {
		app, stream := haStream(i)
		h.publish(app, stream, false)
		live[i] = true
	}
	time.Sleep(150 * time.Millisecond)
	_ = old.p.cmd.Process.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	h.bal.Remove(old.hook)
	defer func() { _ = old.p.cmd.Process.Signal(syscall.SIGCONT) }()
	nl, took := h.leader(h.others(old), 3*(haTTL+haRetry))
	t.Logf("SIGSTOP %s; %s leads after %s", old.name, nl.name, took.Round(time.Millisecond))
	h.post(h.owtURL+"/control/fault", map[string]any{"latency_ms": 0})
	// The new leader works: streams leave and arrive.
	for i := 0; i < 4; i++ {
		app, stream := haStream(i)
		h.unpublish(app, stream, false)
		delete(live, i)
	}
	for i := 16; i < 24; i++ {
		app, stream := haStream(i)
		h.publish(app, stream, false)
		live[i] = true
	}
	h.converge(haWant(live), 30*time.Second)
	// The old leader's requests sent before it froze may arrive late;
	// anything it sends from now on would be a write after its lease.
	time.Sleep(time.Second)
	resumed := time.Now()
	_ = old.p.cmd.Process.Signal(syscall.SIGCONT)
	t.Logf("SIGCONT %s after %s stopped", old.name, resumed.Sub(stopped).Round(time.Millisecond))
	// It notices: its leader gauge drops, it counts the move to follower.
	if _, err := lab.WaitFor(t0(), 3*(haTTL+haRetry), func() string {
		if ok, _ := h.leading(old); ok {
			return "the old leader still says it leads"
		}
		code, b := h.get("http://" + old.metrics + "/metrics")
		if code != 200 || !strings.Contains(string(b), `srs_owt_proxy_leadership_transitions_total{to="follower"} 1`) {
			return "no transition to follower counted"
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	// Give it every chance to act on its stale view: more than a resync.
	time.Sleep(3 * time.Second)
	st := h.owtState()
	var late []string
	for _, w := range st.Writes {
		if w.Time.After(resumed) && strings.Contains(w.UserAgent, "("+oldIdent+")") {
			late = append(late, fmt.Sprintf("%s %s %s at %s", w.Method, w.Path, w.Call, w.Time.Format("15:04:05.000")))
		}
	}
	sort.Strings(late)
	if len(late) > 0 {
		t.Errorf("the deposed leader %s wrote to OWT after it resumed (fencing failed):\n%s", old.name, strings.Join(late, "\n"))
	}
	if msg := lab.Check(st, haWant(live)); msg != "" {
		t.Errorf("after the old leader resumed: %s", msg)
	}
	if !strings.Contains(old.p.output(), "leadership lost") {
		t.Errorf("the old leader did not log the loss of its leadership")
	}
	checkHistory(t, st)
}
