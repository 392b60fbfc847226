package owtapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const testMix = "6b05f3f2a02915a554fca0f2-common"

// outputCall is one client method under test, with the request it must send.
type outputCall struct {
	name   string
	call   func(context.Context, *Client) (any, error)
	method string
	path   string
	body   string // exact JSON, "" for none
	op     string // Error.Op on failure
	id     string // Error.Stream on failure
}

func outputCalls() []outputCall {
	mix := &AudioOut{From: testMix}
	return []outputCall{
		{name: "list streaming-outs", call: func(ctx context.Context, c *Client) (any, error) { return c.ListStreamingOuts(ctx, "r1") },
			method: "GET", path: "/v1/rooms/r1/streaming-outs", op: "list streaming-outs"},
		{name: "start streaming-out", call: func(ctx context.Context, c *Client) (any, error) {
			return c.StartStreamingOut(ctx, "r1", StreamingOutRequest{URL: "rtmp://srs:1935/live/cam1?vhost=v",
				Media: OutputMedia{Audio: mix, Video: &VideoOut{From: testMix}}})
		},
			method: "POST", path: "/v1/rooms/r1/streaming-outs",
			body: `{"url":"rtmp://srs:1935/live/cam1?vhost=v","media":{"audio":{"from":"` + testMix + `"},"video":{"from":"` + testMix + `"}}}`,
			op:   "start streaming-out", id: "rtmp://srs:1935/live/cam1?vhost=v"},
		{name: "update streaming-out", call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateStreamingOut(ctx, "r1", "502424329745486460", []OutputPatchOp{ReplaceOutputSource("video", "s9")})
		},
			method: "PATCH", path: "/v1/rooms/r1/streaming-outs/502424329745486460",
			body: `[{"op":"replace","path":"/media/video/from","value":"s9"}]`,
			op:   "update streaming-out", id: "502424329745486460"},
		{name: "stop streaming-out", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.StopStreamingOut(ctx, "r1", "502424329745486460")
		},
			method: "DELETE", path: "/v1/rooms/r1/streaming-outs/502424329745486460", op: "stop streaming-out", id: "502424329745486460"},
		{name: "list recordings", call: func(ctx context.Context, c *Client) (any, error) { return c.ListRecordings(ctx, "r1") },
			method: "GET", path: "/v1/rooms/r1/recordings", op: "list recordings"},
		{name: "start recording", call: func(ctx context.Context, c *Client) (any, error) {
			return c.StartRecording(ctx, "r1", RecordingRequest{Container: "mkv", Media: OutputMedia{Video: &VideoOut{From: testMix}}})
		},
			method: "POST", path: "/v1/rooms/r1/recordings",
			body: `{"container":"mkv","media":{"audio":false,"video":{"from":"` + testMix + `"}}}`, op: "start recording"},
		{name: "update recording", call: func(ctx context.Context, c *Client) (any, error) {
			return c.UpdateRecording(ctx, "r1", "116215947218796020", nil)
		},
			method: "PATCH", path: "/v1/rooms/r1/recordings/116215947218796020", body: `[]`,
			op: "update recording", id: "116215947218796020"},
		{name: "stop recording", call: func(ctx context.Context, c *Client) (any, error) {
			return nil, c.StopRecording(ctx, "r1", "116215947218796020")
		},
			method: "DELETE", path: "/v1/rooms/r1/recordings/116215947218796020", op: "stop recording", id: "116215947218796020"},
	}
}

