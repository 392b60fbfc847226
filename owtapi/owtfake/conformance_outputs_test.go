package owtfake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	badRequestBody = `{"error":{"code":1201,"message":"Bad request"}}`
	rpcFailedBody  = `{"error":{"code":1301,"message":"RPC:addServerSideSubscription failed"}}`
	notFound1001   = `{"error":{"code":1001,"message":"Resource not found"}}`
)

// mixOut is a streaming-out body from the room's common view to url.
func mixOut(room, url string) string {
	return fmt.Sprintf(`{"url":%q,"media":{"audio":{"from":"%s-common"},"video":{"from":"%s-common"}}}`, url, room, room)
}

// mixRec is a recording body of the room's common view.
func mixRec(room string) string {
	return fmt.Sprintf(`{"media":{"audio":{"from":"%s-common"},"video":{"from":"%s-common"}}}`, room, room)
}

// startOut posts an output of kind ("streaming-outs" or "recordings") and
// returns the decoded 200 answer.
func (e *testEnv) startOut(room, kind, body string) map[string]any {
	e.t.Helper()
	var out map[string]any
	e.decode(e.do("POST", "/v1/rooms/"+room+"/"+kind, body), &out)
	return out
}

// listOuts returns GET /v1/rooms/{room}/{kind}.
func (e *testEnv) listOuts(room, kind string) []map[string]any {
	e.t.Helper()
	var list []map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/"+kind, ""), &list)
	return list
}

// keysOf returns the sorted keys of m as "a,b,c".
func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return strings.Join(ks, ",")
}

// jsonOf marshals v for comparisons.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestConformanceOutputs(t *testing.T) {
	items := []conformanceItem{
		{name: "15.01_routes", run: out01},
		{name: "15.02_unknown_or_foreign_room", run: out02},
		{name: "15.03_idle_lists_and_separate_collections", run: out03},
		{name: "15.04_other_keys_ignored", run: out04},
		{name: "15.05_protocol_guess", run: out05},
		{name: "15.06_missing_url", run: out06},
		{name: "15.07_schema_violations", run: out07},
		{name: "15.08_segment_parameters", run: out08},
		{name: "15.09_conference_rejections", run: out09},
		{name: "15.10_success_shape", run: out10},
		{name: "15.11_post_not_held", run: out11},
		{name: "15.12_rpc_timeout_orphan", run: out12},
		{name: "15.13_failed_push_vanishes", run: out13},
		{name: "15.14_list_order", run: out14},
		{name: "15.15_recording_body", run: out15},
		{name: "15.16_recording_container", run: out16},
		{name: "15.17_recording_shape", opts: Options{RecordingHost: "10.0.0.5"}, run: out17},
		{name: "15.18_patch_immutable_paths", run: out18},
		{name: "15.19_patch_shape", run: out19},
		{name: "15.20_patch_status", run: out20},
		{name: "15.21_patch_from", run: out21},
		{name: "15.22_patch_parameters", run: out22},
		{name: "15.23_patch_unknown_and_collection", run: out23},
		{name: "15.24_delete", run: out24},
		{name: "15.25_source_loss", run: out25},
		{name: "15.26_delete_room", run: out26},
		{name: "15.27_outputs_keep_room_alive", opts: Options{IdleTimeout: idle27}, run: out27},
		{name: "15.28_post_activates_room", run: out28},
		{name: "15.29_no_ownership", run: out29},
		{name: "15.30_numeric_ids", run: out30},
		{name: "15.31_delete_source_while_connecting", run: out31},
	}
	if len(items) != 31 {
		t.Fatalf("checklist has %d items, want 31", len(items))
	}
	for _, it := range items {
		t.Run(it.name, func(t *testing.T) {
			t.Parallel()
			it.run(t, newEnv(t, it.opts))
		})
	}
}

