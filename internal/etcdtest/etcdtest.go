// Package etcdtest runs a real etcd for tests and the benchmark: Debian's
// etcd-server (the `etcd` program in PATH, installed by .ci/run) on
// 127.0.0.1, with its data in a temporary directory. A test that needs etcd fails when the
// program is missing, unless ETCD=off asks to skip those tests on a
// developer machine.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running etcd.
type Server struct {
	// Endpoint is its client URL, http://127.0.0.1:<port>.
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	logs     *logBuffer
	stopOnce sync.Once
}

// Start runs an etcd until the test ends. etcd cannot announce a port it
// was given as 0, so it takes two free ports from the kernel and retries
// on the rare clash.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("ETCD") == "off" {
			t.Skip("etcd not installed and ETCD=off")
		}
		t.Fatal(err)
	}
	s, err := Run(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Binary finds etcd: $ETCD_BIN, else `etcd` in PATH.
func Binary() (string, error) {
	if bin := os.Getenv("ETCD_BIN"); bin != "" {
		return bin, nil
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return "", fmt.Errorf("etcd is not installed (apt-get install etcd-server; .ci/run does it), or set ETCD=off to skip its tests: %w", err)
	}
	return bin, nil
}

// Run starts etcd with its data under dir and waits until it is healthy;
// the caller stops it.
func Run(bin, dir string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(bin, filepath.Join(dir, fmt.Sprintf("etcd-%d", attempt)))
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("etcd did not start: %w", lastErr)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string) (*Server, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cp)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	cmd := exec.Command(bin,
		"--name", "test",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test="+peer, "--initial-cluster-state", "new",
		"--log-level", "warn", "--logger", "zap")
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Endpoint: client, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("etcd exited: %s", logs.tail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
		resp, err := hc.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("etcd not healthy within 20s: %s", logs.tail())
}

// Stop kills etcd and waits for it.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// Logs is what etcd printed (warnings and errors).
func (s *Server) Logs() string { return s.logs.tail() }

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *logBuffer) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
