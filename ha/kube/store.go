package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
)

// store is the ownership store of one term: one document under DataKey of
// the ConfigMap, fenced to the term (see the package comment).
type store struct {
	b *Backend
	r *run
	t *term

	mu     sync.Mutex // one operation at a time: a leader's saves never race each other
	closed bool
}

// String names the ConfigMap, for logs.
func (s *store) String() string {
	return fmt.Sprintf("configmap %s/%s (key %s)", s.b.cfg.Namespace, s.b.cfg.ConfigMap, DataKey)
}

// Close ends the use of the store; the term goes on.
func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *store) where() string { return s.b.cfg.Namespace + "/" + s.b.cfg.ConfigMap }

// fail wraps an API error with the object and what the operator can do.
func (s *store) fail(op string, err error) error {
	return fmt.Errorf("ownership store: %s ConfigMap %s: %w (%s)", op, s.where(), err,
		hint(err, "configmaps", s.b.cfg.Namespace, s.b.cfg.ConfigMap, s.b.cfg.RenewDeadline))
}

func (s *store) refused(op string, err error) error {
	return fmt.Errorf("ownership store: %s ConfigMap %s refused: %w", op, s.where(), err)
}

func (s *store) errClosed(op string) error {
	return fmt.Errorf("ownership store: %s ConfigMap %s: the store is closed", op, s.where())
}

func (s *store) configMaps() interface {
	Get(context.Context, string, metav1.GetOptions) (*corev1.ConfigMap, error)
	Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
	Update(context.Context, *corev1.ConfigMap, metav1.UpdateOptions) (*corev1.ConfigMap, error)
} {
	return s.b.client.CoreV1().ConfigMaps(s.b.cfg.Namespace)
}

func (s *store) get(ctx context.Context) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(ctx, s.b.cfg.RenewDeadline)
	defer cancel()
	return s.configMaps().Get(ctx, s.b.cfg.ConfigMap, metav1.GetOptions{})
}

// create makes the ConfigMap, claimed by this term; a nil doc leaves the
// data key out (an empty store).
func (s *store) create(ctx context.Context, doc []byte) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: s.b.cfg.ConfigMap, Namespace: s.b.cfg.Namespace,
		Labels:      map[string]string{"app.kubernetes.io/name": "srs-owt-proxy", "app.kubernetes.io/component": "state"},
		Annotations: map[string]string{TermAnnotation: s.t.claim},
	}}
	if doc != nil {
		cm.Data = map[string]string{DataKey: string(doc)}
	}
	ctx, cancel := context.WithTimeout(ctx, s.b.cfg.RenewDeadline)
	defer cancel()
	_, err := s.configMaps().Create(ctx, cm, metav1.CreateOptions{})
	return err
}

// update writes cm back with the resourceVersion it was read with.
func (s *store) update(ctx context.Context, cm *corev1.ConfigMap) error {
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[TermAnnotation] = s.t.claim
	ctx, cancel := context.WithTimeout(ctx, s.b.cfg.RenewDeadline)
	defer cancel()
	_, err := s.configMaps().Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

// mayClaim checks, before this term supersedes another term's claim,
// that this replica holds the Lease now in this very term.
func (s *store) mayClaim(ctx context.Context, cm *corev1.ConfigMap) error {
	if err := s.r.holds(s.t); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.b.cfg.RenewDeadline)
	defer cancel()
	l, err := s.b.client.CoordinationV1().Leases(s.b.cfg.Namespace).Get(ctx, s.b.cfg.Lease, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ownership store: ConfigMap %s: read the lease %s/%s before claiming the store: %w (%s)", s.where(),
			s.b.cfg.Namespace, s.b.cfg.Lease, err, hint(err, "leases.coordination.k8s.io", s.b.cfg.Namespace, s.b.cfg.Lease, s.b.cfg.RenewDeadline))
	}
	holder, trans := "", int32(0)
	if err == nil {
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		if l.Spec.LeaseTransitions != nil {
			trans = *l.Spec.LeaseTransitions
		}
	}
	if err == nil && holder == s.b.holder && string(l.UID) == s.t.uid && trans == s.t.trans {
		return nil
	}
	s.r.mu.Lock()
	s.r.lose()
	s.r.mu.Unlock()
	return fmt.Errorf("%w (the store was claimed by %q; lease %s/%s is held by %q, transition %d)", ha.ErrFenced,
		cm.Annotations[TermAnnotation], s.b.cfg.Namespace, s.b.cfg.Lease, holder, trans)
}

func docOf(cm *corev1.ConfigMap) []byte {
	if v, ok := cm.Data[DataKey]; ok {
		return []byte(v)
	}
	return nil
}

// Load reads the document (nothing when the ConfigMap or its key is
// absent). The first Load of a term claims the ConfigMap for it; once
// the term is over, Load still reads, without claiming.
func (s *store) Load(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.errClosed("load")
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ownership store: load ConfigMap %s: %w", s.where(), err)
		}
		cm, err := s.get(ctx)
		if apierrors.IsNotFound(err) {
			if s.r.holds(s.t) != nil {
				return nil, nil
			}
			err = s.create(ctx, nil)
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, s.fail("create", err)
			}
			return nil, nil
		}
		if err != nil {
			return nil, s.fail("read", err)
		}
		doc := docOf(cm)
		if cm.Annotations[TermAnnotation] == s.t.claim {
			return doc, nil
		}
		if err := s.mayClaim(ctx, cm); err != nil {
			if s.t.ctx.Err() != nil {
				return doc, nil // the term is over: read only
			}
			return nil, err
		}
		err = s.update(ctx, cm)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, s.fail("claim (update)", err)
		}
		return doc, nil
	}
}

// Save replaces the document, under a resourceVersion check; a conflict
// is re-read and written again while the term holds the Lease.
func (s *store) Save(ctx context.Context, doc []byte) error {
	if len(doc) > MaxDocument {
		return fmt.Errorf("ownership store: save ConfigMap %s: the document is %d bytes, over the %d bytes a ConfigMap holds (1 MiB); nothing was written: fewer rooms per agent, or ha.mode: etcd", s.where(), len(doc), MaxDocument)
	}
	if !utf8.Valid(doc) {
		return fmt.Errorf("ownership store: save ConfigMap %s: the document is not UTF-8 text; nothing was written", s.where())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.errClosed("save")
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ownership store: save ConfigMap %s: %w", s.where(), err)
		}
		if err := s.r.holds(s.t); err != nil {
			return s.refused("save", err)
		}
		cm, err := s.get(ctx)
		if apierrors.IsNotFound(err) {
			if err := s.r.holds(s.t); err != nil {
				return s.refused("save", err)
			}
			err = s.create(ctx, doc)
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return s.fail("create", err)
			}
			return nil
		}
		if err != nil {
			return s.fail("read", err)
		}
		if cm.Annotations[TermAnnotation] != s.t.claim {
			if err := s.mayClaim(ctx, cm); errors.Is(err, ha.ErrFenced) {
				return s.refused("save", err)
			} else if err != nil {
				return err
			}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[DataKey] = string(doc)
		if err := s.r.holds(s.t); err != nil {
			return s.refused("save", err)
		}
		err = s.update(ctx, cm)
		if apierrors.IsConflict(err) {
			s.b.log.Debug("ha: ConfigMap changed since read; reading it again", "configmap", s.where())
			continue
		}
		if err != nil {
			return s.fail("update", err)
		}
		return nil
	}
}
