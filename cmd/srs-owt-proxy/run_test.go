package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
)

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// `run` serves until SIGTERM, then stops cleanly: exit 0, no error logged.
func TestRunStopsOnSIGTERM(t *testing.T) {
	hookAddr, metricsAddr := freeAddr(t), freeAddr(t)
	l, err := lab.Start("http://" + hookAddr + "/api/v1/streams")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	pf, af := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(pf, []byte("routes:\n  - match: {app: live}\n    room: \"{{.Stream}}\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(af, []byte(l.AgentYAML(hookAddr, metricsAddr, filepath.Join(dir, "state.json"), pf)), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main([]string{"run", "--config", af}, io.Discard, logs, getenv) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + metricsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before it was ready:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not ready within 10s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The run command has caught SIGTERM since before it listened.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 || strings.Contains(logs.String(), "stopped with an error") {
			t.Errorf("run after SIGTERM: exit %d, logs:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not stop on SIGTERM:\n%s", logs.String())
	}
}
