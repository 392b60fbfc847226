package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

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

// exitCode ends a command with a code; its message, if any, was printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// cli carries what every command writes to and reads from.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	root := c.root()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var code exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	}
	// Flag and argument errors: name the command and where its help is.
	cmd, _, ferr := root.Find(args)
	if ferr != nil || cmd == nil {
		cmd = root
	}
	fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for its flags and an example.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return exitError
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "srs-owt-proxy",
		Short: "Pull every stream published to SRS into its OWT room, and clean up when it stops",
		Long: `srs-owt-proxy connects SRS and OWT: when an encoder publishes to SRS, the agent makes OWT
pull the stream into the room the policy names and mixes it into the room's views; when the
publisher leaves, it stops the input and deletes the room if it made it.

Environment: SRS_OWT_CONFIG names agent.yaml when --config is absent, and every agent.yaml key
can be set by SRS_OWT_<PATH> (README.md, "Environment variables").`,
		Example: `  srs-owt-proxy demo                                  # the whole idea, with in-memory SRS and OWT
  srs-owt-proxy validate --config agent.yaml
  srs-owt-proxy diff --config agent.yaml
  srs-owt-proxy run --config agent.yaml --log-format json
  srs-owt-proxy status --url http://127.0.0.1:9108`,
		Version:       version.Get().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs, // an argument is an unknown command
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(c.stderr)
			_ = cmd.Usage()
			return exitCode(exitError)
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetVersionTemplate("srs-owt-proxy {{.Version}}\n")
	// Help: the one-line description, the details, then usage, flags and examples.
	root.SetHelpTemplate(`{{.Short | trimTrailingWhitespaces}}
{{with .Long}}
{{. | trimTrailingWhitespaces}}
{{end}}
{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}`)
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(c.runCmd(), c.diffCmd(), c.syncCmd(), c.validateCmd(), c.statusCmd(), c.demoCmd(), c.versionCmd())
	return root
}

// noArgs rejects arguments: every option of a command is a flag.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes only flags", args[0], cmd.Name())
	}
	return nil
}

// files are the flags naming agent.yaml and the policy, and the flags of
// the agent.yaml keys changed most often.
type files struct {
	config, policy string
	// keys: agent.yaml keys set by flags, by their variable name; a flag
	// beats the variable, which beats the file.
	keys map[string]*string
}

// keyFlags are the agent.yaml keys that have a flag.
var keyFlags = []struct{ flag, key, usage string }{
	{"owt-url", "owt.url", "OWT management API URL"},
	{"hooks-listen", "hooks.listen", "address of the hook server"},
	{"metrics-listen", "agent.metrics_listen", "address of /metrics, /healthz, /readyz and /status"},
	{"state-file", "agent.state_file", "the ownership journal (locked by run and sync)"},
	{"agent-id", "agent.id", "ownership tag written into every streaming-in"},
}

func (f *files) register(cmd *cobra.Command, getenv func(string) string) {
	cmd.Flags().StringVar(&f.config, "config", getenv("SRS_OWT_CONFIG"), "agent.yaml: connections and agent settings ($SRS_OWT_CONFIG)")
	cmd.Flags().StringVar(&f.policy, "policy", "", "policy.yaml (instead of the policy named in agent.yaml)")
	f.keys = map[string]*string{}
	for _, k := range keyFlags {
		env := policy.EnvName(k.key)
		f.keys[env] = cmd.Flags().String(k.flag, "", fmt.Sprintf("%s: overrides %s in agent.yaml and $%s", k.usage, k.key, env))
	}
	// The older short variables of two keys must not beat their flags.
	f.keys[policy.EnvMetricsListen] = f.keys[policy.EnvName("agent.metrics_listen")]
	f.keys[policy.EnvStateFile] = f.keys[policy.EnvName("agent.state_file")]
}

// env is getenv with the key flags given on the command line on top.
func (f *files) env(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v, ok := f.keys[k]; ok && *v != "" {
			return *v
		}
		return getenv(k)
	}
}

// logging are the flags of commands that log.
type logging struct{ format, level string }

func (l *logging) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&l.format, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
}

// logger builds the logger. JSON logs carry durations as seconds (float).
func (l *logging) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", l.level)
	}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationSeconds})), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", l.format)
}

// durationSeconds renders a duration attribute as seconds.
func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}

