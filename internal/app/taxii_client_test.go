package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestTAXIIClient is a TAXII 2.1 client other than Vigil's own: plain
// HTTP requests as the specification's examples make them (Accept
// application/taxii+json;version=2.1, HTTP Basic), decoding answers as
// bare JSON — nothing of package taxii. (taxii2-client, OASIS's Python
// client, cannot be installed here: PyPI is unreachable.) It discovers
// the server, lists collections, reads a collection a page at a time by
// next, posts an envelope and polls its status, then resumes with
// added_after from X-TAXII-Date-Added-Last.
func TestTAXIIClient(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	sc, err := s.Auth.ScopeFor(ctx, f.alice.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Intel.CreateCollection(ctx, sc, intel.CollectionOptions{Title: "RJ1 shared indicators", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	var objs []*stix.Object
	for i := range 25 {
		o, _ := stix.NewSCO("domain-name", map[string]any{"value": fmt.Sprintf("d%02d.example", i), "object_marking_refs": []string{stix.TLP2Amber}})
		objs = append(objs, o)
	}
	red, _ := stix.NewSCO("domain-name", map[string]any{"value": "red.example", "object_marking_refs": []string{stix.TLP2Red}})
	if _, err := s.Intel.ImportInto(ctx, sc, c.ID, "client-test", append(objs, red)); err != nil {
		t.Fatal(err)
	}

	const accept = "application/taxii+json;version=2.1"
	type answer struct {
		code int
		h    http.Header
		body map[string]any
	}
	call := func(method, path, user, pass, body string) answer {
		t.Helper()
		if !strings.HasPrefix(path, "http") {
			path = s.url(path)
		}
		req, _ := http.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Accept", accept)
		if body != "" {
			req.Header.Set("Content-Type", accept)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		a := answer{code: res.StatusCode, h: res.Header}
		if ct := res.Header.Get("Content-Type"); ct != accept {
			t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, accept)
		}
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Errorf("%s %s: %v\n%s", method, path, err, b)
		}
		return a
	}
	const pw = "correct horse battery"
	alice := f.alice.Email

	// No credentials, or wrong ones: 401 with a challenge.
	for _, a := range []answer{call("GET", "/taxii2/", "", "", ""), call("GET", "/taxii2/", alice, "wrong password", "")} {
		if a.code != 401 || !strings.HasPrefix(a.h.Get("WWW-Authenticate"), "Basic ") || a.body["http_status"] != "401" {
			t.Fatalf("unauthenticated: %d %v %v", a.code, a.h, a.body)
		}
	}
	// Discovery → the default API root → its collections.
	d := call("GET", "/taxii2/", alice, pw, "")
	rootURL, _ := d.body["default"].(string)
	if d.code != 200 || rootURL == "" {
		t.Fatalf("discovery: %d %v", d.code, d.body)
	}
	root := call("GET", rootURL, alice, pw, "")
	if vs, _ := root.body["versions"].([]any); root.code != 200 || len(vs) == 0 || vs[0] != accept {
		t.Fatalf("API root: %d %v", root.code, root.body)
	}
	cs := call("GET", rootURL+"collections/", alice, pw, "")
	var coll map[string]any
	list, _ := cs.body["collections"].([]any)
	for _, x := range list {
		if m := x.(map[string]any); m["title"] == "RJ1 shared indicators" {
			coll = m
		}
	}
	if coll == nil || coll["can_read"] != true || coll["can_write"] != true {
		t.Fatalf("collections: %v", cs.body)
	}
	objects := rootURL + "collections/" + coll["id"].(string) + "/objects/"

	// Page by next, 10 at a time: every AMBER object once, never the RED one.
	seen := map[string]bool{}
	next, pages, last := "", 0, ""
	for {
		q := url.Values{"limit": {"10"}}
		if next != "" {
			q.Set("next", next)
		}
		p := call("GET", objects+"?"+q.Encode(), alice, pw, "")
		if p.code != 200 {
			t.Fatalf("page %d: %d %v", pages, p.code, p.body)
		}
		pages++
		page, _ := p.body["objects"].([]any)
		for _, o := range page {
			id := o.(map[string]any)["id"].(string)
			if seen[id] {
				t.Errorf("page %d repeats %s", pages, id)
			}
			seen[id] = true
		}
		if len(page) > 0 {
			if p.h.Get("X-TAXII-Date-Added-First") == "" || p.h.Get("X-TAXII-Date-Added-Last") == "" {
				t.Errorf("page %d lacks X-TAXII-Date-Added-First/Last: %v", pages, p.h)
			}
			last = p.h.Get("X-TAXII-Date-Added-Last")
		}
		if p.body["more"] != true {
			break
		}
		next, _ = p.body["next"].(string)
		if next == "" || pages > 10 {
			t.Fatalf("page %d: more without next: %v", pages, p.body)
		}
	}
	if pages != 3 || len(seen) != 25 || seen[red.ID] {
		t.Errorf("paged %d objects in %d pages (want 25 in 3); RED object served: %v", len(seen), pages, seen[red.ID])
	}

	// POST an envelope, then poll its status until it is complete.
	post := []map[string]any{
		{"type": "indicator", "spec_version": "2.1", "id": "indicator--0b3c5ab4-8a41-4d2c-a1b5-3fd0c3f7f5a1", "created": "2026-12-01T09:00:00.000Z",
			"modified": "2026-12-01T09:00:00.000Z", "name": "Phishing domain", "pattern": "[domain-name:value = 'phish.example']",
			"pattern_type": "stix", "valid_from": "2026-12-01T09:00:00Z", "object_marking_refs": []string{stix.TLP2Green}},
		{"type": "domain-name", "spec_version": "2.1", "id": "domain-name--5f0a2e7e-8a1a-5b8e-9c1e-000000000001", "value": "phish.example"},
	}
	b, _ := json.Marshal(map[string]any{"objects": post})
	time.Sleep(2 * time.Millisecond) // a later date added than the last page's
	a := call("POST", objects, alice, pw, string(b))
	if a.code != 202 || a.body["id"] == nil {
		t.Fatalf("POST: %d %v", a.code, a.body)
	}
	statusURL := rootURL + "status/" + a.body["id"].(string) + "/"
	var st map[string]any
	for range 50 {
		r := call("GET", statusURL, alice, pw, "")
		if st = r.body; r.code != 200 || st["status"] == "complete" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st["status"] != "complete" || st["success_count"] != 2.0 || st["total_count"] != 2.0 {
		t.Fatalf("status: %v", st)
	}
	// Resume from the last page's X-TAXII-Date-Added-Last: exactly what was posted.
	r := call("GET", objects+"?"+url.Values{"added_after": {last}}.Encode(), alice, pw, "")
	got := map[string]bool{}
	page, _ := r.body["objects"].([]any)
	for _, o := range page {
		got[o.(map[string]any)["id"].(string)] = true
	}
	if len(got) != 2 || !got["indicator--0b3c5ab4-8a41-4d2c-a1b5-3fd0c3f7f5a1"] {
		t.Errorf("added_after %s: %v", last, r.body)
	}

	// The same with an API token; Bob's password does not open Alice's collection.
	req, _ := http.NewRequest("GET", s.url(objects+"?limit=1"), nil)
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", "Bearer "+f.aliceTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("API token: %d", res.StatusCode)
	}
	if a := call("GET", objects, f.bob.Email, pw, ""); a.code != 404 {
		t.Errorf("bob reads alice's collection: %d %v", a.code, a.body)
	}
	// A web session's cookie is no TAXII credential.
	sess, err := s.Auth.StartSession(ctx, f.alice.ID, "127.0.0.1", "taxii-test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", s.url("/taxii2/"), nil)
	req.Header.Set("Accept", accept)
	req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: sess.Secret})
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("session cookie on /taxii2/: %d, want 401", res.StatusCode)
	}
	// A client that does not accept TAXII 2.1 gets 406.
	req, _ = http.NewRequest("GET", s.url(rootURL), nil)
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(alice, pw)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 406 {
		t.Errorf("Accept: application/json: %d, want 406", res.StatusCode)
	}
}
