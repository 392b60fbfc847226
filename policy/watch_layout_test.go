package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// configMap reproduces the kubelet's atomic writer for a ConfigMap volume:
// the data lives in a timestamped directory, `..data` links to it, and each
// key is a link through `..data` (for a nested key "sub/policy.yaml", the
// top-level "sub" is the link). An update writes a new timestamped
// directory, swaps `..data` by renaming a new link over it, and deletes
// the old directory.
type configMap struct {
	t    *testing.T
	root string
	key  string
	gen  int
	cur  string
}

func newConfigMap(t *testing.T, key, content string) *configMap {
	c := &configMap{t: t, root: t.TempDir(), key: key}
	c.writeGen(content)
	if err := os.Symlink(c.cur, filepath.Join(c.root, "..data")); err != nil {
		t.Fatal(err)
	}
	top := strings.SplitN(key, "/", 2)[0]
	if err := os.Symlink(filepath.Join("..data", top), filepath.Join(c.root, top)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMap) path() string { return filepath.Join(c.root, c.key) }

func (c *configMap) writeGen(content string) {
	c.gen++
	c.cur = fmt.Sprintf("..2026_12_03_00_00_%02d.%d", c.gen, 1000+c.gen)
	file := filepath.Join(c.root, c.cur, c.key)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// swap publishes new content the way the kubelet does.
func (c *configMap) swap(content string) {
	old := c.cur
	c.writeGen(content)
	tmp := filepath.Join(c.root, "..data_tmp")
	if err := os.Symlink(c.cur, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.root, "..data")); err != nil {
		c.t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(c.root, old)); err != nil {
		c.t.Fatal(err)
	}
}

// expectInterval waits for the callback of the policy with interval d.
func expectInterval(t *testing.T, events <-chan watchEvent, d time.Duration, what string) {
	t.Helper()
	ev := next(t, events)
	if ev.err != nil || ev.policy.Reconcile.Interval != d {
		t.Fatalf("%s: got %+v (err %v), want the %s policy", what, ev.policy, ev.err, d)
	}
}

// TestWatcherMountLayouts: every way a policy file is replaced in practice
// is seen, by events alone (the periodic check is off): ConfigMap keys at
// the top and nested in a directory, three `..data` swaps each; an
// editor's rename-replace; a delete followed by a new file. Before issue 9
// a nested key was reloaded once and never again: the watcher watched the
// directory the link resolved to, which the next swap deleted.
func TestWatcherMountLayouts(t *testing.T) {
	for _, key := range []string{"policy.yaml", "sub/policy.yaml", "a/b/policy.yaml"} {
		t.Run("configmap "+key, func(t *testing.T) {
			cm := newConfigMap(t, key, policyWithInterval("10s"))
			w := NewWatcher(cm.path(), 30*time.Millisecond, envOf(nil), nil)
			w.SetCheckInterval(0)
			events := startWatcher(t, w)
			expectInterval(t, events, 10*time.Second, "initial load")
			for i := 1; i <= 3; i++ {
				d := time.Duration(10+i) * time.Second
				cm.swap(policyWithInterval(d.String()))
				expectInterval(t, events, d, fmt.Sprintf("swap %d", i))
			}
		})
	}
	t.Run("editor rename-replace", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "policy.yaml")
		writeFile(t, dir, "policy.yaml", policyWithInterval("10s"))
		w := NewWatcher(path, 30*time.Millisecond, envOf(nil), nil)
		w.SetCheckInterval(0)
		events := startWatcher(t, w)
		expectInterval(t, events, 10*time.Second, "initial load")
		for i := 1; i <= 3; i++ {
			d := time.Duration(10+i) * time.Second
			replace(t, path, policyWithInterval(d.String()))
			expectInterval(t, events, d, fmt.Sprintf("replace %d", i))
		}
	})
	t.Run("delete then recreate", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "policy.yaml")
		writeFile(t, dir, "policy.yaml", policyWithInterval("10s"))
		w := NewWatcher(path, 30*time.Millisecond, envOf(nil), nil)
		w.SetCheckInterval(0)
		events := startWatcher(t, w)
		expectInterval(t, events, 10*time.Second, "initial load")
		for i := 1; i <= 3; i++ {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the deletion is seen and waited out
			d := time.Duration(10+i) * time.Second
			writeFile(t, dir, "policy.yaml", policyWithInterval(d.String()))
			expectInterval(t, events, d, fmt.Sprintf("recreate %d", i))
		}
	})
	t.Run("symlink retargeted", func(t *testing.T) {
		dir := t.TempDir()
		for i := 0; i <= 2; i++ {
			sub := filepath.Join(dir, fmt.Sprintf("v%d", i))
			os.MkdirAll(sub, 0o755)
			writeFile(t, sub, "p.yaml", policyWithInterval(fmt.Sprintf("%ds", 10+i)))
		}
		link := filepath.Join(dir, "policy.yaml")
		if err := os.Symlink("v0/p.yaml", link); err != nil {
			t.Fatal(err)
		}
		w := NewWatcher(link, 30*time.Millisecond, envOf(nil), nil)
		w.SetCheckInterval(0)
		events := startWatcher(t, w)
		expectInterval(t, events, 10*time.Second, "initial load")
		for i := 1; i <= 2; i++ {
			tmp := filepath.Join(dir, "link.tmp")
			os.Symlink(fmt.Sprintf("v%d/p.yaml", i), tmp)
			if err := os.Rename(tmp, link); err != nil {
				t.Fatal(err)
			}
			expectInterval(t, events, time.Duration(10+i)*time.Second, fmt.Sprintf("retarget %d", i))
			// The file the link left still changes: not the policy any more.
			writeFile(t, filepath.Join(dir, fmt.Sprintf("v%d", i-1)), "p.yaml", policyWithInterval("99s"))
		}
		select {
		case ev := <-events:
			t.Errorf("a file the link no longer points to was loaded: %+v", ev.policy)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestWatcherPeriodicCheck: when the directory itself is deleted and made
// again (no watch survives that), the periodic check finds the new file.
func TestWatcherPeriodicCheck(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, dir, "policy.yaml", policyWithInterval("10s"))
	w := NewWatcher(path, 30*time.Millisecond, envOf(nil), nil)
	w.SetCheckInterval(100 * time.Millisecond)
	events := startWatcher(t, w)
	expectInterval(t, events, 10*time.Second, "initial load")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	os.MkdirAll(dir, 0o755)
	writeFile(t, dir, "policy.yaml", policyWithInterval("11s"))
	expectInterval(t, events, 11*time.Second, "recreated directory")
	replace(t, path, policyWithInterval("12s"))
	expectInterval(t, events, 12*time.Second, "change after the directory came back")
}

func TestWatchDirs(t *testing.T) {
	cm := newConfigMap(t, "sub/policy.yaml", "x")
	got := watchDirs(cm.path())
	want := []string{filepath.Join(cm.root, "sub"), cm.root, filepath.Join(cm.root, cm.cur, "sub")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("watchDirs = %v\nwant %v", got, want)
	}
	plain := t.TempDir()
	if got := watchDirs(filepath.Join(plain, "missing.yaml")); len(got) != 1 || got[0] != plain {
		t.Errorf("missing file: %v", got)
	}
	if l, rest := firstLink(filepath.Join(plain, "a", "b")); l != "" || rest != "" {
		t.Errorf("no link: %q %q", l, rest)
	}
}

// A chain of two links in different directories, the first relative and
// the second absolute: each link's directory is watched, so a retarget of
// either is seen. root/A/l1 -> ../B/x, root/B/x/l2 -> root/C.
func TestWatchDirsLinkChain(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"A", "B/x", "C"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join("..", "B", "x"), filepath.Join(root, "A", "l1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "C"), filepath.Join(root, "B", "x", "l2")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "C"), "policy.yaml", "x")
	path := filepath.Join(root, "A", "l1", "l2", "policy.yaml")
	got := watchDirs(path)
	want := []string{filepath.Join(root, "A", "l1", "l2"), filepath.Join(root, "A"), filepath.Join(root, "B", "x"), filepath.Join(root, "C")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("watchDirs = %v\nwant %v", got, want)
	}
	if l, rest := firstLink(path); l != filepath.Join(root, "A", "l1") || rest != filepath.Join("l2", "policy.yaml") {
		t.Errorf("firstLink = %q %q", l, rest)
	}
}

// TestWatcherPeriodicCheckRewatches: the periodic check that finds a file
// whose directory was deleted and made again also watches the new
// directory, so the next change is loaded by its event, well before the
// following check.
func TestWatcherPeriodicCheckRewatches(t *testing.T) {
	t.Parallel()
	const check = 1500 * time.Millisecond
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, dir, "policy.yaml", policyWithInterval("10s"))
	w := NewWatcher(path, 30*time.Millisecond, envOf(nil), nil)
	w.SetCheckInterval(check)
	events := startWatcher(t, w)
	expectInterval(t, events, 10*time.Second, "initial load")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the removal's events are handled: no watch is left
	os.MkdirAll(dir, 0o755)
	writeFile(t, dir, "policy.yaml", policyWithInterval("11s"))
	expectInterval(t, events, 11*time.Second, "recreated directory, found by the periodic check")
	// The check just ran: the next runs about `check` from now. An event
	// gets the change in tens of milliseconds.
	replace(t, path, policyWithInterval("12s"))
	select {
	case ev := <-events:
		if ev.err != nil || ev.policy.Reconcile.Interval != 12*time.Second {
			t.Fatalf("after the change: got %+v (err %v), want the 12s policy", ev.policy, ev.err)
		}
	case <-time.After(check * 2 / 3):
		t.Fatalf("the change was not loaded within %v of a periodic check: the check did not watch the recreated directory", check*2/3)
	}
}
