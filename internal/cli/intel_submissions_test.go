package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestIntelSubmissionsCLI: a trust's two submissions to a moderated
// collection are listed by `vigil intel pending`; one is approved, the
// other rejected with a reason (required), each once.
func TestIntelSubmissionsCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	sys := scope.System("test")
	for _, o := range []org.Org{{Code: "Y56", Name: "London", Type: org.Region}, {Code: "QKK", Name: "SEL ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's", Type: org.Trust, Parent: "QKK"}} {
		if _, err := a.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	c, err := a.Intel.CreateCollection(ctx, sys, intel.CollectionOptions{Title: "Submitted by trusts", Moderated: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Intel.GrantCollection(ctx, sys, c.ID, intel.GrantOptions{Org: "Y56", Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	path, _ := a.Orgs.PathOf(ctx, "RJ1")
	alice := scope.Scope{UserID: "u-alice", Home: "RJ1", Grants: []scope.Grant{{Role: scope.OrgAnalyst, Org: "RJ1", Path: path}}}
	var objs []*stix.Object
	for _, d := range []string{"approve-me.example", "reject-me.example"} {
		o, err := stix.NewIndicator(stix.IndicatorOptions{Name: d, Pattern: "[domain-name:value = '" + d + "']", Created: time.Now(), Markings: []string{stix.TLP2Green}})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if rep, err := a.Intel.ImportInto(ctx, alice, c.ID, "taxii:x", objs); err != nil || rep.Pending != 2 {
		t.Fatalf("submissions: %+v %v", rep, err)
	}
	a.Close()
	vigil := func(args ...string) result {
		return run(t, "", nil, append([]string{"--data-dir", dir, "intel"}, args...)...)
	}
	r := must(t, vigil("pending", "--format", "json"))
	var xs []intel.Submission
	if err := json.Unmarshal([]byte(r.stdout), &xs); err != nil || len(xs) != 2 || !xs[0].CanDecide {
		t.Fatalf("pending: %v %s", err, r.stdout)
	}
	ids := map[string]string{}
	for _, x := range xs {
		ids[x.Name] = x.ID
	}
	if r := must(t, vigil("pending")); !strings.Contains(r.stdout, "approve-me.example") || !strings.Contains(r.stdout, "RJ1") {
		t.Errorf("pending table: %s", r.stdout)
	}
	if r := must(t, vigil("approve", ids["approve-me.example"])); !strings.Contains(r.stdout, "approved "+ids["approve-me.example"]) {
		t.Errorf("approve: %s", r.stdout)
	}
	if r := vigil("approve", ids["approve-me.example"]); r.code != 1 || !strings.Contains(r.stderr, "approved already") {
		t.Errorf("approved twice: exit %d %s", r.code, r.stderr)
	}
	if r := vigil("reject", ids["reject-me.example"]); r.code != 2 || !strings.Contains(r.stderr, "--reason") {
		t.Errorf("reject without a reason: exit %d %s", r.code, r.stderr)
	}
	must(t, vigil("reject", ids["reject-me.example"], "--reason", "benign CDN"))
	if r := must(t, vigil("pending", "--state", "rejected", "--format", "json")); !strings.Contains(r.stdout, `"reason":"benign CDN"`) {
		t.Errorf("rejected: %s", r.stdout)
	}
	if r := must(t, vigil("pending")); strings.Contains(r.stdout, ".example") {
		t.Errorf("still pending: %s", r.stdout)
	}
	if r := vigil("approve", "no-such-submission"); r.code != 1 || !strings.Contains(r.stderr, "submission not found") {
		t.Errorf("unknown submission: exit %d %s", r.code, r.stderr)
	}
}
