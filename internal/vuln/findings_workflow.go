package vuln

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The findings workflow and the national findings view (issue 18).
//
// People say what they did about a stored finding: acknowledge it,
// accept the risk until an expiry date with a reason, or close it as
// fixed or not affected (a reason required for not affected). The state is
// kept apart from the finding (vuln_finding_states, keyed by SBOM,
// component and vulnerability ID), so a re-match, which writes the
// findings again, keeps it. An accepted risk lapses at its expiry: the
// finding is to be dealt with again (State.Lapsed). Who may act is who may
// change the SBOM: the product's supply-chain managers and supplier
// representatives, or write on the inventory's organisation. Several
// findings are acted on at once, all or none.
//
// National view (Search): every stored finding the caller may see, across
// products and organisations — a product's findings to whoever sees the
// product in the register, an inventory's to whoever reads its
// organisation (a trust its own, a region lead its region's, the national
// team all) — filtered and paged.

// Finding states.
const (
	StateOpen          = "open"
	StateAcknowledged  = "acknowledged"
	StateRiskAccepted  = "risk-accepted"
	StateClosed        = "closed"
	StateSuppressed    = "suppressed" // by stored VEX (vexstore.go), not set by people
	ResolutionFixed    = "fixed"
	ResolutionNotAffct = "not-affected"
)

// Finding actions.
const (
	FindAcknowledge = "acknowledge"
	FindAcceptRisk  = "accept-risk"
	FindClose       = "close"
	FindReopen      = "reopen"
)

// FindingActions lists what people may do with a finding.
func FindingActions() []string {
	return []string{FindAcknowledge, FindAcceptRisk, FindClose, FindReopen}
}

// FindingStates lists the states a finding may be listed by.
func FindingStates() []string {
	return []string{StateOpen, StateAcknowledged, StateRiskAccepted, StateClosed, StateSuppressed}
}

// Resolutions lists how a finding may be closed.
func Resolutions() []string { return []string{ResolutionFixed, ResolutionNotAffct} }

const (
	maxRiskAcceptance = 366 * 24 * time.Hour
	maxFindingBulk    = 1000
	// MaxFindingPage is the largest page Search returns.
	MaxFindingPage = 500
)

