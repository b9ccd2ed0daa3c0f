package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// Issue 13, items 1, 2 and 5, reproduced through a real server exactly as
// reported: a trust admin (or a region lead) taking over a national admin
// homed in its organisation; an org-admin promoting itself; and password
// changes.

const nationalPW = "national admin passphrase"

// account creates a user through the services (as the system) and returns
// an API token for them.
func account(t *testing.T, s *Server, email string, role scope.Role, orgCode, password string) string {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: email, Name: strings.Split(email, "@")[0], Org: orgCode, Role: role, Password: password}); err != nil {
		t.Fatal(err)
	}
	_, tok, err := s.Auth.CreateToken(ctx, sys, email, "tooling", 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// homedNational makes a national admin whose home is orgCode (an analyst
// there first, then granted national-admin on ENG) and returns their token.
func homedNational(t *testing.T, s *Server, email, orgCode string) string {
	t.Helper()
	tok := account(t, s, email, scope.OrgAnalyst, orgCode, nationalPW)
	if _, err := s.Auth.Grant(context.Background(), scope.System("test"), email, scope.NationalAdmin, "ENG"); err != nil {
		t.Fatal(err)
	}
	return tok
}

func tokenID(secret string) string {
	return strings.SplitN(strings.TrimPrefix(secret, auth.TokenPrefix), ".", 2)[0]
}

type call struct {
	name, method, path, body string
	status                   int
	want                     string
}

func (c call) run(t *testing.T, s *Server, bearer string) string {
	t.Helper()
	res, body := do(t, c.method, s.url(c.path), bearer, c.body)
	if res.StatusCode != c.status || !strings.Contains(body, c.want) {
		t.Errorf("%s: %s %s = %d %s, want %d containing %q", c.name, c.method, c.path, res.StatusCode, body, c.status, c.want)
	}
	if res.StatusCode >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: %d answered as %q", c.name, res.StatusCode, res.Header.Get("Content-Type"))
	}
	return body
}

// takeover is every account action against victim; each must be refused.
func takeover(victim, victimTok string) []call {
	u := "/api/v1/users/" + victim
	return []call{
		{"token for the victim", "POST", "/api/v1/tokens", `{"user":"` + victim + `","name":"takeover"}`, 403, api.TypeForbidden},
		{"password reset", "PATCH", u, `{"password":"attacker chosen passphrase"}`, 403, api.TypeForbidden},
		{"disable", "PATCH", u, `{"disabled":true}`, 403, api.TypeForbidden},
		{"rename", "PATCH", u, `{"name":"Renamed"}`, 403, api.TypeForbidden},
		{"grant", "POST", u + "/grants", `{"role":"org-admin","org":"RJ1"}`, 403, api.TypeForbidden},
		{"revoke", "DELETE", u + "/grants?role=org-analyst&org=RJ1", ``, 403, api.TypeForbidden},
		{"list the victim's tokens", "GET", "/api/v1/tokens?user=" + victim, ``, 200, `{"items":[]}`},
		{"revoke the victim's token", "DELETE", "/api/v1/tokens/" + tokenID(victimTok), ``, 404, api.TypeNotFound},
	}
}

// stillNational checks that the victim kept everything.
func stillNational(t *testing.T, s *Server, email, tok string) {
	t.Helper()
	res, body := get(t, http.DefaultClient, s.url("/api/v1/me"), tok)
	if res.StatusCode != 200 || !strings.Contains(body, `"role":"national-admin"`) {
		t.Fatalf("the national admin's token after the attack: %d %s", res.StatusCode, body)
	}
	if _, err := s.Auth.Authenticate(context.Background(), email, nationalPW, "192.0.2.99"); err != nil {
		t.Errorf("the national admin's password after the attack: %v", err)
	}
	u, err := s.Auth.GetUser(context.Background(), scope.System("test"), email)
	if err != nil || u.Disabled || u.Name == "Renamed" || len(u.Grants) != 2 {
		t.Errorf("the national admin after the attack: %+v, %v", u, err)
	}
	ts, _ := s.Auth.ListTokens(context.Background(), scope.System("test"), email)
	if len(ts) != 1 || ts[0].RevokedAt != "" {
		t.Errorf("the national admin's tokens after the attack: %+v", ts)
	}
}

func TestTrustAdminCannotTakeOverNationalAdmin(t *testing.T) {
	engines(t, testTrustAdminCannotTakeOverNationalAdmin)
}

