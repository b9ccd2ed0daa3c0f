package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// The national findings view and the workflow from the command line, on
// the demo estate: a trust's inventory is stored and matched; the national
// view lists its findings with refs; two are acknowledged at once, one
// risk is accepted (refused without a reason), VEX suppresses one with
// the statement shown; the KPIs count them; a cyber alert is raised from
// a finding and its scope worked out again.
func TestVulnFindingsWorkflowCLI(t *testing.T) {
	dir := t.TempDir()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	must(t, vigil("demo"))
	r := must(t, vigil("supply", "impact", "--cve", "CVE-2099-4242", "--format", "json"))
	var impact supply.ImpactResult
	if err := json.Unmarshal([]byte(r.stdout), &impact); err != nil || len(impact.Affected) == 0 {
		t.Fatalf("demo impact: %v %s", err, r.stdout)
	}
	code := impact.Affected[0].ODS
	sbom := filepath.Join(testdataVuln, "sbom", "go-flux2-v0.26.3.spdx22.json")
	inv := strings.TrimSpace(must(t, vigil("vuln", "inventory", "add", "--org", code, "--name", "GitOps", sbom, "--format", "ids")).stdout)
	must(t, vigil("vuln", "match", "--osv", filepath.Join(testdataVuln, "osv", "Go"), "--kev", filepath.Join(testdataVuln, "kev", "known_exploited_vulnerabilities.json")))

	list := func(args ...string) []vuln.StoredFinding {
		t.Helper()
		r := must(t, vigil(append([]string{"vuln", "findings", "--all", "--format", "json"}, args...)...))
		var out []vuln.StoredFinding
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if line == "" {
				continue
			}
			var f vuln.StoredFinding
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			out = append(out, f)
		}
		return out
	}
	all := list("--org", code)
	if len(all) < 3 || all[0].SBOMID != inv || !strings.HasPrefix(all[0].Ref, inv+"/") {
		t.Fatalf("findings --all: %d, first %+v", len(all), all[0].Ref)
	}
	if kev := list("--cve", "CVE-2023-44487", "--ecosystem", "Go"); len(kev) != 2 {
		t.Errorf("--cve CVE-2023-44487: %d findings", len(kev))
	}
	r = must(t, vigil("vuln", "findings", "--all", "--limit", "2"))
	if !strings.Contains(r.stdout, "REF") || !strings.Contains(r.stdout, "STATE") || !strings.Contains(r.stderr, "2 of ") {
		t.Errorf("table:\n%s\n%s", r.stdout, r.stderr)
	}
	a, b, c := all[0].Ref, all[1].Ref, all[2].Ref
	r = must(t, vigil("vuln", "finding", "acknowledge", a, b, "--format", "ids"))
	if got := strings.Fields(r.stdout); len(got) != 2 {
		t.Errorf("acknowledged %q", r.stdout)
	}
	if r := vigil("vuln", "finding", "accept-risk", c, "--expires", "2099-01-01"); r.code == 0 || !strings.Contains(r.stderr, "reason") {
		t.Errorf("accept-risk without a reason: exit %d %s", r.code, r.stderr)
	}
	if r := vigil("vuln", "finding", "acknowledge", c, "nonsense"); r.code == 0 || !strings.Contains(r.stderr, "findings") {
		t.Errorf("a bad ref: exit %d %s", r.code, r.stderr)
	}
	if got := list("--org", code, "--state", "acknowledged"); len(got) != 2 {
		t.Errorf("acknowledged: %d (a bad ref in the lot must change nothing more)", len(got))
	}
	must(t, vigil("vuln", "vex", "add", "--org", code, filepath.Join("..", "vuln", "testdata", "formats", "flux2-xnet.openvex.json")))
	sup := list("--org", code, "--state", "suppressed")
	if len(sup) != 1 || sup[0].ID != "GO-2023-2102" || sup[0].Suppressed == nil || sup[0].Suppressed.Statement != "statements[0]" {
		t.Fatalf("suppressed %+v", sup)
	}
	r = must(t, vigil("vuln", "kpis", "--org", code, "--format", "json"))
	if !strings.Contains(r.stdout, `"acknowledged":`) || !strings.Contains(r.stdout, `"suppressed":1`) {
		t.Errorf("kpis %s", r.stdout)
	}
	// A cyber alert from the finding that carries CVE-2023-44487.
	var kevRef string
	for _, f := range all {
		if f.ID == "GO-2023-2153" {
			kevRef = f.Ref
		}
	}
	r = must(t, vigil("cyberalert", "issue", "--from-finding", kevRef, "--action", "Upgrade gRPC", "--deadline", "2099-01-31", "--format", "json"))
	var ca vuln.CyberAlert
	if err := json.Unmarshal([]byte(r.stdout), &ca); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(ca.CVEs, ","), "CVE-2023-44487") || !strings.HasPrefix(ca.Title, "GO-2023-2153 in google.golang.org/grpc") {
		t.Errorf("alert from finding: %q %v", ca.Title, ca.CVEs)
	}
	found := false
	for _, m := range ca.Orgs {
		found = found || m.Org == code
	}
	if !found {
		t.Errorf("%s, whose inventory carries it, is not in scope: %+v", code, ca.Orgs)
	}
	r = must(t, vigil("cyberalert", "refresh", ca.ID))
	if !strings.Contains(r.stdout, ca.ID) || !strings.Contains(r.stdout, "no longer in scope") {
		t.Errorf("refresh:\n%s", r.stdout)
	}
	if r := vigil("cyberalert", "issue", "--from-finding", kevRef, "--cve", "CVE-2023-44487", "--action", "x", "--deadline", "2099-01-31"); r.code == 0 {
		t.Errorf("--from-finding with --cve was taken")
	}
}
