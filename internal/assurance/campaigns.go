package assurance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// Campaigns, statements and review. Who does what:
//
//   - Assessors are supply-chain managers: a campaign belongs to the
//     organisation (the national root, or a region) where its creator
//     holds scope.Supply, and everyone holding Supply there (scope.Filter
//     on owner_org) sees the campaign and every statement in it and
//     reviews them.
//   - Supplier representatives see and answer only the statements of the
//     suppliers they represent (supply.Service.Own: Read on the supplier's
//     tenant organisation, or a group parent's); changing needs Write.
//     They never see other suppliers' statements or the campaign's list.
//   - Health organisations see the accepted (reviewed) statements of the
//     suppliers whose products they deploy (supply.Service.ListDeployments
//     in their scope), with answers, review decisions and score, but not
//     the evidence files or the conversation, which stay between supplier
//     and assessor.
//   - Anything else is not found.

// Register is what campaigns ask of the supplier register (supply.Service
// answers within the caller's scope).
type Register interface {
	GetSupplier(ctx context.Context, sc scope.Scope, id string) (supply.Supplier, error)
	ListSuppliers(ctx context.Context, sc scope.Scope) ([]supply.Supplier, error)
	Own(ctx context.Context, sc scope.Scope) ([]supply.Supplier, []supply.Product, error)
	ListDeployments(ctx context.Context, sc scope.Scope, f supply.DeploymentFilter) ([]supply.Deployment, error)
	GetProduct(ctx context.Context, sc scope.Scope, id string) (supply.Product, error)
	ListProducts(ctx context.Context, sc scope.Scope, supplierID string) ([]supply.Product, error)
}

// Tiers a campaign may select suppliers by.
const (
	// TierCritical is every supplier the register designates critical.
	TierCritical = "critical"
	// TierAll is every supplier in the register.
	TierAll = "all"
)

// MaxCampaignSuppliers bounds one campaign.
const MaxCampaignSuppliers = 2000

// MaxWeight bounds a requirement's weight.
const MaxWeight = 100

// NewCampaign is what an assessor asks for.
type NewCampaign struct {
	Name string `json:"name"`
	// SetID is the requirement set version ("webcaf-caf@3.2").
	SetID string `json:"set_id"`
	// Profile, when set, limits the requirements to those the profile
	// names (a CAF profile's outcomes, an implementation group's members).
	Profile string `json:"profile,omitempty"`
	// Deadline is YYYY-MM-DD.
	Deadline string `json:"deadline"`
	// Suppliers by ID (or name, by the register's lookup rule), and/or a
	// Tier: critical (designated), all, or a tier of the tiering rules
	// (tier-1, tier-2, tier-3: TierRules).
	Suppliers []string `json:"suppliers,omitempty"`
	Tier      string   `json:"tier,omitempty"`
	// TierProfiles, when set, asks each supplier against its tier's
	// profile of the set ({"tier-1":"enhanced","tier-2":"baseline"}); a
	// supplier whose tier has none is asked against Profile (or every
	// requirement).
	TierProfiles map[string]string `json:"tier_profiles,omitempty"`
	// Weights by requirement key or ref; 1 for the others.
	Weights map[string]int `json:"weights,omitempty"`
	// OwnerOrg is where the campaign belongs; by default the national
	// root if the caller holds Supply there, else their first Supply grant.
	OwnerOrg string `json:"owner_org,omitempty"`
}

// Requirement is one requirement a campaign asks about, with where it
// sits in the set's tree (for the score's groups) and its weight.
type Requirement struct {
	Seq           int    `json:"seq"`
	Key           string `json:"key"`
	Ref           string `json:"ref,omitempty"`
	Name          string `json:"name"`
	Objective     string `json:"objective,omitempty"`
	ObjectiveName string `json:"objective_name,omitempty"`
	Principle     string `json:"principle,omitempty"`
	PrincipleName string `json:"principle_name,omitempty"`
	Weight        int    `json:"weight"`
}

