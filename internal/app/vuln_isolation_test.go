package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
	"github.com/vigil-health/vigil/internal/vuln"
)

// isoSBOM is a CycloneDX SBOM of one component, golang.org/x/net at the
// version flux2 v0.26.3 ships, which GO-2023-2102 (HTTP/2 Rapid Reset,
// CVE-2023-44487, in KEV) affects.
const isoSBOM = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"golang.org/x/net",` +
	`"version":"v0.0.0-20211216030914-fe4d6282115f","purl":"pkg:golang/golang.org/x/net@v0.0.0-20211216030914-fe4d6282115f"}]}`

// isolationOSV is the shared Go advisories, the isolation servers'
// --vuln-osv.
func isolationOSV(t testing.TB) string {
	osv := filepath.Join("..", "..", "..", "shared", "data", "vuln", "osv", "Go")
	if _, err := os.Stat(osv); err != nil {
		testneed.Missing(t, "OSV advisories in ../shared/data/vuln/osv", err)
	}
	return osv
}

// vulnIsolationChecks walks the stored SBOM and inventory routes. The
// register is shared, so a product's SBOMs and findings are seen by every
// NHS reader (not by another supplier's representative) and stored by
// whoever may change the product; an inventory is its organisation's:
// Alice stores and reads RJ1's, never RJZ's, and Bob never sees RJ1's.
// The server matches against the shared Go advisories (--vuln-osv).
func vulnIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	host, err := s.SBOMs.AddProductSBOM(ctx, sys, "ISO-HOST", "1.0", "host.cdx.json", []byte(isoSBOM))
	if err != nil {
		t.Fatal(err)
	}
	var inv [3]vuln.StoredSBOM
	for i, o := range []string{"RJ1", "RJZ", "RJ1"} {
		if inv[i], err = s.SBOMs.AddInventory(ctx, sys, o, vuln.InventoryMeta{Name: "servers of " + o}, "inv.cdx.json", []byte(isoSBOM)); err != nil {
			t.Fatal(err)
		}
	}
	rj1, rjz, del := inv[0], inv[1], inv[2]
	if rj1.Findings[vuln.P1]+rj1.Findings[vuln.P2]+rj1.Findings[vuln.P3]+rj1.Findings[vuln.P4] == 0 {
		t.Fatalf("the isolation inventory has no findings: %+v", rj1)
	}
	files := map[string]string{"bom.cdx.json": isoSBOM}
	alertBody := `{"required_action":"Upgrade x/net","deadline":"2030-01-01T00:00:00Z"}`
	m := map[string]routeCheck{
		"POST /api/v1/supply/products/{id}/sboms": {attack: probe{path: "/api/v1/supply/products/OTHER-APP/sboms?version=1", files: files, status: 403},
			own:  own(sam, probe{path: "/api/v1/supply/products/OTHER-APP/sboms?version=2.0", files: files, status: 201, want: []string{`"product_id":"OTHER-APP"`}}),
			deny: 403, status: statuses(rex, 201, nadia, 201), seers: []string{rex, nadia}},
		"GET /api/v1/supply/products/{id}/sboms": {attack: probe{path: "/api/v1/supply/products/ISO-HOST/sboms"},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-HOST/sboms", want: []string{host.ID}}),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"GET /api/v1/supply/products/{id}/findings": {attack: probe{path: "/api/v1/supply/products/ISO-HOST/findings"},
			own:  own(alice, probe{path: "/api/v1/supply/products/ISO-HOST/findings", want: []string{"GO-2023-2102", host.ID}}),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"POST /api/v1/orgs/{code}/inventories": {attack: probe{path: "/api/v1/orgs/RJZ/inventories", files: files, status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/inventories?name=laptops&criticality=high", files: files, status: 201, want: []string{`"org":"RJ1"`, `"name":"laptops"`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 201), seers: []string{nadia}},
		"GET /api/v1/orgs/{code}/inventories": {attack: probe{path: "/api/v1/orgs/RJZ/inventories", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/inventories", want: []string{rj1.ID}}, also(bob, probe{path: "/api/v1/orgs/RJZ/inventories", want: []string{rjz.ID}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/orgs/{code}/findings": {attack: probe{path: "/api/v1/orgs/RJZ/findings", status: 404},
			own:  own(alice, probe{path: "/api/v1/orgs/RJ1/findings", want: []string{rj1.ID, "GO-2023-2102"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/sboms": {attack: probe{},
			own:  own(alice, probe{want: []string{rj1.ID}}, also(bob, probe{want: []string{rjz.ID}})),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/sboms/{id}": {attack: probe{path: "/api/v1/sboms/" + rjz.ID, status: 404},
			own:  own(alice, probe{path: "/api/v1/sboms/" + rj1.ID, want: []string{`"org":"RJ1"`, "pkg:golang/golang.org/x/net@"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"DELETE /api/v1/sboms/{id}": {attack: probe{path: "/api/v1/sboms/" + rjz.ID, status: 404},
			own:  own(alice, probe{path: "/api/v1/sboms/" + del.ID, status: 204}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"GET /api/v1/sboms/{id}/findings": {attack: probe{path: "/api/v1/sboms/" + rjz.ID + "/findings", status: 404},
			own:  own(alice, probe{path: "/api/v1/sboms/" + rj1.ID + "/findings", want: []string{"GO-2023-2102", rj1.ID}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/vuln/match": {attack: probe{body: `{}`, status: 403},
			own:  own(nadia, probe{body: `{}`, want: []string{`"mode":"incremental"`}}),
			deny: 403},
		"POST /api/v1/sboms/{id}/findings/{vuln}/cyber-alert": {attack: probe{path: "/api/v1/sboms/" + rjz.ID + "/findings/GO-2023-2102/cyber-alert", body: alertBody, status: 404},
			own:  own(nadia, probe{path: "/api/v1/sboms/" + host.ID + "/findings/GO-2023-2102/cyber-alert", body: alertBody, status: 201, want: []string{`"org":"RJ1"`, `"org":"RJZ"`, "SBOM of product"}}),
			deny: 403, status: statuses(sam, 404)},
		"GET /vuln/products/{id}": {attack: probe{path: "/vuln/products/ISO-HOST"},
			own:  own(alice, probe{path: "/vuln/products/ISO-HOST", want: []string{host.ID, "GO-2023-2102"}}),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"GET /vuln/orgs/{code}": {attack: probe{path: "/vuln/orgs/RJZ", status: 404},
			own:  own(alice, probe{path: "/vuln/orgs/RJ1", want: []string{rj1.ID, "servers of RJ1"}}, also(bob, probe{path: "/vuln/orgs/RJZ", want: []string{rjz.ID}})),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
	}
	for k, c := range findingsIsolationChecks(t, s, host, rj1, rjz) {
		m[k] = c
	}
	return m
}
