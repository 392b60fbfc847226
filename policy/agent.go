package policy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults for agent.yaml.
const (
	DefaultHooksListen        = "127.0.0.1:8085"
	DefaultAgentID            = "srs-owt-proxy"
	DefaultStateFile          = "./srs-owt-proxy.state.json"
	DefaultMetricsListen      = "127.0.0.1:9108"
	DefaultOWTTimeout         = 10 * time.Second
	DefaultStreamingInTimeout = 100 * time.Second
	// DefaultPendingHold is how long a streaming-in POST of unknown outcome
	// may still complete on OWT (its RPC timeout is 90 s).
	DefaultPendingHold = 95 * time.Second
	// DefaultHintTTL is how long an on_publish hook stands for a stream
	// that SRS does not list yet.
	DefaultHintTTL = 10 * time.Second
	// DefaultPolicyReloadCheck is how often the policy file is re-read as a
	// fallback to change events.
	DefaultPolicyReloadCheck = time.Minute
	// DefaultOWTRateLimit caps requests per second to OWT.
	DefaultOWTRateLimit = 1000
)

// Environment variables that override agent.yaml after it is read.
const (
	EnvOWTURL        = "SRS_OWT_OWT_URL"
	EnvOWTServiceID  = "SRS_OWT_OWT_SERVICE_ID"
	EnvOWTServiceKey = "SRS_OWT_OWT_SERVICE_KEY"
	EnvHooksListen   = "SRS_OWT_HOOKS_LISTEN"
	EnvHooksToken    = "SRS_OWT_HOOKS_TOKEN"
	EnvMetricsListen = "SRS_OWT_METRICS_LISTEN"
	EnvAgentID       = "SRS_OWT_AGENT_ID"
	EnvStateFile     = "SRS_OWT_STATE_FILE"
	EnvPolicy        = "SRS_OWT_POLICY"
)

var (
	agentIDRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	serviceIDRE = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)
)

// origin tells where a value came from, for messages.
type origin struct {
	node *yaml.Node // set when read from the file
	env  string     // set when an environment variable overrode it
}

// LoadAgent reads and validates agent.yaml, reads the secrets it names
// (password_env/_file, service_key_env/_file, token_env/_file; file contents
// are trimmed), resolves relative paths against the file's directory and then
// applies the SRS_OWT_* environment overrides (paths from the environment are
// used as given). getenv nil means os.Getenv. The error, when not nil, is an
// Errors value with every problem found; it never contains a secret value.
//
// `policy:` may be a path (Agent.Policy) or an inline mapping
// (Agent.InlinePolicy); when absent both stay empty and the caller needs
// --policy.
func LoadAgent(path string, getenv func(string) string) (*Agent, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Problem: "cannot read the agent config: " + err.Error()}}
	}
	w := &walker{file: path}
	root := w.parseDocument(data)
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	root, fromEnv := applyEnv(root, getenv)
	l := &agentLoader{w: w, dir: filepath.Dir(path), getenv: getenv}
	a := l.load(root)
	a.File = path
	markEnv(w.errs, fromEnv)
	if err := w.errs.err(); err != nil {
		return nil, err
	}
	return a, nil
}

// agentLoader holds the state of one LoadAgent call.
type agentLoader struct {
	w      *walker
	dir    string
	getenv func(string) string

	owtURL, serviceID, hooksListen, metricsListen, agentID origin
	owtNode                                                *yaml.Node
}

// load walks the document, applies overrides and validates the result.
func (l *agentLoader) load(root *yaml.Node) *Agent {
	w := l.w
	a := &Agent{
		OWT:   OWT{Timeout: DefaultOWTTimeout, StreamingInTimeout: DefaultStreamingInTimeout, RateLimit: DefaultOWTRateLimit, PendingHold: DefaultPendingHold},
		Hooks: Hooks{Listen: DefaultHooksListen, HintTTL: DefaultHintTTL},
		Agent: AgentSection{ID: DefaultAgentID, StateFile: l.path(DefaultStateFile), MetricsListen: DefaultMetricsListen, PolicyReloadCheck: DefaultPolicyReloadCheck},
	}
	f := map[string]*yaml.Node{}
	if root != nil {
		f, _ = w.mapping(root, "", "srs", "owt", "hooks", "agent", "policy")
	}
	if n, ok := f["srs"]; ok {
		l.srs(n, a)
	} else {
		w.addf(root, "srs", "missing: list at least one SRS server (name, api, pull)")
	}
	l.owtNode = f["owt"]
	if n, ok := f["owt"]; ok {
		l.owt(n, a)
	}
	if n, ok := f["hooks"]; ok {
		l.hooks(n, a)
	}
	if n, ok := f["agent"]; ok {
		l.agentSection(n, a)
	}
	if n, ok := f["policy"]; ok {
		l.policy(n, a)
	}
	if a.OWT.ServiceKey == "" && l.getenv(EnvOWTServiceKey) == "" && l.owtNode != nil {
		if _, hasEnv := l.keyNode("service_key_env"); !hasEnv {
			if _, hasFile := l.keyNode("service_key_file"); !hasFile {
				w.addf(l.owtNode, "owt.service_key_env", "missing: give service_key_env or service_key_file (or set %s)", EnvOWTServiceKey)
			}
		}
	}
	l.overrides(a)
	l.validate(a)
	return a
}

