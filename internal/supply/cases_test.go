package supply

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

var allCases = []string{"pathology", "gp-security", "shared-gateway"}

// want is one expected affected organisation: impact, services, and every
// path listed, in order.
type want struct {
	ods      string
	impact   Impact
	services []string
	paths    []string // each path's nodes joined with " > "
}

func checkAffected(t *testing.T, res ImpactResult, wants []want) {
	t.Helper()
	if len(res.Affected) != len(wants) {
		var got []string
		for _, a := range res.Affected {
			got = append(got, a.ODS+"="+string(a.Impact))
		}
		t.Fatalf("affected = %v, want %d organisations", got, len(wants))
	}
	for i, w := range wants {
		a := res.Affected[i]
		if a.ODS != w.ods || a.Impact != w.impact {
			t.Errorf("affected[%d] = %s %s, want %s %s", i, a.ODS, a.Impact, w.ods, w.impact)
			continue
		}
		if !reflect.DeepEqual(a.Services, w.services) {
			t.Errorf("%s services = %v, want %v", a.ODS, a.Services, w.services)
		}
		var got []string
		for _, p := range a.Paths {
			got = append(got, strings.Join(p, " > "))
		}
		if !reflect.DeepEqual(got, w.paths) {
			t.Errorf("%s paths =\n  %s\nwant\n  %s", a.ODS, strings.Join(got, "\n  "), strings.Join(w.paths, "\n  "))
		}
		if a.PathCount != len(a.Paths) || len(a.PathDetails) != len(a.Paths) {
			t.Errorf("%s path_count %d, %d paths, %d details", a.ODS, a.PathCount, len(a.Paths), len(a.PathDetails))
		}
	}
}

func TestCasePathologySupplier(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		// The group parent aggregates its subsidiary: SYNLAB → SYNNOVIS → SYN-LIMS.
		res, err := e.svc.Impact(ctx, national, Query{Supplier: "SYNLAB"})
		if err != nil {
			t.Fatal(err)
		}
		p := func(org string) string { return "supplier:SYNLAB > supplier:SYNNOVIS > product:SYN-LIMS > org:" + org }
		checkAffected(t, res, []want{
			{"G85001", HardDown, []string{"pathology"}, []string{p("G85001")}},
			{"G85002", HardDown, []string{"pathology"}, []string{p("G85002")}},
			{"RJ1", HardDown, []string{"pathology"}, []string{p("RJ1")}},
			{"RJZ", HardDown, []string{"pathology"}, []string{p("RJZ")}},
			{"G85003", Degraded, []string{"pathology"}, []string{p("G85003")}}, // has a fallback
			{"F84001", Exposed, []string{"pathology"}, []string{p("F84001")}},  // medium criticality
		})
		tot := res.Totals
		if tot.Organisations != 6 || tot.HardDown != 4 || tot.Degraded != 1 || tot.Exposed != 1 || tot.Population != 8000+12000+6000+10000 {
			t.Errorf("totals = %+v", tot)
		}
		wantICB := []GroupTotal{
			{Code: "QKK", Name: "NHS South East London Integrated Care Board", Organisations: 5, HardDown: 4, Degraded: 1, Population: 26000, RegisteredPopulation: 2053393},
			{Code: "QMF", Name: "NHS North East London Integrated Care Board", Organisations: 1, Exposed: 1, Population: 10000, RegisteredPopulation: 2362469},
		}
		if !reflect.DeepEqual(tot.ByICB, wantICB) {
			t.Errorf("by ICB = %+v\nwant %+v", tot.ByICB, wantICB)
		}
		if len(tot.ByRegion) != 1 || tot.ByRegion[0].Code != "Y56" || tot.ByRegion[0].Organisations != 6 || tot.ByRegion[0].Name != "London" {
			t.Errorf("by region = %+v", tot.ByRegion)
		}
		if !reflect.DeepEqual(res.Start, []string{"supplier:SYNLAB", "supplier:SYNNOVIS"}) {
			t.Errorf("start = %v", res.Start)
		}
		// The subsidiary alone gives the same organisations with shorter paths.
		res2, err := e.svc.Impact(ctx, national, Query{Supplier: "SYNNOVIS"})
		if err != nil || len(res2.Affected) != 6 || strings.Join(res2.Affected[0].Paths[0], " > ") != "supplier:SYNNOVIS > product:SYN-LIMS > org:G85001" {
			t.Errorf("SYNNOVIS: %v %+v", err, res2.Affected)
		}
	})
}

