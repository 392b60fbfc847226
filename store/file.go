package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrReadOnly is returned by Save on a store opened for reading only.
var ErrReadOnly = errors.New("store opened read-only")

// LockedError says that another process holds the single-writer lock.
type LockedError struct {
	// Path is the state file.
	Path string
	// PID is the holder's process id as written in the lock file; 0 when unknown.
	PID int
}

func (e *LockedError) Error() string {
	who, hup := "an agent (pid unknown)", "send it SIGHUP"
	if e.PID > 0 {
		who = fmt.Sprintf("an agent (pid %d)", e.PID)
		hup = fmt.Sprintf("send it SIGHUP (kill -HUP %d)", e.PID)
	}
	return fmt.Sprintf("%s is running with this state file (%s); only one writer may use it: "+
		"use `srs-owt-proxy diff` to see the plan, or %s to resync now", who, e.Path, hup)
}

// File keeps the document in a local file, replaced atomically (temporary
// file, fsync, rename, fsync of the directory). An exclusive File holds an
// flock on <path>.lock, with the holder's pid in it, until Close; the
// kernel releases it when the process dies, so a lock file left behind by
// a crash never blocks a restart.
type File struct {
	path     string
	lock     *os.File // nil when read-only
	readOnly bool
	// syncDir makes a rename durable (fsync of the directory); a field so
	// that tests can see it called.
	syncDir func(dir string) error
}

// OpenFile opens path for the single writer. It fails at once with a
// *LockedError when another process holds the lock.
func OpenFile(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("state file: empty path")
	}
	lockPath := path + ".lock"
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state file lock %s: %w (check agent.state_file: its directory must exist and be writable)", lockPath, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(lockPath)
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("state file lock %s: %w (the file system must support flock)", lockPath, err)
	}
	// Equivalent mutant: Truncate(1) is the same, the pid written at 0 is always longer than one byte.
	if err := lf.Truncate(0); err == nil {
		_, err = lf.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("state file lock %s: %w", lockPath, err)
	}
	return &File{path: path, lock: lf, syncDir: syncDir}, nil
}

// ReadFile opens path for reading only: no lock, and Save fails with
// ErrReadOnly. `diff` uses it beside a running agent.
func ReadFile(path string) *File { return &File{path: path, readOnly: true, syncDir: syncDir} }

// Load returns the document, or nil when the file does not exist yet.
func (f *File) Load(context.Context) ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w (check agent.state_file and its permissions)", f.path, err)
	}
	return b, nil
}

// Save replaces the document durably.
func (f *File) Save(_ context.Context, doc []byte) error {
	if f.readOnly {
		return ErrReadOnly
	}
	if err := f.writeAtomic(doc); err != nil {
		return fmt.Errorf("state file %s: %w (fix the directory's permissions or free disk space)", f.path, err)
	}
	return nil
}

// Close releases the lock.
func (f *File) Close() error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close() // closing the descriptor releases the flock
	f.lock = nil
	return err
}

// String names the store for logs and errors.
func (f *File) String() string { return "file " + f.path }

// writeAtomic replaces the file: a temporary file in the same directory,
// written and fsynced, renamed over it, and the rename made durable.
func (f *File) writeAtomic(b []byte) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return err
	}
	return f.syncDir(dir)
}

// syncDir fsyncs a directory, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
