package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// assuranceVersionIsolationChecks covers a statement's submitted versions
// (issue 20), on campaignIsolationChecks' estate (run after it): they are
// read exactly as the statement is. Assured Diagnostics (ISO-AS-SUP,
// deployed by Alice's clinic) and Kingsway Imaging (ISO-BOB-SUP, deployed
// only by Bob's RJZ) each get a statement submitted, queried, amended,
// submitted again and accepted; Othersoft (Sam's) one submitted twice and
// not yet accepted. Alice aims at Kingsway's (404); Bob and Rex, whose
// trusts do not deploy Assured Diagnostics, and Sam, the representative of
// another supplier, get 404 on Alice's; Audrey (RJ1) and Nadia (the
// assessor) read it; Sam reads his own supplier's.
func assuranceVersionIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := func(tenant string) scope.Scope {
		p, err := s.Orgs.PathOf(ctx, tenant)
		must(err)
		return scope.Scope{UserID: "u-rep-" + tenant, Name: "Rep of " + tenant, Via: "test", Grants: []scope.Grant{{Role: scope.SupplierRep, Org: tenant, Path: p}}}
	}
	reps := map[string]scope.Scope{"ISO-AS-SUP": rep("SUP-ISOAS"), "ISO-BOB-SUP": rep("SUP-ISOBOB"), "OTHER-SUP": rep("SUP-OTHER")}
	// twice submits a statement, the second time amended after a query,
	// and accepts it when accept.
	twice := func(name, supplier string, accept bool) string {
		t.Helper()
		c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: name, SetID: "webcaf-caf@9.9", Deadline: "2099-01-31", Suppliers: []string{supplier}})
		must(err)
		id := c.Statements[0].ID
		r := reps[supplier]
		_, err = s.Assurance.SaveAnswer(ctx, r, id, 1, assurance.AnswerInput{Answer: assurance.Partly, Justification: name + " first"})
		must(err)
		_, err = s.Assurance.Submit(ctx, r, id, name+" officer")
		must(err)
		_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewQueried, "Why partly?")
		must(err)
		_, err = s.Assurance.SaveAnswer(ctx, r, id, 1, assurance.AnswerInput{Answer: assurance.Met, Justification: name + " amended"})
		must(err)
		_, err = s.Assurance.Submit(ctx, r, id, name+" officer")
		must(err)
		if accept {
			_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewAccepted, "")
			must(err)
			_, err = s.Assurance.Accept(ctx, sys, id)
			must(err)
		}
		return id
	}
	stAS := twice("Isolation versions AS", "ISO-AS-SUP", true)
	stBob := twice("Versions of RJZ supplier", "ISO-BOB-SUP", true)
	stSam := twice("Othersoft versions", "OTHER-SUP", false)

	api := "/api/v1/assurance/statements/"
	web := "/assurance/statements/"
	readers := statuses(audrey, 200, nadia, 200)
	return map[string]routeCheck{
		"GET /api/v1/assurance/statements/{id}/versions": {attack: probe{path: api + stBob + "/versions", status: 404},
			own: own(alice, probe{path: api + stAS + "/versions", want: []string{stAS, `"signed_role":"Isolation versions AS officer"`, `"changed":1`}},
				also(sam, probe{path: api + stSam + "/versions", want: []string{`"signed_role":"Othersoft versions officer"`}})),
			deny: 404, status: readers, seers: rj1Readers},
		"GET /api/v1/assurance/statements/{id}/versions/{n}": {attack: probe{path: api + stBob + "/versions/1", status: 404},
			own: own(alice, probe{path: api + stAS + "/versions/2", want: []string{"Isolation versions AS amended", "Isolation versions AS first", `"answer_before":"partly"`}},
				also(sam, probe{path: api + stSam + "/versions/1", want: []string{"Othersoft versions first"}})),
			deny: 404, status: readers, seers: rj1Readers},
		"GET /assurance/statements/{id}/versions/{n}": {attack: probe{path: web + stBob + "/versions/2", status: 404},
			own: own(alice, probe{path: web + stAS + "/versions/2", want: []string{"Changed since version 1", "Isolation versions AS amended"}},
				also(sam, probe{path: web + stSam + "/versions/2", want: []string{"Othersoft versions amended"}})),
			deny: 404, status: readers, seers: rj1Readers},
	}
}
