package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// schedMixURL is the URL the schedule policy's output of room pushes to.
func schedMixURL(room string) string { return "rtmp://127.0.0.1:1935/mix/" + room }

// checkNoTwoLiveOutputs is invariant 5: never two live streaming-outs with
// one URL in one room. An output is live from its POST (OWT creates it
// then, even while it connects) to its deletion, whatever its reason.
func checkNoTwoLiveOutputs(st owtfake.State) []string {
	type key struct{ room, url string }
	ended := map[key]time.Time{}
	for _, d := range st.Deleted {
		if d.Kind == "output" {
			ended[key{d.Room, d.Stream}] = d.Time
		}
	}
	lives := map[key][]interval{}
	for _, c := range st.OutputsCreated {
		if c.Kind != "streaming" {
			continue
		}
		k := key{c.Room, c.URL}
		lives[k] = append(lives[k], interval{id: c.Output, from: c.Time, to: ended[key{c.Room, c.Output}]})
	}
	names := roomNames(st)
	var out []string
	for k, list := range lives {
		for _, p := range overlaps(list) {
			out = append(out, fmt.Sprintf("invariant 5 (never two live outputs with one URL): %s in room %q: %s [%s, %s) and %s [%s, %s)",
				k.url, names[k.room], p[0].id, stamp(p[0].from), stamp(p[0].to), p[1].id, stamp(p[1].from), stamp(p[1].to)))
		}
	}
	sort.Strings(out)
	return out
}

// checkNoLoop is invariant 6: no stream an output pushes into SRS is ever
// pulled into OWT.
func checkNoLoop(st owtfake.State) []string {
	var out []string
	names := roomNames(st)
	for _, c := range st.Created {
		if strings.Contains(c.URL, "/mix/") {
			out = append(out, fmt.Sprintf("invariant 6 (no loop): the pushed mix %s was pulled into room %q at %s", c.URL, names[c.Room], stamp(c.Time)))
		}
	}
	return out
}

