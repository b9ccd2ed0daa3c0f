package intel

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

func mustObject(t *testing.T, m map[string]any) *stix.Object {
	t.Helper()
	base := map[string]any{"spec_version": "2.1", "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z"}
	for k, v := range m {
		base[k] = v
	}
	if stix.CategoryOf(m["type"].(string)) == stix.SCO {
		delete(base, "created")
		delete(base, "modified")
	}
	b, _ := json.Marshal(base)
	o, err := stix.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRedactEveryRef: every reference property to a TLP:RED object
// the reader is no recipient of is redacted, wherever it is in an
// object: relationships and sightings about it are left out; a note's
// object_refs, a sighting's observed_data_refs and where_sighted_refs, a
// created_by_ref, a process's parent_ref and a file's archive extension
// lose it; marking references never do. A recipient gets every object
// untouched.
func TestRedactEveryRef(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National", TLPCeiling: stix.TLPRed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GrantCollection(ctx, nadia, c.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
			t.Fatal(err)
		}
		green := []string{stix.TLP2Green}
		red := []string{stix.TLP2Red}
		secret := mustObject(t, map[string]any{"type": "identity", "id": "identity--0c5e4d2a-1f3b-4c6d-8e9f-0a1b2c3d4e5f", "name": "Secret source", "object_marking_refs": red})
		ind := mustObject(t, map[string]any{"type": "indicator", "id": "indicator--1d6f5e3b-2a4c-4d7e-9f0a-1b2c3d4e5f60", "name": "red ind",
			"pattern": "[domain-name:value = 'red-ref.example']", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z", "object_marking_refs": red})
		od := mustObject(t, map[string]any{"type": "observed-data", "id": "observed-data--2e7a6f4c-3b5d-4e8f-8a1b-2c3d4e5f6071", "first_observed": "2026-12-01T00:00:00Z",
			"last_observed": "2026-12-01T00:00:00Z", "number_observed": 1, "object_refs": []string{"process--3f8b7a5d-4c6e-4f9a-9b2c-3d4e5f607182"}, "object_marking_refs": red})
		pub := mustObject(t, map[string]any{"type": "identity", "id": "identity--4a9c8b6e-5d7f-4a0b-8c3d-4e5f60718293", "name": "Public", "object_marking_refs": green})
		mal := mustObject(t, map[string]any{"type": "malware", "id": "malware--5b0d9c7f-6e8a-4b1c-9d4e-5f6071829304", "name": "Green malware", "is_family": true,
			"created_by_ref": secret.ID, "object_marking_refs": green})
		// A relationship from the GREEN malware to the RED indicator, one
		// between two GREEN objects, and one from the RED identity.
		relRed := mustObject(t, map[string]any{"type": "relationship", "id": "relationship--6c1e0d8a-7f9b-4c2d-8e5f-607182930415", "relationship_type": "indicates",
			"source_ref": ind.ID, "target_ref": mal.ID, "object_marking_refs": green})
		relRedSrc := mustObject(t, map[string]any{"type": "relationship", "id": "relationship--7d2f1e9b-8a0c-4d3e-9f60-718293041526", "relationship_type": "attributed-to",
			"source_ref": mal.ID, "target_ref": secret.ID, "object_marking_refs": green})
		relOK := mustObject(t, map[string]any{"type": "relationship", "id": "relationship--8e3a2f0c-9b1d-4e4f-8071-829304152637", "relationship_type": "attributed-to",
			"source_ref": mal.ID, "target_ref": pub.ID, "object_marking_refs": green})
		sightRed := mustObject(t, map[string]any{"type": "sighting", "id": "sighting--9f4b3a1d-0c2e-4f5a-9182-930415263748", "sighting_of_ref": ind.ID, "object_marking_refs": green})
		sightMixed := mustObject(t, map[string]any{"type": "sighting", "id": "sighting--0a5c4b2e-1d3f-4a6b-8293-041526374859", "sighting_of_ref": mal.ID,
			"observed_data_refs": []string{od.ID}, "where_sighted_refs": []string{secret.ID, pub.ID}, "object_marking_refs": green})
		note := mustObject(t, map[string]any{"type": "note", "id": "note--1b6d5c3f-2e4a-4b7c-9304-15263748596a", "content": "about both",
			"object_refs": []string{mal.ID, ind.ID}, "object_marking_refs": green})
		noteRed := mustObject(t, map[string]any{"type": "opinion", "id": "opinion--2c7e6d4a-3f5b-4c8d-8415-263748596a7b", "opinion": "agree",
			"object_refs": []string{ind.ID}, "object_marking_refs": green})
		proc := mustObject(t, map[string]any{"type": "process", "id": "process--3d8f7e5b-4a6c-4d9e-9526-3748596a7b8c", "pid": 4, "parent_ref": od.ID,
			"child_refs": []string{od.ID}, "object_marking_refs": green})
		file := mustObject(t, map[string]any{"type": "file", "id": "file--4e9a8f6c-5b7d-4eaf-8637-48596a7b8c9d", "name": "a.zip",
			"extensions": map[string]any{"archive-ext": map[string]any{"contains_refs": []string{od.ID, pub.ID}, "comment": "has a ref"}},
			"size":       9007199254740993, "object_marking_refs": green})
		all := []*stix.Object{secret, ind, od, pub, mal, relRed, relRedSrc, relOK, sightRed, sightMixed, note, noteRed, proc, file}
		if _, err := s.ImportInto(ctx, nadia, c.ID, "t", all); err != nil {
			t.Fatal(err)
		}
		read := func(sc scope.Scope) map[string]string {
			objs, _, err := s.CollectionObjects(ctx, sc, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, o := range objs {
				b, _ := o.MarshalJSON()
				m[o.ID] = string(b)
			}
			return m
		}
		n := read(nadia)
		if len(n) != len(all) {
			t.Fatalf("nadia, the recipient, gets %d objects of %d", len(n), len(all))
		}
		if !strings.Contains(n[mal.ID], secret.ID) || !strings.Contains(n[sightMixed.ID], od.ID) || !strings.Contains(n[file.ID], od.ID) {
			t.Errorf("the recipient's objects are redacted: %v", n)
		}
		a := read(alice)
		for _, id := range []string{secret.ID, ind.ID, od.ID, relRed.ID, relRedSrc.ID, sightRed.ID, noteRed.ID} {
			if _, ok := a[id]; ok {
				t.Errorf("alice gets %s", id)
			}
		}
		for _, id := range []string{pub.ID, mal.ID, relOK.ID, sightMixed.ID, note.ID, proc.ID, file.ID} {
			if _, ok := a[id]; !ok {
				t.Errorf("alice lacks %s", id)
			}
		}
		for id, body := range a {
			for _, sec := range []string{secret.ID, ind.ID, od.ID} {
				if strings.Contains(body, sec) {
					t.Errorf("alice's %s names %s: %s", id, sec, body)
				}
			}
			if !strings.Contains(body, stix.TLP2Green) {
				t.Errorf("alice's %s lost its marking: %s", id, body)
			}
		}
		if !strings.Contains(a[sightMixed.ID], `"where_sighted_refs":["`+pub.ID+`"]`) || strings.Contains(a[sightMixed.ID], "observed_data_refs") {
			t.Errorf("alice's sighting: %s", a[sightMixed.ID])
		}
		if !strings.Contains(a[note.ID], `"object_refs":["`+mal.ID+`"]`) || strings.Contains(a[mal.ID], "created_by_ref") {
			t.Errorf("alice's note %s, malware %s", a[note.ID], a[mal.ID])
		}
		if strings.Contains(a[proc.ID], "parent_ref") || strings.Contains(a[proc.ID], "child_refs") {
			t.Errorf("alice's process: %s", a[proc.ID])
		}
		if !strings.Contains(a[file.ID], `"contains_refs":["`+pub.ID+`"]`) || !strings.Contains(a[file.ID], "9007199254740993") {
			t.Errorf("alice's file: %s", a[file.ID])
		}
		// Sharing with RJ1 gives Alice everything, unredacted.
		for _, o := range []*stix.Object{secret, ind, od} {
			if _, err := s.Share(ctx, nadia, o.ID, "org", "RJ1"); err != nil {
				t.Fatal(err)
			}
		}
		if a := read(alice); len(a) != len(all) || a[mal.ID] != n[mal.ID] || a[file.ID] != n[file.ID] {
			t.Errorf("alice after sharing gets %d objects of %d", len(a), len(all))
		}
	}, Migrations())
}