// load reads agent.yaml and the policy; policyFile is "" for an inline policy.
func (f *files) load(getenv func(string) string) (cfg *policy.Agent, pol *policy.Policy, policyFile string, err error) {
	if f.config == "" {
		return nil, nil, "", errors.New("--config is required (or set SRS_OWT_CONFIG)")
	}
	getenv = f.env(getenv)
	cfg, err = policy.LoadAgent(f.config, getenv)
	if err != nil {
		return nil, nil, "", err
	}
	policyFile = cfg.Policy
	if f.policy != "" {
		policyFile = f.policy
	}
	switch {
	case policyFile != "":
		pol, err = policy.LoadPolicy(policyFile, getenv)
	case cfg.InlinePolicy != nil:
		pol = cfg.InlinePolicy
	default:
		err = fmt.Errorf("%s: no policy: give `policy:` in agent.yaml or --policy", f.config)
	}
	return cfg, pol, policyFile, err
}

// fail prints "cmd: err" and ends the command with exit 1.
func (c *cli) fail(cmd *cobra.Command, err error) error {
	fmt.Fprintf(c.stderr, "%s: %v\n", cmd.Name(), err)
	return exitCode(exitError)
}

func (c *cli) runCmd() *cobra.Command {
	var f files
	var l logging
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: hook server, reconcile engine, /metrics /healthz /readyz /status",
		Long: `Runs until SIGTERM or SIGINT: answers SRS's hooks, keeps OWT equal to the policy's view of SRS,
and serves /metrics, /healthz, /readyz and /status on agent.metrics_listen. SIGHUP reloads the
policy and resyncs. On shutdown it stops taking hooks, finishes the operations in flight and
saves the ownership journal. Exits 1 at once if another process holds the state file.`,
		Example: `  srs-owt-proxy run --config /etc/srs-owt-proxy/agent.yaml --log-format json`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := l.logger(c.stderr)
			if err != nil {
				return c.fail(cmd, err)
			}
			cfg, pol, pfile, err := f.load(c.getenv)
			if err != nil {
				log.Error("cannot start", "err", err)
				return exitCode(exitError)
			}
			for _, w := range pol.Warnings() {
				log.Warn(w)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			a, err := agent.New(agent.Options{Config: cfg, Policy: pol, PolicyFile: pfile, Log: log, Getenv: c.getenv})
			if err != nil {
				log.Error("cannot start", "err", err)
				return exitCode(exitError)
			}
			if err := a.Listen(); err != nil {
				_ = a.Close()
				log.Error("cannot start", "err", err)
				return exitCode(exitError)
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
				return exitCode(exitError)
			}
			return nil
		},
	}
	f.register(cmd, c.getenv)
	l.register(cmd)
	return cmd
}

// oneShot builds the read-once reconciler of diff and sync. A writer (sync)
// holds the journal's single-writer lock until closeJournal.
func oneShot(f *files, getenv func(string) string, log *slog.Logger, writer bool) (*reconcile.OneShot, error) {
	cfg, pol, _, err := f.load(getenv)
	if err != nil {
		return nil, err
	}
	servers, owt, err := agent.Clients(cfg, nil, "")
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

func (c *cli) diffCmd() *cobra.Command {
	var f files
	var l logging
	var output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Print the plan: what the agent would change in OWT now (writes nothing)",
		Long: `Reads SRS and OWT once, maps SRS's streams through the policy and prints the operations that
would make OWT match, terraform-style, held ones with the safety rule that holds them. It never
writes to SRS, OWT or the state file, so it is safe beside a running agent.
Exit codes: 0 ok (with --detailed-exitcode: 0 in sync, 2 changes), 1 error.`,
		Example: `  srs-owt-proxy diff --config agent.yaml
  srs-owt-proxy diff --config agent.yaml -o json --detailed-exitcode`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return c.fail(cmd, fmt.Errorf("--output %q: want text or json", output))
			}
			log, err := l.logger(c.stderr)
			if err != nil {
				return c.fail(cmd, err)
			}
			o, err := oneShot(&f, c.getenv, log, false)
			if err != nil {
				return c.fail(cmd, err)
			}
			// Read-only: nothing is committed, and closing releases nothing held.
			defer func() { _ = o.Journal.Close(context.Background()) }()
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			plan, _, err := o.Plan(ctx)
			var unread *reconcile.UnreadError
			if err != nil && !errors.As(err, &unread) {
				return c.fail(cmd, err)
			}
			if output == "json" {
				err = plan.WriteJSON(c.stdout)
			} else {
				err = plan.WriteText(c.stdout)
			}
			if err != nil {
				return c.fail(cmd, err)
			}
			if unread != nil {
				// The plan stands for the servers read; scripts must notice the rest.
				return c.fail(cmd, unread)
			}
			if detailed && !plan.Summary().InSync() {
				return exitCode(exitChanges)
			}
			return nil
		},
	}
	f.register(cmd, c.getenv)
	l.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "plan format: text or json")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when the plan has changes (0 in sync, 1 on error)")
	return cmd
}

