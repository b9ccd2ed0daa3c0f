package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestVulnScanFormats: --nvd and --csaf match by CPE (components
// without a purl too), --vex suppresses and --show-suppressed lists
// with the statement, and a scanner's report is an input.
func TestVulnScanFormats(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "vuln")
	fixtures := filepath.Join("..", "vuln", "testdata", "formats")
	flux := filepath.Join(data, "sbom", "go-flux2-v0.26.3.spdx22.json")
	if _, err := os.Stat(flux); err != nil {
		testneed.Missing(t, "the SBOM, NVD, CSAF and OSV test data in ../shared/data/vuln", err)
		return
	}
	t.Setenv("VIGIL_CACHE_DIR", t.TempDir())
	appliance := filepath.Join(fixtures, "appliance-cpe.cdx.json")

	type finding struct {
		ID, Component, Version, CPE, Matched, Fixed string
		Sources                                     []string
		Suppressed                                  *struct{ File, Format, Statement, Status, Justification string }
	}
	decode := func(out string) map[string]finding {
		got := map[string]finding{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var f finding
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("%v: %s", err, l)
			}
			got[f.ID+" "+f.Component] = f
		}
		return got
	}

	r := must(t, run(t, "", nil, "vuln", "scan", "--nvd", filepath.Join(data, "nvd"), "--csaf", filepath.Join(data, "csaf"), "--format", "json", appliance))
	got := decode(r.stdout)
	if len(got) != 4 {
		t.Fatalf("%d findings, want 4:\n%s\nstderr: %s", len(got), r.stdout, r.stderr)
	}
	bb := got["CVE-2018-1000500 busybox"]
	if bb.Version != "1.31.1" || bb.CPE != "cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*" || bb.Fixed != "1.32.0" ||
		bb.Matched != "NVD CPE cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:* versionEndExcluding 1.32.0" {
		t.Errorf("busybox %+v", bb)
	}
	if f, ok := got["CVE-2022-27193 cvrf-csaf-converter"]; !ok || len(f.Sources) != 1 || f.Sources[0] != "CSAF BSI-2022-0001" {
		t.Errorf("CSAF finding %+v", f)
	}
	if !strings.Contains(r.stderr, "6 without purl but with a CPE") || !strings.Contains(r.stderr, "36 NVD CVEs, 19 CSAF documents") {
		t.Errorf("stderr: %s", r.stderr)
	}

	vex := filepath.Join(fixtures, "flux2-xnet.openvex.json")
	osvDir := filepath.Join(data, "osv")
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--vex", vex, "--format", "json", flux))
	got = decode(r.stdout)
	if _, ok := got["GO-2023-2102 golang.org/x/net"]; ok {
		t.Errorf("GO-2023-2102 not suppressed")
	}
	if _, ok := got["GO-2022-1144 golang.org/x/net"]; !ok || !strings.Contains(r.stderr, "1 suppressed by VEX") {
		t.Errorf("GO-2022-1144 suppressed, or stderr: %s", r.stderr)
	}
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--vex", vex, "--show-suppressed", "--format", "json", flux))
	got = decode(r.stdout)
	if s := got["GO-2023-2102 golang.org/x/net"].Suppressed; s == nil || s.Statement != "statements[0]" || s.File != vex ||
		s.Justification != "vulnerable_code_not_in_execute_path" {
		t.Errorf("suppressed GO-2023-2102: %+v", s)
	}
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--vex", vex, "--show-suppressed", flux))
	if rows := strings.Split(r.stdout, "\n"); !strings.Contains(rows[0], "SUPPRESSED") ||
		!strings.Contains(r.stdout, "not_affected: vulnerable_code_not_in_execute_path, by Vigil test fixture (hand-written) ("+vex+" statements[0])") {
		t.Errorf("table:\n%s", r.stdout)
	}

	// A report alone: no --osv needed; its findings say who reported them.
	r = must(t, run(t, "", nil, "vuln", "scan", "--format", "json", filepath.Join(fixtures, "grype-image.json")))
	got = decode(r.stdout)
	if f := got["CVE-2022-48174 busybox"]; len(got) != 2 || len(f.Sources) != 1 || f.Sources[0] != "Grype 0.86.1" ||
		!strings.Contains(r.stderr, "Grype JSON from Grype 0.86.1") {
		t.Errorf("grype report: %s\nstderr: %s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, filepath.Join(fixtures, "trivy-image.json")))
	if rows := strings.Split(r.stdout, "\n"); !strings.Contains(rows[0], "SOURCES") || !strings.Contains(r.stdout, "OSV,Trivy 0.58.1") {
		t.Errorf("trivy table:\n%s", r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "nvd.json")
	if err := os.WriteFile(bad, []byte(`{"vulnerabilities":[{"cve":{"id":"CVE-1","configurations":[{"nodes":[{"cpeMatch":[{"criteria":"cpe:2.3:a"}]}]}]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nvd", bad, flux}, bad + ": vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0].criteria"},
		{[]string{"--osv", osvDir, "--vex", "no-such-vex.json", flux}, "no-such-vex.json"},
		{[]string{"--csaf", flux, flux}, flux + ": not a CSAF document"},
		{[]string{"--vex", flux, "--osv", osvDir, flux}, flux + ": not an OpenVEX, CycloneDX VEX or CSAF document"},
	} {
		r := run(t, "", nil, append([]string{"vuln", "scan"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
