// Package app is Vigil's composition root: from a Config it opens the
// store, builds each domain service, and for `vigil serve` starts the bus
// and the HTTP server, stopping them in reverse order. Signal handling
// lives here and nowhere else.
package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/vigil-health/vigil/internal/assurance"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/pull"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/seal"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Version is set at build time with -ldflags "-X …/internal/app.Version=…".
var Version = "dev"

// Migrations lists every domain's schema, in dependency order.
func Migrations() []store.MigrationSet {
	return []store.MigrationSet{audit.Migrations(), org.Migrations(), auth.Migrations(), supply.Migrations(), geo.Migrations(), cases.Migrations(), savedview.Migrations(), notify.Migrations(), events.Migrations(), rules.Migrations(), assurance.Migrations(), intel.Migrations(), vuln.Migrations()}
}

// App holds the opened store and the domain services built on it.
type App struct {
	Config config.Config
	Log    *slog.Logger
	DB     *store.DB
	Audit  *audit.Log
	Orgs   *org.Service
	Auth   *auth.Service
	Supply *supply.Service
	// Assurance holds requirement sets and DSPT statuses (issue 20).
	Assurance *assurance.Service
	// Cases is the alerts inbox and case management (issue 15).
	Cases *cases.Service
	// Reports exports cases (Markdown, HTML, PDF, the regulatory pack).
	Reports *casereport.Service
	// Notify sends e-mail and webhooks about cases and keeps each
	// person's settings; `serve` starts its sending (Server.Start).
	Notify *notify.Service
	// Geo holds the map boundaries of ICBs and regions.
	Geo *geo.Store
	// Events is the event store of protective monitoring (issue 16):
	// search, counts and histograms, every read within the caller's scope.
	Events events.Store
	// Views keeps each person's saved views: the inbox's (through Cases)
	// and their saved event searches (EventSearches).
	Views *savedview.Service
	// EventSearches are people's saved event searches.
	EventSearches *events.Searches
	// Rules is Sigma rule management: stored rules, their versions,
	// per-organisation settings, exceptions and hit statistics (issue 17).
	Rules *rules.Service
	// Intel is the STIX 2.1 store of threat intelligence (issue 19).
	Intel *intel.Store
	// Feeds pulls remote TAXII collections and MISP feeds into Intel;
	// `vigil serve`'s leader runs the scheduled pulls (leader.go).
	Feeds *pull.Puller
	// Alerts are the national cyber alerts (issue 18): issue, the
	// organisations in scope from the supplier register, responses,
	// clocks (a leader duty) and the dashboard.
	Alerts *vuln.Alerts
	// SBOMs are the stored SBOMs of supplier products and organisations'
	// inventories, matched against OSV (issue 18).
	SBOMs *vuln.SBOMs
	// Hasher bounds the process's concurrent password hashing
	// (--password-hash-memory).
	Hasher *auth.Hasher
	Now    func() time.Time

	changes *changes // announces changes to other processes (changes.go)
	closers []func() error
}

// NewLogger builds the process logger writing to w. At --log-level auto
// (the default) a terminal gets warnings and errors only, so that `vigil
// serve` started by a person shows its address and sign-in hint rather
// than a line for every migration and request; anything else (a journal,
// a container's log, a file) gets info as well.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if cfg.LogLevel == "auto" {
		lvl = slog.LevelInfo
		if isTerminal(w) {
			lvl = slog.LevelWarn
		}
	} else {
		_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel))) // config.Validate has checked the level
	}
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// MigrateMode says what Open does about pending migrations.
type MigrateMode int

const (
	// MigrateAuto applies pending migrations (serve with --auto-migrate, CLI commands).
	MigrateAuto MigrateMode = iota
	// MigrateCheck refuses to run if any are pending.
	MigrateCheck
	// MigrateNone skips the check (the migrate command itself).
	MigrateNone
)

