package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// incidentsIsolationChecks walks the national incident routes over an
// incident opened from ISO-SUP, which gives RJ1 (Alice) and RJZ (Bob) a
// child case each. Only the national administrator opens, reads,
// refreshes and shares an incident; Alice reaches only her own child (her
// auditor reads it), never the parent or Bob's child.
func incidentsIsolationChecks(t *testing.T, s *Server) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	inc, err := s.Cases.OpenIncident(ctx, scope.System("test"), cases.NewIncident{Supplier: "ISO-SUP", Title: "Isolation national incident", Severity: cases.High})
	if err != nil {
		t.Fatal(err)
	}
	child := map[string]string{}
	for _, c := range inc.Children {
		child[c.Org] = c.CaseID
	}
	if child["RJ1"] == "" || child["RJZ"] == "" {
		t.Fatalf("isolation incident children: %+v", inc.Children)
	}
	i, c := "/api/v1/incidents/", "/api/v1/cases/"
	return map[string]routeCheck{
		"POST /api/v1/incidents": {attack: probe{body: `{"supplier":"ISO-SUP","title":"Mine"}`, status: 403},
			own:  own(nadia, probe{body: `{"supplier":"ISO-SUP","title":"Isolation second incident"}`, status: 201, want: []string{`"org":"RJ1"`, `"case_id"`}}),
			deny: 403},
		"GET /api/v1/incidents": {attack: probe{},
			own:  own(nadia, probe{want: []string{inc.ID}}),
			deny: 200},
		"GET /api/v1/incidents/{id}": {attack: probe{path: i + inc.ID, status: 404},
			own:  own(nadia, probe{path: i + inc.ID, want: []string{child["RJ1"], `"not_answered"`}}),
			deny: 404},
		"POST /api/v1/incidents/{id}/refresh": {attack: probe{path: i + inc.ID + "/refresh", status: 404},
			own:  own(nadia, probe{path: i + inc.ID + "/refresh", want: []string{`"refresh"`, child["RJ1"]}}),
			deny: 404},
		"POST /api/v1/incidents/{id}/updates": {attack: probe{path: i + inc.ID + "/updates", body: `{"title":"x"}`, status: 404},
			own:  own(nadia, probe{path: i + inc.ID + "/updates", body: `{"title":"Isolation update"}`, want: []string{`"organisations":`}}),
			deny: 404},
		"GET /api/v1/cases/{id}/incident": {attack: probe{path: c + child["RJZ"] + "/incident", status: 404},
			own:  own(alice, probe{path: c + child["RJ1"] + "/incident", want: []string{`"org":"RJ1"`, `"impact"`, inc.ID}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"POST /api/v1/cases/{id}/incident": {attack: probe{path: c + child["RJZ"] + "/incident", body: `{"status":"restored"}`, status: 404},
			own:  own(alice, probe{path: c + child["RJ1"] + "/incident", body: `{"status":"fallback-in-use","note":"paper"}`, want: []string{`"status":"fallback-in-use"`}}),
			deny: 404, status: statuses(audrey, 403, nadia, 200), skip: []string{nadia}},

		// The web pages: the same rules.
		"GET /incidents": {attack: probe{path: "/incidents"},
			own:  own(nadia, probe{path: "/incidents", want: []string{inc.ID}}),
			deny: 200},
		"POST /incidents": {attack: probe{path: "/incidents", body: "supplier=ISO-SUP&title=Mine", status: 403},
			own:  own(nadia, probe{path: "/incidents", body: "supplier=ISO-SUP&title=Isolation+web+incident&severity=high", status: 303}),
			deny: 403},
		"GET /incidents/{id}": {attack: probe{path: "/incidents/" + inc.ID, status: 404},
			own:  own(nadia, probe{path: "/incidents/" + inc.ID, want: []string{child["RJ1"], "Not answered"}}),
			deny: 404},
		"POST /incidents/{id}/refresh": {attack: probe{path: "/incidents/" + inc.ID + "/refresh", status: 404},
			own:  own(nadia, probe{path: "/incidents/" + inc.ID + "/refresh", status: 303}),
			deny: 404},
		"POST /incidents/{id}/updates": {attack: probe{path: "/incidents/" + inc.ID + "/updates", body: "title=x", status: 404},
			own:  own(nadia, probe{path: "/incidents/" + inc.ID + "/updates", body: "title=Isolation+web+update", status: 303}),
			deny: 404},
		"POST /cases/{id}/incident": {attack: probe{path: "/cases/" + child["RJZ"] + "/incident", body: "status=restored", status: 404},
			own:  own(alice, probe{path: "/cases/" + child["RJ1"] + "/incident", body: "status=restored&note=web", status: 303}),
			deny: 404, status: statuses(audrey, 403, nadia, 303), skip: []string{nadia}},
	}
}
