package srsapi

import (
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
