package auth_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testclock"
)

// clock is a settable time source.
type clock = testclock.Clock

var t0 = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)

// env is one database with the organisation tree
// ENG → Y56 → QKK → RJ1, RJZ; ENG → Y62 → QOP → R0A; supplier SUP-X,
// the auth service over it, and a national administrator.
type env struct {
	db    *store.DB
	auth  *auth.Service
	orgs  *org.Service
	audit *audit.Log
	clk   *clock
	nat   scope.Scope
}

// newEnv builds the environment; options, if not nil, gives the auth
// options for the environment's clock.
func newEnv(t *testing.T, db *store.DB, options func(now func() time.Time) auth.Options) *env {
	t.Helper()
	ctx := t.Context()
	clk := testclock.New(t0)
	l := audit.New(db, clk.Now)
	orgs, err := org.New(org.Options{DB: db, Audit: l, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
		{Code: "Y62", Name: "North West", Type: org.Region},
		{Code: "QOP", Name: "NHS Greater Manchester ICB", Type: org.ICB, Parent: "Y62"},
		{Code: "R0A", Name: "Manchester University", Type: org.Trust, Parent: "QOP"},
		{Code: "SUP-X", Name: "Acme Clinical Systems", Type: org.Supplier},
	} {
		if _, err := orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	opts := auth.Options{Now: clk.Now}
	if options != nil {
		opts = options(clk.Now)
	}
	opts.DB, opts.Audit, opts.Orgs = db, l, orgs
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := auth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, auth: a, orgs: orgs, audit: l, clk: clk}
	u, err := a.AddUser(ctx, sys, auth.NewUser{Email: "nat@example.org", Name: "National Admin", Org: "ENG", Role: scope.NationalAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.nat = e.scopeOf(t, u.ID)
	return e
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	eachWith(t, nil, fn)
}

func eachWith(t *testing.T, options func(now func() time.Time) auth.Options, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db, options)) },
		org.Migrations(), audit.Migrations(), auth.Migrations())
}

func (e *env) scopeOf(t *testing.T, userID string) scope.Scope {
	t.Helper()
	sc, err := e.auth.ScopeFor(t.Context(), userID, "session", "192.0.2.10")
	if err != nil {
		t.Fatalf("scope of %s: %v", userID, err)
	}
	return sc
}

// add creates a user (by the national admin) and returns it.
func (e *env) add(t *testing.T, email string, role scope.Role, code, password string) auth.User {
	t.Helper()
	u, err := e.auth.AddUser(t.Context(), e.nat, auth.NewUser{Email: email, Name: "User " + email, Org: code, Role: role, Password: password})
	if err != nil {
		t.Fatalf("add %s: %v", email, err)
	}
	return u
}

// as creates a user holding role on code and returns their scope.
func (e *env) as(t *testing.T, email string, role scope.Role, code string) scope.Scope {
	t.Helper()
	return e.scopeOf(t, e.add(t, email, role, code, "").ID)
}

func wantValidation(t *testing.T, err error, field, contains string) {
	t.Helper()
	var ve *fault.Invalid
	if !errors.As(err, &ve) {
		t.Errorf("error %v (%T), want a fault.Invalid on %s", err, err, field)
		return
	}
	if ve.Field != field || !strings.Contains(ve.Reason, contains) {
		t.Errorf("fault.Invalid %q, want field %s saying %q", ve, field, contains)
	}
}

