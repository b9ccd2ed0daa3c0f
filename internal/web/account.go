package web

import (
	"errors"
	"net/http"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

type accountData struct {
	U        auth.User
	HomeName string
	Grants   []grantView
	Tokens   []auth.Token
	PwForm   *form
	TokForm  *form
	// NewSecret is the secret of a token just created: shown on this one
	// response and never again.
	NewSecret string
	NewToken  auth.Token
	Message   string
	Expiries  []expiryOption
}

type expiryOption struct{ Value, Label string }

var expiries = []expiryOption{{"30d", "30 days"}, {"90d", "90 days"}, {"365d", "1 year"}, {"never", "Never (not recommended)"}}

func (w *Web) renderAccount(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, d accountData) {
	ctx := r.Context()
	u, err := w.o.Auth.GetUser(ctx, sc, sc.UserID)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.U = u
	d.HomeName = w.namesOf(r, sc, []string{u.HomeOrg})[u.HomeOrg]
	d.Grants = w.grantViews(r, sc, u.Grants)
	if d.Tokens, err = w.o.Auth.ListTokens(ctx, sc, sc.UserID); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if d.PwForm == nil {
		d.PwForm = &form{Values: map[string]string{}, Errors: map[string]string{}}
	}
	if d.TokForm == nil {
		d.TokForm = &form{Values: map[string]string{"expires": "90d"}, Errors: map[string]string{}}
	}
	if d.Message == "" {
		d.Message = doneMessages[r.URL.Query().Get("done")]
	}
	d.Expiries = expiries
	v := w.page(r, sc, "Your account", "")
	v.D = d
	w.render(rw, r, status, "account", v)
}

func (w *Web) account(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderAccount(rw, r, sc, http.StatusOK, accountData{})
}

// changePassword sets a new password: auth checks the current one
// (through the same throttled check as sign-in, so a left-open session
// cannot be used to guess it) and the new one's strength. A new password
// ends every session, this one included, so the browser gets a fresh one.
func (w *Web) changePassword(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	cur, pw, pw2 := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("password2")
	if cur == "" {
		f.Set("current", "Enter your current password")
	}
	if pw == "" {
		f.Set("password", "Choose a new password; a few unrelated words make a good one")
	} else if pw != pw2 {
		f.Set("password2", "The two new passwords do not match")
	}
	if f.OK() {
		_, err := w.o.Auth.UpdateUser(r.Context(), sc, sc.UserID, auth.UserPatch{Password: &pw, CurrentPassword: &cur})
		var ve *fault.Invalid
		switch {
		case err == nil:
			w.startSession(rw, r, sc.UserID, "/account?done=password")
			return
		case errors.Is(err, auth.ErrBusy):
			f.Set("current", "Vigil is busy signing other people in. Wait a few seconds, then try again")
		case errors.Is(err, auth.ErrThrottled):
			f.Set("current", "Too many attempts. Wait a minute, then try again")
		case errors.As(err, &ve) && ve.Field == "current_password":
			f.Set("current", sentence(ve.Reason))
		case !f.fieldError(err, "password"):
			w.fail(rw, r, sc, err)
			return
		}
	}
	w.renderAccount(rw, r, sc, http.StatusUnprocessableEntity, accountData{PwForm: f})
}

func (w *Web) createToken(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := newForm(r, "name", "expires")
	ttl, err := auth.ParseExpiry(f.V("expires"))
	if err != nil {
		f.Set("expires", "Choose when the token expires")
	}
	if f.V("name") == "" {
		f.Set("name", "Give the token a name that says where it is used, such as \"SIEM export\"")
	}
	if !f.OK() {
		w.renderAccount(rw, r, sc, http.StatusUnprocessableEntity, accountData{TokForm: f})
		return
	}
	t, secret, err := w.o.Auth.CreateToken(r.Context(), sc, sc.UserID, f.V("name"), ttl)
	if err != nil {
		if !f.fieldError(err, "name", "expires") {
			w.fail(rw, r, sc, err)
			return
		}
		w.renderAccount(rw, r, sc, http.StatusUnprocessableEntity, accountData{TokForm: f})
		return
	}
	// Rendered, not redirected: the secret must not travel in a URL or a
	// cookie, and this response is not cached (Cache-Control: no-store).
	w.renderAccount(rw, r, sc, http.StatusCreated, accountData{NewSecret: secret, NewToken: t})
}

func (w *Web) revokeToken(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	// Only the caller's own tokens here; administrators revoke others'
	// from the user's page.
	ts, err := w.o.Auth.ListTokens(r.Context(), sc, sc.UserID)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	found := false
	for _, t := range ts {
		found = found || t.ID == id
	}
	if !found {
		w.errorPage(rw, r, &sc, http.StatusNotFound, "")
		return
	}
	if _, err := w.o.Auth.RevokeToken(r.Context(), sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/account?done=token#tokens", http.StatusSeeOther)
}
