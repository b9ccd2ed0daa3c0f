package scope_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// tree is the organisation tree the scope tests run against. RJ10 and SUP
// share a string prefix with RJ1 and SUP-X, to catch a range that is one
// byte too wide; ZZZ owns data but is not an organisation.
var tree = []struct{ code, typ, path string }{
	{"ENG", "national", "/ENG/"},
	{"Y56", "region", "/ENG/Y56/"},
	{"QKK", "icb", "/ENG/Y56/QKK/"},
	{"RJ1", "trust", "/ENG/Y56/QKK/RJ1/"},
	{"RJ10", "trust", "/ENG/Y56/QKK/RJ10/"},
	{"RJZ", "trust", "/ENG/Y56/QKK/RJZ/"},
	{"Y62", "region", "/ENG/Y62/"},
	{"QOP", "icb", "/ENG/Y62/QOP/"},
	{"R0A", "trust", "/ENG/Y62/QOP/R0A/"},
	{"SUP-X", "supplier", "/ENG/SUP-X/"},
	{"SUP", "supplier", "/ENG/SUP/"},
}

var pathOf = func() map[string]string {
	m := map[string]string{}
	for _, o := range tree {
		m[o.code] = o.path
	}
	return m
}()

func grant(r scope.Role, code string) scope.Grant {
	return scope.Grant{Role: r, Org: code, Path: pathOf[code]}
}

func user(gs ...scope.Grant) scope.Scope {
	return scope.Scope{UserID: "u_test", Email: "test@example.org", Via: "session", Grants: gs}
}

