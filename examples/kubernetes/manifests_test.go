// Package kubernetes checks the manifests of this directory as the API
// server would read them: every YAML document of every file (ha/
// included) is decoded strictly into its k8s.io/api type, an unknown field
// or kind is an error, and the layouts are checked to work together:
// probes, RBAC, selectors, spreading, and the agent.yaml and policy of
// their ConfigMaps loaded by the agent's own loaders.
package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/fake"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	yaml3 "gopkg.in/yaml.v3"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha/kube"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// ServiceMonitor is the part of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that servicemonitor.yaml uses,
// field for field as in the operator's API (which is not a k8s.io module:
// its Go types would bring the operator in for one object). A field the
// operator knows but this mirror does not is an error here too: add it.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel  string               `json:"jobLabel,omitempty"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port,omitempty"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds maps apiVersion/kind to a new object of its type.
var kinds = map[string]func() any{
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &ServiceMonitor{} },
}

// doc is one decoded YAML document.
type doc struct {
	where string // file:index
	obj   any
}

// decode reads every document of a manifest file strictly: YAML with a
// duplicate key, a field its type does not have (names are matched
// case-sensitively, as the API server does), or an unknown
// apiVersion/kind is an error.
func decode(name string, data []byte) ([]doc, error) {
	var out []doc
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		where := fmt.Sprintf("%s (document %d)", name, i+1)
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if string(js) == "null" {
			continue // a document of comments only
		}
		var tm metav1.TypeMeta
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		key := tm.APIVersion + "/" + tm.Kind
		mk, ok := kinds[key]
		if !ok {
			return nil, fmt.Errorf("%s: unknown kind %q: add its type to this test", where, key)
		}
		obj := mk()
		strict, err := kjson.UnmarshalStrict(js, obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, key, err)
		}
		if len(strict) > 0 {
			return nil, fmt.Errorf("%s: %s: %w", where, key, errors.Join(strict...))
		}
		out = append(out, doc{where: where, obj: obj})
	}
}

// layout is the objects of one directory: a deployable layout.
type layout struct {
	dir  string
	docs []doc
}

func of[T any](l layout) []T {
	var out []T
	for _, d := range l.docs {
		if o, ok := d.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// layouts decodes every .yaml/.yml file under this directory, by directory.
func layouts(t *testing.T) map[string]layout {
	t.Helper()
	out := map[string]layout{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs, err := decode(path, data)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return fmt.Errorf("%s holds no object", path)
		}
		dir := filepath.Dir(path)
		l := out[dir]
		l.dir = dir
		l.docs = append(l.docs, docs...)
		out[dir] = l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", "ha"} {
		if len(out[dir].docs) == 0 {
			t.Fatalf("layout %s: no manifests", dir)
		}
	}
	return out
}

func TestDecodeIsStrict(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown_field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n", `unknown field "spec.selectr"`},
		{"case", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {Selector: {a: b}}\n", `unknown field "spec.Selector"`},
		{"unknown_kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", `unknown kind "v1/Pod"`},
		{"unknown_group", "apiVersion: example.com/v1\nkind: Service\n", `unknown kind "example.com/v1/Service"`},
		{"duplicate_key", "apiVersion: v1\nkind: Service\nmetadata: {name: x, name: y}\n", `key "name" already set`},
		{"second_document", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: y}\nsecrets: 3\n", "document 2"},
		{"service_monitor", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: m, honorLabels: true}]}\n", `unknown field "spec.endpoints[0].honorLabels"`},
		{"deployment_deep", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          readinessProbe: {httpGet: {path: /readyz, prot: metrics}}\n", `unknown field "spec.template.spec.containers[0].readinessProbe.httpGet.prot"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode("test.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode: %v; want an error saying %q", err, tc.want)
			}
		})
	}
	docs, err := decode("ok.yaml", []byte("# comment only\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n"))
	if err != nil || len(docs) != 1 || docs[0].obj.(*corev1.ServiceAccount).Name != "x" {
		t.Errorf("decode of a valid file: %v %v", docs, err)
	}
}

// deployment is the one Deployment of l.
func deployment(t *testing.T, l layout) *appsv1.Deployment {
	t.Helper()
	ds := of[*appsv1.Deployment](l)
	if len(ds) != 1 {
		t.Fatalf("layout %s: %d Deployments, want 1", l.dir, len(ds))
	}
	return ds[0]
}

func matches(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false // an empty selector selects everything: never what these manifests mean
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(set))
}

