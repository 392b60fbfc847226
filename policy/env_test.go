package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEnvOverridesEveryKey: every key of agent.yaml has a variable named
// from its path, and setting it changes that key, whether the file has the
// key or not.
func TestEnvOverridesEveryKey(t *testing.T) {
	const file = `srs:
  - {name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}
owt: {url: "http://127.0.0.1:3000", service_id: 5f0000000000000000000001, service_key_env: KEY}
hooks: {allow: [10.0.0.0/8]}
policy: ./policy.yaml
`
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", file)
	writeFile(t, dir, "ca.pem", "x")
	writeFile(t, dir, "key.txt", "key-from-file\n")
	writeFile(t, dir, "token.txt", "token-from-file\n")
	writeFile(t, dir, "srs-pass.txt", "pass-from-file\n")
	nokey := writeFile(t, dir, "nokey.yaml", strings.Replace(file, ", service_key_env: KEY", "", 1))
	cases := []struct {
		key, env, value string
		extra           map[string]string // other variables the value needs
		got             func(a *Agent) any
		want            any
	}{
		{"srs[].name", "SRS_OWT_SRS_0_NAME", "origin-2", nil, func(a *Agent) any { return a.SRS[0].Name }, "origin-2"},
		{"srs[].api", "SRS_OWT_SRS_0_API", "http://10.0.0.5:1985", nil, func(a *Agent) any { return a.SRS[0].API }, "http://10.0.0.5:1985"},
		{"srs[].pull", "SRS_OWT_SRS_0_PULL", "rtmp://10.0.0.5:1935", nil, func(a *Agent) any { return a.SRS[0].Pull }, "rtmp://10.0.0.5:1935"},
		{"srs[].username", "SRS_OWT_SRS_0_USERNAME", "admin", map[string]string{"SRS_OWT_SRS_0_PASSWORD_ENV": "SRSPASS", "SRSPASS": "p"},
			func(a *Agent) any { return a.SRS[0].Username }, "admin"},
		{"srs[].password_env", "SRS_OWT_SRS_0_PASSWORD_ENV", "SRSPASS", map[string]string{"SRS_OWT_SRS_0_USERNAME": "admin", "SRSPASS": "pass-from-env"},
			func(a *Agent) any { return a.SRS[0].Password }, "pass-from-env"},
		{"srs[].password_file", "SRS_OWT_SRS_0_PASSWORD_FILE", "srs-pass.txt", map[string]string{"SRS_OWT_SRS_0_USERNAME": "admin"},
			func(a *Agent) any { return a.SRS[0].Password }, "pass-from-file"},
		{"owt.url", "SRS_OWT_OWT_URL", "https://owt.example:3000", nil, func(a *Agent) any { return a.OWT.URL }, "https://owt.example:3000"},
		{"owt.service_id", "SRS_OWT_OWT_SERVICE_ID", "5f00000000000000000000ff", nil, func(a *Agent) any { return a.OWT.ServiceID }, "5f00000000000000000000ff"},
		{"owt.service_key_env", "SRS_OWT_OWT_SERVICE_KEY_ENV", "OTHER_KEY", map[string]string{"OTHER_KEY": "other"}, func(a *Agent) any { return a.OWT.ServiceKey }, "other"},
		// The file names service_key_env: a file variable beside it is a
		// conflict (see TestEnvErrorsNameTheVariable); here the key's
		// variable replaces the env key by a file through a second file.
		{"owt.service_key_file", "SRS_OWT_OWT_SERVICE_KEY_FILE", "key.txt", map[string]string{"SRS_OWT_CONFIG_UNDER_TEST": "nokey.yaml"},
			func(a *Agent) any { return a.OWT.ServiceKey }, "key-from-file"},
		{"owt.ca_file", "SRS_OWT_OWT_CA_FILE", "ca.pem", nil, func(a *Agent) any { return a.OWT.CAFile }, filepath.Join(dir, "ca.pem")},
		{"owt.insecure_skip_verify", "SRS_OWT_OWT_INSECURE_SKIP_VERIFY", "true", nil, func(a *Agent) any { return a.OWT.InsecureSkipVerify }, true},
		{"owt.timeout", "SRS_OWT_OWT_TIMEOUT", "3s", nil, func(a *Agent) any { return a.OWT.Timeout }, 3 * time.Second},
		{"owt.streaming_in_timeout", "SRS_OWT_OWT_STREAMING_IN_TIMEOUT", "120s", nil, func(a *Agent) any { return a.OWT.StreamingInTimeout }, 120 * time.Second},
		{"owt.pending_hold", "SRS_OWT_OWT_PENDING_HOLD", "125s", map[string]string{"SRS_OWT_OWT_STREAMING_IN_TIMEOUT": "120s"},
			func(a *Agent) any { return a.OWT.PendingHold }, 125 * time.Second},
		{"owt.rate_limit", "SRS_OWT_OWT_RATE_LIMIT", "50", nil, func(a *Agent) any { return a.OWT.RateLimit }, 50},
		{"hooks.listen", "SRS_OWT_HOOKS_LISTEN", "0.0.0.0:8085", nil, func(a *Agent) any { return a.Hooks.Listen }, "0.0.0.0:8085"},
		{"hooks.token_env", "SRS_OWT_HOOKS_TOKEN_ENV", "HOOKTOK", map[string]string{"HOOKTOK": "t1"}, func(a *Agent) any { return a.Hooks.Token }, "t1"},
		{"hooks.token_file", "SRS_OWT_HOOKS_TOKEN_FILE", "token.txt", nil, func(a *Agent) any { return a.Hooks.Token }, "token-from-file"},
		{"hooks.allow[]", "SRS_OWT_HOOKS_ALLOW_0", "192.168.0.0/16", nil, func(a *Agent) any { return a.Hooks.Allow }, []string{"192.168.0.0/16"}},
		{"hooks.hint_ttl", "SRS_OWT_HOOKS_HINT_TTL", "4s", nil, func(a *Agent) any { return a.Hooks.HintTTL }, 4 * time.Second},
		{"agent.id", "SRS_OWT_AGENT_ID", "agent-7", nil, func(a *Agent) any { return a.Agent.ID }, "agent-7"},
		{"agent.state_file", "SRS_OWT_AGENT_STATE_FILE", "state/s.json", nil, func(a *Agent) any { return a.Agent.StateFile }, filepath.Join(dir, "state/s.json")},
		{"agent.metrics_listen", "SRS_OWT_AGENT_METRICS_LISTEN", "0.0.0.0:9108", nil, func(a *Agent) any { return a.Agent.MetricsListen }, "0.0.0.0:9108"},
		{"agent.policy_reload_check", "SRS_OWT_AGENT_POLICY_RELOAD_CHECK", "15s", nil, func(a *Agent) any { return a.Agent.PolicyReloadCheck }, 15 * time.Second},
		{"agent.pprof", "SRS_OWT_AGENT_PPROF", "true", nil, func(a *Agent) any { return a.Agent.PProf }, true},
		{"policy", "SRS_OWT_POLICY", "/etc/srs-owt-proxy/policy.yaml", nil, func(a *Agent) any { return a.Policy }, "/etc/srs-owt-proxy/policy.yaml"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.key] = true
		t.Run(c.env, func(t *testing.T) {
			if name := EnvName(strings.ReplaceAll(c.key, "[]", "[0]")); name != c.env {
				t.Errorf("EnvName(%s) = %s, want %s", c.key, name, c.env)
			}
			env := map[string]string{"KEY": "k", c.env: c.value}
			for k, v := range c.extra {
				env[k] = v
			}
			p := path
			if c.extra["SRS_OWT_CONFIG_UNDER_TEST"] == "nokey.yaml" {
				p = nokey
			}
			before, err := LoadAgent(p, envOf(map[string]string{"KEY": "k", "SRSPASS": "p", "OTHER_KEY": "o", "HOOKTOK": "h"}))
			if err == nil && reflect.DeepEqual(c.got(before), c.want) {
				t.Fatalf("%s is already %v without the variable", c.key, c.want)
			}
			a, err := LoadAgent(p, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.got(a); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s=%q: %s = %#v, want %#v", c.env, c.value, c.key, got, c.want)
			}
		})
	}
	for _, k := range AgentKeys {
		if !covered[k] {
			t.Errorf("AgentKeys has %s, which this test does not cover", k)
		}
	}
}

