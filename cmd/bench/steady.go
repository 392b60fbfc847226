package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// steadyPoll is how often the steady scenario asks the fakes whether the
// resync is over; each ask costs this process some CPU, so it is rare.
const steadyPoll = 100 * time.Millisecond

// steadyQuiet is how long no agent call may reach the fakes before the
// resync counts as finished.
const steadyQuiet = 500 * time.Millisecond

// benchSteady builds sc.SteadyStreams streams in sc.SteadyRooms rooms,
// lets the agent converge, then measures one resync. The fakes run in a
// child process, so the CPU time and RSS measured here are the agent's.
func benchSteady(ctx context.Context, sc scale, heapProfile, cpuProfile string, rep *report) error {
	e, err := newEnv(ctx, envConfig{Interval: time.Hour})
	if err != nil {
		return err
	}
	defer e.close()
	// Build the state without injected latency: only the resync is measured.
	buildStart := time.Now()
	w, err := e.publishSilently(ctx, "steady", sc.SteadyRooms, sc.SteadyStreams/sc.SteadyRooms)
	if err != nil {
		return fmt.Errorf("steady: %w", err)
	}
	published := time.Since(buildStart)
	if err := e.start(ctx, 10*time.Minute); err != nil {
		return fmt.Errorf("steady: agent start: %w", err)
	}
	if _, err := e.converged(ctx, w, sc.SteadyStreams, 10*time.Minute, 250*time.Millisecond); err != nil {
		return fmt.Errorf("steady: building %d streams: %w", sc.SteadyStreams, err)
	}
	if err := e.waitIdle(ctx, time.Minute); err != nil {
		return fmt.Errorf("steady: %w", err)
	}
	built := time.Since(buildStart)

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("resync cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("resync cpu profile (is --cpuprofile also set?): %w", err)
		}
	}
	// One resync's CPU on a shared machine is noisy: measure steadyResyncs
	// resyncs one after the other and report the median; reads and writes
	// must hold for every one of them (the worst is reported).
	// Each resync is followed by the decode-only floor (floor.go): the
	// first resync's reads replayed and decoded by plain net/http and
	// encoding/json, in this same process while the agent is idle, so both
	// see the same heap, runtime and machine noise.
	fc := newFloorClient(e.Fakes.OWTURL, e.Fakes.SRSURL, e.concurrency)
	defer fc.close()
	var reads []apiRead
	var cpus, floors []time.Duration
	var took time.Duration
	var counts map[string]int
	var decoded floorCounts
	owtReads, writes, srsReads, polls := 0, 0, 0, 0
	for i := 0; i < steadyResyncs; i++ {
		if err := e.Fakes.resetCounts(ctx); err != nil {
			return fmt.Errorf("steady: %w", err)
		}
		runtime.GC()
		c, t, a, p, err := measureResync(ctx, e)
		if err != nil {
			return err
		}
		r, w := owtReadsWrites(a.OWT)
		cpus, polls = append(cpus, c), polls+p
		if r >= owtReads {
			owtReads, counts, took = r, a.OWT, t
		}
		writes = max(writes, w)
		srsReads = max(srsReads, int(a.SRSReads))
		if i == 0 {
			if reads, err = e.Fakes.reads(ctx); err != nil {
				return fmt.Errorf("steady: the resync's reads: %w", err)
			}
			if len(reads) >= maxRecordedReads {
				return fmt.Errorf("steady: the resync made %d reads or more, more than the fakes record", len(reads))
			}
			if _, err := fc.replay(ctx, reads); err != nil { // warms the connections up
				return fmt.Errorf("steady: %w", err)
			}
		}
		runtime.GC()
		c0 := cpuTime()
		if decoded, err = fc.replay(ctx, reads); err != nil {
			return fmt.Errorf("steady: %w", err)
		}
		floors = append(floors, cpuTime()-c0)
	}
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	slices.Sort(cpus)
	cpu := cpus[len(cpus)/2]
	slices.Sort(floors)
	floorCPU := floors[len(floors)/2]
	cpuRatio := float64(cpu) / float64(max(floorCPU, time.Microsecond))

	runtime.GC()
	debug.FreeOSMemory()
	rss := rssMiB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if heapProfile != "" {
		if err := writeHeapProfile(heapProfile); err != nil {
			return err
		}
	}

	// A full last page takes one more (empty) page to know it was the last.
	pages := sc.SteadyRooms/owtapi.DefaultPageSize + 1
	owtFloor := sc.SteadyRooms + pages
	cpuPer := float64(cpu.Microseconds()) / float64(sc.SteadyStreams)
	rep.add(figure{Key: "steady_rooms", Kind: kindAbsolute, Floor: "- (scale)", Measured: fmt.Sprintf("%d streams", sc.SteadyStreams),
		Value: float64(sc.SteadyRooms), Target: "-", Met: true})
	rep.add(figure{Key: "steady_reads_per_resync", Kind: kindCount, Floor: fmt.Sprintf("OWT %d rooms + %d pages", sc.SteadyRooms, pages),
		Measured: fmt.Sprintf("OWT %d + SRS %d", owtReads, srsReads), Value: float64(owtReads + srsReads),
		Target: fmt.Sprintf("OWT <= %d", owtFloor), Met: owtReads <= owtFloor})
	rep.add(figure{Key: "steady_writes", Kind: kindCount, Floor: "0", Measured: strconv.Itoa(writes), Value: float64(writes), Target: "== 0", Met: writes == 0})
	rep.add(figure{Key: "steady_cpu_floor_ratio", Kind: kindRatio,
		Floor:    fmt.Sprintf("decode-only %s CPU (%d reads)", floorCPU.Round(time.Millisecond), len(reads)),
		Measured: fmt.Sprintf("agent %s CPU", cpu.Round(time.Millisecond)),
		Value:    cpuRatio, Target: "<= 1.5", Met: cpuRatio <= 1.5})
	rep.add(figure{Key: "steady_cpu_us_per_stream", Kind: kindAbsolute, Floor: "- (absolute)",
		Measured: fmt.Sprintf("median %s CPU / %d (agent process only)", cpu.Round(time.Millisecond), sc.SteadyStreams),
		Value:    cpuPer, Target: "< 100", Met: cpuPer < 100})
	rep.add(figure{Key: "steady_rss_mib", Kind: kindAbsolute, Floor: "- (absolute)", Measured: "VmRSS after GC (agent process only)",
		Value: rss, Target: "< 100", Met: rss < 100})
	rep.detail("steady", map[string]any{"rooms": sc.SteadyRooms, "streams": sc.SteadyStreams,
		"publish_ms": msf(published), "build_ms": msf(built),
		"resync_ms": msf(took), "owt_calls": counts, "owt_reads": owtReads, "srs_reads": srsReads, "writes": writes,
		"cpu_ms": msf(cpu), "cpu_ms_each": durationsMs(cpus), "cpu_note": fmt.Sprintf("median over %d resyncs of the user+sys of the agent's process (the fakes run in a child process) from the resync's start "+
			"until %s without calls, including %d polls of the fakes' activity in all", steadyResyncs, steadyQuiet, polls),
		"floor_cpu_ms": msf(floorCPU), "floor_cpu_ms_each": durationsMs(floors), "floor_decoded": decoded, "cpu_floor_ratio": cpuRatio,
		"floor_note": "decode-only floor: the first resync's GETs (recorded by the fakes child) replayed in this process while the agent is idle, " +
			"after each resync, with plain net/http (keep-alive, reconcile.concurrency at once), an MAuth header on each OWT request, " +
			"and encoding/json into minimal structs; user+sys of this process around the replay, median of the same count",
		"rss_mib": rss, "heap_inuse_mib": float64(ms.HeapInuse) / (1 << 20),
		"rss_note": "VmRSS of the agent's process after GC and FreeOSMemory; the fakes run in a child process"})
	return nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMiB reads VmRSS from /proc/self/status (0 when unavailable).
func rssMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseFloat(fields[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// writeHeapProfile writes the live heap to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return nil
}

// steadyResyncs is how many resyncs the steady figure is the median of.
const steadyResyncs = 3

// measureResync triggers one resync and returns the agent process's CPU
// time until no agent call has reached either fake for steadyQuiet, how
// long the resync's calls took, and the fakes' activity.
func measureResync(ctx context.Context, e *env) (time.Duration, time.Duration, activity, int, error) {
	cpu0 := cpuTime()
	start := time.Now()
	e.Agent.Engine().Resync()
	var last activity
	polls := 0
	if _, err := waitFor(ctx, 5*time.Minute, steadyPoll, func() string {
		polls++
		a, err := e.Fakes.activity(ctx)
		if err != nil {
			return err.Error()
		}
		last = a
		switch {
		case a.OWT[owtfake.RouteListRooms] == 0:
			return "resync has not listed the rooms yet"
		case a.InFlight > 0 || time.Since(time.Unix(0, a.LastCall)) < steadyQuiet:
			return "resync running"
		}
		return ""
	}); err != nil {
		return 0, 0, activity{}, polls, fmt.Errorf("steady: resync: %w", err)
	}
	return cpuTime() - cpu0, time.Unix(0, last.LastCall).Sub(start), last, polls, nil
}

func durationsMs(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = msf(d)
	}
	return out
}
