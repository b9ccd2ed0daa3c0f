package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// TestAssuranceVersionsAPI: a supplier's representative submits, is
// queried, amends and resubmits; over the API it lists two versions and
// reads the second with the changed answer and its evidence; Alice, whose
// trust deploys the supplier, reads the first once accepted (without
// evidence); Bob, whose trust does not, gets 404, as for the statement.
func TestAssuranceVersionsAPI(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Orgs.Create(ctx, sys, org.Org{Code: "SUP-VER", Name: "Versioned (supplier tenant)", Type: org.Supplier})
	must(err)
	_, err = s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "VER-SUP", Name: "Versioned Diagnostics", TenantOrg: "SUP-VER"})
	must(err)
	_, err = s.Supply.PutProduct(ctx, sys, supply.Product{ID: "VER-APP", SupplierID: "VER-SUP", Name: "Versioned app", Kind: supply.SaaS})
	must(err)
	_, err = s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RJ1", ProductID: "VER-APP", Service: "diagnostics", Criticality: supply.High})
	must(err)
	set, err := assurance.Parse("iso-caf-v9.9.yaml", []byte(isoCAF), assurance.ParseOptions{})
	must(err)
	_, err = s.Assurance.Import(ctx, sys, set)
	must(err)
	_, err = s.Auth.AddUser(ctx, sys, auth.NewUser{Email: "vera@versioned.test", Name: "Vera", Org: "SUP-VER", Role: scope.SupplierRep, Password: "correct horse battery"})
	must(err)
	_, vera, err := s.Auth.CreateToken(ctx, sys, "vera@versioned.test", "ci", 0)
	must(err)
	p, err := s.Orgs.PathOf(ctx, "SUP-VER")
	must(err)
	rep := scope.Scope{UserID: "u-vera", Name: "Vera", Via: "test", Grants: []scope.Grant{{Role: scope.SupplierRep, Org: "SUP-VER", Path: p}}}
	c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: "Versions over the API", SetID: set.ID, Deadline: "2099-01-31", Suppliers: []string{"VER-SUP"}})
	must(err)
	id := c.Statements[0].ID
	_, err = s.Assurance.SaveAnswer(ctx, rep, id, 1, assurance.AnswerInput{Answer: assurance.Partly, Justification: "Board minutes pending"})
	must(err)
	_, err = s.Assurance.AddEvidenceLink(ctx, rep, id, 1, "Minutes", "https://versioned.example/minutes")
	must(err)
	_, err = s.Assurance.Submit(ctx, rep, id, "CISO")
	must(err)
	_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewQueried, "When?")
	must(err)
	_, err = s.Assurance.SaveAnswer(ctx, rep, id, 1, assurance.AnswerInput{Answer: assurance.Met, Justification: "Board minutes of 1 December"})
	must(err)
	_, err = s.Assurance.Submit(ctx, rep, id, "CISO")
	must(err)

	base := s.url("/api/v1/assurance/statements/" + id + "/versions")
	res, body := get(t, http.DefaultClient, base, vera)
	var l struct{ Items []assurance.StatementVersion }
	if err := json.Unmarshal([]byte(body), &l); res.StatusCode != 200 || err != nil || len(l.Items) != 2 || l.Items[1].Changed != 1 || l.Items[0].SignedName != "Vera" {
		t.Fatalf("list = %d %v\n%s", res.StatusCode, err, body)
	}
	res, body = get(t, http.DefaultClient, base+"/2", vera)
	var v assurance.StatementVersion
	if err := json.Unmarshal([]byte(body), &v); res.StatusCode != 200 || err != nil || len(v.Changes) != 1 || v.Changes[0].AnswerBefore != assurance.Partly ||
		v.Changes[0].JustificationAfter != "Board minutes of 1 December" || len(v.Answers) != 1 || len(v.Answers[0].Evidence) != 1 {
		t.Fatalf("version 2 = %d %v\n%s", res.StatusCode, err, body)
	}
	for _, c := range []struct {
		path, who string
		status    int
	}{{base + "/3", vera, 404}, {base + "/x", vera, 400}, {base, f.aliceTok, 404}, {base + "/1", f.bobTok, 404}} {
		if res, body := get(t, http.DefaultClient, c.path, c.who); res.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d: %.300s", c.path, res.StatusCode, c.status, body)
		}
	}
	_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewAccepted, "")
	must(err)
	_, err = s.Assurance.Accept(ctx, sys, id)
	must(err)
	res, body = get(t, http.DefaultClient, base+"/1", f.aliceTok)
	if res.StatusCode != 200 || !strings.Contains(body, "Board minutes pending") || strings.Contains(body, "versioned.example") {
		t.Errorf("Alice's version 1 = %d\n%s", res.StatusCode, body)
	}
	if res, _ := get(t, http.DefaultClient, base+"/1", f.bobTok); res.StatusCode != 404 {
		t.Errorf("Bob's version 1 = %d", res.StatusCode)
	}
}
