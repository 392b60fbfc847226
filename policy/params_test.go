package policy

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

const paramsPolicy = `attributes: {keep_params: [layout, lang]}
routes:
  - match: {app: secure, query: {tier: "gold*"}}
    room: "{{param \"room\"}}-{{.Stream}}"
    token_env: PUBLISH_TOKEN
  - match: {app: idx}
    room: "{{index .Param \"k1\" | printf \"%v\"}}"
  - match: {app: field}
    room: "x"
    pull_url: "rtmp://{{.Host}}/{{.App}}/{{.Stream}}?v={{index .Param \"k2\"}}"
  - match: {}
    action: ignore
`

func TestStoredAndAttributeParam(t *testing.T) {
	p := mustParse(t, paramsPolicy, map[string]string{"PUBLISH_TOKEN": "s3cret"})
	tests := []struct {
		param, stored, attr string
	}{
		{"", "", ""},
		{"?token=s3cret", "", ""},
		{"?tier=gold&token=s3cret&sig=abc&layout=wall", "?layout=wall&tier=gold", "?layout=wall"},
		{"?room=r1&k1=a&k2=b&other=c", "?k1=a&k2=b&room=r1", ""},
		{"?lang=fr&lang=de&x=1", "?lang=fr&lang=de", "?lang=fr&lang=de"},
		{"?vhost=v?token=t?layout=a%26b", "?layout=a%26b", "?layout=a%26b"},
		{"?layout=%zz&lang=%41", "?lang=A", "?lang=A"},
	}
	for _, tc := range tests {
		if got := p.StoredParam(tc.param); got != tc.stored {
			t.Errorf("StoredParam(%q) = %q, want %q", tc.param, got, tc.stored)
		}
		if got := p.AttributeParam(tc.param); got != tc.attr {
			t.Errorf("AttributeParam(%q) = %q, want %q", tc.param, got, tc.attr)
		}
	}
	var nilPol *Policy
	if nilPol.StoredParam("?a=1") != "" || nilPol.AttributeParam("?a=1") != "" {
		t.Error("nil policy keeps something")
	}
	// Without a token route, "token" is an ordinary parameter: kept if listed.
	q := mustParse(t, "attributes: {keep_params: [token]}\nroutes: []\n", nil)
	if got := q.AttributeParam("?token=x&y=1"); got != "?token=x" {
		t.Errorf("no token route: %q", got)
	}
	// No attributes section: nothing goes to OWT.
	n := mustParse(t, "routes:\n  - match: {query: {a: \"*\"}}\n    room: r\n", nil)
	if n.AttributeParam("?a=1&b=2") != "" || n.StoredParam("?a=1&b=2") != "?a=1" {
		t.Errorf("default: attr %q stored %q", n.AttributeParam("?a=1&b=2"), n.StoredParam("?a=1&b=2"))
	}
	// A template that reads .Param as a whole keeps every parameter but the token.
	all := mustParse(t, "routes:\n  - match: {}\n    room: \"{{range $k, $v := .Param}}{{$k}}{{end}}x\"\n    token_env: T\n", map[string]string{"T": "tt"})
	if got := all.StoredParam("?a=1&token=tt&b=2"); got != "?a=1&b=2" {
		t.Errorf("whole .Param: %q", got)
	}
}

func TestAttributesValidation(t *testing.T) {
	tests := []struct{ src, want string }{
		{"attributes: {keep_params: [token]}\nroutes:\n  - match: {}\n    room: r\n    token_env: T\n", `attributes.keep_params: "token" carries the publish token`},
		{"attributes: {keep_params: [a, a]}\nroutes: []\n", `attributes.keep_params[1]: "a" is listed twice`},
		{"attributes: {keep_params: [\"\"]}\nroutes: []\n", `attributes.keep_params[0]: empty parameter name`},
		{"attributes: {keep: [a]}\nroutes: []\n", `attributes.keep`},
		{"attributes: {keep_params: a}\nroutes: []\n", `attributes.keep_params`},
	}
	for _, tc := range tests {
		_, err := ParsePolicy("policy.yaml", []byte(tc.src), envOf(map[string]string{"T": "x"}))
		var errs Errors
		if !errors.As(err, &errs) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.src, err, tc.want)
		}
	}
	a := mustParse(t, "attributes: {keep_params: [b, a]}\nroutes: []\n", nil)
	b := mustParse(t, "attributes: {keep_params: [a, b]}\nroutes: []\n", nil)
	c := mustParse(t, "routes: []\n", nil)
	if a.Digest() != b.Digest() || a.Digest() == c.Digest() {
		t.Error("keep_params order counts, or keep_params does not count, in the digest")
	}
}

