package srsapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"testing"
)

// FuzzParseHook checks that ParseHook never panics and that whatever it
// accepts is a valid hook. The seeds in testdata/fuzz/FuzzParseHook are the
// fixture bodies.
func FuzzParseHook(f *testing.F) {
	f.Add([]byte(`{"action":"on_publish"}`))
	f.Add([]byte("{\"action\":\"on_play\",\"vhost\":\"\xff\",\"app\":\"a\",\"stream\":\"s\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseHook(body)
		if err != nil {
			return
		}
		if h.Action == "" || h.Vhost == "" || h.App == "" || h.Stream == "" {
			t.Fatalf("accepted a hook without action or names: %+v", h)
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("ParseHook accepted a hook Validate refuses: %v", err)
		}
		if h.Key().String() != h.Vhost+"/"+h.App+"/"+h.Stream {
			t.Fatalf("key %q", h.Key().String())
		}
		_ = h.Query()
	})
}

// FuzzHookHandler drives the whole handler with arbitrary bodies: the
// answer is 200 {"code":0} exactly when the body is an SRS hook (ParseHook
// accepts it and its action belongs on the path), else a 400 or 413 whose
// body is one line of JSON; never a 5xx, never a panic.
func FuzzHookHandler(f *testing.F) {
	f.Add([]byte(`{"action":"on_publish","vhost":"v","app":"live","stream":"s","client_id":"c","stream_id":"i"}`), false)
	f.Add([]byte("{\"action\":\"on_unpublish\",\"vhost\":\"v\",\"app\":\"a/b\",\"stream\":\"s\x01\xff\",\"client_id\":\"c\",\"stream_id\":\"i\"}"), false)
	f.Add([]byte(`{"action":"on_play","vhost":"v","app":"live","stream":"s"}`), true)
	f.Add([]byte(`{"action":"on_play","vhost":"v","app":"live","stream":"s"}`), false)
	f.Add([]byte(`[`), false)
	f.Add([]byte(`null`), true)
	h := NewHookHandler(HookHandlerConfig{Receiver: &recorder{}, MaxBody: 4096, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, body []byte, clients bool) {
		path := "/api/v1/streams"
		if clients {
			path = "/api/v1/clients"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, srsRequest(path, body))
		hook, err := ParseHook(body)
		a1, a2, _ := routeActions(path)
		want := err == nil && (hook.Action == a1 || hook.Action == a2) && len(body) <= 4096
		if want {
			if rec.Code != 200 || rec.Body.String() != `{"code":0}` {
				t.Fatalf("hook %q answered %d %q, want 200 {\"code\":0}", body, rec.Code, rec.Body.String())
			}
			return
		}
		if rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("non-hook %q answered %d %q", body, rec.Code, rec.Body.String())
		}
		var ans struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		b := rec.Body.Bytes()
		if json.Unmarshal(b, &ans) != nil || ans.Code != rec.Code || ans.Msg == "" || bytes.ContainsRune(b, '\n') {
			t.Fatalf("answer body %q", b)
		}
	})
}

// FuzzParseParam: any param parses without panic into keys that are not
// empty, with no duplicate value per key, and parsing is stable under the
// canonical re-encoding.
func FuzzParseParam(f *testing.F) {
	for _, s := range []string{"", "?token=abc", "?vhost=v?vhost=v", "?a=1&b=&token=x", "?%zz=1&k=%41", "??&&=&a", "?a=1?a=1&a=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, param string) {
		q := ParseParam(param)
		for k, vs := range q {
			if k == "" || len(vs) == 0 {
				t.Fatalf("%q: key %q values %q", param, k, vs)
			}
			seen := map[string]bool{}
			for _, v := range vs {
				if seen[v] {
					t.Fatalf("%q: duplicate value %q of %q", param, v, k)
				}
				seen[v] = true
			}
		}
		again := ParseParam("?" + q.Encode())
		if !reflect.DeepEqual(again, q) && len(q) > 0 {
			t.Fatalf("%q parses to %v, its encoding %q to %v", param, q, q.Encode(), again)
		}
	})
}
