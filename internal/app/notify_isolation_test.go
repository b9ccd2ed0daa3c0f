package app

import (
	"context"
	"testing"

	"github.com/vigil-health/vigil/internal/notify"
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
	return map[string]routeCheck{
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
