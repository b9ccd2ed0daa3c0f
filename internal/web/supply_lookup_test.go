package web

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// datalist returns the values of the page's suggestion list for the
// impact form's field.
func datalist(body string) []string {
	i := strings.Index(body, `<datalist id="f-q-list">`)
	if i < 0 {
		return nil
	}
	j := strings.Index(body[i:], "</datalist>")
	var out []string
	for _, m := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(body[i:i+j], -1) {
		out = append(out, m[1])
	}
	return out
}

// withoutTyped is body without what the query q typed (its q= or
// supplier=… value), which the page rightly shows again: what is left
// must not name anything outside the caller's view.
func withoutTyped(body, q string) string {
	v, _ := url.ParseQuery(q)
	for _, k := range []string{"q", "supplier", "product", "cve", "org"} {
		if t := strings.TrimSpace(v.Get(k)); t != "" {
			body = strings.ReplaceAll(body, html.EscapeString(t), "")
		}
	}
	return body
}

// TestImpactFormForgives: the blast-radius form takes names and IDs in any
// case; a typo keeps the form filled in and says "did you mean", with
// links, never a full-page 404; the suggestion list comes with the page.
func TestImpactFormForgives(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")

	p := c.get("/suppliers/impact?by=supplier&q=Synovis")
	if p.status != 422 && p.status != 200 {
		t.Fatalf("typo: status %d, want the form (200 or 422)", p.status)
	}
	mustContain(t, "typo", p.body, `<form class="filters" method="get" action="/suppliers/impact"`, `value="Synovis"`,
		"No supplier called “Synovis”", "Did you mean", `<a href="/suppliers/impact?supplier=SYNNOVIS">Synnovis Analytics LLP</a>`)
	mustNotContain(t, "typo", p.body, "Page not found", "If Synnovis")
	if opts := datalist(p.body); len(opts) == 0 || opts[0] != "SYNNOVIS" {
		t.Errorf("typo: suggestions %v, want SYNNOVIS first", opts)
	}

	for _, q := range []string{"by=supplier&q=synnovis", "by=supplier&q=+Synnovis++Analytics+LLP+", "supplier=synnovis", "by=supplier&q=SYNNOVIS"} {
		p = c.get("/suppliers/impact?" + q)
		wantStatus(t, q, p, 200)
		mustContain(t, q, p.body, "If Synnovis Analytics LLP is compromised", "/suppliers/impact/download?supplier=SYNNOVIS&amp;format=csv")
	}
	p = c.get("/suppliers/impact?by=product&q=falcon+sensor")
	wantStatus(t, "product by name", p, 200)
	mustContain(t, "product by name", p.body, "If Falcon sensor is compromised")
	p = c.get("/suppliers/impact?by=org&q=guy%27s+and+st+thomas%27+nhs+foundation+trust")
	wantStatus(t, "org by name", p, 200)
	mustContain(t, "org by name", p.body, "What Guy&#39;s and St Thomas&#39; NHS Foundation Trust (RJ1) depends on")
	p = c.get("/suppliers/impact?by=org&q=practise+four")
	mustContain(t, "org typo", p.body, "No organisation called “practise four”", `href="/suppliers/impact?org=G85004"`)

	// A CVE: any case, exploited not compromised; what is not a CVE ID is refused.
	p = c.get("/suppliers/impact?cve=cve-2099-0001")
	wantStatus(t, "cve", p, 200)
	mustContain(t, "cve", p.body, "If CVE-2099-0001 is exploited")
	mustNotContain(t, "cve", p.body, "CVE-2099-0001 is compromised")
	p = c.get("/suppliers/impact?by=cve&q=log4shell")
	if p.status != 422 && p.status != 200 {
		t.Fatalf("not a cve: status %d", p.status)
	}
	mustContain(t, "not a cve", p.body, "&#34;log4shell&#34; is not a CVE ID", `value="log4shell"`)

	// The suggestion list: the most used when nothing is typed, bounded.
	p = c.get("/suppliers/impact")
	wantStatus(t, "blank form", p, 200)
	mustContain(t, "blank form", p.body, `list="f-q-list"`)
	mustNotContain(t, "blank form", p.body, "There is a problem")
	if opts := datalist(p.body); len(opts) == 0 || len(opts) > 50 {
		t.Errorf("blank form suggestions: %v", opts)
	}
	// What was typed first, then the most used.
	if opts := datalist(c.get("/suppliers/impact?by=org&q=practice").body); len(opts) < 5 || !strings.HasPrefix(strings.Join(opts[:5], " "), "F84001 G85004") ||
		strings.Count(strings.Join(opts[:5], " "), "G8") != 4 {
		t.Errorf("organisation suggestions for 'practice': %v, want the five practices first", opts)
	}
}