func TestLayouts(t *testing.T) {
	all := layouts(t)
	for dir, l := range all {
		t.Run(strings.ReplaceAll(dir, ".", "single"), func(t *testing.T) {
			d := deployment(t, l)
			pod := d.Spec.Template.Labels
			if !matches(t, d.Spec.Selector, pod) {
				t.Errorf("Deployment %s: its selector does not match its pod labels %v", d.Name, pod)
			}
			if len(d.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("Deployment %s: %d containers", d.Name, len(d.Spec.Template.Spec.Containers))
			}
			c := d.Spec.Template.Spec.Containers[0]
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			checkProbes(t, c, ports)
			for _, s := range of[*corev1.Service](l) {
				if !matches(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, pod) {
					t.Errorf("Service %s: selector %v does not match the pods %v", s.Name, s.Spec.Selector, pod)
				}
				for _, p := range s.Spec.Ports {
					if _, ok := ports[p.TargetPort.StrVal]; !ok {
						t.Errorf("Service %s: targetPort %q is no named container port (%v)", s.Name, p.TargetPort.String(), ports)
					}
				}
			}
			for _, sm := range of[*ServiceMonitor](l) {
				n := 0
				for _, s := range of[*corev1.Service](l) {
					if matches(t, &sm.Spec.Selector, s.Labels) {
						n++
						for _, e := range sm.Spec.Endpoints {
							if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
								t.Errorf("ServiceMonitor %s: Service %s has no port %q", sm.Name, s.Name, e.Port)
							}
						}
					}
				}
				if n != 1 {
					t.Errorf("ServiceMonitor %s selects %d Services, want the metrics Service", sm.Name, n)
				}
			}
			for _, p := range of[*policyv1.PodDisruptionBudget](l) {
				if !matches(t, p.Spec.Selector, pod) {
					t.Errorf("PodDisruptionBudget %s: selector does not match the pods %v", p.Name, pod)
				}
			}
			h := checkConfig(t, l, d, ports)
			checkSecrets(t, l, all["."], c)
			if dir == "ha" {
				checkHA(t, l, d, c, ports, h)
			} else if ptrOr(d.Spec.Replicas, 1) != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || h != nil {
				t.Errorf("single-replica layout: replicas %d, strategy %s, ha %v: one replica, replaced by Recreate, without ha",
					ptrOr(d.Spec.Replicas, 1), d.Spec.Strategy.Type, h)
			}
		})
	}
}

// checkProbes: liveness /healthz and readiness /readyz on the metrics port.
func checkProbes(t *testing.T, c corev1.Container, ports map[string]int32) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("container %s: no HTTP %s probe", c.Name, p.name)
			continue
		}
		if g := p.probe.HTTPGet; g.Path != p.path || g.Port.StrVal != "metrics" {
			t.Errorf("container %s: %s probe GET %s on port %s; want %s on port metrics", c.Name, p.name, g.Path, g.Port.String(), p.path)
		}
	}
	if ports["metrics"] != 9108 {
		t.Errorf("container %s: metrics port %d, want 9108", c.Name, ports["metrics"])
	}
}

// exampleEnv is what the secret provides.
var exampleEnv = map[string]string{
	"OWT_SERVICE_KEY": "example-service-key",
	"HOOK_TOKEN":      "example-hook-token",
	"PEER_TOKEN":      "example-peer-token",
}

// haSection is agent.yaml's ha section (DESIGN.md section 8), decoded
// strictly by this test: policy.LoadAgent on main does not read it yet.
type haSection struct {
	Mode       string `yaml:"mode"`
	Kubernetes struct {
		Namespace     string `yaml:"namespace"`
		Lease         string `yaml:"lease"`
		ConfigMap     string `yaml:"configmap"`
		LeaseDuration string `yaml:"lease_duration"`
		RenewDeadline string `yaml:"renew_deadline"`
		RetryPeriod   string `yaml:"retry_period"`
		Kubeconfig    string `yaml:"kubeconfig"`
	} `yaml:"kubernetes"`
	PeerListen    string `yaml:"peer_listen"`
	Advertise     string `yaml:"advertise"`
	PeerTokenEnv  string `yaml:"peer_token_env"`
	PeerTokenFile string `yaml:"peer_token_file"`
}

// splitHA decodes the ha section of an agent.yaml text (strictly) and
// returns the text unchanged.
func splitHA(t *testing.T, text string) (string, *haSection) {
	t.Helper()
	var root yaml3.Node
	if err := yaml3.Unmarshal([]byte(text), &root); err != nil || len(root.Content) != 1 {
		t.Fatalf("agent.yaml: %v", err)
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "ha" {
			continue
		}
		raw, err := yaml3.Marshal(m.Content[i+1])
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml3.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		var h haSection
		if err := dec.Decode(&h); err != nil {
			t.Fatalf("agent.yaml ha: %v", err)
		}
		// The agent's own loader reads the whole file, ha included.
		return text, &h
	}
	return text, nil
}

