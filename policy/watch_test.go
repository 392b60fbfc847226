package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// watchEvent is one callback of a running Watcher.
type watchEvent struct {
	policy *Policy
	err    error
}

// startWatcher runs a Watcher on path until the test ends.
func startWatcher(t *testing.T, w *Watcher) <-chan watchEvent {
	t.Helper()
	events := make(chan watchEvent, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx,
			func(p *Policy) { events <- watchEvent{policy: p} },
			func(err error) { events <- watchEvent{err: err} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return events
}

func next(t *testing.T, events <-chan watchEvent) watchEvent {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watcher callback within 5s")
		return watchEvent{}
	}
}

func policyWithInterval(d string) string {
	return "reconcile: {interval: " + d + "}\nroutes:\n  - match: {}\n    room: \"{{.Stream}}\"\n"
}

// replace writes content to a temp file and renames it over path, as editors do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".policy.yaml.swp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	events := startWatcher(t, NewWatcher(path, 30*time.Millisecond, envOf(nil), nil))

	// The file does not exist yet: nothing happens until it is written.
	writeFile(t, dir, "policy.yaml", policyWithInterval("11s"))
	ev := next(t, events)
	if ev.err != nil || ev.policy.Reconcile.Interval != 11*time.Second {
		t.Fatalf("first write: %+v", ev)
	}
	first := ev.policy.Digest()

	replace(t, path, policyWithInterval("12s"))
	ev = next(t, events)
	if ev.err != nil || ev.policy.Reconcile.Interval != 12*time.Second || ev.policy.Digest() == first {
		t.Fatalf("rename: %+v", ev)
	}

	replace(t, path, "routes: [\n  garbage")
	ev = next(t, events)
	if ev.err == nil {
		t.Fatalf("garbage: want onError, got policy %s", ev.policy.Summary())
	}
	if _, ok := ev.err.(Errors); !ok {
		t.Errorf("onError got %T, want Errors", ev.err)
	}

	// Back to the running content (12s) and an identical rewrite: no onLoad.
	replace(t, path, policyWithInterval("12s"))
	time.Sleep(150 * time.Millisecond)
	writeFile(t, dir, "policy.yaml", "# only a comment differs\n"+policyWithInterval("12s"))
	time.Sleep(150 * time.Millisecond)
	// A change in another file in the directory is ignored.
	writeFile(t, dir, "other.yaml", "x")
	time.Sleep(150 * time.Millisecond)

	replace(t, path, policyWithInterval("13s"))
	ev = next(t, events)
	if ev.err != nil || ev.policy.Reconcile.Interval != 13*time.Second {
		t.Fatalf("after identical rewrites the next callback must be the 13s policy, got %+v", ev)
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected extra callback %+v", ev)
	default:
	}
}

func TestWatcherSeedAndReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "policy.yaml", policyWithInterval("20s"))
	p, err := LoadPolicy(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(path, 0, envOf(nil), nil)
	w.Seed(p)
	events := startWatcher(t, w)
	w.Reload() // same content as the seed: no callback
	time.Sleep(100 * time.Millisecond)
	select {
	case ev := <-events:
		t.Fatalf("seeded watcher called back for unchanged content: %+v", ev)
	default:
	}
	// Change the file without an fsnotify-visible event is impossible, so
	// check that Reload picks up a new version at once.
	replace(t, path, policyWithInterval("21s"))
	w.Reload()
	ev := next(t, events)
	if ev.err != nil || ev.policy.Reconcile.Interval != 21*time.Second {
		t.Fatalf("reload: %+v", ev)
	}
}

func TestWatcherBadDirectory(t *testing.T) {
	w := NewWatcher(filepath.Join(t.TempDir(), "missing", "policy.yaml"), 0, nil, nil)
	err := w.Run(context.Background(), nil, nil)
	if err == nil {
		t.Fatal("want an error for a directory that does not exist")
	}
}
