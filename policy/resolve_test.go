package policy

import (
	"errors"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const designPolicy = `reconcile: {interval: 30s, delete_grace: 10s, max_deletes: 50, allow_empty: false, concurrency: 8}
defaults:  {views: [common], media: {audio: auto, video: auto}, transport: tcp, buffer_size: 8192}
routes:                               # first match wins
  - match: {app: private}
    action: deny                      # SRS refuses the publish
  - match: {vhost: "*", app: live, stream: "class-*"}
    room: "{{.App}}-{{.Stream}}"      # created and deleted by the agent
    views: [common]
  - match: {app: wall}
    room: {name: video-wall, create: false}   # an existing room, found by name, never deleted
    token_env: WALL_TOKEN             # publishers must send ?token=<value of $WALL_TOKEN>
  - match: {query: {layout: "wall*"}}
    room: "q-{{param \"layout\"}}"
  - match: {}
    action: ignore
`

func mustParse(t *testing.T, src string, env map[string]string) *Policy {
	t.Helper()
	p, err := ParsePolicy("policy.yaml", []byte(src), envOf(env))
	if err != nil {
		t.Fatalf("ParsePolicy: %v", err)
	}
	return p
}

func in(vhost, app, stream, param string) Input {
	return Input{Server: "origin", PullBase: "rtmp://10.0.0.1:1935", Vhost: vhost, App: app, Stream: stream, Param: srsapi.ParseParam(param)}
}

func TestResolveMatching(t *testing.T) {
	p := mustParse(t, designPolicy, map[string]string{"WALL_TOKEN": "s3cret"})
	tests := []struct {
		name   string
		in     Input
		action Action
		route  int
		room   string
	}{
		{"deny app", in("__defaultVhost__", "private", "x", ""), ActionDeny, 0, ""},
		{"class glob", in("__defaultVhost__", "live", "class-7", ""), ActionRoute, 1, "live-class-7"},
		{"class glob other vhost", in("video.test.com", "live", "class-a", ""), ActionRoute, 1, "live-class-a"},
		{"glob miss falls through to ignore", in("__defaultVhost__", "live", "lecture", ""), ActionIgnore, 4, ""},
		{"existing room", in("__defaultVhost__", "wall", "cam", "?token=s3cret"), ActionRoute, 2, "video-wall"},
		{"query glob", in("__defaultVhost__", "other", "s", "?layout=wall-2"), ActionRoute, 3, "q-wall-2"},
		{"query glob miss", in("__defaultVhost__", "other", "s", "?layout=grid"), ActionIgnore, 4, ""},
		{"query missing does not match", in("__defaultVhost__", "other", "s", ""), ActionIgnore, 4, ""},
		{"first match wins over query", in("__defaultVhost__", "private", "s", "?layout=wall"), ActionDeny, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Resolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Action != tc.action || got.Route != tc.route || got.Room != tc.room {
				t.Errorf("got action=%s route=%d room=%q, want %s %d %q", got.Action, got.Route, got.Room, tc.action, tc.route, tc.room)
			}
		})
	}
}