func out01(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/live/a"))
	rec := e.startOut(room, "recordings", mixRec(room))
	sid, rid := so["id"].(string), rec["id"].(string)
	base := "/v1/rooms/" + room
	for _, c := range []struct{ method, path, body string }{
		{"GET", base + "/streaming-outs", ""},
		{"PATCH", base + "/streaming-outs/" + sid, "[]"},
		{"GET", base + "/recordings", ""},
		{"PATCH", base + "/recordings/" + rid, "[]"},
		{"DELETE", base + "/streaming-outs/" + sid, ""},
		{"DELETE", base + "/recordings/" + rid, ""},
	} {
		if r := e.do(c.method, c.path, c.body); r.status != 200 {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	e.expect(e.do("GET", base+"/streaming-outs/"+sid, ""), 404, notFound1001)
	e.expect(e.do("GET", base+"/recordings/"+rid, ""), 404, notFound1001)
	e.expect(e.do("PUT", base+"/streaming-outs/"+sid, "{}"), 404, notFound1001)
	counts := e.fake.Counts()
	for _, route := range []string{RouteListStreamingOuts, RouteStartStreamingOut, RoutePatchStreamingOut, RouteStopStreamingOut,
		RouteListRecordings, RouteStartRecording, RoutePatchRecording, RouteStopRecording} {
		if counts[route] == 0 {
			t.Errorf("route %s not counted: %v", route, counts)
		}
	}
}

func out02(t *testing.T, e *testEnv) {
	foreign := e.fake.CreateRoomDirect(otherService, "theirs", nil)
	for _, room := range []string{"5f1c00000000000000000001", foreign} {
		base := "/v1/rooms/" + room
		for _, c := range []struct{ method, path, body string }{
			{"GET", base + "/streaming-outs", ""},
			{"POST", base + "/streaming-outs", mixOut(room, "rtmp://h/a")},
			{"PATCH", base + "/streaming-outs/1", "[]"},
			{"DELETE", base + "/streaming-outs/1", ""},
			{"GET", base + "/recordings", ""},
			{"POST", base + "/recordings", mixRec(room)},
			{"PATCH", base + "/recordings/1", "[]"},
			{"DELETE", base + "/recordings/1", ""},
			{"GET", base + "/streaming-outs/1", ""},
		} {
			e.expect(e.do(c.method, c.path, c.body), 404, roomNotFound)
		}
	}
	if n := len(e.fake.Outputs()); n != 0 {
		t.Fatalf("%d rooms with outputs", n)
	}
}

func out03(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streaming-outs", ""), 200, "[]")
	e.expect(e.do("GET", "/v1/rooms/"+room+"/recordings", ""), 200, "[]")
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/live/a"))
	rec := e.startOut(room, "recordings", mixRec(room))
	if l := e.listOuts(room, "streaming-outs"); len(l) != 1 || l[0]["id"] != so["id"] {
		t.Errorf("streaming-outs = %v", l)
	}
	if l := e.listOuts(room, "recordings"); len(l) != 1 || l[0]["id"] != rec["id"] {
		t.Errorf("recordings = %v", l)
	}
}

func out04(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	body := fmt.Sprintf(`{"url":"rtmp://h/live/x","attributes":{"owner":"me"},"type":"recording","id":"123","owner":"me",
		"media":{"audio":{"from":"%[1]s-common"},"video":{"from":"%[1]s-common"}}}`, room)
	out := e.startOut(room, "streaming-outs", body)
	if k := keysOf(out); k != "id,media,url" {
		t.Fatalf("keys = %s", k)
	}
	if out["id"] == "123" || strings.Contains(jsonOf(out), "owner") {
		t.Fatalf("extra keys echoed: %v", out)
	}
	if l := e.listOuts(room, "recordings"); len(l) != 0 {
		t.Fatalf("type:recording was honoured: %v", l)
	}
}

func out05(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	for _, u := range []string{"rtmp://h/live/a", "rtsp://h/a", "http://h/a.m3u8", "https://h/a.mpd"} {
		e.startOut(room, "streaming-outs", mixOut(room, u))
	}
	want := map[string]string{"rtmp://h/live/a": "rtmp", "rtsp://h/a": "rtsp", "http://h/a.m3u8": "hls", "https://h/a.mpd": "dash",
		"http://h/live": "hls", "rtsp://h/b": "rtmp"}
	e.startOut(room, "streaming-outs", strings.Replace(mixOut(room, "http://h/live"), `{"url"`, `{"protocol":"hls","url"`, 1))
	e.startOut(room, "streaming-outs", strings.Replace(mixOut(room, "rtsp://h/b"), `{"url"`, `{"protocol":"rtmp","url"`, 1))
	for _, o := range e.fake.Outputs()[0].Outputs {
		if want[o.URL] != o.Protocol {
			t.Errorf("%s: protocol %q, want %q", o.URL, o.Protocol, want[o.URL])
		}
	}
	for _, body := range []string{
		mixOut(room, "http://h/live"),
		mixOut(room, "RTMP://h/live/a"),
		mixOut(room, "http://h/a.m3u8?x=1"),
		strings.Replace(mixOut(room, "rtmp://h/a"), `{"url"`, `{"protocol":"srt","url"`, 1),
		strings.Replace(mixOut(room, "rtmp://h/a"), `{"url"`, `{"protocol":true,"url"`, 1),
		strings.Replace(mixOut(room, "rtmp://h/a"), `{"url"`, `{"protocol":"RTMP","url"`, 1),
	} {
		e.expect(e.do("POST", "/v1/rooms/"+room+"/streaming-outs", body), 400, badRequestBody)
	}
	if n := len(e.listOuts(room, "streaming-outs")); n != 6 {
		t.Fatalf("%d outputs listed, want 6", n)
	}
}

func out06(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	media := fmt.Sprintf(`"media":{"audio":false,"video":{"from":"%s-common"}}`, room)
	path := "/v1/rooms/" + room + "/streaming-outs"
	e.expect(e.do("POST", path, `{`+media+`}`), 500,
		`{"error":{"code":2001,"message":"TypeError Cannot read properties of undefined (reading 'startsWith')"}}`)
	e.expect(e.do("POST", path, `{"url":null,`+media+`}`), 500,
		`{"error":{"code":2001,"message":"TypeError Cannot read properties of null (reading 'startsWith')"}}`)
	e.expect(e.do("POST", path, `{"url":5,`+media+`}`), 500,
		`{"error":{"code":2001,"message":"TypeError url.startsWith is not a function"}}`)
	e.expect(e.do("POST", path, `{"protocol":"rtmp",`+media+`}`), 400, badRequestBody)
	e.expect(e.do("POST", path, `{"protocol":"rtmp","url":5,`+media+`}`), 400, badRequestBody)
	e.startOut(room, "streaming-outs", `{"protocol":"rtmp","url":"",`+media+`}`)
}

func out07(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	a := `{"from":"` + mix + `"}`
	v := `{"from":"` + mix + `"}`
	media := func(audio, video string) string {
		return `{"url":"rtmp://h/a","media":{"audio":` + audio + `,"video":` + video + `}}`
	}
	bad := []string{
		`{"url":"rtmp://h/a"}`,
		`{"url":"rtmp://h/a","media":5}`,
		`{"url":"rtmp://h/a","media":{"audio":` + a + `}}`,
		`{"url":"rtmp://h/a","media":{"video":` + v + `}}`,
		media(`true`, v), media(a, `true`), media(`"auto"`, v), media(a, `"auto"`), media(`null`, v),
		`{"url":"rtmp://h/a","media":{"audio":` + a + `,"video":` + v + `,"data":false}}`,
		media(`{"from":"`+mix+`","x":1}`, v),
		media(`{}`, v),
		media(`{"from":5}`, v),
		media(a, `{"from":"`+mix+`","x":1}`),
		media(`{"from":"`+mix+`","format":{"codec":"mp3"}}`, v),
		media(`{"from":"`+mix+`","format":{"sampleRate":48000}}`, v),
		media(`{"from":"`+mix+`","format":{"codec":"aac","sampleRate":"48000"}}`, v),
		media(`{"from":"`+mix+`","format":{"codec":"aac","bits":16}}`, v),
		media(a, `{"from":"`+mix+`","format":{"codec":"av1"}}`),
		media(a, `{"from":"`+mix+`","format":{"codec":"h264","profile":"X"}}`),
		media(a, `{"from":"`+mix+`","format":{"codec":"h264","level":"3.1"}}`),
		media(a, `{"from":"`+mix+`","parameters":{"resolution":{"width":640}}}`),
		media(a, `{"from":"`+mix+`","parameters":{"resolution":{"width":640,"height":480,"depth":1}}}`),
		media(a, `{"from":"`+mix+`","parameters":{"framerate":"24"}}`),
		media(a, `{"from":"`+mix+`","parameters":{"keyFrameInterval":"100"}}`),
		media(a, `{"from":"`+mix+`","parameters":{"bitrate":true}}`),
		media(a, `{"from":"`+mix+`","parameters":{"gop":1}}`),
		`{"url":"http://h/a.m3u8","parameters":{"method":"PUT","hlsTime":2},"media":{"audio":` + a + `,"video":` + v + `}}`,
		`{"url":"http://h/a.m3u8","parameters":{"method":"GET","hlsTime":2,"hlsListSize":5},"media":{"audio":` + a + `,"video":` + v + `}}`,
		`{"url":"http://h/a.mpd","parameters":{"method":"PUT","dashSegDuration":2},"media":{"audio":` + a + `,"video":` + v + `}}`,
		`{"url":"http://h/a.m3u8","parameters":{"method":"PUT","hlsTime":2,"hlsListSize":5,"x":1},"media":{"audio":` + a + `,"video":` + v + `}}`,
	}
	for _, body := range bad {
		r := e.do("POST", "/v1/rooms/"+room+"/streaming-outs", body)
		if r.status != 400 || string(r.body) != badRequestBody {
			t.Errorf("%s: got %d %s, want B", body, r.status, r.body)
		}
	}
	if l := e.fake.Outputs(); len(l) != 0 {
		t.Fatalf("outputs left: %v", l)
	}
	// The shapes are not tied to the protocol: DASH parameters pass on HLS.
	e.startOut(room, "streaming-outs", `{"url":"http://h/a.m3u8","parameters":{"method":"POST","dashSegDuration":4,"dashWindowSize":3},"media":{"audio":`+a+`,"video":`+v+`}}`)
}

func out08(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	media := fmt.Sprintf(`"media":{"audio":false,"video":{"from":"%s-common"}}`, room)
	outs := []map[string]any{
		e.startOut(room, "streaming-outs", `{"url":"rtmp://h/a","parameters":{"bogus":true},`+media+`}`),
		e.startOut(room, "streaming-outs", `{"url":"rtsp://h/a","parameters":5,`+media+`}`),
		e.startOut(room, "streaming-outs", `{"url":"http://h/a.m3u8",`+media+`}`),
		e.startOut(room, "streaming-outs", `{"url":"http://h/a.mpd",`+media+`}`),
		e.startOut(room, "streaming-outs", `{"url":"http://h/b.m3u8","parameters":{"method":"POST","hlsTime":4,"hlsListSize":3},`+media+`}`),
	}
	for _, o := range outs {
		if k := keysOf(o); k != "id,media,url" {
			t.Errorf("keys %s: protocol or parameters echoed", k)
		}
	}
	for _, l := range e.listOuts(room, "streaming-outs") {
		if k := keysOf(l); k != "id,media,url" {
			t.Errorf("listed keys %s", k)
		}
	}
	want := []string{"", "",
		`{"hlsListSize":5,"hlsTime":2,"method":"PUT"}`,
		`{"dashSegDuration":2,"dashWindowSize":5,"method":"PUT"}`,
		`{"hlsListSize":3,"hlsTime":4,"method":"POST"}`}
	for i, o := range e.fake.Outputs()[0].Outputs {
		got := ""
		if o.Parameters != nil {
			got = jsonOf(o.Parameters)
		}
		if got != want[i] {
			t.Errorf("%s: parameters %s, want %s", o.URL, got, want[i])
		}
	}
}

func out09(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	in := e.startIn(room, goodIn)["id"].(string)
	mix := room + "-common"
	body := func(audio, video string) string {
		return `{"url":"rtmp://h/a","media":{"audio":` + audio + `,"video":` + video + `}}`
	}
	av := `{"from":"` + mix + `"}`
	cases := map[string]string{
		"unknown from":             body(`{"from":"nope"}`, av),
		"unknown video from":       body(av, `{"from":"`+room+`-other"}`),
		"both false":               body(`false`, `false`),
		"opus format":              body(`{"from":"`+mix+`","format":{"codec":"opus","sampleRate":48000,"channelNum":2}}`, av),
		"aac not exactly offered":  body(`{"from":"`+mix+`","format":{"codec":"aac"}}`, av),
		"vp8 video format":         body(av, `{"from":"`+mix+`","format":{"codec":"vp8"}}`),
		"numeric bitrate":          body(av, `{"from":"`+mix+`","parameters":{"bitrate":800}}`),
		"resolution not offered":   body(av, `{"from":"`+mix+`","parameters":{"resolution":{"width":1280,"height":720}}}`),
		"framerate not offered":    body(av, `{"from":"`+mix+`","parameters":{"framerate":30}}`),
		"keyFrameInterval odd":     body(av, `{"from":"`+mix+`","parameters":{"keyFrameInterval":7}}`),
		"streaming-in framerate":   body(`false`, `{"from":"`+in+`","parameters":{"framerate":24}}`),
		"h264 profile not offered": body(av, `{"from":"`+in+`","format":{"codec":"h264","profile":"H"}}`),
	}
	for name, b := range cases {
		r := e.do("POST", "/v1/rooms/"+room+"/streaming-outs", b)
		if r.status != 500 || string(r.body) != rpcFailedBody {
			t.Errorf("%s: got %d %s, want R", name, r.status, r.body)
		}
	}
	if l := e.listOuts(room, "streaming-outs"); len(l) != 0 {
		t.Fatalf("listed after rejections: %v", l)
	}
	// A size is offered only when smaller in both sides than the view's.
	wide := e.createRoom(`{"name":"w","options":{"views":[{"label":"common","video":{"parameters":{"resolution":{"width":1000,"height":500}}}}]}}`)
	e.expect(e.do("POST", "/v1/rooms/"+wide+"/streaming-outs", `{"url":"rtmp://h/w","media":{"audio":false,"video":{"from":"`+wide+
		`-common","parameters":{"resolution":{"width":800,"height":600}}}}}`), 500, rpcFailedBody)
	e.startOut(wide, "streaming-outs", `{"url":"rtmp://h/w","media":{"audio":false,"video":{"from":"`+wide+
		`-common","parameters":{"resolution":{"width":500,"height":250}}}}}`)
	// What is offered passes: an x-fraction resolution, a lower framerate, an offered kfi.
	e.startOut(room, "streaming-outs", body(`{"from":"`+mix+`","format":{"codec":"aac","sampleRate":48000,"channelNum":2}}`,
		`{"from":"`+mix+`","format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":320,"height":240},"framerate":15,"keyFrameInterval":30,"bitrate":"x1"}}`))
}

func out10(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	u := "rtmp://srs:1935/live/cam1?vhost=v&x=<y>"
	out := e.startOut(room, "streaming-outs", mixOut(room, u))
	id := out["id"].(string)
	want := fmt.Sprintf(`{"id":%q,"media":{"audio":{"format":{"codec":"aac","sampleRate":48000,"channelNum":2},"from":%q,"status":"active"},
		"video":{"format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":640,"height":480},"framerate":24,"keyFrameInterval":100},
		"from":%q,"status":"active"}},"url":%q}`, id, mix, mix, u)
	jsonEqual(t, jsonOf(out), want)
	// Requested parameters merge over the view's.
	merged := e.startOut(room, "streaming-outs", `{"url":"rtmp://h/m","media":{"audio":false,"video":{"from":"`+mix+`","parameters":{"framerate":12}}}}`)
	jsonEqual(t, jsonOf(merged["media"]), `{"video":{"format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":640,"height":480},"framerate":12,"keyFrameInterval":100},"from":"`+mix+`","status":"active"}}`)
	// A forward source: only the requested parameters, absent otherwise.
	in := e.startIn(room, goodIn)["id"].(string)
	fwd := e.startOut(room, "streaming-outs", `{"url":"rtmp://h/f","media":{"audio":{"from":"`+in+`"},"video":{"from":"`+in+`"}}}`)
	jsonEqual(t, jsonOf(fwd["media"]), `{"audio":{"format":{"codec":"aac","sampleRate":48000,"channelNum":2},"from":"`+in+`","status":"active"},
		"video":{"format":{"codec":"h264","profile":"CB"},"from":"`+in+`","status":"active"}}`)
	res := e.startOut(room, "streaming-outs", `{"url":"rtmp://h/g","media":{"audio":false,"video":{"from":"`+in+`","parameters":{"resolution":{"width":640,"height":360}}}}}`)
	jsonEqual(t, jsonOf(res["media"]), `{"video":{"format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":640,"height":360}},"from":"`+in+`","status":"active"}}`)
}

// Timing of the tests below: the windows a test must act within (an output
// still connecting, a push not failed yet, a room not idle yet) are long
// enough for a loaded 2-core machine running the race detector (they were
// 60-400 ms and failed there), and what happens after a window is awaited
// with eventually rather than a fixed sleep.
const (
	window   = 1500 * time.Millisecond
	patience = 10 * time.Second
)

// eventually retries check until it returns "" or patience runs out.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", patience, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func out11(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	start := time.Now()
	out := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://unreachable.invalid/live/x"))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("POST took %v", d)
	}
	if out["url"] != "rtmp://unreachable.invalid/live/x" {
		t.Fatalf("answer %v", out)
	}
}

