package e2e

import (
	"fmt"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// Each scenario sets the system up, applies its fault, clears it and calls
// convergeAfterFault (the "within 3 resyncs" deadline); chaosRun.finish
// then checks the rest of the contract on the fakes' history.

// scenarioOWTErrors: OWT answers 30% of calls with 500/1301 and drops 10%
// of connections, with latency jitter, while streams come and go.
func scenarioOWTErrors(c *chaosRun) {
	base := chaosStreams("s", c.scale.Small)
	c.publishAll(base)
	c.settle(20 * time.Second)

	c.owtFault(map[string]any{"error_rate": map[string]float64{"": 0.3}, "drop_rate": map[string]float64{"": 0.1},
		"latency_ms": 5, "jitter_ms": 30})
	end := time.Now().Add(c.scale.FaultFor)
	c.publishAll(chaosStreams("n", c.scale.Streams))
	for i := 0; i < len(base); i += 3 {
		c.unpublish(base[i])
	}
	time.Sleep(time.Until(end))
	c.owtFault(map[string]any{"error_rate": map[string]float64{"": 0}, "drop_rate": map[string]float64{"": 0},
		"latency_ms": 0, "jitter_ms": 0})
	c.convergeAfterFault()
}

// scenarioOWTHold: OWT holds each streaming-in POST (hidden from lists
// meanwhile) while a resync runs every 200 ms (the scenario's interval).
func scenarioOWTHold(c *chaosRun) {
	c.publishAll(chaosStreams("s", c.scale.Small))
	c.settle(20 * time.Second)

	c.owtFault(map[string]any{"streaming_in_delay_ms": c.scale.HoldDelay.Milliseconds()})
	held := []chaosStream{{"g0", "h-shared-0"}, {"g0", "h-shared-1"}}
	for i := 0; i < c.scale.HoldStreams; i++ {
		held = append(held, chaosStream{"live", fmt.Sprintf("h%03d", i)})
	}
	c.publishAll(held)
	// Every held POST is answered: two rounds of the agent's 8 workers plus
	// the shared room's two POSTs one after the other, with slack.
	within := time.Duration(c.scale.HoldStreams/8+4)*c.scale.HoldDelay + 10*time.Second
	w := c.want()
	if _, err := lab.WaitFor(t0(), within, func() string { return lab.Check(c.owtState(), w) }); err != nil {
		c.t.Fatalf("while OWT holds streaming-in POSTs for %s: %v", c.scale.HoldDelay, err)
	}
	c.owtFault(map[string]any{"streaming_in_delay_ms": 0})
	c.convergeAfterFault()
}

// scenarioSRSDown: the SRS API is down for three resyncs, while streams
// are published and unpublished (hooks still arrive), then back.
func scenarioSRSDown(c *chaosRun) {
	base := chaosStreams("s", c.scale.Small)
	c.publishAll(base)
	c.settle(20 * time.Second)

	c.post(c.srsURL+"/control/fault", map[string]any{"down": true})
	end := time.Now().Add(3 * c.interval * 11 / 10)
	c.publishAll([]chaosStream{{"live", "during-down"}, {"g0", "during-down"}})
	for _, s := range base[:3] {
		c.unpublish(s)
	}
	time.Sleep(time.Until(end))
	c.post(c.srsURL+"/control/fault", map[string]any{"down": false})
	c.convergeAfterFault()
	// The streams unpublished meanwhile were stopped through the API, and
	// the fake recorded their pull URLs: the wrongful-stop check matches.
	stopped := map[string]bool{}
	for _, d := range c.owtState().Deleted {
		if d.Kind == "stream" && d.Reason == owtfake.ReasonAPI {
			stopped[d.URL] = true
		}
	}
	for _, s := range base[:3] {
		if !stopped[pullURL(s)] {
			c.t.Errorf("unpublished %s: no API stop of %s recorded", s.Name(), pullURL(s))
		}
	}
}

// scenarioSRSRestart: SRS restarts (new service id, new vhost ids, every
// stream gone without a hook) and the encoders publish again.
func scenarioSRSRestart(c *chaosRun) {
	base := chaosStreams("s", c.scale.Small)
	c.publishAll(base)
	c.settle(20 * time.Second)

	c.post(c.srsURL+"/control/restart", map[string]any{})
	c.publishAll(base)
	c.convergeAfterFault()
}

// scenarioAgentKilled: the agent is SIGKILLed while it works through a
// storm of published streams, then started again on the same state file.
func scenarioAgentKilled(c *chaosRun) {
	c.owtFault(map[string]any{"latency_ms": c.scale.StormLatency.Milliseconds()})
	storm := chaosStreams("s", c.scale.Streams)
	c.publishAll(storm)
	if _, err := lab.WaitFor(t0(), 30*time.Second, func() string {
		if n := c.counts()["start_streaming_in"]; n < len(storm)/3 {
			return fmt.Sprintf("%d of %d streaming-ins started", n, len(storm))
		}
		return ""
	}); err != nil {
		c.t.Fatalf("storm: %v", err)
	}
	_ = c.agent.cmd.Process.Kill()
	<-c.agent.done
	c.t.Logf("agent killed after %d streaming-in POSTs", c.counts()["start_streaming_in"])
	c.agent = c.startAgent()
	c.convergeAfterFault()
}

// scenarioOWTWiped: OWT restarts empty with every stream live; the other
// tool re-creates its own room.
func scenarioOWTWiped(c *chaosRun) {
	c.publishAll(chaosStreams("s", c.scale.Streams))
	c.settle(60 * time.Second)

	c.post(c.owtURL+"/control/wipe", map[string]any{})
	c.addForeign()
	c.convergeAfterFault()
}

// scenarioPolicyGarbage: the policy file is replaced by garbage (the old
// policy stays in force), then by a valid policy that moves the g0 streams
// and routes app extra.
func scenarioPolicyGarbage(c *chaosRun) {
	streams := append(chaosStreams("s", c.scale.Small), chaosStream{"extra", "x0"}, chaosStream{"extra", "x1"})
	c.publishAll(streams)
	c.settle(20 * time.Second)

	c.writePolicy("routes: [ {match: {app: live}, room: ") // garbage
	if _, err := lab.WaitFor(t0(), 5*time.Second, func() string {
		if v := c.metric(`srs_owt_proxy_policy_reloads_total{result="error"}`); v == "" || v == "0" {
			return "no failed policy reload counted yet"
		}
		return ""
	}); err != nil {
		c.t.Fatal(err)
	}
	c.publish(chaosStream{"live", "during-garbage"})
	time.Sleep(c.interval)
	c.settle(c.threeResyncs())

	c.setRoute(routeB)
	c.writePolicy(chaosPolicy(c.interval, c.grace, true))
	c.convergeAfterFault()
}

// scenarioHostileHooks: a flood of hostile hooks, each of which must get
// its 4xx, mixed with real publishes, each of which must be accepted.
func scenarioHostileHooks(c *chaosRun) {
	real := chaosStreams("s", c.scale.RealHooks)
	var res *hostileResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		res = c.sendHostile(c.scale.Hostile)
	}()
	c.publishAll(real)
	<-done
	for _, p := range res.problems() {
		c.t.Errorf("hostile hooks: %s", p)
	}
	c.t.Logf("hostile hooks sent: %v", res.sent)
	c.convergeAfterFault()
}

// scenarioFlapping: one stream is published and unpublished every 300 ms
// while the others stay live; it ends published.
func scenarioFlapping(c *chaosRun) {
	c.publishAll(chaosStreams("s", c.scale.Small))
	c.settle(20 * time.Second)

	flap := chaosStream{"live", "flap"}
	end := time.Now().Add(c.scale.Flap)
	up := false
	for tick := time.Now(); time.Now().Before(end) || !up; tick = tick.Add(300 * time.Millisecond) {
		time.Sleep(time.Until(tick))
		if up {
			c.unpublish(flap)
		} else {
			c.publish(flap)
		}
		up = !up
	}
	c.convergeAfterFault()
}