// TestImpactSuggestionsInScope: a supplier's representative typing
// another supplier's name is offered nothing of it; a trust's analyst is
// offered no organisation outside their trust.
func TestImpactSuggestionsInScope(t *testing.T) {
	e := newSupplyEnv(t)
	r := e.signIn("rep@synnovis.test")
	for _, q := range []string{"by=supplier&q=EMIS+Health", "by=supplier&q=emis", "by=supplier&q=crowdstrke", "by=product&q=emis+web",
		"by=product&q=falcon", "supplier=AWS", "by=supplier&q=", "by=product&q=", "by=org&q=guy", "by=org&q="} {
		p := r.get("/suppliers/impact?" + q)
		if p.status >= 500 || p.status == 404 {
			t.Errorf("rep %s: status %d", q, p.status)
		}
		mustNotContain(t, "rep "+q, withoutTyped(p.body, q), "EMIS Health", "EMIS-WEB", ">EMIS<", "CrowdStrike", "CROWDSTRIKE", "Falcon", "Amazon", "AWS-LONDON", "Guy&#39;s", "RJ1")
		for _, o := range datalist(p.body) {
			if !strings.HasPrefix(o, "SYN") && o != "S-SYN" {
				t.Errorf("rep %s: offered %q", q, o)
			}
		}
	}
	// Their own supplier is offered.
	if opts := datalist(r.get("/suppliers/impact?by=supplier&q=").body); strings.Join(opts, " ") != "SYNNOVIS SYNLAB" && strings.Join(opts, " ") != "SYNLAB SYNNOVIS" {
		t.Errorf("rep's own suppliers: %v", opts)
	}

	g := e.signIn("gstt@supply.test")
	for _, q := range []string{"by=org&q=King%27s+College", "by=org&q=kngs+college", "by=org&q=RJZ", "org=rjz", "by=org&q=practice", "by=org&q="} {
		p := g.get("/suppliers/impact?" + q)
		if p.status >= 500 || p.status == 404 {
			t.Errorf("trust %s: status %d", q, p.status)
		}
		mustNotContain(t, "trust "+q, withoutTyped(p.body, q), "King&#39;s College", "College Hospital", "Practice One", `value="RJZ"`, `value="G85001"`, "?org=RJZ", "?org=G85")
		for _, o := range datalist(p.body) {
			if o != "RJ1" {
				t.Errorf("trust %s: offered organisation %q", q, o)
			}
		}
	}
}

// TestSupplyPagesWords: plurals, service labels, unknown populations,
// product names in paths grouped by their shared start, and data tables
// marked for sorting and the phone layout.
func TestSupplyPagesWords(t *testing.T) {
	e := newSupplyEnv(t)
	g := e.signIn("gstt@supply.test")
	p := g.get("/suppliers/impact?supplier=SYNNOVIS")
	wantStatus(t, "trust impact", p, 200)
	mustContain(t, "trust impact", p.body, "1 organisation</h3>", "1 product affected", "Pathology")
	// A trust has no registered population: unknown, not nobody.
	mustContain(t, "trust impact", p.body, `data-label="Patients affected" data-sort="0">unknown<`)
	mustNotContain(t, "trust impact", p.body, "1 organisations", "1 products")

	c := e.signIn("nat@supply.test")
	hostLIMSOnAWS(t, e)
	p = c.get("/suppliers/impact?supplier=AWS")
	wantStatus(t, "aws", p, 200)
	mustContain(t, "aws", p.body, `class="table table-dense data-table`, `data-label="Hard-down"`, `data-sort="`, "GP clinical system",
		"Amazon Web Services <span class=\"arrow\"", "AWS eu-west-2")
	// G85001 is reached through both EMIS Web and the pathology LIMS, now
	// hosted on AWS: the shared start once, then the two branches.
	mustContain(t, "aws", p.body, `<ul class="path-tree"><li>Amazon Web Services <span class="arrow" aria-hidden="true">→</span><span class="visually-hidden">then</span> AWS eu-west-2 <span class="arrow" aria-hidden="true">→</span><span class="visually-hidden">then one of</span><ul class="path-tree"><li class="path-critical">EMIS Web <span class="small">(GP clinical system`)
	mustNotContain(t, "aws", p.body, ">gp-clinical<", "→</span><span class=\"visually-hidden\">then</span> AWS-LONDON")
	// Every table of the result is a data table, and every cell names its column.
	if n, m := strings.Count(p.body, "<table"), strings.Count(p.body, "data-table"); n == 0 || n != m {
		t.Errorf("aws: %d tables, %d data tables", n, m)
	}
	if strings.Contains(p.body, "<td>") || strings.Contains(p.body, "<td class=\"num\">") {
		t.Errorf("aws: a cell without data-label")
	}

	p = c.get("/suppliers/concentration?service=gp-clinical&by=icb")
	mustContain(t, "concentration", p.body, "GP clinical system", `class="table table-dense data-table`)
	p = c.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "supplier", p.body, "Pathology", `data-table`, `<a href="/suppliers/p/AWS-LONDON">AWS eu-west-2</a> (hosting, critical)`)
	// The supplier's representative sees what their product depends on by
	// its ID only: another supplier's product names are not theirs to see.
	p = e.signIn("rep@synnovis.test").get("/suppliers/s/SYNNOVIS")
	mustContain(t, "rep supplier", p.body, `<span class="code">AWS-LONDON</span> (hosting, critical)`)
	mustNotContain(t, "rep supplier", p.body, "AWS eu-west-2", "Amazon")
	p = c.get("/suppliers/s/CROWDSTRIKE")
	mustNotContain(t, "crowdstrike", p.body, ">gp-clinical<")
	p = c.get("/suppliers/p/EMIS-WEB")
	mustContain(t, "product", p.body, "GP clinical system")
	p = c.get("/suppliers/register")
	mustContain(t, "register", p.body, `data-table`, `data-label="Supplier"`)

	// IDs in any case reach the supplier's and product's pages.
	p = c.get("/suppliers/s/synnovis")
	if p.status != 302 || p.location() != "/suppliers/s/SYNNOVIS" {
		t.Errorf("supplier in lower case: %d %q", p.status, p.location())
	}
	p = c.get("/suppliers/p/falcon")
	if p.status != 302 || p.location() != "/suppliers/p/FALCON" {
		t.Errorf("product in lower case: %d %q", p.status, p.location())
	}
	wantStatus(t, "rep other supplier in lower case", e.signIn("rep@synnovis.test").get("/suppliers/s/emis"), 404)
}

