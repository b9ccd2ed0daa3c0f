package supply

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDryRunChangesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		files := caseFiles(t, allCases...)
		rep, err := e.svc.Import(ctx, national, files, ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Applied || !rep.DryRun || rep.ErrorCount != 0 {
			t.Fatalf("dry run report = %+v", rep)
		}
		want := []TableCounts{{TableSuppliers, 10, 0, 0}, {TableProducts, 9, 0, 0}, {TableDependencies, 4, 0, 0},
			{TableDeployments, 18, 0, 0}, {TableVulns, 1, 0, 0}, {TableContracts, 0, 0, 0}}
		if !reflect.DeepEqual(rep.Tables, want) {
			t.Errorf("tables = %+v", rep.Tables)
		}
		for _, tb := range []string{"supply_suppliers", "supply_products", "supply_dependencies", "supply_deployments", "supply_product_vulns", "audit_log"} {
			if n := count(t, e.db, tb); n != 0 {
				t.Errorf("%s has %d rows after a dry run", tb, n)
			}
		}
		if gen, _ := e.svc.generation(ctx, e.db.Q()); gen != 0 {
			t.Errorf("generation %d after dry run", gen)
		}
		// Apply, then a second dry run sees everything unchanged, and a
		// changed row as updated.
		mustImport(t, e, national, files)
		files = append(files, ImportFile{Name: "more-deployments.csv", Data: []byte("org_ods,product_id,service,criticality,has_fallback\nRJ1,SYN-LIMS,pathology,critical,yes\n")})
		// The same key twice across files is a duplicate: drop the original file.
		var kept []ImportFile
		for _, f := range files {
			if !strings.HasSuffix(f.Name, filepath.Join("pathology", "deployments.csv")) {
				kept = append(kept, f)
			}
		}
		rep, err = e.svc.Import(ctx, national, kept, ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := rep.Tables[3]; d.Updated != 1 || d.Unchanged != 11 || d.Created != 0 {
			t.Errorf("deployments = %+v (%v)", d, rep.Errors)
		}
		if s := rep.Tables[0]; s.Unchanged != 10 {
			t.Errorf("suppliers = %+v", s)
		}
		// One audit entry for the applied import, with file hashes.
		entries, _, err := e.audit.List(ctx, national, audit.Filter{Action: "supply.import"})
		if err != nil || len(entries) != 1 || !bytes.Contains(entries[0].After, []byte(`"sha256"`)) {
			t.Errorf("audit = %v %+v", err, entries)
		}
	})
}

