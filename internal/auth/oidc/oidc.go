// Package oidc is the relying-party side of Vigil sign-in through an OpenID Provider: the
// authorisation code flow with PKCE (RFC 7636, S256) and a nonce, as OpenID Connect Core 1.0 §3.1
// describes it.
//
// A sign-in is two calls around a browser round trip:
//
//	url, st, err := p.Begin()            // keep st (signed, short-lived cookie or row), redirect to url
//	...                                  // the user signs in at the provider, which redirects back
//	id, err := p.Finish(ctx, st, r.FormValue("state"), r.FormValue("code"))
//
// Finish checks the state, exchanges the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry, nonce) and returns an Identity whose Grants come from the
// configured role map. The web layer turns the Identity into a session; the auth package turns
// Grants into a scope.Scope.
//
// Discovery and token verification are done by github.com/coreos/go-oidc; the code exchange by
// golang.org/x/oauth2. Package oidctest runs a real OpenID Provider in-process for tests.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Errors that callers branch on. Finish wraps them with detail; test with errors.Is.
var (
	// ErrStateMismatch means the state returned by the provider is not the one Begin issued for
	// this browser: a forged or cross-site callback (RFC 6749 §10.12), or a stale tab.
	ErrStateMismatch = errors.New("oidc: sign-in state does not match")
	// ErrStateExpired means more than Config.StateMaxAge passed between Begin and Finish.
	ErrStateExpired = errors.New("oidc: sign-in took too long; start again")
	// ErrStateIncomplete means the stored State lacks its nonce or PKCE verifier, so the web layer
	// lost part of it; Finish refuses rather than exchange the code without PKCE.
	ErrStateIncomplete = errors.New("oidc: stored sign-in state is incomplete")
	// ErrMissingCode means the callback carried no authorisation code.
	ErrMissingCode = errors.New("oidc: callback has no authorisation code")
	// ErrProvider means the provider answered the callback with an OAuth error (RFC 6749 §4.1.2.1),
	// e.g. the user cancelled; see CallbackError.
	ErrProvider = errors.New("oidc: provider refused the sign-in")
	// ErrExchange means the token endpoint refused the code: unknown, expired, replayed, issued
	// to another client or redirect URL, or a PKCE verifier that does not match.
	ErrExchange = errors.New("oidc: code exchange failed")
	// ErrNoIDToken means the token response had no id_token (the "openid" scope was dropped).
	ErrNoIDToken = errors.New("oidc: token response has no ID token")
	// ErrIDToken means the ID token failed verification: signature, issuer, audience, expiry,
	// subject or access-token hash.
	ErrIDToken = errors.New("oidc: ID token is invalid")
	// ErrNonceMismatch means the ID token's nonce is not the one Begin issued: a token minted for
	// another sign-in was injected (OpenID Connect Core §15.5.2).
	ErrNonceMismatch = errors.New("oidc: ID token nonce does not match")
	// ErrUserInfo means the userinfo endpoint failed or answered for another subject.
	ErrUserInfo = errors.New("oidc: userinfo request failed")
	// ErrClaims means a claim has a type Vigil cannot read, typically a GroupsClaim that names an
	// object rather than a list of strings.
	ErrClaims = errors.New("oidc: unreadable claim")
)

// State is what Begin creates and Finish needs: the web layer keeps it between the two, bound to
// the browser and short-lived. Nonce and Verifier are secrets of this sign-in, so keep State in a
// server-side row or an encrypted cookie, and never log it (LogValue hides them).
type State struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Created  time.Time `json:"created"`
}

// LogValue makes slog print only when the sign-in began, never its secrets.
func (s State) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("created", s.Created))
}