func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Q().QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// auditJSON returns every entry's before and after JSON, and its action.
func auditJSON(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Q().QueryContext(t.Context(), `SELECT action, before_json, after_json, actor, object_id FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d, e string
		if err := rows.Scan(&a, &b, &c, &d, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, a+" "+b+" "+c+" "+d+" "+e)
	}
	return out
}

func auditCount(t *testing.T, e *env, action string) int {
	t.Helper()
	return count(t, e.db, `SELECT COUNT(*) FROM audit_log WHERE action = ?`, action)
}

func TestNewValidatesOptions(t *testing.T) {
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations(), auth.Migrations())
	l := audit.New(db, nil)
	orgs, _ := org.New(org.Options{DB: db, Audit: l})
	for _, c := range []struct {
		o    auth.Options
		want string
	}{
		{auth.Options{Audit: l, Orgs: orgs}, "Options.DB"},
		{auth.Options{DB: db, Orgs: orgs}, "Options.Audit"},
		{auth.Options{DB: db, Audit: l}, "Options.Orgs"},
	} {
		if _, err := auth.New(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New without %s = %v", c.want, err)
		}
	}
}

func TestAddUserValidation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		rj1Analyst := e.as(t, "analyst@rj1.example.org", scope.OrgAnalyst, "RJ1")
		y56Lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		users := count(t, e.db, `SELECT COUNT(*) FROM users`)

		nu := func(email, code string, role scope.Role) auth.NewUser {
			return auth.NewUser{Email: email, Name: "Someone", Org: code, Role: role}
		}
		cases := []struct {
			name     string
			sc       scope.Scope
			nu       auth.NewUser
			field    string
			contains string
		}{
			{"not an e-mail", e.nat, nu("not-an-email", "RJ1", scope.OrgAnalyst), "email", "is not an e-mail address"},
			{"display name form", e.nat, nu("Ann <ann@example.org>", "RJ1", scope.OrgAnalyst), "email", "is not an e-mail address"},
			{"empty e-mail", e.nat, nu("  ", "RJ1", scope.OrgAnalyst), "email", ""},
			{"two addresses", e.nat, nu("a@example.org, b@example.org", "RJ1", scope.OrgAnalyst), "email", ""},
			{"no name", e.nat, auth.NewUser{Email: "x@example.org", Name: " ", Org: "RJ1", Role: scope.OrgAnalyst}, "name", "required"},
			{"unknown role", e.nat, nu("x@example.org", "RJ1", "superuser"), "role", `unknown role "superuser"`},
			{"no role", e.nat, nu("x@example.org", "RJ1", ""), "role", "unknown role"},
			{"unknown organisation", e.nat, nu("x@example.org", "NOPE", scope.OrgAnalyst), "org", `organisation "NOPE" not found`},
			{"national-admin on a trust", e.nat, nu("x@example.org", "RJ1", scope.NationalAdmin), "org", "granted on the national organisation (ENG), not on RJ1"},
			{"national-analyst on a region", e.nat, nu("x@example.org", "Y56", scope.NationalAnalyst), "org", "granted on the national organisation"},
			{"region-lead on a trust", e.nat, nu("x@example.org", "RJ1", scope.RegionLead), "org", "region-lead is granted on a region or ICB, and RJ1 is a trust"},
			{"region-lead on a supplier", e.nat, nu("x@example.org", "SUP-X", scope.RegionLead), "org", "region-lead is granted on a region or ICB"},
			{"supplier-rep on a trust", e.nat, nu("x@example.org", "RJ1", scope.SupplierRep), "org", "supplier-rep is granted on a supplier organisation, and RJ1 is a trust"},
			{"org-analyst on a supplier", e.nat, nu("x@example.org", "SUP-X", scope.OrgAnalyst), "role", "supplier organisations have supplier-rep and org-admin users"},
			{"short password", e.nat, auth.NewUser{Email: "x@example.org", Name: "X", Org: "RJ1", Role: scope.OrgAnalyst, Password: "hunter2"}, "password", "at least 12 characters"},
			{"RJ1 admin on R0A", rj1Admin, nu("x@example.org", "R0A", scope.OrgAnalyst), "org", `organisation "R0A" not found`},
			{"RJ1 admin on RJZ", rj1Admin, nu("x@example.org", "RJZ", scope.OrgAdmin), "org", "not found"},
			{"RJ1 admin on its ICB", rj1Admin, nu("x@example.org", "QKK", scope.RegionLead), "org", "not found"},
			{"region lead grants national-admin", y56Lead, nu("x@example.org", "ENG", scope.NationalAdmin), "org", "not found"},
			{"region lead grants national auditor", y56Lead, nu("x@example.org", "ENG", scope.Auditor), "org", "not found"},
			{"region lead outside its region", y56Lead, nu("x@example.org", "QOP", scope.RegionLead), "org", "not found"},
		}
		for _, c := range cases {
			_, err := e.auth.AddUser(ctx, c.sc, c.nu)
			if err == nil {
				t.Errorf("%s: user created", c.name)
				continue
			}
			wantValidation(t, err, c.field, c.contains)
		}
		// Organisations the caller can see but not grant on: forbidden,
		// saying what is missing.
		for _, c := range []struct {
			name, contains string
			sc             scope.Scope
			nu             auth.NewUser
		}{
			{"RJ1 analyst may not add users", "administration", rj1Analyst, nu("x@example.org", "RJ1", scope.OrgAnalyst)},
			{"region lead may not appoint auditors", "auditor or a higher one", y56Lead, nu("auditor@y56.example.org", "Y56", scope.Auditor)},
			{"org admin may not appoint auditors", "auditor or a higher one", rj1Admin, nu("auditor@rj1.example.org", "RJ1", scope.Auditor)},
		} {
			_, err := e.auth.AddUser(ctx, c.sc, c.nu)
			if !errors.Is(err, fault.ErrForbidden) || !strings.Contains(err.Error(), c.contains) {
				t.Errorf("%s: %v, want fault.ErrForbidden saying %q", c.name, err, c.contains)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM users`); n != users {
			t.Errorf("refused AddUser calls created %d users", n-users)
		}

		ok := []struct {
			sc scope.Scope
			nu auth.NewUser
		}{
			{rj1Admin, nu("analyst2@rj1.example.org", "RJ1", scope.OrgAnalyst)},
			{rj1Admin, nu("admin2@rj1.example.org", "rj1", scope.OrgAdmin)},
			{y56Lead, nu("admin@rjz.example.org", "RJZ", scope.OrgAdmin)},
			{y56Lead, nu("lead@qkk.example.org", "QKK", scope.RegionLead)},
			{e.nat, nu("rep@supx.example.org", "SUP-X", scope.SupplierRep)},
			{e.nat, nu("admin@supx.example.org", "SUP-X", scope.OrgAdmin)},
			{e.nat, nu("auditor@example.org", "ENG", scope.Auditor)},
			{e.nat, nu("  Mixed.Case@Example.ORG ", "ENG", scope.NationalAnalyst)},
		}
		for _, c := range ok {
			u, err := e.auth.AddUser(ctx, c.sc, c.nu)
			if err != nil {
				t.Errorf("AddUser %s by %s: %v", c.nu.Email, c.sc.Email, err)
				continue
			}
			if u.HomeOrg != strings.ToUpper(c.nu.Org) || len(u.Grants) != 1 || u.Grants[0].Role != c.nu.Role || !strings.HasPrefix(u.ID, "u_") {
				t.Errorf("AddUser %s = %+v", c.nu.Email, u)
			}
		}
		got, err := e.auth.GetUser(ctx, e.nat, "mixed.case@example.org")
		if err != nil || got.Email != "mixed.case@example.org" || got.CreatedAt != "2025-05-01T10:00:00Z" || got.HasPass {
			t.Errorf("normalised user = %+v, %v", got, err)
		}
	})
}

