package policy

import (
	"gopkg.in/yaml.v3"
)

var routeKeys = []string{"name", "match", "action", "room", "room_options", "views", "pull_url", "media", "transport", "buffer_size", "token_env"}

// routeOnlyKeys only make sense when the route sends the stream to a room.
var routeOnlyKeys = []string{"room", "room_options", "views", "pull_url", "media", "transport", "buffer_size"}

// parseRoute reads routes[i]. It returns nil when the route is unusable.
func (w *walker) parseRoute(n *yaml.Node, field string, i int, def *Defaults, getenv func(string) string) *Route {
	f, ok := w.mapping(n, field, routeKeys...)
	if !ok {
		return nil
	}
	r := &Route{Line: n.Line, pullLine: n.Line, index: i, field: field, views: def.Views, media: def.Media, transport: def.Transport, bufferSize: def.BufferSize}
	if v, ok := f["name"]; ok {
		r.Name, _ = w.str(v, join(field, "name"))
	}
	if v, ok := f["match"]; ok {
		r.match = w.parseMatch(v, join(field, "match"))
	} else {
		w.addf(n, join(field, "match"), "missing; use match: {} to match every stream")
	}
	roomNode, hasRoom := f["room"]
	if v, ok := f["action"]; ok {
		s, ok := w.str(v, join(field, "action"))
		switch {
		case !ok:
		case s == string(ActionRoute) || s == string(ActionIgnore) || s == string(ActionDeny):
			r.Action = Action(s)
		default:
			w.addf(v, join(field, "action"), "unknown action %q: use route, ignore or deny", s)
		}
	} else {
		r.Action = ActionRoute
	}
	if r.Action != ActionRoute {
		for _, k := range routeOnlyKeys {
			if v, ok := f[k]; ok && r.Action != "" {
				w.addf(v, join(field, k), "has no effect with action %s; remove it", r.Action)
			}
		}
	} else if !hasRoom {
		w.addf(n, join(field, "room"), "missing: a route needs a room (a name template or {name, create, options}), or set action: ignore or deny")
	} else {
		w.parseRoom(roomNode, join(field, "room"), r)
	}
	if r.Action == ActionRoute {
		w.parseRouteOptions(f, field, r, def)
		w.checkOutputs(r)
	}
	if v, ok := f["token_env"]; ok {
		tf := join(field, "token_env")
		if r.Action == ActionDeny {
			w.addf(v, tf, "has no effect with action deny; remove it")
		} else if name, ok := w.str(v, tf); ok {
			r.tokenEnv = name
			switch {
			case name == "":
				w.addf(v, tf, "must name an environment variable")
			case getenv(name) == "":
				w.addf(v, tf, "environment variable %s is empty or unset; set it to the publish token or remove token_env", name)
			default:
				r.token = getenv(name)
			}
		}
	}
	return r
}

// parseRoom reads `room:` as a name template or {name, create, options}.
func (w *walker) parseRoom(n *yaml.Node, field string, r *Route) {
	r.create = true
	nameNode := n
	if n.Kind == yaml.MappingNode {
		f, ok := w.mapping(n, field, "name", "create", "options", "outputs")
		if !ok {
			return
		}
		if v, ok := f["outputs"]; ok {
			r.outputs = w.parseOutputs(v, join(field, "outputs"))
		}
		if v, ok := f["create"]; ok {
			r.create, _ = w.boolean(v, join(field, "create"))
		}
		if v, ok := f["options"]; ok {
			if !r.create {
				w.addf(v, join(field, "options"), "options are only used when the agent creates the room; remove them or set create: true")
			} else if m, ok := w.convert(v, join(field, "options"), roomOptionsSchema()); ok {
				r.roomOptions, _ = m.(map[string]any)
			}
		}
		nameNode, ok = f["name"]
		if !ok {
			w.addf(n, join(field, "name"), "missing: the room name (a template such as \"{{.App}}-{{.Stream}}\")")
			return
		}
		field = join(field, "name")
	}
	src, ok := w.str(nameNode, field)
	if !ok {
		return
	}
	if src == "" {
		w.addf(nameNode, field, "must not be empty")
		return
	}
	t, problem := compileTemplate("room", src, false)
	if problem != "" {
		w.addf(nameNode, field, "%s", problem)
		return
	}
	r.room = t
	r.roomLine = nameNode.Line
}

