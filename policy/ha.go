package policy

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Modes of ha.mode.
const (
	HAModeNone       = "none"
	HAModeKubernetes = "kubernetes"
	HAModeEtcd       = "etcd"
)

// Defaults of the ha section.
const (
	DefaultHALease         = "srs-owt-proxy"
	DefaultHAConfigMap     = "srs-owt-proxy-state"
	DefaultHALeaseDuration = 15 * time.Second
	DefaultHARenewDeadline = 10 * time.Second
	DefaultHARetryPeriod   = 2 * time.Second
	DefaultHAEtcdPrefix    = "/srs-owt-proxy/"
	DefaultHASessionTTL    = 10 * time.Second
	DefaultHAPeerListen    = "0.0.0.0:8086"
)

// HA is agent.yaml's ha section: several replicas, one leader.
type HA struct {
	// Mode is none (one process, the state file), kubernetes or etcd.
	Mode       string
	Kubernetes HAKubernetes
	Etcd       HAEtcd
	// PeerListen is where followers forward hooks to this replica when it leads.
	PeerListen string
	// Advertise is the base URL followers use to reach PeerListen
	// (default http://$POD_IP:<peer port>, or the host's address).
	Advertise string
	// PeerToken authenticates forwarded hooks (from peer_token_env or
	// peer_token_file); never logged.
	PeerToken string
}

// Enabled says whether the agent runs as one of several replicas.
func (h HA) Enabled() bool { return h.Mode != "" && h.Mode != HAModeNone }

// HAKubernetes elects on a coordination.k8s.io Lease and keeps the store
// in a ConfigMap.
type HAKubernetes struct {
	// Namespace of the Lease and the ConfigMap ("" = the pod's namespace).
	Namespace     string
	Lease         string
	ConfigMap     string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Kubeconfig is a kubeconfig path for running outside a cluster ("" = in-cluster).
	Kubeconfig string
}

// HAEtcd elects with an etcd concurrency.Election and keeps the store
// under Prefix.
type HAEtcd struct {
	Endpoints  []string
	Prefix     string
	SessionTTL time.Duration
	CAFile     string
	CertFile   string
	KeyFile    string
}

func defaultHA() HA {
	return HA{Mode: HAModeNone, PeerListen: DefaultHAPeerListen,
		Kubernetes: HAKubernetes{Lease: DefaultHALease, ConfigMap: DefaultHAConfigMap, LeaseDuration: DefaultHALeaseDuration,
			RenewDeadline: DefaultHARenewDeadline, RetryPeriod: DefaultHARetryPeriod},
		Etcd: HAEtcd{Prefix: DefaultHAEtcdPrefix, SessionTTL: DefaultHASessionTTL}}
}

func (l *agentLoader) ha(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "ha", "mode", "kubernetes", "etcd", "peer_listen", "advertise", "peer_token_env", "peer_token_file")
	if !ok {
		return
	}
	if v, ok := f["mode"]; ok {
		if s, ok := w.str(v, "ha.mode"); ok {
			switch s {
			case HAModeNone, HAModeKubernetes, HAModeEtcd:
				a.HA.Mode = s
			default:
				w.addf(v, "ha.mode", "unknown mode %q: use none, kubernetes or etcd", s)
			}
		}
	}
	if v, ok := f["peer_listen"]; ok {
		if s, ok := w.str(v, "ha.peer_listen"); ok {
			if p := listenProblem(s); p != "" {
				w.addf(v, "ha.peer_listen", "%s", p)
			}
			a.HA.PeerListen = s
		}
	}
	if v, ok := f["advertise"]; ok {
		if s, ok := w.str(v, "ha.advertise"); ok {
			if p := urlProblem(s, "http", "https"); p != "" {
				w.addf(v, "ha.advertise", "%s (the base URL other replicas reach this one's peer_listen at, e.g. http://10.0.0.5:8086)", p)
			}
			a.HA.Advertise = strings.TrimRight(s, "/")
		}
	}
	a.HA.PeerToken = l.secret(f, "ha", "peer_token_env", "peer_token_file")
	if v, ok := f["kubernetes"]; ok {
		l.haKubernetes(v, a)
	}
	if v, ok := f["etcd"]; ok {
		l.haEtcd(v, a)
	}
	if !a.HA.Enabled() {
		return
	}
	_, hasEnv := f["peer_token_env"]
	_, hasFile := f["peer_token_file"]
	if !hasEnv && !hasFile {
		w.addf(n, "ha.peer_token_env", "missing: with ha.mode %s, replicas forward hooks to the leader; give peer_token_env (or peer_token_file) with a shared secret", a.HA.Mode)
	}
	switch a.HA.Mode {
	case HAModeEtcd:
		if len(a.HA.Etcd.Endpoints) == 0 {
			w.addf(n, "ha.etcd.endpoints", "missing: with ha.mode etcd, list the etcd client URLs, e.g. [https://etcd:2379]")
		}
	case HAModeKubernetes:
		k := a.HA.Kubernetes
		if k.RenewDeadline >= k.LeaseDuration {
			w.addf(n, "ha.kubernetes.renew_deadline", "%s must be shorter than lease_duration (%s)", k.RenewDeadline, k.LeaseDuration)
		}
		// client-go's leaderelection wants renew_deadline above 1.2 × retry_period.
		if 12*k.RetryPeriod >= 10*k.RenewDeadline {
			w.addf(n, "ha.kubernetes.retry_period", "%s must be shorter than renew_deadline (%s) / 1.2", k.RetryPeriod, k.RenewDeadline)
		}
	}
}

