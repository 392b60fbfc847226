package policy

import (
	"path"
	"sort"

	"gopkg.in/yaml.v3"
)

// matcher is a route's compiled match: globs in path.Match syntax; an empty
// glob (key absent) matches anything.
type matcher struct {
	vhost, app, stream string
	hasVhost, hasApp   bool
	hasStream          bool
	query              []queryGlob // sorted by key
}

// queryGlob requires the publish query to carry key with a value matching glob.
type queryGlob struct {
	key, glob string
}

// matches reports whether a stream satisfies every condition.
func (m *matcher) matches(in Input) bool {
	if m.hasVhost && !globMatch(m.vhost, in.Vhost) {
		return false
	}
	if m.hasApp && !globMatch(m.app, in.App) {
		return false
	}
	if m.hasStream && !globMatch(m.stream, in.Stream) {
		return false
	}
	for _, q := range m.query {
		if !anyMatch(q.glob, in.Param[q.key]) {
			return false
		}
	}
	return true
}

// anyMatch is true when one of the values matches; a missing parameter never
// matches, not even "*".
func anyMatch(glob string, values []string) bool {
	for _, v := range values {
		if globMatch(glob, v) {
			return true
		}
	}
	return false
}

func globMatch(glob, s string) bool {
	ok, err := path.Match(glob, s)
	return err == nil && ok
}

// parseMatch reads a route's match mapping.
func (w *walker) parseMatch(n *yaml.Node, field string) matcher {
	var m matcher
	f, ok := w.mapping(n, field, "vhost", "app", "stream", "query")
	if !ok {
		return m
	}
	glob := func(key string) (string, bool) {
		v, present := f[key]
		if !present {
			return "", false
		}
		s, ok := w.str(v, join(field, key))
		if !ok {
			return "", false
		}
		if !w.validGlob(v, join(field, key), s) {
			return "", false
		}
		return s, true
	}
	m.vhost, m.hasVhost = glob("vhost")
	m.app, m.hasApp = glob("app")
	m.stream, m.hasStream = glob("stream")
	if qn, present := f["query"]; present {
		qf := join(field, "query")
		if qm, ok := w.mapping(qn, qf); ok {
			for k, v := range qm {
				s, ok := w.str(v, join(qf, k))
				if ok && w.validGlob(v, join(qf, k), s) {
					m.query = append(m.query, queryGlob{key: k, glob: s})
				}
			}
			sort.Slice(m.query, func(i, j int) bool { return m.query[i].key < m.query[j].key })
		}
	}
	return m
}

// validGlob reports a malformed path.Match pattern.
func (w *walker) validGlob(n *yaml.Node, field, glob string) bool {
	if _, err := path.Match(glob, ""); err != nil {
		w.addf(n, field, "bad glob %q: %v (use * ? [a-z] as in path.Match)", glob, err)
		return false
	}
	return true
}
