//go:build chaos

package e2e

import (
	"fmt"
	"testing"
)

// fullScheduleScale is the long mode of `make chaos`: hundreds of longer
// schedules over up to 20 streams.
func fullScheduleScale() scheduleScale {
	return scheduleScale{Schedules: 200, Steps: 40, MinStreams: 6, MaxStreams: 20}
}

// TestScheduleFull runs the long mode (`make chaos`, honouring $SEED) and
// prints the summary line, which starts with "SCHEDULES:".
func TestScheduleFull(t *testing.T) {
	tally := runSchedules(t, fullScheduleScale(), "go test -tags chaos -count=1 -timeout 60m -run 'TestScheduleFull$' ./e2e (or make chaos)")
	fmt.Println(tally.summary())
}
