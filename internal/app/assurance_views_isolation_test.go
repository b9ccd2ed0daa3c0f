package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// assuranceViewIsolationChecks covers the methodology, profile
// comparison, disputes, sharing levels and the supply-chain views (issue
// 20), on campaignIsolationChecks' estate (run after it): Isolation
// Assured Diagnostics (ISO-AS-SUP) is deployed by Alice's clinic, Kingsway
// Imaging (ISO-BOB-SUP) only by Bob's RJZ, Othersoft (Sam's) by Rex's RA7.
// Here Assured Diagnostics gets a second accepted statement answered
// "partly", so Alice's heat map, gaps, comparison and prioritisation have
// something of hers to show; Kingsway's representative disputes its
// statement (the attack target); Sam disputes several Othersoft
// statements, some left open for the thread and answer routes.
func assuranceViewIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
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
	accepted := func(name, supplier string, answer assurance.Answer) string {
		t.Helper()
		c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: name, SetID: "webcaf-caf@9.9", Deadline: "2099-01-31", Suppliers: []string{supplier}})
		must(err)
		id := c.Statements[0].ID
		_, err = s.Assurance.SaveAnswer(ctx, reps[supplier], id, 1, assurance.AnswerInput{Answer: answer, Justification: name + " answer"})
		must(err)
		_, err = s.Assurance.Submit(ctx, reps[supplier], id, "CISO")
		must(err)
		_, err = s.Assurance.Review(ctx, sys, id, 1, assurance.ReviewAccepted, "")
		must(err)
		_, err = s.Assurance.Accept(ctx, sys, id)
		must(err)
		return id
	}
	dispute := func(supplier, statement string, seq int, reason string) string {
		t.Helper()
		d, err := s.Assurance.RaiseDispute(ctx, reps[supplier], statement, assurance.NewDispute{Seq: seq, Reason: reason})
		must(err)
		return d.ID
	}
	stAS := accepted("Isolation partial assurance", "ISO-AS-SUP", assurance.Partly)
	stBob := accepted("Assurance of RJZ disputes", "ISO-BOB-SUP", assurance.Met)
	dBob := dispute("ISO-BOB-SUP", stBob, 0, "Kingsway disputes for RJZ")
	stSam := accepted("Othersoft disputes", "OTHER-SUP", assurance.Met)
	dSam := dispute("OTHER-SUP", stSam, 0, "Othersoft isolation dispute")
	dSamAPI := dispute("OTHER-SUP", stSam, 1, "Othersoft dispute for the API answer")
	dSamWeb := dispute("OTHER-SUP", accepted("Othersoft web disputes", "OTHER-SUP", assurance.Met), 0, "Othersoft dispute for the web answer")
	stRaiseAPI := accepted("Othersoft API raise", "OTHER-SUP", assurance.Met)
	stRaiseWeb := accepted("Othersoft web raise", "OTHER-SUP", assurance.Met)

	st := "/api/v1/assurance/statements/"
	dp := "/api/v1/assurance/disputes/"
	readers := statuses(audrey, 200, nadia, 200)
	return map[string]routeCheck{
		"GET /api/v1/assurance/methodology": {attack: probe{},
			own: own(alice, probe{want: []string{`"weight_example":3`, `"changes"`}}), deny: 200, seers: everyone},
		"GET /api/v1/assurance/statements/{id}/compare": {attack: probe{path: st + stBob + "/compare", status: 404},
			own:  own(alice, probe{path: st + stAS + "/compare", want: []string{`"profile":"baseline"`, `"short":1`, stAS}}),
			deny: 404, status: readers, seers: rj1Readers},
		"GET /api/v1/assurance/disputes": {attack: probe{},
			own: own(sam, probe{want: []string{"Othersoft isolation dispute"}}), deny: 200, seers: []string{nadia}},
		"POST /api/v1/assurance/statements/{id}/disputes": {attack: probe{path: st + stBob + "/disputes", body: `{"reason":"x"}`, status: 404},
			own:  own(sam, probe{path: st + stRaiseAPI + "/disputes", body: `{"seq":1,"reason":"Othersoft API raise"}`, status: 201, want: []string{`"status":"open"`}}),
			deny: 404, status: statuses(nadia, 403, rex, 403)},
		"GET /api/v1/assurance/disputes/{id}": {attack: probe{path: dp + dBob, status: 404},
			own: own(sam, probe{path: dp + dSam, want: []string{"Othersoft isolation dispute"}}), deny: 404, status: statuses(nadia, 200), seers: []string{nadia}},
		"POST /api/v1/assurance/disputes/{id}/comments": {attack: probe{path: dp + dBob + "/comments", body: `{"body":"x"}`, status: 404},
			own:  own(sam, probe{path: dp + dSam + "/comments", body: `{"body":"Othersoft API thread"}`, status: 201, want: []string{"Othersoft API thread"}}),
			deny: 404, status: statuses(nadia, 201), seers: []string{nadia}},
		"POST /api/v1/assurance/disputes/{id}/answer": {attack: probe{path: dp + dBob + "/answer", body: `{"decision":"uphold","note":"x"}`, status: 404},
			own:  own(nadia, probe{path: dp + dSamAPI + "/answer", body: `{"decision":"uphold","note":"Isolation API upheld"}`, want: []string{`"status":"upheld"`}}),
			deny: 404, status: statuses(sam, 403)},
		"GET /api/v1/supply/suppliers/{id}/sharing": {attack: probe{path: "/api/v1/supply/suppliers/ISO-BOB-SUP/sharing"},
			own:  own(alice, probe{path: "/api/v1/supply/suppliers/ISO-AS-SUP/sharing", want: []string{`"supplier_id":"ISO-AS-SUP"`, `"level":"deployers"`}}, also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/sharing", want: []string{`"level"`}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"PUT /api/v1/supply/suppliers/{id}/sharing": {attack: probe{path: "/api/v1/supply/suppliers/ISO-BOB-SUP/sharing", body: `{"level":"national"}`, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/sharing", body: `{"level":"deployers","subsidiaries":true}`, want: []string{`"subsidiaries":true`}}),
			deny: 403},
		"GET /api/v1/assurance/heatmap": {attack: probe{},
			own: own(alice, probe{want: []string{stAS, "Isolation partial assurance"}}), deny: 200, seers: rj1Readers},
		"GET /api/v1/assurance/gaps": {attack: probe{path: "/api/v1/assurance/gaps?requirement=A1.a"},
			own:  own(alice, probe{path: "/api/v1/assurance/gaps?requirement=A1.a", want: []string{`"state":"partly"`, stAS}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/assurance/priorities": {attack: probe{path: "/api/v1/assurance/priorities?supplier=ISO-BOB-SUP"},
			own:  own(alice, probe{path: "/api/v1/assurance/priorities?supplier=ISO-AS-SUP", want: []string{`"assurance_percent":50`, stAS}}),
			deny: 200, status: statuses(sam, 404), seers: rj1Readers},

		"GET /assurance/methodology": {attack: probe{},
			own: own(alice, probe{want: []string{"Change log", "method-cases"}}), deny: 200, seers: everyone},
		"GET /assurance/heatmap": {attack: probe{},
			own: own(alice, probe{want: []string{stAS, "Isolation Assured Diagnostics"}}), deny: 200, seers: rj1Readers},
		"GET /assurance/gaps": {attack: probe{path: "/assurance/gaps?requirement=A1.a"},
			own:  own(alice, probe{path: "/assurance/gaps?requirement=A1.a", want: []string{"/assurance/statements/" + stAS}}),
			deny: 200, seers: rj1Readers},
		"GET /assurance/priorities": {attack: probe{},
			own: own(alice, probe{want: []string{"/assurance/statements/" + stAS}}), deny: 200, seers: rj1Readers},
		"GET /assurance/statements/{id}/compare": {attack: probe{path: "/assurance/statements/" + stBob + "/compare", status: 404},
			own:  own(alice, probe{path: "/assurance/statements/" + stAS + "/compare", want: []string{`id="compare-profile">baseline`, stAS}}),
			deny: 404, status: readers, seers: rj1Readers},
		"POST /assurance/statements/{id}/disputes": {attack: probe{path: "/assurance/statements/" + stBob + "/disputes", body: "reason=x", status: 404},
			own:  own(sam, probe{path: "/assurance/statements/" + stRaiseWeb + "/disputes", body: "seq=0&reason=Othersoft+web+raise", status: 303}),
			deny: 404, status: statuses(nadia, 403, rex, 403)},
		"POST /assurance/disputes/{id}/comments": {attack: probe{path: "/assurance/disputes/" + dBob + "/comments", body: "body=x", status: 404},
			own:  own(sam, probe{path: "/assurance/disputes/" + dSam + "/comments", body: "body=Othersoft+web+thread", status: 303}),
			deny: 404, status: statuses(nadia, 303)},
		"POST /assurance/disputes/{id}/answer": {attack: probe{path: "/assurance/disputes/" + dBob + "/answer", body: "decision=uphold&note=x", status: 404},
			own:  own(nadia, probe{path: "/assurance/disputes/" + dSamWeb + "/answer", body: "decision=uphold&note=Isolation+web+upheld", status: 303}),
			deny: 404, status: statuses(sam, 403)},
		"POST /suppliers/s/{id}/sharing": {attack: probe{path: "/suppliers/s/ISO-BOB-SUP/sharing", body: "level=national", status: 403},
			own:  own(sam, probe{path: "/suppliers/s/OTHER-SUP/sharing", body: "level=deployers&subsidiaries=1", status: 303}),
			deny: 403, status: statuses(sam, 303)},
	}
}
