package agent

import (
	"context"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// OpenJournal opens the ownership journal of agent.state_file. A writer
// (run, sync --once) takes the file's single-writer lock and fails at once
// with a *store.LockedError when another process holds it; a reader (diff)
// takes no lock and can never write. An empty state_file keeps the journal
// in memory.
func OpenJournal(cfg *policy.Agent, writer bool) (*reconcile.Journal, error) {
	var st reconcile.Store
	switch path := cfg.Agent.StateFile; {
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