// checkConfig loads the ConfigMap's agent.yaml and policy with the
// agent's own loaders, as the container would from its mount, and
// returns its ha section (nil without one).
func checkConfig(t *testing.T, l layout, d *appsv1.Deployment, ports map[string]int32) *haSection {
	t.Helper()
	var cm *corev1.ConfigMap
	for _, v := range d.Spec.Template.Spec.Volumes {
		for _, c := range of[*corev1.ConfigMap](l) {
			if v.ConfigMap != nil && v.ConfigMap.Name == c.Name {
				cm = c
			}
		}
	}
	if cm == nil {
		t.Fatalf("layout %s: the Deployment mounts no ConfigMap of the layout", l.dir)
	}
	dir := t.TempDir()
	var h *haSection
	for k, v := range cm.Data {
		if k == "agent.yaml" {
			v, h = splitHA(t, v)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := policy.LoadAgent(filepath.Join(dir, "agent.yaml"), func(k string) string { return exampleEnv[k] })
	if err != nil {
		t.Fatalf("ConfigMap %s agent.yaml: %v", cm.Name, err)
	}
	if _, err := policy.LoadPolicy(a.Policy, func(k string) string { return exampleEnv[k] }); err != nil {
		t.Fatalf("ConfigMap %s policy: %v", cm.Name, err)
	}
	for name, listen := range map[string]string{"hooks": a.Hooks.Listen, "metrics": a.Agent.MetricsListen} {
		if _, p, _ := net.SplitHostPort(listen); p != fmt.Sprint(ports[name]) {
			t.Errorf("agent.yaml listens for %s on %s; the container port %s is %d", name, listen, name, ports[name])
		}
	}
	args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--config /etc/srs-owt-proxy/agent.yaml") {
		t.Errorf("container args %q do not name the mounted agent.yaml", args)
	}
	return h
}

// checkSecrets: every secretKeyRef names a key of the example Secret.
func checkSecrets(t *testing.T, l, root layout, c corev1.Container) {
	t.Helper()
	keys := map[string]bool{}
	for _, s := range append(of[*corev1.Secret](l), of[*corev1.Secret](root)...) {
		for k := range s.StringData {
			keys[s.Name+"/"+k] = true
		}
	}
	for _, e := range c.Env {
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
			if k := r.SecretKeyRef.Name + "/" + r.SecretKeyRef.Key; !keys[k] {
				t.Errorf("env %s reads secret key %s, which secret.example.yaml does not have", e.Name, k)
			}
		}
	}
}

