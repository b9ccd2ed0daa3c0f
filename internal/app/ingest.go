package app

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// The write path of protective monitoring (issue 16; DESIGN's data flow):
// the listeners of --syslog-udp, --syslog-tcp, --syslog-tls, --relp and
// --netflow and the HTTP endpoints (POST /api/v1/events, the
// Elasticsearch bulk API under /es) normalise what senders send and publish it durably to the
// EVENTS stream, acknowledging senders only then; the event store's
// durable consumer appends it and acknowledges after its own write.

// ESPrefix is where the Elasticsearch-compatible bulk API is mounted:
// shippers take it as their output's path (docs/ingest.md).
const ESPrefix = "/es"

// startIngest builds and starts the ingest service and the store's
// consumer, closed (in reverse) before the bus.
func (s *Server) startIngest(ctx context.Context) error {
	cfg := s.Config
	o := ingest.ServiceOptions{
		Conn: s.Bus.Conn(), Root: org.RootCode, MapFile: cfg.IngestMap,
		SyslogUDP: cfg.SyslogUDP, SyslogTCP: cfg.SyslogTCP, SyslogTLS: cfg.SyslogTLS, RELP: cfg.RELP, NetFlow: cfg.NetFlow,
		Authenticate: s.ingestSender, Logger: s.Log.With("component", "ingest"), Now: s.Now,
	}
	// --tls-cert and --tls-key serve HTTPS too; syslog over TLS uses them
	// only when it is on.
	if cfg.SyslogTLS != "" {
		o.TLSCert, o.TLSKey = cfg.TLSCert, cfg.TLSKey
	}
	svc, err := ingest.NewService(ctx, o)
	if err != nil {
		return err
	}
	stopStore, err := events.Consume(ctx, s.Bus.JetStream(), s.Events, events.ConsumerOptions{Stream: ingest.EventStream, Logger: s.Log.With("component", "events")})
	if err != nil {
		return errors.Join(err, svc.Close())
	}
	s.closers = append(s.closers, func() error { stopStore(); return nil })
	if err := svc.Start(ctx); err != nil {
		return err
	}
	s.closers = append(s.closers, svc.Close)
	s.Ingest = svc
	// Events older than --events-max-age go, a day at a time, hourly.
	if age, err := cfg.EventsRetention(); err == nil && age > 0 {
		stop := events.RunRetention(context.WithoutCancel(ctx), s.Events, events.Policy{Default: events.Limit{MaxAge: age}}, RetentionInterval, s.Log.With("component", "events"))
		s.closers = append(s.closers, func() error { stop(); return nil })
	}
	return nil
}

// RetentionInterval is how often serve applies event retention.
var RetentionInterval = time.Hour

// ingestSender adapts auth's ingest tokens to the ingest handlers.
func (s *Server) ingestSender(ctx context.Context, token string) (ingest.Sender, error) {
	t, err := s.Auth.IngestSender(ctx, token)
	switch {
	case errors.Is(err, auth.ErrExpired):
		return ingest.Sender{}, ingest.ErrTokenExpired
	case err != nil:
		return ingest.Sender{}, err
	}
	return ingest.Sender{Org: t.Org, Label: t.Name}, nil
}

// registerIngest mounts the HTTP ingest endpoints. They authenticate with
// ingest tokens themselves (a person's session or API token is not one),
// so to the router they are public.
func (s *Server) registerIngest() {
	if s.Ingest == nil {
		return
	}
	raw := func(h http.Handler) httpd.Handler {
		return func(w http.ResponseWriter, r *http.Request, _ scope.Scope) { h.ServeHTTP(w, r) }
	}
	s.Router.Handle("ingest", "POST", "/api/v1/events", httpd.Public,
		"Send events as NDJSON (gzip allowed) with an ingest token; 200 once they are stored durably, 429 with Retry-After when Vigil is at its bound", raw(s.Ingest.EventsHandler()))
	bulk := http.StripPrefix(ESPrefix, s.Ingest.BulkHandler())
	for _, m := range []string{"GET", "HEAD", "POST", "PUT"} {
		s.Router.Handle("ingest", m, ESPrefix+"/", httpd.Public, "Elasticsearch-compatible API for log shippers (the bulk API and the probes they make first), with an ingest token", raw(bulk))
	}
	s.Router.Handle("ingest", "GET", ESPrefix, httpd.Public, "Elasticsearch-compatible version document for log shippers", raw(bulk))
	s.Router.Handle("ingest", "HEAD", ESPrefix, httpd.Public, "Elasticsearch-compatible version document for log shippers", raw(bulk))
}

