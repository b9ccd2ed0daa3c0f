package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// peer is a TAXII 2.1 server written for this test from the
// specification, with none of package taxii's server: an absolute API
// root URL in discovery, Basic auth, and paging by added_after alone —
// more: true but no next (section 3.4 leaves next optional), so the
// client must page on from X-TAXII-Date-Added-Last. fail makes the
// request for the page after that many pages a 503.
type peer struct {
	objs  []string // JSON, in the order added; object i was added at second i
	fail  atomic.Int32
	pages atomic.Int32
}

func (p *peer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, pw, ok := r.BasicAuth(); !ok || u != "puller" || pw != "s3cret" {
		w.WriteHeader(401)
		return
	}
	w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
	base := "http://" + r.Host
	switch {
	case r.URL.Path == "/taxii2/":
		fmt.Fprintf(w, `{"title":"peer","api_roots":[%q]}`, base+"/root1/")
	case r.URL.Path == "/root1/collections/c1/":
		fmt.Fprint(w, `{"id":"c1","title":"Peer indicators","can_read":true,"can_write":false}`)
	case r.URL.Path == "/root1/collections/c1/objects/":
		n := int(p.pages.Add(1))
		if f := int(p.fail.Load()); f > 0 && n > f {
			w.WriteHeader(503)
			fmt.Fprint(w, `{"title":"busy","description":"try later"}`)
			return
		}
		after := -1
		if a := r.URL.Query().Get("added_after"); a != "" {
			t, err := time.Parse(time.RFC3339Nano, a)
			if err != nil {
				w.WriteHeader(400)
				return
			}
			after = int(t.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) / time.Second)
		}
		limit := 4
		var page []json.RawMessage
		first, last := -1, -1
		for i := after + 1; i < len(p.objs) && len(page) < limit; i++ {
			page = append(page, json.RawMessage(p.objs[i]))
			if first < 0 {
				first = i
			}
			last = i
		}
		at := func(i int) string {
			return time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format("2006-01-02T15:04:05.000000Z")
		}
		if last >= 0 {
			w.Header().Set("X-TAXII-Date-Added-First", at(first))
			w.Header().Set("X-TAXII-Date-Added-Last", at(last))
		}
		b, _ := json.Marshal(map[string]any{"more": last >= 0 && last < len(p.objs)-1, "objects": page})
		_, _ = w.Write(b)
	default:
		w.WriteHeader(404)
	}
}

