package reconcile

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStreamKeyRoundTrip(t *testing.T) {
	tests := []StreamKey{
		{Server: "origin", Vhost: "__defaultVhost__", App: "live", Stream: "a"},
		{Server: "edge-2", Vhost: "news.example.com", App: "live", Stream: "class-1_hd"},
		{Server: "origin", Vhost: "v", App: "live/sub", Stream: "s"},
		{Server: "origin", Vhost: "v", App: "live/a/b", Stream: "c..d"},
	}
	for _, k := range tests {
		s := k.String()
		got, err := ParseStreamKey(s)
		if err != nil {
			t.Errorf("ParseStreamKey(%q): %v", s, err)
			continue
		}
		if got != k {
			t.Errorf("ParseStreamKey(%q) = %+v, want %+v", s, got, k)
		}
	}
	if got := (StreamKey{Server: "s", Vhost: "v", App: "a", Stream: "x"}).String(); got != "s/v/a/x" {
		t.Errorf("String() = %q, want s/v/a/x", got)
	}
}

func TestParseStreamKeyErrors(t *testing.T) {
	for _, s := range []string{"", "origin", "origin/v/app", "origin//app/s", "origin/v//s", "origin/v/app/"} {
		k, err := ParseStreamKey(s)
		if err == nil {
			t.Errorf("ParseStreamKey(%q) = %+v, want an error", s, k)
			continue
		}
		if !strings.Contains(err.Error(), "server/vhost/app/stream") || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseStreamKey(%q) error %q should quote the key and say the expected form", s, err)
		}
	}
}

func TestAttributesRoundTrip(t *testing.T) {
	k := StreamKey{Server: "origin", Vhost: "news.example.com", App: "live", Stream: "a"}
	attrs := Attributes("agent-1", k, "?token=x&tier=gold", "rtmp://127.0.0.1:1935/live/a?vhost=news.example.com", "op-1")
	// OWT stores attributes verbatim and returns them as decoded JSON.
	b, err := json.Marshal(attrs)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]map[string]any{"in memory": attrs, "through JSON": back} {
		own, ok := ParseAttributes(m)
		want := Ownership{Agent: "agent-1", Key: k, Param: "?token=x&tier=gold", URL: "rtmp://127.0.0.1:1935/live/a?vhost=news.example.com", Op: "op-1"}
		if !ok || own != want {
			t.Errorf("%s: ParseAttributes = %+v, %v; want %+v", name, own, ok, want)
		}
	}
}

func TestParseAttributesNotOurs(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{"agent": "agent-1", "stream": "origin/v/live/a"}
	}
	with := func(k string, v any) map[string]any {
		m := good()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return map[string]any{"srs-owt-proxy": m}
	}
	tests := []struct {
		name  string
		attrs map[string]any
	}{
		{"nil", nil},
		{"empty", map[string]any{}},
		{"other attributes", map[string]any{"owner": "someone"}},
		{"root not an object", map[string]any{"srs-owt-proxy": "agent-1"}},
		{"no agent", with("agent", nil)},
		{"empty agent", with("agent", "")},
		{"agent not a string", with("agent", 7.0)},
		{"no stream", with("stream", nil)},
		{"bad stream", with("stream", "live/a")},
	}
	for _, tt := range tests {
		if own, ok := ParseAttributes(tt.attrs); ok {
			t.Errorf("%s: ParseAttributes = %+v, true; want not ours", tt.name, own)
		}
	}
	if _, ok := ParseAttributes(map[string]any{"srs-owt-proxy": good()}); !ok {
		t.Errorf("the minimal valid attributes were rejected")
	}
}
