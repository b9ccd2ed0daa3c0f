package cli

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// formulaStart reports whether a CSV cell would run as a spreadsheet formula.
func formulaStart(cell string) bool {
	return cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0]))
}

// Every CSV the CLI writes neutralises spreadsheet formulas as the web
// download does, and `supply export --dir` still round-trips through
// `supply import`.
func TestCLICSVNeutralisesFormulas(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("pathology")...)...))
	must(t, run(t, "", nil, "--data-dir", dir, "orgs", "create", "--ods", "RJ1X9", "--name", "@SUM(1+1) clinic", "--type", "other-provider", "--parent", "RJ1"))
	in := writeFiles(t, map[string]string{
		"suppliers.csv":   "supplier_id,name,country\nFORMULA,\"=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\",GB\n",
		"products.csv":    "product_id,supplier_id,name,kind\nMINUS,FORMULA,-2+3 analyser,software\n",
		"deployments.csv": "org_ods,product_id,service,criticality,has_fallback\nRJ1,MINUS,pathology,high,no\nRJ1X9,MINUS,pathology,high,no\n",
	})
	must(t, run(t, "", nil, "--data-dir", dir, "supply", "import", in))

	out := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "supply", "export", "--dir", out))
	for file, want := range map[string]string{"suppliers.csv": `"'=HYPERLINK(`, "products.csv": `,'-2+3 analyser,`} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s:\n%s", file, want, b)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if formulaStart(cell) {
					t.Errorf("%s: cell %q would run as a formula", file, cell)
				}
			}
		}
	}
	for _, args := range [][]string{{"--supplier", "FORMULA"}, {"--org", "RJ1"}} {
		r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "impact", "--format", "csv"}, args...)...))
		recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil || len(recs) < 2 {
			t.Fatalf("impact %v --format csv: %v\n%s", args, err, r.stdout)
		}
		seen := false
		for _, rec := range recs {
			for _, cell := range rec {
				if formulaStart(cell) {
					t.Errorf("impact %v: cell %q would run as a formula", args, cell)
				}
				seen = seen || cell == "'@SUM(1+1) clinic" || cell == "'-2+3 analyser"
			}
		}
		if !seen {
			t.Errorf("impact %v --format csv lacks the neutralised name:\n%s", args, r.stdout)
		}
	}

	// The export imports into a fresh register as the same names.
	dir2 := supplyDataDir(t)
	must(t, run(t, "", nil, "--data-dir", dir2, "orgs", "create", "--ods", "RJ1X9", "--name", "@SUM(1+1) clinic", "--type", "other-provider", "--parent", "RJ1"))
	must(t, run(t, "", nil, "--data-dir", dir2, "supply", "import", out))
	r := must(t, run(t, "", nil, "--data-dir", dir2, "supply", "export", "--json", "-"))
	var reg struct {
		Suppliers []struct{ SupplierID, Name string } `json:"suppliers"`
		Products  []struct{ ProductID, Name string }  `json:"products"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &reg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range reg.Suppliers {
		names[s.Name] = true
	}
	for _, p := range reg.Products {
		names[p.Name] = true
	}
	for _, n := range []string{`=HYPERLINK("http://evil.test","x")`, "-2+3 analyser"} {
		if !names[n] {
			t.Errorf("after export and import, %q is missing: %v", n, names)
		}
	}
}

// Names stored before the rules on control characters (or by anything
// that bypassed them) reach the operator's terminal escaped, through every
// table printer and error message.
func TestCLIEscapesControlCharacters(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("gp-security", "pathology")...)...))
	must(t, run(t, "a long enough password\n", nil, "--data-dir", dir, "users", "add", "--email", "eve@rj1.nhs.test", "--name", "Eve", "--role", "org-analyst", "--org", "RJ1", "--password-stdin"))
	must(t, run(t, "", nil, "--data-dir", dir, "tokens", "create", "--user", "eve@rj1.nhs.test", "--name", "ci"))
	db, err := sql.Open("sqlite", filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE supply_suppliers SET name = 'Evil' || char(27) || '[2J' WHERE supplier_id = 'EMIS'`,
		`UPDATE supply_products SET name = 'Web' || char(27) || ']0;pwned' || char(7) || char(8238) WHERE product_id = 'EMIS-WEB'`,
		`UPDATE orgs SET name = 'Practice' || char(27) || '[31m One' WHERE code = 'G85001'`,
		`UPDATE users SET name = 'Eve' || char(27) || '[1A' WHERE email = 'eve@rj1.nhs.test'`,
		`UPDATE tokens SET name = 'ci' || char(155) || '2J'`,
		`UPDATE supply_meta SET generation = generation + 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	for _, args := range [][]string{
		{"supply", "impact", "--supplier", "EMIS"},
		{"supply", "impact", "--org", "G85001"},
		{"supply", "impact", "--product", "FALCON"},
		{"supply", "risk"},
		{"supply", "concentration", "--service", "gp-clinical", "--by", "icb"},
		{"supply", "concentration", "--service", "all"},
		{"orgs", "list", "--under", "QKK"},
		{"users", "list"},
		{"tokens", "list"},
		{"audit", "list", "--limit", "5"},
		{"supply", "impact", "--supplier", "Evil\x1b[2J"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, args...)...)
		for _, bad := range []string{"\x1b", "\u202e", "\u009b", "\x07"} {
			if strings.Contains(r.stdout+r.stderr, bad) {
				t.Errorf("%v printed %q:\n%s%s", args, bad, r.stdout, r.stderr)
			}
		}
		// The escaped names are shown, so the operator sees what is stored.
		want := map[string]string{"EMIS": `Practice\x1b[31m One`, "G85001": `Evil\x1b[2J`}[args[len(args)-1]]
		if want != "" && !strings.Contains(r.stdout, want) {
			t.Errorf("%v does not show %s:\n%s", args, want, r.stdout)
		}
	}
}
