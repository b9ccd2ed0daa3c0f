package org_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testclock"
)

// clock is a settable time source.
type clock = testclock.Clock

var t0 = time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)

// env is one database with the organisation service over it.
type env struct {
	db    *store.DB
	svc   *org.Service
	audit *audit.Log
	clk   *clock
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	clk := testclock.New(t0)
	l := audit.New(db, clk.Now)
	svc, err := org.New(org.Options{DB: db, Audit: l, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, svc: svc, audit: l, clk: clk}
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db)) }, org.Migrations(), audit.Migrations())
}

// nat is a national administrator.
var nat = scope.Scope{UserID: "u_nat", Email: "nat@example.org", Via: "session",
	Grants: []scope.Grant{{Role: scope.NationalAdmin, Org: org.RootCode, Path: "/ENG/"}}}

// as returns the scope of a user holding role on code, with the path the
// database has for code now.
func (e *env) as(t *testing.T, role scope.Role, code string) scope.Scope {
	t.Helper()
	p, err := e.svc.PathOf(t.Context(), code)
	if err != nil {
		t.Fatalf("path of %s: %v", code, err)
	}
	return scope.Scope{UserID: "u_" + strings.ToLower(code), Email: string(role) + "@" + strings.ToLower(code) + ".example.org", Via: "session",
		Grants: []scope.Grant{{Role: role, Org: code, Path: p}}}
}

func (e *env) create(t *testing.T, sc scope.Scope, o org.Org) org.Org {
	t.Helper()
	got, err := e.svc.Create(t.Context(), sc, o)
	if err != nil {
		t.Fatalf("create %s: %v", o.Code, err)
	}
	return got
}

// tree creates ENG → Y56 → QKK → RJ1, RJZ; ENG → Y62 → QOP → R0A; and the
// supplier SUP-X.
func (e *env) tree(t *testing.T) {
	t.Helper()
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas' NHS Foundation Trust", Type: org.Trust, Parent: "QKK", Postcode: "SE1 9RT"},
		{Code: "RJZ", Name: "King's College Hospital NHS Foundation Trust", Type: org.Trust, Parent: "QKK"},
		{Code: "Y62", Name: "North West", Type: org.Region},
		{Code: "QOP", Name: "NHS Greater Manchester ICB", Type: org.ICB, Parent: "Y62"},
		{Code: "R0A", Name: "Manchester University NHS Foundation Trust", Type: org.Trust, Parent: "QOP"},
		{Code: "SUP-X", Name: "Acme Clinical Systems Ltd", Type: org.Supplier},
	} {
		e.create(t, nat, o)
	}
}

func codesOf(os []org.Org) []string {
	out := []string{}
	for _, o := range os {
		out = append(out, o.Code)
	}
	return out
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
	if !strings.HasPrefix(ve.Error(), field+": ") {
		t.Errorf("Error() = %q does not start with the field", ve.Error())
	}
}

func auditEntries(t *testing.T, e *env, action string) []audit.Entry {
	t.Helper()
	es, _, err := e.audit.List(t.Context(), nat, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestCreate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)

		rj1, err := e.svc.Get(ctx, nat, "RJ1")
		if err != nil {
			t.Fatal(err)
		}
		want := org.Org{Code: "RJ1", Name: "Guy's and St Thomas' NHS Foundation Trust", Type: org.Trust, Parent: "QKK", Status: org.Active,
			Region: "Y56", ICB: "QKK", Postcode: "SE1 9RT", Source: "manual", Path: "/ENG/Y56/QKK/RJ1/", UpdatedAt: "2025-04-01T08:00:00Z"}
		if rj1 != want {
			t.Errorf("RJ1 =\n%+v\nwant\n%+v", rj1, want)
		}
		for code, w := range map[string][3]string{
			"Y56":   {"/ENG/Y56/", "Y56", ""},
			"QKK":   {"/ENG/Y56/QKK/", "Y56", "QKK"},
			"SUP-X": {"/ENG/SUP-X/", "", ""},
			"ENG":   {"/ENG/", "", ""},
		} {
			o, err := e.svc.Get(ctx, nat, code)
			if err != nil || o.Path != w[0] || o.Region != w[1] || o.ICB != w[2] {
				t.Errorf("%s: path %q region %q icb %q (%v), want %v", code, o.Path, o.Region, o.ICB, err, w)
			}
		}
		sup, _ := e.svc.Get(ctx, nat, "SUP-X")
		if sup.Parent != org.RootCode {
			t.Errorf("a supplier with no parent hangs off %q, want ENG", sup.Parent)
		}

		// Codes and parents are normalised.
		got := e.create(t, nat, org.Org{Code: " rjx ", Name: "  Lower Case Trust ", Type: org.Trust, Parent: "qkk"})
		if got.Code != "RJX" || got.Name != "Lower Case Trust" || got.Parent != "QKK" || got.Path != "/ENG/Y56/QKK/RJX/" {
			t.Errorf("normalised create = %+v", got)
		}

		// Audit: one org.create per organisation, by its creator, with the organisation after.
		es := auditEntries(t, e, "org.create")
		if len(es) != 10 { // ENG, the eight of tree, RJX
			t.Errorf("%d org.create entries, want 10", len(es))
		}
		last := es[0]
		var after org.Org
		if err := json.Unmarshal(last.After, &after); err != nil || after.Code != "RJX" || last.ObjectID != "RJX" || last.Org != "RJX" || last.Actor != "nat@example.org" {
			t.Errorf("last org.create entry = %+v (after %+v, %v)", last, after, err)
		}
	})
}

