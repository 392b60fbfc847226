package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

const outputsPolicy = `reconcile: {interval: 200ms, delete_grace: 100ms, max_deletes: 50, allow_empty: true, concurrency: 4}
routes:
  - match: {app: live}
    room:
      name: "{{.Stream}}"
      outputs:
        - {view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}
        - {view: common, record: {container: mkv}}
  - match: {app: "*"}
    room: "{{.App}}-{{.Stream}}"
`

// liveOutputs returns the live outputs of the room named name ("" when
// the room does not exist).
func liveOutputs(st owtfake.State, name string) (roomID string, outs []owtfake.OutputState) {
	for _, r := range st.Rooms {
		if r.Name == name {
			return r.ID, r.Outputs
		}
	}
	return "", nil
}

// checkOutputs says what is wrong with the outputs of room name: want
// streaming-out URLs (connected), plus recordings.
func checkOutputs(st owtfake.State, name string, urls []string, recordings int) string {
	id, outs := liveOutputs(st, name)
	if id == "" {
		return fmt.Sprintf("room %s does not exist", name)
	}
	var got []string
	recs := 0
	for _, o := range outs {
		if o.Connecting {
			continue
		}
		if o.Kind == "recording" {
			recs++
			if o.VideoFrom != id+"-common" {
				return fmt.Sprintf("recording from %s", o.VideoFrom)
			}
			continue
		}
		got = append(got, o.URL)
		if o.VideoFrom != id+"-common" || o.AudioFrom != id+"-common" {
			return fmt.Sprintf("output %s from %s/%s", o.URL, o.AudioFrom, o.VideoFrom)
		}
	}
	if strings.Join(got, ",") != strings.Join(urls, ",") || recs != recordings {
		return fmt.Sprintf("room %s has outputs %v and %d recording(s), want %v and %d", name, got, recs, urls, recordings)
	}
	return ""
}

