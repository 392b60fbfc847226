package kube

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Reader is the ownership store read without an election (for `diff`):
// it reads the ConfigMap and never writes. Only Namespace, ConfigMap,
// Kubeconfig, Client and RenewDeadline (the timeout of the read) of the
// Config matter.
type Reader struct {
	client   kubernetes.Interface
	ns, name string
	timeout  time.Duration
}

// OpenReader builds the client; it starts nothing and needs only get on
// the ConfigMap.
func OpenReader(cfg Config) (*Reader, error) {
	cfg, client, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	return &Reader{client: client, ns: cfg.Namespace, name: cfg.ConfigMap, timeout: cfg.RenewDeadline}, nil
}

// String names the ConfigMap.
func (r *Reader) String() string {
	return fmt.Sprintf("configmap %s/%s (key %s, read-only)", r.ns, r.name, DataKey)
}

// Load reads the document (nil when the ConfigMap or its key is absent).
func (r *Reader) Load(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cm, err := r.client.CoreV1().ConfigMaps(r.ns).Get(ctx, r.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ownership store: read ConfigMap %s/%s: %w (%s)", r.ns, r.name, err, hint(err, "configmaps", r.ns, r.name, r.timeout))
	}
	return docOf(cm), nil
}

// Save refuses: only the elected leader writes.
func (r *Reader) Save(context.Context, []byte) error {
	return fmt.Errorf("ownership store: ConfigMap %s/%s opened read-only: only the elected leader writes", r.ns, r.name)
}

// Close does nothing: the reader holds no connection of its own.
func (r *Reader) Close() error { return nil }
