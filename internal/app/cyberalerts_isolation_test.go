package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// cyberAlertsIsolationChecks walks the national cyber alert routes over an
// alert about the fixture's ISO-HOST, which both Alice's RJ1 and Bob's RJZ
// deploy through ISO-LIMS. Only the national administrator issues; Alice
// reads and answers only RJ1's part (her auditor reads it), never RJZ's;
// Bob sees the alert through RJZ's part only; the region lead of another
// region and the supplier see nothing of it.
func cyberAlertsIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ca, err := s.Alerts.Issue(context.Background(), scope.System("test"), vuln.NewAlert{Title: "Isolation cyber alert", Severity: "high",
		Products: []vuln.AffectedProductSpec{{Product: "ISO-HOST"}}, RequiredAction: "Patch the hosting.", Deadline: time.Now().Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ca.Orgs) != 2 {
		t.Fatalf("isolation alert in scope: %+v", ca.Orgs)
	}
	// The dashboard's map needs the ICB boundaries (the PNG is refused
	// without them).
	rep, err := s.Geo.ImportGeoJSON(context.Background(), scope.System("test"), filepath.Join("..", "..", "..", "shared", "data", "nhs", "geo", "icb_apr2023_en_bsc.geojson"), false)
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("import the ICB boundaries: %v %v", err, rep.Errors)
	}
	p := "/api/v1/cyber-alerts/" + ca.ID
	w := "/cyber-alerts/" + ca.ID
	return map[string]routeCheck{
		"POST /api/v1/cyber-alerts": {attack: probe{body: `{"title":"Mine","products":[{"product":"ISO-HOST"}],"required_action":"x","deadline":"2030-01-01T00:00:00Z"}`, status: 403},
			own: own(nadia, probe{body: `{"title":"Isolation second alert","products":[{"product":"ISO-HOST"}],"required_action":"x","deadline":"2030-01-01T00:00:00Z"}`,
				status: 201, want: []string{`"org":"RJ1"`, `"org":"RJZ"`}}),
			deny: 403},
		"GET /api/v1/cyber-alerts": {attack: probe{},
			own:  own(nadia, probe{want: []string{ca.ID}}, also(alice, probe{want: []string{ca.ID}})),
			deny: 200, seers: []string{alice, bob, audrey}},
		"GET /api/v1/cyber-alerts/{id}": {attack: probe{path: p},
			own:  own(alice, probe{path: p, want: []string{`"org":"RJ1"`}}),
			deny: 404, status: statuses(bob, 200, audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/cyber-alerts/{id}/responses": {attack: probe{path: p + "/responses", body: `{"orgs":["RJZ"],"action":"acknowledge"}`, status: 404},
			own:  own(alice, probe{path: p + "/responses", body: `{"orgs":["RJ1"],"action":"acknowledge"}`, want: []string{`"org":"RJ1"`, `"acknowledged_by":"alice@rj1.nhs.test"`}}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"GET /api/v1/cyber-alerts/dashboard": {attack: probe{path: "/api/v1/cyber-alerts/dashboard?format=csv"},
			own:  own(nadia, probe{path: "/api/v1/cyber-alerts/dashboard", want: []string{`"code":"QKK"`}}),
			deny: 200, seers: []string{alice, bob, audrey}},
		"GET /api/v1/cyber-alerts/{id}/dashboard": {attack: probe{path: p + "/dashboard?format=csv"},
			own:  own(nadia, probe{path: p + "/dashboard", want: []string{`"code":"QKK"`}}, also(alice, probe{path: p + "/dashboard?format=csv", want: []string{",RJ1,"}})),
			deny: 404, status: statuses(alice, 200, bob, 200, audrey, 200), seers: []string{alice, bob, audrey}},
		"GET /api/v1/cyber-alerts/history": {attack: probe{path: "/api/v1/cyber-alerts/history?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/cyber-alerts/history?org=RJ1", want: []string{ca.ID, `"org":"RJ1"`}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /cyber-alerts/history": {attack: probe{path: "/cyber-alerts/history?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/cyber-alerts/history?org=RJ1", want: []string{ca.ID}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		// The web pages: the same rules.
		"GET /cyber-alerts": {attack: probe{path: "/cyber-alerts"},
			own:  own(nadia, probe{path: "/cyber-alerts", want: []string{ca.ID}}),
			deny: 200, seers: []string{alice, bob, audrey}},
		"POST /cyber-alerts": {attack: probe{path: "/cyber-alerts", body: "title=Mine&products=ISO-HOST&required_action=x&deadline=2030-01-01", status: 403},
			own:  own(nadia, probe{path: "/cyber-alerts", body: "title=Isolation+web+alert&severity=high&tlp=amber&products=ISO-HOST&required_action=Patch&deadline=2030-01-01", status: 303}),
			deny: 403},
		"GET /cyber-alerts/{id}": {attack: probe{path: w},
			own:  own(alice, probe{path: w, want: []string{`id="org-RJ1"`}}),
			deny: 404, status: statuses(bob, 200, audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /cyber-alerts/{id}/responses": {attack: probe{path: w + "/responses", body: "orgs=RJZ&action=update&text=x", status: 404},
			own:  own(alice, probe{path: w + "/responses", body: "orgs=RJ1&action=update&text=web+update", status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"GET /cyber-alerts/dashboard": {attack: probe{path: "/cyber-alerts/dashboard"},
			own:  own(nadia, probe{path: "/cyber-alerts/dashboard", want: []string{`<span class="code">QKK</span>`}}),
			deny: 200, seers: []string{alice, bob, audrey}},
		"GET /cyber-alerts/dashboard.png": {attack: probe{path: "/cyber-alerts/dashboard.png?alert=" + ca.ID},
			own:  own(nadia, probe{path: "/cyber-alerts/dashboard.png?alert=" + ca.ID, want: []string{"\x89PNG"}}, also(alice, probe{path: "/cyber-alerts/dashboard.png?alert=" + ca.ID, want: []string{"\x89PNG"}})),
			deny: 404, status: statuses(alice, 200, bob, 200, audrey, 200), seers: []string{alice, bob, audrey}},
		"GET /cyber-alerts/dashboard.csv": {attack: probe{path: "/cyber-alerts/dashboard.csv"},
			own:  own(alice, probe{path: "/cyber-alerts/dashboard.csv", want: []string{",RJ1,"}}, also(nadia, probe{path: "/cyber-alerts/dashboard.csv", want: []string{",RJ1,", ",RJZ,"}})),
			deny: 200, seers: rj1Readers},
	}
}
