package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAssuranceCampaignUpkeepCLI: the tiers with their reasons, a tiered
// campaign, its progress before and after a supplier's representative
// fills in the exported spreadsheet (a bad one first: every cell named,
// nothing stored), a moved deadline, and closing.
func TestAssuranceCampaignUpkeepCLI(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("pathology")...)...))
	caf := filepath.Join("..", "assurance", "testdata", "webcaf-small.yaml")
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "import", caf, "--version", "0.1"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "assurance", "tiers"))
	if !strings.Contains(r.stdout, "SYNNOVIS") || !strings.Contains(r.stdout, "designated critical in the register") {
		t.Errorf("tiers:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "tiers", "--format", "json"))
	var tier struct {
		SupplierID string `json:"supplier_id"`
		Tier       string
		Rule       int
	}
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &tier); err != nil || tier.Tier != "tier-1" {
		t.Fatalf("tiers json: %v\n%s", err, r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "create", "--name", "Tier one", "--set", "webcaf-caf@0.1",
		"--tier", "tier-1", "--deadline", "2099-01-01", "--format", "json"))
	var c struct {
		ID         string
		Suppliers  int
		Statements []struct {
			ID, Tier   string
			SupplierID string `json:"supplier_id"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Suppliers == 0 || c.Statements[0].Tier != "tier-1" {
		t.Fatalf("create: %v\n%s", err, r.stdout)
	}
	var st string
	for _, x := range c.Statements {
		if x.SupplierID == "SYNNOVIS" {
			st = x.ID
		}
	}
	if st == "" {
		t.Fatalf("Synnovis is not in tier 1: %+v", c.Statements)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "progress", c.ID))
	for _, want := range []string{"INVITED", "tier-1", "reminders sent: 7 days 0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stdout)
		}
	}
	// Synnovis's representative (of its group parent's tenant) fills in the sheet.
	must(t, run(t, "a long enough password\n", nil, "--data-dir", dir, "users", "add", "--email", "sid@synnovis.test", "--name", "Sid", "--role", "supplier-rep", "--org", "S-SYN", "--password-stdin"))
	sheet := filepath.Join(t.TempDir(), "synnovis.csv")
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "export", st, "--out", sheet))
	data, err := os.ReadFile(sheet)
	if err != nil || !strings.HasPrefix(string(data), "seq,ref,requirement") {
		t.Fatalf("export: %v\n%s", err, data)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	bad := lines[0] + "\n" + strings.TrimSuffix(lines[1], ",") + "perhaps,x\n"
	if err := os.WriteFile(sheet, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", nil, "--data-dir", dir, "assurance", "statement", "import", st, sheet, "--user", "sid@synnovis.test")
	if r.code == 0 || !strings.Contains(r.stderr, "synnovis.csv row 2 column G (answer)") || !strings.Contains(r.stderr, "nothing imported") {
		t.Fatalf("bad import: %d\n%s", r.code, r.stderr)
	}
	good := lines[0] + "\n" + strings.TrimSuffix(lines[1], ",") + "met,Board minutes\n"
	if err := os.WriteFile(sheet, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "import", st, sheet, "--user", "sid@synnovis.test"))
	if !strings.Contains(r.stdout, "1 saved") {
		t.Errorf("import: %s", r.stdout)
	}
	r = run(t, "", nil, "--data-dir", dir, "assurance", "statement", "import", st, sheet)
	if r.code == 0 {
		t.Errorf("an import as nobody: %s", r.stdout)
	}
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "edit", c.ID, "--deadline", "2099-02-01"))
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "progress", c.ID, "--format", "json"))
	var p struct {
		Deadline string
		Invited  int
		Draft    int
		ByTier   []struct{ Tier string } `json:"by_tier"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Deadline != "2099-02-01" || p.Invited != c.Suppliers || len(p.ByTier) != 1 {
		t.Errorf("progress json: %v\n%s", err, r.stdout)
	}
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "close", c.ID, "--reason", "test over"))
	r = run(t, "", nil, "--data-dir", dir, "assurance", "statement", "import", st, sheet, "--user", "sid@synnovis.test")
	if r.code == 0 {
		t.Errorf("imported into a closed campaign: %s", r.stdout)
	}
}
