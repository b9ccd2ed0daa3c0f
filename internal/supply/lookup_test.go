package supply

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestImpactRequestRule: the one rule for a blast-radius question, as the
// API, the pages and the command line ask it.
func TestImpactRequestRule(t *testing.T) {
	for _, c := range []struct {
		name                       string
		supplier, product, cve, og string
		limit                      int
		field, reason              string // the *fault.Invalid wanted; "" for none
		want                       ImpactRequest
	}{
		{name: "supplier", supplier: "  demo-path ", want: ImpactRequest{Query: Query{Supplier: "demo-path"}}},
		{name: "cve in any case", cve: " cve-2024-3400", want: ImpactRequest{Query: Query{CVE: "CVE-2024-3400"}}},
		{name: "org with limit", og: "rj1", limit: 5, want: ImpactRequest{Org: "rj1", Limit: 5}},
		{name: "nothing", field: "supplier", reason: "give exactly one of supplier, product, cve or org"},
		{name: "only spaces", supplier: "   ", field: "supplier", reason: "give exactly one of"},
		{name: "two things", supplier: "X", product: "Y", field: "product", reason: "ask about one thing at a time"},
		{name: "org and cve", cve: "CVE-2024-3400", og: "RJ1", field: "org", reason: "one thing at a time"},
		{name: "not a cve", cve: "log4shell", field: "cve", reason: `"log4shell" is not a CVE ID: want CVE-YYYY-NNNN`},
		{name: "short cve", cve: "CVE-24-1", field: "cve", reason: "is not a CVE ID"},
		{name: "negative limit", product: "P", limit: -1, field: "limit", reason: "want a number from 0"},
		{name: "huge limit", product: "P", limit: MaxImpactLimit + 1, field: "limit", reason: "want a number from 0"},
		{name: "control character", supplier: "A\x1bB", field: "supplier", reason: "control character"},
		{name: "too long", product: strings.Repeat("x", 300), field: "product", reason: "characters long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewImpactRequest(c.supplier, c.product, c.cve, c.og, c.limit)
			if c.field == "" {
				if err != nil || r != c.want {
					t.Fatalf("= %+v, %v; want %+v", r, err, c.want)
				}
				return
			}
			var inv *fault.Invalid
			if !errors.As(err, &inv) || inv.Field != c.field || !strings.Contains(inv.Reason, c.reason) {
				t.Fatalf("error %v (%T), want *fault.Invalid on %s: …%s…", err, err, c.field, c.reason)
			}
			if fault.Status(err) != 400 {
				t.Errorf("status %d", fault.Status(err))
			}
		})
	}
	r, _ := NewImpactRequest("", "", "", "RJ1", 0)
	if !r.Reverse() || r.Empty() {
		t.Errorf("org request: reverse %v empty %v", r.Reverse(), r.Empty())
	}
	if k, v := r.Field(); k != KindOrg || v != "RJ1" {
		t.Errorf("field = %s %s", k, v)
	}
	if (Query{CVE: "CVE-2024-3400"}).Verb() != "exploited" || (Query{Supplier: "X"}).Verb() != "compromised" {
		t.Error("a CVE is exploited, a supplier or product compromised")
	}
}