// Label is the requirement's ref, or its name when it has none.
func (r Requirement) Label() string {
	if r.Ref != "" {
		return r.Ref
	}
	return r.Name
}

// Campaign is one campaign with, when read whole, its requirements and
// statements.
type Campaign struct {
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	SetID        string             `json:"set_id"`
	Profile      string             `json:"profile,omitempty"`
	OwnerOrg     string             `json:"owner_org"`
	Deadline     string             `json:"deadline"`
	Selection    string             `json:"selection"`
	CreatedBy    string             `json:"created_by"`
	CreatedAt    string             `json:"created_at"`
	ClosedAt     string             `json:"closed_at,omitempty"`
	ClosedBy     string             `json:"closed_by,omitempty"`
	TierProfiles map[string]string  `json:"tier_profiles,omitempty"`
	Suppliers    int                `json:"suppliers"`
	Progress     map[string]int     `json:"progress"`
	Requirements []Requirement      `json:"requirements,omitempty"`
	Statements   []StatementSummary `json:"statements,omitempty"`
}

func (s *Service) needRegister() error {
	if s.register == nil {
		return errors.New("assurance: Options.Register is not set")
	}
	return nil
}

// ownerOf picks and checks the organisation a new campaign belongs to.
func (s *Service) ownerOf(ctx context.Context, sc scope.Scope, want string) (string, error) {
	if want == "" {
		for _, g := range sc.Grants {
			if g.Role.Perms()&scope.Supply != 0 && strings.Count(g.Path, "/") <= 2 {
				return rootIfEmpty(g.Org), nil
			}
		}
		for _, g := range sc.Grants {
			if g.Role.Perms()&scope.Supply != 0 {
				return rootIfEmpty(g.Org), nil
			}
		}
		return "", fault.Forbiddenf("running an assurance campaign needs the supply permission (a supply-chain manager: national, or a region lead)")
	}
	if s.orgs == nil {
		return "", errors.New("assurance: Options.Orgs is not set")
	}
	o, err := s.orgs.Get(ctx, sc, want)
	if err != nil {
		return "", fault.Invalidf("owner_org", "%s is not an organisation you can see", want)
	}
	if o.Path != "" && !sc.CanAt(scope.Supply, o.Path) {
		return "", fault.Forbiddenf("running an assurance campaign for %s needs the supply permission there", o.Code)
	}
	return o.Code, nil
}

func rootIfEmpty(code string) string {
	if code == "" {
		return org.RootCode
	}
	return code
}

