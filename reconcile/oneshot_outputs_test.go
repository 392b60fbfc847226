package reconcile_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// TestOneShotOutputs: diff shows outputs like inputs (+ output … from view
// common), sync --once starts them, the next diff is in sync, and after
// the unpublish the outputs are stopped before the room is deleted.
func TestOneShotOutputs(t *testing.T) {
	l, o := labOneShot(t, strings.Replace(outputsPolicy, "delete_grace: 100ms", "delete_grace: 0s", 1))
	ctx := context.Background()
	if _, _, err := l.SRS.Publish(ctx, "__defaultVhost__", "live", "class-1", ""); err != nil {
		t.Fatal(err)
	}
	text := func(p *reconcile.Plan) string {
		var b bytes.Buffer
		if err := p.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	plan, ob, err := o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := text(plan)
	for _, want := range []string{
		"  + output rtmp://127.0.0.1:1935/mix/class-1 from view common\n        reason: declared in the policy\n",
		"  + recording (mkv) from view common\n",
		"Plan: 4 to add, 1 to change, 0 to destroy.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
	golden(t, "plan-outputs-create.txt.golden", got)
	if _, err := o.Apply(ctx, plan, ob); err != nil {
		t.Fatal(err)
	}
	if msg := checkOutputs(l.OWT.Dump(), "class-1", []string{"rtmp://127.0.0.1:1935/mix/class-1"}, 1); msg != "" {
		t.Fatal(msg)
	}
	plan, _, err = o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(plan); got != "No changes. OWT matches SRS and the policy.\n" {
		t.Fatalf("second diff:\n%s", got)
	}
	if err := l.SRS.Unpublish(ctx, "__defaultVhost__", "live", "class-1"); err != nil {
		t.Fatal(err)
	}
	plan, ob, err = o.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = text(plan)
	out, rec, room := strings.Index(got, "  - output rtmp://127.0.0.1:1935/mix/class-1 from view common ("), strings.Index(got, "  - recording from view common ("), strings.Index(got, `  - room "class-1"`)
	if out < 0 || rec < 0 || room < out || room < rec {
		t.Fatalf("diff does not stop the outputs before deleting the room:\n%s", got)
	}
	var js bytes.Buffer
	if err := plan.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"op": "stop_output"`) || !strings.Contains(js.String(), `"url": "rtmp://127.0.0.1:1935/mix/class-1"`) {
		t.Errorf("JSON plan lacks the output stop:\n%s", js.String())
	}
	if _, err := o.Apply(ctx, plan, ob); err != nil {
		t.Fatal(err)
	}
	st := l.OWT.Dump()
	if len(st.Rooms) != 0 {
		t.Fatalf("rooms left: %+v", st.Rooms)
	}
	stopped := 0
	for _, d := range st.Deleted {
		if d.Kind == "output" {
			if d.Reason != "api" {
				t.Errorf("output %s removed by %s, not stopped by the agent", d.Stream, d.Reason)
			}
			stopped++
		}
	}
	if stopped != 2 || o.Journal.OwnedOutputs() != 0 {
		t.Fatalf("%d outputs stopped, journal owns %d", stopped, o.Journal.OwnedOutputs())
	}
}

var updateOutputs = flag.Bool("update-outputs", false, "rewrite the output plan golden files")

// golden compares got with testdata/name, or rewrites it with -update.
// labOneShot is a OneShot with a file journal against a new lab (its
// fake OWT and SRS), routing with the policy text pol.
func labOneShot(t *testing.T, pol string) (*lab.Lab, *reconcile.OneShot) {
	t.Helper()
	l, err := lab.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	ctx := context.Background()
	p, err := policy.ParsePolicy("policy.yaml", []byte(pol), nil)
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
	t.Cleanup(func() { _ = j.Close(ctx) })
	return l, &reconcile.OneShot{Agent: "test-agent", OWT: owt, Journal: j, Policy: p,
		Servers: []reconcile.SRSServer{{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Client: srsapi.NewClient(srsapi.Config{Name: "origin", BaseURL: l.SRSURL})}}}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateOutputs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test ./reconcile/ -run %s -update-outputs to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}
