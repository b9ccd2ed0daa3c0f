package app

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// AuditHeadSubject is the bus subject the audit chain's head is published
// on (stream AUDIT_HEAD), so that a collector outside the database keeps a
// record of it: a head that later vanishes from the chain shows a cut end
// (`vigil audit verify --expect-head`).
const AuditHeadSubject = "vigil.audit.head"

// AuditHeadMessage is what is published on AuditHeadSubject.
type AuditHeadMessage struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	KeyID string `json:"key_id,omitempty"`
	// Head is "SEQ:HASH", as --expect-head takes it.
	Head string `json:"head"`
	// At is when it was published and Server by which host.
	At     time.Time `json:"at"`
	Server string    `json:"server"`
}

// startAuditHeads declares the AUDIT_HEAD stream and publishes the head
// after commits (at most once a second) until Close. Several servers
// publishing the same head store it once (the message ID is the head).
func (s *Server) startAuditHeads(ctx context.Context) error {
	_, err := s.Bus.EnsureStream(ctx, jetstream.StreamConfig{
		Name:        "AUDIT_HEAD",
		Description: "Heads of Vigil's audit chain, a record kept outside the database",
		Subjects:    []string{AuditHeadSubject},
		Storage:     jetstream.FileStorage,
		// About 200 bytes a message at most once a second per server:
		// 64 MiB keeps months; the oldest go first.
		MaxBytes: 64 << 20,
		Discard:  jetstream.DiscardOld,
	})
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	log := s.Log.With("component", "audit")
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Audit.PublishHeads(pctx, audit.PublishOptions{Logger: log, Publish: func(ctx context.Context, h audit.Head) error {
			b, err := json.Marshal(AuditHeadMessage{Seq: h.Seq, Hash: h.Hash, KeyID: h.KeyID, Head: h.String(), At: s.Now().UTC(), Server: host})
			if err != nil {
				return err
			}
			return s.Bus.Publish(ctx, AuditHeadSubject, b, h.String())
		}})
	}()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	return nil
}

// auditCSRFRefusal records a request refused for a missing or wrong CSRF
// token (a forged cross-site request, or a stale form) under the caller's
// home organisation, so its auditors see attempts made through their
// users' browsers. Only signed-in sessions have tokens, so strangers
// cannot write here.
func (s *Server) auditCSRFRefusal(r *http.Request, sc scope.Scope) {
	// The entry is kept even if the client has gone.
	ctx := context.WithoutCancel(r.Context())
	err := s.Audit.Record(ctx, sc, audit.Change{Action: "auth.csrf_refused", ObjectType: "request", ObjectID: r.Method + " " + r.URL.Path, Org: sc.Home,
		After: map[string]string{"request_id": httpd.RequestID(r.Context()), "origin": clip(r.Header.Get("Origin")), "sec_fetch_site": clip(r.Header.Get("Sec-Fetch-Site"))}})
	if err != nil {
		s.Log.Error("audit csrf refusal", "request_id", httpd.RequestID(r.Context()), "err", err)
	}
}

// clip bounds a header value the client chose before it is stored.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// auditHeadCollector exposes the head read from the database at each
// scrape: vigil_audit_head_seq, and vigil_audit_head_info whose labels
// carry the hash (a hash cannot be a sample value), so a scraper's
// history is another record of the chain outside the database.
type auditHeadCollector struct {
	log       *audit.Log
	seq, info *prometheus.Desc
}

func newAuditHeadCollector(l *audit.Log) *auditHeadCollector {
	return &auditHeadCollector{log: l,
		seq:  prometheus.NewDesc("vigil_audit_head_seq", "Number of the last entry of the audit chain.", nil, nil),
		info: prometheus.NewDesc("vigil_audit_head_info", "The audit chain's head: its hash and audit key ID as labels (value 1).", []string{"seq", "hash", "key_id"}, nil),
	}
}

func (c *auditHeadCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.seq; ch <- c.info }

func (c *auditHeadCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	h, err := c.log.Head(ctx)
	if err != nil {
		// vigil_database_up says why; a stale head would mislead.
		return
	}
	ch <- prometheus.MustNewConstMetric(c.seq, prometheus.GaugeValue, float64(h.Seq))
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, strconv.FormatInt(h.Seq, 10), h.Hash, h.KeyID)
}
