package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// chaosScale sizes the fault suite: small in `make test`, full in `make chaos`.
type chaosScale struct {
	Streams      int           // live streams of the storm and wipe scenarios
	Small        int           // live streams of the other scenarios
	Hostile      int           // hostile hooks of scenario 8
	RealHooks    int           // real publishes mixed with them
	Flap         time.Duration // how long scenario 9's stream flaps
	HoldDelay    time.Duration // how long OWT holds a streaming-in POST (scenario 2)
	HoldStreams  int           // streams published while OWT holds POSTs
	Interval     time.Duration // resync interval of most scenarios
	BigInterval  time.Duration // resync interval of the storm and wipe scenarios
	FaultFor     time.Duration // how long OWT's errors and drops last (scenario 1)
	StormLatency time.Duration // OWT round trip during the storm (scenario 5)
}

// shortScale runs every scenario in well under a minute (`make test`).
func shortScale() chaosScale {
	return chaosScale{Streams: 20, Small: 12, Hostile: 500, RealHooks: 20, Flap: 2 * time.Second,
		HoldDelay: 2 * time.Second, HoldStreams: 6, Interval: time.Second, BigInterval: time.Second,
		FaultFor: 2 * time.Second, StormLatency: 20 * time.Millisecond}
}

// chaosTally adds up the scenarios' results for the summary line.
type chaosTally struct {
	mu                       sync.Mutex
	passed, total            int
	dups, wrongful, rejected int
	worst                    time.Duration
	worstName                string
	late                     bool
}

func (t *chaosTally) add(name string, ok bool, c *chaosRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	if ok {
		t.passed++
	}
	if c == nil {
		return
	}
	t.dups += c.dups
	t.wrongful += c.wrongful
	t.rejected += int(c.rejected.Load())
	if c.converged > t.worst || (c.late && !t.late) {
		t.worst, t.worstName, t.late = c.converged, name, c.late
	}
}

// Summary is the one line `make chaos` ends with.
func (t *chaosTally) Summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	worst := t.worst.Round(100 * time.Millisecond).String()
	if t.late {
		worst = "over " + worst + ", not converged"
	}
	return fmt.Sprintf("CHAOS: %d/%d scenarios passed, %d duplicates, %d wrongful deletes, %d rejected publishes, worst convergence %s (%s)",
		t.passed, t.total, t.dups, t.wrongful, t.rejected, worst, t.worstName)
}

// chaosScenario is one fault of the suite: the agent's resync interval
// and delete grace for it, and what it does to the running system.
type chaosScenario struct {
	name     string
	big      bool          // uses chaosScale.BigInterval
	interval time.Duration // overrides the scale's resync interval
	grace    time.Duration // policy delete_grace
	body     func(c *chaosRun)
}

// chaosScenarios lists the suite in the order.
func chaosScenarios() []chaosScenario {
	return []chaosScenario{
		{"1_owt_errors_drops_jitter", false, 0, time.Second, scenarioOWTErrors},
		{"2_owt_holds_streaming_in", false, 200 * time.Millisecond, time.Second, scenarioOWTHold},
		{"3_srs_api_down", false, 0, time.Second, scenarioSRSDown},
		{"4_srs_restarted", false, 0, 2 * time.Second, scenarioSRSRestart},
		{"5_agent_killed_mid_storm", true, 0, time.Second, scenarioAgentKilled},
		{"6_owt_wiped", true, 0, time.Second, scenarioOWTWiped},
		{"7_policy_garbage_then_new", false, 0, time.Second, scenarioPolicyGarbage},
		{"8_hostile_hooks", false, 0, time.Second, scenarioHostileHooks},
		{"9_flapping_stream", false, 0, time.Second, scenarioFlapping},
	}
}

// runChaos runs every scenario as a subtest at the given scale; each ends
// with the contract's checks (chaosRun.finish), also after a fatal error.
func runChaos(t *testing.T, s chaosScale) *chaosTally {
	tally := &chaosTally{}
	for _, sc := range chaosScenarios() {
		var c *chaosRun
		ok := t.Run(sc.name, func(t *testing.T) {
			interval := s.Interval
			if sc.big {
				interval = s.BigInterval
			}
			if sc.interval != 0 {
				interval = sc.interval
			}
			c = newChaosRun(t, s, interval, sc.grace)
			defer c.finish()
			sc.body(c)
		})
		if ok && c == nil {
			continue // not selected by -run
		}
		tally.add(sc.name, ok, c)
	}
	return tally
}

// TestChaosShort runs the fault suite at a small scale (see `make chaos`
// for the full one).
func TestChaosShort(t *testing.T) {
	tally := runChaos(t, shortScale())
	t.Log(tally.Summary())
}
