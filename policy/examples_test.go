package policy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// exampleEnv holds the secrets the examples name.
var exampleEnv = map[string]string{
	"SRS_API_PASSWORD": "example-srs-password",
	"OWT_SERVICE_KEY":  "example-owt-key",
	"HOOK_TOKEN":       "example-hook-token",
	"WALL_TOKEN":       "example-wall-token",
}

const examplesDir = "../examples"

func TestExamplePolicies(t *testing.T) {
	tests := []struct {
		file    string
		summary string
	}{
		{"policy.yaml", "4 routes (2 route, 1 deny, 1 ignore), interval 30s, grace 10s"},
		{"policies/one-room-per-stream.yaml", "2 routes (1 route, 0 deny, 1 ignore), interval 30s, grace 10s"},
		{"policies/all-streams-of-app-in-one-room.yaml", "2 routes (1 route, 0 deny, 1 ignore), interval 15s, grace 20s"},
		{"policies/existing-room-with-token.yaml", "3 routes (2 route, 0 deny, 1 ignore), interval 30s, grace 10s"},
		{"policies/deny-rules.yaml", "5 routes (1 route, 3 deny, 1 ignore), interval 30s, grace 10s"},
	}
	covered := map[string]bool{"agent.yaml": true}
	for _, tc := range tests {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			p, err := LoadPolicy(filepath.Join(examplesDir, tc.file), envOf(exampleEnv))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Summary(); got != tc.summary {
				t.Errorf("Summary = %q, want %q", got, tc.summary)
			}
		})
	}
	// Every example file is loaded by a test.
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	more, _ := filepath.Glob(filepath.Join(examplesDir, "policies", "*.yaml"))
	files = append(files, more...)
	if len(files) < 6 {
		t.Fatalf("found only %d example files", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(examplesDir, f)
		if !covered[filepath.ToSlash(rel)] {
			t.Errorf("example %s is not covered by this test; add it to the table", rel)
		}
	}
}

