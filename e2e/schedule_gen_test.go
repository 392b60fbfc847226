package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// A schedule is a list of operations generated from one seed: the same seed
// always gives the same operations, in the same order, with the same
// parameters (wall-clock timing of course varies from run to run).

// stepKind is what one operation of a schedule does.
type stepKind int

const (
	stepPublish        stepKind = iota // publish on fake-srs (Silent: the hook is lost)
	stepUnpublish                      // unpublish on fake-srs (Silent: the hook is lost)
	stepRepublish                      // unpublish then publish again at once, both with hooks
	stepSleep                          // let the agent work for D
	stepLatency                        // OWT round trip D plus jitter in [0, Jitter)
	stepErrors                         // OWT answers Rate of Route's calls with 500/1301, drops Drop of them
	stepHold                           // OWT holds each streaming-in POST for D (the stream is hidden meanwhile)
	stepRoomReplyDelay                 // OWT creates rooms at once but answers D later
	stepClearFaults                    // every OWT fault off
	stepKill                           // after D, SIGKILL the agent and start it again on the same files
	stepSecondWriter                   // `sync --once` on the same agent.yaml while `run` runs
)

// schedStream is one SRS stream of a schedule (default vhost).
type schedStream struct{ App, Stream string }

// Name is "app/stream", as lab.Want spells it.
func (s schedStream) Name() string { return s.App + "/" + s.Stream }

// step is one operation of a schedule.
type step struct {
	Kind   stepKind
	Stream schedStream
	Silent bool
	D      time.Duration
	Jitter time.Duration
	Rate   float64
	Drop   float64
	Route  string // fake-owt route name; "" = all routes
}

// String is the step as it appears in a failure's step log.
func (s step) String() string {
	hook := "with hook"
	if s.Silent {
		hook = "hook LOST"
	}
	switch s.Kind {
	case stepPublish:
		return fmt.Sprintf("publish %s (%s)", s.Stream.Name(), hook)
	case stepUnpublish:
		return fmt.Sprintf("unpublish %s (%s)", s.Stream.Name(), hook)
	case stepRepublish:
		return fmt.Sprintf("republish %s (unpublish + publish, with hooks)", s.Stream.Name())
	case stepSleep:
		return fmt.Sprintf("sleep %s", s.D)
	case stepLatency:
		return fmt.Sprintf("OWT latency %s jitter %s", s.D, s.Jitter)
	case stepErrors:
		route := s.Route
		if route == "" {
			route = "all routes"
		}
		return fmt.Sprintf("OWT error_rate %.2f drop_rate %.2f on %s", s.Rate, s.Drop, route)
	case stepHold:
		return fmt.Sprintf("OWT holds streaming-in POSTs %s", s.D)
	case stepRoomReplyDelay:
		return fmt.Sprintf("OWT answers room creations %s late (room created at once)", s.D)
	case stepClearFaults:
		return "OWT faults cleared"
	case stepKill:
		return fmt.Sprintf("after %s SIGKILL the agent, restart it", s.D)
	case stepSecondWriter:
		return "second writer: sync --once on the same agent.yaml"
	}
	return fmt.Sprintf("step kind %d", s.Kind)
}

// schedule is the generated plan of one run.
type schedule struct {
	Seed    int64
	Streams []schedStream
	Steps   []step
}

// String lists the schedule, one step a line (the determinism test compares it).
func (s schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, streams", s.Seed)
	for _, st := range s.Streams {
		b.WriteString(" " + st.Name())
	}
	b.WriteByte('\n')
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "#%02d %s\n", i, st)
	}
	return b.String()
}

// scheduleSeed derives schedule i's own seed from the master seed (splitmix64).
func scheduleSeed(master int64, i int) int64 {
	z := uint64(master) + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z >> 1) // positive, easy to paste
}

