package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Output is a streaming-out or a recording a room should have, rendered
// for one room (see "Outputs" in docs/owt.md).
type Output struct {
	View string // the room view whose mix goes out, e.g. "common"
	// URL is where a streaming-out pushes ("" for a recording). It is the
	// output's identity in OWT, so it is unique per room.
	URL       string
	Protocol  string       // rtmp | rtsp | hls | dash (streaming-out)
	Container string       // recording: auto | mp4 | mkv | ts
	Audio     *OutputAudio // nil: no audio
	Video     *OutputVideo // nil: no video
	Line      int          // line of the output in the policy file
	Field     string       // e.g. routes[1].room.outputs[0], for messages
}

// OutputAudio is the audio of an output; an empty Codec takes the view's
// audio as OWT converts it (aac 48000/2 for a streaming-out).
type OutputAudio struct {
	Codec      string
	SampleRate int
	Channels   int
}

// OutputVideo is the video of an output; zero values take the view's.
type OutputVideo struct {
	Codec            string // h264 for a streaming-out (OWT's default)
	Profile          string
	Width, Height    int
	Framerate        int
	KeyFrameInterval int
	Bitrate          string // relative: x0.8, x0.6, x0.4 or x0.2
}

// IsRecording reports whether o is a recording.
func (o Output) IsRecording() bool { return o.URL == "" }

// Key identifies o within its room: the URL of a streaming-out, or view,
// container and media of a recording.
func (o Output) Key() string {
	if !o.IsRecording() {
		return "url " + o.URL
	}
	return fmt.Sprintf("record %s %s audio=%s video=%s", o.View, o.Container, o.audioKey(), o.videoKey())
}

func (o Output) audioKey() string {
	if o.Audio == nil {
		return "none"
	}
	return fmt.Sprintf("%s/%d/%d", o.Audio.Codec, o.Audio.SampleRate, o.Audio.Channels)
}

func (o Output) videoKey() string {
	if o.Video == nil {
		return "none"
	}
	v := o.Video
	return fmt.Sprintf("%s/%s/%dx%d/%d/%d/%s", v.Codec, v.Profile, v.Width, v.Height, v.Framerate, v.KeyFrameInterval, v.Bitrate)
}

// Spec fingerprints the settings OWT fixes when it starts o (protocol,
// container, audio and video): a streaming-out whose spec changed must be
// stopped and started again, since OWT cannot change them in place.
func (o Output) Spec() string {
	return fmt.Sprintf("%s %s audio=%s video=%s", o.Protocol, o.Container, o.audioKey(), o.videoKey())
}

// String describes o the way diff and logs show it, e.g.
// "output rtmp://h/mix/room from view common" or
// "recording (mp4) from view common".
func (o Output) String() string {
	if o.IsRecording() {
		return fmt.Sprintf("recording (%s) from view %s", o.Container, o.View)
	}
	return fmt.Sprintf("output %s from view %s", o.URL, o.View)
}

// outputSpec is one compiled entry of room.outputs.
type outputSpec struct {
	out   Output // everything but URL
	url   *template.Template
	src   string // the URL template source
	field string
	line  int
	node  *yaml.Node
}

// outputData is what an output URL template sees.
type outputData struct {
	Room string // the rendered room name
	View string
}

// Output URL limits and vocabulary.
const maxOutputURL = 4096

var (
	outputProtocols  = []string{"rtmp", "rtsp", "hls", "dash"}
	outputContainers = []string{"auto", "mp4", "mkv", "ts"}
	outputBitrates   = []string{"x0.8", "x0.6", "x0.4", "x0.2"}
	recordingAudio   = []string{"aac", "opus", "pcmu", "pcma"}
	videoProfiles    = []string{"B", "CB", "M", "H", "E"}
	sampleRoomName   = "live-sample"
	roomPlaceholder  = "\x00room\x00" // stands for any room name in URL patterns
)

// outputFuncs are the functions of output URL templates.
func outputFuncs() template.FuncMap {
	f := baseFuncs()
	delete(f, "param")
	return f
}

// warnf records a warning at node n: the policy is valid, but probably not
// what the operator meant.
func (w *walker) warnf(n *yaml.Node, field, format string, args ...any) {
	w.warns = append(w.warns, FieldError{File: w.file, Line: n.Line, Field: field, Problem: fmt.Sprintf(format, args...)})
}

// parseOutputs reads room.outputs.
func (w *walker) parseOutputs(n *yaml.Node, field string) []*outputSpec {
	items, ok := w.list(n, field)
	if !ok {
		return nil
	}
	var out []*outputSpec
	for i, it := range items {
		if o := w.parseOutput(it, index(field, i)); o != nil {
			out = append(out, o)
		}
	}
	return out
}

