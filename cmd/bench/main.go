// Command bench drives the real srs-owt-proxy engine against the in-memory
// SRS and OWT with a fixed injected OWT round trip, prints each figure of
// DESIGN.md section 6 beside its floor and target, and writes the figures
// as JSON to $BENCH_OUT (default bench-results.json).
//
// The agent (hook server and engine) and the load run in this process; the
// fakes run in a child process (this binary run with --serve-fakes), so
// the CPU time and RSS this process reports are the agent's own. The crash
// scenario runs the built agent binary as a further child, so that it can
// be SIGKILLed. Each figure has a kind: a ratio against a floor taken in
// the same run, a count against an exact floor, or an absolute (CPU per
// stream, RSS) that only compares runs on one machine. A missed target is
// printed as MISSED; the exit status is non-zero only when the benchmark
// itself fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// scale sizes every scenario.
type scale struct {
	Hooks, HookRounds, HookRooms int
	ViewRepeats                  int
	StormStreams, StormRooms     int
	SteadyStreams, SteadyRooms   int
	DriftStreams, DriftRooms     int
	CrashStreams, CrashRooms     int
}

// fullScale is the scale of DESIGN.md section 6.
func fullScale() scale {
	return scale{Hooks: 500, HookRounds: 5, HookRooms: 20, ViewRepeats: 5,
		StormStreams: 1000, StormRooms: 100, SteadyStreams: 10000, SteadyRooms: 1000, DriftStreams: 1000, DriftRooms: 100,
		CrashStreams: 1000, CrashRooms: 100}
}

// quickScale is about a tenth of it, for a smoke run.
func quickScale() scale {
	return scale{Hooks: 50, HookRounds: 2, HookRooms: 5, ViewRepeats: 3,
		StormStreams: 100, StormRooms: 10, SteadyStreams: 1000, SteadyRooms: 100, DriftStreams: 100, DriftRooms: 10,
		CrashStreams: 100, CrashRooms: 10}
}

// options is one benchmark run.
type options struct {
	Scale scale
	// RoundTrip is OWT's injected latency for the hook and publish-to-view
	// figures; FastRoundTrip for storm and drift (keeps the run short).
	RoundTrip, FastRoundTrip time.Duration
	// Interval is the resync interval of the drift scenario.
	Interval time.Duration
	// CrashHold is how long OWT holds each streaming-in POST in the crash
	// scenario; CrashPendingHold the agent's owt.pending_hold there.
	CrashHold, CrashPendingHold time.Duration
	// AgentBin is the agent binary the crash scenario runs ("" = build it).
	AgentBin string
	Only     string // one scenario name, "" = all
	Out      string // JSON path
	// HeapProfile, if set, receives a heap profile taken in the steady
	// state (10,000 streams converged).
	HeapProfile string
	// ResyncProfile, if set, receives a CPU profile of the steady resync.
	ResyncProfile string
}

// scenarios are the scenario names in run order.
func scenarios() []string {
	return []string{"hooks", "view", "storm", "steady", "drift", "crash", "failover"}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == serveFakesFlag {
		return serveFakes(args[1:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "scale every scenario down about 10x (smoke run)")
	rt := fs.Duration("round-trip", 200*time.Millisecond, "injected OWT round trip for the hook and publish-to-view figures")
	fast := fs.Duration("fast-round-trip", 20*time.Millisecond, "injected OWT round trip for the storm and drift figures")
	interval := fs.Duration("interval", 2*time.Second, "resync interval of the drift scenario (at least 1s)")
	crashHold := fs.Duration("crash-hold", 3*time.Second, "how long OWT holds each streaming-in POST in the crash scenario")
	crashPending := fs.Duration("crash-pending-hold", 4*time.Second, "the agent's owt.pending_hold in the crash scenario (a little above --crash-hold)")
	agentBin := fs.String("agent-bin", "", "srs-owt-proxy binary for the crash and failover scenarios (default: go build it into a temp dir)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	resyncProfile := fs.String("resync-cpuprofile", "", "write a CPU profile of the steady scenario's resyncs (and their decode-only floor replays) to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	only := fs.String("only", "", "run one scenario: "+strings.Join(scenarios(), ", "))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o := options{Scale: fullScale(), RoundTrip: *rt, FastRoundTrip: *fast, Interval: *interval, Only: *only, Out: os.Getenv("BENCH_OUT"),
		CrashHold: *crashHold, CrashPendingHold: *crashPending, AgentBin: *agentBin}
	if *quick {
		o.Scale = quickScale()
	}
	if o.Out == "" {
		o.Out = "bench-results.json"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench: cpu profile:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	o.ResyncProfile = *resyncProfile
	if *memProfile != "" {
		o.HeapProfile = *memProfile
	}
	rep, err := run(ctx, o, stdout)
	if rep != nil && len(rep.Figures) > 0 {
		fmt.Fprintln(stdout)
		rep.printTable(stdout)
		if werr := rep.writeJSON(o.Out); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stdout, "\nfigures written to %s\n", o.Out)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench failed:", err)
		return 1
	}
	return 0
}

// run runs the selected scenarios in order; progress goes to log.
func run(ctx context.Context, o options, log io.Writer) (*report, error) {
	if o.Only != "" && !contains(scenarios(), o.Only) {
		return nil, fmt.Errorf("--only %q: unknown scenario; use one of %s", o.Only, strings.Join(scenarios(), ", "))
	}
	if o.Interval < time.Second {
		return nil, fmt.Errorf("--interval %s: the policy's resync interval must be at least 1s", o.Interval)
	}
	sc := o.Scale
	if o.CrashHold <= 0 || o.CrashPendingHold <= o.CrashHold {
		return nil, fmt.Errorf("--crash-pending-hold %s must be above --crash-hold %s (and the hold above 0): the agent must wait out a POST OWT still holds", o.CrashPendingHold, o.CrashHold)
	}
	if sc.StormStreams%sc.StormRooms != 0 || sc.SteadyStreams%sc.SteadyRooms != 0 || sc.DriftStreams%sc.DriftRooms != 0 ||
		sc.CrashStreams%sc.CrashRooms != 0 {
		return nil, errors.New("scale: every stream count must be a multiple of its room count")
	}
	rep := &report{}
	steps := map[string]func() error{
		"hooks":  func() error { return benchHooks(ctx, sc, o.RoundTrip, rep) },
		"view":   func() error { return benchView(ctx, sc, o.RoundTrip, rep) },
		"storm":  func() error { return benchStorm(ctx, sc, o.FastRoundTrip, rep) },
		"steady": func() error { return benchSteady(ctx, sc, o.HeapProfile, o.ResyncProfile, rep) },
		"drift":  func() error { return benchDrift(ctx, sc, o.FastRoundTrip, o.Interval, rep) },
		"crash": func() error {
			return benchCrash(ctx, sc, crashOptions{RT: o.FastRoundTrip, Hold: o.CrashHold, PendingHold: o.CrashPendingHold, AgentBin: o.AgentBin}, rep)
		},
		"failover": func() error { return benchFailover(ctx, sc, o.FastRoundTrip, o.AgentBin, rep) },
	}
	for _, name := range scenarios() {
		if o.Only != "" && o.Only != name {
			continue
		}
		start := time.Now()
		fmt.Fprintf(log, "running %-7s ...", name)
		if err := steps[name](); err != nil {
			fmt.Fprintln(log, " failed")
			return rep, err
		}
		fmt.Fprintf(log, " done in %s\n", time.Since(start).Round(time.Millisecond))
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
