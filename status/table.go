package status

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// WriteTable prints the report the way kubectl prints resources: a header
// of key facts, then the sources, then one row per stream in each room
// (and per room-level operation), then unroutable streams and errors.
func WriteTable(w io.Writer, r *Report) error {
	// Equivalent mutants: tabwidth (4) only counts when padding with tabs, and every cell is at least the padding (3) wide, so minwidth 0 or 1 print alike.
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	ready := "yes"
	if !r.Ready {
		ready = "no: " + r.NotReady
	}
	fmt.Fprintf(tw, "AGENT\tROLE\tLEADER\tIDENTITY\tVERSION\tREADY\n%s\t%s\t%s\t%s\t%s\t%s\n\n", r.Agent, r.Role, r.Leader, r.Identity, r.Version, ready)

	fmt.Fprintln(tw, "SOURCE\tSTATE\tAGE\tDETAIL")
	for _, s := range r.SRS {
		fmt.Fprintf(tw, "srs/%s\t%s\t%s\t%s\n", s.Name, okText(s.OK, "failing"), ageOr(s.AgeSeconds, s.ReadAt.IsZero(), "never"),
			withErr(fmt.Sprintf("%d live stream(s)", s.Live), s.Error))
	}
	fmt.Fprintf(tw, "owt\t%s\t%s\t%s\n", okText(r.OWT.OK, "failing"), ageOr(r.OWT.AgeSeconds, r.OWT.ListedAt.IsZero(), "never"),
		withErr(fmt.Sprintf("%d room(s)", r.OWT.Rooms), r.OWT.Error))
	storeAge := "-"
	if !r.Store.LastWrite.IsZero() {
		storeAge = ageText(r.At.Sub(r.Store.LastWrite).Seconds())
	}
	fmt.Fprintf(tw, "store\t%s\t%s\t%s\n", okText(r.Store.Healthy, "write failed"), storeAge,
		withErr(fmt.Sprintf("%s: %d owned room(s), %d open intent(s)", orDash(r.Store.Name), r.Store.OwnedRooms, r.Store.OpenIntents), r.Store.Error))
	polAge := "-"
	if !r.Policy.LoadedAt.IsZero() {
		polAge = ageText(r.At.Sub(r.Policy.LoadedAt).Seconds())
	}
	fmt.Fprintf(tw, "policy\t%s\t%s\t%s\n", okText(r.Policy.LastReloadAt.IsZero() || r.Policy.LastReloadOK, "reload failed"), polAge,
		withErr(fmt.Sprintf("generation %d: %s", r.Policy.Generation, r.Policy.Summary), r.Policy.LastReloadError))
	fmt.Fprintln(tw)

	fmt.Fprintln(tw, "ROOM\tSTREAM\tDESIRED\tOWT\tIN VIEW\tPLAN")
	if len(r.Rooms) == 0 {
		fmt.Fprintln(tw, "(none)\t\t\t\t\t")
	}
	for _, room := range r.Rooms {
		name := room.Name
		if !room.Exists {
			name += " (not in OWT)"
		}
		rows := 0
		for _, o := range room.Ops {
			if o.Stream == "" {
				fmt.Fprintf(tw, "%s\t-\t\t%s\t\t%s\n", name, orDash(room.ID), opText(o))
				rows++
			}
		}
		for _, in := range room.Inputs {
			desired, inView := "no", "-"
			if in.Desired {
				desired = "yes"
				if in.Hint {
					desired = "yes (hook)"
				}
				inView = "no"
				if in.InView {
					inView = "yes"
				}
			}
			var ids []string
			for _, o := range in.OWT {
				ids = append(ids, o.ID)
			}
			owt := orDash(strings.Join(ids, ","))
			if p := in.Pending; p != nil {
				if p.InProgress {
					owt += " (POST in progress)"
				} else {
					owt += fmt.Sprintf(" (POST unknown, holds %s)", ageText(p.TimeLeftSeconds))
				}
			}
			var plan []string
			for _, o := range room.Ops {
				if o.Stream == in.Stream {
					plan = append(plan, opText(o))
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, in.Stream, desired, owt, inView, orDash(strings.Join(plan, "; ")))
			rows++
		}
		for _, o := range room.Outputs {
			desired, plan := "no", "-"
			if o.Desired {
				desired = "yes"
			}
			if o.Failing > 0 {
				plan = fmt.Sprintf("failing (%dx), restart in %s", o.Failing, ageText(o.RetryInSeconds))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t%s\n", name, o.Output, desired, orDash(o.ID), plan)
			rows++
		}
		if rows == 0 {
			fmt.Fprintf(tw, "%s\t-\t\t%s\t\t-\n", name, orDash(room.ID))
		}
	}
	s := r.Summary
	fmt.Fprintf(tw, "\nPlan: %d to add, %d to change, %d to destroy; %d held; %d room(s) queued.\n", s.Add, s.Change, s.Destroy, s.Held, r.QueueDepth)

	if len(r.Unroutable) > 0 {
		fmt.Fprintln(tw, "\nUNROUTABLE STREAM\tWHY")
		for _, u := range r.Unroutable {
			fmt.Fprintf(tw, "%s\t%s\n", u.Stream, u.Why)
		}
	}
	var notes []string
	for _, room := range r.Rooms {
		for _, n := range room.Notes {
			notes = append(notes, room.Name+"\tnote\t"+n)
		}
		if room.LastError != "" {
			notes = append(notes, fmt.Sprintf("%s\terror %s ago\t%s", room.Name, ageText(r.At.Sub(room.LastErrorAt).Seconds()), room.LastError))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(tw, "\nROOM\tKIND\tDETAIL")
		for _, n := range notes {
			fmt.Fprintln(tw, n)
		}
	}
	return tw.Flush()
}

func opText(o reconcile.OpStatus) string {
	t := symbol(o.Action) + " " + string(o.Kind)
	if o.View != "" {
		t += " " + o.View
	}
	if o.Held != "" {
		t += " (held: " + o.Rule
		if o.TimeLeftSeconds > 0 {
			t += ", " + ageText(o.TimeLeftSeconds) + " left"
		}
		t += ")"
	}
	return t
}

func okText(ok bool, bad string) string {
	if ok {
		return "ok"
	}
	return bad
}

func ageOr(s float64, never bool, alt string) string {
	if never {
		return alt
	}
	return ageText(s)
}

func withErr(s, err string) string {
	if err == "" {
		return s
	}
	return s + "; " + err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