func out12(t *testing.T, e *testEnv) {
	e.fake.SetOutputDelay(window)
	e.fake.SetOutputRPCTimeout(100 * time.Millisecond)
	room := e.createRoom(`{"name":"r"}`)
	start := time.Now()
	e.expect(e.do("POST", "/v1/rooms/"+room+"/streaming-outs", mixOut(room, "rtmp://h/live/slow")), 500, rpcFailedBody)
	if d := time.Since(start); d < 100*time.Millisecond || d >= window {
		t.Errorf("R after %v, want the RPC timeout (100ms), before the output connects (%v)", d, window)
	}
	if l := e.listOuts(room, "streaming-outs"); len(l) != 0 && time.Since(start) < window {
		t.Fatalf("listed while connecting: %v", l)
	}
	eventually(t, func() string {
		if l := e.listOuts(room, "streaming-outs"); len(l) != 1 || l[0]["url"] != "rtmp://h/live/slow" {
			return fmt.Sprintf("orphan not listed: %v", l)
		}
		return ""
	})
	if d := time.Since(start); d < window {
		t.Errorf("orphan listed after %v, before it connected (%v)", d, window)
	}
	// Within the timeout the POST waits for the connection and answers 200.
	e.fake.SetOutputDelay(50 * time.Millisecond)
	e.fake.SetOutputRPCTimeout(0)
	start = time.Now()
	e.startOut(room, "recordings", mixRec(room))
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answer after %v, before the output connected", d)
	}
	// The knobs are also in the control API.
	r := e.raw("POST", "/control/fault", `{"output_delay_ms":7,"output_rpc_timeout_ms":9,"push_fail":"x","push_fail_after_ms":11}`, "")
	var f map[string]any
	if err := json.Unmarshal(r.body, &f); err != nil || f["output_delay_ms"] != 7.0 || f["output_rpc_timeout_ms"] != 9.0 ||
		f["push_fail"] != "x" || f["push_fail_after_ms"] != 11.0 {
		t.Fatalf("control fault = %d %s", r.status, r.body)
	}
	if r := e.raw("POST", "/control/fault", `{"push_fail":"("}`, ""); r.status != 400 {
		t.Fatalf("bad pattern: %d %s", r.status, r.body)
	}
}

