package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const fullAgent = `srs:
  - name: origin
    api: http://127.0.0.1:1985/
    username: admin
    password_env: SRS_API_PASSWORD
    pull: rtmp://127.0.0.1:1935
  - name: edge
    api: https://srs2.example:1985
    pull: rtmp://10.0.0.2:1935
owt:
  url: http://127.0.0.1:3000
  service_id: 5f0000000000000000000001
  service_key_file: owt.key
  ca_file: ca.pem
  timeout: 5s
  streaming_in_timeout: 2m
  rate_limit: 250
  pending_hold: 3m
  insecure_skip_verify: true
hooks:
  listen: 127.0.0.1:8086
  token_env: HOOK_TOKEN
  allow: [127.0.0.0/8, "10.0.0.5/32"]
  hint_ttl: 4s
agent:
  id: proxy-1
  state_file: state/agent.json
  metrics_listen: 127.0.0.1:9200
  policy_reload_check: 45s
ha:
  mode: etcd
  kubernetes: {namespace: media, lease: proxy, configmap: proxy-state, lease_duration: 20s, renew_deadline: 12s, retry_period: 3s, kubeconfig: kube.conf}
  etcd: {endpoints: [https://etcd-0:2379, "https://etcd-1:2379"], prefix: /media/proxy, session_ttl: 6s, ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}
  peer_listen: 0.0.0.0:9086
  advertise: http://10.0.0.7:9086/
  peer_token_env: PEER_TOKEN
policy: ./policy.yaml
`

