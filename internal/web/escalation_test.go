package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestAdminPagesOfferOnlyWhatMayBeDone (issue 13 items 1 and 2): a trust's
// org-admin sees a national admin homed at its trust but is offered no
// action on them, and every action posted anyway is refused; the role
// lists offer only roles the caller may grant.
func TestAdminPagesOfferOnlyWhatMayBeDone(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	sys := scope.System("test")
	nat, err := e.auth.AddUser(ctx, sys, auth.NewUser{Email: "nadia@leeds.test", Name: "Nadia National", Org: "RR8", Role: scope.OrgAnalyst, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.Grant(ctx, sys, nat.ID, scope.NationalAdmin, "ENG"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.auth.CreateToken(ctx, sys, nat.ID, "national tooling", 0)
	if err != nil {
		t.Fatal(err)
	}

	c := e.signIn("orgadmin@leeds.test")
	userURL := "/admin/users/" + nat.ID
	p := c.get(userURL)
	wantStatus(t, "national admin's page", p, 200)
	mustContain(t, "national admin's page", p.body, "Nadia National")
	mustNotContain(t, "national admin's page", p.body, "Disable this user", "Give a role", "grants/revoke", "national tooling", "/tokens/"+tok.ID)

	// Posted anyway: refused, and nothing changed.
	wantStatus(t, "disable", c.post(userURL+"/status", url.Values{"disabled": {"true"}}), http.StatusForbidden)
	wantStatus(t, "grant", c.post(userURL+"/grants", url.Values{"role": {"org-admin"}, "org": {"RR8"}}), http.StatusForbidden)
	wantStatus(t, "revoke", c.post(userURL+"/grants/revoke", url.Values{"role": {"org-analyst"}, "org": {"RR8"}}), http.StatusForbidden)
	wantStatus(t, "revoke token", c.post(userURL+"/tokens/"+tok.ID+"/revoke", nil), http.StatusNotFound)
	u, _ := e.auth.GetUser(ctx, sys, nat.ID)
	ts, _ := e.auth.ListTokens(ctx, sys, nat.ID)
	if u.Disabled || len(u.Grants) != 2 || len(ts) != 1 || ts[0].RevokedAt != "" {
		t.Errorf("after refused actions: %+v, tokens %+v", u, ts)
	}

	// The org-admin's forms offer no role above its own.
	for _, path := range []string{"/admin/users/new", "/admin/users/" + e.users["analyst@leeds.test"]} {
		p := c.get(path)
		wantStatus(t, path, p, 200)
		mustContain(t, path, p.body, `<option value="org-analyst"`, `<option value="org-admin"`)
		mustNotContain(t, path, p.body, `<option value="auditor"`, `<option value="region-lead"`, `<option value="national-admin"`, `<option value="national-analyst"`)
	}
	// Its own analyst: every action offered.
	p = c.get("/admin/users/" + e.users["analyst@leeds.test"])
	mustContain(t, "analyst's page", p.body, "Disable this user", "Give a role", "grants/revoke")
}

// TestPasswordFormsApplyThePolicy (issue 13 item 5): the new-user and
// change-password forms refuse guessable passwords next to the field.
func TestPasswordFormsApplyThePolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.signIn("orgadmin@leeds.test")
	p := c.post("/admin/users", url.Values{"email": {"nia@leeds.test"}, "name": {"Nia New"}, "org": {"RR8"}, "role": {"org-analyst"}, "password": {"Password1234"}, "password2": {"Password1234"}})
	wantStatus(t, "common password", p, http.StatusUnprocessableEntity)
	mustContain(t, "common password", p.body, `id="f-password-error"`, "commonly used password")
	p = c.post("/admin/users", url.Values{"email": {"nia@leeds.test"}, "name": {"Nia New"}, "org": {"RR8"}, "role": {"org-analyst"}, "password": {"nianew@leeds!"}, "password2": {"nianew@leeds!"}})
	mustContain(t, "own name", p.body, `id="f-password-error"`, "your name")

	a := e.signIn("analyst@leeds.test")
	p = a.post("/account/password", url.Values{"current": {password}, "password": {"Summer2025!!!"}, "password2": {"Summer2025!!!"}})
	wantStatus(t, "season password", p, http.StatusUnprocessableEntity)
	mustContain(t, "season password", p.body, `id="f-password-error"`, "season, month or year")
	wantStatus(t, "old password still works", e.client().signInAs("analyst@leeds.test", password, ""), http.StatusSeeOther)
}