func TestAddUserDuplicateAndAudit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "a long enough password 1"
		u := e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		if !u.HasPass || u.Name != "User alice@example.org" {
			t.Errorf("user = %+v", u)
		}
		for _, email := range []string{"alice@example.org", "ALICE@example.org", " alice@EXAMPLE.org "} {
			_, err := e.auth.AddUser(ctx, e.nat, auth.NewUser{Email: email, Name: "Another Alice", Org: "R0A", Role: scope.OrgAnalyst})
			if !errors.Is(err, fault.ErrConflict) {
				t.Errorf("AddUser %q again = %v, want ErrConflict", email, err)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM users WHERE email = ?`, "alice@example.org"); n != 1 {
			t.Errorf("%d users with alice's address", n)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM grants WHERE user_id = ?`, u.ID); n != 1 {
			t.Errorf("alice has %d grants after the duplicate attempts", n)
		}

		// The audit entry records the user, never the password or its hash.
		es, _, err := e.audit.List(ctx, e.nat, audit.Filter{Action: "user.create", Object: u.ID})
		if err != nil || len(es) != 1 {
			t.Fatalf("user.create entries for alice: %d, %v", len(es), err)
		}
		var after auth.User
		if err := json.Unmarshal(es[0].After, &after); err != nil || after.Email != "alice@example.org" || es[0].Org != "RJ1" || es[0].Actor != "nat@example.org" {
			t.Errorf("user.create entry = %+v (%v)", es[0], err)
		}
		var hash string
		e.db.Q().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
		for _, line := range auditJSON(t, e.db) {
			if strings.Contains(line, pw) || strings.Contains(line, hash) || strings.Contains(line, "argon2") {
				t.Errorf("audit entry shows the password or its hash: %s", line)
			}
		}
	})
}

func emails(us []auth.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Email)
	}
	return out
}