func out13(t *testing.T, e *testEnv) {
	if err := e.fake.SetPushFailure(`^rtmp://down\.example/`, window); err != nil {
		t.Fatal(err)
	}
	room := e.createRoom(`{"name":"r"}`)
	start := time.Now()
	e.startOut(room, "streaming-outs", mixOut(room, "rtmp://unreachable.invalid/live/x"))
	e.startOut(room, "streaming-outs", mixOut(room, "rtmp://down.example/live/y"))
	ok := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://up.example/live/z"))
	if n := len(e.listOuts(room, "streaming-outs")); n != 3 && time.Since(start) < window {
		t.Fatalf("%d listed right after the POSTs, want 3", n)
	}
	eventually(t, func() string {
		if l := e.listOuts(room, "streaming-outs"); len(l) != 1 || l[0]["id"] != ok["id"] {
			return fmt.Sprintf("after the pushes failed: %v", l)
		}
		return ""
	})
	if d := time.Since(start); d < window {
		t.Errorf("failing pushes gone after %v, before their failure delay (%v)", d, window)
	}
	// On demand: a fatal error of a live output.
	if r := e.raw("POST", "/control/drop-output", fmt.Sprintf(`{"room":%q,"output":%q}`, room, ok["id"]), ""); r.status != 200 {
		t.Fatalf("drop-output: %d %s", r.status, r.body)
	}
	if l := e.listOuts(room, "streaming-outs"); len(l) != 0 {
		t.Fatalf("dropped output listed: %v", l)
	}
	if r := e.raw("POST", "/control/drop-output", fmt.Sprintf(`{"room":%q,"output":"1"}`, room), ""); r.status != 404 {
		t.Fatalf("drop of unknown output: %d", r.status)
	}
	reasons := map[string]int{}
	for _, d := range e.fake.Dump().Deleted {
		if d.Kind == "output" {
			reasons[d.Reason]++
		}
	}
	if reasons[ReasonPushFailed] != 3 {
		t.Fatalf("deletions = %v", reasons)
	}
}

