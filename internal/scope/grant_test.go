package scope_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
)

func TestRoleRanking(t *testing.T) {
	want := []scope.Role{scope.NationalAdmin, scope.Auditor, scope.NationalAnalyst, scope.RegionLead, scope.OrgAdmin, scope.SupplierRep, scope.OrgAnalyst}
	if len(want) != len(scope.Roles()) {
		t.Fatalf("the ranking test covers %d roles, there are %d", len(want), len(scope.Roles()))
	}
	for i := 1; i < len(want); i++ {
		if want[i-1].Rank() <= want[i].Rank() {
			t.Errorf("%s (%d) does not outrank %s (%d)", want[i-1], want[i-1].Rank(), want[i], want[i].Rank())
		}
	}
	if scope.Role("emperor").Rank() != 0 {
		t.Error("an unknown role has a rank")
	}
	if got := (scope.Admin | scope.Audit).String(); got != "admin+audit" {
		t.Errorf("Perm.String = %q", got)
	}
}

func TestGrantGap(t *testing.T) {
	cases := []struct {
		name string
		sc   scope.Scope
		role scope.Role
		org  string
		gap  string // "" means allowed; otherwise part of the gap
	}{
		{"national admin: anything", user(grant(scope.NationalAdmin, "ENG")), scope.Auditor, "RJ1", ""},
		{"national admin: national admin", user(grant(scope.NationalAdmin, "ENG")), scope.NationalAdmin, "ENG", ""},
		{"system: anything", scope.System("t"), scope.NationalAdmin, "ENG", ""},
		{"org admin: org-analyst on its trust", user(grant(scope.OrgAdmin, "RJ1")), scope.OrgAnalyst, "RJ1", ""},
		{"org admin: org-admin on its trust", user(grant(scope.OrgAdmin, "RJ1")), scope.OrgAdmin, "RJ1", ""},
		{"org admin: auditor on its trust", user(grant(scope.OrgAdmin, "RJ1")), scope.Auditor, "RJ1", "auditor or a higher"},
		{"org admin of an ICB: region-lead there", user(grant(scope.OrgAdmin, "QKK")), scope.RegionLead, "QKK", "region-lead or a higher"},
		{"org admin: another trust", user(grant(scope.OrgAdmin, "RJ1")), scope.OrgAnalyst, "RJZ", "administration"},
		{"org admin: its ICB", user(grant(scope.OrgAdmin, "RJ1")), scope.OrgAnalyst, "QKK", "administration"},
		{"org admin: RJ10 shares a prefix", user(grant(scope.OrgAdmin, "RJ1")), scope.OrgAnalyst, "RJ10", "administration"},
		{"analyst: anything", user(grant(scope.OrgAnalyst, "RJ1")), scope.OrgAnalyst, "RJ1", "administration"},
		{"region lead: region-lead on its ICB", user(grant(scope.RegionLead, "Y56")), scope.RegionLead, "QKK", ""},
		{"region lead: org-admin on a trust", user(grant(scope.RegionLead, "Y56")), scope.OrgAdmin, "RJ1", ""},
		{"region lead: auditor", user(grant(scope.RegionLead, "Y56")), scope.Auditor, "RJ1", "auditor or a higher"},
		{"region lead: national-analyst", user(grant(scope.RegionLead, "Y56")), scope.NationalAnalyst, "Y56", "national-analyst or a higher"},
		{"region lead: another region", user(grant(scope.RegionLead, "Y56")), scope.OrgAnalyst, "R0A", "administration"},
		{"auditor: no administration", user(grant(scope.Auditor, "ENG")), scope.OrgAnalyst, "RJ1", "administration"},
		{"national analyst: no administration", user(grant(scope.NationalAnalyst, "ENG")), scope.OrgAnalyst, "RJ1", "administration"},
		{"org admin of a supplier: supplier-rep", user(grant(scope.OrgAdmin, "SUP-X")), scope.SupplierRep, "SUP-X", ""},
		{"supplier rep: supplier-rep", user(grant(scope.SupplierRep, "SUP-X")), scope.SupplierRep, "SUP-X", "administration"},
		// Ranks and permissions add up over the grants covering the
		// organisation: an org admin who is also its auditor may appoint
		// another auditor there, not elsewhere.
		{"org admin and auditor of a trust: auditor there", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.Auditor, "RJ1")), scope.Auditor, "RJ1", ""},
		{"org admin of a trust, auditor of another", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.Auditor, "RJZ")), scope.Auditor, "RJ1", "auditor or a higher"},
		{"region lead who is also a national auditor: auditor in its region", user(grant(scope.RegionLead, "Y56"), grant(scope.Auditor, "ENG")), scope.Auditor, "RJ1", ""},
		{"nobody", user(), scope.OrgAnalyst, "RJ1", "administration"},
	}
	for _, c := range cases {
		gap := c.sc.GrantGap(c.role, pathOf[c.org])
		if c.gap == "" && gap != "" {
			t.Errorf("%s: refused, lacking %s", c.name, gap)
		}
		if c.gap != "" && !strings.Contains(gap, c.gap) {
			t.Errorf("%s: gap %q, want %q", c.name, gap, c.gap)
		}
		if c.sc.CanGrant(c.role, pathOf[c.org]) != (c.gap == "") {
			t.Errorf("%s: CanGrant disagrees with GrantGap", c.name)
		}
	}
	// The rank suffices but a permission is missing: an org admin of the
	// root who is also a national auditor outranks national-analyst, yet
	// lacks Supply, which that role carries.
	oa := user(grant(scope.OrgAdmin, "ENG"), grant(scope.Auditor, "ENG"))
	if gap := oa.GrantGap(scope.NationalAnalyst, pathOf["ENG"]); gap != "the supply permission" {
		t.Errorf("org admin + auditor of ENG granting national-analyst: gap %q, want the supply permission", gap)
	}

	for _, c := range []struct {
		sc   scope.Scope
		want []scope.Role
	}{
		{user(grant(scope.NationalAdmin, "ENG")), scope.Roles()},
		{user(grant(scope.RegionLead, "Y56")), []scope.Role{scope.RegionLead, scope.OrgAdmin, scope.OrgAnalyst, scope.SupplierRep}},
		{user(grant(scope.OrgAdmin, "RJ1")), []scope.Role{scope.OrgAdmin, scope.OrgAnalyst, scope.SupplierRep}},
		{user(grant(scope.OrgAnalyst, "RJ1")), nil},
		{user(grant(scope.Auditor, "ENG")), nil},
	} {
		if got := c.sc.GrantableRoles(); !slices.Equal(got, c.want) {
			t.Errorf("GrantableRoles of %v = %v, want %v", c.sc.Grants, got, c.want)
		}
	}
}
