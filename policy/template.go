package policy

import (
	"net/url"
	"regexp"
	"strings"
	"text/template"
)

// templateData is what room and pull_url templates see.
//
// In room templates every field is the raw value. In pull_url templates the
// values that come from the publisher are pre-escaped so the URL stays valid:
// .App (each level), .Stream and .Server with url.PathEscape, .Vhost with url.QueryEscape,
// and `param "k"` with url.QueryEscape. .Pull and .Host (the pull base of the
// SRS server and its host:port) are used as they are.
type templateData struct {
	Vhost  string
	App    string
	Stream string
	Server string
	Pull   string
	Host   string
	Param  url.Values
}

// tmpl is a compiled template plus what Resolve needs to execute it.
type tmpl struct {
	src      string
	t        *template.Template
	usesPrm  bool // calls `param`, so it needs per-execution functions
	escapeIn bool // pull_url: values are escaped before insertion
}

// baseFuncs are available in every template. `param` is a placeholder
// replaced per execution with one bound to the stream's query.
func baseFuncs() template.FuncMap {
	return template.FuncMap{
		"lower":       strings.ToLower,
		"upper":       strings.ToUpper,
		"replace":     func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) },
		"trimPrefix":  func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix":  func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"pathEscape":  url.PathEscape,
		"queryEscape": url.QueryEscape,
		"param":       func(string) string { return "" },
	}
}

var (
	tmplPrefixRE = regexp.MustCompile(`^template: [^:]*:\d+(:\d+)?: `)
	tmplFieldRE  = regexp.MustCompile(`can't evaluate field (\w+)`)
	tmplExecAtRE = regexp.MustCompile(`^executing "[^"]*" at <[^>]*>: `)
	sampleInput  = Input{Server: "origin", PullBase: "rtmp://127.0.0.1:1935", Vhost: "__defaultVhost__", App: "live", Stream: "sample", Param: url.Values{}}
)

// templateProblem turns a text/template error into a short message.
func templateProblem(err error) string {
	msg := err.Error()
	if m := tmplFieldRE.FindStringSubmatch(msg); m != nil {
		return "template: unknown field ." + m[1] + " (known: .Vhost .App .Stream .Param .Server .Pull .Host)"
	}
	msg = tmplPrefixRE.ReplaceAllString(msg, "")
	msg = tmplExecAtRE.ReplaceAllString(msg, "")
	return "template: " + msg
}

// compileTemplate parses src and executes it once against a sample stream so
// unknown fields and bad function calls are found at load time.
func compileTemplate(name, src string, escapeIn bool) (*tmpl, string) {
	t, err := template.New(name).Option("missingkey=error").Funcs(baseFuncs()).Parse(src)
	if err != nil {
		return nil, templateProblem(err)
	}
	c := &tmpl{src: src, t: t, usesPrm: strings.Contains(src, "param"), escapeIn: escapeIn}
	if _, err := c.execute(sampleInput); err != nil {
		return nil, templateProblem(err)
	}
	return c, ""
}

// execute renders the template for one stream.
func (c *tmpl) execute(in Input) (string, error) {
	data := templateData{
		Vhost: in.Vhost, App: in.App, Stream: in.Stream, Server: in.Server,
		Pull: strings.TrimRight(in.PullBase, "/"), Host: pullHost(in.PullBase), Param: in.Param,
	}
	if data.Param == nil {
		data.Param = url.Values{}
	}
	if c.escapeIn {
		data.Vhost = url.QueryEscape(in.Vhost)
		data.App = EscapeApp(in.App)
		data.Stream = url.PathEscape(in.Stream)
		data.Server = url.PathEscape(in.Server)
	}
	t := c.t
	if c.usesPrm {
		clone, err := c.t.Clone()
		if err != nil {
			return "", err
		}
		q := data.Param
		esc := c.escapeIn
		t = clone.Funcs(template.FuncMap{"param": func(k string) string {
			if esc {
				return url.QueryEscape(q.Get(k))
			}
			return q.Get(k)
		}})
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// pullHost returns host[:port] of a pull base URL, or "" when it has none.
func pullHost(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Host
}
