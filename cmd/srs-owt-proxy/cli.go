package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/version"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// Exit codes. diff --detailed-exitcode uses exitChanges when the plan has changes.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

const usage = `usage: srs-owt-proxy <command> [flags]

commands:
  run       --config agent.yaml [--policy policy.yaml] [--log-format text|json]
  diff      --config agent.yaml [--policy policy.yaml] [--output text|json] [--detailed-exitcode]
  sync      --config agent.yaml [--policy policy.yaml] --once
  validate  [--config agent.yaml] [--policy policy.yaml]
  status    [--url http://127.0.0.1:9108] [-o table|json]
  demo      the whole idea in one command, with in-memory SRS and OWT
  version

Environment: SRS_OWT_CONFIG and SRS_OWT_POLICY name the files when the
flags are absent; SRS_OWT_* variables override agent.yaml (see README).
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stdout, stderr, getenv)
	case "diff":
		return cmdDiff(rest, stdout, stderr, getenv)
	case "sync":
		return cmdSync(rest, stdout, stderr, getenv)
	case "validate":
		return cmdValidate(rest, stdout, stderr, getenv)
	case "status":
		return cmdStatus(rest, stdout, stderr, getenv)
	case "demo":
		return runDemo(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "srs-owt-proxy", version.Get())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "srs-owt-proxy: unknown command %q\n\n%s", cmd, usage)
	return exitError
}

// common flags of commands that talk to the servers.
type common struct {
	config, policy, logFormat, logLevel string
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.config, "config", getenv("SRS_OWT_CONFIG"), "agent.yaml: connections and agent settings")
	fs.StringVar(&c.policy, "policy", "", "policy.yaml (overrides the policy named in agent.yaml)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

// load reads agent.yaml and the policy; policyFile is "" for an inline policy.
func (c *common) load(getenv func(string) string) (cfg *policy.Agent, pol *policy.Policy, policyFile string, err error) {
	if c.config == "" {
		return nil, nil, "", errors.New("--config is required (or set SRS_OWT_CONFIG)")
	}
	cfg, err = policy.LoadAgent(c.config, getenv)
	if err != nil {
		return nil, nil, "", err
	}
	policyFile = cfg.Policy
	if c.policy != "" {
		policyFile = c.policy
	}
	switch {
	case policyFile != "":
		pol, err = policy.LoadPolicy(policyFile, getenv)
	case cfg.InlinePolicy != nil:
		pol = cfg.InlinePolicy
	default:
		err = fmt.Errorf("%s: no policy: give `policy:` in agent.yaml or --policy", c.config)
	}
	return cfg, pol, policyFile, err
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func cmdRun(args []string, _, stderr io.Writer, getenv func(string) string) int {
	var c common
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	c.register(fs, getenv)
	if !parse(fs, args, stderr) {
		return exitError
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "srs-owt-proxy run:", err)
		return exitError
	}
	cfg, pol, pfile, err := c.load(getenv)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := agent.New(agent.Options{Config: cfg, Policy: pol, PolicyFile: pfile, Log: log, Getenv: getenv})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitError
	}
	if err := a.Listen(); err != nil {
		_ = a.Close()
		log.Error("cannot start", "err", err)
		return exitError
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the policy and resyncing")
				a.Reload()
			}
		}
	}()
	if err := a.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitError
	}
	return exitOK
}

// oneShot builds the read-once reconciler of diff and sync. A writer (sync)
// holds the journal's single-writer lock until closeJournal.
func oneShot(c *common, getenv func(string) string, log *slog.Logger, writer bool) (*reconcile.OneShot, error) {
	cfg, pol, _, err := c.load(getenv)
	if err != nil {
		return nil, err
	}
	servers, owt, err := agent.Clients(cfg, nil)
	if err != nil {
		return nil, err
	}
	j, err := agent.OpenJournal(cfg, writer)
	if err != nil {
		return nil, err
	}
	return &reconcile.OneShot{Agent: cfg.Agent.ID, Servers: servers, OWT: owt, Journal: j, Policy: pol, Log: log,
		PendingHold: cfg.OWT.PendingHold}, nil
}

// closeJournal releases a one-shot's journal: sync writes what is left.
func closeJournal(o *reconcile.OneShot) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return o.Journal.Close(ctx)
}

func cmdDiff(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var c common
	var output string
	var detailed bool
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	c.register(fs, getenv)
	fs.StringVar(&output, "output", "text", "plan format: text or json")
	fs.BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when the plan has changes (0 in sync, 1 on error)")
	if !parse(fs, args, stderr) {
		return exitError
	}
	if output != "text" && output != "json" {
		fmt.Fprintf(stderr, "diff: --output %q: want text or json\n", output)
		return exitError
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "diff:", err)
		return exitError
	}
	o, err := oneShot(&c, getenv, log, false)
	if err != nil {
		fmt.Fprintln(stderr, "diff:", err)
		return exitError
	}
	// Read-only: nothing is committed, and closing releases nothing held.
	defer func() { _ = o.Journal.Close(context.Background()) }()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	plan, _, err := o.Plan(ctx)
	var unread *reconcile.UnreadError
	if err != nil && !errors.As(err, &unread) {
		fmt.Fprintln(stderr, "diff:", err)
		return exitError
	}
	if output == "json" {
		err = plan.WriteJSON(stdout)
	} else {
		err = plan.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "diff:", err)
		return exitError
	}
	if unread != nil {
		// The plan stands for the servers read; scripts must notice the rest.
		fmt.Fprintln(stderr, "diff:", unread)
		return exitError
	}
	if detailed && !plan.Summary().InSync() {
		return exitChanges
	}
	return exitOK
}

func cmdSync(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var c common
	var once bool
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	c.register(fs, getenv)
	fs.BoolVar(&once, "once", false, "one reconcile pass, then exit (required)")
	if !parse(fs, args, stderr) {
		return exitError
	}
	if !once {
		fmt.Fprintln(stderr, "sync: only --once is supported; use `run` for the long-running agent")
		return exitError
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sync:", err)
		return exitError
	}
	o, err := oneShot(&c, getenv, log, true)
	if err != nil {
		fmt.Fprintln(stderr, "sync:", err)
		return exitError
	}
	defer func() {
		if err := closeJournal(o); err != nil {
			fmt.Fprintln(stderr, "sync:", err)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	plan, ob, err := o.Plan(ctx)
	var unread *reconcile.UnreadError
	if err != nil && !errors.As(err, &unread) {
		fmt.Fprintln(stderr, "sync:", err)
		return exitError
	}
	_ = plan.WriteText(stdout)
	results, err := o.Apply(ctx, plan, ob)
	failed := 0
	for _, r := range results {
		mark := "ok"
		if r.Err != nil {
			failed++
			mark = "FAILED: " + r.Err.Error()
		}
		fmt.Fprintf(stdout, "%s %s %s %s: %s (%s)\n", r.Op.Kind, r.Op.Room, r.Op.Stream, r.Op.View, mark, r.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "Applied: %d operation(s), %d failed.\n", len(results), failed)
	if err != nil {
		fmt.Fprintln(stderr, "sync:", err)
		return exitError
	}
	if unread != nil {
		fmt.Fprintln(stderr, "sync:", unread)
		return exitError
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}

func cmdValidate(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var c common
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	c.register(fs, getenv)
	if !parse(fs, args, stderr) {
		return exitError
	}
	if c.config == "" && c.policy == "" {
		fmt.Fprintln(stderr, "validate: give --config, --policy or both")
		return exitError
	}
	var summary string
	if c.config != "" {
		cfg, pol, pfile, err := c.load(getenv)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		where := "inline policy"
		if pfile != "" {
			where = pfile
		}
		summary = fmt.Sprintf("%s: %d SRS server(s), OWT %s; %s: %s", c.config, len(cfg.SRS), cfg.OWT.URL, where, pol.Summary())
		for _, w := range pol.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	} else {
		pol, err := policy.LoadPolicy(c.policy, getenv)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		summary = c.policy + ": " + pol.Summary()
		for _, w := range pol.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
	fmt.Fprintln(stdout, "valid:", summary)
	return exitOK
}
