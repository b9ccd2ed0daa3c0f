package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestIntelPages: the intelligence pages as a signed-in analyst meets
// them — search, an indicator's page with its relationship drawn as an
// SVG graph (no inline script, under the server's CSP) and listed, and
// the feeds page.
func TestIntelPages(t *testing.T) {
	s := startWith(t, nil)
	ctx := context.Background()
	_, nsc := publisher(t, s)
	c, err := s.Intel.CreateCollection(ctx, nsc, intel.CollectionOptions{Title: "National", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	const ts = `"created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","spec_version":"2.1"`
	var objs []*stix.Object
	for _, js := range []string{
		`{"type":"indicator","id":"indicator--11111111-1111-4111-8111-111111111111",` + ts + `,"name":"QakBot C2","pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","object_marking_refs":["` + stix.TLP2Green + `"]}`,
		`{"type":"malware","id":"malware--44444444-4444-4444-8444-444444444444",` + ts + `,"name":"QakBot","is_family":true}`,
		`{"type":"relationship","id":"relationship--66666666-6666-4666-8666-666666666666",` + ts + `,"relationship_type":"indicates","source_ref":"indicator--11111111-1111-4111-8111-111111111111","target_ref":"malware--44444444-4444-4444-8444-444444444444"}`,
	} {
		o, err := stix.Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if _, err := s.Intel.ImportInto(ctx, nsc, c.ID, "national.json", objs); err != nil {
		t.Fatal(err)
	}
	b := signInBrowser(t, s, "publisher@nhs.test", "correct horse battery")
	page := func(path string) string {
		t.Helper()
		res, err := b.c.Get(s.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src") {
			t.Fatalf("%s: %d %v", path, res.StatusCode, res.Header)
		}
		if strings.Contains(string(body), "<script>") || strings.Contains(string(body), " onclick=") {
			t.Errorf("%s has inline script", path)
		}
		return string(body)
	}
	if p := page("/intel?q=qakbot"); !strings.Contains(p, "/intel/objects/indicator--11111111-1111-4111-8111-111111111111") || !strings.Contains(p, "/intel/objects/malware--44444444-4444-4444-8444-444444444444") {
		t.Errorf("search: %.2000s", p)
	}
	p := page("/intel/objects/indicator--11111111-1111-4111-8111-111111111111")
	for _, want := range []string{"<svg", `<a href="/intel/objects/malware--44444444-4444-4444-8444-444444444444">`, "indicates", "TLP:GREEN", "national.json", "QakBot (malware)", "Matching", "stops matching under 20.0",
		"Decay model <strong class=\"code\">standard</strong>", "a half-life of 90.0 days for domain", "No organisation you read holds it a false positive"} {
		if !strings.Contains(p, want) {
			t.Errorf("object page lacks %q", want)
		}
	}
	if p := page("/intel/objects/malware--44444444-4444-4444-8444-444444444444"); !strings.Contains(p, "other → this") {
		t.Errorf("the malware's page does not list the relationship in")
	}
	if p := page("/intel/feeds"); !strings.Contains(p, "No feed") {
		t.Errorf("feeds page: %.1000s", p)
	}

	// The feeds page's forms: change a feed (the CSRF token required, a
	// bad interval named, an empty password keeping the stored one),
	// then remove it.
	f, err := s.Intel.AddFeed(ctx, nsc, intel.FeedOptions{Name: "Partner CERT", URL: "https://partner.example/taxii2/", RemoteCollection: "c1", Collection: c.ID,
		AuthKind: "basic", AuthUser: "vigil", AuthSecret: "web-form-password"})
	if err != nil {
		t.Fatal(err)
	}
	p = page("/intel/feeds")
	for _, want := range []string{`action="/intel/feeds/` + f.ID + `/edit"`, `action="/intel/feeds/` + f.ID + `/remove"`, `name="csrf"`, `value="1h0m0s"`} {
		if !strings.Contains(p, want) {
			t.Errorf("feeds page lacks %q", want)
		}
	}
	if strings.Contains(p, "web-form-password") || strings.Contains(p, "vigil-sealed") {
		t.Error("the feeds page shows the password")
	}
	edit := url.Values{"name": {"Partner CERT"}, "url": {"https://partner.example/taxii2/"}, "remote_collection": {"c1"}, "page_size": {"0"}, "collection": {c.ID},
		"interval": {"6h"}, "enabled": {"no"}, "auth": {"basic"}, "auth_user": {"vigil"}, "auth_secret": {""}}
	if st := b.post(t, s.url("/intel/feeds/"+f.ID+"/edit"), edit); st != http.StatusForbidden {
		t.Errorf("edit without the CSRF token: %d", st)
	}
	edit.Set("csrf", b.csrf)
	bad := url.Values{}
	for k, v := range edit {
		bad[k] = v
	}
	bad.Set("interval", "often")
	res, err := b.c.PostForm(s.url("/intel/feeds/"+f.ID+"/edit"), bad)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=") || !strings.Contains(strings.ToLower(loc), "interval") {
		t.Errorf("a bad interval: %d %s", res.StatusCode, loc)
	}
	if st := b.post(t, s.url("/intel/feeds/"+f.ID+"/edit"), edit); st != http.StatusSeeOther {
		t.Fatalf("edit: %d", st)
	}
	g, err := s.Intel.FeedSpecOf(ctx, f.ID)
	if err != nil || g.IntervalSeconds != 21600 || g.Enabled || g.Secret != "web-form-password" || g.Name != "Partner CERT" {
		t.Errorf("after the form: %+v %q %v", g.Feed, g.Secret, err)
	}
	if p = page("/intel/feeds?done=edited"); !strings.Contains(p, "the feed is changed") || !strings.Contains(p, "disabled") {
		t.Errorf("feeds page after the edit: %.2000s", p)
	}
	if st := b.post(t, s.url("/intel/feeds/"+f.ID+"/remove"), url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("remove: %d", st)
	}
	if p = page("/intel/feeds"); !strings.Contains(p, "No feed") {
		t.Errorf("feeds page after the removal: %.1000s", p)
	}
}
