package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// crashConcurrency is the policy's reconcile.concurrency in the crash
// scenario, its maximum: every OWT call, a held POST included, takes one
// slot, so with the default 8 slots 1,000 POSTs held 3 s would take six
// minutes, and no POST would be left in flight to test the restart with.
const crashConcurrency = 256

// crashInterval is the resync interval of the crash scenario: the policy
// default. DESIGN's crash floor has no interval in it, so the restarted
// agent must not wait for a periodic resync to finish the storm.
const crashInterval = 30 * time.Second

// crashOptions configures benchCrash.
type crashOptions struct {
	RT          time.Duration // injected OWT round trip
	Hold        time.Duration // OWT holds each streaming-in POST this long
	PendingHold time.Duration // agent.yaml owt.pending_hold
	AgentBin    string        // the agent binary; "" = go build it
}

// benchCrash runs the agent binary as a child process, publishes
// sc.CrashStreams streams into sc.CrashRooms new rooms through on_publish
// while OWT holds every streaming-in POST, SIGKILLs the agent once a
// quarter of the POSTs (at most crashConcurrency) have reached OWT,
// restarts it at once on the same state file and times convergence. The
// duplicates come from the fake's full history, taken after a further
// pending hold so that a late second POST is seen too.
func benchCrash(ctx context.Context, sc scale, o crashOptions, rep *report) error {
	dir, err := os.MkdirTemp("", "srs-owt-proxy-bench-crash-")
	if err != nil {
		return fmt.Errorf("crash: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := o.AgentBin
	if bin == "" {
		if bin, err = buildAgent(ctx, dir); err != nil {
			return fmt.Errorf("crash: %w", err)
		}
	}
	hookAddr, err := reserveAddr()
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	metricsAddr, err := reserveAddr()
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	f, err := startFakes(ctx, "http://"+hookAddr+"/api/v1/streams")
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	defer f.close()
	agentFile, err := writeCrashFiles(dir, f, hookAddr, metricsAddr, o.PendingHold)
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}

	first, err := startAgentProc(ctx, bin, agentFile)
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	defer first.kill()
	if err := first.waitReady(ctx, metricsAddr, 30*time.Second); err != nil {
		return fmt.Errorf("crash: first agent: %w", err)
	}
	if err := f.fault(ctx, map[string]any{"latency_ms": msf(o.RT), "streaming_in_delay_ms": msf(o.Hold)}); err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	if err := f.resetCounts(ctx); err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	perRoom := sc.CrashStreams / sc.CrashRooms
	w := want("crash", sc.CrashRooms, perRoom)
	killAfter := max(1, min(sc.CrashStreams/4, crashConcurrency))
	whole := left(sc.CrashRooms, sc.CrashStreams, 0, 0, 0).floor(crashConcurrency, o.RT, o.Hold)
	limit := o.Hold + 20*whole + time.Minute

	start := time.Now()
	if err := f.publishMany(ctx, "crash", sc.CrashRooms, perRoom, 256, false); err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	published := time.Since(start)
	if _, err := waitFor(ctx, limit, time.Millisecond, func() string {
		a, err := f.activity(ctx)
		if err != nil {
			return err.Error()
		}
		if n := a.OWT[owtfake.RouteStartStreamingIn]; n < killAfter {
			return fmt.Sprintf("%d of %d streaming-in POSTs sent", n, killAfter)
		}
		return ""
	}); err != nil {
		return fmt.Errorf("crash: before the kill: %w", err)
	}
	// POSTs are counted on arrival and created after the injected round
	// trip: let the last ones be created (and held) before the kill.
	if err := sleepCtx(ctx, 2*o.RT); err != nil {
		return err
	}
	first.kill()
	kill := time.Now()
	// A POST the first agent sent before the kill is created at most one
	// round trip later; the second agent's first POST comes after it has
	// started and listed OWT, at least two round trips after the kill.
	cut := kill.Add(o.RT)
	second, err := startAgentProc(ctx, bin, agentFile)
	if err != nil {
		return fmt.Errorf("crash: restart: %w", err)
	}
	restart := second.start
	defer func() {
		// In-flight POSTs need not be waited for on the way out.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = f.fault(sctx, map[string]any{"latency_ms": 0, "streaming_in_delay_ms": 0})
		cancel()
		_ = second.stop(15 * time.Second)
	}()
	atKill, err := f.activity(ctx)
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	// Counts are taken on arrival: every call of the first agent arrived
	// before the kill, and the second makes none before it has listed.
	cond := f.convergedCond(ctx, w, sc.CrashStreams)
	exited := false
	if _, err := waitFor(ctx, limit, 10*time.Millisecond, func() string {
		select {
		case <-second.done:
			exited = true
			return ""
		default:
		}
		return cond()
	}); err != nil {
		return fmt.Errorf("crash: after the restart: %w; the agent's output:\n%s", err, second.out.String())
	}
	took := time.Since(restart)
	if exited {
		return fmt.Errorf("crash: the restarted agent exited (%v):\n%s", second.err, second.out.String())
	}
	// A second POST may still come: look again one pending hold later.
	if err := sleepCtx(ctx, o.PendingHold); err != nil {
		return err
	}
	st, err := f.dump(ctx)
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	settled := lab.Check(st, w)
	bare, err := bareRoundTrip(ctx, f.OWTURL, anyRoomID(st), 20)
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}

	dups := duplicateStats(st)
	posted := 0
	for _, c := range st.Created {
		if !c.Time.After(cut) {
			posted++
		}
	}
	hold := remainingHold(st.Created, cut, restart, o.Hold)
	work := left(sc.CrashRooms, sc.CrashStreams, atKill.OWT[owtfake.RouteCreateRoom], posted, atKill.OWT[owtfake.RoutePatchStream])
	storm := work.floor(crashConcurrency, o.RT, o.Hold)
	floor := hold + storm
	ratio := float64(took) / float64(floor)
	rep.add(figure{Key: "crash_duplicates", Kind: kindCount, Floor: "0",
		Measured: fmt.Sprintf("max %d live at once (%d created ever)", dups.MaxLive, dups.Ever),
		Value:    float64(dups.MaxLive), Target: "== 0", Met: dups.MaxLive == 0})
	rep.add(figure{Key: "crash_converge_ratio", Kind: kindRatio, RT: o.RT.String(),
		Floor:    fmt.Sprintf("hold left %s + storm floor %s", ms(hold), ms(storm)),
		Measured: ms(took) + " after restart", Value: ratio, Target: "<= 1.0", Met: ratio <= 1.0})
	rep.detail("crash", map[string]any{"round_trip_ms": msf(o.RT), "post_hold_ms": msf(o.Hold), "pending_hold_ms": msf(o.PendingHold),
		"rooms": sc.CrashRooms, "streams": sc.CrashStreams, "concurrency": crashConcurrency, "interval_ms": msf(crashInterval),
		"hooks_answered_ms": msf(published), "kill_ms": msf(kill.Sub(start)), "restart_gap_ms": msf(restart.Sub(kill)),
		"kill_after_posts": killAfter, "posts_sent_before_kill": atKill.OWT[owtfake.RouteStartStreamingIn],
		"posts_created_by_first_agent": posted, "rooms_created_before_kill": atKill.OWT[owtfake.RouteCreateRoom],
		"patches_before_kill": atKill.OWT[owtfake.RoutePatchStream],
		"calls_left":          work, "hold_left_ms": msf(hold), "storm_floor_ms": msf(storm), "floor_ms": msf(floor),
		"whole_storm_floor_ms": msf(whole), "converged_ms": msf(took), "duplicates": dups, "after_restart": writesSince(st, restart, cut),
		"streaming_ins_created": len(st.Created), "lab_duplicates": lab.Duplicates(st),
		"converged_after_settle": settled == "", "settle_diff": settled,
		"bare_round_trip_ms": msf(bare), "ratio_vs_bare_round_trip": float64(took) / float64(hold+work.floor(crashConcurrency, bare, o.Hold)),
		"floor_note": "remaining POST hold at the restart (last POST of the first agent created + hold - restart; its POSTs are those created " +
			"up to one RT after the kill) plus the storm floor " +
			"of the calls left at the kill: (rooms + patches) x RT + POSTs x (RT + hold), over the concurrency",
	})
	return nil
}

// writeCrashFiles writes the crash scenario's policy and agent.yaml (with
// owt.pending_hold and a state file of its own) into dir.
func writeCrashFiles(dir string, f *fakes, hookAddr, metricsAddr string, pendingHold time.Duration) (string, error) {
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(fmt.Sprintf(benchPolicy, crashInterval, crashConcurrency)), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", policyFile, err)
	}
	l := &lab.Lab{OWTURL: f.OWTURL, SRSURL: f.SRSURL}
	yaml := l.AgentYAML(hookAddr, metricsAddr, filepath.Join(dir, "state.json"), policyFile)
	const keyLine = "  service_key_env: OWT_SERVICE_KEY\n"
	if !strings.Contains(yaml, keyLine) {
		return "", fmt.Errorf("lab agent.yaml has no %q line to add pending_hold after", strings.TrimSpace(keyLine))
	}
	yaml = strings.Replace(yaml, keyLine, keyLine+"  pending_hold: "+pendingHold.String()+"\n", 1)
	agentFile := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(agentFile, []byte(yaml), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", agentFile, err)
	}
	return agentFile, nil
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