// Lists grow by index: a variable for the item past the end adds one.
func TestEnvAddsListItems(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", "owt: {url: \"http://127.0.0.1:3000\", service_id: 5f0000000000000000000001, service_key_env: KEY}\n")
	env := map[string]string{"KEY": "k",
		"SRS_OWT_SRS_0_NAME": "a", "SRS_OWT_SRS_0_API": "http://10.0.0.1:1985", "SRS_OWT_SRS_0_PULL": "rtmp://10.0.0.1",
		"SRS_OWT_SRS_1_NAME": "b", "SRS_OWT_SRS_1_API": "http://10.0.0.2:1985", "SRS_OWT_SRS_1_PULL": "rtmp://10.0.0.2",
		"SRS_OWT_SRS_3_NAME":    "skipped: index 2 is not set",
		"SRS_OWT_HOOKS_ALLOW_0": "10.0.0.0/8", "SRS_OWT_HOOKS_ALLOW_1": "127.0.0.1/32",
	}
	a, err := LoadAgent(path, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SRS) != 2 || a.SRS[1].Name != "b" || a.SRS[1].Pull != "rtmp://10.0.0.2" || !reflect.DeepEqual(a.Hooks.Allow, []string{"10.0.0.0/8", "127.0.0.1/32"}) {
		t.Errorf("servers %+v, allow %v", a.SRS, a.Hooks.Allow)
	}
	// An empty file and only variables is a whole configuration.
	empty := writeFile(t, dir, "empty.yaml", "")
	env["SRS_OWT_OWT_URL"], env["SRS_OWT_OWT_SERVICE_ID"], env["SRS_OWT_OWT_SERVICE_KEY_ENV"] = "http://127.0.0.1:3000", "5f0000000000000000000001", "KEY"
	if a, err := LoadAgent(empty, envOf(env)); err != nil || len(a.SRS) != 2 {
		t.Errorf("variables only: %+v %v", a, err)
	}
}

