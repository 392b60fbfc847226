package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// demoPolicy is the embedded default the demo starts with.
const demoPolicy = `# srs-owt-proxy demo policy
reconcile: {interval: 3s, delete_grace: 1s, max_deletes: 50, allow_empty: false, concurrency: 8}
defaults:  {views: [common], media: {audio: auto, video: auto}, transport: tcp, buffer_size: 8192}
routes:
  - match: {app: private}
    action: deny                      # SRS refuses these publishes
  - match: {app: live, stream: "class-*"}
    room:
      name: "{{.App}}-{{.Stream}}"    # one room per class, created and deleted by the agent
      outputs:                        # the class's mix goes back to SRS as mix/<room>
        - {view: common, url: "rtmp://127.0.0.1:1935/mix/{{.Room}}"}
  - match: {app: wall}
    room: {name: video-wall, create: false}   # an existing room, used but never deleted
  - match: {app: mix}
    room: "{{.App}}-{{.Stream}}"      # careless: it would pull the pushed mix back in (the loop guard wins)
  - match: {}
    action: ignore
`

// demoPolicyMerged sends every class into one shared room.
const demoPolicyMerged = `# edited: all classes share one room
reconcile: {interval: 3s, delete_grace: 1s, max_deletes: 50, allow_empty: false, concurrency: 8}
defaults:  {views: [common], media: {audio: auto, video: auto}, transport: tcp, buffer_size: 8192}
routes:
  - match: {app: private}
    action: deny
  - match: {app: live, stream: "class-*"}
    room: "all-classes"
  - match: {app: wall}
    room: {name: video-wall, create: false}
  - match: {}
    action: ignore
`

// demoLog prints the agent's operations and warnings for a human.
type demoLog struct {
	w     io.Writer // a syncWriter
	attrs []slog.Attr
	lines *atomic.Int64 // lines printed, shared by every derived handler
}

func (h *demoLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *demoLog) WithAttrs(a []slog.Attr) slog.Handler {
	return &demoLog{w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), a...), lines: h.lines}
}
func (h *demoLog) WithGroup(string) slog.Handler { return h }
func (h *demoLog) Handle(_ context.Context, r slog.Record) error {
	kv := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { kv[a.Key] = a.Value.String(); return true })
	var line string
	switch {
	case r.Message == "operation applied" || r.Message == "operation failed":
		sym := map[string]string{"create_room": "+", "start_input": "+", "add_view": "~", "remove_view": "~", "stop_input": "-", "delete_room": "-"}[kv["op"]]
		what := kv["stream"]
		if kv["view"] != "" {
			what += " -> view " + kv["view"]
		}
		line = fmt.Sprintf("    agent %s %-12s room %-14s %s  [%s, %s]", sym, kv["op"], kv["room"], what, kv["result"], kv["duration"])
		if kv["err"] != "" {
			line += "\n        " + kv["err"]
		}
	case r.Message == "output started" || r.Message == "output stopped":
		sym, op := "+", "start_output"
		if r.Message == "output stopped" {
			sym, op = "-", "stop_output"
		}
		what := kv["what"]
		if what == "" {
			what = "output " + kv["output"] + " (" + kv["reason"] + ")"
		}
		line = fmt.Sprintf("    agent %s %-12s room %-14s %s", sym, op, kv["room"], what)
	case strings.HasPrefix(r.Message, "output vanished"):
		line = fmt.Sprintf("    agent: output %s of room %s vanished; starting it again in %s", kv["url"], kv["room"], kv["retry_in"])
	case r.Message == "publish refused by policy":
		line = fmt.Sprintf("    agent answers SRS's hook: refuse %s (%s)", kv["stream"], kv["reason"])
	case r.Message == "room needs attention":
		line = fmt.Sprintf("    agent note: %s", kv["detail"])
	case strings.HasPrefix(r.Message, "room the agent created is gone"), strings.HasPrefix(r.Message, "policy reload"),
		strings.HasPrefix(r.Message, "policy reloaded"):
		line = "    agent: " + r.Message
	default:
		return nil
	}
	if h.lines != nil {
		h.lines.Add(1)
	}
	_, err := io.WriteString(h.w, line+"\n")
	return err
}

