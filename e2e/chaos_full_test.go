//go:build chaos

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// fullScale is the scale: 300-stream storm and wipe, 10,000
// hostile hooks with 100 real publishes, a stream flapping for 10 s, OWT
// holding each streaming-in POST for 5 s.
func fullScale() chaosScale {
	return chaosScale{Streams: 300, Small: 40, Hostile: 10000, RealHooks: 100, Flap: 10 * time.Second,
		HoldDelay: 5 * time.Second, HoldStreams: 24, Interval: time.Second, BigInterval: 2 * time.Second,
		FaultFor: 10 * time.Second, StormLatency: 10 * time.Millisecond}
}

// TestChaos runs the fault suite at full scale (`make chaos`) and prints
// the summary line, which starts with "CHAOS:".
func TestChaos(t *testing.T) {
	tally := runChaos(t, fullScale())
	fmt.Println(tally.Summary())
}