// keyNode finds a key in the owt mapping.
func (l *agentLoader) keyNode(key string) (*yaml.Node, bool) {
	if l.owtNode == nil || l.owtNode.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(l.owtNode.Content); i += 2 {
		if l.owtNode.Content[i].Value == key {
			return l.owtNode.Content[i+1], true
		}
	}
	return nil, false
}

// path resolves p against agent.yaml's directory.
func (l *agentLoader) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

func (l *agentLoader) srs(n *yaml.Node, a *Agent) {
	w := l.w
	items, ok := w.list(n, "srs")
	if !ok {
		return
	}
	if len(items) == 0 {
		w.addf(n, "srs", "list at least one SRS server")
	}
	for i, it := range items {
		field := index("srs", i)
		f, ok := w.mapping(it, field, "name", "api", "username", "password_env", "password_file", "pull")
		if !ok {
			continue
		}
		var s SRSServer
		if l.required(f, it, field, "name", &s.Name) {
			for _, prev := range a.SRS {
				if prev.Name == s.Name {
					w.addf(f["name"], join(field, "name"), "duplicate SRS server name %q", s.Name)
				}
			}
		}
		if l.required(f, it, field, "api", &s.API) {
			if p := urlProblem(s.API, "http", "https"); p != "" {
				w.addf(f["api"], join(field, "api"), "%s", p)
			}
			s.API = strings.TrimRight(s.API, "/")
		}
		if l.required(f, it, field, "pull", &s.Pull) {
			if p := urlProblem(s.Pull, "rtmp", "rtsp"); p != "" {
				w.addf(f["pull"], join(field, "pull"), "%s", p)
			}
			s.Pull = strings.TrimRight(s.Pull, "/")
		}
		if v, ok := f["username"]; ok {
			s.Username, _ = w.str(v, join(field, "username"))
		}
		s.Password = l.secret(f, field, "password_env", "password_file")
		if s.Password != "" && s.Username == "" {
			w.addf(it, join(field, "username"), "missing: a password needs a username (SRS http_api auth)")
		}
		a.SRS = append(a.SRS, s)
	}
}

// required reads a mandatory non-empty string key.
func (l *agentLoader) required(f map[string]*yaml.Node, parent *yaml.Node, field, key string, dst *string) bool {
	v, ok := f[key]
	if !ok {
		l.w.addf(parent, join(field, key), "missing (required)")
		return false
	}
	s, ok := l.w.str(v, join(field, key))
	if !ok {
		return false
	}
	if s == "" {
		l.w.addf(v, join(field, key), "must not be empty")
		return false
	}
	*dst = s
	return true
}

// secret reads a secret from an environment variable or a file named by
// envKey/fileKey. It never puts the value in a message.
func (l *agentLoader) secret(f map[string]*yaml.Node, field, envKey, fileKey string) string {
	w := l.w
	en, hasEnv := f[envKey]
	fn, hasFile := f[fileKey]
	if hasEnv && hasFile {
		w.addf(fn, join(field, fileKey), "set only one of %s and %s", envKey, fileKey)
		return ""
	}
	if hasEnv {
		name, ok := w.str(en, join(field, envKey))
		if !ok {
			return ""
		}
		if name == "" {
			w.addf(en, join(field, envKey), "must name an environment variable")
			return ""
		}
		v := strings.TrimSpace(l.getenv(name))
		if v == "" {
			w.addf(en, join(field, envKey), "environment variable %s is empty or unset; set it or use %s", name, fileKey)
		}
		return v
	}
	if hasFile {
		p, ok := w.str(fn, join(field, fileKey))
		if !ok {
			return ""
		}
		p = l.path(p)
		data, err := os.ReadFile(p)
		if err != nil {
			w.addf(fn, join(field, fileKey), "cannot read the secret file %s: %v", p, errProblem(err))
			return ""
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			w.addf(fn, join(field, fileKey), "the secret file %s is empty", p)
		}
		return v
	}
	return ""
}

