package agent

import (
	"fmt"
	"time"
)

// stuckGrace is added to five resync intervals before the reconcile loop
// counts as stuck: a resync of many rooms against a slow OWT is legitimate.
const stuckGrace = 2 * time.Minute

// stuck is the liveness check: "" while the reconcile loop of the engine
// this process runs goes round, else why it is stuck. A follower runs no
// loop and is never stuck; readiness, not liveness, covers the hooks.
func (a *Agent) stuck(now time.Time) string {
	e := a.Engine()
	if e == nil {
		return ""
	}
	last, interval := e.Heartbeat()
	if last.IsZero() {
		return ""
	}
	if age := now.Sub(last); age > 5*interval+stuckGrace {
		return fmt.Sprintf("the reconcile loop has not gone round for %s (resync interval %s); restarting the agent hands over to another replica",
			age.Round(time.Second), interval.Round(time.Second))
	}
	return ""
}

// notReady is the readiness check: "" when this replica answers hooks
// correctly (a policy loaded, the hook listener serving). It never
// depends on OWT or SRS: an outage there must not take every replica out
// of the hook Service, or SRS refuses every publish.
func (a *Agent) notReady() string {
	switch {
	case a.currentPolicy() == nil:
		return "no policy loaded"
	case !a.serving.Load():
		return "the hook listener is not serving yet"
	}
	return ""
}
