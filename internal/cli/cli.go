// Package cli is the vigil command line. Run builds the command tree and
// executes it with the given arguments and streams, so tests drive it like
// a user does. Commands hold no domain logic: they parse flags, open the
// app (the same database a running server uses) and call a domain service.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// env is what every command shares.
type env struct {
	cfg    config.Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Run executes the vigil command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return RunEnv(ctx, args, stdin, stdout, stderr, os.Getenv)
}

// RunEnv is Run with the environment supplied, for tests.
func RunEnv(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{cfg: config.Default(), stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := e.rootFor(args)
	if err := e.cfg.RegisterFlags(root.PersistentFlags(), getenv); err != nil {
		fmt.Fprintln(stderr, "vigil:", err)
		return 2
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ro *store.ReadOnlyError
		if errors.As(err, &ro) {
			fmt.Fprintf(stderr, "vigil: '%s' changes data, but the database is open read-only (%s); nothing was changed. Run it against a writable database without --read-only.\n", commandPath(root, args), ro.Reason)
			return 1
		}
		if errors.As(err, new(reportedError)) {
			return 1
		}
		var ue usageError
		// Messages quote what was asked and what is stored: escaped line by
		// line, keeping the line breaks of multi-line messages.
		msg := strings.Split(err.Error(), "\n")
		for i := range msg {
			msg[i] = safetext.Terminal(msg[i])
		}
		if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown ") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg(s)") {
			fmt.Fprintf(stderr, "vigil: %s\nRun '%s --help' for usage.\n", strings.Join(msg, "\n"), safetext.Terminal(commandPath(root, args)))
			return 2
		}
		fmt.Fprintln(stderr, "vigil:", strings.Join(msg, "\n"))
		return 1
	}
	return 0
}

func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return "vigil"
	}
	return c.CommandPath()
}

// usageError is a mistake in how a command was called.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// reportedError is a failure the command has already explained on stderr
// in its own layout (e.g. a caret under a pattern); Run exits 1 and prints
// nothing more.
type reportedError struct{ err error }

func (r reportedError) Error() string { return r.err.Error() }
func (r reportedError) Unwrap() error { return r.err }

// rootFor is the command tree for args: when args start with a command's
// name, the root with only that command (its subcommands and flags are
// all there), since building every command's flags is about a millisecond
// of every short command's start (a `vuln scan` of a small SBOM takes a
// few); otherwise — help, completion, a flag first, a mistyped name that
// wants a suggestion — the whole tree.
func (e *env) rootFor(args []string) *cobra.Command {
	if len(args) > 0 {
		if mk, ok := e.commands()[args[0]]; ok {
			root := e.rootOnly()
			root.AddCommand(mk())
			return root
		}
	}
	return e.root()
}

// commands are the top-level commands by name, made on demand; root adds
// them all. TestCommandTable keeps the names right.
func (e *env) commands() map[string]func() *cobra.Command {
	cs := func() *cobra.Command {
		c := e.casesCmd()
		c.AddCommand(e.casesReportCmd(), e.casesKPIsCmd())
		return c
	}
	return map[string]func() *cobra.Command{
		"serve": e.serveCmd, "migrate": e.migrateCmd, "config": e.configCmd, "users": e.usersCmd,
		"tokens": e.tokensCmd, "orgs": e.orgsCmd, "audit": e.auditCmd, "demo": e.demoCmd,
		"version": e.versionCmd, "supply": e.supplyCmd, "alerts": e.alertsCmd, "cases": cs,
		"incidents": e.incidentsCmd, "notifications": e.notificationsCmd, "events": e.eventsCmd,
		"hunt": e.huntCmd, "rules": e.rulesCmd, "vuln": e.vulnCmd, "assurance": e.assuranceCmd,
		"intel": e.intelCmd, "cyberalert": e.cyberAlertCmd,
	}
}

