package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Alert is one thing a producer reported: an EDR detection, a phishing
// report, an IOC match, a supplier's notice. Producers name it by
// (source, type, source_ref) within an organisation: a repeat of that key
// raises Occurrences and LastSeen of the alert already stored.
type Alert struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Type        string            `json:"type"`
	SourceRef   string            `json:"source_ref"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Severity    Severity          `json:"severity"`
	Org         string            `json:"org"`
	TLP         TLP               `json:"tlp"`
	PAP         PAP               `json:"pap"`
	Observables []Observable      `json:"observables"`
	Fields      map[string]string `json:"fields,omitempty"`
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	Occurrences int64             `json:"occurrences"`
	Status      AlertStatus       `json:"status"`
	Assignee    string            `json:"assignee,omitempty"`
	Disposition Disposition       `json:"disposition,omitempty"`
	CaseID      string            `json:"case_id,omitempty"`
	// Dispositions is the verdict history, oldest first (GetAlert only).
	Dispositions []DispositionEntry `json:"dispositions,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// DispositionEntry is one verdict: what, by whom, when and why.
type DispositionEntry struct {
	Disposition Disposition `json:"disposition"`
	By          string      `json:"by"`
	At          time.Time   `json:"at"`
	Reason      string      `json:"reason,omitempty"`
}