// TestOutputMethods checks each output call on the wire and its decoded answer.
func TestOutputMethods(t *testing.T) {
	so := testdata(t, "streaming_out.json")
	rec := testdata(t, "recording.json")
	answers := map[string]httpmock.Responder{
		"list streaming-outs":  jsonResponder(200, "["+so+"]"),
		"start streaming-out":  jsonResponder(200, so),
		"update streaming-out": jsonResponder(200, so),
		"stop streaming-out":   httpmock.NewStringResponder(200, ""),
		"list recordings":      jsonResponder(200, "["+rec+"]"),
		"start recording":      jsonResponder(200, rec),
		"update recording":     jsonResponder(200, rec),
		"stop recording":       httpmock.NewStringResponder(200, ""),
	}
	checkSO := func(t *testing.T, s StreamingOut) {
		t.Helper()
		if s.ID != "502424329745486460" || s.URL != "rtmp://srs:1935/live/cam1?vhost=v" ||
			s.Media.Audio == nil || s.Media.Audio.From != testMix || s.Media.Audio.Status != "active" ||
			s.Media.Video == nil || !strings.Contains(string(s.Media.Video.Parameters), `"framerate":24`) ||
			string(s.Media.Video.Format) != `{"codec":"h264","profile":"CB"}` {
			t.Errorf("streaming-out = %+v", s)
		}
	}
	checkRec := func(t *testing.T, r Recording) {
		t.Helper()
		if r.ID != "116215947218796020" || r.Storage.Host != "10.0.0.5" || r.Storage.File != "/tmp/116215947218796020.mkv" ||
			r.Media.Audio == nil || r.Media.Video == nil || r.Media.Video.From != testMix {
			t.Errorf("recording = %+v", r)
		}
	}
	checks := map[string]func(*testing.T, any){
		"list streaming-outs": func(t *testing.T, got any) {
			l := got.([]StreamingOut)
			if len(l) != 1 {
				t.Fatalf("list = %+v", l)
			}
			checkSO(t, l[0])
		},
		"start streaming-out":  func(t *testing.T, got any) { checkSO(t, got.(StreamingOut)) },
		"update streaming-out": func(t *testing.T, got any) { checkSO(t, got.(StreamingOut)) },
		"list recordings": func(t *testing.T, got any) {
			l := got.([]Recording)
			if len(l) != 1 {
				t.Fatalf("list = %+v", l)
			}
			checkRec(t, l[0])
		},
		"start recording":    func(t *testing.T, got any) { checkRec(t, got.(Recording)) },
		"update recording":   func(t *testing.T, got any) { checkRec(t, got.(Recording)) },
		"stop streaming-out": func(t *testing.T, got any) {},
		"stop recording":     func(t *testing.T, got any) {},
	}
	for _, tt := range outputCalls() {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, answers[tt.name])
			got, err := tt.call(context.Background(), m.client(nil))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			checks[tt.name](t, got)
			reqs := m.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path || len(r.Query) != 0 {
				t.Errorf("request %s %s?%v, want %s %s", r.Method, r.Path, r.Query, tt.method, tt.path)
			}
			checkAuthHeader(t, r.Header.Get("Authorization"), testKey)
			if got := string(r.Body); got != tt.body {
				t.Errorf("body = %s\nwant   %s", got, tt.body)
			}
			if ct := r.Header.Get("Content-Type"); (tt.body != "") != (ct == "application/json") {
				t.Errorf("Content-Type = %q with body %q", ct, tt.body)
			}
		})
	}
}

// TestOutputListsEmpty: an idle room lists [] as an empty, non-nil slice.
func TestOutputListsEmpty(t *testing.T) {
	m := newMockOWT(t, jsonResponder(200, "[]"))
	c := m.client(nil)
	so, err := c.ListStreamingOuts(context.Background(), "r1")
	if err != nil || so == nil || len(so) != 0 {
		t.Fatalf("streaming-outs = %#v, %v", so, err)
	}
	rec, err := c.ListRecordings(context.Background(), "r1")
	if err != nil || rec == nil || len(rec) != 0 {
		t.Fatalf("recordings = %#v, %v", rec, err)
	}
}

