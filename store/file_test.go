package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	if b, err := f.Load(ctx); err != nil || b != nil {
		t.Fatalf("Load of a missing file = %q, %v; want nil, nil", b, err)
	}
	for _, doc := range []string{`{"a":1}`, `{"a":2}`} {
		if err := f.Save(ctx, []byte(doc)); err != nil {
			t.Fatal(err)
		}
		if b, err := f.Load(ctx); err != nil || string(b) != doc {
			t.Fatalf("Load = %q, %v; want %q", b, err, doc)
		}
	}
	if r, err := ReadFile(path).Load(ctx); err != nil || string(r) != `{"a":2}` {
		t.Errorf("a reader sees %q, %v", r, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "state.json,state.json.lock" {
		t.Errorf("directory holds %q: a temporary file was left behind", names)
	}
	if !strings.Contains(f.String(), path) {
		t.Errorf("String() = %q, want the path", f)
	}
}

// TestFileSingleWriter: a second writer is refused at once with the
// holder's pid and what to do; a reader is not; Close releases the lock.
func TestFileSingleWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = OpenFile(path)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second OpenFile: err = %v, want a *LockedError", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("the second writer waited %s; it must fail at once", time.Since(start))
	}
	if le.PID != os.Getpid() {
		t.Errorf("LockedError.PID = %d, want the holder %d", le.PID, os.Getpid())
	}
	for _, w := range []string{"pid " + strconv.Itoa(os.Getpid()), path, "srs-owt-proxy diff", "SIGHUP", "is running with this state file"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if err := ReadFile(path).Save(context.Background(), []byte("{}")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only Save: err = %v, want ErrReadOnly", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the read-only Save wrote the file")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile after Close: %v", err)
	}
	g.Close()
}

// TestFileLockDiesWithTheHolder: a process holding the lock is SIGKILLed;
// its lock file stays behind, yet the next writer opens at once.
func TestFileLockDiesWithTheHolder(t *testing.T) {
	if os.Getenv("STORE_LOCK_HOLDER") != "" {
		if _, err := OpenFile(os.Getenv("STORE_LOCK_HOLDER")); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFileLockDiesWithTheHolder$")
	cmd.Env = append(os.Environ(), "STORE_LOCK_HOLDER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("holder did not lock: %q %v", buf, err)
	}
	_, err = OpenFile(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("while the holder lives: err = %v, want a *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatalf("the lock file should stay behind: %v", err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	f.Close()
}

func TestFileErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := OpenFile(filepath.Join(dir, "state.json")); err == nil || !strings.Contains(err.Error(), "state_file") {
		t.Errorf("OpenFile in a missing directory: err = %v, want one naming agent.state_file", err)
	}
	if _, err := OpenFile(""); err == nil {
		t.Errorf("OpenFile(\"\") succeeded")
	}
	d := t.TempDir()
	if _, err := ReadFile(d).Load(context.Background()); err == nil || !strings.Contains(err.Error(), d) {
		t.Errorf("Load of a directory: err = %v, want one naming it", err)
	}
	// A writer whose directory went away fails to save and says so.
	sub := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(filepath.Join(sub, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(context.Background(), []byte("{}")); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Errorf("Save into a removed directory: err = %v", err)
	}
}

func TestMemory(t *testing.T) {
	var m Memory
	ctx := context.Background()
	if b, err := m.Load(ctx); b != nil || err != nil {
		t.Fatalf("fresh Memory holds %q, %v", b, err)
	}
	if err := m.Save(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	m.Fail(boom)
	if err := m.Save(ctx, []byte("two")); !errors.Is(err, boom) {
		t.Fatalf("Save with Fail set: %v", err)
	}
	if b, _ := m.Load(ctx); string(b) != "one" {
		t.Errorf("a failed Save changed the document to %q", b)
	}
	m.Fail(nil)
	if err := m.Save(ctx, []byte("three")); err != nil {
		t.Fatal(err)
	}
	if b, err := m.Load(ctx); string(b) != "three" || err != nil {
		t.Errorf("Load = %q, %v", b, err)
	}
	if m.Close() != nil || m.String() != "memory" {
		t.Errorf("Close or String of Memory")
	}
}

func TestLockedErrorMessage(t *testing.T) {
	tests := []struct {
		pid  int
		want []string
	}{
		{0, []string{"an agent (pid unknown)", "send it SIGHUP to resync now"}},
		{1, []string{"an agent (pid 1)", "kill -HUP 1"}},
		{4242, []string{"an agent (pid 4242)", "kill -HUP 4242"}},
	}
	for _, tt := range tests {
		msg := (&LockedError{Path: "/x/state.json", PID: tt.pid}).Error()
		for _, w := range append(tt.want, "/x/state.json", "srs-owt-proxy diff") {
			if !strings.Contains(msg, w) {
				t.Errorf("pid %d: %q lacks %q", tt.pid, msg, w)
			}
		}
	}
}

// TestRefusedWriterLeaksNothing: a writer refused by the lock closes what
// it opened (an agent retried by a supervisor must not run out of files).
func TestRefusedWriterLeaksNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	before := fds()
	for i := 0; i < 20; i++ {
		if _, err := OpenFile(path); err == nil {
			t.Fatal("second writer not refused")
		}
	}
	if after := fds(); after > before+2 {
		t.Errorf("open files went from %d to %d over 20 refused writers", before, after)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if err := ReadFile(path).Close(); err != nil {
		t.Errorf("Close of a reader: %v", err)
	}
}

// TestSaveSyncsTheDirectory: the rename is made durable, and a failure to
// do so is an error, not a silent success.
func TestSaveSyncsTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var synced []string
	boom := errors.New("fsync: input/output error")
	var fail error
	f.syncDir = func(dir string) error { synced = append(synced, dir); return fail }
	if err := f.Save(context.Background(), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != filepath.Dir(path) {
		t.Fatalf("directory syncs = %q, want one of %s", synced, filepath.Dir(path))
	}
	fail = boom
	if err := f.Save(context.Background(), []byte("{}")); !errors.Is(err, boom) {
		t.Errorf("Save with a failing directory sync: %v, want it reported", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		t.Errorf("syncDir of a directory: %v", err)
	}
	if err := syncDir(filepath.Join(path, "missing")); err == nil {
		t.Errorf("syncDir of a missing directory succeeded")
	}
}
