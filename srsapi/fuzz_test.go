package srsapi

import (
	"testing"
	"unicode/utf8"
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
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
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
