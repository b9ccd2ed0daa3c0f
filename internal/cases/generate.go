package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// GenerateOptions describe a synthetic inbox for benchmarks and demos.
type GenerateOptions struct {
	// Count is how many alerts to write.
	Count int
	// Orgs are the organisations the alerts belong to (spread evenly).
	Orgs []string
	// End is when the newest alert arrived; alerts spread over Span
	// before it (default 90 days).
	End  time.Time
	Span time.Duration
	// Seed makes the estate repeatable.
	Seed uint64
	// Progress, if set, is called after each committed batch.
	Progress func(done int)
}

// The mix of a real inbox: mostly closed, a fifth new; severities
// weighted to the low end; a handful of sources and types.
var (
	genStatuses   = []weighted[AlertStatus]{{AlertClosed, 65}, {AlertNew, 20}, {AlertAcknowledged, 10}, {AlertInCase, 5}}
	genSeverities = []weighted[Severity]{{Info, 30}, {Low, 30}, {Medium, 25}, {High, 12}, {Critical, 3}}
	genSources    = []struct{ source, typ, title string }{
		{"edr", "malware", "Malware detected on %s"}, {"edr", "suspicious-process", "Suspicious PowerShell on %s"},
		{"email-gateway", "phishing", "Phishing e-mail reported by %s"}, {"email-gateway", "malicious-attachment", "Malicious attachment blocked for %s"},
		{"sigma", "brute-force", "Repeated failed sign-ins for %s"}, {"sigma", "impossible-travel", "Impossible travel for %s"},
		{"ioc", "c2-beacon", "Beacon to known C2 from %s"}, {"vuln", "kev-exposed", "Known exploited vulnerability on %s"},
		{"ids", "scan", "Port scan from %s"}, {"supplier", "notice", "Supplier security notice for %s"},
	}
)

type weighted[T any] struct {
	v T
	w int
}

func pick[T any](r *rand.Rand, xs []weighted[T]) T {
	n := r.IntN(100)
	for _, x := range xs {
		if n < x.w {
			return x.v
		}
		n -= x.w
	}
	return xs[len(xs)-1].v
}

// genBatch is how many alerts one transaction writes; genRows how many
// one INSERT carries (22 columns: 10,450 parameters, under both engines'
// limits).
const (
	genBatch = 20_000
	genRows  = 475
)

// GenerateAlerts writes a synthetic inbox straight into the store in bulk
// — one multi-row INSERT per 475 alerts, one transaction per 20,000 —
// with one audit entry for the whole run: the million alerts the inbox is
// measured against (docs/performance.md) load in about a minute on
// SQLite. IDs are made in time order over the span, as arrival would.
func (s *Service) GenerateAlerts(ctx context.Context, sc scope.Scope, o GenerateOptions) error {
	if o.Count <= 0 || len(o.Orgs) == 0 {
		return fmt.Errorf("cases: generate: want a count and organisations")
	}
	if o.End.IsZero() {
		o.End = s.now()
	}
	if o.Span == 0 {
		o.Span = 90 * 24 * time.Hour
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	start := o.End.Add(-o.Span)
	step := o.Span / time.Duration(o.Count)
	cols := `id, org, source, type, source_ref, title, description, severity, tlp, pap, observables, fields, first_seen, last_seen,
		occurrences, status, assignee, disposition, case_id, search, created_at, updated_at`
	rowPH := "(" + store.Placeholders(22) + ")"
	stmtFor := func(n int) string {
		return `INSERT INTO alerts (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(rowPH+", ", n), ", ")
	}
	args := make([]any, 0, genRows*22)
	counts := map[string]int{}
	for done := 0; done < o.Count; {
		n := min(genBatch, o.Count-done)
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			full, err := tx.Raw().PrepareContext(ctx, tx.Rebind(stmtFor(genRows)))
			if err != nil {
				return err
			}
			defer func() { _ = full.Close() }() // the transaction's outcome is what matters
			for i := 0; i < n; {
				k := min(genRows, n-i)
				args = args[:0]
				for j := 0; j < k; j++ {
					seq := done + i + j
					at := start.Add(time.Duration(seq) * step)
					b := msBytes(at)
					for x := 6; x < 16; x++ {
						b[x] = byte(r.Uint32())
					}
					b[6] &= 0x7f
					src := genSources[r.IntN(len(genSources))]
					org := o.Orgs[r.IntN(len(o.Orgs))]
					host := fmt.Sprintf("ws-%s-%04d", strings.ToLower(org), r.IntN(5000))
					a := Alert{ID: prefixAlert + "-" + encodeULID(b), Org: org, Source: src.source, Type: src.typ,
						SourceRef: fmt.Sprintf("%s-%d", src.source, seq), Title: fmt.Sprintf(src.title, host),
						Severity: pick(r, genSeverities), TLP: TLPAmber, PAP: PAPAmber, Status: pick(r, genStatuses),
						Observables: []Observable{{ObsHost, host}, {ObsIP, fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))}},
						FirstSeen:   at, LastSeen: at, Occurrences: 1 + int64(r.IntN(3)), CreatedAt: at, UpdatedAt: at}
					if a.Status == AlertClosed {
						a.Disposition = []Disposition{FalsePositive, Benign, TruePositive, Duplicate}[r.IntN(4)]
					}
					counts[org]++
					obs, _ := json.Marshal(a.Observables)
					args = append(args, a.ID, a.Org, a.Source, a.Type, a.SourceRef, a.Title, "", string(a.Severity), string(a.TLP), string(a.PAP),
						string(obs), "{}", ts(at), ts(at), a.Occurrences, string(a.Status), "", string(a.Disposition), "", a.searchText(), ts(at), ts(at))
				}
				if k == genRows {
					_, err = full.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, stmtFor(k), args...)
				}
				if err != nil {
					return fmt.Errorf("cases: generate alerts: %w", err)
				}
				i += k
			}
			for org, c := range counts {
				if err := countAlerts(ctx, tx, org, c); err != nil {
					return err
				}
			}
			clear(counts)
			return nil
		})
		if err != nil {
			return err
		}
		done += n
		if o.Progress != nil {
			o.Progress(done)
		}
	}
	// SQLite's planner chooses between the inbox's indexes by their
	// statistics; gather them once the table is full.
	if s.db.Dialect == store.SQLite {
		if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
			return fmt.Errorf("cases: analyze: %w", err)
		}
	} else if _, err := s.db.ExecContext(ctx, `ANALYZE alerts`); err != nil {
		return fmt.Errorf("cases: analyze: %w", err)
	}
	return s.audit.Record(ctx, sc, audit.Change{Action: "alert.generate", ObjectType: "alert", Org: audit.CallerOrg(sc),
		After: map[string]any{"count": o.Count, "orgs": len(o.Orgs), "seed": o.Seed}})
}
