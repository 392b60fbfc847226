package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// chaosStream is one SRS stream a scenario publishes.
type chaosStream struct{ App, Stream string }

// Name is "app/stream", as lab.Want and lab.StreamOf spell it.
func (s chaosStream) Name() string { return s.App + "/" + s.Stream }

// router maps a stream to its OWT room ("" = not routed: ignored or denied).
type router func(s chaosStream) string

// routeA is the routing of chaosPolicy(moved=false): apps g* share a room
// per app, app live gets a room per stream, the rest is ignored.
func routeA(s chaosStream) string {
	switch {
	case s.App == "live":
		return "live-" + s.Stream
	case strings.HasPrefix(s.App, "g"):
		return s.App
	}
	return ""
}

// routeB is the routing of chaosPolicy(moved=true): g0 moves to its own
// room and app extra, ignored before, is routed.
func routeB(s chaosStream) string {
	switch s.App {
	case "g0":
		return "moved-g0"
	case "extra":
		return "extra"
	}
	return routeA(s)
}

// chaosPolicy is the policy of every scenario; moved selects routeB.
func chaosPolicy(interval, grace time.Duration, moved bool) string {
	extra := ""
	if moved {
		extra = `  - match: {app: g0}
    room: "moved-{{.App}}"
  - match: {app: extra}
    room: extra
`
	}
	return fmt.Sprintf(`reconcile: {interval: %s, delete_grace: %s, max_deletes: 1000, allow_empty: false, concurrency: 8}
defaults:  {views: [common]}
routes:
  - match: {app: private}
    action: deny
%s  - match: {app: "g*"}
    room: "{{.App}}"
  - match: {app: live}
    room: "{{.App}}-{{.Stream}}"
  - match: {}
    action: ignore
`, interval, grace, extra)
}

// chaosStreams returns n streams named s000..: odd ones in a room of their
// own (app live), even ones sharing one of a few group rooms (apps g0..).
func chaosStreams(prefix string, n int) []chaosStream {
	groups := 1 + n/40
	out := make([]chaosStream, n)
	for i := range out {
		app := "live"
		if i%2 == 0 {
			app = fmt.Sprintf("g%d", (i/2)%groups)
		}
		out[i] = chaosStream{App: app, Stream: fmt.Sprintf("%s%03d", prefix, i)}
	}
	return out
}

// pullURL is the URL the agent asks OWT to pull for s (the default template).
func pullURL(s chaosStream) string {
	return "rtmp://127.0.0.1:1935/" + s.App + "/" + s.Stream + "?vhost=__defaultVhost__"
}

// chaosRun is one scenario: the fakes, the agent, and what the scenario
// did to them, so that finish can check the contract.
type chaosRun struct {
	*env
	t        *testing.T
	scale    chaosScale
	interval time.Duration
	grace    time.Duration
	agent    *proc
	client   *http.Client

	mu     sync.Mutex
	route  router
	live   map[chaosStream]bool // published now
	kept   map[chaosStream]bool // live and routed since published, never moved
	banned map[chaosStream]bool // moved or unpublished once: never kept again

	rejected  atomic.Int64 // publishes of allowed streams that SRS refused
	published atomic.Int64
	foreign   foreignSet

	converged time.Duration
	late      bool // not converged within the deadline
	dups      int
	wrongful  int
}

// foreignSet is a room and streams made by another tool.
type foreignSet struct {
	roomID  string
	streams map[string][]string // stream id -> inViews at creation
}

const foreignRoom = "foreign-tool-room"