// NewAlert is what a producer sends (POST /api/v1/alerts, the ALERTS
// stream). Source, type, source_ref, title, severity, org and tlp are
// required; pap defaults to amber; first_seen and last_seen to now.
type NewAlert struct {
	Source      string            `json:"source"`
	Type        string            `json:"type"`
	SourceRef   string            `json:"source_ref"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Severity    Severity          `json:"severity"`
	Org         string            `json:"org"`
	TLP         TLP               `json:"tlp"`
	PAP         PAP               `json:"pap,omitempty"`
	Observables []Observable      `json:"observables"`
	Fields      map[string]string `json:"fields,omitempty"`
	FirstSeen   *time.Time        `json:"first_seen,omitempty"`
	LastSeen    *time.Time        `json:"last_seen,omitempty"`
}

// identRE is a producer's name for a source or type: lower case letters,
// digits and . _ - (case is folded, so "CrowdStrike" and "crowdstrike" are
// one source).
var identRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) })

const maxAlertDescription = 20_000

// build checks n and returns the alert to store, made at now.
func (n NewAlert) build(now time.Time) (Alert, error) {
	a := Alert{
		Source: strings.ToLower(strings.TrimSpace(n.Source)), Type: strings.ToLower(strings.TrimSpace(n.Type)),
		SourceRef: strings.TrimSpace(n.SourceRef), Title: strings.TrimSpace(n.Title), Description: n.Description,
		Severity: n.Severity, Org: strings.ToUpper(strings.TrimSpace(n.Org)), TLP: n.TLP, PAP: n.PAP,
		Status: AlertNew, Occurrences: 1,
	}
	for _, f := range []struct{ name, v string }{{"source", a.Source}, {"type", a.Type}} {
		if f.v == "" {
			return Alert{}, fault.Invalidf(f.name, "is required")
		}
		if !identRE().MatchString(f.v) {
			return Alert{}, fault.Invalidf(f.name, "%q: use lower-case letters, digits and . _ - (at most 64), e.g. \"edr\" or \"email-gateway\"", safetext.Terminal(f.v))
		}
	}
	if err := checkName("source_ref", a.SourceRef, true, safetext.MaxName); err != nil {
		return Alert{}, err
	}
	if err := checkName("title", a.Title, true, maxTitle); err != nil {
		return Alert{}, err
	}
	if err := checkText("description", a.Description, maxAlertDescription); err != nil {
		return Alert{}, err
	}
	if a.Severity == "" {
		return Alert{}, fault.Invalidf("severity", "is required: one of %s", names(Severities()))
	}
	if err := oneOf("severity", a.Severity, Severities()); err != nil {
		return Alert{}, err
	}
	if a.Org == "" {
		return Alert{}, fault.Invalidf("org", "is required: the ODS code of the organisation the alert is about")
	}
	if err := checkName("org", a.Org, true, 64); err != nil {
		return Alert{}, err
	}
	if a.TLP == "" {
		return Alert{}, fault.Invalidf("tlp", "is required: one of %s", names(TLPs()))
	}
	if err := oneOf("tlp", a.TLP, TLPs()); err != nil {
		return Alert{}, err
	}
	if a.PAP == "" {
		a.PAP = PAPAmber
	}
	if err := oneOf("pap", a.PAP, PAPs()); err != nil {
		return Alert{}, err
	}
	var err error
	if a.Observables, err = normObservables("observables", n.Observables); err != nil {
		return Alert{}, err
	}
	if a.Fields, err = checkFields("fields", n.Fields); err != nil {
		return Alert{}, err
	}
	a.FirstSeen, a.LastSeen = now, now
	if n.FirstSeen != nil {
		a.FirstSeen, a.LastSeen = n.FirstSeen.UTC(), n.FirstSeen.UTC()
	}
	if n.LastSeen != nil {
		a.LastSeen = n.LastSeen.UTC()
	}
	if a.LastSeen.Before(a.FirstSeen) {
		return Alert{}, fault.Invalidf("last_seen", "is before first_seen")
	}
	if a.FirstSeen.Year() < 1990 || a.LastSeen.After(now.Add(24*time.Hour)) {
		return Alert{}, fault.Invalidf("first_seen", "first_seen and last_seen must lie between 1990 and a day from now")
	}
	a.ID = newID(prefixAlert, now)
	a.CreatedAt, a.UpdatedAt = now, now
	return a, nil
}

// checkFields checks entity fields: at most maxFields keys of lower-case
// letters, digits and _ . -, each value one line of free text.
func checkFields(field string, in map[string]string) (map[string]string, error) {
	if len(in) > maxFields {
		return nil, fault.Invalidf(field, "has %d entries; at most %d", len(in), maxFields)
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if !fieldKeyRE().MatchString(k) {
			return nil, fault.Invalidf(field, "%q is not a field name: lower-case letters, digits and _ . - (at most %d, starting with a letter)", safetext.Terminal(k), maxFieldKey)
		}
		if err := checkText(field+"."+k, v, maxShortText); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// searchText is what q searches: the words of the title, source, type,
// reference and the observables' values (search.go).
func (a *Alert) searchText() string {
	parts := []string{a.Title, a.Source, a.Type, a.SourceRef}
	for _, o := range a.Observables {
		parts = append(parts, o.Value)
	}
	return searchText(parts...)
}

// CreateResult is the answer to a creation.
type CreateResult struct {
	Alert Alert
	// Created is true for a new alert, false for a repeat of a stored
	// one (whose Occurrences and LastSeen it raised) and for a bus
	// message already stored (Redelivered).
	Created     bool
	Redelivered bool
}

// CreateAlert stores an alert for a producer holding scope.Write on its
// organisation; a repeat of (org, source, type, source_ref) raises the
// stored alert's occurrence count instead. Concurrent creations of one key,
// in one process or several, store one alert (a unique index decides).
func (s *Service) CreateAlert(ctx context.Context, sc scope.Scope, n NewAlert) (CreateResult, error) {
	a, err := n.build(s.now())
	if err != nil {
		return CreateResult{}, err
	}
	path, err := s.orgPath(ctx, a.Org)
	if errors.Is(err, fault.ErrNotFound) || err == nil && !sc.CanAt(scope.Read, path) {
		return CreateResult{}, fault.Invalidf("org", "%s is not an organisation you may report alerts for", a.Org)
	}
	if err != nil {
		return CreateResult{}, err
	}
	if !sc.CanAt(scope.Write, path) {
		return CreateResult{}, fault.Forbiddenf("you may read but not report alerts for %s", a.Org)
	}
	return s.writer.submit(ctx, createReq{alert: a, sc: sc})
}

const alertCols = `id, org, source, type, source_ref, title, description, severity, tlp, pap, observables, fields,
	first_seen, last_seen, occurrences, status, assignee, disposition, case_id, created_at, updated_at`

func scanAlert(r scanner) (Alert, error) {
	var a Alert
	var obs, fields, first, last, created, updated string
	err := r.Scan(&a.ID, &a.Org, &a.Source, &a.Type, &a.SourceRef, &a.Title, &a.Description, &a.Severity, &a.TLP, &a.PAP,
		&obs, &fields, &first, &last, &a.Occurrences, &a.Status, &a.Assignee, &a.Disposition, &a.CaseID, &created, &updated)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(obs), &a.Observables); err != nil {
		return a, fmt.Errorf("alert %s observables: %w", a.ID, err)
	}
	if fields != "" && fields != "{}" {
		if err := json.Unmarshal([]byte(fields), &a.Fields); err != nil {
			return a, fmt.Errorf("alert %s fields: %w", a.ID, err)
		}
	}
	a.FirstSeen, a.LastSeen, a.CreatedAt, a.UpdatedAt = parseTS(first), parseTS(last), parseTS(created), parseTS(updated)
	return a, nil
}

// upsertAlertSQL stores an alert or, when its dedupe key exists, counts
// a repeat. A repeat changes only occurrences, last_seen and updated_at:
// the first report's content stands (triage may have acted on it).
const upsertAlertSQL = `INSERT INTO alerts (id, org, source, type, source_ref, title, description, severity, tlp, pap,
	observables, fields, first_seen, last_seen, occurrences, status, search, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
	ON CONFLICT (org, source, type, source_ref) DO UPDATE SET occurrences = alerts.occurrences + 1,
		last_seen = CASE WHEN excluded.last_seen > alerts.last_seen THEN excluded.last_seen ELSE alerts.last_seen END,
		updated_at = excluded.updated_at
	RETURNING id, occurrences`

// insertAlert upserts a on the dedupe key inside tx with the prepared
// upsertAlertSQL and reports whether it was new; for a repeat, *a becomes
// the stored alert.
func insertAlert(ctx context.Context, tx *store.Tx, upsert *sql.Stmt, a *Alert) (bool, error) {
	obs, _ := json.Marshal(a.Observables)
	fields := []byte("{}")
	if len(a.Fields) > 0 {
		fields, _ = json.Marshal(a.Fields)
	}
	var id string
	var occ int64
	err := upsert.QueryRowContext(ctx,
		a.ID, a.Org, a.Source, a.Type, a.SourceRef, a.Title, a.Description, string(a.Severity), string(a.TLP), string(a.PAP),
		string(obs), string(fields), ts(a.FirstSeen), ts(a.LastSeen), string(a.Status), a.searchText(), ts(a.CreatedAt), ts(a.UpdatedAt)).Scan(&id, &occ)
	if err != nil {
		return false, fmt.Errorf("cases: store alert: %w", err)
	}
	if id == a.ID {
		return true, nil
	}
	stored, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return false, fmt.Errorf("cases: read repeated alert: %w", err)
	}
	*a = stored
	return false, nil
}

// GetAlert returns one alert with its disposition history, or
// fault.ErrNotFound when it does not exist or sc may not read it.
func (s *Service) GetAlert(ctx context.Context, sc scope.Scope, id string) (Alert, error) {
	if !validID(prefixAlert, id) {
		return Alert{}, notFound("alert", id)
	}
	a, err := s.getAlert(ctx, s.db.Q(), sc, id)
	if err != nil {
		return Alert{}, err
	}
	a.Dispositions, err = queryAll(ctx, s.db.Q(), `SELECT disposition, by_name, at, reason FROM alert_dispositions WHERE alert_id = ? ORDER BY id`,
		func(r scanner) (DispositionEntry, error) {
			var d DispositionEntry
			var at string
			err := r.Scan(&d.Disposition, &d.By, &at, &d.Reason)
			d.At = parseTS(at)
			return d, err
		}, id)
	return a, err
}

func (s *Service) getAlert(ctx context.Context, q store.Queryer, sc scope.Scope, id string) (Alert, error) {
	where, args := sc.Filter("org", scope.Read)
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ? AND `+where, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, notFound("alert", id)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("cases: get alert %s: %w", id, err)
	}
	return a, nil
}

