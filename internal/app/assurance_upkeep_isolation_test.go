package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// upkeepIsolationChecks covers issue 20's items 2-4 (campaignIsolation
// Checks' estate): supplier tiers (supply-chain managers: Nadia, and Rex
// for the deployments his region sees), a campaign's edit, close and
// progress (its assessors: Nadia), single-use links (assessors make and
// list them; Sam, the supplier, may not), and the spreadsheet round trip
// (Sam exports and imports his draft; Nadia exports only). Bob's side is
// Kingsway's campaign and draft statement, which Alice must not reach.
func upkeepIsolationChecks(t *testing.T, s *Server, bobCampaign, stDraft, stBobDraft string) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	const set = "webcaf-caf@9.9"
	camp := func(name string) string {
		t.Helper()
		c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: name, SetID: set, Deadline: "2099-01-31", Suppliers: []string{"ISO-AS-SUP"}})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	progress := camp("Isolation progress campaign")
	apiEdit, webEdit := camp("Isolation API edit"), camp("Isolation web edit")
	apiClose, webClose := camp("Isolation API close"), camp("Isolation web close")
	if _, err := s.Assurance.CreateLink(ctx, sys, stDraft, assurance.NewLink{Recipient: "Isolation link recipient"}); err != nil {
		t.Fatal(err)
	}
	link := func(st, who string) string {
		t.Helper()
		l, err := s.Assurance.CreateLink(ctx, sys, st, assurance.NewLink{Recipient: who})
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	apiRevoke, webRevoke, bobLink := link(stDraft, "Isolation API revoke"), link(stDraft, "Isolation web revoke"), link(stBobDraft, "Kingsway link")
	c := "/api/v1/assurance/campaigns/"
	st := "/api/v1/assurance/statements/"
	web := "/assurance/statements/"
	sheet := map[string]string{"answers.csv": "seq,answer,justification\n1,met,Othersoft sheet answer\n"}
	managers := statuses(rex, 200)
	return map[string]routeCheck{
		"GET /api/v1/assurance/tiers": {attack: probe{status: 403},
			own:  own(nadia, probe{want: []string{"Kingsway Imaging Ltd", "deployed at RJZ"}}),
			deny: 403, status: managers, seers: []string{rex}},
		"PATCH /api/v1/assurance/campaigns/{id}": {attack: probe{path: c + bobCampaign, body: `{"name":"x"}`, status: 404},
			own:  own(nadia, probe{path: c + apiEdit, body: `{"name":"Isolation API edited","deadline":"2099-02-28"}`, want: []string{"Isolation API edited", "2099-02-28"}}),
			deny: 404},
		"POST /api/v1/assurance/campaigns/{id}/close": {attack: probe{path: c + bobCampaign + "/close", body: `{}`, status: 404},
			own:  own(nadia, probe{path: c + apiClose + "/close", body: `{"reason":"isolation"}`, want: []string{`"closed_at"`, "Isolation API close"}}),
			deny: 404},
		"GET /api/v1/assurance/campaigns/{id}/progress": {attack: probe{path: c + bobCampaign + "/progress", status: 404},
			own:  own(nadia, probe{path: c + progress + "/progress", want: []string{"Isolation progress campaign", `"invited":1`}}),
			deny: 404},
		"POST /api/v1/assurance/statements/{id}/links": {attack: probe{path: st + stBobDraft + "/links", body: `{"recipient":"x"}`, status: 404},
			own:  own(nadia, probe{path: st + stDraft + "/links", body: `{"recipient":"Isolation API link"}`, status: 201, want: []string{`"token"`, "/assurance/link/"}}),
			deny: 404, status: statuses(sam, 403)},
		"GET /api/v1/assurance/statements/{id}/links": {attack: probe{path: st + stBobDraft + "/links", status: 404},
			own:  own(nadia, probe{path: st + stDraft + "/links", want: []string{"Isolation link recipient"}}),
			deny: 404, status: statuses(sam, 403)},
		"POST /api/v1/assurance/statements/{id}/links/{link}/revoke": {attack: probe{path: st + stBobDraft + "/links/" + bobLink + "/revoke", status: 404},
			own:  own(nadia, probe{path: st + stDraft + "/links/" + apiRevoke + "/revoke", want: []string{`"revoked":true`, "Isolation API revoke"}}),
			deny: 404, status: statuses(sam, 403)},
		"POST /assurance/statements/{id}/links/{link}/revoke": {attack: probe{path: web + stBobDraft + "/links/" + bobLink + "/revoke", status: 404},
			own:  own(nadia, probe{path: web + stDraft + "/links/" + webRevoke + "/revoke", status: 303}),
			deny: 404, status: statuses(sam, 403)},
		"GET /api/v1/assurance/statements/{id}/spreadsheet": {attack: probe{path: st + stBobDraft + "/spreadsheet?format=csv", status: 404},
			own:  own(sam, probe{path: st + stDraft + "/spreadsheet?format=csv", want: []string{"seq,ref,requirement", "Isolation board direction"}}),
			deny: 404, status: statuses(nadia, 200), seers: []string{nadia}},
		"POST /api/v1/assurance/statements/{id}/spreadsheet": {attack: probe{path: st + stBobDraft + "/spreadsheet", files: sheet, status: 404},
			own:  own(sam, probe{path: st + stDraft + "/spreadsheet", files: sheet, want: []string{`"saved":1`}}),
			deny: 404, status: statuses(nadia, 403)},

		"GET /assurance/tiers": {attack: probe{status: 403},
			own:  own(nadia, probe{want: []string{"Kingsway Imaging Ltd", "deployed at RJZ"}}),
			deny: 403, status: managers, seers: []string{rex}},
		"GET /assurance/campaigns/{id}/progress": {attack: probe{path: "/assurance/campaigns/" + bobCampaign + "/progress", status: 404},
			own:  own(nadia, probe{path: "/assurance/campaigns/" + progress + "/progress", want: []string{"Isolation progress campaign", `id="edit-campaign"`}}),
			deny: 404},
		"POST /assurance/campaigns/{id}/edit": {attack: probe{path: "/assurance/campaigns/" + bobCampaign + "/edit", body: "name=x", status: 404},
			own:  own(nadia, probe{path: "/assurance/campaigns/" + webEdit + "/edit", body: "name=Isolation+web+edited", status: 303}),
			deny: 404},
		"POST /assurance/campaigns/{id}/close": {attack: probe{path: "/assurance/campaigns/" + bobCampaign + "/close", body: "reason=x", status: 404},
			own:  own(nadia, probe{path: "/assurance/campaigns/" + webClose + "/close", body: "reason=isolation", status: 303}),
			deny: 404},
		"POST /assurance/statements/{id}/links": {attack: probe{path: web + stBobDraft + "/links", body: "recipient=x", status: 404},
			own:  own(nadia, probe{path: web + stDraft + "/links", body: "recipient=Isolation+web+link", status: 201, want: []string{"/assurance/link/", "Isolation web link"}}),
			deny: 404, status: statuses(sam, 403)},
		"GET /assurance/statements/{id}/spreadsheet": {attack: probe{path: web + stBobDraft + "/spreadsheet?format=csv", status: 404},
			own:  own(sam, probe{path: web + stDraft + "/spreadsheet?format=csv", want: []string{"seq,ref,requirement", "Isolation board direction"}}),
			deny: 404, status: statuses(nadia, 200), seers: []string{nadia}},
		"POST /assurance/statements/{id}/spreadsheet": {attack: probe{path: web + stBobDraft + "/spreadsheet", files: map[string]string{"x.csv": "seq,answer,justification\n1,met,x\n"}, status: 404},
			own:  own(sam, probe{path: web + stDraft + "/spreadsheet", files: map[string]string{"web.csv": "seq,answer,justification\n1,met,Othersoft web sheet answer\n"}, status: 303}),
			deny: 404, status: statuses(nadia, 403)},
	}
}
