package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A policy path that is a symlink into another directory: the file it
// points to is watched from the start, so an edit in place is loaded
// before any event has touched the link's own directory (periodic check
// off).
func TestWatcherFollowsSymlinkFromTheStart(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	os.MkdirAll(target, 0o755)
	conf := filepath.Join(dir, "conf")
	os.MkdirAll(conf, 0o755)
	writeFile(t, target, "p.yaml", policyWithInterval("10s"))
	link := filepath.Join(conf, "policy.yaml")
	if err := os.Symlink(filepath.Join(target, "p.yaml"), link); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(link, 30*time.Millisecond, envOf(nil), nil)
	w.SetCheckInterval(0)
	events := startWatcher(t, w)
	expectInterval(t, events, 10*time.Second, "initial load")
	if err := os.WriteFile(filepath.Join(target, "p.yaml"), []byte(policyWithInterval("11s")), 0o644); err != nil {
		t.Fatal(err)
	}
	expectInterval(t, events, 11*time.Second, "edit of the link's target")
}
