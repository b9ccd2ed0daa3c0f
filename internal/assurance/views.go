package assurance

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Views across the supply chain. Every view is built from what the caller
// may see: the accepted statements ListStatements gives it (assessors see
// their campaigns', deploying organisations what suppliers share with
// them, representatives their own), the register and graph in its scope
// (supply.Service), vulnerability findings (vuln.SBOMs) and national
// incidents (cases.Service) in its scope.

// GraphSource ranks suppliers by systemic importance (supply.Service).
type GraphSource interface {
	Systemic(ctx context.Context, sc scope.Scope, o supply.SystemicOptions) (supply.SystemicResult, error)
}

// FindingSource lists a product's vulnerability findings (vuln.SBOMs).
type FindingSource interface {
	Findings(ctx context.Context, sc scope.Scope, f vuln.FindingFilter) ([]vuln.StoredFinding, error)
}

// IncidentSource lists the national incidents a caller may read
// (cases.Service).
type IncidentSource interface {
	ListIncidents(ctx context.Context, sc scope.Scope) ([]cases.IncidentSummary, error)
}

// evidenceDates counts each answer's evidence and its latest date.
func evidenceDates(ctx context.Context, q store.Queryer, id string) (map[int]int, map[int]string, error) {
	n, at := map[int]int{}, map[int]string{}
	err := each(ctx, q, `SELECT seq, COUNT(*), MAX(added_at) FROM assurance_evidence WHERE statement_id = ? GROUP BY seq`, id, func(r *sql.Rows) error {
		var seq, c int
		var last string
		err := r.Scan(&seq, &c, &last)
		n[seq], at[seq] = c, last
		return err
	})
	return n, at, err
}

// State is a cell of the heat map: how a statement stands on one
// requirement once reviewed.
type State string

// Cell states.
const (
	StateMet           State = "met"
	StatePartly        State = "partly"
	StateNotMet        State = "not_met"
	StateRejected      State = "rejected"
	StateNotApplicable State = "not_applicable"
	StateNotAnswered   State = "not_answered"
	StateNotAsked      State = ""
)

// stateOf is a reviewed answer's state.
func stateOf(a AnswerState) State {
	switch {
	case a.Answer == "":
		return StateNotAnswered
	case a.Review == ReviewRejected:
		return StateRejected
	}
	return State(a.Answer)
}

// Label is the state in words.
func (s State) Label() string {
	switch s {
	case StateRejected:
		return "Rejected"
	case StateNotAnswered:
		return "Not answered"
	case StateNotAsked:
		return "Not asked"
	}
	return Answer(s).Label()
}

// Gap reports whether the state falls short of meeting the requirement.
func (s State) Gap() bool {
	return s != StateMet && s != StateNotApplicable && s != StateNotAsked
}

// HeatColumn is one requirement of the heat map.
type HeatColumn struct {
	Key  string `json:"key"`
	Ref  string `json:"ref,omitempty"`
	Name string `json:"name"`
}

// Label is the column's ref, or its name.
func (c HeatColumn) Label() string { return Requirement{Ref: c.Ref, Name: c.Name}.Label() }

// HeatRow is one supplier's latest accepted statement on the set.
type HeatRow struct {
	SupplierID   string  `json:"supplier_id"`
	SupplierName string  `json:"supplier_name"`
	StatementID  string  `json:"statement_id"`
	CampaignName string  `json:"campaign_name"`
	Percent      float64 `json:"percent"`
	Cells        []State `json:"cells"`
}

// HeatMap is suppliers × requirements of one requirement set.
type HeatMap struct {
	SetID string `json:"set_id"`
	// Sets are the sets the caller has accepted statements on.
	Sets         []string     `json:"sets"`
	Requirements []HeatColumn `json:"requirements"`
	Rows         []HeatRow    `json:"rows"`
}

