package cli

import (
	"strings"
	"testing"
)

// TestSupplyImpactForgivingLookup: `vigil supply impact` takes supplier,
// product and organisation names and IDs in any case; a typo exits
// non-zero with "did you mean …"; a CVE field refuses what is not a CVE ID,
// and a CVE is exploited, not compromised.
func TestSupplyImpactForgivingLookup(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	impact := func(args ...string) result {
		return run(t, "", nil, append([]string{"--data-dir", dir, "supply", "impact"}, args...)...)
	}

	// An ID in any case and with spaces, or the name, is the supplier.
	for _, who := range []string{"demo-path", " Demo-Path ", "Demo Pathology Partnership LLP (demo)", "demo pathology partnership llp demo"} {
		r := impact("--supplier", who, "--format", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"supplier":"DEMO-PATH"`) || !strings.Contains(r.stdout, `"ods":"RJ1"`) {
			t.Errorf("--supplier %q: exit %d\n%s%s", who, r.code, r.stdout, r.stderr)
		}
	}
	r := impact("--supplier", "demo-path")
	if r.code != 0 || !strings.Contains(r.stdout, "If Demo Pathology Partnership LLP (demo) is compromised") {
		t.Errorf("table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = impact("--product", "demo-lims", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"product":"DEMO-LIMS"`) {
		t.Errorf("--product demo-lims: exit %d\n%s", r.code, r.stderr)
	}
	r = impact("--org", "rj1")
	if r.code != 0 || !strings.Contains(r.stdout, "RJ1 ") || !strings.Contains(r.stdout, "depends on") {
		t.Errorf("--org rj1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A typo: nothing answered, the nearest names offered, exit 1.
	r = impact("--supplier", "demo-pth")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `no supplier called "demo-pth"`) ||
		!strings.Contains(r.stderr, "did you mean") || !strings.Contains(r.stderr, "(DEMO-PATH)") {
		t.Errorf("--supplier demo-pth: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = impact("--product", "Sentinel endpoint agnet")
	if r.code != 1 || !strings.Contains(r.stderr, "did you mean Sentinel endpoint agent (demo) (DEMO-SENTINEL-AGENT)") {
		t.Errorf("--product typo: exit %d\n%s", r.code, r.stderr)
	}

	// A CVE: any case; exploited, not compromised; not a CVE is refused.
	r = impact("--cve", "cve-2099-4242")
	if r.code != 0 || !strings.Contains(r.stdout, "If CVE-2099-4242 is exploited") || strings.Contains(r.stdout, "compromised") {
		t.Errorf("--cve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = impact("--cve", "log4shell")
	if r.code != 2 || !strings.Contains(r.stderr, "--cve") || !strings.Contains(r.stderr, `"log4shell" is not a CVE ID`) {
		t.Errorf("--cve log4shell: exit %d\n%s", r.code, r.stderr)
	}
	r = impact("--supplier", "DEMO-PATH", "--product", "DEMO-LIMS")
	if r.code != 2 || !strings.Contains(r.stderr, "one thing at a time") {
		t.Errorf("two questions: exit %d\n%s", r.code, r.stderr)
	}
}
