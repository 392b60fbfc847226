package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// benchDrift wipes OWT under sc.DriftStreams live streams and times the
// repair. The figure is the worst phase: the wipe lands just after a resync
// has finished, so the repair waits a whole interval. A wipe at a random
// phase is measured too and reported in the details.
func benchDrift(ctx context.Context, sc scale, rt, interval time.Duration, rep *report) error {
	e, err := newEnv(ctx, envConfig{Interval: interval})
	if err != nil {
		return err
	}
	defer e.close()
	perRoom := sc.DriftStreams / sc.DriftRooms
	w, err := e.publishSilently(ctx, "drift", sc.DriftRooms, perRoom)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if err := e.start(ctx, 2*time.Minute); err != nil {
		return fmt.Errorf("drift: agent start: %w", err)
	}
	if _, err := e.converged(ctx, w, sc.DriftStreams, 2*time.Minute, 50*time.Millisecond); err != nil {
		return fmt.Errorf("drift: building %d streams: %w", sc.DriftStreams, err)
	}
	if err := e.setLatency(ctx, rt); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	floor := interval + stormFloor(sc.DriftRooms, sc.DriftStreams, e.concurrency, rt)
	limit := 20*floor + 30*time.Second

	// Worst phase: wait for a periodic resync to start and finish, then wipe.
	a0, err := e.Fakes.activity(ctx)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	// The resync has finished once it listed the room pages and then every
	// room's streams; the wipe must come after that, or the resync's own
	// room listings would find it at once.
	n0, s0 := a0.OWT[owtfake.RouteListRooms], a0.OWT[owtfake.RouteListStreams]
	if _, err := waitFor(ctx, 3*interval, time.Millisecond, func() string {
		a, err := e.Fakes.activity(ctx)
		if err != nil {
			return err.Error()
		}
		if a.OWT[owtfake.RouteListRooms] > n0 && a.OWT[owtfake.RouteListStreams] >= s0+sc.DriftRooms {
			return ""
		}
		return "no complete periodic resync yet"
	}); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if err := e.waitIdle(ctx, limit); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	worst, worstCalls, err := wipeAndRepair(ctx, e, w, limit)
	if err != nil {
		return fmt.Errorf("drift (wipe after a resync): %w", err)
	}
	if err := e.waitIdle(ctx, limit); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	// Random phase.
	time.Sleep(time.Duration(rand.Int64N(int64(interval))))
	random, randomCalls, err := wipeAndRepair(ctx, e, w, limit)
	if err != nil {
		return fmt.Errorf("drift (wipe at a random phase): %w", err)
	}
	st, err := e.Fakes.dump(ctx)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	var anyRoom string
	if len(st.Rooms) > 0 {
		anyRoom = st.Rooms[0].ID
	}
	bare, err := e.bareRoundTrip(ctx, anyRoom, 50)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	ratio := float64(worst) / float64(floor)
	rep.add(figure{Key: "drift_repair_ratio", Kind: kindRatio, RT: rt.String(),
		Floor:    fmt.Sprintf("interval %s + storm floor %s", interval, ms(floor-interval)),
		Measured: ms(worst) + " (wipe just after a resync)", Value: ratio, Target: "<= 1.0", Met: ratio <= 1.0})
	rep.detail("drift", map[string]any{"round_trip_ms": msf(rt), "interval_ms": msf(interval), "rooms": sc.DriftRooms,
		"streams": sc.DriftStreams, "concurrency": e.concurrency, "floor_ms": msf(floor),
		"worst_phase_ms": msf(worst), "worst_phase_ratio": ratio, "worst_phase_owt_calls": worstCalls,
		"random_phase_ms": msf(random), "random_phase_ratio": float64(random) / float64(floor), "random_phase_owt_calls": randomCalls,
		"duplicates": lab.Duplicates(st), "bare_round_trip_ms": msf(bare),
		"bare_round_trip_note":                 "mean of 50 sequential signed OWT calls to the fake with the injected RT, no agent involved",
		"worst_phase_ratio_vs_bare_round_trip": float64(worst) / float64(interval+stormFloor(sc.DriftRooms, sc.DriftStreams, e.concurrency, bare))})
	return nil
}

// wipeAndRepair empties OWT, waits until w holds again and returns the
// time taken and the OWT calls made meanwhile.
func wipeAndRepair(ctx context.Context, e *env, w lab.Want, limit time.Duration) (time.Duration, map[string]int, error) {
	streams := 0
	for _, list := range w.Rooms {
		streams += len(list)
	}
	start := time.Now()
	if err := e.Fakes.wipe(ctx); err != nil {
		return 0, nil, err
	}
	if err := e.Fakes.resetCounts(ctx); err != nil {
		return 0, nil, err
	}
	if _, err := e.converged(ctx, w, streams, limit, 5*time.Millisecond); err != nil {
		return 0, nil, err
	}
	took := time.Since(start)
	a, err := e.Fakes.activity(ctx)
	if err != nil {
		return 0, nil, err
	}
	return took, a.OWT, nil
}
