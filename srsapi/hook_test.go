package srsapi

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func validHook() Hook {
	return Hook{Action: ActionOnPublish, Vhost: DefaultVhost, App: "live", Stream: "s1", ClientID: "c1", StreamID: "vid-1"}
}

func TestParseHookFixture(t *testing.T) {
	h, err := ParseHook(readFixture(t, "hook-on_publish-vhost-in-tcurl.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Hook{ServerID: "vid-fm712gk", ServiceID: "6b9632yk", Action: ActionOnPublish, ClientID: "918xc038", IP: "127.0.0.1",
		Vhost: "video.test.com", App: "live", TcURL: "rtmp://127.0.0.1:1935/live?vhost=video.test.com", Stream: "room4",
		Param: "?vhost=video.test.com?vhost=video.test.com", StreamURL: "video.test.com/live/room4", StreamID: "vid-092c337"}
	if h != want {
		t.Errorf("hook = %+v\nwant %+v", h, want)
	}
	if got := h.Key(); got != (StreamKey{"video.test.com", "live", "room4"}) || got.String() != "video.test.com/live/room4" {
		t.Errorf("key = %v %q", got, got.String())
	}
	if q := h.Query(); !reflect.DeepEqual(q, url.Values{"vhost": {"video.test.com"}}) {
		t.Errorf("query = %v", q)
	}
}

// TestParseHookRawBytes: SRS copies every byte but '"', '\\', \b, \f, \n,
// \r and \t raw into its JSON, so raw control bytes and invalid UTF-8 reach
// the agent inside strings.
func TestParseHookRawBytes(t *testing.T) {
	body := []byte("{\"action\":\"on_publish\",\"client_id\":\"c\",\"stream_id\":\"s\",\"vhost\":\"__defaultVhost__\",\"app\":\"live\",\"stream\":\"a\x01\x1fb\xff\",\"param\":\"?t=\\\"x\\\\\"}")
	h, err := ParseHook(body)
	if err != nil {
		t.Fatal(err)
	}
	if h.Stream != "a\x01\x1fb\uFFFD" || h.Param != `?t="x\` {
		t.Errorf("stream %q param %q", h.Stream, h.Param)
	}
	if got := escapeRawControls([]byte(`{"a":"b"}`)); string(got) != `{"a":"b"}` {
		t.Errorf("clean body changed: %q", got)
	}
}

func TestParseHookErrors(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"not json", `{"action":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"wrong type", `{"action":"on_publish","vhost":1}`, "not a JSON object"},
		{"null", `null`, "action is missing"},
		{"trailing garbage", `{"action":"on_publish"} x`, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHook([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestHookValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Hook)
		wantErr string // "" = valid
	}{
		{"valid", func(*Hook) {}, ""},
		{"play without ids", func(h *Hook) { h.Action, h.ClientID, h.StreamID = ActionOnPlay, "", "" }, ""},
		{"unicode name", func(h *Hook) { h.Stream = "카메라-1" }, ""},
		{"256 bytes", func(h *Hook) { h.Stream = strings.Repeat("a", 256) }, ""},
		{"unknown action", func(h *Hook) { h.Action = "on_dvr" }, `action "on_dvr" is unknown`},
		{"missing action", func(h *Hook) { h.Action = "" }, "action is missing"},
		{"missing vhost", func(h *Hook) { h.Vhost = "" }, "vhost is missing"},
		{"missing app", func(h *Hook) { h.App = "" }, "app is missing"},
		{"missing stream", func(h *Hook) { h.Stream = "" }, "stream is missing"},
		{"missing client_id", func(h *Hook) { h.ClientID = "" }, "client_id is missing"},
		{"missing stream_id", func(h *Hook) { h.Action, h.StreamID = ActionOnUnpublish, "" }, "stream_id is missing"},
		// Everything SRS 6 can send is a hook (its names have no character
		// or length rules besides the 32767-byte AMF0 strings).
		{"multi-level app", func(h *Hook) { h.App = "live/a/b" }, ""},
		{"dotdot", func(h *Hook) { h.Stream = "cam..1" }, ""},
		{"only dots", func(h *Hook) { h.Stream = ".." }, ""},
		{"control char", func(h *Hook) { h.Vhost = "a\x01b" }, ""},
		{"del char", func(h *Hook) { h.Stream = "a\x7f" }, ""},
		{"c1 char", func(h *Hook) { h.Stream = "a\u0085" }, ""},
		{"32767 bytes", func(h *Hook) { h.Stream = strings.Repeat("a", 32767) }, ""},
		{"invalid utf8", func(h *Hook) { h.App = "\xc3" }, ""},
		{"control in param", func(h *Hook) { h.Param = "?a=\x00" }, ""},
		{"percent", func(h *Hook) { h.Stream = "a%2Fb" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := validHook()
			tc.mod(&h)
			err := h.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestHookQuery(t *testing.T) {
	tests := []struct {
		param string
		want  url.Values
	}{
		{"", url.Values{}},
		{"?token=abc", url.Values{"token": {"abc"}}},
		{"token=abc&x=1", url.Values{"token": {"abc"}, "x": {"1"}}},
		{"?vhost=video.test.com", url.Values{"vhost": {"video.test.com"}}},
		{"?vhost=video.test.com?vhost=video.test.com", url.Values{"vhost": {"video.test.com"}}},
		{"?vhost=v?token=t&x=1", url.Values{"vhost": {"v"}, "token": {"t"}, "x": {"1"}}},
		{"?a=1&a=2&a=1", url.Values{"a": {"1", "2"}}},
		{"?t=a%20b&bad=%zz&=x&flag", url.Values{"t": {"a b"}, "flag": {""}}},
	}
	for _, tc := range tests {
		t.Run(tc.param, func(t *testing.T) {
			h := Hook{Param: tc.param}
			if got := h.Query(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Query(%q) = %v, want %v", tc.param, got, tc.want)
			}
		})
	}
}
