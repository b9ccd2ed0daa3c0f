package web

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

var (
	tableTagRE = regexp.MustCompile(`<table\b[^>]*>`)
	tdRE       = regexp.MustCompile(`<td\b[^>]*>`)
	numCellRE  = regexp.MustCompile(`<td\b[^>]*class="num"[^>]*>`)
	sectionRE  = regexp.MustCompile(`(?s)<section id="([a-z-]+)"`)
)

// checkDataTables: every table is marked for the frame's sorting and
// filtering, every cell names its column for the phone layout, and
// numeric cells carry their raw number.
func checkDataTables(t *testing.T, what, body string) {
	t.Helper()
	for _, tag := range tableTagRE.FindAllString(body, -1) {
		if !strings.Contains(tag, "data-table") {
			t.Errorf("%s: table without class data-table: %s", what, tag)
		}
	}
	for _, td := range tdRE.FindAllString(body, -1) {
		if !strings.Contains(td, "data-label=") {
			t.Errorf("%s: cell without data-label: %s", what, td)
		}
	}
	for _, td := range numCellRE.FindAllString(body, -1) {
		if !strings.Contains(td, "data-sort=") {
			t.Errorf("%s: numeric cell without data-sort: %s", what, td)
		}
	}
}

// sections lists the ids of a page's sections.
func sections(body string) string {
	var ids []string
	for _, m := range sectionRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return strings.Join(ids, " ")
}

