package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
)

// The supply fixture: the organisations and the three real-shaped cases of
// internal/supply/testdata/cases (a pathology supplier serving two trusts
// and a region's practices; a GP system with the security agent it
// depends on; a shared gateway hosted by one trust), and users for each
// kind of caller.
var supplyUsers = []struct {
	Email, Name, Org string
	Role             scope.Role
}{
	{"nat@supply.test", "Nadia National", "ENG", scope.NationalAnalyst},
	{"gstt@supply.test", "Tom Thomas", "RJ1", scope.OrgAnalyst},
	{"lead@supply.test", "Lena London", "Y56", scope.RegionLead},
	{"rep@synnovis.test", "Sam Synnovis", "S-SYN", scope.SupplierRep},
}

var casesDir = filepath.Join("..", "supply", "testdata", "cases")

// supplyOrgs reads the cases' organisations (code, name, type, parent, …,
// population).
func supplyOrgs(t testing.TB) []org.Org {
	t.Helper()
	f, err := os.Open(filepath.Join(casesDir, "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []org.Org
	for _, r := range recs[1:] {
		pop, _ := strconv.ParseInt(r[6], 10, 64)
		out = append(out, org.Org{Code: r[0], Name: r[1], Type: org.Type(r[2]), Parent: r[3], Population: pop})
	}
	return out
}

func newSupplyEnv(t *testing.T) *env {
	t.Helper()
	return newSupplyEnvWith(t, envOptions{})
}

func newSupplyEnvWith(t *testing.T, eo envOptions) *env {
	t.Helper()
	eo.supply = true
	e := newEnv(t, eo)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(e.logs.String(), "\n") {
				if strings.Contains(l, "level=ERROR") {
					t.Log(l)
				}
			}
		}
	})
	ctx := context.Background()
	sys := scope.System("test")
	for _, o := range supplyOrgs(t) {
		if o.Code == org.RootCode {
			continue
		}
		if _, err := e.orgs.Get(ctx, sys, o.Code); err == nil {
			continue // Y63 is in both fixtures
		}
		if _, err := e.orgs.Create(ctx, sys, o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	for _, u := range supplyUsers {
		nu, err := e.auth.AddUser(ctx, sys, auth.NewUser{Email: u.Email, Name: u.Name, Org: u.Org, Role: u.Role, Password: password})
		if err != nil {
			t.Fatalf("add user %s: %v", u.Email, err)
		}
		e.users[u.Email] = nu.ID
	}
	e.supply.Invalidate()
	for _, c := range []string{"pathology", "gp-security", "shared-gateway"} {
		files, err := supply.ReadImportPaths([]string{filepath.Join(casesDir, c)})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.supply.Import(ctx, sys, files, supply.ImportOptions{})
		if err != nil || !rep.Applied {
			t.Fatalf("import %s: %v %+v", c, err, rep.Errors)
		}
	}
	return e
}

// importBoundaries loads the real ONS files, when they are on this machine;
// without them the callers check everything but the maps (under CI they
// must be there).
func importBoundaries(t *testing.T, e *env) bool {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "nhs", "geo")
	for _, f := range []string{"icb_apr2023_en_bsc.geojson", "nhser_jan2024_en_bsc.geojson"} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err != nil {
			if testneed.CI() {
				testneed.Missing(t, "the ONS boundaries in ../shared/data/nhs/geo", err)
			}
			return false
		}
		rep, err := e.geo.ImportGeoJSON(context.Background(), scope.System("test"), p, false)
		if err != nil || len(rep.Errors) > 0 {
			t.Fatalf("import %s: %v %v", f, err, rep.Errors)
		}
	}
	return true
}