func checkHA(t *testing.T, l layout, d *appsv1.Deployment, c corev1.Container, ports map[string]int32, h *haSection) {
	t.Helper()
	pod := d.Spec.Template.Labels
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("HA Deployment: replicas %d, want 2 or more (nil: the default, 1)", ptrOr(d.Spec.Replicas, 1))
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("HA Deployment: strategy %+v; want RollingUpdate with maxUnavailable 0", d.Spec.Strategy)
	}
	spread := map[string]bool{}
	for _, s := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if !matches(t, s.LabelSelector, pod) {
			t.Errorf("topology spread on %s: selector does not match the pods", s.TopologyKey)
		}
		spread[s.TopologyKey] = true
	}
	for _, k := range []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"} {
		if !spread[k] {
			t.Errorf("HA Deployment: no topology spread over %s", k)
		}
	}
	if pdbs := of[*policyv1.PodDisruptionBudget](l); len(pdbs) != 1 || pdbs[0].Spec.MinAvailable == nil || pdbs[0].Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("HA layout: want one PodDisruptionBudget with minAvailable 1, have %d", len(pdbs))
	}

	// The agent: kubernetes mode, peer port, identity and advertise address.
	if h == nil {
		t.Fatal("the HA layout's agent.yaml has no ha section")
	}
	if h.Mode != "kubernetes" || exampleEnv[h.PeerTokenEnv] == "" {
		t.Errorf("agent.yaml ha: mode %q, peer_token_env %q; want kubernetes with a token of the Secret", h.Mode, h.PeerTokenEnv)
	}
	if _, p, _ := net.SplitHostPort(h.PeerListen); p != fmt.Sprint(ports["peer"]) {
		t.Errorf("ha.peer_listen %s; the container port peer is %d", h.PeerListen, ports["peer"])
	}
	// The backend's own checks of the names and durations.
	var dur [3]time.Duration
	for i, s := range []string{h.Kubernetes.LeaseDuration, h.Kubernetes.RenewDeadline, h.Kubernetes.RetryPeriod} {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ha.kubernetes durations: %v", err)
		}
		dur[i] = v
	}
	b, err := kube.New(kube.Config{Namespace: "media", Lease: h.Kubernetes.Lease, ConfigMap: h.Kubernetes.ConfigMap,
		LeaseDuration: dur[0], RenewDeadline: dur[1], RetryPeriod: dur[2], Client: fake.NewClientset(), Identity: "pod-0", Peer: "http://10.0.0.1:8086"})
	if err != nil {
		t.Fatalf("ha.kubernetes: %v", err)
	}
	_ = b.Close()
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for name, path := range map[string]string{"POD_NAME": "metadata.name", "POD_IP": "status.podIP"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != path {
			t.Errorf("env %s: %+v; want the downward API's %s", name, e, path)
		}
	}
	if adv := env["SRS_OWT_HA_ADVERTISE"].Value; adv != fmt.Sprintf("http://$(POD_IP):%d", ports["peer"]) {
		t.Errorf("SRS_OWT_HA_ADVERTISE = %q; want http://$(POD_IP):<peer port>", adv)
	}
	if slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_IP" }) > slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "SRS_OWT_HA_ADVERTISE" }) {
		t.Error("SRS_OWT_HA_ADVERTISE is defined before POD_IP: $(POD_IP) would not expand")
	}

	// RBAC: exactly the Lease and the state ConfigMap the agent uses.
	sa := d.Spec.Template.Spec.ServiceAccountName
	if sas := of[*corev1.ServiceAccount](l); len(sas) != 1 || sas[0].Name != sa || sa == "" {
		t.Errorf("the pods run as ServiceAccount %q; the layout defines %v", sa, sas)
	}
	roles := of[*rbacv1.Role](l)
	if len(roles) != 1 {
		t.Fatalf("HA layout: %d Roles, want 1", len(roles))
	}
	checkRole(t, roles[0], h.Kubernetes.Lease, h.Kubernetes.ConfigMap)
	bound := false
	for _, rb := range of[*rbacv1.RoleBinding](l) {
		if rb.RoleRef.Kind == "Role" && rb.RoleRef.Name == roles[0].Name && rb.RoleRef.APIGroup == rbacv1.GroupName {
			for _, s := range rb.Subjects {
				bound = bound || (s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && s.Namespace == "")
			}
		}
	}
	if !bound {
		t.Errorf("no RoleBinding gives Role %s to ServiceAccount %s (of the pods' namespace)", roles[0].Name, sa)
	}
	if h.Kubernetes.Namespace != "" {
		t.Errorf("ha.kubernetes.namespace %q: leave it out so the agent uses the namespace the Role is created in", h.Kubernetes.Namespace)
	}
}

func ptrOr(p *int32, v int32) int32 {
	if p == nil {
		return v
	}
	return *p
}

// checkRole: the Role grants get, create and update on exactly the lease
// and the state ConfigMap, get and update only by name (create cannot be
// restricted by name), and nothing else: no wildcard, no other resource.
func checkRole(t *testing.T, r *rbacv1.Role, lease, configMap string) {
	t.Helper()
	want := map[string]string{"coordination.k8s.io/leases": lease, "/configmaps": configMap}
	got := map[string][]string{}
	for i, rule := range r.Rules {
		if len(rule.APIGroups) != 1 || len(rule.Resources) != 1 || len(rule.NonResourceURLs) > 0 {
			t.Errorf("Role rule %d: %+v; want one API group and one resource per rule", i, rule)
			continue
		}
		res := rule.APIGroups[0] + "/" + rule.Resources[0]
		name, ok := want[res]
		if !ok {
			t.Errorf("Role rule %d grants %s (or a wildcard): the agent needs only leases and its state ConfigMap", i, res)
			continue
		}
		for _, v := range rule.Verbs {
			switch {
			case v == "create" && len(rule.ResourceNames) == 0:
			case (v == "get" || v == "update") && slices.Equal(rule.ResourceNames, []string{name}):
			default:
				t.Errorf("Role rule %d: verb %q on %s with resourceNames %v; want get/update on %q only, create without names", i, v, res, rule.ResourceNames, name)
				continue
			}
			got[res] = append(got[res], v)
		}
	}
	for res := range want {
		sort.Strings(got[res])
		if !slices.Equal(got[res], []string{"create", "get", "update"}) {
			t.Errorf("Role grants %v on %s; want exactly create, get, update", got[res], res)
		}
	}
}