// TestOutputErrors runs every OWT error an output call can meet through
// every output call: the predicates, the operator hint, and no retry.
func TestOutputErrors(t *testing.T) {
	type preds struct{ room, notFound, ambiguous, bad, transport bool }
	errs := []struct {
		name    string
		respond httpmock.Responder
		status  int
		code    int
		want    preds
		hint    func(op string) string
	}{
		{name: "bad request", respond: jsonResponder(400, `{"error":{"code":1201,"message":"Bad request"}}`), status: 400, code: 1201,
			want: preds{bad: true}, hint: func(string) string { return "check its view, URL and protocol" }},
		{name: "operation failed", respond: jsonResponder(500, `{"error":{"code":1301,"message":"Operation failed"}}`), status: 500, code: 1301,
			want: preds{ambiguous: true}, hint: func(op string) string {
				switch {
				case strings.HasPrefix(op, "start"):
					return "may still have been created"
				case strings.HasPrefix(op, "stop"):
					return "may already be gone"
				case strings.HasPrefix(op, "update"):
					return "does not offer its current format"
				}
				return "did not answer the listing"
			}},
		{name: "rpc timeout", respond: jsonResponder(500, `{"error":{"code":1301,"message":"RPC:addServerSideSubscription failed"}}`), status: 500, code: 1301,
			want: preds{ambiguous: true}, hint: func(string) string { return "RPC:addServerSideSubscription failed" }},
		{name: "room not found", respond: jsonResponder(404, `{"error":{"code":1003,"message":"Room not found"}}`), status: 404, code: 1003,
			want: preds{room: true, notFound: true}, hint: func(string) string { return "the room was deleted" }},
		{name: "type error", respond: jsonResponder(500, `{"error":{"code":2001,"message":"TypeError Cannot read properties of undefined (reading 'startsWith')"}}`),
			status: 500, code: 2001, hint: func(string) string { return "management_api log" }},
		{name: "no such route", respond: jsonResponder(404, `{"error":{"code":1001,"message":"Resource not found"}}`), status: 404, code: 1001,
			hint: func(string) string { return "unknown path" }},
		{name: "reset", respond: httpmock.NewErrorResponder(errors.New("connection reset by peer")),
			want: preds{transport: true}, hint: func(string) string { return "reachable at http://owt.test:3000" }},
		{name: "timeout", respond: jsonResponder(200, "[]").Delay(5 * time.Second),
			want: preds{transport: true}, hint: func(string) string { return "may still have taken effect" }},
	}
	for _, call := range outputCalls() {
		for _, tt := range errs {
			t.Run(call.name+"/"+tt.name, func(t *testing.T) {
				m := newMockOWT(t, tt.respond)
				c := m.client(func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
				_, err := call.call(context.Background(), c)
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v (%T), want *Error", err, err)
				}
				if e.Status != tt.status || e.Code != tt.code || e.Op != call.op || e.Room != "r1" || e.Stream != call.id {
					t.Errorf("error %d/%d op %q room %q id %q", e.Status, e.Code, e.Op, e.Room, e.Stream)
				}
				got := preds{room: IsRoomNotFound(err), notFound: IsNotFound(err), ambiguous: IsAmbiguous(err),
					bad: IsBadRequest(err), transport: IsTransport(err)}
				if got != tt.want {
					t.Errorf("predicates = %+v, want %+v", got, tt.want)
				}
				text := err.Error()
				if want := tt.hint(call.op); !strings.Contains(text, want) {
					t.Errorf("error %q lacks %q", text, want)
				}
				if !strings.HasPrefix(text, "owt: "+call.op) || !strings.Contains(text, " in room r1 ") {
					t.Errorf("error %q does not name the call and room", text)
				}
				if call.id != "" && !strings.Contains(text, call.op+" "+call.id+" in room") {
					t.Errorf("error %q does not name the output %s", text, call.id)
				}
				if strings.Contains(text, testKey) {
					t.Errorf("error leaks the key: %s", text)
				}
				if n := len(m.requests()); n != 1 {
					t.Errorf("%d requests, want 1 (no retries)", n)
				}
			})
		}
	}
}

