// Command fake-srs serves the in-memory SRS 6 of package srsfake: the SRS
// HTTP API plus a control API under /control/, posting hooks to --hook.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fake-srs:", err)
		os.Exit(1)
	}
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// run serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fake-srs", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "127.0.0.1:1985", "address of the SRS HTTP API and /control/ API")
	hook := fs.String("hook", "", "on_publish/on_unpublish URL, e.g. http://127.0.0.1:8085/api/v1/streams (empty: no hooks)")
	playHook := fs.String("play-hook", "", "optional on_play/on_stop URL")
	var vhosts listFlag
	fs.Var(&vhosts, "vhost", "configured vhost name besides __defaultVhost__ (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           srsfake.New(srsfake.Options{HookURL: *hook, PlayHookURL: *playHook, Vhosts: vhosts}),
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