// CreateCampaign makes a campaign and a draft statement for each supplier
// selected, in one transaction with one audit entry for the campaign and
// one per statement.
func (s *Service) CreateCampaign(ctx context.Context, sc scope.Scope, n NewCampaign) (Campaign, error) {
	if err := s.needRegister(); err != nil {
		return Campaign{}, err
	}
	if !sc.Can(scope.Supply) {
		return Campaign{}, fault.Forbiddenf("running an assurance campaign needs the supply permission (a supply-chain manager: national, or a region lead)")
	}
	n.Name = strings.TrimSpace(n.Name)
	if p := safetext.Problem(n.Name, safetext.Name, safetext.MaxName); p != "" || n.Name == "" {
		if p == "" {
			p = "is required"
		}
		return Campaign{}, fault.Invalidf("name", "%s", p)
	}
	dl, err := time.Parse(time.DateOnly, strings.TrimSpace(n.Deadline))
	if err != nil {
		return Campaign{}, fault.Invalidf("deadline", "%q is not a date (YYYY-MM-DD)", n.Deadline)
	}
	if dl.Before(s.now().UTC().Truncate(24 * time.Hour)) {
		return Campaign{}, fault.Invalidf("deadline", "%s has passed; give a date from today on", n.Deadline)
	}
	set, err := s.Get(ctx, strings.TrimSpace(n.SetID))
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return Campaign{}, fault.Invalidf("set_id", "no requirement set %q is held (vigil assurance list shows them)", n.SetID)
		}
		return Campaign{}, err
	}
	if err := checkTierProfiles(set, n.TierProfiles); err != nil {
		return Campaign{}, err
	}
	owner, err := s.ownerOf(ctx, sc, strings.TrimSpace(n.OwnerOrg))
	if err != nil {
		return Campaign{}, err
	}
	sups, selection, err := s.selectSuppliers(ctx, sc, n.Suppliers, n.Tier)
	if err != nil {
		return Campaign{}, err
	}
	// A tiered campaign records each supplier's tier, and asks it against
	// its tier's profile: the campaign holds the union of the profiles.
	var tiers []SupplierTier
	stProfile := make([]string, len(sups))
	profiles := []string{n.Profile}
	if len(n.TierProfiles) > 0 || strings.HasPrefix(n.Tier, "tier-") {
		if tiers, err = s.tiers(ctx, sc, sups); err != nil {
			return Campaign{}, err
		}
		if len(n.TierProfiles) > 0 {
			profiles = nil
			for i, t := range tiers {
				p, ok := n.TierProfiles[t.Tier]
				if !ok {
					p = n.Profile
				}
				stProfile[i] = p
				if !slices.Contains(profiles, p) {
					profiles = append(profiles, p)
				}
			}
		}
	}
	reqs, err := campaignRequirementsFor(set, profiles, n.Weights)
	if err != nil {
		return Campaign{}, err
	}
	var members map[string][]int
	if len(n.TierProfiles) > 0 {
		members = profileMembers(set, reqs, profiles)
		if slices.Contains(profiles, "") {
			for i := range stProfile {
				if stProfile[i] == "" {
					stProfile[i] = allRequirements
				}
			}
			for _, r := range reqs {
				members[allRequirements] = append(members[allRequirements], r.Seq)
			}
		}
	}
	now := s.now().UTC().Format(time.RFC3339)
	c := Campaign{ID: randid.New("AC"), Name: n.Name, SetID: set.ID, Profile: n.Profile, OwnerOrg: owner, Deadline: dl.Format(time.DateOnly),
		Selection: selection, CreatedBy: actor(sc), CreatedAt: now, Suppliers: len(sups), Requirements: reqs, TierProfiles: n.TierProfiles}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_campaigns (campaign_id, name, set_id, profile, owner_org, deadline, selection, created_by, created_by_name, created_at, tier_profiles)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Name, c.SetID, c.Profile, c.OwnerOrg, c.Deadline, c.Selection, sc.UserID, c.CreatedBy, now, encodeTierProfiles(n.TierProfiles)); err != nil {
			return fmt.Errorf("assurance: insert campaign: %w", err)
		}
		for _, p := range slices.Sorted(maps.Keys(members)) {
			seqs := members[p]
			if err := batch(ctx, tx, `INSERT INTO assurance_campaign_profile_members (campaign_id, profile, seq)`, 3, len(seqs), func(i int) []any {
				return []any{c.ID, p, seqs[i]}
			}); err != nil {
				return err
			}
		}
		if err := batch(ctx, tx, `INSERT INTO assurance_campaign_requirements (campaign_id, seq, node_key, ref, name, objective_key, objective_name, principle_key, principle_name, weight)`, 10, len(reqs), func(i int) []any {
			r := reqs[i]
			return []any{c.ID, r.Seq, r.Key, r.Ref, r.Name, r.Objective, r.ObjectiveName, r.Principle, r.PrincipleName, r.Weight}
		}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.campaign.create", ObjectType: "assurance-campaign", ObjectID: c.ID, Org: c.OwnerOrg,
			After: map[string]any{"name": c.Name, "set_id": c.SetID, "profile": c.Profile, "owner_org": c.OwnerOrg, "deadline": c.Deadline,
				"selection": c.Selection, "suppliers": len(sups), "requirements": len(reqs), "tier_profiles": n.TierProfiles}}); err != nil {
			return err
		}
		ids := make([]string, len(sups))
		for i := range sups {
			ids[i] = randid.New("ST")
		}
		tierAt := func(i int) (string, string) {
			if tiers == nil {
				return "", ""
			}
			return tiers[i].Tier, tiers[i].Reason
		}
		if err := batch(ctx, tx, `INSERT INTO assurance_statements (statement_id, campaign_id, supplier_id, supplier_name, status, updated_at, tier, tier_reason, profile)`, 9, len(sups), func(i int) []any {
			t, why := tierAt(i)
			return []any{ids[i], c.ID, sups[i].ID, sups[i].Name, StatusDraft, now, t, why, stProfile[i]}
		}); err != nil {
			return err
		}
		for i, sp := range sups {
			after := map[string]any{"campaign": c.ID, "supplier_id": sp.ID, "deadline": c.Deadline}
			if t, why := tierAt(i); t != "" {
				after["tier"], after["tier_reason"] = t, why
			}
			if stProfile[i] != "" {
				after["profile"] = stProfile[i]
			}
			if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.statement.request", ObjectType: "assurance-statement", ObjectID: ids[i], Org: c.OwnerOrg,
				After: after}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.GetCampaign(ctx, sc, c.ID)
}

