package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigil-health/vigil/internal/bus"
)

// ServiceOptions are everything `vigil serve` needs to run the
// listeners; each field is one flag (and VIGIL_* variable):
//
//	--syslog-udp ADDR   SyslogUDP
//	--syslog-tcp ADDR   SyslogTCP
//	--syslog-tls ADDR   SyslogTLS, with --tls-cert FILE / --tls-key FILE
//	--relp ADDR         RELP
//	--netflow ADDR      NetFlow (v5, v9 and IPFIX over UDP)
//	--ingest-map FILE   MapFile
//	--o365-config FILE  O365Config
//
// An empty address leaves that listener off. The HTTP handlers need no
// address: the API layer mounts EventsHandler and BulkHandler.
type ServiceOptions struct {
	// Conn is the bus's NATS connection (bus.Bus.Conn()). Required.
	Conn *nats.Conn
	// Namespace is the deployment's on the bus (bus.Bus.Namespace()).
	Namespace bus.Namespace
	// Root is the national root's ODS code, owner of events the mapping
	// gives no organisation. Required.
	Root string
	// MapFile is the org mapping file ("" for none).
	MapFile string
	// O365Config is the Microsoft 365 / Entra ID poller's configuration
	// file ("" for no poller; o365config.go documents it).
	O365Config string
	// KnownOrg, when set, says whether an organisation exists (the org
	// service), so a mapping file naming an unknown one is refused.
	KnownOrg func(code string) bool

	SyslogUDP, SyslogTCP, SyslogTLS, RELP string
	TLSCert, TLSKey                       string
	// NetFlow is where flow exports arrive over UDP (NetFlowListener);
	// Templates bounds its template cache (zero: the defaults).
	NetFlow   string
	Templates TemplateOptions

	// Parse configures the Normaliser (zero: detect every format).
	Parse Options
	// Stream are the EVENTS stream's limits.
	Stream StreamOptions
	// MaxInFlight bounds events being published (DefaultMaxInFlight).
	MaxInFlight int
	// Authenticate resolves ingest tokens for the HTTP handlers; without
	// it the handlers are not built.
	Authenticate Authenticate
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service is the ingest write path: the configured listeners, the HTTP
// handlers, and the publisher they share. Build it with NewService,
// Start it once the bus is up, Close it before the bus.
type Service struct {
	orgs    *OrgMap
	metrics *Metrics
	pub     *Publisher
	events  *EventsHandler
	bulk    *BulkHandler

	listeners []serviceListener
	o365      *O365Poller

	mu     sync.Mutex
	closed bool
}

type serviceListener interface {
	Start(ctx context.Context) error
	Close() error
	Addr() net.Addr
}

type namedListener struct {
	name string
	serviceListener
}

// NewService checks the options, loads the mapping and the TLS key pair,
// declares the EVENTS stream and builds every configured listener
// (nothing listens until Start).
func NewService(ctx context.Context, o ServiceOptions) (*Service, error) {
	if o.Conn == nil {
		return nil, errors.New("ingest: ServiceOptions.Conn is required")
	}
	if (o.TLSCert != "" || o.TLSKey != "") && o.SyslogTLS == "" {
		return nil, errors.New("ingest: --tls-cert and --tls-key are for --syslog-tls, which is not set")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	norm, err := New(o.Parse)
	if err != nil {
		return nil, err
	}
	orgs, err := NewOrgMap(o.Root, o.MapFile, o.KnownOrg)
	if err != nil {
		return nil, err
	}
	s := &Service{orgs: orgs, metrics: NewMetrics()}
	s.pub, err = NewPublisher(ctx, PublisherOptions{Conn: o.Conn, Namespace: o.Namespace, Stream: o.Stream, MaxInFlight: o.MaxInFlight, Metrics: s.metrics, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	lo := func(addr string) ListenerOptions {
		return ListenerOptions{Addr: addr, Normaliser: norm, Publisher: s.pub, Orgs: orgs, Metrics: s.metrics,
			Logger: o.Logger, Now: o.Now, MaxMessage: o.Parse.MaxSize}
	}
	add := func(name string, l serviceListener, err error) error {
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, namedListener{name, l})
		return nil
	}
	if o.SyslogUDP != "" {
		l, err := NewUDPListener(lo(o.SyslogUDP))
		if err := add(ListenerSyslogUDP, l, err); err != nil {
			return nil, err
		}
	}
	if o.SyslogTCP != "" {
		l, err := NewTCPListener(lo(o.SyslogTCP), nil)
		if err := add(ListenerSyslogTCP, l, err); err != nil {
			return nil, err
		}
	}
	if o.SyslogTLS != "" {
		conf, err := TLSConfigFromFiles(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, err
		}
		l, err := NewTCPListener(lo(o.SyslogTLS), conf)
		if err := add(ListenerSyslogTLS, l, err); err != nil {
			return nil, err
		}
	}
	if o.RELP != "" {
		l, err := NewRELPListener(lo(o.RELP))
		if err := add(ListenerRELP, l, err); err != nil {
			return nil, err
		}
	}
	if o.O365Config != "" {
		cfg, err := LoadO365Config(o.O365Config, nil)
		if err != nil {
			return nil, err
		}
		if o.KnownOrg != nil {
			for _, t := range cfg.Tenants {
				if !o.KnownOrg(t.Org) {
					return nil, fmt.Errorf("o365 config %s: tenant %s: organisation %s is not in Vigil's organisation tree", o.O365Config, t.Name, t.Org)
				}
			}
		}
		s.o365, err = NewO365Poller(ctx, O365Options{Config: cfg, Conn: o.Conn, Namespace: o.Namespace, Replicas: o.Stream.Replicas, Publisher: s.pub,
			Normaliser: norm, Metrics: s.metrics, Logger: o.Logger, Now: o.Now})
		if err != nil {
			return nil, err
		}
	}
	if o.NetFlow != "" {
		l, err := NewNetFlowListener(lo(o.NetFlow), o.Templates)
		if err := add(ListenerNetFlow, l, err); err != nil {
			return nil, err
		}
	}
	if o.Authenticate != nil {
		ho := HTTPOptions{Authenticate: o.Authenticate, Normaliser: norm, Publisher: s.pub, Metrics: s.metrics, Logger: o.Logger, Now: o.Now}
		if s.events, err = NewEventsHandler(ho); err != nil {
			return nil, err
		}
		if s.bulk, err = NewBulkHandler(ho); err != nil {
			return nil, err
		}
		// One bound on requests in progress for both endpoints, since
		// together they hold the bodies in memory.
		s.bulk.slots = s.events.slots
	}
	return s, nil
}

// Start starts every listener; if one cannot bind, those started are
// closed again and the error names the listener.
func (s *Service) Start(ctx context.Context) error {
	for i, l := range s.listeners {
		if err := l.Start(ctx); err != nil {
			for _, started := range s.listeners[:i] {
				_ = started.Close()
			}
			return err
		}
	}
	if s.o365 != nil {
		if err := s.o365.Start(ctx); err != nil {
			for _, started := range s.listeners {
				_ = started.Close()
			}
			return err
		}
	}
	return nil
}

// Close closes every listener (in reverse order of starting); later
// calls do nothing. Close it before the bus, so the last batches publish.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var errs []error
	if s.o365 != nil {
		if err := s.o365.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ingest o365 poller: %w", err))
		}
	}
	for i := len(s.listeners) - 1; i >= 0; i-- {
		if err := s.listeners[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("ingest %s listener: %w", s.listeners[i].(namedListener).name, err))
		}
	}
	return errors.Join(errs...)
}

// Addrs returns each started listener's bound address by listener name.
func (s *Service) Addrs() map[string]net.Addr {
	out := map[string]net.Addr{}
	for _, l := range s.listeners {
		if a := l.Addr(); a != nil {
			out[l.(namedListener).name] = a
		}
	}
	return out
}

// EventsHandler is POST /api/v1/events (nil without Authenticate).
func (s *Service) EventsHandler() http.Handler {
	if s.events == nil {
		return nil
	}
	return s.events
}

// BulkHandler is the Elasticsearch-compatible API (nil without
// Authenticate).
func (s *Service) BulkHandler() http.Handler {
	if s.bulk == nil {
		return nil
	}
	return s.bulk
}

// O365 is the Microsoft 365 / Entra ID poller (nil without
// --o365-config), for its Status.
func (s *Service) O365() *O365Poller { return s.o365 }

// Metrics are the listeners' counters.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Publisher is the shared publisher (for its in-flight figures).
func (s *Service) Publisher() *Publisher { return s.pub }

// ReloadMap rereads the org mapping file; on error the old mapping
// stays.
func (s *Service) ReloadMap() error { return s.orgs.Reload() }
