package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// campaignIsolationChecks covers campaigns, statements, evidence and
// review (issue 20). The estate adds two suppliers with tenants:
// Isolation Assured Diagnostics, deployed by Alice's clinic RJ1CH, and
// Kingsway Imaging, deployed only by Bob's RJZ; Othersoft is Sam's and
// deployed by Rex's RA7. Nadia's national campaigns (on assuranceIsolation
// Checks' one-outcome set) hold statements at each stage:
//
//	accepted  Assured Diagnostics (Alice and Audrey see it), Othersoft (Rex sees it),
//	          Kingsway in a campaign named after RJZ (Bob's: Alice must not see it)
//	draft     Othersoft, for Sam's answers, evidence and comments; another answered, for submitting
//	submitted Othersoft ×4, for Nadia's reviews and acceptances (API and web)
//
// Assessors (Supply over the campaign's owner, here the national root)
// are Nadia only: Rex's Supply reaches his region, not national
// campaigns, though he may start his own.
func campaignIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []org.Org{{Code: "SUP-ISOAS", Name: "Assured Diagnostics (supplier tenant)", Type: org.Supplier},
		{Code: "SUP-ISOBOB", Name: "Kingsway Imaging (supplier tenant)", Type: org.Supplier}} {
		_, err := s.Orgs.Create(ctx, sys, o)
		must(err)
	}
	for _, x := range []struct {
		sup     supply.Supplier
		product string
		org     string
	}{
		{supply.Supplier{ID: "ISO-AS-SUP", Name: "Isolation Assured Diagnostics", TenantOrg: "SUP-ISOAS"}, "ISO-AS-APP", "RJ1CH"},
		{supply.Supplier{ID: "ISO-BOB-SUP", Name: "Kingsway Imaging Ltd", TenantOrg: "SUP-ISOBOB"}, "ISO-BOB-APP", "RJZ"},
	} {
		_, err := s.Supply.PutSupplier(ctx, sys, x.sup)
		must(err)
		_, err = s.Supply.PutProduct(ctx, sys, supply.Product{ID: x.product, SupplierID: x.sup.ID, Name: x.sup.Name + " app", Kind: supply.SaaS})
		must(err)
		_, err = s.Supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: x.org, ProductID: x.product, Service: "diagnostics", Criticality: supply.High})
		must(err)
	}
	rep := func(tenant string) scope.Scope {
		p, err := s.Orgs.PathOf(ctx, tenant)
		must(err)
		return scope.Scope{UserID: "u-rep-" + tenant, Name: "Rep of " + tenant, Via: "test", Grants: []scope.Grant{{Role: scope.SupplierRep, Org: tenant, Path: p}}}
	}
	reps := map[string]scope.Scope{"ISO-AS-SUP": rep("SUP-ISOAS"), "ISO-BOB-SUP": rep("SUP-ISOBOB"), "OTHER-SUP": rep("SUP-OTHER")}
	const set = "webcaf-caf@9.9"
	// statement starts a campaign for one supplier and takes its statement
	// to stage: draft, answered, submitted, reviewed (answer accepted) or
	// accepted.
	statement := func(name, supplier, stage, justification string) string {
		t.Helper()
		c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: name, SetID: set, Deadline: "2099-01-31", Suppliers: []string{supplier}})
		must(err)
		id := c.Statements[0].ID
		if stage == "draft" {
			return id
		}
		r := reps[supplier]
		_, err = s.Assurance.SaveAnswer(ctx, r, id, 1, assurance.AnswerInput{Answer: assurance.Met, Justification: justification})
		must(err)
		if stage == "answered" {
			return id
		}
		_, err = s.Assurance.Submit(ctx, r, id, "CISO")
		must(err)
		if stage == "submitted" {
			return id
		}
		_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewAccepted, "")
		must(err)
		if stage == "reviewed" {
			return id
		}
		_, err = s.Assurance.Accept(ctx, sys, id)
		must(err)
		return id
	}
	stAS := statement("Isolation assurance campaign", "ISO-AS-SUP", "accepted", "Assured board minutes")
	campaign := mustStatement(t, s, sys, stAS).CampaignID
	stOther := statement("Isolation Othersoft review", "OTHER-SUP", "accepted", "Othersoft accepted answer")
	stBob := statement("Assurance of RJZ imaging", "ISO-BOB-SUP", "accepted", "Kingsway answer for RJZ")
	stDraft := statement("Isolation drafts", "OTHER-SUP", "draft", "")
	stAnswered := statement("Isolation answered", "OTHER-SUP", "answered", "Othersoft ready to submit")
	stWebAnswered := statement("Isolation web answered", "OTHER-SUP", "answered", "Othersoft ready for the web")
	stSubmitted := statement("Isolation submitted", "OTHER-SUP", "submitted", "Othersoft submitted")
	stWebSubmitted := statement("Isolation web submitted", "OTHER-SUP", "submitted", "Othersoft web submitted")
	stReviewed := statement("Isolation reviewed", "OTHER-SUP", "reviewed", "Othersoft reviewed")
	stWebReviewed := statement("Isolation web reviewed", "OTHER-SUP", "reviewed", "Othersoft web reviewed")
	samEv, err := s.Assurance.AddEvidenceFile(ctx, reps["OTHER-SUP"], stDraft, 1, "othersoft-policy.txt", []byte("Othersoft security policy text"))
	must(err)
	// Bob's side: evidence on Kingsway's statement, added before it was
	// accepted, is reached through a second statement in draft.
	stBobDraft := statement("RJZ imaging drafts", "ISO-BOB-SUP", "draft", "")
	bobEv, err := s.Assurance.AddEvidenceFile(ctx, reps["ISO-BOB-SUP"], stBobDraft, 1, "kingsway.txt", []byte("Kingsway evidence for RJZ"))
	must(err)

	st := "/api/v1/assurance/statements/"
	web := "/assurance/statements/"
	supplierOnly := statuses(nadia, 403) // the assessor may see but not answer
	assessorOnly := statuses(sam, 403)   // the supplier may see but not review
	checks := upkeepIsolationChecks(t, s, mustStatement(t, s, sys, stBob).CampaignID, stDraft, stBobDraft)
	for k, c := range map[string]routeCheck{
		"GET /api/v1/assurance/campaigns": {attack: probe{},
			own: own(nadia, probe{want: []string{"Isolation assurance campaign"}}), deny: 200},
		"POST /api/v1/assurance/campaigns": {attack: probe{body: `{"name":"x","set_id":"` + set + `","deadline":"2099-01-01","suppliers":["ISO-BOB-SUP"],"owner_org":"RJZ"}`, status: 403},
			own:  own(nadia, probe{body: `{"name":"Isolation API campaign","set_id":"` + set + `","deadline":"2099-01-01","suppliers":["ISO-AS-SUP"]}`, status: 201, want: []string{`"suppliers":1`}}),
			deny: 403, status: statuses(rex, 201), seers: []string{rex}},
		"GET /api/v1/assurance/campaigns/{id}": {attack: probe{path: "/api/v1/assurance/campaigns/" + mustStatement(t, s, sys, stBob).CampaignID, status: 404},
			own: own(nadia, probe{path: "/api/v1/assurance/campaigns/" + campaign, want: []string{"Isolation assurance campaign", stAS}}), deny: 404},
		"GET /api/v1/assurance/statements": {attack: probe{path: "/api/v1/assurance/statements?supplier=ISO-BOB-SUP"},
			own:  own(alice, probe{want: []string{stAS}}, also(sam, probe{want: []string{stDraft, stOther}}), also(rex, probe{want: []string{stOther}})),
			deny: 200, seers: []string{audrey, nadia}},
		"GET /api/v1/assurance/statements/{id}": {attack: probe{path: st + stBob, status: 404},
			own:  own(alice, probe{path: st + stAS, want: []string{"Assured board minutes"}}, also(rex, probe{path: st + stOther, want: []string{"Othersoft accepted answer"}}), also(sam, probe{path: st + stDraft, want: []string{"othersoft-policy.txt"}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: []string{audrey, nadia}},
		"GET /api/v1/assurance/statements/{id}/score": {attack: probe{path: st + stBob + "/score", status: 404},
			own:  own(alice, probe{path: st + stAS + "/score", want: []string{`"points":2`, "Isolation board direction"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: []string{audrey, nadia}},
		"PUT /api/v1/assurance/statements/{id}/answers/{seq}": {attack: probe{path: st + stBobDraft + "/answers/1", body: `{"answer":"met","justification":"x"}`, status: 404},
			own:  own(sam, probe{path: st + stDraft + "/answers/1", body: `{"answer":"partly","justification":"Othersoft API answer"}`, want: []string{"Othersoft API answer"}}),
			deny: 404, status: supplierOnly},
		"POST /api/v1/assurance/statements/{id}/answers/{seq}/evidence": {attack: probe{path: st + stBobDraft + "/answers/1/evidence", body: `{"url":"https://example.com/x"}`, status: 404},
			own:  own(sam, probe{path: st + stDraft + "/answers/1/evidence", body: `{"name":"Othersoft trust centre","url":"https://trust.othersoft.example/"}`, status: 201, want: []string{"trust.othersoft.example"}}),
			deny: 404, status: supplierOnly},
		"POST /api/v1/assurance/statements/{id}/answers/{seq}/comments": {attack: probe{path: st + stBobDraft + "/answers/1/comments", body: `{"body":"x"}`, status: 404},
			own:  own(sam, probe{path: st + stDraft + "/answers/1/comments", body: `{"body":"Othersoft API comment"}`, status: 201, want: []string{"Othersoft API comment"}}),
			deny: 404, status: statuses(nadia, 201), seers: []string{nadia}},
		"POST /api/v1/assurance/statements/{id}/answers/{seq}/review": {attack: probe{path: st + stBob + "/answers/1/review", body: `{"decision":"accepted"}`, status: 404},
			own:  own(nadia, probe{path: st + stSubmitted + "/answers/1/review", body: `{"decision":"accepted"}`, want: []string{`"review":"accepted"`}}),
			deny: 404, status: assessorOnly},
		"POST /api/v1/assurance/statements/{id}/submit": {attack: probe{path: st + stBobDraft + "/submit", body: `{"role":"x"}`, status: 404},
			own:  own(sam, probe{path: st + stAnswered + "/submit", body: `{"role":"Othersoft CISO"}`, want: []string{`"status":"submitted"`, "Othersoft CISO"}}),
			deny: 404, status: supplierOnly},
		"POST /api/v1/assurance/statements/{id}/accept": {attack: probe{path: st + stBobDraft + "/accept", status: 404},
			own:  own(nadia, probe{path: st + stReviewed + "/accept", want: []string{`"status":"accepted"`}}),
			deny: 404, status: assessorOnly},
		"GET /api/v1/assurance/evidence/{id}": {attack: probe{path: "/api/v1/assurance/evidence/" + bobEv.ID, status: 404},
			own:  own(sam, probe{path: "/api/v1/assurance/evidence/" + samEv.ID, want: []string{"Othersoft security policy text"}}),
			deny: 404, status: statuses(nadia, 200), seers: []string{nadia}},

		"GET /assurance/campaigns": {attack: probe{},
			own: own(nadia, probe{want: []string{"Isolation assurance campaign"}}), deny: 200},
		"POST /assurance/campaigns": {attack: probe{body: "name=x&set_id=" + set + "&deadline=2099-01-01&suppliers=ISO-BOB-SUP", status: 403},
			own:  own(nadia, probe{body: "name=Isolation+web+campaign&set_id=" + set + "&deadline=2099-01-01&suppliers=ISO-AS-SUP", status: 303}),
			deny: 403, status: statuses(rex, 303)},
		"GET /assurance/campaigns/{id}": {attack: probe{path: "/assurance/campaigns/" + mustStatement(t, s, sys, stBob).CampaignID, status: 404},
			own: own(nadia, probe{path: "/assurance/campaigns/" + campaign, want: []string{"Isolation assurance campaign", "Isolation Assured Diagnostics"}}), deny: 404},
		"GET /assurance/statements": {attack: probe{},
			own:  own(alice, probe{want: []string{stAS}}, also(sam, probe{want: []string{stDraft}}), also(rex, probe{want: []string{stOther}})),
			deny: 200, seers: []string{audrey, nadia}},
		"GET /assurance/statements/{id}": {attack: probe{path: web + stBob, status: 404},
			own:  own(alice, probe{path: web + stAS, want: []string{"Assured board minutes", "2 of 2 points"}}, also(sam, probe{path: web + stDraft, want: []string{"othersoft-policy.txt", `id="answer-1"`}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: []string{audrey, nadia}},
		"POST /assurance/statements/{id}/answers/{seq}": {attack: probe{path: web + stBobDraft + "/answers/1", body: "answer=met&justification=x", status: 404},
			own:  own(sam, probe{path: web + stDraft + "/answers/1", body: "answer=met&justification=Othersoft+web+answer", status: 303}),
			deny: 404, status: supplierOnly},
		"POST /assurance/statements/{id}/answers/{seq}/review": {attack: probe{path: web + stBob + "/answers/1/review", body: "decision=accepted", status: 404},
			own:  own(nadia, probe{path: web + stWebSubmitted + "/answers/1/review", body: "decision=accepted", status: 303}),
			deny: 404, status: assessorOnly},
		"POST /assurance/statements/{id}/answers/{seq}/comments": {attack: probe{path: web + stBobDraft + "/answers/1/comments", body: "body=x", status: 404},
			own:  own(sam, probe{path: web + stDraft + "/answers/1/comments", body: "body=Othersoft+web+comment", status: 303}),
			deny: 404, status: statuses(nadia, 303)},
		"POST /assurance/statements/{id}/submit": {attack: probe{path: web + stBobDraft + "/submit", body: "role=x", status: 404},
			own:  own(sam, probe{path: web + stWebAnswered + "/submit", body: "role=CISO", status: 303}),
			deny: 404, status: supplierOnly},
		"POST /assurance/statements/{id}/accept": {attack: probe{path: web + stBobDraft + "/accept", status: 404},
			own:  own(nadia, probe{path: web + stWebReviewed + "/accept", status: 303}),
			deny: 404, status: assessorOnly},
	} {
		checks[k] = c
	}
	return checks
}

func mustStatement(t *testing.T, s *Server, sc scope.Scope, id string) assurance.Statement {
	t.Helper()
	st, err := s.Assurance.GetStatement(context.Background(), sc, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
