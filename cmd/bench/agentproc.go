package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// agentPackage is the agent's main package, built by buildAgent.
const agentPackage = "github.com/srs-owt-proxy/srs-owt-proxy/cmd/srs-owt-proxy"

// buildAgent builds the agent binary into dir with the go command (run
// from inside the module, as `make bench` does) and returns its path.
func buildAgent(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build the agent: no go command in $PATH (or pass --agent-bin): %w", err)
	}
	out := filepath.Join(dir, "srs-owt-proxy")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, agentPackage)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (run the bench from inside the module, or pass --agent-bin): %w\n%s", agentPackage, err, b)
	}
	return out, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// agentProc is the agent binary running `run` as a child process.
type agentProc struct {
	cmd   *exec.Cmd
	out   *tailBuffer // the end of its stdout and stderr
	done  chan struct{}
	err   error // Wait's result, set before done closes
	start time.Time
}

// startAgentProc runs bin with `run --config config` and env added to its
// environment; the child is killed when ctx ends.
func startAgentProc(ctx context.Context, bin, config string, env ...string) (*agentProc, error) {
	p := &agentProc{out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, "run", "--config", config, "--log-level", "warn")
	p.cmd.Env = append(append(os.Environ(), "OWT_SERVICE_KEY="+lab.ServiceKey), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.WaitDelay = 5 * time.Second
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the agent %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *agentProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to within for a clean exit, then kills.
func (p *agentProc) stop(within time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		p.kill()
		return fmt.Errorf("agent did not exit within %s of SIGTERM; killed", within)
	}
}

// waitReady polls the agent's /readyz on metricsAddr until it answers 200;
// it fails at once if the process exits.
func (p *agentProc) waitReady(ctx context.Context, metricsAddr string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	_, err := waitFor(ctx, timeout, 10*time.Millisecond, func() string {
		select {
		case <-p.done:
			return "exited"
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/readyz", nil)
		if err != nil {
			return err.Error()
		}
		resp, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("/readyz answered %d", resp.StatusCode)
		}
		return ""
	})
	select {
	case <-p.done:
		return fmt.Errorf("agent exited (%v) before it was ready; its output:\n%s", p.err, p.out.String())
	default:
	}
	if err != nil {
		return fmt.Errorf("agent not ready: %w; its output:\n%s", err, p.out.String())
	}
	return nil
}

// reserveAddr returns a free 127.0.0.1 address (a port 0 listener, closed).
// The agent child binds it later: its hook address must be known before the
// fake SRS starts and stay the same across a restart.
func reserveAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve a 127.0.0.1 port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", errors.Join(fmt.Errorf("reserve a 127.0.0.1 port"), err)
	}
	return addr, nil
}