// newChaosRun starts the fakes and the agent with the scenario's policy and
// hooks.allow: [127.0.0.1/32], and creates the foreign room and streams.
func newChaosRun(t *testing.T, scale chaosScale, interval, grace time.Duration) *chaosRun {
	t.Helper()
	e := newEnv(t, chaosPolicy(interval, grace, false))
	yaml, err := os.ReadFile(e.agentFile)
	if err != nil {
		t.Fatal(err)
	}
	allowed := strings.Replace(string(yaml), "hooks:\n  listen: "+e.hookAddr+"\n",
		"hooks:\n  listen: "+e.hookAddr+"\n  allow: [127.0.0.1/32]\n", 1)
	if allowed == string(yaml) {
		t.Fatalf("agent.yaml has no hooks section to extend:\n%s", yaml)
	}
	// POSTs of unknown outcome (dropped connections) only happen in
	// scenario 1, where the fake OWT decides each POST within its injected
	// latency (tens of ms), not within real OWT's 90 s: hold them 2 s.
	allowed = strings.Replace(allowed, "  service_key_env: OWT_SERVICE_KEY\n", "  service_key_env: OWT_SERVICE_KEY\n  pending_hold: 2s\n", 1)
	if err := os.WriteFile(e.agentFile, []byte(allowed), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	c := &chaosRun{env: e, t: t, scale: scale, interval: interval, grace: grace, route: routeA,
		client: &http.Client{Timeout: 40 * time.Second, Transport: tr},
		live:   map[chaosStream]bool{}, kept: map[chaosStream]bool{}, banned: map[chaosStream]bool{}}
	c.addForeign()
	c.agent = c.startAgent()
	return c
}

// addForeign creates a room of another tool with a WebRTC publication and
// a streaming-in of its own, none carrying the agent's attributes.
func (c *chaosRun) addForeign() {
	c.t.Helper()
	var room struct{ ID string }
	if err := json.Unmarshal(c.post(c.owtURL+"/control/room", map[string]any{"name": foreignRoom, "views": []string{"common"}}), &room); err != nil {
		c.t.Fatalf("foreign room: %v", err)
	}
	c.foreign = foreignSet{roomID: room.ID, streams: map[string][]string{}}
	for _, info := range []map[string]any{
		{"type": "webrtc", "owner": "someone", "inViews": []string{"common"}},
		{"type": "streaming", "attributes": map[string]any{"owner": "another-tool"}, "inViews": []string{"common"}},
	} {
		var s struct{ ID string }
		if err := json.Unmarshal(c.post(c.owtURL+"/control/foreign-stream", map[string]any{"room": room.ID, "info": info}), &s); err != nil {
			c.t.Fatalf("foreign stream: %v", err)
		}
		c.foreign.streams[s.ID] = []string{"common"}
	}
}

// control posts a JSON body to a fake's control API without failing the
// test (safe from any goroutine); it returns the status (0 on a transport
// error) and the answer.
func (c *chaosRun) control(url string, body any) (int, string) {
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// publish publishes s through fake-srs (with its on_publish hook). A
// refusal of a stream the policy allows counts as a rejected publish.
func (c *chaosRun) publish(s chaosStream) bool {
	c.published.Add(1)
	code, body := c.control(c.srsURL+"/control/publish", map[string]any{"vhost": "__defaultVhost__", "app": s.App, "stream": s.Stream})
	if code/100 != 2 {
		if s.App != "private" {
			c.rejected.Add(1)
			c.t.Errorf("publish of %s refused: %d %s", s.Name(), code, body)
		}
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[s] = true
	if !c.banned[s] && c.route(s) != "" {
		c.kept[s] = true
	}
	return true
}

// unpublish stops s (with its on_unpublish hook); s is no longer kept.
func (c *chaosRun) unpublish(s chaosStream) {
	c.mu.Lock()
	delete(c.live, s)
	delete(c.kept, s)
	c.banned[s] = true
	c.mu.Unlock()
	if code, body := c.control(c.srsURL+"/control/unpublish", map[string]any{"vhost": "__defaultVhost__", "app": s.App, "stream": s.Stream}); code/100 != 2 {
		c.t.Errorf("unpublish of %s: %d %s", s.Name(), code, body)
	}
}

// publishAll publishes streams from 32 goroutines and waits for them.
func (c *chaosRun) publishAll(streams []chaosStream) {
	c.parallel(len(streams), 32, func(i int) { c.publish(streams[i]) })
}

// parallel runs f(0..n-1) on at most workers goroutines and waits.
func (c *chaosRun) parallel(n, workers int, f func(i int)) {
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// setRoute switches the routing the scenario expects (a policy change):
// streams whose room changes are moved by the scenario and no longer kept.
func (c *chaosRun) setRoute(r router) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.live {
		if r(s) != c.route(s) {
			delete(c.kept, s)
			c.banned[s] = true
		}
	}
	c.route = r
}

// want is the desired OWT content: every live routed stream in its room.
func (c *chaosRun) want() lab.Want {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}, Keep: []string{foreignRoom}}
	for s := range c.live {
		if r := c.route(s); r != "" {
			w.Rooms[r] = append(w.Rooms[r], s.Name())
		}
	}
	return w
}

// fault posts a fault setting to fake-owt.
func (c *chaosRun) owtFault(f map[string]any) {
	c.t.Helper()
	c.post(c.owtURL+"/control/fault", f)
}

// settle waits, without a deadline of the contract, for OWT to match the
// desired state (setting a scenario up, before its fault).
func (c *chaosRun) settle(within time.Duration) {
	c.t.Helper()
	w := c.want()
	if _, err := lab.WaitFor(t0(), within, func() string { return lab.Check(c.owtState(), w) }); err != nil {
		c.t.Fatalf("setting up: %v", err)
	}
}

// threeResyncs is the contract's deadline: three resync intervals with
// their +10% jitter, plus one second for the last resync's operations to
// land and for the poll to see them.
func (c *chaosRun) threeResyncs() time.Duration {
	return 3*c.interval*11/10 + time.Second
}

// convergeAfterFault checks that OWT reaches the desired state within
// three resyncs of the fault clearing and records the time it took.
func (c *chaosRun) convergeAfterFault() {
	c.t.Helper()
	w := c.want()
	took, err := lab.WaitFor(t0(), c.threeResyncs(), func() string { return lab.Check(c.owtState(), w) })
	c.converged, c.late = took, err != nil
	if err != nil {
		c.t.Fatalf("within 3 resyncs (%s) of the fault clearing: %v", c.threeResyncs(), err)
	}
	c.t.Logf("converged %s after the fault cleared", took.Round(time.Millisecond))
	// Stay a delete grace plus a resync longer: a stop decided late (a
	// stream wrongly seen missing for the whole grace) shows up in finish.
	time.Sleep(c.grace + c.interval*11/10)
}

// finish checks the contract on the fake's history: no duplicate
// streaming-in, no wrongful stop of a kept stream, the foreign room and
// streams untouched, no legitimate publish rejected, and the final state.
func (c *chaosRun) finish() {
	c.t.Helper()
	st := c.owtState()
	c.dups = lab.Duplicates(st)
	if c.dups != 0 {
		c.t.Errorf("%d duplicate streaming-ins were created", c.dups)
	}
	c.mu.Lock()
	keptURL := map[string]chaosStream{}
	for s := range c.kept {
		keptURL[pullURL(s)] = s
	}
	c.mu.Unlock()
	for _, d := range st.Deleted {
		if d.Kind != "stream" || d.Reason != owtfake.ReasonAPI {
			continue
		}
		if s, ok := keptURL[d.URL]; ok {
			c.wrongful++
			c.t.Errorf("streaming-in %s of %s (live and routed the whole time) was stopped at %s", d.Stream, s.Name(), d.Time.Format("15:04:05.000"))
		}
	}
	c.checkForeign(st)
	if n := c.rejected.Load(); n != 0 {
		c.t.Errorf("%d legitimate publishes were rejected", n)
	}
	if d := lab.Check(st, c.want()); d != "" {
		c.t.Errorf("final state differs from the desired state: %s", d)
	}
}

// checkForeign asserts that the foreign room and its streams are as
// created: never deleted through the API, nothing removed from its views.
func (c *chaosRun) checkForeign(st owtfake.State) {
	c.t.Helper()
	for _, d := range st.Deleted {
		if d.Reason == owtfake.ReasonAPI && (d.Room == c.foreign.roomID || c.foreign.streams[d.Stream] != nil) {
			c.t.Errorf("the agent deleted foreign %s %s in room %s", d.Kind, d.Stream, d.Room)
		}
	}
	var room *owtfake.RoomState
	for i := range st.Rooms {
		if st.Rooms[i].ID == c.foreign.roomID {
			room = &st.Rooms[i]
		}
	}
	if room == nil || room.Name != foreignRoom {
		c.t.Errorf("foreign room %s (%s) is gone", foreignRoom, c.foreign.roomID)
		return
	}
	have := map[string][]string{}
	for _, s := range room.Streams {
		have[s.ID] = append([]string{}, s.InViews...)
	}
	for id, views := range c.foreign.streams {
		got, ok := have[id]
		sort.Strings(got)
		if !ok || strings.Join(got, ",") != strings.Join(views, ",") {
			c.t.Errorf("foreign stream %s: present %v, in views %v; want it untouched in %v", id, ok, got, views)
		}
		delete(have, id)
	}
	for id := range have {
		c.t.Errorf("the agent added stream %s to the foreign room", id)
	}
}