// TestLookupForgives: IDs in any case and with spaces, names ignoring
// case, spaces and punctuation, for every kind of field.
func TestLookupForgives(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		for _, c := range []struct {
			kind      Kind
			text, id  string
			wantLabel string
		}{
			{KindSupplier, "SYNNOVIS", "SYNNOVIS", "Synnovis Analytics LLP (SYNNOVIS)"},
			{KindSupplier, "synnovis", "SYNNOVIS", ""},
			{KindSupplier, "  Synnovis   Analytics LLP ", "SYNNOVIS", ""},
			{KindSupplier, "synnovis analytics llp", "SYNNOVIS", ""},
			{KindSupplier, "nhs-rtd", "NHS-RTD", ""},
			{KindSupplier, "nhs rtd", "NHS-RTD", ""},
			{KindSupplier, "r1h", "BARTSPATH", ""}, // an NHS body acting as a supplier, by ODS code
			{KindProduct, "syn-lims", "SYN-LIMS", ""},
			{KindProduct, "Falcon Sensor", "FALCON", ""},
			{KindOrg, "rj1", "RJ1", ""},
			{KindOrg, "guy's and st thomas' nhs foundation trust", "RJ1", ""},
			{KindOrg, "Guys and St Thomas NHS Foundation Trust", "RJ1", ""},
			{KindService, "GP clinical system", "gp-clinical", "GP clinical system (gp-clinical)"},
			{KindService, "GP-Clinical", "gp-clinical", ""},
			{KindService, "pathology", "pathology", ""},
			{KindCVE, "cve-2099-0001", "CVE-2099-0001", ""},
		} {
			m, err := e.svc.Lookup(ctx, national, c.kind, c.text)
			if err != nil || m.ID != c.id || m.Kind != c.kind {
				t.Errorf("Lookup(%s, %q) = %+v, %v; want %s", c.kind, c.text, m, err, c.id)
			}
			if c.wantLabel != "" && m.Label() != c.wantLabel {
				t.Errorf("label %q, want %q", m.Label(), c.wantLabel)
			}
		}
		// The questions themselves take the same forgiving fields.
		res, err := e.svc.Impact(ctx, national, Query{Supplier: "synnovis analytics llp"})
		if err != nil || res.Query.Supplier != "SYNNOVIS" || res.Subject != "Synnovis Analytics LLP" || len(res.Affected) != 6 {
			t.Fatalf("impact by name: %+v %v", res.Query, err)
		}
		if h := res.Headline(); h != "If Synnovis Analytics LLP is compromised" {
			t.Errorf("headline %q", h)
		}
		res, err = e.svc.Impact(ctx, national, Query{CVE: "cve-2099-0001"})
		if err != nil || res.Headline() != "If CVE-2099-0001 is exploited" {
			t.Errorf("cve headline %q %v", res.Headline(), err)
		}
		dep, err := e.svc.DependsOn(ctx, national, "practice four (bromley)")
		if err != nil || dep.Org.ODS != "G85004" {
			t.Errorf("depends on by name: %+v %v", dep.Org, err)
		}
		g, err := e.svc.Neighbourhood(ctx, national, "supplier:synnovis", 1)
		if err != nil || g.Center != "supplier:SYNNOVIS" {
			t.Errorf("neighbourhood: %q %v", g.Center, err)
		}
		cr, err := e.svc.Concentration(ctx, national, "GP Clinical System", ByICB)
		if err != nil || cr.Service != "gp-clinical" {
			t.Errorf("concentration by label: %q %v", cr.Service, err)
		}
		ds, err := e.svc.ListDeployments(ctx, national, DeploymentFilter{OrgODS: "rj1", ProductID: "syn-lims", Service: "Pathology"})
		if err != nil || len(ds) != 1 || ds[0].OrgODS != "RJ1" {
			t.Errorf("deployments by forgiving filters: %+v %v", ds, err)
		}
		if sp, err := e.svc.GetSupplier(ctx, national, "synnovis"); err != nil || sp.ID != "SYNNOVIS" {
			t.Errorf("supplier read by ID in another case: %+v %v", sp, err)
		}
		if p, err := e.svc.GetProduct(ctx, national, "Falcon Sensor"); err != nil || p.ID != "FALCON" {
			t.Errorf("product read by name: %+v %v", p, err)
		}
		if _, err := e.svc.GetSupplier(ctx, grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/"), "synnovis"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a representative reads another supplier in another case: %v", err)
		}
	})
}