// A bad value from a variable says which variable it came from.
func TestEnvErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", `srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "http://127.0.0.1:3000", service_id: 5f0000000000000000000001, service_key_env: KEY}
`)
	_, err := LoadAgent(path, envOf(map[string]string{"KEY": "k", "SRS_OWT_SRS_0_API": "ftp://x", "SRS_OWT_OWT_TIMEOUT": "soon",
		"SRS_OWT_OWT_SERVICE_KEY_FILE": "key.txt"}))
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"srs[0].api", "$SRS_OWT_SRS_0_API", "owt.timeout", "$SRS_OWT_OWT_TIMEOUT", "set only one of service_key_env and service_key_file (the value comes from $SRS_OWT_OWT_SERVICE_KEY_FILE)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// README's table lists the variable of every key.
func TestEnvTableInReadme(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range AgentKeys {
		name := EnvName(strings.ReplaceAll(k, "[]", "[N]"))
		name = regexp.MustCompile(`_N(_|$)`).ReplaceAllString(name, "_<N>$1")
		if !strings.Contains(string(b), "`"+name+"`") {
			t.Errorf("README.md does not list `%s` (%s)", name, k)
		}
	}
}

// Items other than the first are reached by their index, wherever the
// list sits in the file; at most maxEnvItems items come from variables.
func TestEnvLaterItemsAndLimit(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", `owt: {url: "http://127.0.0.1:3000", service_id: 5f0000000000000000000001, service_key_env: KEY}
hooks: {listen: "127.0.0.1:8085"}
srs:
  - {name: a, api: "http://10.0.0.1:1985", pull: "rtmp://10.0.0.1"}
  - {name: b, api: "http://10.0.0.2:1985", pull: "rtmp://10.0.0.2"}
`)
	env := map[string]string{"KEY": "k", "SRS_OWT_SRS_1_API": "http://10.0.0.9:1985"}
	for i := 0; i <= maxEnvItems; i++ {
		env[EnvName("hooks.allow["+strconv.Itoa(i)+"]")] = "10.0." + strconv.Itoa(i) + ".0/24"
	}
	a, err := LoadAgent(path, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if a.SRS[1].API != "http://10.0.0.9:1985" || a.SRS[0].API != "http://10.0.0.1:1985" {
		t.Errorf("servers %+v", a.SRS)
	}
	if len(a.Hooks.Allow) != maxEnvItems || a.Hooks.Allow[maxEnvItems-1] != "10.0.63.0/24" {
		t.Errorf("%d allow entries from %d variables, want the first %d", len(a.Hooks.Allow), maxEnvItems+1, maxEnvItems)
	}
}
