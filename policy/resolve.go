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
// when a template renders an invalid room name or pull URL for this stream.
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
		return r.target(t, in)
	}
	return Target{Action: ActionIgnore, Route: -1}, nil
}

// target fills in the room, options and pull URL of a route action.
func (r *Route) target(t Target, in Input) (Target, error) {
	stream := in.Vhost + "/" + in.App + "/" + in.Stream
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

// DefaultPullURL is <pull>/<app>/<stream>?vhost=<vhost>, each part escaped.
// The vhost parameter matters: SRS keeps a player of a stream on another
// vhost waiting forever when it is missing.
func DefaultPullURL(pullBase, vhost, app, stream string) string {
	return strings.TrimRight(pullBase, "/") + "/" + url.PathEscape(app) + "/" + url.PathEscape(stream) + "?vhost=" + url.QueryEscape(vhost)
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
		return fmt.Sprintf("the rendered room name %q contains control characters", name)
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
