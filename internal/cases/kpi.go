package cases

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// KPIs (issue 15): how many cases, how fast they were acknowledged (MTTA:
// opened → first in progress) and resolved (MTTR: opened → resolved, or
// closed when never resolved), by severity, template, organisation and
// analyst; SLA compliance; and each alert source's false-positive rate.
// Only what the caller may read is counted: the same scope filter as the
// inbox, in SQL. Cases merged into another are left out (their work
// lives on in the target).

// KPIFilter narrows the KPIs to cases (and alerts) opened in [Since,
// Until) and, optionally, to one organisation's subtree.
type KPIFilter struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Org   string    `json:"org,omitempty"`
}

// KPIGroup is one row of a breakdown.
type KPIGroup struct {
	Key      string `json:"key"`
	Cases    int    `json:"cases"`
	Open     int    `json:"open"`
	Acked    int    `json:"acknowledged"`
	Resolved int    `json:"resolved"`
	// MTTASeconds and MTTRSeconds are means over the cases acknowledged
	// and resolved; 0 when there are none.
	MTTASeconds float64 `json:"mtta_seconds"`
	MTTRSeconds float64 `json:"mttr_seconds"`
	ackSum      time.Duration
	resSum      time.Duration
}

// SLARow is one severity's compliance with one target.
type SLARow struct {
	Severity Severity `json:"severity"`
	// Target is "acknowledge" or "resolve".
	Target  string  `json:"target"`
	Within  string  `json:"within"`
	Met     int     `json:"met"`
	Missed  int     `json:"missed"`
	Pending int     `json:"pending"`
	Rate    float64 `json:"rate"` // met ÷ (met + missed); 0 when none are decided
}

// SourceRate is an alert source's false-positive rate.
type SourceRate struct {
	Source        string  `json:"source"`
	Alerts        int     `json:"alerts"`
	Dispositioned int     `json:"dispositioned"`
	FalsePositive int     `json:"false_positive"`
	Rate          float64 `json:"rate"` // false positives ÷ dispositioned
}

// KPIs is the dashboard's one result type; JSON, CSV and the web page
// render it.
type KPIs struct {
	Filter         KPIFilter    `json:"filter"`
	Total          KPIGroup     `json:"total"`
	BySeverity     []KPIGroup   `json:"by_severity"`
	ByTemplate     []KPIGroup   `json:"by_template"`
	ByOrg          []KPIGroup   `json:"by_org"`
	ByAnalyst      []KPIGroup   `json:"by_analyst"`
	SLA            []SLARow     `json:"sla"`
	FalsePositives []SourceRate `json:"false_positives"`
	// SLABasis says how compliance was measured.
	SLABasis string `json:"sla_basis"`
}

// kpiTargets are the acknowledge and resolve targets compliance is
// measured against, per severity: the SLA clocks' defaults
// (docs/adr/0004-cases.md "Clocks"), read from the cases' own times.
func kpiTargets() map[Severity][2]time.Duration {
	h := time.Hour
	return map[Severity][2]time.Duration{
		Critical: {15 * time.Minute, 24 * h},
		High:     {h, 72 * h},
		Medium:   {4 * h, 7 * 24 * h},
		Low:      {24 * h, 30 * 24 * h},
	}
}

// MaxKPIRange bounds a KPI period: a year of cases is read in one pass.
const MaxKPIRange = 366 * 24 * time.Hour

