// Command fake-srs serves the in-memory SRS 6 of package srsfake: the SRS
// HTTP API plus a control API under /control/, posting hooks to --hook.
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
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on w and returns the process's exit code: 0 after
// --help or a clean shutdown, 1 on any error.
func exitCode(err error, w io.Writer) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(w, "fake-srs:", err)
	fmt.Fprintln(w, "Run 'fake-srs --help' for its flags and an example.")
	return 1
}

// usage heads fake-srs --help.
const usage = `fake-srs: an in-memory SRS 6 (HTTP API and hooks, control API under /control/)

Serves SRS's /api/v1/streams/, /api/v1/vhosts/ and friends, and posts on_publish/on_unpublish
hooks like SRS 6, for tests, the demo and trying the agent without SRS. Publish and unpublish
streams through /control/ (see srsapi/srsfake/README.md).

Usage:
  fake-srs [flags]

Example:
  fake-srs --listen 127.0.0.1:1985 --hook http://127.0.0.1:8085/api/v1/streams?token=CHANGE_ME

Flags:
`

// run serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := pflag.NewFlagSet("fake-srs", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help prints below
	fs.Usage = func() { fmt.Fprint(out, usage, fs.FlagUsages()) }
	listen := fs.String("listen", "127.0.0.1:1985", "address of the SRS HTTP API and /control/ API")
	hook := fs.String("hook", "", "on_publish/on_unpublish URL, e.g. http://127.0.0.1:8085/api/v1/streams (empty: no hooks)")
	playHook := fs.String("play-hook", "", "optional on_play/on_stop URL")
	vhosts := fs.StringArray("vhost", nil, "configured vhost name besides __defaultVhost__ (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; all options are flags", fs.Args())
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           srsfake.New(srsfake.Options{HookURL: *hook, PlayHookURL: *playHook, Vhosts: *vhosts}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(out, "fake-srs listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