// section returns the HTML of the section with this id.
func section(body, id string) string {
	i := strings.Index(body, `<section id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// Each role's home page has its own sections, filled from what the role
// may see: the estate's supply-chain risk for national and regional
// supply-chain managers, its own dependencies and exposure for a trust,
// its own products and who can see them for a supplier's representative,
// recent audit activity for an auditor.
func TestHomePerRole(t *testing.T) {
	e := newSupplyEnv(t)
	ctx := context.Background()
	// Without G85003's fallback the Synnovis chain stops every practice
	// and trust using pathology in South East London: a single point of
	// failure for the overview.
	if _, err := e.supply.PutDeployment(ctx, scope.System("test"), supply.Deployment{OrgODS: "G85003", ProductID: "SYN-LIMS", Service: "pathology", Criticality: supply.High}); err != nil {
		t.Fatal(err)
	}

	overview := "home-systemic home-spof home-hotspots home-changes"
	for _, c := range []struct {
		who, sections string
		want, not     []string
	}{
		{"nat@supply.test", overview, []string{
			"SYNLAB AG", `href="/suppliers/impact?supplier=CROWDSTRIKE"`, // systemic
			"Synnovis pathology LIMS and managed service", `<a href="/orgs/QKK">NHS South East London Integrated Care Board</a> <span class="code">(QKK)</span>`, // the single point, where
			"Newcastle Hospitals shared services",     // a hot spot in the North East (the gateway)
			"Deployment added or changed", "Import: ", // register changes
		}, []string{`id="home-own"`, `id="home-rep"`, `id="home-audit"`}},
		{"lead@supply.test", overview, []string{"SYNLAB AG", "Synnovis pathology LIMS and managed service", "(QKK)"},
			// Another region's markets and suppliers are not a London lead's.
			[]string{"Newcastle Hospitals shared services", "(QHM)", "Gateshead", `id="home-own"`}},
		{"gstt@supply.test", "org-depends org-exposure", []string{
			"What Guy&#39;s and St Thomas&#39; NHS Foundation Trust depends on", `<a href="/suppliers/p/SYN-LIMS">Synnovis pathology LIMS and managed service</a>`,
			`<a href="/suppliers/s/SYNLAB">SYNLAB AG</a>`, "Critical services without a fallback", "pathology",
		}, []string{`id="home-systemic"`, "King&#39;s College", "RJZ", "Also stops"}},
		{"rep@synnovis.test", "home-rep home-visibility home-rep-changes", []string{
			"Synnovis pathology LIMS and managed service", "Who can see what", "never you",
		}, []string{"Guy&#39;s", "RJ1", "King&#39;s", "G85001", "CrowdStrike", "EMIS", `id="home-systemic"`, `id="org-depends"`}},
		{"auditor@vigil.test", "home-audit", []string{"Recent audit activity", "supply.import", "signin"}, []string{`id="home-systemic"`}},
	} {
		c := c
		t.Run(strings.Split(c.who, "@")[0], func(t *testing.T) {
			p := e.signIn(c.who).get("/")
			wantStatus(t, "home", p, 200)
			if got := sections(p.body); got != c.sections {
				t.Errorf("sections %q, want %q", got, c.sections)
			}
			mustContain(t, c.who, p.body, c.want...)
			mustNotContain(t, c.who, p.body, c.not...)
			checkDataTables(t, c.who, p.body)
		})
	}
	// The single point names its area by name and code, and the national
	// overview's numbers go through phrase.
	p := e.signIn("nat@supply.test").get("/")
	if spof := section(p.body, "home-spof"); !strings.Contains(spof, "ICB: ") || !strings.Contains(spof, `data-sort="5"`) {
		t.Errorf("single points section:\n%s", spof)
	}
}

// An organisation's page connects it to the register: what it depends on
// with links to the supplier and product pages, its exposure, and its
// parent, ICB and region by name with their codes.
func TestOrgPageDependencies(t *testing.T) {
	e := newSupplyEnv(t)
	nat := e.signIn("nat@supply.test")
	p := nat.get("/orgs/G85001")
	wantStatus(t, "G85001", p, 200)
	if got := sections(p.body); got != "org-depends org-exposure" {
		t.Errorf("sections %q", got)
	}
	deps := section(p.body, "org-depends")
	mustContain(t, "depends", deps,
		`<a href="/suppliers/s/SYNLAB">SYNLAB AG</a>`, `<a href="/suppliers/p/EMIS-WEB">EMIS Web</a>`, `<a href="/suppliers/p/FALCON">Falcon sensor</a>`,
		"1 step away", "deployed directly", `href="/suppliers/impact?org=G85001"`)
	exp := section(p.body, "org-exposure")
	mustContain(t, "exposure", exp, "GP clinical system", "Pathology", "CVE-2099-0001", `<a href="/suppliers/p/AWS-LONDON">AWS eu-west-2</a>`)
	// Parent and region by name and code.
	mustContain(t, "details", p.body, `<a href="/orgs/QKK">NHS South East London Integrated Care Board</a> <span class="code">(QKK)</span>`,
		`<a href="/orgs/Y56">London</a> <span class="code">(Y56)</span>`, "8,000")
	checkDataTables(t, "G85001", p.body)

	// A practice's own analyst sees the same dependencies but not where a
	// single point stops a whole ICB (that is the supply-chain report's).
	trust := e.signIn("gstt@supply.test")
	p = trust.get("/orgs/RJ1")
	mustContain(t, "RJ1 for its analyst", section(p.body, "org-exposure"), "Synnovis pathology LIMS and managed service")
	mustNotContain(t, "RJ1 for its analyst", p.body, "Also stops")
	wantStatus(t, "RJZ for RJ1's analyst", trust.get("/orgs/RJZ"), 404)

	// Areas deploy nothing: their pages have no dependencies section.
	p = nat.get("/orgs/Y56")
	mustNotContain(t, "Y56", p.body, `id="org-depends"`)
	// A trust without deployments says so.
	p = nat.get("/orgs/RTD")
	mustContain(t, "RTD", section(p.body, "org-depends"), "Regional integration gateway")
}

// The hot spots: highest HHI first, the larger market among equals, one
// market seen at three levels shown once where it is, one-organisation
// markets left out, and at most three places for one service.
func TestHotSpots(t *testing.T) {
	g := func(code string, orgs int, hhi float64, leader string) supply.ConcentrationGroup {
		return supply.ConcentrationGroup{Code: code, Name: "N" + code, Organisations: orgs, HHI: hhi, Shares: []supply.Share{{SupplierID: leader}}}
	}
	rep := supply.ConcentrationReport{Results: []supply.ConcentrationResult{
		{Service: "pathology", By: supply.National, Groups: []supply.ConcentrationGroup{g("ENG", 9, 4000, "A")}},
		{Service: "pathology", By: supply.ByRegion, Groups: []supply.ConcentrationGroup{g("Y56", 5, 10000, "A"), g("Y58", 4, 5000, "B")}},
		{Service: "pathology", By: supply.ByICB, Groups: []supply.ConcentrationGroup{g("QKK", 5, 10000, "A"), g("QA1", 3, 10000, "B"), g("QA2", 2, 10000, "C"), g("QA3", 1, 10000, "D")}},
		{Service: "epr", By: supply.ByICB, Groups: []supply.ConcentrationGroup{g("QKK", 6, 9000, "E"), g("", 7, 10000, "F")}},
	}}
	var got []string
	for _, h := range hotSpots(rep, 10) {
		got = append(got, h.Service+"/"+h.Code)
	}
	if want := "pathology/QKK pathology/QA1 pathology/QA2 epr/QKK"; strings.Join(got, " ") != want {
		t.Errorf("hot spots %v, want %s", got, want)
	}
}
