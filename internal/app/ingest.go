package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
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
		Conn: s.Bus.Conn(), Namespace: s.Bus.Namespace(), Root: org.RootCode, MapFile: cfg.IngestMap, O365Config: cfg.O365Config,
		SyslogUDP: cfg.SyslogUDP, SyslogTCP: cfg.SyslogTCP, SyslogTLS: cfg.SyslogTLS, RELP: cfg.RELP, NetFlow: cfg.NetFlow,
		Authenticate: s.ingestSender, Logger: s.Log.With("component", "ingest"), Now: s.Now,
		KnownOrg: s.knownOrg,
		// On a NATS cluster the stream is held by --nats-replicas servers.
		Stream: ingest.StreamOptions{Replicas: s.Bus.Replicas()},
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
	stopStore, err := events.Consume(ctx, s.Bus.JetStream(), s.Events, events.ConsumerOptions{Stream: ingest.EventStream, Namespace: s.Bus.Namespace(), Logger: s.Log.With("component", "events")})
	if err != nil {
		return errors.Join(err, svc.Close())
	}
	s.closers = append(s.closers, func() error { stopStore(); return nil })
	if err := svc.Start(ctx); err != nil {
		return err
	}
	s.closers = append(s.closers, svc.Close)
	s.Ingest = svc
	if err := s.startIngestHealth(ctx); err != nil {
		return err
	}
	// Events older than --events-max-age, or beyond --events-max-bytes,
	// go (--events-retention per organisation), a day at a time, hourly:
	// a leader duty (leader.go).
	return nil
}

// retentionPolicy is the event store's retention from the configuration
// (checked at start), and whether it limits anything.
func (s *Server) retentionPolicy() (events.Policy, bool) {
	def, orgs, err := s.Config.EventsPolicy()
	if err != nil {
		return events.Policy{}, false
	}
	p := events.Policy{Default: events.Limit{MaxAge: def.MaxAge, MaxBytes: def.MaxBytes}}
	limits := def != (config.RetentionLimit{})
	for code, l := range orgs {
		if p.Orgs == nil {
			p.Orgs = map[string]events.Limit{}
		}
		p.Orgs[code] = events.Limit{MaxAge: l.MaxAge, MaxBytes: l.MaxBytes}
		limits = limits || l != (config.RetentionLimit{})
	}
	return p, limits
}

// startIngestHealth samples the ingest counts for the dashboard
// (GET /api/v1/ingest/health, the Ingest page) and raises an alert in the
// inbox for each log source gone silent (--silent-factor, --silent-floor;
// docs/ingest.md).
func (s *Server) startIngestHealth(ctx context.Context) error {
	factor, floor, err := s.Config.SilentSources()
	if err != nil {
		return err
	}
	js, ns := s.Bus.JetStream(), s.Bus.Namespace()
	h, err := ingest.NewHealth(ingest.HealthOptions{
		Metrics: s.Ingest.Metrics(), Publisher: s.Ingest.Publisher(), Root: org.RootCode, Paths: s.Orgs.Paths,
		Lag: func(ctx context.Context) (ingest.Lag, error) {
			c, err := js.Consumer(ctx, ns.Name(ingest.EventStream), ns.Name(events.DefaultDurable))
			if err != nil {
				return ingest.Lag{}, err
			}
			info, err := c.Info(ctx)
			if err != nil {
				return ingest.Lag{}, err
			}
			return ingest.Lag{Pending: info.NumPending, AckPending: info.NumAckPending}, nil
		},
		Silence:  ingest.SilenceOptions{Factor: factor, Floor: floor, Off: factor == 0},
		OnSilent: s.raiseSilentSource,
		Logger:   s.Log.With("component", "ingest-health"), Now: s.Now,
	})
	if err != nil {
		return err
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); h.Run(hctx) }()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	s.IngestHealth = h
	return nil
}

// SilentSourceAlert is the inbox alert for a log source gone silent.
func SilentSourceAlert(si ingest.Silence) cases.NewAlert {
	snd := si.Sender
	name := snd.Name()
	fields := map[string]string{
		"listener":       snd.Listener,
		"last_seen":      snd.LastSeen.UTC().Format(time.RFC3339),
		"usual_interval": snd.Interval.Round(time.Second).String(),
		"threshold":      si.Threshold.Round(time.Second).String(),
	}
	var obs []cases.Observable
	if snd.Addr != "" {
		fields["address"] = snd.Addr
		if _, err := netip.ParseAddr(snd.Addr); err == nil {
			obs = append(obs, cases.Observable{Type: cases.ObsIP, Value: snd.Addr})
		}
	}
	if snd.Token != "" {
		fields["token"] = snd.Token
	}
	first := snd.LastSeen.UTC()
	return cases.NewAlert{
		Source: "vigil-ingest", Type: "log-source-silent", SourceRef: name,
		Title: "Log source silent: " + name,
		Description: fmt.Sprintf("Vigil last heard from %s at %s. It usually sends every %s, so quiet for more than %s means it has stopped: "+
			"the host, its log shipper or the network between may be down, or logging was turned off.",
			name, first.Format(time.RFC3339), snd.Interval.Round(time.Second), si.Threshold.Round(time.Second)),
		Severity: cases.Medium, Org: snd.Org, TLP: cases.TLPAmber, Observables: obs, Fields: fields, FirstSeen: &first,
	}
}

