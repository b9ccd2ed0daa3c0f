package vuln

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// Stats counts the answers of the organisation rows a reader sees.
type Stats struct {
	Organisations int `json:"organisations"`
	Acknowledged  int `json:"acknowledged"`
	// Applicability counts each answer given ("" is not yet answered).
	Applicability map[string]int `json:"applicability"`
	Updated       int            `json:"updated"`
	Closed        int            `json:"closed"`
	AckOverdue    int            `json:"ack_overdue"`
	UpdateOverdue int            `json:"update_overdue"`
	Escalated     int            `json:"escalated"`
	// ResponseRate is the share acknowledged, 0–1 (0 with no rows).
	ResponseRate float64 `json:"response_rate"`
}

func statsOf(ms []AlertOrg) Stats {
	st := Stats{Applicability: map[string]int{}}
	for _, m := range ms {
		st.add(m)
	}
	st.finish()
	return st
}

func (st *Stats) add(m AlertOrg) {
	if !m.InScope {
		return // kept with its answers, but no longer asked of it (RefreshScope)
	}
	st.Organisations++
	if m.AckAt != nil {
		st.Acknowledged++
	}
	if m.Applicability != "" {
		st.Applicability[m.Applicability]++
	}
	if m.FirstUpdateAt != nil {
		st.Updated++
	}
	if m.ClosedAt != nil {
		st.Closed++
	}
	if m.AckOverdue {
		st.AckOverdue++
	}
	if m.UpdateOverdue {
		st.UpdateOverdue++
	}
	if m.EscalatedAt != nil {
		st.Escalated++
	}
}

func (st *Stats) finish() {
	if st.Organisations > 0 {
		st.ResponseRate = float64(st.Acknowledged) / float64(st.Organisations)
	}
}

// GroupStats are the statistics of one region, ICB or organisation type.
type GroupStats struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Stats
}

// Dashboard is the national (or regional) view of alert responses: the
// totals, the same by region, ICB and type, and every overdue row.
type Dashboard struct {
	// Alert is the one alert the dashboard is about ("" for every alert
	// the reader sees).
	Alert    string       `json:"alert,omitempty"`
	At       time.Time    `json:"at"`
	Totals   Stats        `json:"totals"`
	ByRegion []GroupStats `json:"by_region"`
	ByICB    []GroupStats `json:"by_icb"`
	ByType   []GroupStats `json:"by_type"`
	// Over time is the response rate at set times after issue (the paper
	// process's measure: "16 % had responded after four days").
	OverTime []RatePoint `json:"over_time"`
	// Overdue are the rows with a clock run out, oldest due first.
	Overdue []AlertOrg `json:"overdue"`
	// Rows are every row the reader sees (for the CSV export).
	Rows []AlertOrg `json:"-"`
}

// RatePoint is how many organisations had acknowledged within Hours of
// their alert's issue.
type RatePoint struct {
	Hours        int     `json:"hours"`
	Acknowledged int     `json:"acknowledged"`
	Rate         float64 `json:"rate"`
	// Elapsed is false while some alert counted is younger than Hours:
	// the figure can still grow.
	Elapsed bool `json:"elapsed"`
}

// RateHours are the times after issue the dashboard reports: 12 hours,
// 1, 2 (the acknowledgement clock), 3 (the first update), 4 and 7 days.
var RateHours = []int{12, 24, 48, 72, 96, 168}

// Dashboard counts the answers to alertID (or to every alert when empty)
// of the organisations sc may read: a trust its own, a region its
// organisations, the national team all.
func (s *Alerts) Dashboard(ctx context.Context, sc scope.Scope, alertID string) (Dashboard, error) {
	where, args := "1=1", []any{}
	if alertID != "" {
		if _, err := s.Get(ctx, sc, alertID); err != nil {
			return Dashboard{}, err
		}
		where, args = "alert_id = ?", []any{alertID}
	}
	ms, err := s.members(ctx, s.db.Q(), sc, where, args...)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Alert: alertID, At: s.now(), Totals: Stats{Applicability: map[string]int{}}, Rows: ms, Overdue: []AlertOrg{}}
	region, icb, typ := map[string]*GroupStats{}, map[string]*GroupStats{}, map[string]*GroupStats{}
	group := func(m map[string]*GroupStats, code, name string) *GroupStats {
		g, ok := m[code]
		if !ok {
			g = &GroupStats{Code: code, Name: name, Stats: Stats{Applicability: map[string]int{}}}
			m[code] = g
		}
		return g
	}
	for _, m := range ms {
		d.Totals.add(m)
		group(region, m.Region, m.RegionName).add(m)
		group(icb, m.ICB, m.ICBName).add(m)
		group(typ, m.Type, m.Type).add(m)
		if m.AckOverdue || m.UpdateOverdue {
			d.Overdue = append(d.Overdue, m)
		}
	}
	d.Totals.finish()
	d.ByRegion, d.ByICB, d.ByType = groups(region), groups(icb), groups(typ)
	issued, err := s.issuedAt(ctx)
	if err != nil {
		return Dashboard{}, err
	}
	for _, h := range RateHours {
		p := RatePoint{Hours: h, Elapsed: true}
		within := time.Duration(h) * time.Hour
		for _, m := range ms {
			at := issued[m.Alert]
			if m.AckAt != nil && m.AckAt.Sub(at) <= within {
				p.Acknowledged++
			}
			if d.At.Sub(at) < within {
				p.Elapsed = false
			}
		}
		if len(ms) > 0 {
			p.Rate = float64(p.Acknowledged) / float64(len(ms))
		}
		d.OverTime = append(d.OverTime, p)
	}
	sort.SliceStable(d.Overdue, func(i, j int) bool { return due(d.Overdue[i]).Before(due(d.Overdue[j])) })
	return d, nil
}