// parseOutput reads one output: {view, url, protocol?, audio?, video?} or
// {view, record: {container?}, audio?, video?}.
func (w *walker) parseOutput(n *yaml.Node, field string) *outputSpec {
	f, ok := w.mapping(n, field, "view", "url", "protocol", "record", "audio", "video")
	if !ok {
		return nil
	}
	errs := len(w.errs)
	o := &outputSpec{field: field, line: n.Line, node: n}
	o.out.Line, o.out.Field = n.Line, field
	if v, ok := f["view"]; ok {
		if s, ok := w.str(v, join(field, "view")); ok {
			if viewLabelRE.MatchString(s) {
				o.out.View = s
			} else {
				w.addf(v, join(field, "view"), "invalid view label %q: use letters, digits, - and _", s)
			}
		}
	} else {
		w.addf(n, join(field, "view"), "missing: the view whose mix goes out, e.g. view: common")
	}
	urlNode, hasURL := f["url"]
	recNode, hasRec := f["record"]
	switch {
	case hasURL && hasRec:
		w.addf(recNode, join(field, "record"), "an output is either a streaming-out (url) or a recording (record), not both; split it in two")
	case !hasURL && !hasRec:
		w.addf(n, field, "missing url (push the mix to a URL) or record (record it on OWT's recording node)")
	case hasURL:
		w.parseOutputURL(urlNode, f["protocol"], field, o)
	default:
		if p, ok := f["protocol"]; ok {
			w.addf(p, join(field, "protocol"), "only a streaming-out (url) has a protocol; remove it")
		}
		w.parseRecord(recNode, join(field, "record"), o)
	}
	if v, ok := f["audio"]; ok {
		o.out.Audio = w.parseOutputAudio(v, join(field, "audio"), hasRec)
	} else {
		o.out.Audio = &OutputAudio{}
	}
	if v, ok := f["video"]; ok {
		o.out.Video = w.parseOutputVideo(v, join(field, "video"), hasRec)
	} else {
		o.out.Video = &OutputVideo{}
	}
	if o.out.Audio == nil && o.out.Video == nil && len(w.errs) == errs {
		w.addf(n, field, "audio and video are both false: OWT refuses an output of nothing; enable one of them")
	}
	if len(w.errs) > errs {
		return nil
	}
	return o
}

// parseOutputURL compiles the URL template and settles the protocol.
func (w *walker) parseOutputURL(n, protoNode *yaml.Node, field string, o *outputSpec) {
	uf := join(field, "url")
	src, ok := w.str(n, uf)
	if !ok {
		return
	}
	t, err := template.New("url").Option("missingkey=error").Funcs(outputFuncs()).Parse(src)
	if err != nil {
		w.addf(n, uf, "%s", outputTemplateProblem(err))
		return
	}
	sample, err := renderOutputURL(t, sampleRoomName, "common")
	if err != nil {
		w.addf(n, uf, "%s", outputTemplateProblem(err))
		return
	}
	o.url, o.src = t, src
	derived := outputProtocol(sample)
	if protoNode != nil {
		pf := join(field, "protocol")
		p, ok := w.str(protoNode, pf)
		if !ok {
			return
		}
		if !contains(outputProtocols, p) {
			w.addf(protoNode, pf, "unknown protocol %q: use rtmp, rtsp, hls or dash", p)
			return
		}
		o.out.Protocol = p
	} else {
		o.out.Protocol = derived
	}
	if problem := outputURLProblem(sample, o.out.Protocol); problem != "" {
		w.addf(n, uf, "%s", problem)
	}
}

// outputTemplateProblem turns a template error into a short message.
func outputTemplateProblem(err error) string {
	msg := err.Error()
	if m := tmplFieldRE.FindStringSubmatch(msg); m != nil {
		return "template: unknown field ." + m[1] + " (output URLs know .Room and .View)"
	}
	msg = tmplPrefixRE.ReplaceAllString(msg, "")
	msg = tmplExecAtRE.ReplaceAllString(msg, "")
	return "template: " + msg
}