// hostLIMSOnAWS makes the pathology LIMS depend on AWS hosting, so
// organisations using both it and EMIS Web are reached from AWS through
// two paths with the same start.
func hostLIMSOnAWS(t *testing.T, e *env) {
	t.Helper()
	rep, err := e.supply.Import(context.Background(), scope.System("test"), []supply.ImportFile{{Name: "dependencies.csv",
		Data: []byte("product_id,depends_on_product_id,kind,critical\nSYN-LIMS,AWS-LONDON,hosting,yes\n")}}, supply.ImportOptions{})
	if err != nil || !rep.Applied {
		t.Fatalf("import: %v %+v", err, rep.Errors)
	}
}

// TestGraphCentreForgives: the graph's centre takes IDs in any case, and
// its field suggests centres within the caller's view.
func TestGraphCentreForgives(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")
	p := c.get("/suppliers/graph?node=Supplier:synnovis&depth=2")
	wantStatus(t, "graph", p, 200)
	mustContain(t, "graph", p.body, `data-node="org:RJ1"`, "/suppliers/graph?depth=3&amp;node=supplier%3ASYNNOVIS")
	// A centre that names nothing keeps the form and suggests; its status
	// stays 404, as for any other address of nothing.
	p = c.get("/suppliers/graph?node=product:emis")
	wantStatus(t, "graph miss", p, 404)
	mustContain(t, "graph miss", p.body, `value="product:emis"`, "No product called “emis”", `<a href="/suppliers/graph?depth=2&amp;node=product%3AEMIS-WEB">EMIS Web</a>`)
	mustNotContain(t, "graph miss", p.body, "Page not found")
	if opts := datalist(p.body); len(opts) == 0 || opts[0] != "product:EMIS-WEB" {
		t.Errorf("graph suggestions for product:emis: %v", opts)
	}
	if opts := strings.Join(datalist(c.get("/suppliers/graph").body), " "); !strings.Contains(opts, "supplier:SYNNOVIS") || !strings.Contains(opts, "product:SYN-LIMS") || !strings.Contains(opts, "org:RJ1") {
		t.Errorf("graph suggestions: %v", opts)
	}
	r := e.signIn("rep@synnovis.test")
	for _, q := range []string{"", "?node=supplier:emis", "?node=product:", "?node=org:"} {
		for _, o := range datalist(r.get("/suppliers/graph" + q).body) {
			if !strings.Contains(o, "SYN") {
				t.Errorf("rep graph%s: offered %q", q, o)
			}
		}
	}
}

// TestMapTabNeverAnError: the Map tab shows its form, not an error page,
// when the question is empty, invalid or names nothing.
func TestMapTabNeverAnError(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")
	p := c.get("/suppliers/map")
	wantStatus(t, "empty map", p, 200)
	mustContain(t, "empty map", p.body, `action="/suppliers/map"`)
	mustNotContain(t, "empty map", p.body, "There is a problem")
	for q, want := range map[string]string{
		"by=supplier&q=Synovis":   "No supplier called “Synovis”",
		"supplier=X&product=Y":    "one thing at a time",
		"by=cve&q=nonsense":       "is not a CVE ID",
		"org=RJ1":                 "A map shows who a compromise reaches",
		"view=concentration":      "Choose a service",
		"service=gp-clinicl":      "No service called “gp-clinicl”",
		"by=product&q=falcn+sens": "Did you mean",
	} {
		p := c.get("/suppliers/map?" + q)
		if p.status != 200 && p.status != 422 {
			t.Errorf("map %s: status %d, want the form", q, p.status)
			continue
		}
		mustContain(t, "map "+q, p.body, `action="/suppliers/map"`, want)
		mustNotContain(t, "map "+q, p.body, "Page not found")
	}
	p = c.get("/suppliers/map?by=supplier&q=synnovis")
	wantStatus(t, "map by name", p, 200)
	mustContain(t, "map by name", p.body, "Organisations affected if Synnovis Analytics LLP is compromised")
	p = c.get("/suppliers/map?cve=CVE-2099-0001")
	mustContain(t, "map of a cve", p.body, "is exploited")
}
