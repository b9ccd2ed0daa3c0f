package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestTAXIIFeedPull is issue 19's TAXII client end to end: two Vigil
// servers, one publishing a collection over TAXII, the other subscribed
// to it by `POST /api/v1/intel/feeds`. In front of the publisher, a
// proxy that can fail the second page of a pull with a 500.
//   - The subscriber's scheduler (a leader duty) pulls the new feed at
//     once; the second page fails: nothing is stored, the cursor stays
//     empty and the status shows the error and the failure.
//   - "Pull now" reads every page (pages of 10, by next) and stores the
//     25 AMBER objects, never the RED one above the collection's ceiling.
//   - Three more objects published: the next pull resumes from
//     X-TAXII-Date-Added-Last and brings exactly those three.
//   - Bob (another trust) sees no feed and cannot pull it.
func TestTAXIIFeedPull(t *testing.T) {
	old := FeedPullTick
	FeedPullTick = 50 * time.Millisecond
	t.Cleanup(func() { FeedPullTick = old })                                                           // after the servers stop (cleanups run last first)
	pub, sub := startWith(t, nil), startWith(t, func(c *config.Config) { c.IntelFeedsPrivate = true }) // the publisher is on loopback
	fs := newFixture(t, sub)
	ctx := context.Background()
	ptok, psc := publisher(t, pub)
	remote, err := pub.Intel.CreateCollection(ctx, psc, intel.CollectionOptions{Title: "Published", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(prefix string, n int) []*stix.Object {
		var objs []*stix.Object
		for i := range n {
			o, _ := stix.NewSCO("domain-name", map[string]any{"value": fmt.Sprintf("%s%02d.example", prefix, i), "object_marking_refs": []string{stix.TLP2Amber}})
			objs = append(objs, o)
		}
		if _, err := pub.Intel.ImportInto(ctx, psc, remote.ID, "publish", objs); err != nil {
			t.Fatal(err)
		}
		return objs
	}
	publish("first", 25)
	red, _ := stix.NewSCO("domain-name", map[string]any{"value": "red-secret.example", "object_marking_refs": []string{stix.TLP2Red}})
	if _, err := pub.Intel.ImportInto(ctx, psc, remote.ID, "publish", []*stix.Object{red}); err != nil {
		t.Fatal(err)
	}

	var failNext atomic.Bool
	target, _ := url.Parse(pub.url("/"))
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failNext.Load() && r.URL.Query().Get("next") != "" {
			http.Error(w, "upstream exploded", http.StatusInternalServerError)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	ssc, err := sub.Auth.ScopeFor(ctx, fs.alice.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	local, err := sub.Intel.CreateCollection(ctx, ssc, intel.CollectionOptions{Title: "From the publisher", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	failNext.Store(true)
	body, _ := json.Marshal(map[string]any{"name": "Publisher", "url": proxy.URL + "/taxii2/", "remote_collection": remote.ID,
		"auth": "bearer", "auth_secret": ptok, "collection": local.ID, "page_size": 10, "interval_seconds": 3600})
	res, out := do(t, "POST", sub.url("/api/v1/intel/feeds"), fs.aliceTok, string(body))
	if res.StatusCode != 201 {
		t.Fatalf("add feed: %d %s", res.StatusCode, out)
	}
	if strings.Contains(out, ptok) {
		t.Fatal("the feed's answer shows its secret")
	}
	var feed intel.Feed
	_ = json.Unmarshal([]byte(out), &feed)

	status := func() intel.Feed {
		t.Helper()
		res, out := do(t, "GET", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.aliceTok, "")
		var f intel.Feed
		if res.StatusCode != 200 || json.Unmarshal([]byte(out), &f) != nil || strings.Contains(out, ptok) {
			t.Fatalf("feed status: %d %s", res.StatusCode, out)
		}
		return f
	}
	localObjects := func() string {
		t.Helper()
		res, out := do(t, "GET", sub.url("/api/v1/intel/collections/"+local.ID+"/objects?limit=1000"), fs.aliceTok, "")
		if res.StatusCode != 200 {
			t.Fatalf("local objects: %d %s", res.StatusCode, out)
		}
		return out
	}
	// The scheduler pulls it at once, and the second page fails.
	deadline := time.Now().Add(3 * time.Second)
	for status().Failures == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler did not pull the feed: %+v", status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := status()
	// The first retry comes after a minute (less up to a fifth, jitter), not the hour's interval.
	if !strings.Contains(st.LastError, "500") || st.Cursor != "" || st.LastSuccess != nil || st.ObjectsAdded != 0 || st.ConsecutiveFailures != 1 ||
		st.NextRun.Before(st.LastAttempt.Add(48*time.Second)) || st.NextRun.After(st.LastAttempt.Add(time.Minute)) {
		t.Errorf("after a failed pull: %+v", st)
	}
	if o := localObjects(); strings.Contains(o, "first00.example") {
		t.Fatalf("a failed pull stored something: %.300s", o)
	}

	// Pull now: every page, by next.
	failNext.Store(false)
	res, out = do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	var pr struct {
		Pages, Objects, Added int
		Cursor                string
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Pages != 3 || pr.Objects != 25 || pr.Added != 25 || pr.Cursor == "" {
		t.Fatalf("pull: %d %s", res.StatusCode, out)
	}
	o := localObjects()
	if strings.Count(o, `"domain-name"`) != 25 || strings.Contains(o, "red-secret") {
		t.Fatalf("local collection after the pull: %.500s", o)
	}
	st = status()
	if st.LastError != "" || st.LastSuccess == nil || st.ObjectsAdded != 25 || st.LastAdded != 25 || st.Cursor != pr.Cursor || st.Pulls != 2 || st.Failures != 1 ||
		st.ConsecutiveFailures != 0 || !st.NextRun.Equal(st.LastAttempt.Add(time.Hour)) {
		t.Errorf("status after the pull: %+v", st)
	}

	// Resumption: only what was published since.
	publish("second", 3)
	res, out = do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Objects != 3 || pr.Added != 3 || pr.Pages != 1 {
		t.Fatalf("resumed pull: %d %s", res.StatusCode, out)
	}
	if st = status(); st.ObjectsAdded != 28 || st.LastAdded != 3 {
		t.Errorf("status after resuming: %+v", st)
	}
	// A pull with nothing new stores nothing and keeps the cursor.
	res, out = do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Objects != 0 || pr.Cursor != st.Cursor {
		t.Fatalf("empty pull: %d %s", res.StatusCode, out)
	}

	// Bob, of another trust, sees no feed and cannot pull it.
	if res, out := do(t, "GET", sub.url("/api/v1/intel/feeds"), fs.bobTok, ""); res.StatusCode != 200 || strings.Contains(out, feed.ID) {
		t.Errorf("bob lists feeds: %d %s", res.StatusCode, out)
	}
	if res, _ := do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.bobTok, ""); res.StatusCode != 404 {
		t.Errorf("bob pulls alice's feed: %d", res.StatusCode)
	}
	if res, _ := do(t, "PATCH", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.bobTok, `{"enabled":false}`); res.StatusCode != 404 {
		t.Errorf("bob edits alice's feed: %d", res.StatusCode)
	}
	if res, _ := do(t, "DELETE", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.bobTok, ""); res.StatusCode != 404 {
		t.Errorf("bob removes alice's feed: %d", res.StatusCode)
	}

	// Alice moves the feed to the publisher's address directly, with a
	// new token: the cursor is cleared, so the next pull reads all 28
	// again (as unchanged); a wrong field is a 400 naming it.
	if res, out := do(t, "PATCH", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.aliceTok, `{"interval_seconds":5}`); res.StatusCode != 400 || !strings.Contains(out, "interval") {
		t.Errorf("interval of 5 s: %d %s", res.StatusCode, out)
	}
	res, out = do(t, "PATCH", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.aliceTok, `{"url":"`+pub.url("/taxii2/")+`","auth_secret":"`+ptok+`","interval_seconds":7200,"enabled":false}`)
	if res.StatusCode != 200 || strings.Contains(out, ptok) {
		t.Fatalf("edit: %d %s", res.StatusCode, out)
	}
	if st = status(); st.Cursor != "" || st.Enabled || st.IntervalSeconds != 7200 || st.URL != pub.url("/taxii2/") {
		t.Errorf("after the edit: %+v", st)
	}
	res, out = do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Objects != 28 || pr.Added != 0 {
		t.Fatalf("pull after the edit: %d %s", res.StatusCode, out)
	}
	// Removed: the feed goes, what it pulled stays.
	if res, out := do(t, "DELETE", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.aliceTok, ""); res.StatusCode != 204 {
		t.Fatalf("remove: %d %s", res.StatusCode, out)
	}
	if res, _ := do(t, "GET", sub.url("/api/v1/intel/feeds/"+feed.ID), fs.aliceTok, ""); res.StatusCode != 404 {
		t.Errorf("a removed feed: %d", res.StatusCode)
	}
	if o := localObjects(); strings.Count(o, `"domain-name"`) != 28 {
		t.Errorf("after removing the feed the collection holds: %.300s", o)
	}
}

// TestMISPFeedPull subscribes one Vigil server to another's MISP feed
// export by URL (GET /api/v1/intel/collections/{id}/misp/, bearer
// token): the events are read from manifest.json, checked against
// hashes.csv and stored; a second pull reads no event again.
func TestMISPFeedPull(t *testing.T) {
	pub, sub := startWith(t, nil), startWith(t, func(c *config.Config) { c.IntelFeedsPrivate = true }) // the publisher is on loopback
	fs := newFixture(t, sub)
	ctx := context.Background()
	ptok, psc := publisher(t, pub)
	remote, err := pub.Intel.CreateCollection(ctx, psc, intel.CollectionOptions{Title: "Published as MISP", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	var objs []*stix.Object
	for i := range 4 {
		objs = append(objs, redIndicator(t, fmt.Sprintf("misp-%d.example", i), stix.TLP2Green))
	}
	if _, err := pub.Intel.ImportInto(ctx, psc, remote.ID, "publish", objs); err != nil {
		t.Fatal(err)
	}
	ssc, _ := sub.Auth.ScopeFor(ctx, fs.alice.ID, "test", "")
	local, err := sub.Intel.CreateCollection(ctx, ssc, intel.CollectionOptions{Title: "MISP in", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := sub.Intel.AddFeed(ctx, ssc, intel.FeedOptions{Name: "Publisher MISP", Kind: "misp", URL: pub.url("/api/v1/intel/collections/" + remote.ID + "/misp/"),
		AuthKind: "bearer", AuthSecret: ptok, Collection: local.ID, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	res, out := do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	var pr struct {
		Added   int
		Refused []string
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Added == 0 || len(pr.Refused) != 0 {
		t.Fatalf("MISP pull: %d %s", res.StatusCode, out)
	}
	_, o := do(t, "GET", sub.url("/api/v1/intel/collections/"+local.ID+"/objects?type=indicator"), fs.aliceTok, "")
	for i := range 4 {
		if !strings.Contains(o, fmt.Sprintf("misp-%d.example", i)) {
			t.Errorf("indicator misp-%d.example not pulled: %.300s", i, o)
		}
	}
	res, out = do(t, "POST", sub.url("/api/v1/intel/feeds/"+feed.ID+"/pull"), fs.aliceTok, "")
	if res.StatusCode != 200 || json.Unmarshal([]byte(out), &pr) != nil || pr.Added != 0 || strings.Contains(out, `"pages":1`) {
		t.Fatalf("second MISP pull read something again: %d %s", res.StatusCode, out)
	}
	// A wrong token: the pull fails, the status says why.
	bad, _ := sub.Intel.AddFeed(ctx, ssc, intel.FeedOptions{Name: "Bad token", Kind: "misp", URL: pub.url("/api/v1/intel/collections/" + remote.ID + "/misp/"),
		AuthKind: "bearer", AuthSecret: "vigil_wrong", Collection: local.ID})
	if res, out := do(t, "POST", sub.url("/api/v1/intel/feeds/"+bad.ID+"/pull"), fs.aliceTok, ""); res.StatusCode != 503 || !strings.Contains(out, "401") {
		t.Errorf("pull with a wrong token: %d %s", res.StatusCode, out)
	}
	if f, _ := sub.Intel.GetFeed(ctx, ssc, bad.ID); !strings.Contains(f.LastError, "HTTP 401") || f.Failures != 1 {
		t.Errorf("status after a wrong token: %+v", f)
	}
}

// publisher is the one user of a publishing server: a national analyst,
// with an API token.
func publisher(t *testing.T, s *Server) (string, scope.Scope) {
	t.Helper()
	tok := tokenFor(t, s, "publisher@nhs.test", scope.NationalAnalyst, "ENG")
	u, err := s.Auth.GetUser(context.Background(), scope.System("test"), "publisher@nhs.test")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := s.Auth.ScopeFor(context.Background(), u.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	return tok, sc
}