func TestCreateNeedsAdminOverTheParent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		cases := []struct {
			name   string
			sc     scope.Scope
			parent string
			ok     bool
		}{
			{"region lead under its ICB", e.as(t, scope.RegionLead, "Y56"), "QKK", true},
			{"region lead under its region", e.as(t, scope.RegionLead, "Y56"), "Y56", true},
			{"region lead under another region's ICB", e.as(t, scope.RegionLead, "Y56"), "QOP", false},
			{"region lead under the root", e.as(t, scope.RegionLead, "Y56"), "ENG", false},
			{"org admin under its trust", e.as(t, scope.OrgAdmin, "RJ1"), "RJ1", true},
			{"org admin under its ICB", e.as(t, scope.OrgAdmin, "RJ1"), "QKK", false},
			{"org analyst under its trust", e.as(t, scope.OrgAnalyst, "RJ1"), "RJ1", false},
			{"national analyst under the root", e.as(t, scope.NationalAnalyst, "ENG"), "ENG", false},
			{"national auditor under the root", e.as(t, scope.Auditor, "ENG"), "ENG", false},
			{"no grants", scope.Scope{UserID: "u_x"}, "QKK", false},
			{"national admin under a parent that does not exist", nat, "NOPE", false},
		}
		for i, c := range cases {
			code := fmt.Sprintf("NEW%d", i)
			o, err := e.svc.Create(ctx, c.sc, org.Org{Code: code, Name: "New " + code, Type: org.OtherProvider, Parent: c.parent})
			if c.ok {
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
				} else if o.Parent != c.parent {
					t.Errorf("%s: parent %s", c.name, o.Parent)
				}
				continue
			}
			// Refused exactly as if the parent did not exist, so scope never leaks.
			wantValidation(t, err, "parent", "organisation "+c.parent+" not found")
			if _, err := e.svc.Lookup(ctx, code); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s: refused create left %s behind (%v)", c.name, code, err)
			}
		}
	})
}