func (c *cli) syncCmd() *cobra.Command {
	var f files
	var l logging
	var once bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Apply one reconcile pass and print what was done (--once)",
		Long: `Reads SRS and OWT, prints the plan, applies it and prints each result. It takes the state file's
lock like run: it exits 1 at once if an agent is running with the same state file.
Exit codes: 0 every operation applied, 1 any failure.`,
		Example: `  srs-owt-proxy sync --config agent.yaml --once`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return c.fail(cmd, errors.New("only --once is supported; use `run` for the long-running agent"))
			}
			log, err := l.logger(c.stderr)
			if err != nil {
				return c.fail(cmd, err)
			}
			o, err := oneShot(&f, c.getenv, log, true)
			if err != nil {
				return c.fail(cmd, err)
			}
			code := exitOK
			defer func() {
				if err := closeJournal(o); err != nil {
					fmt.Fprintln(c.stderr, "sync:", err)
				}
			}()
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			plan, ob, err := o.Plan(ctx)
			var unread *reconcile.UnreadError
			if err != nil && !errors.As(err, &unread) {
				return c.fail(cmd, err)
			}
			_ = plan.WriteText(c.stdout)
			results, err := o.Apply(ctx, plan, ob)
			failed := 0
			for _, r := range results {
				mark := "ok"
				if r.Err != nil {
					failed++
					mark = "FAILED: " + r.Err.Error()
				}
				fmt.Fprintf(c.stdout, "%s %s %s %s: %s (%s)\n", r.Op.Kind, r.Op.Room, r.Op.Stream, r.Op.View, mark, r.Duration.Round(time.Millisecond))
			}
			fmt.Fprintf(c.stdout, "Applied: %d operation(s), %d failed.\n", len(results), failed)
			if err != nil {
				return c.fail(cmd, err)
			}
			if unread != nil {
				return c.fail(cmd, unread)
			}
			if failed > 0 {
				code = exitError
			}
			if code != exitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	f.register(cmd, c.getenv)
	l.register(cmd)
	cmd.Flags().BoolVar(&once, "once", false, "one reconcile pass, then exit (required)")
	return cmd
}

func (c *cli) validateCmd() *cobra.Command {
	var f files
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check agent.yaml and the policy; print a summary or every problem as file:line: field: problem",
		Long: `Loads agent.yaml (with its SRS_OWT_* variables and secrets) and the policy it names, or a policy
alone, and reports every problem at once. Warnings (a policy that routes nothing) go to stderr
and keep exit 0.`,
		Example: `  srs-owt-proxy validate --config agent.yaml
  srs-owt-proxy validate --policy policy.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.config == "" && f.policy == "" {
				return c.fail(cmd, errors.New("give --config, --policy or both"))
			}
			var summary string
			var pol *policy.Policy
			if f.config != "" {
				cfg, p, pfile, err := f.load(c.getenv)
				if err != nil {
					fmt.Fprintln(c.stderr, err)
					return exitCode(exitError)
				}
				where := "inline policy"
				if pfile != "" {
					where = pfile
				}
				pol = p
				summary = fmt.Sprintf("%s: %d SRS server(s), OWT %s; %s: %s", f.config, len(cfg.SRS), cfg.OWT.URL, where, pol.Summary())
			} else {
				p, err := policy.LoadPolicy(f.policy, c.getenv)
				if err != nil {
					fmt.Fprintln(c.stderr, err)
					return exitCode(exitError)
				}
				pol = p
				summary = f.policy + ": " + pol.Summary()
			}
			for _, w := range pol.Warnings() {
				fmt.Fprintln(c.stderr, "warning:", w)
			}
			fmt.Fprintln(c.stdout, "valid:", summary)
			return nil
		},
	}
	f.register(cmd, c.getenv)
	return cmd
}

func (c *cli) demoCmd() *cobra.Command {
	var stepTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the whole idea with in-memory SRS and OWT: publish, unpublish, drift, a policy edit",
		Long: `Starts an in-memory SRS and OWT on 127.0.0.1, the agent between them, and a scripted story:
streams published and unpublished, a room deleted behind the agent's back, a policy edit and
OWT wiped; after each step it shows the agent's operations and checks that OWT converged.
Needs no server and writes nothing outside a temporary directory.`,
		Example: `  srs-owt-proxy demo
  make demo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := demo(c.stdout, stepTimeout); err != nil {
				fmt.Fprintln(c.stdout, "\nDEMO FAILED:", err)
				return exitCode(exitError)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&stepTimeout, "step-timeout", 20*time.Second, "how long each step may take to converge")
	return cmd
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit, build date and Go version",
		Example: `  srs-owt-proxy version`,
		Args:    noArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintln(c.stdout, "srs-owt-proxy", version.Get())
		},
	}
}