// syncWriter serialises the demo's own lines and the agent's log lines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func demo(w io.Writer, stepTimeout time.Duration) error {
	out := &syncWriter{w: w}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "srs-owt-proxy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		return err
	}
	defer l.Close()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(demoPolicy), 0o644); err != nil {
		return err
	}
	agentFile := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(agentFile, []byte(l.AgentYAML(hookLn.Addr().String(), "127.0.0.1:0", filepath.Join(dir, "state.json"), policyFile)), 0o644); err != nil {
		return err
	}
	getenv := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	cfg, err := policy.LoadAgent(agentFile, getenv)
	if err != nil {
		return err
	}
	pol, err := policy.LoadPolicy(policyFile, getenv)
	if err != nil {
		return err
	}
	var lines atomic.Int64
	log := slog.New(&demoLog{w: out, lines: &lines})
	a, err := agent.New(agent.Options{Config: cfg, Policy: pol, PolicyFile: policyFile, Log: log, Getenv: getenv,
		HookListener: hookLn, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	owt, err := owtapi.New(owtapi.Config{URL: l.OWTURL, ServiceID: lab.ServiceID, ServiceKey: lab.ServiceKey})
	if err != nil {
		return err
	}
	// Equivalent mutant: Run sends once, so any capacity of 1 or more does.
	runDone := make(chan error, 1)
	runCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()

	fmt.Fprintf(out, "srs-owt-proxy demo: in-memory SRS at %s, in-memory OWT at %s, agent hooks at %s\n", l.SRSURL, l.OWTURL, hookLn.Addr())
	fmt.Fprint(out, glossary)
	fmt.Fprintf(out, "\nThe policy (%s):\n%s\n", policyFile, indent(demoPolicy))
	wallID := l.OWT.CreateRoomDirect(lab.ServiceID, "video-wall", []string{"common"})
	fmt.Fprintf(out, "Someone already created the room \"video-wall\" (%s) in OWT; the agent will use it but never delete it.\n", wallID)
	go func() { runDone <- a.Run(runCtx) }()

	want := lab.Want{Views: []string{"common"}, Rooms: map[string][]string{}}
	step := 0
	expect := func(title string, act func() error, w lab.Want) error {
		step++
		fmt.Fprintf(out, "\n== Step %d: %s\n", step, title)
		start := time.Now()
		if err := act(); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		took, err := lab.WaitFor(ctx, stepTimeout, func() string { return lab.Check(l.OWT.Dump(), w) })
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", step, title, err)
		}
		_ = start
		quiet(&lines, a.Engine().Idle)
		fmt.Fprintf(out, "   converged in %s. OWT now holds:\n%s", took.Round(time.Millisecond), describe(l.OWT.Dump()))
		return nil
	}
	publish := func(app, stream string) error {
		fmt.Fprintf(out, "   encoder publishes rtmp://srs/%s/%s\n", app, stream)
		_, _, err := l.SRS.Publish(ctx, "__defaultVhost__", app, stream, "")
		if err != nil {
			return fmt.Errorf("publish %s/%s: %w", app, stream, err)
		}
		return nil
	}

	want.Rooms = map[string][]string{"live-class-1": {"live/class-1"}, "live-class-2": {"live/class-2"}, "video-wall": {"wall/cam-1", "wall/cam-2"}}
	if err := expect("four encoders publish; one more tries a denied app", func() error {
		for _, s := range [][2]string{{"live", "class-1"}, {"live", "class-2"}, {"wall", "cam-1"}, {"wall", "cam-2"}} {
			if err := publish(s[0], s[1]); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, "   encoder publishes rtmp://srs/private/secret")
		if _, _, err := l.SRS.Publish(ctx, "__defaultVhost__", "private", "secret", ""); err == nil {
			return fmt.Errorf("the deny route did not refuse private/secret")
		}
		fmt.Fprintln(out, "   SRS refused it: the policy denies app private (nothing reaches OWT)")
		return nil
	}, want); err != nil {
		return err
	}

	if err := expect("the mix goes back out: OWT pushes each class's view to SRS, and the agent keeps it out of OWT", func() error {
		url := "rtmp://127.0.0.1:1935/mix/live-class-1"
		if _, err := lab.WaitFor(ctx, stepTimeout, func() string {
			if n := len(outputURLs(l.OWT.Dump(), "live-class-1")); n != 1 {
				return fmt.Sprintf("room live-class-1 has %d outputs", n)
			}
			return ""
		}); err != nil {
			return err
		}
		fmt.Fprintf(out, "   OWT pushes the mix of room live-class-1 to %s (an output the agent started)\n", url)
		fmt.Fprintln(out, "   the push arrives at SRS as the new stream mix/live-class-1 (SRS calls the agent's hook)")
		if _, _, err := l.SRS.Publish(ctx, "__defaultVhost__", "mix", "live-class-1", ""); err != nil {
			return err
		}
		fmt.Fprintln(out, "   the agent answers the hook but never routes a stream its own outputs push back into OWT (no loop)")
		if _, err := lab.WaitFor(ctx, stepTimeout, func() string {
			if n := a.Engine().Status(time.Now()).Looped; n != 1 {
				return fmt.Sprintf("status counts %d looped streams", n)
			}
			return ""
		}); err != nil {
			return err
		}
		fmt.Fprintln(out, "   status: kept 1 stream out of OWT as the agent's own output, although a route (app mix) would send it there")
		return nil
	}, want); err != nil {
		return err
	}

	want.Rooms = map[string][]string{"live-class-1": {"live/class-1"}, "video-wall": {"wall/cam-1", "wall/cam-2"}}
	if err := expect("class-2 stops publishing (cleaned up after the 1s delete grace)", func() error {
		fmt.Fprintln(out, "   encoder of live/class-2 disconnects")
		return l.SRS.Unpublish(ctx, "__defaultVhost__", "live", "class-2")
	}, want); err != nil {
		return err
	}

	if err := expect("someone deletes room live-class-1 by hand (repaired at the next resync, every 3s)", func() error {
		rooms, err := owt.ListRooms(ctx)
		if err != nil {
			return err
		}
		for _, r := range rooms {
			if r.Name == "live-class-1" {
				fmt.Fprintf(out, "   DELETE /v1/rooms/%s behind the agent's back\n", r.ID)
				return owt.DeleteRoom(ctx, r.ID)
			}
		}
		return fmt.Errorf("room live-class-1 not found")
	}, want); err != nil {
		return err
	}

	want.Rooms = map[string][]string{"all-classes": {"live/class-1", "live/class-3"}, "video-wall": {"wall/cam-1", "wall/cam-2"}}
	if err := expect("the policy file is edited: all classes share one room (hot reload)", func() error {
		tmp := policyFile + ".new"
		if err := os.WriteFile(tmp, []byte(demoPolicyMerged), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "   Before installing it, ask what it would change: srs-owt-proxy diff --config agent.yaml --policy %s\n", filepath.Base(tmp))
		if err := showDiff(ctx, out, agentFile, tmp, getenv); err != nil {
			return err
		}
		fmt.Fprintln(out, "   Installed: policy.yaml now routes live/class-* to room \"all-classes\"")
		if err := os.Rename(tmp, policyFile); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
		return publish("live", "class-3")
	}, want); err != nil {
		return err
	}

	if err := expect("OWT restarts empty; the operator re-creates video-wall", func() error {
		l.OWT.Wipe()
		fmt.Fprintln(out, "   OWT wiped: every room and stream is gone")
		id := l.OWT.CreateRoomDirect(lab.ServiceID, "video-wall", []string{"common"})
		fmt.Fprintf(out, "   operator re-creates room \"video-wall\" (%s)\n", id)
		return nil
	}, want); err != nil {
		return err
	}

	dups := lab.Duplicates(l.OWT.Dump())
	fmt.Fprintf(out, "\nShutting down the agent (as on SIGTERM)...\n")
	stopAgent()
	if err := <-runDone; err != nil {
		return fmt.Errorf("agent stopped with an error: %w", err)
	}
	if dups > 0 {
		return fmt.Errorf("%d duplicate streaming-ins were created", dups)
	}
	fmt.Fprintf(out, "\nDemo complete: %d steps converged, 0 duplicate streaming-ins, nothing the agent does not own was deleted.\n", step)
	fmt.Fprint(out, nextSteps)
	return nil
}

