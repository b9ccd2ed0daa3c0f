package taxii

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestStoreSource serves a store's collections: Alice reads her AMBER
// collection without its RED object; Bob, and a request without a caller,
// do not know it exists.
func TestStoreSource(t *testing.T) {
	db := storetest.SQLite(t, intel.Migrations())
	st, _ := intel.New(intel.Options{DB: db})
	ctx := context.Background()
	alice := scope.Scope{UserID: "u-alice"}
	c, err := st.CreateCollection(ctx, alice, intel.CollectionOptions{Title: "Amber", TLPCeiling: stix.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	amber, _ := stix.NewSCO("url", map[string]any{"value": "http://amber.example/", "object_marking_refs": []string{stix.TLP2Amber}})
	red, _ := stix.NewSCO("url", map[string]any{"value": "http://red.example/", "object_marking_refs": []string{stix.TLP2Red}})
	if _, err := st.ImportInto(ctx, alice, c.ID, "t", []*stix.Object{amber, red}); err != nil {
		t.Fatal(err)
	}
	callers := map[string]scope.Scope{"alice": alice, "bob": {UserID: "u-bob"}}
	s, err := New(Options{Title: "Vigil", Roots: []APIRoot{{Name: "national", Title: "National"}}, Source: StoreSource{Store: st,
		Caller: func(r *http.Request) (scope.Scope, bool) {
			sc, ok := callers[r.Header.Get("X-Test-User")]
			return sc, ok
		}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	as := func(who, path string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Accept", MediaTAXII)
		req.Header.Set("X-Test-User", who)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = jsonDecode(resp, &m)
		return resp.StatusCode, m
	}
	objects := "/taxii2/national/collections/" + c.ID + "/objects/"
	code, env := as("alice", objects)
	objs, _ := env["objects"].([]any)
	if code != 200 || len(objs) != 1 || objs[0].(map[string]any)["id"] != amber.ID {
		t.Errorf("alice: %d %v (want only %s, never %s)", code, env, amber.ID, red.ID)
	}
	for _, who := range []string{"bob", "nobody"} {
		if code, _ := as(who, objects); code != 404 {
			t.Errorf("%s reads alice's collection: %d", who, code)
		}
		if _, cs := as(who, "/taxii2/national/collections/"); len(cs["collections"].([]any)) != 0 {
			t.Errorf("%s lists %v", who, cs)
		}
	}
}
