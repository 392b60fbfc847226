package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/etcdtest"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// The failover scenario's election: replicas on a real etcd with this
// session TTL (the lease a failover waits out), and the campaign's retry
// period (the etcd backend retries a failed campaign every second; a
// waiting campaign is woken by the deletion of the leader's key).
const (
	failoverTTL      = 2 * time.Second
	failoverRetry    = time.Second
	failoverReplicas = 3
	// failoverPendingHold is the replicas' owt.pending_hold.
	failoverPendingHold = 3 * time.Second
)

// failoverReplica is one agent process of the scenario.
type failoverReplica struct {
	name, hook, metrics string
	p                   *agentProc
}

var leaderGauge = regexp.MustCompile(`(?m)^srs_owt_proxy_leader\{identity="([^"]+)"\} 1$`)

// leading returns the identity of a replica that says it leads, "" else.
func (r *failoverReplica) leading(ctx context.Context, client *http.Client) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.metrics+"/metrics", nil)
	if err != nil {
		return ""
	}
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if m := leaderGauge.FindStringSubmatch(b.String()); m != nil {
		return m[1]
	}
	return ""
}

// benchFailover runs three agent replicas on a real etcd behind a
// round-robin hook balancer, publishes a storm through on_publish,
// SIGKILLs the leader once a quarter of the streaming-in POSTs have reached
// OWT, and measures the time from the kill to the new leader's first OWT
// write (from the fake's write log, which names each replica in its
// User-Agent). DESIGN's floor: lease duration + retry period + one round
// trip.
func benchFailover(ctx context.Context, sc scale, rt time.Duration, agentBin string, rep *report) error {
	etcdBin, err := etcdtest.Binary()
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	dir, err := os.MkdirTemp("", "srs-owt-proxy-bench-failover-")
	if err != nil {
		return fmt.Errorf("failover: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	etcd, err := etcdtest.Run(etcdBin, dir)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	defer etcd.Stop()
	bin := agentBin
	if bin == "" {
		if bin, err = buildAgent(ctx, dir); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
	}
	bal, err := lab.NewBalancer()
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	defer bal.Close()
	f, err := startFakes(ctx, "http://"+bal.Addr+"/api/v1/streams")
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	defer f.close()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(fmt.Sprintf(benchPolicy, crashInterval, 64)), 0o600); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	var replicas []*failoverReplica
	var hooks []string
	for i := 0; i < failoverReplicas; i++ {
		r := &failoverReplica{name: fmt.Sprintf("replica-%d", i)}
		var peer string
		for _, a := range []*string{&r.hook, &r.metrics, &peer} {
			if *a, err = reserveAddr(); err != nil {
				return fmt.Errorf("failover: %w", err)
			}
		}
		l := &lab.Lab{OWTURL: f.OWTURL, SRSURL: f.SRSURL}
		yaml := l.AgentYAML(r.hook, r.metrics, filepath.Join(dir, r.name+".state.json"), policyFile)
		// A POST the killed leader recorded but may not have sent is
		// waited out this long (the fake creates a stream within its
		// round trip): the convergence figure is not the 95 s default.
		yaml = strings.Replace(yaml, "  service_key_env: OWT_SERVICE_KEY\n", "  service_key_env: OWT_SERVICE_KEY\n  pending_hold: "+failoverPendingHold.String()+"\n", 1) +
			fmt.Sprintf("ha: {mode: etcd, etcd: {endpoints: [%q], prefix: /bench/, session_ttl: %ds}, peer_listen: %q, peer_token_env: PEER_TOKEN}\n",
				etcd.Endpoint, int(failoverTTL/time.Second), peer)
		file := filepath.Join(dir, r.name+".yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
		if r.p, err = startAgentProc(ctx, bin, file, "PEER_TOKEN=bench-peer-token", "POD_NAME="+r.name); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
		defer r.p.kill()
		if err := r.p.waitReady(ctx, r.metrics, 30*time.Second); err != nil {
			return fmt.Errorf("failover: %s: %w", r.name, err)
		}
		replicas = append(replicas, r)
		hooks = append(hooks, r.hook)
	}
	bal.Set(hooks...)
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	var old *failoverReplica
	if _, err := waitFor(ctx, 15*time.Second, 20*time.Millisecond, func() string {
		old = nil
		for _, r := range replicas {
			if r.leading(ctx, client) != "" {
				old = r
				return ""
			}
		}
		return "no leader yet"
	}); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if err := f.fault(ctx, map[string]any{"latency_ms": msf(rt)}); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	if err := f.resetCounts(ctx); err != nil {
		return fmt.Errorf("failover: %w", err)
	}

	// The storm: every hook through the balancer. A hook that reached the
	// killed replica is refused (SRS would refuse that publish); the others
	// must all be accepted.
	perRoom := sc.StormStreams / sc.StormRooms
	type pub struct{ app, stream string }
	var mu sync.Mutex
	var live []pub
	stormDone := make(chan struct{})
	go func() {
		defer close(stormDone)
		jobs := make(chan pub)
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					if f.publish(ctx, j.app, j.stream, false) == nil {
						mu.Lock()
						live = append(live, j)
						mu.Unlock()
					}
				}
			}()
		}
		for r := 0; r < sc.StormRooms; r++ {
			for m := 0; m < perRoom; m++ {
				jobs <- pub{fmt.Sprintf("failover-%d", r), fmt.Sprintf("s%d", m)}
			}
		}
		close(jobs)
		wg.Wait()
	}()
	killAfter := max(1, sc.StormStreams/4)
	if _, err := waitFor(ctx, 2*time.Minute, time.Millisecond, func() string {
		a, err := f.activity(ctx)
		if err != nil {
			return err.Error()
		}
		if n := a.OWT[owtfake.RouteStartStreamingIn]; n < killAfter {
			return fmt.Sprintf("%d of %d streaming-in POSTs sent", n, killAfter)
		}
		return ""
	}); err != nil {
		return fmt.Errorf("failover: before the kill: %w", err)
	}
	old.p.kill()
	kill := time.Now()
	bal.Remove(old.hook)
	survivors := map[string]bool{}
	for _, r := range replicas {
		if r != old {
			survivors[r.hook] = true
		}
	}
	var newLeader string
	var first time.Time
	if _, err := waitFor(ctx, 10*(failoverTTL+failoverRetry), 5*time.Millisecond, func() string {
		st, err := f.dump(ctx)
		if err != nil {
			return err.Error()
		}
		for _, w := range st.Writes {
			if w.Time.After(kill) && !strings.Contains(w.UserAgent, "("+old.name+"-") {
				first = w.Time
				newLeader = w.UserAgent
				return ""
			}
		}
		return "no write by a new leader yet"
	}); err != nil {
		return fmt.Errorf("failover: after the kill: %w", err)
	}
	<-stormDone
	gap := first.Sub(kill)
	floor := failoverTTL + failoverRetry + rt
	ratio := float64(gap) / float64(floor)
	answered, refused := 0, 0
	for _, a := range bal.Answers() {
		if survivors[a.Backend] {
			answered++
			if !a.Accepted() {
				refused++
			}
		}
	}
	mu.Lock()
	w := lab.Want{Rooms: map[string][]string{}, Views: []string{view}}
	for _, p := range live {
		w.Rooms[p.app] = append(w.Rooms[p.app], p.app+"/"+p.stream)
	}
	published := len(live)
	mu.Unlock()
	took, err := f.converged(ctx, w, 0, 2*time.Minute, 20*time.Millisecond)
	if err != nil {
		return fmt.Errorf("failover: not converged after the kill: %w", err)
	}
	st, err := f.dump(ctx)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	dups := duplicateStats(st)
	rep.add(figure{Key: "failover_ratio", Kind: kindRatio, RT: rt.String(),
		Floor:    fmt.Sprintf("lease %s + retry %s + round trip %s", ms(failoverTTL), ms(failoverRetry), ms(rt)),
		Measured: ms(gap) + " from the kill to the new leader's first OWT write", Value: ratio, Target: "<= 1.0", Met: ratio <= 1.0})
	rep.add(figure{Key: "failover_hooks_refused", Kind: kindCount, Floor: "0",
		Measured: fmt.Sprintf("%d of %d hooks answered by the surviving replicas", refused, answered),
		Value:    float64(refused), Target: "== 0", Met: refused == 0})
	rep.detail("failover", map[string]any{"replicas": failoverReplicas, "session_ttl_ms": msf(failoverTTL), "retry_ms": msf(failoverRetry),
		"round_trip_ms": msf(rt), "pending_hold_ms": msf(failoverPendingHold), "streams": sc.StormStreams, "rooms": sc.StormRooms, "kill_after_posts": killAfter,
		"killed": old.name, "new_leader_user_agent": newLeader, "kill_to_first_write_ms": msf(gap), "floor_ms": msf(floor),
		"hooks_answered_by_survivors": answered, "hooks_refused_by_survivors": refused, "published": published,
		"converged_ms": msf(took), "duplicates": dups})
	return nil
}
