// Package oidctest runs a real OpenID Provider in-process for tests: the zitadel op package
// (github.com/zitadel/oidc/v3/pkg/op) over an in-memory store, on an httptest server, with one
// registered confidential client and a few users with groups. Nothing is mocked: discovery,
// keys, the authorisation endpoint, PKCE checks, the token endpoint and userinfo are the
// library's own.
//
// # Signing in without a human
//
// The provider sends the browser to its login page, GET {Issuer}/login?authRequestID=…, a plain
// HTML form (inputs #username and #password, button #sign-in, and #cancel which answers the
// client with error=access_denied). A test completes the login in one of three ways:
//
//   - Server.SignIn drives an http.Client (with a cookie jar, following redirects) through the
//     whole flow: GET the client's authorisation URL, POST username and password to the login
//     page, follow the redirects to the client's callback, and return the callback's response.
//   - Server.AutoLogin(username) makes the login page sign that user in at once, so following the
//     authorisation URL (http.Client.Get, or chromedp.Navigate) lands straight on the callback.
//   - A browser test fills the form: the login page is a form POST to {Issuer}/login with fields
//     authRequestID (hidden), username and password.
//
// A wrong password gets the form again with status 401. The provider refuses authorisation
// requests without PKCE S256, accepts any loopback http redirect URL unless Options.RedirectURLs
// pins exact ones, issues one-time codes, and puts email, name and groups in the ID token (or,
// with Options.ClaimsOnlyFromUserinfo, only in userinfo, like spec-strict providers).
package oidctest

import (
	"context"
	"crypto/rand"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/vigil-health/vigil/internal/auth/oidc"
)

const (
	loginPath      = "/login"
	paramRequestID = "authRequestID"
)

// User is an account at the test provider.
type User struct {
	Username string
	Password string // compared as is; "" is a valid (empty) password
	// Subject is the ID token's sub; empty means Username.
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// Options configure StartWith; the zero value is what Start uses.
type Options struct {
	Users []User
	// ClientID defaults to "vigil"; ClientSecret to a random string.
	ClientID     string
	ClientSecret string
	// RedirectURLs, if set, are the only redirect URLs accepted; empty accepts any
	// http://127.0.0.1:<port>/…, http://localhost:<port>/… or http://[::1]:<port>/… URL.
	RedirectURLs []string
	// GroupsClaim names the claim carrying the user's groups; empty means "groups".
	GroupsClaim string
	// ClaimsOnlyFromUserinfo keeps email, name and groups out of the ID token, so a client must
	// fetch them from the userinfo endpoint (OpenID Connect Core §5.4 read strictly).
	ClaimsOnlyFromUserinfo bool
	// IDTokenLifetime defaults to one hour; CodeLifetime (code to exchange) to one minute.
	IDTokenLifetime time.Duration
	CodeLifetime    time.Duration
}

// Server is a running test provider. Its fields are read-only.
type Server struct {
	// Issuer is the provider's issuer and base URL (http://127.0.0.1:port).
	Issuer string
	// ClientID and ClientSecret are the registered client's credentials.
	ClientID     string
	ClientSecret string
	// HTTP is the underlying server; Close stops it.
	HTTP *httptest.Server

	opts     Options
	storage  *storage
	provider *op.Provider
}

// Start starts a provider with the given users and default Options; it stops at the end of the
// test.
func Start(t testing.TB, users ...User) *Server {
	t.Helper()
	return StartWith(t, Options{Users: users})
}

// StartWith starts a provider configured by opts; it stops at the end of the test.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = "vigil"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "secret-" + rand.Text()
	}
	if opts.GroupsClaim == "" {
		opts.GroupsClaim = oidc.DefaultGroupsClaim
	}
	if opts.IDTokenLifetime == 0 {
		opts.IDTokenLifetime = time.Hour
	}
	if opts.CodeLifetime == 0 {
		opts.CodeLifetime = time.Minute
	}
	opts.RedirectURLs = slices.Clone(opts.RedirectURLs)

	st, err := newStorage(opts.ClientID, opts.ClientSecret, opts)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	var cryptoKey [32]byte // encrypts the opaque access tokens
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:      cryptoKey,
		CryptoKeyId:    "oidctest",
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, st, op.StaticIssuer(ts.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("oidctest: new provider: %v", err)
	}
	s := &Server{
		Issuer:       ts.URL,
		ClientID:     opts.ClientID,
		ClientSecret: opts.ClientSecret,
		HTTP:         ts,
		opts:         opts,
		storage:      st,
		provider:     provider,
	}
	// The login handlers build the provider's callback URL from the issuer in the request
	// context, which the interceptor puts there.
	issuer := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.Handle("GET "+loginPath, issuer.HandlerFunc(s.loginPage))
	mux.Handle("POST "+loginPath, issuer.HandlerFunc(s.loginSubmit))
	mux.Handle("/", provider)
	return s
}

