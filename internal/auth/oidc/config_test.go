package oidc_test

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth/oidc"
)

const secret = "s3cr3t-do-not-print"

func validConfig() oidc.Config {
	return oidc.Config{
		Issuer:       "https://login.nhs.example/realms/vigil",
		ClientID:     "vigil",
		ClientSecret: secret,
		RedirectURL:  "https://vigil.nhs.example/auth/callback",
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	loopback := validConfig()
	loopback.Issuer, loopback.RedirectURL = "http://127.0.0.1:5556", "http://localhost:8080/auth/callback"
	if err := loopback.Validate(); err != nil {
		t.Errorf("http on loopback: %v", err)
	}

	tests := []struct {
		name   string
		change func(*oidc.Config)
		field  string // the FieldError.Field expected
		text   string // and a fragment of its message
	}{
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "Issuer", "required"},
		{"relative issuer", func(c *oidc.Config) { c.Issuer = "login.example" }, "Issuer", "absolute"},
		{"http issuer", func(c *oidc.Config) { c.Issuer = "http://login.example" }, "Issuer", "https"},
		{"ftp issuer", func(c *oidc.Config) { c.Issuer = "ftp://login.example" }, "Issuer", "https"},
		{"issuer with query", func(c *oidc.Config) { c.Issuer = "https://login.example?x=1" }, "Issuer", "query"},
		{"issuer with fragment", func(c *oidc.Config) { c.Issuer = "https://login.example#x" }, "Issuer", "fragment"},
		{"issuer with user", func(c *oidc.Config) { c.Issuer = "https://u:p@login.example" }, "Issuer", "user"},
		{"no client ID", func(c *oidc.Config) { c.ClientID = " " }, "ClientID", "required"},
		{"secret with newline", func(c *oidc.Config) { c.ClientSecret = secret + "\n" }, "ClientSecret", "white space"},
		{"no redirect", func(c *oidc.Config) { c.RedirectURL = "" }, "RedirectURL", "required"},
		{"http redirect", func(c *oidc.Config) { c.RedirectURL = "http://vigil.example/cb" }, "RedirectURL", "https"},
		{"redirect with fragment", func(c *oidc.Config) { c.RedirectURL = "https://vigil.example/cb#top" }, "RedirectURL", "fragment"},
		{"no openid scope", func(c *oidc.Config) { c.Scopes = []string{"profile"} }, "Scopes", `"openid"`},
		{"bad scope", func(c *oidc.Config) { c.Scopes = []string{"openid", "a b"} }, "Scopes", "white space"},
		{"groups claim spaces", func(c *oidc.Config) { c.GroupsClaim = " groups" }, "GroupsClaim", "white space"},
		{"role map no role", func(c *oidc.Config) { c.RoleMap = map[string]oidc.Grant{"g": {Org: "ENG"}} }, `RoleMap["g"]`, "role is empty"},
		{"role map no org", func(c *oidc.Config) { c.RoleMap = map[string]oidc.Grant{"g": {Role: "r"}} }, `RoleMap["g"]`, "organisation code is empty"},
		{"role map no group", func(c *oidc.Config) { c.RoleMap = map[string]oidc.Grant{"": {Role: "r", Org: "O"}} }, `RoleMap[""]`, "group is empty"},
		{"negative max age", func(c *oidc.Config) { c.StateMaxAge = -time.Second }, "StateMaxAge", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			var fe *oidc.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(err.Error(), tt.field+": ") || !strings.Contains(fe.Problem, tt.text) {
				t.Errorf("Validate() = %q (field %q), want field %q and %q", err, fe.Field, tt.field, tt.text)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Validate() prints the client secret: %v", err)
			}
		})
	}
}

// TestValidateReportsAll: one call names every bad field, so an operator fixes them in one go.
func TestValidateReportsAll(t *testing.T) {
	t.Parallel()
	err := oidc.Config{ClientSecret: " " + secret}.Validate()
	for _, field := range []string{"Issuer", "ClientID", "ClientSecret", "RedirectURL"} {
		if !strings.Contains(err.Error(), "oidc: "+field+": ") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error prints the client secret: %v", err)
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.RoleMap = map[string]oidc.Grant{"b": {Role: "org-admin", Org: "RJ1"}, "a": {Role: "national-analyst", Org: "ENG"}}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "oidc", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), log.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("secret printed: %s", s)
		}
		if !strings.Contains(s, "REDACTED") || !strings.Contains(s, "a=national-analyst@ENG,b=org-admin@RJ1") {
			t.Errorf("missing redaction or role map: %s", s)
		}
	}
}

func TestParseRoleMap(t *testing.T) {
	t.Parallel()
	got, err := oidc.ParseRoleMap(" vigil-national-analysts=national-analyst@ENG , rj1-admins = org-admin @ RJ1,cn=ops=org-analyst@RJ1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]oidc.Grant{
		"vigil-national-analysts": {Role: "national-analyst", Org: "ENG"},
		"rj1-admins":              {Role: "org-admin", Org: "RJ1"},
		"cn=ops":                  {Role: "org-analyst", Org: "RJ1"},
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// FormatRoleMap writes what ParseRoleMap reads.
	back, err := oidc.ParseRoleMap(oidc.FormatRoleMap(got))
	if err != nil || !maps.Equal(back, want) {
		t.Errorf("round trip: %v, %v", back, err)
	}
	for _, empty := range []string{"", "  "} {
		if m, err := oidc.ParseRoleMap(empty); err != nil || len(m) != 0 {
			t.Errorf("ParseRoleMap(%q) = %v, %v", empty, m, err)
		}
	}
}

func TestParseRoleMapErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"g1=r@O,g2", `entry 2 "g2": want "group=role@ORG"`},
		{"g1=r@O,g2=org-admin", `entry 2 "g2=org-admin": want "group=role@ORG": the grant has no "@ORG"`},
		{"g1=r@O,,g3=r@O", `entry 2 "": is empty`},
		{"g1=r@O,", `entry 2 "": is empty`},
		{"=r@O", `entry 1 "=r@O": the group is empty`},
		{"g=@O", `entry 1 "g=@O": the role is empty`},
		{"g=r@", `entry 1 "g=r@": the organisation code is empty`},
		{"g=r@O@P", `entry 1 "g=r@O@P": organisation code "O@P"`},
		{"g=a role@O", `entry 1 "g=a role@O": role "a role" contains white space`},
		{"g=r@O,g=s@P", `entry 2 "g=s@P": group "g" is already mapped to r@O`},
	}
	for _, tt := range tests {
		_, err := oidc.ParseRoleMap(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRoleMap(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}