// Identity is the signed-in user as the provider asserted it. Subject is unique only within
// Issuer, so a user is keyed by both.
type Identity struct {
	Issuer        string   `json:"iss"`
	Subject       string   `json:"sub"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	// Grants are the RoleMap entries of Groups, in group order, without duplicates; groups
	// absent from RoleMap grant nothing.
	Grants []Grant `json:"grants,omitempty"`
}

// Provider is one discovered OpenID Provider and Vigil's client registration there. It is safe
// for concurrent use and holds no per-sign-in state.
type Provider struct {
	cfg      Config
	rp       *gooidc.Provider
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// New fills cfg's defaults, validates it and fetches the provider's discovery document (which
// must name cfg.Issuer exactly). It fails if the provider declares PKCE methods without S256.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx = gooidc.ClientContext(ctx, cfg.HTTPClient)
	rp, err := gooidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		PKCEMethods []string `json:"code_challenge_methods_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := rp.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", cfg.Issuer, err)
	}
	// Absent means "not declared", which many providers that do support S256 leave out; a list
	// without S256 is a provider that will ignore Vigil's code_challenge.
	if meta.PKCEMethods != nil && !slices.Contains(meta.PKCEMethods, "S256") {
		return nil, fmt.Errorf("oidc: provider %s does not support PKCE with S256 (code_challenge_methods_supported: %q)", cfg.Issuer, meta.PKCEMethods)
	}
	endpoint := rp.Endpoint()
	endpoint.AuthStyle = authStyle(meta.AuthMethods, cfg.ClientSecret)
	return &Provider{
		cfg: cfg,
		rp:  rp,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       cfg.Scopes,
		},
		verifier: rp.Verifier(&gooidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
	}, nil
}

// authStyle picks how the client authenticates at the token endpoint from the methods the
// provider declares. oauth2's auto-detection would instead retry every refused exchange the
// other way, doubling each failure in the provider's logs.
func authStyle(methods []string, secret string) oauth2.AuthStyle {
	switch {
	case secret == "":
		return oauth2.AuthStyleInParams // a public client sends only client_id
	case methods == nil || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader // the default when undeclared (Discovery §3)
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}

// Begin starts a sign-in: it returns the provider URL to redirect the browser to and the State
// to keep until Finish. The URL carries the state, the nonce and the S256 PKCE challenge.
func (p *Provider) Begin() (authURL string, st State, err error) {
	state, err := randomToken()
	if err != nil {
		return "", State{}, err
	}
	nonce, err := randomToken()
	if err != nil {
		return "", State{}, err
	}
	st = State{State: state, Nonce: nonce, Verifier: oauth2.GenerateVerifier(), Created: p.cfg.Now()}
	authURL = p.oauth.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), gooidc.Nonce(st.Nonce))
	return authURL, st, nil
}

// Finish completes a sign-in from the callback's state and code, using the State that Begin
// returned for this browser. Every failure wraps one of the package's sentinel errors.
func (p *Provider) Finish(ctx context.Context, st State, gotState, code string) (Identity, error) {
	// Constant time, and an empty stored state never matches: a browser without a State must
	// not be able to complete someone else's sign-in by sending an empty state.
	if st.State == "" || subtle.ConstantTimeCompare([]byte(st.State), []byte(gotState)) != 1 {
		return Identity{}, ErrStateMismatch
	}
	if age := p.cfg.Now().Sub(st.Created); st.Created.IsZero() || age > p.cfg.StateMaxAge || age < -time.Minute {
		return Identity{}, fmt.Errorf("%w (began %s ago, limit %s)", ErrStateExpired, age.Round(time.Second), p.cfg.StateMaxAge)
	}
	if st.Nonce == "" || st.Verifier == "" {
		return Identity{}, ErrStateIncomplete
	}
	if code == "" {
		return Identity{}, ErrMissingCode
	}

	ctx = gooidc.ClientContext(ctx, p.cfg.HTTPClient)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrExchange, err)
	}
	rawIDToken, ok := tok.Extra("id_token").(string)
	if !ok || rawIDToken == "" {
		return Identity{}, ErrNoIDToken
	}
	idt, err := p.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrIDToken)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return Identity{}, ErrNonceMismatch
	}
	// at_hash is optional in the code flow (Core §3.1.3.6) but, when present, binds the access
	// token that the userinfo request below presents to this ID token.
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrIDToken, err)
		}
	}

	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	haveGroups, err := p.readClaims(&id, claims)
	if err != nil {
		return Identity{}, err
	}
	// Spec-strict providers put profile and email claims only in userinfo when they issue an
	// access token (Core §5.4), and many put groups only there; ask for what is missing.
	if (id.Email == "" || id.Name == "" || !haveGroups) && p.rp.UserInfoEndpoint() != "" {
		if err := p.fillFromUserInfo(ctx, &id, tok); err != nil {
			return Identity{}, err
		}
	}
	id.Grants = p.grants(id.Groups)
	return id, nil
}

