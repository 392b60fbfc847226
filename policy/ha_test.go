package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadAgentHAErrors(t *testing.T) {
	base := "srs: [{name: o, api: \"http://127.0.0.1:1985\", pull: \"rtmp://127.0.0.1\"}]\n" +
		"owt: {url: \"http://127.0.0.1:3000\", service_id: 5f00000000000000000000aa, service_key_env: K}\n"
	env := map[string]string{"K": "key", "PT": "peer"}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown mode", "ha: {mode: raft}\n", []string{`a.yaml:3: ha.mode: unknown mode "raft": use none, kubernetes or etcd`}},
		{"unknown key", "ha: {mode: none, lease: x}\n", []string{`a.yaml:3: ha.lease: unknown key "lease"`}},
		{"no peer token", "ha: {mode: kubernetes}\n", []string{`a.yaml:3: ha.peer_token_env: missing: with ha.mode kubernetes`}},
		{"peer token unset", "ha: {mode: kubernetes, peer_token_env: NOPE}\n", []string{`a.yaml:3: ha.peer_token_env: environment variable NOPE is empty or unset`}},
		{"etcd without endpoints", "ha: {mode: etcd, peer_token_env: PT}\n", []string{`a.yaml:3: ha.etcd.endpoints: missing`}},
		{"bad endpoint", "ha: {mode: etcd, peer_token_env: PT, etcd: {endpoints: [\"etcd:2379\"]}}\n",
			[]string{`a.yaml:3: ha.etcd.endpoints[0]: not a valid URL`, `a.yaml:3: ha.etcd.endpoints: missing`}},
		{"bad prefix", "ha: {etcd: {prefix: srs}}\n", []string{`a.yaml:3: ha.etcd.prefix: "srs": use a key prefix starting with '/'`}},
		{"fractional ttl", "ha: {etcd: {session_ttl: 1500ms}}\n", []string{`a.yaml:3: ha.etcd.session_ttl: 1.5s: etcd leases count whole seconds`}},
		{"ttl too short", "ha: {etcd: {session_ttl: 500ms}}\n", []string{`a.yaml:3: ha.etcd.session_ttl:`}},
		{"cert without key", "ha: {etcd: {cert_file: c.pem}}\n", []string{`a.yaml:3: ha.etcd.cert_file: give both cert_file and key_file`}},
		{"bad lease name", "ha: {kubernetes: {lease: My_Lease}}\n", []string{`a.yaml:3: ha.kubernetes.lease: "My_Lease" is not a Kubernetes object name`}},
		{"empty configmap", "ha: {kubernetes: {configmap: \"\"}}\n", []string{`a.yaml:3: ha.kubernetes.configmap: "" is not a Kubernetes object name`}},
		{"renew not under lease", "ha: {mode: kubernetes, peer_token_env: PT, kubernetes: {lease_duration: 10s, renew_deadline: 10s}}\n",
			[]string{`a.yaml:3: ha.kubernetes.renew_deadline: 10s must be shorter than lease_duration (10s)`}},
		{"retry not under renew", "ha: {mode: kubernetes, peer_token_env: PT, kubernetes: {renew_deadline: 2s, retry_period: 3s}}\n",
			[]string{`a.yaml:3: ha.kubernetes.retry_period: 3s must be shorter than renew_deadline (2s) / 1.2`}},
		{"retry not under renew / 1.2", "ha: {mode: kubernetes, peer_token_env: PT, kubernetes: {renew_deadline: 10s, retry_period: 9s}}\n",
			[]string{`a.yaml:3: ha.kubernetes.retry_period: 9s must be shorter than renew_deadline (10s) / 1.2`}},
		{"fractional lease", "ha: {kubernetes: {lease_duration: 2500ms}}\n", []string{`a.yaml:3: ha.kubernetes.lease_duration: 2.5s: a Lease counts whole seconds`}},
		{"bad peer listen", "ha: {peer_listen: nowhere}\n", []string{`a.yaml:3: ha.peer_listen: not a host:port listen address`}},
		{"bad advertise", "ha: {advertise: \"10.0.0.1:8086\"}\n", []string{`a.yaml:3: ha.advertise: not a valid URL`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "a.yaml", base+tc.yaml)
			_, err := LoadAgent(path, envOf(env))
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
			if strings.Contains(err.Error(), "peer\n") || strings.Contains(err.Error(), `"peer"`) {
				t.Errorf("the peer token leaked into %v", err)
			}
		})
	}
}

func TestHADefaultsAndPeerURL(t *testing.T) {
	base := "srs: [{name: o, api: \"http://127.0.0.1:1985\", pull: \"rtmp://127.0.0.1\"}]\n" +
		"owt: {url: \"http://127.0.0.1:3000\", service_id: 5f00000000000000000000aa, service_key_env: K}\n"
	a, err := LoadAgent(writeFile(t, t.TempDir(), "a.yaml", base+"ha: {mode: kubernetes, peer_token_file: t}\n"),
		envOf(map[string]string{"K": "key"}))
	if err == nil || !strings.Contains(err.Error(), "ha.peer_token_file: cannot read the secret file") {
		t.Fatalf("missing token file: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "t", "tok\n")
	a, err = LoadAgent(writeFile(t, dir, "a.yaml", base+"ha: {mode: kubernetes, peer_token_file: t}\n"), envOf(map[string]string{"K": "key"}))
	if err != nil {
		t.Fatal(err)
	}
	h := a.HA
	if !h.Enabled() || h.PeerToken != "tok" || h.PeerListen != DefaultHAPeerListen || h.Kubernetes.Lease != DefaultHALease ||
		h.Kubernetes.ConfigMap != DefaultHAConfigMap || h.Kubernetes.LeaseDuration != 15*time.Second ||
		h.Kubernetes.RenewDeadline != 10*time.Second || h.Kubernetes.RetryPeriod != 2*time.Second ||
		h.Etcd.Prefix != DefaultHAEtcdPrefix || h.Etcd.SessionTTL != 10*time.Second {
		t.Fatalf("defaults: %+v", h)
	}
	if (HA{}).Enabled() || (HA{Mode: HAModeNone}).Enabled() || !(HA{Mode: HAModeEtcd}).Enabled() {
		t.Fatal("Enabled")
	}
	for _, c := range []struct {
		ha              HA
		podIP, hostname string
		want            string
	}{
		{HA{Advertise: "https://proxy-0.example:8086"}, "10.0.0.1", "h", "https://proxy-0.example:8086"},
		{HA{PeerListen: "0.0.0.0:8086"}, "10.0.0.1", "h", "http://10.0.0.1:9999"},
		{HA{PeerListen: "0.0.0.0:8086"}, " fd00::1 ", "h", "http://[fd00::1]:9999"},
		{HA{PeerListen: "192.168.1.5:8086"}, "", "h", "http://192.168.1.5:9999"},
		{HA{PeerListen: "[::]:8086"}, "", "host-a", "http://host-a:9999"},
		{HA{PeerListen: ":8086"}, "", "host-a", "http://host-a:9999"},
		{HA{PeerListen: "0.0.0.0:8086"}, "", "", "http://127.0.0.1:9999"},
		{HA{PeerListen: "proxy.local:8086"}, "", "h", "http://proxy.local:9999"},
	} {
		if got := c.ha.PeerURL(c.podIP, c.hostname, 9999); got != c.want {
			t.Errorf("PeerURL(%+v, %q, %q) = %q, want %q", c.ha, c.podIP, c.hostname, got, c.want)
		}
	}
}