func TestSupplierPages(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")

	p := c.get("/suppliers")
	wantStatus(t, "overview", p, 200)
	mustContain(t, "overview", p.body, "<h1>Suppliers</h1>", "Most systemic suppliers", "Single points of failure", "ICBs where one supplier serves everyone",
		`href="/suppliers" aria-current="page"`, "EMIS Health")
	mustNotContain(t, "overview", p.body, "Coming in a later release")

	p = c.get("/suppliers/register?q=synn")
	wantStatus(t, "register search", p, 200)
	mustContain(t, "register search", p.body, "Synnovis Analytics LLP", `href="/suppliers/p/SYN-LIMS"`, "OC437066")
	mustNotContain(t, "register search", p.body, "EMIS Health")
	p = c.get("/suppliers/register")
	mustContain(t, "register", p.body, "EMIS Health", "CrowdStrike", "Falcon sensor")

	p = c.get("/suppliers/s/SYNNOVIS")
	wantStatus(t, "supplier", p, 200)
	mustContain(t, "supplier", p.body, "Synnovis pathology LIMS", "SYNLAB AG", "Who deploys them", "/orgs/RJZ", "pathology",
		`src="/suppliers/pictures/graph.svg?node=supplier%3aSYNNOVIS&amp;depth=2"`, "download=1")
	p = c.get("/suppliers/p/FALCON")
	wantStatus(t, "product", p, 200)
	mustContain(t, "product", p.body, "Falcon sensor", "CrowdStrike", "Needed by", `href="/suppliers/p/EMIS-WEB"`, "Millennium EPR")
	for _, path := range []string{"/suppliers/s/NOPE", "/suppliers/p/NOPE"} {
		wantStatus(t, path, c.get(path), 404)
	}

	// The blast radius: classes, readable paths, totals, the map (a table
	// until boundaries are loaded) and downloads.
	p = c.get("/suppliers/impact?by=supplier&q=SYNNOVIS")
	wantStatus(t, "impact", p, 200)
	mustContain(t, "impact", p.body, "If Synnovis Analytics LLP is compromised", "Guy&#39;s and St Thomas&#39; NHS Foundation Trust",
		`<span class="tag tag-hard-down">Hard-down</span>`, `<span class="tag tag-degraded">Degraded</span>`, "Synnovis Analytics LLP <span class=\"arrow\"",
		"By region", "By ICB", "London", "/suppliers/impact/download?supplier=SYNNOVIS&amp;format=csv", `src="/suppliers/pictures/map.svg?supplier=SYNNOVIS&amp;level=icb"`)
	p = c.get("/suppliers/impact?cve=cve-2099-0001")
	mustContain(t, "impact by CVE", p.body, "If CVE-2099-0001 is exploited", "G85001", "Falcon sensor")
	p = c.get("/suppliers/impact?org=g85004")
	mustContain(t, "depends on", p.body, "What Practice Four (Bromley) (G85004) depends on", "EMIS Web", "SystmOne", "Falcon sensor", "AWS eu-west-2")
	p = c.get("/suppliers/impact?supplier=X&product=Y")
	mustContain(t, "two questions", p.body, "one thing at a time")
	// A supplier that is not there: the form again, saying so — not a 404 page.
	p = c.get("/suppliers/impact?supplier=NOPE")
	wantStatus(t, "unknown supplier", p, 422)
	mustContain(t, "unknown supplier", p.body, "No supplier called “NOPE”", `value="NOPE"`)

	// Concentration: hand-checked HHI for gp-clinical in QKK: practices
	// G85001, G85002, G85004 (half EMIS, half TPP) on EMIS, G85003 on TPP:
	// EMIS 2.5/4, TPP 1.5/4 → 62.5² + 37.5² = 5,312.5.
	p = c.get("/suppliers/concentration?service=gp-clinical&by=icb")
	wantStatus(t, "concentration", p, 200)
	mustContain(t, "concentration", p.body, "5,313", "Highly concentrated", `src="/suppliers/pictures/concentration.svg?by=icb&amp;service=gp-clinical&amp;chart=shares"`,
		`/suppliers/pictures/map.svg?view=concentration&amp;service=gp-clinical&amp;level=icb`, "EMIS Health</a> 63 %")

	p = c.get("/suppliers/graph?node=supplier:SYNNOVIS&depth=2")
	wantStatus(t, "graph", p, 200)
	mustContain(t, "graph", p.body, `<svg xmlns="http://www.w3.org/2000/svg"`, `role="img"`, `data-node="org:RJ1"`, `<a href="/suppliers/graph?depth=2&amp;node=org%3ARJ1">`,
		"Expand: one step more", "/suppliers/graph?depth=3&amp;node=supplier%3ASYNNOVIS", "graph.png?depth=2&amp;node=supplier%3ASYNNOVIS&amp;download=1", "Centre here")
	p = c.get("/suppliers/graph?node=nonsense&depth=2")
	mustContain(t, "bad node", p.body, "Give the centre as supplier:ID")
	wantStatus(t, "graph of unknown", c.get("/suppliers/graph?node=product:NOPE"), 404)

	p = c.get("/suppliers/map?supplier=SYNNOVIS")
	wantStatus(t, "map without boundaries", p, 200)
	mustContain(t, "map without boundaries", p.body, "No map boundaries are loaded", "QKK", "5 affected: 4 hard-down, 1 degraded")

	p = c.get("/suppliers/import")
	wantStatus(t, "import form", p, 200)
	mustContain(t, "import form", p.body, `enctype="multipart/form-data"`, `name="csrf"`, "Check (dry run)")
}

