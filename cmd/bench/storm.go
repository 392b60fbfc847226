package main

import (
	"context"
	"fmt"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// callsNeeded is the number of OWT writes that put streams into new rooms:
// one room creation each, and a streaming-in plus a view patch per stream.
func callsNeeded(rooms, streams int) int { return rooms + 2*streams }

// stormFloor is (calls needed / concurrency) x round trip.
func stormFloor(rooms, streams, concurrency int, rt time.Duration) time.Duration {
	return time.Duration(float64(callsNeeded(rooms, streams)) / float64(concurrency) * float64(rt))
}

// benchStorm publishes sc.StormStreams streams into sc.StormRooms new rooms
// at once, through on_publish, and times convergence.
func benchStorm(ctx context.Context, sc scale, rt time.Duration, rep *report) error {
	e, err := newEnv(ctx, envConfig{})
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.start(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("storm: agent start: %w", err)
	}
	if err := e.setLatency(ctx, rt); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	if err := e.Fakes.resetCounts(ctx); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	perRoom := sc.StormStreams / sc.StormRooms
	w := want("storm", sc.StormRooms, perRoom)
	floor := stormFloor(sc.StormRooms, sc.StormStreams, e.concurrency, rt)

	start := time.Now()
	if err := e.Fakes.publishMany(ctx, "storm", sc.StormRooms, perRoom, 256, false); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	published := time.Since(start)
	if _, err := e.converged(ctx, w, sc.StormStreams, 20*floor+30*time.Second, 5*time.Millisecond); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	took := time.Since(start)
	ratio := float64(took) / float64(floor)
	calls := callsNeeded(sc.StormRooms, sc.StormStreams)
	rep.add(figure{Key: "storm_ratio", Kind: kindRatio, RT: rt.String(),
		Floor:    fmt.Sprintf("%d calls / %d x RT = %s", calls, e.concurrency, ms(floor)),
		Measured: ms(took), Value: ratio, Target: "<= 1.5", Met: ratio <= 1.5})
	st, err := e.Fakes.dump(ctx)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	a, err := e.Fakes.activity(ctx)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	bare, err := e.bareRoundTrip(ctx, anyRoomID(st), 20)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	rep.detail("storm", map[string]any{"bare_round_trip_ms": msf(bare),
		"ratio_vs_bare_round_trip": float64(took) / float64(stormFloor(sc.StormRooms, sc.StormStreams, e.concurrency, bare)), "round_trip_ms": msf(rt), "rooms": sc.StormRooms, "streams": sc.StormStreams,
		"concurrency": e.concurrency, "calls_needed": calls, "floor_ms": msf(floor), "converged_ms": msf(took),
		"hooks_answered_ms": msf(published), "owt_calls": a.OWT, "duplicates": lab.Duplicates(st)})
	return nil
}

// owtReadsWrites splits fake OWT route counts into reads and writes.
func owtReadsWrites(c map[string]int) (reads, writes int) {
	for route, n := range c {
		switch route {
		case owtfake.RouteListRooms, owtfake.RouteGetRoom, owtfake.RouteListStreams, owtfake.RouteGetStream,
			owtfake.RouteListParticipants, owtfake.RouteGetParticipant:
			reads += n
		case owtfake.RouteCreateRoom, owtfake.RouteUpdateRoom, owtfake.RoutePatchRoom, owtfake.RouteDeleteRoom,
			owtfake.RouteStartStreamingIn, owtfake.RouteStopStreamingIn, owtfake.RoutePatchStream, owtfake.RouteDropParticipant:
			writes += n
		}
	}
	return reads, writes
}