func TestImportErrorsHavePositions(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, "gp-security"))
		before := count(t, e.db, "supply_products")
		files, err := ReadImportPaths([]string{filepath.Join("testdata", "bad")})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.Import(ctx, national, files, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("testdata", "bad")
		var got []string
		for _, x := range rep.Errors {
			got = append(got, strings.TrimPrefix(x.String(), dir+string(filepath.Separator)))
		}
		want := []string{
			"dependencies.csv:1: critical: required column is missing from the header",
			"deployments.csv:2: has_fallback: \"maybe\" is not a boolean: want yes/no, true/false or 1/0",
			"deployments.csv:3: org_ods: organisation ZZZ99 not found",
			"deployments.csv:4: criticality: \"urgent\" is not one of critical, high, medium, low",
			"deployments.csv:4: product_id: product P9 not found",
			"deployments.csv:5: service: duplicate deployment of P1 by G85001 for gp-clinical (first at " + filepath.Join(dir, "deployments.csv") + ":2)",
			"products.csv:3: supplier_id: supplier NOPE not found",
			"products.csv:4: kind: \"gadget\" is not one of software, saas, managed-service, hosting, component, shared-service, network",
			"products.csv:4: name: is required",
			"products.csv:5: product_id: duplicate product P1 (first at " + filepath.Join(dir, "products.csv") + ":2)",
			"suppliers.csv:2: name: not valid UTF-8",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if rep.Applied || rep.ErrorCount != len(want) || !strings.Contains(rep.Message, "nothing was applied") {
			t.Errorf("report = %+v", rep)
		}
		for _, f := range rep.Files {
			if strings.HasSuffix(f.File, "products.csv") && (!reflect.DeepEqual(f.IgnoredColumns, []string{"colour"}) || f.Errors != 4 || f.Rows != 4) {
				t.Errorf("products file report = %+v", f)
			}
		}
		if n := count(t, e.db, "supply_products"); n != before {
			t.Errorf("products %d → %d after a failed import", before, n)
		}
		// Self-dependency and unknown files.
		rep, _ = e.svc.Import(ctx, national, []ImportFile{
			{Name: "dependencies.csv", Data: []byte("product_id,depends_on_product_id,kind,critical\nEMIS-WEB,EMIS-WEB,hosting,yes\n")},
			{Name: "notes.csv", Data: []byte("a\n")},
			{Name: "broken.csv", Data: nil},
		}, ImportOptions{})
		if len(rep.Errors) != 3 || rep.Errors[0].String() != "dependencies.csv:2: depends_on_product_id: a product cannot depend on itself" || rep.Errors[1].Line != 0 {
			t.Errorf("errors = %v", rep.Errors)
		}
		// JSON errors carry lines too.
		js := "{\n \"format_version\": 1,\n \"deployments\": [\n  {\"org_ods\": \"G85001\", \"product_id\": \"EMIS-WEB\", \"service\": \"x\", \"criticality\": \"low\", \"has_fallback\": false},\n  {\"org_ods\": \"G85001\", \"product_id\": \"EMIS-WEB\", \"service\": \"y\", \"criticality\": \"low\", \"has_fallback\": \"no\"}\n ]\n}\n"
		rep, _ = e.svc.Import(ctx, national, []ImportFile{{Name: "r.json", Data: []byte(js)}}, ImportOptions{})
		if len(rep.Errors) != 1 || rep.Errors[0].Line != 5 || rep.Errors[0].Column != "has_fallback" {
			t.Errorf("json errors = %+v", rep.Errors)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		if _, err := e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "SYNNOVIS", ProductID: "SYN-LIMS", StartDate: "2019-04-01",
			EndDate: "2029-03-31", ValueGBP: 2.1e9, DataProcessed: "patient identifiable; test results", ExitPlan: "none documented", Substitutability: SubstHard}); err != nil {
			t.Fatal(err)
		}
		reg, err := e.svc.Export(ctx, national)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := WriteCSVDir(reg, dir); err != nil {
			t.Fatal(err)
		}
		var js bytes.Buffer
		if err := WriteJSON(&js, reg); err != nil {
			t.Fatal(err)
		}
		strip := func(r *Register) *Register {
			c := *r
			c.GeneratedAt = ""
			c.Suppliers = append([]Supplier(nil), r.Suppliers...)
			for i := range c.Suppliers {
				c.Suppliers[i].UpdatedAt = ""
			}
			c.Products = append([]Product(nil), r.Products...)
			for i := range c.Products {
				c.Products[i].UpdatedAt = ""
			}
			c.Dependencies = append([]Dependency(nil), r.Dependencies...)
			for i := range c.Dependencies {
				c.Dependencies[i].UpdatedAt = ""
			}
			c.Deployments = append([]Deployment(nil), r.Deployments...)
			for i := range c.Deployments {
				c.Deployments[i].UpdatedAt = ""
			}
			c.Vulns = append([]Vuln(nil), r.Vulns...)
			for i := range c.Vulns {
				c.Vulns[i].UpdatedAt = ""
			}
			c.Contracts = append([]Contract(nil), r.Contracts...)
			for i := range c.Contracts {
				c.Contracts[i].UpdatedAt = ""
			}
			return &c
		}
		for _, form := range []string{"csv", "json"} {
			t.Run(form, func(t *testing.T) {
				e2 := newEnv(t, storeFor(t, e.db))
				var files []ImportFile
				if form == "csv" {
					files, err = ReadImportPaths([]string{dir})
					if err != nil {
						t.Fatal(err)
					}
				} else {
					files = []ImportFile{{Name: "register.json", Data: js.Bytes()}}
				}
				mustImport(t, e2, national, files)
				reg2, err := e2.svc.Export(ctx, national)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := strip(reg), strip(reg2); !reflect.DeepEqual(a, b) {
					ja, _ := json.Marshal(a)
					jb, _ := json.Marshal(b)
					t.Errorf("round trip differs:\n%s\n%s", ja, jb)
				}
			})
		}
		// Exporting is itself audited.
		entries, _, _ := e.audit.List(ctx, national, audit.Filter{Action: "export"})
		if len(entries) != 1 {
			t.Errorf("export audit entries = %d", len(entries))
		}
	})
}

