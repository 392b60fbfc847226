package policy

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix begins every environment variable that overrides agent.yaml.
const EnvPrefix = "SRS_OWT_"

// AgentKeys is every key of agent.yaml an environment variable can set.
// The variable's name is derived from the key's path (EnvName): upper
// case, dots and list indices become underscores, after SRS_OWT_. "[]"
// stands for each item of a list: srs[].api is SRS_OWT_SRS_0_API for the
// first server, SRS_OWT_SRS_1_API for the second; a variable for the item
// just past the end of the list adds an item.
var AgentKeys = []string{
	"srs[].name", "srs[].api", "srs[].pull", "srs[].username", "srs[].password_env", "srs[].password_file",
	"owt.url", "owt.service_id", "owt.service_key_env", "owt.service_key_file", "owt.ca_file", "owt.insecure_skip_verify",
	"owt.timeout", "owt.streaming_in_timeout", "owt.pending_hold", "owt.rate_limit",
	"hooks.listen", "hooks.token_env", "hooks.token_file", "hooks.allow[]", "hooks.hint_ttl",
	"agent.id", "agent.state_file", "agent.metrics_listen", "agent.policy_reload_check", "agent.pprof",
	"policy",
}

// typedKeys are the keys whose values are not strings: their variables are
// read as YAML would read the value (true, 8); all others are strings, so
// that an agent id of 123 or a password file named "yes" stay strings.
var typedKeys = map[string]bool{"owt.insecure_skip_verify": true, "owt.rate_limit": true, "agent.pprof": true}

// scalar is the node of a value from the environment.
func scalar(key, value string, line, col int) yaml.Node {
	n := yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Line: line, Column: col}
	if typedKeys[key] {
		n.Tag = ""
		n.Tag = n.ShortTag()
	}
	return n
}

// EnvName is the environment variable of a key path with its indices
// filled in: EnvName("srs[1].api") is SRS_OWT_SRS_1_API.
func EnvName(path string) string {
	r := strings.NewReplacer(".", "_", "[", "_", "]", "")
	return EnvPrefix + strings.ToUpper(r.Replace(path))
}

// envOverride is one value of agent.yaml taken from the environment.
type envOverride struct {
	path, env string
}

// maxEnvItems bounds the list items variables may add.
const maxEnvItems = 64

// applyEnv sets in the document every key whose variable is set, creating
// mappings and list items as needed, and returns the root (a new one when
// the document was empty) and what it set. Values keep YAML's typing
// ("true", "30s", "8") as if written in the file.
func applyEnv(root *yaml.Node, getenv func(string) string) (*yaml.Node, []envOverride) {
	var applied []envOverride
	ensureRoot := func() {
		if root == nil {
			root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
	}
	for _, key := range AgentKeys {
		list, rest, isList := strings.Cut(key, "[]")
		if !isList {
			env := EnvName(key)
			if v := getenv(env); v != "" {
				ensureRoot()
				if setPath(root, strings.Split(key, "."), key, v) {
					applied = append(applied, envOverride{path: key, env: env})
				}
			}
			continue
		}
		have := len(seqAt(root, strings.Split(list, ".")))
		for i := 0; i < have+1 && i < maxEnvItems; i++ {
			path := list + "[" + strconv.Itoa(i) + "]" + rest
			env := EnvName(path)
			v := getenv(env)
			if v == "" {
				continue
			}
			ensureRoot()
			if setItem(root, strings.Split(list, "."), i, strings.TrimPrefix(rest, "."), v) {
				applied = append(applied, envOverride{path: path, env: env})
				if i == have {
					have++ // an item added: the next index may add one more
				}
			}
		}
	}
	return root, applied
}

// child returns the value of key in mapping m, adding it (as kind) when
// absent; nil when m is not a mapping.
func child(m *yaml.Node, key string, kind yaml.Kind) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && kind != yaml.ScalarNode {
				*v = yaml.Node{Kind: kind, Line: v.Line, Column: v.Column}
			}
			return v
		}
	}
	v := &yaml.Node{Kind: kind}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// setPath sets the scalar at path under m to the value of key.
func setPath(m *yaml.Node, path []string, key, value string) bool {
	for _, k := range path[:len(path)-1] {
		if m = child(m, k, yaml.MappingNode); m == nil {
			return false
		}
	}
	v := child(m, path[len(path)-1], yaml.ScalarNode)
	if v == nil {
		return false
	}
	*v = scalar(key, value, v.Line, v.Column)
	return true
}

// seqAt returns the items of the list at path, nil when there is none.
func seqAt(m *yaml.Node, path []string) []*yaml.Node {
	for _, k := range path {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == k {
				next = m.Content[i+1]
			}
		}
		m = next
	}
	if m == nil || m.Kind != yaml.SequenceNode {
		return nil
	}
	return m.Content
}

// setItem sets item i of the list at path (key under it, or the item
// itself when key is ""), adding the item when i is the list's length.
func setItem(m *yaml.Node, path []string, i int, key, value string) bool {
	for _, k := range path[:len(path)-1] {
		if m = child(m, k, yaml.MappingNode); m == nil {
			return false
		}
	}
	seq := child(m, path[len(path)-1], yaml.SequenceNode)
	if seq == nil || seq.Kind != yaml.SequenceNode || i > len(seq.Content) {
		return false
	}
	if i == len(seq.Content) {
		kind := yaml.MappingNode
		if key == "" {
			kind = yaml.ScalarNode
		}
		seq.Content = append(seq.Content, &yaml.Node{Kind: kind})
	}
	if key == "" {
		item := seq.Content[i]
		*item = scalar("", value, item.Line, item.Column)
		return true
	}
	return setPath(seq.Content[i], strings.Split(key, "."), key, value)
}

// markEnv says, in each problem with a value from the environment, which
// variable it came from.
func markEnv(errs Errors, applied []envOverride) {
	for i := range errs {
		for _, o := range applied {
			if errs[i].Field == o.path || strings.HasPrefix(errs[i].Field, o.path+".") || strings.HasPrefix(errs[i].Field, o.path+"[") {
				errs[i].Problem += " (the value comes from $" + o.env + ")"
				break
			}
		}
	}
}