func TestResolveNoMatch(t *testing.T) {
	p := mustParse(t, "routes:\n  - match: {app: live}\n    room: r\n", nil)
	got, err := p.Resolve(in("v", "other", "s", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := Target{Action: ActionIgnore, Route: -1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestResolveTarget(t *testing.T) {
	p := mustParse(t, designPolicy, map[string]string{"WALL_TOKEN": "s3cret"})
	got, err := p.Resolve(in("video.test.com", "live", "class-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := Target{
		Action: ActionRoute, Route: 1, Room: "live-class-1", Create: true,
		RoomOptions: map[string]any{"views": []any{map[string]any{"label": "common"}}},
		Views:       []string{"common"},
		PullURL:     "rtmp://10.0.0.1:1935/live/class-1?vhost=video.test.com",
		Media:       Media{Audio: "auto", Video: "auto"}, Transport: "tcp", BufferSize: 8192,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The caller may modify the target without changing the policy.
	got.RoomOptions["views"] = nil
	got.Views[0] = "x"
	again, _ := p.Resolve(in("video.test.com", "live", "class-1", ""))
	if !reflect.DeepEqual(again, want) {
		t.Errorf("policy changed through a returned target: %+v", again)
	}

	wall, err := p.Resolve(in("__defaultVhost__", "wall", "cam", ""))
	if err != nil {
		t.Fatal(err)
	}
	if wall.Create || wall.RoomOptions != nil || wall.Token != "s3cret" {
		t.Errorf("wall target: create=%v options=%v token set=%v", wall.Create, wall.RoomOptions, wall.Token != "")
	}
}

func TestResolveRouteOptions(t *testing.T) {
	src := `defaults: {views: [main], media: {audio: false}, transport: udp, buffer_size: 4096}
routes:
  - match: {}
    room:
      name: "{{lower .Stream}}"
      options:
        inputLimit: 8
        views:
          - label: main
            video: {maxInput: 4, layout: {fitPolicy: crop}}
          - label: audio
            video: false
    views: [main, audio]
    media: {video: true}
    transport: tcp
    buffer_size: 1024
`
	p := mustParse(t, src, nil)
	got, err := p.Resolve(in("v", "live", "CAM", ""))
	if err != nil {
		t.Fatal(err)
	}
	wantOpts := map[string]any{
		"inputLimit": 8,
		"views": []any{
			map[string]any{"label": "main", "video": map[string]any{"maxInput": 4, "layout": map[string]any{"fitPolicy": "crop"}}},
			map[string]any{"label": "audio", "video": false},
		},
	}
	if got.Room != "cam" || !got.Create || !reflect.DeepEqual(got.RoomOptions, wantOpts) {
		t.Errorf("room %q create %v options %#v", got.Room, got.Create, got.RoomOptions)
	}
	if !reflect.DeepEqual(got.Views, []string{"main", "audio"}) || got.Media != (Media{Audio: false, Video: true}) ||
		got.Transport != "tcp" || got.BufferSize != 1024 {
		t.Errorf("views %v media %+v transport %s buffer %d", got.Views, got.Media, got.Transport, got.BufferSize)
	}
}

func TestResolveEscaping(t *testing.T) {
	p := mustParse(t, `routes:
  - match: {app: custom}
    room: "{{.Stream}}"
    pull_url: "rtmp://{{.Host}}/{{.App}}/{{.Stream}}?vhost={{.Vhost}}&k={{param \"k\"}}"
  - match: {}
    room: "{{.App}}/{{.Stream}}"
`, nil)
	tests := []struct {
		name      string
		in        Input
		room, url string
	}{
		{"plain", in("__defaultVhost__", "live", "livestream", ""), "live/livestream",
			"rtmp://10.0.0.1:1935/live/livestream?vhost=__defaultVhost__"},
		{"space", in("video.test.com", "live", "my cam", ""), "live/my cam",
			"rtmp://10.0.0.1:1935/live/my%20cam?vhost=video.test.com"},
		{"question mark and hash", in("v", "live", "a?b#c", ""), "live/a?b#c",
			"rtmp://10.0.0.1:1935/live/a%3Fb%23c?vhost=v"},
		{"unicode", in("v", "live", "Straße-日本", ""), "live/Straße-日本",
			"rtmp://10.0.0.1:1935/live/Stra%C3%9Fe-%E6%97%A5%E6%9C%AC?vhost=v"},
		{"odd vhost", in("a b&c", "live", "s", ""), "live/s",
			"rtmp://10.0.0.1:1935/live/s?vhost=a+b%26c"},
		{"template escapes too", in("x y", "custom", "s #1", "?k=a%26b"), "s #1",
			"rtmp://10.0.0.1:1935/custom/s%20%231?vhost=x+y&k=a%26b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Resolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Room != tc.room || got.PullURL != tc.url {
				t.Errorf("room %q url %q\nwant %q %q", got.Room, got.PullURL, tc.room, tc.url)
			}
			u, err := url.Parse(got.PullURL)
			if err != nil {
				t.Fatal(err)
			}
			if u.Query().Get("vhost") != tc.in.Vhost {
				t.Errorf("vhost in URL = %q, want %q", u.Query().Get("vhost"), tc.in.Vhost)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	p := mustParse(t, `routes:
  - match: {app: p}
    room: "{{param \"room\"}}"
  - match: {app: long}
    room: "{{.Stream}}{{.Stream}}"
  - match: {app: ctl}
    room: "{{.Stream}}"
  - match: {app: url}
    room: r
    pull_url: "rtmp://{{param \"host\"}}/x"
  - match: {}
    room: r
`, nil)
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"empty room", in("v", "p", "s", ""), `policy.yaml:3: routes[0].room: stream "v/p/s": the rendered room name is empty`},
		{"too long", in("v", "long", strings.Repeat("x", 65), ""), `policy.yaml:5: routes[1].room: stream "v/long/` + strings.Repeat("x", 65) + `": the rendered room name is longer than 128 characters`},
		{"control chars", in("v", "ctl", "a\nb", ""), `policy.yaml:7: routes[2].room: stream "v/ctl/a\nb": the rendered room name "a\nb" contains control characters`},
		{"pull url without host", in("v", "url", "s", ""), `policy.yaml:10: routes[3].pull_url: stream "v/url/s": the pull URL "rtmp:///x" has no host`},
		{"no pull base", Input{Vhost: "v", App: "a", Stream: "s"}, `policy.yaml:11: routes[4].pull_url: stream "v/a/s": the pull URL "/a/s?..." must start with rtmp://`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Resolve(tc.in)
			var fe FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want FieldError, got %v", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got  %s\nwant %s...", err, tc.want)
			}
		})
	}
	// exactly 128 characters is fine
	if got, err := p.Resolve(in("v", "long", strings.Repeat("é", 64), "")); err != nil || len([]rune(got.Room)) != 128 {
		t.Errorf("128-character room: %q %v", got.Room, err)
	}
}

func TestCheckToken(t *testing.T) {
	tests := []struct {
		token string
		q     url.Values
		want  bool
	}{
		{"", nil, true},
		{"", url.Values{"token": {"x"}}, true},
		{"abc", url.Values{"token": {"abc"}}, true},
		{"abc", url.Values{"token": {"abd"}}, false},
		{"abc", url.Values{"token": {"ab"}}, false},
		{"abc", url.Values{}, false},
		{"abc", nil, false},
	}
	for _, tc := range tests {
		if got := (Target{Token: tc.token}).CheckToken(tc.q); got != tc.want {
			t.Errorf("token %q query %v: got %v, want %v", tc.token, tc.q, got, tc.want)
		}
	}
}

func TestSummaryAndDigest(t *testing.T) {
	env := map[string]string{"WALL_TOKEN": "s3cret"}
	p := mustParse(t, designPolicy, env)
	if got, want := p.Summary(), "5 routes (3 route, 1 deny, 1 ignore), interval 30s, grace 10s"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	one := mustParse(t, "reconcile: {interval: 1m}\nroutes:\n  - match: {}\n    action: ignore\n", nil)
	if got, want := one.Summary(), "1 route (0 route, 0 deny, 1 ignore), interval 1m0s, grace 10s"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	reformatted := "# a comment\n" + strings.ReplaceAll(designPolicy, "# first match wins", "")
	tests := []struct {
		name string
		src  string
		env  map[string]string
		same bool
	}{
		{"identical", designPolicy, env, true},
		{"comments and spacing", reformatted, env, true},
		{"defaults spelled out vs omitted", strings.Replace(designPolicy, "reconcile: {interval: 30s, delete_grace: 10s, max_deletes: 50, allow_empty: false, concurrency: 8}\n", "", 1), env, true},
		{"changed interval", strings.Replace(designPolicy, "interval: 30s", "interval: 31s", 1), env, false},
		{"changed room template", strings.Replace(designPolicy, `"{{.App}}-{{.Stream}}"`, `"{{.Stream}}"`, 1), env, false},
		{"changed token value", designPolicy, map[string]string{"WALL_TOKEN": "other"}, false},
	}
	for _, tc := range tests {
		q := mustParse(t, tc.src, tc.env)
		if (q.Digest() == p.Digest()) != tc.same {
			t.Errorf("%s: digest equal = %v, want %v", tc.name, q.Digest() == p.Digest(), tc.same)
		}
		if len(q.Digest()) != 64 {
			t.Errorf("%s: digest %q is not sha256 hex", tc.name, q.Digest())
		}
		if strings.Contains(q.Digest(), "s3cret") {
			t.Errorf("digest leaks the token")
		}
	}
}

func TestResolveConcurrent(t *testing.T) {
	p := mustParse(t, designPolicy, map[string]string{"WALL_TOKEN": "s3cret"})
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				got, err := p.Resolve(in("v", "x", "s", "?layout=wall-9"))
				if err == nil && got.Room != "q-wall-9" {
					err = errors.New("room " + got.Room)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