// FuzzAttributeParam: whatever the publish query, the attribute encoder
// writes only kept parameters, and never a byte of the publish token of a
// token route or of a parameter that is not kept (the property of issue 9).
func FuzzAttributeParam(f *testing.F) {
	f.Add("?token=SECRETVALUE&layout=wall", "SECRETVALUE")
	f.Add("?layout=a?token=SECRETVALUE", "SECRETVALUE")
	f.Add("?token=SECRET%26layout%3Dx&layout=y", "SECRET&layout=x")
	f.Add("?%74oken=SECRETVALUE", "SECRETVALUE")
	f.Add("?layout=x&sig=SECRETVALUE&lang=", "SECRETVALUE")
	p, err := ParsePolicy("fuzz.yaml", []byte(`attributes: {keep_params: [layout, lang]}
routes:
  - match: {query: {tier: "*"}}
    room: "{{param \"room\"}}"
    token_env: T
`), envOf(map[string]string{"T": "t"}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, param, secret string) {
		for _, enc := range []func(string) string{p.AttributeParam, p.StoredParam} {
			out := enc(param)
			if out == "" {
				continue
			}
			q, err := url.ParseQuery(strings.TrimPrefix(out, "?"))
			if err != nil || !strings.HasPrefix(out, "?") {
				t.Fatalf("%q encodes to %q, not a query (%v)", param, out, err)
			}
			for k := range q {
				if k == TokenParam || (k != "layout" && k != "lang" && k != "tier" && k != "room") {
					t.Fatalf("%q encodes to %q, which keeps %q", param, out, k)
				}
			}
		}
		// Plant the secret as the token and as an unkept parameter: no byte
		// sequence of it that is not also in the kept values may come out.
		if len(secret) < 8 {
			return
		}
		planted := param + "&token=" + url.QueryEscape(secret) + "&sig=" + url.QueryEscape(secret)
		kept := strings.Join(append(srsapiValues(planted, "layout"), srsapiValues(planted, "lang")...), "\x00")
		out := p.AttributeParam(planted)
		dec, _ := url.ParseQuery(strings.TrimPrefix(out, "?"))
		for _, vs := range dec {
			for _, v := range vs {
				if strings.Contains(v, secret) && !strings.Contains(kept, secret) {
					t.Fatalf("secret %q leaks through %q into %q", secret, planted, out)
				}
			}
		}
		if strings.Contains(out, url.QueryEscape(secret)) && !strings.Contains(kept, secret) {
			t.Fatalf("secret %q leaks through %q into %q", secret, planted, out)
		}
	})
}

func srsapiValues(param, key string) []string {
	return parseParamForTest(param)[key]
}

func parseParamForTest(param string) url.Values { return srsapi.ParseParam(param) }