// seed builds the tree in a real orgs table, and an items table with one
// item owned by each organisation (and one by ZZZ, which is not one).
func seed(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := t.Context()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		for _, o := range tree {
			parent := ""
			if parts := strings.Split(strings.Trim(o.path, "/"), "/"); len(parts) > 1 {
				parent = parts[len(parts)-2]
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (code, name, type, parent, path, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				o.code, "Org "+o.code, o.typ, parent, o.path, "2025-01-01T00:00:00Z"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE items (id TEXT PRIMARY KEY, owner TEXT NOT NULL)`); err != nil {
			return err
		}
		owners := []string{"ZZZ"}
		for _, o := range tree {
			owners = append(owners, o.code)
		}
		for _, o := range owners {
			if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, owner) VALUES (?, ?)`, "item-"+o, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func codes(t *testing.T, db *store.DB, q string, args []any) []string {
	t.Helper()
	rows, err := db.Q().QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestFilterAgainstRealOrgs(t *testing.T) {
	all := []string{"ENG", "QKK", "QOP", "R0A", "RJ1", "RJ10", "RJZ", "SUP", "SUP-X", "Y56", "Y62"}
	cases := []struct {
		name string
		sc   scope.Scope
		perm scope.Perm
		want []string
	}{
		{"national-admin on ENG reads all", user(grant(scope.NationalAdmin, "ENG")), scope.Read, all},
		{"national-admin on ENG audits all", user(grant(scope.NationalAdmin, "ENG")), scope.Audit, all},
		{"national-analyst on ENG may not administer", user(grant(scope.NationalAnalyst, "ENG")), scope.Admin, nil},
		{"region-lead on Y56", user(grant(scope.RegionLead, "Y56")), scope.Read, []string{"QKK", "RJ1", "RJ10", "RJZ", "Y56"}},
		{"region-lead on Y56 administers", user(grant(scope.RegionLead, "Y56")), scope.Admin, []string{"QKK", "RJ1", "RJ10", "RJZ", "Y56"}},
		{"region-lead on Y56 may not audit", user(grant(scope.RegionLead, "Y56")), scope.Audit, nil},
		{"region-lead on QKK (an ICB)", user(grant(scope.RegionLead, "QKK")), scope.Read, []string{"QKK", "RJ1", "RJ10", "RJZ"}},
		{"org-admin on RJ1", user(grant(scope.OrgAdmin, "RJ1")), scope.Read, []string{"RJ1"}},
		{"org-admin on RJ1 writes", user(grant(scope.OrgAdmin, "RJ1")), scope.Write, []string{"RJ1"}},
		{"org-admin on RJ1 may not audit", user(grant(scope.OrgAdmin, "RJ1")), scope.Audit, nil},
		{"org-analyst on RJ1 may not administer", user(grant(scope.OrgAnalyst, "RJ1")), scope.Admin, nil},
		{"supplier-rep on SUP-X", user(grant(scope.SupplierRep, "SUP-X")), scope.Read, []string{"SUP-X"}},
		{"supplier-rep on SUP (not SUP-X)", user(grant(scope.SupplierRep, "SUP")), scope.Read, []string{"SUP"}},
		{"auditor on Y56 audits", user(grant(scope.Auditor, "Y56")), scope.Audit, []string{"QKK", "RJ1", "RJ10", "RJZ", "Y56"}},
		{"auditor on Y56 may not write", user(grant(scope.Auditor, "Y56")), scope.Write, nil},
		{"no grants", user(), scope.Read, nil},
		{"grant without a resolved path", user(scope.Grant{Role: scope.NationalAdmin, Org: "ENG"}), scope.Read, nil},
		{"unknown role", user(scope.Grant{Role: "superuser", Org: "ENG", Path: "/ENG/"}), scope.Read, nil},
		{"two trusts in two regions", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.OrgAnalyst, "R0A")), scope.Read, []string{"R0A", "RJ1"}},
		{"two trusts, admin on one", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.OrgAnalyst, "R0A")), scope.Admin, []string{"RJ1"}},
		{"nested grants", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.RegionLead, "Y56"), grant(scope.OrgAnalyst, "QKK")), scope.Read, []string{"QKK", "RJ1", "RJ10", "RJZ", "Y56"}},
		{"region-lead Y56 and supplier-rep SUP-X", user(grant(scope.RegionLead, "Y56"), grant(scope.SupplierRep, "SUP-X")), scope.Read, []string{"QKK", "RJ1", "RJ10", "RJZ", "SUP-X", "Y56"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := c.want
				if want == nil {
					want = []string{}
				}
				cond, args := c.sc.Filter("items.owner", c.perm)
				got := codes(t, db, `SELECT owner FROM items WHERE `+cond, args)
				if !slices.Equal(got, want) {
					t.Errorf("Filter: %s %v → %v, want %v", cond, args, got, want)
				}
				cond, args = c.sc.PathFilter("path", c.perm)
				got = codes(t, db, `SELECT code FROM orgs WHERE `+cond, args)
				if !slices.Equal(got, want) {
					t.Errorf("PathFilter: %s %v → %v, want %v", cond, args, got, want)
				}
				// The condition composes with others by AND.
				cond, args = c.sc.PathFilter("o.path", c.perm)
				got = codes(t, db, `SELECT o.code FROM orgs o WHERE o.type = ? AND `+cond, append([]any{"trust"}, args...))
				var wantTrusts []string
				for _, w := range want {
					if strings.HasPrefix(w, "R") {
						wantTrusts = append(wantTrusts, w)
					}
				}
				if wantTrusts == nil {
					wantTrusts = []string{}
				}
				if !slices.Equal(got, wantTrusts) {
					t.Errorf("PathFilter AND type: %v, want %v", got, wantTrusts)
				}
			})
		}

		// The system scope matches everything, data of unknown owners too.
		sys := scope.System("test")
		cond, args := sys.Filter("owner", scope.Read)
		if got := codes(t, db, `SELECT owner FROM items WHERE `+cond, args); len(got) != len(tree)+1 {
			t.Errorf("System Filter = %v, want every item", got)
		}
		cond, args = sys.PathFilter("path", scope.Admin)
		if got := codes(t, db, `SELECT code FROM orgs WHERE `+cond, args); len(got) != len(tree) {
			t.Errorf("System PathFilter = %v, want every organisation", got)
		}
	}, org.Migrations())
}