// storeFor opens a fresh database of the same engine as db.
func storeFor(t *testing.T, db *store.DB) *store.DB {
	if db.Dialect == store.Postgres {
		return storetestPostgres(t)
	}
	return storetestSQLite(t)
}

func TestChangesAreAudited(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, "pathology"))
		rj1 := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		if _, err := e.svc.PutDeployment(ctx, rj1, Deployment{OrgODS: "RJ1", ProductID: "SYN-LIMS", Service: "pathology", Criticality: Critical, HasFallback: true}); err != nil {
			t.Fatal(err)
		}
		entries, _, err := e.audit.List(ctx, national, audit.Filter{Org: "RJ1"})
		if err != nil || len(entries) != 1 || entries[0].Action != "supply.deployment.put" || entries[0].Actor != "org-analyst@RJ1" ||
			!bytes.Contains(entries[0].Before, []byte(`"has_fallback":false`)) || !bytes.Contains(entries[0].After, []byte(`"has_fallback":true`)) {
			t.Errorf("audit = %v %+v", err, entries)
		}
		// The change is visible to the next query at once.
		res, err := e.svc.Impact(ctx, national, Query{Product: "SYN-LIMS"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Affected {
			if a.ODS == "RJ1" && a.Impact != Degraded {
				t.Errorf("RJ1 after adding a fallback: %s", a.Impact)
			}
		}
		if v, err := e.audit.Verify(ctx, nil); err != nil || !v.OK {
			t.Errorf("audit chain: %v %+v", err, v)
		}
	})
}

func TestNeighbourhood(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		g, err := e.svc.Neighbourhood(ctx, national, "product:FALCON", 2)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]GraphNode{}
		for _, n := range g.Nodes {
			byID[n.ID] = n
		}
		for id, imp := range map[string]string{"product:FALCON": "affected", "product:EMIS-WEB": "affected", "org:R1H": "exposed", "org:G85001": "hard-down", "supplier:CROWDSTRIKE": ""} {
			if n, ok := byID[id]; !ok || n.Impact != imp {
				t.Errorf("node %s = %+v (present %v), want impact %q", id, n, ok, imp)
			}
		}
		if _, ok := byID["product:AWS-LONDON"]; !ok {
			t.Errorf("depth-2 node AWS-LONDON missing: %+v", g.Nodes)
		}
		if _, err := e.svc.Neighbourhood(ctx, grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/"), "product:FALCON", 1); err == nil {
			t.Errorf("supplier rep saw another supplier's neighbourhood")
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	for _, dir := range []string{"testdata/cases/pathology", "testdata/cases/gp-security", "testdata/cases/shared-gateway", "testdata/bad"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			f.Add(e.Name(), b)
		}
	}
	f.Add("r.json", []byte(`{"suppliers":[{"supplier_id":"A","name":"a"}],"deployments":[{}]}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		names := []string{"suppliers.csv", "products.csv", "dependencies.csv", "deployments.csv", "product_vulns.csv", "contracts.csv", "x.json"}
		// Any name maps to one of the parsers.
		n := names[len(name)%len(names)]
		p := &parsed{errs: &errList{max: 50}}
		p.parseFile(ImportFile{Name: n, Data: data})
		// Every row the parser hands on survives its checks, and whatever
		// the checks accept holds no control characters.
		for _, r := range p.suppliers {
			if v := r.v; len(v.check()) == 0 && strings.ContainsAny(v.ID+v.Name+v.ODSCode, "\x00\x1b") {
				t.Fatalf("accepted %q", v.Name)
			}
		}
		for _, r := range p.products {
			r.v.check()
		}
		for _, r := range p.dependencies {
			r.v.check()
		}
		for _, r := range p.deployments {
			r.v.check()
		}
		for _, r := range p.vulns {
			r.v.check()
		}
		for _, r := range p.contracts {
			if v := r.v; len(v.check()) == 0 && (v.ValueGBP < 0 || v.ValueGBP > maxContractGBP || v.ValueGBP != v.ValueGBP) {
				t.Fatalf("accepted value %v", v.ValueGBP)
			}
		}
		for _, e := range p.errs.errs {
			if e.File != n || e.Line < 0 {
				t.Fatalf("bad position %+v", e)
			}
		}
		if strings.Contains(strings.Join(func() []string {
			var s []string
			for _, e := range p.errs.errs {
				s = append(s, e.Reason)
			}
			return s
		}(), "\n"), "internal error") {
			t.Fatalf("parser panicked: %+v", p.errs.errs)
		}
	})
}
