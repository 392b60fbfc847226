package policy

import (
	"net/url"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// TokenParam is the publish query parameter that carries a route's
// publish token (token_env).
const TokenParam = "token"

// Attributes is the policy's `attributes:` section: what the agent may
// write into the attributes of the streaming-ins it creates. OWT hands
// stream attributes to every participant of the room, so nothing secret
// may go there.
type Attributes struct {
	// KeepParams (keep_params) lists the publish query parameters copied
	// into the attributes. Default: none. The publish token parameter of a
	// token route is never copied, listed or not (validation refuses it).
	KeepParams []string
}

// parseAttributes reads the attributes section.
func (w *walker) parseAttributes(n *yaml.Node, field string, a *Attributes) {
	f, ok := w.mapping(n, field, "keep_params")
	if !ok {
		return
	}
	v, ok := f["keep_params"]
	if !ok {
		return
	}
	kf := join(field, "keep_params")
	items, ok := w.list(v, kf)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		s, ok := w.str(it, index(kf, i))
		if !ok {
			continue
		}
		switch {
		case s == "":
			w.addf(it, index(kf, i), "empty parameter name")
		case seen[s]:
			w.addf(it, index(kf, i), "%q is listed twice", s)
		default:
			seen[s] = true
			a.KeepParams = append(a.KeepParams, s)
		}
	}
	sort.Strings(a.KeepParams)
}

// checkAttributes refuses a kept parameter that is a route's publish token.
func (w *walker) checkAttributes(n *yaml.Node, field string, p *Policy) {
	if !p.hasToken() {
		return
	}
	for _, k := range p.Attributes.KeepParams {
		if k == TokenParam {
			w.addf(n, join(field, "keep_params"), "%q carries the publish token of a token_env route; it is never written to OWT, remove it", k)
		}
	}
}

func (p *Policy) hasToken() bool {
	for _, r := range p.Routes {
		if r.tokenEnv != "" {
			return true
		}
	}
	return false
}

var (
	paramCallRE  = regexp.MustCompile(`\bparam\s+"((?:[^"\\]|\\.)*)"`)
	paramIndexRE = regexp.MustCompile(`\bindex\s+\.Param\s+"((?:[^"\\]|\\.)*)"`)
	paramFieldRE = regexp.MustCompile(`\.Param\.([A-Za-z_][A-Za-z0-9_]*)`)
	paramAnyRE   = regexp.MustCompile(`\.Param\b`)
)

// routingParams returns the query parameters the policy reads to route a
// stream (match.query keys and the parameters its templates use), or all
// when a template reads .Param in a form that does not name them.
func (p *Policy) routingParams() (keys map[string]bool, all bool) {
	keys = map[string]bool{}
	for _, r := range p.Routes {
		for _, q := range r.match.query {
			keys[q.key] = true
		}
		for _, t := range []*tmpl{r.room, r.pull} {
			if t == nil {
				continue
			}
			src := t.src
			for _, re := range []*regexp.Regexp{paramCallRE, paramIndexRE, paramFieldRE} {
				for _, m := range re.FindAllStringSubmatch(src, -1) { // any n < 0 means all: -2 is an equivalent mutant
					keys[unquote(m[1])] = true
				}
				src = re.ReplaceAllString(src, "")
			}
			if paramAnyRE.MatchString(src) {
				all = true
			}
		}
	}
	return keys, all
}

func unquote(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\"`, `"`), `\\`, `\`) }

// StoredParam is the part of a publish query (SRS's hook param) that the
// agent keeps in its store, so that query-matching routes still place a
// stream after a restart (SRS lists no query): the parameters the routes
// read plus attributes.keep_params, never the publish token of a token
// route. The result is canonical (sorted url.Values encoding with a
// leading '?') or "" when nothing is kept.
func (p *Policy) StoredParam(param string) string {
	if p == nil || param == "" {
		return ""
	}
	keys, all := p.routingParams()
	for _, k := range p.Attributes.KeepParams {
		keys[k] = true
	}
	token := p.hasToken()
	return filterParam(param, func(k string) bool { return (all || keys[k]) && !(token && k == TokenParam) })
}

// AttributeParam is the part of a publish query written into the
// attributes of a streaming-in: only attributes.keep_params, never the
// publish token of a token route. Canonical, or "" when nothing is kept.
func (p *Policy) AttributeParam(param string) string {
	if p == nil || param == "" || len(p.Attributes.KeepParams) == 0 {
		return ""
	}
	token := p.hasToken()
	keep := map[string]bool{}
	for _, k := range p.Attributes.KeepParams {
		keep[k] = true
	}
	return filterParam(param, func(k string) bool { return keep[k] && !(token && k == TokenParam) })
}

// filterParam parses param the way SRS hooks carry it (srsapi.ParseParam) and
// re-encodes the kept keys. Values of dropped keys never reach the output:
// the output is built from kept keys and their values only.
func filterParam(param string, keep func(string) bool) string {
	q := srsapi.ParseParam(param)
	out := url.Values{}
	for k, vs := range q {
		if keep(k) {
			out[k] = vs
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "?" + out.Encode()
}