func TestCaseGPSystemSecurityAgent(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		res, err := e.svc.Impact(ctx, national, Query{Product: "FALCON"})
		if err != nil {
			t.Fatal(err)
		}
		p := func(org string) string { return "product:FALCON > product:EMIS-WEB > org:" + org }
		checkAffected(t, res, []want{
			{"G85001", HardDown, []string{"gp-clinical"}, []string{p("G85001")}},
			{"G85002", HardDown, []string{"gp-clinical"}, []string{p("G85002")}},
			// G85004 also runs SystmOne, but the EMIS path alone is critical
			// with no recorded fallback: hard-down by the definition.
			{"G85004", HardDown, []string{"gp-clinical"}, []string{p("G85004")}},
			{"F84001", Degraded, []string{"gp-clinical"}, []string{p("F84001")}},
			{"R1H", Exposed, []string{"epr"}, []string{"product:FALCON > product:MILLENNIUM > org:R1H"}},
		})
		if got := res.Affected[4].PathDetails[0]; got.Critical || got.Service != "epr" {
			t.Errorf("R1H path detail = %+v, want non-critical epr", got)
		}
		// Products: the agent itself, then what depends on it.
		var prods []string
		for _, p := range res.Products {
			prods = append(prods, fmt.Sprintf("%s@%d/%v", p.ID, p.Depth, p.Critical))
		}
		if strings.Join(prods, " ") != "FALCON@0/true EMIS-WEB@1/true MILLENNIUM@1/false" {
			t.Errorf("products = %v", prods)
		}
		// The same through the vulnerability table.
		cv, err := e.svc.Impact(ctx, national, Query{CVE: "cve-2099-0001"})
		if err != nil {
			t.Fatal(err)
		}
		if len(cv.Affected) != 5 || strings.Join(cv.Affected[0].Paths[0], " > ") != "cve:CVE-2099-0001 > product:FALCON > product:EMIS-WEB > org:G85001" {
			t.Errorf("cve: %+v", cv.Affected)
		}
		// An unknown CVE affects nothing (it is not a register object).
		if none, err := e.svc.Impact(ctx, national, Query{CVE: "CVE-1999-0000"}); err != nil || len(none.Affected) != 0 {
			t.Errorf("unknown CVE: %v %+v", err, none)
		}
		// Hosting: AWS reaches EMIS practices the same way.
		aws, err := e.svc.Impact(ctx, national, Query{Supplier: "AWS"})
		if err != nil || len(aws.Affected) != 4 {
			t.Errorf("AWS: %v %d", err, len(aws.Affected))
		}
		// Reverse: what G85004 depends on.
		dep, err := e.svc.DependsOn(ctx, national, "G85004")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range dep.Products {
			got = append(got, fmt.Sprintf("%s@%d/%v", p.ID, p.Depth, p.Critical))
		}
		if strings.Join(got, " ") != "EMIS-WEB@0/true SYSTMONE@0/true AWS-LONDON@1/true FALCON@1/true" {
			t.Errorf("depends on = %v", got)
		}
		if p := dep.Products[3]; strings.Join(p.Paths[0], " > ") != "org:G85004 > product:EMIS-WEB > product:FALCON" || p.GroupID != "CROWDSTRIKE" {
			t.Errorf("FALCON via %+v", p)
		}
		if len(dep.Suppliers) != 4 {
			t.Errorf("suppliers = %+v", dep.Suppliers)
		}
	})
}

func TestCaseSharedGateway(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		// The hosting trust is named by its ODS code.
		res, err := e.svc.Impact(ctx, national, Query{Supplier: "RTD"})
		if err != nil {
			t.Fatal(err)
		}
		p := "supplier:NHS-RTD > product:RTD-GW > org:"
		checkAffected(t, res, []want{
			{"RR7", HardDown, []string{"integration"}, []string{p + "RR7"}},
			// Integration is hard-down; radiology only exposed (non-critical edge).
			{"RTF", HardDown, []string{"integration", "radiology"}, []string{p + "RTF", "supplier:NHS-RTD > product:RTD-GW > product:IMAGE-EXCH > org:RTF"}},
			{"RTD", Degraded, []string{"integration"}, []string{p + "RTD"}},
		})
		si := res.Affected[1].ServiceImpacts
		if si[0].Impact != HardDown || si[1].Impact != Exposed {
			t.Errorf("RTF service impacts = %+v", si)
		}
		if res.Totals.ByRegion[0].Code != "Y63" || res.Totals.ByICB[0].Code != "QHM" || res.Totals.ByICB[0].RegisteredPopulation != 3151672 {
			t.Errorf("totals = %+v", res.Totals)
		}
	})
}

