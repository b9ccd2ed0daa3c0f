package taxii

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestPostObjects posts envelopes to a collection: a good one is stored
// (202 and a status its poster can read again, Bob cannot); a wrong
// media type is 415, an oversized one 413; an envelope with an invalid
// object, or one marked above the collection's ceiling, stores nothing
// and is 422 with every object's failure in its status.
func TestPostObjects(t *testing.T) {
	db := storetest.SQLite(t, intel.Migrations())
	st, _ := intel.New(intel.Options{DB: db})
	ctx := context.Background()
	alice := scope.Scope{UserID: "u-alice"}
	c, err := st.CreateCollection(ctx, alice, intel.CollectionOptions{Title: "Amber", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	callers := map[string]scope.Scope{"alice": alice, "bob": {UserID: "u-bob"}}
	s, err := New(Options{Title: "Vigil", Roots: []APIRoot{{Name: "r", Title: "R", MaxContentLength: 4096}}, Source: StoreSource{Store: st,
		Caller: func(r *http.Request) (scope.Scope, bool) {
			sc, ok := callers[r.Header.Get("X-Test-User")]
			return sc, ok
		}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	do := func(who, method, path, ctype, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Accept", MediaTAXII)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Test-User", who)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got := resp.Header.Get("Content-Type"); got != MediaTAXII {
			t.Errorf("%s %s: Content-Type %q", method, path, got)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	objects := "/taxii2/r/collections/" + c.ID + "/objects/"
	url := func(v, tlp string) string {
		o, _ := stix.NewSCO("url", map[string]any{"value": v, "object_marking_refs": []string{tlp}})
		b, _ := json.Marshal(o)
		return string(b)
	}
	good := `{"objects":[` + url("http://a.example/", stix.TLP2Amber) + `,` + url("http://g.example/", stix.TLP2Green) + `]}`
	code, res := do("alice", "POST", objects, MediaTAXII, good)
	if code != 202 || res["status"] != "complete" || res["success_count"] != 2.0 || res["failure_count"] != 0.0 {
		t.Fatalf("good envelope: %d %v", code, res)
	}
	id := res["id"].(string)
	if code, got := do("alice", "GET", "/taxii2/r/status/"+id+"/", "", ""); code != 200 || got["id"] != id || got["success_count"] != 2.0 {
		t.Errorf("alice's status: %d %v", code, got)
	}
	// The posted objects by id, their versions and the manifest.
	first := res["successes"].([]any)[0].(map[string]any)["id"].(string)
	if code, got := do("alice", "GET", objects+first+"/", "", ""); code != 200 || len(got["objects"].([]any)) != 1 {
		t.Errorf("object by id: %d %v", code, got)
	}
	if code, got := do("alice", "GET", objects+first+"/versions/", "", ""); code != 200 || len(got["versions"].([]any)) != 1 {
		t.Errorf("versions: %d %v", code, got)
	}
	if code, _ := do("alice", "GET", objects+"url--00000000-0000-4000-8000-000000000000/", "", ""); code != 404 {
		t.Errorf("unknown object: %d, want 404", code)
	}
	if code, got := do("alice", "GET", "/taxii2/r/collections/"+c.ID+"/manifest/?limit=1", "", ""); code != 200 || got["more"] != true ||
		got["objects"].([]any)[0].(map[string]any)["media_type"] != MediaSTIX {
		t.Errorf("manifest: %d %v", code, got)
	}
	if code, _ := do("bob", "GET", "/taxii2/r/collections/"+c.ID+"/manifest/", "", ""); code != 404 {
		t.Errorf("bob reads alice's manifest: %d", code)
	}
	if code, _ := do("bob", "GET", "/taxii2/r/status/"+id+"/", "", ""); code != 404 {
		t.Errorf("bob reads alice's status: %d", code)
	}
	if code, _ := do("bob", "POST", objects, MediaTAXII, good); code != 404 {
		t.Errorf("bob posts to alice's collection: %d", code)
	}
	if code, _ := do("alice", "POST", objects, "application/json", good); code != 415 {
		t.Errorf("application/json: %d, want 415", code)
	}
	if code, _ := do("alice", "POST", objects, MediaTAXII, `{"objects":[`+strings.Repeat(url("http://a.example/", stix.TLP2Amber)+",", 40)+`{}]}`); code != 413 {
		t.Errorf("over max_content_length: %d, want 413", code)
	}
	count := func() int {
		p, err := st.List(ctx, intel.Query{Collection: c.ID, MaxTLP: stix.TLPRed, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Entries)
	}
	before := count()
	for name, env := range map[string]string{
		"invalid": `{"objects":[` + url("http://b.example/", stix.TLP2Amber) + `,{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1"}]}`,
		"red":     `{"objects":[` + url("http://c.example/", stix.TLP2Amber) + `,` + url("http://red.example/", stix.TLP2Red) + `]}`,
	} {
		code, res := do("alice", "POST", objects, MediaTAXII, env)
		details, _ := res["details"].(map[string]any)
		if code != 422 || details["status_id"] == nil {
			t.Errorf("%s: %d %v, want 422 with a status", name, code, res)
			continue
		}
		_, st := do("alice", "GET", "/taxii2/r/status/"+details["status_id"].(string)+"/", "", "")
		fs, _ := st["failures"].([]any)
		if st["failure_count"] != 2.0 || st["success_count"] != 0.0 || len(fs) != 2 {
			t.Errorf("%s: status %v", name, st)
			continue
		}
		msg := fs[1].(map[string]any)["message"].(string)
		if want := map[string]string{"invalid": "objects[1]: ", "red": "above this collection's ceiling TLP:AMBER"}[name]; !strings.Contains(msg, want) {
			t.Errorf("%s: failure %q lacks %q", name, msg, want)
		}
	}
	if n := count(); n != before {
		t.Errorf("a refused envelope stored %d objects", n-before)
	}

	// A version finer than milliseconds (as OASIS's taxii2-client writes
	// modified) is listed as stored, and match[version] with what the
	// manifest and the versions list say finds it.
	const ind = "indicator--2869076c-57f3-45b5-93c6-68f6213dd47e"
	const modified = "2026-12-07T10:12:07.120696Z"
	env := `{"objects":[{"type":"indicator","spec_version":"2.1","id":"` + ind + `","created":"` + modified + `","modified":"` + modified +
		`","pattern":"[ipv4-addr:value = '198.51.100.77']","pattern_type":"stix","valid_from":"` + modified +
		`","object_marking_refs":["` + stix.TLP2Green + `"]}]}`
	if code, res := do("alice", "POST", objects, MediaTAXII, env); code != 202 || res["successes"].([]any)[0].(map[string]any)["version"] != modified {
		t.Fatalf("microsecond indicator: %d %v", code, res)
	}
	_, vs := do("alice", "GET", objects+ind+"/versions/", "", "")
	if got := vs["versions"].([]any); len(got) != 1 || got[0] != modified {
		t.Errorf("versions %v, want [%s]", got, modified)
	}
	_, man := do("alice", "GET", "/taxii2/r/collections/"+c.ID+"/manifest/?match[id]="+ind, "", "")
	if got := man["objects"].([]any); len(got) != 1 || got[0].(map[string]any)["version"] != modified {
		t.Errorf("manifest %v, want version %s", got, modified)
	}
	if code, got := do("alice", "GET", objects+ind+"/?match[version]="+modified, "", ""); code != 200 || len(got["objects"].([]any)) != 1 {
		t.Errorf("object by the listed version: %d %v", code, got)
	}
	if code, _ := do("alice", "GET", objects+ind+"/?match[version]=2026-12-07T10:12:07.120Z", "", ""); code != 404 {
		t.Errorf("a version rounded to milliseconds is another version: %d, want 404", code)
	}
}