// TestLookupMissSuggests: a miss is not found, with suggestions ranked
// from the graph: near misses, prefixes, words.
func TestLookupMissSuggests(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		for _, c := range []struct {
			kind   Kind
			text   string
			first  string   // the best suggestion
			others []string // also suggested
		}{
			{KindSupplier, "Synovis", "SYNNOVIS", nil},           // a letter missed
			{KindSupplier, "synnovsi", "SYNNOVIS", nil},          // two swapped
			{KindSupplier, "synn", "SYNNOVIS", nil},              // the start of an ID
			{KindSupplier, "Synnovis Analytic", "SYNNOVIS", nil}, // the start of a name's words
			{KindSupplier, "crowdstrik", "CROWDSTRIKE", nil},     // near the ID
			{KindSupplier, "SYNLB", "SYNLAB", nil},               // one error from an ID
			{KindSupplier, "amazon", "AWS", nil},                 // a word of the name
			{KindProduct, "pathology", "", []string{"SYN-LIMS", "BARTS-LIMS"}},
			{KindProduct, "falcn sensor", "FALCON", nil},
			{KindOrg, "kings college", "RJZ", nil},
			{KindOrg, "practise four", "G85004", nil},
			{KindService, "gp clinicl", "gp-clinical", nil},
		} {
			_, err := e.svc.Lookup(ctx, national, c.kind, c.text)
			var m *Miss
			if !errors.As(err, &m) || !errors.Is(err, fault.ErrNotFound) || fault.Status(err) != 404 {
				t.Errorf("Lookup(%s, %q) = %v, want a *Miss (not found)", c.kind, c.text, err)
				continue
			}
			var ids []string
			for _, s := range m.Suggestions {
				ids = append(ids, s.ID)
			}
			if len(ids) == 0 || (c.first != "" && ids[0] != c.first) {
				t.Errorf("Lookup(%s, %q) suggests %v, want %s first", c.kind, c.text, ids, c.first)
			}
			for _, o := range c.others {
				if !strings.Contains(strings.Join(ids, " "), o) {
					t.Errorf("Lookup(%s, %q) suggests %v, want %s among them", c.kind, c.text, ids, o)
				}
			}
		}
		_, err := e.svc.Lookup(ctx, national, KindSupplier, "Synovis")
		if got := err.Error(); got != `no supplier called "Synovis" — did you mean Synnovis Analytics LLP (SYNNOVIS)?` {
			t.Errorf("miss says %q", got)
		}
		// Nothing like it: a miss without suggestions.
		_, err = e.svc.Lookup(ctx, national, KindSupplier, "zzqx")
		var m *Miss
		if !errors.As(err, &m) || len(m.Suggestions) != 0 || err.Error() != `no supplier called "zzqx"` {
			t.Errorf("no match: %v", err)
		}
		// A CVE field refuses what is not a CVE ID.
		_, err = e.svc.Lookup(ctx, national, KindCVE, "heartbleed")
		var inv *fault.Invalid
		if !errors.As(err, &inv) || inv.Field != "cve" {
			t.Errorf("cve: %v", err)
		}
		// The questions miss the same way.
		_, err = e.svc.Impact(ctx, national, Query{Product: "falcn"})
		if !errors.As(err, &m) || len(m.Suggestions) == 0 || m.Suggestions[0].ID != "FALCON" || m.Kind != KindProduct {
			t.Errorf("impact miss: %v", err)
		}
		_, err = e.svc.DependsOn(ctx, national, "RJ11")
		if !errors.As(err, &m) || len(m.Suggestions) == 0 || m.Suggestions[0].ID != "RJ1" {
			t.Errorf("depends-on miss: %v", err)
		}
	})
}

// TestLookupRanking: exact before case-folded before prefix before words
// before substring before near misses; with nothing typed, the most used
// first and an organisation's own first.
func TestLookupRanking(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		ids := func(ms []Match) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.ID)
			}
			return out
		}
		ms, err := e.svc.Suggest(ctx, national, KindSupplier, "syn", 10)
		if err != nil || !reflect.DeepEqual(ids(ms), []string{"SYNNOVIS", "SYNLAB"}) {
			// Both start with SYN; the one whose products more organisations deploy first.
			t.Errorf("syn: %v %v", ids(ms), err)
		}
		ms, _ = e.svc.Suggest(ctx, national, KindProduct, "", 3)
		if len(ms) != 3 || ms[0].ID != "SYN-LIMS" { // deployed by six organisations
			t.Errorf("most used products first: %v", ids(ms))
		}
		ms, _ = e.svc.Suggest(ctx, national, KindSupplier, "", 100)
		if len(ms) != 10 {
			t.Errorf("every supplier when nothing is typed: %v", ids(ms))
		}
		ms, _ = e.svc.Suggest(ctx, national, KindSupplier, "emis", 1)
		if len(ms) != 1 || ms[0].ID != "EMIS" {
			t.Errorf("n bounds the answer: %v", ids(ms))
		}
		trust := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		ms, _ = e.svc.Suggest(ctx, trust, KindOrg, "", 10)
		if len(ms) != 1 || ms[0].ID != "RJ1" {
			t.Errorf("a trust's organisations: %v", ids(ms))
		}
		lead := grant(scope.RegionLead, "Y56", "/ENG/Y56/")
		ms, _ = e.svc.Suggest(ctx, lead, KindOrg, "", 3)
		if len(ms) == 0 || ms[0].ID != "Y56" {
			t.Errorf("the lead's own region first: %v", ids(ms))
		}
		ms, _ = e.svc.Suggest(ctx, national, KindCVE, "cve-2099", 5)
		if !reflect.DeepEqual(ids(ms), []string{"CVE-2099-0001"}) {
			t.Errorf("cves: %v", ids(ms))
		}
		if _, err := e.svc.Suggest(ctx, national, KindSupplier, "a\x00b", 5); fault.Status(err) != 400 {
			t.Errorf("a NUL in the text: %v", err)
		}
	})
}

