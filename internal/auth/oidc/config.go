package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults filled in by New when the corresponding Config field is zero.
const (
	DefaultGroupsClaim = "groups"
	DefaultStateMaxAge = 10 * time.Minute
	// defaultHTTPTimeout bounds every call to the provider when Config.HTTPClient is nil:
	// http.DefaultClient has no timeout, and a hung IdP must not pin sign-in goroutines.
	defaultHTTPTimeout = 30 * time.Second
)

// defaultScopes are requested when Config.Scopes is empty. "groups" is not among them: several
// providers (Entra ID among them) reject scopes they do not know, so a deployment whose provider
// wants a "groups" scope adds it explicitly.
func defaultScopes() []string { return []string{"openid", "profile", "email"} }

// Config is the relying-party configuration of one OpenID Provider. It is plain data, so it can be
// filled from flags and VIGIL_* variables; New fills defaults and validates it.
type Config struct {
	// Issuer is the provider's issuer URL; discovery reads Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are Vigil's client registration at the provider. ClientSecret may be
	// empty for a public client (PKCE alone); it is never printed by String, LogValue or Validate.
	ClientID     string
	ClientSecret string
	// RedirectURL is Vigil's callback, exactly as registered at the provider.
	RedirectURL string
	// Scopes requested; empty means "openid", "profile" and "email". It must contain "openid".
	Scopes []string
	// GroupsClaim names the claim that lists the user's groups; empty means DefaultGroupsClaim.
	// A dotted name such as "realm_access.roles" reaches into nested objects when no claim has
	// the literal name (literal names win, because namespaced claims often contain dots).
	GroupsClaim string
	// RoleMap maps a group name from GroupsClaim to the Vigil role it grants; see ParseRoleMap.
	RoleMap map[string]Grant
	// StateMaxAge bounds the time between Begin and Finish; zero means DefaultStateMaxAge.
	StateMaxAge time.Duration
	// HTTPClient is used for discovery, keys, the token exchange and userinfo; nil means a client
	// with a 30 s timeout.
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now. Tests move it to check expiry without sleeping.
	Now func() time.Time
}

// FieldError is one invalid Config field. Validate returns these joined, one per problem.
type FieldError struct {
	Field   string // Config field name, e.g. "Issuer" or `RoleMap["analysts"]`
	Problem string // what is wrong and what to do about it
}

func (e *FieldError) Error() string { return "oidc: " + e.Field + ": " + e.Problem }

// Validate reports every invalid field of c, joined, each as a *FieldError naming the field. Zero
// values that New would default (Scopes, GroupsClaim, StateMaxAge) are valid. The error text never
// contains ClientSecret.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}

	if c.Issuer == "" {
		bad("Issuer", "is required (the provider's issuer URL, e.g. https://login.example.org)")
	} else if problem := checkURL(c.Issuer); problem != "" {
		bad("Issuer", "%q %s", c.Issuer, problem)
	} else if u, _ := url.Parse(c.Issuer); u.RawQuery != "" {
		// OpenID Connect Discovery 1.0 §2: the issuer has no query or fragment component.
		bad("Issuer", "%q must not have a query", c.Issuer)
	}

	if strings.TrimSpace(c.ClientID) == "" {
		bad("ClientID", "is required (the client ID registered at the provider)")
	}
	if c.ClientSecret != strings.TrimSpace(c.ClientSecret) {
		// A secret pasted from a file with its newline fails at the token endpoint with a
		// baffling invalid_client; say so here, without echoing it.
		bad("ClientSecret", "has leading or trailing white space")
	}

	if c.RedirectURL == "" {
		bad("RedirectURL", "is required (Vigil's callback URL, exactly as registered at the provider)")
	} else if problem := checkURL(c.RedirectURL); problem != "" {
		bad("RedirectURL", "%q %s", c.RedirectURL, problem)
	}

	if len(c.Scopes) > 0 {
		if !slices.Contains(c.Scopes, "openid") {
			bad("Scopes", "%q must include \"openid\"", c.Scopes)
		}
		for _, s := range c.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				bad("Scopes", "scope %q is empty or contains white space or quotes", s)
			}
		}
	}

	if c.GroupsClaim != strings.TrimSpace(c.GroupsClaim) {
		bad("GroupsClaim", "%q has leading or trailing white space", c.GroupsClaim)
	}

	for _, group := range slices.Sorted(maps.Keys(c.RoleMap)) {
		if problem := checkGrant(group, c.RoleMap[group]); problem != "" {
			bad(fmt.Sprintf("RoleMap[%q]", group), "%s", problem)
		}
	}

	if c.StateMaxAge < 0 {
		bad("StateMaxAge", "%v is negative", c.StateMaxAge)
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields defaulted; the caller's slices and maps are copied so
// later changes to them do not reach a running Provider.
func (c Config) withDefaults() Config {
	c.Scopes = slices.Clone(c.Scopes)
	if len(c.Scopes) == 0 {
		c.Scopes = defaultScopes()
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	c.RoleMap = maps.Clone(c.RoleMap)
	if c.StateMaxAge == 0 {
		c.StateMaxAge = DefaultStateMaxAge
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// String describes c for logs and error pages with ClientSecret redacted, so that printing a
// Config with %v or %+v cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("oidc.Config{Issuer:%q ClientID:%q ClientSecret:%s RedirectURL:%q Scopes:%q GroupsClaim:%q RoleMap:%s}",
		c.Issuer, c.ClientID, redact(c.ClientSecret), c.RedirectURL, c.Scopes, c.GroupsClaim, FormatRoleMap(c.RoleMap))
}

// GoString is String, so that %#v redacts ClientSecret too.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog print c with ClientSecret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redact(c.ClientSecret)),
		slog.String("redirect_url", c.RedirectURL),
		slog.Any("scopes", c.Scopes),
		slog.String("groups_claim", c.GroupsClaim),
		slog.String("role_map", FormatRoleMap(c.RoleMap)),
	)
}

func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return "REDACTED"
}

// checkURL returns what is wrong with an issuer or redirect URL, or "". Plain http is allowed only
// on loopback hosts, where tests and a single-machine trial run; anywhere else it would send codes
// and tokens in clear text.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL: " + err.Error()
	}
	if !u.IsAbs() || u.Host == "" {
		return "must be an absolute URL with a host"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not have a fragment" // RFC 6749 §3.1.2
	}
	if u.User != nil {
		return "must not contain user information"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return "must use https (http is allowed only for localhost)"
	default:
		return "must use https"
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