// FindingState is what people said of a finding.
type FindingState struct {
	// State is open, acknowledged, risk-accepted or closed.
	State      string     `json:"state"`
	Resolution string     `json:"resolution,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Expires    *time.Time `json:"expires,omitempty"`
	By         string     `json:"by,omitempty"`
	At         *time.Time `json:"at,omitempty"`
	// Lapsed: the risk acceptance has expired, so the finding is to be
	// dealt with again.
	Lapsed bool `json:"lapsed,omitempty"`
}

// Active reports whether the finding is still to be dealt with: not
// closed, not under an unexpired risk acceptance, not suppressed by VEX.
func (f StoredFinding) Active() bool {
	if f.Suppressed != nil {
		return false
	}
	switch f.State.State {
	case StateClosed:
		return false
	case StateRiskAccepted:
		return f.State.Lapsed
	}
	return true
}

// Shown is the finding's state in one word for people: suppressed by VEX
// first, then what people said.
func (f StoredFinding) Shown() string {
	if f.Suppressed != nil {
		return StateSuppressed
	}
	if f.State.Lapsed {
		return "risk acceptance lapsed"
	}
	return f.State.State
}

func findingRef(sbom string, comp int, id string) string {
	return sbom + "/" + strconv.Itoa(comp) + "/" + id
}

// FindingRef names one stored finding.
type FindingRef struct {
	SBOM      string
	Component int
	Vuln      string
}

// ParseFindingRef reads "SB-…/COMPONENT/ID", the ref a listing gives.
func ParseFindingRef(s string) (FindingRef, error) {
	parts := strings.SplitN(strings.TrimSpace(s), "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return FindingRef{}, fault.Invalidf("findings", "%q: want SBOM/COMPONENT/ID, the ref a findings listing gives", s)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return FindingRef{}, fault.Invalidf("findings", "%q: the component must be a number", s)
	}
	return FindingRef{SBOM: parts[0], Component: n, Vuln: parts[2]}, nil
}

// annotate fills each finding's ref, state, suppression and overdue flag.
func (s *SBOMs) annotate(ctx context.Context, fs []StoredFinding) error {
	if len(fs) == 0 {
		return nil
	}
	ids := map[string]bool{}
	for _, f := range fs {
		ids[f.SBOMID] = true
	}
	args := make([]any, 0, len(ids))
	for id := range ids {
		args = append(args, id)
	}
	type key struct {
		sbom string
		comp int
		vuln string
	}
	states := map[key]FindingState{}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT sbom_id, component, vuln_id, state, resolution, reason, expires, by_name, at
		FROM vuln_finding_states WHERE sbom_id IN (`+store.Placeholders(len(args))+`)`, args...)
	if err != nil {
		return err
	}
	now := s.now()
	for rows.Next() {
		var k key
		var st FindingState
		var exp, at string
		if err := rows.Scan(&k.sbom, &k.comp, &k.vuln, &st.State, &st.Resolution, &st.Reason, &exp, &st.By, &at); err != nil {
			rows.Close()
			return err
		}
		st.Expires, st.At = optTS(exp), optTS(at)
		st.Lapsed = st.State == StateRiskAccepted && st.Expires != nil && !now.Before(*st.Expires)
		states[k] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sup := map[key]Suppression{}
	rows, err = s.db.Q().QueryContext(ctx, `SELECT sbom_id, component, vuln_id, body FROM vuln_suppressions WHERE sbom_id IN (`+store.Placeholders(len(args))+`)`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k key
		var body string
		if err := rows.Scan(&k.sbom, &k.comp, &k.vuln, &body); err != nil {
			rows.Close()
			return err
		}
		var x Suppression
		if err := json.Unmarshal([]byte(body), &x); err != nil {
			rows.Close()
			return err
		}
		sup[k] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range fs {
		f := &fs[i]
		k := key{f.SBOMID, f.Index, f.ID}
		f.Ref = findingRef(f.SBOMID, f.Index, f.ID)
		f.State = FindingState{State: StateOpen}
		if st, ok := states[k]; ok {
			f.State = st
		}
		f.Suppressed = nil
		if x, ok := sup[k]; ok {
			f.Suppressed = &x
		}
		f.Overdue = f.Active() && !now.Before(f.Due)
	}
	return nil
}

// ---- the national view ----

// FindingQuery filters and pages the national findings view.
type FindingQuery struct {
	// Level keeps one priority (P1…P4).
	Level string
	// Ecosystem keeps one OSV ecosystem ("Go", "npm", "Debian" for every
	// Debian release, "Debian:9" for one).
	Ecosystem string
	// CVE keeps findings answering to an ID: the finding's own, an alias
	// or a related ID.
	CVE string
	// Org keeps the inventories of one organisation; ICB those of the
	// organisations under an ICB (or a region). Either leaves products out.
	Org, ICB string
	// Product keeps one product's SBOMs.
	Product string
	// Kind keeps product SBOMs or inventories.
	Kind string
	// State keeps one state (open, acknowledged, risk-accepted, closed,
	// suppressed); "" keeps the findings still to be dealt with; "all"
	// keeps every one.
	State string
	// Overdue keeps those past their due time and still to be dealt with.
	Overdue bool
	// Limit (default 100, at most MaxFindingPage) and Cursor (the
	// previous page's Next) page the listing.
	Limit  int
	Cursor string
}

// FindingPage is one page of the national view.
type FindingPage struct {
	Findings []StoredFinding `json:"items"`
	// Total counts every finding the query keeps.
	Total int `json:"total"`
	// Next is the cursor of the next page, "" on the last.
	Next string `json:"next_cursor,omitempty"`
}

// visibleProducts lists the products with stored SBOMs that sc sees in
// the register.
func (s *SBOMs) visibleProducts(ctx context.Context, sc scope.Scope) ([]string, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT DISTINCT product_id FROM vuln_sboms WHERE kind = ? ORDER BY product_id`, KindProduct)
	if err != nil {
		return nil, err
	}
	all, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var p string
		return p, r.Scan(&p)
	})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		_, err := s.o.Register.GetProduct(ctx, sc, p)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// where builds the query's SQL condition over f (vuln_findings), s
// (vuln_sboms), c (vuln_components), st (vuln_finding_states) and sp
// (vuln_suppressions).
func (s *SBOMs) where(ctx context.Context, sc scope.Scope, q *FindingQuery) (string, []any, error) {
	var conds []string
	var args []any
	now := ts(s.now())
	// Who sees what.
	prods, err := s.visibleProducts(ctx, sc)
	if err != nil {
		return "", nil, err
	}
	orgCond, orgArgs := sc.Filter("s.org", scope.Read)
	seen := "(s.kind = ? AND " + orgCond + ")"
	seenArgs := append([]any{KindInventory}, orgArgs...)
	if len(prods) > 0 {
		seen = "(" + seen + " OR (s.kind = ? AND s.product_id IN (" + store.Placeholders(len(prods)) + ")))"
		seenArgs = append(seenArgs, KindProduct)
		for _, p := range prods {
			seenArgs = append(seenArgs, p)
		}
	}
	conds, args = append(conds, seen), append(args, seenArgs...)
	if q.Level != "" {
		l := strings.ToUpper(strings.TrimSpace(q.Level))
		if !slices.Contains(PriorityLevels(), l) {
			return "", nil, fault.Invalidf("priority", "%q: want one of %s", q.Level, strings.Join(PriorityLevels(), ", "))
		}
		conds, args = append(conds, "f.priority = ?"), append(args, l)
	}
	if e := strings.TrimSpace(q.Ecosystem); e != "" {
		conds, args = append(conds, "(c.ecosystem = ? OR c.ecosystem LIKE ?)"), append(args, e, e+":%")
	}
	if id := strings.TrimSpace(q.CVE); id != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM vuln_finding_ids i WHERE i.name = ? AND i.sbom_id = f.sbom_id AND i.component = f.component AND i.vuln_id = f.vuln_id)")
		args = append(args, strings.ToUpper(id[:min(4, len(id))])+id[min(4, len(id)):])
	}
	switch k := strings.ToLower(strings.TrimSpace(q.Kind)); k {
	case "":
	case KindProduct, KindInventory:
		conds, args = append(conds, "s.kind = ?"), append(args, k)
	default:
		return "", nil, fault.Invalidf("kind", "%q: want product or inventory", q.Kind)
	}
	if q.Product != "" {
		p, err := s.o.Register.GetProduct(ctx, sc, q.Product)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, "s.kind = ? AND s.product_id = ?"), append(args, KindProduct, p.ID)
	}
	if q.Org != "" {
		code, err := s.orgAt(ctx, sc, q.Org, scope.Read)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, "s.kind = ? AND s.org = ?"), append(args, KindInventory, code)
	}
	if q.ICB != "" {
		code := strings.ToUpper(strings.TrimSpace(q.ICB))
		path, err := s.o.Orgs.PathOf(ctx, code)
		// Only the caller's own organisations under it are kept (the scope
		// condition above), so naming an ICB reveals nothing.
		if errors.Is(err, fault.ErrNotFound) || errors.Is(err, sql.ErrNoRows) {
			return "", nil, fault.NotFoundf("organisation %s", code)
		}
		if err != nil {
			return "", nil, err
		}
		// The organisations under it: the scope filter of a grant there
		// (scope is the one place organisation paths become SQL).
		under := scope.Scope{Grants: []scope.Grant{{Role: scope.Auditor, Org: code, Path: path}}}
		c, a := under.Filter("s.org", scope.Read)
		conds, args = append(conds, "s.kind = ? AND "+c), append(append(args, KindInventory), a...)
	}
	active := "(sp.vex_id IS NULL AND (st.state IS NULL OR st.state = ? OR (st.state = ? AND st.expires <= ?)))"
	activeArgs := []any{StateAcknowledged, StateRiskAccepted, now}
	switch st := strings.ToLower(strings.TrimSpace(q.State)); st {
	case "":
		conds, args = append(conds, active), append(args, activeArgs...)
	case "all":
	case StateOpen:
		conds, args = append(conds, "(sp.vex_id IS NULL AND (st.state IS NULL OR (st.state = ? AND st.expires <= ?)))"), append(args, StateRiskAccepted, now)
	case StateAcknowledged:
		conds, args = append(conds, "(sp.vex_id IS NULL AND st.state = ?)"), append(args, StateAcknowledged)
	case StateRiskAccepted:
		conds, args = append(conds, "(sp.vex_id IS NULL AND st.state = ? AND st.expires > ?)"), append(args, StateRiskAccepted, now)
	case StateClosed:
		conds, args = append(conds, "(sp.vex_id IS NULL AND st.state = ?)"), append(args, StateClosed)
	case StateSuppressed:
		conds = append(conds, "sp.vex_id IS NOT NULL")
	default:
		return "", nil, fault.Invalidf("state", "%q: want one of %s or all", q.State, strings.Join(FindingStates(), ", "))
	}
	if q.Overdue {
		conds, args = append(conds, active+" AND f.due <= ?"), append(append(args, activeArgs...), now)
	}
	return strings.Join(conds, " AND "), args, nil
}

const searchFrom = ` FROM vuln_findings f JOIN vuln_sboms s ON s.id = f.sbom_id
	JOIN vuln_components c ON c.sbom_id = f.sbom_id AND c.idx = f.component
	LEFT JOIN vuln_finding_states st ON st.sbom_id = f.sbom_id AND st.component = f.component AND st.vuln_id = f.vuln_id
	LEFT JOIN vuln_suppressions sp ON sp.sbom_id = f.sbom_id AND sp.component = f.component AND sp.vuln_id = f.vuln_id`

// Search is the national findings view: every stored finding sc may see
// that q keeps, most urgent first, one page at a time.
func (s *SBOMs) Search(ctx context.Context, sc scope.Scope, q FindingQuery) (FindingPage, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, MaxFindingPage)
	off := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.Cursor, "o"))
		if err != nil || n < 0 || !strings.HasPrefix(q.Cursor, "o") {
			return FindingPage{}, fault.Invalidf("cursor", "not a cursor this listing gave")
		}
		off = n
	}
	where, args, err := s.where(ctx, sc, &q)
	if err != nil {
		return FindingPage{}, err
	}
	var page FindingPage
	if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*)`+searchFrom+` WHERE `+where, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("vuln: findings: %w", err)
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+findingCols+searchFrom+` WHERE `+where+
		` ORDER BY f.points DESC, f.due, f.sbom_id, f.component, f.vuln_id LIMIT ? OFFSET ?`, append(args, q.Limit, off)...)
	if err != nil {
		return page, fmt.Errorf("vuln: findings: %w", err)
	}
	if page.Findings, err = store.Collect(rows, scanFinding); err != nil {
		return page, err
	}
	if page.Findings == nil {
		page.Findings = []StoredFinding{}
	}
	if off+len(page.Findings) < page.Total {
		page.Next = "o" + strconv.Itoa(off+len(page.Findings))
	}
	return page, s.annotate(ctx, page.Findings)
}