// raiseSilentSource publishes the silence's alert on the ALERTS stream;
// its message ID is the silence's key (the sender and when it fell
// quiet), so the inbox stores one alert per silence however often it is
// published.
func (s *Server) raiseSilentSource(ctx context.Context, si ingest.Silence) error {
	a := SilentSourceAlert(si)
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.Bus.Publish(ctx, cases.AlertSubject(a.Org), b, si.Key())
}

// knownOrg says whether code is in the organisation tree, so that an
// ingest mapping naming an organisation Vigil does not know is refused (at
// start, and on reload) instead of filing events under nobody.
func (s *Server) knownOrg(code string) bool {
	_, err := s.Orgs.Lookup(context.Background(), code)
	return err == nil
}

// ReloadIngestMap reads --ingest-map again (serve does on SIGHUP): senders
// are mapped by the new file from their next event; a file that does not
// load leaves the previous mapping in force, and the error says why.
func (s *Server) ReloadIngestMap() error {
	if s.Ingest == nil || s.Config.IngestMap == "" {
		return errors.New("no --ingest-map to reload")
	}
	return s.Ingest.ReloadMap()
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
	health                                       *ingest.Health
	events, parseErrors, bytes, duplicates, lost *prometheus.Desc
	senders                                      *prometheus.Desc
	o365                                         o365Descs
	flowDatagrams, flowMalformed, flowNoTemplate *prometheus.Desc
	flowTemplates                                *prometheus.Desc
}

// o365Descs are the Microsoft 365 / Entra ID poller's, per tenant and
// content type (or Graph log).
type o365Descs struct{ success, cursor, throttled *prometheus.Desc }

var o365Labels = []string{"tenant", "stream", "org"}

func newO365Descs() o365Descs {
	return o365Descs{
		success:   prometheus.NewDesc("vigil_ingest_o365_last_success_timestamp_seconds", "When the Microsoft 365 / Entra ID poller last caught a tenant's content type up (Unix time).", o365Labels, nil),
		cursor:    prometheus.NewDesc("vigil_ingest_o365_cursor_timestamp_seconds", "The end of the last window read of a tenant's content type (Unix time): now minus this is the lag.", o365Labels, nil),
		throttled: prometheus.NewDesc("vigil_ingest_o365_throttled_total", "429 answers from Microsoft waited out, per tenant and content type.", o365Labels, nil),
	}
}

func (d o365Descs) describe(ch chan<- *prometheus.Desc) {
	ch <- d.success
	ch <- d.cursor
	ch <- d.throttled
}

func (d o365Descs) collect(p *ingest.O365Poller, ch chan<- prometheus.Metric) {
	if p == nil {
		return
	}
	for _, st := range p.Status() {
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(d.success, prometheus.GaugeValue, float64(st.LastSuccess.Unix()), st.Tenant, st.Stream, st.Org)
		}
		if !st.Cursor.IsZero() {
			ch <- prometheus.MustNewConstMetric(d.cursor, prometheus.GaugeValue, float64(st.Cursor.Unix()), st.Tenant, st.Stream, st.Org)
		}
		ch <- prometheus.MustNewConstMetric(d.throttled, prometheus.CounterValue, float64(st.Throttled), st.Tenant, st.Stream, st.Org)
	}
}

func newIngestCollector(svc *ingest.Service, health *ingest.Health) *ingestCollector {
	lo := []string{"listener", "org"}
	return &ingestCollector{svc: svc, health: health, o365: newO365Descs(),
		senders:        prometheus.NewDesc("vigil_ingest_senders", "Senders this server has heard, by status: ok, learning (no usual interval yet) or silent (quiet past --silent-factor × usual interval and --silent-floor).", []string{"status"}, nil),
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
	ch <- c.senders
	c.o365.describe(ch)
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
	if c.health != nil {
		for st, n := range c.health.Statuses() {
			ch <- prometheus.MustNewConstMetric(c.senders, prometheus.GaugeValue, float64(n), st)
		}
	}
	c.o365.collect(c.svc.O365(), ch)
	for _, f := range m.Flows() {
		ch <- prometheus.MustNewConstMetric(c.flowDatagrams, prometheus.CounterValue, float64(f.Datagrams), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowMalformed, prometheus.CounterValue, float64(f.Malformed), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowNoTemplate, prometheus.CounterValue, float64(f.NoTemplate), f.Listener)
		ch <- prometheus.MustNewConstMetric(c.flowTemplates, prometheus.CounterValue, float64(f.Templates), f.Listener)
	}
}