func TestLoadAgentFull(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "owt.key", "  the-service-key\n")
	path := writeFile(t, dir, "agent.yaml", fullAgent)
	env := map[string]string{"SRS_API_PASSWORD": "pw1", "HOOK_TOKEN": "hooktok", "PEER_TOKEN": "peertok"}
	a, err := LoadAgent(path, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := &Agent{
		SRS: []SRSServer{
			{Name: "origin", API: "http://127.0.0.1:1985", Username: "admin", Password: "pw1", Pull: "rtmp://127.0.0.1:1935"},
			{Name: "edge", API: "https://srs2.example:1985", Pull: "rtmp://10.0.0.2:1935"},
		},
		OWT: OWT{URL: "http://127.0.0.1:3000", ServiceID: "5f0000000000000000000001", ServiceKey: "the-service-key",
			CAFile: filepath.Join(dir, "ca.pem"), InsecureSkipVerify: true, Timeout: 5 * time.Second, StreamingInTimeout: 2 * time.Minute, RateLimit: 250, PendingHold: 3 * time.Minute},
		Hooks: Hooks{Listen: "127.0.0.1:8086", Token: "hooktok", Allow: []string{"127.0.0.0/8", "10.0.0.5/32"}, HintTTL: 4 * time.Second},
		Agent: AgentSection{ID: "proxy-1", StateFile: filepath.Join(dir, "state/agent.json"), MetricsListen: "127.0.0.1:9200", PolicyReloadCheck: 45 * time.Second},
		HA: HA{Mode: "etcd", PeerListen: "0.0.0.0:9086", Advertise: "http://10.0.0.7:9086", PeerToken: "peertok",
			Kubernetes: HAKubernetes{Namespace: "media", Lease: "proxy", ConfigMap: "proxy-state", LeaseDuration: 20 * time.Second,
				RenewDeadline: 12 * time.Second, RetryPeriod: 3 * time.Second, Kubeconfig: filepath.Join(dir, "kube.conf")},
			Etcd: HAEtcd{Endpoints: []string{"https://etcd-0:2379", "https://etcd-1:2379"}, Prefix: "/media/proxy/", SessionTTL: 6 * time.Second,
				CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}},
		Policy: filepath.Join(dir, "policy.yaml"),
		File:   path,
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
}

func TestLoadAgentDefaultsAndInlinePolicy(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", `srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "https://owt:3004", service_id: 5f00000000000000000000aa, service_key_env: OWT_SERVICE_KEY}
policy:
  routes:
    - match: {app: live}
      room: "{{.Stream}}"
`)
	a, err := LoadAgent(path, envOf(map[string]string{"OWT_SERVICE_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Hooks.Listen != DefaultHooksListen || a.Agent.ID != DefaultAgentID || a.Agent.MetricsListen != DefaultMetricsListen ||
		a.Agent.StateFile != filepath.Join(dir, "srs-owt-proxy.state.json") || a.OWT.Timeout != 10*time.Second ||
		a.OWT.StreamingInTimeout != 100*time.Second || a.OWT.ServiceKey != "k" || a.Hooks.HintTTL != DefaultHintTTL {
		t.Errorf("defaults not applied: %+v", a)
	}
	if a.Policy != "" || a.InlinePolicy == nil || len(a.InlinePolicy.Routes) != 1 || a.InlinePolicy.File != path {
		t.Fatalf("inline policy: path %q policy %+v", a.Policy, a.InlinePolicy)
	}
	got, err := a.InlinePolicy.Resolve(Input{PullBase: a.SRS[0].Pull, Vhost: "v", App: "live", Stream: "s1"})
	if err != nil || got.Room != "s1" || got.PullURL != "rtmp://127.0.0.1/live/s1?vhost=v" {
		t.Errorf("inline resolve: %+v %v", got, err)
	}
}

func TestLoadAgentEnvOverrides(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.yaml", `srs: [{name: o, api: "http://127.0.0.1:1985", pull: "rtmp://127.0.0.1"}]
owt: {url: "not a url", service_key_env: UNSET_KEY}
policy: {routes: []}
`)
	env := map[string]string{
		EnvOWTURL: "http://owt.example:3000", EnvOWTServiceID: "5f00000000000000000000ee", EnvOWTServiceKey: "key-env",
		EnvHooksListen: "0.0.0.0:9000", EnvHooksToken: "tok-env", EnvMetricsListen: ":9300",
		EnvAgentID: "from-env", EnvStateFile: "/var/lib/x/state.json", EnvPolicy: "/etc/p.yaml",
	}
	a, err := LoadAgent(path, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{a.OWT.URL, a.OWT.ServiceID, a.OWT.ServiceKey, a.Hooks.Listen, a.Hooks.Token, a.Agent.MetricsListen, a.Agent.ID, a.Agent.StateFile, a.Policy}
	want := []string{"http://owt.example:3000", "5f00000000000000000000ee", "key-env", "0.0.0.0:9000", "tok-env", ":9300", "from-env", "/var/lib/x/state.json", "/etc/p.yaml"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if a.InlinePolicy != nil {
		t.Errorf("SRS_OWT_POLICY should replace the inline policy")
	}
}

func TestLoadAgentErrors(t *testing.T) {
	base := "srs: [{name: o, api: \"http://127.0.0.1:1985\", pull: \"rtmp://127.0.0.1\"}]\n"
	owt := "owt: {url: \"http://127.0.0.1:3000\", service_id: 5f00000000000000000000aa, service_key_env: K}\n"
	env := map[string]string{"K": "key"}
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unknown top key", base + owt + "extra: 1\n", env, []string{`a.yaml:3: extra: unknown key "extra"`}},
		{"unknown owt key", base + "owt: {url: \"http://h\", service_id: 5f00000000000000000000aa, service_key_env: K, key: x}\n", env,
			[]string{`a.yaml:2: owt.key: unknown key "key"`}},
		{"missing srs fields", "srs:\n  - username: x\n" + owt, env,
			[]string{`a.yaml:2: srs[0].name: missing`, `a.yaml:2: srs[0].api: missing`, `a.yaml:2: srs[0].pull: missing`}},
		{"no srs", owt, env, []string{`a.yaml:1: srs: missing`}},
		{"bad srs api url", "srs: [{name: o, api: \"ftp://x\", pull: \"rtmp://h\"}]\n" + owt, env,
			[]string{`a.yaml:1: srs[0].api: not a valid URL: the scheme must be http or https://`}},
		{"bad pull url", "srs: [{name: o, api: \"http://x\", pull: \"http://h\"}]\n" + owt, env,
			[]string{`a.yaml:1: srs[0].pull: not a valid URL: the scheme must be rtmp or rtsp://`}},
		{"duplicate srs name", "srs:\n  - {name: o, api: \"http://x\", pull: \"rtmp://h\"}\n  - {name: o, api: \"http://y\", pull: \"rtmp://h\"}\n" + owt, env,
			[]string{`a.yaml:3: srs[1].name: duplicate SRS server name "o"`}},
		{"missing owt", base, env, []string{`a.yaml: owt.url: missing`, `a.yaml: owt.service_id: missing`, `a.yaml: owt.service_key_env: missing`}},
		{"missing owt url and key", base + "owt: {service_id: 5f00000000000000000000aa}\n", env,
			[]string{`a.yaml:2: owt.service_key_env: missing`, `a.yaml:2: owt.url: missing`}},
		{"bad owt url", base + "owt: {url: \"http://\", service_id: 5f00000000000000000000aa, service_key_env: K}\n", env,
			[]string{`a.yaml:2: owt.url: not a valid URL: no host`}},
		{"service key env unset", base + owt, nil, []string{`a.yaml:2: owt.service_key_env: environment variable K is empty or unset`}},
		{"both key sources", base + "owt: {url: \"http://h\", service_id: 5f00000000000000000000aa, service_key_env: K, service_key_file: f}\n", env,
			[]string{`a.yaml:2: owt.service_key_file: set only one of service_key_env and service_key_file`}},
		{"missing key file", base + "owt: {url: \"http://h\", service_id: 5f00000000000000000000aa, service_key_file: nope.key}\n", env,
			[]string{`a.yaml:2: owt.service_key_file: cannot read the secret file`}},
		{"bad duration", base + owt + "hooks: {listen: \"127.0.0.1:1\"}\nagent: {id: x}\n" + "x: 1\n", env,
			[]string{`a.yaml:5: x: unknown key`}},
		{"bad owt timeout", base + "owt: {url: \"http://h\", service_id: 5f00000000000000000000aa, service_key_env: K, timeout: soon}\n", env,
			[]string{`a.yaml:2: owt.timeout: invalid duration "soon"`}},
		{"wrong type", base + owt + "owt2: 1\nhooks: {allow: 127.0.0.1/8}\n", env,
			[]string{`a.yaml:3: owt2: unknown key`, `a.yaml:4: hooks.allow: must be a list, got a string`}},
		{"bad cidr", base + owt + "hooks:\n  allow: [127.0.0.0/8, 10.0.0.300/32, 10.0.0.1]\n", env,
			[]string{`a.yaml:4: hooks.allow[1]: bad CIDR "10.0.0.300/32"`, `a.yaml:4: hooks.allow[2]: bad CIDR "10.0.0.1"`}},
		{"hint ttl too short", base + owt + "hooks: {hint_ttl: 10ms}\n", env,
			[]string{`a.yaml:3: hooks.hint_ttl:`}},
		{"bad listen", base + owt + "hooks: {listen: localhost}\n", env,
			[]string{`a.yaml:3: hooks.listen: not a host:port listen address`}},
		{"bad listen from env", base + owt, map[string]string{"K": "key", EnvMetricsListen: "nope"},
			[]string{`a.yaml:2: agent.metrics_listen (from SRS_OWT_METRICS_LISTEN): not a host:port listen address`}},
		{"bad agent id", base + owt + "agent: {id: \"has space\"}\n", env,
			[]string{`a.yaml:3: agent.id: "has space" is not valid`}},
		{"hook token env unset", base + owt + "hooks: {token_env: HOOK_TOKEN}\n", env,
			[]string{`a.yaml:3: hooks.token_env: environment variable HOOK_TOKEN is empty or unset`}},
		{"inline policy errors", base + owt + "policy:\n  routes:\n    - match: {}\n      room: \"{{.Foo}}\"\n", env,
			[]string{`a.yaml:6: policy.routes[0].room: template: unknown field .Foo`}},
		{"password without username", "srs: [{name: o, api: \"http://x\", pull: \"rtmp://h\", password_env: K}]\n" + owt, env,
			[]string{`a.yaml:1: srs[0].username: missing: a password needs a username`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "a.yaml", tc.yaml)
			_, err := LoadAgent(path, envOf(tc.env))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want Errors, got %v", err)
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, w := range tc.want {
				w = strings.Replace(w, "a.yaml", path, 1)
				if got := errs[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got, w)
				}
			}
		})
	}
}

