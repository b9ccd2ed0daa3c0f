package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/auth/oidc/oidctest"
)

// TestSingleSignOn signs in through a real in-process OpenID Provider.
func TestSingleSignOn(t *testing.T) {
	idp := oidctest.Start(t,
		oidctest.User{Username: "sam", Password: "sam-pw", Email: "sam@leeds.test", EmailVerified: true, Name: "Sam Single", Groups: []string{"leeds-analysts"}},
		oidctest.User{Username: "nora", Password: "nora-pw", Email: "nora@leeds.test", EmailVerified: true, Name: "Nora Norole", Groups: []string{"unmapped"}},
	)
	e := newEnv(t, envOptions{sso: func(base string, a *auth.Service) (*auth.SSO, string) {
		cfg := idp.Config(base + "/signin/callback")
		cfg.RoleMap = map[string]oidc.Grant{"leeds-analysts": {Role: "org-analyst", Org: "RR8"}}
		s, err := a.NewSSO(context.Background(), cfg)
		if err != nil {
			t.Fatalf("NewSSO: %v", err)
		}
		return s, "NHS Test Identity"
	}})

	c := e.client()
	p := c.get("/signin?next=/orgs")
	mustContain(t, "sign-in with SSO", p.body, "Sign in with NHS Test Identity", `href="/signin/sso?next=%2forgs"`)

	// signInSSO starts at Vigil, signs in at the provider with a browser
	// that shares c's cookies and follows redirects, and returns where it
	// ended.
	signInSSO := func(c *client, user, pw string) (*http.Response, string) {
		t.Helper()
		p := c.get("/signin/sso?next=/orgs")
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), idp.Issuer) {
			t.Fatalf("SSO begin: %d to %q", p.status, p.location())
		}
		browser := &http.Client{Jar: c.c.Jar}
		resp, err := idp.SignIn(context.Background(), browser, p.location(), user, pw)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		checkNoInline(t, resp.Request.URL.Path, string(b))
		return resp, string(b)
	}

	resp, body := signInSSO(c, "sam", "sam-pw")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/orgs" {
		t.Fatalf("after SSO: %d at %s\n%.2000s", resp.StatusCode, resp.Request.URL, body)
	}
	mustContain(t, "after SSO", body, "Leeds Teaching Hospitals NHS Trust", "Sam Single")
	mustNotContain(t, "after SSO", body, "Bradford")

	// A provider account with no Vigil role is told so.
	resp, body = signInSSO(e.client(), "nora", "nora-pw")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no Vigil role") {
		t.Errorf("SSO without a role: %d\n%.2000s", resp.StatusCode, body)
	}

	// A callback this browser did not start is refused, whatever it carries.
	p = e.client().get("/signin/callback?state=" + url.QueryEscape("made-up") + "&code=x")
	wantStatus(t, "foreign callback", p, http.StatusForbidden)
	mustContain(t, "foreign callback", p.body, "was not for this browser")
	// The provider refusing or the user cancelling.
	p = e.client().get("/signin/callback?error=access_denied&state=x")
	wantStatus(t, "cancelled", p, http.StatusUnauthorized)
	mustContain(t, "cancelled", p.body, "cancelled or refused by NHS Test Identity")
}
