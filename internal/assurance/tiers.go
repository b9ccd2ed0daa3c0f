package assurance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// Proportionate requirements (issue 20, item 2): each supplier gets a tier
// from the criticality of its products' deployments and the data its
// products process, both read from the supplier register (supply.Service,
// in the caller's scope), and a campaign may ask each supplier against its
// tier's profile.

// Tiers, most demanding first.
const (
	Tier1 = "tier-1"
	Tier2 = "tier-2"
	Tier3 = "tier-3"
)

// TierNames lists the tiers, most demanding first.
func TierNames() []string { return []string{Tier1, Tier2, Tier3} }

// TierRule is one rule of the tiering; the first that matches a supplier
// gives its tier.
type TierRule struct {
	N    int    `json:"rule"`
	Tier string `json:"tier"`
	// Designated matches a supplier the register designates critical.
	Designated bool `json:"designated,omitempty"`
	// Criticality matches a deployment of a product of the supplier at
	// one of these criticalities (empty: any deployment, or none).
	Criticality []supply.Criticality `json:"criticality,omitempty"`
	// Data matches a product processing one of these (with Criticality:
	// the deployed product itself).
	Data []supply.DataClass `json:"data,omitempty"`
	Text string             `json:"text"`
}

// TierRules are the rules, in the order they are tried. The last matches
// every supplier.
func TierRules() []TierRule {
	return []TierRule{
		{N: 1, Tier: Tier1, Designated: true, Text: "designated critical in the register"},
		{N: 2, Tier: Tier1, Criticality: []supply.Criticality{supply.Critical}, Text: "a deployment is critical to a service"},
		{N: 3, Tier: Tier1, Criticality: []supply.Criticality{supply.High}, Data: []supply.DataClass{supply.PatientData}, Text: "a deployment of high criticality processes patient data"},
		{N: 4, Tier: Tier2, Criticality: []supply.Criticality{supply.High}, Text: "a deployment is of high criticality"},
		{N: 5, Tier: Tier2, Data: []supply.DataClass{supply.PatientData}, Text: "a product processes patient data"},
		{N: 6, Tier: Tier2, Criticality: []supply.Criticality{supply.Medium}, Data: []supply.DataClass{supply.PersonalData}, Text: "a deployment of medium criticality processes personal data"},
		{N: 7, Tier: Tier3, Text: "none of the above"},
	}
}

// SupplierTier is a supplier's tier and what put it there.
type SupplierTier struct {
	SupplierID   string `json:"supplier_id"`
	SupplierName string `json:"supplier_name"`
	Tier         string `json:"tier"`
	Rule         int    `json:"rule"`
	// Reason says the rule and the deployment or product that matched it.
	Reason string `json:"reason"`
	// Deployment and Product are what matched (when a deployment or a
	// product did).
	Deployment *supply.Deployment `json:"deployment,omitempty"`
	Product    string             `json:"product,omitempty"`
	Data       supply.DataClass   `json:"data,omitempty"`
	// Deployments counts the deployments of its products the caller sees;
	// DataUnknown counts its products whose data is not recorded.
	Deployments int `json:"deployments"`
	DataUnknown int `json:"data_unknown,omitempty"`
}

// tierOf applies the rules to a supplier, its products and their
// deployments.
func tierOf(sp supply.Supplier, prods []supply.Product, deps map[string][]supply.Deployment) SupplierTier {
	t := SupplierTier{SupplierID: sp.ID, SupplierName: sp.Name}
	for _, p := range prods {
		t.Deployments += len(deps[p.ID])
		if p.Data == "" {
			t.DataUnknown++
		}
	}
	for _, r := range TierRules() {
		t.Tier, t.Rule = r.Tier, r.N
		switch {
		case r.Designated:
			if sp.DesignatedCritical {
				t.Reason = fmt.Sprintf("%s by rule %d: %s", r.Tier, r.N, r.Text)
				return t
			}
		case len(r.Criticality) > 0:
			for _, p := range prods {
				if len(r.Data) > 0 && !slices.Contains(r.Data, p.Data) {
					continue
				}
				for _, d := range deps[p.ID] {
					if slices.Contains(r.Criticality, d.Criticality) {
						d := d
						t.Deployment, t.Product, t.Data = &d, p.ID, p.Data
						data := ""
						if p.Data != "" {
							data = ", which processes " + dataWords(p.Data)
						}
						t.Reason = fmt.Sprintf("%s by rule %d (%s): %s (%s%s) is deployed at %s for %s with criticality %s",
							r.Tier, r.N, r.Text, p.Name, p.ID, data, d.OrgODS, d.Service, d.Criticality)
						return t
					}
				}
			}
		case len(r.Data) > 0:
			for _, p := range prods {
				if slices.Contains(r.Data, p.Data) {
					t.Product, t.Data = p.ID, p.Data
					t.Reason = fmt.Sprintf("%s by rule %d (%s): %s (%s) processes %s", r.Tier, r.N, r.Text, p.Name, p.ID, dataWords(p.Data))
					return t
				}
			}
		default:
			t.Reason = fmt.Sprintf("%s by rule %d: %s (%d deployments seen", r.Tier, r.N, r.Text, t.Deployments)
			if t.DataUnknown > 0 {
				t.Reason += fmt.Sprintf("; %d products do not say what data they process", t.DataUnknown)
			}
			t.Reason += ")"
			return t
		}
	}
	return t
}

