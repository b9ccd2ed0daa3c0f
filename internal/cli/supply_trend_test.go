package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSupplyTrend(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "trend", "--service", "gp-clinical"))
	if !strings.Contains(r.stdout, "no snapshots") {
		t.Errorf("trend before any snapshot: %s", r.stdout)
	}
	for i := 0; i < 2; i++ {
		must(t, run(t, "", nil, "--data-dir", dir, "supply", "snapshot"))
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "trend", "--service", "gp-clinical", "--by", "icb", "--group", "qkk", "--format", "json"))
	var pts []struct {
		HHI           float64 `json:"hhi"`
		Organisations int     `json:"organisations"`
		TopSupplierID string  `json:"top_supplier_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &pts); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	// QKK's six demo practices: four on the ACME GP system, two on Northgate:
	// (100·4/6)² + (100·2/6)² = 4,444.4 + 1,111.1 = 5,555.6.
	if len(pts) != 2 || pts[0].Organisations != 6 || pts[0].HHI < 5555 || pts[0].HHI > 5556 || pts[0].TopSupplierID != "DEMO-ACME" {
		t.Errorf("trend = %+v", pts)
	}
	if r := run(t, "", nil, "--data-dir", dir, "supply", "trend", "--service", "gp-clinical", "--by", "icb"); r.code != 2 {
		t.Errorf("--by icb without --group: exit %d", r.code)
	}
}

func TestSupplyImpactLimit(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "supply", "impact", "--supplier", "DEMO-PATH", "--limit", "3", "--format", "json"))
	var res struct {
		Affected  []struct{ Impact string }
		Truncated bool
		Totals    struct{ Organisations int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Affected) != 3 || !res.Truncated || res.Totals.Organisations <= 3 || res.Affected[0].Impact != "hard-down" {
		t.Errorf("--limit 3: %+v", res)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "supply", "impact", "--supplier", "DEMO-PATH", "--limit", "3"))
	if !strings.Contains(r.stdout, "the worst 3 of") {
		t.Errorf("table does not say it is cut: %s", r.stdout)
	}
}