func (e *env) root() *cobra.Command {
	root := e.rootOnly()
	root.AddCommand(e.serveCmd(), e.migrateCmd(), e.configCmd(), e.usersCmd(), e.tokensCmd(), e.orgsCmd(),
		e.auditCmd(), e.demoCmd(), e.versionCmd())
	for _, c := range e.extraCommands() {
		root.AddCommand(c)
	}
	return root
}

// rootOnly is the root command without its commands.
func (e *env) rootOnly() *cobra.Command {
	return &cobra.Command{
		Use:   "vigil",
		Short: "Vigil — national security operations and supplier cyber-risk platform",
		Long: `Vigil runs a national Security Operations Centre and supplier cyber-risk platform for a
health system: organisations and access, protective monitoring, detection, intelligence,
vulnerabilities, incidents and the supplier dependency graph, in one binary.

Start it with 'vigil serve' (embedded SQLite and NATS under --data-dir), or point it at
PostgreSQL (--database-url) and a NATS cluster (--nats). Every command below works on the
same database as a running server.

For forensics, the commands that only read (audit verify and list, orgs list and get, users
list, supply impact, export, concentration, risk and trend, migrate --status, config check)
work on a read-only copy of a data directory ('cp -a vigil-data /mnt/copy; chmod -R a-w
/mnt/copy') and change nothing in it; --read-only does the same on a writable one. Commands
that would change data refuse.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
}

// open opens the app for a CLI command (migrating if needed, so a first
// command on a new data dir just works). Warnings reach stderr: e.g. that
// running servers could not be told of a change (they see it within a few
// seconds anyway).
func (e *env) open(ctx context.Context) (*app.App, error) {
	return app.Open(ctx, e.cfg, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), app.MigrateAuto)
}

// joinNames lists the values of a string enumeration for help text.
func joinNames[T ~string](xs []T) string {
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = string(x)
	}
	return strings.Join(ss, ", ")
}

// withApp opens the app, runs fn with it and closes it, reporting a
// failure to close (a database that did not shut down cleanly) too.
func (e *env) withApp(ctx context.Context, fn func(a *app.App) error) (err error) {
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	if a.DB.ReadOnly && !e.cfg.ReadOnly {
		printf(e.stderr, "vigil: %s: opened read-only; commands that change data will refuse\n", a.DB.ReadOnlyReason)
	}
	return fn(a)
}

// operator is the scope of someone running the CLI on the server: they can
// read the database anyway, so the CLI acts nationally, and the audit log
// records the operating-system user.
func operator() scope.Scope {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	sc := scope.System("cli:" + name)
	sc.UserID = "cli:" + name
	return sc
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			printf(e.stdout, "vigil %s\n", app.Version)
			return nil
		},
	}
}

func (e *env) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the web UI, API and background services",
		Long: `Run Vigil: the web UI and REST API on --http, with the embedded message bus (or --nats).
Pending database migrations are applied first unless --auto-migrate=false.
On a new data directory it creates admin@vigil.local and writes the password to a file
in the data directory (the path is printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			serveGC(e.cfg.GCPercent)
			return app.Run(cmd.Context(), e.cfg, e.stdout, e.stderr)
		},
	}
}

// serveGC sets the collector's target to --gc-percent unless GOGC is
// set: ingest allocates each event and drops it within a batch, so
// collecting less often costs memory the server has and saves CPU it
// does not (docs/performance.md, "Syslog end to end").
func serveGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}

func (e *env) configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	c.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it with secrets hidden",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := newTable(e.stdout)
			for _, kv := range e.cfg.Redacted() {
				t.row(kv[0], kv[1])
			}
			if err := t.flush(); err != nil {
				return err
			}
			if err := e.cfg.Validate(); err != nil {
				return fmt.Errorf("configuration is not valid:\n%w", err)
			}
			fmt.Fprintln(e.stdout, "configuration OK")
			return nil
		},
	})
	return c
}

func checkFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return usagef("--format %q: want one of %s", f, strings.Join(allowed, ", "))
}
