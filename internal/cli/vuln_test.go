package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
	"github.com/vigil-health/vigil/internal/vuln"
)

var testdataVuln = filepath.Join("..", "..", "..", "shared", "data", "vuln")

// TestVulnScan runs `vigil vuln scan` as an analyst would: a Maven SBOM
// against the OSV folder (--format json: one object a finding, with the
// matched range), the default table over two SBOMs, an SBOM with no findings, and bad input.
func TestVulnScan(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "vuln")
	osvDir := filepath.Join(data, "osv")
	dropwizard := filepath.Join(data, "sbom", "maven-dropwizard-1.3.15.cdx12.json")
	if _, err := os.Stat(dropwizard); err != nil {
		testneed.Missing(t, "the SBOM and OSV test data in ../shared/data/vuln", err)
		return
	}

	// The first scan indexes the OSV directory into the cache directory,
	// never into the directory itself; the next one uses the index.
	cache := t.TempDir()
	t.Setenv("VIGIL_CACHE_DIR", cache)
	r := must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--format", "json", dropwizard))
	if !strings.Contains(r.stderr, "indexed the OSV directory's 845 advisories; saved as "+cache) {
		t.Errorf("first scan's stderr: %s", r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(osvDir, ".*")); len(m) != 0 {
		t.Errorf("the scan wrote into the OSV directory: %v", m)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d findings, want 8:\n%s\nstderr: %s", len(lines), r.stdout, r.stderr)
	}
	found := false
	for _, l := range lines {
		var f struct {
			SBOM, Component, PURL, Version, Ecosystem, Package, ID, Fixed, Matched string
			Aliases                                                                []string
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.SBOM != dropwizard || f.PURL == "" || f.Ecosystem != "Maven" || f.Matched == "" {
			t.Errorf("finding %s", l)
		}
		if f.ID == "GHSA-mjmj-j48q-9wg2" {
			found = true
			if f.Package != "org.yaml:snakeyaml" || f.Version != "1.23" || f.Fixed != "2.0" ||
				f.Matched != "ECOSYSTEM introduced 0, fixed 2.0" || len(f.Aliases) != 1 || f.Aliases[0] != "CVE-2022-1471" {
				t.Errorf("snakeyaml finding %s", l)
			}
		}
	}
	if !found || !strings.Contains(r.stderr, "167 components scanned") || !strings.Contains(r.stderr, "8 findings") {
		t.Errorf("no snakeyaml finding, or stderr: %s", r.stderr)
	}

	alpine := filepath.Join(data, "sbom", "container-alpine-3.17.cdx14.xml")
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, alpine, dropwizard))
	if strings.Contains(r.stderr, "indexed") || !strings.Contains(r.stderr, "845 advisories, ") {
		t.Errorf("second scan did not use the index: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "musl-utils (musl)") || !strings.Contains(r.stdout, "ALPINE-CVE-2025-26519") ||
		!strings.Contains(r.stdout, "GHSA-mjmj-j48q-9wg2") || !strings.Contains(r.stderr, "10 findings") {
		t.Errorf("table:\n%s\nstderr: %s", r.stdout, r.stderr)
	}

	// No findings is still exit 0.
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--format", "json",
		filepath.Join(data, "sbom", "maven-spdx-examples-examplemaven-0.0.1-enriched.spdx23.json")))
	if r.stdout != "" || !strings.Contains(r.stderr, "0 findings") {
		t.Errorf("stdout %q stderr %s", r.stdout, r.stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.cdx.json")
	if err := os.WriteFile(bad, []byte("{\"bomFormat\": \"CycloneDX\",\n\"components\": 7}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"vuln", "scan", "--osv", osvDir, bad}, bad + ": CycloneDX JSON: line 2"},
		{[]string{"vuln", "scan", "--osv", osvDir, "no-such.json"}, "no-such.json"},
		{[]string{"vuln", "scan", "--osv", "no-such-dir", dropwizard}, "no-such-dir"},
		{[]string{"vuln", "scan", "--db", "no-such-db", dropwizard}, "no-such-db"},
		{[]string{"vuln", "scan", dropwizard}, "--osv is required"},
		{[]string{"vuln", "scan", "--osv", osvDir}, "give one or more SBOM files"},
	} {
		r := run(t, "", nil, c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, r.code, r.stderr, c.want)
		}
	}

	r = must(t, run(t, "", nil, "vuln", "scan", "--help"))
	if !strings.Contains(r.stdout, "CycloneDX 1.2–1.6") || !strings.Contains(r.stdout, "--osv") {
		t.Errorf("help: %s", r.stdout)
	}
}

// TestVulnScanPriority: --kev and --epss mark findings, the JSON carries
// cvss, kev and epss, the findings come KEV first then by CVSS score, and
// the table shows the severity and the KEV due date.
func TestVulnScanPriority(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "vuln")
	osvDir := filepath.Join(data, "osv")
	kev := filepath.Join(data, "kev", "known_exploited_vulnerabilities.json")
	epss := filepath.Join("..", "vuln", "testdata", "epss_scores-fixture.csv")
	dropwizard := filepath.Join(data, "sbom", "maven-dropwizard-1.3.15.cdx12.json")
	flux := filepath.Join(data, "sbom", "go-flux2-v0.26.3.spdx22.json")
	if _, err := os.Stat(kev); err != nil {
		testneed.Missing(t, "the KEV and OSV test data in ../shared/data/vuln", err)
		return
	}

	r := must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--kev", kev, "--epss", epss, "--format", "json", dropwizard))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d findings, want 8:\n%s\nstderr: %s", len(lines), r.stdout, r.stderr)
	}
	last := 11.0
	for _, l := range lines {
		var f struct {
			ID   string
			CVSS []struct {
				Vector, Version, Severity string
				Score                     float64
			}
			Severity string
			KEV      *struct{ CVE, DateAdded, DueDate string }
			EPSS     *struct {
				CVE               string
				Score, Percentile float64
			}
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.CVSS) == 0 || f.CVSS[0].Score > last || f.KEV != nil {
			t.Errorf("finding out of order (after score %v) or without CVSS: %s", last, l)
			continue
		}
		last = f.CVSS[0].Score
		if f.ID == "GHSA-mjmj-j48q-9wg2" {
			c := f.CVSS[0]
			if c.Vector != "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:L" || c.Version != "3.1" || c.Score != 8.3 ||
				c.Severity != "HIGH" || f.Severity != "HIGH" || f.EPSS == nil || f.EPSS.CVE != "CVE-2022-1471" ||
				f.EPSS.Score != 0.93912 || f.EPSS.Percentile != 0.99874 {
				t.Errorf("snakeyaml %s", l)
			}
		}
	}

	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, "--kev", kev, flux))
	rows := strings.Split(r.stdout, "\n")
	if len(rows) < 3 || !strings.Contains(rows[0], "SEVERITY") || !strings.Contains(rows[0], "KEV") ||
		!strings.Contains(r.stdout, "GO-2023-2102") ||
		!strings.Contains(rows[1], "KEV due 2023-10-31 (related CVE-2023-44487)") {
		t.Errorf("table:\n%s", r.stdout)
	}
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", osvDir, dropwizard))
	if !strings.Contains(r.stdout, "HIGH 8.3") {
		t.Errorf("table without a severity:\n%s", r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "epss.csv")
	if err := os.WriteFile(bad, []byte("cve,epss,percentile\nCVE-2022-1471,2,0.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kev", "no-such-kev.json"}, "no-such-kev.json"},
		{[]string{"--kev", dropwizard}, "no vulnerabilities list"},
		{[]string{"--epss", bad}, bad + ": line 2"},
	} {
		args := append(append([]string{"vuln", "scan", "--osv", osvDir}, c.args...), dropwizard)
		r := run(t, "", nil, args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// Stored SBOMs on the demo estate: a product's SBOM and a trust's
// inventory are stored, matched against the shared OSV data with KEV,
// their findings listed with priority, and a cyber alert about the KEV CVE
// only the SBOM carries reaches exactly the organisations deploying the
// product (those `vigil supply impact --product` lists).
func TestVulnStoredOnDemoEstate(t *testing.T) {
	dir := t.TempDir()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	must(t, vigil("demo"))
	r := must(t, vigil("supply", "impact", "--cve", "CVE-2099-4242", "--format", "json"))
	var impact supply.ImpactResult
	if err := json.Unmarshal([]byte(r.stdout), &impact); err != nil || len(impact.Products) == 0 {
		t.Fatalf("demo impact: %v %s", err, r.stdout)
	}
	prod := impact.Products[len(impact.Products)-1].ID
	r = must(t, vigil("supply", "impact", "--product", prod, "--format", "json"))
	if err := json.Unmarshal([]byte(r.stdout), &impact); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range impact.Affected {
		want = append(want, a.ODS)
	}
	sort.Strings(want)
	sbom := filepath.Join(testdataVuln, "sbom", "go-flux2-v0.26.3.spdx22.json")
	r = must(t, vigil("vuln", "sbom", "add", "--product", prod, "--version", "0.26.3", sbom, "--format", "ids"))
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "SB-") {
		t.Fatalf("sbom add printed %q", r.stdout)
	}
	must(t, vigil("vuln", "inventory", "add", "--org", want[0], "--criticality", "high", "--exposure", "internet", sbom))
	r = must(t, vigil("vuln", "match", "--osv", filepath.Join(testdataVuln, "osv"), "--kev", filepath.Join(testdataVuln, "kev", "known_exploited_vulnerabilities.json")))
	if !strings.Contains(r.stdout, "full") {
		t.Errorf("match:\n%s", r.stdout)
	}
	r = must(t, vigil("vuln", "findings", "--product", prod, "--format", "json"))
	var rr *vuln.StoredFinding
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var f vuln.StoredFinding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		if f.ID == "GO-2023-2102" {
			rr = &f
		}
	}
	if rr == nil || rr.KEV == nil || !strings.Contains(rr.Priority.Explanation, "listed in CISA KEV") {
		t.Fatalf("GO-2023-2102 finding %+v", rr)
	}
	r = must(t, vigil("vuln", "findings", "--org", want[0]))
	if !strings.Contains(r.stdout, "exposed to the internet +10") || !strings.Contains(r.stdout, "PRIORITY") {
		t.Errorf("inventory findings:\n%.600s", r.stdout)
	}
	r = must(t, vigil("vuln", "sbom", "list", "--product", prod))
	if !strings.Contains(r.stdout, id) {
		t.Errorf("sbom list:\n%s", r.stdout)
	}
	r = must(t, vigil("cyberalert", "issue", "--title", "HTTP/2 Rapid Reset", "--cve", "CVE-2023-44487", "--severity", "high",
		"--action", "Upgrade golang.org/x/net", "--deadline", "2030-01-31", "--format", "json"))
	var a vuln.CyberAlert
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range a.Orgs {
		got[m.Org] = true
		if m.Org != want[0] && !strings.Contains(m.Path, "SBOM of product") {
			t.Errorf("%s path %q", m.Org, m.Path)
		}
	}
	for _, o := range want {
		if !got[o] {
			t.Errorf("%s deploys %s but is not in scope", o, prod)
		}
	}
	if len(got) != len(want) {
		t.Errorf("in scope %v, want %v", got, want)
	}
}
