package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/attack"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/web"
)

// Server is a running `vigil serve`: store, bus and HTTP, stopped in
// reverse order by Close.
type Server struct {
	*App
	Bus    *bus.Bus
	Router *httpd.Router
	API    *api.API
	Web    *web.Web
	// Ingest is the listeners and HTTP endpoints of event ingest (ingest.go).
	Ingest *ingest.Service
	// IngestHealth is the ingest dashboard and silent-source check.
	IngestHealth *ingest.Health
	// Detection is live Sigma detection (detect.go): the rules of --rules
	// and the stored rules (internal/rules), and the analytics.
	Detection *Detection
	// rulesNotice reloads the rules on another process's notice.
	rulesNotice atomic.Pointer[func()]
	// IOC is live IOC matching and retro-matching (ioc.go); iocNotice
	// the same, for another process's notice of an intel change.
	IOC       *IOC
	iocNotice atomic.Pointer[IOC]
	// attack is --attack's matrix for the coverage page, nil without.
	attack *attack.Matrix
	// leading reports whether this server runs the leader duties now
	// (leader.go).
	leading func() bool
	// duties are the leader duties' settings, read from Config before
	// any duty starts (Start goes on to set Config.BaseURL).
	duties   leaderSettings
	Addr     string // the address actually listened on
	http     *http.Server
	listener net.Listener
	done     chan error
}

