package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

type signInData struct {
	Form    *form
	Next    string
	Message string
	// Problem is a message about the attempt as a whole (throttled,
	// disabled, single sign-on failed), shown in the error summary.
	Problem string
	Token   string
	SSO     bool
	SSOName string
}

// signInCookie holds the sign-in form's CSRF token. There is no session
// yet to bind a token to, so the form echoes the cookie (double submit): a
// page on another site can make a browser post the form but can neither
// read the cookie nor set it (SameSite=Strict, and __Host- under TLS, so a
// sibling host cannot plant one either). This stops login CSRF, where an
// attacker signs a victim into the attacker's account.
func (w *Web) signInCookie() string {
	if w.o.TLS {
		return "__Host-vigil_signin"
	}
	return "vigil_signin"
}

// ssoStateCookie binds a single sign-on attempt to the browser that began
// it, so a callback URL made by someone else is refused.
func (w *Web) ssoStateCookie() string {
	if w.o.TLS {
		return "__Host-vigil_sso"
	}
	return "vigil_sso"
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// signInToken returns the browser's sign-in CSRF token, issuing one if it
// has none.
func (w *Web) signInToken(rw http.ResponseWriter, r *http.Request, fresh bool) string {
	if c, err := r.Cookie(w.signInCookie()); err == nil && len(c.Value) == 48 && !fresh {
		return c.Value
	}
	tok := randomToken()
	http.SetCookie(rw, &http.Cookie{Name: w.signInCookie(), Value: tok, Path: "/", MaxAge: 12 * 3600, HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteStrictMode})
	return tok
}

// toSignIn answers a signed-out browser on an authenticated page: back to
// the page after signing in, for pages one can return to.
func (w *Web) toSignIn(rw http.ResponseWriter, r *http.Request) {
	target := "/signin"
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(rw, r, target, http.StatusSeeOther)
}

func (w *Web) renderSignIn(rw http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.SSO, d.SSOName = w.o.SSO != nil, w.o.SSOName
	v := &view{Title: "Sign in", Version: w.o.Version, D: d}
	if w.o.Demo != nil {
		v.Demo = w.o.Demo(r.Context())
	}
	w.render(rw, r, status, "signin", v)
}

func (w *Web) signInForm(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	q := r.URL.Query()
	next := safeNext(q.Get("next"))
	// Already signed in: go straight on.
	if sec := auth.SessionFromCookie(r, w.o.TLS); sec != "" {
		if _, _, err := w.o.Auth.SessionScope(r.Context(), sec, remote(r)); err == nil {
			http.Redirect(rw, r, next, http.StatusSeeOther)
			return
		}
	}
	d := signInData{Form: &form{Values: map[string]string{}, Errors: map[string]string{}}, Next: next, Token: w.signInToken(rw, r, false)}
	switch {
	case q.Has("signedout"):
		d.Message = "You have signed out."
	case q.Get("next") != "":
		d.Message = "Sign in to continue."
	}
	w.renderSignIn(rw, r, http.StatusOK, d)
}

func (w *Web) signIn(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.errorPage(rw, r, nil, http.StatusBadRequest, "")
		return
	}
	f := newForm(r, "email")
	d := signInData{Form: f, Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(w.signInCookie())
	got := r.PostFormValue("csrf")
	// Sec-Fetch-Site is set by every current browser and cannot be forged
	// by a page: a cross-site post is refused even before the token check.
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		w.log.Warn("sign-in csrf check failed", "request_id", httpd.RequestID(r.Context()), "remote", remote(r))
		d.Token = w.signInToken(rw, r, true)
		d.Problem = "The sign-in form had expired or did not come from Vigil. Enter your details again."
		w.renderSignIn(rw, r, http.StatusForbidden, d)
		return
	}
	d.Token = c.Value
	password := r.PostFormValue("password")
	if f.V("email") == "" {
		f.Set("email", "Enter your e-mail address")
	}
	if password == "" {
		f.Set("password", "Enter your password")
	}
	if !f.OK() {
		w.renderSignIn(rw, r, http.StatusUnprocessableEntity, d)
		return
	}
	in, err := w.o.Auth.SignIn(r.Context(), auth.SignInAttempt{Email: f.V("email"), Password: password, Remote: remote(r),
		Device: auth.DeviceFromCookie(r, w.o.TLS)})
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		d.Problem = "E-mail address or password not recognised. Check them and try again."
		w.renderSignIn(rw, r, http.StatusUnauthorized, d)
		return
	case errors.Is(err, auth.ErrBusy):
		d.Problem = "Vigil is busy signing other people in. Wait a few seconds, then try again."
		w.renderSignIn(rw, r, http.StatusTooManyRequests, d)
		return
	case errors.Is(err, auth.ErrThrottled):
		d.Problem = "Too many sign-in attempts for this account or from this network. Wait a minute, then try again."
		w.renderSignIn(rw, r, http.StatusTooManyRequests, d)
		return
	case errors.Is(err, auth.ErrDisabled):
		d.Problem = "This account is disabled. Ask your organisation's Vigil administrator to enable it."
		w.renderSignIn(rw, r, http.StatusForbidden, d)
		return
	case err != nil:
		w.serverError(rw, r, nil, err)
		return
	}
	if in.Device != "" {
		// This browser is now trusted for the account: someone else's
		// failures on it will not lock it out (auth/throttle.go).
		auth.SetDeviceCookie(rw, in.Device, w.o.Auth.DeviceTTL(), w.o.TLS)
	}
	w.startSession(rw, r, in.UserID, d.Next)
}