// CallbackError returns the provider's OAuth error from a callback's query (RFC 6749 §4.1.2.1),
// wrapping ErrProvider, or nil if the callback carries none. The web layer calls it before
// Finish, so that "access_denied" reads as a cancelled sign-in rather than a missing code.
func CallbackError(query url.Values) error {
	code := query.Get("error")
	if code == "" {
		return nil
	}
	if desc := query.Get("error_description"); desc != "" {
		return fmt.Errorf("%w: %s: %s", ErrProvider, code, desc)
	}
	return fmt.Errorf("%w: %s", ErrProvider, code)
}

// fillFromUserInfo fills the fields of id that the ID token left empty from the userinfo endpoint.
func (p *Provider) fillFromUserInfo(ctx context.Context, id *Identity, tok *oauth2.Token) error {
	ui, err := p.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	// Core §5.3.2: the userinfo sub must be verified to match the ID token's, or a substituted
	// response could graft another user's claims onto this sign-in.
	if ui.Subject != id.Subject {
		return fmt.Errorf("%w: it answered for subject %q, not %q", ErrUserInfo, ui.Subject, id.Subject)
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		return fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	var fromUI Identity
	haveGroups, err := p.readClaims(&fromUI, claims)
	if err != nil {
		return err
	}
	if id.Email == "" {
		id.Email, id.EmailVerified = fromUI.Email, fromUI.EmailVerified
	}
	if id.Name == "" {
		id.Name = fromUI.Name
	}
	if id.Groups == nil && haveGroups {
		id.Groups = fromUI.Groups
	}
	return nil
}

// readClaims copies the standard claims Vigil uses and the groups claim into id, reporting
// whether the groups claim was present at all (an empty list is an answer; absence is not).
func (p *Provider) readClaims(id *Identity, claims map[string]any) (haveGroups bool, err error) {
	id.Email, _ = claims["email"].(string)
	id.EmailVerified = claimBool(claims["email_verified"])
	id.Name, _ = claims["name"].(string)
	if id.Name == "" {
		given, _ := claims["given_name"].(string)
		family, _ := claims["family_name"].(string)
		id.Name = strings.TrimSpace(given + " " + family)
	}
	raw, ok := lookupClaim(claims, p.cfg.GroupsClaim)
	if !ok || raw == nil {
		return false, nil
	}
	groups, err := stringList(raw)
	if err != nil {
		return false, fmt.Errorf("%w: %q: %w", ErrClaims, p.cfg.GroupsClaim, err)
	}
	id.Groups = groups
	return true, nil
}

// grants resolves groups through the role map, keeping group order and dropping duplicates.
func (p *Provider) grants(groups []string) []Grant {
	var out []Grant
	for _, g := range groups {
		if grant, ok := p.cfg.RoleMap[g]; ok && !slices.Contains(out, grant) {
			out = append(out, grant)
		}
	}
	return out
}

// lookupClaim finds name literally first, then as a dotted path into nested objects.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil, false
	}
	var cur any = claims
	for _, part := range parts {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// stringList reads a claim that should list strings; a lone string is a one-element list, which
// is how some providers send a user with exactly one group.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is a %s, want a string", i, jsonType(e))
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("is a %s, want a list of strings", jsonType(v))
	}
}

// claimBool reads a boolean claim; some providers (AWS Cognito) send "true" as a string.
func claimBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "JSON object"
	case []any:
		return "JSON array"
	case string:
		return "JSON string"
	case float64, json.Number:
		return "JSON number"
	case bool:
		return "JSON boolean"
	case nil:
		return "JSON null"
	}
	return fmt.Sprintf("%T", v)
}

// randomToken returns 256 random bits, base64url-encoded, for state and nonce: unguessable
// (RFC 6749 §10.10) and safe in a URL without escaping.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oidc: random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