func TestConcentrationHandComputed(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		hhi := func(service string, by Level, code string) (ConcentrationGroup, bool) {
			res, err := e.svc.Concentration(ctx, national, service, by)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range res.Groups {
				if g.Code == code {
					return g, true
				}
			}
			return ConcentrationGroup{}, false
		}
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
		cases := []struct {
			service string
			by      Level
			code    string
			orgs    int
			hhi     float64
			shares  map[string]float64
		}{
			// gp-clinical in QKK: G85001 EMIS, G85002 EMIS, G85003 TPP, G85004
			// both (½ each). EMIS 2.5/4 = 62.5%, TPP 1.5/4 = 37.5%.
			// HHI = 62.5² + 37.5² = 3906.25 + 1406.25 = 5312.5.
			{"gp-clinical", ByICB, "QKK", 4, 5312.5, map[string]float64{"EMIS": 0.625, "TPP": 0.375}},
			// QMF: F84001 EMIS only: 100² = 10,000.
			{"gp-clinical", ByICB, "QMF", 1, 10000, map[string]float64{"EMIS": 1}},
			// England: EMIS 3.5/5 = 70%, TPP 1.5/5 = 30%: 4900 + 900 = 5800.
			{"gp-clinical", National, "ENG", 5, 5800, map[string]float64{"EMIS": 0.7, "TPP": 0.3}},
			// pathology in QKK: RJ1, RJZ, G85001–3 all SYNLAB (SYNNOVIS
			// aggregated to its group parent): 10,000.
			{"pathology", ByICB, "QKK", 5, 10000, map[string]float64{"SYNLAB": 1}},
			// QMF: R1H Barts, F84001 SYNLAB: 50² + 50² = 5000.
			{"pathology", ByICB, "QMF", 2, 5000, map[string]float64{"BARTSPATH": 0.5, "SYNLAB": 0.5}},
			// London: SYNLAB 6/7, Barts 1/7: (600/7)² + (100/7)² = 370000/49 = 7551.0204…
			{"pathology", ByRegion, "Y56", 7, 370000.0 / 49, map[string]float64{"SYNLAB": 6.0 / 7, "BARTSPATH": 1.0 / 7}},
		}
		for _, c := range cases {
			g, ok := hhi(c.service, c.by, c.code)
			if !ok {
				t.Errorf("%s %s %s: no group", c.service, c.by, c.code)
				continue
			}
			if g.Organisations != c.orgs || !near(g.HHI, c.hhi) {
				t.Errorf("%s %s %s: orgs %d hhi %.4f, want %d %.4f", c.service, c.by, c.code, g.Organisations, g.HHI, c.orgs, c.hhi)
			}
			sum := 0.0
			for _, s := range g.Shares {
				sum += s.Share
				if !near(s.Share, c.shares[s.SupplierID]) {
					t.Errorf("%s %s %s: %s share %.4f, want %.4f", c.service, c.by, c.code, s.SupplierID, s.Share, c.shares[s.SupplierID])
				}
			}
			if len(g.Shares) != len(c.shares) || !near(sum, 1) {
				t.Errorf("%s %s %s: shares %+v", c.service, c.by, c.code, g.Shares)
			}
		}
		rep, err := e.svc.ConcentrationAll(ctx, national)
		if err != nil {
			t.Fatal(err)
		}
		var mono []string
		for _, m := range rep.Monopolies {
			if m.By == ByICB {
				mono = append(mono, m.Service+"/"+m.Code+"/"+m.SupplierID)
			}
		}
		want := "epr/QMF/ORACLE gp-clinical/QMF/EMIS integration/QHM/NHS-RTD pathology/QKK/SYNLAB radiology/QHM/PACSCO"
		if strings.Join(mono, " ") != want {
			t.Errorf("ICB monopolies = %v\nwant %s", mono, want)
		}
		if !reflect.DeepEqual(rep.Services, []string{"epr", "gp-clinical", "integration", "pathology", "radiology"}) || len(rep.Results) != 15 {
			t.Errorf("services %v, %d results", rep.Services, len(rep.Results))
		}

		// Snapshots record the report; a later one shows the change.
		if _, err := e.svc.RecordSnapshot(ctx, national); err != nil {
			t.Fatal(err)
		}
		e.clock.t = e.clock.t.AddDate(0, 1, 0)
		if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "G85003", ProductID: "EMIS-WEB", Service: "gp-clinical", Criticality: Critical}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteDeployment(ctx, national, "G85003", "SYSTMONE", "gp-clinical"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RecordSnapshot(ctx, national); err != nil {
			t.Fatal(err)
		}
		tr, err := e.svc.Trend(ctx, national, "gp-clinical", ByICB, "QKK")
		if err != nil {
			t.Fatal(err)
		}
		// After G85003 moves to EMIS: EMIS 3.5/4, TPP 0.5/4 → 87.5² + 12.5² = 7812.5.
		if len(tr) != 2 || !near(tr[0].HHI, 5312.5) || !near(tr[1].HHI, 7812.5) || tr[1].TopSupplierID != "EMIS" {
			t.Errorf("trend = %+v", tr)
		}
		// The service by its label, as every service field takes it.
		if byLabel, err := e.svc.Trend(ctx, national, "GP clinical system", ByICB, "QKK"); err != nil || !reflect.DeepEqual(byLabel, tr) {
			t.Errorf("trend by label = %+v, %v", byLabel, err)
		}
	})
}