// latestAccepted picks, per supplier, the latest accepted statement on set
// the caller may see, and lists the sets it could have asked for.
func (s *Service) latestAccepted(ctx context.Context, sc scope.Scope, set string) ([]StatementSummary, []string, string, error) {
	all, err := s.ListStatements(ctx, sc, StatementFilter{Status: StatusAccepted})
	if err != nil {
		return nil, nil, "", err
	}
	count := map[string]int{}
	for _, x := range all {
		count[x.SetID]++
	}
	sets := make([]string, 0, len(count))
	for k := range count {
		sets = append(sets, k)
	}
	sort.Slice(sets, func(i, j int) bool {
		if count[sets[i]] != count[sets[j]] {
			return count[sets[i]] > count[sets[j]]
		}
		return sets[i] < sets[j]
	})
	if set == "" && len(sets) > 0 {
		set = sets[0]
	}
	latest := map[string]StatementSummary{}
	for _, x := range all {
		if x.SetID != set {
			continue
		}
		if y, ok := latest[x.SupplierID]; !ok || x.UpdatedAt > y.UpdatedAt || (x.UpdatedAt == y.UpdatedAt && x.ID > y.ID) {
			latest[x.SupplierID] = x
		}
	}
	out := make([]StatementSummary, 0, len(latest))
	for _, x := range latest {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SupplierName != out[j].SupplierName {
			return out[i].SupplierName < out[j].SupplierName
		}
		return out[i].SupplierID < out[j].SupplierID
	})
	return out, sets, set, nil
}

// GetHeatMap builds the heat map of set ("" picks the set with the most
// accepted statements the caller may see).
func (s *Service) GetHeatMap(ctx context.Context, sc scope.Scope, set string) (HeatMap, error) {
	stmts, sets, set, err := s.latestAccepted(ctx, sc, set)
	if err != nil {
		return HeatMap{}, err
	}
	hm := HeatMap{SetID: set, Sets: sets, Requirements: []HeatColumn{}, Rows: []HeatRow{}}
	if set == "" {
		return hm, nil
	}
	order := map[string]int{}
	if full, err := s.Get(ctx, set); err == nil {
		for i, n := range full.Nodes {
			order[n.Key] = i
		}
	} else if !errors.Is(err, fault.ErrNotFound) {
		return hm, err
	}
	q := s.db.Q()
	col := map[string]int{}
	type row struct {
		x       StatementSummary
		byKey   map[string]State
		percent float64
	}
	var rows []row
	reqs := map[string][]Requirement{}
	for _, x := range stmts {
		r, ok := reqs[x.CampaignID]
		if !ok {
			if r, err = s.requirements(ctx, q, x.CampaignID); err != nil {
				return hm, err
			}
			reqs[x.CampaignID] = r
		}
		states, err := answerStates(ctx, q, x.ID)
		if err != nil {
			return hm, err
		}
		rw := row{x: x, byKey: map[string]State{}, percent: x.Percent}
		for _, rq := range r {
			if _, ok := col[rq.Key]; !ok {
				col[rq.Key] = len(hm.Requirements)
				hm.Requirements = append(hm.Requirements, HeatColumn{Key: rq.Key, Ref: rq.Ref, Name: rq.Name})
			}
			rw.byKey[rq.Key] = stateOf(states[rq.Seq])
		}
		rows = append(rows, rw)
	}
	sort.SliceStable(hm.Requirements, func(i, j int) bool { return order[hm.Requirements[i].Key] < order[hm.Requirements[j].Key] })
	for _, rw := range rows {
		hr := HeatRow{SupplierID: rw.x.SupplierID, SupplierName: rw.x.SupplierName, StatementID: rw.x.ID, CampaignName: rw.x.CampaignName, Percent: rw.percent}
		for _, c := range hm.Requirements {
			hr.Cells = append(hr.Cells, rw.byKey[c.Key])
		}
		hm.Rows = append(hm.Rows, hr)
	}
	return hm, nil
}

func answerStates(ctx context.Context, q store.Queryer, id string) (map[int]AnswerState, error) {
	out := map[int]AnswerState{}
	err := each(ctx, q, `SELECT seq, answer, review FROM assurance_answers WHERE statement_id = ?`, id, func(r *sql.Rows) error {
		var n int
		var a AnswerState
		err := r.Scan(&n, &a.Answer, &a.Review)
		out[n] = a
		return err
	})
	return out, err
}

