package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// t0 is the snapshot time every planner test starts from.
func t0() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) }

// key is a stream of the default vhost of SRS server "origin" in app "live".
func key(stream string) StreamKey {
	return StreamKey{Server: "origin", Vhost: "__defaultVhost__", App: "live", Stream: stream}
}

// pullURL is the default pull URL of key(stream).
func pullURL(stream string) string {
	return "rtmp://127.0.0.1:1935/live/" + stream + "?vhost=__defaultVhost__"
}

// want builds a desired input of key(stream) pulled from pullURL(stream).
func want(stream string, views ...string) *DesiredInput {
	return &DesiredInput{Key: key(stream), URL: pullURL(stream), Views: views, Transport: "tcp", BufferSize: 8192}
}

// desiredRoom builds a desired room holding ins.
func desiredRoom(name string, create bool, ins ...*DesiredInput) *DesiredRoom {
	d := &DesiredRoom{Name: name, Create: create, Inputs: map[StreamKey]*DesiredInput{}}
	for _, in := range ins {
		in.Room = name
		d.Inputs[in.Key] = in
	}
	return d
}

// owned builds an input the agent owns, pulling pullURL(stream).
func owned(id, stream string, inViews ...string) Input {
	return Input{ID: id, Key: key(stream), InViews: inViews, URL: pullURL(stream)}
}

// opView is the part of an Op the tests compare.
type opView struct {
	Kind     OpKind
	Room     string
	RoomID   string
	Stream   string
	StreamID string
	View     string
	URL      string
	Reason   string
	Rule     string
}

func (v opView) String() string {
	s := fmt.Sprintf("%s room=%s/%s stream=%s id=%s view=%s url=%s reason=%q", v.Kind, v.Room, v.RoomID, v.Stream, v.StreamID, v.View, v.URL, v.Reason)
	if v.Rule != "" {
		s += " held=" + v.Rule
	}
	return s
}

func project(t *testing.T, ops []Op) []opView {
	t.Helper()
	out := []opView{}
	for _, o := range ops {
		if (o.Held == "") != (o.Rule == "") {
			t.Errorf("op %s %s: held %q but rule %q: both or neither must be set", o.Kind, o.Stream, o.Held, o.Rule)
		}
		out = append(out, opView{Kind: o.Kind, Room: o.Room, RoomID: o.RoomID, Stream: o.Stream, StreamID: o.StreamID,
			View: o.View, URL: o.URL, Reason: o.Reason, Rule: o.Rule})
	}
	return out
}

func assertOps(t *testing.T, got []Op, want []opView) {
	t.Helper()
	g := project(t, got)
	if want == nil {
		want = []opView{}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("ops:\n got:\n%s\nwant:\n%s", listOps(g), listOps(want))
	}
}

func listOps(ops []opView) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString("  " + o.String() + "\n")
	}
	if len(ops) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

func assertKeys(t *testing.T, what string, got, want []StreamKey) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}
