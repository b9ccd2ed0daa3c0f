package intel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

const stixData = "../../../shared/data/stix"

func obj(t *testing.T, js string) *stix.Object {
	t.Helper()
	o, err := stix.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const malware = `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2016-04-06T20:07:09.000Z","modified":"%s","name":"Poison Ivy","is_family":true%s}`

func version(t *testing.T, modified, extra string) *stix.Object {
	return obj(t, strings.Replace(strings.Replace(malware, "%s", modified, 1), "%s", extra, 1))
}

// TestStoreVersions keeps every version, knows a duplicate, and refuses
// to un-revoke; on SQLite and PostgreSQL.
func TestStoreVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, err := New(Options{DB: db, Now: func() time.Time { return time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		sc := scope.System("test")
		ip, _ := stix.NewSCO("ipv4-addr", map[string]any{"value": "198.51.100.3", "object_marking_refs": []string{stix.TLP2Red}})
		ip2, _ := stix.NewSCO("ipv4-addr", map[string]any{"value": "198.51.100.3"}) // the same address from another trust
		rep, err := s.Import(ctx, sc, "a.json", []*stix.Object{version(t, "2016-04-06T20:07:09.000Z", ""), ip, ip2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Added != 2 || rep.Unchanged != 1 || rep.NewVersions != 0 {
			t.Errorf("first import %+v", rep)
		}
		rep, err = s.Import(ctx, sc, "b.json", []*stix.Object{
			version(t, "2017-01-01T00:00:00.000Z", `,"description":"v2"`),
			version(t, "2016-04-06T20:07:09.000Z", ""),                         // already there
			version(t, "2016-06-01T00:00:00.000Z", `,"description":"between"`), // older than the latest: kept too
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Added != 0 || rep.NewVersions != 2 || rep.Unchanged != 1 {
			t.Errorf("second import %+v", rep)
		}
		got, err := s.Get(ctx, "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b")
		if err != nil {
			t.Fatal(err)
		}
		var desc string
		if _, err := got.Get("description", &desc); err != nil || desc != "v2" {
			t.Errorf("latest has description %q", desc)
		}
		vs, err := s.Versions(ctx, got.ID)
		if err != nil || len(vs) != 3 || !vs[0].Equal(time.Date(2016, 4, 6, 20, 7, 9, 0, time.UTC)) || vs[2].Year() != 2017 {
			t.Errorf("versions %v %v", vs, err)
		}
		// Revoked, then an attempt at a newer version: refused.
		rep, err = s.Import(ctx, sc, "c.json", []*stix.Object{
			version(t, "2018-01-01T00:00:00.000Z", `,"revoked":true`),
			version(t, "2019-01-01T00:00:00.000Z", `,"description":"back"`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.NewVersions != 1 || len(rep.Refused) != 1 || !strings.Contains(rep.Refused[0], "object 1 (malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b): newer than its revocation") {
			t.Errorf("revocation import %+v", rep)
		}
		if got, _ := s.Get(ctx, got.ID); !got.Revoked {
			t.Error("latest version not revoked")
		}
		if _, err := s.Get(ctx, "malware--00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing object: %v", err)
		}
		var tlp int
		if err := db.Q().QueryRowContext(ctx, `SELECT tlp FROM intel_objects WHERE id = ?`, ip.ID).Scan(&tlp); err != nil || stix.TLP(tlp) != stix.TLPRed {
			t.Errorf("stored tlp %d %v", tlp, err)
		}
	}, Migrations())
}

// TestImportExamples imports every OASIS example bundle, and checks that a
// bad file stops the import before anything is stored.
func TestImportExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(stixData, "examples", "cti-*", "*.json"))
	reports, _ := filepath.Glob(filepath.Join(stixData, "examples", "cti-*", "threat-reports", "*.json"))
	files = append(files, reports...)
	if len(files) == 0 {
		_, err := os.Stat(stixData)
		testneed.Missing(t, "the STIX examples in ../shared/data/stix", err)
	}
	db := storetest.SQLite(t, Migrations())
	s, _ := New(Options{DB: db})
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{"type":"tool","id":"tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1","created":"2016-04-06T20:03:48Z","modified":"2016-04-06T20:03:48Z","confidence":"high"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.ImportFiles(ctx, scope.System("test"), "", append(files, bad))
	if err == nil || err.Error() != bad+": object 0 (tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f): confidence: must be a whole number from 0 to 100" {
		t.Fatalf("error %v", err)
	}
	if n, _ := s.Count(ctx); len(n) != 0 {
		t.Fatalf("a failed import stored %v", n)
	}
	reps, err := s.ImportFiles(ctx, scope.System("test"), "", files)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range reps {
		total += r.Objects
	}
	counts, _ := s.Count(ctx)
	if total < 300 || counts["indicator"] == 0 || counts["marking-definition"] == 0 || counts["relationship"] == 0 {
		t.Errorf("%d objects read, stored %v", total, counts)
	}
	// Importing the same files again changes nothing.
	reps, err = s.ImportFiles(ctx, scope.System("test"), "", files)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.Added+r.NewVersions != 0 {
			t.Errorf("re-import of %s: %+v", r.Source, r)
		}
	}
}

// TestList pages through stored objects in the order they were added, with
// TAXII's filters, on both engines.
func TestList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		s, _ := New(Options{DB: db, Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
		sc := scope.System("test")
		var ips []*stix.Object
		for i := 0; i < 5; i++ {
			ip, _ := stix.NewSCO("ipv4-addr", map[string]any{"value": fmt.Sprintf("198.51.100.%d", i)})
			ips = append(ips, ip)
		}
		if _, err := s.Import(ctx, sc, "ips", ips); err != nil { // added at 01:00:01
			t.Fatal(err)
		}
		for _, m := range []string{"2016-04-06T20:07:09.000Z", "2017-01-01T00:00:00.000Z"} { // 01:00:02, 01:00:03
			if _, err := s.Import(ctx, sc, "m", []*stix.Object{version(t, m, "")}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		q := Query{Limit: 2}
		for pages := 0; ; pages++ {
			p, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				got = append(got, e.Object.ID+"@"+versionKey(e.Object.Version()))
			}
			if !p.More {
				if pages != 2 {
					t.Errorf("%d pages, want 3", pages+1)
				}
				break
			}
			q.Next = p.Next
		}
		if len(got) != 6 || !strings.HasPrefix(got[5], "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b@2017") {
			t.Errorf("last versions in order added: %v", got)
		}
		p, err := s.List(ctx, Query{Types: []string{"malware"}, Versions: []string{"all"}})
		if err != nil || len(p.Entries) != 2 || p.More {
			t.Errorf("all versions: %+v %v", p, err)
		}
		p, _ = s.List(ctx, Query{Types: []string{"malware"}, Versions: []string{"first"}})
		if len(p.Entries) != 1 || p.Entries[0].Object.Modified.Year() != 2016 || !p.Entries[0].DateAdded.Equal(time.Date(2026, 12, 7, 1, 0, 2, 0, time.UTC)) {
			t.Errorf("first version: %+v", p.Entries)
		}
		p, _ = s.List(ctx, Query{AddedAfter: time.Date(2026, 12, 7, 1, 0, 1, 0, time.UTC), Versions: []string{"all"}})
		if len(p.Entries) != 2 {
			t.Errorf("added after: %d entries", len(p.Entries))
		}
		p, _ = s.List(ctx, Query{IDs: []string{ips[3].ID}})
		if len(p.Entries) != 1 || p.Entries[0].Object.ID != ips[3].ID {
			t.Errorf("by id: %+v", p.Entries)
		}
		if _, err := s.List(ctx, Query{Next: "nope"}); !errors.Is(err, ErrBadQuery) {
			t.Errorf("bad cursor: %v", err)
		}
		if _, err := s.List(ctx, Query{Versions: []string{"yesterday"}}); !errors.Is(err, ErrBadQuery) {
			t.Errorf("bad version: %v", err)
		}
	}, Migrations())
}

// TestCollections: a collection is its creator's to read and write, and
// invisible to anyone else.
func TestCollections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db})
		alice := scope.Scope{UserID: "u-alice"}
		c, err := s.CreateCollection(ctx, alice, CollectionOptions{Title: " National ", TLPCeiling: stix.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		if c.Title != "National" || c.Ceiling != "TLP:AMBER" || !c.CanRead || !c.CanWrite || len(c.ID) != 36 {
			t.Errorf("created %+v", c)
		}
		got, err := s.GetCollection(ctx, alice, c.ID)
		if err != nil || got.TLPCeiling != stix.TLPAmber || got.CreatedBy != "u-alice" || !got.CanWrite {
			t.Errorf("get %+v %v", got, err)
		}
		if _, err := s.GetCollection(ctx, scope.Scope{UserID: "u-bob"}, c.ID); !errors.Is(err, ErrCollectionNotFound) {
			t.Errorf("bob reads alice's collection: %v", err)
		}
		if cs, _ := s.Collections(ctx, scope.Scope{UserID: "u-bob"}); len(cs) != 0 {
			t.Errorf("bob lists %v", cs)
		}
		d, err := s.CreateCollection(ctx, alice, CollectionOptions{Title: "Default"})
		if err != nil || d.TLPCeiling != stix.TLPGreen {
			t.Errorf("default ceiling %+v %v", d, err)
		}
		if cs, _ := s.Collections(ctx, alice); len(cs) != 2 || cs[0].Title != "Default" {
			t.Errorf("alice lists %+v", cs)
		}
		var inv *InvalidError
		if _, err := s.CreateCollection(ctx, alice, CollectionOptions{Title: ""}); !errors.As(err, &inv) || inv.Field != "title" {
			t.Errorf("no title: %v", err)
		}
		if _, err := s.CreateCollection(ctx, alice, CollectionOptions{Title: "x", TLPCeiling: 9}); !errors.As(err, &inv) || inv.Field != "tlp_ceiling" {
			t.Errorf("bad ceiling: %v", err)
		}
	}, Migrations())
}

// TestCollectionObjects: a collection holds what was imported into it,
// paged by when it was added there; a TLP ceiling keeps out what is
// marked above it; only a writer may import into it.
func TestCollectionObjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		s, _ := New(Options{DB: db, Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
		alice := scope.Scope{UserID: "u-alice"}
		c, err := s.CreateCollection(ctx, alice, CollectionOptions{Title: "Amber", TLPCeiling: stix.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		mk := func(v string, marking ...string) *stix.Object {
			o, _ := stix.NewSCO("domain-name", map[string]any{"value": v, "object_marking_refs": marking})
			return o
		}
		green, red, amber1, plain := mk("green.example", stix.TLP2Green), mk("red.example", stix.TLP2Red), mk("amber.example", stix.TLP1Amber), mk("plain.example")
		outside := mk("outside.example", stix.TLP2Clear)
		if _, err := s.Import(ctx, alice, "elsewhere", []*stix.Object{outside}); err != nil { // in the store, not the collection
			t.Fatal(err)
		}
		if _, err := s.ImportInto(ctx, alice, c.ID, "feed", []*stix.Object{green, red, amber1, plain}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportInto(ctx, scope.Scope{UserID: "u-bob"}, c.ID, "feed", []*stix.Object{outside}); !errors.Is(err, ErrCollectionNotFound) {
			t.Errorf("bob writes alice's collection: %v", err)
		}
		p, err := s.List(ctx, Query{Collection: c.ID, MaxTLP: c.TLPCeiling})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range p.Entries {
			got = append(got, e.Object.ID)
		}
		want := []string{amber1.ID, green.ID, plain.ID} // same date added: by id
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("collection with an AMBER ceiling gives %v, want %v (never %s, never %s)", got, want, red.ID, outside.ID)
		}
		if p, _ := s.List(ctx, Query{Collection: c.ID}); len(p.Entries) != 4 {
			t.Errorf("without a ceiling: %d entries", len(p.Entries))
		}
		// The outside object added later: its collection date is now, so
		// added_after from the first import's time finds only it.
		if _, err := s.ImportInto(ctx, alice, c.ID, "feed2", []*stix.Object{outside}); err != nil {
			t.Fatal(err)
		}
		p, _ = s.List(ctx, Query{Collection: c.ID, AddedAfter: p.Entries[0].DateAdded, MaxTLP: stix.TLPAmber})
		if len(p.Entries) != 1 || p.Entries[0].Object.ID != outside.ID || !p.Entries[0].DateAdded.Equal(time.Date(2026, 12, 7, 1, 0, 4, 0, time.UTC)) {
			t.Errorf("added after: %+v", p.Entries)
		}
	}, Migrations())
}
