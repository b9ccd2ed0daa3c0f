package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAssuranceCampaignCLI starts a campaign over the pathology register
// as an operator would, lists and shows it, lists its statements as JSON
// and prints a statement's score, whose breakdown adds up.
func TestAssuranceCampaignCLI(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("pathology")...)...))
	caf := filepath.Join("..", "assurance", "testdata", "webcaf-small.yaml")
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "import", caf, "--version", "0.1"))
	r := run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "create", "--name", "Pathology", "--set", "webcaf-caf@0.1", "--deadline", "2099-01-01")
	if r.code == 0 || !strings.Contains(r.stderr, "suppliers") {
		t.Errorf("no suppliers: %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "create", "--name", "Pathology 2099", "--set", "webcaf-caf@0.1",
		"--suppliers", "SYNNOVIS,BARTSPATH", "--tier", "critical", "--deadline", "2099-01-01", "--format", "json"))
	var c struct {
		ID           string
		Suppliers    int
		Requirements []struct{ Key string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Suppliers != 2 || len(c.Requirements) == 0 {
		t.Fatalf("create: %v\n%s", err, r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "list"))
	for _, want := range []string{c.ID, "Pathology 2099", "2/0/0/0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "campaign", "show", c.ID))
	if !strings.Contains(r.stdout, "Synnovis Analytics LLP") || !strings.Contains(r.stdout, "draft") {
		t.Errorf("show:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "list", "--campaign", c.ID, "--format", "json"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var st struct {
		ID         string
		SupplierID string `json:"supplier_id"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &st); err != nil || len(lines) != 2 || st.ID == "" {
		t.Fatalf("statement list: %v\n%s", err, r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "show", st.ID))
	if !strings.Contains(r.stdout, "A1.a") || !strings.Contains(r.stdout, "Not answered") {
		t.Errorf("statement show:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "score", st.ID))
	if !strings.Contains(r.stdout, "objective") || !strings.Contains(r.stdout, "total") || !strings.Contains(r.stdout, "not answered: 0") {
		t.Errorf("score:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "score", st.ID, "--format", "json"))
	var sc struct {
		Points, Max int
		Objectives  []struct{ Points, Max int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil || len(sc.Objectives) == 0 {
		t.Fatalf("score json: %v\n%s", err, r.stdout)
	}
	var max int
	for _, o := range sc.Objectives {
		max += o.Max
	}
	if max != sc.Max || sc.Points != 0 {
		t.Errorf("objectives add to %d of %d", max, sc.Max)
	}
}