func testTrustAdminCannotTakeOverNationalAdmin(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s) // alice is RJ1's org-admin
	const victim = "natalie@rj1.nhs.test"
	victimTok := homedNational(t, s, victim, "RJ1")
	for _, c := range takeover(victim, victimTok) {
		body := c.run(t, s, f.aliceTok)
		if c.status == 403 && strings.Contains(body, "ENG") {
			t.Errorf("%s: the refusal names an organisation outside the caller's scope: %s", c.name, body)
		}
	}
	stillNational(t, s, victim, victimTok)

	// A region lead across its region: the national admin is homed at RJZ.
	leadTok := account(t, s, "lena@y56.nhs.test", scope.RegionLead, "Y56", "")
	const victim2 = "nigel@rjz.nhs.test"
	victim2Tok := homedNational(t, s, victim2, "RJZ")
	for _, c := range takeover(victim2, victim2Tok) {
		c.path = strings.ReplaceAll(c.path, "org=RJ1", "org=RJZ")
		c.body = strings.ReplaceAll(c.body, `"org":"RJ1"`, `"org":"RJZ"`)
		c.run(t, s, leadTok)
	}
	stillNational(t, s, victim2, victim2Tok)
}

func TestSelfPromotionRefused(t *testing.T) { engines(t, testSelfPromotionRefused) }

func testSelfPromotionRefused(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	alice := "/api/v1/users/" + f.alice.Email
	for _, c := range []call{
		// An ICB (or a region, or a supplier) under its own trust.
		{"ICB under own trust", "POST", "/api/v1/orgs", `{"ods":"QXX","name":"Shadow ICB","type":"icb","parent":"RJ1"}`, 400, `"field":"parent"`},
		{"region under own trust", "POST", "/api/v1/orgs", `{"ods":"YXX","name":"Shadow region","type":"region","parent":"RJ1"}`, 400, `"field":"parent"`},
		{"supplier under own trust", "POST", "/api/v1/orgs", `{"ods":"SUP-XX","name":"Shadow supplier","type":"supplier","parent":"RJ1"}`, 400, `"field":"parent"`},
		// …so there is nowhere to be region lead.
		{"region-lead on the shadow ICB", "POST", alice + "/grants", `{"role":"region-lead","org":"QXX"}`, 400, `"field":"org"`},
		// Auditor on its own trust: not a role it holds.
		{"itself auditor", "POST", alice + "/grants", `{"role":"auditor","org":"RJ1"}`, 403, "auditor"},
		{"a new auditor", "POST", "/api/v1/users", `{"email":"aud@rj1.nhs.test","name":"Aud","org":"RJ1","role":"auditor"}`, 403, "auditor"},
		// Region lead on a trust is an invalid combination.
		{"region-lead on own trust", "POST", alice + "/grants", `{"role":"region-lead","org":"RJ1"}`, 400, `"field":"org"`},
	} {
		c.run(t, s, f.aliceTok)
	}
	// An org-admin of an ICB cannot make itself its region lead either.
	carolTok := account(t, s, "carol@qkk.nhs.test", scope.OrgAdmin, "QKK", "")
	call{"ICB admin: itself region-lead", "POST", "/api/v1/users/carol@qkk.nhs.test/grants", `{"role":"region-lead","org":"QKK"}`, 403, "region-lead"}.run(t, s, carolTok)
	// A region lead creates no ICB: that is national structure.
	leadTok := account(t, s, "lena@y56.nhs.test", scope.RegionLead, "Y56", "")
	call{"region lead: an ICB", "POST", "/api/v1/orgs", `{"ods":"QXY","name":"New ICB","type":"icb","parent":"Y56"}`, 403, api.TypeForbidden}.run(t, s, leadTok)

	for _, tok := range []string{f.aliceTok, carolTok} {
		_, body := get(t, http.DefaultClient, s.url("/api/v1/me"), tok)
		if strings.Contains(body, "region-lead") || strings.Contains(body, "auditor") {
			t.Errorf("a refused self-promotion stuck: %s", body)
		}
	}
	for _, code := range []string{"QXX", "YXX", "SUP-XX", "QXY"} {
		if _, err := s.Orgs.Lookup(context.Background(), code); err == nil {
			t.Errorf("refused organisation %s exists", code)
		}
	}
}

// TestOrgAdminManagesItsAnalystsOverAPI: the rule leaves a trust admin's
// legitimate work alone; and an admin reset revokes the user's tokens.
func TestOrgAdminManagesItsAnalystsOverAPI(t *testing.T) {
	engines(t, testOrgAdminManagesItsAnalystsOverAPI)
}