// AlertFilter narrows the inbox. Zero fields match everything.
type AlertFilter struct {
	Status   AlertStatus
	Severity Severity
	Org      string
	Source   string
	Type     string
	Assignee string
	Case     string
	// Query: every word must begin a word of the title, source, type,
	// reference or an observable's value; a word with punctuation
	// (a host name, an address) begins those words in a row (search.go).
	Query string
	// Since and Until bound when Vigil received the alert (inclusive,
	// exclusive).
	Since, Until time.Time
	// After is the cursor: the last ID of the previous page.
	After string
	Limit int
}

// MaxPage is the largest page of a listing.
const MaxPage = 1000

// ListAlerts returns the alerts sc may read that match f, newest first
// (by arrival: IDs sort by creation time), and the cursor of the next page
// ("" at the end). The order is stable: a repeat raises an alert's
// occurrences but does not move it.
func (s *Service) ListAlerts(ctx context.Context, sc scope.Scope, f AlertFilter) ([]Alert, string, error) {
	from, l, limit, err := s.alertsQuery(ctx, sc, f)
	if err != nil {
		return nil, "", err
	}
	return page(ctx, s.db.Q(), alertCols, from, l, limit, scanAlert, func(a Alert) string { return a.ID })
}

// alertsQuery returns what ListAlerts reads for f: the table with any
// index hint, the conditions and the page size.
func (s *Service) alertsQuery(ctx context.Context, sc scope.Scope, f AlertFilter) (string, listing, int, error) {
	var l listing
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return "", l, 0, err
	}
	phrases, err := searchPhrases(f.Query)
	if err != nil {
		return "", l, 0, err
	}
	from := "alerts"
	var inScope int64 // alerts in scope, on SQLite; 0 for all of them
	byOrg := false    // whether the unfiltered page reads organisation by organisation
	if f.Org == "" {
		r, err := s.inboxRead(ctx, sc, limit+1)
		if err != nil {
			return "", l, 0, err
		}
		l.add(r.where, r.args...)
		from += r.hint
		inScope, byOrg = r.inScope, r.hint != ""
	} else {
		where, args := sc.Filter("org", scope.Read)
		l.add(where, args...)
		byOrg = true // alerts_org: one organisation's alerts, then sorted
	}
	if err := is(&l, "status", "status", f.Status, AlertStatuses()); err != nil {
		return "", l, 0, err
	}
	if err := is(&l, "severity", "severity", f.Severity, Severities()); err != nil {
		return "", l, 0, err
	}
	if err := l.equal(eq{"org", "org", strings.ToUpper(f.Org)}, eq{"source", "source", strings.ToLower(f.Source)},
		eq{"type", "type", strings.ToLower(f.Type)}, eq{"assignee", "assignee", f.Assignee}, eq{"case_id", "case", f.Case}); err != nil {
		return "", l, 0, err
	}
	if strings.TrimSpace(f.Query) != "" {
		if f.Org != "" && s.db.Dialect == store.SQLite {
			if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(SUM(alerts), 0) FROM alert_counts WHERE org = ?`,
				strings.ToUpper(f.Org)).Scan(&inScope); err != nil {
				return "", l, 0, fmt.Errorf("cases: count alerts: %w", err)
			}
		}
		plan, err := s.chooseSearchPlan(ctx, "alerts", phrases, limit, inScope, byOrg)
		if err != nil {
			return "", l, 0, err
		}
		if plan == planLookup && s.db.Dialect == store.SQLite && len(phrases) > 0 {
			// Read the matches by rowid and nothing else: NOT INDEXED
			// keeps SQLite from walking an index the other filters name
			// (rowid lookups stay allowed).
			from = "alerts NOT INDEXED"
		}
		c, a := searchCond(s.db.Dialect, "alerts", phrases, plan)
		l.add(c, a...)
	}
	if !f.Since.IsZero() {
		l.add("id >= ?", idFloor(prefixAlert, f.Since))
	}
	if !f.Until.IsZero() {
		l.add("id < ?", idFloor(prefixAlert, f.Until))
	}
	if err := l.after(prefixAlert, f.After); err != nil {
		return "", l, 0, err
	}
	return from, l, limit, nil
}

// inboxScope returns the condition keeping the inbox to sc's
// organisations and, on SQLite, how to read the alerts (an INDEXED BY
// clause, or "" for the planner's choice).
//
// The first page is the newest limit alerts of the scope. There are two
// ways to read them, and which is fast depends on how many alerts the
// scope holds (measured in docs/performance.md):
//
//   - newest first over the whole table (the primary key, or the status,
//     severity or source index, all ending in id), skipping other
//     organisations' rows until the page is full. It reads about
//     limit × total ÷ inScope rows: cheap for a national or regional view,
//     a scan of everything for a practice with three alerts.
//   - organisation by organisation (alerts_org), then sorting: it reads
//     every alert in scope that matches the index's prefix, so it is cheap
//     for a trust and slow for a region.
//
// The two costs meet where inScope² = limit × total, so the scope's alert
// count (alert_counts, kept with every new alert) decides. SQLite's
// planner cannot make this choice itself: it cannot see how many
// organisations an IN (subquery) yields, and picked the per-organisation
// plan for a national analyst, sorting the whole table. A scope over the
// whole tree (a national grant) needs no condition at all: every
// organisation is under the national root.
func (s *Service) inboxScope(ctx context.Context, sc scope.Scope, limit int) (string, []any, string, error) {
	r, err := s.inboxRead(ctx, sc, limit)
	return r.where, r.args, r.hint, err
}

// inboxRead is how the inbox reads a scope's alerts (inboxScope), with the
// count it was chosen by: inScope is the scope's alerts on SQLite when it
// was counted, 0 for the whole table or unknown.
type inboxRead struct {
	where   string
	args    []any
	hint    string
	inScope int64
}

func (s *Service) inboxRead(ctx context.Context, sc scope.Scope, limit int) (inboxRead, error) {
	if sc.National(scope.Read) {
		return inboxRead{where: "1=1"}, nil
	}
	where, args := sc.Filter("org", scope.Read)
	if where == "1=0" || where == "1=1" || s.db.Dialect != store.SQLite {
		return inboxRead{where: where, args: args}, nil
	}
	var total, inScope int64
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(SUM(alerts), 0) FROM alert_counts`).Scan(&total); err != nil {
		return inboxRead{}, fmt.Errorf("cases: count alerts: %w", err)
	}
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(SUM(alerts), 0) FROM alert_counts WHERE `+where, args...).Scan(&inScope); err != nil {
		return inboxRead{}, fmt.Errorf("cases: count alerts in scope: %w", err)
	}
	if inScope*inScope <= int64(limit)*total {
		return inboxRead{where: where, args: args, hint: " INDEXED BY alerts_org", inScope: max(inScope, 1)}, nil
	}
	// The unary + keeps SQLite from reading by organisation.
	where, args = sc.Filter("+org", scope.Read)
	return inboxRead{where: where, args: args, inScope: max(inScope, 1)}, nil
}

// countAlert records a new alert of org in alert_counts.
func countAlerts(ctx context.Context, tx *store.Tx, org string, n int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_counts (org, alerts) VALUES (?, ?)
		ON CONFLICT (org) DO UPDATE SET alerts = alert_counts.alerts + excluded.alerts`, org, n)
	if err != nil {
		return fmt.Errorf("cases: count alerts: %w", err)
	}
	return nil
}