// TestOutputsLifecycle: an output of view common with the rendered URL
// appears once the input is in view; a failing push is started again after
// backoff; the pushed stream is never routed back into OWT; unpublish stops
// the outputs and deletes the room.
func TestOutputsLifecycle(t *testing.T) {
	r := newRig(t, rigOpts{policy: outputsPolicy})
	r.publish("live", "class-1", "")
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{"class-1": {"live/class-1"}}}, 5*time.Second)
	url := "rtmp://127.0.0.1:1935/mix/class-1"
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		return checkOutputs(r.lab.OWT.Dump(), "class-1", []string{url}, 1)
	}); err != nil {
		t.Fatal(err)
	}
	// OWT lists an output as soon as it handles the POST; the agent records
	// it as its own when the answer arrives, a moment later.
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		if n := r.state.OwnedOutputs(); n != 2 {
			return fmt.Sprintf("journal owns %d outputs, want 2", n)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	roomStatus := func() reconcile.RoomStatus {
		for _, rs := range r.engine.Status(time.Now()).Rooms {
			if rs.Name == "class-1" {
				return rs
			}
		}
		t.Fatal("no status of room class-1")
		return reconcile.RoomStatus{}
	}
	if outs := roomStatus().Outputs; len(outs) != 2 || outs[0].Output != "output "+url+" from view common" || !outs[0].Desired || outs[0].ID == "" ||
		!outs[1].Recording || outs[1].ID == "" || outs[0].Failing != 0 {
		t.Fatalf("status outputs %+v", outs)
	}

	// The mix is pushed back into SRS: the agent must not route it into OWT.
	r.publish("mix", "class-1", "")
	time.Sleep(600 * time.Millisecond)
	for _, rm := range r.lab.OWT.Dump().Rooms {
		if rm.Name == "mix-class-1" {
			t.Fatal("the output's own stream was routed back into OWT")
		}
	}
	if st := r.engine.Status(time.Now()); st.Looped != 1 {
		t.Errorf("status looped = %d, want 1", st.Looped)
	}

	// The push fails: the output vanishes and is started again after backoff.
	if err := r.lab.OWT.SetPushFailure("^"+url+"$", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	roomID, outs := liveOutputs(r.lab.OWT.Dump(), "class-1")
	for _, o := range outs {
		if o.Kind == "streaming" {
			if err := r.lab.OWT.DropOutput(roomID, o.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		n := 0
		for _, c := range r.lab.OWT.Dump().OutputsCreated {
			if c.URL == url {
				n++
			}
		}
		if n < 3 {
			return fmt.Sprintf("%d starts of the failing output", n)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if outs := roomStatus().Outputs; len(outs) != 2 || outs[0].Failing < 2 {
		t.Errorf("status does not show the failing output: %+v", outs)
	}
	// Restarts are spaced by a growing backoff, not a tight loop.
	var starts []time.Time
	for _, c := range r.lab.OWT.Dump().OutputsCreated {
		if c.URL == url {
			starts = append(starts, c.Time)
		}
	}
	if gap := starts[2].Sub(starts[1]); gap < 100*time.Millisecond {
		t.Errorf("restart %s after the previous one; want backoff", gap)
	}
	if err := r.lab.OWT.SetPushFailure("", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		return checkOutputs(r.lab.OWT.Dump(), "class-1", []string{url}, 1)
	}); err != nil {
		t.Fatal(err)
	}

	// Unpublish: the outputs are stopped by the agent, then the room goes.
	if err := r.lab.SRS.Unpublish(context.Background(), "__defaultVhost__", "live", "class-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.lab.SRS.Unpublish(context.Background(), "__defaultVhost__", "mix", "class-1"); err != nil {
		t.Fatal(err)
	}
	r.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}, 5*time.Second)
	st := r.lab.OWT.Dump()
	for _, d := range st.Deleted {
		if d.Kind == "output" && d.Reason == owtfake.ReasonRoomDeleted {
			t.Errorf("output %s was removed with its room, not stopped first", d.Stream)
		}
	}
	if n := r.state.OwnedOutputs(); n != 0 {
		t.Fatalf("journal still owns %d outputs", n)
	}
}

// TestOutputsAdoptAfterAmbiguousAnswer: OWT's conference is slower than
// its 2 s RPC limit, so the POST answers 500/1301 while the output is
// created anyway; the agent adopts it by URL instead of starting another.
func TestOutputsAdoptAfterAmbiguousAnswer(t *testing.T) {
	r := newRig(t, rigOpts{policy: strings.Replace(outputsPolicy, "        - {view: common, record: {container: mkv}}\n", "", 1)})
	r.lab.OWT.SetOutputRPCTimeout(100 * time.Millisecond)
	r.lab.OWT.SetOutputDelay(400 * time.Millisecond)
	r.publish("live", "slow", "")
	url := "rtmp://127.0.0.1:1935/mix/slow"
	if _, err := lab.WaitFor(context.Background(), 8*time.Second, func() string {
		return checkOutputs(r.lab.OWT.Dump(), "slow", []string{url}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	st := r.lab.OWT.Dump()
	if len(st.OutputsCreated) != 1 {
		t.Fatalf("%d outputs created for one declared output; want 1 (adopted, not duplicated)", len(st.OutputsCreated))
	}
	if n := r.state.OwnedOutputs(); n != 1 {
		t.Fatalf("journal owns %d outputs, want the adopted one", n)
	}
	if in := r.state.Intents(); len(in) != 0 {
		t.Fatalf("open intents left: %+v", in)
	}
}

// TestOutputMetrics: desired and owned outputs, restarts by room and looped
// streams are exported.
func TestOutputMetrics(t *testing.T) {
	m := reconcile.NewMetrics(nil)
	r := newRig(t, rigOpts{policy: outputsPolicy, metrics: m})
	r.publish("live", "m1", "")
	r.publish("mix", "m1", "")
	url := "rtmp://127.0.0.1:1935/mix/m1"
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		if msg := checkOutputs(r.lab.OWT.Dump(), "m1", []string{url}, 1); msg != "" {
			return msg
		}
		if d, o, l := testutil.ToFloat64(m.OutputsDesired), testutil.ToFloat64(m.OutputsOwned), testutil.ToFloat64(m.LoopedStreams); d != 2 || o != 2 || l != 1 {
			return fmt.Sprintf("outputs desired %v owned %v looped %v", d, o, l)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	roomID, outs := liveOutputs(r.lab.OWT.Dump(), "m1")
	for _, o := range outs {
		if o.Kind == "streaming" {
			if err := r.lab.OWT.DropOutput(roomID, o.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		if n := testutil.ToFloat64(m.OutputRestarts.WithLabelValues("m1")); n != 1 {
			return fmt.Sprintf("%v restarts of room m1", n)
		}
		return checkOutputs(r.lab.OWT.Dump(), "m1", []string{url}, 1)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestOutputsSettingsChange: OWT cannot change an output's settings in
// place, so a policy edit of a streaming-out's video restarts it (stop,
// then start with the new settings), and an unchanged policy does not.
func TestOutputsSettingsChange(t *testing.T) {
	r := newRig(t, rigOpts{policy: outputsPolicy})
	r.publish("live", "s1", "")
	url := "rtmp://127.0.0.1:1935/mix/s1"
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		return checkOutputs(r.lab.OWT.Dump(), "s1", []string{url}, 1)
	}); err != nil {
		t.Fatal(err)
	}
	same, err := policy.ParsePolicy("policy.yaml", []byte(outputsPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.engine.SetPolicy(same)
	time.Sleep(600 * time.Millisecond)
	if n := starts(r.lab.OWT.Dump(), url); n != 1 {
		t.Fatalf("an unchanged policy restarted the output (%d starts)", n)
	}
	edited, err := policy.ParsePolicy("policy.yaml", []byte(strings.Replace(outputsPolicy,
		`url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}`, `url: "rtmp://127.0.0.1:1935/mix/{{.Room}}", video: {framerate: 12}}`, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.engine.SetPolicy(edited)
	if _, err := lab.WaitFor(context.Background(), 5*time.Second, func() string {
		if n := starts(r.lab.OWT.Dump(), url); n != 2 {
			return fmt.Sprintf("%d starts of the edited output", n)
		}
		return checkOutputs(r.lab.OWT.Dump(), "s1", []string{url}, 1)
	}); err != nil {
		t.Fatal(err)
	}
}

// starts counts the creations of a streaming-out with url.
func starts(st owtfake.State, url string) int {
	n := 0
	for _, c := range st.OutputsCreated {
		if c.URL == url {
			n++
		}
	}
	return n
}
