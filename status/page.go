package status

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

//go:embed page.html.tmpl
var pageFS embed.FS

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 5

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"age":    ageText,
	"ago":    func(at, now time.Time) string { return ageText(now.Sub(at).Seconds()) },
	"join":   strings.Join,
	"symbol": symbol,
	"left":   func(s float64) string { return ageText(s) },
}).ParseFS(pageFS, "page.html.tmpl"))

// pageData is what the template renders.
type pageData struct {
	*Report
	Query   string
	Rooms   []reconcile.RoomStatus
	Hidden  int
	Refresh int
}

// WritePage renders the HTML status page; query, when not empty, keeps
// the rooms whose name or streams contain it (case-insensitive).
func WritePage(w io.Writer, r *Report, query string) error {
	d := pageData{Report: r, Query: query, Refresh: RefreshSeconds}
	d.Rooms, d.Hidden = filterRooms(r.Rooms, query)
	return page.Execute(w, d)
}

// filterRooms keeps the rooms that match q: a room whose name matches is
// kept whole, otherwise only its matching streams are.
func filterRooms(rooms []reconcile.RoomStatus, q string) (kept []reconcile.RoomStatus, hidden int) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return rooms, 0
	}
	for _, r := range rooms {
		if strings.Contains(strings.ToLower(r.Name), q) {
			kept = append(kept, r)
			continue
		}
		var ins []reconcile.InputStatus
		for _, in := range r.Inputs {
			if strings.Contains(strings.ToLower(in.Stream), q) {
				ins = append(ins, in)
			}
		}
		if len(ins) == 0 {
			hidden++
			continue
		}
		r.Inputs = ins
		var ops []reconcile.OpStatus
		for _, o := range r.Ops {
			if strings.Contains(strings.ToLower(o.Stream), q) {
				ops = append(ops, o)
			}
		}
		r.Ops = ops
		kept = append(kept, r)
	}
	return kept, hidden
}

// ageText prints a number of seconds the way an operator reads it.
func ageText(s float64) string {
	switch {
	case s < 0:
		return "0s"
	case s < 10:
		return fmt.Sprintf("%.1fs", s)
	case s < 120:
		return fmt.Sprintf("%.0fs", s)
	case s < 7200:
		return fmt.Sprintf("%.0fm", s/60)
	case s < 172800:
		return fmt.Sprintf("%.0fh", s/3600)
	}
	return fmt.Sprintf("%.0fd", s/86400)
}

// symbol is the terraform-like sign of an action.
func symbol(action string) string {
	switch action {
	case "add":
		return "+"
	case "change":
		return "~"
	}
	return "-"
}
