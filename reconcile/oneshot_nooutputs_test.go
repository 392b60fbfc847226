package reconcile_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// sync --once of a room that declares no output, with an OWT client that
// can do outputs: the results are the input ops alone, every one applied;
// the output pass that found nothing to do adds no result.
func TestOneShotApplyRoomWithoutOutputs(t *testing.T) {
	l, err := lab.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	pol, err := policy.ParsePolicy("policy.yaml", []byte(outputsPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	owt, err := owtapi.New(owtapi.Config{URL: l.OWTURL, ServiceID: lab.ServiceID, ServiceKey: lab.ServiceKey})
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := reconcile.OpenJournal(ctx, f, "test-agent")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close(ctx)
	o := &reconcile.OneShot{Agent: "test-agent", OWT: owt, Journal: j, Policy: pol,
		Servers: []reconcile.SRSServer{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Client: srsapi.NewClient(srsapi.Config{Name: "origin", BaseURL: l.SRSURL})}}}
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
