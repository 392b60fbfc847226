package srsapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// StreamKey names a stream by vhost NAME, app and stream.
type StreamKey struct{ Vhost, App, Stream string }

// String returns "vhost/app/stream".
func (k StreamKey) String() string { return k.Vhost + "/" + k.App + "/" + k.Stream }

// ParseHook decodes an SRS hook body (unknown fields are ignored) and
// checks that it is one: a JSON object with a known action and the fields
// SRS always sends. It accepts every name SRS 6 can send (see Validate).
//
// SRS writes its JSON by hand: it escapes only '"', '\\', \b, \f, \n, \r
// and \t and copies every other byte raw, so a name may carry raw control
// bytes (invalid JSON strictly speaking) or bytes that are not UTF-8. Control
// bytes inside strings are escaped before decoding; invalid UTF-8 decodes
// to U+FFFD (such a name cannot be pulled, see policy.NameProblem).
func ParseHook(body []byte) (Hook, error) {
	var h Hook
	if err := json.Unmarshal(escapeRawControls(body), &h); err != nil {
		return Hook{}, fmt.Errorf("hook body is not a JSON object of SRS hook fields: %v", err)
	}
	if err := h.Validate(); err != nil {
		return Hook{}, err
	}
	return h, nil
}

// escapeRawControls returns body with each raw control byte found inside a
// JSON string written as \u00XX (body itself when there is none).
func escapeRawControls(body []byte) []byte {
	in, esc := false, false
	var out []byte
	for i, c := range body {
		switch {
		case !in:
			in = c == '"'
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			in = false
		// Equivalent mutant: <= 0x20 also writes a space as \u0020, which decodes to the same space.
		case c < 0x20:
			if out == nil {
				// capacity only: +-1 is an equivalent mutant
				out = append(make([]byte, 0, len(body)+16), body[:i]...)
			}
			out = fmt.Appendf(out, "\\u%04x", c)
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return body
	}
	return out
}

// Validate checks that the hook is one SRS could send: a known action;
// vhost, app and stream present (SRS refuses a client without them before
// any hook: srs_app_rtmp_conn.cpp); client_id and stream_id present on
// on_publish and on_unpublish. It puts no limit on the characters or the
// length of any field, because SRS 6 puts none: names are AMF0 strings of up
// to 32767 bytes, SRS removes only spaces, tabs, CR and LF from app and
// stream (SrsRequest::strip), keeps dots, '%', '&', '=' and raw UTF-8, and
// takes everything before the last '/' as a (multi-level) app. Whether the
// agent can route such a stream is the engine's question, not the hook's.
func (h Hook) Validate() error {
	switch h.Action {
	case ActionOnPublish, ActionOnUnpublish, ActionOnPlay, ActionOnStop:
	case "":
		return fmt.Errorf("hook field action is missing")
	default:
		return fmt.Errorf("hook field action %q is unknown (want on_publish, on_unpublish, on_play or on_stop)", clip(h.Action))
	}
	publish := h.Action == ActionOnPublish || h.Action == ActionOnUnpublish
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"vhost", h.Vhost, true},
		{"app", h.App, true},
		{"stream", h.Stream, true},
		{"client_id", h.ClientID, publish},
		{"stream_id", h.StreamID, publish},
	} {
		if f.value == "" && f.required {
			if f.name == "client_id" || f.name == "stream_id" {
				return fmt.Errorf("hook field %s is missing (required for %s)", f.name, h.Action)
			}
			return fmt.Errorf("hook field %s is missing", f.name)
		}
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	// Equivalent mutants: i > 0, i >= 0 and i > 1 agree on valid UTF-8 (every
	// hook string is), which has a rune start within 3 bytes below limit.
	for i := limit; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "..."
		}
	}
	return s[:limit] + "..."
}

// Query parses Param; see ParseParam.
func (h Hook) Query() url.Values { return ParseParam(h.Param) }

// ParseParam parses an SRS hook's param (the publish URL's query with its
// leading '?'). It tolerates SRS's duplicated form "?vhost=X?vhost=X" (and a
// stream query after it, "?vhost=X?token=T") by treating every further '?'
// as '&', and keeps each identical key=value pair once. Malformed pairs are
// skipped.
func ParseParam(param string) url.Values {
	p := strings.TrimLeft(param, "?")
	p = strings.ReplaceAll(p, "?", "&")
	out := url.Values{}
	for _, pair := range strings.Split(p, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			continue
		}
		dup := false
		for _, have := range out[key] {
			if have == val {
				dup = true
				break
			}
		}
		if !dup {
			out[key] = append(out[key], val)
		}
	}
	return out
}

// Key returns the stream's key (vhost name, app, stream).
func (h Hook) Key() StreamKey { return StreamKey{Vhost: h.Vhost, App: h.App, Stream: h.Stream} }

// maxServerNameLen bounds the server name a hook URL may carry.
const maxServerNameLen = 256

// checkName validates a name the operator writes (the ?server= of a hook
// URL names an SRS server of agent.yaml): unlike the names SRS sends, it
// must be plain: valid UTF-8, no control character or '/', at most 256 bytes.
func checkName(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("hook field %s is missing", field)
	case !utf8.ValidString(v):
		return fmt.Errorf("hook field %s is not valid UTF-8", field)
	case len(v) > maxServerNameLen:
		return fmt.Errorf("hook field %s is %d bytes long (limit %d)", field, len(v), maxServerNameLen)
	case strings.Contains(v, "/"):
		return fmt.Errorf("hook field %s %q contains '/'", field, clip(v))
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("hook field %s contains control character %U", field, r)
		}
	}
	return nil
}
