package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/api"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// addSupplyFixture gives the isolation fixture a supplier register: a
// pathology service deployed by Alice's trust RJ1 and Bob's trust RJZ,
// hosted on a second product. Names carry nothing of Bob's, so anything
// of RJZ in an answer to Alice is a leak.
func addSupplyFixture(t testing.TB, s *Server) {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	steps := []func() error{
		func() error {
			_, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "ISO-SUP", Name: "Isolation Pathology Ltd"})
			return err
		},
		func() error {
			_, err := s.Supply.PutProduct(ctx, sys, supply.Product{ID: "ISO-LIMS", SupplierID: "ISO-SUP", Name: "Isolation LIMS", Kind: supply.ManagedService})
			return err
		},
		func() error {
			_, err := s.Supply.PutProduct(ctx, sys, supply.Product{ID: "ISO-HOST", SupplierID: "ISO-SUP", Name: "Isolation hosting", Kind: supply.Hosting})
			return err
		},
		func() error {
			_, err := s.Supply.PutDependency(ctx, sys, supply.Dependency{ProductID: "ISO-LIMS", DependsOnID: "ISO-HOST", Kind: supply.DepHosting, Critical: true})
			return err
		},
	}
	for _, code := range []string{"RJ1", "RJZ"} {
		steps = append(steps, func() error {
			_, err := s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: code, ProductID: "ISO-LIMS", Service: "pathology", Criticality: supply.Critical})
			return err
		})
	}
	steps = append(steps, func() error {
		_, err := s.Supply.PutContract(ctx, sys, supply.Contract{ID: "ISO-CON-RJZ", OrgODS: "RJZ", SupplierID: "ISO-SUP", ProductID: "ISO-LIMS",
			StartDate: "2024-04-01", EndDate: "2027-03-31", ValueGBP: 1.2e6, DataProcessed: "patient test results", ExitPlan: "tested 2025"})
		return err
	})
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("supply fixture: %v", err)
		}
	}
}

// The isolation checks of the supply routes are only meaningful if Bob
// really sees what Alice must not.
func TestSupplyFixtureVisibleToOwner(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	for _, p := range []string{"/api/v1/supply/deployments?product=ISO-LIMS", "/api/v1/supply/impact?supplier=ISO-SUP", "/api/v1/supply/graph?node=product:ISO-LIMS&depth=3", "/api/v1/supply/export", "/api/v1/supply/contracts"} {
		res, body := get(t, http.DefaultClient, s.url(p), f.bobTok)
		if res.StatusCode != 200 || !strings.Contains(body, "RJZ") {
			t.Errorf("Bob GET %s = %d, want his trust RJZ in it:\n%.400s", p, res.StatusCode, body)
		}
	}
}

// supplyServer is a server holding the organisations of the supply
// domain's real-shaped cases, with tokens for a national supply-chain
// manager, an analyst of trust RJ1 and a representative of the supplier
// EMIS.
type supplyServer struct {
	*Server
	national, trust, rep string
}

