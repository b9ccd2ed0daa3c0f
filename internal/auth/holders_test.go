package auth_test

import (
	"slices"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// HoldersOf finds the people an escalation goes to: grants on the named
// organisations themselves, of the named roles, of enabled accounts.
func TestHoldersOf(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.add(t, "lead@y56.example.org", scope.RegionLead, "Y56", "")
		e.add(t, "lead@y62.example.org", scope.RegionLead, "Y62", "")
		e.add(t, "analyst@eng.example.org", scope.NationalAnalyst, "ENG", "")
		e.add(t, "icb@qkk.example.org", scope.RegionLead, "QKK", "") // beneath Y56, not on it
		e.add(t, "a@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		gone := e.add(t, "gone@y56.example.org", scope.RegionLead, "Y56", "")
		if _, err := e.auth.UpdateUser(ctx, e.nat, gone.ID, auth.UserPatch{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		got, err := e.auth.HoldersOf(ctx, []string{"y56", "ENG"}, []scope.Role{scope.RegionLead, scope.NationalAnalyst, scope.NationalAdmin})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"analyst@eng.example.org", "lead@y56.example.org", "nat@example.org"}
		if !slices.Equal(got, want) {
			t.Errorf("HoldersOf(Y56, ENG) = %v, want %v", got, want)
		}
		if got, err := e.auth.HoldersOf(ctx, nil, []scope.Role{scope.RegionLead}); err != nil || len(got) != 0 {
			t.Errorf("HoldersOf(no orgs) = %v, %v", got, err)
		}
	})
}
