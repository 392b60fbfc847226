package reconcile

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

const desiredPolicy = `
reconcile: {delete_grace: 5s}
defaults: {views: [common]}
routes:
  - match: {app: private}
    action: deny
  - match: {app: live, query: {tier: gold}}
    room: "gold-{{.Stream}}"
    views: [common, hd]
  - match: {app: live, stream: "class-*"}
    room: "{{.App}}-{{.Stream}}"
  - match: {vhost: news.example.com, app: live}
    room: news
  - match: {app: wall}
    room: {name: video-wall, create: false}
  - match: {app: ctl}
    room: "{{.Stream}}"
  - match: {}
    action: ignore
`

func parsePolicy(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, err := policy.ParsePolicy("policy.yaml", []byte(src), func(string) string { return "" })
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

func live(vhost, app, stream, cid string, active bool) srsapi.LiveStream {
	return srsapi.LiveStream{Stream: srsapi.Stream{ID: "vid-" + stream, Name: stream, Vhost: "vid-" + vhost, App: app,
		Publish: srsapi.Publish{Active: active, CID: cid}}, VhostName: vhost}
}

// inputSummary is one desired input in a comparable form.
type inputSummary struct {
	Key   string
	URL   string
	Views string
	Param string
	Hint  bool
}

type roomSummary struct {
	Create bool
	Inputs []inputSummary
}

func summarize(d *Desired) map[string]roomSummary {
	out := map[string]roomSummary{}
	for name, r := range d.Rooms {
		if r.Name != name {
			panic(fmt.Sprintf("room %q stored under %q", r.Name, name))
		}
		s := roomSummary{Create: r.Create}
		for k, in := range r.Inputs {
			if in.Key != k || in.Room != name {
				panic(fmt.Sprintf("input %v of room %q says key %v room %q", k, name, in.Key, in.Room))
			}
			s.Inputs = append(s.Inputs, inputSummary{Key: k.String(), URL: in.URL, Views: strings.Join(in.Views, ","), Param: in.Param, Hint: in.Hint})
		}
		sort.Slice(s.Inputs, func(i, j int) bool { return s.Inputs[i].Key < s.Inputs[j].Key })
		out[name] = s
	}
	return out
}

func TestComputeDesired(t *testing.T) {
	const def = srsapi.DefaultVhost
	sources := []Source{
		{Name: "origin", Pull: "rtmp://127.0.0.1:1935", Snapshot: srsapi.Snapshot{Streams: []srsapi.LiveStream{
			live(def, "live", "class-a", "c1", true),
			live(def, "live", "class-b", "", false), // not published
			live(def, "private", "secret", "c2", true),
			live(def, "other", "x", "c3", true),
			live(def, "live", "vip", "c7", true),
			live(def, "wall", "cam1", "c4", true),
			live(def, "ctl", "bad\x07", "c5", true),
		}}},
		{Name: "edge", Pull: "rtmp://127.0.0.2:19350/", Snapshot: srsapi.Snapshot{Streams: []srsapi.LiveStream{
			live("news.example.com", "live", "class-c", "e1", true),
			live("news.example.com", "live", "today", "e2", true),
			live(def, "live", "class-a", "e3", true),
		}}},
	}
	k := func(server, vhost, app, stream string) StreamKey {
		return StreamKey{Server: server, Vhost: vhost, App: app, Stream: stream}
	}
	var asked []string
	in := DesiredInputs{
		Policy:  parsePolicy(t, desiredPolicy),
		Sources: sources,
		ParamOf: func(key StreamKey, cid string) string {
			asked = append(asked, key.String()+"#"+cid)
			if cid == "c7" {
				return "?tier=gold&x=1"
			}
			return ""
		},
		Hints: []Hint{
			{Key: k("edge", "news.example.com", "live", "breaking"), Published: true, ClientID: "h1"},
			{Key: k("origin", def, "live", "class-a"), Published: true, ClientID: "c1", Param: "?tier=gold"},
			{Key: k("origin", def, "live", "class-z"), Published: false},
			{Key: k("origin", def, "live", "gold2"), Published: true, Param: "?tier=gold"},
		},
	}
	d := ComputeDesired(in)

	want := map[string]roomSummary{
		// Listed by both servers: one input, from the first server listing it.
		"live-class-a": {Create: true, Inputs: []inputSummary{
			{Key: "origin/__defaultVhost__/live/class-a", URL: "rtmp://127.0.0.1:1935/live/class-a?vhost=__defaultVhost__", Views: "common"},
		}},
		"live-class-c": {Create: true, Inputs: []inputSummary{
			{Key: "edge/news.example.com/live/class-c", URL: "rtmp://127.0.0.2:19350/live/class-c?vhost=news.example.com", Views: "common"},
		}},
		"news": {Create: true, Inputs: []inputSummary{
			{Key: "edge/news.example.com/live/breaking", URL: "rtmp://127.0.0.2:19350/live/breaking?vhost=news.example.com", Views: "common", Hint: true},
			{Key: "edge/news.example.com/live/today", URL: "rtmp://127.0.0.2:19350/live/today?vhost=news.example.com", Views: "common"},
		}},
		"gold-vip": {Create: true, Inputs: []inputSummary{
			{Key: "origin/__defaultVhost__/live/vip", URL: "rtmp://127.0.0.1:1935/live/vip?vhost=__defaultVhost__", Views: "common,hd", Param: "?tier=gold&x=1"},
		}},
		"gold-gold2": {Create: true, Inputs: []inputSummary{
			{Key: "origin/__defaultVhost__/live/gold2", URL: "rtmp://127.0.0.1:1935/live/gold2?vhost=__defaultVhost__", Views: "common,hd", Param: "?tier=gold", Hint: true},
		}},
		"video-wall": {Create: false, Inputs: []inputSummary{
			{Key: "origin/__defaultVhost__/wall/cam1", URL: "rtmp://127.0.0.1:1935/wall/cam1?vhost=__defaultVhost__", Views: "common"},
		}},
	}
	if got := summarize(d); !reflect.DeepEqual(got, want) {
		t.Errorf("rooms:\n got %+v\nwant %+v", got, want)
	}
	if d.Denied != 1 || d.Ignored != 1 {
		t.Errorf("Denied, Ignored = %d, %d; want 1, 1", d.Denied, d.Ignored)
	}
	if d.LiveStreams != 9 {
		t.Errorf("LiveStreams = %d, want 9 (active streams over both servers)", d.LiveStreams)
	}
	if len(d.Errors) != 1 || !strings.HasPrefix(d.Errors[0], "origin/__defaultVhost__/ctl/bad\x07: ") || !strings.Contains(d.Errors[0], "control characters") {
		t.Errorf("Errors = %q, want one for the stream whose room name has a control character", d.Errors)
	}
	wantByKey := map[StreamKey]string{}
	for room, s := range want {
		for _, in := range s.Inputs {
			key, err := ParseStreamKey(in.Key)
			if err != nil {
				t.Fatal(err)
			}
			wantByKey[key] = room
		}
	}
	if !reflect.DeepEqual(d.ByKey, wantByKey) {
		t.Errorf("ByKey = %v, want %v", d.ByKey, wantByKey)
	}
	if !containsString(asked, "origin/__defaultVhost__/live/vip#c7") || !containsString(asked, "edge/news.example.com/live/today#e2") {
		t.Errorf("ParamOf asked %q, want it asked with each listed stream's key and publisher id", asked)
	}
	for _, a := range asked {
		if strings.Contains(a, "class-b") {
			t.Errorf("ParamOf asked about an inactive stream: %s", a)
		}
	}

	r := d.Room("live-class-a")
	if r == nil {
		t.Fatal(`Room("live-class-a") = nil`)
	}
	wantOpts := map[string]any{"views": []any{map[string]any{"label": "common"}}}
	if !reflect.DeepEqual(r.Options, wantOpts) {
		t.Errorf("room options = %#v, want %#v", r.Options, wantOpts)
	}
	in0 := r.Inputs[k("origin", def, "live", "class-a")]
	if in0.Transport != "tcp" || in0.BufferSize != 8192 || in0.Media.Audio != "auto" || in0.Media.Video != "auto" {
		t.Errorf("input options = %+v, want policy defaults (tcp, 8192, auto/auto)", in0)
	}
	if d.Room("nope") != nil || (*Desired)(nil).Room("x") != nil {
		t.Errorf("Room of an unknown name must be nil")
	}
}

func TestComputeDesiredNoPolicy(t *testing.T) {
	d := ComputeDesired(DesiredInputs{Sources: []Source{{Name: "origin", Snapshot: srsapi.Snapshot{Streams: []srsapi.LiveStream{
		live(srsapi.DefaultVhost, "live", "a", "c1", true)}}}}})
	if len(d.Rooms) != 0 || len(d.ByKey) != 0 {
		t.Errorf("without a policy nothing is desired, got %v", d.ByKey)
	}
	if d.LiveStreams != 1 {
		t.Errorf("LiveStreams = %d, want 1 (still counted for the empty guard)", d.LiveStreams)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// What one stream is across servers: by default one input per
// vhost/app/stream, pulled from the server the agent already pulls it from
// while that server lists it, else the first listing it; hints of a stream
// listed anywhere add nothing, and of two servers' hints the earlier wins.
// one_input_per: server mixes each server's copy.
func TestComputeDesiredOneInputPer(t *testing.T) {
	const def = srsapi.DefaultVhost
	k := func(server, stream string) StreamKey {
		return StreamKey{Server: server, Vhost: def, App: "live", Stream: stream}
	}
	src := func(name string, streams ...string) Source {
		s := Source{Name: name, Pull: "rtmp://" + name}
		for _, st := range streams {
			s.Snapshot.Streams = append(s.Snapshot.Streams, live(def, "live", st, name+"-"+st, true))
		}
		return s
	}
	pol := func(per string) *policy.Policy {
		return parsePolicy(t, "reconcile: {one_input_per: "+per+"}\nroutes:\n  - match: {app: live}\n    room: lobby\n")
	}
	for _, tc := range []struct {
		name  string
		per   string
		srcs  []Source
		held  []StreamKey
		hints []Hint
		want  []string
	}{
		{name: "on both servers: the first lists it", per: "stream", srcs: []Source{src("a", "c"), src("b", "c")}, want: []string{"a/__defaultVhost__/live/c"}},
		{name: "on both servers: stays where it is pulled from", per: "stream", srcs: []Source{src("a", "c"), src("b", "c")},
			held: []StreamKey{k("b", "c")}, want: []string{"b/__defaultVhost__/live/c"}},
		{name: "moved: pulled from where it is now", per: "stream", srcs: []Source{src("a"), src("b", "c")},
			held: []StreamKey{k("a", "c")}, want: []string{"b/__defaultVhost__/live/c"}},
		{name: "per server: each copy", per: "server", srcs: []Source{src("a", "c"), src("b", "c")},
			want: []string{"a/__defaultVhost__/live/c", "b/__defaultVhost__/live/c"}},
		{name: "hint of a stream listed elsewhere adds nothing", per: "stream", srcs: []Source{src("a", "c"), src("b")},
			hints: []Hint{{Key: k("b", "c"), Published: true, At: t0()}}, want: []string{"a/__defaultVhost__/live/c"}},
		{name: "per server: a hint of the other copy is its own input", per: "server", srcs: []Source{src("a", "c"), src("b")},
			hints: []Hint{{Key: k("b", "c"), Published: true, At: t0()}}, want: []string{"a/__defaultVhost__/live/c", "b/__defaultVhost__/live/c"}},
		{name: "two servers' hints: the earlier", per: "stream", srcs: []Source{src("a"), src("b")},
			hints: []Hint{{Key: k("a", "c"), Published: true, At: t0().Add(time.Second)}, {Key: k("b", "c"), Published: true, At: t0()}},
			want:  []string{"b/__defaultVhost__/live/c"}},
		{name: "two servers' hints at once: by key", per: "stream", srcs: []Source{src("a"), src("b")},
			hints: []Hint{{Key: k("b", "c"), Published: true, At: t0()}, {Key: k("a", "c"), Published: true, At: t0()}},
			want:  []string{"a/__defaultVhost__/live/c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := map[StreamKey]bool{}
			for _, h := range tc.held {
				held[h] = true
			}
			d := ComputeDesired(DesiredInputs{Policy: pol(tc.per), Sources: tc.srcs, Hints: tc.hints, Held: func(k StreamKey) bool { return held[k] }})
			var got []string
			for key := range d.ByKey {
				got = append(got, key.String())
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("desired %q, want %q", got, tc.want)
			}
			for _, w := range tc.want {
				key, _ := ParseStreamKey(w)
				if d.ByIdent[Ident(key, tc.per == "server")] != key {
					t.Errorf("ByIdent %v lacks %s", d.ByIdent, w)
				}
			}
		})
	}
}