func (w *Web) startSession(rw http.ResponseWriter, r *http.Request, userID, next string) {
	se, err := w.o.Auth.StartSession(r.Context(), userID, remote(r), r.UserAgent())
	if err != nil {
		w.serverError(rw, r, nil, err)
		return
	}
	auth.SetSessionCookie(rw, se, w.o.TLS)
	http.SetCookie(rw, &http.Cookie{Name: w.signInCookie(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(rw, r, safeNext(next), http.StatusSeeOther)
}

func (w *Web) signOut(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if sec := auth.SessionFromCookie(r, w.o.TLS); sec != "" {
		if err := w.o.Auth.EndSession(r.Context(), sc, sec); err != nil {
			w.serverError(rw, r, &sc, err)
			return
		}
	}
	auth.ClearSessionCookie(rw, w.o.TLS)
	// The current organisation is forgotten too: screens are shared.
	http.SetCookie(rw, &http.Cookie{Name: w.currentOrgCookie(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteLaxMode})
	http.Redirect(rw, r, "/signin?signedout=1", http.StatusSeeOther)
}

func (w *Web) ssoBegin(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	next := safeNext(r.URL.Query().Get("next"))
	u, err := w.o.SSO.Begin(r.Context(), next)
	var state string
	if err == nil {
		if pu, perr := url.Parse(u); perr == nil {
			state = pu.Query().Get("state")
		}
	}
	if err != nil || state == "" {
		w.log.Error("single sign-on begin", "request_id", httpd.RequestID(r.Context()), "err", err)
		w.renderSignIn(rw, r, http.StatusBadGateway, signInData{Next: next, Token: w.signInToken(rw, r, false),
			Problem: "Single sign-on is not available at the moment. Try again in a few minutes, or sign in with your e-mail address and password."})
		return
	}
	// Lax, not Strict: the provider sends the browser back with a
	// top-level navigation from its own site.
	http.SetCookie(rw, &http.Cookie{Name: w.ssoStateCookie(), Value: state, Path: "/", MaxAge: 600, HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteLaxMode})
	http.Redirect(rw, r, u, http.StatusSeeOther)
}

func (w *Web) ssoCallback(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	q := r.URL.Query()
	http.SetCookie(rw, &http.Cookie{Name: w.ssoStateCookie(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteLaxMode})
	fail := func(status int, msg string) {
		w.renderSignIn(rw, r, status, signInData{Next: "/", Token: w.signInToken(rw, r, false), Problem: msg})
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, "Single sign-on was cancelled or refused by "+w.o.SSOName+". Try again, or sign in with your e-mail address and password.")
		return
	}
	c, err := r.Cookie(w.ssoStateCookie())
	state := q.Get("state")
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		fail(http.StatusForbidden, "This single sign-on reply was not for this browser, or took too long. Start again.")
		return
	}
	userID, returnTo, err := w.o.SSO.Finish(r.Context(), state, q.Get("code"), remote(r))
	if errors.Is(err, auth.ErrNoRole) {
		fail(http.StatusForbidden, sentence(err.Error())+".")
		return
	}
	if err != nil {
		w.log.Warn("single sign-on finish", "request_id", httpd.RequestID(r.Context()), "err", err)
		fail(http.StatusUnauthorized, "Single sign-on did not complete. Start again; if it keeps failing, tell your service desk.")
		return
	}
	u, err := w.o.Auth.GetUser(r.Context(), scope.System("web"), userID)
	if err != nil {
		w.serverError(rw, r, nil, err)
		return
	}
	if u.Disabled {
		fail(http.StatusForbidden, "This account is disabled. Ask your organisation's Vigil administrator to enable it.")
		return
	}
	w.startSession(rw, r, userID, strings.TrimSpace(returnTo))
}