// renderOutputURL renders an output URL for a room. The room name is path-
// escaped: room names may hold spaces and slashes.
func renderOutputURL(t *template.Template, room, view string) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, outputData{Room: url.PathEscape(room), View: view}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// outputProtocol derives the protocol from a URL as OWT does, but from the
// parsed URL (a query after .m3u8 still means HLS); "" when it cannot.
func outputProtocol(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch {
	case u.Scheme == "rtmp" || u.Scheme == "rtmps":
		return "rtmp"
	case u.Scheme == "rtsp":
		return "rtsp"
	case strings.HasSuffix(u.Path, ".m3u8"):
		return "hls"
	case strings.HasSuffix(u.Path, ".mpd"):
		return "dash"
	}
	return ""
}

// outputURLProblem says why a rendered output URL is unusable ("" if fine).
func outputURLProblem(raw, protocol string) string {
	shown := shownURL(raw)
	if len(raw) > maxOutputURL {
		return fmt.Sprintf("the output URL is longer than %d bytes", maxOutputURL)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Sprintf("the output URL %q contains spaces or control characters", shown)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("the output URL %q must be an absolute URL with a host, e.g. rtmp://127.0.0.1:1935/mix/{{.Room}}", shown)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Sprintf("the output URL %q contains '#'", shown)
	}
	switch protocol {
	case "":
		return fmt.Sprintf("cannot tell the protocol of %q: use an rtmp:// or rtsp:// URL, a path ending in .m3u8 (HLS) or .mpd (DASH), or set protocol", shown)
	case "rtmp", "rtsp":
		if u.Scheme != protocol && !(protocol == "rtmp" && u.Scheme == "rtmps") {
			return fmt.Sprintf("protocol %s needs a %s:// URL, got %q", protocol, protocol, shown)
		}
	case "hls", "dash":
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Sprintf("protocol %s pushes over HTTP: the URL must start with http:// or https://, got %q", protocol, shown)
		}
	}
	return ""
}

// parseRecord reads record: {container?}.
func (w *walker) parseRecord(n *yaml.Node, field string, o *outputSpec) {
	o.out.Container = "auto"
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	f, ok := w.mapping(n, field, "container")
	if !ok {
		return
	}
	if v, ok := f["container"]; ok {
		cf := join(field, "container")
		if s, ok := w.str(v, cf); ok {
			if contains(outputContainers, s) {
				o.out.Container = s
			} else {
				w.addf(v, cf, "unknown container %q: use auto, mp4, mkv or ts", s)
			}
		}
	}
}

// parseOutputAudio reads audio: false, true, or {codec, sample_rate, channels}.
func (w *walker) parseOutputAudio(n *yaml.Node, field string, recording bool) *OutputAudio {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if b, _ := w.boolean(n, field); b {
			return &OutputAudio{}
		}
		return nil
	}
	f, ok := w.mapping(n, field, "codec", "sample_rate", "channels")
	if !ok {
		return &OutputAudio{}
	}
	a := &OutputAudio{}
	if v, ok := f["codec"]; ok {
		cf := join(field, "codec")
		if s, ok := w.str(v, cf); ok {
			switch {
			case !recording && s != "aac":
				w.addf(v, cf, "a streaming-out carries aac audio only (OWT refuses %q); remove codec or use aac", s)
			case recording && !contains(recordingAudio, s):
				w.addf(v, cf, "a recording takes aac, opus, pcmu or pcma audio, not %q", s)
			default:
				a.Codec = s
			}
		}
	} else if len(f) > 0 {
		w.addf(n, join(field, "codec"), "missing: sample_rate and channels need a codec")
	}
	if v, ok := f["sample_rate"]; ok {
		a.SampleRate, _ = w.integer(v, join(field, "sample_rate"), 8000, 192000)
	}
	if v, ok := f["channels"]; ok {
		a.Channels, _ = w.integer(v, join(field, "channels"), 1, 8)
	}
	return a
}