// TestLookupScope: suggestions and misses offer only what the caller may
// see. A supplier's representative typing another supplier's name is
// offered nothing of it; a trust's analyst is offered no other trust.
func TestLookupScope(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		rep := grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/")
		// leaks fails if the suggestions (of err, a *Miss, and ms) or any
		// other error's text name one of words. A miss echoes what was
		// typed, which is the caller's own.
		leaks := func(what string, err error, ms []Match, words ...string) {
			t.Helper()
			var m *Miss
			text := ""
			if errors.As(err, &m) {
				ms = append(ms, m.Suggestions...)
			} else if err != nil {
				text = err.Error()
			}
			for _, s := range ms {
				text += " " + s.ID + " " + s.Name
			}
			for _, w := range words {
				if strings.Contains(strings.ToUpper(text), strings.ToUpper(w)) {
					t.Errorf("%s offers %q: %s", what, w, text)
				}
			}
		}
		for _, typed := range []string{"Synnovis", "synovis", "Synnovis Analytics LLP", "syn", "SYNLAB", "crowd", "Amazon"} {
			_, err := e.svc.Lookup(ctx, rep, KindSupplier, typed)
			if !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("rep looking up %q: %v, want not found", typed, err)
			}
			leaks("rep lookup "+typed, err, nil, "SYNNOVIS", "Synnovis Analytics", "SYNLAB", "CROWDSTRIKE", "Amazon")
			ms, err := e.svc.Suggest(ctx, rep, KindSupplier, typed, 50)
			leaks("rep suggestions "+typed, err, ms, "SYNNOVIS", "Synnovis Analytics", "SYNLAB", "CROWDSTRIKE", "Amazon")
			ms, err = e.svc.Suggest(ctx, rep, KindProduct, typed, 50)
			leaks("rep product suggestions "+typed, err, ms, "SYN-LIMS", "Synnovis pathology", "FALCON", "AWS")
			_, err = e.svc.Impact(ctx, rep, Query{Supplier: typed})
			leaks("rep impact "+typed, err, nil, "SYNNOVIS", "Synnovis Analytics", "SYNLAB", "CROWDSTRIKE", "Amazon")
		}
		// Their own supplier resolves and is suggested.
		if m, err := e.svc.Lookup(ctx, rep, KindSupplier, "emis health"); err != nil || m.ID != "EMIS" {
			t.Errorf("rep's own supplier: %+v %v", m, err)
		}
		ms, _ := e.svc.Suggest(ctx, rep, KindSupplier, "", 50)
		if len(ms) != 1 || ms[0].ID != "EMIS" {
			t.Errorf("rep's suggestions: %v", ms)
		}
		// No organisations but their own tenant, and no services, for a
		// representative.
		ms, _ = e.svc.Suggest(ctx, rep, KindOrg, "", 50)
		ms2, _ := e.svc.Suggest(ctx, rep, KindService, "", 50)
		if len(ms) != 1 || ms[0].ID != "S-EMIS" || len(ms2) != 0 {
			t.Errorf("rep offered organisations %v or services %v", ms, ms2)
		}
		_, err := e.svc.DependsOn(ctx, rep, "RJ1")
		leaks("rep depends-on", err, nil, "Guy")

		trust := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		for _, typed := range []string{"RJZ", "rjz", "King's College Hospital NHS Foundation Trust", "kings", "kngs college", "practice"} {
			_, err := e.svc.Lookup(ctx, trust, KindOrg, typed)
			if !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("trust looking up %q: %v", typed, err)
			}
			leaks("trust lookup "+typed, err, nil, "RJZ", "King", "G8500", "Practice")
			ms, err := e.svc.Suggest(ctx, trust, KindOrg, typed, 50)
			leaks("trust suggestions "+typed, err, ms, "RJZ", "King", "G8500", "Practice")
			_, err = e.svc.DependsOn(ctx, trust, typed)
			leaks("trust depends-on "+typed, err, nil, "RJZ", "King", "G8500", "Practice")
		}
		if m, err := e.svc.Lookup(ctx, trust, KindOrg, "guys"); err == nil || m.ID != "" {
			t.Errorf("a prefix does not resolve: %+v %v", m, err)
		}
	})
}

