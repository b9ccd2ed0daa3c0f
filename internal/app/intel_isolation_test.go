package app

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

func redIndicator(t testing.TB, domain string, marking string) *stix.Object {
	t.Helper()
	o, err := stix.NewIndicator(stix.IndicatorOptions{Name: domain, Pattern: "[domain-name:value = '" + domain + "']",
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Markings: []string{marking}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// refsObject is a GREEN report or grouping about refs.
func refsObject(t testing.TB, typ, id string, refs ...string) *stix.Object {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "spec_version": "2.1", "id": id, "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
		"name": typ + " of national indicators", "published": "2026-12-01T00:00:00Z", "context": "suspicious-activity", "object_refs": refs,
		"object_marking_refs": []string{stix.TLP2Green}})
	o, err := stix.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// intelIsolationChecks walks /api/v1/intel: Alice's collection (shared
// with RJ1CH, where nobody else of the walk holds a role) and her
// TLP:RED indicator, against Bob's collection and Bob's TLP:RED
// indicator. A collection without a grant for the caller is a 404; a
// TLP:RED object's recipients are its recipients' business alone.
func intelIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	scopeOf := func(who string) scope.Scope {
		sc, err := s.Auth.ScopeFor(ctx, w.user[who].ID, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	coll := func(who, title, domain string) (intel.Collection, *stix.Object) {
		sc := scopeOf(who)
		c, err := s.Intel.CreateCollection(ctx, sc, intel.CollectionOptions{Title: title, TLPCeiling: stix.TLPRed})
		if err != nil {
			t.Fatal(err)
		}
		red := redIndicator(t, domain, stix.TLP2Red)
		if _, err := s.Intel.ImportInto(ctx, sc, c.ID, "isolation", []*stix.Object{red}); err != nil {
			t.Fatal(err)
		}
		return c, red
	}
	ac, ared := coll(alice, "Isolation RJ1 sharing", "rj1-red.example")
	bc, bred := coll(bob, "RJZ sharing", "rjz-red.example")
	if _, err := s.Intel.GrantCollection(ctx, scopeOf(alice), ac.ID, intel.GrantOptions{Org: "RJ1CH", Read: true}); err != nil {
		t.Fatal(err)
	}
	// An ATT&CK technique in Alice's collection, for the links.
	tech, err := stix.Parse([]byte(`{"type":"attack-pattern","spec_version":"2.1","id":"attack-pattern--0b0b0b0b-1071-4000-8000-000000000001","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","name":"Walk application layer protocol","external_references":[{"source_name":"mitre-attack","external_id":"T1071"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.ImportInto(ctx, scopeOf(alice), ac.ID, "isolation", []*stix.Object{tech}); err != nil {
		t.Fatal(err)
	}
	objs := "/api/v1/intel/objects/"
	base := "/api/v1/intel/collections/"
	grant := func(org string) string { return `{"org":"` + org + `","read":true}` }
	// Feeds into each collection, from an empty MISP feed (a pull succeeds
	// and brings nothing).
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") }))
	t.Cleanup(empty.Close)
	feed := func(who string, c intel.Collection, name string) intel.Feed {
		f, err := s.Intel.AddFeed(ctx, scopeOf(who), intel.FeedOptions{Name: name, Kind: "misp", URL: empty.URL + "/" + name + "/", Collection: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	af, bf := feed(alice, ac, "isolation-rj1-feed"), feed(bob, bc, "isolation-rjz-feed")
	// Feeds of Alice's that the walk changes or removes, one per route.
	apiEdit, apiGone := feed(alice, ac, "isolation-rj1-api-edit"), feed(alice, ac, "isolation-rj1-api-gone")
	webEdit, webGone := feed(alice, ac, "isolation-rj1-web-edit"), feed(alice, ac, "isolation-rj1-web-gone")
	addFeed := func(c intel.Collection) string {
		return `{"name":"walk feed","kind":"misp","url":"` + empty.URL + `/walk/","collection":"` + c.ID + `"}`
	}
	// Sightings of each trust's indicator in its own events.
	if err := s.Intel.RecordSightings(ctx, []intel.Sighting{{Indicator: ared.ID, Org: "RJ1", Count: 3, LastSeen: time.Now()},
		{Indicator: bred.ID, Org: "RJZ", Count: 2, LastSeen: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.Allow(ctx, scope.System("test"), []string{"192.0.2.52", "192.0.2.60", "192.0.2.61"}, "walk allowlist", ""); err != nil {
		t.Fatal(err)
	}
	// Verdicts on each trust's indicator, from an alert of its own.
	for _, v := range []intel.Verdict{{Indicator: ared.ID, Origin: "alert:AL-walk-rj1", Org: "RJ1", Verdict: intel.VerdictFalsePositive, By: "Alice", At: time.Now()},
		{Indicator: bred.ID, Origin: "alert:AL-walk-rjz", Org: "RJZ", Verdict: intel.VerdictTruePositive, By: "Bob", At: time.Now()}} {
		if err := s.Intel.RecordVerdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Intel.SetDecayModel(ctx, scope.System("test"), intel.DecayModel{Name: "walk-fast", HalfLifeDays: map[string]float64{"ip": 3}, Threshold: 20}); err != nil {
		t.Fatal(err)
	}
	// Alice's feed decays by it: its name is hers, not others' to read.
	if err := s.Intel.AssignDecay(ctx, scope.System("test"), "feed:"+af.Name, "walk-fast"); err != nil {
		t.Fatal(err)
	}
	// An object only a national administrator may purge.
	purge := redIndicator(t, "walk-purge.example", stix.TLP2Green)
	if _, err := s.Intel.ImportInto(ctx, scopeOf(alice), ac.ID, "isolation", []*stix.Object{purge}); err != nil {
		t.Fatal(err)
	}
	// A moderated national collection every trust of Y56 may add to:
	// what Alice and Bob submit waits for Nadia's approval, read
	// meanwhile by their own organisations and Nadia alone.
	mc, err := s.Intel.CreateCollection(ctx, scopeOf(nadia), intel.CollectionOptions{Title: "Isolation national submissions", TLPCeiling: stix.TLPAmber, Moderated: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []intel.GrantOptions{{Org: "ENG", Read: true}, {Org: "Y56", Read: true, Write: true}} {
		if _, err := s.Intel.GrantCollection(ctx, scopeOf(nadia), mc.ID, g); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(who, domain string) string {
		t.Helper()
		o := redIndicator(t, domain, stix.TLP2Green)
		if rep, err := s.Intel.ImportInto(ctx, scopeOf(who), mc.ID, "isolation", []*stix.Object{o}); err != nil || rep.Pending != 1 {
			t.Fatalf("%s submits %s: %+v %v", who, domain, rep, err)
		}
		xs, err := s.Intel.Submissions(ctx, scopeOf(who), intel.SubmissionQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if x.Object == o.ID {
				return x.ID
			}
		}
		t.Fatalf("%s's submission of %s is not listed", who, domain)
		return ""
	}
	asub := submit(alice, "rj1-submitted.example")
	bsub := submit(bob, "rjz-submitted.example")
	subs := "/api/v1/intel/submissions/"
	aAPI, aAPIr, aWeb, aWebR := submit(alice, "rj1-approve-me.example"), submit(alice, "rj1-reject-me.example"), submit(alice, "rj1-web-approve.example"), submit(alice, "rj1-web-reject.example")
	return map[string]routeCheck{
		"POST /api/v1/intel/objects/{id}/purge": {attack: probe{path: "/api/v1/intel/objects/" + bred.ID + "/purge", body: `{"reason":"alice tries"}`, status: 403},
			own: own(nadia, probe{path: "/api/v1/intel/objects/" + purge.ID + "/purge", body: `{"reason":"walk purge"}`, want: []string{purge.ID, `"versions":1`, `"collections":1`}}), deny: 403},
		"GET /api/v1/intel/submissions": {attack: probe{path: "/api/v1/intel/submissions?state=all"},
			own:  own(alice, probe{want: []string{"rj1-submitted.example", `"org":"RJ1"`}}, also(nadia, probe{want: []string{"rj1-submitted.example", "rjz-submitted.example"}})),
			deny: 200, seers: rj1Readers},
		"POST /api/v1/intel/submissions/{id}/approve": {attack: probe{path: subs + bsub + "/approve", status: 404},
			own:  own(nadia, probe{path: subs + aAPI + "/approve", want: []string{`"state":"approved"`, "rj1-approve-me.example"}}),
			deny: 404, status: statuses(alice, 403, audrey, 403)},
		"POST /api/v1/intel/submissions/{id}/reject": {attack: probe{path: subs + bsub + "/reject", body: `{"reason":"alice tries"}`, status: 404},
			own:  own(nadia, probe{path: subs + aAPIr + "/reject", body: `{"reason":"isolation walk"}`, want: []string{`"state":"rejected"`, "isolation walk"}}),
			deny: 404, status: statuses(alice, 403, audrey, 403)},
		"GET /intel/submissions": {attack: probe{path: "/intel/submissions?state=all"},
			own:  own(alice, probe{want: []string{"rj1-submitted.example"}}, also(nadia, probe{want: []string{"rjz-submitted.example", "/intel/submissions/" + asub + "/approve"}})),
			deny: 200, seers: rj1Readers},
		"POST /intel/submissions/{id}/approve": {attack: probe{path: "/intel/submissions/" + bsub + "/approve", status: 404},
			own:  own(nadia, probe{path: "/intel/submissions/" + aWeb + "/approve", status: 303}),
			deny: 404, status: statuses(alice, 403, audrey, 403)},
		"POST /intel/submissions/{id}/reject": {attack: probe{path: "/intel/submissions/" + bsub + "/reject", body: "reason=alice+tries", status: 404},
			own:  own(nadia, probe{path: "/intel/submissions/" + aWebR + "/reject", body: "reason=isolation+web+walk", status: 303}),
			deny: 404, status: statuses(alice, 403, audrey, 403)},
		"GET /api/v1/intel/allowlist": {
			own: own(nadia, probe{want: []string{"192.0.2.52", "walk allowlist"}}), deny: 200, seers: everyone},
		"POST /api/v1/intel/allowlist": {attack: probe{body: `{"values":["192.0.2.54"],"reason":"alice tries"}`, status: 403},
			own: own(nadia, probe{body: `{"values":["192.0.2.53"],"reason":"walk resolver"}`, status: 201, want: []string{`"added"`}}), deny: 403},
		"POST /api/v1/intel/allowlist/remove": {attack: probe{body: `{"values":["192.0.2.52"]}`, status: 403},
			own: own(nadia, probe{body: `{"values":["192.0.2.60"],"reason":"walk"}`, want: []string{`"removed":1`}}), deny: 403},
		"GET /intel/allowlist": {own: own(nadia, probe{want: []string{"192.0.2.52", "walk allowlist", "Take off"}}), deny: 200, seers: everyone},
		"POST /intel/allowlist/remove": {attack: probe{body: "value=192.0.2.52", status: 403},
			own: own(nadia, probe{body: "value=192.0.2.61&reason=walk", status: 303}), deny: 403},
		"GET /api/v1/intel/decay": {own: own(alice, probe{want: []string{`"source":"feed:` + af.Name + `"`}}), deny: 200, seers: rj1Readers},
		"PUT /api/v1/intel/decay/models/{name}": {attack: probe{path: "/api/v1/intel/decay/models/walk-fast", body: `{"half_life_days":{"ip":1},"threshold":90}`, status: 403},
			own: own(nadia, probe{path: "/api/v1/intel/decay/models/walk-model", body: `{"half_life_days":{"ip":9},"threshold":20}`, want: []string{`"name":"walk-model"`}}), deny: 403},
		"PUT /api/v1/intel/decay/default": {attack: probe{body: `{"model":"walk-fast"}`, status: 403},
			own: own(nadia, probe{body: `{"model":"standard"}`, want: []string{`"default":"standard"`}}), deny: 403},
		"PUT /api/v1/intel/decay/sources": {attack: probe{body: `{"source":"feed:isolation-rjz-feed","model":"walk-fast"}`, status: 403},
			own: own(nadia, probe{body: `{"source":"walk:*","model":"walk-fast"}`, want: []string{`"source":"walk:*"`}}), deny: 403},
		"GET /api/v1/intel/verdicts": {attack: probe{path: "/api/v1/intel/verdicts?indicator=" + bred.ID, want: nil},
			own: own(alice, probe{want: []string{ared.ID, "alert:AL-walk-rj1"}}), deny: 200, seers: rj1Readers},
		"GET /api/v1/intel/sightings": {attack: probe{path: "/api/v1/intel/sightings?indicator=" + bred.ID, want: nil},
			own: own(alice, probe{want: []string{ared.ID, `"org":"RJ1"`}}), deny: 200, seers: rj1Readers},
		"GET /api/v1/intel/sightings/stix": {attack: probe{path: "/api/v1/intel/sightings/stix?indicator=" + bred.ID},
			own: own(alice, probe{want: []string{ared.ID, `"count":3`}}), deny: 200, seers: rj1Readers},
		"GET /intel": {attack: probe{path: "/intel?q=rjz-red"},
			own: own(alice, probe{path: "/intel?q=rj1-red", want: []string{ared.ID}}), deny: 200},
		"GET /intel/objects/{id}": {attack: probe{path: "/intel/objects/" + bred.ID, status: 404},
			own: own(alice, probe{path: "/intel/objects/" + ared.ID, want: []string{"rj1-red.example", ared.ID, "score-explained", "alert:AL-walk-rj1"}}), deny: 404},
		"GET /intel/feeds": {own: own(alice, probe{want: []string{af.Name, "feed:" + af.Name}}), deny: 200},
		"GET /api/v1/intel/feeds": {
			own: own(alice, probe{want: []string{af.ID, af.Name}}), deny: 200},
		"POST /api/v1/intel/feeds": {attack: probe{body: addFeed(bc), status: 404},
			own: own(alice, probe{body: addFeed(ac), status: 201, want: []string{"walk feed", ac.ID}}), deny: 404},
		"GET /api/v1/intel/feeds/{id}": {attack: probe{path: "/api/v1/intel/feeds/" + bf.ID, status: 404},
			own: own(alice, probe{path: "/api/v1/intel/feeds/" + af.ID, want: []string{af.Name}}), deny: 404},
		"POST /api/v1/intel/feeds/{id}/pull": {attack: probe{path: "/api/v1/intel/feeds/" + bf.ID + "/pull", status: 404},
			own: own(alice, probe{path: "/api/v1/intel/feeds/" + af.ID + "/pull", want: []string{af.ID}}), deny: 404},
		"PATCH /api/v1/intel/feeds/{id}": {attack: probe{path: "/api/v1/intel/feeds/" + bf.ID, body: `{"enabled":false}`, status: 404},
			own: own(alice, probe{path: "/api/v1/intel/feeds/" + apiEdit.ID, body: `{"interval_seconds":7200,"enabled":false}`, want: []string{apiEdit.Name, `"enabled":false`, `"interval_seconds":7200`}}), deny: 404},
		"DELETE /api/v1/intel/feeds/{id}": {attack: probe{path: "/api/v1/intel/feeds/" + bf.ID, status: 404},
			own: own(alice, probe{path: "/api/v1/intel/feeds/" + apiGone.ID, status: 204}), deny: 404},
		"POST /intel/feeds/{id}/edit": {attack: probe{path: "/intel/feeds/" + bf.ID + "/edit", body: "interval=2h&enabled=no", status: 404},
			own: own(alice, probe{path: "/intel/feeds/" + webEdit.ID + "/edit", body: "interval=2h&enabled=no", status: 303}), deny: 404},
		"POST /intel/feeds/{id}/remove": {attack: probe{path: "/intel/feeds/" + bf.ID + "/remove", status: 404},
			own: own(alice, probe{path: "/intel/feeds/" + webGone.ID + "/remove", status: 303}), deny: 404},
		"GET /api/v1/intel/collections": {
			own: own(alice, probe{want: []string{ac.ID, ac.Title}}), deny: 200},
		"GET /api/v1/intel/collections/{id}": {attack: probe{path: base + bc.ID, status: 404},
			own: own(alice, probe{path: base + ac.ID, want: []string{ac.Title}}), deny: 404},
		"GET /api/v1/intel/collections/{id}/grants": {attack: probe{path: base + bc.ID + "/grants", status: 404},
			own: own(alice, probe{path: base + ac.ID + "/grants", want: []string{`"org":"RJ1CH"`}}), deny: 404},
		"POST /api/v1/intel/collections/{id}/grants": {attack: probe{path: base + bc.ID + "/grants", body: grant("RJ1"), status: 404},
			own: own(alice, probe{path: base + ac.ID + "/grants", body: grant("RJ1CH"), want: []string{`"org":"RJ1CH"`}}), deny: 404},
		"GET /api/v1/intel/collections/{id}/objects": {attack: probe{path: base + bc.ID + "/objects", status: 404},
			own: own(alice, probe{path: base + ac.ID + "/objects", want: []string{ared.ID, "rj1-red.example"}}), deny: 404},
		"GET /api/v1/intel/collections/{id}/misp/{file}": {attack: probe{path: base + bc.ID + "/misp/manifest.json", status: 404},
			own: own(alice, probe{path: base + ac.ID + "/misp/hashes.csv", want: []string{md5hex("rj1-red.example")}}), deny: 404},
		"GET /api/v1/intel/collections/{id}/blocklist.csv": {attack: probe{path: base + bc.ID + "/blocklist.csv", status: 404},
			own: own(alice, probe{path: base + ac.ID + "/blocklist.csv", want: []string{"rj1-red.example", ared.ID}}), deny: 404},
		"GET /api/v1/intel/objects/{id}/recipients": {attack: probe{path: "/api/v1/intel/objects/" + bred.ID + "/recipients", status: 404},
			own: own(alice, probe{path: "/api/v1/intel/objects/" + ared.ID + "/recipients", want: []string{w.user[alice].ID}}), deny: 404},
		"GET /api/v1/intel/search": {attack: probe{path: "/api/v1/intel/search?q=rjz-red"},
			own: own(alice, probe{path: "/api/v1/intel/search?q=rj1-red", want: []string{ared.ID}}), deny: 200},
		"GET /api/v1/intel/objects/{id}/detections": {attack: probe{path: objs + bred.ID + "/detections", status: 404},
			own: own(alice, probe{path: objs + ared.ID + "/detections", want: []string{`"techniques"`, `"rules_read":true`}}), deny: 404},
		"POST /api/v1/intel/objects/{id}/links": {attack: probe{path: objs + bred.ID + "/links", body: `{"technique":"T1071"}`, status: 404},
			own: own(alice, probe{path: objs + ared.ID + "/links", body: `{"technique":"T1071"}`, status: 201, want: []string{`"relationship_type":"indicates"`, tech.ID}}), deny: 404},
		"POST /api/v1/intel/objects/{id}/versions": {attack: probe{path: objs + bred.ID + "/versions", body: `{"confidence":5}`, status: 404},
			own: own(alice, probe{path: objs + ared.ID + "/versions", body: `{"confidence":55,"labels":["walk"]}`, status: 201, want: []string{`"confidence":55`, ared.ID}}), deny: 404},
		"POST /intel/objects/{id}/share": {attack: probe{path: "/intel/objects/" + bred.ID + "/share", body: "kind=org&recipient=RJ1", status: 404},
			own: own(alice, probe{path: "/intel/objects/" + ared.ID + "/share", body: "kind=org&recipient=RJ1CH", status: 303}), deny: 404},
		"POST /intel/objects/{id}/links": {attack: probe{path: "/intel/objects/" + bred.ID + "/links", body: "technique=T1071", status: 404},
			own: own(alice, probe{path: "/intel/objects/" + ared.ID + "/links", body: "technique=T1071", status: 303}), deny: 404},
		"POST /intel/objects/{id}/edit": {attack: probe{path: "/intel/objects/" + bred.ID + "/edit", body: "confidence=5", status: 404},
			own: own(alice, probe{path: "/intel/objects/" + ared.ID + "/edit", body: "confidence=60&labels=walk", status: 303}), deny: 404},
		"POST /api/v1/intel/objects/{id}/recipients": {attack: probe{path: "/api/v1/intel/objects/" + bred.ID + "/recipients", body: `{"kind":"org","recipient":"RJ1"}`, status: 404},
			own: own(alice, probe{path: "/api/v1/intel/objects/" + ared.ID + "/recipients", body: `{"kind":"org","recipient":"RJ1CH"}`, status: 201, want: []string{"RJ1CH"}}), deny: 404},
	}
}

// TestTLPRedEveryPath is issue 19's "a trust user never sees a TLP:RED
// object not shared with them through any path". Nadia publishes a
// national collection to every organisation with a TLP:GREEN and a
// TLP:RED indicator. Alice (a trust's administrator) reads the GREEN
// one by every path — TAXII objects, object, versions and manifest; the
// API's objects, MISP feed (manifest, hashes, every event file) and CSV
// blocklist; the web's search and object pages — and the RED one by
// none, nor its recipients. Shared with
// RJ1, it reaches Alice by every path, and still not Bob of RJZ.
func TestTLPRedEveryPath(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	ntok := tokenFor(t, s, "nadia@nhs.test", scope.NationalAnalyst, "ENG")
	nadia, err := s.Auth.GetUser(ctx, scope.System("test"), "nadia@nhs.test")
	if err != nil {
		t.Fatal(err)
	}
	nsc, err := s.Auth.ScopeFor(ctx, nadia.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Intel.CreateCollection(ctx, nsc, intel.CollectionOptions{Title: "National indicators", TLPCeiling: stix.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.GrantCollection(ctx, nsc, c.ID, intel.GrantOptions{Org: "ENG", Read: true}); err != nil {
		t.Fatal(err)
	}
	green := redIndicator(t, "national-green.example", stix.TLP2Green)
	red := redIndicator(t, "national-red-secret.example", stix.TLP2Red)
	strict := redIndicator(t, "national-strict-secret.example", stix.TLP2AmberStrict)
	// A GREEN report about all three, and a grouping of the RED one alone:
	// a reader who may not see the RED and AMBER+STRICT ones gets the
	// report without their ids in object_refs, and no grouping.
	report := refsObject(t, "report", "report--7b1e1c4a-8e0d-4c7d-9e9b-3a2c1b0a9f87", green.ID, red.ID, strict.ID)
	grouping := refsObject(t, "grouping", "grouping--8c2f2d5b-9f1e-4d8e-8f0c-4b3d2c1b0a98", red.ID)
	// GREEN objects that point at the RED one by other references: a
	// relationship (left out for a non-recipient), a sighting of it
	// (left out), a note about both (keeping the GREEN ref) and a malware
	// created by a RED identity (keeping no created_by_ref).
	refObj := func(m map[string]any) *stix.Object {
		t.Helper()
		m["spec_version"], m["created"], m["modified"] = "2.1", "2026-12-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z"
		m["object_marking_refs"] = []string{stix.TLP2Green}
		b, _ := json.Marshal(m)
		o, err := stix.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	redIdentity := refObj(map[string]any{"type": "identity", "id": "identity--5d1f2e3a-4b5c-4d6e-8f70-819203a4b5c6", "name": "national secret source"})
	if err := redIdentity.Set("object_marking_refs", []string{stix.TLP2Red}); err != nil {
		t.Fatal(err)
	}
	rel := refObj(map[string]any{"type": "relationship", "id": "relationship--9d3f3e6c-0a2f-4e9f-9a1c-5c4e3d2c1ba9", "relationship_type": "related-to",
		"source_ref": green.ID, "target_ref": red.ID})
	sighting := refObj(map[string]any{"type": "sighting", "id": "sighting--0e4a4f7d-1b3a-4fa0-8b2d-6d5f4e3d2cba", "sighting_of_ref": red.ID})
	note := refObj(map[string]any{"type": "note", "id": "note--1f5b5a8e-2c4b-4ab1-9c3e-7e6a5f4e3dcb", "content": "national note", "object_refs": []string{green.ID, red.ID}})
	mal := refObj(map[string]any{"type": "malware", "id": "malware--2a6c6b9f-3d5c-4bc2-8d4f-8f7b6a5f4edc", "name": "national-green-malware", "is_family": true,
		"created_by_ref": redIdentity.ID})
	if _, err := s.Intel.ImportInto(ctx, nsc, c.ID, "national", []*stix.Object{green, red, strict, report, grouping, redIdentity, rel, sighting, note, mal}); err != nil {
		t.Fatal(err)
	}
	// Vigil's own sightings of the RED indicator in RJ1's events.
	if err := s.Intel.RecordSightings(ctx, []intel.Sighting{{Indicator: red.ID, Org: "RJ1", Count: 1, LastSeen: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	get := func(tok, path, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url(path), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const taxiiJSON = "application/taxii+json;version=2.1"
	// every path a reader has to the collection, with its answers.
	// The web's intelligence pages, signed in as the token's owner.
	browsers := map[string]*browser{}
	webGet := func(tok, path string) (int, string) {
		t.Helper()
		res, err := browsers[tok].c.Get(s.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	paths := func(tok string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, p := range []string{"/intel?q=national", "/intel?q=secret", "/intel?type=indicator", "/intel/objects/" + green.ID,
			"/intel/objects/" + red.ID, "/intel/objects/" + strict.ID, "/intel/feeds"} {
			_, out["web "+p] = webGet(tok, p)
		}
		root := "/taxii2/" + taxiiRoot + "/collections/" + c.ID + "/"
		for _, p := range []string{root + "objects/", root + "manifest/", root + "objects/" + green.ID + "/", root + "objects/" + green.ID + "/versions/",
			root + "objects/" + red.ID + "/", root + "objects/" + red.ID + "/versions/", root + "objects/?match[type]=indicator&match[version]=all",
			root + "manifest/?match[type]=indicator&match[version]=all", root + "objects/" + red.ID + "/versions/?match[spec_version]=2.1"} {
			_, out["TAXII "+p] = get(tok, p, taxiiJSON)
		}
		api := "/api/v1/intel/collections/" + c.ID
		for _, p := range []string{api + "/objects", api + "/objects?type=indicator", api + "/blocklist.csv", api + "/misp/manifest.json", api + "/misp/hashes.csv",
			"/api/v1/intel/objects/" + red.ID + "/recipients", "/api/v1/intel/objects/" + strict.ID + "/recipients",
			"/api/v1/intel/sightings", "/api/v1/intel/sightings/stix"} {
			_, out["API "+p] = get(tok, p, "")
		}
		for _, u := range regexp.MustCompile(`"([0-9a-f-]{36})":`).FindAllStringSubmatch(out["API "+api+"/misp/manifest.json"], -1) {
			p := api + "/misp/" + u[1] + ".json"
			_, out["API "+p] = get(tok, p, "")
		}
		return out
	}
	secrets := []string{red.ID, "national-red-secret.example", md5hex("national-red-secret.example"), strict.ID, "national-strict-secret.example", redIdentity.ID}
	check := func(who, tok string, wantRed bool) {
		t.Helper()
		seenGreen, seenRed, seenIdentity := 0, 0, 0
		for p, body := range paths(tok) {
			if strings.Contains(body, "national-green.example") || strings.Contains(body, md5hex("national-green.example")) {
				seenGreen++
			}
			for _, sec := range secrets[:3] {
				// A 404 naming the id asked for says nothing new.
				if strings.Contains(body, sec) && !strings.Contains(p, sec) {
					seenRed++
					if !wantRed {
						t.Errorf("%s sees %q by %s:\n%.300s", who, sec, p, body)
					}
				}
			}
			for _, sec := range secrets[3:] {
				if strings.Contains(body, sec) && !strings.Contains(p, sec) && who != "nadia" {
					t.Errorf("%s sees the AMBER+STRICT object or the RED identity by %s", who, p)
				}
			}
			if strings.Contains(body, redIdentity.ID) && who == "nadia" {
				seenIdentity++
			}
			for _, id := range []string{rel.ID, sighting.ID} {
				if strings.Contains(body, id) && !wantRed {
					t.Errorf("%s gets %s, which is about the RED indicator, by %s", who, id, p)
				}
			}
		}
		if seenGreen < 11 {
			t.Errorf("%s sees the GREEN indicator by only %d paths", who, seenGreen)
		}
		if wantRed && seenRed < 10 {
			t.Errorf("%s sees the RED indicator by only %d paths", who, seenRed)
		}
		if who == "nadia" && seenIdentity < 4 {
			t.Errorf("nadia sees the RED identity by only %d paths", seenIdentity)
		}
	}
	browsers[ntok] = signInBrowser(t, s, "nadia@nhs.test", "correct horse battery")
	browsers[f.aliceTok] = signInBrowser(t, s, f.alice.Email, "correct horse battery")
	browsers[f.bobTok] = signInBrowser(t, s, f.bob.Email, "correct horse battery")
	check("nadia", ntok, true)
	check("alice", f.aliceTok, false)
	objs := paths(f.aliceTok)["TAXII /taxii2/"+taxiiRoot+"/collections/"+c.ID+"/objects/"]
	if !strings.Contains(objs, report.ID) || !strings.Contains(objs, `"object_refs":["`+green.ID+`"]`) || strings.Contains(objs, grouping.ID) {
		t.Errorf("alice's objects: the report should keep only the GREEN ref and the grouping be left out:\n%s", objs)
	}
	if !strings.Contains(objs, `"object_refs":["`+green.ID+`"]`) || !strings.Contains(objs, note.ID) || !strings.Contains(objs, mal.ID) || strings.Contains(objs, "created_by_ref") {
		t.Errorf("alice's objects: the note should keep only the GREEN ref, the malware no created_by_ref:\n%s", objs)
	}
	if objs := paths(ntok)["TAXII /taxii2/"+taxiiRoot+"/collections/"+c.ID+"/objects/"]; !strings.Contains(objs, grouping.ID) ||
		!strings.Contains(objs, rel.ID) || !strings.Contains(objs, sighting.ID) || !strings.Contains(objs, `"created_by_ref":"`+redIdentity.ID) {
		t.Errorf("nadia does not see the grouping, relationship, sighting and malware whole: %s", objs)
	}
	// The object page's relationships (the graph): the GREEN indicator's
	// names the RED one to nadia and to nobody else.
	if page := paths(ntok)["web /intel/objects/"+green.ID]; !strings.Contains(page, "/intel/objects/"+red.ID) {
		t.Errorf("nadia's page of the GREEN indicator lacks its relationship to the RED one")
	}
	check("bob", f.bobTok, false)
	if _, err := s.Intel.Share(ctx, nsc, red.ID, "org", "RJ1"); err != nil {
		t.Fatal(err)
	}
	check("alice after sharing with RJ1", f.aliceTok, true)
	// A read grant lets her see the collection but not add to it: TAXII's 403.
	req, _ := http.NewRequest("POST", s.url("/taxii2/"+taxiiRoot+"/collections/"+c.ID+"/objects/"), strings.NewReader(`{"objects":[]}`))
	req.Header.Set("Authorization", "Bearer "+f.aliceTok)
	req.Header.Set("Accept", taxiiJSON)
	req.Header.Set("Content-Type", taxiiJSON)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("alice POSTs to a collection she may only read: %d, want 403", res.StatusCode)
	}
	check("bob after sharing with RJ1", f.bobTok, false)
	// A writer who is no recipient cannot DELETE the RED object: for them
	// it is not in the collection (404), and it stays.
	if _, err := s.Intel.GrantCollection(ctx, nsc, c.ID, intel.GrantOptions{Org: "RJZ", Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("DELETE", s.url("/taxii2/"+taxiiRoot+"/collections/"+c.ID+"/objects/"+red.ID+"/"), nil)
	req.Header.Set("Authorization", "Bearer "+f.bobTok)
	req.Header.Set("Accept", taxiiJSON)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || strings.Contains(string(b), "national-red-secret") {
		t.Errorf("bob DELETEs the RED object: %d %s, want 404", res.StatusCode, b)
	}
	check("nadia", ntok, true) // after Bob's DELETE
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