// glossary explains the terms the demo prints, once.
const glossary = `
Terms used below:
  origin/__defaultVhost__/live/class-1  an SRS stream: the SRS server's name in agent.yaml ("origin"),
                                        the vhost, the app and the stream name
  streaming-in                          OWT pulling a stream from SRS into a room (an input of the room)
  view                                  a mixed output of an OWT room ("common"); an input in a view is seen in the mix
  + ~ -                                 the agent creates, changes (adds to a view), removes
`

// nextSteps ends the demo.
const nextSteps = `
Next: point the agent at your own SRS and OWT: README.md, "Running it against real SRS and OWT"
(examples/ has agent.yaml, policy.yaml and srs.conf to start from). Watch it with
"srs-owt-proxy status" or the /status/ page on agent.metrics_listen.
`

// quiet waits until the agent is idle and has printed nothing for a
// moment (at most 3 s), so that a step's last lines come before the next.
func quiet(lines *atomic.Int64, idle func() bool) {
	deadline := time.Now().Add(3 * time.Second)
	last, since := lines.Load(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if n := lines.Load(); n != last || !idle() {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) >= 300*time.Millisecond {
			return
		}
	}
}

// showDiff prints what `diff --config agentFile --policy policyFile` prints.
func showDiff(ctx context.Context, out io.Writer, agentFile, policyFile string, getenv func(string) string) error {
	f := files{config: agentFile, policy: policyFile}
	o, err := oneShot(&f, getenv, slog.New(slog.DiscardHandler), false)
	if err != nil {
		return err
	}
	defer func() { _ = o.Journal.Close(context.Background()) }()
	plan, _, err := o.Plan(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := plan.WriteText(&b); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n", indent(b.String()))
	return nil
}

// describe lists OWT's rooms and their inputs, one line each.
func describe(st owtfake.State) string {
	var b strings.Builder
	rooms := append([]owtfake.RoomState(nil), st.Rooms...)
	// Equivalent mutant: <= only reorders rooms of one name, whose order sort.Slice leaves unspecified anyway.
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].Name < rooms[j].Name })
	for _, r := range rooms {
		var ins []string
		for _, s := range r.Streams {
			ins = append(ins, fmt.Sprintf("%s%v", lab.StreamOf(s.URL), s.InViews))
		}
		fmt.Fprintf(&b, "     room %-13s %s\n", r.Name, strings.Join(ins, "  "))
		for _, u := range outputURLs(st, r.Name) {
			fmt.Fprintf(&b, "          %-13s mix of view common -> %s\n", "", u)
		}
	}
	return b.String()
}

// outputURLs returns the connected streaming-outs of the room named name.
func outputURLs(st owtfake.State, name string) []string {
	var out []string
	for _, r := range st.Rooms {
		if r.Name != name {
			continue
		}
		for _, o := range r.Outputs {
			if o.Kind == "streaming" && !o.Connecting {
				out = append(out, o.URL)
			}
		}
	}
	return out
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
