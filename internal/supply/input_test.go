package supply

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// importErrors runs a dry run of files and returns its errors as
// "file:line: column: reason", failing the test when the dry run says valid
// although errors were expected.
func importErrors(t *testing.T, e *env, sc scope.Scope, files ...ImportFile) []string {
	t.Helper()
	rep, err := e.svc.Import(context.Background(), sc, files, ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range rep.Errors {
		out = append(out, x.String())
	}
	if len(out) > 0 && (rep.Applied || !strings.Contains(rep.Message, "nothing was applied")) {
		t.Errorf("a dry run with errors says %q", rep.Message)
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Numbers and dates in imports are refused, with their position, unless
// they are finite, non-negative amounts and real YYYY-MM-DD dates in order.
func TestImportRefusesBadNumbersAndDates(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		mustImport(t, e, national, caseFiles(t, "pathology"))
		csv := "contract_id,org_ods,supplier_id,start_date,end_date,value_gbp\n" +
			"C1,RJ1,SYNNOVIS,2024-04-01,2027-03-31,Infinity\n" +
			"C2,RJ1,SYNNOVIS,2024-04-01,2027-03-31,NaN\n" +
			"C3,RJ1,SYNNOVIS,2024-04-01,2027-03-31,1e400\n" +
			"C4,RJ1,SYNNOVIS,2024-04-01,2027-03-31,-5\n" +
			"C5,RJ1,SYNNOVIS,2024-13-01,2027-03-31,10\n" +
			"C6,RJ1,SYNNOVIS,01/04/2024,2027-02-30,10\n" +
			"C7,RJ1,SYNNOVIS,2027-04-01,2024-03-31,10\n" +
			"C8,RJ1,SYNNOVIS,2024-04-01,2027-03-31,0x1p10\n" +
			"C9,RJ1,SYNNOVIS,2024-04-01,2027-03-31,\"£1,200,000.50\"\n" +
			"C10,RJ1,SYNNOVIS,,,1.2E+06\n"
		js := "{\"contracts\": [\n" +
			"  {\"contract_id\": \"J1\", \"org_ods\": \"RJ1\", \"supplier_id\": \"SYNNOVIS\", \"value_gbp\": -1},\n" +
			"  {\"contract_id\": \"J2\", \"org_ods\": \"RJ1\", \"supplier_id\": \"SYNNOVIS\", \"start_date\": \"2024-4-1\"},\n" +
			"  {\"contract_id\": \"J3\", \"org_ods\": \"RJ1\", \"supplier_id\": \"SYNNOVIS\", \"value_gbp\": 2e12}\n" +
			"]}\n"
		got := importErrors(t, e, national, ImportFile{Name: "contracts.csv", Data: []byte(csv)}, ImportFile{Name: "r.json", Data: []byte(js)})
		sameLines(t, got, []string{
			`contracts.csv:2: value_gbp: "Infinity" is not an amount: want a number of pounds such as 1200000 or 1,200,000.50`,
			`contracts.csv:3: value_gbp: "NaN" is not an amount: want a number of pounds such as 1200000 or 1,200,000.50`,
			`contracts.csv:4: value_gbp: "1e400" is too large: at most 1,000,000,000,000`,
			`contracts.csv:5: value_gbp: "-5" is not an amount: want a number of pounds such as 1200000 or 1,200,000.50`,
			`contracts.csv:6: start_date: "2024-13-01" is not a date: want YYYY-MM-DD`,
			`contracts.csv:7: start_date: "01/04/2024" is not a date: want YYYY-MM-DD`,
			`contracts.csv:7: end_date: "2027-02-30" is not a date: want YYYY-MM-DD`,
			`contracts.csv:8: end_date: 2024-03-31 is before start_date 2027-04-01`,
			`contracts.csv:9: value_gbp: "0x1p10" is not an amount: want a number of pounds such as 1200000 or 1,200,000.50`,
			`r.json:2: value_gbp: -1 is negative`,
			`r.json:3: start_date: "2024-4-1" is not a date: want YYYY-MM-DD`,
			`r.json:4: value_gbp: 2e+12 is too large: at most 1,000,000,000,000`,
		})
	})
}

// Names, codes and free text refuse NUL bytes and other control
// characters and are bounded in length; CVE IDs must be CVE IDs. A dry run
// reports each problem (PostgreSQL used to fail the real import with a 500
// after the dry run said "valid").
func TestImportRefusesControlCharactersAndBadIDs(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		mustImport(t, e, national, caseFiles(t, allCases...))
		long := strings.Repeat("x", 201)
		got := importErrors(t, e, national,
			ImportFile{Name: "suppliers.csv", Data: []byte("supplier_id,name,contacts,country\n" +
				"N1,Bad\x00Name,,\n" +
				"N2,Evil\x1b[2J,,\n" +
				"N3,abc\u202egpj.exe,,\n" +
				"N4,Tab\there,\"two\tlines\nare fine\",\n" +
				"N5,ok,nul\x00in contacts,\n" +
				"N6,ok,,G\x01B\n")},
			ImportFile{Name: "products.csv", Data: []byte("product_id,supplier_id,name,kind,version,cves\n" +
				"P1,EMIS," + long + ",saas,,\n" +
				"P2,EMIS,ok,saas,,cve-2024-12345;CVE-24-1;GHSA-abcd-efgh-ijkl\n")},
			ImportFile{Name: "product_vulns.csv", Data: []byte("product_id,cve,component\nEMIS-WEB,CVE-2024-1234x,\nEMIS-WEB,CVE-2024-0001,lib\x7f\n")},
			ImportFile{Name: "deployments.csv", Data: []byte("org_ods,product_id,service,criticality,has_fallback\nRJ1,EMIS-WEB," + strings.Repeat("s", 65) + ",low,no\n")},
			ImportFile{Name: "r.json", Data: []byte("{\"suppliers\": [\n {\"supplier_id\": \"J1\", \"name\": \"nul\\u0000json\"}\n]}\n")},
		)
		sameLines(t, got, []string{
			"suppliers.csv:2: name: contains control character U+0000",
			"suppliers.csv:3: name: contains control character U+001B",
			"suppliers.csv:4: name: contains bidirectional control character U+202E",
			"suppliers.csv:5: name: contains control character U+0009",
			"suppliers.csv:7: contacts: contains control character U+0000", // line 5's contacts take two lines
			"suppliers.csv:8: country: contains control character U+0001",
			"products.csv:2: name: is longer than 200 characters",
			`products.csv:3: cve: "CVE-24-1" is not a CVE ID: want CVE-YYYY-NNNN`,
			`products.csv:3: cve: "GHSA-ABCD-EFGH-IJKL" is not a CVE ID: want CVE-YYYY-NNNN`,
			`product_vulns.csv:2: cve: "CVE-2024-1234X" is not a CVE ID: want CVE-YYYY-NNNN`,
			"product_vulns.csv:3: component: contains control character U+007F",
			"deployments.csv:2: service: is longer than 64 characters",
			"r.json:2: name: contains control character U+0000",
		})
		// The valid CVE of that row is normalised to upper case.
		rep, err := e.svc.Import(context.Background(), national, []ImportFile{{Name: "products.csv",
			Data: []byte("product_id,supplier_id,name,kind,version,cves\nP2,EMIS,ok,saas,,cve-2024-12345\n")}}, ImportOptions{})
		if err != nil || !rep.Applied {
			t.Fatalf("import = %v %+v", err, rep)
		}
		res, err := e.svc.Impact(context.Background(), national, Query{CVE: "CVE-2024-12345"})
		if err != nil || len(res.Products) != 1 {
			t.Errorf("impact of the normalised CVE = %v %+v", err, res)
		}
	})
}

