package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// listCountingOWT counts output listings and fails them.
type listCountingOWT struct {
	stopOWT
	lists int
}

func (c *listCountingOWT) ListStreamingOuts(context.Context, string) ([]owtapi.StreamingOut, error) {
	c.lists++
	return nil, errors.New("listing outputs of a room that has none to look after")
}

func (c *listCountingOWT) ListRecordings(context.Context, string) ([]owtapi.Recording, error) {
	c.lists++
	return nil, errors.New("listing recordings of a room that has none to look after")
}

// A room with no declared output, no output record and no open output
// intent costs no OWT call (rooms without outputs are the common case).
func TestOutputRunQuietWithoutOutputs(t *testing.T) {
	owt := &listCountingOWT{}
	r := &OutputRunner{OWT: owt, Journal: testJournal(t), Log: slog.New(slog.DiscardHandler)}
	for _, apply := range []bool{false, true} {
		pass, err := r.Run(context.Background(), &ObservedRoom{Name: "r", ID: "1", Exists: true}, nil, true, apply)
		if err != nil || len(pass.Ops) != 0 || len(pass.Results) != 0 || pass.Recheck != 0 || owt.lists != 0 {
			t.Errorf("apply %v: %+v %v after %d listing(s), want nothing", apply, pass, err, owt.lists)
		}
	}
}

// An output start held because an earlier POST may still create it is
// looked at again in a second (not at once: its hold has no time left to
// wait for).
func TestOutputRunRecheckOfAPendingStart(t *testing.T) {
	j := testJournal(t)
	d := policy.Output{View: "common", URL: "rtmp://x/r", Protocol: "rtmp"}
	if err := j.Begin(context.Background(), Intent{ID: "i1", Kind: IntentOutput, Room: "r", Op: d.Key(), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := &OutputRunner{OWT: &stopOWT{}, Journal: j, Log: slog.New(slog.DiscardHandler)}
	pass, err := r.Run(context.Background(), &ObservedRoom{Name: "r", ID: "1", Exists: true}, []policy.Output{d}, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Ops) != 1 || pass.Ops[0].Rule != RuleOutputPending || pass.Recheck != time.Second {
		t.Errorf("ops %+v, recheck %v; want the start held as %s and a recheck in 1s", pass.Ops, pass.Recheck, RuleOutputPending)
	}
}
