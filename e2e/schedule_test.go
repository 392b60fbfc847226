package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Randomized schedules (FoundationDB / Jepsen style): each schedule draws,
// from its own seed, a list of publishes, unpublishes, republishes, lost
// hooks, OWT faults (latency and jitter, 5xx and dropped connections, held
// streaming-in POSTs, room creations answered late), SIGKILLs of the agent
// and second writers, runs it against the built agent and fresh fakes, then
// clears the faults and checks the invariants (schedule_check_test.go).
//
//	SEED=42 go test -count=1 -run 'TestSchedule$' ./e2e            # the short mode of `make test`
//	SEED=42 make chaos                                             # hundreds of schedules
//	SCHEDULE_SEED=1234 go test -count=1 -run 'TestSchedule$' ./e2e # one schedule again
//	SCHEDULES=100 go test -count=1 -run 'TestSchedule$' ./e2e      # more of them

// scheduleScale sizes a run of schedules.
type scheduleScale struct {
	Schedules  int // schedules drawn from the master seed
	Steps      int // operations per schedule
	MinStreams int // SRS streams per schedule, at least 6
	MaxStreams int
}

// shortScheduleScale keeps `make test` around two minutes of wall time for
// this test on a 2-core machine (schedules run two at a time).
func shortScheduleScale() scheduleScale {
	return scheduleScale{Schedules: 24, Steps: 24, MinStreams: 6, MaxStreams: 12}
}

// masterSeed is $SEED, or the clock when it is not set.
func masterSeed(t *testing.T) int64 {
	if s := os.Getenv("SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SEED=%q is not an integer", s)
		}
		return v
	}
	return time.Now().UnixNano() & (1<<62 - 1)
}

// scheduleTally counts schedules for the summary line.
type scheduleTally struct {
	master      int64
	mu          sync.Mutex
	ran, failed int
	seeds       []string // failed schedules' seeds
}

// summary is the line `make chaos` shows: "SCHEDULES: N ran, K failed, seed S".
func (t *scheduleTally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := fmt.Sprintf("SCHEDULES: %d ran, %d failed, seed %d", t.ran, t.failed, t.master)
	if len(t.seeds) > 0 {
		s += " (failed schedule seeds: " + strings.Join(t.seeds, " ") + ")"
	}
	return s
}

// runSchedules runs the scale's schedules, two at a time (the default
// -parallel on two cores), each with its own fakes and agent. $SCHEDULES
// overrides their number; with $SCHEDULE_SEED set, only that schedule runs.
func runSchedules(t *testing.T, sc scheduleScale, rerun string) *scheduleTally {
	return runSchedulesMode(t, sc, false, rerun)
}

// runSchedulesMode runs the schedules with one agent, or with replicas on
// etcd when ha is set.
func runSchedulesMode(t *testing.T, sc scheduleScale, ha bool, rerun string) *scheduleTally {
	master := masterSeed(t)
	t.Logf("master seed %d (rerun with SEED=%d %s)", master, master, rerun)
	if s := os.Getenv("SCHEDULES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SCHEDULES=%q is not a positive integer", s)
		}
		sc.Schedules = n
	}
	seeds := make([]int64, sc.Schedules)
	for i := range seeds {
		seeds[i] = scheduleSeed(master, i)
	}
	if s := os.Getenv("SCHEDULE_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SCHEDULE_SEED=%q is not an integer", s)
		}
		seeds = []int64{v}
	}
	tally := &scheduleTally{master: master}
	t.Run("group", func(t *testing.T) {
		for i, seed := range seeds {
			t.Run(fmt.Sprintf("%03d_seed_%d", i, seed), func(t *testing.T) {
				t.Parallel()
				failed := !runOneSchedule(t, genSchedule(seed, sc.Steps, sc.MinStreams, sc.MaxStreams), master, ha, rerun)
				tally.mu.Lock()
				defer tally.mu.Unlock()
				tally.ran++
				if failed {
					tally.failed++
					tally.seeds = append(tally.seeds, strconv.FormatInt(seed, 10))
				}
			})
		}
	})
	if tally.failed > 0 {
		t.Errorf("%d of %d schedules broke an invariant; master seed %d: rerun with SEED=%d %s",
			tally.failed, tally.ran, master, master, rerun)
	}
	return tally
}

// runOneSchedule executes one schedule and checks every invariant; it
// reports whether all held.
func runOneSchedule(t *testing.T, sched schedule, master int64, ha bool, rerun string) bool {
	r := newScheduleRun(t, sched, ha)
	r.run()
	r.quiesce()
	problems := r.verdict()
	if len(problems) == 0 && !t.Failed() {
		t.Logf("schedule seed %d held every invariant; steps:\n  %s", sched.Seed, strings.Join(r.log, "\n  "))
		return true
	}
	t.Errorf("schedule seed %d (master seed %d) broke %d invariant(s):\n  %s\nrerun this schedule: SCHEDULE_SEED=%d %s\nrerun them all: SEED=%d %s\nstreams: %v\nsteps:\n  %s",
		sched.Seed, master, len(problems), strings.Join(problems, "\n  "), sched.Seed, rerun, master, rerun,
		sched.Streams, strings.Join(r.log, "\n  "))
	return false
}

// TestSchedule runs tens of random schedules (the short mode; `make chaos`
// runs hundreds).
func TestSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end schedules skipped in -short")
	}
	began := time.Now()
	tally := runSchedules(t, shortScheduleScale(), "go test -count=1 -run 'TestSchedule$' ./e2e")
	t.Logf("%s in %s", tally.summary(), time.Since(began).Round(time.Second))
}

// TestScheduleDeterministic: one seed, one schedule; another seed, another.
func TestScheduleDeterministic(t *testing.T) {
	for _, seed := range []int64{1, 42, scheduleSeed(7, 3)} {
		a, b := genSchedule(seed, 40, 6, 20), genSchedule(seed, 40, 6, 20)
		if a.String() != b.String() {
			t.Fatalf("seed %d gave two schedules:\n%s\n%s", seed, a, b)
		}
		if c := genSchedule(seed+1, 40, 6, 20); c.String() == a.String() {
			t.Fatalf("seeds %d and %d gave the same schedule", seed, seed+1)
		}
	}
	if scheduleSeed(5, 0) == scheduleSeed(5, 1) || scheduleSeed(5, 0) == scheduleSeed(6, 0) {
		t.Fatal("schedule seeds collide")
	}
}