// WriteCSV writes the heat map as CSV: one row per supplier, one column
// per requirement (by ref), cells as states; text a spreadsheet would run
// as a formula is neutralised.
func (hm HeatMap) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"supplier_id", "supplier", "statement", "score_percent"}
	for _, c := range hm.Requirements {
		head = append(head, supply.CSVCell(c.Label()))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range hm.Rows {
		rec := []string{supply.CSVCell(r.SupplierID), supply.CSVCell(r.SupplierName), r.StatementID, strconv.FormatFloat(r.Percent, 'f', 1, 64)}
		for _, c := range r.Cells {
			if c == StateNotAsked {
				rec = append(rec, "")
			} else {
				rec = append(rec, string(c))
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// GapQuery asks which suppliers fall short on a requirement set.
type GapQuery struct {
	SetID string `json:"set_id,omitempty"`
	// Requirement narrows to one requirement, by key or ref.
	Requirement string `json:"requirement,omitempty"`
	// Tier: critical (designated critical in the register) or all ("").
	Tier string `json:"tier,omitempty"`
	// Criticality: only suppliers with a deployment at least this critical
	// among the organisations the caller reads.
	Criticality supply.Criticality `json:"criticality,omitempty"`
}

// GapSupplier is one supplier short of a requirement.
type GapSupplier struct {
	SupplierID   string             `json:"supplier_id"`
	SupplierName string             `json:"supplier_name"`
	StatementID  string             `json:"statement_id"`
	State        State              `json:"state"`
	Critical     bool               `json:"designated_critical"`
	Criticality  supply.Criticality `json:"criticality,omitempty"`
}

// GapRow is one requirement and the suppliers short of it.
type GapRow struct {
	HeatColumn
	Assessed  int           `json:"assessed"`
	Suppliers []GapSupplier `json:"suppliers"`
}

// Gaps is the answer to a GapQuery.
type Gaps struct {
	Query GapQuery `json:"query"`
	Sets  []string `json:"sets"`
	// Suppliers is how many suppliers (after the filters) have an accepted
	// statement on the set.
	Suppliers int      `json:"suppliers"`
	Rows      []GapRow `json:"requirements"`
}

// rank orders criticalities, critical highest.
func rank(c supply.Criticality) int {
	switch c {
	case supply.Critical:
		return 4
	case supply.High:
		return 3
	case supply.Medium:
		return 2
	case supply.Low:
		return 1
	}
	return 0
}

// criticalityOf is the highest criticality of each supplier's deployments
// among the organisations the caller reads.
func (s *Service) criticalityOf(ctx context.Context, sc scope.Scope) (map[string]supply.Criticality, error) {
	deps, err := s.register.ListDeployments(ctx, sc, supply.DeploymentFilter{})
	if err != nil {
		return nil, err
	}
	bySup := map[string]supply.Criticality{}
	prodSup := map[string]string{}
	for _, d := range deps {
		sup, ok := prodSup[d.ProductID]
		if !ok {
			p, err := s.register.GetProduct(ctx, sc, d.ProductID)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return nil, err
			}
			sup = p.SupplierID
			prodSup[d.ProductID] = sup
		}
		if sup != "" && rank(d.Criticality) > rank(bySup[sup]) {
			bySup[sup] = d.Criticality
		}
	}
	return bySup, nil
}

// GetGaps lists, per requirement, the suppliers whose latest accepted
// statement does not meet it (partly, not met, rejected or not answered),
// filtered by tier and deployment criticality.
func (s *Service) GetGaps(ctx context.Context, sc scope.Scope, gq GapQuery) (Gaps, error) {
	if gq.Tier != "" && gq.Tier != TierCritical && gq.Tier != TierAll {
		return Gaps{}, fault.Invalidf("tier", "%q is not critical or all", gq.Tier)
	}
	if gq.Criticality != "" && !gq.Criticality.Valid() {
		return Gaps{}, fault.Invalidf("criticality", "%q is not critical, high, medium or low", gq.Criticality)
	}
	hm, err := s.GetHeatMap(ctx, sc, gq.SetID)
	if err != nil {
		return Gaps{}, err
	}
	gq.SetID = hm.SetID
	g := Gaps{Query: gq, Sets: hm.Sets, Rows: []GapRow{}}
	var crit map[string]supply.Criticality
	if gq.Criticality != "" || len(hm.Rows) > 0 {
		if crit, err = s.criticalityOf(ctx, sc); err != nil {
			return Gaps{}, err
		}
	}
	designated := map[string]bool{}
	var rows []HeatRow
	for _, r := range hm.Rows {
		sp, err := s.register.GetSupplier(ctx, sc, r.SupplierID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Gaps{}, err
		}
		designated[r.SupplierID] = sp.DesignatedCritical
		if gq.Tier == TierCritical && !sp.DesignatedCritical {
			continue
		}
		if gq.Criticality != "" && rank(crit[r.SupplierID]) < rank(gq.Criticality) {
			continue
		}
		rows = append(rows, r)
	}
	g.Suppliers = len(rows)
	want := strings.TrimSpace(gq.Requirement)
	found := want == ""
	for i, c := range hm.Requirements {
		if want != "" && !strings.EqualFold(c.Key, want) && !strings.EqualFold(c.Ref, want) {
			continue
		}
		found = true
		gr := GapRow{HeatColumn: c, Suppliers: []GapSupplier{}}
		for _, r := range rows {
			st := r.Cells[i]
			if st == StateNotAsked {
				continue
			}
			gr.Assessed++
			if st.Gap() {
				gr.Suppliers = append(gr.Suppliers, GapSupplier{SupplierID: r.SupplierID, SupplierName: r.SupplierName, StatementID: r.StatementID, State: st,
					Critical: designated[r.SupplierID], Criticality: crit[r.SupplierID]})
			}
		}
		g.Rows = append(g.Rows, gr)
	}
	if !found {
		return Gaps{}, fault.Invalidf("requirement", "%q is not a requirement asked in any accepted statement on %s you may see", want, hm.SetID)
	}
	return g, nil
}

// Prioritisation weights. The three parts stay separate numbers
// everywhere else; only this view combines them.
const (
	// PriorityFindingPoints: each P1 or P2 vulnerability finding on the
	// supplier's products adds this much exposure; each other finding
	// PriorityOtherFindingPoints; each open national incident naming the
	// supplier PriorityIncidentPoints; exposure is capped at 100.
	PriorityFindingPoints      = 20
	PriorityOtherFindingPoints = 2
	PriorityIncidentPoints     = 50
)

// PriorityMethod says how the prioritisation view combines its parts.
type PriorityMethod struct {
	Rules []string `json:"rules"`
}

// PriorityRules is the prioritisation method in words, built from its
// constants.
func PriorityRules() PriorityMethod {
	return PriorityMethod{Rules: []string{
		"Assurance gap = 100 − the percentage of the supplier's latest accepted statement you may see (100 when there is none).",
		"Systemic importance = the supplier group's systemic-importance score from the supply graph (blast radius weighted by impact and population), as a percentage of the highest in your view.",
		fmt.Sprintf("Live exposure = %d per P1 or P2 vulnerability finding on its products, %d per other finding, %d per open national incident naming it, at most 100.",
			PriorityFindingPoints, PriorityOtherFindingPoints, PriorityIncidentPoints),
		"Priority = the mean of the three, rounded. It ranks where to look first; it is not an assurance score, and the three parts are shown beside it.",
	}}
}

// PriorityRow is one supplier's parts and priority.
type PriorityRow struct {
	SupplierID   string `json:"supplier_id"`
	SupplierName string `json:"supplier_name"`
	Critical     bool   `json:"designated_critical"`
	// Assurance: the latest accepted statement's percentage (nil: none).
	Assurance    *float64 `json:"assurance_percent"`
	StatementID  string   `json:"statement_id,omitempty"`
	AssuranceGap int      `json:"assurance_gap"`
	// Graph position (the supplier's group).
	GroupID        string  `json:"group_id,omitempty"`
	Systemic       float64 `json:"systemic_score"`
	Organisations  int     `json:"organisations"`
	HardDown       int     `json:"hard_down"`
	Importance     int     `json:"importance"`
	Findings       int     `json:"findings"`
	UrgentFindings int     `json:"urgent_findings"`
	Incidents      int     `json:"open_incidents"`
	Exposure       int     `json:"exposure"`
	Priority       int     `json:"priority"`
}

// Priorities is the prioritisation view.
type Priorities struct {
	Method PriorityMethod `json:"method"`
	// GraphHidden: the caller may not see systemic importance (it needs
	// the supply-chain manager role), so importance counts 0 for every row.
	GraphHidden bool          `json:"graph_hidden,omitempty"`
	Rows        []PriorityRow `json:"suppliers"`
}

// MaxPriorityRows bounds the view (the register's suppliers by priority).
const MaxPriorityRows = 500

// GetPriorities combines assurance posture, systemic importance and live
// exposure for the suppliers the caller may see; supplier "" is all of
// them (up to MaxPriorityRows, by priority), else that one.
func (s *Service) GetPriorities(ctx context.Context, sc scope.Scope, supplier string) (Priorities, error) {
	if err := s.needRegister(); err != nil {
		return Priorities{}, err
	}
	var sups []supply.Supplier
	if supplier != "" {
		sp, err := s.register.GetSupplier(ctx, sc, supplier)
		if err != nil {
			return Priorities{}, err
		}
		sups = []supply.Supplier{sp}
	} else {
		all, err := s.register.ListSuppliers(ctx, sc)
		if err != nil {
			return Priorities{}, err
		}
		sups = all
	}
	parent := map[string]string{}
	all, err := s.register.ListSuppliers(ctx, sc)
	if err != nil {
		return Priorities{}, err
	}
	for _, sp := range all {
		parent[sp.ID] = sp.ParentID
	}
	root := func(id string) string {
		for hops := 0; parent[id] != "" && hops < 8; hops++ {
			id = parent[id]
		}
		return id
	}
	// Assurance: the latest accepted statement per supplier, any set.
	stmts, err := s.ListStatements(ctx, sc, StatementFilter{Status: StatusAccepted, SupplierID: supplier})
	if err != nil {
		return Priorities{}, err
	}
	latest := map[string]StatementSummary{}
	for _, x := range stmts {
		if y, ok := latest[x.SupplierID]; !ok || x.UpdatedAt > y.UpdatedAt {
			latest[x.SupplierID] = x
		}
	}
	risk := map[string]supply.SupplierRisk{}
	var top float64
	out := Priorities{Method: PriorityRules(), Rows: []PriorityRow{}}
	if s.graph != nil {
		res, err := s.graph.Systemic(ctx, sc, supply.SystemicOptions{Limit: 100000})
		switch {
		case errors.Is(err, fault.ErrNotFound) || errors.Is(err, fault.ErrForbidden):
			// Systemic importance is the supply-chain managers' view of
			// the whole graph; others get the other two parts.
			out.GraphHidden = true
		case err != nil:
			return Priorities{}, err
		}
		for _, r := range res.Suppliers {
			risk[r.GroupID] = r
			top = math.Max(top, r.Score)
		}
	}
	open := map[string]int{}
	if s.incidents != nil {
		incs, err := s.incidents.ListIncidents(ctx, sc)
		if err != nil {
			return Priorities{}, err
		}
		for _, in := range incs {
			if in.Status != cases.CaseClosed && in.Status != cases.CaseResolved {
				open[in.Supplier]++
			}
		}
	}
	for _, sp := range sups {
		r := PriorityRow{SupplierID: sp.ID, SupplierName: sp.Name, Critical: sp.DesignatedCritical, AssuranceGap: 100, Incidents: open[sp.ID]}
		if x, ok := latest[sp.ID]; ok {
			p := x.Percent
			r.Assurance, r.StatementID = &p, x.ID
			r.AssuranceGap = int(math.Round(100 - p))
		}
		if g, ok := risk[root(sp.ID)]; ok {
			r.GroupID, r.Systemic, r.Organisations, r.HardDown = g.GroupID, g.Score, g.Organisations, g.HardDown
			if top > 0 {
				r.Importance = int(math.Round(100 * g.Score / top))
			}
		}
		if s.findings != nil {
			prods, err := s.register.ListProducts(ctx, sc, sp.ID)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return Priorities{}, err
			}
			for _, p := range prods {
				fs, err := s.findings.Findings(ctx, sc, vuln.FindingFilter{Product: p.ID})
				if err != nil {
					if errors.Is(err, fault.ErrNotFound) {
						continue
					}
					return Priorities{}, err
				}
				for _, f := range fs {
					r.Findings++
					if f.Priority.Level == "P1" || f.Priority.Level == "P2" {
						r.UrgentFindings++
					}
				}
			}
		}
		r.Exposure = min(100, PriorityFindingPoints*r.UrgentFindings+PriorityOtherFindingPoints*(r.Findings-r.UrgentFindings)+PriorityIncidentPoints*r.Incidents)
		r.Priority = int(math.Round(float64(r.AssuranceGap+r.Importance+r.Exposure) / 3))
		out.Rows = append(out.Rows, r)
	}
	sort.SliceStable(out.Rows, func(i, j int) bool {
		if out.Rows[i].Priority != out.Rows[j].Priority {
			return out.Rows[i].Priority > out.Rows[j].Priority
		}
		return out.Rows[i].SupplierName < out.Rows[j].SupplierName
	})
	if len(out.Rows) > MaxPriorityRows {
		out.Rows = out.Rows[:MaxPriorityRows]
	}
	return out, nil
}

// ProfileLine is one target of a profile against a statement.
type ProfileLine struct {
	Key     string `json:"key"`
	Ref     string `json:"ref,omitempty"`
	Name    string `json:"name"`
	Target  Level  `json:"target"`
	Reached Level  `json:"reached,omitempty"`
	State   State  `json:"state"`
	// Verdict: meets, short, not_applicable or not_asked (the statement's
	// campaign did not ask about this requirement).
	Verdict string `json:"verdict"`
}

// ProfileComparison is a statement against a profile's targets.
type ProfileComparison struct {
	StatementID string        `json:"statement_id"`
	SetID       string        `json:"set_id"`
	Profile     string        `json:"profile"`
	Profiles    []string      `json:"profiles"`
	Meets       int           `json:"meets"`
	Short       int           `json:"short"`
	NotAsked    int           `json:"not_asked"`
	Rules       []string      `json:"rules"`
	Lines       []ProfileLine `json:"lines"`
}

// reachedLevel is the level an answer reaches against a profile.
func reachedLevel(st State) Level {
	switch st {
	case StateMet:
		return Achieved
	case StatePartly:
		return PartiallyAchieved
	case StateNotApplicable:
		return ""
	}
	return NotAchieved
}

// CompareProfile sets a statement the caller may see against one profile
// of its requirement set ("" picks the campaign's profile, else the
// set's first).
func (s *Service) CompareProfile(ctx context.Context, sc scope.Scope, id, profile string) (ProfileComparison, error) {
	st, err := s.GetStatement(ctx, sc, id)
	if err != nil {
		return ProfileComparison{}, err
	}
	set, err := s.Get(ctx, st.SetID)
	if err != nil {
		return ProfileComparison{}, err
	}
	pc := ProfileComparison{StatementID: id, SetID: st.SetID, Rules: GetMethodology().Profile, Profiles: []string{}, Lines: []ProfileLine{}}
	for _, p := range set.Profiles {
		pc.Profiles = append(pc.Profiles, p.Name)
	}
	if profile == "" {
		profile = st.Profile
	}
	if profile == "" && len(pc.Profiles) > 0 {
		profile = pc.Profiles[0]
	}
	var prof *Profile
	for i := range set.Profiles {
		if set.Profiles[i].Name == profile {
			prof = &set.Profiles[i]
		}
	}
	if prof == nil {
		if len(pc.Profiles) == 0 {
			return pc, fault.Invalidf("profile", "requirement set %s has no profiles to compare against", st.SetID)
		}
		return pc, fault.Invalidf("profile", "%q is not a profile of %s (it has %s)", profile, st.SetID, strings.Join(pc.Profiles, ", "))
	}
	pc.Profile = prof.Name
	byKey := map[string]AnswerView{}
	for _, a := range st.Answers {
		byKey[a.Key] = a
	}
	nodes := map[string]Node{}
	for _, n := range set.Nodes {
		nodes[n.Key] = n
	}
	for _, t := range prof.Targets {
		n := nodes[t.Node]
		l := ProfileLine{Key: t.Node, Ref: n.Ref, Name: n.Name, Target: t.Level}
		a, ok := byKey[t.Node]
		switch {
		case !ok:
			l.Verdict = "not_asked"
			pc.NotAsked++
		default:
			l.State = stateOf(AnswerState{Answer: a.Answer, Review: a.Review})
			l.Reached = reachedLevel(l.State)
			switch {
			case l.State == StateNotApplicable:
				l.Verdict = "not_applicable"
			case (t.Level == InScope && l.State == StateMet) || (t.Level != InScope && l.Reached.Rank() >= t.Level.Rank()):
				l.Verdict = "meets"
				pc.Meets++
			default:
				l.Verdict = "short"
				pc.Short++
			}
		}
		pc.Lines = append(pc.Lines, l)
	}
	return pc, nil
}