func TestExamplePolicyRouting(t *testing.T) {
	tests := []struct {
		file string
		in   Input
		want Target
	}{
		{"policies/one-room-per-stream.yaml", in("Video.Test.com", "live", "cam1", ""),
			Target{Action: ActionRoute, Route: 0, Room: "video.test.com-cam1", Create: true}},
		{"policies/all-streams-of-app-in-one-room.yaml", in("v", "class", "cam2", ""),
			Target{Action: ActionRoute, Route: 0, Room: "class-v", Create: true}},
		{"policies/existing-room-with-token.yaml", in("v", "other", "s", "?layout=wall&token=example-wall-token"),
			Target{Action: ActionRoute, Route: 1, Room: "video-wall", Create: false, Token: "example-wall-token"}},
		{"policies/deny-rules.yaml", in("__defaultVhost__", "live", "test-1", ""),
			Target{Action: ActionDeny, Route: 1}},
		{"policies/deny-rules.yaml", in("other", "live", "test-1", ""),
			Target{Action: ActionRoute, Route: 3, Room: "live-test-1", Create: true}},
		{"policies/deny-rules.yaml", in("other", "vod", "x", ""),
			Target{Action: ActionDeny, Route: 4}},
	}
	for _, tc := range tests {
		p, err := LoadPolicy(filepath.Join(examplesDir, tc.file), envOf(exampleEnv))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Resolve(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Action != tc.want.Action || got.Route != tc.want.Route || got.Room != tc.want.Room ||
			got.Create != tc.want.Create || got.Token != tc.want.Token {
			t.Errorf("%s %s/%s: got %s route %d room %q create %v, want %+v", tc.file, tc.in.App, tc.in.Stream,
				got.Action, got.Route, got.Room, got.Create, tc.want)
		}
		if got.Token != "" && !got.CheckToken(tc.in.Param) {
			t.Errorf("%s: the publisher's token is refused", tc.file)
		}
	}
}

func TestExampleAgent(t *testing.T) {
	path := filepath.Join(examplesDir, "agent.yaml")
	a, err := LoadAgent(path, envOf(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SRS) != 1 || a.SRS[0].Password != "" || a.OWT.ServiceKey != "example-owt-key" ||
		a.Hooks.Token != "example-hook-token" || a.Hooks.Listen != "127.0.0.1:8085" || a.Agent.MetricsListen != "127.0.0.1:9108" {
		t.Errorf("agent.yaml loaded as %+v", a)
	}
	if want := filepath.Join(examplesDir, "policy.yaml"); a.Policy != want {
		t.Errorf("policy path %q, want %q", a.Policy, want)
	}
	if _, err := LoadPolicy(a.Policy, envOf(exampleEnv)); err != nil {
		t.Error(err)
	}
	// Without its secrets the example fails and names every missing one.
	_, err = LoadAgent(path, envOf(nil))
	if err == nil {
		t.Fatal("loaded without secrets")
	}
	for _, name := range []string{"OWT_SERVICE_KEY", "HOOK_TOKEN"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	// SRS API auth, as its comment says: username and password_env, and
	// then the variable must be set.
	env := map[string]string{"SRS_OWT_SRS_0_USERNAME": "admin", "SRS_OWT_SRS_0_PASSWORD_ENV": "SRS_API_PASSWORD"}
	for k, v := range exampleEnv {
		env[k] = v
	}
	if a, err := LoadAgent(path, envOf(env)); err != nil || a.SRS[0].Username != "admin" || a.SRS[0].Password != "example-srs-password" {
		t.Errorf("with SRS auth: %+v %v", a, err)
	}
	delete(env, "SRS_API_PASSWORD")
	if _, err := LoadAgent(path, envOf(env)); err == nil || !strings.Contains(err.Error(), "environment variable SRS_API_PASSWORD is empty or unset") {
		t.Errorf("password_env naming an unset variable: %v", err)
	}
}

func TestKubernetesConfigMap(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Kind string            `yaml:"kind"`
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if cm.Kind != "ConfigMap" || strings.Join(keys, ",") != "agent.yaml,policy.yaml" {
		t.Fatalf("configmap kind %q keys %v", cm.Kind, keys)
	}
	dir := t.TempDir()
	for k, v := range cm.Data {
		writeFile(t, dir, k, v)
	}
	a, err := LoadAgent(filepath.Join(dir, "agent.yaml"), envOf(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	if a.Hooks.Listen != "0.0.0.0:8085" || a.Agent.MetricsListen != "0.0.0.0:9108" || a.Policy != filepath.Join(dir, "policy.yaml") {
		t.Errorf("agent from configmap: %+v", a)
	}
	p, err := LoadPolicy(a.Policy, envOf(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Routes) != 3 {
		t.Errorf("configmap policy has %d routes, want 3", len(p.Routes))
	}
}

func TestKubernetesManifests(t *testing.T) {
	tests := []struct {
		file, kind string
		contains   []string
	}{
		{"deployment.yaml", "Deployment", []string{"path: /healthz, port: metrics", "path: /readyz, port: metrics", "key: OWT_SERVICE_KEY", "containerPort: 9108"}},
		{"service.yaml", "Service", []string{"port: 8085"}},
		{"configmap.yaml", "ConfigMap", nil},
		{"secret.example.yaml", "Secret", []string{"OWT_SERVICE_KEY"}},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Kind string `yaml:"kind"`
		}
		if err := yaml.Unmarshal(data, &m); err != nil || m.Kind != tc.kind {
			t.Errorf("%s: kind %q err %v, want %s", tc.file, m.Kind, err, tc.kind)
		}
		for _, s := range tc.contains {
			if !strings.Contains(string(data), s) {
				t.Errorf("%s does not contain %q", tc.file, s)
			}
		}
	}
}

func TestExampleSRSConfAndSystemd(t *testing.T) {
	tests := []struct {
		file     string
		contains []string
	}{
		{"srs.conf", []string{
			"on_publish      http://127.0.0.1:8085/api/v1/streams?token=CHANGE_ME;",
			"on_unpublish    http://127.0.0.1:8085/api/v1/streams?token=CHANGE_ME;",
		}},
		{"systemd/srs-owt-proxy.service", []string{
			"DynamicUser=yes", "StateDirectory=srs-owt-proxy", "EnvironmentFile=", "Restart=on-failure",
			"ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
		}},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join(examplesDir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tc.contains {
			if !strings.Contains(string(data), s) {
				t.Errorf("%s does not contain %q", tc.file, s)
			}
		}
	}
}
