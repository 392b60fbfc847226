package main

import (
	"context"
	"fmt"
	"time"
)

// benchView measures the time from on_publish to the stream being in view,
// for a room the agent creates (floor 3 round trips) and for a room that
// already exists (floor 2).
func benchView(ctx context.Context, sc scale, rt time.Duration, rep *report) error {
	e, err := newEnv(ctx, envConfig{})
	if err != nil {
		return err
	}
	defer e.close()
	for i := 0; i < sc.ViewRepeats; i++ {
		name := fmt.Sprintf("existing-%d", i)
		if err := e.Fakes.createRoom(ctx, name, []string{view}); err != nil {
			return fmt.Errorf("publish-to-view: room %s: %w", name, err)
		}
	}
	if err := e.start(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("publish-to-view: agent start: %w", err)
	}
	if err := e.setLatency(ctx, rt); err != nil {
		return fmt.Errorf("publish-to-view: %w", err)
	}
	measure := func(app string) (time.Duration, error) {
		start := time.Now()
		if err := e.Fakes.publish(ctx, app, "s", false); err != nil {
			return 0, fmt.Errorf("publish %s/s: %w", app, err)
		}
		if _, err := waitFor(ctx, 20*rt+5*time.Second, 2*time.Millisecond, func() string {
			st, err := e.Fakes.dump(ctx)
			if err != nil {
				return err.Error()
			}
			if inView(st, app, app+"/s") {
				return ""
			}
			return app + "/s not in view yet"
		}); err != nil {
			return 0, err
		}
		took := time.Since(start)
		return took, e.waitIdle(ctx, 20*rt+5*time.Second)
	}
	var newRoom, existing []time.Duration
	for i := 0; i < sc.ViewRepeats; i++ {
		d, err := measure(fmt.Sprintf("new-%d", i))
		if err != nil {
			return fmt.Errorf("publish-to-view, new room: %w", err)
		}
		newRoom = append(newRoom, d)
		if d, err = measure(fmt.Sprintf("existing-%d", i)); err != nil {
			return fmt.Errorf("publish-to-view, existing room: %w", err)
		}
		existing = append(existing, d)
	}
	st, err := e.Fakes.dump(ctx)
	if err != nil {
		return fmt.Errorf("publish-to-view: %w", err)
	}
	bare, err := e.bareRoundTrip(ctx, anyRoomID(st), 5)
	if err != nil {
		return fmt.Errorf("publish-to-view: %w", err)
	}
	vsBare := map[string]float64{}
	for _, c := range []struct {
		key   string
		trips int
		d     []time.Duration
	}{{"publish_to_view_new_room_ratio", 3, newRoom}, {"publish_to_view_existing_room_ratio", 2, existing}} {
		floor := time.Duration(c.trips) * rt
		m := median(c.d)
		ratio := float64(m) / float64(floor)
		vsBare[c.key] = float64(m) / float64(time.Duration(c.trips)*bare)
		rep.add(figure{Key: c.key, Kind: kindRatio, RT: rt.String(), Floor: fmt.Sprintf("%d RT = %s", c.trips, ms(floor)),
			Measured: "median " + ms(m), Value: ratio, Target: "<= 1.2", Met: ratio <= 1.2})
	}
	rep.detail("publish_to_view", map[string]any{"round_trip_ms": msf(rt), "repeats": sc.ViewRepeats,
		"new_room_ms": msList(newRoom), "existing_room_ms": msList(existing),
		"bare_round_trip_ms": msf(bare), "ratio_vs_bare_round_trip": vsBare,
		"bare_round_trip_note": "mean of 5 sequential signed OWT calls to the fake with the injected RT, no agent involved"})
	return nil
}

func msList(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = msf(x)
	}
	return out
}
