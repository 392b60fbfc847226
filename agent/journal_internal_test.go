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

// TestStartupRefusesBadState: every kind of unusable state file stops the
// agent's startup (OpenJournal as run and sync use it) with a message that
// names the file and says what to do; none loads as an empty journal.
func TestStartupRefusesBadState(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unreadable := filepath.Join(dir, "unreadable.json")
	if err := os.Mkdir(unreadable, 0o700); err != nil { // a directory cannot be read as a file, even by root
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"unreadable", unreadable, []string{unreadable, "check agent.state_file"}},
		{"null", write("null.json", "null"), []string{"null.json", "holds null", "move it away"}},
		{"null with spaces", write("null2.json", " null \n"), []string{"null2.json", "holds null"}},
		{"wrong version", write("v9.json", `{"version":9,"agent":"agent-1","rooms":{}}`), []string{"v9.json", "version 9", "run the newer version"}},
		{"no version", write("v0.json", `{"agent":"agent-1","rooms":{}}`), []string{"v0.json", "no version", "move it away"}},
		{"wrong agent", write("other.json", `{"version":2,"agent":"agent-2","rooms":{}}`), []string{"other.json", `"agent-2"`, "own state_file"}},
		{"not json", write("junk.json", "{{"), []string{"junk.json", "corrupt", "move it away"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := OpenJournal(journalCfg(tc.path), true)
			if err == nil {
				_ = j.Close(context.Background())
				t.Fatal("state accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