func out14(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	var posted []map[string]any
	for i := 0; i < 4; i++ {
		posted = append(posted, e.startOut(room, "streaming-outs", mixOut(room, fmt.Sprintf("rtmp://h/live/%d", i))))
	}
	e.fake.SetOutputDelay(window)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.do("POST", "/v1/rooms/"+room+"/streaming-outs", mixOut(room, "rtmp://h/live/connecting"))
	}()
	defer wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for len(e.fake.Outputs()[0].Outputs) < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	jsonEqual(t, jsonOf(e.listOuts(room, "streaming-outs")), jsonOf(posted))
	id1 := posted[1]["id"].(string)
	e.decode(e.do("PATCH", "/v1/rooms/"+room+"/streaming-outs/"+id1,
		`[{"op":"replace","path":"/media/video/parameters/framerate","value":12}]`), &map[string]any{})
	var order []string
	for _, o := range e.listOuts(room, "streaming-outs") {
		order = append(order, o["id"].(string))
	}
	want := []string{posted[0]["id"].(string), posted[2]["id"].(string), posted[3]["id"].(string), id1}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("order after PATCH = %v, want %v", order, want)
	}
}

func out15(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	for _, c := range []string{"mp4", "mkv", "ts", "auto"} {
		e.startOut(room, "recordings", `{"container":"`+c+`","url":"x","attributes":{},"media":{"audio":{"from":"`+mix+`"},"video":false}}`)
	}
	for _, body := range []string{
		`{"container":"avi","media":{"audio":{"from":"` + mix + `"},"video":false}}`,
		`{"container":null,"media":{"audio":{"from":"` + mix + `"},"video":false}}`,
		`{"container":"MP4","media":{"audio":{"from":"` + mix + `"},"video":false}}`,
		`{"container":"mp4"}`,
		`{}`,
		`{"media":{"audio":true,"video":false}}`,
		`{"media":{"audio":{"from":"` + mix + `"}}}`,
	} {
		e.expect(e.do("POST", "/v1/rooms/"+room+"/recordings", body), 400, badRequestBody)
	}
	if n := len(e.listOuts(room, "recordings")); n != 4 {
		t.Fatalf("%d recordings", n)
	}
}

func out16(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	in := e.startIn(room, goodIn)["id"].(string)
	aac := `{"from":"` + mix + `","format":{"codec":"aac","sampleRate":48000,"channelNum":2}}`
	h264 := `{"from":"` + mix + `","format":{"codec":"h264","profile":"CB"}}`
	cases := []struct{ body, ext string }{
		{`{"media":{"audio":{"from":"` + mix + `"},"video":{"from":"` + mix + `"}}}`, "mkv"},
		{`{"container":"auto","media":{"audio":` + aac + `,"video":` + h264 + `}}`, "mp4"},
		{`{"media":{"audio":` + aac + `,"video":false}}`, "mp4"},
		{`{"media":{"audio":false,"video":` + h264 + `}}`, "mkv"},
		{`{"media":{"audio":{"from":"` + in + `"},"video":{"from":"` + in + `"}}}`, "mp4"},
		{`{"container":"ts","media":{"audio":{"from":"` + mix + `"},"video":false}}`, "ts"},
		{`{"container":"mp4","media":{"audio":{"from":"` + mix + `"},"video":{"from":"` + mix + `"}}}`, "mp4"},
	}
	for _, c := range cases {
		out := e.startOut(room, "recordings", c.body)
		file := out["storage"].(map[string]any)["file"].(string)
		if want := "/tmp/" + out["id"].(string) + "." + c.ext; file != want {
			t.Errorf("%s: file %s, want %s", c.body, file, want)
		}
	}
	e.expect(e.do("POST", "/v1/rooms/"+room+"/recordings",
		`{"media":{"audio":{"from":"`+mix+`","format":{"codec":"g722","sampleRate":16000,"channelNum":1}},"video":false}}`), 500, rpcFailedBody)
}