// The same rules hold for single writes (API, CLI and web call these).
func TestPutRefusesBadInput(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		field := func(err error) string {
			var ve *fault.Invalid
			if errors.As(err, &ve) {
				return ve.Field
			}
			return "not a validation error: " + errString(err)
		}
		for _, c := range []struct {
			name  string
			err   error
			field string
		}{
			{"supplier NUL", second(e.svc.PutSupplier(ctx, national, Supplier{ID: "N1", Name: "Bad\x00Name"})), "name"},
			{"supplier ESC", second(e.svc.PutSupplier(ctx, national, Supplier{ID: "N1", Name: "Evil\x1b[2J"})), "name"},
			{"supplier id NUL", second(e.svc.PutSupplier(ctx, national, Supplier{ID: "N\x001", Name: "ok"})), "supplier_id"},
			{"supplier long name", second(e.svc.PutSupplier(ctx, national, Supplier{ID: "N1", Name: strings.Repeat("n", 201)})), "name"},
			{"supplier contacts NUL", second(e.svc.PutSupplier(ctx, national, Supplier{ID: "N1", Name: "ok", Contacts: "a\x00"})), "contacts"},
			{"product NUL", second(e.svc.PutProduct(ctx, national, Product{ID: "P1", SupplierID: "EMIS", Name: "x\x00", Kind: SaaS})), "name"},
			{"product version ESC", second(e.svc.PutProduct(ctx, national, Product{ID: "P1", SupplierID: "EMIS", Name: "x", Kind: SaaS, Version: "1\x1b"})), "version"},
			{"vuln not a CVE", second(e.svc.PutVuln(ctx, national, Vuln{ProductID: "EMIS-WEB", CVE: "CVE-2024-1"})), "cve"},
			{"deployment service NUL", second(e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "RJ1", ProductID: "EMIS-WEB", Service: "gp\x00", Criticality: Low})), "service"},
			{"contract NaN", second(e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "EMIS", ValueGBP: math.NaN()})), "value_gbp"},
			{"contract Inf", second(e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "EMIS", ValueGBP: math.Inf(1)})), "value_gbp"},
			{"contract dates", second(e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "EMIS", StartDate: "2025-01-01", EndDate: "2024-01-01"})), "end_date"},
			{"contract bad date", second(e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "EMIS", StartDate: "tomorrow"})), "start_date"},
			{"contract exit plan NUL", second(e.svc.PutContract(ctx, national, Contract{ID: "C1", OrgODS: "RJ1", SupplierID: "EMIS", ExitPlan: "\x00"})), "exit_plan"},
			{"impact of no CVE", second(e.svc.Impact(ctx, national, Query{CVE: "CVE-2024"})), "cve"},
		} {
			if got := field(c.err); got != c.field {
				t.Errorf("%s: field %q, want %q", c.name, got, c.field)
			}
		}
		// Looking up or deleting by an ID no row can have is "not found",
		// never a database error (PostgreSQL refuses NUL in parameters).
		for name, err := range map[string]error{
			"get supplier":      second(e.svc.GetSupplier(ctx, national, "EMIS\x00")),
			"get product":       second(e.svc.GetProduct(ctx, national, "EMIS-WEB\x00")),
			"delete vuln":       e.svc.DeleteVuln(ctx, national, "FALCON", "CVE-2099-0001\x00"),
			"delete deployment": e.svc.DeleteDeployment(ctx, national, "G85001", "EMIS-WEB\x00", "gp-clinical"),
			"delete dependency": e.svc.DeleteDependency(ctx, national, "EMIS-WEB", "FALCON\x00"),
		} {
			if !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s with NUL: %v, want not found", name, err)
			}
		}
		if d, err := e.svc.ListDeployments(ctx, national, DeploymentFilter{Service: "gp\x00"}); err != nil || len(d) != 0 {
			t.Errorf("list deployments with NUL = %v %v", d, err)
		}
		if c, err := e.svc.ListContracts(ctx, national, "RJ1\x00"); err != nil || len(c) != 0 {
			t.Errorf("list contracts with NUL = %v %v", c, err)
		}
	})
}