func TestListAndGetUsersAreScoped(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		y56Lead := e.as(t, "lead@y56.example.org", scope.RegionLead, "Y56")
		a := e.add(t, "a@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		e.add(t, "b@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		e.add(t, "c@rjz.example.org", scope.OrgAnalyst, "RJZ", "")
		d := e.add(t, "d@r0a.example.org", scope.OrgAnalyst, "R0A", "")
		e.add(t, "e@supx.example.org", scope.SupplierRep, "SUP-X", "")
		r0aScope := e.scopeOf(t, d.ID)

		list := func(sc scope.Scope, f auth.UserFilter) []string {
			t.Helper()
			us, _, err := e.auth.ListUsers(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			return emails(us)
		}
		cases := []struct {
			name string
			sc   scope.Scope
			f    auth.UserFilter
			want []string
		}{
			{"RJ1 admin", rj1Admin, auth.UserFilter{}, []string{"a@rj1.example.org", "admin@rj1.example.org", "b@rj1.example.org"}},
			{"Y56 lead", y56Lead, auth.UserFilter{}, []string{"a@rj1.example.org", "admin@rj1.example.org", "b@rj1.example.org", "c@rjz.example.org", "lead@y56.example.org"}},
			{"R0A analyst", r0aScope, auth.UserFilter{}, []string{"d@r0a.example.org"}},
			{"national", e.nat, auth.UserFilter{}, []string{"a@rj1.example.org", "admin@rj1.example.org", "b@rj1.example.org", "c@rjz.example.org", "d@r0a.example.org", "e@supx.example.org", "lead@y56.example.org", "nat@example.org"}},
			{"national, org filter", e.nat, auth.UserFilter{Org: "rjz"}, []string{"c@rjz.example.org"}},
			{"national, query", e.nat, auth.UserFilter{Query: "RJ1.EXAMPLE"}, []string{"a@rj1.example.org", "admin@rj1.example.org", "b@rj1.example.org"}},
			{"RJ1 admin filtering on R0A", rj1Admin, auth.UserFilter{Org: "R0A"}, []string{}},
			{"no grants", scope.Scope{UserID: "u_nobody"}, auth.UserFilter{}, []string{}},
		}
		for _, c := range cases {
			if got := list(c.sc, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}

		// Pages of two join up to the whole list.
		var paged []string
		f := auth.UserFilter{Limit: 2}
		for i := 0; ; i++ {
			us, next, err := e.auth.ListUsers(ctx, e.nat, f)
			if err != nil || len(us) > 2 || i > 10 {
				t.Fatalf("page %d: %d users, %v", i, len(us), err)
			}
			paged = append(paged, emails(us)...)
			if next == "" {
				break
			}
			f.After = next
		}
		if !slices.Equal(paged, cases[3].want) {
			t.Errorf("pages joined to %v", paged)
		}

		// Listed users carry their grants with paths.
		us, _, _ := e.auth.ListUsers(ctx, rj1Admin, auth.UserFilter{Query: "a@rj1"})
		if len(us) != 1 || len(us[0].Grants) != 1 || us[0].Grants[0] != (scope.Grant{Role: scope.OrgAnalyst, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1/"}) {
			t.Errorf("listed a@rj1 = %+v", us)
		}

		for _, c := range []struct {
			name string
			sc   scope.Scope
			key  string
			ok   bool
		}{
			{"RJ1 admin gets an RJ1 user by ID", rj1Admin, a.ID, true},
			{"RJ1 admin gets an RJ1 user by e-mail, any case", rj1Admin, " A@RJ1.example.org", true},
			{"RJ1 admin gets an R0A user by ID", rj1Admin, d.ID, false},
			{"RJ1 admin gets an R0A user by e-mail", rj1Admin, "d@r0a.example.org", false},
			{"RJ1 admin gets the Y56 lead", rj1Admin, "lead@y56.example.org", false},
			{"Y56 lead gets an RJ1 user", y56Lead, "a@rj1.example.org", true},
			{"R0A user gets themself", r0aScope, d.ID, true},
			{"R0A user gets an RJ1 user", r0aScope, a.ID, false},
			{"nobody exists", e.nat, "nobody@example.org", false},
		} {
			u, err := e.auth.GetUser(ctx, c.sc, c.key)
			if c.ok && (err != nil || u.ID == "") {
				t.Errorf("%s: %+v, %v", c.name, u, err)
			}
			if !c.ok && !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s: %+v, %v; want ErrNotFound", c.name, u, err)
			}
		}
	})
}

func TestGrantAndRevoke(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		a := e.add(t, "a@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		d := e.add(t, "d@r0a.example.org", scope.OrgAnalyst, "R0A", "")

		u, err := e.auth.Grant(ctx, e.nat, a.ID, scope.Auditor, "y56")
		if err != nil {
			t.Fatal(err)
		}
		want := []scope.Grant{{Role: scope.OrgAnalyst, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1/"}, {Role: scope.Auditor, Org: "Y56", Path: "/ENG/Y56/"}}
		if !slices.Equal(u.Grants, want) {
			t.Errorf("grants after Grant = %+v, want %+v", u.Grants, want)
		}
		sc := e.scopeOf(t, a.ID)
		if !sc.CanAt(scope.Audit, "/ENG/Y56/QKK/RJZ/") || sc.CanAt(scope.Audit, "/ENG/Y62/") {
			t.Errorf("scope after Grant = %+v", sc.Grants)
		}
		// Granting again changes nothing.
		if u, err := e.auth.Grant(ctx, e.nat, "a@rj1.example.org", scope.Auditor, "Y56"); err != nil || len(u.Grants) != 2 {
			t.Errorf("second Grant = %+v, %v", u.Grants, err)
		}

		if u, err = e.auth.Revoke(ctx, e.nat, a.ID, scope.Auditor, "Y56"); err != nil || !slices.Equal(u.Grants, want[:1]) {
			t.Errorf("Revoke = %+v, %v", u.Grants, err)
		}
		if sc := e.scopeOf(t, a.ID); sc.Can(scope.Audit) {
			t.Errorf("audit perm survives the revoke: %+v", sc.Grants)
		}
		// Revoking what is not granted is harmless.
		if u, err = e.auth.Revoke(ctx, e.nat, a.ID, scope.Auditor, "Y56"); err != nil || len(u.Grants) != 1 {
			t.Errorf("second Revoke = %+v, %v", u.Grants, err)
		}

		// An org admin grants within its organisation only.
		if u, err := e.auth.Grant(ctx, rj1Admin, a.ID, scope.OrgAdmin, "RJ1"); err != nil || len(u.Grants) != 2 {
			t.Errorf("RJ1 admin grants org-admin on RJ1 = %+v, %v", u.Grants, err)
		}
		_, err = e.auth.Grant(ctx, rj1Admin, a.ID, scope.OrgAnalyst, "R0A")
		wantValidation(t, err, "org", `organisation "R0A" not found`)
		_, err = e.auth.Grant(ctx, rj1Admin, a.ID, scope.NationalAdmin, "ENG")
		wantValidation(t, err, "org", "not found")
		_, err = e.auth.Grant(ctx, e.nat, a.ID, scope.RegionLead, "RJ1")
		wantValidation(t, err, "org", "region-lead is granted on a region or ICB")
		if _, err := e.auth.Grant(ctx, rj1Admin, d.ID, scope.OrgAnalyst, "RJ1"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RJ1 admin granting to an R0A user = %v, want ErrNotFound", err)
		}

		if n := auditCount(t, e, "user.grant"); n != 3 {
			t.Errorf("%d user.grant entries, want 3", n)
		}
		es, _, _ := e.audit.List(ctx, e.nat, audit.Filter{Action: "user.revoke"})
		if len(es) != 2 || es[1].ObjectID != a.ID || es[1].Org != "Y56" {
			t.Fatalf("user.revoke entries = %+v", es)
		}
		var before, after []scope.Grant
		json.Unmarshal(es[1].Before, &before)
		json.Unmarshal(es[1].After, &after)
		if len(before) != 2 || len(after) != 1 {
			t.Errorf("revoke audited as %v → %v", before, after)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "the right password"
		alice := e.add(t, "alice@example.org", scope.OrgAnalyst, "RJ1", pw)
		e.add(t, "sso-only@example.org", scope.OrgAnalyst, "RJ1", "")

		id, err := e.auth.Authenticate(ctx, "alice@example.org", pw, "192.0.2.1")
		if err != nil || id != alice.ID {
			t.Fatalf("right password = %q, %v", id, err)
		}
		if id, err := e.auth.Authenticate(ctx, "  ALICE@Example.org ", pw, "192.0.2.1"); err != nil || id != alice.ID {
			t.Errorf("e-mail in another case = %q, %v", id, err)
		}
		for _, c := range []struct{ name, email, pw string }{
			{"wrong password", "alice@example.org", "the wrong password"},
			{"empty password", "alice@example.org", ""},
			{"unknown user", "mallory@example.org", pw},
			{"user without a password", "sso-only@example.org", ""},
			{"user without a password, any guess", "sso-only@example.org", pw},
		} {
			id, err := e.auth.Authenticate(ctx, c.email, c.pw, "192.0.2.2")
			if !errors.Is(err, auth.ErrBadCredentials) || id != "" {
				t.Errorf("%s: %q, %v; want ErrBadCredentials", c.name, id, err)
			}
		}
		if n := auditCount(t, e, "auth.signin_failed"); n != 5 {
			t.Errorf("%d auth.signin_failed entries, want 5", n)
		}
		es, _, _ := e.audit.List(ctx, e.nat, audit.Filter{Action: "auth.signin_failed", Actor: "alice@example.org"})
		if len(es) != 2 || es[0].Org != "RJ1" || es[0].ObjectID != alice.ID || es[0].Remote != "192.0.2.2" {
			t.Errorf("alice's failed sign-ins = %+v", es)
		}

		// A disabled account: the right password says so, a wrong one does not.
		dis := true
		if _, err := e.auth.UpdateUser(ctx, e.nat, alice.ID, auth.UserPatch{Disabled: &dis}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.Authenticate(ctx, "alice@example.org", pw, "192.0.2.1"); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("disabled user, right password = %v, want ErrDisabled", err)
		}
		if _, err := e.auth.Authenticate(ctx, "alice@example.org", "the wrong password", "192.0.2.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("disabled user, wrong password = %v, want ErrBadCredentials", err)
		}
		if _, err := e.auth.ScopeFor(ctx, alice.ID, "session", ""); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("ScopeFor a disabled user = %v", err)
		}
		en := false
		if _, err := e.auth.UpdateUser(ctx, e.nat, alice.ID, auth.UserPatch{Disabled: &en}); err != nil {
			t.Fatal(err)
		}
		if id, err := e.auth.Authenticate(ctx, "alice@example.org", pw, "192.0.2.1"); err != nil || id != alice.ID {
			t.Errorf("re-enabled user = %q, %v", id, err)
		}
		if _, err := e.auth.ScopeFor(ctx, "u_nobody", "session", ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("ScopeFor an unknown user = %v", err)
		}
	})
}

// One account at one address: a few tries, then one every two minutes;
// the same account from another address is not affected.
func TestAuthenticateThrottles(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const pw = "orchard velvet signal"
		bob := e.add(t, "bob@example.org", scope.OrgAnalyst, "RJ1", pw)
		lim := auth.DefaultSignInLimits().AccountAddress

		for i := range lim.Burst {
			if _, err := e.auth.Authenticate(ctx, "bob@example.org", "guess", "198.51.100.1"); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("attempt %d = %v, want ErrBadCredentials", i+1, err)
			}
		}
		// The next is refused before the password is looked at…
		if _, err := e.auth.Authenticate(ctx, "bob@example.org", pw, "198.51.100.1"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("attempt %d from the same address = %v, want ErrThrottled", lim.Burst+1, err)
		}
		if n := auditCount(t, e, "auth.signin_failed"); n != lim.Burst {
			t.Errorf("%d failed sign-ins audited, want %d (throttled attempts are not checked)", n, lim.Burst)
		}
		if n := auditCount(t, e, "auth.signin_throttled"); n != 1 {
			t.Errorf("%d throttled sign-ins audited, want 1", n)
		}
		// …but bob elsewhere is not locked out by it.
		if id, err := e.auth.Authenticate(ctx, "bob@example.org", pw, "203.0.113.50"); err != nil || id != bob.ID {
			t.Errorf("bob from another address = %q, %v", id, err)
		}

		// One attempt comes back every Every.
		e.clk.Advance(lim.Every - time.Second)
		if _, err := e.auth.Authenticate(ctx, "bob@example.org", pw, "198.51.100.1"); !errors.Is(err, auth.ErrThrottled) {
			t.Errorf("after %s = %v, want ErrThrottled", lim.Every-time.Second, err)
		}
		e.clk.Advance(time.Second)
		if id, err := e.auth.Authenticate(ctx, "bob@example.org", pw, "198.51.100.1"); err != nil || id != bob.ID {
			t.Errorf("after %s, right password = %q, %v", lim.Every, id, err)
		}
		// A success empties the account's buckets.
		for i := range lim.Burst + 2 {
			if id, err := e.auth.Authenticate(ctx, "bob@example.org", pw, "198.51.100.1"); err != nil || id != bob.ID {
				t.Errorf("sign-in %d after success = %q, %v", i, id, err)
			}
		}
	})
}
