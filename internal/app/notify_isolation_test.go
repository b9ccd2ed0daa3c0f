package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/scope"
)

// notifyIsolationChecks walks the notification settings, report and KPI
// routes (notify and reports, issue 15). Settings are each person's own:
// nobody reads or changes another's, and a replay changes only the
// replayer's own.
func notifyIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	secret := map[string]string{}
	for who, url := range map[string]string{alice: "https://hooks.rj1.example/alice-isolation", bob: "https://hooks.rjz.example/bob-isolation"} {
		sc, err := s.Auth.ScopeFor(ctx, w.user[who].ID, "session", "")
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Notify.SetSettings(ctx, sc, notify.SettingsChange{Email: notify.Kinds(), Webhook: []string{notify.Escalated}, WebhookURL: url})
		if err != nil {
			t.Fatal(err)
		}
		secret[who] = st.WebhookSecret
	}
	sys := scope.System("test")
	mine, err := s.Cases.CreateCase(ctx, sys, cases.NewCase{Org: "RJ1", Title: "Isolation report case of RJ1", Template: "data-breach",
		Fields: map[string]any{"data_subjects": 77}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := s.Cases.CreateCase(ctx, sys, cases.NewCase{Org: "RJZ", Title: "Isolation report case of the other trust"})
	if err != nil {
		t.Fatal(err)
	}
	c := "/api/v1/cases/"
	readers := statuses(audrey, 200, nadia, 200)
	return map[string]routeCheck{
		// KPIs count only what the caller reads: Alice's name RJ1, never RJZ;
		// asking for RJZ is refused as for an organisation that does not exist.
		"GET /api/v1/kpis": {attack: probe{path: "/api/v1/kpis?org=RJZ", status: 400},
			own:  own(alice, probe{path: "/api/v1/kpis", want: []string{`"key":"RJ1"`}}, also(alice, probe{path: "/api/v1/kpis?format=csv", want: []string{"org,RJ1,cases,"}})),
			deny: 200, seers: rj1Readers},
		"GET /cases/kpis": {attack: probe{path: "/cases/kpis?org=RJZ", status: 422},
			own:  own(alice, probe{path: "/cases/kpis", want: []string{"<td>RJ1</td>"}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/cases/{id}/report": {attack: probe{path: c + theirs.ID + "/report?format=md", status: 404},
			own:  own(alice, probe{path: c + mine.ID + "/report?format=md", want: []string{"Isolation report case of RJ1", "GUY'S AND ST THOMAS'"}}),
			deny: 404, status: readers, seers: rj1Readers},
		"GET /api/v1/cases/{id}/regulatory-pack": {attack: probe{path: c + theirs.ID + "/regulatory-pack?format=html", status: 404},
			own:  own(alice, probe{path: c + mine.ID + "/regulatory-pack?format=md", want: []string{"Isolation report case of RJ1", "| Approximate number of data subjects | 77 |"}}),
			deny: 404, status: readers, seers: rj1Readers},
		// Bob's webhook never shows in anyone else's answer (leaks
		// include his e-mail; his URL is checked by want on replays).
		"GET /api/v1/account/notifications": {attack: probe{},
			own:  own(alice, probe{want: []string{"https://hooks.rj1.example/alice-isolation", secret[alice]}}),
			deny: 200},
		"PUT /api/v1/account/notifications": {attack: probe{body: `{"user_id":"` + w.bob.ID + `","email":[]}`, status: 400},
			own:  own(alice, probe{body: `{"email":["case.assigned"],"webhook":["case.escalated"],"webhook_url":"https://hooks.rj1.example/alice-isolation-2"}`, want: []string{"alice-isolation-2"}}),
			deny: 200, skip: noReplay},
		"GET /account/notifications": {attack: probe{},
			own:  own(alice, probe{want: []string{"https://hooks.rj1.example/alice-isolation"}}),
			deny: 200},
		"POST /account/notifications": {attack: probe{body: "email=case.assigned&webhook_url=https%3A%2F%2Fhooks.rjz.example%2Fbob-isolation&user=" + w.bob.ID, status: 303},
			own:  own(alice, probe{body: "email=comment.mention&email=case.assigned&webhook_url=https%3A%2F%2Fhooks.rj1.example%2Falice-web", status: 303}),
			deny: 303, skip: noReplay},
	}
}
