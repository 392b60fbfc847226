package policy

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxRoomName is the longest room name (in characters) a template may render.
const MaxRoomName = 128

// maxPullURL bounds a rendered pull URL.
const maxPullURL = 4096

// Resolve maps a published stream to its target. The first matching route
// wins; when none matches the stream is ignored (Action ignore, Route -1).
// A stream that an output of the policy pushes into SRS is ignored (Loop)
// even when its route says route: the mix is never routed back into OWT.
// The error, a FieldError naming the route and its line, is returned only
// when a template renders an invalid room name or pull URL for this stream;
// the Target then still carries the route's action, index and token. A
// routed stream whose names a pull URL cannot carry unchanged gets
// Target.Unroutable (see NameProblem).
func (p *Policy) Resolve(in Input) (Target, error) {
	for i, r := range p.Routes {
		if !r.match.matches(in) {
			continue
		}
		t := Target{Action: r.Action, Route: i, Token: r.token}
		if r.Action != ActionRoute {
			return t, nil
		}
		if p.IsOutputTarget(in.Vhost, in.App, in.Stream) {
			t.Action, t.Loop = ActionIgnore, true // the agent's own output: no loop
			return t, nil
		}
		rt, err := r.target(t, in)
		if err != nil {
			// The route still decides deny and the publish token.
			return t, err
		}
		rt.Unroutable = NameProblem(in.Vhost, in.App, in.Stream)
		return rt, nil
	}
	return Target{Action: ActionIgnore, Route: -1}, nil
}

// target fills in the room, options and pull URL of a route action.
func (r *Route) target(t Target, in Input) (Target, error) {
	stream := clipName(in.Vhost + "/" + in.App + "/" + in.Stream)
	room, err := r.room.execute(in)
	if err != nil {
		return Target{}, r.fail("room", stream, "rendering the room template failed: "+templateProblem(err))
	}
	if problem := roomNameProblem(room); problem != "" {
		return Target{}, r.fail("room", stream, problem+"; fix the room template")
	}
	t.Room = room
	t.Create = r.create
	if r.create {
		t.RoomOptions, _ = deepCopy(r.roomOptions).(map[string]any)
	}
	t.Views = append([]string(nil), r.views...)
	if r.pull != nil {
		t.PullURL, err = r.pull.execute(in)
		if err != nil {
			return Target{}, r.fail("pull_url", stream, "rendering the pull_url template failed: "+templateProblem(err))
		}
	} else {
		t.PullURL = DefaultPullURL(in.PullBase, in.Vhost, in.App, in.Stream)
	}
	if problem := pullProblem(t.PullURL, true); problem != "" {
		field := "pull_url"
		if r.pull == nil {
			problem += "; check srs[].pull in agent.yaml"
		} else {
			problem += "; fix the pull_url template"
		}
		return Target{}, r.fail(field, stream, problem)
	}
	t.Media = r.media
	t.Transport = r.transport
	t.BufferSize = r.bufferSize
	if t.Outputs, err = r.renderOutputs(room); err != nil {
		return Target{}, err
	}
	return t, nil
}

// fail builds the error for a stream a route cannot render.
func (r *Route) fail(key, stream, problem string) error {
	line := r.roomLine
	if key == "pull_url" {
		line = r.pullLine
	}
	return FieldError{File: r.file, Line: line, Field: r.field + "." + key, Problem: fmt.Sprintf("stream %q: %s", stream, problem)}
}

// DefaultPullURL is <pull>/<app>/<stream>?vhost=<vhost>, each part escaped
// (each level of a multi-level app on its own, see EscapeApp). The vhost
// parameter matters: SRS keeps a player of a stream on another vhost
// waiting forever when it is missing.
func DefaultPullURL(pullBase, vhost, app, stream string) string {
	return strings.TrimRight(pullBase, "/") + "/" + EscapeApp(app) + "/" + url.PathEscape(stream) + "?vhost=" + url.QueryEscape(vhost)
}

// EscapeApp path-escapes each level of an app name: SRS 6 takes everything
// between the host and the last '/' of a URL as the app ("live/sub").
func EscapeApp(app string) string {
	parts := strings.Split(app, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// NameProblem says why a stream's names cannot be pulled by URL ("" when
// they can). SRS takes names as they come (it removes only spaces, tabs,
// CR and LF, and never percent-decodes), while a pull URL must escape
// whatever is not a plain URL character: a name that escaping would change
// is a different stream to SRS, so the agent keeps such streams out of OWT
// (unroutable) instead of sending OWT a URL that never plays. The same holds
// for empty, "." and ".." levels of an app and for a stream named "." or
// "..", which URL normalization would fold away.
func NameProblem(vhost, app, stream string) string {
	if url.QueryEscape(vhost) != vhost {
		return fmt.Sprintf("vhost %q holds characters that must be escaped in a pull URL, and SRS does not decode them", clipName(vhost))
	}
	for _, level := range strings.Split(app, "/") {
		if problem := levelProblem("app", app, level); problem != "" {
			return problem
		}
	}
	return levelProblem("stream", stream, stream)
}

func levelProblem(field, name, level string) string {
	switch {
	case level == "":
		return fmt.Sprintf("%s %q has an empty level", field, clipName(name))
	case level == "." || level == "..":
		return fmt.Sprintf("%s %q has a %q level, which URL normalization removes", field, clipName(name), level)
	case url.PathEscape(level) != level:
		return fmt.Sprintf("%s %q holds characters that must be escaped in a pull URL (non-ASCII, %%, ?, #, spaces, control characters...), and SRS does not decode them", field, clipName(name))
	}
	return ""
}

// clipName shortens a name quoted in a message (SRS allows 32 KB names)
// and hides what follows a '?': when a name holds raw UTF-8 SRS does not
// split the query off, and the name then carries it (a token, maybe).
func clipName(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i] + "?..."
	}
	const limit = 128
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// roomNameProblem says why a rendered room name is unusable ("" when fine).
func roomNameProblem(name string) string {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return "the rendered room name is empty"
	case !utf8.ValidString(name):
		return "the rendered room name is not valid UTF-8"
	case utf8.RuneCountInString(name) > MaxRoomName:
		return fmt.Sprintf("the rendered room name is longer than %d characters", MaxRoomName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Sprintf("the rendered room name %q contains control characters", clipName(name))
	}
	return ""
}

// pullProblem says why a rendered pull URL is unusable ("" when fine).
// needHost is false for the load-time sample check.
func pullProblem(raw string, needHost bool) string {
	shown := shownURL(raw)
	if len(raw) > maxPullURL {
		return fmt.Sprintf("the pull URL is longer than %d bytes", maxPullURL)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Sprintf("the pull URL %q contains spaces or control characters; escape the values (see pathEscape)", shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("the pull URL %q does not parse", shown)
	}
	if u.Scheme != "rtmp" && u.Scheme != "rtsp" {
		return fmt.Sprintf("the pull URL %q must start with rtmp:// or rtsp://", shown)
	}
	if needHost && u.Host == "" {
		return fmt.Sprintf("the pull URL %q has no host", shown)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Sprintf("the pull URL %q contains '#'; escape the values", shown)
	}
	return ""
}

// shownURL drops the query of a URL for messages: it may carry a token.
func shownURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?..."
	}
	return raw
}

// CheckToken reports whether the publish query carries the route's token
// (constant-time compare). Without a token on the route it is always true.
func (t Target) CheckToken(q url.Values) bool {
	if t.Token == "" {
		return true
	}
	got := q.Get("token")
	return subtle.ConstantTimeCompare([]byte(got), []byte(t.Token)) == 1
}