// genSchedule draws a schedule of n steps over minStreams..maxStreams streams.
// Publishes pick streams that are not live and unpublishes live ones, so
// SRS never refuses an operation as busy or unknown.
func genSchedule(seed int64, n, minStreams, maxStreams int) schedule {
	// How often each kind of step is drawn.
	stepWeights := [...]struct {
		kind   stepKind
		weight int
	}{
		{stepPublish, 24}, {stepUnpublish, 16}, {stepRepublish, 7}, {stepSleep, 16},
		{stepLatency, 4}, {stepErrors, 5}, {stepHold, 6}, {stepRoomReplyDelay, 5},
		{stepClearFaults, 6}, {stepKill, 6}, {stepSecondWriter, 3},
	}
	// The routes a stepErrors may single out ("" = all).
	errorRoutes := [...]string{"", "", "", "start_streaming_in", "create_room", "delete_room", "stop_streaming_in", "patch_stream", "list_streams"}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5c4ed01e))
	s := schedule{Seed: seed, Streams: genStreams(r, minStreams+r.IntN(maxStreams-minStreams+1))}
	live := make([]bool, len(s.Streams))
	pick := func(want bool) (int, bool) {
		var idx []int
		for i, l := range live {
			if l == want {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return 0, false
		}
		return idx[r.IntN(len(idx))], true
	}
	total := 0
	for _, w := range stepWeights {
		total += w.weight
	}
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * time.Millisecond }
	for len(s.Steps) < n {
		x := r.IntN(total)
		kind := stepWeights[0].kind
		for _, w := range stepWeights {
			if x < w.weight {
				kind = w.kind
				break
			}
			x -= w.weight
		}
		st := step{Kind: kind}
		switch kind {
		case stepPublish:
			i, ok := pick(false)
			if !ok {
				continue
			}
			st.Stream, st.Silent = s.Streams[i], r.IntN(4) == 0
			_, allowed := schedRoute(st.Stream)
			live[i] = st.Silent || allowed // SRS refuses a denied publish that has its hook
		case stepUnpublish, stepRepublish:
			i, ok := pick(true)
			if !ok {
				continue
			}
			st.Stream = s.Streams[i]
			_, allowed := schedRoute(st.Stream)
			if kind == stepUnpublish {
				st.Silent, live[i] = r.IntN(4) == 0, false
			} else {
				live[i] = allowed
			}
		case stepSleep:
			st.D = ms(20, 700)
		case stepLatency:
			st.D, st.Jitter = ms(0, 60), ms(0, 100)
		case stepErrors:
			st.Rate = []float64{0.1, 0.2, 0.3, 0.5}[r.IntN(4)]
			st.Drop = []float64{0, 0.05, 0.1, 0.2}[r.IntN(4)]
			st.Route = errorRoutes[r.IntN(len(errorRoutes))]
		case stepHold:
			st.D = ms(200, 1500)
		case stepRoomReplyDelay:
			st.D = ms(100, 2500)
		case stepKill:
			st.D = []time.Duration{0, ms(0, 60), ms(0, 400), ms(100, 1200)}[r.IntN(4)]
		}
		s.Steps = append(s.Steps, st)
	}
	return s
}

// genStreams returns n streams (n >= 6): one of each special kind (denied,
// ignored, into the foreign rooms wall and lobby), then a mix of rooms of
// their own (app live), a shared room (app g0) and more foreign-room streams.
func genStreams(r *rand.Rand, n int) []schedStream {
	out := []schedStream{{"private", "p0"}, {"other", "x0"}, {"wall", "w0"}, {"lobby", "l0"}, {"live", "a0"}, {"g0", "b0"}}
	for i := len(out); i < n; i++ {
		app := []string{"live", "live", "live", "live", "g0", "g0", "g0", "wall", "lobby", "private"}[r.IntN(10)]
		out = append(out, schedStream{App: app, Stream: fmt.Sprintf("s%02d", i)})
	}
	return out
}

// schedRoute is the room of the schedule policy for s ("" = not routed),
// and whether the policy allows its publish.
func schedRoute(s schedStream) (room string, allowed bool) {
	switch s.App {
	case "private":
		return "", false
	case "wall", "lobby", "g0":
		return s.App, true
	case "live":
		return "live-" + s.Stream, true
	}
	return "", true
}