// Close stops the server; it is also done at the end of the test.
func (s *Server) Close() { s.HTTP.Close() }

// Config returns a relying-party Config for the registered client with the given callback URL.
func (s *Server) Config(redirectURL string) oidc.Config {
	return oidc.Config{
		Issuer:       s.Issuer,
		ClientID:     s.ClientID,
		ClientSecret: s.ClientSecret,
		RedirectURL:  redirectURL,
		GroupsClaim:  s.opts.GroupsClaim,
	}
}

// AddUser adds or replaces (by Username) a user.
func (s *Server) AddUser(u User) { s.storage.addUser(u) }

// AutoLogin makes the login page sign username in without showing the form, until called again;
// "" restores the form.
func (s *Server) AutoLogin(username string) {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	s.storage.autoLogin = username
}

// SignIn runs the browser's part of a sign-in with c, which must follow redirects and should
// have a cookie jar: it GETs authURL (the client's authorisation URL), posts username and
// password to the login page it lands on, and returns the response at the end of the redirects —
// normally the client's callback. With wrong credentials that is the login page again, status
// 401. If authURL does not lead to the login page (AutoLogin, or an error), SignIn returns the
// response it led to instead. The caller closes the response body.
func (s *Server) SignIn(ctx context.Context, c *http.Client, authURL, username, password string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oidctest: sign in: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidctest: sign in: %w", err)
	}
	at := resp.Request.URL
	if resp.StatusCode != http.StatusOK || at.Path != loginPath || "http://"+at.Host != s.Issuer {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	form := url.Values{
		paramRequestID: {at.Query().Get(paramRequestID)},
		"username":     {username},
		"password":     {password},
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.Issuer+loginPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oidctest: sign in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidctest: sign in: %w", err)
	}
	return resp, nil
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(paramRequestID)
	s.storage.mu.Lock()
	auto := s.storage.autoLogin
	s.storage.mu.Unlock()
	if auto != "" {
		if err := s.storage.login(id, auto, "", false); err != nil {
			http.Error(w, "oidctest: auto login: "+err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(s.provider)(r.Context(), id), http.StatusFound)
		return
	}
	renderLogin(w, http.StatusOK, id, "", "")
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get(paramRequestID)
	if r.PostForm.Has("cancel") {
		req, err := s.storage.AuthRequestByID(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op.AuthRequestError(w, r, req, zoidc.ErrAccessDenied().WithDescription("the user cancelled the sign-in"), s.provider)
		return
	}
	username := r.PostForm.Get("username")
	if err := s.storage.login(id, username, r.PostForm.Get("password"), true); err != nil {
		renderLogin(w, http.StatusUnauthorized, id, username, err.Error())
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(s.provider)(r.Context(), id), http.StatusFound)
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in — oidctest</title></head>
<body>
<main>
<h1>Sign in</h1>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" value="{{.Username}}" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button id="sign-in" type="submit">Sign in</button> <button id="cancel" type="submit" name="cancel" value="1" formnovalidate>Cancel</button></p>
</form>
</main>
</body>
</html>
`))

func renderLogin(w http.ResponseWriter, status int, id, username, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginTemplate.Execute(w, struct{ ID, Username, Error string }{id, username, problem})
}