// checkOutputsAt is invariant 7, at quiescence: every desired room with
// outputs has exactly its one output, connected; no other room has any
// (no owned output is left behind).
func checkOutputsAt(st owtfake.State, w lab.Want) string {
	var bad []string
	for _, r := range st.Rooms {
		var urls []string
		for _, o := range r.Outputs {
			urls = append(urls, o.URL)
			if o.Connecting {
				bad = append(bad, fmt.Sprintf("room %q: output %s still connecting", r.Name, o.URL))
			}
		}
		_, desired := w.Rooms[r.Name]
		want := ""
		if desired && strings.HasPrefix(r.Name, "live-") {
			want = schedMixURL(r.Name)
		}
		if strings.Join(urls, ",") != want {
			bad = append(bad, fmt.Sprintf("room %q has outputs %v, want [%s]", r.Name, urls, want))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, "; ")
}

// pushMixes publishes, as OWT's pushes would, the mix of every desired
// live room into SRS: the agent must not route any of them into OWT.
func (r *scheduleRun) pushMixes(w lab.Want) {
	for room := range w.Rooms {
		if strings.HasPrefix(room, "live-") {
			if code, body := r.control(r.srsURL+"/control/publish", map[string]any{"vhost": "__defaultVhost__", "app": "mix", "stream": room}); code/100 != 2 {
				r.problem("invariant 4 (no allowed publish rejected): the pushed mix of %s refused: %d %s", room, code, body)
			}
		}
	}
}

// quiesceOutputs checks invariant 7 once OWT holds the desired streams,
// after the mixes have reached SRS.
func (r *scheduleRun) quiesceOutputs(w lab.Want) {
	r.pushMixes(w)
	within := 20*time.Second + 10*schedInterval
	took, err := lab.WaitFor(t0(), within, func() string { return checkOutputsAt(r.owtState(), w) })
	if err != nil {
		r.problem("invariant 7 (outputs equal the desired ones at quiescence): %v", err)
		return
	}
	time.Sleep(3 * schedInterval)
	if d := checkOutputsAt(r.owtState(), w); d != "" {
		r.problem("invariant 7 (outputs equal the desired ones at quiescence): converged after %s, then drifted: %s", took.Round(time.Millisecond), d)
	}
	if d := lab.Check(r.owtState(), w); d != "" {
		r.problem("invariant 6 (no loop): after the mixes reached SRS: %s", d)
	}
	r.log = append(r.log, fmt.Sprintf("%7.3fs quiescence: outputs converged in %s", time.Since(r.began).Seconds(), took.Round(time.Millisecond)))
}

// TestOutputCheckers feeds the output checkers histories that break their
// invariant and ones that keep it.
func TestOutputCheckers(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, ms*int(time.Millisecond), time.UTC) }
	u := schedMixURL("live-a")
	created := []owtfake.OutputRecord{{Room: "r1", Output: "o1", Kind: "streaming", URL: u, Time: at(10)}, {Room: "r1", Output: "o2", Kind: "streaming", URL: u, Time: at(20)}}
	restarted := owtfake.State{OutputsCreated: created, Deleted: []owtfake.DeleteRecord{{Kind: "output", Room: "r1", Stream: "o1", Reason: owtfake.ReasonPushFailed, Time: at(15)}}}
	if got := checkNoTwoLiveOutputs(restarted); len(got) != 0 {
		t.Errorf("restart after a failed push: %v", got)
	}
	twice := owtfake.State{OutputsCreated: created, Deleted: []owtfake.DeleteRecord{{Kind: "output", Room: "r1", Stream: "o1", Reason: owtfake.ReasonAPI, Time: at(25)}}}
	if got := checkNoTwoLiveOutputs(twice); len(got) != 1 {
		t.Errorf("second POST while the first lives: %v", got)
	}
	otherRoom := owtfake.State{OutputsCreated: []owtfake.OutputRecord{created[0], {Room: "r2", Output: "o2", Kind: "streaming", URL: u, Time: at(20)}}}
	if got := checkNoTwoLiveOutputs(otherRoom); len(got) != 0 {
		t.Errorf("one URL in two rooms is another invariant: %v", got)
	}
	if got := checkNoLoop(owtfake.State{Created: []owtfake.CreateRecord{{Room: "r1", URL: "rtmp://127.0.0.1:1935/live/a?vhost=__defaultVhost__"}}}); len(got) != 0 {
		t.Errorf("plain input: %v", got)
	}
	if got := checkNoLoop(owtfake.State{Created: []owtfake.CreateRecord{{Room: "r1", URL: "rtmp://127.0.0.1:1935/mix/live-a?vhost=__defaultVhost__"}}}); len(got) != 1 {
		t.Errorf("pulled mix: %v", got)
	}
	w := lab.Want{Rooms: map[string][]string{"live-a": {"live/a"}, "wall": nil}}
	good := owtfake.State{Rooms: []owtfake.RoomState{{Name: "live-a", Outputs: []owtfake.OutputState{{URL: u}}}, {Name: "wall"}}}
	if d := checkOutputsAt(good, w); d != "" {
		t.Errorf("good state: %s", d)
	}
	for name, st := range map[string]owtfake.State{
		"missing":    {Rooms: []owtfake.RoomState{{Name: "live-a"}}},
		"connecting": {Rooms: []owtfake.RoomState{{Name: "live-a", Outputs: []owtfake.OutputState{{URL: u, Connecting: true}}}}},
		"left over":  {Rooms: []owtfake.RoomState{{Name: "live-a", Outputs: []owtfake.OutputState{{URL: u}}}, {Name: "live-b", Outputs: []owtfake.OutputState{{URL: schedMixURL("live-b")}}}}},
		"doubled":    {Rooms: []owtfake.RoomState{{Name: "live-a", Outputs: []owtfake.OutputState{{URL: u}, {URL: u}}}}},
	} {
		if d := checkOutputsAt(st, w); d == "" {
			t.Errorf("%s: no violation", name)
		}
	}
}