// parseOutputVideo reads video: false, true, or {codec, profile,
// resolution: {width, height}, framerate, key_frame_interval, bitrate}.
func (w *walker) parseOutputVideo(n *yaml.Node, field string, recording bool) *OutputVideo {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if b, _ := w.boolean(n, field); b {
			return &OutputVideo{}
		}
		return nil
	}
	f, ok := w.mapping(n, field, "codec", "profile", "resolution", "framerate", "key_frame_interval", "bitrate")
	if !ok {
		return &OutputVideo{}
	}
	v := &OutputVideo{}
	if c, ok := f["codec"]; ok {
		cf := join(field, "codec")
		if s, ok := w.str(c, cf); ok {
			switch {
			case !recording && s != "h264":
				w.addf(c, cf, "a streaming-out carries h264 video only (OWT refuses %q); remove codec or use h264", s)
			case recording && !contains([]string{"h264", "h265", "vp8", "vp9"}, s):
				w.addf(c, cf, "unknown video codec %q: use h264, h265, vp8 or vp9", s)
			default:
				v.Codec = s
			}
		}
	}
	if p, ok := f["profile"]; ok {
		pf := join(field, "profile")
		if s, ok := w.str(p, pf); ok {
			switch {
			case !contains(videoProfiles, s):
				w.addf(p, pf, "unknown profile %q: use B, CB, M, H or E", s)
			case v.Codec != "h264" && !(v.Codec == "" && !recording):
				w.addf(p, pf, "a profile needs codec h264")
			default:
				v.Profile = s
			}
		}
	}
	if r, ok := f["resolution"]; ok {
		rf := join(field, "resolution")
		if rm, ok := w.mapping(r, rf, "width", "height"); ok {
			wn, hasW := rm["width"]
			hn, hasH := rm["height"]
			if !hasW || !hasH {
				w.addf(r, rf, "needs both width and height")
			} else {
				v.Width, _ = w.integer(wn, join(rf, "width"), 16, 7680)
				v.Height, _ = w.integer(hn, join(rf, "height"), 16, 4320)
			}
		}
	}
	if fr, ok := f["framerate"]; ok {
		v.Framerate, _ = w.integer(fr, join(field, "framerate"), 1, 120)
	}
	if k, ok := f["key_frame_interval"]; ok {
		v.KeyFrameInterval, _ = w.integer(k, join(field, "key_frame_interval"), 1, 1000)
	}
	if b, ok := f["bitrate"]; ok {
		bf := join(field, "bitrate")
		if b.Kind == yaml.ScalarNode && (b.Tag == "!!int" || b.Tag == "!!float") {
			w.addf(b, bf, "OWT takes only a relative bitrate (x0.8, x0.6, x0.4 or x0.2), not a number")
		} else if s, ok := w.str(b, bf); ok {
			if contains(outputBitrates, s) {
				v.Bitrate = s
			} else {
				w.addf(b, bf, "unknown bitrate %q: use x0.8, x0.6, x0.4 or x0.2 of the view's bitrate", s)
			}
		}
	}
	return v
}

// checkOutputs runs the per-route checks that need the whole route: views
// of a created room, and URLs unique per room.
func (w *walker) checkOutputs(r *Route) {
	if len(r.outputs) == 0 {
		return
	}
	if r.create {
		if labels, listed := viewLabels(r.roomOptions); listed {
			for _, o := range r.outputs {
				if !contains(labels, o.out.View) {
					w.addf(o.node, join(o.field, "view"), "view %q is not among the views the room is created with (%v)", o.out.View, labels)
				}
			}
		}
	}
	constRoom := r.room != nil && !strings.Contains(r.room.src, "{{")
	seen := map[string]string{}
	for _, o := range r.outputs {
		if o.url == nil {
			continue
		}
		a, _ := renderOutputURL(o.url, "room-a", o.out.View)
		b, _ := renderOutputURL(o.url, "room-b", o.out.View)
		if a == b && !constRoom {
			w.addf(o.node, join(o.field, "url"), "every room of this route would push to the same URL %q; put {{.Room}} in it (a URL is unique per room)", shownURL(a))
		}
		if prev, dup := seen[a]; dup {
			w.addf(o.node, join(o.field, "url"), "the same URL as %s: each output of a room needs its own URL", prev)
		}
		seen[a] = o.field
	}
}

// checkOutputsAcrossRoutes reports output URLs that two routes can render
// for different rooms (errors) and routes that would send an output's pushed
// stream back into OWT (warnings).
func (w *walker) checkOutputsAcrossRoutes(p *Policy) {
	type owner struct {
		route *Route
		o     *outputSpec
	}
	byPattern := map[string]owner{}
	for _, r := range p.Routes {
		for _, o := range r.outputs {
			if o.url == nil {
				continue
			}
			pattern, _ := renderOutputURL(o.url, roomPlaceholder, o.out.View)
			if prev, ok := byPattern[pattern]; ok && prev.route != r {
				if !strings.Contains(pattern, url.PathEscape(roomPlaceholder)) {
					w.addf(o.node, join(o.field, "url"), "renders the same URL as %s for a different room; make it unique with {{.Room}}", prev.o.field)
				} else if prev.o.out.Key() != o.out.Key() || prev.o.out.View != o.out.View {
					w.addf(o.node, join(o.field, "url"), "renders the same URL as %s, with other settings, when both routes send streams to one room; use distinct URLs", prev.o.field)
				}
				continue
			}
			byPattern[pattern] = owner{r, o}
		}
	}
	for _, r := range p.Routes {
		room := sampleRoomName
		if r.room != nil {
			if s, err := r.room.execute(sampleInput); err == nil && s != "" {
				room = s
			}
		}
		for _, o := range r.outputs {
			if o.url == nil {
				continue
			}
			u, _ := renderOutputURL(o.url, room, o.out.View)
			vhost, app, stream, ok := OutputTarget(u)
			if !ok {
				continue
			}
			in := Input{Vhost: vhost, App: app, Stream: stream, Param: url.Values{}}
			for i, other := range p.Routes {
				if !other.match.matches(in) {
					continue
				}
				if other.Action == ActionRoute {
					w.warnf(o.node, join(o.field, "url"), "the pushed stream %s/%s/%s matches routes[%d] (line %d): the agent never routes its own outputs back into OWT, but give outputs their own app or add an ignore route before it",
						vhost, app, stream, i, other.Line)
				}
				break
			}
		}
	}
}