// errProblem strips the path from an *os.PathError (the message names it).
func errProblem(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (l *agentLoader) owt(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "owt", "url", "service_id", "service_key_env", "service_key_file", "ca_file", "timeout", "streaming_in_timeout", "insecure_skip_verify", "rate_limit", "pending_hold")
	if !ok {
		l.owtNode = nil
		return
	}
	if v, ok := f["url"]; ok {
		a.OWT.URL, _ = w.str(v, "owt.url")
		l.owtURL.node = v
	}
	if v, ok := f["service_id"]; ok {
		a.OWT.ServiceID, _ = w.str(v, "owt.service_id")
		l.serviceID.node = v
	}
	if l.getenv(EnvOWTServiceKey) == "" {
		a.OWT.ServiceKey = l.secret(f, "owt", "service_key_env", "service_key_file")
	}
	if v, ok := f["ca_file"]; ok {
		if s, ok := w.str(v, "owt.ca_file"); ok {
			a.OWT.CAFile = l.path(s)
		}
	}
	if v, ok := f["timeout"]; ok {
		if d, ok := w.duration(v, "owt.timeout", time.Millisecond); ok {
			a.OWT.Timeout = d
		}
	}
	if v, ok := f["streaming_in_timeout"]; ok {
		if d, ok := w.duration(v, "owt.streaming_in_timeout", time.Millisecond); ok {
			a.OWT.StreamingInTimeout = d
		}
	}
	if v, ok := f["insecure_skip_verify"]; ok {
		a.OWT.InsecureSkipVerify, _ = w.boolean(v, "owt.insecure_skip_verify")
	}
	if v, ok := f["pending_hold"]; ok {
		if d, ok := w.duration(v, "owt.pending_hold", time.Millisecond); ok {
			a.OWT.PendingHold = d
		}
	}
	if v, ok := f["rate_limit"]; ok {
		if i, ok := w.integer(v, "owt.rate_limit", 0, 1_000_000); ok {
			a.OWT.RateLimit = i
		}
	}
}

func (l *agentLoader) hooks(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "hooks", "listen", "token_env", "token_file", "allow", "hint_ttl")
	if !ok {
		return
	}
	if v, ok := f["hint_ttl"]; ok {
		if d, ok := w.duration(v, "hooks.hint_ttl", 100*time.Millisecond); ok {
			a.Hooks.HintTTL = d
		}
	}
	if v, ok := f["listen"]; ok {
		a.Hooks.Listen, _ = w.str(v, "hooks.listen")
		l.hooksListen.node = v
	}
	if l.getenv(EnvHooksToken) == "" {
		a.Hooks.Token = l.secret(f, "hooks", "token_env", "token_file")
	}
	if v, ok := f["allow"]; ok {
		items, _ := w.list(v, "hooks.allow")
		for i, it := range items {
			field := index("hooks.allow", i)
			s, ok := w.str(it, field)
			if !ok {
				continue
			}
			if _, _, err := net.ParseCIDR(s); err != nil {
				w.addf(it, field, "bad CIDR %q: use an address/prefix such as 127.0.0.0/8 or 10.0.0.5/32", s)
				continue
			}
			a.Hooks.Allow = append(a.Hooks.Allow, s)
		}
	}
}

func (l *agentLoader) agentSection(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "agent", "id", "state_file", "metrics_listen", "policy_reload_check", "pprof")
	if !ok {
		return
	}
	if v, ok := f["id"]; ok {
		a.Agent.ID, _ = w.str(v, "agent.id")
		l.agentID.node = v
	}
	if v, ok := f["state_file"]; ok {
		if s, ok := w.str(v, "agent.state_file"); ok {
			if s == "" {
				w.addf(v, "agent.state_file", "must not be empty")
			}
			a.Agent.StateFile = l.path(s)
		}
	}
	if v, ok := f["metrics_listen"]; ok {
		a.Agent.MetricsListen, _ = w.str(v, "agent.metrics_listen")
		l.metricsListen.node = v
	}
	if v, ok := f["policy_reload_check"]; ok {
		if d, ok := w.duration(v, "agent.policy_reload_check", time.Second); ok {
			a.Agent.PolicyReloadCheck = d
		}
	}
	if v, ok := f["pprof"]; ok {
		a.Agent.PProf, _ = w.boolean(v, "agent.pprof")
	}
}

