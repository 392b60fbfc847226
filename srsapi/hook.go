package srsapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest vhost, app or stream name a hook may carry.
const MaxNameLen = 256

// maxIDLen bounds the ids and other free-text fields of a hook.
const maxIDLen = 1024

// StreamKey names a stream by vhost NAME, app and stream.
type StreamKey struct{ Vhost, App, Stream string }

// String returns "vhost/app/stream".
func (k StreamKey) String() string { return k.Vhost + "/" + k.App + "/" + k.Stream }

// ParseHook decodes an SRS hook body (unknown fields are ignored) and
// validates it.
func ParseHook(body []byte) (Hook, error) {
	if !utf8.Valid(body) {
		return Hook{}, fmt.Errorf("hook body is not valid UTF-8")
	}
	var h Hook
	if err := json.Unmarshal(body, &h); err != nil {
		return Hook{}, fmt.Errorf("hook body is not a JSON object of SRS hook fields: %v", err)
	}
	if err := h.Validate(); err != nil {
		return Hook{}, err
	}
	return h, nil
}

// Validate checks the action and the fields the agent relies on: vhost, app
// and stream must be plain names (no control characters, '/', "..", invalid
// UTF-8, at most MaxNameLen bytes); on_publish and on_unpublish must carry
// client_id and stream_id, which SRS always sends.
func (h Hook) Validate() error {
	switch h.Action {
	case ActionOnPublish, ActionOnUnpublish, ActionOnPlay, ActionOnStop:
	case "":
		return fmt.Errorf("hook field action is missing")
	default:
		return fmt.Errorf("hook field action %q is unknown (want on_publish, on_unpublish, on_play or on_stop)", clip(h.Action))
	}
	for _, f := range []struct{ name, value string }{{"vhost", h.Vhost}, {"app", h.App}, {"stream", h.Stream}} {
		if err := checkName(f.name, f.value); err != nil {
			return err
		}
	}
	publish := h.Action == ActionOnPublish || h.Action == ActionOnUnpublish
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"client_id", h.ClientID, publish},
		{"stream_id", h.StreamID, publish},
		{"server_id", h.ServerID, false},
		{"service_id", h.ServiceID, false},
		{"ip", h.IP, false},
		{"tcUrl", h.TcURL, false},
		{"param", h.Param, false},
		{"stream_url", h.StreamURL, false},
		{"pageUrl", h.PageURL, false},
	} {
		if f.value == "" {
			if f.required {
				return fmt.Errorf("hook field %s is missing (required for %s)", f.name, h.Action)
			}
			continue
		}
		if err := checkText(f.name, f.value, maxIDLen); err != nil {
			return err
		}
	}
	return nil
}

// checkName validates a vhost, app or stream name.
func checkName(field, v string) error {
	if v == "" {
		return fmt.Errorf("hook field %s is missing", field)
	}
	if err := checkText(field, v, MaxNameLen); err != nil {
		return err
	}
	if strings.Contains(v, "/") {
		return fmt.Errorf("hook field %s %q contains '/'", field, clip(v))
	}
	if strings.Contains(v, "..") {
		return fmt.Errorf("hook field %s %q contains \"..\"", field, clip(v))
	}
	return nil
}

// checkText rejects invalid UTF-8, control characters and over-long values.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("hook field %s is not valid UTF-8", field)
	}
	if len(v) > max {
		return fmt.Errorf("hook field %s is %d bytes long (limit %d)", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("hook field %s contains control character %U", field, r)
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
