package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

// CookieName is the session cookie's name. Under TLS it carries the
// __Host- prefix, which browsers accept only with Secure, Path=/ and no
// Domain, so a sibling host cannot plant or read it.
func CookieName(tls bool) string {
	if tls {
		return "__Host-vigil_session"
	}
	return "vigil_session"
}

// HTTPIdentifier resolves requests to Scopes for the HTTP server: an
// `Authorization: Bearer` API token first, then the session cookie.
type HTTPIdentifier struct {
	Auth *Service
	TLS  bool
}

// Identify implements httpd.Identifier.
func (h HTTPIdentifier) Identify(r *http.Request) (scope.Scope, string, bool) {
	remote := remoteIP(r)
	if a := r.Header.Get("Authorization"); a != "" {
		// The scheme is case-insensitive (RFC 9110 §11.1): "bearer" is Bearer too.
		scheme, tok, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return scope.Scope{}, "", false
		}
		sc, err := h.Auth.TokenScope(r.Context(), strings.TrimSpace(tok), remote)
		return sc, "", err == nil
	}
	c, err := r.Cookie(CookieName(h.TLS))
	if err != nil {
		return scope.Scope{}, "", false
	}
	sc, csrf, err := h.Auth.SessionScope(r.Context(), c.Value, remote)
	return sc, csrf, err == nil
}

// SetSessionCookie writes the session cookie: HttpOnly, SameSite=Lax (so
// the OIDC redirect back still carries it), Secure under TLS.
func SetSessionCookie(w http.ResponseWriter, se Session, tls bool) {
	http.SetCookie(w, &http.Cookie{Name: CookieName(tls), Value: se.Secret, Path: "/", HttpOnly: true, Secure: tls,
		SameSite: http.SameSiteLaxMode, Expires: se.Expires})
}

// ClearSessionCookie removes it.
func ClearSessionCookie(w http.ResponseWriter, tls bool) {
	http.SetCookie(w, &http.Cookie{Name: CookieName(tls), Value: "", Path: "/", HttpOnly: true, Secure: tls, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func remoteIP(r *http.Request) string {
	a := r.RemoteAddr
	if i := strings.LastIndexByte(a, ':'); i > 0 {
		a = a[:i]
	}
	return strings.Trim(a, "[]")
}

// SessionFromCookie returns the session secret of a request, if any.
func SessionFromCookie(r *http.Request, tls bool) string {
	if c, err := r.Cookie(CookieName(tls)); err == nil {
		return c.Value
	}
	return ""
}

// MachineIdentifier resolves requests of machine clients that cannot
// keep a session (TAXII clients): an `Authorization: Bearer` API token,
// or HTTP Basic with a user's e-mail and password, checked, throttled
// and audited as a sign-in is (Authenticate). Session cookies are not
// accepted, so a browser cannot be led to post on a user's behalf.
type MachineIdentifier struct {
	Auth *Service
	// Via names the channel in the caller's Scope ("taxii").
	Via string
	// OnThrottled, when set, is told of a Basic sign-in refused by the
	// throttle, with the wait, so the unauthenticated answer to the same
	// request can be a 429 with Retry-After rather than a 401.
	OnThrottled func(r *http.Request, wait time.Duration)
}

// Identify implements httpd.Identifier; the CSRF token is always "".
func (h MachineIdentifier) Identify(r *http.Request) (scope.Scope, string, bool) {
	remote := remoteIP(r)
	a := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(a, " ")
	if !ok {
		return scope.Scope{}, "", false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		sc, err := h.Auth.TokenScope(r.Context(), strings.TrimSpace(cred), remote)
		return sc, "", err == nil
	case strings.EqualFold(scheme, "Basic"):
		email, pw, ok := r.BasicAuth()
		if !ok || email == "" || pw == "" {
			return scope.Scope{}, "", false
		}
		id, err := h.Auth.Authenticate(r.Context(), email, pw, remote)
		if err != nil {
			var te *ThrottledError
			if h.OnThrottled != nil && errors.As(err, &te) {
				h.OnThrottled(r, te.Wait)
			}
			return scope.Scope{}, "", false
		}
		sc, err := h.Auth.ScopeFor(r.Context(), id, h.Via, remote)
		return sc, "", err == nil
	}
	return scope.Scope{}, "", false
}
