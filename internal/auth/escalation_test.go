package auth_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, fault.ErrForbidden) {
		t.Errorf("%s = %v, want fault.ErrForbidden", what, err)
	}
}

// homedNational makes a national administrator whose home organisation is
// home (an analyst there who was then made national admin), with a
// password and an API token, and returns the user and the token.
func (e *env) homedNational(t *testing.T, email, home string) (auth.User, string) {
	t.Helper()
	ctx := t.Context()
	u := e.add(t, email, scope.OrgAnalyst, home, "national admin passphrase")
	if _, err := e.auth.Grant(ctx, e.nat, u.ID, scope.NationalAdmin, "ENG"); err != nil {
		t.Fatal(err)
	}
	_, tok, err := e.auth.CreateToken(ctx, e.nat, u.ID, "national tooling", 0)
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// stillNational checks that nothing a refused attacker tried changed the
// national administrator: name, password, enabled, grants, token, no new
// tokens.
func (e *env) stillNational(t *testing.T, u auth.User, tok string, tokens int) {
	t.Helper()
	ctx := t.Context()
	sc, err := e.auth.TokenScope(ctx, tok, "")
	if err != nil || !sc.National(scope.Admin) {
		t.Fatalf("the national admin's token after the attack: %+v, %v", sc.Grants, err)
	}
	got, err := e.auth.GetUser(ctx, e.nat, u.ID)
	if err != nil || got.Name != u.Name || got.Disabled || len(got.Grants) != 2 {
		t.Errorf("the national admin after the attack: %+v, %v", got, err)
	}
	if id, err := e.auth.Authenticate(ctx, u.Email, "national admin passphrase", "192.0.2.77"); err != nil || id != u.ID {
		t.Errorf("the national admin's password after the attack: %q, %v", id, err)
	}
	if n := count(t, e.db, `SELECT COUNT(*) FROM tokens WHERE user_id = ?`, u.ID); n != tokens {
		t.Errorf("the national admin has %d tokens, want %d", n, tokens)
	}
}

// attack tries every account action on victim as sc and expects each to be
// refused with fault.ErrForbidden (the victim is visible to sc) — except the
// victim's tokens, which sc may not even see.
func (e *env) attack(t *testing.T, who string, sc scope.Scope, victim auth.User, tok string) {
	t.Helper()
	ctx := t.Context()
	_, _, err := e.auth.CreateToken(ctx, sc, victim.Email, "takeover", 0)
	wantForbidden(t, who+" creating a token for the national admin", err)
	pw := "attacker chosen passphrase"
	_, err = e.auth.UpdateUser(ctx, sc, victim.Email, auth.UserPatch{Password: &pw})
	wantForbidden(t, who+" resetting the national admin's password", err)
	dis := true
	_, err = e.auth.UpdateUser(ctx, sc, victim.Email, auth.UserPatch{Disabled: &dis})
	wantForbidden(t, who+" disabling the national admin", err)
	name := "Renamed"
	_, err = e.auth.UpdateUser(ctx, sc, victim.Email, auth.UserPatch{Name: &name})
	wantForbidden(t, who+" renaming the national admin", err)
	_, err = e.auth.Grant(ctx, sc, victim.Email, scope.OrgAdmin, victim.HomeOrg)
	wantForbidden(t, who+" granting to the national admin", err)
	_, err = e.auth.Revoke(ctx, sc, victim.Email, scope.OrgAnalyst, victim.HomeOrg)
	wantForbidden(t, who+" revoking from the national admin", err)
	ts, err := e.auth.ListTokens(ctx, sc, victim.Email)
	if err != nil || len(ts) != 0 {
		t.Errorf("%s listing the national admin's tokens = %+v, %v; want none", who, ts, err)
	}
	all, _ := e.auth.ListTokens(ctx, sc, "")
	for _, x := range all {
		if x.UserID == victim.ID {
			t.Errorf("%s lists the national admin's token %s", who, x.ID)
		}
	}
	id := strings.SplitN(strings.TrimPrefix(tok, auth.TokenPrefix), ".", 2)[0]
	if _, err := e.auth.RevokeToken(ctx, sc, id); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("%s revoking the national admin's token = %v, want ErrNotFound", who, err)
	}
}