func dataWords(d supply.DataClass) string {
	switch d {
	case supply.PatientData:
		return "patient data"
	case supply.PersonalData:
		return "personal data"
	case supply.NoData:
		return "no personal data"
	}
	return "data not recorded"
}

// TierOf is one supplier's tier, from what the caller sees of the register.
func (s *Service) TierOf(ctx context.Context, sc scope.Scope, supplierID string) (SupplierTier, error) {
	if err := s.needRegister(); err != nil {
		return SupplierTier{}, err
	}
	sp, err := s.register.GetSupplier(ctx, sc, supplierID)
	if err != nil {
		return SupplierTier{}, err
	}
	ts, err := s.tiers(ctx, sc, []supply.Supplier{sp})
	if err != nil {
		return SupplierTier{}, err
	}
	return ts[0], nil
}

// Tiers lists every supplier the caller sees with its tier, most
// demanding first, then by name. Only supply-chain managers ask.
func (s *Service) Tiers(ctx context.Context, sc scope.Scope) ([]SupplierTier, error) {
	if err := s.needRegister(); err != nil {
		return nil, err
	}
	if !sc.Can(scope.Supply) {
		return nil, fault.Forbiddenf("supplier tiers are for supply-chain managers (the supply permission)")
	}
	sups, err := s.register.ListSuppliers(ctx, sc)
	if err != nil {
		return nil, err
	}
	out, err := s.tiers(ctx, sc, sups)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tier != out[j].Tier {
			return out[i].Tier < out[j].Tier
		}
		return out[i].SupplierName < out[j].SupplierName
	})
	return out, nil
}

// tiers works out the tiers of sups: their products, then each product's
// deployments the caller sees.
func (s *Service) tiers(ctx context.Context, sc scope.Scope, sups []supply.Supplier) ([]SupplierTier, error) {
	all, err := s.register.ListProducts(ctx, sc, "")
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(sups))
	for _, sp := range sups {
		want[sp.ID] = true
	}
	prods := map[string][]supply.Product{}
	deps := map[string][]supply.Deployment{}
	for _, p := range all {
		if !want[p.SupplierID] {
			continue
		}
		prods[p.SupplierID] = append(prods[p.SupplierID], p)
		d, err := s.register.ListDeployments(ctx, sc, supply.DeploymentFilter{ProductID: p.ID})
		if err != nil {
			return nil, err
		}
		deps[p.ID] = d
	}
	out := make([]SupplierTier, len(sups))
	for i, sp := range sups {
		out[i] = tierOf(sp, prods[sp.ID], deps)
	}
	return out, nil
}

func isTier(t string) bool { return slices.Contains(TierNames(), t) }

// checkTierProfiles checks a campaign's profile per tier against its set.
func checkTierProfiles(set *Set, tp map[string]string) error {
	for t, p := range tp {
		if !isTier(t) {
			return fault.Invalidf("tier_profiles", "%q is not a tier (%s)", t, strings.Join(TierNames(), ", "))
		}
		if !slices.ContainsFunc(set.Profiles, func(x Profile) bool { return x.Name == p }) {
			return fault.Invalidf("tier_profiles", "%s: %s has no profile %q", t, set.ID, p)
		}
	}
	return nil
}

// profileMembers lists, per profile named, the seqs of reqs it names.
func profileMembers(set *Set, reqs []Requirement, profiles []string) map[string][]int {
	out := map[string][]int{}
	for _, name := range profiles {
		i := slices.IndexFunc(set.Profiles, func(p Profile) bool { return p.Name == name })
		if i < 0 {
			continue
		}
		in := map[string]bool{}
		for _, t := range set.Profiles[i].Targets {
			in[t.Node] = true
		}
		for _, r := range reqs {
			if in[r.Key] {
				out[name] = append(out[name], r.Seq)
			}
		}
	}
	return out
}

func encodeTierProfiles(tp map[string]string) string {
	if len(tp) == 0 {
		return ""
	}
	b, _ := json.Marshal(tp)
	return string(b)
}

func decodeTierProfiles(s string) map[string]string {
	if s == "" {
		return nil
	}
	var tp map[string]string
	if json.Unmarshal([]byte(s), &tp) != nil {
		return nil
	}
	return tp
}

// statementRequirements are the requirements one statement is asked: the
// campaign's, narrowed to the statement's profile when it has its own
// (a tiered campaign).
func (s *Service) statementRequirements(ctx context.Context, q store.Queryer, campaign, statement string) ([]Requirement, error) {
	reqs, err := s.requirements(ctx, q, campaign)
	if err != nil {
		return nil, err
	}
	var profile string
	err = q.QueryRowContext(ctx, `SELECT profile FROM assurance_statements WHERE statement_id = ?`, statement).Scan(&profile)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && profile == "") {
		return reqs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("assurance: statement %s profile: %w", statement, err)
	}
	in := map[int]bool{}
	rows, err := q.QueryContext(ctx, `SELECT seq FROM assurance_campaign_profile_members WHERE campaign_id = ? AND profile = ?`, campaign, profile)
	if err != nil {
		return nil, fmt.Errorf("assurance: profile members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		in[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := reqs[:0]
	for _, r := range reqs {
		if in[r.Seq] {
			out = append(out, r)
		}
	}
	return out, nil
}