// LevelKPI counts an organisation's findings of one priority by state.
type LevelKPI struct {
	Level string `json:"priority"`
	SLA   string `json:"sla"`
	// Active are still to be dealt with; Overdue those of them past due.
	Active       int `json:"active"`
	Overdue      int `json:"overdue"`
	Acknowledged int `json:"acknowledged"`
	RiskAccepted int `json:"risk_accepted"`
	Closed       int `json:"closed"`
	Suppressed   int `json:"suppressed"`
}

// FindingKPIs counts, per priority, the findings q keeps (its State and
// paging ignored) by state, for an organisation's SLA view: how many are
// overdue against the SLA.
func (s *SBOMs) FindingKPIs(ctx context.Context, sc scope.Scope, q FindingQuery) ([]LevelKPI, error) {
	q.State, q.Overdue = "all", false
	where, args, err := s.where(ctx, sc, &q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT f.priority, f.due, COALESCE(st.state, ''), COALESCE(st.expires, ''), sp.vex_id IS NOT NULL`+searchFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("vuln: finding KPIs: %w", err)
	}
	defer rows.Close()
	by := map[string]*LevelKPI{}
	out := make([]LevelKPI, 0, 4)
	for _, l := range PriorityLevels() {
		out = append(out, LevelKPI{Level: l, SLA: fmtSLA(s.o.SLA[l])})
	}
	for i := range out {
		by[out[i].Level] = &out[i]
	}
	now := s.now()
	for rows.Next() {
		var level, due, state, expires string
		var suppressed bool
		if err := rows.Scan(&level, &due, &state, &expires, &suppressed); err != nil {
			return nil, err
		}
		k := by[level]
		if k == nil {
			continue
		}
		lapsed := state == StateRiskAccepted && expires != "" && !now.Before(parseTS(expires))
		switch {
		case suppressed:
			k.Suppressed++
			continue
		case state == StateClosed:
			k.Closed++
			continue
		case state == StateRiskAccepted && !lapsed:
			k.RiskAccepted++
			continue
		case state == StateAcknowledged:
			k.Acknowledged++
		}
		k.Active++
		if !now.Before(parseTS(due)) {
			k.Overdue++
		}
	}
	return out, rows.Err()
}

func fmtSLA(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	}
	return d.String()
}

// ---- acting on findings ----

// FindingAction is what someone does with one or more findings (all or
// none).
type FindingAction struct {
	// Findings are refs ("SB-…/COMPONENT/ID").
	Findings []string `json:"findings"`
	// Action is acknowledge, accept-risk, close or reopen.
	Action string `json:"action"`
	// Reason is required to accept a risk and to close as not affected.
	Reason string `json:"reason,omitempty"`
	// Expires is when an accepted risk lapses (required for accept-risk,
	// at most a year ahead).
	Expires time.Time `json:"expires,omitzero"`
	// Resolution closes as fixed or not-affected.
	Resolution string `json:"resolution,omitempty"`
}

// Act does a to each finding it names, all or none: every finding must
// exist, be changeable by sc and allow the action, or nothing is written.
// Each is audited (vuln.finding.acknowledge|accept|close|reopen, bulk
// when several).
func (s *SBOMs) Act(ctx context.Context, sc scope.Scope, a FindingAction) ([]StoredFinding, error) {
	a.Action = strings.ToLower(strings.TrimSpace(a.Action))
	if !slices.Contains(FindingActions(), a.Action) {
		return nil, fault.Invalidf("action", "%q: want one of %s", a.Action, strings.Join(FindingActions(), ", "))
	}
	switch {
	case len(a.Findings) == 0:
		return nil, fault.Invalidf("findings", "name at least one finding")
	case len(a.Findings) > maxFindingBulk:
		return nil, fault.Invalidf("findings", "%d findings; at most %d at once", len(a.Findings), maxFindingBulk)
	}
	a.Reason = strings.TrimSpace(a.Reason)
	if err := checkText("reason", a.Reason, maxText, false); err != nil {
		return nil, err
	}
	now := s.now()
	switch a.Action {
	case FindAcceptRisk:
		if a.Reason == "" {
			return nil, fault.Invalidf("reason", "is required to accept a risk: say why it is acceptable")
		}
		if a.Expires.IsZero() {
			return nil, fault.Invalidf("expires", "is required to accept a risk: the date the acceptance lapses")
		}
		if !a.Expires.After(now) {
			return nil, fault.Invalidf("expires", "%s is not in the future", a.Expires.Format("2006-01-02"))
		}
		if a.Expires.Sub(now) > maxRiskAcceptance {
			return nil, fault.Invalidf("expires", "%s is more than a year ahead; accept the risk again when it lapses", a.Expires.Format("2006-01-02"))
		}
	case FindClose:
		a.Resolution = strings.ToLower(strings.TrimSpace(a.Resolution))
		if !slices.Contains(Resolutions(), a.Resolution) {
			return nil, fault.Invalidf("resolution", "%q: want fixed or not-affected", a.Resolution)
		}
		if a.Resolution == ResolutionNotAffct && a.Reason == "" {
			return nil, fault.Invalidf("reason", "is required to close a finding as not affected: say why")
		}
	}
	if a.Action != FindAcceptRisk && !a.Expires.IsZero() {
		return nil, fault.Invalidf("expires", "only accepting a risk takes an expiry")
	}
	// Every finding first: exists, seen, changeable, and the action fits.
	refs := make([]FindingRef, 0, len(a.Findings))
	seen := map[string]bool{}
	sboms := map[string]StoredSBOM{}
	found := map[string]StoredFinding{}
	for i, raw := range a.Findings {
		r, err := ParseFindingRef(raw)
		if err != nil {
			return nil, err
		}
		key := findingRef(r.SBOM, r.Component, r.Vuln)
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, ok := sboms[r.SBOM]; !ok {
			x, err := s.get(ctx, s.db.Q(), r.SBOM)
			if err == nil {
				err = s.visible(ctx, sc, x, false)
			}
			if errors.Is(err, fault.ErrNotFound) {
				return nil, fault.NotFoundf("finding %s", raw)
			}
			if err != nil {
				return nil, err
			}
			if err := s.visible(ctx, sc, x, true); err != nil {
				if errors.Is(err, fault.ErrForbidden) {
					return nil, fault.Forbiddenf("findings[%d] %s: acting on it needs the right to change %s", i, raw, x.Owner())
				}
				return nil, err
			}
			sboms[r.SBOM] = x
			fs, err := s.Findings(ctx, sc, FindingFilter{SBOM: r.SBOM})
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				found[f.Ref] = f
			}
		}
		f, ok := found[key]
		if !ok {
			return nil, fault.NotFoundf("finding %s", raw)
		}
		switch {
		case a.Action == FindAcknowledge && f.State.State != StateOpen && !f.State.Lapsed:
			return nil, fault.Conflictf("finding %s is already %s", raw, f.State.State)
		case a.Action == FindAcceptRisk && f.State.State == StateClosed, a.Action == FindClose && f.State.State == StateClosed:
			return nil, fault.Conflictf("finding %s is closed; reopen it first", raw)
		case a.Action == FindReopen && f.State.State == StateOpen:
			return nil, fault.Conflictf("finding %s is open already", raw)
		}
		refs = append(refs, r)
	}
	bulk := len(refs) > 1
	by := actorName(sc)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		audits := make([]audit.Actor, 0, len(refs))
		for _, r := range refs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_finding_states WHERE sbom_id = ? AND component = ? AND vuln_id = ?`, r.SBOM, r.Component, r.Vuln); err != nil {
				return err
			}
			state, exp := "", ""
			switch a.Action {
			case FindAcknowledge:
				state = StateAcknowledged
			case FindAcceptRisk:
				state, exp = StateRiskAccepted, ts(a.Expires)
			case FindClose:
				state = StateClosed
			}
			if state != "" {
				res := ""
				if a.Action == FindClose {
					res = a.Resolution
				}
				if _, err := tx.ExecPrepared(ctx, `INSERT INTO vuln_finding_states (sbom_id, component, vuln_id, state, resolution, reason, expires, by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					r.SBOM, r.Component, r.Vuln, state, res, a.Reason, exp, by, ts(now)); err != nil {
					return fmt.Errorf("vuln: finding %s: %w", r.Vuln, err)
				}
			}
			x := sboms[r.SBOM]
			f := found[findingRef(r.SBOM, r.Component, r.Vuln)]
			action := map[string]string{FindAcknowledge: "vuln.finding.acknowledge", FindAcceptRisk: "vuln.finding.accept", FindClose: "vuln.finding.close", FindReopen: "vuln.finding.reopen"}[a.Action]
			after := map[string]any{"sbom": r.SBOM, "owner": x.Owner(), "component": f.Package + " " + f.Version, "vuln": r.Vuln, "priority": f.Priority.Level}
			if a.Reason != "" {
				after["reason"] = a.Reason
			}
			if exp != "" {
				after["expires"] = exp
			}
			if a.Resolution != "" && a.Action == FindClose {
				after["resolution"] = a.Resolution
			}
			if bulk {
				after["bulk"] = true
			}
			audits = append(audits, audit.Actor{Scope: sc, Change: audit.Change{Action: action, ObjectType: "vuln_finding", ObjectID: findingRef(r.SBOM, r.Component, r.Vuln),
				Org: x.Org, Before: map[string]any{"state": found[findingRef(r.SBOM, r.Component, r.Vuln)].State.State}, After: after}})
		}
		_, err := s.o.Audit.AppendAll(ctx, tx, audits)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]StoredFinding, 0, len(refs))
	for id := range sboms {
		fs, err := s.Findings(ctx, sc, FindingFilter{SBOM: id})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if seen[f.Ref] {
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, func(a, b StoredFinding) int { return strings.Compare(a.Ref, b.Ref) })
	return out, nil
}

// MaxFindingExport bounds a CSV export of the national view.
const MaxFindingExport = 100_000

// SearchAll is Search over every page, at most MaxFindingExport findings;
// more reports whether some were left out.
func (s *SBOMs) SearchAll(ctx context.Context, sc scope.Scope, q FindingQuery) (fs []StoredFinding, more bool, err error) {
	q.Cursor, q.Limit = "", MaxFindingPage
	for {
		p, err := s.Search(ctx, sc, q)
		if err != nil {
			return nil, false, err
		}
		fs = append(fs, p.Findings...)
		if p.Next == "" {
			return fs, false, nil
		}
		if len(fs) >= MaxFindingExport {
			return fs[:MaxFindingExport], true, nil
		}
		q.Cursor = p.Next
	}
}

// FindingsCSVHeader is the CSV export's first line.
var FindingsCSVHeader = []string{"ref", "priority", "points", "due", "overdue", "state", "resolution", "reason", "expires", "kind", "product", "product_version",
	"org", "sbom", "component", "version", "purl", "ecosystem", "id", "aliases", "fixed", "kev_due", "suppressed_by", "why"}

// WriteFindingsCSV writes findings one a line; text that a spreadsheet
// would take for a formula gets a leading '.
func WriteFindingsCSV(w io.Writer, fs []StoredFinding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FindingsCSVHeader); err != nil {
		return err
	}
	for _, f := range fs {
		exp, kev, sup := "", "", ""
		if f.State.Expires != nil {
			exp = f.State.Expires.UTC().Format("2006-01-02")
		}
		if f.KEV != nil {
			kev = f.KEV.DueDate
		}
		if f.Suppressed != nil {
			sup = f.Suppressed.VEX + " " + f.Suppressed.Statement
		}
		row := []string{f.Ref, f.Priority.Level, strconv.Itoa(f.Priority.Points), f.Due.UTC().Format("2006-01-02"), strconv.FormatBool(f.Overdue), f.Shown(),
			f.State.Resolution, f.State.Reason, exp, f.Kind, f.Product, f.ProductVersion, f.Org, f.SBOMName, f.Package, f.Version, f.PURL, f.Ecosystem,
			f.ID, strings.Join(f.Aliases, " "), f.Fixed, kev, sup, f.Priority.Explanation}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