func TestCreateDuplicateAndValidation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		for _, code := range []string{"RJ1", "rj1", " RJ1", "ENG"} {
			_, err := e.svc.Create(ctx, nat, org.Org{Code: code, Name: "Again", Type: org.Trust, Parent: "QOP"})
			if !errors.Is(err, fault.ErrConflict) {
				t.Errorf("create %q again = %v, want ErrConflict", code, err)
			}
		}
		rj1, _ := e.svc.Get(ctx, nat, "RJ1")
		if rj1.Parent != "QKK" || rj1.Name == "Again" {
			t.Errorf("duplicate create changed RJ1: %+v", rj1)
		}

		long := strings.Repeat("n", 201)
		cases := []struct {
			name     string
			o        org.Org
			field    string
			contains string
		}{
			{"empty code", org.Org{Name: "X", Type: org.Trust}, "ods", "upper-case letters"},
			{"code with a space", org.Org{Code: "R J1", Name: "X", Type: org.Trust}, "ods", "upper-case letters"},
			{"code with punctuation", org.Org{Code: "RJ1;", Name: "X", Type: org.Trust}, "ods", ""},
			{"code too long", org.Org{Code: "ABCDEFGHIJKLMNOPQ", Name: "X", Type: org.Trust}, "ods", ""},
			{"code starting with a hyphen", org.Org{Code: "-RJ1", Name: "X", Type: org.Trust}, "ods", ""},
			{"no name", org.Org{Code: "RN1", Name: "  ", Type: org.Trust}, "name", "required"},
			{"name too long", org.Org{Code: "RN1", Name: long, Type: org.Trust}, "name", "at most 200"},
			{"no type", org.Org{Code: "RN1", Name: "X"}, "type", "unknown type"},
			{"unknown type", org.Org{Code: "RN1", Name: "X", Type: "hospital"}, "type", `unknown type "hospital"`},
			{"unknown status", org.Org{Code: "RN1", Name: "X", Type: org.Trust, Status: "open"}, "status", "active or closed"},
			{"own parent", org.Org{Code: "RN1", Name: "X", Type: org.Trust, Parent: "rn1"}, "parent", "its own parent"},
		}
		for _, c := range cases {
			_, err := e.svc.Create(ctx, nat, c.o)
			if err == nil {
				t.Errorf("%s: created", c.name)
				continue
			}
			wantValidation(t, err, c.field, c.contains)
		}
		// Sixteen characters with a hyphen is fine.
		if _, err := e.svc.Create(ctx, nat, org.Org{Code: "SUPPLIER-ABCDEFG", Name: "Long Code Ltd", Type: org.Supplier}); err != nil {
			t.Errorf("16-character code: %v", err)
		}
		if n := len(auditEntries(t, e, "org.create")); n != 10 {
			t.Errorf("%d org.create entries after refused creates, want 10", n)
		}
	})
}

func TestGetAndAncestorsAreScoped(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		lead := e.as(t, scope.RegionLead, "Y56")
		admin := e.as(t, scope.OrgAdmin, "RJ1")
		sup := e.as(t, scope.SupplierRep, "SUP-X")
		cases := []struct {
			who  string
			sc   scope.Scope
			code string
			ok   bool
		}{
			{"nat", nat, "R0A", true},
			{"nat", nat, "NOPE", false},
			{"lead", lead, "RJ1", true},
			{"lead", lead, "Y56", true},
			{"lead", lead, "R0A", false},
			{"lead", lead, "ENG", false},
			{"lead", lead, "SUP-X", false},
			{"admin", admin, "RJ1", true},
			{"admin", admin, "RJZ", false},
			{"admin", admin, "QKK", false},
			{"sup", sup, "SUP-X", true},
			{"sup", sup, "RJ1", false},
			{"nobody", scope.Scope{}, "RJ1", false},
		}
		for _, c := range cases {
			o, err := e.svc.Get(ctx, c.sc, c.code)
			if c.ok && (err != nil || o.Code != c.code) {
				t.Errorf("%s Get %s = %+v, %v", c.who, c.code, o, err)
			}
			if !c.ok && !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s Get %s = %+v, %v; want ErrNotFound", c.who, c.code, o, err)
			}
		}
		if o, err := e.svc.Lookup(ctx, "R0A"); err != nil || o.Code != "R0A" {
			t.Errorf("Lookup R0A = %+v, %v", o, err)
		}
		for _, c := range []struct {
			sc   scope.Scope
			want []string
		}{{nat, []string{"ENG", "Y56", "QKK"}}, {lead, []string{"Y56", "QKK"}}, {admin, []string{}}} {
			as, err := e.svc.Ancestors(ctx, c.sc, "RJ1")
			if err != nil || !slices.Equal(codesOf(as), c.want) {
				t.Errorf("Ancestors(RJ1) = %v, %v; want %v", codesOf(as), err, c.want)
			}
		}
		if _, err := e.svc.Ancestors(ctx, lead, "R0A"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("Ancestors outside scope = %v", err)
		}
	})
}

// bulk adds n GP practices, half under QKK and half under QOP, with names
// that the query tests look for; every 25th is closed.
func (e *env) bulk(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		parent := "QKK"
		if i%2 == 1 {
			parent = "QOP"
		}
		name := fmt.Sprintf("Practice Number %d", i)
		if i%10 == 0 {
			name = fmt.Sprintf("Leeds Road Surgery %d", i)
		}
		st := org.Active
		if i%25 == 0 {
			st = org.Closed
		}
		e.create(t, nat, org.Org{Code: fmt.Sprintf("P%04d", i), Name: name, Type: org.GPPractice, Parent: parent, Status: st})
	}
}

