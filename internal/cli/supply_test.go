package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// The real-shaped cases are the supply domain's own fixtures: one
// directory of CSVs per case, and the organisations they need.
var casesDir = filepath.Join("..", "supply", "testdata", "cases")

func caseDirs(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(casesDir, n))
	}
	return out
}

// supplyDataDir returns a data directory whose database holds the
// organisations of the cases (regions, ICBs, trusts and practices with
// registered populations, and the supplier tenants).
func supplyDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(filepath.Join(casesDir, "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, r := range recs[1:] { // code,name,type,parent,region,icb,population; parents first
		if r[0] == org.RootCode {
			continue
		}
		pop, _ := strconv.ParseInt(r[6], 10, 64)
		if _, err := a.Orgs.Create(ctx, scope.System("test"), org.Org{Code: r[0], Name: r[1], Type: org.Type(r[2]), Parent: r[3], Population: pop}); err != nil {
			t.Fatalf("create %s: %v", r[0], err)
		}
	}
	return dir
}

// impactJSON is the documented shape of `supply impact --format json`.
type impactJSON struct {
	Query    map[string]string `json:"query"`
	Affected []struct {
		ODS      string     `json:"ods"`
		Name     string     `json:"name"`
		Type     string     `json:"type"`
		ICB      string     `json:"icb"`
		Region   string     `json:"region"`
		Services []string   `json:"services"`
		Impact   string     `json:"impact"`
		Paths    [][]string `json:"paths"`
	} `json:"affected"`
	Totals struct {
		Organisations int   `json:"organisations"`
		HardDown      int   `json:"hard_down"`
		Degraded      int   `json:"degraded"`
		Exposed       int   `json:"exposed"`
		Population    int64 `json:"population"`
		ByRegion      []struct {
			Code          string `json:"code"`
			Organisations int    `json:"organisations"`
		} `json:"by_region"`
		ByICB []struct {
			Code          string `json:"code"`
			Organisations int    `json:"organisations"`
			Population    int64  `json:"population"`
		} `json:"by_icb"`
	} `json:"totals"`
}

// affected is one expected organisation: "ODS impact services", and its
// paths with nodes joined by " > ".
type affected struct {
	line  string
	paths []string
}

func impactOf(t *testing.T, dir string, args ...string) impactJSON {
	t.Helper()
	r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "impact", "--format", "json"}, args...)...))
	if n := strings.Count(r.stdout, "\n"); n != 1 {
		t.Fatalf("impact --format json printed %d lines, want one object", n)
	}
	var res impactJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return res
}

func checkImpact(t *testing.T, res impactJSON, want []affected) {
	t.Helper()
	var got []affected
	for _, a := range res.Affected {
		var ps []string
		for _, p := range a.Paths {
			ps = append(ps, strings.Join(p, " > "))
		}
		got = append(got, affected{a.ODS + " " + a.Impact + " " + strings.Join(a.Services, ","), ps})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("affected =\n  %v\nwant\n  %v", got, want)
	}
}