func testOrgAdminManagesItsAnalystsOverAPI(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	f := newFixture(t, s)
	anaTok := account(t, s, "ana@rj1.nhs.test", scope.OrgAnalyst, "RJ1", "saffron lantern evening")
	u := "/api/v1/users/ana@rj1.nhs.test"
	for _, c := range []call{
		{"token for the analyst", "POST", "/api/v1/tokens", `{"user":"ana@rj1.nhs.test","name":"reporting"}`, 201, `"token":"vigil_`},
		{"rename", "PATCH", u, `{"name":"Ana Analyst"}`, 200, `"name":"Ana Analyst"`},
		{"grant", "POST", u + "/grants", `{"role":"org-admin","org":"RJ1"}`, 200, `"org-admin"`},
		{"revoke", "DELETE", u + "/grants?role=org-admin&org=RJ1", ``, 200, `"org-analyst"`},
		{"disable", "PATCH", u, `{"disabled":true}`, 200, `"disabled":true`},
		{"enable", "PATCH", u, `{"disabled":false}`, 200, `"disabled":false`},
		{"list the analyst's tokens", "GET", "/api/v1/tokens?user=ana@rj1.nhs.test", ``, 200, `"reporting"`},
		{"a weak password", "PATCH", u, `{"password":"Password1234"}`, 400, `"field":"password"`},
		{"password reset", "PATCH", u, `{"password":"copper kettle morning"}`, 200, `"has_password":true`},
	} {
		c.run(t, s, f.aliceTok)
	}
	// The reset revoked every token the analyst had.
	if res, _ := get(t, http.DefaultClient, s.url("/api/v1/me"), anaTok); res.StatusCode != 401 {
		t.Errorf("the analyst's token after an admin reset: %d, want 401", res.StatusCode)
	}
	_, body := get(t, http.DefaultClient, s.url("/api/v1/tokens?user=ana@rj1.nhs.test"), f.aliceTok)
	var list struct{ Items []auth.Token }
	json.Unmarshal([]byte(body), &list)
	if len(list.Items) != 2 || list.Items[0].RevokedAt == "" || list.Items[1].RevokedAt == "" {
		t.Errorf("tokens after the reset: %s", body)
	}
	if _, err := s.Auth.Authenticate(context.Background(), "ana@rj1.nhs.test", "copper kettle morning", "192.0.2.5"); err != nil {
		t.Errorf("the reset password: %v", err)
	}
}

// TestOwnPasswordChangeOverAPI: a token (or session) alone cannot change
// its owner's password; the current password is needed.
func TestOwnPasswordChangeOverAPI(t *testing.T) { engines(t, testOwnPasswordChangeOverAPI) }

func testOwnPasswordChangeOverAPI(t *testing.T, start func(testing.TB) *Server) {
	s := start(t)
	newFixture(t, s)
	const old = "saffron lantern evening"
	tok := account(t, s, "dan@rj1.nhs.test", scope.OrgAnalyst, "RJ1", old)
	u := "/api/v1/users/dan@rj1.nhs.test"
	for _, c := range []call{
		{"without the current password", "PATCH", u, `{"password":"copper kettle morning"}`, 400, `"field":"current_password"`},
		{"with a wrong current password", "PATCH", u, `{"password":"copper kettle morning","current_password":"a wrong guess here"}`, 400, `"field":"current_password"`},
		{"with the right one but a weak new one", "PATCH", u, `{"password":"dan@rj1.nhs.test","current_password":"` + old + `"}`, 400, `"field":"password"`},
	} {
		c.run(t, s, tok)
	}
	if _, err := s.Auth.Authenticate(context.Background(), "dan@rj1.nhs.test", old, "192.0.2.6"); err != nil {
		t.Fatalf("refused changes changed the password: %v", err)
	}
	call{"with the right current password", "PATCH", u, `{"password":"copper kettle morning","current_password":"` + old + `"}`, 200, `"has_password":true`}.run(t, s, tok)
	if _, err := s.Auth.Authenticate(context.Background(), "dan@rj1.nhs.test", "copper kettle morning", "192.0.2.6"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	// One's own change keeps one's tokens.
	if res, _ := get(t, http.DefaultClient, s.url("/api/v1/me"), tok); res.StatusCode != 200 {
		t.Errorf("own token after own password change: %d", res.StatusCode)
	}
}

// TestInitialAdminPasswordPassesPolicy: the random password of a new
// install's first administrator always passes the password check.
func TestInitialAdminPasswordPassesPolicy(t *testing.T) {
	for range 2000 {
		pw := randomPassword()
		if err := auth.ValidatePassword(pw, "admin@vigil.local", "Vigil administrator"); err != nil {
			t.Fatalf("initial admin password %q: %v", pw, err)
		}
	}
}
