// Command fake-owt serves the in-memory OWT management API of package
// owtfake (MAuth-protected /v1 and /v1.1) plus its control API under
// /control/, with optional fault injection from the start.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// serviceKeyEnv is read when --service-key is not given, to keep the key
// out of the process list.
const serviceKeyEnv = "FAKE_OWT_SERVICE_KEY"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on w and returns the process's exit code: 0 after
// --help or a clean shutdown, 1 on any error.
func exitCode(err error, w io.Writer) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(w, "fake-owt:", err)
	fmt.Fprintln(w, "Run 'fake-owt --help' for its flags and an example.")
	return 1
}

// config is the parsed command line.
type config struct {
	listen           string
	serviceID        string
	serviceKey       string
	latency          time.Duration
	jitter           time.Duration
	errorRate        float64
	dropRate         float64
	streamingInDelay time.Duration
	createRoomDelay  time.Duration
	unreachable      string
	idleTimeout      time.Duration
	seed             int64
	outputDelay      time.Duration
	outputRPCTimeout time.Duration
	pushFail         string
	pushFailAfter    time.Duration
	recordingHost    string
}

// usage heads fake-owt --help.
const usage = `fake-owt: an in-memory OWT management API (MAuth /v1 and /v1.1, control API under /control/)

Serves rooms, streams, streaming-ins and participants like OWT's management API, for tests,
the demo and trying the agent without OWT. Faults (latency, 5xx, dropped connections, slow or
failing streaming-ins) can be set here or later through /control/.

Usage:
  fake-owt --service-id ID [--service-key KEY] [flags]

Example:
  FAKE_OWT_SERVICE_KEY=abc fake-owt --listen 127.0.0.1:3000 --service-id 5f0000000000000000000001 --latency 200ms

Flags:
`

// objectIDPattern is the form of an OWT service id.
var objectIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)

// parseFlags reads and checks the command line.
func parseFlags(args []string, out io.Writer, getenv func(string) string) (config, error) {
	var c config
	fs := pflag.NewFlagSet("fake-owt", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help prints below
	fs.Usage = func() { fmt.Fprint(out, usage, fs.FlagUsages()) }
	fs.StringVar(&c.listen, "listen", "127.0.0.1:3000", "address of the OWT API and /control/ API (port 0 = any free port)")
	fs.StringVar(&c.serviceID, "service-id", "", "service id the API accepts (24 hex characters)")
	fs.StringVar(&c.serviceKey, "service-key", "", "service key (default: $"+serviceKeyEnv+")")
	fs.DurationVar(&c.latency, "latency", 0, "fixed delay added to every /v1 call")
	fs.DurationVar(&c.jitter, "jitter", 0, "uniform extra delay in [0, jitter) per /v1 call")
	fs.Float64Var(&c.errorRate, "error-rate", 0, "probability that a /v1 call answers 500/1301")
	fs.Float64Var(&c.dropRate, "drop-rate", 0, "probability that a /v1 call loses its connection")
	fs.DurationVar(&c.streamingInDelay, "streaming-in-delay", 0, "time POST streaming-ins takes (the stream is hidden meanwhile)")
	fs.DurationVar(&c.createRoomDelay, "create-room-reply-delay", 0, "time POST /v1/rooms takes to answer (the room exists and is listed meanwhile)")
	fs.StringVar(&c.unreachable, "unreachable", "", "regexp of streaming-in URLs that fail with 500/1301")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 0, "drop the mixed streams of a room idle this long (0 = never)")
	fs.Int64Var(&c.seed, "seed", 0, "random seed for ids and faults (0 = time based)")
	fs.DurationVar(&c.outputDelay, "output-delay", 0, "time a new streaming-out or recording stays connecting (past --output-rpc-timeout the POST fails with 500/1301 and the output still appears)")
	fs.DurationVar(&c.outputRPCTimeout, "output-rpc-timeout", owtfake.DefaultOutputRPCTimeout, "RPC timeout of output POSTs (OWT: 2s)")
	fs.StringVar(&c.pushFail, "push-fail", "", "regexp of streaming-out URLs whose push fails: the output vanishes (hosts under .invalid always fail)")
	fs.DurationVar(&c.pushFailAfter, "push-fail-after", owtfake.DefaultPushFailAfter, "how long after connecting a failing push vanishes")
	fs.StringVar(&c.recordingHost, "recording-host", "127.0.0.1", "recording node address reported in recordings' storage.host")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q; all options are flags", fs.Args())
	}
	if !objectIDPattern.MatchString(c.serviceID) {
		return c, fmt.Errorf("--service-id %q must be 24 hex characters, like an OWT service id", c.serviceID)
	}
	if c.serviceKey == "" {
		c.serviceKey = getenv(serviceKeyEnv)
	}
	if c.serviceKey == "" {
		return c, fmt.Errorf("no service key: pass --service-key or set %s", serviceKeyEnv)
	}
	for name, rate := range map[string]float64{"--error-rate": c.errorRate, "--drop-rate": c.dropRate} {
		if rate < 0 || rate > 1 {
			return c, fmt.Errorf("%s %v must be between 0 and 1", name, rate)
		}
	}
	return c, nil
}

// newFake builds the fake with the configured faults.
func newFake(c config) (*owtfake.Server, error) {
	fake := owtfake.New(owtfake.Options{
		Services:    map[string]string{c.serviceID: c.serviceKey},
		IdleTimeout: c.idleTimeout,
		Seed:        c.seed,

		RecordingHost: c.recordingHost,
	})
	fake.SetLatency(c.latency)
	fake.SetLatencyJitter(c.jitter)
	fake.SetErrorRate("", c.errorRate)
	fake.SetDropRate("", c.dropRate)
	fake.SetStreamingInDelay(c.streamingInDelay)
	fake.SetCreateRoomReplyDelay(c.createRoomDelay)
	if err := fake.SetUnreachable(c.unreachable); err != nil {
		return nil, fmt.Errorf("--unreachable: %w", err)
	}
	if err := fake.SetPushFailure(c.pushFail, c.pushFailAfter); err != nil {
		return nil, fmt.Errorf("--push-fail: %w", err)
	}
	fake.SetOutputDelay(c.outputDelay)
	fake.SetOutputRPCTimeout(c.outputRPCTimeout)
	return fake, nil
}

// run serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	c, err := parseFlags(args, out, getenv)
	if err != nil {
		return err
	}
	fake, err := newFake(c)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "fake-owt listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Slow streaming-ins may still be waiting: cut them off.
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
