package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
)

// TestAssuranceViewsCLI: the methodology the CLI prints is the one the
// code scores with; the views run over the pathology register before any
// statement is accepted (every supplier has the full assurance gap); a
// dispute that does not exist is not found.
func TestAssuranceViewsCLI(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("pathology")...)...))
	r := must(t, run(t, "", nil, "--data-dir", dir, "assurance", "methodology"))
	m := assurance.GetMethodology()
	for _, want := range []string{fmt.Sprintf("Scoring method version %d", assurance.MethodVersion), m.Cases[0].Why, m.Changes[len(m.Changes)-1].Summary} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("methodology lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "methodology", "--format", "json"))
	var got assurance.Methodology
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Version != m.Version || len(got.Cases) != len(m.Cases) || got.Cases[2].PointsW != m.Cases[2].PointsW {
		t.Errorf("methodology json: %v %+v", err, got)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "heatmap"))
	if !strings.Contains(r.stdout, "no accepted statements yet") {
		t.Errorf("heatmap:\n%s", r.stdout)
	}
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "heatmap", "--format", "csv"))
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "gaps", "--tier", "critical"))
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "priorities", "--format", "json"))
	var p assurance.Priorities
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || len(p.Rows) == 0 || len(p.Method.Rules) != 4 {
		t.Fatalf("priorities: %v\n%.600s", err, r.stdout)
	}
	for _, row := range p.Rows {
		if row.Assurance != nil || row.AssuranceGap != 100 {
			t.Errorf("%s: assurance %v gap %d before any statement", row.SupplierID, row.Assurance, row.AssuranceGap)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "priorities", "--supplier", "SYNNOVIS"))
	if !strings.Contains(r.stdout, "SYNNOVIS") || !strings.Contains(r.stdout, "IMPORTANCE") {
		t.Errorf("priorities table:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "dispute", "list", "--format", "json"))
	if strings.TrimSpace(r.stdout) != "" {
		t.Errorf("disputes: %q", r.stdout)
	}
	r = run(t, "", nil, "--data-dir", dir, "assurance", "dispute", "answer", "DP-NOPE", "--uphold", "--note", "x")
	if r.code == 0 || !strings.Contains(r.stderr, "no dispute DP-NOPE") {
		t.Errorf("answer a missing dispute: %d %s", r.code, r.stderr)
	}
	r = run(t, "", nil, "--data-dir", dir, "assurance", "dispute", "answer", "DP-NOPE", "--note", "x")
	if r.code == 0 || !strings.Contains(r.stderr, "--uphold or --amend") {
		t.Errorf("no decision: %d %s", r.code, r.stderr)
	}
}
