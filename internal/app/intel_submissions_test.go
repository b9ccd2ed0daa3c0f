package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestIntelSubmissionsFlow is issue 19's "organisations submit indicators
// upward", end to end on both engines: Alice of RJ1 POSTs an indicator by
// TAXII to a moderated national collection her region may write; Bob of
// RJZ does not read it until the publisher, a national analyst, approves
// it on the submissions page (Alice may not); a second one is rejected,
// a reason being required, and Alice reads why. Both decisions are audited.
func TestIntelSubmissionsFlow(t *testing.T) {
	engines(t, func(t *testing.T, start func(testing.TB) *Server) {
		s := start(t)
		f := newFixture(t, s)
		ctx := context.Background()
		_, psc := publisher(t, s)
		c, err := s.Intel.CreateCollection(ctx, psc, intel.CollectionOptions{Title: "Submitted upward", TLPCeiling: stix.TLPAmber, Moderated: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []intel.GrantOptions{{Org: "ENG", Read: true}, {Org: "Y56", Read: true, Write: true}} {
			if _, err := s.Intel.GrantCollection(ctx, psc, c.ID, g); err != nil {
				t.Fatal(err)
			}
		}
		const taxiiJSON = "application/taxii+json;version=2.1"
		objects := s.url("/taxii2/" + taxiiRoot + "/collections/" + c.ID + "/objects/")
		do := func(method, u, tok, body string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(method, u, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", taxiiJSON)
			if body != "" {
				req.Header.Set("Content-Type", taxiiJSON)
				if strings.Contains(u, "/api/") {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json")
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		for _, d := range []string{"upward-approve.example", "upward-reject.example"} {
			o := redIndicator(t, d, stix.TLP2Green)
			b, _ := o.MarshalJSON()
			if st, body := do("POST", objects, f.aliceTok, `{"objects":[`+string(b)+`]}`); st != http.StatusAccepted || !strings.Contains(body, `"success_count":1`) {
				t.Fatalf("alice's TAXII POST: %d %s", st, body)
			}
		}
		if _, body := do("GET", objects, f.bobTok, ""); strings.Contains(body, "upward-") {
			t.Errorf("bob reads pending submissions: %s", body)
		}
		if _, body := do("GET", objects, f.aliceTok, ""); !strings.Contains(body, "upward-approve.example") {
			t.Errorf("alice does not read her own submission: %s", body)
		}
		b := signInBrowser(t, s, "publisher@nhs.test", "correct horse battery")
		_, page := get(t, b.c, s.url("/intel/submissions"), "")
		ids := map[string]string{}
		for _, m := range regexp.MustCompile(`(upward-\w+)\.example.*?/intel/submissions/([0-9a-f-]{36})/approve`).FindAllStringSubmatch(strings.ReplaceAll(page, "\n", " "), -1) {
			ids[m[1]] = m[2]
		}
		if len(ids) != 2 {
			t.Fatalf("the publisher's page lists %v:\n%s", ids, page)
		}
		if st, _ := do("POST", s.url("/api/v1/intel/submissions/"+ids["upward-approve"]+"/approve"), f.aliceTok, "{}"); st != http.StatusForbidden {
			t.Errorf("alice approves her own submission: %d", st)
		}
		if st := b.post(t, s.url("/intel/submissions/"+ids["upward-approve"]+"/approve"), url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
			t.Fatalf("approve: %d", st)
		}
		if _, body := do("GET", objects, f.bobTok, ""); !strings.Contains(body, "upward-approve.example") || strings.Contains(body, "upward-reject") {
			t.Errorf("bob after the approval: %s", body)
		}
		res, err := b.c.PostForm(s.url("/intel/submissions/"+ids["upward-reject"]+"/reject"), url.Values{"csrf": {b.csrf}, "reason": {" "}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=") {
			t.Errorf("a rejection without a reason: %d %s", res.StatusCode, loc)
		}
		if st := b.post(t, s.url("/intel/submissions/"+ids["upward-reject"]+"/reject"), url.Values{"csrf": {b.csrf}, "reason": {"a CDN address"}}); st != http.StatusSeeOther {
			t.Fatalf("reject: %d", st)
		}
		if _, body := do("GET", s.url("/api/v1/intel/submissions?state=rejected"), f.aliceTok, ""); !strings.Contains(body, `"reason":"a CDN address"`) {
			t.Errorf("alice's rejected submissions: %s", body)
		}
		if _, body := do("GET", objects, f.aliceTok, ""); strings.Contains(body, "upward-reject") {
			t.Errorf("the rejected submission is still in the collection: %s", body)
		}
		for action, id := range map[string]string{"intel.submission.approve": ids["upward-approve"], "intel.submission.reject": ids["upward-reject"]} {
			if e, ok := lastEntry(t, s, action); !ok || e.ObjectID != id || e.Org != "RJ1" {
				t.Errorf("%s audited as %+v", action, e)
			}
		}
	})
}