func second[T any](_ T, err error) error { return err }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// A supplier representative maintains their supplier's own description
// (name, country, contacts) but not the register's fields: ods_code (which
// would make impact?supplier=RJ1 answer for their supplier),
// designated_critical, parent_supplier_id, tenant_org,
// companies_house_number and duns.
func TestRepCannotChangeRegisterFields(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		emis, err := e.svc.GetSupplier(ctx, national, "EMIS")
		if err != nil {
			t.Fatal(err)
		}
		emis.DesignatedCritical, emis.CompaniesHouseNumber = true, "01001001"
		if emis, err = e.svc.PutSupplier(ctx, national, emis); err != nil {
			t.Fatal(err)
		}
		rep := grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/")
		for field, change := range map[string]func(*Supplier){
			"ods_code":               func(s *Supplier) { s.ODSCode = "RJ1" },
			"designated_critical":    func(s *Supplier) { s.DesignatedCritical = false },
			"parent_supplier_id":     func(s *Supplier) { s.ParentID = "TPP" },
			"tenant_org":             func(s *Supplier) { s.TenantOrg = "S-CS" },
			"companies_house_number": func(s *Supplier) { s.CompaniesHouseNumber = "99999999" },
			"duns":                   func(s *Supplier) { s.DUNS = "123456789" },
		} {
			s := emis
			change(&s)
			_, err := e.svc.PutSupplier(ctx, rep, s)
			if !errors.Is(err, fault.ErrForbidden) || !strings.Contains(errString(err), field) {
				t.Errorf("rep changing %s: %v, want forbidden naming the field", field, err)
			}
		}
		// Nothing changed: RJ1 is still no supplier, EMIS still critical.
		if _, err := e.svc.Impact(ctx, national, Query{Supplier: "RJ1"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("impact?supplier=RJ1 after the attempt: %v", err)
		}
		if got, _ := e.svc.GetSupplier(ctx, national, "EMIS"); got != emis {
			t.Errorf("EMIS changed: %+v", got)
		}
		// Their own description they may change.
		s := emis
		s.Name, s.Country, s.Contacts = "EMIS Health plc", "GB", "security@emis.test\nout of hours: 0800 000 000"
		if _, err := e.svc.PutSupplier(ctx, rep, s); err != nil {
			t.Errorf("rep changing name and contacts: %v", err)
		}
		// Imports: the same rule, row by row.
		got := importErrors(t, e, rep, ImportFile{Name: "suppliers.csv", Data: []byte(
			"supplier_id,name,tenant_org,ods_code,designated_critical,companies_house_number\n" +
				"EMIS,EMIS Health,S-EMIS,RJ1,yes,01001001\n" +
				"EMIS,EMIS Health,S-EMIS,,no,01001001\n")})
		sameLines(t, got, []string{
			"suppliers.csv:2: ods_code: is kept by supply-chain managers, not by the supplier's representatives: leave it as the register has it (\"\")",
			"suppliers.csv:3: designated_critical: is kept by supply-chain managers, not by the supplier's representatives: leave it as the register has it (yes)",
			"suppliers.csv:3: supplier_id: duplicate supplier EMIS (first at suppliers.csv:2)",
		})
		rep2, err := e.svc.Import(ctx, rep, []ImportFile{{Name: "suppliers.csv", Data: []byte(
			"supplier_id,name,tenant_org,designated_critical,companies_house_number,country\nEMIS,EMIS Health Ltd,S-EMIS,yes,01001001,GB\n")}}, ImportOptions{})
		if err != nil || !rep2.Applied {
			t.Errorf("rep import leaving the register's fields alone = %v %+v", err, rep2)
		}
	})
}

