package policy

import (
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(designPolicy))
	f.Add([]byte("routes: []\n"))
	f.Add([]byte("routes:\n  - match: {query: {k: \"v*\"}}\n    room: {name: \"{{upper .App}}\", options: {views: [{label: a, video: {maxInput: 2}}]}}\n    views: [a]\n"))
	f.Add([]byte("x: &a [1]\ny: *a\n"))
	env := envOf(map[string]string{"WALL_TOKEN": "t"})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("fuzz.yaml", data, env)
		if err != nil {
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("error is %T with %d problems", err, len(errs))
			}
			for _, fe := range errs {
				if fe.File != "fuzz.yaml" || fe.Problem == "" {
					t.Fatalf("malformed problem %+v", fe)
				}
			}
			return
		}
		if p.Summary() == "" || len(p.Digest()) != 64 {
			t.Fatalf("summary %q digest %q", p.Summary(), p.Digest())
		}
		again, err := ParsePolicy("fuzz.yaml", data, env)
		if err != nil || again.Digest() != p.Digest() {
			t.Fatalf("second parse differs: %v", err)
		}
		checkTarget(t, p, Input{Server: "s", PullBase: "rtmp://127.0.0.1:1935", Vhost: "v", App: "live", Stream: "x y", Param: url.Values{"k": {"v1"}}})
	})
}

func FuzzResolve(f *testing.F) {
	f.Add("__defaultVhost__", "live", "livestream", "")
	f.Add("video.test.com", "live", "room3", "?token=abc")
	f.Add("v", "live", "a?b#c d", "?layout=wall&x=%zz")
	f.Add("v", "te st", "Straße-日本", "")
	f.Add("v", "a/b", "\x00\xff", "")
	f.Add("v", "live/sub", "cam..1", "")
	f.Add("v", "live/..", "x", "")
	f.Add("v", "live", "a%20b", "")
	p, err := ParsePolicy("fuzz.yaml", []byte(`routes:
  - match: {app: custom}
    room: "{{.App}}-{{.Stream}}"
    pull_url: "rtsp://{{.Host}}/{{.App}}/{{.Stream}}?vhost={{.Vhost}}&l={{param \"layout\"}}"
  - match: {query: {layout: "*"}}
    room: "{{param \"layout\"}}-{{lower .Stream}}"
  - match: {}
    room: "{{.Vhost}}/{{.App}}/{{.Stream}}"
`), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, vhost, app, stream, param string) {
		in := Input{Server: "origin", PullBase: "rtmp://127.0.0.1:1935", Vhost: vhost, App: app, Stream: stream, Param: srsapi.ParseParam(param)}
		tg := checkTarget(t, p, in)
		if tg.Route == 2 && tg.Action == ActionRoute && tg.PullURL != "" {
			// The default pull URL carries every part intact.
			u, err := url.Parse(tg.PullURL)
			if err != nil {
				t.Fatalf("pull URL %q: %v", tg.PullURL, err)
			}
			// Each app level is escaped on its own; the stream is the last level.
			path := u.EscapedPath()
			i := strings.LastIndexByte(path, '/')
			a, err1 := url.PathUnescape(path[1:i])
			s, err2 := url.PathUnescape(path[i+1:])
			if err1 != nil || err2 != nil || a != app || s != stream || u.Query().Get("vhost") != vhost || u.Host != "127.0.0.1:1935" {
				t.Fatalf("pull URL %q does not carry vhost %q app %q stream %q", tg.PullURL, vhost, app, stream)
			}
			// A routable stream's names are in the URL verbatim: SRS does not
			// decode, so the URL names the very stream that was published.
			if tg.Unroutable == "" && tg.PullURL != "rtmp://127.0.0.1:1935/"+app+"/"+stream+"?vhost="+vhost {
				t.Fatalf("routable stream %q/%q/%q got pull URL %q", vhost, app, stream, tg.PullURL)
			}
			if tg.Unroutable == "" && (strings.Contains("/"+app+"/", "/../") || strings.ContainsAny(app+stream, "%?# \x00")) {
				t.Fatalf("unsafe names %q/%q found routable", app, stream)
			}
		}
	})
}

// checkTarget resolves in and checks the invariants of any target.
func checkTarget(t *testing.T, p *Policy, in Input) Target {
	t.Helper()
	tg, err := p.Resolve(in)
	if err != nil {
		if _, ok := err.(FieldError); !ok {
			t.Fatalf("Resolve error %T: %v", err, err)
		}
		return tg
	}
	if tg.Action != ActionRoute {
		if tg.Room != "" || tg.PullURL != "" {
			t.Fatalf("%s target carries room %q url %q", tg.Action, tg.Room, tg.PullURL)
		}
		return tg
	}
	if tg.Room == "" || utf8.RuneCountInString(tg.Room) > MaxRoomName || !utf8.ValidString(tg.Room) {
		t.Fatalf("bad room %q", tg.Room)
	}
	u, err := url.Parse(tg.PullURL)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtsp") || u.Host == "" || u.Fragment != "" {
		t.Fatalf("bad pull URL %q", tg.PullURL)
	}
	if tg.Media.Audio == false && tg.Media.Video == false {
		t.Fatalf("both media false")
	}
	return tg
}
