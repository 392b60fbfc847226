package policy

import (
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Built-in defaults used when policy.yaml leaves a setting out.
const (
	DefaultInterval    = 30 * time.Second
	DefaultDeleteGrace = 10 * time.Second
	DefaultMaxDeletes  = 50
	DefaultConcurrency = 8
	DefaultTransport   = "tcp"
	DefaultBufferSize  = 8192
)

// LoadPolicy reads and validates a policy file. See ParsePolicy.
func LoadPolicy(path string, getenv func(string) string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Problem: "cannot read the policy: " + err.Error()}}
	}
	return ParsePolicy(path, data, getenv)
}

// ParsePolicy validates policy YAML. file is used in messages only. The error,
// when not nil, is an Errors value holding every problem found. getenv reads
// the routes' token_env variables (nil means os.Getenv).
func ParsePolicy(file string, data []byte, getenv func(string) string) (*Policy, error) {
	w := &walker{file: file}
	root := w.parseDocument(data)
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	if root == nil {
		return nil, Errors{{File: file, Problem: "the policy is empty; it needs at least `routes:`"}}
	}
	p := w.parsePolicyNode(root, "", getenv)
	if err := w.errs.err(); err != nil {
		return nil, err
	}
	p.File = file
	return p, nil
}

// parsePolicyNode reads a policy mapping; prefix is the field path of the
// mapping ("" for a policy file, "policy" inside agent.yaml).
func (w *walker) parsePolicyNode(root *yaml.Node, prefix string, getenv func(string) string) *Policy {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &Policy{
		Reconcile: Reconcile{Interval: DefaultInterval, DeleteGrace: DefaultDeleteGrace, MaxDeletes: DefaultMaxDeletes, Concurrency: DefaultConcurrency, OneInputPer: InputPerStream},
		Defaults:  Defaults{Views: []string{"common"}, Media: Media{Audio: "auto", Video: "auto"}, Transport: DefaultTransport, BufferSize: DefaultBufferSize},
	}
	f, ok := w.mapping(root, prefix, "reconcile", "defaults", "routes", "attributes")
	if !ok {
		return p
	}
	if n, ok := f["attributes"]; ok {
		w.parseAttributes(n, join(prefix, "attributes"), &p.Attributes)
	}
	if n, ok := f["reconcile"]; ok {
		w.parseReconcile(n, join(prefix, "reconcile"), &p.Reconcile)
	}
	if n, ok := f["defaults"]; ok {
		w.parseDefaults(n, join(prefix, "defaults"), &p.Defaults)
	}
	n, ok := f["routes"]
	if !ok {
		w.addf(root, join(prefix, "routes"), "missing: list the routes (routes: [] sends nothing anywhere)")
		return p
	}
	if items, ok := w.list(n, join(prefix, "routes")); ok {
		for i, it := range items {
			if r := w.parseRoute(it, index(join(prefix, "routes"), i), i, &p.Defaults, getenv); r != nil {
				p.Routes = append(p.Routes, r)
			}
		}
	}
	for _, r := range p.Routes {
		r.file = w.file
	}
	if n, ok := f["attributes"]; ok {
		w.checkAttributes(n, join(prefix, "attributes"), p)
	}
	w.checkOutputsAcrossRoutes(p)
	p.warnings = w.warns
	p.loops = compileLoopPatterns(p.Routes)
	p.digest = p.computeDigest()
	return p
}

// parseReconcile reads the reconcile section.
func (w *walker) parseReconcile(n *yaml.Node, field string, rc *Reconcile) {
	f, ok := w.mapping(n, field, "interval", "delete_grace", "max_deletes", "allow_empty", "concurrency", "one_input_per")
	if !ok {
		return
	}
	if v, ok := f["interval"]; ok {
		if d, ok := w.duration(v, join(field, "interval"), 100*time.Millisecond); ok {
			rc.Interval = d
		}
	}
	if v, ok := f["delete_grace"]; ok {
		if d, ok := w.duration(v, join(field, "delete_grace"), 0); ok {
			rc.DeleteGrace = d
		}
	}
	if v, ok := f["max_deletes"]; ok {
		if i, ok := w.integer(v, join(field, "max_deletes"), 1, 1<<30); ok {
			rc.MaxDeletes = i
		}
	}
	if v, ok := f["allow_empty"]; ok {
		rc.AllowEmpty, _ = w.boolean(v, join(field, "allow_empty"))
	}
	if v, ok := f["concurrency"]; ok {
		if i, ok := w.integer(v, join(field, "concurrency"), 1, 256); ok {
			rc.Concurrency = i
		}
	}
	if v, ok := f["one_input_per"]; ok {
		if s, ok := w.str(v, join(field, "one_input_per")); ok {
			switch s {
			case InputPerStream, InputPerServer:
				rc.OneInputPer = s
			default:
				w.addf(v, join(field, "one_input_per"), "%q is not one of stream (one input per vhost/app/stream across SRS servers) or server (one input per server)", s)
			}
		}
	}
}

// parseDefaults reads the defaults section.
func (w *walker) parseDefaults(n *yaml.Node, field string, d *Defaults) {
	f, ok := w.mapping(n, field, "views", "media", "transport", "buffer_size")
	if !ok {
		return
	}
	if v, ok := f["views"]; ok {
		d.Views = w.parseViews(v, join(field, "views"))
	}
	if v, ok := f["media"]; ok {
		d.Media = w.parseMedia(v, join(field, "media"), d.Media)
	}
	if v, ok := f["transport"]; ok {
		d.Transport = w.parseTransport(v, join(field, "transport"))
	}
	if v, ok := f["buffer_size"]; ok {
		if i, ok := w.integer(v, join(field, "buffer_size"), 1, 1<<30); ok {
			d.BufferSize = i
		}
	}
}