// TestPullFromAnotherServer pulls from the peer above in batches of 5
// objects: a failure mid-way keeps the whole batches before it, with the
// cursor after them, and the next pull resumes there; an invalid object
// is refused, not fatal.
func TestPullFromAnotherServer(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, intel.Migrations())
	st, err := intel.New(intel.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{}
	for i := range 13 {
		o, _ := stix.NewSCO("domain-name", map[string]any{"value": fmt.Sprintf("peer%02d.example", i)})
		b, _ := o.MarshalJSON()
		p.objs = append(p.objs, string(b))
	}
	p.objs[6] = `{"type":"domain-name","id":"not an id","value":"broken.example"}`
	srv := httptest.NewServer(p)
	defer srv.Close()

	sc := scope.System("test")
	sc.UserID = "u-test"
	c, err := st.CreateCollection(ctx, sc, intel.CollectionOptions{Title: "From the peer"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.AddFeed(ctx, sc, intel.FeedOptions{Name: "Peer", URL: srv.URL + "/taxii2/", RemoteCollection: "c1", AuthKind: "basic", AuthUser: "puller", AuthSecret: "s3cret", Collection: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := New(Options{Store: st, BatchObjects: 5, AllowPrivate: true, Now: func() time.Time { return time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) }})
	stored := func() int {
		objs, _, err := st.CollectionObjects(ctx, sc, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(objs)
	}
	// Pages of 4: objects 0-3, then 4-7 (a batch of 7, one refused: stored
	// with the cursor after object 7), then the third page fails.
	p.fail.Store(2)
	spec, _ := st.FeedSpecOf(ctx, f.ID)
	res, err := pl.Pull(ctx, spec)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503: busy: try later") {
		t.Fatalf("pull with a failing third page: %v", err)
	}
	if n := stored(); n != 7 || res.Added != 7 || len(res.Refused) != 1 || !strings.Contains(res.Refused[0], "page 2 object 2") {
		t.Fatalf("after the failure: %d stored, %+v", n, res)
	}
	spec, _ = st.FeedSpecOf(ctx, f.ID)
	if spec.Cursor != "2026-01-01T00:00:07.000000Z" || spec.Failures != 1 || spec.ObjectsAdded != 7 || spec.LastSuccess != nil {
		t.Fatalf("status after the failure: %+v", spec.Feed)
	}
	// Resumes from the cursor, paging on by added_after (no next).
	p.fail.Store(0)
	p.pages.Store(0)
	res, err = pl.Pull(ctx, spec)
	if err != nil || res.Pages != 2 || res.Objects != 5 || res.Added != 5 || stored() != 12 {
		t.Fatalf("resumed pull: %v %+v, %d stored", err, res, stored())
	}
	spec, _ = st.FeedSpecOf(ctx, f.ID)
	if spec.Cursor != "2026-01-01T00:00:12.000000Z" || spec.LastError != "" || spec.ObjectsAdded != 12 || spec.Pulls != 2 || spec.LastSuccess == nil {
		t.Errorf("status after resuming: %+v", spec.Feed)
	}
	// A wrong password: 401, the status says so.
	bad, _ := st.AddFeed(ctx, sc, intel.FeedOptions{Name: "Bad", URL: srv.URL + "/taxii2/", RemoteCollection: "c1", AuthKind: "basic", AuthUser: "puller", AuthSecret: "wrong", Collection: c.ID})
	spec, _ = st.FeedSpecOf(ctx, bad.ID)
	if _, err := pl.Pull(ctx, spec); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong password: %v", err)
	}
}

// failing fronts a peer with a switchable failure: every request
// answers status (with Retry-After when retryAfter is set) while status
// is not 0.
type failing struct {
	next       http.Handler
	status     atomic.Int32
	retryAfter atomic.Value // string
	requests   atomic.Int32
}

func (f *failing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if st := int(f.status.Load()); st != 0 {
		if ra, _ := f.retryAfter.Load().(string); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.WriteHeader(st)
		fmt.Fprint(w, `{"title":"unavailable"}`)
		return
	}
	f.next.ServeHTTP(w, r)
}

// TestBackoffAgainstFailingServer runs the scheduler (RunDue) on a clock
// against a TAXII server that fails: each failure in a row waits longer
// (a minute, then two), a 503's Retry-After of two hours is honoured,
// nothing is asked of the server before the next attempt is due, the
// status shows the failures in a row and the next attempt, and the
// success that ends the outage resets them and goes back to the
// interval.
func TestBackoffAgainstFailingServer(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := intel.New(intel.Options{DB: storetest.SQLite(t, intel.Migrations()), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{}
	for i := range 3 {
		o, _ := stix.NewSCO("domain-name", map[string]any{"value": fmt.Sprintf("back%02d.example", i)})
		b, _ := o.MarshalJSON()
		p.objs = append(p.objs, string(b))
	}
	fr := &failing{next: p}
	srv := httptest.NewServer(fr)
	defer srv.Close()
	sc := scope.System("test")
	sc.UserID = "u-test"
	c, _ := st.CreateCollection(ctx, sc, intel.CollectionOptions{Title: "Backed off"})
	f, err := st.AddFeed(ctx, sc, intel.FeedOptions{Name: "Flaky", URL: srv.URL + "/taxii2/", RemoteCollection: "c1", AuthKind: "basic", AuthUser: "puller", AuthSecret: "s3cret", Collection: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := New(Options{Store: st, AllowPrivate: true, Now: clock})
	status := func() intel.Feed {
		g, err := st.GetFeed(ctx, sc, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	run := func() {
		if err := pl.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fr.status.Store(500)
	run()
	g := status()
	if g.ConsecutiveFailures != 1 || !strings.Contains(g.LastError, "HTTP 500") || g.NextRun.Sub(now) > time.Minute || g.NextRun.Sub(now) < 48*time.Second {
		t.Fatalf("after the first failure: %d in a row, next in %v, %q", g.ConsecutiveFailures, g.NextRun.Sub(now), g.LastError)
	}
	asked := fr.requests.Load()
	now = now.Add(30 * time.Second)
	run()
	if fr.requests.Load() != asked {
		t.Fatal("the server was asked again before the back-off ended")
	}
	now = now.Add(31 * time.Second)
	start := now
	run()
	if g = status(); g.ConsecutiveFailures != 2 || g.NextRun.Sub(start) > 2*time.Minute || g.NextRun.Sub(start) < 96*time.Second {
		t.Fatalf("after the second failure: %d in a row, next in %v", g.ConsecutiveFailures, g.NextRun.Sub(start))
	}
	// 503 with Retry-After: two hours, longer than the back-off.
	fr.status.Store(503)
	fr.retryAfter.Store("7200")
	now = now.Add(2 * time.Minute)
	start = now
	run()
	if g = status(); g.ConsecutiveFailures != 3 || g.NextRun.Sub(start) != 2*time.Hour || !strings.Contains(g.LastError, "HTTP 503") {
		t.Fatalf("after a 503 with Retry-After 7200: %d in a row, next in %v, %q", g.ConsecutiveFailures, g.NextRun.Sub(start), g.LastError)
	}
	asked = fr.requests.Load()
	now = now.Add(time.Hour)
	run()
	if fr.requests.Load() != asked {
		t.Fatal("the server was asked again before its Retry-After")
	}
	// The outage ends.
	fr.status.Store(0)
	now = start.Add(2 * time.Hour)
	start = now
	run()
	if g = status(); g.ConsecutiveFailures != 0 || g.Failures != 3 || g.LastError != "" || g.ObjectsAdded != 3 || g.NextRun.Sub(start) != time.Hour {
		t.Fatalf("after the outage: %+v", g)
	}
}