// TriageAction is what bulk triage does to every alert it is given.
type TriageAction string

const (
	// TriageAssign sets (or with an empty assignee clears) the assignee,
	// who must be able to change every one of the alerts; a new alert
	// becomes acknowledged.
	TriageAssign TriageAction = "assign"
	// TriageAcknowledge marks new alerts acknowledged.
	TriageAcknowledge TriageAction = "acknowledge"
	// TriageDisposition records a verdict (with a reason) in each alert's
	// history.
	TriageDisposition TriageAction = "disposition"
	// TriageClose closes the alerts, recording the verdict given (one is
	// needed unless each alert has one already).
	TriageClose TriageAction = "close"
	// TriageReopen makes closed alerts acknowledged again.
	TriageReopen TriageAction = "reopen"
)

// TriageActions lists the actions.
func TriageActions() []TriageAction {
	return []TriageAction{TriageAssign, TriageAcknowledge, TriageDisposition, TriageClose, TriageReopen}
}

// Triage is one bulk triage request.
type Triage struct {
	IDs         []string     `json:"ids"`
	Action      TriageAction `json:"action"`
	Assignee    string       `json:"assignee,omitempty"`
	Disposition Disposition  `json:"disposition,omitempty"`
	Reason      string       `json:"reason,omitempty"`
}

