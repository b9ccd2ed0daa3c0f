package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// TestAssuranceVersionsCLI: a statement submitted, queried, amended and
// submitted again has two versions; the CLI lists them and prints the
// second with the answer that changed, as a table and as JSON; a version
// that does not exist is not found.
func TestAssuranceVersionsCLI(t *testing.T) {
	dir := t.TempDir()
	caf := filepath.Join("..", "assurance", "testdata", "webcaf-small.yaml")
	must(t, run(t, "", nil, "--data-dir", dir, "assurance", "import", caf, "--version", "0.1"))
	id := func() string {
		cfg := config.Default()
		cfg.DataDir = dir
		ctx := context.Background()
		a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		sys := scope.System("test")
		ok := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err = a.Orgs.Create(ctx, sys, org.Org{Code: "SUP-CLI", Name: "CLI supplier tenant", Type: org.Supplier})
		ok(err)
		_, err = a.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "CLI-SUP", Name: "CLI Diagnostics", TenantOrg: "SUP-CLI"})
		ok(err)
		p, err := a.Orgs.PathOf(ctx, "SUP-CLI")
		ok(err)
		rep := scope.Scope{UserID: "u-rep", Name: "Rita Rep", Via: "test", Grants: []scope.Grant{{Role: scope.SupplierRep, Org: "SUP-CLI", Path: p}}}
		c, err := a.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: "CLI versions", SetID: "webcaf-caf@0.1", Deadline: "2099-01-31", Suppliers: []string{"CLI-SUP"}})
		ok(err)
		id := c.Statements[0].ID
		st, err := a.Assurance.GetStatement(ctx, rep, id)
		ok(err)
		for _, r := range st.Answers {
			_, err = a.Assurance.SaveAnswer(ctx, rep, id, r.Seq, assurance.AnswerInput{Answer: assurance.Partly, Justification: "first answer"})
			ok(err)
		}
		_, err = a.Assurance.Submit(ctx, rep, id, "CISO")
		ok(err)
		_, err = a.Assurance.Review(ctx, sys, id, 1, assurance.ReviewQueried, "Why partly?")
		ok(err)
		_, err = a.Assurance.SaveAnswer(ctx, rep, id, 1, assurance.AnswerInput{Answer: assurance.Met, Justification: "board owns it now"})
		ok(err)
		_, err = a.Assurance.Submit(ctx, rep, id, "CEO")
		ok(err)
		return id
	}()
	r := must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "versions", id))
	for _, want := range []string{"VERSION", "Rita Rep", "CISO", "CEO", "CHANGED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("versions lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "versions", id, "--format", "json"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var v2 assurance.StatementVersion
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v2); err != nil || len(lines) != 2 || v2.Version != 2 || v2.Changed != 1 {
		t.Fatalf("versions json: %v\n%s", err, r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "version", id, "2"))
	for _, want := range []string{"version 2", "signed by Rita Rep (CEO)", "changed since version 1", "Partly met", "Met", "board owns it now", "first answer"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version 2 lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "assurance", "statement", "version", id, "1", "--format", "json"))
	var v1 assurance.StatementVersion
	if err := json.Unmarshal([]byte(r.stdout), &v1); err != nil || v1.SignedRole != "CISO" || len(v1.Answers) == 0 || v1.Answers[0].Justification != "first answer" {
		t.Fatalf("version 1 json: %v\n%s", err, r.stdout)
	}
	r = run(t, "", nil, "--data-dir", dir, "assurance", "statement", "version", id, "3")
	if r.code == 0 || !strings.Contains(r.stderr, "no version 3") {
		t.Errorf("version 3: %d %s", r.code, r.stderr)
	}
}