// campaignRequirements lists the assessable requirements of set (those a
// profile names, when given) with their objective and principle and
// weight.
func campaignRequirements(set *Set, profile string, weights map[string]int) ([]Requirement, error) {
	return campaignRequirementsFor(set, []string{profile}, weights)
}

// allRequirements is the member list of a tiered campaign's statements
// asked about every requirement (a tier without a profile, and no
// campaign profile).
const allRequirements = "*"

// campaignRequirementsFor is campaignRequirements for the union of several
// profiles ("" among them: every requirement).
func campaignRequirementsFor(set *Set, profiles []string, weights map[string]int) ([]Requirement, error) {
	var inProfile map[string]bool
	for _, profile := range profiles {
		if profile = strings.TrimSpace(profile); profile == "" {
			inProfile = nil
			break
		}
		i := slices.IndexFunc(set.Profiles, func(p Profile) bool { return p.Name == profile })
		if i < 0 {
			names := make([]string, len(set.Profiles))
			for j, p := range set.Profiles {
				names[j] = p.Name
			}
			return nil, fault.Invalidf("profile", "%s has no profile %q (it has: %s)", set.ID, profile, strings.Join(names, ", "))
		}
		if inProfile == nil {
			inProfile = map[string]bool{}
		}
		for _, t := range set.Profiles[i].Targets {
			inProfile[t.Node] = true
		}
	}
	byKey := make(map[string]Node, len(set.Nodes))
	for _, n := range set.Nodes {
		byKey[n.Key] = n
	}
	used := map[string]bool{}
	var out []Requirement
	for _, n := range set.Nodes {
		if !n.Assessable || (inProfile != nil && !inProfile[n.Key]) {
			continue
		}
		// The path from the root: objective is the top, principle the
		// requirement's parent (or the objective when it hangs from it).
		var chain []Node
		for p, k := byKey[n.Parent], 0; p.Key != "" && k < 64; p, k = byKey[p.Parent], k+1 {
			chain = append(chain, p)
		}
		r := Requirement{Seq: len(out) + 1, Key: n.Key, Ref: n.Ref, Name: n.Name, Weight: 1}
		if r.Name == "" {
			r.Name = n.Description
		}
		if len(chain) > 0 {
			top := chain[len(chain)-1]
			r.Objective, r.ObjectiveName = top.Key, nodeLabel(top)
			r.Principle, r.PrincipleName = chain[0].Key, nodeLabel(chain[0])
		} else {
			r.Objective, r.ObjectiveName = n.Key, nodeLabel(n)
			r.Principle, r.PrincipleName = n.Key, nodeLabel(n)
		}
		for _, k := range []string{n.Key, n.Ref} {
			if w, ok := weights[k]; ok && k != "" {
				if w < 1 || w > MaxWeight {
					return nil, fault.Invalidf("weights", "%s: %d is not a weight from 1 to %d", k, w, MaxWeight)
				}
				r.Weight, used[k] = w, true
			}
		}
		out = append(out, r)
	}
	for k := range weights {
		if !used[k] {
			return nil, fault.Invalidf("weights", "%q is not a requirement of this campaign", k)
		}
	}
	if len(out) == 0 {
		return nil, fault.Invalidf("set_id", "%s has no assessable requirements to ask about", set.ID)
	}
	return out, nil
}