// Start opens everything and starts serving in the background. A failure
// part-way closes what was opened.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (s *Server, err error) {
	mode := MigrateAuto
	if !cfg.AutoMigrate {
		mode = MigrateCheck
	}
	if cfg.ReadOnly {
		return nil, errors.New("vigil serve cannot run --read-only: a server writes sessions and the audit log; read a copy with the other commands")
	}
	a, err := Open(ctx, cfg, log, mode)
	if err != nil {
		return nil, err
	}
	if a.DB.ReadOnly {
		return nil, errors.Join(fmt.Errorf("vigil serve needs a writable database: %s", a.DB.ReadOnlyReason), a.Close())
	}
	s = &Server{App: a, done: make(chan error, 1)}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	s.Bus, err = bus.Open(ctx, bus.Options{DataDir: cfg.DataDir, URL: cfg.NATSURL, SyncAlways: cfg.NATSSyncAlways, Replicas: cfg.NATSReplicas, Prefix: cfg.NATSPrefix, Logger: log.With("component", "bus")})
	if err != nil {
		return s, err
	}
	s.closers = append(s.closers, s.Bus.Close)
	if err := s.startAuditHeads(ctx); err != nil {
		return s, err
	}
	// Hear other processes' changes (changes.go), and announce ours.
	stopNotices, err := a.changes.listen(ctx, a.DB, s.Bus, func(kind string) {
		switch kind {
		case changedOrgs, changedSupply:
			a.Supply.Invalidate()
			a.Cases.RegisterChanged()
		case changedRules:
			if fn := s.rulesNotice.Load(); fn != nil {
				(*fn)()
			}
		case changedIntel:
			if io := s.iocNotice.Load(); io != nil {
				io.Reload()
			}
		}
	})
	if err != nil {
		return s, err
	}
	s.closers = append(s.closers, func() error { stopNotices(); return nil })
	// Alerts published on the ALERTS stream (cases/alertbus.go), stored
	// durably before each is acknowledged; stopped before the bus closes.
	// Notifications: the cases service's events people are told about go
	// to the CASE_EVENTS stream, and are sent from its durable consumer
	// (notify/deliver.go), started once the public URL is known. The hook
	// is registered before anything can change a case.
	a.Cases.OnEvent(a.Notify.Hook)
	stopAlerts, err := a.Cases.ConsumeAlerts(ctx, s.Bus)
	if err != nil {
		return s, err
	}
	s.closers = append(s.closers, func() error { stopAlerts(); return nil })
	if err := s.startIngest(ctx); err != nil {
		return s, err
	}
	// Clocks and retention run on one server of the deployment at a time
	// (leader.go).
	if err := s.startLeaderDuties(ctx); err != nil {
		return s, err
	}
	if err := s.startDetection(ctx); err != nil {
		return s, err
	}
	if err := s.startIOC(ctx); err != nil {
		return s, err
	}
	if err := s.loadAttack(); err != nil {
		return s, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(healthGauge("vigil_database_up", "1 when the database answers a ping.", a.DB.PingContext))
	reg.MustRegister(healthGauge("vigil_bus_up", "1 when the message bus and JetStream answer.", s.Bus.Healthy))
	reg.MustRegister(newAuditHeadCollector(a.Audit))
	if s.Ingest != nil {
		reg.MustRegister(newIngestCollector(s.Ingest, s.IngestHealth))
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_change_notices_heard_total",
			Help: "Notices of organisation or supplier register changes heard from other processes."}, func() float64 { return float64(a.changes.heard.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_leader",
			Help: "1 while this server holds the deployment's lease and runs the duties that run once (clocks, retention)."}, func() float64 {
			if s.leading() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_password_hash_slots",
			Help: "Password checks allowed at once (--password-hash-memory / 46 MiB)."}, func() float64 { return float64(a.Hasher.Slots()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_password_hash_active",
			Help: "Password checks running now."}, func() float64 { return float64(a.Hasher.Active()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_password_hash_busy_total",
			Help: "Sign-ins and password changes turned away because every password-check slot stayed busy."}, func() float64 { return float64(a.Hasher.Busy()) }),
	)

	// Listen before building the web UI, so a port chosen by the kernel
	// (--http 127.0.0.1:0) is known for links and the OIDC redirect.
	s.listener, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return s, fmt.Errorf("listen on %s: %w (is another vigil running? choose another address with --http)", cfg.HTTPAddr, err)
	}
	// http.Server.Shutdown has closed the listener by the time this runs;
	// closing it again only says so.
	s.closers = append(s.closers, func() error { _ = s.listener.Close(); return nil })
	s.Addr = s.listener.Addr().String()
	if s.Config.BaseURL == "" {
		s.Config.BaseURL = publicURL(cfg, s.Addr)
	}

	stopNotify, err := a.Notify.Start(ctx, s.Bus, s.Config.BaseURL)
	if err != nil {
		return s, err
	}
	s.closers = append(s.closers, func() error { stopNotify(); return nil })

	s.Router, err = httpd.NewRouter(httpd.Options{Identifier: auth.HTTPIdentifier{Auth: a.Auth, TLS: cfg.TLS()}, Logger: log, TLS: cfg.TLS(), Registry: reg,
		OnCSRFRefused: s.auditCSRFRefusal})
	if err != nil {
		return s, err
	}
	s.registerOps(reg)
	ao := api.Options{Orgs: a.Orgs, Auth: a.Auth, Audit: a.Audit, Supply: a.Supply, Cases: a.Cases, Reports: a.Reports, Notify: a.Notify, Events: a.Events, EventSearches: a.EventSearches, Rules: a.Rules, Assurance: a.Assurance, CyberAlerts: a.Alerts, SBOMs: a.SBOMs, Intel: a.Intel, Feeds: a.Feeds, Logger: log, Version: Version}
	if s.IngestHealth != nil {
		ao.IngestHealth = s.IngestHealth
	}
	if s.API, err = api.New(ao); err != nil {
		return s, err
	}
	s.API.Register(s.Router)
	s.registerIngest()
	if err := s.registerTAXII(); err != nil {
		return s, err
	}
	if err := s.registerWeb(ctx); err != nil {
		return s, err
	}

	s.http = &http.Server{
		Handler:           s.Router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The goroutine gets the server itself: Close sets s.http to nil, and
	// a Close right after Start could do so before the goroutine runs
	// (a nil-pointer panic seen in the app tests).
	hs := s.http
	go func() {
		var err error
		if cfg.TLS() {
			err = hs.ServeTLS(s.listener, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = hs.Serve(s.listener)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	log.Info("vigil started", "version", Version, "http", s.Addr, "database", a.DB.Location, "bus_embedded", s.Bus.Embedded(), "ingest", s.ingestListening())
	// Build the supplier graph now rather than on the first question (a
	// national register takes seconds to load); queries meanwhile wait for it.
	go func() {
		start := time.Now()
		st, err := a.Supply.Refresh(context.WithoutCancel(ctx))
		if err != nil {
			log.Warn("supplier graph warm-up", "err", err)
			return
		}
		log.Info("supplier graph loaded", "duration", time.Since(start), "products", st.Products, "deployments", st.Deployments)
	}()
	return s, nil
}

// ClockInterval is how often `vigil serve` checks the cases' clocks: a
// breach is noticed at most this late.
const ClockInterval = 30 * time.Second

// VulnMatchInterval is how often the leader matches the stored SBOMs
// against --vuln-osv (only what changed is judged again).
var VulnMatchInterval = 10 * time.Minute

// publicURL is the address users reach a server listening on addr at,
// when no --base-url is given.
func publicURL(cfg config.Config, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return cfg.PublicURL()
	}
	if host == "::" || host == "0.0.0.0" || host == "" {
		host = "localhost"
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// healthGauge is 1 while check answers within 3 s: a scrape must not hang
// on a database or bus that has stopped answering (which is what the
// gauge is there to show).
func healthGauge(name, help string, check func(context.Context) error) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if check(ctx) != nil {
			return 0
		}
		return 1
	})
}

func (s *Server) registerOps(reg *prometheus.Registry) {
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	s.Router.Handle("ops", "GET", "/healthz", httpd.Public, "Liveness: the process is up", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n") // a failed write: the probe has gone
	})
	s.Router.Handle("ops", "GET", "/readyz", httpd.Public, "Readiness: database and bus answer", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		status, body := http.StatusOK, "ok\n"
		if err := s.DB.PingContext(ctx); err != nil {
			status, body = http.StatusServiceUnavailable, "database: unavailable\n"
			s.Log.Warn("readyz: database", "err", err)
		} else if err := s.Bus.Healthy(ctx); err != nil {
			status, body = http.StatusServiceUnavailable, "bus: unavailable\n"
			s.Log.Warn("readyz: bus", "err", err)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body) // a failed write: the probe has gone
	})
	s.Router.Handle("ops", "GET", "/metrics", httpd.Public, "Prometheus metrics", func(w http.ResponseWriter, r *http.Request, _ scope.Scope) {
		metrics.ServeHTTP(w, r)
	})
}

