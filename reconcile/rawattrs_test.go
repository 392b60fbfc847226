package reconcile

import (
	"encoding/json"
	"testing"
)

func TestParseRawAttributesMatchesMapPath(t *testing.T) {
	own, _ := json.Marshal(Attributes("agent-1", key("cam"), "?token=x", pullURL("cam"), "op1"))
	cases := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"own", string(own), true},
		{"with other keys", `{"x":[1,2],"srs-owt-proxy":{"agent":"a","stream":"s/v/app/st","param":"","url":"u","op":"o"},"y":{}}`, true},
		{"no block", `{"owner":"someone"}`, false},
		{"block not an object", `{"srs-owt-proxy":"agent-1"}`, false},
		{"no agent", `{"srs-owt-proxy":{"stream":"s/v/app/st"}}`, false},
		{"bad key", `{"srs-owt-proxy":{"agent":"a","stream":"nope"}}`, false},
		{"not json", `{`, false},
		{"empty", ``, false},
	}
	for _, c := range cases {
		got, ok := ParseRawAttributes([]byte(c.raw))
		var m map[string]any
		_ = json.Unmarshal([]byte(c.raw), &m)
		want, wantOK := ParseAttributes(m)
		if ok != c.ok || ok != wantOK || got != want {
			t.Errorf("%s: raw %+v %v, map %+v %v, want ok %v", c.name, got, ok, want, wantOK, c.ok)
		}
	}
}