func TestSinglePointsOfFailure(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		res, err := e.svc.Systemic(ctx, national, SystemicOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spofs := func(r SystemicResult) string {
			var s []string
			for _, x := range r.SinglePoints {
				s = append(s, fmt.Sprintf("%s/%s/%s/%s", x.By, x.Code, x.Service, x.Node))
			}
			return strings.Join(s, " ")
		}
		// G85003's fallback keeps QKK pathology from being wholly hard-down,
		// and RTD's keeps QHM integration up, so nothing is a SPOF yet.
		if got := spofs(res); got != "" {
			t.Errorf("single points = %s, want none", got)
		}
		// Scores (weights 1 / 0.5 / 0.1 × (1 + population/10,000)):
		// SYNLAB: hard-down G85001 1.8 + G85002 2.2 + RJ1 1 + RJZ 1, degraded
		// G85003 0.5×1.6, exposed F84001 0.1×2 = 6 + 0.8 + 0.2 = 7.
		// CROWDSTRIKE: hard-down G85001 1.8 + G85002 2.2 + G85004 1.9,
		// degraded F84001 0.5×2, exposed R1H 0.1 = 5.9 + 1 + 0.1 = 7.
		// A tie, broken by ID.
		top := res.Suppliers[:2]
		if top[0].GroupID != "CROWDSTRIKE" || top[1].GroupID != "SYNLAB" || math.Abs(top[0].Score-7) > 1e-9 || math.Abs(top[1].Score-7) > 1e-9 ||
			top[1].HardDown != 4 || top[0].DependentProducts != 2 {
			t.Errorf("top suppliers = %+v", top)
		}
		// Losing G85003's fallback makes the Synnovis chain a single point
		// of failure for South East London pathology.
		if _, err := e.svc.PutDeployment(ctx, national, Deployment{OrgODS: "G85003", ProductID: "SYN-LIMS", Service: "pathology", Criticality: High}); err != nil {
			t.Fatal(err)
		}
		res, err = e.svc.Systemic(ctx, national, SystemicOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "icb/QKK/pathology/product:SYN-LIMS icb/QKK/pathology/supplier:SYNLAB"
		if got := spofs(res); got != want {
			t.Errorf("single points = %s\nwant %s", got, want)
		}
		// FALCON reaches 5 organisations through 2 other products.
		for _, p := range res.Products {
			if p.ProductID == "FALCON" && (p.DependentProducts != 2 || p.Organisations != 5 || p.HardDown != 3) {
				t.Errorf("FALCON risk = %+v", p)
			}
		}
	})
}