func TestSupplyCasesEndToEnd(t *testing.T) {
	dir := supplyDataDir(t)
	// Flags after the arguments work too.
	r := must(t, run(t, "", nil, append(append([]string{"supply", "import"}, caseDirs("pathology", "gp-security", "shared-gateway")...), "--data-dir", dir)...))
	for _, want := range []string{"pathology/suppliers.csv: suppliers, 3 rows, 0 errors", "deployments", "applied"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}

	t.Run("pathology supplier", func(t *testing.T) {
		// The group parent aggregates its subsidiary: SYNLAB → SYNNOVIS → SYN-LIMS.
		res := impactOf(t, dir, "--supplier", "SYNLAB")
		p := func(o string) []string {
			return []string{"supplier:SYNLAB > supplier:SYNNOVIS > product:SYN-LIMS > org:" + o}
		}
		checkImpact(t, res, []affected{
			{"G85001 hard-down pathology", p("G85001")},
			{"G85002 hard-down pathology", p("G85002")},
			{"RJ1 hard-down pathology", p("RJ1")},
			{"RJZ hard-down pathology", p("RJZ")},
			{"G85003 degraded pathology", p("G85003")}, // has a fallback lab
			{"F84001 exposed pathology", p("F84001")},  // medium criticality
		})
		if res.Query["supplier"] != "SYNLAB" {
			t.Errorf("query = %v", res.Query)
		}
		for _, a := range res.Affected {
			if a.ODS == "RJ1" && (a.Name != "Guy's and St Thomas' NHS Foundation Trust" || a.Type != "trust" || a.ICB != "QKK" || a.Region != "Y56") {
				t.Errorf("RJ1 = %+v", a)
			}
		}
		tot := res.Totals
		// Registered population of the affected practices: 8,000 + 12,000 + 6,000 + 10,000.
		if tot.Organisations != 6 || tot.HardDown != 4 || tot.Degraded != 1 || tot.Exposed != 1 || tot.Population != 36000 {
			t.Errorf("totals = %+v", tot)
		}
		if len(tot.ByRegion) != 1 || tot.ByRegion[0].Code != "Y56" || tot.ByRegion[0].Organisations != 6 ||
			len(tot.ByICB) != 2 || tot.ByICB[0].Code != "QKK" || tot.ByICB[0].Organisations != 5 || tot.ByICB[0].Population != 26000 {
			t.Errorf("totals by region/ICB = %+v %+v", tot.ByRegion, tot.ByICB)
		}
		// The table names the same organisations with the first path as arrows, then the totals.
		r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "impact", "--supplier", "SYNLAB"))
		for _, want := range []string{"6 organisations affected (4 hard-down, 1 degraded, 1 exposed), registered population 36,000",
			"supplier:SYNLAB → supplier:SYNNOVIS → product:SYN-LIMS → org:RJZ", "BY REGION", "BY ICB", "2,053,393",
			"King's College Hospital NHS Foundation Trust"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("impact table lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("GP system and its security agent", func(t *testing.T) {
		res := impactOf(t, dir, "--product", "FALCON")
		p := func(o string) []string { return []string{"product:FALCON > product:EMIS-WEB > org:" + o} }
		checkImpact(t, res, []affected{
			{"G85001 hard-down gp-clinical", p("G85001")},
			{"G85002 hard-down gp-clinical", p("G85002")},
			// G85004 also runs SystmOne, but its EMIS deployment is critical with no fallback.
			{"G85004 hard-down gp-clinical", p("G85004")},
			{"F84001 degraded gp-clinical", p("F84001")}, // has a fallback
			// The EPR's dependency on the agent is not critical.
			{"R1H exposed epr", []string{"product:FALCON > product:MILLENNIUM > org:R1H"}},
		})
		// The same through the CVE the agent is known to contain.
		res = impactOf(t, dir, "--cve", "cve-2099-0001")
		if len(res.Affected) != 5 || strings.Join(res.Affected[0].Paths[0], " > ") != "cve:CVE-2099-0001 > product:FALCON > product:EMIS-WEB > org:G85001" {
			t.Errorf("cve: %+v", res.Affected)
		}
		// The reverse question: what G85004 depends on, at every depth.
		r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "impact", "--org", "G85004", "--format", "json"))
		var dep struct {
			Org      struct{ ODS string }
			Products []struct {
				ID    string     `json:"product_id"`
				Depth int        `json:"depth"`
				Paths [][]string `json:"paths"`
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &dep); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range dep.Products {
			got = append(got, p.ID+"@"+strconv.Itoa(p.Depth)+" "+strings.Join(p.Paths[0], ">"))
		}
		want := []string{"EMIS-WEB@0 org:G85004>product:EMIS-WEB", "SYSTMONE@0 org:G85004>product:SYSTMONE",
			"AWS-LONDON@1 org:G85004>product:EMIS-WEB>product:AWS-LONDON", "FALCON@1 org:G85004>product:EMIS-WEB>product:FALCON"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("--org G85004 = %v\nwant %v", got, want)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "impact", "--org", "G85004"))
		if !strings.Contains(r.stdout, "org:G85004 → product:EMIS-WEB → product:FALCON") || !strings.Contains(r.stdout, "SUPPLIER GROUPS") {
			t.Errorf("--org table:\n%s", r.stdout)
		}
	})

	t.Run("shared gateway hosted by one trust", func(t *testing.T) {
		// The hosting trust is named by its ODS code.
		res := impactOf(t, dir, "--supplier", "RTD")
		p := "supplier:NHS-RTD > product:RTD-GW > org:"
		checkImpact(t, res, []affected{
			{"RR7 hard-down integration", []string{p + "RR7"}},
			// Integration is hard-down; radiology is only exposed (non-critical edge).
			{"RTF hard-down integration,radiology", []string{p + "RTF", "supplier:NHS-RTD > product:RTD-GW > product:IMAGE-EXCH > org:RTF"}},
			{"RTD degraded integration", []string{p + "RTD"}}, // the host has a fallback
		})
	})

	t.Run("concentration reproduces hand-computed HHIs", func(t *testing.T) {
		type concJSON struct {
			Service string `json:"service"`
			By      string `json:"by"`
			Groups  []struct {
				Code          string  `json:"code"`
				Name          string  `json:"name"`
				Organisations int     `json:"organisations"`
				HHI           float64 `json:"hhi"`
				Shares        []struct {
					SupplierID string  `json:"supplier_id"`
					Share      float64 `json:"share"`
				} `json:"shares"`
			} `json:"groups"`
		}
		conc := func(service, by string) concJSON {
			r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "concentration", "--service", service, "--by", by, "--format", "json"))
			var c concJSON
			if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
				t.Fatal(err)
			}
			if c.Service != service || c.By != by {
				t.Errorf("service/by = %s/%s", c.Service, c.By)
			}
			return c
		}
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
		for _, c := range []struct {
			service, by, code string
			orgs              int
			hhi               float64
			shares            map[string]float64
		}{
			// gp-clinical in QKK: G85001 EMIS, G85002 EMIS, G85003 TPP, G85004 both
			// (half each). EMIS 2.5/4 = 62.5 %, TPP 1.5/4 = 37.5 %:
			// HHI = 62.5² + 37.5² = 3,906.25 + 1,406.25 = 5,312.5.
			{"gp-clinical", "icb", "QKK", 4, 5312.5, map[string]float64{"EMIS": 0.625, "TPP": 0.375}},
			// QMF: F84001 on EMIS alone: 100² = 10,000.
			{"gp-clinical", "icb", "QMF", 1, 10000, map[string]float64{"EMIS": 1}},
			// England: EMIS 3.5/5 = 70 %, TPP 1.5/5 = 30 %: 4,900 + 900 = 5,800.
			{"gp-clinical", "national", "ENG", 5, 5800, map[string]float64{"EMIS": 0.7, "TPP": 0.3}},
			// pathology in QKK: RJ1, RJZ, G85001–3 all on the SYNLAB group
			// (SYNNOVIS counts for its parent): 10,000.
			{"pathology", "icb", "QKK", 5, 10000, map[string]float64{"SYNLAB": 1}},
			// QMF: R1H on Barts, F84001 on SYNLAB: 50² + 50² = 5,000.
			{"pathology", "icb", "QMF", 2, 5000, map[string]float64{"BARTSPATH": 0.5, "SYNLAB": 0.5}},
			// London: SYNLAB 6/7, Barts 1/7: (600/7)² + (100/7)² = 370,000/49 ≈ 7,551.02.
			{"pathology", "region", "Y56", 7, 370000.0 / 49, map[string]float64{"SYNLAB": 6.0 / 7, "BARTSPATH": 1.0 / 7}},
			// integration in QHM: RTD, RR7, RTF all on the gateway: 10,000.
			{"integration", "icb", "QHM", 3, 10000, map[string]float64{"NHS-RTD": 1}},
		} {
			res := conc(c.service, c.by)
			found := false
			for _, g := range res.Groups {
				if g.Code != c.code {
					continue
				}
				found = true
				if g.Organisations != c.orgs || !near(g.HHI, c.hhi) || len(g.Shares) != len(c.shares) {
					t.Errorf("%s %s %s: %d orgs, HHI %.4f, %d shares; want %d, %.4f, %d", c.service, c.by, c.code, g.Organisations, g.HHI, len(g.Shares), c.orgs, c.hhi, len(c.shares))
				}
				for _, s := range g.Shares {
					if !near(s.Share, c.shares[s.SupplierID]) {
						t.Errorf("%s %s %s: %s share %.4f, want %.4f", c.service, c.by, c.code, s.SupplierID, s.Share, c.shares[s.SupplierID])
					}
				}
			}
			if !found {
				t.Errorf("%s %s: no group %s", c.service, c.by, c.code)
			}
		}
		r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "concentration", "--service", "gp-clinical", "--by", "icb"))
		if !strings.Contains(r.stdout, "gp-clinical by ICB") || !strings.Contains(r.stdout, "5,313") || !strings.Contains(r.stdout, "EMIS 63 %, TPP 38 %") {
			t.Errorf("concentration table:\n%s", r.stdout)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "concentration", "--service", "all", "--format", "json"))
		var rep struct {
			Services []string `json:"services"`
			Results  []json.RawMessage
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || strings.Join(rep.Services, " ") != "epr gp-clinical integration pathology radiology" || len(rep.Results) != 15 {
			t.Errorf("--service all: %v %+v", err, rep.Services)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "concentration", "--service", "all"))
		if !strings.Contains(r.stdout, "ONE SUPPLIER SERVES EVERY ORGANISATION (") || !strings.Contains(r.stdout, "pathology by region") {
			t.Errorf("--service all table:\n%s", r.stdout)
		}
	})

	t.Run("risk and snapshot", func(t *testing.T) {
		r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "risk", "--format", "json"))
		var res struct {
			Suppliers []struct {
				GroupID string  `json:"group_id"`
				Score   float64 `json:"score"`
			} `json:"suppliers"`
			SinglePoints []any `json:"single_points"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatal(err)
		}
		// CROWDSTRIKE and SYNLAB both score 7 (worked in internal/supply's
		// TestSinglePointsOfFailure); ties go by ID.
		if len(res.Suppliers) < 2 || res.Suppliers[0].GroupID != "CROWDSTRIKE" || res.Suppliers[1].GroupID != "SYNLAB" || math.Abs(res.Suppliers[0].Score-7) > 1e-9 {
			t.Errorf("risk = %+v", res.Suppliers)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "risk", "--limit", "3"))
		if !strings.Contains(r.stdout, "1  CROWDSTRIKE") || !strings.Contains(r.stdout, "SINGLE POINTS OF FAILURE (0)") {
			t.Errorf("risk table:\n%s", r.stdout)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "snapshot"))
		if !strings.Contains(r.stdout, "concentration snapshot taken at") {
			t.Errorf("snapshot: %s", r.stdout)
		}
	})

	t.Run("export is audited and round-trips", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "register")
		r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "export", "--dir", out))
		if !strings.Contains(r.stdout, "recorded in the audit log") {
			t.Errorf("export: %s", r.stdout)
		}
		js := filepath.Join(t.TempDir(), "register.json")
		must(t, run(t, "", nil, "--data-dir", dir, "supply", "export", "--json", js))
		// To standard output: the document alone there, the summary on stderr.
		r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "export", "--json", "-"))
		var reg struct {
			Suppliers   []json.RawMessage `json:"suppliers"`
			Deployments []json.RawMessage `json:"deployments"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &reg); err != nil || len(reg.Suppliers) != 10 || len(reg.Deployments) != 18 || !strings.Contains(r.stderr, "to standard output") {
			t.Errorf("export --json -: %v %d suppliers %d deployments; stderr %q", err, len(reg.Suppliers), len(reg.Deployments), r.stderr)
		}
		r = must(t, run(t, "", nil, "--data-dir", dir, "audit", "list", "--action", "export", "--format", "json"))
		if n := strings.Count(r.stdout, `"object_type":"supply_register"`); n != 3 {
			t.Errorf("%d export audit entries, want 3:\n%s", n, r.stdout)
		}
		// Importing what was exported changes nothing.
		for _, src := range []string{out, js} {
			r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "import", "--dry-run", src, "--format", "json"))
			var rep struct {
				Tables []struct {
					Table            string
					Created, Updated int
				}
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			for _, tc := range rep.Tables {
				if tc.Created+tc.Updated != 0 {
					t.Errorf("re-import of %s changes %+v", src, tc)
				}
			}
		}
	})
}