func out17(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	out := e.startOut(room, "recordings", mixRec(room))
	id := out["id"].(string)
	want := fmt.Sprintf(`{"id":%q,"media":{"audio":{"format":{"codec":"opus","sampleRate":48000,"channelNum":2},"from":%q,"status":"active"},
		"video":{"format":{"codec":"vp8"},"parameters":{"resolution":{"width":640,"height":480},"framerate":24,"keyFrameInterval":100},"from":%q,"status":"active"}},
		"storage":{"host":"10.0.0.5","file":"/tmp/%s.mkv"}}`, id, mix, mix, id)
	jsonEqual(t, jsonOf(out), want)
	l := e.listOuts(room, "recordings")
	if len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	jsonEqual(t, jsonOf(l[0]), want)
}

func out18(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	before := jsonOf(e.listOuts(room, "streaming-outs"))
	for _, op := range []string{
		`{"op":"replace","path":"/url","value":"rtmp://h/b"}`,
		`{"op":"replace","path":"/protocol","value":"rtsp"}`,
		`{"op":"replace","path":"/container","value":"mkv"}`,
		`{"op":"replace","path":"/parameters","value":{"method":"PUT","hlsTime":2,"hlsListSize":5}}`,
		`{"op":"replace","path":"/connection/url","value":"rtmp://h/b"}`,
	} {
		e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streaming-outs/"+so["id"].(string), "["+op+"]"), 500, opFailedBody)
	}
	if after := jsonOf(e.listOuts(room, "streaming-outs")); after != before {
		t.Fatalf("changed: %s", after)
	}
}

func out19(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	path := "/v1/rooms/" + room + "/streaming-outs/" + so["id"].(string)
	for _, body := range []string{
		`{"op":"replace","path":"/media/video/parameters/framerate","value":12}`,
		`[{"op":"add","path":"/media/video/parameters/framerate","value":12}]`,
		`[{"op":"replace","path":"/media/video/parameters/framerate","value":12,"x":1}]`,
		`[{"op":"replace","path":"/media/video/parameters/framerate"}]`,
		`[{"op":"replace","path":"/media/video/parameters/framerate","value":25}]`,
		`[{"op":"replace","path":"/media/video/parameters/keyFrameInterval","value":3}]`,
		`[{"op":"replace","path":"/media/video/parameters/bitrate","value":"x0.5"}]`,
		`[{"op":"replace","path":"/media/video/parameters/bitrate","value":500}]`,
		`[{"op":"replace","path":"/media/video/parameters/resolution","value":{"width":320}}]`,
		`[{"op":"replace","path":"/media/audio/from","value":5}]`,
		`[{"op":"replace","path":"/media/audio/parameters/framerate","value":12}]`,
		`[5]`,
	} {
		e.expect(e.do("PATCH", path, body), 500, opFailedBody)
	}
	var got map[string]any
	e.decode(e.do("PATCH", path, "[]"), &got)
	jsonEqual(t, jsonOf(got), jsonOf(so))
}

func out20(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	rec := e.startOut(room, "recordings", mixRec(room))
	for _, id := range []string{so["id"].(string), rec["id"].(string)} {
		for _, kind := range []string{"audio", "video"} {
			for _, v := range []string{"active", "inactive"} {
				e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streaming-outs/"+id,
					`[{"op":"replace","path":"/media/`+kind+`/status","value":"`+v+`"}]`), 500, opFailedBody)
			}
		}
	}
}

func out21(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	mix := room + "-common"
	in := e.startIn(room, goodIn)["id"].(string)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	path := "/v1/rooms/" + room + "/streaming-outs/" + so["id"].(string)
	from := func(kind, v string) string {
		return `[{"op":"replace","path":"/media/` + kind + `/from","value":"` + v + `"}]`
	}
	e.expect(e.do("PATCH", path, from("video", "nope")), 500, opFailedBody)
	var same map[string]any
	e.decode(e.do("PATCH", path, from("video", mix)), &same)
	jsonEqual(t, jsonOf(same), jsonOf(so))
	// Mixed to streaming-in video: framerate 24 is not offered by a streaming-in.
	e.expect(e.do("PATCH", path, from("video", in)), 500, opFailedBody)
	jsonEqual(t, jsonOf(e.listOuts(room, "streaming-outs")[0]), jsonOf(so))
	// Audio aac 48000/2 is offered by the streaming-in.
	var moved map[string]any
	e.decode(e.do("PATCH", path, from("audio", in)), &moved)
	if got := moved["media"].(map[string]any)["audio"].(map[string]any)["from"]; got != in {
		t.Fatalf("audio from = %v", got)
	}
	// Audio cannot move to a stream without audio.
	mute := e.startIn(room, `{"connection":{"url":"rtmp://127.0.0.1/live/v"},"media":{"audio":false,"video":"auto"}}`)["id"].(string)
	e.expect(e.do("PATCH", path, from("audio", mute)), 500, opFailedBody)
	// A forward-fed video (no parameters) can move to the mixed stream.
	fwd := e.startOut(room, "streaming-outs", `{"url":"rtmp://h/f","media":{"audio":false,"video":{"from":"`+in+`"}}}`)
	var back map[string]any
	e.decode(e.do("PATCH", "/v1/rooms/"+room+"/streaming-outs/"+fwd["id"].(string), from("video", mix)), &back)
	if got := back["media"].(map[string]any)["video"].(map[string]any)["from"]; got != mix {
		t.Fatalf("video from = %v", got)
	}
	// The output is re-linked under the same id.
	if back["id"] != fwd["id"] {
		t.Fatalf("id changed: %v", back["id"])
	}
}