// Wait blocks until the HTTP server stops.
func (s *Server) Wait() error { return <-s.done }

// Close stops the HTTP server (letting requests finish for up to 10 s),
// then the bus, then the store. Safe to call twice.
func (s *Server) Close() error {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.http.Shutdown(ctx); err != nil {
			// Requests still running after 10 s are cut; say so, and stop.
			s.Log.Warn("http shutdown", "err", err)
		}
		cancel()
		s.http = nil
	}
	return s.App.Close()
}

// Run is `vigil serve`: start, tell the user where to go, and stop cleanly
// on SIGINT or SIGTERM.
func Run(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads what can change without a restart (--ingest-map,
	// --rules).
	// It is caught from the start: one arriving while the server starts
	// is kept and handled once it runs, rather than ending the process
	// (SIGHUP's default).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	// Close is idempotent: the deferred call covers early returns, and the
	// last line reports what closing found.
	defer func() { _ = s.Close() }()
	url := s.Config.PublicURL()
	fmt.Fprintf(stdout, "\nVigil %s is running at %s\n", Version, url)
	fmt.Fprintf(stdout, "  data:     %s (%s)\n", cfg.AbsDataDir(), s.DB.Location)
	if l := s.ingestListening(); l != "" {
		fmt.Fprintf(stdout, "  ingest:   %s\n", l)
	}
	email, file, err := s.InitialAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if email != "" {
		fmt.Fprintf(stdout, "  sign in:  %s with the password in %s\n", email, file)
		fmt.Fprintf(stdout, "            (shown by: cat %s) — change it under Account after signing in\n", file)
	} else {
		fmt.Fprintf(stdout, "  sign in:  with your account; add one with `vigil users add --help`\n")
	}
	if cfg.LogLevel == "auto" && isTerminal(stderr) {
		fmt.Fprintf(stdout, "  logs:     warnings and errors only here (--log-level info for more)\n")
	}
	fmt.Fprintf(stdout, "  stop:     Ctrl-C\n\n")
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if cfg.IngestMap != "" {
					if err := s.ReloadIngestMap(); err != nil {
						log.Error("SIGHUP: the ingest mapping was not reloaded; the previous one stays", "err", err)
					} else {
						log.Info("SIGHUP: reloaded the ingest mapping", "file", cfg.IngestMap)
					}
				}
				if s.Detection != nil {
					if err := s.ReloadRules(); err != nil {
						log.Error("SIGHUP: the detection rules were not reloaded; the previous ones stay", "err", err)
					} else {
						n, c := s.Detection.RuleCounts()
						log.Info("SIGHUP: reloaded the detection rules", "rules", n, "correlations", c)
					}
				}
			}
		}
	}()
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-s.done:
		if err != nil {
			return err
		}
	}
	return s.Close()
}