// TestTrustAdminCannotTakeOverNationalAdmin is issue 13 item 1: RJ1's
// org-admin administers the home organisation of a national admin, and
// could make a token for them, reset their password, disable them…
func TestTrustAdminCannotTakeOverNationalAdmin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		victim, tok := e.homedNational(t, "natalie@rj1.example.org", "RJ1")
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		e.attack(t, "RJ1 org-admin", rj1Admin, victim, tok)
		e.stillNational(t, victim, tok, 1)
	})
}

func TestRegionLeadCannotTakeOverNationalAdmin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		victim, tok := e.homedNational(t, "natalie@rjz.example.org", "RJZ")
		lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		e.attack(t, "Y56 region lead", lead, victim, tok)
		e.stillNational(t, victim, tok, 1)
		// Nor a region lead homed in the region of an ICB lead… the same rule
		// protects anyone holding a role the caller could not grant, such as
		// an auditor of the trust.
		aud := e.add(t, "audrey@rj1.example.org", scope.Auditor, "RJ1", "")
		_, _, err := e.auth.CreateToken(t.Context(), lead, aud.ID, "x", 0)
		wantForbidden(t, "region lead creating a token for an auditor", err)
	})
}

// TestOrgAdminStillManagesItsAnalysts: the legitimate work of a trust admin
// is unchanged.
func TestOrgAdminStillManagesItsAnalysts(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		a := e.add(t, "ana@rj1.example.org", scope.OrgAnalyst, "RJ1", "analyst first passphrase")
		if _, _, err := e.auth.CreateToken(ctx, rj1Admin, a.Email, "reporting", 0); err != nil {
			t.Errorf("token for an analyst: %v", err)
		}
		if ts, err := e.auth.ListTokens(ctx, rj1Admin, a.Email); err != nil || len(ts) != 1 {
			t.Errorf("listing the analyst's tokens = %+v, %v", ts, err)
		}
		pw := "reset by the trust admin"
		if _, err := e.auth.UpdateUser(ctx, rj1Admin, a.Email, auth.UserPatch{Password: &pw}); err != nil {
			t.Errorf("password reset: %v", err)
		}
		name, dis := "Ana Analyst", true
		if _, err := e.auth.UpdateUser(ctx, rj1Admin, a.Email, auth.UserPatch{Name: &name, Disabled: &dis}); err != nil {
			t.Errorf("rename and disable: %v", err)
		}
		dis = false
		if _, err := e.auth.UpdateUser(ctx, rj1Admin, a.Email, auth.UserPatch{Disabled: &dis}); err != nil {
			t.Errorf("enable: %v", err)
		}
		if _, err := e.auth.Grant(ctx, rj1Admin, a.Email, scope.OrgAdmin, "RJ1"); err != nil {
			t.Errorf("grant org-admin on its trust: %v", err)
		}
		if _, err := e.auth.Revoke(ctx, rj1Admin, a.Email, scope.OrgAdmin, "RJ1"); err != nil {
			t.Errorf("revoke org-admin on its trust: %v", err)
		}
		if _, err := e.auth.AddUser(ctx, rj1Admin, auth.NewUser{Email: "new@rj1.example.org", Name: "New", Org: "RJ1", Role: scope.OrgAnalyst}); err != nil {
			t.Errorf("add an analyst: %v", err)
		}
		// A region lead manages the trust admins of its region.
		lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		if _, _, err := e.auth.CreateToken(ctx, lead, "admin@rj1.example.org", "x", 0); err != nil {
			t.Errorf("region lead: token for a trust admin in its region: %v", err)
		}
		if _, err := e.auth.Grant(ctx, lead, a.Email, scope.RegionLead, "QKK"); err != nil {
			t.Errorf("region lead granting region-lead on its ICB: %v", err)
		}
	})
}