// ODS codes on suppliers are unique (impact?supplier=CODE must mean one
// supplier) and only name organisations the writer holds Supply over.
func TestSupplierODSCodes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		_, err := e.svc.PutSupplier(ctx, national, Supplier{ID: "NEWCO", Name: "New", ODSCode: "r1h"})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(errString(err), "ods_code") || !strings.Contains(errString(err), "BARTSPATH") {
			t.Errorf("second supplier with R1H: %v, want a conflict naming ods_code and BARTSPATH", err)
		}
		// Its own code again is no conflict.
		bp, _ := e.svc.GetSupplier(ctx, national, "BARTSPATH")
		bp.Contacts = "pathology@barts.test"
		if _, err := e.svc.PutSupplier(ctx, national, bp); err != nil {
			t.Errorf("re-saving BARTSPATH: %v", err)
		}
		got := importErrors(t, e, national, ImportFile{Name: "suppliers.csv", Data: []byte(
			"supplier_id,name,ods_code\nX1,X one,RJ1\nX2,X two,rj1\nX3,X three,R1H\n")})
		sameLines(t, got, []string{
			"suppliers.csv:3: ods_code: RJ1 is also the ODS code of supplier X1 (suppliers.csv:2)",
			"suppliers.csv:4: ods_code: R1H is already the ODS code of supplier BARTSPATH",
		})
		// Moving a code from one supplier to another in one import is fine.
		mustImport(t, e, national, []ImportFile{{Name: "suppliers.csv", Data: []byte(
			"supplier_id,name,ods_code,country\nBARTSPATH,Barts Health Pathology Partnership,,GB\nX4,Barts pathology (new entity),R1H,GB\n")}})
		res, err := e.svc.Impact(ctx, national, Query{Supplier: "R1H"})
		if err != nil || len(res.Start) == 0 || res.Start[0] != "supplier:X4" {
			t.Errorf("impact?supplier=R1H after the move = %v %+v", err, res)
		}
		// A regional supply-chain manager names only bodies in their region.
		north := grant(scope.RegionLead, "Y63", "/ENG/Y63/")
		if _, err := e.svc.PutSupplier(ctx, north, Supplier{ID: "NORTHCO", Name: "North", ODSCode: "RJ1"}); field(err) != "ods_code" || !strings.Contains(errString(err), "not found") {
			t.Errorf("north region lead naming RJ1: %v", err)
		}
		if _, err := e.svc.PutSupplier(ctx, north, Supplier{ID: "NORTHCO", Name: "North", ODSCode: "RR7"}); err != nil {
			t.Errorf("north region lead naming RR7: %v", err)
		}
		// The database holds the rule too, whoever writes.
		_, err = e.db.ExecContext(ctx, `INSERT INTO supply_suppliers (supplier_id, name, ods_code, updated_at) VALUES ('DUP', 'dup', 'RR7', 'x')`)
		if !store.IsUniqueViolation(err) {
			t.Errorf("duplicate ods_code in SQL: %v, want a unique violation", err)
		}
		if _, err = e.db.ExecContext(ctx, `INSERT INTO supply_suppliers (supplier_id, name, ods_code, updated_at) VALUES ('E1', 'e', '', 'x'), ('E2', 'e', '', 'x')`); err != nil {
			t.Errorf("two suppliers without an ODS code: %v", err)
		}
	})
}

