package app

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestTAXIIDeleteAndFilters: over HTTP as a TAXII client, match[…]
// filters on the manifest and versions endpoints; DELETE
// …/objects/{id}/ of one version, then the rest (403 for a reader, 404
// for what is not there); and a throttled Basic sign-in answered 429
// with Retry-After.
func TestTAXIIDeleteAndFilters(t *testing.T) {
	s := startWith(t, nil)
	f := newFixture(t, s)
	ctx := context.Background()
	sc, err := s.Auth.ScopeFor(ctx, f.alice.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Intel.CreateCollection(ctx, sc, intel.CollectionOptions{Title: "RJ1 indicators", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	const indID = "indicator--6a0d0b3f-7d9c-4b6c-8d8a-2f1b0a9f8e76"
	version := func(mod string) *stix.Object {
		o, err := stix.Parse([]byte(`{"type":"indicator","spec_version":"2.1","id":"` + indID + `","created":"2026-12-01T00:00:00.000Z","modified":"` + mod + `",
 "pattern":"[domain-name:value = 'delete-me.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z"}`))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	sco, _ := stix.NewSCO("domain-name", map[string]any{"value": "keep-me.example"})
	if _, err := s.Intel.ImportInto(ctx, sc, c.ID, "delete-test", []*stix.Object{version("2026-12-01T00:00:00.000Z"), version("2026-12-02T00:00:00.000Z"), sco}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.GrantCollection(ctx, sc, c.ID, intel.GrantOptions{Org: "RJZ", Read: true}); err != nil {
		t.Fatal(err)
	}
	root := "/taxii2/" + taxiiRoot + "/collections/" + c.ID + "/"
	call := func(method, path, tok string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.url(path), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	for _, c := range []struct {
		path       string
		code       int
		want, miss []string
	}{
		{root + "manifest/?match[type]=indicator", 200, []string{indID, `"version":"2026-12-02T00:00:00.000Z"`}, []string{sco.ID, `"2026-12-01T00:00:00.000Z"`}},
		{root + "manifest/?match[type]=indicator&match[version]=all", 200, []string{`"version":"2026-12-01T00:00:00.000Z"`, `"version":"2026-12-02T00:00:00.000Z"`}, []string{sco.ID}},
		{root + "manifest/?match[id]=" + sco.ID, 200, []string{sco.ID}, []string{indID}},
		{root + "manifest/?match[version]=first&match[type]=indicator", 200, []string{`"2026-12-01T00:00:00.000Z"`}, []string{`"2026-12-02T00:00:00.000Z"`}},
		{root + "manifest/?match[spec_version]=2.0", 200, []string{`"more":false`}, []string{indID, sco.ID}},
		{root + "objects/" + indID + "/versions/?match[spec_version]=2.1", 200, []string{`"2026-12-01T00:00:00.000Z"`, `"2026-12-02T00:00:00.000Z"`}, nil},
		{root + "objects/" + indID + "/versions/?match[spec_version]=2.0", 404, nil, []string{"2026-12-02"}},
		{root + "objects/" + indID + "/?match[spec_version]=2.0", 404, nil, []string{"delete-me"}},
	} {
		code, _, body := call("GET", c.path, f.aliceTok)
		if code != c.code {
			t.Errorf("%s = %d %s, want %d", c.path, code, body, c.code)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %s in %s", c.path, w, body)
			}
		}
		for _, m := range c.miss {
			if strings.Contains(body, m) {
				t.Errorf("%s: %s in %s", c.path, m, body)
			}
		}
	}

	obj := root + "objects/" + indID + "/"
	if code, _, body := call("DELETE", obj, f.bobTok); code != 403 {
		t.Errorf("reader's DELETE = %d %s, want 403", code, body)
	}
	if code, _, body := call("DELETE", obj+"?match[version]=2026-12-09T00:00:00.000Z", f.aliceTok); code != 404 {
		t.Errorf("DELETE of a version not held = %d %s, want 404", code, body)
	}
	if code, _, body := call("DELETE", obj+"?match[version]=first", f.aliceTok); code != 200 || body != "" {
		t.Errorf("DELETE first = %d %q, want 200 and no body", code, body)
	}
	if _, _, body := call("GET", obj+"versions/", f.aliceTok); strings.Contains(body, "2026-12-01") || !strings.Contains(body, "2026-12-02") {
		t.Errorf("after deleting the first version: %s", body)
	}
	if code, _, body := call("DELETE", obj, f.aliceTok); code != 200 {
		t.Errorf("DELETE = %d %s", code, body)
	}
	if code, _, _ := call("GET", obj, f.aliceTok); code != 404 {
		t.Errorf("GET after DELETE = %d, want 404", code)
	}
	if code, _, _ := call("DELETE", obj, f.aliceTok); code != 404 {
		t.Errorf("DELETE again = %d, want 404", code)
	}
	if _, _, body := call("GET", root+"objects/", f.aliceTok); !strings.Contains(body, sco.ID) || strings.Contains(body, indID) {
		t.Errorf("objects after DELETE: %s", body)
	}
	// The store keeps the object (the matcher, other collections).
	if _, err := s.Intel.Get(ctx, indID); err != nil {
		t.Errorf("store lost the object: %v", err)
	}
	if e, ok := lastEntry(t, s, "intel.collection.remove"); !ok || e.ObjectID != c.ID {
		t.Errorf("audit entry %+v %v", e, ok)
	}

	// Basic sign-in guesses until the throttle refuses one: 429 with Retry-After.
	got429 := false
	for i := range 60 {
		req, _ := http.NewRequest("GET", s.url("/taxii2/"+taxiiRoot+"/collections/"), nil)
		req.SetBasicAuth(f.alice.Email, "guess "+strconv.Itoa(i))
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests {
			ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if err != nil || ra < 1 || !strings.Contains(string(b), `"http_status":"429"`) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/taxii+json") {
				t.Errorf("429: Retry-After %q, %s", res.Header.Get("Retry-After"), b)
			}
			got429 = true
			break
		}
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d %s", i, res.StatusCode, b)
		}
	}
	if !got429 {
		t.Error("60 wrong Basic passwords were never throttled")
	}
}