func TestSupplyScope(t *testing.T) {
	e := newSupplyEnv(t)

	// A trust analyst: the shared register, but only their own
	// organisation in a blast radius, and no concentration reports.
	c := e.signIn("gstt@supply.test")
	p := c.get("/suppliers/impact?supplier=SYNNOVIS")
	wantStatus(t, "trust impact", p, 200)
	mustContain(t, "trust impact", p.body, `<td class="code" data-label="ODS">RJ1</td>`)
	mustNotContain(t, "trust impact", p.body, "RJZ", "King&#39;s College", "G85001", "Practice One")
	p = c.get("/suppliers/s/SYNNOVIS")
	mustNotContain(t, "trust supplier page", p.body, "RJZ", "King&#39;s College")
	p = c.get("/suppliers/impact/download?supplier=SYNNOVIS&format=csv")
	wantStatus(t, "trust download", p, 200)
	if strings.Contains(p.body, "RJZ") || !strings.Contains(p.body, "RJ1") {
		t.Errorf("trust CSV: %s", p.body)
	}
	// Another trust is not found, and nothing of it is suggested.
	p = c.get("/suppliers/impact?org=RJZ")
	wantStatus(t, "trust reverse other org", p, 422)
	mustContain(t, "trust reverse other org", p.body, "No organisation called “RJZ”")
	mustNotContain(t, "trust reverse other org", p.body, "King&#39;s", `href="/suppliers/impact?org=RJZ"`, "RJZ) depends on")
	wantStatus(t, "trust graph of other org", c.get("/suppliers/graph?node=org:RJZ"), 404)
	wantStatus(t, "trust concentration", c.get("/suppliers/concentration"), 404)
	wantStatus(t, "trust concentration chart", c.get("/suppliers/pictures/concentration.svg?service=pathology"), 404)
	p = c.get("/suppliers/pictures/graph.svg?node=product:SYN-LIMS&depth=2")
	wantStatus(t, "trust graph picture", p, 200)
	mustNotContain(t, "trust graph picture", p.body, "RJZ", "King&#39;s", "G85001")
	p = c.get("/suppliers")
	mustContain(t, "trust overview", p.body, "What Guy&#39;s and St Thomas&#39; NHS Foundation Trust depends on")
	mustNotContain(t, "trust overview", p.body, "Most systemic suppliers", `href="/suppliers/concentration"`)
	wantStatus(t, "trust boundaries", c.get("/suppliers/boundaries"), 404)

	// A supplier representative: their own supplier group and products,
	// nothing of other suppliers, no organisations.
	r := e.signIn("rep@synnovis.test")
	p = r.get("/suppliers/register")
	mustContain(t, "rep register", p.body, "Synnovis Analytics LLP", "SYNLAB AG")
	mustNotContain(t, "rep register", p.body, "EMIS", "CrowdStrike", "Barts")
	p = r.get("/suppliers")
	mustContain(t, "rep overview", p.body, "Your products", "Synnovis pathology LIMS")
	wantStatus(t, "rep other supplier", r.get("/suppliers/s/EMIS"), 404)
	wantStatus(t, "rep other product", r.get("/suppliers/p/EMIS-WEB"), 404)
	p = r.get("/suppliers/impact?supplier=SYNNOVIS")
	wantStatus(t, "rep impact", p, 200)
	mustContain(t, "rep impact", p.body, "No organisation that you can see is affected", "Synnovis pathology LIMS")
	mustNotContain(t, "rep impact", p.body, "RJ1", "RJZ", "Guy&#39;s")
	p = r.get("/suppliers/s/SYNNOVIS")
	wantStatus(t, "rep own supplier", p, 200)
	mustNotContain(t, "rep own supplier", p.body, "RJ1", "Who deploys them")
	p = r.get("/suppliers/pictures/graph.svg?node=supplier:SYNNOVIS&depth=3")
	wantStatus(t, "rep graph", p, 200)
	mustNotContain(t, "rep graph", p.body, "org:", "Guy&#39;s", "EMIS")

	// A regional lead for London sees London only.
	l := e.signIn("lead@supply.test")
	p = l.get("/suppliers/concentration?service=epr&by=region")
	wantStatus(t, "lead concentration", p, 200)
	mustContain(t, "lead concentration", p.body, "Y56")
	mustNotContain(t, "lead concentration", p.body, "Y63")
}

