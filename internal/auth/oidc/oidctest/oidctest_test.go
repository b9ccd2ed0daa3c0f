package oidctest_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/auth/oidc/oidctest"
)

func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// TestLoginPage checks the form a browser test fills in: labelled fields with stable IDs.
func TestLoginPage(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.User{Username: "u", Password: "p"})
	p, err := oidc.New(t.Context(), idp.Config("http://127.0.0.1:1/cb"))
	if err != nil {
		t.Fatal(err)
	}
	authURL, _, err := p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser(t).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{`<label for="username">`, `id="username"`, `<label for="password">`, `id="password"`, `id="sign-in"`, `id="cancel"`, `name="authRequestID"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

// TestRedirectURLsPinned: with RedirectURLs set, other loopback callbacks are refused.
func TestRedirectURLsPinned(t *testing.T) {
	t.Parallel()
	idp := oidctest.StartWith(t, oidctest.Options{RedirectURLs: []string{"http://127.0.0.1:1/registered"}})
	for redirect, wantLogin := range map[string]bool{
		"http://127.0.0.1:1/registered": true,
		"http://127.0.0.1:1/other":      false,
	} {
		p, err := oidc.New(t.Context(), idp.Config(redirect))
		if err != nil {
			t.Fatal(err)
		}
		authURL, _, err := p.Begin()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := browser(t).Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if gotLogin := resp.Request.URL.Path == "/login"; gotLogin != wantLogin {
			t.Errorf("redirect %s: reached the login page = %v, want %v (status %d)", redirect, gotLogin, wantLogin, resp.StatusCode)
		}
	}
}