func TestCyclesAreSafe(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, "gp-security"))
		// AWS's identity service depends on the hosting it runs on, which
		// depends on that identity service: a real-world cycle.
		files := []ImportFile{
			{Name: "products.csv", Data: []byte("product_id,supplier_id,name,kind\nAWS-IAM,AWS,AWS IAM,saas\n")},
			{Name: "dependencies.csv", Data: []byte("product_id,depends_on_product_id,kind,critical\nAWS-IAM,AWS-LONDON,hosting,yes\nAWS-LONDON,AWS-IAM,identity,yes\n")},
		}
		rep, err := e.svc.Import(ctx, national, files, ImportOptions{})
		if err != nil || !rep.Applied {
			t.Fatalf("%v %+v", err, rep)
		}
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Reason, "AWS-IAM, AWS-LONDON") || rep.Warnings[0].Line != 2 {
			t.Errorf("warnings = %+v", rep.Warnings)
		}
		res, err := e.svc.Impact(ctx, national, Query{Product: "AWS-IAM"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Affected) != 4 || strings.Join(res.Affected[0].Paths[0], " > ") != "product:AWS-IAM > product:AWS-LONDON > product:EMIS-WEB > org:G85001" {
			t.Errorf("affected = %+v", res.Affected)
		}
		st, err := e.svc.Stats(ctx)
		if err != nil || len(st.Cycles) != 1 {
			t.Errorf("stats cycles = %v %v", err, st.Cycles)
		}
	})
}

func TestScopeRegionAndOrg(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		london := grant(scope.RegionLead, "Y56", "/ENG/Y56/")
		north := grant(scope.RegionLead, "Y63", "/ENG/Y63/")
		// The gateway's impact is all in the North East: London sees none of it.
		res, err := e.svc.Impact(ctx, london, Query{Supplier: "NHS-RTD"})
		if err != nil || len(res.Affected) != 0 || res.Totals.Organisations != 0 {
			t.Errorf("london sees %v %+v", err, res.Affected)
		}
		res, err = e.svc.Impact(ctx, north, Query{Supplier: "NHS-RTD"})
		if err != nil || len(res.Affected) != 3 {
			t.Errorf("north sees %v %d", err, len(res.Affected))
		}
		res, err = e.svc.Impact(ctx, north, Query{Product: "FALCON"})
		if err != nil || len(res.Affected) != 0 {
			t.Errorf("north sees FALCON's London impact: %v %+v", err, res.Affected)
		}
		// A trust analyst sees only their own trust.
		rj1 := grant(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
		res, err = e.svc.Impact(ctx, rj1, Query{Supplier: "SYNLAB"})
		if err != nil || len(res.Affected) != 1 || res.Affected[0].ODS != "RJ1" {
			t.Errorf("RJ1 sees %v %+v", err, res.Affected)
		}
		// ... maintains its own deployments, not a neighbour's (not found, not forbidden).
		if _, err := e.svc.PutDeployment(ctx, rj1, Deployment{OrgODS: "RJ1", ProductID: "BARTS-LIMS", Service: "pathology", Criticality: Medium}); err != nil {
			t.Errorf("own deployment: %v", err)
		}
		if _, err := e.svc.PutDeployment(ctx, rj1, Deployment{OrgODS: "RJZ", ProductID: "BARTS-LIMS", Service: "pathology", Criticality: Medium}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("neighbour's deployment: %v, want not found", err)
		}
		if _, err := e.svc.DependsOn(ctx, rj1, "RJZ"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("neighbour's dependencies: %v", err)
		}
		deps, err := e.svc.ListDeployments(ctx, rj1, DeploymentFilter{})
		if err != nil || len(deps) != 2 {
			t.Errorf("RJ1 deployments = %v %+v", err, deps)
		}
		// ... and cannot read concentration reports (needs Supply).
		if _, err := e.svc.ConcentrationAll(ctx, rj1); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("concentration for an org analyst: %v", err)
		}
		// A region lead's concentration covers their region only.
		c, err := e.svc.Concentration(ctx, north, "integration", National)
		if err != nil || len(c.Groups) != 1 || c.Groups[0].Organisations != 3 {
			t.Errorf("north concentration = %v %+v", err, c)
		}
		if _, err := e.svc.Concentration(ctx, north, "gp-clinical", National); err != nil {
			t.Errorf("north gp-clinical: %v", err)
		}
		// Region leads maintain deployments of their region's organisations.
		if _, err := e.svc.PutDeployment(ctx, north, Deployment{OrgODS: "RJ1", ProductID: "RTD-GW", Service: "integration", Criticality: Low}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("north writing London: %v", err)
		}
		if _, err := e.svc.PutDeployment(ctx, north, Deployment{OrgODS: "RTD", ProductID: "IMAGE-EXCH", Service: "radiology", Criticality: Low}); err != nil {
			t.Errorf("north writing RTD: %v", err)
		}
	})
}