// TestImpactPageListsTheTop: the blast-radius page lists the worst
// organisations and the nearest products, up to Options.ImpactPageRows,
// says so, and keeps the totals whole; the downloads still have all.
func TestImpactPageListsTheTop(t *testing.T) {
	e := newSupplyEnvWith(t, envOptions{impactRows: 2})
	c := e.signIn("nat@supply.test")
	p := c.get("/suppliers/impact?supplier=SYNNOVIS")
	wantStatus(t, "impact", p, 200)
	mustContain(t, "impact", p.body, "The worst 2 of 6 organisations", "6 organisations</h3>", "download the CSV or JSON above for all of them")
	if n := strings.Count(p.body, `<td class="code" data-label="ODS">`); n != 2 {
		t.Errorf("the page lists %d organisations, want the worst 2", n)
	}
	// Worst first: two of the four hard-down organisations, none of the others.
	mustNotContain(t, "impact", p.body, ">G85003<", ">F84001<")
	p = c.get("/suppliers/impact?product=FALCON")
	mustContain(t, "falcon", p.body, "The nearest 2 of 3 products")
	// Nothing cut (a trust analyst sees only their trust): the plain count.
	p = e.signIn("gstt@supply.test").get("/suppliers/impact?supplier=SYNNOVIS")
	mustContain(t, "trust", p.body, "1 organisation, worst first")
	mustNotContain(t, "trust", p.body, "The worst", "The nearest")
	// The download has every organisation.
	p = c.get("/suppliers/impact/download?supplier=SYNNOVIS&format=csv")
	if recs, err := csv.NewReader(strings.NewReader(p.body)).ReadAll(); err != nil || len(recs) != 7 {
		t.Errorf("download: %v, %d rows", err, len(recs))
	}
}

