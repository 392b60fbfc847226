package kube

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Reader is the ownership store read without an election, for `diff`: it
// reads the ConfigMap and never writes (RBAC: get on the ConfigMap).
type Reader struct {
	client    kubernetes.Interface
	namespace string
	name      string
	timeout   time.Duration
}

// OpenReader builds a reader of cfg's ConfigMap (cfg.Client, else the
// in-cluster config or cfg.Kubeconfig).
func OpenReader(cfg Config) (*Reader, error) {
	if cfg.ConfigMap == "" {
		cfg.ConfigMap = DefaultConfigMap
	}
	if cfg.Namespace == "" {
		ns, err := os.ReadFile(namespaceFile)
		if err != nil || strings.TrimSpace(string(ns)) == "" {
			return nil, fmt.Errorf("ha.kubernetes.namespace is empty and the agent does not run in a pod (no %s): set the namespace of the ConfigMap", namespaceFile)
		}
		cfg.Namespace = strings.TrimSpace(string(ns))
	}
	r := &Reader{client: cfg.Client, namespace: cfg.Namespace, name: cfg.ConfigMap, timeout: 10 * time.Second}
	if r.client == nil {
		rc, err := restConfig(cfg.Kubeconfig)
		if err != nil {
			return nil, err
		}
		rc.UserAgent = "srs-owt-proxy"
		rc.Timeout = r.timeout
		if r.client, err = kubernetes.NewForConfig(rc); err != nil {
			return nil, fmt.Errorf("ha kubernetes: build the API client: %w", err)
		}
	}
	return r, nil
}

// String names the ConfigMap.
func (r *Reader) String() string {
	return fmt.Sprintf("ConfigMap %s/%s (read-only)", r.namespace, r.name)
}

// Load reads the document (nothing when the ConfigMap or its key is absent).
func (r *Reader) Load(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cm, err := r.client.CoreV1().ConfigMaps(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ownership store: read ConfigMap %s/%s: %w (the agent's ServiceAccount needs get on it)", r.namespace, r.name, err)
	}
	return docOf(cm), nil
}

// Save refuses: only the leader writes.
func (r *Reader) Save(context.Context, []byte) error {
	return fmt.Errorf("ownership store: ConfigMap %s/%s opened read-only: only the elected leader writes", r.namespace, r.name)
}

// Close does nothing.
func (r *Reader) Close() error { return nil }