// Open opens the store and builds the domain services; it does not start
// the bus or the HTTP server. CLI commands use it, so they work on the
// same database as a running server.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, mode MigrateMode) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &App{Config: cfg, Log: log, Now: time.Now, changes: newChanges(log.With("component", "changes"))}
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, ReadOnly: cfg.ReadOnly})
	if err != nil {
		return nil, err
	}
	a.DB = db
	a.closers = append(a.closers, db.Close)
	if db.ReadOnly && mode == MigrateAuto {
		// Nothing may be written, so nothing is migrated: the schema
		// must be the one this vigil knows.
		mode = MigrateCheck
	}
	switch mode {
	case MigrateAuto:
		done, err := db.Migrate(ctx, Migrations()...)
		if err != nil {
			return nil, errors.Join(err, a.Close())
		}
		for _, m := range done {
			log.Info("migration applied", "domain", m.Domain, "version", m.Version, "name", m.Name)
		}
	case MigrateCheck:
		if err := db.Check(ctx, Migrations()...); err != nil {
			if db.ReadOnly && errors.Is(err, store.ErrSchemaOlder) {
				err = fmt.Errorf("%w; a database open read-only (%s) is not migrated: use the vigil that wrote it, or migrate a writable copy", err, db.ReadOnlyReason)
			}
			return nil, errors.Join(err, a.Close())
		}
	}
	if err := a.build(ctx); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	// Before the store closes: a CLI command tells running servers what it
	// changed (a server announces at once, on its own bus).
	a.closers = append(a.closers, func() error { a.changes.flush(a.DB, a.Config.NATSURL, a.Config.NATSPrefix); return nil })
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	var err error
	// First, so that on a new install the audit.keyed entry that begins
	// the keyed chain is entry 1.
	a.Audit, err = audit.Open(ctx, audit.Options{DB: a.DB, Now: a.Now, Key: a.Config.AuditKey, KeyFile: a.Config.AuditKeyPath(),
		KeyHint: "--audit-key-file or VIGIL_AUDIT_KEY", Logger: a.Log.With("component", "audit")})
	if err != nil {
		return err
	}
	if a.Orgs, err = org.New(org.Options{DB: a.DB, Audit: a.Audit, Now: a.Now, Logger: a.Log}); err != nil {
		return err
	}
	if !a.DB.ReadOnly {
		if err := a.Orgs.EnsureRoot(ctx); err != nil {
			// Before migrations the table may not exist; the migrate command builds no services.
			return fmt.Errorf("create national root organisation: %w", err)
		}
	}
	a.Hasher = auth.NewHasher(auth.HashSlotsFor(a.Config.PasswordHashMemoryMiB), 0)
	if a.Auth, err = auth.New(auth.Options{DB: a.DB, Audit: a.Audit, Orgs: a.Orgs, Now: a.Now, Logger: a.Log, Hasher: a.Hasher}); err != nil {
		return err
	}
	if a.Supply, err = supply.New(supply.Options{DB: a.DB, Audit: a.Audit, Orgs: a.Orgs, Now: a.Now, Logger: a.Log.With("component", "supply")}); err != nil {
		return err
	}
	// The supplier graph holds organisation names, types and places in the
	// tree: rebuild it when they change, here and in every other process.
	a.Orgs.OnChange(func() {
		a.Supply.Invalidate()
		a.changes.changed(changedOrgs)
	})
	a.Supply.OnChange(func() { a.changes.changed(changedSupply) })
	if a.Geo, err = geo.New(geo.Options{DB: a.DB, Audit: a.Audit, Now: a.Now}); err != nil {
		return err
	}
	sla, err := cases.ParseSLA(a.Config.CaseSLA)
	if err != nil {
		return fmt.Errorf("--case-sla: %w", err)
	}
	if a.Views, err = savedview.New(savedview.Options{DB: a.DB, Audit: a.Audit, Now: a.Now}); err != nil {
		return err
	}
	if a.Cases, err = cases.New(cases.Options{DB: a.DB, Audit: a.Audit, Orgs: a.Orgs, Users: caseUsers{a.Auth}, Supply: a.Supply,
		Now: a.Now, Logger: a.Log.With("component", "cases"), SLA: sla, Views: a.Views}); err != nil {
		return err
	}
	a.closers = append(a.closers, a.Cases.Close)
	if a.Reports, err = casereport.New(casereport.Options{Cases: a.Cases, Orgs: a.Orgs, Audit: a.Audit, Now: a.Now}); err != nil {
		return err
	}
	if a.Notify, err = notify.New(notify.Options{DB: a.DB, Audit: a.Audit, Cases: a.Cases, Users: caseUsers{a.Auth}, BaseURL: a.Config.PublicURL(),
		SMTP:              notify.SMTP{Addr: a.Config.SMTPAddr, From: a.Config.SMTPFrom, User: a.Config.SMTPUser, Password: a.Config.SMTPPassword, StartTLS: a.Config.SMTPStartTLS},
		AllowHTTPWebhooks: a.Config.WebhookAllowHTTP, Now: a.Now, Logger: a.Log.With("component", "notify")}); err != nil {
		return err
	}
	if a.Alerts, err = vuln.NewAlerts(vuln.AlertOptions{DB: a.DB, Audit: a.Audit, Register: a.Supply, Orgs: a.Orgs, Notifier: alertNotifier{a.Auth, a.Notify},
		BaseURL: a.Config.PublicURL(), Now: a.Now, Logger: a.Log.With("component", "cyberalerts")}); err != nil {
		return err
	}
	a.closers = append(a.closers, a.Alerts.Close)
	// Assurance e-mails campaign reminders as the cyber alerts do.
	if a.Assurance, err = assurance.New(assurance.Options{DB: a.DB, Audit: a.Audit, Orgs: a.Orgs, Suppliers: a.Supply, Register: a.Supply, Graph: a.Supply,
		Notifier: assuranceNotifier{a.Auth, a.Notify}, BaseURL: a.Config.PublicURL(), Logger: a.Log.With("component", "assurance"), Now: a.Now}); err != nil {
		return err
	}
	vsla, err := vuln.ParseSLA(a.Config.VulnSLA)
	if err != nil {
		return fmt.Errorf("--vuln-sla: %w", err)
	}
	kevFile, epssFile := a.vulnSourceFiles()
	if a.SBOMs, err = vuln.NewSBOMs(vuln.SBOMOptions{DB: a.DB, Audit: a.Audit, Register: a.Supply, Orgs: a.Orgs, OSVDir: a.vulnOSVDir(),
		KEVFile: kevFile, EPSSFile: epssFile, SLA: vsla, Now: a.Now, Logger: a.Log.With("component", "sboms")}); err != nil {
		return err
	}
	a.Assurance.SetExposure(a.SBOMs, a.Cases) // the prioritisation view's live exposure
	if a.Config.EventsURL != "" {
		ch, err := events.NewClickHouse(ctx, events.ClickHouseOptions{URL: a.Config.EventsURL, Orgs: a.Orgs, Now: a.Now})
		if err != nil {
			return fmt.Errorf("--events-url: %w", err)
		}
		a.Events = ch
		a.closers = append(a.closers, ch.Close)
	} else {
		st, kind, err := events.Open(ctx, events.Options{DB: a.DB, Now: a.Now}, a.Config.EventsStore)
		if err != nil {
			return err // says which flag, or which store failed
		}
		a.Events = st
		if c, ok := st.(interface{ Close() error }); ok {
			a.closers = append(a.closers, c.Close)
		}
		a.Log.Debug("events: the store", "kind", kind)
	}
	if a.EventSearches, err = events.NewSearches(a.Views, a.Now); err != nil {
		return err
	}
	var ruleOpts sigma.Options
	if a.Config.RulePlaceholders != "" {
		ph, err := sigma.LoadPlaceholders(a.Config.RulePlaceholders)
		if err != nil {
			return fmt.Errorf("--rule-placeholders: %w", err)
		}
		ruleOpts.Placeholders = ph
	}
	if a.Rules, err = rules.New(rules.Options{DB: a.DB, Audit: a.Audit, Orgs: a.Orgs, Sigma: ruleOpts, Now: a.Now}); err != nil {
		return err
	}
	secrets, created, err := a.secretsKey()
	if err != nil {
		return err
	}
	if a.Intel, err = intel.New(intel.Options{DB: a.DB, Audit: a.Audit, Now: a.Now, OrgPath: a.Orgs.PathOf, Secrets: secrets, Rules: a.Rules}); err != nil {
		return err
	}
	if created {
		// A new key against a database whose secrets another key sealed:
		// a server (or a CLI on another machine) not given the
		// deployment's key file. Sealing with the new key would split the
		// secrets between two keys, so stop and say so.
		n, err := a.Intel.UnopenableFeedSecrets(ctx)
		if err == nil && n > 0 {
			err = fmt.Errorf("the database holds %d feed secrets sealed with a secrets key this server does not have, and there was no key at %s; copy the secrets key file from a server that writes this database, or give it with --secrets-key-file or VIGIL_SECRETS_KEY",
				n, a.Config.SecretsKeyPath())
			if rerr := os.Remove(a.Config.SecretsKeyPath()); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		if err != nil {
			return err
		}
	}
	if !a.DB.ReadOnly {
		// Feed secrets kept in clear text before they were sealed, or
		// sealed with a key since rotated out of first place.
		n, unknown, err := a.Intel.SealFeedSecrets(ctx)
		if err != nil {
			return fmt.Errorf("sealing the feeds' secrets: %w", err)
		}
		if n > 0 {
			a.Log.Info("intelligence feed secrets sealed with the secrets key", "feeds", n, "key_id", secrets.ID())
		}
		if unknown > 0 {
			a.Log.Warn("intelligence feed secrets sealed with a key this server does not hold: those feeds fail until it has the secrets key file of the servers that sealed them",
				"feeds", unknown, "file", a.Config.SecretsKeyPath())
		}
	}
	if a.Feeds, err = pull.New(pull.Options{Store: a.Intel, Now: a.Now, Log: a.Log.With("component", "intel-feeds"), AllowPrivate: a.Config.IntelFeedsPrivate}); err != nil {
		return err
	}
	// An IOC alert's verdict is a verdict on its indicator (ioc_verdicts.go).
	a.Cases.OnEvent(iocVerdicts(a.Cases, a.Intel, a.Log.With("component", "ioc")))
	// Every server matches the stored indicators (ioc.go): tell the
	// others of an import.
	a.Intel.OnChange(func() { a.changes.changed(changedIntel) })
	// Every server runs the stored rules: tell the others of a change.
	a.Rules.OnChange(func() { a.changes.changed(changedRules) })
	// Open national incidents follow the register (cases/incidents.go).
	a.Supply.OnChange(a.Cases.RegisterChanged)
	a.Orgs.OnChange(a.Cases.RegisterChanged)
	return nil
}

