package cli

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// On the demo estate, a national incident from the demo pathology
// supplier has exactly the organisations `vigil supply impact` gives, with
// the same impact classes; a register change is followed by refresh (a new
// organisation gets a child, one no longer affected is marked and kept);
// organisations acknowledge and the national view counts them.
func TestIncidentsOnDemoEstate(t *testing.T) {
	dir := t.TempDir()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	must(t, vigil("demo"))
	r := must(t, vigil("supply", "impact", "--supplier", "DEMO-PATH", "--format", "json"))
	var impact supply.ImpactResult
	if err := json.Unmarshal([]byte(r.stdout), &impact); err != nil {
		t.Fatalf("impact json: %v", err)
	}
	want := map[string]string{}
	for _, a := range impact.Affected {
		want[a.ODS] = string(a.Impact)
	}
	if len(want) < 5 {
		t.Fatalf("demo impact has only %d organisations", len(want))
	}
	r = must(t, vigil("incidents", "open", "--supplier", "DEMO-PATH", "--title", "Pathology supplier ransomware", "--severity", "critical", "--format", "json"))
	var inc cases.Incident
	if err := json.Unmarshal([]byte(r.stdout), &inc); err != nil || inc.ID == "" {
		t.Fatalf("open json: %v\n%s", err, r.stdout)
	}
	got := map[string]string{}
	child := map[string]string{}
	for _, c := range inc.Children {
		got[c.Org] = c.Impact
		child[c.Org] = c.CaseID
		if !strings.HasPrefix(c.CaseID, "CS-") {
			t.Errorf("child %s has case %q", c.Org, c.CaseID)
		}
	}
	if !equalMaps(got, want) {
		t.Fatalf("children %v\nwant (supply impact) %v", got, want)
	}
	// A child case explains itself.
	r = must(t, vigil("cases", "get", child["RJ1"], "--format", "json"))
	var c cases.Case
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	if c.ParentID != inc.ID || c.Org != "RJ1" || c.Fields["impact_class"] != want["RJ1"] || !strings.Contains(c.Description, "Demo Pathology Partnership LLP") ||
		!strings.Contains(c.Fields["dependency_paths"].(string), "→") || len(c.Clocks) != 3 {
		t.Errorf("RJ1's child case: %+v", c)
	}
	// The register changes: RJ1 no longer uses the LIMS, Leeds (RR8) starts to.
	func() {
		cfg := config.Default()
		cfg.DataDir = dir
		a, err := app.Open(context.Background(), cfg, nil, app.MigrateAuto)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		sys := scope.System("test")
		deps, err := a.Supply.ListDeployments(context.Background(), sys, supply.DeploymentFilter{OrgODS: "RJ1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			if d.ProductID == "DEMO-LIMS" {
				if err := a.Supply.DeleteDeployment(context.Background(), sys, "RJ1", d.ProductID, d.Service); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := a.Supply.PutDeployment(context.Background(), sys, supply.Deployment{OrgODS: "RR8", ProductID: "DEMO-LIMS", Service: "pathology", Criticality: supply.Critical}); err != nil {
			t.Fatal(err)
		}
	}()
	r = must(t, vigil("incidents", "refresh", inc.ID, "--format", "json"))
	var ref cases.Incident
	if err := json.Unmarshal([]byte(r.stdout), &ref); err != nil || ref.Refresh == nil {
		t.Fatalf("refresh: %v\n%s", err, r.stdout)
	}
	if strings.Join(ref.Refresh.Added, ",") != "RR8" || strings.Join(ref.Refresh.Dropped, ",") != "RJ1" {
		t.Errorf("refresh added %v, dropped %v; want RR8 and RJ1", ref.Refresh.Added, ref.Refresh.Dropped)
	}
	for _, x := range ref.Children {
		if x.Org == "RJ1" && (x.InScope || x.CaseID != child["RJ1"]) {
			t.Errorf("RJ1 after refresh: %+v (marked, same case)", x)
		}
	}
	if len(ref.Children) != len(inc.Children)+1 || ref.Progress.NoLongerAffected != 1 {
		t.Errorf("after refresh %d children, %d no longer affected", len(ref.Children), ref.Progress.NoLongerAffected)
	}
	// Two organisations acknowledge.
	must(t, vigil("incidents", "ack", child["RJZ"], "--status", "services-down"))
	r = must(t, vigil("incidents", "ack", child["DM0007"], "--status", "fallback-in-use", "--note", "paper requests", "--format", "json"))
	if !strings.Contains(r.stdout, `"status":"fallback-in-use"`) {
		t.Errorf("ack json: %s", r.stdout)
	}
	r = vigil("incidents", "ack", child["RJZ"], "--status", "fine")
	if r.code != 1 || !strings.Contains(r.stderr, "status") {
		t.Errorf("bad status: %d %s", r.code, r.stderr)
	}
	r = must(t, vigil("incidents", "show", inc.ID))
	for _, w := range []string{"2 of " + itoa(len(want)), "Not answered (" + itoa(len(want)-2) + ")", "QKK", "Y56", "no longer affected"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("show lacks %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(strings.SplitN(r.stdout, "Not answered", 2)[1], "RJZ ") {
		t.Errorf("RJZ answered but is listed as not:\n%s", r.stdout)
	}
	r = vigil("incidents", "open", "--supplier", "NO-SUCH-SUPPLIER", "--title", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "supplier") {
		t.Errorf("unknown supplier: %d %s", r.code, r.stderr)
	}
	r = vigil("incidents", "open", "--supplier", "DEMO-PATH", "--product", "DEMO-ACME-GP", "--title", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "product") {
		t.Errorf("another supplier's product: %d %s", r.code, r.stderr)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	ks := make([]string, 0, len(a))
	for k := range a {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