func TestSupplyDownloadsAudited(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")
	count := func() int {
		es, _, err := e.audit.List(context.Background(), scope.System("test"), audit.Filter{Action: "export", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := count()

	p := c.get("/suppliers/impact/download?supplier=SYNNOVIS&format=csv")
	wantStatus(t, "csv", p, 200)
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(p.header.Get("Content-Disposition"), `attachment; filename="vigil-impact-supplier-SYNNOVIS.csv"`) {
		t.Errorf("csv headers %q %q", ct, p.header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil || len(recs) != 7 || recs[0][0] != "ods" || recs[0][9] != "impact" {
		t.Fatalf("csv: %v %q", err, recs)
	}
	if !strings.Contains(p.body, "supplier:SYNNOVIS > product:SYN-LIMS > org:RJ1") {
		t.Errorf("csv paths: %s", p.body)
	}
	p = c.get("/suppliers/impact/download?product=EMIS-WEB&format=json")
	var res supply.ImpactResult
	if err := json.Unmarshal([]byte(p.body), &res); err != nil || res.Query.Product != "EMIS-WEB" || len(res.Affected) == 0 {
		t.Fatalf("json: %v %s", err, p.body)
	}
	p = c.get("/suppliers/impact/download?org=G85004&format=csv")
	if !strings.HasPrefix(p.body, "product_id,") || !strings.Contains(p.body, "FALCON") {
		t.Errorf("depends-on csv: %s", p.body)
	}
	// Pictures: shown inline are not exports; downloaded are.
	p = c.get("/suppliers/pictures/graph.png?node=supplier:SYNNOVIS&depth=2")
	if !strings.HasPrefix(p.header.Get("Content-Disposition"), "inline") {
		t.Errorf("inline picture: %q", p.header.Get("Content-Disposition"))
	}
	p = c.get("/suppliers/pictures/graph.png?node=supplier:SYNNOVIS&depth=2&download=1")
	if !strings.HasPrefix(p.header.Get("Content-Disposition"), `attachment; filename="vigil-graph-supplier-SYNNOVIS-depth2.png"`) {
		t.Errorf("downloaded picture: %q", p.header.Get("Content-Disposition"))
	}
	if got := count() - before; got != 4 {
		t.Errorf("%d export entries in the audit log, want 4 (three results and one picture)", got)
	}
	es, _, _ := e.audit.List(context.Background(), scope.System("test"), audit.Filter{Action: "export", Limit: 1})
	if len(es) == 0 || es[0].ObjectType != "supply_picture" || es[0].Actor != "nat@supply.test" {
		t.Errorf("latest export entry: %+v", es)
	}
	// A CSV cell that a spreadsheet would run is neutralised.
	if got := supply.CSVRow("=HYPERLINK(1)", "RJ1", "-2", "@x"); got[0] != "'=HYPERLINK(1)" || got[1] != "RJ1" || got[2] != "'-2" || got[3] != "'@x" {
		t.Errorf("cells = %q", got)
	}
}

func TestSupplyPictures(t *testing.T) {
	e := newSupplyEnv(t)
	maps := importBoundaries(t, e)
	c := e.signIn("nat@supply.test")
	for _, path := range []string{
		"/suppliers/pictures/graph.svg?node=supplier:SYNNOVIS&depth=2",
		"/suppliers/pictures/graph.svg?node=org:G85004&depth=3",
		"/suppliers/pictures/map.svg?supplier=SYNNOVIS&level=icb",
		"/suppliers/pictures/map.svg?product=EMIS-WEB&level=region&metric=population",
		"/suppliers/pictures/map.svg?view=concentration&service=gp-clinical&level=icb",
		"/suppliers/pictures/concentration.svg?service=gp-clinical&by=icb",
		"/suppliers/pictures/concentration.svg?service=pathology&by=region&chart=hhi",
	} {
		p := c.get(path)
		wantStatus(t, path, p, 200)
		if ct := p.header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		d := xml.NewDecoder(strings.NewReader(p.body))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: SVG does not parse: %v", path, err)
			}
		}
		if !strings.Contains(p.body, `role="img"`) || !strings.Contains(p.body, "<title") {
			t.Errorf("%s: not accessible", path)
		}
		png := c.get(strings.Replace(path, ".svg", ".png", 1))
		img, format, err := image.Decode(strings.NewReader(png.body))
		if err != nil || format != "png" || img.Bounds().Dx() < 600 {
			t.Errorf("%s as PNG: %v %s", path, err, format)
		}
	}
	p := c.get("/suppliers/pictures/map.svg?supplier=SYNNOVIS&level=icb")
	if maps {
		mustContain(t, "map", p.body, `data-area="QKK"`, "South East London Integrated Care Board (QKK): 5 affected")
		p = c.get("/suppliers/map?supplier=SYNNOVIS")
		mustContain(t, "map page", p.body, `src="/suppliers/pictures/map.svg?level=icb&amp;supplier=SYNNOVIS"`, "metric=population")
		mustNotContain(t, "map page", p.body, "No map boundaries")
	}
	wantStatus(t, "map of an org", c.get("/suppliers/pictures/map.svg?org=RJ1"), 400)
	wantStatus(t, "graph picture bad node", c.get("/suppliers/pictures/graph.svg?node=x"), 400)
}

// multipartPost sends files (name → content) and fields as a form; with
// csrf empty the form has no token.
func (c *client) multipartPost(path, csrf string, fields map[string]string, files map[string]string) page {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile("files", name)
		fw.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func TestSupplyImportUpload(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")
	c.get("/suppliers/import")
	ctx := context.Background()
	before, _ := e.supply.ListSuppliers(ctx, scope.System("test"))

	good := map[string]string{
		"suppliers.csv": "supplier_id,name,country\nNEWCO,New Company Ltd,GB\n",
		"products.csv":  "product_id,supplier_id,name,kind\nNEWCO-PACS,NEWCO,New PACS,saas\n",
	}
	// No token, or a wrong one: refused before anything is read.
	wantStatus(t, "no csrf", c.multipartPost("/suppliers/import", "", map[string]string{"action": "import"}, good), 403)
	wantStatus(t, "bad csrf", c.multipartPost("/suppliers/import", "nope", map[string]string{"action": "import"}, good), 403)

	// A dry run reports and changes nothing.
	p := c.multipartPost("/suppliers/import", c.csrf, map[string]string{"action": "check"}, good)
	wantStatus(t, "dry run", p, 200)
	mustContain(t, "dry run", p.body, "ready to import", "Nothing has been changed yet", "What an import would change")
	if after, _ := e.supply.ListSuppliers(ctx, scope.System("test")); len(after) != len(before) {
		t.Fatalf("dry run changed the register: %d → %d suppliers", len(before), len(after))
	}

	// Row errors: file, line, column and reason; nothing written.
	bad := map[string]string{
		"deployments.csv": "org_ods,product_id,service,criticality,has_fallback\nRJ1,NOPE,pathology,critical,no\nRJ1,SYN-LIMS,pathology,urgent,no\n",
	}
	p = c.multipartPost("/suppliers/import", c.csrf, map[string]string{"action": "import"}, bad)
	wantStatus(t, "row errors", p, 422)
	mustContain(t, "row errors", p.body, "problems in the files",
		`<td class="code" data-label="File">deployments.csv</td><td class="num" data-label="Line" data-sort="2">2</td><td class="code" data-label="Column">product_id</td>`,
		`<td class="num" data-label="Line" data-sort="3">3</td><td class="code" data-label="Column">criticality</td>`)

	// The real import.
	p = c.multipartPost("/suppliers/import", c.csrf, map[string]string{"action": "import"}, good)
	wantStatus(t, "import", p, 200)
	mustContain(t, "import", p.body, "Imported.")
	if _, err := e.supply.GetProduct(ctx, scope.System("test"), "NEWCO-PACS"); err != nil {
		t.Errorf("after import: %v", err)
	}
	// The token may also come as a header (scripts).
	req, _ := http.NewRequest("POST", e.srv.URL+"/suppliers/import", strings.NewReader(""))
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	wantStatus(t, "header token, empty form", c.do(req), 422)

	// A trust analyst cannot write another organisation's deployments.
	g := e.signIn("gstt@supply.test")
	g.get("/suppliers/import")
	p = g.multipartPost("/suppliers/import", g.csrf, map[string]string{"action": "check"},
		map[string]string{"deployments.csv": "org_ods,product_id,service,criticality,has_fallback\nRJZ,SYN-LIMS,pathology,low,yes\n"})
	wantStatus(t, "other trust's deployment", p, 422)
	mustContain(t, "other trust's deployment", p.body, "deployments.csv")
}

func TestSupplyBoundariesUpload(t *testing.T) {
	e := newSupplyEnv(t)
	c := e.signIn("nat@supply.test")
	p := c.get("/suppliers/boundaries")
	wantStatus(t, "boundaries form", p, 200)
	mustContain(t, "boundaries form", p.body, "Integrated care boards", `enctype="multipart/form-data"`)
	doc := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK","ICB23NM":"NHS South East London Integrated Care Board","NHSER24CDH":"Y56"},` +
		`"geometry":{"type":"Polygon","coordinates":[[[-0.2,51.35],[0.1,51.35],[0.1,51.55],[-0.2,51.55],[-0.2,51.35]]]}}]}`
	p = c.multipartPost("/suppliers/boundaries", c.csrf, map[string]string{"action": "check"}, map[string]string{"icb.geojson": doc})
	wantStatus(t, "boundaries check", p, 200)
	mustContain(t, "boundaries check", p.body, "1 area (", "1 new", "Nothing has been changed yet")
	if n, _ := e.geo.Counts(context.Background()); n[geo.LevelICB] != 0 {
		t.Fatal("check imported")
	}
	p = c.multipartPost("/suppliers/boundaries", c.csrf, map[string]string{"action": "import"}, map[string]string{"icb.geojson": doc, "bad.geojson": `{"type":"Feature"}`})
	wantStatus(t, "one bad file", p, 422)
	if n, _ := e.geo.Counts(context.Background()); n[geo.LevelICB] != 0 {
		t.Fatal("a bad file in the upload still imported the good one")
	}
	p = c.multipartPost("/suppliers/boundaries", c.csrf, map[string]string{"action": "import"}, map[string]string{"icb.geojson": doc})
	wantStatus(t, "boundaries import", p, 200)
	if n, _ := e.geo.Counts(context.Background()); n[geo.LevelICB] != 1 {
		t.Fatalf("after import: %v", n)
	}
	p = c.get("/suppliers/map?supplier=SYNNOVIS")
	mustNotContain(t, "map after import", p.body, "No map boundaries are loaded")
}

// TestSupplyTrend records snapshots before and after a register change and
// reads the trend on the concentration page: chart, table, downloads and
// the record button for national supply-chain managers; nothing of it for
// anyone else.
func TestSupplyTrend(t *testing.T) {
	e := newSupplyEnv(t)
	ctx := context.Background()
	sys := scope.System("test")
	c := e.signIn("nat@supply.test")

	const qkk = "/suppliers/concentration?service=gp-clinical&by=icb&group=QKK"
	p := c.get(qkk)
	wantStatus(t, "no snapshots", p, 200)
	mustContain(t, "no snapshots", p.body, `<h2 id="trend">Over time: South East London`, "No snapshot of GP clinical system here has been recorded yet",
		"a trend needs at least two", "vigil supply snapshot", "Record a snapshot now", `action="/suppliers/concentration/snapshots"`)
	mustNotContain(t, "no snapshots", p.body, "trend.svg")
	p = c.get("/suppliers/concentration?service=gp-clinical&by=icb")
	mustContain(t, "no group chosen", p.body, "choose <strong>Trend</strong> in its row",
		`href="/suppliers/concentration?by=icb&amp;service=gp-clinical&amp;group=QKK#trend"`)

	// Two snapshots through the service, with a change between: G85003
	// adds EMIS beside SystmOne, so in QKK EMIS goes from 2.5 to 3 of 4
	// practices: HHI 5,313 → 75² + 25² = 6,250.
	if _, err := e.supply.RecordSnapshot(ctx, sys); err != nil {
		t.Fatal(err)
	}
	p = c.get(qkk)
	mustContain(t, "one snapshot", p.body, "Only one snapshot has been recorded", "5,313")
	rep, err := e.supply.Import(ctx, sys, []supply.ImportFile{{Name: "deployments.csv",
		Data: []byte("org_ods,product_id,service,criticality,has_fallback\nG85003,EMIS-WEB,gp-clinical,critical,no\n")}}, supply.ImportOptions{})
	if err != nil || !rep.Applied {
		t.Fatalf("import: %v %+v", err, rep.Errors)
	}
	if _, err := e.supply.RecordSnapshot(ctx, sys); err != nil {
		t.Fatal(err)
	}
	p = c.get(qkk)
	wantStatus(t, "trend", p, 200)
	mustContain(t, "trend", p.body, `src="/suppliers/pictures/trend.svg?by=icb&amp;group=QKK&amp;service=gp-clinical"`,
		`/suppliers/pictures/trend.png?by=icb&amp;group=QKK&amp;service=gp-clinical&amp;download=1`, "at each of 2 recorded snapshots",
		"<strong>5,313</strong>", "<strong>6,250</strong>", `<a href="/suppliers/s/EMIS">EMIS Health</a>`, "63 %", "75 %")
	mustNotContain(t, "trend", p.body, "a trend needs at least two")
	svg := c.get("/suppliers/pictures/trend.svg?by=icb&group=QKK&service=gp-clinical")
	wantStatus(t, "trend picture", svg, 200)
	mustContain(t, "trend picture", svg.body, `role="img"`, "Concentration of GP clinical system in South East London (QKK) over time",
		"2 snapshots from", "HHI went from 5,313 (Highly concentrated) to 6,250", "EMIS Health", "2,500 highly concentrated")
	png := c.get("/suppliers/pictures/trend.png?by=national&service=gp-clinical&download=1")
	if _, format, err := image.Decode(strings.NewReader(png.body)); err != nil || format != "png" ||
		!strings.HasPrefix(png.header.Get("Content-Disposition"), `attachment; filename="vigil-trend-gp-clinical-national.png"`) {
		t.Errorf("trend PNG: %v %s %q", err, format, png.header.Get("Content-Disposition"))
	}
	p = c.get("/suppliers/concentration?service=gp-clinical&by=national")
	mustContain(t, "national trend", p.body, "Over time: England", `src="/suppliers/pictures/trend.svg?by=national&amp;service=gp-clinical"`)

	// The button records a third snapshot, audited, and comes back.
	before, _, _ := e.audit.List(ctx, sys, audit.Filter{Action: "supply.snapshot", Limit: 10})
	p = c.post("/suppliers/concentration/snapshots", url.Values{"service": {"gp-clinical"}, "by": {"icb"}, "group": {"QKK"}})
	if p.status != http.StatusSeeOther || p.location() != "/suppliers/concentration?by=icb&done=snapshot&group=QKK&service=gp-clinical#trend" {
		t.Fatalf("record: %d %q", p.status, p.location())
	}
	after, _, _ := e.audit.List(ctx, sys, audit.Filter{Action: "supply.snapshot", Limit: 10})
	if len(after) != len(before)+1 || after[0].Actor != "nat@supply.test" {
		t.Errorf("audit: %d → %d entries, latest %+v", len(before), len(after), after[0])
	}
	p = c.get(p.location())
	mustContain(t, "after recording", p.body, "Snapshot recorded", "at each of 3 recorded snapshots")
	wantStatus(t, "record without token", c.post("/suppliers/concentration/snapshots", url.Values{"csrf": {"nope"}}), 403)

	// Nobody else sees trends or may record one.
	l := e.signIn("lead@supply.test")
	p = l.get("/suppliers/concentration?service=gp-clinical&by=icb&group=QKK")
	wantStatus(t, "lead page", p, 200)
	mustNotContain(t, "lead page", p.body, "Over time", "trend.svg", "Record a snapshot", "Largest supplier", "choose <strong>Trend</strong>")
	wantStatus(t, "lead trend picture", l.get("/suppliers/pictures/trend.svg?by=icb&group=QKK&service=gp-clinical"), 404)
	wantStatus(t, "lead records", l.post("/suppliers/concentration/snapshots", url.Values{}), 404)
	g := e.signIn("gstt@supply.test")
	wantStatus(t, "trust page", g.get(qkk), 404)
	for _, path := range []string{"/suppliers/pictures/trend.svg?by=icb&group=QKK&service=gp-clinical", "/suppliers/pictures/trend.png?by=national&service=gp-clinical"} {
		p := g.get(path)
		wantStatus(t, "trust "+path, p, 404)
		mustNotContain(t, "trust "+path, p.body, "6,250", "EMIS")
	}
	wantStatus(t, "trust records", g.post("/suppliers/concentration/snapshots", url.Values{}), 404)
	if n, _, _ := e.audit.List(ctx, sys, audit.Filter{Action: "supply.snapshot", Limit: 10}); len(n) != len(after) {
		t.Errorf("refused snapshots were recorded: %d entries, want %d", len(n), len(after))
	}
}