func startSupplyServer(t *testing.T, start func(testing.TB) *Server) supplyServer {
	t.Helper()
	s := start(t)
	ctx := context.Background()
	sys := scope.System("test")
	f, err := os.Open(filepath.Join("..", "supply", "testdata", "cases", "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] { // code,name,type,parent,region,icb,population; parents first
		if r[0] == org.RootCode {
			continue
		}
		pop, _ := strconv.ParseInt(r[6], 10, 64)
		if _, err := s.Orgs.Create(ctx, sys, org.Org{Code: r[0], Name: r[1], Type: org.Type(r[2]), Parent: r[3], Population: pop}); err != nil {
			t.Fatalf("create %s: %v", r[0], err)
		}
	}
	tok := func(email string, role scope.Role, orgCode string) string {
		if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: email, Name: email, Org: orgCode, Role: role, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := s.Auth.CreateToken(ctx, sys, email, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	return supplyServer{Server: s,
		national: tok("nadia@nhs.test", scope.NationalAnalyst, org.RootCode),
		trust:    tok("tess@rj1.nhs.test", scope.OrgAnalyst, "RJ1"),
		rep:      tok("sam@emis.test", scope.SupplierRep, "S-EMIS"),
	}
}

// upload POSTs files as multipart/form-data parts named by their file names.
func upload(t *testing.T, url, bearer string, files map[string][]byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, data := range files {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", url, &b)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// caseFiles reads the CSVs of the named cases; files of the same table
// from different cases are concatenated (the header once).
func caseFiles(t *testing.T, cases ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range cases {
		dir := filepath.Join("..", "supply", "testdata", "cases", c)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[c+"-"+e.Name()] = b
		}
	}
	return out
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v\n%.600s", err, body)
	}
	return v
}

func TestSupplyAPI(t *testing.T) { engines(t, testSupplyAPI) }

func testSupplyAPI(t *testing.T, start func(testing.TB) *Server) {
	s := startSupplyServer(t, start)
	c := http.DefaultClient
	files := caseFiles(t, "pathology", "gp-security", "shared-gateway")

	// A dry run reports and writes nothing.
	res, body := upload(t, s.url("/api/v1/supply/import?dry_run=true"), s.national, files)
	rep := decodeJSON[supply.ImportReport](t, body)
	if res.StatusCode != 200 || !rep.DryRun || rep.Applied || len(rep.Files) != 12 {
		t.Fatalf("dry run = %d %+v", res.StatusCode, rep)
	}
	if res, _ := get(t, c, s.url("/api/v1/supply/suppliers/SYNLAB"), s.national); res.StatusCode != 404 {
		t.Errorf("dry run wrote the register: %d", res.StatusCode)
	}
	// A bad row: a validation problem naming file:line:column, nothing applied.
	bad := map[string][]byte{"suppliers.csv": files["pathology-suppliers.csv"], "products.csv": files["pathology-products.csv"],
		"deployments.csv": []byte("org_ods,product_id,service,criticality,has_fallback\nRJ1,SYN-LIMS,pathology,critical,no\nRJZ,SYN-LIMS,pathology,urgent,no\n")}
	res, body = upload(t, s.url("/api/v1/supply/import"), s.national, bad)
	if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"field":"deployments.csv:3:criticality"`) ||
		!strings.Contains(body, "nothing was applied") {
		t.Errorf("bad row = %d %s", res.StatusCode, body)
	}
	// The import proper.
	res, body = upload(t, s.url("/api/v1/supply/import"), s.national, files)
	if rep := decodeJSON[supply.ImportReport](t, body); res.StatusCode != 200 || !rep.Applied {
		t.Fatalf("import = %d %s", res.StatusCode, body)
	}

	t.Run("snapshots and trend", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if res, body := do(t, "POST", s.url("/api/v1/supply/snapshots"), s.national, ""); res.StatusCode != 201 {
				t.Fatalf("snapshot = %d %s", res.StatusCode, body)
			}
		}
		res, body := get(t, c, s.url("/api/v1/supply/trend?service=pathology"), s.national)
		pts := decodeJSON[[]supply.TrendPoint](t, body)
		if res.StatusCode != 200 || len(pts) != 2 {
			t.Errorf("trend = %d %s", res.StatusCode, body)
		}
		if res, _ := do(t, "POST", s.url("/api/v1/supply/snapshots"), s.trust, ""); res.StatusCode < 400 {
			t.Errorf("a trust user recorded a national snapshot: %d", res.StatusCode)
		}
	})

	t.Run("delete product", func(t *testing.T) {
		if res, body := do(t, "PUT", s.url("/api/v1/supply/products/SYN-SPARE"), s.national,
			`{"supplier_id":"SYNNOVIS","name":"Spare analyser","kind":"component"}`); res.StatusCode != 200 {
			t.Fatalf("put = %d %s", res.StatusCode, body)
		}
		if res, body := do(t, "DELETE", s.url("/api/v1/supply/products/SYN-LIMS"), s.national, ""); res.StatusCode != 409 || !strings.Contains(body, "deployed") {
			t.Errorf("deleting a deployed product = %d %s, want 409 saying it is deployed", res.StatusCode, body)
		}
		if res, _ := do(t, "DELETE", s.url("/api/v1/supply/products/SYN-SPARE"), s.rep, ""); res.StatusCode != 404 {
			t.Errorf("a competitor's representative deleted it: %d", res.StatusCode)
		}
		if res, body := do(t, "DELETE", s.url("/api/v1/supply/products/SYN-SPARE"), s.national, ""); res.StatusCode != 204 {
			t.Errorf("delete = %d %s", res.StatusCode, body)
		}
		if res, _ := get(t, c, s.url("/api/v1/supply/products/SYN-SPARE"), s.national); res.StatusCode != 404 {
			t.Errorf("deleted product still there: %d", res.StatusCode)
		}
	})

	t.Run("impact", func(t *testing.T) {
		_, body := get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB"), s.national)
		imp := decodeJSON[supply.ImpactResult](t, body)
		var got []string
		for _, a := range imp.Affected {
			got = append(got, a.ODS+"="+string(a.Impact))
		}
		if strings.Join(got, " ") != "G85001=hard-down G85002=hard-down RJ1=hard-down RJZ=hard-down G85003=degraded F84001=exposed" ||
			strings.Join(imp.Affected[2].Paths[0], " ") != "supplier:SYNLAB supplier:SYNNOVIS product:SYN-LIMS org:RJ1" || imp.Totals.Population != 36000 {
			t.Errorf("national impact = %v %+v", got, imp.Totals)
		}
		// limit keeps the worst organisations and the whole totals.
		_, body = get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB&limit=2"), s.national)
		if top := decodeJSON[supply.ImpactResult](t, body); len(top.Affected) != 2 || !top.Truncated || top.Totals.Organisations != 6 ||
			top.Affected[0].Impact != "hard-down" {
			t.Errorf("limit=2: %d affected, truncated %v, totals %d", len(top.Affected), top.Truncated, top.Totals.Organisations)
		}
		// A trust user sees only their own trust.
		_, body = get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB"), s.trust)
		imp = decodeJSON[supply.ImpactResult](t, body)
		if len(imp.Affected) != 1 || imp.Affected[0].ODS != "RJ1" || imp.Totals.Organisations != 1 || strings.Contains(body, "G85001") {
			t.Errorf("trust impact = %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/impact?cve=CVE-2099-0001"), s.national)
		if imp := decodeJSON[supply.ImpactResult](t, body); len(imp.Affected) != 5 {
			t.Errorf("cve impact = %s", body)
		}
		// The reverse question.
		_, body = get(t, c, s.url("/api/v1/supply/impact?org=G85004"), s.national)
		if d := decodeJSON[supply.DependsResult](t, body); d.Org.ODS != "G85004" || len(d.Products) != 4 {
			t.Errorf("depends on = %s", body)
		}
		if res, body := get(t, c, s.url("/api/v1/supply/impact?org=RJZ"), s.trust); res.StatusCode != 404 {
			t.Errorf("trust asking about a neighbour = %d %s", res.StatusCode, body)
		}
		if res, body := get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB&product=FALCON"), s.national); res.StatusCode != 400 || !strings.Contains(body, "one thing at a time") {
			t.Errorf("two questions = %d %s", res.StatusCode, body)
		}
		// The answer is streamed, but what fails, fails before its first
		// byte: still a problem document with its status.
		if res, body := get(t, c, s.url("/api/v1/supply/impact?supplier=NO-SUCH"), s.national); res.StatusCode != 404 ||
			res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"status":404`) {
			t.Errorf("unknown supplier = %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if res, body := get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB&limit=0"), s.national); res.StatusCode != 400 || !strings.Contains(body, `"field":"limit"`) {
			t.Errorf("limit=0 = %d %s", res.StatusCode, body)
		}
		if res, _ := get(t, c, s.url("/api/v1/supply/impact?supplier=SYNLAB"), s.national); res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("streamed answer headers = %v", res.Header)
		}
	})

	t.Run("concentration and risk", func(t *testing.T) {
		_, body := get(t, c, s.url("/api/v1/supply/concentration?service=gp-clinical&by=icb"), s.national)
		cr := decodeJSON[supply.ConcentrationResult](t, body)
		// QKK: EMIS 2.5/4, TPP 1.5/4 → 62.5² + 37.5² = 5,312.5; QMF: EMIS alone → 10,000.
		if len(cr.Groups) != 2 || cr.Groups[0].Code != "QKK" || math.Abs(cr.Groups[0].HHI-5312.5) > 1e-6 || cr.Groups[1].HHI != 10000 {
			t.Errorf("concentration = %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/concentration?service=all"), s.national)
		if rep := decodeJSON[supply.ConcentrationReport](t, body); len(rep.Results) != 15 {
			t.Errorf("concentration report = %.300s", body)
		}
		for _, p := range []string{"/api/v1/supply/concentration?service=pathology", "/api/v1/supply/risk"} {
			if res, _ := get(t, c, s.url(p), s.trust); res.StatusCode != 404 {
				t.Errorf("trust analyst GET %s = %d, want 404 (needs the supply-chain role)", p, res.StatusCode)
			}
		}
		if res, body := get(t, c, s.url("/api/v1/supply/concentration?service=pathology&by=county"), s.national); res.StatusCode != 400 || !strings.Contains(body, `"field":"by"`) {
			t.Errorf("bad level = %d %s", res.StatusCode, body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/risk?limit=5"), s.national)
		if r := decodeJSON[supply.SystemicResult](t, body); len(r.Suppliers) != 5 || r.Suppliers[0].GroupID != "CROWDSTRIKE" {
			t.Errorf("risk = %.400s", body)
		}
	})

	t.Run("graph", func(t *testing.T) {
		_, body := get(t, c, s.url("/api/v1/supply/graph?node=supplier:SYNLAB&depth=3"), s.national)
		g := decodeJSON[supply.Graph](t, body)
		impact := map[string]string{}
		for _, n := range g.Nodes {
			impact[n.ID] = n.Impact
		}
		if impact["org:RJ1"] != "hard-down" || impact["org:G85003"] != "degraded" || impact["product:SYN-LIMS"] != "affected" {
			t.Errorf("graph nodes = %+v", g.Nodes)
		}
		if res, _ := get(t, c, s.url("/api/v1/supply/graph?node=org:RJZ"), s.trust); res.StatusCode != 404 {
			t.Errorf("trust graph of a neighbour = %d", res.StatusCode)
		}
		if res, _ := get(t, c, s.url("/api/v1/supply/graph?node=product:SYN-LIMS&depth=9"), s.national); res.StatusCode != 400 {
			t.Errorf("depth 9 = %d", res.StatusCode)
		}
	})

	t.Run("supplier representative", func(t *testing.T) {
		// Sees their own supplier and products, nothing of competitors and
		// no organisation's deployments.
		_, body := get(t, c, s.url("/api/v1/supply/suppliers"), s.rep)
		if p := decodeJSON[api.Page[supply.Supplier]](t, body); len(p.Items) != 1 || p.Items[0].ID != "EMIS" {
			t.Errorf("rep suppliers = %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/deployments"), s.rep)
		if p := decodeJSON[api.Page[supply.Deployment]](t, body); len(p.Items) != 0 {
			t.Errorf("rep sees deployments: %s", body)
		}
		for _, p := range []string{"/api/v1/supply/suppliers/TPP", "/api/v1/supply/products/SYSTMONE", "/api/v1/supply/impact?supplier=TPP",
			"/api/v1/supply/graph?node=supplier:TPP", "/api/v1/supply/dependencies?product=SYSTMONE"} {
			if res, body := get(t, c, s.url(p), s.rep); res.StatusCode != 404 {
				t.Errorf("rep GET %s = %d %s, want 404", p, res.StatusCode, body)
			}
		}
		_, body = get(t, c, s.url("/api/v1/supply/impact?supplier=EMIS"), s.rep)
		if imp := decodeJSON[supply.ImpactResult](t, body); len(imp.Affected) != 0 || len(imp.Products) != 1 {
			t.Errorf("rep's own impact = %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/graph?node=product:EMIS-WEB&depth=3"), s.rep)
		if strings.Contains(body, `"org:`) || strings.Contains(body, "SYSTMONE") {
			t.Errorf("rep graph shows organisations or competitors: %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/export"), s.rep)
		if reg := decodeJSON[supply.Register](t, body); len(reg.Deployments) != 0 || len(reg.Suppliers) != 1 {
			t.Errorf("rep export = %.400s", body)
		}
		// Maintains their own products; not a competitor's.
		if res, body := do(t, "PUT", s.url("/api/v1/supply/products/EMIS-X"), s.rep, `{"supplier_id":"EMIS","name":"EMIS X","kind":"saas"}`); res.StatusCode != 200 {
			t.Errorf("rep own product = %d %s", res.StatusCode, body)
		}
		if res, _ := do(t, "PUT", s.url("/api/v1/supply/products/SYSTMONE"), s.rep, `{"supplier_id":"EMIS","name":"mine","kind":"saas"}`); res.StatusCode != 404 {
			t.Errorf("rep taking a competitor's product = %d", res.StatusCode)
		}
	})

	t.Run("writes", func(t *testing.T) {
		for _, w := range []struct {
			name, method, path, token, body string
			status                          int
			want                            string
		}{
			{"trust records its own deployment", "PUT", "/api/v1/supply/deployments", s.trust, `{"org_ods":"RJ1","product_id":"BARTS-LIMS","service":"Pathology","criticality":"medium","has_fallback":true}`, 200, `"service":"pathology"`},
			{"trust records a neighbour's", "PUT", "/api/v1/supply/deployments", s.trust, `{"org_ods":"RJZ","product_id":"BARTS-LIMS","service":"pathology","criticality":"medium"}`, 404, "not-found"},
			{"bad criticality", "PUT", "/api/v1/supply/deployments", s.trust, `{"org_ods":"RJ1","product_id":"BARTS-LIMS","service":"pathology","criticality":"urgent"}`, 400, `"field":"criticality"`},
			{"trust removes its own", "DELETE", "/api/v1/supply/deployments?org=rj1&product=BARTS-LIMS&service=pathology", s.trust, ``, 204, ""},
			{"trust removes a neighbour's", "DELETE", "/api/v1/supply/deployments?org=RJZ&product=SYN-LIMS&service=pathology", s.trust, ``, 404, "not-found"},
			{"delete needs its keys", "DELETE", "/api/v1/supply/deployments?org=RJ1", s.trust, ``, 400, `"field":"product"`},
			{"trust changes a supplier", "PUT", "/api/v1/supply/suppliers/TPP", s.trust, `{"name":"x"}`, 404, "not-found"},
			{"manager changes a supplier", "PUT", "/api/v1/supply/suppliers/TPP", s.national, `{"name":"The Phoenix Partnership (Leeds) Ltd","country":"GB"}`, 200, `"supplier_id":"TPP"`},
			{"body and address differ", "PUT", "/api/v1/supply/suppliers/TPP", s.national, `{"supplier_id":"EMIS","name":"x"}`, 400, `"field":"supplier_id"`},
			{"manager adds a dependency", "PUT", "/api/v1/supply/dependencies", s.national, `{"product_id":"SYSTMONE","depends_on_product_id":"AWS-LONDON","kind":"hosting","critical":true}`, 200, `"kind":"hosting"`},
			{"trust adds a dependency", "PUT", "/api/v1/supply/dependencies", s.trust, `{"product_id":"SYSTMONE","depends_on_product_id":"FALCON","kind":"component","critical":true}`, 404, "not-found"},
			{"manager removes it", "DELETE", "/api/v1/supply/dependencies?product=SYSTMONE&depends_on=AWS-LONDON", s.national, ``, 204, ""},
			{"unknown field", "PUT", "/api/v1/supply/products/P1", s.national, `{"supplier_id":"TPP","nme":"x"}`, 400, `"field":"nme"`},
			{"import neither multipart nor JSON", "POST", "/api/v1/supply/import", s.national, ``, 400, "multipart/form-data"},
		} {
			t.Run(w.name, func(t *testing.T) {
				req, _ := http.NewRequest(w.method, s.url(w.path), strings.NewReader(w.body))
				req.Header.Set("Authorization", "Bearer "+w.token)
				if w.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != w.status || !strings.Contains(string(b), w.want) {
					t.Errorf("%s %s = %d %s, want %d containing %q", w.method, w.path, res.StatusCode, b, w.status, w.want)
				}
			})
		}
		_, body := get(t, c, s.url("/api/v1/supply/deployments?org=RJ1"), s.trust)
		if p := decodeJSON[api.Page[supply.Deployment]](t, body); len(p.Items) != 1 || p.Items[0].ProductID != "SYN-LIMS" {
			t.Errorf("RJ1 deployments after put and delete = %s", body)
		}
	})

	t.Run("lists page", func(t *testing.T) {
		var ids []string
		cursor := ""
		for i := 0; i < 20; i++ {
			_, body := get(t, c, s.url("/api/v1/supply/products?limit=4&cursor="+cursor), s.national)
			p := decodeJSON[api.Page[supply.Product]](t, body)
			for _, x := range p.Items {
				ids = append(ids, x.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		_, body := get(t, c, s.url("/api/v1/supply/products?limit=1000"), s.national)
		var all []string
		for _, x := range decodeJSON[api.Page[supply.Product]](t, body).Items {
			all = append(all, x.ID)
		}
		if strings.Join(ids, " ") != strings.Join(all, " ") || len(all) < 9 {
			t.Errorf("paged %v\nwhole %v", ids, all)
		}
		_, body = get(t, c, s.url("/api/v1/supply/products?supplier=SYNNOVIS"), s.national)
		if p := decodeJSON[api.Page[supply.Product]](t, body); len(p.Items) != 1 || p.Items[0].ID != "SYN-LIMS" {
			t.Errorf("products of SYNNOVIS = %s", body)
		}
		_, body = get(t, c, s.url("/api/v1/supply/dependencies?product=EMIS-WEB"), s.national)
		if p := decodeJSON[api.Page[supply.Dependency]](t, body); len(p.Items) != 2 {
			t.Errorf("dependencies of EMIS-WEB = %s", body)
		}
	})

	t.Run("export is audited and imports back as JSON", func(t *testing.T) {
		_, body := get(t, c, s.url("/api/v1/supply/export"), s.national)
		reg := decodeJSON[supply.Register](t, body)
		if len(reg.Suppliers) != 10 || len(reg.Deployments) < 15 {
			t.Errorf("export = %d suppliers, %d deployments", len(reg.Suppliers), len(reg.Deployments))
		}
		res, rb := do(t, "POST", s.url("/api/v1/supply/import?dry_run=true"), s.national, body)
		rep := decodeJSON[supply.ImportReport](t, rb)
		if res.StatusCode != 200 || !rep.DryRun {
			t.Fatalf("JSON re-import = %d %s", res.StatusCode, rb)
		}
		for _, tc := range rep.Tables {
			if tc.Created+tc.Updated != 0 {
				t.Errorf("re-importing the export changes %+v", tc)
			}
		}
		entries, _, err := s.Audit.List(context.Background(), scope.System("test"), audit.Filter{Action: "export"})
		if err != nil || len(entries) == 0 || entries[0].ObjectType != "supply_register" || entries[0].Actor != "nadia@nhs.test" {
			t.Errorf("export audit = %v %+v", err, entries)
		}
	})
}
