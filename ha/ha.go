// Package ha runs the agent as several replicas with one writer
// (docs/architecture.md, "High availability"). A Backend elects the leader
// on an engine the operator already runs (a Kubernetes Lease, an etcd
// election) and keeps the ownership store the leader writes, fenced to its
// term: once the term is over, the store refuses every write, so a deposed
// leader can neither record an intent nor act on one.
//
// The backends live in subpackages (ha/etcd, ha/kube); ha/hatest is the
// contract every backend passes.
package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// Modes of agent.yaml's ha.mode.
const (
	ModeNone       = "none"
	ModeKubernetes = "kubernetes"
	ModeEtcd       = "etcd"
)

// ErrFenced is wrapped by every write a store refuses because its term is
// over: another replica leads, or this one resigned.
var ErrFenced = errors.New("leadership lost: this replica may no longer write the store")

// Leader says who leads: the replica's identity and the base URL of its
// peer endpoint, where followers forward hooks.
type Leader struct {
	Identity string `json:"identity"`
	Peer     string `json:"peer,omitempty"`
}

// Term is one leadership term of this replica.
type Term struct {
	// Ctx ends the moment the leadership is lost, resigned or the backend
	// closed. Everything the leader does runs under it.
	Ctx context.Context
	// Store is the ownership store, fenced to this term: after Ctx ends,
	// Save fails with an error wrapping ErrFenced.
	Store reconcile.Store
}

// Backend elects one leader among the replicas and keeps the store.
type Backend interface {
	// Campaign blocks until this replica leads (a Term) or ctx ends.
	Campaign(ctx context.Context) (*Term, error)
	// Resign ends the current term so that another replica can lead at
	// once (shutdown). Without a term it does nothing.
	Resign(ctx context.Context) error
	// Leader is the leader as last observed; a zero Leader when unknown.
	Leader() Leader
	// Close ends any term and releases the backend's connections and
	// goroutines.
	Close() error
	// String names the engine and the lock, for logs.
	String() string
}

// Identity names this replica: POD_NAME when set (Kubernetes), else the
// host name; a random suffix tells apart two processes of one host or a
// pod restarted under the same name.
func Identity(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	name := strings.TrimSpace(getenv("POD_NAME"))
	if name == "" {
		name, _ = os.Hostname()
	}
	if name == "" {
		name = "replica"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", name, hex.EncodeToString(b[:]))
}