// parseRouteOptions reads the keys of a route that sends streams to a room.
func (w *walker) parseRouteOptions(f map[string]*yaml.Node, field string, r *Route, def *Defaults) {
	if v, ok := f["room_options"]; ok {
		of := join(field, "room_options")
		switch {
		case !r.create:
			w.addf(v, of, "options are only used when the agent creates the room; remove them or set create: true")
		case r.roomOptions != nil:
			w.addf(v, of, "room options are already given in room.options; keep one of them")
		default:
			if m, ok := w.convert(v, of, roomOptionsSchema()); ok {
				r.roomOptions, _ = m.(map[string]any)
			}
		}
	}
	viewsNode, hasViews := f["views"]
	if hasViews {
		r.views = w.parseViews(viewsNode, join(field, "views"))
	}
	if v, ok := f["pull_url"]; ok {
		pf := join(field, "pull_url")
		if src, ok := w.str(v, pf); ok {
			if t, problem := compileTemplate("pull_url", src, true); problem != "" {
				w.addf(v, pf, "%s", problem)
			} else if out, _ := t.execute(sampleInput); pullProblem(out, false) != "" {
				w.addf(v, pf, "%s", pullProblem(out, false))
			} else {
				r.pull = t
				r.pullLine = v.Line
			}
		}
	}
	if v, ok := f["media"]; ok {
		r.media = w.parseMedia(v, join(field, "media"), def.Media)
	}
	if v, ok := f["transport"]; ok {
		r.transport = w.parseTransport(v, join(field, "transport"))
	}
	if v, ok := f["buffer_size"]; ok {
		r.bufferSize, _ = w.integer(v, join(field, "buffer_size"), 1, 1<<30)
	}
	if r.create {
		if r.roomOptions == nil {
			r.roomOptions = map[string]any{}
		}
		labels, listed := viewLabels(r.roomOptions)
		if listed {
			for _, v := range r.views {
				if !contains(labels, v) {
					at := viewsNode
					if !hasViews {
						at = f["room"]
						if at == nil {
							at = f["room_options"]
						}
					}
					w.addf(at, join(field, "views"), "view %q is not among the views the room is created with (%v); add it to the room options or change views", v, labels)
				}
			}
		} else if len(r.views) > 0 {
			views := make([]any, len(r.views))
			for i, v := range r.views {
				views[i] = map[string]any{"label": v}
			}
			r.roomOptions["views"] = views
		}
	}
}

// parseViews reads a list of view labels.
func (w *walker) parseViews(n *yaml.Node, field string) []string {
	items, ok := w.list(n, field)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		f := index(field, i)
		s, ok := w.str(it, f)
		if !ok {
			continue
		}
		if !viewLabelRE.MatchString(s) {
			w.addf(it, f, "invalid view label %q: use letters, digits, - and _", s)
			continue
		}
		if contains(out, s) {
			w.addf(it, f, "view %q listed twice", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// parseMedia reads {audio, video}; keys absent take the value from base.
func (w *walker) parseMedia(n *yaml.Node, field string, base Media) Media {
	f, ok := w.mapping(n, field, "audio", "video")
	if !ok {
		return base
	}
	m := base
	kind := func(key string, dst *any) {
		v, ok := f[key]
		if !ok {
			return
		}
		kf := join(field, key)
		if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
			b, _ := w.boolean(v, kf)
			*dst = b
			return
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "auto" {
			*dst = "auto"
			return
		}
		w.addf(v, kf, "must be auto, true or false")
	}
	kind("audio", &m.Audio)
	kind("video", &m.Video)
	if m.Audio == false && m.Video == false {
		w.addf(n, field, "audio and video are both false: OWT refuses to pull nothing; enable one of them")
	}
	return m
}

// parseTransport reads tcp or udp.
func (w *walker) parseTransport(n *yaml.Node, field string) string {
	s, ok := w.str(n, field)
	if !ok {
		return "tcp"
	}
	if s != "tcp" && s != "udp" {
		w.addf(n, field, "unknown transport %q: use tcp or udp", s)
		return "tcp"
	}
	return s
}
