package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Plan is the plan of every room, in room order.
type Plan struct {
	Rooms []RoomPlan `json:"rooms"`
}

// Summary counts a plan's ops the way terraform does; held ops are counted apart.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Held    int `json:"held"`
	Notes   int `json:"notes"`
}

// Summary counts the ops of the plan.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, r := range p.Rooms {
		s.Notes += len(r.Notes)
		for _, o := range r.Ops {
			if o.Held != "" {
				s.Held++
				continue
			}
			switch o.Action() {
			case "add":
				s.Add++
			case "change":
				s.Change++
			default:
				s.Destroy++
			}
		}
	}
	return s
}

// InSync reports whether the plan has nothing to apply.
func (s Summary) InSync() bool { return s.Add+s.Change+s.Destroy == 0 }

// Sort orders rooms by name.
func (p *Plan) Sort() {
	sort.Slice(p.Rooms, func(i, j int) bool { return p.Rooms[i].Room < p.Rooms[j].Room })
}

// WriteText renders the plan like terraform plan.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	s := p.Summary()
	if s.InSync() && s.Held == 0 && s.Notes == 0 {
		b.WriteString("No changes. OWT matches SRS and the policy.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("srs-owt-proxy will perform the following actions:\n")
	for _, r := range p.Rooms {
		if len(r.Ops) == 0 && len(r.Notes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n  # room %q\n", r.Room)
		for _, o := range r.Ops {
			writeOp(&b, o)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  ! %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\nPlan: %d to add, %d to change, %d to destroy.\n", s.Add, s.Change, s.Destroy)
	if s.Held > 0 {
		fmt.Fprintf(&b, "Held back: %d operation(s) not applied now (see \"held\" above).\n", s.Held)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeOp(b *strings.Builder, o Op) {
	sym := map[string]string{"add": "+", "change": "~", "destroy": "-"}[o.Action()]
	prefix := "  " + sym + " "
	if o.Held != "" {
		prefix = "  # (held) " + sym + " "
	}
	var what string
	switch o.Kind {
	case OpCreateRoom:
		what = fmt.Sprintf("room %q", o.Room)
	case OpStartInput:
		what = "streaming-in " + o.Stream
	case OpAddView:
		what = fmt.Sprintf("%s into view %q", streamLabel(o), o.View)
	case OpRemoveView:
		what = fmt.Sprintf("%s out of view %q", streamLabel(o), o.View)
	case OpStopInput:
		what = "streaming-in " + streamLabel(o)
	case OpDeleteRoom:
		what = fmt.Sprintf("room %q (id %s)", o.Room, o.RoomID)
	case OpStartOutput, OpStopOutput:
		what = outputLabel(o)
	}
	fmt.Fprintf(b, "%s%s\n", prefix, what)
	if o.Kind == OpStartInput {
		fmt.Fprintf(b, "        url: %s\n", o.URL)
	}
	fmt.Fprintf(b, "        reason: %s\n", o.Reason)
	if o.Held != "" {
		fmt.Fprintf(b, "        held: %s\n", o.Held)
	}
}

func streamLabel(o Op) string {
	if o.StreamID == "" {
		return o.Stream
	}
	return o.Stream + " (" + o.StreamID + ")"
}

// JSONPlan is the machine-readable form of a plan (`diff --output json`).
type JSONPlan struct {
	FormatVersion string     `json:"format_version"`
	InSync        bool       `json:"in_sync"`
	Summary       Summary    `json:"summary"`
	Rooms         []RoomPlan `json:"rooms"`
}

// WriteJSON renders the plan as indented JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	s := p.Summary()
	rooms := p.Rooms
	if rooms == nil {
		rooms = []RoomPlan{}
	}
	for i := range rooms {
		if rooms[i].Ops == nil {
			rooms[i].Ops = []Op{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(JSONPlan{FormatVersion: "1", InSync: s.InSync(), Summary: s, Rooms: rooms})
}
