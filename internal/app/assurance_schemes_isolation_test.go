package app

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// schemesIsolationChecks covers the health-scheme evidence routes (issue
// 20). Bob's side: RJZ's DCB0160 record for ISO-LIMS (a deployment of
// Bob's trust), due for review within the expiring list's period, so any
// answer to Alice naming RJZ is a leak. Alice's trust RJ1 has its own
// (ISO-RJ1-CASE); Sam records his own supplier's evidence (OTHER-SUP,
// OTHER-APP) as its representative; supply-chain managers (Rex, Nadia)
// record any supplier's; a trust records only its own DCB0160.
func schemesIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
	for _, d := range []assurance.DCB0160{
		{OrgODS: "RJZ", ProductID: "ISO-LIMS", ClinicalSafety: assurance.ClinicalSafety{SafetyCaseReport: "BOB-CASE", HazardLog: "BOB-HL", CSOName: "Bob's CSO", Issued: day(-200), ReviewDue: day(10)}},
		{OrgODS: "RJ1", ProductID: "ISO-LIMS", ClinicalSafety: assurance.ClinicalSafety{SafetyCaseReport: "ISO-RJ1-CASE", HazardLog: "ISO-RJ1-HL", CSOName: "Alice's CSO", Issued: day(-200), ReviewDue: day(12)}},
	} {
		if _, err := s.Assurance.PutDCB0160(ctx, sys, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Assurance.PutDTAC(ctx, sys, assurance.DTAC{ProductID: "ISO-LIMS", Version: "iso-1", Assessed: day(-300), C1: assurance.Pass, C2: assurance.Pass, C3: assurance.Pass, C4: assurance.Pass, DScore: 70}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.PutCertificate(ctx, sys, assurance.Certificate{SupplierID: "OTHER-SUP", Scheme: assurance.CyberEssentialsPlus, Number: "ISO-OTHER-CE", Issued: time.Now().UTC().AddDate(-1, 0, 9).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	dtac := `{"version":"2.1","assessed":"2026-10-01","c1_clinical_safety":"pass","c2_data_protection":"pass","c3_technical_security":"pass","c4_interoperability":"pass","d_usability_score":60}`
	safety := `{"version":"2.1","safety_case_report":"OTHER-CASE","hazard_log":"OTHER-HL","cso_name":"Dr Other","issued":"2026-09-01"}`
	charter := `{"commitments":["mfa"],"signed":"2026-11-01","signed_by":"Othersoft CEO"}`
	principles := `{"assessed":"2026-11-01","states":[{"principle":9,"state":"partly"}]}`
	writers := statuses(rex, 200, nadia, 200)
	managers := []string{rex, nadia} // who may record any supplier's evidence, and so see what they record
	// The RJ1 record keeps its review date when Alice records it again,
	// so the expiring lists below still find it.
	rj1 := `"safety_case_report":"ISO-RJ1-CASE","hazard_log":"ISO-RJ1-HL","cso_name":"Alice's CSO","issued":"2026-10-01","review_due":"` + day(12) + `"`
	webWriters := statuses(rex, 303, nadia, 303)
	return map[string]routeCheck{
		"GET /api/v1/supply/suppliers/{id}/evidence": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP/evidence"},
			own:  own(alice, probe{path: "/api/v1/supply/suppliers/ISO-SUP/evidence", want: []string{"ISO-RJ1-CASE"}}, also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/evidence", want: []string{"ISO-OTHER-CE", `"may_record":"supplier"`}})),
			deny: 200, status: statuses(sam, 404), seers: rj1Readers},
		"GET /api/v1/supply/products/{id}/evidence": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS/evidence"},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-LIMS/evidence", want: []string{"ISO-RJ1-CASE"}}, also(sam, probe{path: "/api/v1/supply/products/OTHER-APP/evidence", want: []string{`"product_id":"OTHER-APP"`}})),
			deny: 200, status: statuses(sam, 404), seers: rj1Readers},
		"POST /api/v1/supply/products/{id}/dtac": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS/dtac", body: dtac, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-APP/dtac", body: dtac, want: []string{`"source":"supplier"`}}, also(nadia, probe{path: "/api/v1/supply/products/ISO-LIMS/dtac", body: dtac, want: []string{`"source":"assessor"`}})),
			deny: 403, status: writers, seers: managers},
		"POST /api/v1/supply/products/{id}/dcb0129": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS/dcb0129", body: safety, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-APP/dcb0129", body: safety, want: []string{`"source":"supplier"`, `"complete":true`}}),
			deny: 403, status: writers, seers: managers},
		// A trust records its own DCB0160 only: Bob's trust is not found.
		"POST /api/v1/supply/products/{id}/dcb0160": {attack: probe{path: "/api/v1/supply/products/ISO-LIMS/dcb0160", body: `{"org_ods":"RJZ","issued":"2026-10-01"}`, status: 404},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-LIMS/dcb0160", body: `{"org_ods":"RJ1",` + rj1 + `}`, want: []string{`"org_ods":"RJ1"`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 200), seers: []string{nadia}},
		"POST /api/v1/supply/suppliers/{id}/charter": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP/charter", body: charter, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/charter", body: charter, want: []string{`"signed_by":"Othersoft CEO"`, `"source":"supplier"`}}),
			deny: 403, status: writers, seers: managers},
		"POST /api/v1/supply/suppliers/{id}/ncsc-principles": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP/ncsc-principles", body: principles, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/ncsc-principles", body: principles, want: []string{`"state":"partly"`, `"source":"supplier"`}}),
			deny: 403, status: writers, seers: managers},
		"GET /api/v1/assurance/links": {attack: probe{},
			own: own(alice, probe{want: []string{"dtac-c2-dspt", "charter-dspt"}}), deny: 200, seers: everyone},
		"GET /api/v1/assurance/expiring": {attack: probe{path: "/api/v1/assurance/expiring?within=60d"},
			own:  own(alice, probe{path: "/api/v1/assurance/expiring?within=60d", want: []string{"dcb0160:RJ1:ISO-LIMS"}}, also(sam, probe{path: "/api/v1/assurance/expiring?within=60d", want: []string{"ISO-OTHER-CE"}})),
			deny: 200, seers: rj1Readers},
		"POST /suppliers/s/{id}/evidence": {attack: probe{path: "/suppliers/s/ISO-SUP/evidence", body: "kind=charter&commitment=all&signed=2026-11-01&signed_by=x", status: 403},
			own:  own(sam, probe{path: "/suppliers/s/OTHER-SUP/evidence", body: "kind=certificate&scheme=cyber-essentials&number=ISO-SAM-WEB&issued=2026-06-01", status: 303}),
			deny: 403, status: webWriters},
		"POST /suppliers/p/{id}/evidence": {attack: probe{path: "/suppliers/p/ISO-LIMS/evidence", body: "kind=dcb0160&org_ods=RJZ&issued=2026-10-01", status: 404},
			own:  own(alice, probe{path: "/suppliers/p/ISO-LIMS/evidence", body: "kind=dcb0160&org_ods=RJ1&safety_case_report=ISO-RJ1-CASE&hazard_log=ISO-RJ1-HL&cso_name=C&issued=2026-10-01&review_due=" + day(12), status: 303}),
			deny: 404, status: statuses(audrey, 403, nadia, 303)},
		"GET /assurance/expiring": {attack: probe{path: "/assurance/expiring?within=60d"},
			own:  own(alice, probe{path: "/assurance/expiring?within=60d", want: []string{"DCB0160 safety case of RJ1 for ISO-LIMS"}}, also(sam, probe{path: "/assurance/expiring", want: []string{"ISO-OTHER-CE"}})),
			deny: 200, seers: rj1Readers},
	}
}
