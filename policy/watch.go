package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits after the last change.
const DefaultDebounce = 250 * time.Millisecond

// Watcher reloads a policy file when it changes (hot reload). Editors and
// Kubernetes replace files rather than write them (rename, create, the
// ConfigMap `..data` symlink swap, with the key at the top or nested in a
// directory), and a swap deletes the directory the old link pointed to. So
// after every event the watcher resolves the path again and watches the
// directories it goes through now: the configured directory, the
// directory of every symlink on the way, and the directory the file
// resolves to. A slow periodic re-read (SetCheckInterval) catches whatever
// events a mount does not give.
type Watcher struct {
	path     string
	debounce time.Duration
	check    time.Duration
	getenv   func(string) string
	logger   *slog.Logger
	trigger  chan struct{}
	seed     chan string
}

// NewWatcher prepares a watcher for path. debounce <= 0 means
// DefaultDebounce; getenv nil means os.Getenv; logger nil discards logs.
// The periodic check runs every DefaultPolicyReloadCheck.
func NewWatcher(path string, debounce time.Duration, getenv func(string) string, logger *slog.Logger) *Watcher {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{path: path, debounce: debounce, check: DefaultPolicyReloadCheck, getenv: getenv, logger: logger,
		trigger: make(chan struct{}, 1), seed: make(chan string, 1)}
}

// SetCheckInterval sets how often the file is re-read whatever the events
// say (agent.policy_reload_check); <= 0 turns the check off. Call before Run.
func (w *Watcher) SetCheckInterval(d time.Duration) { w.check = d }

// Seed tells the watcher which policy the caller already runs, so the first
// load only calls onLoad when the file differs from it. Call before Run.
func (w *Watcher) Seed(p *Policy) {
	select {
	case <-w.seed:
	default:
	}
	w.seed <- p.Digest()
}

// Reload asks a running watcher to re-read the file now (e.g. on SIGHUP).
// It never blocks.
func (w *Watcher) Reload() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Run loads the file once, then watches it until ctx is done. onLoad gets
// each valid policy whose Digest differs from the last one loaded (or
// seeded); onError gets the Errors of each invalid version (the caller keeps
// its old policy). A missing file is logged and waited for. Both callbacks
// run on Run's goroutine. Run returns nil when ctx ends, or an error when the
// configured directory cannot be watched at the start.
func (w *Watcher) Run(ctx context.Context, onLoad func(*Policy), onError func(error)) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("policy watcher for %s: %w", w.path, err)
	}
	defer fw.Close()
	dir := filepath.Dir(w.path)
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("policy watcher: cannot watch directory %s: %w; check that it exists and is readable", dir, err)
	}
	w.rewatch(fw)
	last := ""
	select {
	case last = <-w.seed:
	default:
	}
	last = w.reload(last, onLoad, onError)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var tick <-chan time.Time
	if w.check > 0 {
		t := time.NewTicker(w.check)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			// The reload after the debounce follows the path to where it
			// leads now (a swap may have removed a watched directory).
			timer.Reset(w.debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			w.logger.Warn("policy watcher error; the periodic check still reloads changes", "file", w.path, "err", err, "check", w.check)
			timer.Reset(w.debounce)
		case <-w.trigger:
			w.rewatch(fw)
			last = w.reload(last, onLoad, onError)
		case <-timer.C:
			w.rewatch(fw)
			last = w.reload(last, onLoad, onError)
		case <-tick:
			w.rewatch(fw)
			last = w.reload(last, onLoad, onError)
		}
	}
}

// watchDirs lists the directories whose entries decide what the policy
// path reads: its own directory, the directory of each symlink met while
// resolving it (a ConfigMap's `..data`, a nested key's parent link), and
// the directory of the file it resolves to.
func watchDirs(path string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	add(filepath.Dir(path))
	// Follow the chain of links by hand, at most 40 steps like the kernel.
	cur := filepath.Clean(path)
	for i := 0; i < 40; i++ {
		link, dir := firstLink(cur)
		if link == "" {
			break
		}
		add(filepath.Dir(link))
		target, err := os.Readlink(link)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(link), target)
		}
		cur = filepath.Join(target, dir)
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		add(filepath.Dir(resolved))
	}
	return out
}

// firstLink returns the first component of p (from the root) that is a
// symlink, and the rest of p after it; "" when p holds none.
func firstLink(p string) (link, rest string) {
	parts := strings.Split(p, string(filepath.Separator))
	cur := ""
	if filepath.IsAbs(p) {
		cur = string(filepath.Separator)
	}
	for i, part := range parts {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		if fi, err := os.Lstat(cur); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return cur, filepath.Join(parts[i+1:]...)
		}
	}
	return "", ""
}

// rewatch makes fw watch exactly the directories of watchDirs now.
func (w *Watcher) rewatch(fw *fsnotify.Watcher) {
	want := map[string]bool{}
	for _, d := range watchDirs(w.path) {
		want[d] = true
	}
	have := map[string]bool{}
	for _, d := range fw.WatchList() {
		have[d] = true
		if !want[d] {
			_ = fw.Remove(d) // gone already, or no longer on the path
		}
	}
	for d := range want {
		if have[d] {
			continue
		}
		if err := fw.Add(d); err != nil {
			w.logger.Debug("policy watcher: directory not watchable now; the periodic check covers it", "dir", d, "err", err)
		}
	}
}

// reload reads the file and reports it; it returns the new last digest.
func (w *Watcher) reload(last string, onLoad func(*Policy), onError func(error)) string {
	data, err := os.ReadFile(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		w.logger.Warn("policy file is missing; keeping the current policy", "file", w.path)
		return last
	}
	if err == nil && len(bytes.TrimSpace(data)) == 0 {
		// An editor that truncates before writing: wait for the write.
		w.logger.Debug("policy file is empty, probably being written; waiting for the next change", "file", w.path)
		return last
	}
	var p *Policy
	if err != nil {
		err = Errors{{File: w.path, Problem: "cannot read the policy: " + err.Error()}}
	} else {
		p, err = ParsePolicy(w.path, data, w.getenv)
	}
	if err != nil {
		// One line per failure: the caller told of it logs it.
		if onError != nil {
			onError(err)
		} else {
			w.logger.Error("policy is invalid; keeping the current policy", "file", w.path, "err", err)
		}
		return last
	}
	d := p.Digest()
	if d == last {
		w.logger.Debug("policy file touched, content unchanged", "file", w.path)
		return last
	}
	w.logger.Info("policy loaded", "file", w.path, "summary", p.Summary(), "digest", d[:12])
	if onLoad != nil {
		onLoad(p)
	}
	return d
}