func out22(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	path := "/v1/rooms/" + room + "/streaming-outs/" + so["id"].(string)
	param := func(p, v string) string {
		return `[{"op":"replace","path":"/media/video/parameters/` + p + `","value":` + v + `}]`
	}
	video := func(m map[string]any) map[string]any {
		return m["media"].(map[string]any)["video"].(map[string]any)["parameters"].(map[string]any)
	}
	var got map[string]any
	e.decode(e.do("PATCH", path, param("framerate", "15")), &got)
	if video(got)["framerate"] != 15.0 {
		t.Fatalf("framerate: %v", got)
	}
	e.decode(e.do("PATCH", path, param("resolution", `{"width":320,"height":240}`)), &got)
	if jsonOf(video(got)["resolution"]) != `{"height":240,"width":320}` {
		t.Fatalf("resolution: %v", got)
	}
	e.decode(e.do("PATCH", path, param("keyFrameInterval", "5")), &got)
	if video(got)["keyFrameInterval"] != 5.0 {
		t.Fatalf("keyFrameInterval: %v", got)
	}
	e.decode(e.do("PATCH", path, param("bitrate", `"x0.8"`)), &got)
	if b, has := video(got)["bitrate"]; !has || b != nil {
		t.Fatalf("relative bitrate on a view without bitrate = %v (present %v), want null", b, has)
	}
	if !strings.Contains(string(e.do("GET", "/v1/rooms/"+room+"/streaming-outs", "").body), `"bitrate":null`) {
		t.Fatal("list lacks bitrate null")
	}
	e.expect(e.do("PATCH", path, param("framerate", "30")), 500, opFailedBody)
	e.expect(e.do("PATCH", path, param("resolution", `{"width":1280,"height":720}`)), 500, opFailedBody)
}

func out23(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	rec := e.startOut(room, "recordings", mixRec(room))
	base := "/v1/rooms/" + room
	e.expect(e.do("PATCH", base+"/streaming-outs/12345", "[]"), 500, opFailedBody)
	e.expect(e.do("PATCH", base+"/recordings/a.b", "[]"), 500, opFailedBody)
	var got map[string]any
	e.decode(e.do("PATCH", base+"/streaming-outs/"+rec["id"].(string),
		`[{"op":"replace","path":"/media/video/parameters/framerate","value":12}]`), &got)
	if _, has := got["storage"]; !has {
		t.Fatalf("PATCH through streaming-outs did not answer the recording: %v", got)
	}
	idle := e.createRoom(`{"name":"idle"}`)
	e.expect(e.do("PATCH", "/v1/rooms/"+idle+"/streaming-outs/12345", "[]"), 500, opFailedBody)
}

func out24(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	rec := e.startOut(room, "recordings", mixRec(room))
	base := "/v1/rooms/" + room
	r := e.do("DELETE", base+"/streaming-outs/"+so["id"].(string), "")
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
		t.Fatalf("DELETE: %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
	}
	if l := e.listOuts(room, "streaming-outs"); len(l) != 0 {
		t.Fatalf("still listed: %v", l)
	}
	e.expect(e.do("DELETE", base+"/streaming-outs/"+so["id"].(string), ""), 500, opFailedBody)
	e.expect(e.do("DELETE", base+"/streaming-outs/98765", ""), 500, opFailedBody)
	e.expect(e.do("DELETE", base+"/streaming-outs/"+rec["id"].(string), ""), 500, opFailedBody)
	e.expect(e.do("DELETE", base+"/streaming-outs/a.b", ""), 500, opFailedBody)
	if l := e.listOuts(room, "recordings"); len(l) != 1 {
		t.Fatalf("wrong-collection DELETE removed the recording: %v", l)
	}
	idle := e.createRoom(`{"name":"idle"}`)
	e.expect(e.do("DELETE", "/v1/rooms/"+idle+"/recordings/98765", ""), 500, opFailedBody)
}

func out25(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	in := e.startIn(room, goodIn)["id"].(string)
	in2 := e.startIn(room, goodIn)["id"].(string)
	e.startOut(room, "streaming-outs", `{"url":"rtmp://h/f","media":{"audio":{"from":"`+in+`"},"video":false}}`)
	e.startOut(room, "recordings", `{"media":{"audio":false,"video":{"from":"`+in+`"}}}`)
	e.startOut(room, "streaming-outs", `{"url":"rtmp://h/g","media":{"audio":false,"video":{"from":"`+in2+`"}}}`)
	mixed := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/mix"))
	if r := e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+in, ""); r.status != 200 {
		t.Fatalf("delete input: %d", r.status)
	}
	if l := e.listOuts(room, "recordings"); len(l) != 0 {
		t.Fatalf("recording of the deleted input survived: %v", l)
	}
	if l := e.listOuts(room, "streaming-outs"); len(l) != 2 {
		t.Fatalf("streaming-outs after input delete: %v", l)
	}
	if err := e.fake.DropStream(room, in2); err != nil {
		t.Fatal(err)
	}
	l := e.listOuts(room, "streaming-outs")
	if len(l) != 1 || l[0]["id"] != mixed["id"] {
		t.Fatalf("after source loss: %v", l)
	}
}