func nodeLabel(n Node) string {
	switch {
	case n.Ref != "" && n.Name != "":
		return n.Ref + " " + n.Name
	case n.Name != "":
		return n.Name
	case n.Ref != "":
		return n.Ref
	}
	return n.Key
}

// selectSuppliers resolves a campaign's suppliers: those listed (each one
// the caller may see) and those of a tier, without repeats, by ID.
func (s *Service) selectSuppliers(ctx context.Context, sc scope.Scope, ids []string, tier string) ([]supply.Supplier, string, error) {
	seen := map[string]bool{}
	var out []supply.Supplier
	add := func(sp supply.Supplier) {
		if !seen[sp.ID] {
			seen[sp.ID] = true
			out = append(out, sp)
		}
	}
	var sel []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		sp, err := s.register.GetSupplier(ctx, sc, id)
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				return nil, "", fault.Invalidf("suppliers", "no supplier %q in the register", id)
			}
			return nil, "", err
		}
		add(sp)
	}
	if len(ids) > 0 {
		sel = append(sel, "list")
	}
	switch tier = strings.TrimSpace(tier); tier {
	case Tier1, Tier2, Tier3:
		all, err := s.register.ListSuppliers(ctx, sc)
		if err != nil {
			return nil, "", err
		}
		ts, err := s.tiers(ctx, sc, all)
		if err != nil {
			return nil, "", err
		}
		for i, t := range ts {
			if t.Tier == tier {
				add(all[i])
			}
		}
		sel = append(sel, "tier:"+tier)
	case "":
	case TierCritical, TierAll:
		all, err := s.register.ListSuppliers(ctx, sc)
		if err != nil {
			return nil, "", err
		}
		for _, sp := range all {
			if tier == TierAll || sp.DesignatedCritical {
				add(sp)
			}
		}
		sel = append(sel, "tier:"+tier)
	default:
		return nil, "", fault.Invalidf("tier", "%q is not critical, all, %s", tier, strings.Join(TierNames(), ", "))
	}
	if len(out) == 0 {
		return nil, "", fault.Invalidf("suppliers", "name at least one supplier, or a tier (critical, all) that has some")
	}
	if len(out) > MaxCampaignSuppliers {
		return nil, "", fault.Invalidf("suppliers", "%d suppliers: one campaign asks at most %d", len(out), MaxCampaignSuppliers)
	}
	slices.SortFunc(out, func(a, b supply.Supplier) int { return strings.Compare(a.ID, b.ID) })
	return out, strings.Join(sel, "+"), nil
}

func actor(sc scope.Scope) string {
	if sc.Name != "" {
		return sc.Name
	}
	return sc.Email
}

const campaignCols = `c.campaign_id, c.name, c.set_id, c.profile, c.owner_org, c.deadline, c.selection, c.created_by_name, c.created_at, c.closed_at, c.closed_by, c.tier_profiles`