// alertNotifier tells organisations of cyber alerts: the people holding
// roles on them (auth), by e-mail and webhook (notify).
type alertNotifier struct {
	auth   *auth.Service
	notify *notify.Service
}

func (n alertNotifier) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	return n.auth.HoldersOf(ctx, orgs, roles)
}

func (n alertNotifier) Send(ctx context.Context, m vuln.Message) error {
	return n.notify.SendDirect(ctx, notify.Direct{ID: m.ID, Kind: m.Kind, Ref: m.Ref, To: m.To, Subject: m.Subject, Body: m.Body, Payload: m.Payload})
}

// assuranceNotifier tells suppliers and assessors of campaign deadlines:
// the people holding roles on their organisations (auth), by e-mail and
// webhook (notify).
type assuranceNotifier struct {
	auth   *auth.Service
	notify *notify.Service
}

func (n assuranceNotifier) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	return n.auth.HoldersOf(ctx, orgs, roles)
}

func (n assuranceNotifier) Send(ctx context.Context, m assurance.Notice) error {
	return n.notify.SendDirect(ctx, notify.Direct{ID: m.ID, Kind: m.Kind, Ref: m.Ref, To: m.To, Subject: m.Subject, Body: m.Body, Payload: m.Payload})
}

// caseUsers resolves the people named in case assignments and mentions
// (by e-mail or ID) to their current scope; a disabled account is no one.
type caseUsers struct{ auth *auth.Service }