// TestLoadAgentNeverLeaksSecrets makes loading fail in many ways while the
// secrets are set and checks that no error text carries a secret value.
func TestLoadAgentNeverLeaksSecrets(t *testing.T) {
	secrets := map[string]string{
		"SRS_API_PASSWORD": "srs-pass-XYZZY", "OWT_SERVICE_KEY": "owt-key-PLUGH",
		"HOOK_TOKEN": "hook-tok-FROTZ", "WALL_TOKEN": "wall-tok-GNUSTO",
	}
	dir := t.TempDir()
	writeFile(t, dir, "key.txt", "file-key-REZROV\n")
	bad := []string{
		// everything set but broken around the secrets
		`srs: [{name: o, api: "gopher://x", username: u, password_env: SRS_API_PASSWORD, pull: "rtmp://h"}]
owt: {url: "http://h", service_id: 5f00000000000000000000aa, service_key_env: OWT_SERVICE_KEY, service_key_file: key.txt}
hooks: {token_env: HOOK_TOKEN, allow: [nope]}
policy:
  routes:
    - match: {app: wall}
      room: "{{.Bad}}"
      token_env: WALL_TOKEN
      action: deny
`,
		`srs: [{name: o, api: "http://x", username: u, password_file: key.txt, password_env: SRS_API_PASSWORD, pull: "rtmp://h"}]
owt: {url: "http://h", service_key_file: key.txt}
agent: {id: "bad id"}
`,
	}
	envs := []map[string]string{secrets, {EnvOWTServiceKey: "env-key-AIMFIZ", EnvHooksToken: "env-tok-BLORB", EnvOWTURL: "::bad-url-with-KREBF"}}
	for i, src := range bad {
		for j, extra := range envs {
			env := map[string]string{}
			for k, v := range secrets {
				env[k] = v
			}
			for k, v := range extra {
				env[k] = v
			}
			path := writeFile(t, dir, "agent.yaml", src)
			_, err := LoadAgent(path, envOf(env))
			if err == nil {
				t.Fatalf("case %d/%d: no error", i, j)
			}
			for _, s := range []string{"XYZZY", "PLUGH", "FROTZ", "GNUSTO", "REZROV", "AIMFIZ", "BLORB", "KREBF"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("case %d/%d: error leaks a secret (%s):\n%v", i, j, s, err)
				}
			}
		}
	}
}