// TestSearchRegister: register search from the graph, as the register
// page shows it, within the caller's view.
func TestSearchRegister(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		ids := func(r RegisterSearch) string {
			var out []string
			for _, x := range r.Rows {
				out = append(out, x.ID)
			}
			return strings.Join(out, " ")
		}
		for q, want := range map[string]string{
			"synn":           "SYNNOVIS",
			"OC437066":       "SYNNOVIS",    // Companies House number
			"falcon":         "CROWDSTRIKE", // a product's name
			"barts-lims":     "BARTSPATH",   // a product's ID
			"r1h":            "BARTSPATH",   // ODS code
			"phoenix partn":  "TPP",
			"":               "AWS BARTSPATH CROWDSTRIKE EMIS NHS-RTD ORACLE PACSCO SYNLAB SYNNOVIS TPP",
			"no such thing!": "",
		} {
			r, err := e.svc.SearchRegister(ctx, national, q, 0)
			if err != nil || ids(r) != want || r.Total != len(r.Rows) {
				t.Errorf("search %q = %q (total %d), %v; want %q", q, ids(r), r.Total, err, want)
			}
		}
		r, _ := e.svc.SearchRegister(ctx, national, "synnovis", 0)
		if len(r.Rows) != 1 || r.Rows[0].ParentName != "SYNLAB AG" || r.Rows[0].CompaniesHouseNumber != "OC437066" ||
			!reflect.DeepEqual(r.Rows[0].Products, []ProductRef{{ID: "SYN-LIMS", Name: "Synnovis pathology LIMS and managed service"}}) || !r.Rows[0].DesignatedCritical {
			t.Errorf("row: %+v", r.Rows)
		}
		r, _ = e.svc.SearchRegister(ctx, national, "", 3)
		if len(r.Rows) != 3 || r.Total != 10 {
			t.Errorf("limit: %d rows of %d", len(r.Rows), r.Total)
		}
		rep := grant(scope.SupplierRep, "S-SYN", "/ENG/S-SYN/")
		r, _ = e.svc.SearchRegister(ctx, rep, "", 0)
		if ids(r) != "SYNLAB SYNNOVIS" {
			t.Errorf("rep register: %q", ids(r))
		}
		if r, _ = e.svc.SearchRegister(ctx, rep, "emis", 0); r.Total != 0 {
			t.Errorf("rep finds another supplier: %q", ids(r))
		}
		if _, err := e.svc.SearchRegister(ctx, national, strings.Repeat("a ", 100), 0); fault.Status(err) != 400 {
			t.Errorf("an unbounded search: %v", err)
		}
	})
}

// TestResultNames: a blast radius and a dependency list name every node
// they mention, so no reader looks names up.
func TestResultNames(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		for _, q := range []Query{{Supplier: "SYNLAB"}, {Product: "FALCON"}, {CVE: "CVE-2099-0001"}, {Supplier: "AWS"}} {
			res, err := e.svc.Impact(ctx, national, q)
			if err != nil {
				t.Fatal(err)
			}
			nodes := append([]string(nil), res.Start...)
			for _, a := range res.Affected {
				for _, p := range a.Paths {
					nodes = append(nodes, p...)
				}
			}
			for _, n := range nodes {
				if name := res.Names[n]; name == "" || (!strings.HasPrefix(n, "cve:") && name == strings.SplitN(n, ":", 2)[1]) {
					t.Errorf("%+v: node %s named %q", q, n, name)
				}
			}
		}
		res, _ := e.svc.Impact(ctx, national, Query{Supplier: "SYNLAB"})
		if res.Names["supplier:SYNNOVIS"] != "Synnovis Analytics LLP" || res.Names["org:RJ1"] != "Guy's and St Thomas' NHS Foundation Trust" {
			t.Errorf("names: %v", res.Names)
		}
		dep, _ := e.svc.DependsOn(ctx, national, "G85004")
		for _, p := range dep.Products {
			for _, path := range p.Paths {
				for _, n := range path {
					if dep.Names[n] == "" {
						t.Errorf("depends-on node %s unnamed", n)
					}
				}
			}
			if p.GroupName == "" {
				t.Errorf("product %s has no group name", p.ID)
			}
		}
	})
}