// TestGrantNeedsTheRoleAndItsPermissions is issue 13 item 2: a role is
// granted (or revoked) only by someone who holds it or a higher one above
// the organisation, with every permission it carries.
func TestGrantNeedsTheRoleAndItsPermissions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		icbAdmin := e.as(t, "admin@qkk.example.org", scope.OrgAdmin, "QKK")
		lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		a := e.add(t, "ana@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		cases := []struct {
			name string
			sc   scope.Scope
			user string
			role scope.Role
			org  string
		}{
			{"org admin grants itself auditor", rj1Admin, "admin@rj1.example.org", scope.Auditor, "RJ1"},
			{"org admin grants an analyst auditor", rj1Admin, a.Email, scope.Auditor, "RJ1"},
			{"ICB org admin grants itself region-lead on its ICB", icbAdmin, "admin@qkk.example.org", scope.RegionLead, "QKK"},
			{"ICB org admin grants an analyst region-lead", icbAdmin, a.Email, scope.RegionLead, "QKK"},
			{"region lead grants auditor in its region", lead, a.Email, scope.Auditor, "QKK"},
			{"region lead grants itself auditor", lead, "lead@y56.example.org", scope.Auditor, "Y56"},
		}
		for _, c := range cases {
			_, err := e.auth.Grant(ctx, c.sc, c.user, c.role, c.org)
			wantForbidden(t, c.name, err)
			if err != nil && !strings.Contains(err.Error(), string(c.role)) {
				t.Errorf("%s: message %q does not name the role", c.name, err)
			}
		}
		// The same refusal when creating a user with that role.
		_, err := e.auth.AddUser(ctx, rj1Admin, auth.NewUser{Email: "aud@rj1.example.org", Name: "Aud", Org: "RJ1", Role: scope.Auditor})
		wantForbidden(t, "org admin adding an auditor", err)
		// Nothing was granted.
		for _, email := range []string{"admin@rj1.example.org", "admin@qkk.example.org", "lead@y56.example.org", a.Email} {
			u, _ := e.auth.GetUser(ctx, e.nat, email)
			if len(u.Grants) != 1 {
				t.Errorf("%s holds %+v after refused grants", email, u.Grants)
			}
		}
		if _, err := e.auth.GetUser(ctx, e.nat, "aud@rj1.example.org"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("refused AddUser created the user (%v)", err)
		}
		// Revoking is granting backwards: the trust admin cannot take away
		// an auditor role the national admin gave.
		if _, err := e.auth.Grant(ctx, e.nat, a.Email, scope.Auditor, "RJ1"); err != nil {
			t.Fatal(err)
		}
		_, err = e.auth.Revoke(ctx, rj1Admin, a.Email, scope.Auditor, "RJ1")
		wantForbidden(t, "org admin revoking auditor", err)
		if u, _ := e.auth.GetUser(ctx, e.nat, a.Email); !slices.ContainsFunc(u.Grants, func(g scope.Grant) bool { return g.Role == scope.Auditor }) {
			t.Errorf("auditor grant gone after a refused revoke: %+v", u.Grants)
		}
		// Still allowed: the national admin grants anything; a region lead
		// org-admin on a trust of its region.
		if _, err := e.auth.Grant(ctx, lead, "admin@qkk.example.org", scope.OrgAdmin, "RJZ"); err != nil {
			t.Errorf("region lead granting org-admin on RJZ: %v", err)
		}
		if _, err := e.auth.Grant(ctx, e.nat, "admin@rj1.example.org", scope.Auditor, "RJ1"); err != nil {
			t.Errorf("national admin granting auditor: %v", err)
		}
	})
}
