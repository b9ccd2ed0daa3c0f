package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// isoCAF is a one-outcome WebCAF file for the requirement-set routes.
const isoCAF = `objectives:
  A:
    title: Managing security risk
    principles:
      A1:
        title: Governance
        outcomes:
          A1.a:
            title: Isolation board direction
            indicators:
              achieved:
                A1.a.1:
                  description: The board owns security.
            min_profile_requirement:
              baseline: Achieved
`

// assuranceIsolationChecks covers the assurance routes (issue 20) and
// adds the DSPT sections to the organisation and supplier pages' positive
// controls. DSPT statuses: RJ1 Exceeded, Bob's RJZ Not Met, and RA7 Met,
// which is also the ODS code of the supplier ISO-NHS-SUP (an NHS body
// selling shared services). An organisation's statuses are seen by those
// who may see the organisation; a supplier's by those who may see the
// supplier, as published data.
func assuranceIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	set, err := assurance.Parse("iso-caf-v9.9.yaml", []byte(isoCAF), assurance.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.Import(ctx, sys, set); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.ImportDSPT(ctx, sys, []assurance.DSPTInput{{Name: "iso_16_11_23.csv",
		Data: []byte("Code,Status,Date Of Publication\nRJ1,22/23 Standards Exceeded,30/06/2023\nRJZ,22/23 Standards Not Met,30/06/2023\nRA7,22/23 Standards Met,29/06/2023\n")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "ISO-NHS-SUP", Name: "Isolation Shared Services", ODSCode: "RA7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.PutCertificate(ctx, sys, assurance.Certificate{SupplierID: "ISO-SUP", Scheme: assurance.ISO27001, Number: "ISO-27K-1",
		Issued: "2025-01-01", Expires: "2027-12-31", CertificationBody: "Isolation Certification Ltd", Accreditation: "UKAS"}); err != nil {
		t.Fatal(err)
	}
	return map[string]routeCheck{
		"GET /api/v1/supply/suppliers/{id}/certificates": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP/certificates"},
			own:  own(alice, probe{path: "/api/v1/supply/suppliers/ISO-SUP/certificates", want: []string{"ISO-27K-1", "Isolation Certification Ltd"}}, also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/certificates", want: []string{`"supplier_id":"OTHER-SUP"`}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		// Supply-chain managers record certificates: Nadia, and Rex (a
		// region lead holds Supply and maintains the register); and a
		// supplier's own representative, for its own supplier only (Sam).
		"POST /api/v1/supply/suppliers/{id}/certificates": {attack: probe{path: "/api/v1/supply/suppliers/ISO-SUP/certificates", body: `{"scheme":"cyber-essentials","number":"ISO-CE-ALICE","issued":"2026-06-01"}`, status: 403},
			own: own(nadia, probe{path: "/api/v1/supply/suppliers/ISO-SUP/certificates", body: `{"scheme":"cyber-essentials","number":"ISO-CE-NEW","issued":"2026-06-01"}`, want: []string{`"expires":"2027-06-01"`}},
				also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/certificates", body: `{"scheme":"cyber-essentials","number":"ISO-CE-SAM","issued":"2026-06-01"}`, want: []string{`"source":"supplier"`}})),
			deny: 403, status: statuses(rex, 200, sam, 404), seers: []string{rex}},
		"GET /api/v1/assurance/sets": {attack: probe{},
			own: own(alice, probe{want: []string{`"id":"webcaf-caf@9.9"`, `"achieved":1`, `"profiles":["baseline"]`}}), deny: 200, seers: everyone},
		"GET /api/v1/assurance/sets/{id}": {attack: probe{path: "/api/v1/assurance/sets/webcaf-caf@9.9"},
			own: own(alice, probe{path: "/api/v1/assurance/sets/webcaf-caf@9.9", want: []string{"Isolation board direction", "The board owns security."}}), deny: 200, seers: everyone},
		"GET /api/v1/orgs/{code}/dspt": {attack: probe{path: "/api/v1/orgs/RJZ/dspt", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/dspt", want: []string{`"org_code":"RJ1"`, `"level":"exceeded"`, `"edition":"2022-23"`}}, also(bob, probe{path: "/api/v1/orgs/RJZ/dspt", want: []string{`"level":"not_met"`}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/supply/suppliers/{id}/dspt": {attack: probe{path: "/api/v1/supply/suppliers/ISO-NHS-SUP/dspt"},
			own:  own(alice, probe{path: "/api/v1/supply/suppliers/ISO-NHS-SUP/dspt", want: []string{`"org_code":"RA7"`, `"level":"met"`}}, also(sam, probe{path: "/api/v1/supply/suppliers/OTHER-SUP/dspt", want: []string{"[]"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"GET /assurance": {attack: probe{},
			own: own(alice, probe{want: []string{"webcaf-caf@9.9", "baseline"}}), deny: 200, seers: everyone},
		"GET /assurance/sets/{id}": {attack: probe{path: "/assurance/sets/webcaf-caf@9.9"},
			own: own(alice, probe{path: "/assurance/sets/webcaf-caf@9.9", want: []string{"Isolation board direction", "The board owns security.", "Achieved"}}), deny: 200, seers: everyone},
		// The existing pages, now with their DSPT sections.
		"GET /orgs/{code}": {attack: probe{path: "/orgs/RJZ", status: 404},
			own:  own(alice, probe{path: "/orgs/RJ1", want: []string{"GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", "Data Security and Protection Toolkit", "Standards Exceeded"}}, also(bob, probe{path: "/orgs/RJZ", want: []string{"Standards Not Met"}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /suppliers/s/{id}": {attack: probe{path: "/suppliers/s/ISO-SUP"},
			own: own(alice, probe{path: "/suppliers/s/ISO-SUP", want: []string{"Isolation Pathology Ltd"}}, also(sam, probe{path: "/suppliers/s/OTHER-SUP", want: []string{"Othersoft Records"}}),
				also(rex, probe{path: "/suppliers/s/ISO-NHS-SUP", want: []string{"Isolation Shared Services", "Data Security and Protection Toolkit", "Standards Met"}}),
				also(nadia, probe{path: "/suppliers/s/ISO-SUP", want: []string{"Certificates", "ISO-27K-1", "Isolation Certification Ltd (UKAS)", "Health-scheme evidence", `id="charter-form"`}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
	}
}
