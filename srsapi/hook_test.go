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

func TestParseHookErrors(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"not json", `{"action":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"wrong type", `{"action":"on_publish","vhost":1}`, "not a JSON object"},
		{"invalid utf8", "{\"action\":\"on_publish\",\"vhost\":\"\xff\"}", "UTF-8"},
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
		{"slash", func(h *Hook) { h.App = "a/b" }, "app \"a/b\" contains '/'"},
		{"dotdot", func(h *Hook) { h.Stream = "..x" }, `stream "..x" contains ".."`},
		{"control char", func(h *Hook) { h.Vhost = "a\nb" }, "vhost contains control character U+000A"},
		{"del char", func(h *Hook) { h.Stream = "a\x7f" }, "stream contains control character U+007F"},
		{"c1 char", func(h *Hook) { h.Stream = "a\u0085" }, "stream contains control character U+0085"},
		{"too long", func(h *Hook) { h.Stream = strings.Repeat("a", 257) }, "stream is 257 bytes long (limit 256)"},
		{"invalid utf8", func(h *Hook) { h.App = "\xc3" }, "app is not valid UTF-8"},
		{"control in param", func(h *Hook) { h.Param = "?a=\x00" }, "param contains control character"},
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
