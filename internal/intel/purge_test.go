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

// TestPurge: a national administrator purges an object with two
// versions in two collections, with a recipient and sightings; it is
// gone from the store, both collections, its recipients and sightings,
// the matcher is told, and another object stays. A national analyst, a
// missing reason, a malformed id and an unknown one are refused, and
// nothing is removed by them.
func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		admin := person("u-root", scope.NationalAdmin, "ENG")
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		fired := 0
		s.OnChange(func() { fired++ })
		mk := func(domain, marking string) *stix.Object {
			o, err := stix.NewIndicator(stix.IndicatorOptions{Name: domain, Pattern: "[domain-name:value = '" + domain + "']",
				Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Markings: []string{marking}})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		bad := mk("bad.example", stix.TLP2Red)
		b, _ := bad.MarshalJSON()
		bad2, err := stix.Parse([]byte(strings.Replace(string(b), `"modified":"2026-12-01T00:00:00.000Z"`, `"modified":"2026-12-02T00:00:00.000Z"`, 1)))
		if err != nil || !bad2.Modified.After(bad.Modified) {
			t.Fatalf("second version: %v %s", err, b)
		}
		later := bad2.Modified
		keep := mk("keep.example", stix.TLP2Green)
		var cols []string
		for _, title := range []string{"One", "Two"} {
			c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: title, TLPCeiling: stix.TLPRed})
			if err != nil {
				t.Fatal(err)
			}
			cols = append(cols, c.ID)
			if _, err := s.ImportInto(ctx, nadia, c.ID, "test", []*stix.Object{bad, bad2, keep}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Share(ctx, nadia, bad.ID, "org", "RJ1"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordSightings(ctx, []Sighting{{Indicator: bad.ID, Org: "RJ1", Count: 2, LastSeen: later}}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordVerdict(ctx, Verdict{Indicator: bad.ID, Origin: "alert:a-1", Org: "RJ1", Verdict: VerdictFalsePositive, By: "u-alice", At: later}); err != nil {
			t.Fatal(err)
		}
		count := func(q string, args ...any) int {
			var n int
			if err := db.Q().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		rows := func(id string) [6]int {
			return [6]int{count(`SELECT COUNT(*) FROM intel_objects WHERE id = ?`, id), count(`SELECT COUNT(*) FROM intel_collection_objects WHERE id = ?`, id),
				count(`SELECT COUNT(*) FROM intel_object_recipients WHERE id = ?`, id), count(`SELECT COUNT(*) FROM intel_sightings WHERE indicator_id = ?`, id),
				count(`SELECT COUNT(*) FROM intel_verdicts WHERE indicator_id = ?`, id), count(`SELECT COUNT(*) FROM intel_search_tokens WHERE id = ?`, id)}
		}
		if got := rows(bad.ID); got[0] != 2 || got[1] != 4 || got[2] == 0 || got[3] != 1 || got[4] != 1 || got[5] == 0 {
			t.Fatalf("before: %v", got)
		}
		before := fired
		for name, c := range map[string]struct {
			sc         scope.Scope
			id, reason string
			want       error
		}{
			"analyst":   {nadia, bad.ID, "mistake", ErrPurgeForbidden},
			"no reason": {admin, bad.ID, " ", nil},
			"bad id":    {admin, "indicator--nope", "mistake", nil},
			"unknown":   {admin, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "mistake", ErrNotFound},
		} {
			_, err := s.Purge(ctx, c.sc, c.id, c.reason)
			var inv *InvalidError
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%s: %v, want %v", name, err, c.want)
			case c.want == nil && !errors.As(err, &inv):
				t.Errorf("%s: %v, want an InvalidError", name, err)
			}
		}
		if got := rows(bad.ID); got[0] != 2 || fired != before {
			t.Fatalf("a refused purge removed something: %v, fired %d", got, fired-before)
		}
		res, err := s.Purge(ctx, admin, bad.ID, "posted by mistake")
		if err != nil {
			t.Fatal(err)
		}
		if res != (PurgeResult{ID: bad.ID, Type: "indicator", Versions: 2, Collections: 2}) {
			t.Errorf("result %+v", res)
		}
		if got := rows(bad.ID); got != [6]int{} {
			t.Errorf("after: %v, want nothing left", got)
		}
		if _, err := s.Get(ctx, bad.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after purge: %v", err)
		}
		if fired != before+1 {
			t.Errorf("OnChange fired %d times, want once", fired-before)
		}
		if got := rows(keep.ID); got[0] != 1 || got[1] != 2 {
			t.Errorf("the other object: %v", got)
		}
		for _, c := range cols {
			p, _, err := s.ReadCollection(ctx, nadia, c, Query{Versions: []string{"all"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != 1 || p.Entries[0].Object.ID != keep.ID {
				t.Errorf("collection %s after the purge: %d entries", c, len(p.Entries))
			}
		}
	}, Migrations())
}