func TestFilterShapes(t *testing.T) {
	cond, args := user().Filter("owner", scope.Read)
	if cond != "1=0" || args != nil {
		t.Errorf("no grants: %q %v, want 1=0", cond, args)
	}
	cond, args = user().PathFilter("path", scope.Read)
	if cond != "1=0" || args != nil {
		t.Errorf("no grants (path): %q %v, want 1=0", cond, args)
	}
	cond, args = user(grant(scope.RegionLead, "Y56"), grant(scope.OrgAnalyst, "R0A")).PathFilter("p", scope.Read)
	if want := "((p >= ? AND p < ?) OR (p >= ? AND p < ?))"; cond != want {
		t.Errorf("two grants: %q, want %q", cond, want)
	}
	// One index range per grant; the upper bound is the path with its
	// trailing "/" replaced by the next byte, "0".
	if want := []any{"/ENG/Y56/", "/ENG/Y560", "/ENG/Y62/QOP/R0A/", "/ENG/Y62/QOP/R0A0"}; fmt.Sprint(args) != fmt.Sprint(want) {
		t.Errorf("args %v, want %v", args, want)
	}
	cond, args = scope.System("x").PathFilter("p", scope.Read)
	if cond != "1=1" || len(args) != 0 {
		t.Errorf("system: %q %v, want 1=1", cond, args)
	}
	// The system grant wins even beside narrower ones.
	sc := scope.System("x")
	sc.Grants = append(sc.Grants, grant(scope.OrgAdmin, "RJ1"))
	if cond, _ := sc.Filter("owner", scope.Read); cond != "1=1" {
		t.Errorf("system plus RJ1: %q, want 1=1", cond)
	}
}