// KPIs computes the dashboard over what sc may read.
func (s *Service) KPIs(ctx context.Context, sc scope.Scope, f KPIFilter) (KPIs, error) {
	now := s.now().UTC()
	end := f.Until // exclusive
	if f.Until.IsZero() {
		f.Until = now
		end = now.Add(time.Nanosecond) // up to and including now
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-90 * 24 * time.Hour)
	}
	if !f.Since.Before(f.Until) {
		return KPIs{}, fault.Invalidf("since", "must be before until")
	}
	if f.Until.Sub(f.Since) > MaxKPIRange {
		return KPIs{}, fault.Invalidf("since", "a period of at most 366 days")
	}
	where, args := sc.Filter("org", scope.Read)
	if sc.National(scope.Read) {
		where, args = "1=1", nil
	}
	if f.Org != "" {
		f.Org = strings.ToUpper(strings.TrimSpace(f.Org))
		if err := checkName("org", f.Org, false, safetext.MaxName); err != nil {
			return KPIs{}, err
		}
		path, err := s.orgPath(ctx, f.Org)
		if err != nil || !sc.CanAt(scope.Read, path) {
			return KPIs{}, fault.Invalidf("org", "%s is not an organisation you may see", f.Org)
		}
		// The organisation's subtree, which the caller reads whole (they
		// may read the organisation), through the one scope filter.
		sub := scope.Scope{Grants: []scope.Grant{{Role: scope.Auditor, Org: f.Org, Path: path}}}
		where, args = sub.Filter("org", scope.Read)
	}
	out := KPIs{Filter: f, SLABasis: "Measured from each case's acknowledged and resolved times against the default SLA targets of its severity"}
	caseArgs := append(append([]any{}, args...), ts(f.Since), ts(end))
	type row struct {
		org, sev, tpl, assignee string
		created                 time.Time
		ack, res                *time.Time
	}
	rows, err := queryAll(ctx, s.db.Q(), `SELECT org, severity, template, assignee, created_at, acknowledged_at, resolved_at, closed_at FROM cases
		WHERE `+where+` AND merged_into = '' AND created_at >= ? AND created_at < ?`, func(r scanner) (row, error) {
		var x row
		var created, ack, res, closed string
		if err := r.Scan(&x.org, &x.sev, &x.tpl, &x.assignee, &created, &ack, &res, &closed); err != nil {
			return x, err
		}
		x.created, x.ack, x.res = parseTS(created), optTS(ack), optTS(res)
		if x.res == nil {
			x.res = optTS(closed)
		}
		return x, nil
	}, caseArgs...)
	if err != nil {
		return KPIs{}, err
	}
	groups := map[string]map[string]*KPIGroup{"severity": {}, "template": {}, "org": {}, "analyst": {}}
	add := func(dim, key string, x row) {
		g := groups[dim][key]
		if g == nil {
			g = &KPIGroup{Key: key}
			groups[dim][key] = g
		}
		tally(g, x.created, x.ack, x.res)
	}
	targets := kpiTargets()
	sla := map[[2]string]*SLARow{}
	for _, sev := range Severities() {
		if t, ok := targets[sev]; ok {
			sla[[2]string{string(sev), "acknowledge"}] = &SLARow{Severity: sev, Target: "acknowledge", Within: shortDuration(t[0])}
			sla[[2]string{string(sev), "resolve"}] = &SLARow{Severity: sev, Target: "resolve", Within: shortDuration(t[1])}
		}
	}
	judge := func(r *SLARow, created time.Time, done *time.Time, within time.Duration) {
		switch {
		case done != nil && done.Sub(created) <= within:
			r.Met++
		case done != nil || now.Sub(created) > within:
			r.Missed++
		default:
			r.Pending++
		}
	}
	for _, x := range rows {
		tally(&out.Total, x.created, x.ack, x.res)
		add("severity", x.sev, x)
		add("template", orNone(x.tpl), x)
		add("org", x.org, x)
		add("analyst", orNone(x.assignee), x)
		if t, ok := targets[Severity(x.sev)]; ok {
			judge(sla[[2]string{x.sev, "acknowledge"}], x.created, x.ack, t[0])
			judge(sla[[2]string{x.sev, "resolve"}], x.created, x.res, t[1])
		}
	}
	finish(&out.Total)
	out.BySeverity = sorted(groups["severity"], func(a, b KPIGroup) bool { return Severity(a.Key).Rank() > Severity(b.Key).Rank() })
	out.ByTemplate = sorted(groups["template"], byCases)
	out.ByOrg = sorted(groups["org"], byCases)
	out.ByAnalyst = sorted(groups["analyst"], byCases)
	for i := len(Severities()) - 1; i >= 0; i-- {
		for _, tgt := range []string{"acknowledge", "resolve"} {
			if r := sla[[2]string{string(Severities()[i]), tgt}]; r != nil {
				if d := r.Met + r.Missed; d > 0 {
					r.Rate = float64(r.Met) / float64(d)
				}
				out.SLA = append(out.SLA, *r)
			}
		}
	}
	// False positives per alert source, over alerts received in the period.
	alertArgs := append(append([]any{string(FalsePositive)}, args...), ts(f.Since), ts(end))
	out.FalsePositives, err = queryAll(ctx, s.db.Q(), `SELECT source, COUNT(*), SUM(CASE WHEN disposition = ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN disposition <> '' THEN 1 ELSE 0 END) FROM alerts WHERE `+where+` AND created_at >= ? AND created_at < ? GROUP BY source ORDER BY source`,
		func(r scanner) (SourceRate, error) {
			var x SourceRate
			err := r.Scan(&x.Source, &x.Alerts, &x.FalsePositive, &x.Dispositioned)
			if x.Dispositioned > 0 {
				x.Rate = float64(x.FalsePositive) / float64(x.Dispositioned)
			}
			return x, err
		}, alertArgs...)
	if err != nil {
		return KPIs{}, err
	}
	if out.FalsePositives == nil {
		out.FalsePositives = []SourceRate{}
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func tally(g *KPIGroup, created time.Time, ack, res *time.Time) {
	g.Cases++
	if res == nil {
		g.Open++
	}
	if ack != nil && !ack.Before(created) {
		g.Acked++
		g.ackSum += ack.Sub(created)
	}
	if res != nil && !res.Before(created) {
		g.Resolved++
		g.resSum += res.Sub(created)
	}
}

func finish(g *KPIGroup) {
	if g.Acked > 0 {
		g.MTTASeconds = (g.ackSum / time.Duration(g.Acked)).Seconds()
	}
	if g.Resolved > 0 {
		g.MTTRSeconds = (g.resSum / time.Duration(g.Resolved)).Seconds()
	}
}

func byCases(a, b KPIGroup) bool {
	if a.Cases != b.Cases {
		return a.Cases > b.Cases
	}
	return a.Key < b.Key
}

func sorted(m map[string]*KPIGroup, less func(a, b KPIGroup) bool) []KPIGroup {
	out := make([]KPIGroup, 0, len(m))
	for _, g := range m {
		finish(g)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

// shortDuration writes 15m, 4h, 7d.
func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// WriteCSV writes the KPIs as one tidy table — dimension, key, metric,
// value — that a spreadsheet pivots as it likes. Keys that a spreadsheet
// would run as formulas are neutralised (supply.CSVCell).
func (k KPIs) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	put := func(dim, key, metric string, v float64) {
		_ = cw.Write(supply.CSVRow(dim, key, metric, strconv.FormatFloat(v, 'f', -1, 64))) // errors surface at Flush
	}
	_ = cw.Write([]string{"dimension", "key", "metric", "value"}) // errors surface at Flush
	group := func(dim string, g KPIGroup) {
		put(dim, g.Key, "cases", float64(g.Cases))
		put(dim, g.Key, "open", float64(g.Open))
		put(dim, g.Key, "mtta_minutes", round(g.MTTASeconds/60))
		put(dim, g.Key, "mttr_minutes", round(g.MTTRSeconds/60))
	}
	total := k.Total
	total.Key = "total"
	group("total", total)
	for _, x := range []struct {
		dim string
		gs  []KPIGroup
	}{{"severity", k.BySeverity}, {"template", k.ByTemplate}, {"org", k.ByOrg}, {"analyst", k.ByAnalyst}} {
		for _, g := range x.gs {
			group(x.dim, g)
		}
	}
	for _, r := range k.SLA {
		if r.Met+r.Missed+r.Pending == 0 {
			continue // no case of that severity
		}
		key := string(r.Severity) + " " + r.Target + " within " + r.Within
		put("sla", key, "met", float64(r.Met))
		put("sla", key, "missed", float64(r.Missed))
		put("sla", key, "pending", float64(r.Pending))
		put("sla", key, "compliance", round(r.Rate))
	}
	for _, r := range k.FalsePositives {
		put("source", r.Source, "alerts", float64(r.Alerts))
		put("source", r.Source, "dispositioned", float64(r.Dispositioned))
		put("source", r.Source, "false_positive", float64(r.FalsePositive))
		put("source", r.Source, "false_positive_rate", round(r.Rate))
	}
	cw.Flush()
	return cw.Error()
}

func round(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
