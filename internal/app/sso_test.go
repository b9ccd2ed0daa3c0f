package app

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth/oidc/oidctest"
	"github.com/vigil-health/vigil/internal/config"
)

// TestSingleSignOnEndToEnd configures `vigil serve` as an operator would —
// issuer, client and role map in the settings — and signs in through a
// real OpenID provider: the user is created with the mapped role and lands
// on the home page signed in.
func TestSingleSignOnEndToEnd(t *testing.T) {
	idp := oidctest.Start(t, oidctest.User{Username: "sam", Password: "pw", Email: "sam@nhs.test", EmailVerified: true,
		Name: "Sam Soc", Groups: []string{"vigil-soc", "unrelated"}})
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = idp.Issuer, idp.ClientID, idp.ClientSecret
	cfg.OIDCRoleMap = "vigil-soc=national-analyst@ENG"
	cfg.OIDCName = "NHS test login"
	s, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, body := get(t, c, s.url("/signin"), "")
	if res.StatusCode != 200 || !strings.Contains(body, "NHS test login") {
		t.Fatalf("sign-in page lacks the single sign-on button: %d", res.StatusCode)
	}
	// The browser's part: /signin/sso → provider login → callback → home.
	res, err = idp.SignIn(context.Background(), c, s.url("/signin/sso"), "sam", "pw")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Host != s.Addr || !strings.Contains(string(b), "Sam Soc") {
		t.Fatalf("after single sign-on: %d at %s\n%.500s", res.StatusCode, res.Request.URL, b)
	}
	u, err := s.Auth.GetUser(context.Background(), systemScope(), "sam@nhs.test")
	if err != nil {
		t.Fatalf("user not provisioned: %v", err)
	}
	if len(u.Grants) != 1 || u.Grants[0].Role != "national-analyst" || u.Grants[0].Org != "ENG" {
		t.Errorf("grants = %+v, want national-analyst@ENG from the role map", u.Grants)
	}
}

func TestBadRoleMapStopsStartUp(t *testing.T) {
	idp := oidctest.Start(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.OIDCIssuer, cfg.OIDCClientID = idp.Issuer, idp.ClientID
	cfg.OIDCRoleMap = "nonsense"
	s, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard))
	if err == nil {
		s.Close()
		t.Fatal("started with a bad role map")
	}
	if !strings.Contains(err.Error(), "--oidc-role-map") {
		t.Errorf("error does not name the setting: %v", err)
	}
}