func out26(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	e.startOut(room, "recordings", mixRec(room))
	if r := e.do("DELETE", "/v1/rooms/"+room, ""); r.status != 200 {
		t.Fatalf("delete room: %d", r.status)
	}
	base := "/v1/rooms/" + room
	e.expect(e.do("GET", base+"/streaming-outs", ""), 404, roomNotFound)
	e.expect(e.do("GET", base+"/recordings", ""), 404, roomNotFound)
	e.expect(e.do("DELETE", base+"/streaming-outs/"+so["id"].(string), ""), 404, roomNotFound)
	e.expect(e.do("POST", base+"/streaming-outs", mixOut(room, "rtmp://h/a")), 404, roomNotFound)
	n := 0
	for _, d := range e.fake.Dump().Deleted {
		if d.Kind == "output" && d.Reason == ReasonRoomDeleted {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d outputs recorded as deleted with the room, want 2", n)
	}
}

// idle27 is the idle timeout of 15.27: the time a test has to look at a
// room after it became idle (it was 60 ms and failed on a loaded machine).
const idle27 = time.Second

func out27(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	in := e.startIn(room, goodIn)["id"].(string)
	e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+in, "")
	time.Sleep(idle27 + 200*time.Millisecond)
	if l := e.listStreams(room); len(l) != 1 || l[0]["id"] != room+"-common" {
		t.Fatalf("mixed stream gone while an output exists: %v", l)
	}
	e.do("DELETE", "/v1/rooms/"+room+"/streaming-outs/"+so["id"].(string), "")
	eventually(t, func() string {
		if l := e.listStreams(room); len(l) != 0 {
			return fmt.Sprintf("idle room still lists %v", l)
		}
		return ""
	})
	// A failed POST activates a room and re-arms its idle clock.
	other := e.createRoom(`{"name":"o"}`)
	start := time.Now()
	e.expect(e.do("POST", "/v1/rooms/"+other+"/streaming-outs", `{"url":"rtmp://h/a","media":{"audio":false,"video":{"from":"nope"}}}`), 500, rpcFailedBody)
	if l := e.listStreams(other); len(l) != 1 && time.Since(start) < idle27 {
		t.Fatalf("room not active after a failed POST: %v", l)
	}
	eventually(t, func() string {
		if l := e.listStreams(other); len(l) != 0 {
			return fmt.Sprintf("room still active long after a failed POST: %v", l)
		}
		return ""
	})
	if d := time.Since(start); d < idle27 {
		t.Errorf("room idle %v after a failed POST, before its idle timeout (%v)", d, idle27)
	}
	// An output that dies asynchronously does not re-arm the idle clock.
	if err := e.fake.SetPushFailure("", 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e.startOut(room, "streaming-outs", mixOut(room, "rtmp://x.invalid/a"))
	eventually(t, func() string {
		if l := e.listOuts(room, "streaming-outs"); len(l) != 0 {
			return fmt.Sprintf("failed push listed: %v", l)
		}
		return ""
	})
	time.Sleep(idle27 + 200*time.Millisecond)
	if l := e.listStreams(room); len(l) != 1 {
		t.Fatalf("room torn down after an asynchronous output death: %v", l)
	}
}

func out28(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	if l := e.listStreams(room); len(l) != 0 {
		t.Fatalf("fresh room lists %v", l)
	}
	e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/a"))
	if l := e.listStreams(room); len(l) != 1 || l[0]["type"] != "mixed" {
		t.Fatalf("streams = %v", l)
	}
	// A rejected POST activates the room too (the conference starts first).
	other := e.createRoom(`{"name":"o"}`)
	e.expect(e.do("POST", "/v1/rooms/"+other+"/streaming-outs",
		`{"url":"rtmp://h/a","media":{"audio":false,"video":{"from":"nope"}}}`), 500, rpcFailedBody)
	if l := e.listStreams(other); len(l) != 1 || l[0]["id"] != other+"-common" {
		t.Fatalf("streams after a rejected POST = %v", l)
	}
}

func out29(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	so := e.startOut(room, "streaming-outs", mixOut(room, "rtmp://h/live/job-42"))
	rec := e.startOut(room, "recordings", mixRec(room))
	for _, o := range []map[string]any{so, rec} {
		text := jsonOf(o)
		for _, word := range []string{"owner", "attributes", "admin", "type"} {
			if strings.Contains(text, `"`+word+`"`) {
				t.Errorf("%s carries %q", text, word)
			}
		}
	}
	// Another client of the service (another cnonce) sees and deletes them.
	other := signHeader(testService, testKey, "1", "someone-else")
	r := e.raw("GET", "/v1/rooms/"+room+"/streaming-outs", "", other)
	if r.status != 200 || !strings.Contains(string(r.body), "rtmp://h/live/job-42") {
		t.Fatalf("other client: %d %s", r.status, r.body)
	}
	if r := e.raw("DELETE", "/v1/rooms/"+room+"/recordings/"+rec["id"].(string), "", other); r.status != 200 {
		t.Fatalf("other client's delete: %d %s", r.status, r.body)
	}
}

func out30(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	re := regexp.MustCompile(`^[0-9]{1,19}$`)
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		kind, body := "streaming-outs", mixOut(room, fmt.Sprintf("rtmp://h/live/%d", i))
		if i%2 == 1 {
			kind, body = "recordings", mixRec(room)
		}
		id, ok := e.startOut(room, kind, body)["id"].(string)
		if !ok || !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q", id)
		}
		seen[id] = true
	}
}

func out31(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"r"}`)
	in := e.startIn(room, goodIn)["id"].(string)
	e.fake.SetOutputDelay(window)
	var wg sync.WaitGroup
	var post response
	wg.Add(1)
	go func() {
		defer wg.Done()
		post = e.do("POST", "/v1/rooms/"+room+"/streaming-outs", `{"url":"rtmp://h/f","media":{"audio":{"from":"`+in+`"},"video":{"from":"`+in+`"}}}`)
	}()
	deadline := time.Now().Add(2 * time.Second)
	for len(e.fake.Outputs()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r := e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+in, "")
	if r.status != 200 {
		t.Fatalf("DELETE of the source: %d %s", r.status, r.body)
	}
	found := false
	for _, s := range e.listStreams(room) {
		found = found || s["id"] == in
	}
	if !found {
		t.Fatal("the source was removed; the quirk keeps it listed")
	}
	wg.Wait()
	if post.status != 200 {
		t.Fatalf("pending POST: %d %s", post.status, post.body)
	}
}