func TestPrefixesCollapseNestedGrants(t *testing.T) {
	cases := []struct {
		name string
		sc   scope.Scope
		perm scope.Perm
		want []string
	}{
		{"none", user(), scope.Read, nil},
		{"one", user(grant(scope.OrgAdmin, "RJ1")), scope.Read, []string{"/ENG/Y56/QKK/RJ1/"}},
		{"trust inside region", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.RegionLead, "Y56")), scope.Read, []string{"/ENG/Y56/"}},
		{"same grant twice", user(grant(scope.OrgAdmin, "RJ1"), grant(scope.OrgAnalyst, "RJ1")), scope.Read, []string{"/ENG/Y56/QKK/RJ1/"}},
		{"siblings sharing a string prefix stay apart", user(grant(scope.OrgAdmin, "RJ10"), grant(scope.OrgAdmin, "RJ1")), scope.Read, []string{"/ENG/Y56/QKK/RJ1/", "/ENG/Y56/QKK/RJ10/"}},
		{"national swallows everything", user(grant(scope.OrgAdmin, "R0A"), grant(scope.NationalAdmin, "ENG"), grant(scope.RegionLead, "Y56")), scope.Read, []string{"/ENG/"}},
		{"only grants holding the perm count", user(grant(scope.OrgAnalyst, "R0A"), grant(scope.RegionLead, "Y56"), grant(scope.OrgAdmin, "RJ1")), scope.Admin, []string{"/ENG/Y56/"}},
		{"analyst region, admin trust inside it", user(grant(scope.OrgAnalyst, "QKK"), grant(scope.OrgAdmin, "RJ1")), scope.Admin, []string{"/ENG/Y56/QKK/RJ1/"}},
		{"unresolved path ignored", user(scope.Grant{Role: scope.OrgAdmin, Org: "RJ1"}, grant(scope.OrgAdmin, "R0A")), scope.Read, []string{"/ENG/Y62/QOP/R0A/"}},
		{"path without trailing slash ignored", user(scope.Grant{Role: scope.OrgAdmin, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1"}), scope.Read, nil},
		{"read and write together", user(grant(scope.Auditor, "Y62"), grant(scope.OrgAnalyst, "RJ1")), scope.Read | scope.Write, []string{"/ENG/Y56/QKK/RJ1/"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.sc.Prefixes(c.perm); !slices.Equal(got, c.want) {
				t.Errorf("Prefixes = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPerms(t *testing.T) {
	const (
		R = scope.Read
		W = scope.Write
		A = scope.Admin
		U = scope.Audit
		S = scope.Supply
	)
	want := map[scope.Role]scope.Perm{
		scope.NationalAdmin:   R | W | A | U | S,
		scope.NationalAnalyst: R | W | S,
		scope.RegionLead:      R | W | A | S,
		scope.OrgAdmin:        R | W | A,
		scope.OrgAnalyst:      R | W,
		scope.SupplierRep:     R | W,
		scope.Auditor:         R | U,
	}
	if len(scope.Roles()) != len(want) {
		t.Errorf("Roles() = %v, want the %d roles", scope.Roles(), len(want))
	}
	for _, r := range scope.Roles() {
		w, ok := want[r]
		if !ok {
			t.Errorf("role %s has no expectation", r)
			continue
		}
		if got := r.Perms(); got != w {
			t.Errorf("%s.Perms() = %05b, want %05b", r, got, w)
		}
		if !r.Valid() {
			t.Errorf("%s.Valid() = false", r)
		}
	}
	for _, r := range []scope.Role{"", "admin", "National-Admin", "superuser"} {
		if r.Valid() || r.Perms() != 0 {
			t.Errorf("%q: Valid %v, Perms %b; want invalid with no perms", r, r.Valid(), r.Perms())
		}
	}
	// Every perm is a distinct bit.
	seen := scope.Perm(0)
	for _, p := range []scope.Perm{R, W, A, U, S} {
		if p == 0 || seen&p != 0 {
			t.Errorf("perm %b overlaps %b", p, seen)
		}
		seen |= p
	}
}

func TestCanCanAtHasRole(t *testing.T) {
	sc := user(grant(scope.RegionLead, "Y56"), grant(scope.Auditor, "R0A"))
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"Can Admin", sc.Can(scope.Admin), true},
		{"Can Audit", sc.Can(scope.Audit), true},
		{"Can Admin|Audit (no single grant holds both)", sc.Can(scope.Admin | scope.Audit), false},
		{"CanAt Admin RJ1", sc.CanAt(scope.Admin, pathOf["RJ1"]), true},
		{"CanAt Admin Y56 itself", sc.CanAt(scope.Admin, pathOf["Y56"]), true},
		{"CanAt Admin ENG", sc.CanAt(scope.Admin, pathOf["ENG"]), false},
		{"CanAt Admin R0A", sc.CanAt(scope.Admin, pathOf["R0A"]), false},
		{"CanAt Audit R0A", sc.CanAt(scope.Audit, pathOf["R0A"]), true},
		{"CanAt Audit QOP", sc.CanAt(scope.Audit, pathOf["QOP"]), false},
		{"CanAt Read SUP-X", sc.CanAt(scope.Read, pathOf["SUP-X"]), false},
		{"HasRole region-lead", sc.HasRole(scope.RegionLead), true},
		{"HasRole org-admin", sc.HasRole(scope.OrgAdmin), false},
		{"no grants Can Read", user().Can(scope.Read), false},
		{"RJ1 admin CanAt RJ10", user(grant(scope.OrgAdmin, "RJ1")).CanAt(scope.Read, pathOf["RJ10"]), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestNational(t *testing.T) {
	cases := []struct {
		name string
		sc   scope.Scope
		perm scope.Perm
		want bool
	}{
		{"national-admin on ENG, admin", user(grant(scope.NationalAdmin, "ENG")), scope.Admin, true},
		{"national-analyst on ENG, read", user(grant(scope.NationalAnalyst, "ENG")), scope.Read, true},
		{"national-analyst on ENG, admin", user(grant(scope.NationalAnalyst, "ENG")), scope.Admin, false},
		{"auditor on ENG, audit", user(grant(scope.Auditor, "ENG")), scope.Audit, true},
		{"region-lead on Y56", user(grant(scope.RegionLead, "Y56")), scope.Read, false},
		{"supplier-rep on SUP-X", user(grant(scope.SupplierRep, "SUP-X")), scope.Read, false},
		{"org-admin on RJ1", user(grant(scope.OrgAdmin, "RJ1")), scope.Admin, false},
		{"no grants", user(), scope.Read, false},
		{"unresolved path", user(scope.Grant{Role: scope.NationalAdmin, Org: "ENG"}), scope.Admin, false},
		{"system", scope.System("cli"), scope.Admin, true},
		{"region lead plus national analyst, read", user(grant(scope.RegionLead, "Y56"), grant(scope.NationalAnalyst, "ENG")), scope.Read, true},
		{"region lead plus national analyst, admin", user(grant(scope.RegionLead, "Y56"), grant(scope.NationalAnalyst, "ENG")), scope.Admin, false},
	}
	for _, c := range cases {
		if got := c.sc.National(c.perm); got != c.want {
			t.Errorf("%s: National = %v, want %v", c.name, got, c.want)
		}
	}
	sys := scope.System("operator")
	if sys.UserID != "system" || sys.Via != "cli" || sys.Email != "operator" || !sys.HasRole(scope.NationalAdmin) {
		t.Errorf("System = %+v", sys)
	}
}