func scanCampaign(r interface{ Scan(...any) error }, c *Campaign) error {
	var tp string
	err := r.Scan(&c.ID, &c.Name, &c.SetID, &c.Profile, &c.OwnerOrg, &c.Deadline, &c.Selection, &c.CreatedBy, &c.CreatedAt, &c.ClosedAt, &c.ClosedBy, &tp)
	c.TierProfiles = decodeTierProfiles(tp)
	return err
}

// ListCampaigns lists the campaigns the caller assesses, newest first,
// with the count of statements in each status.
func (s *Service) ListCampaigns(ctx context.Context, sc scope.Scope) ([]Campaign, error) {
	where, args := sc.Filter("c.owner_org", scope.Supply)
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+campaignCols+` FROM assurance_campaigns c WHERE `+where+` ORDER BY c.created_at DESC, c.campaign_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: list campaigns: %w", err)
	}
	defer rows.Close()
	out := []Campaign{}
	idx := map[string]int{}
	for rows.Next() {
		var c Campaign
		if err := scanCampaign(rows, &c); err != nil {
			return nil, fmt.Errorf("assurance: list campaigns: %w", err)
		}
		c.Progress = map[string]int{}
		idx[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	prog, err := s.db.Q().QueryContext(ctx, `SELECT st.campaign_id, st.status, COUNT(*) FROM assurance_statements st JOIN assurance_campaigns c ON c.campaign_id = st.campaign_id
		WHERE `+where+` GROUP BY st.campaign_id, st.status`, args...)
	if err != nil {
		return nil, fmt.Errorf("assurance: campaign progress: %w", err)
	}
	defer prog.Close()
	for prog.Next() {
		var id, status string
		var n int
		if err := prog.Scan(&id, &status, &n); err != nil {
			return nil, err
		}
		if i, ok := idx[id]; ok {
			out[i].Progress[status] = n
			out[i].Suppliers += n
		}
	}
	return out, prog.Err()
}

// campaignFor reads a campaign the caller assesses; else not found.
func (s *Service) campaignFor(ctx context.Context, q store.Queryer, sc scope.Scope, id string) (Campaign, error) {
	where, args := sc.Filter("c.owner_org", scope.Supply)
	var c Campaign
	err := scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM assurance_campaigns c WHERE c.campaign_id = ? AND `+where, append([]any{id}, args...)...), &c)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, fault.NotFoundf("no assurance campaign %s", id)
	}
	if err != nil {
		return Campaign{}, fmt.Errorf("assurance: campaign %s: %w", id, err)
	}
	return c, nil
}

// GetCampaign reads a campaign the caller assesses with its requirements
// and every statement's summary and score.
func (s *Service) GetCampaign(ctx context.Context, sc scope.Scope, id string) (Campaign, error) {
	c, err := s.campaignFor(ctx, s.db.Q(), sc, id)
	if err != nil {
		return Campaign{}, err
	}
	if c.Requirements, err = s.requirements(ctx, s.db.Q(), id); err != nil {
		return Campaign{}, err
	}
	sums, err := s.summaries(ctx, `st.campaign_id = ?`, []any{id})
	if err != nil {
		return Campaign{}, err
	}
	c.Statements, c.Suppliers, c.Progress = sums, len(sums), map[string]int{}
	for _, x := range sums {
		c.Progress[x.Status]++
	}
	return c, nil
}

func (s *Service) requirements(ctx context.Context, q store.Queryer, campaign string) ([]Requirement, error) {
	var out []Requirement
	err := each(ctx, q, `SELECT seq, node_key, ref, name, objective_key, objective_name, principle_key, principle_name, weight
		FROM assurance_campaign_requirements WHERE campaign_id = ? ORDER BY seq`, campaign, func(r *sql.Rows) error {
		var x Requirement
		err := r.Scan(&x.Seq, &x.Key, &x.Ref, &x.Name, &x.Objective, &x.ObjectiveName, &x.Principle, &x.PrincipleName, &x.Weight)
		out = append(out, x)
		return err
	})
	return out, err
}
