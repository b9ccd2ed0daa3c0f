package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
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
		`{"type":"attack-pattern","id":"attack-pattern--77777777-7777-4777-8777-777777777777",` + ts + `,"name":"Application Layer Protocol","external_references":[{"source_name":"mitre-attack","external_id":"T1071"}]}`,
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
	// Links, edits and shares from the object page (issue 19 item 9).
	const ruleID = "5d3a1f62-1c0e-4a57-9a55-0e7f7c1b2071"
	if _, err := s.Rules.Import(ctx, nsc, "tests", "", []rules.File{{Name: "c2.yml", Data: []byte(`title: C2 over HTTP
id: ` + ruleID + `
status: test
tags: [attack.command_and_control, attack.t1071]
logsource: {product: windows, category: network_connection}
detection: {selection: {DestinationHostname: c2.example}, condition: selection}
level: high
`)}}); err != nil {
		t.Fatal(err)
	}
	ind := "/intel/objects/indicator--11111111-1111-4111-8111-111111111111"
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {b.csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	if st := b.post(t, s.url(ind+"/links"), form("technique", "T9999")); st != 422 {
		t.Errorf("a link to an unknown technique: %d", st)
	}
	if st := b.post(t, s.url(ind+"/links"), form("technique", "T1071")); st != 303 {
		t.Errorf("link: %d", st)
	}
	p = page(ind)
	for _, want := range []string{"/rules/" + ruleID, "C2 over HTTP", "T1071 Application Layer Protocol", "relationship indicates", "Save a new version", `name="csrf"`} {
		if !strings.Contains(p, want) {
			t.Errorf("the linked indicator's page lacks %q", want)
		}
	}
	p = page("/intel/objects/attack-pattern--77777777-7777-4777-8777-777777777777")
	if !strings.Contains(p, "Indicators of this technique") || !strings.Contains(p, ind) || !strings.Contains(p, "/rules/"+ruleID) {
		t.Errorf("the technique's page: %.3000s", p)
	}
	if p := page("/rules/" + ruleID); !strings.Contains(p, "/intel/objects/attack-pattern--77777777-7777-4777-8777-777777777777") {
		t.Errorf("the rule's page does not link its technique")
	}
	if st := b.post(t, s.url(ind+"/edit"), form("confidence", "500", "valid_until", "", "labels", "")); st != 422 {
		t.Errorf("confidence 500: %d", st)
	}
	if st := b.post(t, s.url(ind+"/edit"), form("confidence", "70", "valid_until", "2027-03-01", "labels", "c2, loader")); st != 303 {
		t.Errorf("edit: %d", st)
	}
	edited, err := s.Intel.Get(ctx, "indicator--11111111-1111-4111-8111-111111111111")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"confidence": `70`, "valid_until": `"2027-03-01T00:00:00.000Z"`, "labels": `["c2","loader"]`} {
		if got := string(edited.Props[k]); got != want {
			t.Errorf("the edited indicator's %s: %s, want %s", k, got, want)
		}
	}
	if e, ok := lastEntry(t, s, "intel.object.edit"); !ok || e.ObjectID != "indicator--11111111-1111-4111-8111-111111111111" {
		t.Errorf("the edit is not audited: %+v", e)
	}
	if st := b.post(t, s.url(ind+"/edit"), url.Values{"confidence": {"10"}}); st != 403 {
		t.Errorf("an edit without the CSRF token: %d", st)
	}
	// Sharing a TLP:RED indicator from its page.
	rc, err := s.Intel.CreateCollection(ctx, nsc, intel.CollectionOptions{Title: "Red", TLPCeiling: stix.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	red, err := stix.NewIndicator(stix.IndicatorOptions{Name: "red page", Pattern: "[domain-name:value = 'red.page.example']", Created: time.Now(), Markings: []string{stix.TLP2Red}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intel.ImportInto(ctx, nsc, rc.ID, "red.json", []*stix.Object{red}); err != nil {
		t.Fatal(err)
	}
	if st := b.post(t, s.url("/intel/objects/"+red.ID+"/share"), form("kind", "org", "recipient", "NOPE1")); st != 422 {
		t.Errorf("share with an unknown organisation: %d", st)
	}
	tokenFor(t, s, "red-reader@nhs.test", scope.NationalAnalyst, "ENG")
	reader, err := s.Auth.GetUser(ctx, scope.System("test"), "red-reader@nhs.test")
	if err != nil {
		t.Fatal(err)
	}
	if st := b.post(t, s.url("/intel/objects/"+red.ID+"/share"), form("kind", "user", "recipient", reader.ID)); st != 303 {
		t.Errorf("share: %d", st)
	}
	if rs, err := s.Intel.Recipients(ctx, nsc, red.ID); err != nil || len(rs) != 2 {
		t.Errorf("recipients after sharing: %+v %v", rs, err)
	}
}
