package app

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// isoVEX says golang.org/x/net at flux2's version is not affected by
// CVE-2022-41717 (GO-2022-1144), a finding no other check looks for.
const isoVEX = `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://vigil.test/vex/iso","author":"isolation","timestamp":"2026-12-01T09:00:00Z","version":1,` +
	`"statements":[{"vulnerability":{"name":"CVE-2022-41717"},"products":[{"@id":"pkg:golang/golang.org/x/net@v0.0.0-20211216030914-fe4d6282115f"}],` +
	`"status":"not_affected","justification":"vulnerable_code_not_present"}]}`

// findingsIsolationChecks walks the national findings view, the workflow,
// stored VEX, the file download and a cyber alert's scope refresh. An
// inventory's findings, VEX and file are its organisation's: Alice works
// on RJ1's and never reaches RJZ's; a product's VEX is changed by who may
// change the product; only the national team refreshes an alert's scope.
func findingsIsolationChecks(t *testing.T, s *Server, host, rj1, rjz vuln.StoredSBOM) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	fs, err := s.SBOMs.Findings(ctx, sys, vuln.FindingFilter{SBOM: rj1.ID})
	if err != nil || len(fs) < 2 {
		t.Fatalf("RJ1's isolation findings: %d %v", len(fs), err)
	}
	theirs, err := s.SBOMs.Findings(ctx, sys, vuln.FindingFilter{SBOM: rjz.ID})
	if err != nil || len(theirs) == 0 {
		t.Fatalf("RJZ's isolation findings: %d %v", len(theirs), err)
	}
	vex := func(kind, owner string) vuln.StoredVEX {
		var x vuln.StoredVEX
		var err error
		if kind == vuln.KindProduct {
			x, err = s.SBOMs.AddProductVEX(ctx, sys, owner, "iso.openvex.json", []byte(isoVEX))
		} else {
			x, err = s.SBOMs.AddOrgVEX(ctx, sys, owner, "iso.openvex.json", []byte(isoVEX))
		}
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	hostVEX, rj1VEX, rjzVEX := vex(vuln.KindProduct, host.Product), vex(vuln.KindInventory, "RJ1"), vex(vuln.KindInventory, "RJZ")
	spare, spareWeb := vex(vuln.KindInventory, "RJ1"), vex(vuln.KindInventory, "RJ1")
	ca, err := s.Alerts.Issue(ctx, sys, vuln.NewAlert{Title: "Isolation rapid reset", Severity: "high", CVEs: []string{"CVE-2023-44487"},
		RequiredAction: "Upgrade x/net", Deadline: time.Now().Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"iso.openvex.json": isoVEX}
	boms := map[string]string{"bom.cdx.json": isoSBOM}
	act := func(ref string) string { return `{"findings":["` + ref + `"],"action":"acknowledge"}` }
	form := func(ref string) string { return "findings=" + url.QueryEscape(ref) + "&action=acknowledge" }
	return map[string]routeCheck{
		"GET /api/v1/vuln/findings": {attack: probe{path: "/api/v1/vuln/findings?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/vuln/findings?org=RJ1&ecosystem=Go", want: []string{rj1.ID}}, also(bob, probe{path: "/api/v1/vuln/findings?icb=QKK&kind=inventory", want: []string{rjz.ID}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/vuln/findings.csv": {attack: probe{path: "/api/v1/vuln/findings.csv?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/vuln/findings.csv?org=RJ1", want: []string{"ref,priority,", rj1.ID}}, also(bob, probe{path: "/api/v1/vuln/findings.csv", want: []string{rjz.ID}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /vuln/findings.csv": {attack: probe{path: "/vuln/findings.csv?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/vuln/findings.csv?org=RJ1&state=all", want: []string{"ref,priority,", rj1.ID}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/vuln/findings/kpis": {attack: probe{path: "/api/v1/vuln/findings/kpis?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/vuln/findings/kpis?org=RJ1", want: []string{`"priority":"P1"`, `"sla":"3 days"`}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/vuln/findings/actions": {attack: probe{body: act(theirs[0].Ref), status: 404},
			own:  own(alice, probe{body: act(fs[0].Ref), want: []string{`"state":"acknowledged"`, `"by":"alice@rj1.nhs.test"`}}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"POST /api/v1/supply/products/{id}/vex": {attack: probe{path: "/api/v1/supply/products/OTHER-APP/vex", files: files, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-APP/vex", files: files, status: 201, want: []string{`"product_id":"OTHER-APP"`, `"format":"OpenVEX"`}}),
			deny: 403, status: statuses(rex, 201, nadia, 201), seers: []string{rex, nadia}},
		"GET /api/v1/supply/products/{id}/vex": {attack: probe{path: "/api/v1/supply/products/ISO-HOST/vex"},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-HOST/vex", want: []string{hostVEX.ID}}),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"POST /api/v1/orgs/{code}/vex": {attack: probe{path: "/api/v1/orgs/RJZ/vex", files: files, status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/vex", files: files, status: 201, want: []string{`"org":"RJ1"`, `"statements":1`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 201), seers: []string{nadia}},
		"GET /api/v1/orgs/{code}/vex": {attack: probe{path: "/api/v1/orgs/RJZ/vex", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/vex", want: []string{rj1VEX.ID}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"DELETE /api/v1/vex/{id}": {attack: probe{path: "/api/v1/vex/" + rjzVEX.ID, status: 404},
			own:  own(alice, probe{path: "/api/v1/vex/" + spare.ID, status: 204}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"GET /api/v1/sboms/{id}/file": {attack: probe{path: "/api/v1/sboms/" + rjz.ID + "/file", status: 404},
			own:  own(alice, probe{path: "/api/v1/sboms/" + rj1.ID + "/file", want: []string{`"bomFormat":"CycloneDX"`}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/cyber-alerts/{id}/refresh": {attack: probe{path: "/api/v1/cyber-alerts/" + ca.ID + "/refresh", body: `{}`, status: 403},
			own:    own(nadia, probe{path: "/api/v1/cyber-alerts/" + ca.ID + "/refresh", body: `{}`, want: []string{`"alert_id":"` + ca.ID + `"`}}),
			status: statuses(alice, 403, bob, 403, audrey, 403, sam, 404)},
		"GET /vuln/findings": {attack: probe{path: "/vuln/findings?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/vuln/findings?org=RJ1&priority=&state=all", want: []string{rj1.ID, "servers of RJ1"}}, also(bob, probe{path: "/vuln/findings", want: []string{rjz.ID}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /vuln/findings/actions": {attack: probe{path: "/vuln/findings/actions", body: form(theirs[0].Ref), status: 404},
			own:  own(alice, probe{path: "/vuln/findings/actions", body: form(fs[1].Ref), status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"POST /vuln/products/{id}/sboms": {attack: probe{path: "/vuln/products/OTHER-APP/sboms", body: "version=9", files: boms, status: 403},
			own:  own(sam, probe{path: "/vuln/products/OTHER-APP/sboms", body: "version=9.1", files: boms, status: 303}),
			deny: 403, status: statuses(rex, 303, nadia, 303), seers: []string{rex, nadia}},
		"POST /vuln/orgs/{code}/inventories": {attack: probe{path: "/vuln/orgs/RJZ/inventories", body: "name=mine", files: boms, status: 404},
			own:  own(alice, probe{path: "/vuln/orgs/RJ1/inventories", body: "name=web+upload&criticality=low", files: boms, status: 303}),
			deny: 404, status: statuses(audrey, 403, nadia, 303), seers: []string{nadia}},
		"POST /vuln/products/{id}/vex": {attack: probe{path: "/vuln/products/OTHER-APP/vex", files: files, status: 403},
			own:  own(sam, probe{path: "/vuln/products/OTHER-APP/vex", files: files, status: 303}),
			deny: 403, status: statuses(rex, 303, nadia, 303), seers: []string{rex, nadia}},
		"POST /vuln/orgs/{code}/vex": {attack: probe{path: "/vuln/orgs/RJZ/vex", files: files, status: 404},
			own:  own(alice, probe{path: "/vuln/orgs/RJ1/vex", files: files, status: 303}),
			deny: 404, status: statuses(audrey, 403, nadia, 303), seers: []string{nadia}},
		"POST /vuln/vex/{id}/delete": {attack: probe{path: "/vuln/vex/" + rjzVEX.ID + "/delete", status: 404},
			own:  own(alice, probe{path: "/vuln/vex/" + spareWeb.ID + "/delete", status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"GET /vuln/sboms/{id}/file": {attack: probe{path: "/vuln/sboms/" + rjz.ID + "/file", status: 404},
			own:  own(alice, probe{path: "/vuln/sboms/" + rj1.ID + "/file", want: []string{`"bomFormat":"CycloneDX"`}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /cyber-alerts/{id}/refresh": {attack: probe{path: "/cyber-alerts/" + ca.ID + "/refresh", status: 403},
			own:    own(nadia, probe{path: "/cyber-alerts/" + ca.ID + "/refresh", status: 303}),
			status: statuses(alice, 403, bob, 403, audrey, 403, sam, 404)},
	}
}
