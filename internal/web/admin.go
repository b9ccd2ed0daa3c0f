package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

type adminData struct {
	Admin, Audit, National bool
}

func (w *Web) admin(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d := adminData{Admin: sc.Can(scope.Admin), Audit: sc.Can(scope.Audit), National: sc.National(scope.Audit)}
	if !d.Admin && !d.Audit {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	v := w.page(r, sc, "Admin", "admin")
	v.D = d
	w.render(rw, r, http.StatusOK, "admin", v)
}

// mayManageUsers is who sees the user pages: administrators, and auditors
// (read-only, to check who holds which role).
func mayManageUsers(sc scope.Scope) bool { return sc.Can(scope.Admin) || sc.Can(scope.Audit) }

type usersData struct {
	Query, Org string
	Cursor     string
	Users      []auth.User
	Names      map[string]string // organisation names by code, for "Name (CODE)"
	Next       string
	Admin      bool
	Error      string
}

const usersPage = 50

func (w *Web) users(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if !mayManageUsers(sc) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	q := r.URL.Query()
	d := usersData{Query: strings.TrimSpace(q.Get("q")), Org: strings.ToUpper(strings.TrimSpace(q.Get("org"))), Cursor: q.Get("cursor"), Admin: sc.Can(scope.Admin)}
	list, next, err := w.o.Auth.ListUsers(r.Context(), sc, auth.UserFilter{Org: d.Org, Query: d.Query, After: d.Cursor, Limit: usersPage})
	status := http.StatusOK
	var ve *fault.Invalid
	switch {
	case errors.As(err, &ve):
		d.Error, status = "Your search "+ve.Reason+".", http.StatusBadRequest
	case err != nil:
		w.fail(rw, r, sc, err)
		return
	}
	d.Users, d.Next = list, next
	var codes []string
	for _, u := range list {
		codes = append(codes, u.HomeOrg)
		for _, g := range u.Grants {
			codes = append(codes, g.Org)
		}
	}
	d.Names = w.namesOf(r, sc, codes)
	v := w.page(r, sc, "Users", "admin")
	v.D = d
	w.render(rw, r, status, "users", v)
}

type newUserData struct {
	Form  *form
	Orgs  []switchOption
	Roles []scope.Role
}

var newUserFields = []string{"email", "name", "org", "role", "password"}

func (w *Web) renderNewUser(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, f *form) {
	v := w.page(r, sc, "Add a user", "admin")
	// The organisations the caller administers by grant are offered as
	// suggestions; any organisation under them may be typed.
	v.D = newUserData{Form: f, Orgs: v.Switch[1:], Roles: sc.GrantableRoles()}
	w.render(rw, r, status, "user_new", v)
}

func (w *Web) newUserForm(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if !sc.Can(scope.Admin) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	f := &form{Values: map[string]string{"role": string(scope.OrgAnalyst)}, Errors: map[string]string{}}
	if c := w.currentOrg(r, sc); c != nil {
		f.Values["org"] = c.Code
	} else {
		f.Values["org"] = sc.Home
	}
	if o := r.URL.Query().Get("org"); o != "" {
		f.Values["org"] = strings.ToUpper(o)
	}
	w.renderNewUser(rw, r, sc, http.StatusOK, f)
}

func (w *Web) createUser(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if !sc.Can(scope.Admin) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	f := newForm(r, newUserFields...)
	password := r.PostFormValue("password")
	f.Values["password"] = ""
	if f.V("email") == "" {
		f.Set("email", "Enter the person's e-mail address")
	}
	if f.V("name") == "" {
		f.Set("name", "Enter the person's full name")
	}
	if f.V("org") == "" {
		f.Set("org", "Enter the ODS code of the organisation they work for")
	}
	if !scope.Role(f.V("role")).Valid() {
		f.Set("role", "Choose a role")
	}
	if password != "" && password != r.PostFormValue("password2") {
		f.Set("password2", "The two passwords do not match")
	}
	if !f.OK() {
		w.renderNewUser(rw, r, sc, http.StatusUnprocessableEntity, f)
		return
	}
	u, err := w.o.Auth.AddUser(r.Context(), sc, auth.NewUser{Email: f.V("email"), Name: f.V("name"), Org: f.V("org"), Role: scope.Role(f.V("role")), Password: password})
	if err != nil {
		if errors.Is(err, fault.ErrConflict) {
			f.Set("email", "A user with this e-mail address already exists")
		} else if !f.fieldError(err, newUserFields...) {
			w.fail(rw, r, sc, err)
			return
		}
		w.renderNewUser(rw, r, sc, http.StatusUnprocessableEntity, f)
		return
	}
	http.Redirect(rw, r, "/admin/users/"+u.ID+"?done=created", http.StatusSeeOther)
}

type userData struct {
	U      auth.User
	Home   org.Org
	Grants []grantView
	Tokens []auth.Token
	// Manage: the viewer may act on this user (auth.MayManage); the page
	// offers nothing else, though auth decides again on every post.
	Manage  bool
	Self    bool
	Form    *form
	Roles   []scope.Role
	Message string
}

var doneMessages = map[string]string{
	"created":  "User created.",
	"granted":  "Role granted.",
	"revoked":  "Role revoked.",
	"disabled": "User disabled and signed out everywhere.",
	"enabled":  "User enabled.",
	"token":    "Token revoked.",
	"password": "Password changed. Your other sessions have been signed out.",
}

func (w *Web) renderUser(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, id string, f *form) {
	ctx := r.Context()
	if !mayManageUsers(sc) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	u, err := w.o.Auth.GetUser(ctx, sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	home, err := w.o.Orgs.Get(ctx, sc, u.HomeOrg)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		w.fail(rw, r, sc, err)
		return
	}
	d := userData{U: u, Home: home, Grants: w.grantViews(r, sc, u.Grants), Self: u.ID == sc.UserID,
		Form: f, Roles: sc.GrantableRoles(), Message: doneMessages[r.URL.Query().Get("done")]}
	switch err := w.o.Auth.MayManage(ctx, sc, u); {
	case err == nil:
		d.Manage = true
	case !errors.Is(err, fault.ErrForbidden):
		w.fail(rw, r, sc, err)
		return
	}
	for i, g := range d.Grants {
		// Revoking one's own grants needs only the right to grant them.
		d.Grants[i].Revocable = (d.Manage || d.Self) && sc.CanGrant(g.Role, g.Path)
	}
	if d.Form == nil {
		d.Form = &form{Values: map[string]string{"org": u.HomeOrg, "role": string(scope.OrgAnalyst)}, Errors: map[string]string{}}
	}
	if d.Manage || d.Self {
		if d.Tokens, err = w.o.Auth.ListTokens(ctx, sc, u.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	v := w.page(r, sc, u.Name, "admin")
	v.D = d
	w.render(rw, r, status, "user", v)
}

func (w *Web) user(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderUser(rw, r, sc, http.StatusOK, r.PathValue("id"), nil)
}

func (w *Web) userURL(id, done string) string {
	return "/admin/users/" + id + "?done=" + done
}

func (w *Web) grant(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	f := newForm(r, "role", "org")
	if !scope.Role(f.V("role")).Valid() {
		f.Set("role", "Choose a role")
	}
	if f.V("org") == "" {
		f.Set("org", "Enter the ODS code of the organisation")
	}
	if f.OK() {
		_, err := w.o.Auth.Grant(r.Context(), sc, id, scope.Role(f.V("role")), f.V("org"))
		if err == nil {
			http.Redirect(rw, r, w.userURL(id, "granted"), http.StatusSeeOther)
			return
		}
		if !f.fieldError(err, "role", "org") {
			w.fail(rw, r, sc, err)
			return
		}
	}
	w.renderUser(rw, r, sc, http.StatusUnprocessableEntity, id, f)
}

func (w *Web) revoke(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	_, err := w.o.Auth.Revoke(r.Context(), sc, r.PathValue("id"), scope.Role(r.PostFormValue("role")), r.PostFormValue("org"))
	w.afterUserChange(rw, r, sc, err, "revoked")
}

func (w *Web) setDisabled(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	disabled := r.PostFormValue("disabled") == "true"
	_, err := w.o.Auth.UpdateUser(r.Context(), sc, r.PathValue("id"), auth.UserPatch{Disabled: &disabled})
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	w.afterUserChange(rw, r, sc, err, done)
}

// afterUserChange answers a change to the user of the page: back to the
// page saying done, or the page again with a refusal that belongs to a
// field, or the error page for anything else.
func (w *Web) afterUserChange(rw http.ResponseWriter, r *http.Request, sc scope.Scope, err error, done string) {
	id := r.PathValue("id")
	if err != nil {
		f := &form{Values: map[string]string{}, Errors: map[string]string{}}
		if !f.fieldError(err) {
			w.fail(rw, r, sc, err)
			return
		}
		w.renderUser(rw, r, sc, http.StatusUnprocessableEntity, id, f)
		return
	}
	http.Redirect(rw, r, w.userURL(id, done), http.StatusSeeOther)
}

func (w *Web) revokeUserToken(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	if _, err := w.o.Auth.RevokeToken(r.Context(), sc, r.PathValue("token")); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, w.userURL(id, "token"), http.StatusSeeOther)
}

type auditData struct {
	Form     *form
	Entries  []auditRow
	Next     string
	Query    string
	National bool
	Verified *audit.Verification
	Actions  []string
	Names    map[string]string // organisation names by code, for "Name (CODE)"
}

// auditActions are offered as suggestions in the action filter.
var auditActions = []string{"auth.", "auth.signin", "auth.signin_failed", "auth.signout", "auth.csrf_refused", "org.", "org.create", "org.update",
	"user.", "user.create", "user.update", "user.grant", "user.revoke", "token.", "token.create", "token.revoke", "export", "supply.import", "audit.keyed"}

// auditRow is an entry with what it records in words (audit.Describe).
type auditRow struct {
	audit.Entry
	What string
}

const auditPage = 100

// auditFilter reads the audit page's filters; dates are whole days on the
// clock the page shows times in (loc), and "until" includes its day.
func auditFilter(r *http.Request, loc *time.Location) (audit.Filter, *form) {
	q := r.URL.Query()
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"action", "actor", "org", "since", "until"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	af := audit.Filter{Action: f.V("action"), Actor: f.V("actor"), Org: strings.ToUpper(f.V("org")), Limit: auditPage}
	if strings.Contains(af.Actor, "@") { // e-mail addresses are stored lower-case
		af.Actor = strings.ToLower(af.Actor)
	}
	day := func(k string) time.Time {
		s := f.V(k)
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, s); err == nil {
				return t
			}
			f.Set(k, "Enter a date like 2026-11-30")
		}
		return t
	}
	af.Since = day("since")
	if u := day("until"); !u.IsZero() {
		af.Until = u
		if len(f.V("until")) == 10 {
			af.Until = u.AddDate(0, 0, 1) // the next midnight, 23 or 25 hours on when the clocks change
		}
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 1 {
			f.Set("cursor", "That page link is not valid; start from the first page")
		}
		af.Before = n
	}
	return af, f
}