func (l *agentLoader) policy(n *yaml.Node, a *Agent) {
	w := l.w
	switch {
	case n.Kind == yaml.MappingNode:
		a.InlinePolicy = w.parsePolicyNode(n, "policy", l.getenv)
		a.InlinePolicy.File = w.file
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
	default:
		if s, ok := w.str(n, "policy"); ok {
			if s == "" {
				w.addf(n, "policy", "must be a path or a mapping")
				return
			}
			a.Policy = l.path(s)
		}
	}
}

// overrides applies the SRS_OWT_* environment variables.
func (l *agentLoader) overrides(a *Agent) {
	set := func(env string, dst *string, o *origin) {
		if v := l.getenv(env); v != "" {
			*dst = v
			if o != nil {
				*o = origin{env: env}
			}
		}
	}
	set(EnvOWTURL, &a.OWT.URL, &l.owtURL)
	set(EnvOWTServiceID, &a.OWT.ServiceID, &l.serviceID)
	set(EnvOWTServiceKey, &a.OWT.ServiceKey, nil)
	set(EnvHooksListen, &a.Hooks.Listen, &l.hooksListen)
	set(EnvHooksToken, &a.Hooks.Token, nil)
	set(EnvMetricsListen, &a.Agent.MetricsListen, &l.metricsListen)
	set(EnvAgentID, &a.Agent.ID, &l.agentID)
	set(EnvStateFile, &a.Agent.StateFile, nil)
	if v := l.getenv(EnvPolicy); v != "" {
		a.Policy = v
		a.InlinePolicy = nil
	}
}

// validate checks the values that env overrides may have supplied.
func (l *agentLoader) validate(a *Agent) {
	w := l.w
	report := func(o origin, field, format string, args ...any) {
		if o.env != "" {
			field += " (from " + o.env + ")"
		}
		n := o.node
		if n == nil {
			n = l.owtNode
		}
		w.addf(n, field, format, args...)
	}
	if a.OWT.URL == "" {
		report(l.owtURL, "owt.url", "missing: the OWT management API URL, e.g. https://owt.example:3000 (or set %s)", EnvOWTURL)
	} else if p := urlProblem(a.OWT.URL, "http", "https"); p != "" {
		report(l.owtURL, "owt.url", "%s", p)
	}
	if a.OWT.ServiceID == "" {
		report(l.serviceID, "owt.service_id", "missing: the OWT service id (or set %s)", EnvOWTServiceID)
	} else if !serviceIDRE.MatchString(a.OWT.ServiceID) {
		report(l.serviceID, "owt.service_id", "%q is not an OWT service id: it is the 24 hex characters of the service's id in OWT's database, e.g. 5f0000000000000000000001 (OWT answers any other value with a 500, not a 401)", a.OWT.ServiceID)
	}
	if a.OWT.ServiceKey == "" && l.owtNode == nil {
		w.addf(nil, "owt.service_key_env", "missing: give owt.service_key_env or owt.service_key_file (or set %s)", EnvOWTServiceKey)
	}
	if p := listenProblem(a.Hooks.Listen); p != "" {
		report(l.hooksListen, "hooks.listen", "%s", p)
	}
	if p := listenProblem(a.Agent.MetricsListen); p != "" {
		report(l.metricsListen, "agent.metrics_listen", "%s", p)
	}
	if !agentIDRE.MatchString(a.Agent.ID) {
		report(l.agentID, "agent.id", "%q is not valid: use 1 to 64 letters, digits, '.', '_' or '-'", a.Agent.ID)
	}
}

// urlProblem checks an absolute URL with one of the schemes and a host. It
// does not echo the URL, which may carry credentials.
func urlProblem(raw string, schemes ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return "not a valid URL: " + err.Error()
	}
	if !contains(schemes, u.Scheme) {
		return "not a valid URL: the scheme must be " + strings.Join(schemes, " or ") + "://"
	}
	if u.Host == "" {
		return "not a valid URL: no host"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "not a valid URL: remove the query and fragment"
	}
	return ""
}

// listenProblem checks a host:port listen address.
func listenProblem(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "not a host:port listen address, e.g. 127.0.0.1:8085"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "the port must be a number from 0 to 65535"
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /") {
		return "not a valid host"
	}
	return ""
}
