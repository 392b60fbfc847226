package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

const outputsPolicy = `reconcile: {interval: 1s, delete_grace: 300ms, max_deletes: 50, allow_empty: true, concurrency: 4}
defaults:  {views: [common]}
routes:
  - match: {app: live}
    room:
      name: "{{.App}}-{{.Stream}}"
      outputs:
        - {view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}
        - {view: common, record: {container: mp4}}
  - match: {}
    room: "other-{{.App}}-{{.Stream}}"
`

// outputsOf returns the live, connected outputs of the room named name.
func outputsOf(st owtfake.State, name string) (roomID string, urls []string, recordings int, wrongSource string) {
	for _, r := range st.Rooms {
		if r.Name != name {
			continue
		}
		for _, o := range r.Outputs {
			if o.Connecting {
				continue
			}
			if o.VideoFrom != r.ID+"-common" {
				wrongSource = o.VideoFrom
			}
			if !o.FailsAt.IsZero() {
				continue // its push is about to fail
			}
			if o.Kind == "recording" {
				recordings++
			} else {
				urls = append(urls, o.URL)
			}
		}
		return r.ID, urls, recordings, wrongSource
	}
	return "", nil, 0, ""
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

// TestOutputs runs the built agent against both fakes: the mix of view
// common goes out to the rendered URL and is recorded; the pushed stream
// is not routed back into OWT; a failing push is started again with
// backoff; a 500/1301 whose output appears later is adopted, not doubled;
// the unpublish stops the outputs and deletes the room.
func TestOutputs(t *testing.T) {
	e := newEnv(t, outputsPolicy)
	agent := e.startAgent()
	url := "rtmp://127.0.0.1:1935/mix/live-class-1"
	hasOutputs := func(name, url string, recordings int) func() string {
		return func() string {
			id, urls, recs, wrong := outputsOf(e.owtState(), name)
			switch {
			case id == "":
				return "no room " + name
			case wrong != "":
				return "an output takes " + wrong + ", not view common"
			case strings.Join(urls, ",") != url || recs != recordings:
				return fmt.Sprintf("room %s: outputs %v and %d recording(s)", name, urls, recs)
			}
			return ""
		}
	}
	e.publish("live", "class-1", false)
	if _, err := lab.WaitFor(t0(), 10*time.Second, hasOutputs("live-class-1", url, 1)); err != nil {
		t.Fatal(err)
	}

	// OWT pushes the mix into SRS: the agent keeps it out of OWT.
	e.publish("mix", "live-class-1", false)
	if _, err := lab.WaitFor(t0(), 10*time.Second, func() string {
		if v := e.metric("srs_owt_proxy_looped_streams"); v != "1" {
			return "looped_streams = " + v
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.owtState().Rooms {
		if strings.HasPrefix(r.Name, "other-mix") {
			t.Fatalf("the pushed mix was routed back into OWT (room %s)", r.Name)
		}
	}

	// The push fails: the output vanishes and comes back after backoff.
	e.post(e.owtURL+"/control/fault", map[string]any{"push_fail": "/mix/live-class-1$", "push_fail_after_ms": 100})
	id, _, _, _ := outputsOf(e.owtState(), "live-class-1")
	for _, r := range e.owtState().Rooms {
		for _, o := range r.Outputs {
			if r.ID == id && o.URL == url {
				e.post(e.owtURL+"/control/drop-output", map[string]any{"room": id, "output": o.ID})
			}
		}
	}
	if _, err := lab.WaitFor(t0(), 20*time.Second, func() string {
		if n := starts(e.owtState(), url); n < 3 {
			return fmt.Sprintf("%d starts of the failing output", n)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, c := range e.owtState().OutputsCreated {
		if c.URL == url {
			at = append(at, c.Time)
		}
	}
	if gap := at[2].Sub(at[1]); gap < 500*time.Millisecond {
		t.Errorf("restarted %s after the previous start: no backoff", gap)
	}
	e.post(e.owtURL+"/control/fault", map[string]any{"push_fail": ""})
	if _, err := lab.WaitFor(t0(), 20*time.Second, hasOutputs("live-class-1", url, 1)); err != nil {
		t.Fatal(err)
	}

	// OWT's conference is slower than its 2 s RPC limit (shortened here):
	// the POST fails with 500/1301 and the output appears later.
	e.post(e.owtURL+"/control/fault", map[string]any{"output_delay_ms": 800, "output_rpc_timeout_ms": 200})
	url2 := "rtmp://127.0.0.1:1935/mix/live-class-2"
	e.publish("live", "class-2", false)
	if _, err := lab.WaitFor(t0(), 20*time.Second, hasOutputs("live-class-2", url2, 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := starts(e.owtState(), url2); n != 1 {
		t.Fatalf("%d streaming-outs created for %s; want 1 (adopted, not doubled)", n, url2)
	}
	e.post(e.owtURL+"/control/fault", map[string]any{"output_delay_ms": 0, "output_rpc_timeout_ms": 2000})

	// Unpublish: the agent stops the outputs, then deletes the room.
	e.unpublish("live", "class-1", false)
	e.unpublish("live", "class-2", false)
	e.unpublish("mix", "live-class-1", false)
	e.converge(lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}, 15*time.Second)
	st := e.owtState()
	stopped := 0
	for _, d := range st.Deleted {
		if d.Kind != "output" {
			continue
		}
		switch d.Reason {
		case owtfake.ReasonRoomDeleted:
			t.Errorf("output %s went with its room instead of being stopped first", d.Stream)
		case owtfake.ReasonAPI:
			stopped++
		}
	}
	if stopped != 4 {
		t.Errorf("%d outputs stopped by the agent, want 4", stopped)
	}
	if code := agent.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Errorf("agent exit code %d", code)
	}
}