// OutputTarget returns the SRS stream a pushed RTMP URL publishes: vhost
// (the ?vhost= parameter, else __defaultVhost__: SRS takes the host name as
// the vhost only when such a vhost is configured), app and stream. ok is
// false for other URLs.
func OutputTarget(raw string) (vhost, app, stream string, ok bool) {
	vhost, app, stream, _, ok = outputTarget(raw)
	if ok && vhost == "" {
		vhost = "__defaultVhost__"
	}
	return vhost, app, stream, ok
}

// outputTarget is OutputTarget with vhost "" when the URL names none.
func outputTarget(raw string) (vhost, app, stream, path string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") {
		return "", "", "", "", false
	}
	path = strings.Trim(u.Path, "/") // so the last "/" is never the last byte
	i := strings.LastIndex(path, "/")
	if i <= 0 {
		return "", "", "", "", false
	}
	return u.Query().Get("vhost"), path[:i], path[i+1:], path, true
}

// loopPattern matches the SRS streams that one output URL template pushes,
// for any room.
type loopPattern struct {
	vhost string         // "" = any vhost (the URL names none)
	path  *regexp.Regexp // app/stream
}

// compileLoopPatterns turns every RTMP output URL template into a pattern
// of the streams it can push: the room name may be anything.
func compileLoopPatterns(routes []*Route) []loopPattern {
	var out []loopPattern
	for _, r := range routes {
		for _, o := range r.outputs {
			if o.url == nil {
				continue
			}
			u, err := renderOutputURL(o.url, roomPlaceholder, o.out.View)
			if err != nil {
				continue
			}
			vhost, _, _, path, ok := outputTarget(u)
			if !ok || strings.Contains(vhost, roomPlaceholder) {
				vhost = ""
			}
			if !ok {
				continue
			}
			parts := strings.Split(path, roomPlaceholder)
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			out = append(out, loopPattern{vhost: vhost, path: regexp.MustCompile("^" + strings.Join(parts, "(.+)") + "$")})
		}
	}
	return out
}

// IsOutputTarget reports whether a stream is one that an output of this
// policy pushes into SRS (for some room). Such a stream is never routed
// into OWT: that would loop the mix back into itself.
func (p *Policy) IsOutputTarget(vhost, app, stream string) bool {
	for _, lp := range p.loops {
		if lp.vhost != "" && lp.vhost != vhost {
			continue
		}
		if lp.path.MatchString(app+"/"+stream) || lp.path.MatchString(app+"/"+url.PathEscape(stream)) {
			return true
		}
	}
	return false
}

// renderOutputs renders the outputs of a route for one room.
func (r *Route) renderOutputs(room string) ([]Output, error) {
	if len(r.outputs) == 0 {
		return nil, nil
	}
	out := make([]Output, 0, len(r.outputs))
	for _, o := range r.outputs {
		x := o.out
		if x.Audio != nil {
			a := *x.Audio
			x.Audio = &a
		}
		if x.Video != nil {
			v := *x.Video
			x.Video = &v
		}
		if o.url != nil {
			u, err := renderOutputURL(o.url, room, x.View)
			if err != nil {
				return nil, FieldError{File: r.file, Line: o.line, Field: o.field + ".url", Problem: fmt.Sprintf("room %q: rendering the URL failed: %s", room, outputTemplateProblem(err))}
			}
			if problem := outputURLProblem(u, x.Protocol); problem != "" {
				return nil, FieldError{File: r.file, Line: o.line, Field: o.field + ".url", Problem: fmt.Sprintf("room %q: %s", room, problem)}
			}
			x.URL = u
		}
		out = append(out, x)
	}
	return out, nil
}
