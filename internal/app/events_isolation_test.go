package app

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// eventsIsolationChecks walks event search (issue 16) over two trusts'
// events: RJ1 (Alice's) has two, RJZ (Bob's) one whose every part names
// RJZ, a leak string, so an answer that shows it to Alice fails the walk.
// Counts differ (2 against 1), so a replay that counts another trust's
// events shows as a count that is not its own.
//
// Saved searches are their owner's alone: Alice's are listed to nobody
// else, Bob's is not found when Alice deletes it, and nobody deletes hers.
func eventsIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	saved := map[string]string{}
	for _, who := range []string{alice + " api", alice + " web", alice + " list", bob + " api"} {
		person, _, _ := strings.Cut(who, " ")
		sc, err := s.Auth.ScopeFor(ctx, w.user[person].ID, "session", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		ss, err := s.EventSearches.Save(ctx, sc, events.SavedSearch{Name: "Isolation search of " + who, Query: "marker=*-value", Since: "3h"})
		if err != nil {
			t.Fatal(err)
		}
		saved[who] = ss.ID
	}
	now := time.Now().UTC()
	ev := func(id, org, raw string, fields map[string]any) events.Event {
		return events.Event{ID: id, Org: org, ReceivedAt: now, EventTime: now.Add(-time.Hour), Source: events.Source{Protocol: "file", Host: org + "-host"},
			Product: "windows", Category: "process_creation", Fields: fields, Raw: raw}
	}
	if err := s.Events.Append(context.Background(), []events.Event{
		ev("isoevent00000000000000000000rj1a", "RJ1", "isolation event one at RJ1", map[string]any{"marker": "rj1-only-value", "EventID": float64(1)}),
		ev("isoevent00000000000000000000rj1b", "RJ1", "isolation event two at RJ1", map[string]any{"marker": "rj1-only-value", "EventID": float64(1)}),
		ev("isoevent00000000000000000000rjza", "RJZ", "isolation event at RJZ", map[string]any{"marker": "RJZ-value", "site": "RJZ-site", "EventID": float64(1)}),
	}); err != nil {
		t.Fatal(err)
	}
	q := "q=marker%3D*-value&since=3h"
	return map[string]routeCheck{
		"GET /api/v1/events": {attack: probe{path: "/api/v1/events?q=marker%3DRJZ-value&since=3h"},
			own:  own(alice, probe{path: "/api/v1/events?" + q, want: []string{"isoevent00000000000000000000rj1a", "rj1-only-value"}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/events/count": {attack: probe{path: "/api/v1/events/count?q=marker%3DRJZ-value&since=3h", want: nil},
			own:  own(alice, probe{path: "/api/v1/events/count?" + q, want: []string{`"count":2`}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/events/histogram": {attack: probe{path: "/api/v1/events/histogram?q=marker%3DRJZ-value&since=3h&buckets=1"},
			own:  own(alice, probe{path: "/api/v1/events/histogram?" + q + "&buckets=1", want: []string{`"count":2`}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/events/fields": {attack: probe{path: "/api/v1/events/fields?q=marker%3DRJZ-value&since=3h"},
			own:  own(alice, probe{path: "/api/v1/events/fields?" + q, want: []string{"rj1-only-value"}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/events/export": {attack: probe{path: "/api/v1/events/export?q=marker%3DRJZ-value&since=3h"},
			own:  own(alice, probe{path: "/api/v1/events/export?" + q, want: []string{"isoevent00000000000000000000rj1a", "rj1-only-value"}}),
			deny: 200, seers: rj1Readers},
		"GET /api/v1/events/{id}": {attack: probe{path: "/api/v1/events/isoevent00000000000000000000rjza", status: 404},
			own:  own(alice, probe{path: "/api/v1/events/isoevent00000000000000000000rj1a", want: []string{"isolation event one at RJ1"}}),
			deny: 404, seers: rj1Readers, status: statuses(audrey, 200, nadia, 200)},

		// Retro-hunts read through the store's scope; a rule test reads
		// nothing stored.
		"POST /api/v1/hunts": {attack: probe{body: `{"rules":"title: Isolation hunt\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    marker|endswith: '-value'\n  condition: sel\n","since":"3h"}`},
			own: own(alice, probe{body: `{"rules":"title: Isolation hunt\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker: rj1-only-value\n  condition: sel\n","since":"3h"}`,
				want: []string{"isoevent00000000000000000000rj1a", "isolation event one at RJ1"}}),
			deny: 200, seers: rj1Readers},
		"POST /api/v1/rules/test": {attack: probe{body: `{"rules":"title: Isolation test\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker|endswith: value\n  condition: sel\n","events":"{\"Channel\":\"Security\",\"EventID\":4688,\"marker\":\"a-value\"}"}`},
			own: own(alice, probe{body: `{"rules":"title: Isolation test\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker|endswith: value\n  condition: sel\n","events":"{\"Channel\":\"Security\",\"EventID\":4688,\"marker\":\"a-value\"}"}`,
				want: []string{`"rule_title":"Isolation test"`, `"searches":["sel"]`}}),
			// Stateless: what anyone sees is what they sent.
			deny: 200, seers: identities},

		"GET /api/v1/events/searches": {attack: probe{path: "/api/v1/events/searches"},
			own:  own(alice, probe{path: "/api/v1/events/searches", want: []string{"Isolation search of " + alice + " list", saved[alice+" list"]}}),
			deny: 200},
		"POST /api/v1/events/searches": {attack: probe{body: `{"name":"Isolation attack","query":"org=RJZ"}`, status: 201},
			own:  own(alice, probe{body: `{"name":"Isolation mine","query":"marker=*-value","since":"3h"}`, status: 201, want: []string{`"name":"Isolation mine"`}}),
			deny: 201},
		"DELETE /api/v1/events/searches/{id}": {attack: probe{path: "/api/v1/events/searches/" + saved[bob+" api"], status: 404},
			own:  own(alice, probe{path: "/api/v1/events/searches/" + saved[alice+" api"], status: 204}),
			deny: 404},

		// The pages: the same rules.
		"GET /coverage": {attack: probe{path: "/coverage?org=RJZ", status: 404},
			own: own(alice, probe{path: "/coverage?org=RJ1", want: []string{"ATT&amp;CK coverage for RJ1", "Techniques with at least one rule"}},
				also(alice, probe{path: "/coverage", want: []string{"ATT&amp;CK coverage", "Techniques with at least one rule"}})),
			// Another organisation's coverage is not found for those who
			// may not read RJ1.
			deny: 404, seers: rj1Readers, status: statuses(audrey, 200, nadia, 200)},
		"GET /hunt": {attack: probe{path: "/hunt"},
			own: own(alice, probe{path: "/hunt", want: []string{"Hunt stored events"}}), deny: 200, seers: identities},
		"POST /hunt": {attack: probe{body: "action=hunt&since=3h&rules=" + url.QueryEscape("title: Isolation hunt\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker|endswith: '-value'\n  condition: sel\n")},
			own: own(alice, probe{body: "action=hunt&since=3h&rules=" + url.QueryEscape("title: Isolation hunt\nlogsource:\n  product: windows\ndetection:\n  sel:\n    marker: rj1-only-value\n  condition: sel\n"),
				want: []string{"/events/isoevent00000000000000000000rj1a", "2 matches"}}),
			deny: 200, seers: rj1Readers},
		"GET /events": {attack: probe{path: "/events?q=marker%3DRJZ-value&since=3h"},
			own:  own(alice, probe{path: "/events?" + q, want: []string{"/events/isoevent00000000000000000000rj1a", "rj1-only-value", "2 events"}}),
			deny: 200, seers: rj1Readers},
		"GET /events/{id}": {attack: probe{path: "/events/isoevent00000000000000000000rjza", status: 404},
			own:  own(alice, probe{path: "/events/isoevent00000000000000000000rj1a", want: []string{"isolation event one at RJ1", "rj1-only-value"}}),
			deny: 404, seers: rj1Readers, status: statuses(audrey, 200, nadia, 200)},
		"POST /events/searches": {attack: probe{body: "name=Isolation+attack&q=org%3DRJZ", status: 303},
			own:  own(alice, probe{body: "name=Isolation+page&q=marker%3D*-value&since=3h", status: 303}),
			deny: 303},
		"POST /events/searches/{id}/delete": {attack: probe{path: "/events/searches/" + saved[bob+" api"] + "/delete", status: 404},
			own:  own(alice, probe{path: "/events/searches/" + saved[alice+" web"] + "/delete", status: 303}),
			deny: 404},
	}
}
