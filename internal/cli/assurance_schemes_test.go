package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestAssuranceSchemesCLI records a supplier's health-scheme evidence as
// an operator would — a Cyber Essentials Plus certificate, a DTAC, an
// incomplete DCB0129, a trust's DCB0160, the charter and the NCSC
// principles — reads it back with the cross-links explained, and lists the
// certificate as expiring; bad input names its field.
func TestAssuranceSchemesCLI(t *testing.T) {
	dir := supplyDataDir(t)
	must(t, run(t, "", nil, append([]string{"--data-dir", dir, "supply", "import"}, caseDirs("pathology")...)...))
	issued := time.Now().UTC().AddDate(-1, 0, 20).Format(time.DateOnly) // lapses in 20 days
	a := func(args ...string) result {
		return must(t, run(t, "", nil, append([]string{"--data-dir", dir, "assurance"}, args...)...))
	}
	r := a("certificate", "add", "--supplier", "SYNNOVIS", "--scheme", "cyber-essentials-plus", "--number", "IASME-CEP-9", "--issued", issued, "--question-set", "Willow")
	if !strings.Contains(r.stdout, "IASME-CEP-9") || !strings.Contains(r.stdout, "expiring") {
		t.Errorf("certificate add:\n%s", r.stdout)
	}
	r = a("certificate", "list", "--supplier", "SYNNOVIS", "--format", "json")
	var certs []struct{ Number, State, Source string }
	if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil || len(certs) != 1 || certs[0].State != "expiring" || certs[0].Source != "assessor" {
		t.Errorf("certificate list: %v\n%s", err, r.stdout)
	}
	a("dtac", "add", "--product", "SYN-LIMS", "--assessed", "2026-10-01", "--c1", "pass", "--c2", "pass", "--c3", "pass", "--c4", "pass", "--d-score", "82")
	r = a("dcb0129", "add", "--product", "SYN-LIMS", "--safety-case", "CSCR-1", "--cso", "Dr Ada", "--issued", "2026-09-01")
	if !strings.Contains(r.stdout, "DCB0129 of SYN-LIMS 2024.1") || !strings.Contains(r.stdout, "lacks hazard log") {
		t.Errorf("dcb0129:\n%s", r.stdout)
	}
	a("dcb0160", "add", "--org", "RJ1", "--product", "SYN-LIMS", "--safety-case", "RJ1-C", "--hazard-log", "RJ1-H", "--cso", "Sister S", "--issued", "2026-10-01")
	a("charter", "sign", "--supplier", "SYNNOVIS", "--commitments", "all", "--signed", "2026-11-01", "--by", "Synnovis CEO")
	r = a("principles", "set", "--supplier", "SYNNOVIS", "--assessed", "2026-11-02", "1=met", "5=partly:minimums not yet in contracts")
	if !strings.Contains(r.stdout, "partly") || !strings.Contains(r.stdout, "Build trust with suppliers") {
		t.Errorf("principles:\n%s", r.stdout)
	}
	r = a("evidence", "--supplier", "SYNNOVIS")
	for _, want := range []string{"IASME-CEP-9", "DTAC SYN-LIMS 2024.1", "lacks hazard log", "DCB0160 RJ1 for SYN-LIMS", "Synnovis CEO",
		"fail     dtac-c1-dcb0129", "lacks a hazard log", "unknown  dtac-c2-dspt", "pass     dtac-c3-cyber-essentials", "fail     dcb0160-dcb0129"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("evidence lacks %q:\n%s", want, r.stdout)
		}
	}
	r = a("evidence", "--product", "SYN-LIMS", "--format", "json")
	var pe struct {
		DTAC   []struct{ Passed bool }
		Checks []struct{ Link, Result, Why string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &pe); err != nil || len(pe.DTAC) != 1 || !pe.DTAC[0].Passed || len(pe.Checks) != 4 {
		t.Errorf("product evidence: %v\n%s", err, r.stdout)
	}
	r = a("expiring", "--within", "60d")
	if !strings.Contains(r.stdout, "Cyber Essentials Plus certificate IASME-CEP-9") || !strings.Contains(r.stdout, "SYNNOVIS") {
		t.Errorf("expiring:\n%s", r.stdout)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"dtac", "add", "--product", "SYN-LIMS", "--assessed", "2026-10-01", "--c1", "maybe", "--c2", "pass", "--c3", "pass", "--c4", "pass"}, "c1_clinical_safety"},
		{[]string{"dtac", "add", "--product", "BARTS-LIMS", "--assessed", "2026-10-01", "--c1", "pass", "--c2", "pass", "--c3", "pass", "--c4", "pass"}, "version"},
		{[]string{"expiring", "--within", "soon"}, "within"},
		{[]string{"principles", "set", "--supplier", "SYNNOVIS", "--assessed", "2026-11-02", "13=met"}, "1–12"},
		{[]string{"dcb0160", "add", "--org", "RJ1", "--product", "BARTS-LIMS", "--issued", "2026-10-01"}, "does not deploy"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir, "assurance"}, bad.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v = %d, want an error naming %s:\n%s", bad.args, r.code, bad.want, r.stderr)
		}
	}
}
