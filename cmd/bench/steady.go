package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// benchSteady builds sc.SteadyStreams streams in sc.SteadyRooms rooms,
// lets the agent converge, then measures one resync.
func benchSteady(ctx context.Context, sc scale, heapProfile, cpuProfile string, rep *report) error {
	e, err := newEnv(envConfig{Interval: time.Hour})
	if err != nil {
		return err
	}
	defer e.close()
	w := e.publishSilently("steady", sc.SteadyRooms, sc.SteadyStreams/sc.SteadyRooms)
	// Build the state without injected latency: only the resync is measured.
	buildStart := time.Now()
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

	runtime.GC()
	e.OWT.ResetCounts()
	e.srsReads.Store(0)
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
	cpu0 := cpuTime()
	start := time.Now()
	e.Agent.Engine().Resync()
	// Done when no call has reached either fake for 500 ms after the room list.
	var last map[string]int
	var lastSRS int64
	var stableSince time.Time
	if _, err := waitFor(ctx, 5*time.Minute, 10*time.Millisecond, func() string {
		c, s := e.OWT.Counts(), e.srsReads.Load()
		if c[owtfake.RouteListRooms] == 0 || !maps.Equal(c, last) || s != lastSRS {
			last, lastSRS, stableSince = c, s, time.Now()
			return "resync running"
		}
		if time.Since(stableSince) < 500*time.Millisecond {
			return "resync may still be running"
		}
		return ""
	}); err != nil {
		return fmt.Errorf("steady: resync: %w", err)
	}
	took := stableSince.Sub(start)
	cpu := cpuTime() - cpu0
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	counts := e.OWT.Counts()
	owtReads, writes := owtReadsWrites(counts)
	srsReads := int(e.srsReads.Load())

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
	rep.add(figure{Key: "steady_rooms", Floor: "-", Measured: fmt.Sprintf("%d streams", sc.SteadyStreams),
		Value: float64(sc.SteadyRooms), Target: "-", Met: true})
	rep.add(figure{Key: "steady_reads_per_resync", Floor: fmt.Sprintf("OWT %d rooms + %d pages", sc.SteadyRooms, pages),
		Measured: fmt.Sprintf("OWT %d + SRS %d", owtReads, srsReads), Value: float64(owtReads + srsReads),
		Target: fmt.Sprintf("OWT <= %d", owtFloor), Met: owtReads <= owtFloor})
	rep.add(figure{Key: "steady_writes", Floor: "0", Measured: strconv.Itoa(writes), Value: float64(writes), Target: "== 0", Met: writes == 0})
	rep.add(figure{Key: "steady_cpu_us_per_stream", Floor: "-",
		Measured: fmt.Sprintf("%s CPU / %d (whole process, incl. fakes)", cpu.Round(time.Millisecond), sc.SteadyStreams),
		Value:    cpuPer, Target: "< 100", Met: cpuPer < 100})
	rep.add(figure{Key: "steady_rss_mib", Floor: "-", Measured: "VmRSS after GC (whole process, incl. fakes)",
		Value: rss, Target: "< 100", Met: rss < 100})
	rep.detail("steady", map[string]any{"rooms": sc.SteadyRooms, "streams": sc.SteadyStreams, "build_ms": msf(built),
		"resync_ms": msf(took), "owt_calls": counts, "owt_reads": owtReads, "srs_reads": srsReads, "writes": writes,
		"cpu_ms": msf(cpu), "cpu_note": "user+sys of the whole process: agent, fake OWT, fake SRS and the bench; an upper bound for the agent",
		"rss_mib": rss, "heap_inuse_mib": float64(ms.HeapInuse) / (1 << 20),
		"rss_note": "VmRSS of the whole process after GC, fakes holding every room and stream included; an upper bound for the agent"})
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