// ingestListening says where the listeners listen, for the start message.
func (s *Server) ingestListening() string {
	if s.Ingest == nil {
		return ""
	}
	var out []string
	for name, addr := range s.Ingest.Addrs() {
		out = append(out, name+" "+addr.String())
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// ingestCollector exports the ingest service's counts to Prometheus:
// events, unparsed events and bytes accepted per listener and
// organisation, duplicates dropped, and messages lost (UDP only).
type ingestCollector struct {
	svc                                          *ingest.Service
	events, parseErrors, bytes, duplicates, lost *prometheus.Desc
	flowDatagrams, flowMalformed, flowNoTemplate *prometheus.Desc
	flowTemplates                                *prometheus.Desc
}

func newIngestCollector(svc *ingest.Service) *ingestCollector {
	lo := []string{"listener", "org"}
	return &ingestCollector{svc: svc,
		events:         prometheus.NewDesc("vigil_ingest_events_total", "Events accepted (stored durably on the stream), per listener and organisation.", lo, nil),
		parseErrors:    prometheus.NewDesc("vigil_ingest_parse_errors_total", "Events accepted that no parser could read (kept raw), per listener and organisation.", lo, nil),
		bytes:          prometheus.NewDesc("vigil_ingest_bytes_total", "Bytes of raw messages accepted, per listener and organisation.", lo, nil),
		duplicates:     prometheus.NewDesc("vigil_ingest_duplicates_total", "Events the stream dropped as already stored (resent by a sender).", nil, nil),
		lost:           prometheus.NewDesc("vigil_ingest_lost_total", "Messages received but lost, per listener (UDP datagrams whose publish failed: UDP cannot tell the sender).", []string{"listener"}, nil),
		flowDatagrams:  prometheus.NewDesc("vigil_ingest_flow_datagrams_total", "Flow export datagrams (NetFlow v5, v9, IPFIX) read, per listener.", []string{"listener"}, nil),
		flowMalformed:  prometheus.NewDesc("vigil_ingest_flow_malformed_total", "Flow export datagrams that could not be read whole, per listener.", []string{"listener"}, nil),
		flowNoTemplate: prometheus.NewDesc("vigil_ingest_flow_no_template_sets_total", "Flow data sets dropped because their template was not known (yet), per listener.", []string{"listener"}, nil),
		flowTemplates:  prometheus.NewDesc("vigil_ingest_flow_templates_total", "Flow templates received (refreshes included), per listener.", []string{"listener"}, nil),
	}
}

func (c *ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.parseErrors
	ch <- c.bytes
	ch <- c.duplicates
	ch <- c.lost
	ch <- c.flowDatagrams
	ch <- c.flowMalformed
	ch <- c.flowNoTemplate
	ch <- c.flowTemplates
}

func (c *ingestCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.svc.Metrics()
	counts, dup := m.Snapshot()
	for _, x := range counts {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(x.Events), x.Listener, x.Org)
		ch <- prometheus.MustNewConstMetric(c.parseErrors, prometheus.CounterValue, float64(x.ParseErrors), x.Listener, x.Org)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(x.Bytes), x.Listener, x.Org)
	}
	ch <- prometheus.MustNewConstMetric(c.duplicates, prometheus.CounterValue, float64(dup))
	for l, n := range m.Dropped() {
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(n), l)
	}
	for _, f := range m.Flows() {
		ch <- prometheus.MustNewConstMetric(c.flowDatagrams, prometheus.CounterValue, float64(f.Datagrams), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowMalformed, prometheus.CounterValue, float64(f.Malformed), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowNoTemplate, prometheus.CounterValue, float64(f.NoTemplate), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowTemplates, prometheus.CounterValue, float64(f.Templates), f.Listener)
	}
}