// issuedAt maps each alert to when it was issued.
func (s *Alerts) issuedAt(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, issued_at FROM cyber_alerts`)
	if err != nil {
		return nil, fmt.Errorf("vuln: alerts issued: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, at string
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = parseTS(at)
	}
	return out, rows.Err()
}

// due is the earliest clock a row has run out.
func due(m AlertOrg) time.Time {
	if m.AckOverdue {
		return m.AckDue
	}
	return m.UpdateDue
}

// groups sorts groups by most overdue, then by code.
func groups(m map[string]*GroupStats) []GroupStats {
	out := make([]GroupStats, 0, len(m))
	for _, g := range m {
		g.finish()
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if oa, ob := a.AckOverdue+a.UpdateOverdue, b.AckOverdue+b.UpdateOverdue; oa != ob {
			return oa > ob
		}
		return a.Code < b.Code
	})
	return out
}

// CSVHeader is the first line of the dashboard's CSV export.
var CSVHeader = []string{"alert_id", "org", "name", "type", "icb", "icb_name", "region", "region_name", "state", "ack_due", "acknowledged_at",
	"ack_overdue", "applicability", "reason", "first_update_at", "update_due", "update_overdue", "closed_at", "escalated_at", "path"}

// WriteCSV writes every row of the dashboard, one line an organisation
// and alert, in the order of CSVHeader.
func (d Dashboard) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	t := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339)
	}
	for _, m := range d.Rows {
		if err := cw.Write([]string{m.Alert, m.Org, csvSafe(m.Name), m.Type, m.ICB, csvSafe(m.ICBName), m.Region, csvSafe(m.RegionName), m.State(),
			m.AckDue.UTC().Format(time.RFC3339), t(m.AckAt), fmt.Sprint(m.AckOverdue), m.Applicability, csvSafe(m.Reason), t(m.FirstUpdateAt),
			m.UpdateDue.UTC().Format(time.RFC3339), fmt.Sprint(m.UpdateOverdue), t(m.ClosedAt), t(m.EscalatedAt), csvSafe(m.Path)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading people's text as a formula
// (OWASP CSV injection).
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// HistoryEntry is an organisation's part in one alert, with how long it
// took to answer.
type HistoryEntry struct {
	AlertOrg
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	IssuedAt time.Time `json:"issued_at"`
	// AckHours and CloseHours are the hours from issue to the
	// acknowledgement and to closing (absent until they happen).
	AckHours   *float64 `json:"ack_hours,omitempty"`
	CloseHours *float64 `json:"close_hours,omitempty"`
}

// History is an organisation's part in every alert that reached it, newest
// first: fault.ErrNotFound for an organisation sc may not read.
func (s *Alerts) History(ctx context.Context, sc scope.Scope, code string) ([]HistoryEntry, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	path, err := s.o.Orgs.PathOf(ctx, code)
	if err != nil || !sc.CanAt(scope.Read, path) {
		return nil, fault.NotFoundf("no organisation %s", code)
	}
	ms, err := s.members(ctx, s.db.Q(), sc, "org = ?", code)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT a.id, a.title, a.severity, a.issued_at FROM cyber_alerts a
		JOIN cyber_alert_orgs m ON m.alert_id = a.id WHERE m.org = ?`, code)
	if err != nil {
		return nil, fmt.Errorf("vuln: history of %s: %w", code, err)
	}
	defer rows.Close()
	type head struct {
		title, severity string
		issued          time.Time
	}
	heads := map[string]head{}
	for rows.Next() {
		var id, issued string
		var h head
		if err := rows.Scan(&id, &h.title, &h.severity, &issued); err != nil {
			return nil, err
		}
		h.issued = parseTS(issued)
		heads[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	hours := func(from time.Time, to *time.Time) *float64 {
		if to == nil {
			return nil
		}
		h := to.Sub(from).Hours()
		return &h
	}
	out := make([]HistoryEntry, 0, len(ms))
	for _, m := range ms {
		h := heads[m.Alert]
		out = append(out, HistoryEntry{AlertOrg: m, Title: h.title, Severity: h.severity, IssuedAt: h.issued,
			AckHours: hours(h.issued, m.AckAt), CloseHours: hours(h.issued, m.ClosedAt)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].IssuedAt.After(out[j].IssuedAt) })
	return out, nil
}