func field(err error) string {
	var ve *fault.Invalid
	if errors.As(err, &ve) {
		return ve.Field
	}
	return ""
}

// A refused delete says what blocks it only as far as the caller may see:
// a supplier representative sees no deployments and no other supplier's
// products, so the message gives them no counts.
func TestDeleteProductMessageStaysInScope(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		cs := grant(scope.SupplierRep, "S-CS", "/ENG/S-CS/")
		err := e.svc.DeleteProduct(ctx, cs, "FALCON")
		if !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("rep deleting FALCON: %v, want conflict", err)
		}
		if strings.ContainsAny(err.Error(), "0123456789") || strings.Contains(err.Error(), "EMIS") || strings.Contains(err.Error(), "MILLENNIUM") {
			t.Errorf("the message tells a supplier rep what they cannot see: %q", err)
		}
		syn := grant(scope.SupplierRep, "S-SYN", "/ENG/S-SYN/")
		if err := e.svc.DeleteProduct(ctx, syn, "SYN-LIMS"); !errors.Is(err, fault.ErrConflict) || strings.ContainsAny(err.Error(), "0123456789") {
			t.Errorf("rep deleting SYN-LIMS: %v", err)
		}
		// A trust analyst sees the register and their own deployments only.
		rj1 := grant(scope.RegionLead, "QKK", "/ENG/Y56/QKK/")
		if err := e.svc.DeleteProduct(ctx, rj1, "SYN-LIMS"); !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "deployed 5 times and 0 products depend on it as far as you can see") {
			t.Errorf("ICB lead deleting SYN-LIMS: %v", err)
		}
		// The national view counts everything.
		if err := e.svc.DeleteProduct(ctx, national, "SYN-LIMS"); !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "deployed 6 times") {
			t.Errorf("national deleting SYN-LIMS: %v", err)
		}
		if err := e.svc.DeleteProduct(ctx, national, "FALCON"); !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "2 products depend on it") {
			t.Errorf("national deleting FALCON: %v", err)
		}
	})
}