func (l *agentLoader) haKubernetes(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "ha.kubernetes", "namespace", "lease", "configmap", "lease_duration", "renew_deadline", "retry_period", "kubeconfig")
	if !ok {
		return
	}
	k := &a.HA.Kubernetes
	names := []struct {
		key string
		dst *string
	}{{"namespace", &k.Namespace}, {"lease", &k.Lease}, {"configmap", &k.ConfigMap}}
	for _, nm := range names {
		v, ok := f[nm.key]
		if !ok {
			continue
		}
		field := "ha.kubernetes." + nm.key
		s, ok := w.str(v, field)
		if !ok {
			continue
		}
		if !dnsLabelRE.MatchString(s) || (s == "" && nm.key != "namespace") {
			w.addf(v, field, "%q is not a Kubernetes object name: use lower-case letters, digits and '-' (at most 63)", s)
			continue
		}
		*nm.dst = s
	}
	durs := []struct {
		key string
		dst *time.Duration
	}{{"lease_duration", &k.LeaseDuration}, {"renew_deadline", &k.RenewDeadline}, {"retry_period", &k.RetryPeriod}}
	for _, d := range durs {
		if v, ok := f[d.key]; ok {
			if x, ok := w.duration(v, "ha.kubernetes."+d.key, 100*time.Millisecond); ok {
				if d.key == "lease_duration" && x%time.Second != 0 {
					w.addf(v, "ha.kubernetes.lease_duration", "%s: a Lease counts whole seconds", x)
					continue
				}
				*d.dst = x
			}
		}
	}
	if v, ok := f["kubeconfig"]; ok {
		if s, ok := w.str(v, "ha.kubernetes.kubeconfig"); ok {
			k.Kubeconfig = l.path(s)
		}
	}
}

func (l *agentLoader) haEtcd(n *yaml.Node, a *Agent) {
	w := l.w
	f, ok := w.mapping(n, "ha.etcd", "endpoints", "prefix", "session_ttl", "ca_file", "cert_file", "key_file")
	if !ok {
		return
	}
	e := &a.HA.Etcd
	if v, ok := f["endpoints"]; ok {
		items, _ := w.list(v, "ha.etcd.endpoints")
		for i, it := range items {
			field := index("ha.etcd.endpoints", i)
			s, ok := w.str(it, field)
			if !ok {
				continue
			}
			if p := urlProblem(s, "http", "https"); p != "" {
				w.addf(it, field, "%s (an etcd client URL, e.g. https://etcd-0:2379)", p)
				continue
			}
			e.Endpoints = append(e.Endpoints, s)
		}
	}
	if v, ok := f["prefix"]; ok {
		if s, ok := w.str(v, "ha.etcd.prefix"); ok {
			if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\n") {
				w.addf(v, "ha.etcd.prefix", "%q: use a key prefix starting with '/', e.g. /srs-owt-proxy/", s)
			} else {
				if !strings.HasSuffix(s, "/") {
					s += "/"
				}
				e.Prefix = s
			}
		}
	}
	if v, ok := f["session_ttl"]; ok {
		if d, ok := w.duration(v, "ha.etcd.session_ttl", time.Second); ok {
			if d%time.Second != 0 {
				w.addf(v, "ha.etcd.session_ttl", "%s: etcd leases count whole seconds", d)
			} else {
				e.SessionTTL = d
			}
		}
	}
	files := []struct {
		key string
		dst *string
	}{{"ca_file", &e.CAFile}, {"cert_file", &e.CertFile}, {"key_file", &e.KeyFile}}
	for _, fl := range files {
		if v, ok := f[fl.key]; ok {
			if s, ok := w.str(v, "ha.etcd."+fl.key); ok {
				*fl.dst = l.path(s)
			}
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		w.addf(n, "ha.etcd.cert_file", "give both cert_file and key_file for a client certificate, or neither")
	}
}

// PeerURL is the base URL of this replica's peer endpoint as other
// replicas reach it: ha.advertise; else http://<podIP>:<port> when the
// pod's address is known (POD_IP); else the host peer_listen names; else
// the host name.
func (h HA) PeerURL(podIP, hostname string, port int) string {
	if h.Advertise != "" {
		return h.Advertise
	}
	host := strings.TrimSpace(podIP)
	if host == "" {
		if hst, _, err := net.SplitHostPort(h.PeerListen); err == nil {
			if ip := net.ParseIP(hst); hst != "" && (ip == nil || !ip.IsUnspecified()) {
				host = hst
			}
		}
	}
	if host == "" {
		host = hostname
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(port))}).String()
}

// dnsLabelRE is a Kubernetes object name (RFC 1123 label).
var dnsLabelRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$`)
