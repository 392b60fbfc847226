package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

func journalCfg(path string) *policy.Agent {
	c := &policy.Agent{}
	c.Agent.ID = "agent-1"
	c.Agent.StateFile = path
	return c
}

func TestOpenJournalInMemory(t *testing.T) {
	j, err := OpenJournal(journalCfg(""), true)
	if err != nil {
		t.Fatal(err)
	}
	j.SetRoom("r", "1", time.Now())
	if err := j.Commit(context.Background()); err != nil {
		t.Errorf("memory journal: %v", err)
	}
	if j.String() != "memory" {
		t.Errorf("store %q, want memory", j.String())
	}
}

func TestOpenJournalWriterAndReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	w, err := OpenJournal(journalCfg(path), true)
	if err != nil {
		t.Fatal(err)
	}
	// One writer only; a reader is fine beside it.
	var locked *store.LockedError
	if _, err := OpenJournal(journalCfg(path), true); !errors.As(err, &locked) {
		t.Fatalf("second writer: %v, want a LockedError", err)
	}
	w.SetRoom("r", "1", time.Now())
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := OpenJournal(journalCfg(path), false)
	if err != nil {
		t.Fatal(err)
	}
	if rec, ok := r.Room("r"); !ok || rec.ID != "1" {
		t.Errorf("reader sees %+v %v", rec, ok)
	}
	r.SetRoom("x", "2", time.Now())
	if err := r.Commit(context.Background()); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("reader commit: %v, want ErrReadOnly", err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w2, err := OpenJournal(journalCfg(path), true)
	if err != nil {
		t.Fatalf("writer after the first closed: %v", err)
	}
	_ = w2.Close(context.Background())
}

// A damaged state file is an error, and the writer's lock is released
// with it (the operator can fix the file and start again at once).
func TestOpenJournalDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, err := OpenJournal(journalCfg(path), true)
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("try %d: %v, want the file named corrupt (not a held lock)", i, err)
		}
	}
	if _, err := OpenJournal(journalCfg(path), false); err == nil {
		t.Error("reader of a damaged file: no error")
	}
}