func (w *Web) auditLog(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderAudit(rw, r, sc, nil)
}

func (w *Web) renderAudit(rw http.ResponseWriter, r *http.Request, sc scope.Scope, ver *audit.Verification) {
	if !sc.Can(scope.Audit) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	af, f := auditFilter(r, w.o.Location)
	d := auditData{Form: f, National: sc.National(scope.Audit), Verified: ver, Actions: auditActions}
	status := http.StatusOK
	if f.OK() {
		list, next, err := w.o.Audit.List(r.Context(), sc, af)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		names := w.o.Auth.AuditNames(r.Context(), sc)
		d.Entries = make([]auditRow, len(list))
		codes := make([]string, len(list))
		for i, e := range list {
			d.Entries[i] = auditRow{Entry: e, What: audit.Describe(e, names)}
			codes[i] = e.Org
		}
		d.Names = w.namesOf(r, sc, codes)
		if next > 0 {
			q := r.URL.Query()
			q.Del("verify")
			q.Set("cursor", strconv.FormatInt(next, 10))
			d.Next = "/admin/audit?" + q.Encode()
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	v := w.page(r, sc, "Audit log", "admin")
	v.D = d
	w.render(rw, r, status, "audit", v)
}

// auditVerify walks the whole hash chain. It reads everything, so only
// those who may audit nationally may start it.
func (w *Web) auditVerify(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if !sc.National(scope.Audit) {
		w.errorPage(rw, r, &sc, http.StatusForbidden, "")
		return
	}
	ver, err := w.o.Audit.Verify(r.Context(), nil)
	if err != nil && !errors.Is(err, audit.ErrBroken) && !errors.Is(err, audit.ErrNoKey) {
		w.fail(rw, r, sc, err)
		return
	}
	w.renderAudit(rw, r, sc, &ver)
}