// TestOutputUndecodable: a 200 that is not an output is an error naming the call.
func TestOutputUndecodable(t *testing.T) {
	for _, call := range outputCalls() {
		if call.method == "DELETE" {
			continue
		}
		t.Run(call.name, func(t *testing.T) {
			m := newMockOWT(t, jsonResponder(200, `"not an output"`))
			_, err := call.call(context.Background(), m.client(nil))
			var e *Error
			if !errors.As(err, &e) || e.Status != 200 || e.Message != "cannot decode the answer" || e.Op != call.op {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestStartOutputRejectsBadRequestLocally(t *testing.T) {
	v := &VideoOut{From: testMix}
	a := &AudioOut{From: testMix}
	soTests := []struct {
		name string
		req  StreamingOutRequest
		want string
	}{
		{"no url", StreamingOutRequest{Media: OutputMedia{Video: v}}, "URL is empty"},
		{"unguessable protocol", StreamingOutRequest{URL: "srt://h/x", Media: OutputMedia{Video: v}}, "cannot guess"},
		{"bad protocol", StreamingOutRequest{URL: "rtmp://h/x", Protocol: "srt", Media: OutputMedia{Video: v}}, `protocol "srt"`},
		{"no media", StreamingOutRequest{URL: "rtmp://h/x"}, "both absent"},
		{"empty from", StreamingOutRequest{URL: "rtmp://h/x", Media: OutputMedia{Audio: &AudioOut{}}}, "from is empty"},
		{"empty video from", StreamingOutRequest{URL: "rtmp://h/x", Media: OutputMedia{Audio: a, Video: &VideoOut{}}}, "from is empty"},
		{"audio format without codec", StreamingOutRequest{URL: "rtmp://h/x", Media: OutputMedia{Audio: &AudioOut{From: "m", Format: &AudioFormat{SampleRate: 48000}}}}, "audio format without a codec"},
		{"video format without codec", StreamingOutRequest{URL: "rtmp://h/x", Media: OutputMedia{Video: &VideoOut{From: "m", Format: &VideoFormat{Profile: "CB"}}}}, "video format without a codec"},
		{"zero resolution", StreamingOutRequest{URL: "rtmp://h/x", Media: OutputMedia{Video: &VideoOut{From: "m", Parameters: &VideoParameters{Resolution: &Resolution{Width: 1280}}}}}, "not positive"},
		{"hls parameters without method", StreamingOutRequest{URL: "http://h/x.m3u8", Parameters: &StreamingOutParameters{HLSTime: 2, HLSListSize: 5}, Media: OutputMedia{Video: v}}, "method PUT or POST"},
		{"incomplete hls parameters", StreamingOutRequest{URL: "http://h/x.m3u8", Parameters: &StreamingOutParameters{Method: "PUT", HLSTime: 2}, Media: OutputMedia{Video: v}}, "both hlsTime"},
		{"incomplete dash parameters", StreamingOutRequest{URL: "http://h/x.mpd", Parameters: &StreamingOutParameters{Method: "POST", DashWindowSize: 2}, Media: OutputMedia{Video: v}}, "both hlsTime"},
	}
	for _, tt := range soTests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, jsonResponder(200, "{}"))
			_, err := m.client(nil).StartStreamingOut(context.Background(), "r1", tt.req)
			if !errors.Is(err, ErrInvalidRequest) || IsTransport(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidRequest with %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "it was not sent") {
				t.Errorf("err = %v: no hint", err)
			}
			if n := len(m.requests()); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
	recTests := []struct {
		name string
		req  RecordingRequest
		want string
	}{
		{"bad container", RecordingRequest{Container: "avi", Media: OutputMedia{Video: v}}, `container "avi"`},
		{"no media", RecordingRequest{Container: "mp4"}, "both absent"},
	}
	for _, tt := range recTests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockOWT(t, jsonResponder(200, "{}"))
			_, err := m.client(nil).StartRecording(context.Background(), "r1", tt.req)
			var e *Error
			if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &e) || e.Status != 0 || e.Code != 0 {
				t.Fatalf("err = %v, want ErrInvalidRequest with %q and no status", err, tt.want)
			}
			if n := len(m.requests()); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}

// TestStartOutputAcceptsValidRequests: every protocol and container the
// schema allows goes out, with the JSON OWT expects.
func TestStartOutputAcceptsValidRequests(t *testing.T) {
	v := &VideoOut{From: testMix, Format: &VideoFormat{Codec: "h264", Profile: "CB"},
		Parameters: &VideoParameters{Resolution: &Resolution{Width: 320, Height: 240}, Framerate: 15, Bitrate: "x0.8", KeyFrameInterval: 30}}
	a := &AudioOut{From: testMix, Format: &AudioFormat{Codec: "aac", SampleRate: 48000, ChannelNum: 2}}
	so := []struct {
		req  StreamingOutRequest
		body string
	}{
		{StreamingOutRequest{URL: "rtsp://h/x", Media: OutputMedia{Audio: a}},
			`{"url":"rtsp://h/x","media":{"audio":{"from":"` + testMix + `","format":{"codec":"aac","sampleRate":48000,"channelNum":2}},"video":false}}`},
		{StreamingOutRequest{URL: "http://h/x.m3u8", Parameters: &StreamingOutParameters{Method: "PUT", HLSTime: 2, HLSListSize: 5}, Media: OutputMedia{Video: v}},
			`{"url":"http://h/x.m3u8","parameters":{"method":"PUT","hlsTime":2,"hlsListSize":5},"media":{"audio":false,"video":{"from":"` + testMix +
				`","format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":320,"height":240},"framerate":15,"bitrate":"x0.8","keyFrameInterval":30}}}}`},
		{StreamingOutRequest{URL: "http://h/x.mpd", Parameters: &StreamingOutParameters{Method: "POST", DashSegDuration: 2, DashWindowSize: 5}, Media: OutputMedia{Video: &VideoOut{From: "s"}}},
			`{"url":"http://h/x.mpd","parameters":{"method":"POST","dashSegDuration":2,"dashWindowSize":5},"media":{"audio":false,"video":{"from":"s"}}}`},
		{StreamingOutRequest{URL: "http://h/y.m3u8", Parameters: &StreamingOutParameters{Method: "PUT", HLSTime: 1, HLSListSize: 1}, Media: OutputMedia{Video: &VideoOut{From: "s"}}},
			`{"url":"http://h/y.m3u8","parameters":{"method":"PUT","hlsTime":1,"hlsListSize":1},"media":{"audio":false,"video":{"from":"s"}}}`},
		{StreamingOutRequest{URL: "http://h/live", Protocol: "hls", Media: OutputMedia{Video: &VideoOut{From: "s"}}},
			`{"url":"http://h/live","protocol":"hls","media":{"audio":false,"video":{"from":"s"}}}`},
	}
	for _, tt := range so {
		m := newMockOWT(t, jsonResponder(200, testdata(t, "streaming_out.json")))
		if _, err := m.client(nil).StartStreamingOut(context.Background(), "r1", tt.req); err != nil {
			t.Fatalf("%s: %v", tt.req.URL, err)
		}
		if got := string(m.requests()[0].Body); got != tt.body {
			t.Errorf("body = %s\nwant   %s", got, tt.body)
		}
	}
	for _, container := range []string{"", "auto", "mp4", "mkv", "ts"} {
		m := newMockOWT(t, jsonResponder(200, testdata(t, "recording.json")))
		if _, err := m.client(nil).StartRecording(context.Background(), "r1", RecordingRequest{Container: container, Media: OutputMedia{Audio: a}}); err != nil {
			t.Fatalf("container %q: %v", container, err)
		}
		var body map[string]any
		if err := json.Unmarshal(m.requests()[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		if _, has := body["container"]; has != (container != "") {
			t.Errorf("container %q: body %s", container, m.requests()[0].Body)
		}
	}
}

func TestGuessProtocol(t *testing.T) {
	for u, want := range map[string]string{
		"rtmp://h/a/b": "rtmp", "rtsp://h/x": "rtsp", "http://h/x.m3u8": "hls", "https://h/x.mpd": "dash",
		"RTMP://h/x": "", "http://h/x.m3u8?x=1": "", "srt://h": "", "": "",
	} {
		if got := GuessProtocol(u); got != want {
			t.Errorf("GuessProtocol(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestOutputMediaJSON(t *testing.T) {
	b, err := json.Marshal(OutputMedia{})
	if err != nil || string(b) != `{"audio":false,"video":false}` {
		t.Fatalf("empty media = %s, %v", b, err)
	}
}
