package agent

import (
	"context"
	"fmt"
	"time"

	etcdha "github.com/srs-owt-proxy/srs-owt-proxy/ha/etcd"
	kubeha "github.com/srs-owt-proxy/srs-owt-proxy/ha/kube"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// OpenJournal opens the ownership journal of agent.state_file. A writer
// (run, sync --once) takes the file's single-writer lock and fails at once
// with a *store.LockedError when another process holds it; a reader (diff)
// takes no lock and can never write. An empty state_file keeps the journal
// in memory.
//
// With ha.mode, the store is the election's: a writer is refused (only the
// elected leader writes), a reader reads it without campaigning.
func OpenJournal(cfg *policy.Agent, writer bool) (*reconcile.Journal, error) {
	var st reconcile.Store
	switch path := cfg.Agent.StateFile; {
	case cfg.HA.Enabled() && writer:
		return nil, fmt.Errorf("with ha.mode %s only the elected leader writes to OWT and the store: a one-shot writer would be a second one; "+
			"use `srs-owt-proxy diff` to see the plan (it reads the store), and let the replicas apply it", cfg.HA.Mode)
	case cfg.HA.Enabled():
		r, err := haReader(cfg.HA)
		if err != nil {
			return nil, err
		}
		st = r
	case path == "":
		st = &store.Memory{}
	case writer:
		f, err := store.OpenFile(path)
		if err != nil {
			return nil, err
		}
		st = f
	default:
		st = store.ReadFile(path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := reconcile.OpenJournal(ctx, st, cfg.Agent.ID)
	if err != nil {
		st.Close()
		return nil, err
	}
	return j, nil
}

// haReader opens the store of ha.mode for reading only.
func haReader(cfg policy.HA) (reconcile.Store, error) {
	switch cfg.Mode {
	case policy.HAModeEtcd:
		return etcdha.OpenReader(etcdha.Config{Endpoints: cfg.Etcd.Endpoints, Prefix: cfg.Etcd.Prefix,
			CAFile: cfg.Etcd.CAFile, CertFile: cfg.Etcd.CertFile, KeyFile: cfg.Etcd.KeyFile})
	case policy.HAModeKubernetes:
		return kubeha.OpenReader(kubeha.Config{Namespace: cfg.Kubernetes.Namespace, ConfigMap: cfg.Kubernetes.ConfigMap,
			Kubeconfig: cfg.Kubernetes.Kubeconfig})
	}
	return nil, fmt.Errorf("ha.mode %q: no store reader in this build", cfg.Mode)
}