func TestScopeSupplierRep(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustImport(t, e, national, caseFiles(t, allCases...))
		rep := grant(scope.SupplierRep, "S-EMIS", "/ENG/S-EMIS/")
		sups, err := e.svc.ListSuppliers(ctx, rep)
		if err != nil || len(sups) != 1 || sups[0].ID != "EMIS" {
			t.Errorf("suppliers = %v %+v", err, sups)
		}
		for _, id := range []string{"TPP", "CROWDSTRIKE", "SYNLAB"} {
			if _, err := e.svc.GetSupplier(ctx, rep, id); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("get %s: %v", id, err)
			}
		}
		if _, err := e.svc.GetProduct(ctx, rep, "SYSTMONE"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("competitor product: %v", err)
		}
		prods, err := e.svc.ListProducts(ctx, rep, "")
		if err != nil || len(prods) != 1 || prods[0].ID != "EMIS-WEB" {
			t.Errorf("products = %v %+v", err, prods)
		}
		// Impact of their own supplier: their products, no organisations.
		res, err := e.svc.Impact(ctx, rep, Query{Supplier: "EMIS"})
		if err != nil || len(res.Affected) != 0 || len(res.Products) != 1 {
			t.Errorf("own impact = %v %+v", err, res)
		}
		if _, err := e.svc.Impact(ctx, rep, Query{Supplier: "TPP"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("competitor impact: %v", err)
		}
		if _, err := e.svc.Impact(ctx, rep, Query{Product: "FALCON"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("their sub-supplier's impact: %v", err)
		}
		if d, err := e.svc.ListDeployments(ctx, rep, DeploymentFilter{}); err != nil || len(d) != 0 {
			t.Errorf("deployments = %v %+v", err, d)
		}
		if _, err := e.svc.Concentration(ctx, rep, "gp-clinical", National); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("concentration: %v", err)
		}
		// They maintain their own products and dependencies…
		if _, err := e.svc.PutProduct(ctx, rep, Product{ID: "EMIS-X", SupplierID: "EMIS", Name: "EMIS X", Kind: SaaS}); err != nil {
			t.Errorf("own product: %v", err)
		}
		if _, err := e.svc.PutDependency(ctx, rep, Dependency{ProductID: "EMIS-X", DependsOnID: "AWS-LONDON", Kind: DepHosting, Critical: true}); err != nil {
			t.Errorf("own hosting: %v", err)
		}
		// …but not anyone else's, nor create suppliers.
		if _, err := e.svc.PutProduct(ctx, rep, Product{ID: "TPP-X", SupplierID: "TPP", Name: "x", Kind: SaaS}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("competitor product write: %v", err)
		}
		if _, err := e.svc.PutProduct(ctx, rep, Product{ID: "SYSTMONE", SupplierID: "EMIS", Name: "stolen", Kind: SaaS}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("taking a competitor's product: %v", err)
		}
		if _, err := e.svc.PutSupplier(ctx, rep, Supplier{ID: "TPP", Name: "TPP", TenantOrg: "S-EMIS"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("taking over a supplier: %v", err)
		}
		if _, err := e.svc.PutSupplier(ctx, rep, Supplier{ID: "NEWCO", Name: "New"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("creating a supplier: %v", err)
		}
		if _, err := e.svc.PutDependency(ctx, rep, Dependency{ProductID: "SYSTMONE", DependsOnID: "AWS-LONDON", Kind: DepHosting}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("competitor dependency: %v", err)
		}
		// Imports apply the same rules row by row.
		ir, err := e.svc.Import(ctx, rep, []ImportFile{{Name: "suppliers.csv", Data: []byte("supplier_id,name,tenant_org\nTPP,TPP,S-EMIS\n")}}, ImportOptions{})
		if err != nil || ir.Applied || len(ir.Errors) != 1 || ir.Errors[0].Reason != "supplier TPP not found" {
			t.Errorf("import takeover = %v %+v", err, ir)
		}
		// Exports show only their own slice.
		reg, err := e.svc.Export(ctx, rep)
		if err != nil || len(reg.Suppliers) != 1 || len(reg.Products) != 2 || len(reg.Deployments) != 0 || len(reg.Dependencies) != 3 {
			t.Errorf("export = %v suppliers %d products %d deployments %d deps %d", err, len(reg.Suppliers), len(reg.Products), len(reg.Deployments), len(reg.Dependencies))
		}
	})
}