func TestSupplyImportDryRunAndBadRows(t *testing.T) {
	dir := supplyDataDir(t)
	// A dry run reports what would be created and writes nothing.
	r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import", "--dry-run"}, caseDirs("pathology")...)...))
	if !strings.Contains(r.stdout, "dry run: valid; nothing was written") || !strings.Contains(r.stdout, "CREATED") {
		t.Errorf("dry run: %s", r.stdout)
	}
	if r := run(t, "", nil, "--data-dir", dir, "supply", "impact", "--supplier", "SYNLAB"); r.code != 1 || !strings.Contains(r.stderr, `no supplier called "SYNLAB"`) {
		t.Errorf("after a dry run the supplier exists: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// One bad row among good ones: exit 1, file:line:column, and nothing applied.
	bad := t.TempDir()
	for _, name := range []string{"suppliers.csv", "products.csv", "dependencies.csv"} {
		b, err := os.ReadFile(filepath.Join(casesDir, "pathology", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deps := "org_ods,product_id,service,criticality,has_fallback\nRJ1,SYN-LIMS,pathology,critical,no\nRJZ,SYN-LIMS,pathology,urgent,no\n"
	if err := os.WriteFile(filepath.Join(bad, "deployments.csv"), []byte(deps), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", nil, "--data-dir", dir, "supply", "import", bad)
	want := filepath.Join(bad, "deployments.csv") + ":3:criticality: "
	if r.code != 1 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, "nothing was applied") {
		t.Fatalf("bad row: exit %d, want 1 and %q\nstdout: %s\nstderr: %s", r.code, want, r.stdout, r.stderr)
	}
	if r := run(t, "", nil, "--data-dir", dir, "supply", "impact", "--supplier", "SYNLAB"); r.code != 1 {
		t.Errorf("the good rows of a failed import were applied: %s", r.stdout)
	}
	// The same as JSON: the full report, and still exit 1.
	r = run(t, "", nil, "--data-dir", dir, "supply", "import", bad, "--format", "json")
	var rep struct {
		Applied    bool `json:"applied"`
		ErrorCount int  `json:"error_count"`
		Errors     []struct {
			Line   int    `json:"line"`
			Column string `json:"column"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || rep.Applied || rep.ErrorCount != 1 || rep.Errors[0].Line != 3 || rep.Errors[0].Column != "criticality" {
		t.Errorf("json report: exit %d %v %+v", r.code, err, rep)
	}
	// Unreadable paths are errors, not empty imports.
	if r := run(t, "", nil, "--data-dir", dir, "supply", "import", filepath.Join(bad, "missing.csv")); r.code != 1 || !strings.Contains(r.stderr, "missing.csv") {
		t.Errorf("missing file: %d %s", r.code, r.stderr)
	}
}

func TestSupplyHelpAndUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"supply", "--help"}, {"supply", "import", "--help"}, {"supply", "export", "--help"}, {"supply", "impact", "--help"},
		{"supply", "concentration", "--help"}, {"supply", "risk", "--help"}, {"supply", "snapshot", "--help"}, {"supply", "generate", "--help"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
		if len(args) > 2 && !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v: no examples", args)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"supply", "impact"}, "exactly one of --supplier, --product, --cve or --org"},
		{[]string{"supply", "impact", "--supplier", "A", "--org", "RJ1"}, "--org: ask about one thing at a time"},
		{[]string{"supply", "impact", "--supplier", "A", "--format", "xlsx"}, `--format "xlsx"`},
		{[]string{"supply", "import", "x.csv", "--format", "xml"}, `--format "xml": want one of table, json`},
		{[]string{"supply", "concentration"}, "--service is required"},
		{[]string{"supply", "concentration", "--service", "all", "--by", "icb"}, "--by does not apply"},
		{[]string{"supply", "concentration", "--service", "epr", "--by", "county"}, `--by "county"`},
		{[]string{"supply", "export"}, "exactly one of --dir DIR or --json FILE"},
		{[]string{"supply", "generate"}, "--out is required"},
		{[]string{"supply", "import"}, "requires at least 1 arg(s)"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("help or a usage error created the data dir (%v)", err)
	}
}

func TestDemoLoadsSupplyRegister(t *testing.T) {
	dir := t.TempDir()
	r := must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	if !strings.Contains(r.stdout, "demo supplier register: ") || !strings.Contains(r.stdout, " 0 already there") {
		t.Errorf("demo: %s", r.stdout)
	}
	// The pathology supplier serves two South East London trusts and the
	// ICB's practices (one with a fallback), and South West London's for
	// routine tests.
	res := impactOf(t, dir, "--supplier", "DEMO-PATH")
	var hard, degraded, exposed []string
	for _, a := range res.Affected {
		switch a.Impact {
		case "hard-down":
			hard = append(hard, a.ODS)
		case "degraded":
			degraded = append(degraded, a.ODS)
		case "exposed":
			exposed = append(exposed, a.ODS)
		}
	}
	if strings.Join(hard, " ") != "DM0007 DM0008 DM0010 DM0011 DM0012 RJ1 RJZ" || strings.Join(degraded, " ") != "DM0009" || len(exposed) != 6 {
		t.Errorf("demo pathology impact: hard-down %v, degraded %v, exposed %v", hard, degraded, exposed)
	}
	// The shared gateway hosted by RJ1 takes down its two neighbours.
	res = impactOf(t, dir, "--supplier", "RJ1")
	var gw []string
	for _, a := range res.Affected {
		gw = append(gw, a.ODS+"="+a.Impact)
	}
	if strings.Join(gw, " ") != "RJ2=hard-down RJZ=hard-down RJ1=degraded RV5=exposed" {
		t.Errorf("demo gateway impact: %v", gw)
	}
	// Most practices run the GP system that depends on the security agent.
	res = impactOf(t, dir, "--product", "DEMO-SENTINEL-AGENT")
	gp := 0
	for _, a := range res.Affected {
		if a.Type == "gp-practice" {
			gp++
		}
	}
	if gp < 54/2 || gp == 54 {
		t.Errorf("%d of 54 demo practices depend on the agent; want most, not all", gp)
	}
	// A second run changes nothing.
	r = must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	if !strings.Contains(r.stdout, "demo supplier register: 0 rows created, 0 updated") {
		t.Errorf("second demo: %s", r.stdout)
	}
}

func TestSupplyGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("writes the national-scale register (≈20 MB)")
	}
	dir := filepath.Join(t.TempDir(), "data")
	out := filepath.Join(t.TempDir(), "national")
	r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "generate", "--out", out, "--seed", "7"))
	if !strings.Contains(r.stdout, "suppliers.csv 20000 rows") || !strings.Contains(r.stdout, "for 10000 organisations") {
		t.Errorf("generate: %s", r.stdout)
	}
	for _, f := range []string{"suppliers.csv", "products.csv", "dependencies.csv", "deployments.csv", "product_vulns.csv"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("generate without --create-orgs or --orgs-from-db touched the database (%v)", err)
	}
	// --orgs-from-db deploys to the organisations already there (here the
	// cases' trusts and practices) and creates none.
	dir = supplyDataDir(t)
	r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "generate", "--out", out, "--orgs-from-db"))
	if !strings.Contains(r.stdout, "for 20 organisations") {
		t.Errorf("generate --orgs-from-db: %s", r.stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "deployments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	orgs := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		orgs[strings.SplitN(l, ",", 2)[0]] = true
	}
	if len(orgs) != 11 || !orgs["RJ1"] || !orgs["G85001"] {
		t.Errorf("deployments of %d organisations %v, want the cases' 6 trusts and 5 practices", len(orgs), orgs)
	}
}
