package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve the fakes when a test re-executes it
// with serveFakesFlag, as the bench binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == serveFakesFlag {
		os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tinyScale runs every scenario with about 20 streams.
func tinyScale() scale {
	return scale{Hooks: 20, HookRounds: 1, HookRooms: 2, ViewRepeats: 1,
		StormStreams: 20, StormRooms: 2, SteadyStreams: 20, SteadyRooms: 2, DriftStreams: 20, DriftRooms: 2,
		CrashStreams: 20, CrashRooms: 2}
}

func TestRunWritesEveryFigure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	o := options{Scale: tinyScale(), RoundTrip: 5 * time.Millisecond, FastRoundTrip: 2 * time.Millisecond,
		Interval: time.Second, Out: out, CrashHold: 300 * time.Millisecond, CrashPendingHold: 500 * time.Millisecond}
	var log bytes.Buffer
	rep, err := run(context.Background(), o, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if err := rep.writeJSON(out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("results are not JSON: %v\n%s", err, raw)
	}
	keys := []string{"hook_p99_ratio", "publish_to_view_new_room_ratio", "publish_to_view_existing_room_ratio",
		"storm_ratio", "steady_rooms", "steady_reads_per_resync", "steady_writes", "steady_cpu_us_per_stream",
		"steady_rss_mib", "drift_repair_ratio", "steady_cpu_floor_ratio", "crash_duplicates", "crash_converge_ratio",
		"failover_ratio", "failover_hooks_refused"}
	for _, k := range keys {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("key %q missing or not a number: %v", k, got[k])
			continue
		}
		if k != "steady_writes" && k != "crash_duplicates" && k != "failover_hooks_refused" && v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, v)
		}
	}
	if len(got) != len(keys)+1 {
		t.Errorf("got %d top-level keys, want the %d figures plus details", len(got), len(keys))
	}
	if got["steady_writes"] != 0.0 {
		t.Errorf("steady_writes = %v, want 0: a converged resync must not write", got["steady_writes"])
	}
	if got["steady_rooms"] != 2.0 {
		t.Errorf("steady_rooms = %v, want 2", got["steady_rooms"])
	}
	for _, f := range rep.Figures {
		if f.Kind != kindRatio && f.Kind != kindCount && f.Kind != kindAbsolute {
			t.Errorf("figure %s has kind %q, want ratio, count or absolute", f.Key, f.Kind)
		}
	}
	details, _ := got["details"].(map[string]any)
	for _, k := range []string{"figures", "crash", "steady", "failover"} {
		if details[k] == nil {
			t.Errorf("details.%s missing", k)
		}
	}
	if crash, _ := details["crash"].(map[string]any); crash != nil {
		if n, _ := crash["posts_created_by_first_agent"].(float64); n < 1 {
			t.Errorf("crash: %v POSTs created by the first agent, want at least one held POST", crash["posts_created_by_first_agent"])
		}
	}
	var table bytes.Buffer
	rep.printTable(&table)
	for _, k := range keys {
		if !strings.Contains(table.String(), k) {
			t.Errorf("table lacks %s:\n%s", k, table.String())
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    options
		want string
	}{
		{"unknown scenario", options{Scale: tinyScale(), Interval: time.Second, Only: "nope"}, "unknown scenario"},
		{"short interval", options{Scale: tinyScale(), Interval: 100 * time.Millisecond}, "at least 1s"},
		{"pending hold not above the hold", options{Scale: tinyScale(), Interval: time.Second, CrashHold: time.Second, CrashPendingHold: time.Second},
			"must be above"},
		{"uneven rooms", options{Scale: scale{StormStreams: 7, StormRooms: 2, SteadyStreams: 2, SteadyRooms: 1, DriftStreams: 1, DriftRooms: 1,
			CrashStreams: 1, CrashRooms: 1}, Interval: time.Second, CrashHold: time.Second, CrashPendingHold: 2 * time.Second}, "multiple"},
		{"uneven crash rooms", options{Scale: scale{StormStreams: 2, StormRooms: 2, SteadyStreams: 2, SteadyRooms: 1, DriftStreams: 1, DriftRooms: 1,
			CrashStreams: 3, CrashRooms: 2}, Interval: time.Second, CrashHold: time.Second, CrashPendingHold: 2 * time.Second}, "multiple"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(context.Background(), tc.o, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0.1, 1}, {0.2, 2}}
	for _, tc := range tests {
		if got := percentile(d, tc.q); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}