// pages lists with f until the cursor runs out, checking every page.
func pages(t *testing.T, e *env, sc scope.Scope, f org.ListFilter) ([]string, int) {
	t.Helper()
	var all []string
	n := 0
	for {
		page, next, err := e.svc.List(t.Context(), sc, f)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(page) > f.Limit {
			t.Fatalf("page of %d with limit %d", len(page), f.Limit)
		}
		all = append(all, codesOf(page)...)
		if next == "" {
			return all, n
		}
		if next != page[len(page)-1].Code {
			t.Fatalf("cursor %q is not the page's last code %q", next, page[len(page)-1].Code)
		}
		if n > 1000 {
			t.Fatal("pagination does not end")
		}
		f.After = next
	}
}

func TestListFiltersAndPagination(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		const n = 260
		e.bulk(t, n)

		everything, next, err := e.svc.List(ctx, nat, org.ListFilter{Limit: org.MaxPage})
		if err != nil || next != "" {
			t.Fatalf("List all = %v, next %q", err, next)
		}
		if len(everything) != 9+n {
			t.Fatalf("List all = %d organisations, want %d", len(everything), 9+n)
		}
		if !slices.IsSorted(codesOf(everything)) {
			t.Errorf("List is not ordered by code")
		}

		// Pages of every size join up to exactly the whole list.
		for _, limit := range []int{1, 7, 100, 134, 268, 269, 270} {
			got, np := pages(t, e, nat, org.ListFilter{Limit: limit})
			if !slices.Equal(got, codesOf(everything)) {
				t.Errorf("limit %d: pages joined to %d codes, want the %d of one list", limit, len(got), len(everything))
			}
			if want := (len(everything) + limit - 1) / limit; np != want {
				t.Errorf("limit %d: %d pages, want %d", limit, np, want)
			}
		}

		count := func(pred func(i int) bool) int {
			c := 0
			for i := range n {
				if pred(i) {
					c++
				}
			}
			return c
		}
		y56 := e.as(t, scope.RegionLead, "Y56")
		cases := []struct {
			name string
			sc   scope.Scope
			f    org.ListFilter
			want int
			has  []string
			not  []string
		}{
			{"type", nat, org.ListFilter{Type: org.GPPractice}, n, []string{"P0000", "P0259"}, []string{"RJ1"}},
			{"type trust", nat, org.ListFilter{Type: org.Trust}, 3, []string{"RJ1", "RJZ", "R0A"}, nil},
			{"status closed", nat, org.ListFilter{Status: org.Closed}, count(func(i int) bool { return i%25 == 0 }), []string{"P0000", "P0025"}, []string{"P0001"}},
			{"status active practices", nat, org.ListFilter{Status: org.Active, Type: org.GPPractice}, count(func(i int) bool { return i%25 != 0 }), nil, []string{"P0050"}},
			{"query two words in order", nat, org.ListFilter{Query: "leeds road"}, count(func(i int) bool { return i%10 == 0 }), []string{"P0010"}, []string{"P0011"}},
			{"query words out of order, any case", nat, org.ListFilter{Query: "  SURGERY   leeds "}, count(func(i int) bool { return i%10 == 0 }), nil, nil},
			{"query one code", nat, org.ListFilter{Query: "p0042"}, 1, []string{"P0042"}, nil},
			{"query code prefix", nat, org.ListFilter{Query: "P025"}, 10, []string{"P0250", "P0259"}, nil},
			{"query apostrophe", nat, org.ListFilter{Query: "guy's"}, 1, []string{"RJ1"}, nil},
			{"query % is literal", nat, org.ListFilter{Query: "%"}, 0, nil, nil},
			{"query _ is literal", nat, org.ListFilter{Query: "p_042"}, 0, nil, nil},
			{"query backslash", nat, org.ListFilter{Query: `\`}, 0, nil, nil},
			{"under QKK", nat, org.ListFilter{Under: "QKK"}, 3 + n/2, []string{"QKK", "RJ1", "RJZ", "P0000"}, []string{"Y56", "P0001", "R0A"}},
			{"under Y62, trusts", nat, org.ListFilter{Under: "Y62", Type: org.Trust}, 1, []string{"R0A"}, nil},
			{"parent QOP", nat, org.ListFilter{Parent: "QOP"}, 1 + n/2, []string{"R0A", "P0001"}, []string{"QOP"}},
			{"everything at once", nat, org.ListFilter{Under: "QOP", Type: org.GPPractice, Status: org.Active, Query: "leeds"}, 0, nil, nil},
			{"region lead sees its region", y56, org.ListFilter{}, 4 + n/2, []string{"Y56", "QKK", "P0000"}, []string{"ENG", "R0A", "P0001", "SUP-X"}},
			{"region lead under another region", y56, org.ListFilter{Under: "Y62"}, 0, nil, nil},
			{"region lead querying outside", y56, org.ListFilter{Query: "manchester"}, 0, nil, nil},
			{"nobody", scope.Scope{}, org.ListFilter{}, 0, nil, nil},
		}
		for _, c := range cases {
			c.f.Limit = 50
			got, _ := pages(t, e, c.sc, c.f)
			if len(got) != c.want {
				t.Errorf("%s: %d organisations, want %d", c.name, len(got), c.want)
			}
			for _, h := range c.has {
				if !slices.Contains(got, h) {
					t.Errorf("%s: %s missing", c.name, h)
				}
			}
			for _, h := range c.not {
				if slices.Contains(got, h) {
					t.Errorf("%s: %s listed", c.name, h)
				}
			}
			if len(got) != len(slices.Compact(slices.Clone(got))) {
				t.Errorf("%s: duplicates across pages", c.name)
			}
		}
		if _, _, err := e.svc.List(ctx, nat, org.ListFilter{Under: "NOPE"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("Under an unknown organisation = %v, want ErrNotFound", err)
		}
		// Default and maximum page sizes.
		if page, next, _ := e.svc.List(ctx, nat, org.ListFilter{}); len(page) != 100 || next != page[99].Code {
			t.Errorf("default page = %d, next %q", len(page), next)
		}
		counts, err := e.svc.Count(ctx, nat, org.View{})
		if err != nil || counts[org.GPPractice] != count(func(i int) bool { return i%25 != 0 }) || counts[org.Trust] != 3 || counts[org.National] != 1 {
			t.Errorf("Count = %v, %v", counts, err)
		}
		counts, _ = e.svc.Count(ctx, y56, org.View{Closed: true})
		if counts[org.GPPractice] != n/2 || counts[org.Trust] != 2 || counts[org.National] != 0 {
			t.Errorf("Count for the Y56 lead, closed included = %v", counts)
		}
	})
}

func TestChildren(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.create(t, nat, org.Org{Code: "RJX", Name: "Closed Trust", Type: org.Trust, Parent: "QKK", Status: org.Closed})

		type node struct {
			code string
			n    int
		}
		nodes := func(ns []org.Node) []node {
			out := []node{}
			for _, x := range ns {
				out = append(out, node{x.Code, x.Children})
			}
			return out
		}
		multi := e.as(t, scope.OrgAdmin, "RJ1")
		multi.Grants = append(multi.Grants, e.as(t, scope.OrgAnalyst, "R0A").Grants...)
		nested := e.as(t, scope.RegionLead, "Y56")
		nested.Grants = append(nested.Grants, e.as(t, scope.OrgAdmin, "RJ1").Grants...)
		cases := []struct {
			name    string
			sc      scope.Scope
			parent  string
			closed  bool
			want    []node
			wantErr error
		}{
			{"national roots", nat, "", false, []node{{"ENG", 3}}, nil},
			{"system roots", scope.System("t"), "", false, []node{{"ENG", 3}}, nil},
			{"region lead's root", e.as(t, scope.RegionLead, "Y56"), "", false, []node{{"Y56", 1}}, nil},
			{"nested grants give one root", nested, "", false, []node{{"Y56", 1}}, nil},
			{"two trusts, by name", multi, "", false, []node{{"RJ1", 0}, {"R0A", 0}}, nil},
			{"supplier rep", e.as(t, scope.SupplierRep, "SUP-X"), "", false, []node{{"SUP-X", 0}}, nil},
			{"no grants", scope.Scope{}, "", false, []node{}, nil},
			// Suppliers come after the NHS tree whatever their name.
			{"children of ENG", nat, "ENG", false, []node{{"Y56", 1}, {"Y62", 1}, {"SUP-X", 0}}, nil},
			{"closed children are left out and not counted", nat, "QKK", false, []node{{"RJ1", 0}, {"RJZ", 0}}, nil},
			{"closed children on request", nat, "QKK", true, []node{{"RJX", 0}, {"RJ1", 0}, {"RJZ", 0}}, nil},
			{"closed counted on request", nat, "Y56", true, []node{{"QKK", 3}}, nil},
			{"region lead inside", e.as(t, scope.RegionLead, "Y56"), "QKK", false, []node{{"RJ1", 0}, {"RJZ", 0}}, nil},
			{"outside scope", e.as(t, scope.RegionLead, "Y56"), "QOP", false, nil, fault.ErrNotFound},
			{"unknown parent", nat, "NOPE", false, nil, fault.ErrNotFound},
		}
		for _, c := range cases {
			got, err := e.svc.Children(ctx, c.sc, c.parent, org.View{Closed: c.closed})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if fmt.Sprint(nodes(got)) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want %v", c.name, nodes(got), c.want)
			}
		}
	})
}

func strp(s string) *string { return &s }

func TestUpdateRenames(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.clk.Advance(time.Hour)
		admin := e.as(t, scope.OrgAdmin, "RJ1")
		closed := org.Closed
		pop := int64(12345)
		got, err := e.svc.Update(ctx, admin, "RJ1", org.Patch{Name: strp("Evelina Trust"), Postcode: strp("SE1 7EH"), Population: &pop})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Evelina Trust" || got.Postcode != "SE1 7EH" || got.Population != 12345 || got.Path != "/ENG/Y56/QKK/RJ1/" || got.UpdatedAt != "2025-04-01T09:00:00Z" {
			t.Errorf("Update = %+v", got)
		}
		if stored, _ := e.svc.Get(ctx, nat, "RJ1"); stored != got {
			t.Errorf("stored %+v, returned %+v", stored, got)
		}
		// The search follows the new name.
		if found, _, _ := e.svc.List(ctx, nat, org.ListFilter{Query: "evelina"}); !slices.Equal(codesOf(found), []string{"RJ1"}) {
			t.Errorf("query for the new name = %v", codesOf(found))
		}
		if found, _, _ := e.svc.List(ctx, nat, org.ListFilter{Query: "guy's"}); len(found) != 0 {
			t.Errorf("query for the old name = %v", codesOf(found))
		}
		es := auditEntries(t, e, "org.update")
		if len(es) != 1 || es[0].ObjectID != "RJ1" || es[0].Actor != admin.Email {
			t.Fatalf("org.update entries = %+v", es)
		}
		var before, after org.Org
		json.Unmarshal(es[0].Before, &before)
		json.Unmarshal(es[0].After, &after)
		if before.Name != "Guy's and St Thomas' NHS Foundation Trust" || after.Name != "Evelina Trust" {
			t.Errorf("audit before %q after %q", before.Name, after.Name)
		}

		if _, err := e.svc.Update(ctx, nat, "RJZ", org.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		if o, _ := e.svc.Get(ctx, nat, "RJZ"); o.Status != org.Closed {
			t.Errorf("RJZ status %s after closing", o.Status)
		}

		bad := org.Status("gone")
		for _, c := range []struct {
			name  string
			sc    scope.Scope
			code  string
			p     org.Patch
			check func(error)
		}{
			{"empty name", nat, "RJ1", org.Patch{Name: strp(" ")}, func(err error) { wantValidation(t, err, "name", "required") }},
			{"bad status", nat, "RJ1", org.Patch{Status: &bad}, func(err error) { wantValidation(t, err, "status", "active or closed") }},
			{"analyst may read but not change", e.as(t, scope.OrgAnalyst, "RJ1"), "RJ1", org.Patch{Name: strp("X")}, func(err error) {
				if !errors.Is(err, fault.ErrForbidden) {
					t.Errorf("analyst update = %v, want fault.ErrForbidden", err)
				}
			}},
			{"outside scope", admin, "R0A", org.Patch{Name: strp("X")}, func(err error) {
				if !errors.Is(err, fault.ErrNotFound) {
					t.Errorf("update outside scope = %v, want ErrNotFound", err)
				}
			}},
			{"unknown", nat, "NOPE", org.Patch{Name: strp("X")}, func(err error) {
				if !errors.Is(err, fault.ErrNotFound) {
					t.Errorf("update of an unknown organisation = %v, want ErrNotFound", err)
				}
			}},
		} {
			_, err := e.svc.Update(ctx, c.sc, c.code, c.p)
			c.check(err)
		}
		if o, _ := e.svc.Get(ctx, nat, "RJ1"); o.Name != "Evelina Trust" || o.Status != org.Active {
			t.Errorf("refused updates changed RJ1: %+v", o)
		}
		if n := len(auditEntries(t, e, "org.update")); n != 2 {
			t.Errorf("%d org.update entries, want 2", n)
		}
	})
}

func TestUpdateMovesSubtree(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.tree(t)
		e.create(t, nat, org.Org{Code: "RJ1A", Name: "Site A", Type: org.OtherProvider, Parent: "RJ1"})
		y56 := e.as(t, scope.RegionLead, "Y56")
		y62 := e.as(t, scope.RegionLead, "Y62")

		// A region lead cannot move an organisation into another region.
		_, err := e.svc.Update(ctx, y56, "RJ1", org.Patch{Parent: strp("QOP")})
		wantValidation(t, err, "parent", "organisation QOP not found")
		// Nobody can move an organisation under itself.
		_, err = e.svc.Update(ctx, nat, "QKK", org.Patch{Parent: strp("RJ1A")})
		wantValidation(t, err, "parent", "own subtree")
		_, err = e.svc.Update(ctx, nat, "QKK", org.Patch{Parent: strp("QKK")})
		wantValidation(t, err, "parent", "its own parent")
		_, err = e.svc.Update(ctx, nat, "QKK", org.Patch{Parent: strp("NOPE")})
		wantValidation(t, err, "parent", "organisation NOPE not found")
		if p, _ := e.svc.PathOf(ctx, "RJ1A"); p != "/ENG/Y56/QKK/RJ1/RJ1A/" {
			t.Fatalf("refused moves changed paths: RJ1A at %s", p)
		}

		// The national admin moves QKK, with its trusts and their sites, to Y62.
		moved, err := e.svc.Update(ctx, nat, "QKK", org.Patch{Parent: strp("y62")})
		if err != nil {
			t.Fatal(err)
		}
		if moved.Parent != "Y62" || moved.Path != "/ENG/Y62/QKK/" {
			t.Errorf("moved QKK = %+v", moved)
		}
		want := map[string][3]string{ // path, region, ICB
			"QKK":  {"/ENG/Y62/QKK/", "Y62", "QKK"},
			"RJ1":  {"/ENG/Y62/QKK/RJ1/", "Y62", "QKK"},
			"RJZ":  {"/ENG/Y62/QKK/RJZ/", "Y62", "QKK"},
			"RJ1A": {"/ENG/Y62/QKK/RJ1/RJ1A/", "Y62", "QKK"},
			"R0A":  {"/ENG/Y62/QOP/R0A/", "Y62", "QOP"},
			"Y56":  {"/ENG/Y56/", "Y56", ""},
		}
		for code, w := range want {
			o, err := e.svc.Lookup(ctx, code)
			if err != nil || o.Path != w[0] || o.Region != w[1] || o.ICB != w[2] {
				t.Errorf("after the move %s: path %s region %q icb %q (%v), want %v", code, o.Path, o.Region, o.ICB, err, w)
			}
		}

		// The leads' scopes follow the tree.
		if got, _, _ := e.svc.List(ctx, y56, org.ListFilter{}); !slices.Equal(codesOf(got), []string{"Y56"}) {
			t.Errorf("Y56 lead now lists %v, want only Y56", codesOf(got))
		}
		if _, err := e.svc.Get(ctx, y56, "RJ1"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("Y56 lead Get RJ1 after the move = %v, want ErrNotFound", err)
		}
		if got, _, _ := e.svc.List(ctx, y62, org.ListFilter{}); !slices.Equal(codesOf(got), []string{"QKK", "QOP", "R0A", "RJ1", "RJ1A", "RJZ", "Y62"}) {
			t.Errorf("Y62 lead now lists %v", codesOf(got))
		}
		if kids, _ := e.svc.Children(ctx, nat, "Y62", org.View{}); len(kids) != 2 {
			t.Errorf("Y62 has %d children after the move, want 2", len(kids))
		}
		if as, _ := e.svc.Ancestors(ctx, nat, "RJ1A"); !slices.Equal(codesOf(as), []string{"ENG", "Y62", "QKK", "RJ1"}) {
			t.Errorf("RJ1A ancestors = %v", codesOf(as))
		}

		// Now the Y62 lead may move a trust between its ICBs; its ICB follows.
		if _, err := e.svc.Update(ctx, y62, "RJ1", org.Patch{Parent: strp("QOP")}); err != nil {
			t.Fatal(err)
		}
		for code, w := range map[string][3]string{
			"RJ1":  {"/ENG/Y62/QOP/RJ1/", "Y62", "QOP"},
			"RJ1A": {"/ENG/Y62/QOP/RJ1/RJ1A/", "Y62", "QOP"},
			"RJZ":  {"/ENG/Y62/QKK/RJZ/", "Y62", "QKK"},
		} {
			o, _ := e.svc.Lookup(ctx, code)
			if o.Path != w[0] || o.Region != w[1] || o.ICB != w[2] {
				t.Errorf("after the second move %s: path %s region %q icb %q, want %v", code, o.Path, o.Region, o.ICB, w)
			}
		}
		es := auditEntries(t, e, "org.update")
		if len(es) != 2 {
			t.Fatalf("%d org.update entries, want 2", len(es))
		}
		var before, after org.Org
		json.Unmarshal(es[1].Before, &before)
		json.Unmarshal(es[1].After, &after)
		if before.Parent != "Y56" || after.Parent != "Y62" {
			t.Errorf("move audited as %s → %s", before.Parent, after.Parent)
		}
	})
}

func TestNewValidatesOptions(t *testing.T) {
	db := storetest.SQLite(t, org.Migrations(), audit.Migrations())
	if _, err := org.New(org.Options{Audit: audit.New(db, nil)}); err == nil || !strings.Contains(err.Error(), "Options.DB") {
		t.Errorf("New without DB = %v", err)
	}
	if _, err := org.New(org.Options{DB: db}); err == nil || !strings.Contains(err.Error(), "Options.Audit") {
		t.Errorf("New without Audit = %v", err)
	}
	svc, err := org.New(org.Options{DB: db, Audit: audit.New(db, nil)})
	if err != nil {
		t.Fatal(err)
	}
	// EnsureRoot is idempotent.
	for range 2 {
		if err := svc.EnsureRoot(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := svc.All(t.Context())
	if len(all) != 1 || all[0].Code != org.RootCode || all[0].Type != org.National || all[0].Path != "/ENG/" {
		t.Errorf("after EnsureRoot twice: %+v", all)
	}
}

// Every committed change raises the generation, so another process can tell
// the tree changed; a refused change and a dry run do not.
func TestGenerationCountsCommittedChanges(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		gen := func() int64 {
			t.Helper()
			g, err := e.svc.Generation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		g0 := gen()
		if _, err := e.svc.Create(ctx, nat, org.Org{Code: "Y56", Name: "London", Type: org.Region}); err != nil {
			t.Fatal(err)
		}
		g1 := gen()
		if g1 <= g0 {
			t.Errorf("create: generation %d → %d", g0, g1)
		}
		if _, err := e.svc.Create(ctx, nat, org.Org{Code: "Y56", Name: "London again", Type: org.Region}); err == nil {
			t.Fatal("duplicate created")
		}
		if gen() != g1 {
			t.Errorf("a refused create changed the generation")
		}
		name := "NHS England London"
		if _, err := e.svc.Update(ctx, nat, "Y56", org.Patch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		g2 := gen()
		if g2 <= g1 {
			t.Errorf("update: generation %d → %d", g1, g2)
		}
		if _, err := e.svc.Import(ctx, nat, fixtures, org.ImportOptions{DryRun: true}); err != nil {
			t.Fatal(err)
		}
		if gen() != g2 {
			t.Errorf("a dry-run import changed the generation")
		}
		if _, err := e.svc.Import(ctx, nat, fixtures, org.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if gen() <= g2 {
			t.Errorf("import: generation %d → %d", g2, gen())
		}
	})
}
