package cli

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// On the demo estate, a cyber alert about the demo's vulnerable agent is
// addressed to exactly the organisations `vigil supply impact --cve`
// lists; an answer is recorded and counted by status, in JSON and CSV.
func TestCyberAlertOnDemoEstate(t *testing.T) {
	dir := t.TempDir()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	must(t, vigil("demo"))
	r := must(t, vigil("supply", "impact", "--cve", "CVE-2099-4242", "--format", "json"))
	var impact supply.ImpactResult
	if err := json.Unmarshal([]byte(r.stdout), &impact); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range impact.Affected {
		want = append(want, a.ODS)
	}
	sort.Strings(want)
	if len(want) < 2 {
		t.Fatalf("the demo CVE reaches %v", want)
	}
	r = must(t, vigil("cyberalert", "issue", "--title", "Sentinel agent RCE", "--cve", "cve-2099-4242", "--severity", "critical",
		"--action", "Upgrade the Sentinel agent to 7.12", "--deadline", "2030-01-31", "--format", "json"))
	var a vuln.CyberAlert
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.ID == "" {
		t.Fatalf("issue json: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, m := range a.Orgs {
		got = append(got, m.Org)
		if !strings.Contains(m.Path, " deploys ") || !strings.Contains(m.Path, "CVE-2099-4242") {
			t.Errorf("%s path %q", m.Org, m.Path)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("alert addressed to %v\nwant (supply impact --cve) %v", got, want)
	}
	first, second := got[0], got[1]
	must(t, vigil("cyberalert", "respond", a.ID, "--org", first+","+second, "--action", "applicability", "--applicability", "affected", "--text", "agent 7.11 on 40 hosts"))
	r = vigil("cyberalert", "respond", a.ID, "--org", first, "--action", "applicability", "--applicability", "maybe")
	if r.code == 0 || !strings.Contains(r.stderr, "applicability") {
		t.Errorf("a bad applicability: %d %s", r.code, r.stderr)
	}
	r = must(t, vigil("cyberalert", "status", a.ID, "--format", "json"))
	var d vuln.Dashboard
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	if d.Totals.Organisations != len(want) || d.Totals.Acknowledged != 2 || d.Totals.Applicability["affected"] != 2 {
		t.Errorf("status %+v", d.Totals)
	}
	r = must(t, vigil("cyberalert", "status", "--format", "csv"))
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != len(want)+1 || !strings.HasPrefix(lines[0], "alert_id,org,") {
		t.Errorf("csv:\n%s", r.stdout)
	}
	r = must(t, vigil("cyberalert", "show", a.ID))
	for _, w := range []string{"Sentinel agent RCE", "2 of " + phrase.Int(len(want)), first, "affected"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("show lacks %q:\n%s", w, r.stdout)
		}
	}
	r = must(t, vigil("cyberalert", "list", "--format", "ids"))
	if strings.TrimSpace(r.stdout) != a.ID {
		t.Errorf("list ids: %q", r.stdout)
	}
	must(t, vigil("cyberalert", "--help"))
}