func (u caseUsers) ScopeOf(ctx context.Context, who string) (scope.Scope, error) {
	usr, err := u.auth.GetUser(ctx, scope.System("cases"), who)
	if err != nil {
		return scope.Scope{}, err
	}
	if usr.Disabled {
		return scope.Scope{}, fault.ErrNotFound
	}
	sc, err := u.auth.ScopeFor(ctx, usr.ID, "", "")
	if errors.Is(err, auth.ErrDisabled) {
		return scope.Scope{}, fault.ErrNotFound
	}
	return sc, err
}

// HoldersOf lists the people an escalation to orgs reaches (notify).
func (u caseUsers) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	return u.auth.HoldersOf(ctx, orgs, roles)
}

// Close releases everything Open opened, in reverse order. Safe twice.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// InitialAdmin makes sure someone can sign in to a new install: when there
// are no users at all, it creates a national administrator with a random
// password and writes the password to a file only the owner can read. It
// returns the e-mail and file ("" when users already exist).
func (a *App) InitialAdmin(ctx context.Context) (email, file string, err error) {
	if exists, err := a.Auth.HasUsers(ctx); err != nil || exists {
		return "", "", err
	}
	pw := randomPassword()
	email = "admin@vigil.local"
	if _, err := a.Auth.AddUser(ctx, systemScope(), auth.NewUser{Email: email, Name: "Vigil administrator", Org: org.RootCode, Role: "national-admin", Password: pw}); err != nil {
		return "", "", err
	}
	file = a.Config.AbsDataDir() + string(os.PathSeparator) + "initial-admin-password"
	if err := os.MkdirAll(a.Config.DataDir, 0o750); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return email, file, nil
}

// secretsKey is the keyring sealing the secrets kept in the database:
// --secrets-key, or the file --secrets-key-file (default
// <data-dir>/secrets.key), created on the first start of a writable
// server. A read-only server without the file opens no secret.
func (a *App) secretsKey() (r *seal.Keyring, created bool, err error) {
	if k := strings.TrimSpace(a.Config.SecretsKey); k != "" {
		r, err := seal.Parse(k)
		if err != nil {
			return nil, false, fmt.Errorf("--secrets-key: %w", err)
		}
		return r, false, nil
	}
	path := a.Config.SecretsKeyPath()
	if a.DB.ReadOnly {
		r, err := seal.LoadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return r, false, err
	}
	r, created, err = seal.LoadOrCreateFile(path)
	if err != nil {
		return nil, false, err
	}
	if created {
		a.Log.Info("secrets key created; every server sharing this database needs a copy", "file", path, "key_id", r.ID())
	}
	return r, created, nil
}