func TestClipName(t *testing.T) {
	s128 := strings.Repeat("a", 128)
	if clipName(s128) != s128 || clipName(s128+"b") != s128+"..." {
		t.Errorf("128/129 bytes: %q %q", clipName(s128), clipName(s128+"b"))
	}
	// A cut never splits a character.
	e := strings.Repeat("é", 100) // 200 bytes
	if got := clipName(e); got != strings.Repeat("é", 64)+"..." {
		t.Errorf("clipName of 2-byte runes = %q", got)
	}
	odd := "a" + strings.Repeat("é", 100) // a rune starts at byte 127, not 128
	if got := clipName(odd); got != "a"+strings.Repeat("é", 63)+"..." {
		t.Errorf("clipName = %q", got)
	}
	// Invalid UTF-8 (SRS passes bytes through): the walk back to a rune
	// start never goes before the first byte, and never keeps the lead byte
	// of a character whose continuation it cut ("À" is "\xc3\x80").
	for _, tc := range []struct{ in, want string }{
		{strings.Repeat("\x80", 200), "..."},
		{"À" + strings.Repeat("\x80", 200), "..."},
		{"aÀ" + strings.Repeat("\x80", 200), "a..."},
	} {
		if got := clipName(tc.in); got != tc.want {
			t.Errorf("clipName(%q...) = %q, want %q", tc.in[:4], got, tc.want)
		}
	}
	// What follows a '?' is hidden, wherever the '?' is.
	for in, want := range map[string]string{"?token=s3cret": "?...", "a?token=s3cret": "a?...", "abc": "abc"} {
		if got := clipName(in); got != want {
			t.Errorf("clipName(%q) = %q, want %q", in, got, want)
		}
		if got := shownURL(in); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolvePullProblemAdvice(t *testing.T) {
	p := mustParse(t, `routes:
  - match: {app: tpl}
    room: r
    pull_url: "rtmp://{{param \"h\"}}/x"
  - match: {}
    room: r
`, nil)
	_, err := p.Resolve(in("v", "tpl", "s", ""))
	if err == nil || !strings.HasSuffix(err.Error(), "; fix the pull_url template") {
		t.Errorf("template: %v", err)
	}
	_, err = p.Resolve(Input{Vhost: "v", App: "a", Stream: "s"})
	if err == nil || !strings.HasSuffix(err.Error(), "; check srs[].pull in agent.yaml") {
		t.Errorf("default URL: %v", err)
	}
}

// A watcher without getenv reads the process environment (token_env).
func TestWatcherDefaultGetenv(t *testing.T) {
	t.Setenv("WATCH_TEST_TOKEN", "x")
	dir := t.TempDir()
	writeFile(t, dir, "policy.yaml", "routes:\n  - match: {}\n    room: r\n    token_env: WATCH_TEST_TOKEN\n")
	w := NewWatcher(filepath.Join(dir, "policy.yaml"), 0, nil, nil)
	if w.debounce != DefaultDebounce || w.check != DefaultPolicyReloadCheck {
		t.Errorf("defaults: debounce %v check %v", w.debounce, w.check)
	}
	ev := next(t, startWatcher(t, w))
	if ev.err != nil || ev.policy == nil {
		t.Fatalf("policy with a token from the environment: %v", ev.err)
	}
}

// A space or control character is named as such wherever it is, also as
// the URL's first byte (where url.Parse would only say "does not parse").
func TestPullProblemSpaceOrControlAnywhere(t *testing.T) {
	for _, raw := range []string{" rtmp://h/live/s", "\x01rtmp://h/live/s", "rtmp://h/live/s s", "rtmp://h/live/s\x7f"} {
		if p := pullProblem(raw, true); !strings.Contains(p, "contains spaces or control characters") {
			t.Errorf("pullProblem(%q) = %q, want the spaces or control characters problem", raw, p)
		}
	}
	if p := pullProblem("rtmp://h/live/s", true); p != "" {
		t.Errorf("a clean URL: %q", p)
	}
}

func TestPullURLLengthLimit(t *testing.T) {
	base := "rtmp://h/"
	if p := pullProblem(base+strings.Repeat("a", maxPullURL-len(base)), true); p != "" {
		t.Errorf("%d bytes refused: %s", maxPullURL, p)
	}
	if p := pullProblem(base+strings.Repeat("a", maxPullURL-len(base)+1), true); !strings.Contains(p, "longer than") {
		t.Errorf("%d bytes: %q", maxPullURL+1, p)
	}
}

// Deny and ignore routes resolve without an error and are never unroutable,
// whatever the names (SRS may send any).
func TestResolveDenyIgnoreOddNames(t *testing.T) {
	p := mustParse(t, "routes:\n  - match: {app: private}\n    action: deny\n  - match: {}\n    action: ignore\n", nil)
	for _, tc := range []struct {
		app  string
		want Action
	}{{"private", ActionDeny}, {"other", ActionIgnore}} {
		got, err := p.Resolve(in("v", tc.app, "课堂?token=x\x01", ""))
		if err != nil || got.Action != tc.want || got.Unroutable != "" {
			t.Errorf("%s: %+v %v", tc.app, got, err)
		}
	}
}