// TriageResult lists the alerts as they are after triage, in the order asked.
type TriageResult struct {
	Alerts []Alert `json:"alerts"`
}

// checkIDs de-duplicates and checks a list of IDs of one kind.
func checkIDs(field, prefix string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, fault.Invalidf(field, "is required: give at least one ID")
	}
	if len(ids) > maxIDs {
		return nil, fault.Invalidf(field, "has %d IDs; at most %d in one call", len(ids), maxIDs)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// lockAlerts reads the alerts ids inside tx, all of which sc must read
// (else fault.ErrNotFound, naming none of them) and change (else
// fault.ErrForbidden naming the first it may only read).
func (s *Service) lockAlerts(ctx context.Context, tx *store.Tx, sc scope.Scope, ids []string) ([]Alert, map[string]string, error) {
	for _, id := range ids {
		if !validID(prefixAlert, id) {
			return nil, nil, fmt.Errorf("one or more of the alerts: %w", fault.ErrNotFound)
		}
	}
	where, args := sc.Filter("org", scope.Read)
	in := make([]any, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	list, err := queryAll(ctx, tx, `SELECT `+alertCols+` FROM alerts WHERE id IN (`+store.Placeholders(len(ids))+`) AND `+where+forUpdate(tx), scanAlert, append(in, args...)...)
	if err != nil {
		return nil, nil, err
	}
	if len(list) != len(ids) {
		return nil, nil, fmt.Errorf("one or more of the alerts: %w", fault.ErrNotFound)
	}
	byID := map[string]Alert{}
	for _, a := range list {
		byID[a.ID] = a
	}
	paths := map[string]string{}
	out := make([]Alert, len(ids))
	for i, id := range ids {
		a := byID[id]
		p, ok := paths[a.Org]
		if !ok {
			if p, err = s.orgPath(ctx, a.Org); err != nil {
				return nil, nil, err
			}
			paths[a.Org] = p
		}
		if !sc.CanAt(scope.Write, p) {
			return nil, nil, fault.Forbiddenf("you may read but not change alert %s", id)
		}
		out[i] = a
	}
	return out, paths, nil
}

// TriageAlerts applies one action to a list of alerts, all or none: every
// alert must be one sc may change, and a list holding one it may not see
// fails as not found without saying which.
func (s *Service) TriageAlerts(ctx context.Context, sc scope.Scope, t Triage) (TriageResult, error) {
	ids, err := checkIDs("ids", prefixAlert, t.IDs)
	if err != nil {
		return TriageResult{}, err
	}
	if err := oneOf("action", t.Action, TriageActions()); err != nil {
		return TriageResult{}, err
	}
	if err := checkText("reason", t.Reason, maxShortText); err != nil {
		return TriageResult{}, err
	}
	switch t.Action {
	case TriageDisposition:
		if t.Disposition == "" {
			return TriageResult{}, fault.Invalidf("disposition", "is required: one of %s", names(Dispositions()))
		}
	}
	if t.Disposition != "" {
		if err := oneOf("disposition", t.Disposition, Dispositions()); err != nil {
			return TriageResult{}, err
		}
	}
	now := s.now()
	var out []Alert
	var evs []Event
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		list, paths, err := s.lockAlerts(ctx, tx, sc, ids)
		if err != nil {
			return err
		}
		assignee := ""
		if t.Action == TriageAssign && strings.TrimSpace(t.Assignee) != "" {
			for _, a := range list {
				email, ok, err := s.userCan(ctx, sc, t.Assignee, paths[a.Org], scope.Write)
				if err != nil {
					return err
				}
				if !ok {
					return fault.Invalidf("assignee", "%q is not a user who may work on these alerts", safetext.Terminal(t.Assignee))
				}
				assignee = email
			}
		}
		for i := range list {
			a := &list[i]
			before := *a
			switch t.Action {
			case TriageAssign:
				a.Assignee = assignee
				if a.Status == AlertNew {
					a.Status = AlertAcknowledged
				}
			case TriageAcknowledge:
				if a.Status == AlertNew {
					a.Status = AlertAcknowledged
				}
			case TriageClose:
				if a.Status == AlertInCase {
					return fault.Invalidf("ids", "alert %s is in case %s: close the case instead", a.ID, a.CaseID)
				}
				if t.Disposition == "" && a.Disposition == "" {
					return fault.Invalidf("disposition", "is required to close alert %s, which has none yet: one of %s", a.ID, names(Dispositions()))
				}
				a.Status = AlertClosed
			case TriageReopen:
				if a.Status == AlertClosed {
					a.Status = AlertAcknowledged
				}
			}
			if t.Disposition != "" && (t.Action == TriageDisposition || t.Action == TriageClose) {
				a.Disposition = t.Disposition
				if _, err := tx.ExecContext(ctx, `INSERT INTO alert_dispositions (id, alert_id, disposition, by_id, by_name, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					newID(prefixDisposition, now), a.ID, string(t.Disposition), sc.UserID, actorName(sc), t.Reason, ts(now)); err != nil {
					return fmt.Errorf("cases: record disposition: %w", err)
				}
				a.Dispositions = append(a.Dispositions, DispositionEntry{Disposition: t.Disposition, By: actorName(sc), At: now, Reason: t.Reason})
			}
			a.UpdatedAt = now
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, assignee = ?, disposition = ?, updated_at = ? WHERE id = ?`,
				string(a.Status), a.Assignee, string(a.Disposition), ts(now), a.ID); err != nil {
				return fmt.Errorf("cases: triage alert %s: %w", a.ID, err)
			}
			if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "alert.triage." + string(t.Action), ObjectType: "alert", ObjectID: a.ID, Org: a.Org,
				Before: triageView(before), After: triageView(*a)}); err != nil {
				return err
			}
			ev := Event{Kind: "alert.triaged", Org: a.Org, Alert: a.ID, Actor: actorName(sc), At: now, Detail: map[string]string{"action": string(t.Action)}}
			if t.Action == TriageAssign && a.Assignee != "" {
				ev.Users = []string{a.Assignee}
			}
			evs = append(evs, ev)
		}
		out = list
		s.after(tx, "alert.triage", evs...)
		return nil
	})
	if err != nil {
		return TriageResult{}, err
	}
	return TriageResult{Alerts: out}, nil
}

// triageView is what an audit entry of triage records of an alert.
func triageView(a Alert) map[string]string {
	return map[string]string{"status": string(a.Status), "assignee": a.Assignee, "disposition": string(a.Disposition)}
}

// sortedKeys returns m's keys in order (for stable messages).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
