package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Kinds of figure.
const (
	kindRatio    = "ratio"    // measured / a floor taken in the same run
	kindCount    = "count"    // a count with an exact floor (calls, writes, duplicates)
	kindAbsolute = "absolute" // a machine-dependent absolute (CPU time, memory): no floor
)

// figure is one measured number beside its floor and target.
type figure struct {
	Key      string  // JSON key
	Kind     string  // kindRatio, kindCount or kindAbsolute
	Name     string  // human label
	Floor    string  // what the measurement is compared with
	Measured string  // the raw measurement
	Value    float64 // the number written to JSON (a ratio or a count)
	Target   string  // e.g. "<= 1.5"
	Met      bool
	RT       string // injected OWT round trip, "" when not relevant
}

// report collects figures and free-form details.
type report struct {
	Figures []figure
	Details map[string]any
}

func (r *report) add(f figure) { r.Figures = append(r.Figures, f) }

func (r *report) detail(scenario string, v any) {
	if r.Details == nil {
		r.Details = map[string]any{}
	}
	r.Details[scenario] = v
}

// printTable writes the human table.
func (r *report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tKIND\tRT\tFLOOR\tMEASURED\tRATIO/VALUE\tTARGET\t")
	for _, f := range r.Figures {
		status := ""
		if !f.Met {
			status = "MISSED"
		}
		rt := f.RT
		if rt == "" {
			rt = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Key, f.Kind, rt, f.Floor, f.Measured, trimFloat(f.Value), f.Target, status)
	}
	_ = tw.Flush()
}

// writeJSON writes every figure's value under its key, plus "details",
// which also holds each figure's kind, floor, measurement and target
// under "figures".
func (r *report) writeJSON(path string) error {
	out := map[string]any{}
	rows := map[string]any{}
	for _, f := range r.Figures {
		out[f.Key] = f.Value
		rows[f.Key] = map[string]any{"kind": f.Kind, "round_trip": f.RT, "floor": f.Floor, "measured": f.Measured,
			"target": f.Target, "met": f.Met}
	}
	if len(rows) > 0 {
		r.detail("figures", rows)
	}
	if r.Details != nil {
		out["details"] = r.Details
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results to %s (set $BENCH_OUT to another path): %w", path, err)
	}
	return nil
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