// CSV exports neutralise spreadsheet formulas (a cell starting with = + -
// @ tab or CR gets a leading ') and imports undo exactly that, so the
// export still round-trips: the names below survive export and import.
func TestCSVFormulaCellsRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, "pathology"))
		names := []string{"=HYPERLINK(\"http://evil.test\",\"click\")", "-2+3", "+44 20 7188 7188", "@SUM(A1)", "'=already quoted", "''=twice", "'plain apostrophe", "O'Brien Ltd"}
		for i, n := range names {
			if _, err := e.svc.PutSupplier(ctx, national, Supplier{ID: "F" + string(rune('A'+i)), Name: n, Contacts: n}); err != nil {
				t.Fatal(err)
			}
		}
		reg, err := e.svc.Export(ctx, national)
		if err != nil {
			t.Fatal(err)
		}
		var files []ImportFile
		if err := WriteCSV(reg, func(name string) (io.Writer, error) {
			files = append(files, ImportFile{Name: name})
			return &fileBuf{&files[len(files)-1]}, nil
		}); err != nil {
			t.Fatal(err)
		}
		text := string(files[0].Data)
		for _, cell := range []string{`'=HYPERLINK(`, `'-2+3`, `'+44 20`, `'@SUM(A1)`, `''=already quoted`, `'''=twice`, `,'plain apostrophe,`, `,O'Brien Ltd,`} {
			if !strings.Contains(text, cell) {
				t.Errorf("suppliers.csv lacks %q:\n%s", cell, text)
			}
		}
		e2 := newEnv(t, storeFor(t, e.db))
		mustImport(t, e2, national, files)
		for i, n := range names {
			s, err := e2.svc.GetSupplier(ctx, national, "F"+string(rune('A'+i)))
			if err != nil || s.Name != n || s.Contacts != n {
				t.Errorf("after the round trip %q = %q / %q (%v)", n, s.Name, s.Contacts, err)
			}
		}
	})
}

// fileBuf collects one file WriteCSV writes.
type fileBuf struct{ f *ImportFile }

func (b *fileBuf) Write(p []byte) (int, error) { b.f.Data = append(b.f.Data, p...); return len(p), nil }

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "plain": "plain", "=1+1": "'=1+1", "-1": "'-1", "+1": "'+1", "@x": "'@x",
		"\tx": "'\tx", "\rx": "'\rx", "'=x": "''=x", "'x": "'x", "''": "''"} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
		if back := uncell(CSVCell(in)); back != in {
			t.Errorf("uncell(CSVCell(%q)) = %q", in, back)
		}
	}
}

// FuzzCSVCell: whatever a cell holds, the exported form starts with no
// formula character and the import gives back exactly what was stored.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1+1", "-2", "+44", "@x", "\tx", "\rx", "'=x", "''-x", "'x", "O'Brien", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c := CSVCell(v)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("CSVCell(%q) = %q starts a formula", v, c)
		}
		if back := uncell(c); back != v {
			t.Fatalf("uncell(CSVCell(%q)) = %q", v, back)
		}
	})
}

// Migration 0002 keeps one supplier per ODS code of a register written
// before codes were unique: the one without a tenant (the register keeps
// NHS bodies' own rows), then the lowest ID; the others lose the code.
func TestMigrationMakesODSCodesUnique(t *testing.T) {
	first := store.MigrationSet{Domain: "supply", FS: onlyFiles(t, "0001_supply.sql")}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`INSERT INTO supply_suppliers (supplier_id, name, ods_code, tenant_org, updated_at) VALUES
				('BARTSPATH', 'Barts pathology', 'R1H', '', 'x'), ('AAA-HIJACK', 'Hijacker', 'R1H', 'S-EMIS', 'x'),
				('B2', 'Second', 'RTD', '', 'x'), ('B1', 'First', 'RTD', '', 'x'), ('NONE', 'No code', '', '', 'x'), ('NONE2', 'No code', '', '', 'x')`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx, sets...); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		rows, err := db.QueryContext(ctx, `SELECT supplier_id, ods_code FROM supply_suppliers`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, code string
			rows.Scan(&id, &code)
			got[id] = code
		}
		rows.Close()
		want := map[string]string{"BARTSPATH": "R1H", "AAA-HIJACK": "", "B1": "RTD", "B2": "", "NONE": "", "NONE2": ""}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("codes after the migration = %v, want %v", got, want)
		}
	}, org.Migrations(), audit.Migrations(), first)
}

// onlyFiles is the supply migrations directory with only the named files.
func onlyFiles(t *testing.T, names ...string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, n := range names {
		b, err := migrationFS.ReadFile("migrations/" + n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	return m
}
