package intel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestObjectView: the object page's reads go through ReadCollection. A
// GREEN indicator related to a TLP:RED malware lists the relationship
// only to the RED one's recipients; search finds only what the reader
// may read; the same pattern from another source is listed as
// provenance; sightings are the reader's organisations' only.
func TestObjectView(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		bob := person("u-bob", scope.OrgAnalyst, "RJZ")
		c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National", TLPCeiling: stix.TLPRed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GrantCollection(ctx, nadia, c.ID, GrantOptions{Org: "ENG", Read: true}); err != nil {
			t.Fatal(err)
		}
		mk := func(js string) *stix.Object {
			o, err := stix.Parse([]byte(js))
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		const ts = `"created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","spec_version":"2.1"`
		green := mk(`{"type":"indicator","id":"indicator--11111111-1111-4111-8111-111111111111",` + ts + `,"name":"Loader C2","pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","object_marking_refs":["` + stix.TLP2Green + `"]}`)
		again := mk(`{"type":"indicator","id":"indicator--22222222-2222-4222-8222-222222222222",` + ts + `,"pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z","object_marking_refs":["` + stix.TLP2Green + `"]}`)
		red := mk(`{"type":"malware","id":"malware--33333333-3333-4333-8333-333333333333",` + ts + `,"name":"Secret implant","is_family":true,"object_marking_refs":["` + stix.TLP2Red + `"]}`)
		pub := mk(`{"type":"malware","id":"malware--44444444-4444-4444-8444-444444444444",` + ts + `,"name":"QakBot","is_family":true,"object_marking_refs":["` + stix.TLP2Green + `"]}`)
		rel := func(id, dst string) *stix.Object {
			return mk(`{"type":"relationship","id":"relationship--` + id + `",` + ts + `,"relationship_type":"indicates","source_ref":"` + green.ID + `","target_ref":"` + dst + `","object_marking_refs":["` + stix.TLP2Green + `"]}`)
		}
		if _, err := s.ImportInto(ctx, nadia, c.ID, "national.json", []*stix.Object{green, red, pub, rel("55555555-5555-4555-8555-555555555555", red.ID), rel("66666666-6666-4666-8666-666666666666", pub.ID)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportInto(ctx, nadia, c.ID, "partner-feed", []*stix.Object{again}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordSightings(ctx, []Sighting{{Indicator: green.ID, Org: "RJ1", Count: 2, LastSeen: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who     scope.Scope
			name    string
			rels    int
			sighted bool
		}{{nadia, "nadia", 2, true}, {alice, "alice", 1, true}, {bob, "bob", 1, false}} {
			v, err := s.ObjectView(ctx, c.who, green.ID)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if len(v.Relations) != c.rels || v.Relations[len(v.Relations)-1].Other.Type != "malware" {
				t.Errorf("%s: relations %+v", c.name, v.Relations)
			}
			for _, r := range v.Relations {
				if c.rels == 1 && (r.Other.ID == red.ID || r.ID == "relationship--55555555-5555-4555-8555-555555555555") {
					t.Errorf("%s is shown the RED malware through a relationship", c.name)
				}
			}
			if len(v.SameValues) != 1 || v.SameValues[0].ID != again.ID || strings.Join(v.Sources, ",") != "national.json" {
				t.Errorf("%s: provenance %+v %v", c.name, v.SameValues, v.Sources)
			}
			if (len(v.Sightings) == 1) != c.sighted {
				t.Errorf("%s: sightings %+v", c.name, v.Sightings)
			}
			found, err := s.Search(ctx, c.who, "implant", "", 10)
			if err != nil || (len(found) == 1) != (c.name == "nadia") {
				t.Errorf("%s: search for the RED malware: %+v %v", c.name, found, err)
			}
			if _, err := s.ObjectView(ctx, c.who, red.ID); (err == nil) != (c.name == "nadia") || (err != nil && !errors.Is(err, ErrNotFound)) {
				t.Errorf("%s: the RED malware's page: %v", c.name, err)
			}
		}
		if found, _ := s.Search(ctx, alice, "C2.EXAMPLE", "indicator", 10); len(found) != 2 {
			t.Errorf("search by value: %+v", found)
		}
		var inv *InvalidError
		if _, err := s.Search(ctx, alice, strings.Repeat("x", 201), "", 10); !errors.As(err, &inv) || inv.Field != "q" {
			t.Errorf("a 201-character search: %v", err)
		}
	}, Migrations())
}
