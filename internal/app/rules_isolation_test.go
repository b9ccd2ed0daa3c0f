package app

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
)

// isoRule is the stored rule the walk reads and tunes. Its text names no
// trust: what is a trust's is its settings, exceptions and hits.
const (
	isoRuleID = "150ru1e0-0000-4000-8000-000000000001"
	isoRule   = `title: Isolation stored rule
id: ` + isoRuleID + `
status: test
level: medium
author: Vigil tests
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    CommandLine|contains: isolation-marker
  condition: sel
`
)

// rulesIsolationChecks walks rule management (internal/rules): the rules
// themselves are everyone's to read; each trust's settings, exceptions
// and hits are seen and changed only by those who may read and write that
// trust; changing a rule for every organisation (import, the editor's
// save) is the national roles'. RJZ's exception names Bob and RJZ, leak
// strings, so showing it to Alice fails the walk.
func rulesIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Rules.Import(ctx, sys, "isolation", "", []rules.File{{Name: "iso.yml", Data: []byte(isoRule)}}); err != nil {
		t.Fatal(err)
	}
	scopeOf := func(who string) scope.Scope {
		sc, err := s.Auth.ScopeFor(ctx, w.user[who].ID, "session", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	if err := s.Rules.SetEnabled(ctx, scopeOf(bob), isoRuleID, "RJZ", false); err != nil {
		t.Fatal(err)
	}
	exc := func(who, org, reason string) string {
		x, err := s.Rules.AddException(ctx, scopeOf(who), rules.NewException{RuleID: isoRuleID, Org: org, Match: []rules.Match{{Field: "Computer", Value: "iso-host"}},
			Owner: w.user[who].Email, Reason: reason, Expires: time.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return x.ID
	}
	bobs := exc(bob, "RJZ", "RJZ isolation scanner")
	exc(alice, "RJ1", "RJ1 isolation backup job")
	alicesAPI := exc(alice, "RJ1", "RJ1 isolation, to delete over the API")
	alicesWeb := exc(alice, "RJ1", "RJ1 isolation, to delete on the page")
	h := rules.Hits{}
	for range 3 {
		h.Add(isoRuleID, "RJ1", time.Now(), false)
	}
	for range 7 {
		h.Add(isoRuleID, "RJZ", time.Now(), false)
	}
	if err := s.Rules.RecordHits(ctx, h); err != nil {
		t.Fatal(err)
	}
	newRule := `{"yaml":"title: Isolation new rule\nid: 150ru1e0-0000-4000-8000-000000000002\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker: x\n  condition: sel\n","note":"isolation"}`
	rulePath := "/api/v1/rules/" + isoRuleID
	page := "/rules/" + isoRuleID
	events := url.QueryEscape(`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"run isolation-marker"}`)
	// Who may change RJ1's settings: Alice (org-admin) and the national
	// admin; RJ1's auditor reads them but is refused; the others do not
	// see RJ1 at all.
	writeRJ1 := func(ok int) map[string]int { return statuses(audrey, 403, nadia, ok) }
	return map[string]routeCheck{
		"GET /api/v1/rules": {attack: probe{path: "/api/v1/rules?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/rules?org=RJ1", want: []string{"Isolation stored rule", `"org":"RJ1"`}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /api/v1/rules/noisy": {attack: probe{path: "/api/v1/rules/noisy?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/api/v1/rules/noisy", want: []string{`"hits":3,`}}),
			deny: 200, seers: []string{audrey}},
		"GET /api/v1/rules/{id}": {attack: probe{path: rulePath},
			own:  own(alice, probe{path: rulePath, want: []string{"RJ1 isolation backup job"}}),
			deny: 200, seers: rj1Readers},
		"POST /api/v1/rules/import": {attack: probe{path: "/api/v1/rules/import?pack=mine", files: map[string]string{"a.yml": isoRule}, status: 403},
			own:  own(nadia, probe{path: "/api/v1/rules/import?pack=isolation", files: map[string]string{"a.yml": isoRule}, want: []string{`"unchanged":1`}}),
			deny: 403},
		"POST /api/v1/rules": {attack: probe{body: newRule, status: 403},
			own:  own(nadia, probe{body: newRule, status: 201, want: []string{`"title":"Isolation new rule"`}}),
			deny: 403},
		"PUT /api/v1/rules/{id}/settings": {attack: probe{path: rulePath + "/settings", body: `{"org":"RJZ","enabled":true}`, status: 404},
			own:  own(alice, probe{path: rulePath + "/settings", body: `{"org":"RJ1","enabled":false,"level":"high"}`, want: []string{`"org":"RJ1"`}}),
			deny: 404, status: writeRJ1(200), seers: []string{nadia}},
		"DELETE /api/v1/rules/{id}/orgs/{org}": {attack: probe{path: rulePath + "/orgs/RJZ", status: 404},
			own:  own(alice, probe{path: rulePath + "/orgs/RJ1", status: 204}),
			deny: 404, status: writeRJ1(204)},
		"POST /api/v1/rules/{id}/exceptions": {attack: probe{path: rulePath + "/exceptions", body: `{"org":"RJZ","match":[{"field":"User","value":"x"}],"owner":"alice","reason":"r","expires_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, status: 404},
			own:  own(alice, probe{path: rulePath + "/exceptions", body: `{"org":"RJ1","match":[{"field":"User","value":"x"}],"owner":"alice","reason":"RJ1 isolation api","expires_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, status: 201, want: []string{"RJ1 isolation api"}}),
			deny: 404, status: writeRJ1(201), seers: []string{nadia}},
		"DELETE /api/v1/rules/exceptions/{id}": {attack: probe{path: "/api/v1/rules/exceptions/" + bobs, status: 404},
			own:  own(alice, probe{path: "/api/v1/rules/exceptions/" + alicesAPI, status: 204}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},

		"GET /rules": {attack: probe{path: "/rules?org=RJZ", status: 404},
			own:  own(alice, probe{path: "/rules?org=RJ1", want: []string{"Isolation stored rule", "Runs for RJ1"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /rules/{id}": {attack: probe{path: page},
			own:  own(alice, probe{path: page, want: []string{"RJ1 isolation backup job"}}),
			deny: 200, seers: rj1Readers},
		"GET /rules/new": {attack: probe{path: "/rules/new"},
			own: own(alice, probe{path: "/rules/new", want: []string{"New rule"}}), deny: 200, seers: identities},
		"GET /rules/{id}/edit": {attack: probe{path: page + "/edit"},
			own: own(alice, probe{path: page + "/edit", want: []string{"isolation-marker"}}), deny: 200, seers: identities},
		// The editor's test reads nothing stored; saving is national.
		"POST /rules/edit": {attack: probe{body: "action=save&id=" + isoRuleID + "&base_version=1&yaml=" + url.QueryEscape(isoRule), status: 422},
			own:  own(alice, probe{body: "action=test&yaml=" + url.QueryEscape(isoRule) + "&events=" + events, want: []string{"Match", "<code>sel</code>"}}),
			deny: 200, seers: identities},
		"POST /rules/{id}/settings": {attack: probe{path: page + "/settings", body: "org=RJZ&enabled=on", status: 404},
			own:  own(alice, probe{path: page + "/settings", body: "org=RJ1&enabled=off", status: 303}),
			deny: 404, status: statuses(audrey, 422, nadia, 303)},
		"POST /rules/{id}/reset": {attack: probe{path: page + "/reset", body: "org=RJZ", status: 404},
			own:  own(alice, probe{path: page + "/reset", body: "org=RJ1", status: 303}),
			deny: 404, status: statuses(audrey, 422, nadia, 303)},
		"POST /rules/{id}/exceptions": {attack: probe{path: page + "/exceptions", body: "exorg=RJZ&match=User%3Dx&owner=a&reason=r&expires=1d", status: 404},
			own:  own(alice, probe{path: page + "/exceptions", body: "exorg=RJ1&match=User%3Dx&owner=a&reason=RJ1+isolation+page&expires=1d", status: 303}),
			deny: 404, status: statuses(audrey, 422, nadia, 303)},
		"POST /rules/exceptions/{id}/delete": {attack: probe{path: "/rules/exceptions/" + bobs + "/delete", status: 404},
			own:  own(alice, probe{path: "/rules/exceptions/" + alicesWeb + "/delete", body: "rule=" + isoRuleID, status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
	}
}
