package rules

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Hit counts one rule's matches for one organisation on one UTC day:
// Hits raised alerts, Suppressed were held back by an exception.
type Hit struct {
	RuleID     string
	Org        string
	Day        time.Time
	Hits       int64
	Suppressed int64
}

// Hits adds up matches in memory until they are recorded: detection
// counts every match of a batch here and records the batch's counts in
// one transaction.
type Hits map[hitKey]*Hit

type hitKey struct{ rule, org, day string }

// Add counts one match (suppressed or not) at t.
func (h Hits) Add(rule, org string, t time.Time, suppressed bool) {
	day := t.UTC().Truncate(24 * time.Hour)
	k := hitKey{rule, org, day.Format(time.DateOnly)}
	x := h[k]
	if x == nil {
		x = &Hit{RuleID: rule, Org: org, Day: day}
		h[k] = x
	}
	if suppressed {
		x.Suppressed++
	} else {
		x.Hits++
	}
}

// RecordHits adds counted matches to the statistics (detection's call;
// no scope: it counts for every organisation).
func (s *Service) RecordHits(ctx context.Context, h Hits) error {
	if len(h) == 0 {
		return nil
	}
	keys := make([]hitKey, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	// One order for every writer, so two servers' batches never deadlock.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.rule != b.rule {
			return a.rule < b.rule
		}
		if a.org != b.org {
			return a.org < b.org
		}
		return a.day < b.day
	})
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			x := h[k]
			if _, err := tx.ExecContext(ctx, `INSERT INTO sigma_rule_hits (rule_id, org, day, hits, suppressed) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (rule_id, org, day) DO UPDATE SET hits = sigma_rule_hits.hits + excluded.hits, suppressed = sigma_rule_hits.suppressed + excluded.suppressed`,
				x.RuleID, x.Org, k.day, x.Hits, x.Suppressed); err != nil {
				return fmt.Errorf("rules: record hits: %w", err)
			}
		}
		return nil
	})
}

// DayHits is one day's matches of a rule.
type DayHits struct {
	Day        string `json:"day"`
	Hits       int64  `json:"hits"`
	Suppressed int64  `json:"suppressed"`
}

// dayHits is rule id's matches a day over the last days, in the
// organisations sc may read.
func (s *Service) dayHits(ctx context.Context, sc scope.Scope, id string, days int) ([]DayHits, error) {
	where, args := sc.Filter("org", scope.Read)
	since := s.now().UTC().AddDate(0, 0, -days+1).Format(time.DateOnly)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT day, SUM(hits), SUM(suppressed) FROM sigma_rule_hits WHERE rule_id = ? AND day >= ? AND `+where+`
		GROUP BY day ORDER BY day`, append([]any{id, since}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("rules: hits of %s: %w", id, err)
	}
	defer rows.Close()
	out := []DayHits{}
	for rows.Next() {
		var d DayHits
		if err := rows.Scan(&d.Day, &d.Hits, &d.Suppressed); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Noise is one line of the noisiest-rules report.
type Noise struct {
	RuleID string `json:"rule_id"`
	// Title and Level are the stored rule's ("" for a rule given only as
	// a file to --rules).
	Title      string `json:"title"`
	Level      string `json:"level"`
	Hits       int64  `json:"hits"`
	Suppressed int64  `json:"suppressed"`
	// Orgs is how many organisations it hit.
	Orgs int `json:"orgs"`
}

// NoisyFilter narrows Noisy.
type NoisyFilter struct {
	// Days is how many days back, today included (default 7, at most 366).
	Days int
	// Org limits the report to one organisation.
	Org   string
	Limit int
}

// Noisy reports the rules with the most matches over the last days in
// the organisations sc may read, most first: the ones to tune.
func (s *Service) Noisy(ctx context.Context, sc scope.Scope, f NoisyFilter) ([]Noise, error) {
	if err := mayRead(sc); err != nil {
		return nil, err
	}
	if f.Days == 0 {
		f.Days = 7
	}
	if f.Days < 1 || f.Days > 366 {
		return nil, fault.Invalidf("days", "%d: want 1 to 366", f.Days)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 50
	}
	where, args := sc.Filter("h.org", scope.Read)
	since := s.now().UTC().AddDate(0, 0, -f.Days+1).Format(time.DateOnly)
	args = append([]any{since}, args...)
	if f.Org != "" {
		org, err := s.orgReadable(ctx, sc, f.Org)
		if err != nil {
			return nil, err
		}
		where += " AND h.org = ?"
		args = append(args, org)
	}
	args = append(args, f.Limit)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT h.rule_id, COALESCE(MAX(r.title), ''), COALESCE(MAX(r.level), ''), SUM(h.hits), SUM(h.suppressed), COUNT(DISTINCT h.org)
		FROM sigma_rule_hits h LEFT JOIN sigma_rules r ON r.id = h.rule_id
		WHERE h.day >= ? AND `+where+` GROUP BY h.rule_id ORDER BY SUM(h.hits) + SUM(h.suppressed) DESC, h.rule_id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("rules: noisiest: %w", err)
	}
	defer rows.Close()
	out := []Noise{}
	for rows.Next() {
		var n Noise
		if err := rows.Scan(&n.RuleID, &n.Title, &n.Level, &n.Hits, &n.Suppressed, &n.Orgs); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
