package reconcile_test

import (
	"context"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// sync --once of a room that declares no output, with an OWT client that
// can do outputs: the results are the input ops alone, every one applied;
// the output pass that found nothing to do adds no result.
func TestOneShotApplyRoomWithoutOutputs(t *testing.T) {
	l, o := labOneShot(t, outputsPolicy)
	ctx := context.Background()
	if _, _, err := l.SRS.Publish(ctx, "__defaultVhost__", "other", "cam", ""); err != nil {
		t.Fatal(err)
	}
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results, err := o.Apply(ctx, plan, ob)
	if err != nil {
		t.Fatal(err)
	}
	planned := 0
	for _, rp := range plan.Rooms {
		planned += len(rp.Ops)
	}
	if len(results) != planned || planned == 0 {
		t.Errorf("%d results for %d planned ops", len(results), planned)
	}
	for _, r := range results {
		if r.Err != nil || r.Outcome == "failed" || r.Op.Kind == reconcile.OpStartOutput || r.Op.Kind == reconcile.OpStopOutput {
			t.Errorf("result %s %s: %s %v", r.Op.Kind, r.Op.Room, r.Outcome, r.Err)
		}
	}
}
