package store

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSaveWriteFailureKeepsTheOldDocument: a write that fails half-way (here
// the file size limit, as on a full disk) is an error, the document on disk
// is the old one, whole, and no temporary file is left behind.
func TestSaveWriteFailureKeepsTheOldDocument(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	if err := f.Save(ctx, []byte(`{"old":1}`)); err != nil {
		t.Fatal(err)
	}

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip("no file size limit:", err)
	}
	signal.Ignore(syscall.SIGXFSZ) // get EFBIG instead of being killed
	defer signal.Reset(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: 64, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip("cannot set a file size limit:", err)
	}
	err = f.Save(ctx, bytes.Repeat([]byte("x"), 4096))
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Save of a document the disk cannot hold: %v, want an error naming the file", err)
	}
	if b, _ := os.ReadFile(path); string(b) != `{"old":1}` {
		t.Errorf("document on disk after a failed write: %q, want the old one", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "state.json" && e.Name() != "state.json.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// The store still works once the disk has room.
	if err := f.Save(ctx, []byte(`{"new":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != `{"new":1}` {
		t.Errorf("document %q after a good write", b)
	}
}
