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
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits after the last change.
const DefaultDebounce = 250 * time.Millisecond

// Watcher reloads a policy file when it changes (hot reload). It watches the
// file's directory, because editors and Kubernetes replace files (rename,
// create, the ..data symlink swap) rather than write them in place.
type Watcher struct {
	path     string
	debounce time.Duration
	getenv   func(string) string
	logger   *slog.Logger
	trigger  chan struct{}
	seed     chan string
}

// NewWatcher prepares a watcher for path. debounce <= 0 means
// DefaultDebounce; getenv nil means os.Getenv; logger nil discards logs.
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
	return &Watcher{path: path, debounce: debounce, getenv: getenv, logger: logger,
		trigger: make(chan struct{}, 1), seed: make(chan string, 1)}
}

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
// directory cannot be watched.
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
	base := filepath.Base(w.path)
	last := ""
	select {
	case last = <-w.seed:
	default:
	}
	last = w.reload(last, onLoad, onError)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			name := filepath.Base(ev.Name)
			if (name != base && name != "..data") || ev.Op == fsnotify.Chmod {
				continue
			}
			timer.Reset(w.debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			w.logger.Warn("policy watcher error; reloads may be missed until the next change", "file", w.path, "err", err)
			timer.Reset(w.debounce)
		case <-w.trigger:
			last = w.reload(last, onLoad, onError)
		case <-timer.C:
			last = w.reload(last, onLoad, onError)
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
