package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// bin holds the binaries built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "srs-owt-proxy-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "../cmd/srs-owt-proxy", "../cmd/fake-srs", "../cmd/fake-owt")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a started binary whose output is kept for failure messages.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs a binary; if banner is set, it waits for a line starting with
// it and returns the rest of that line (the listen address).
func start(t *testing.T, name string, banner string, env []string, args ...string) (*proc, string) {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(bin, name), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout = pw
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p, line)
			if !sent && banner != "" && strings.HasPrefix(line, banner) {
				addr <- strings.TrimSpace(strings.TrimPrefix(line, banner))
				sent = true
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, p.output())
		}
	})
	if banner == "" {
		return p, ""
	}
	select {
	case a := <-addr:
		return p, a
	case <-p.done:
		t.Fatalf("%s exited before listening: %v\n%s", name, p.err, p.output())
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not print %q\n%s", name, banner, p.output())
	}
	return p, ""
}

// signal sends sig and waits for the exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal, within time.Duration) int {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("process did not exit within %s after %v", within, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// freeAddr returns a free loopback address for a process started later.
// It is drawn below the kernel's ephemeral port range: a port taken with
// port 0 and released could be handed out again to the next process that
// binds port 0 (a fake started after it), and then the agent cannot listen.
func freeAddr(t *testing.T) string {
	t.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				lo = n
			}
		}
	}
	start := 10000 + rand.IntN(lo-10000)
	for i := 0; i < lo-10000; i++ {
		port := 10000 + (start-10000+i)%(lo-10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return ""
}

// env is a running pair of fakes plus the files of an agent.
type env struct {
	t          *testing.T
	owtURL     string
	srsURL     string
	hookAddr   string
	metrics    string
	dir        string
	agentFile  string
	policyFile string
	stateFile  string
	owtProc    *proc
	srsProc    *proc
}

const serviceKey = "e2e-service-key"

func newEnv(t *testing.T, policy string, owtArgs ...string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), hookAddr: freeAddr(t), metrics: freeAddr(t)}
	var owtAddr, srsAddr string
	e.owtProc, owtAddr = start(t, "fake-owt", "fake-owt listening on", nil,
		append([]string{"--listen", "127.0.0.1:0", "--service-id", lab.ServiceID, "--service-key", serviceKey}, owtArgs...)...)
	e.srsProc, srsAddr = start(t, "fake-srs", "fake-srs listening on", nil,
		"--listen", "127.0.0.1:0", "--hook", "http://"+e.hookAddr+"/api/v1/streams")
	e.owtURL, e.srsURL = "http://"+owtAddr, "http://"+srsAddr
	e.policyFile = filepath.Join(e.dir, "policy.yaml")
	e.stateFile = filepath.Join(e.dir, "state.json")
	e.agentFile = filepath.Join(e.dir, "agent.yaml")
	e.writePolicy(policy)
	l := &lab.Lab{OWTURL: e.owtURL, SRSURL: e.srsURL}
	if err := os.WriteFile(e.agentFile, []byte(l.AgentYAML(e.hookAddr, e.metrics, e.stateFile, e.policyFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// writePolicy replaces the policy file the way editors do (write + rename).
func (e *env) writePolicy(p string) {
	e.t.Helper()
	tmp := e.policyFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(p), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.policyFile); err != nil {
		e.t.Fatal(err)
	}
}

var agentEnv = []string{"OWT_SERVICE_KEY=" + serviceKey}

// cli runs srs-owt-proxy to completion and returns stdout, stderr, exit code.
func (e *env) cli(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "srs-owt-proxy"), args...)
	cmd.Env = append(os.Environ(), agentEnv...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			e.t.Fatalf("run srs-owt-proxy %v: %v", args, err)
		}
	}
	return so.String(), se.String(), cmd.ProcessState.ExitCode()
}

func (e *env) post(url string, body any) []byte {
	e.t.Helper()
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("POST %s: %s %s", url, resp.Status, out)
	}
	return out
}

func (e *env) get(url string) (int, []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// publish publishes app/stream on the default vhost; silent = no hook.
func (e *env) publish(app, stream string, silent bool) {
	e.t.Helper()
	e.post(e.srsURL+"/control/publish", map[string]any{"vhost": "__defaultVhost__", "app": app, "stream": stream, "silent": silent})
}

func (e *env) unpublish(app, stream string, silent bool) {
	e.t.Helper()
	e.post(e.srsURL+"/control/unpublish", map[string]any{"vhost": "__defaultVhost__", "app": app, "stream": stream, "silent": silent})
}

func (e *env) owtState() owtfake.State {
	e.t.Helper()
	code, b := e.get(e.owtURL + "/control/state")
	if code != 200 {
		e.t.Fatalf("fake-owt state: %d %s", code, b)
	}
	var st owtfake.State
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatalf("fake-owt state: %v", err)
	}
	return st
}

func (e *env) counts() map[string]int {
	e.t.Helper()
	_, b := e.get(e.owtURL + "/control/counts")
	m := map[string]int{}
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("fake-owt counts: %v: %s", err, b)
	}
	return m
}

// writes counts the write calls among fake-owt's counts.
func writes(c map[string]int) int {
	n := 0
	for _, k := range []string{"create_room", "delete_room", "start_streaming_in", "stop_streaming_in", "patch_stream", "put_room"} {
		n += c[k]
	}
	return n
}

// converge waits until OWT holds exactly w.
func (e *env) converge(w lab.Want, within time.Duration) time.Duration {
	e.t.Helper()
	took, err := lab.WaitFor(context.Background(), within, func() string { return lab.Check(e.owtState(), w) })
	if err != nil {
		e.t.Fatal(err)
	}
	return took
}

// metric returns the value of the first sample line starting with prefix.
func (e *env) metric(prefix string) string {
	_, b := e.get("http://" + e.metrics + "/metrics")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	return ""
}
