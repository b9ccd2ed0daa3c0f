package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

// TestIntelExportRedactsRefs: the CLI's exports (the MISP feed and the
// blocklist) read as the operator, who is no recipient of a national
// analyst's TLP:RED indicator: nothing of it is exported (the GREEN
// relationship to it is left out by the store, redact.go; these formats
// carry no relationships anyway), until it is shared with the operator.
func TestIntelExportRedactsRefs(t *testing.T) {
	dir := t.TempDir()
	vigil := func(args ...string) result {
		return run(t, "", nil, append([]string{"--data-dir", dir, "intel"}, args...)...)
	}
	r := must(t, vigil("collection", "create", "--title", "Operator's", "--tlp-ceiling", "RED", "--format", "json"))
	var c intel.Collection
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	op := operator()
	if _, err := a.Intel.GrantCollection(ctx, op, c.ID, intel.GrantOptions{Org: "ENG", Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	path, _ := a.Orgs.PathOf(ctx, "ENG")
	nadia := scope.Scope{UserID: "u-nadia", Home: "ENG", Grants: []scope.Grant{{Role: scope.NationalAnalyst, Org: "ENG", Path: path}}}
	mk := func(domain, marking string) *stix.Object {
		o, err := stix.NewIndicator(stix.IndicatorOptions{Name: domain, Pattern: "[domain-name:value = '" + domain + "']", Created: time.Now(), Markings: []string{marking}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	red, green := mk("cli-red-secret.example", stix.TLP2Red), mk("cli-green.example", stix.TLP2Green)
	rel, err := stix.Parse([]byte(`{"type":"relationship","spec_version":"2.1","id":"relationship--7e1f0a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z",
"relationship_type":"related-to","source_ref":"` + green.ID + `","target_ref":"` + red.ID + `","object_marking_refs":["` + stix.TLP2Green + `"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Intel.ImportInto(ctx, nadia, c.ID, "national", []*stix.Object{green, red, rel}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	export := func() string {
		t.Helper()
		feed := t.TempDir()
		must(t, vigil("export", "--collection", c.ID, "--misp-feed", feed))
		out := must(t, vigil("export", "--collection", c.ID, "--blocklist", "-")).stdout
		files, _ := os.ReadDir(feed)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(feed, f.Name()))
			out += string(b)
		}
		return out
	}
	out := export()
	if !strings.Contains(out, "cli-green.example") {
		t.Fatalf("the export lacks the GREEN indicator:\n%.2000s", out)
	}
	for _, sec := range []string{red.ID, "cli-red-secret.example", rel.ID} {
		if strings.Contains(out, sec) {
			t.Errorf("the operator's export holds %s", sec)
		}
	}
	a, err = app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Intel.Share(ctx, nadia, red.ID, "user", op.UserID); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if out := export(); !strings.Contains(out, "cli-red-secret.example") {
		t.Errorf("the export lacks the RED indicator shared with the operator:\n%.2000s", out)
	}
}
