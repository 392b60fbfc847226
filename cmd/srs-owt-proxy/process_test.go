package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain runs the command's main instead of the tests when asked to, so
// that a test can run the real process (os.Args, exit code).
func TestMain(m *testing.M) {
	if os.Getenv("SRS_OWT_PROXY_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// The process passes its arguments (without its own name) to Main and
// exits with Main's code.
func TestProcess(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "srs-owt-proxy "},
		{[]string{"validate"}, 1, ""},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "SRS_OWT_PROXY_RUN_MAIN=1")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.HasPrefix(o.String(), c.out) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q", c.args, code, o.String(), e.String(), c.code, c.out)
		}
	}
}

// quiet does not return while the agent is busy, nor while it is still
// printing, even when the other of the two says it is done.
func TestQuietWaitsForBoth(t *testing.T) {
	const busy = 600 * time.Millisecond
	start := time.Now()
	var lines atomic.Int64
	quiet(&lines, func() bool { return time.Since(start) > busy })
	if d := time.Since(start); d < busy {
		t.Errorf("quiet returned after %v while the agent was busy for %v", d, busy)
	}

	start = time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for time.Since(start) < busy {
			lines.Add(1)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	quiet(&lines, func() bool { return true })
	close(stop)
	<-done
	if d := time.Since(start); d < busy {
		t.Errorf("quiet returned after %v while lines were printed for %v", d, busy)
	}
}
