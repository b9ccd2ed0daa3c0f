package intel

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

const indicatorJSON = `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-12-01T00:00:00.000Z","modified":"%s","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z"}`

// TestEachIndicator: the latest version of each indicator, those added
// after a moment, LastAdded and the change hook, on both engines.
func TestEachIndicator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		s, err := New(Options{DB: db, Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		if la, err := s.LastAdded(ctx); err != nil || !la.IsZero() {
			t.Fatalf("empty store: LastAdded %v, %v", la, err)
		}
		changes := 0
		s.OnChange(func() { changes++ })
		mk := func(uuid, modified string) *stix.Object {
			return obj(t, fmtIndicator(uuid, modified))
		}
		sc := scope.System("test")
		a, b := "0b7e5a9c-1d2e-4f3a-8b4c-5d6e7f8a9b0c", "1c8f6b0d-2e3f-4a4b-9c5d-6e7f8a9b0c1d"
		if _, err := s.Import(ctx, sc, "one.json", []*stix.Object{mk(a, "2026-12-01T00:00:00.000Z"), mk(b, "2026-12-01T00:00:00.000Z")}); err != nil {
			t.Fatal(err)
		}
		first := clock
		clock = clock.Add(time.Hour)
		if _, err := s.Import(ctx, sc, "two.json", []*stix.Object{mk(a, "2026-12-02T00:00:00.000Z")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(ctx, sc, "again.json", []*stix.Object{mk(a, "2026-12-02T00:00:00.000Z")}); err != nil {
			t.Fatal(err)
		}
		if changes != 2 {
			t.Errorf("%d changes told, want 2 (nothing new in the third import)", changes)
		}
		got := map[string]string{}
		if err := s.EachIndicator(ctx, time.Time{}, func(si StoredIndicator) error {
			got[si.Object.ID] = si.Source + " " + si.Object.Modified.Format(time.RFC3339)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["indicator--"+a] != "two.json 2026-12-02T00:00:00Z" || got["indicator--"+b] != "one.json 2026-12-01T00:00:00Z" {
			t.Errorf("latest versions %v", got)
		}
		n := 0
		if err := s.EachIndicator(ctx, first, func(si StoredIndicator) error {
			n++
			if si.Object.ID != "indicator--"+a || !si.Added.Equal(clock) {
				t.Errorf("added after the first import: %s at %v", si.Object.ID, si.Added)
			}
			return nil
		}); err != nil || n != 1 {
			t.Errorf("added after: %d, %v", n, err)
		}
		if la, err := s.LastAdded(ctx); err != nil || !la.Equal(clock) {
			t.Errorf("LastAdded %v, %v; want %v", la, err, clock)
		}
	}, Migrations())
}

func fmtIndicator(uuid, modified string) string {
	return fmt.Sprintf(indicatorJSON, uuid, modified)
}
