package auth_test

import (
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestHasUsers is what app.InitialAdmin asks before making the first
// account (it used to count the users table itself).
func TestHasUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := audit.New(db, nil)
		orgs, err := org.New(org.Options{DB: db, Audit: l})
		if err != nil {
			t.Fatal(err)
		}
		if err := orgs.EnsureRoot(t.Context()); err != nil {
			t.Fatal(err)
		}
		a, err := auth.New(auth.Options{DB: db, Audit: l, Orgs: orgs})
		if err != nil {
			t.Fatal(err)
		}
		if has, err := a.HasUsers(t.Context()); err != nil || has {
			t.Fatalf("new database: HasUsers = %v, %v", has, err)
		}
		if _, err := a.AddUser(t.Context(), scope.System("test"), auth.NewUser{Email: "first@example.org", Name: "First", Org: org.RootCode, Role: scope.NationalAdmin}); err != nil {
			t.Fatal(err)
		}
		if has, err := a.HasUsers(t.Context()); err != nil || !has {
			t.Fatalf("after the first user: HasUsers = %v, %v", has, err)
		}
	}, org.Migrations(), audit.Migrations(), auth.Migrations())
}

// TestGrantPathsComeFromOrg: the paths in a user's grants (the Scope, the
// user listings, the token listing's check) are where org says the
// organisations are now — a moved ICB takes its trusts' grants with it.
func TestGrantPathsComeFromOrg(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u, err := e.auth.AddUser(ctx, e.nat, auth.NewUser{Email: "admin@rj1.example.org", Name: "RJ1 admin", Org: "RJ1", Role: scope.OrgAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.auth.CreateToken(ctx, e.nat, u.ID, "ci", 0); err != nil {
			t.Fatal(err)
		}
		y62 := "Y62"
		if _, err := e.orgs.Update(ctx, e.nat, "QKK", org.Patch{Parent: &y62}); err != nil {
			t.Fatal(err)
		}
		want := "/ENG/Y62/QKK/RJ1/"
		if sc := e.scopeOf(t, u.ID); len(sc.Grants) != 1 || sc.Grants[0].Path != want {
			t.Errorf("ScopeFor grants %+v, want one on %s", sc.Grants, want)
		}
		if got, err := e.auth.GetUser(ctx, e.nat, u.ID); err != nil || len(got.Grants) != 1 || got.Grants[0].Path != want {
			t.Errorf("GetUser grants %+v (%v), want one on %s", got.Grants, err, want)
		}
		us, _, err := e.auth.ListUsers(ctx, e.nat, auth.UserFilter{Org: "RJ1", Limit: 10})
		if err != nil || len(us) != 1 || len(us[0].Grants) != 1 || us[0].Grants[0].Path != want {
			t.Errorf("ListUsers %+v (%v), want RJ1's admin with a grant on %s", us, err, want)
		}
		// An administrator of the ICB's new region now manages RJ1's admin
		// and sees the token; one of the old region no longer does.
		for region, sees := range map[string]bool{"Y62": true, "Y56": false} {
			ra, err := e.auth.AddUser(ctx, e.nat, auth.NewUser{Email: "lead@" + region + ".example.org", Name: region + " lead", Org: region, Role: scope.OrgAdmin})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := e.auth.ListTokens(ctx, e.scopeOf(t, ra.ID), u.ID)
			if err != nil || (len(ts) == 1) != sees {
				t.Errorf("%s administrator sees %d of RJ1's tokens (%v), want seen=%v", region, len(ts), err, sees)
			}
		}
	})
}