// TestLookupTypoBeforeLongerIDs: one typing error from a whole ID ranks
// before the longer IDs that merely start with what was typed.
func TestLookupTypoBeforeLongerIDs(t *testing.T) {
	reg := &Register{}
	for _, id := range []string{"S00017", "S00170", "S00171", "S00172"} {
		reg.Suppliers = append(reg.Suppliers, Supplier{ID: id, Name: "Supplier " + id})
	}
	g := buildGraph(nil, reg)
	_, err := g.resolve(g.viewFor(national), KindSupplier, "s0017")
	var m *Miss
	if !errors.As(err, &m) || len(m.Suggestions) != 4 || m.Suggestions[0].ID != "S00017" {
		t.Errorf("s0017: %v", err)
	}
}

func TestDistanceAndLabels(t *testing.T) {
	for _, c := range []struct {
		a, b string
		k    int
		want int
	}{
		{"SYNOVIS", "SYNNOVIS", 2, 1}, {"SYNNOVSI", "SYNNOVIS", 2, 1}, {"ABC", "ABC", 0, 0}, {"KITTEN", "SITTING", 3, 3},
		{"KITTEN", "SITTING", 2, 3}, {"A", "ABCDEF", 2, 3},
	} {
		if got := distance(c.a, c.b, c.k); got != c.want {
			t.Errorf("distance(%s, %s, %d) = %d, want %d", c.a, c.b, c.k, got, c.want)
		}
	}
	for slug, want := range map[string]string{"gp-clinical": "GP clinical system", "epr": "Electronic patient record", "records-storage": "Records storage",
		"new-thing": "New thing", "": ""} {
		if got := ServiceLabel(slug); got != want {
			t.Errorf("ServiceLabel(%q) = %q, want %q", slug, got, want)
		}
	}
	if fold("Guy's and St Thomas' (NHS)") != "GUYS AND ST THOMAS NHS" || squash("demo-path") != "DEMOPATH" || squash("S00017") != "S00017" {
		t.Errorf("fold %q squash %q", fold("Guy's and St Thomas' (NHS)"), squash("demo-path"))
	}
}

func TestGroupPaths(t *testing.T) {
	p := func(s string) []string { return strings.Split(s, " ") }
	paths := [][]string{p("S A X O"), p("S A Y O"), p("S B O"), p("S A X O"), p("C D O")}
	got := GroupPaths(paths)
	want := []PathTree{
		{Steps: []string{"S"}, Branches: []PathTree{
			{Steps: []string{"A"}, Branches: []PathTree{
				{Steps: []string{"X", "O"}, Ends: []int{0, 3}},
				{Steps: []string{"Y", "O"}, Ends: []int{1}},
			}},
			{Steps: []string{"B", "O"}, Ends: []int{2}},
		}},
		{Steps: []string{"C", "D", "O"}, Ends: []int{4}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GroupPaths = %+v\nwant %+v", got, want)
	}
	// One path is one run of steps; forty paths through one product share
	// their start once.
	if g := GroupPaths([][]string{p("A B C")}); len(g) != 1 || len(g[0].Steps) != 3 || len(g[0].Branches) != 0 {
		t.Errorf("one path: %+v", g)
	}
	var many [][]string
	for i := range 40 {
		many = append(many, []string{"supplier:X", "product:P", "product:Q" + strings.Repeat("x", i), "org:O"})
	}
	if g := GroupPaths(many); len(g) != 1 || len(g[0].Steps) != 2 || len(g[0].Branches) != 40 {
		t.Errorf("forty paths: %d trees, %d shared steps", len(g), len(g[0].Steps))
	}
	if GroupPaths(nil) != nil {
		t.Error("no paths, no trees")
	}
}
