package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// oneCollection is a Source with one readable collection holding the
// whole store and one visible but unreadable: the stand-in for the
// collections and grants still to come.
type oneCollection struct{ s *intel.Store }

func (o oneCollection) Collections(ctx context.Context, r *http.Request, root string) ([]Collection, error) {
	return []Collection{
		{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Title: "National indicators", CanRead: true},
		{ID: "52892447-4d7e-4f70-b94d-d7f22742ff63", Title: "Write only", CanWrite: true},
	}, nil
}

func (o oneCollection) Objects(ctx context.Context, r *http.Request, root, collection string, q intel.Query) (intel.Page, error) {
	return o.s.List(ctx, q)
}

func server(t *testing.T, n int) *httptest.Server {
	t.Helper()
	db := storetest.SQLite(t, intel.Migrations())
	clock := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	st, _ := intel.New(intel.Options{DB: db, Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	for i := 0; i < n; i++ {
		ip, _ := stix.NewSCO("ipv4-addr", map[string]any{"value": fmt.Sprintf("10.0.%d.%d", i/256, i%256)})
		if _, err := st.Import(context.Background(), scope.System("test"), "t", []*stix.Object{ip}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Title: "Vigil TAXII", Roots: []APIRoot{{Name: "national", Title: "National", MaxContentLength: 10 << 20}},
		Default: "national", Source: oneCollection{st}, MaxPage: 50})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs
}

func get(t *testing.T, hs *httptest.Server, path, accept string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != MediaTAXII {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	return resp, m
}

func TestDiscoveryAndCollections(t *testing.T) {
	hs := server(t, 0)
	_, d := get(t, hs, "/taxii2/", MediaTAXII)
	if d["title"] != "Vigil TAXII" || d["default"] != "/taxii2/national/" || fmt.Sprint(d["api_roots"]) != "[/taxii2/national/]" {
		t.Errorf("discovery %v", d)
	}
	_, r := get(t, hs, "/taxii2/national/", "application/taxii+json")
	if r["title"] != "National" || fmt.Sprint(r["versions"]) != "["+MediaTAXII+"]" || r["max_content_length"] != float64(10<<20) {
		t.Errorf("api root %v", r)
	}
	_, cs := get(t, hs, "/taxii2/national/collections/", MediaTAXII)
	if list, _ := cs["collections"].([]any); len(list) != 2 || !strings.Contains(fmt.Sprint(list[0]), "media_types:["+MediaSTIX+"]") {
		t.Errorf("collections %v", cs)
	}
	_, c := get(t, hs, "/taxii2/national/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/", MediaTAXII)
	if c["title"] != "National indicators" || c["can_read"] != true {
		t.Errorf("collection %v", c)
	}
	for path, status := range map[string]int{
		"/taxii2/regional/": 404, "/taxii2/national/collections/nope/": 404, "/taxii2/national/collections/nope/objects/": 404,
		"/taxii2/national/collections/52892447-4d7e-4f70-b94d-d7f22742ff63/objects/":                       403,
		"/taxii2/national/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/?limit=x":               400,
		"/taxii2/national/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/?added_after=yesterday": 400,
		"/taxii2/national/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/?next=garbage":          400,
	} {
		resp, e := get(t, hs, path, MediaTAXII)
		if resp.StatusCode != status || e["http_status"] != fmt.Sprint(status) || e["title"] == "" {
			t.Errorf("%s: %d %v, want %d", path, resp.StatusCode, e, status)
		}
	}
	for _, accept := range []string{"", "application/json", "application/taxii+json;version=2.0", "text/html"} {
		if resp, _ := get(t, hs, "/taxii2/", accept); resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("Accept %q: %d, want 406", accept, resp.StatusCode)
		}
	}
	if resp, _ := get(t, hs, "/taxii2/", "text/html, application/taxii+json;version=2.1;q=0.9"); resp.StatusCode != 200 {
		t.Errorf("a list with TAXII 2.1 in it: %d", resp.StatusCode)
	}
}

// TestObjectsPaging reads 120 objects 50 at a time by next, then resumes
// with added_after from X-TAXII-Date-Added-Last as a TAXII client does.
func TestObjectsPaging(t *testing.T) {
	hs := server(t, 120)
	base := "/taxii2/national/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/"
	seen := map[string]bool{}
	path := base + "?limit=500" // capped at MaxPage 50
	var last string
	for pages := 1; ; pages++ {
		resp, env := get(t, hs, path, MediaTAXII)
		objs, _ := env["objects"].([]any)
		if len(objs) != 50 && env["more"] == true || resp.Header.Get("X-TAXII-Date-Added-First") == "" {
			t.Fatalf("page %d: %d objects, more %v, headers %v", pages, len(objs), env["more"], resp.Header)
		}
		for _, o := range objs {
			seen[o.(map[string]any)["id"].(string)] = true
		}
		last = resp.Header.Get("X-TAXII-Date-Added-Last")
		if env["more"] != true {
			if pages != 3 || env["next"] != nil {
				t.Errorf("%d pages, last envelope %v", pages, env)
			}
			break
		}
		path = base + "?next=" + env["next"].(string)
	}
	if len(seen) != 120 {
		t.Errorf("%d distinct objects, want 120", len(seen))
	}
	if last != "2026-12-07T01:00:00.120000000Z" {
		t.Errorf("X-TAXII-Date-Added-Last %s", last)
	}
	_, env := get(t, hs, base+"?added_after="+last, MediaTAXII)
	if env["more"] != false || env["objects"] != nil {
		t.Errorf("after the last: %v", env)
	}
	resp, env := get(t, hs, base+"?added_after=2026-12-07T01:00:00.118000000Z&match[type]=ipv4-addr&match[spec_version]=2.1", MediaTAXII)
	if objs, _ := env["objects"].([]any); len(objs) != 2 || resp.Header.Get("X-TAXII-Date-Added-First") != "2026-12-07T01:00:00.119000000Z" {
		t.Errorf("the last two: %v %v", env, resp.Header)
	}
	if _, env := get(t, hs, base+"?match[type]=indicator", MediaTAXII); env["objects"] != nil {
		t.Errorf("no indicators stored: %v", env)
	}
	if _, env := get(t, hs, base+"?match[spec_version]=2.0", MediaTAXII); env["objects"] != nil {
		t.Errorf("no 2.0 objects: %v", env)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
