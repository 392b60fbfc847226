package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// controlTimeout bounds one call to a fake's control API.
const controlTimeout = time.Minute

// publishWorkers bounds the concurrent control calls of publishMany.
const publishWorkers = 32

// fakes is the fake OWT and SRS served by a child process (the bench binary
// run with serveFakesFlag) and driven through their HTTP control APIs.
type fakes struct {
	OWTURL, SRSURL string
	client         *http.Client
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	cancel         context.CancelFunc
	exited         chan struct{} // closed once the child has exited
	closeOnce      sync.Once
}

// startFakes re-executes the bench binary as the fakes' child process,
// whose SRS posts hooks to hookURL, and waits for its addresses. The child
// is killed when ctx ends; close stops it.
func startFakes(ctx context.Context, hookURL string) (*fakes, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the bench binary to start the fakes: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(cctx, exe, serveFakesFlag, "--hook", hookURL)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fakes child stdin: %w", err)
	}
	// Our own pipe, not StdoutPipe: Wait must not close it under the reader.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fakes child stdout: %w", err)
	}
	cmd.Stdout = stdoutW
	err = cmd.Start()
	stdoutW.Close()
	if err != nil {
		stdout.Close()
		cancel()
		return nil, fmt.Errorf("start the fakes child %s: %w", exe, err)
	}
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	f := &fakes{client: &http.Client{Transport: tr}, cmd: cmd, stdin: stdin, cancel: cancel, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()

	lines := make(chan string, 1)
	go func() {
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	var addrs fakeAddrs
	select {
	case line, ok := <-lines:
		if !ok {
			f.close()
			return nil, errors.New("fakes child exited before printing its addresses; see its errors above")
		}
		if err := json.Unmarshal([]byte(line), &addrs); err != nil || addrs.OWT == "" || addrs.SRS == "" {
			f.close()
			return nil, fmt.Errorf("fakes child printed %q, want a JSON line with owt and srs URLs", line)
		}
	case <-t.C:
		f.close()
		return nil, errors.New("fakes child printed no addresses within 30s")
	case <-ctx.Done():
		f.close()
		return nil, ctx.Err()
	}
	f.OWTURL, f.SRSURL = addrs.OWT, addrs.SRS
	return f, nil
}

// close stops the child: its stdin closes (it shuts down), and it is
// killed if it has not exited after 5 s.
func (f *fakes) close() {
	f.closeOnce.Do(func() {
		f.client.CloseIdleConnections()
		_ = f.stdin.Close()
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-f.exited:
		case <-t.C:
			f.cancel()
			<-f.exited
		}
		f.cancel()
	})
}

// call sends a JSON request to base+path and decodes a 200 answer into out
// (when not nil).
func (f *fakes) call(ctx context.Context, method, base, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w", method, base, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s%s (is the fakes child still running?): %w", method, base, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s%s: HTTP %d: %s", method, base, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode the answer of %s %s%s: %w", method, base, path, err)
	}
	return nil
}

// activity returns the OWT counts, SRS reads and last agent call.
func (f *fakes) activity(ctx context.Context) (activity, error) {
	var a activity
	err := f.call(ctx, http.MethodGet, f.OWTURL, activityPath, nil, &a)
	return a, err
}

// resetCounts zeroes the OWT counts, the SRS reads and the last call, and
// forgets the recorded reads.
func (f *fakes) resetCounts(ctx context.Context) error {
	return f.call(ctx, http.MethodPost, f.OWTURL, resetPath, nil, nil)
}

// reads returns the API GETs the fakes served since the last resetCounts.
func (f *fakes) reads(ctx context.Context) ([]apiRead, error) {
	var list []apiRead
	err := f.call(ctx, http.MethodGet, f.OWTURL, readsPath, nil, &list)
	return list, err
}

// fault sets fields of the fake OWT's faults (see owtfake's /control/fault).
func (f *fakes) fault(ctx context.Context, fields map[string]any) error {
	return f.call(ctx, http.MethodPost, f.OWTURL, "/control/fault", fields, nil)
}

// setLatency sets the fake OWT's injected round trip.
func (f *fakes) setLatency(ctx context.Context, d time.Duration) error {
	return f.fault(ctx, map[string]any{"latency_ms": float64(d) / float64(time.Millisecond)})
}

// dump returns the fake OWT's full state.
func (f *fakes) dump(ctx context.Context) (owtfake.State, error) {
	var st owtfake.State
	err := f.call(ctx, http.MethodGet, f.OWTURL, "/control/state", nil, &st)
	return st, err
}

// wipe empties the fake OWT (OWT restarted empty).
func (f *fakes) wipe(ctx context.Context) error {
	return f.call(ctx, http.MethodPost, f.OWTURL, "/control/wipe", nil, nil)
}

// createRoom makes a room in OWT that the agent does not own.
func (f *fakes) createRoom(ctx context.Context, name string, views []string) error {
	return f.call(ctx, http.MethodPost, f.OWTURL, "/control/room",
		map[string]any{"service": lab.ServiceID, "name": name, "views": views}, nil)
}

// publish publishes app/stream on the fake SRS's default vhost; unless
// silent, it waits for the agent's on_publish answer.
func (f *fakes) publish(ctx context.Context, app, stream string, silent bool) error {
	return f.call(ctx, http.MethodPost, f.SRSURL, "/control/publish",
		srsfake.ControlPublish{App: app, Stream: stream, Silent: silent}, nil)
}

// publishMany publishes streams "s<m>" in apps "<prefix>-<r>", silently or
// through on_publish, with at most workers control calls at once.
func (f *fakes) publishMany(ctx context.Context, prefix string, rooms, perRoom, workers int, silent bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct{ app, stream string }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := f.publish(ctx, j.app, j.stream, silent); err != nil {
					once.Do(func() { first = fmt.Errorf("publish %s/%s: %w", j.app, j.stream, err); cancel() })
				}
			}
		}()
	}
feed:
	for r := 0; r < rooms; r++ {
		for m := 0; m < perRoom; m++ {
			select {
			case jobs <- job{fmt.Sprintf("%s-%d", prefix, r), fmt.Sprintf("s%d", m)}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// srsIdentity returns the fake SRS's server and service ids.
func (f *fakes) srsIdentity(ctx context.Context) (srsapi.Identity, error) {
	var st srsfake.ControlState
	if err := f.call(ctx, http.MethodGet, f.SRSURL, "/control/state", nil, &st); err != nil {
		return srsapi.Identity{}, err
	}
	return srsapi.Identity{ServerID: st.Server, ServiceID: st.Service, PID: st.PID}, nil
}
