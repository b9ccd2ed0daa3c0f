package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/intel/taxii"
	"github.com/vigil-health/vigil/internal/scope"
)

// taxiiIsolationChecks walks the TAXII server (/taxii2/). A collection
// is seen only by those it is granted to: Alice's RJ1 collection by
// Alice, Bob's RJZ one (its title is a leak string) by Bob, the national
// one by Nadia. Every other caller gets 404 for a collection, as if it
// did not exist, and a list without it. The walk calls with API tokens;
// TestTAXIIClient signs in with HTTP Basic.
func taxiiIsolationChecks(t *testing.T, s *Server, w world) map[string]routeCheck {
	t.Helper()
	ctx := context.Background()
	scopeOf := func(who string) scope.Scope {
		sc, err := s.Auth.ScopeFor(ctx, w.user[who].ID, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	coll := func(who, title, url string) (intel.Collection, *stix.Object) {
		sc := scopeOf(who)
		c, err := s.Intel.CreateCollection(ctx, sc, intel.CollectionOptions{Title: title, TLPCeiling: stix.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		o, err := stix.NewSCO("url", map[string]any{"value": url, "object_marking_refs": []string{stix.TLP2Amber}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Intel.ImportInto(ctx, sc, c.ID, "isolation", []*stix.Object{o}); err != nil {
			t.Fatal(err)
		}
		return c, o
	}
	ac, ao := coll(alice, "Isolation RJ1 intel", "http://rj1-only.example/")
	bc, bo := coll(bob, "RJZ intel", "http://rjz-only.example/")
	nc, no := coll(nadia, "Isolation national intel", "http://national.example/")
	root := "/taxii2/" + taxiiRoot + "/collections/"
	// A status each for Alice and Bob, of a POST made as a TAXII client does.
	post := func(who string, c intel.Collection, env string) string {
		req, _ := http.NewRequest("POST", s.url(root+c.ID+"/objects/"), strings.NewReader(env))
		req.Header.Set("Authorization", "Bearer "+w.tok[who])
		req.Header.Set("Accept", taxii.MediaTAXII)
		req.Header.Set("Content-Type", taxii.MediaTAXII)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st taxii.Status
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != 202 {
			t.Fatalf("POST as %s: %d %v", who, res.StatusCode, err)
		}
		return st.ID
	}
	envelope := func(url string) string {
		o, err := stix.NewSCO("url", map[string]any{"value": url})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"objects": []*stix.Object{o}})
		return string(b)
	}
	// An object each for Alice and Nadia to DELETE (the others stay for
	// the GETs, which the walk may run after).
	doomed := func(who string, c intel.Collection, url string) *stix.Object {
		o, err := stix.NewSCO("url", map[string]any{"value": url})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Intel.ImportInto(ctx, scopeOf(who), c.ID, "isolation", []*stix.Object{o}); err != nil {
			t.Fatal(err)
		}
		return o
	}
	ad, nd := doomed(alice, ac, "http://rj1-doomed.example/"), doomed(nadia, nc, "http://national-doomed.example/")
	aliceStatus := post(alice, ac, envelope("http://rj1-posted.example/"))
	bobStatus := post(bob, bc, envelope("http://rjz-posted.example/"))
	status := "/taxii2/" + taxiiRoot + "/status/"
	return map[string]routeCheck{
		"GET /taxii2/{$}": {
			own: own(alice, probe{want: []string{`"api_roots":["/taxii2/intel/"]`}}), deny: 200, seers: everyone},
		"GET /taxii2/{root}/{$}": {attack: probe{path: "/taxii2/RJZ/", status: 404},
			own: own(alice, probe{path: "/taxii2/intel/", want: []string{"application/taxii+json;version=2.1"}}), deny: 200, seers: everyone},
		"GET /taxii2/{root}/collections/{$}": {attack: probe{path: root},
			own:  own(alice, probe{path: root, want: []string{ac.ID, ac.Title}}, also(nadia, probe{path: root, want: []string{nc.ID, nc.Title}})),
			deny: 200},
		"GET /taxii2/{root}/collections/{id}/{$}": {attack: probe{path: root + bc.ID + "/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/", want: []string{ac.Title, `"can_read":true`}}, also(nadia, probe{path: root + nc.ID + "/", want: []string{nc.Title}})),
			deny: 404},
		"GET /taxii2/{root}/collections/{id}/objects/{$}": {attack: probe{path: root + bc.ID + "/objects/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/objects/", want: []string{ao.ID}}, also(nadia, probe{path: root + nc.ID + "/objects/", want: []string{no.ID}})),
			deny: 404},
		"GET /taxii2/{root}/collections/{id}/objects/{object}/{$}": {attack: probe{path: root + bc.ID + "/objects/" + bo.ID + "/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/objects/" + ao.ID + "/", want: []string{ao.ID}}, also(nadia, probe{path: root + nc.ID + "/objects/" + no.ID + "/", want: []string{no.ID}})),
			deny: 404},
		"GET /taxii2/{root}/collections/{id}/objects/{object}/versions/{$}": {attack: probe{path: root + bc.ID + "/objects/" + bo.ID + "/versions/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/objects/" + ao.ID + "/versions/", want: []string{`"versions":["`}}),
			deny: 404},
		"GET /taxii2/{root}/collections/{id}/manifest/{$}": {attack: probe{path: root + bc.ID + "/manifest/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/manifest/", want: []string{ao.ID}}, also(nadia, probe{path: root + nc.ID + "/manifest/", want: []string{no.ID}})),
			deny: 404},
		"POST /taxii2/{root}/collections/{id}/objects/{$}": {attack: probe{path: root + bc.ID + "/objects/", body: envelope("http://alice-was-here.example/"), status: 404},
			own: own(alice, probe{path: root + ac.ID + "/objects/", body: envelope("http://rj1-walk.example/"), status: 202, want: []string{`"success_count":1`}},
				also(nadia, probe{path: root + nc.ID + "/objects/", body: envelope("http://national-walk.example/"), status: 202, want: []string{`"success_count":1`}})),
			deny: 404},
		"DELETE /taxii2/{root}/collections/{id}/objects/{object}/{$}": {attack: probe{path: root + bc.ID + "/objects/" + bo.ID + "/", status: 404},
			own:  own(alice, probe{path: root + ac.ID + "/objects/" + ad.ID + "/"}, also(nadia, probe{path: root + nc.ID + "/objects/" + nd.ID + "/"})),
			deny: 404},
		"GET /taxii2/{root}/status/{id}/{$}": {attack: probe{path: status + bobStatus + "/", status: 404},
			own:  own(alice, probe{path: status + aliceStatus + "/", want: []string{aliceStatus, `"status":"complete"`}}),
			deny: 404},
	}
}
