package events

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// A saved search keeps its query and time range as given, defaults an
// empty range to the last 24 hours, holds a query as long as the language
// allows, and refuses a query that does not compile or a range Window
// refuses, naming the field.
func TestSavedSearches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }
		views, err := savedview.New(savedview.Options{DB: db, Audit: audit.New(db, now), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		x, err := NewSearches(views, now)
		if err != nil {
			t.Fatal(err)
		}
		ana := scope.Scope{UserID: "u-ana", Email: "ana@nhs.test", Via: "session"}
		s, err := x.Save(ctx, ana, SavedSearch{Name: "Failed", Query: ` EventID=4625 AND user="a&b" `, From: "2026-12-01", Org: "rj1"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Query != `EventID=4625 AND user="a&b"` || s.From != "2026-12-01" || s.Since != "" || s.Org != "RJ1" || !strings.HasPrefix(s.ID, "ES-") {
			t.Errorf("saved %+v", s)
		}
		q, err := s.Search(now())
		if err != nil || q.Text != s.Query || !q.Since.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || q.Org != "RJ1" {
			t.Errorf("as a query: %+v %v", q, err)
		}
		d, err := x.Save(ctx, ana, SavedSearch{Name: "Default range", Query: "x"})
		if err != nil || d.Since != "24h" {
			t.Errorf("default range: %+v %v", d, err)
		}
		long := strings.Repeat(`a="%&" OR `, MaxQueryLen/11) + "b=1"
		if l, err := x.Save(ctx, ana, SavedSearch{Name: "Long", Query: long}); err != nil || l.Query != long {
			t.Errorf("a long query: %v", err)
		}
		for _, c := range []struct {
			s     SavedSearch
			field string
		}{
			{SavedSearch{Name: "Broken", Query: "EventID="}, "query"},
			{SavedSearch{Name: "Open", Query: "(a=1"}, "query"},
			{SavedSearch{Name: "Both", Query: "a=1", Since: "1h", From: "2026-01-01"}, "since"},
			{SavedSearch{Name: "Backwards", Query: "a=1", From: "2026-02-01", To: "2026-01-01"}, "to"},
			{SavedSearch{Name: "", Query: "a=1"}, "name"},
		} {
			_, err := x.Save(ctx, ana, c.s)
			var inv *fault.Invalid
			if !errors.As(err, &inv) || inv.Field != c.field {
				t.Errorf("%+v: %v, want invalid %s", c.s, err, c.field)
			}
		}
		list, err := x.List(ctx, ana)
		if err != nil || len(list) != 3 || list[0].Name != "Default range" || list[1].Name != "Failed" || list[1].Query != s.Query {
			t.Errorf("list: %+v %v", list, err)
		}
		if f, err := x.Find(ctx, ana, "Failed"); err != nil || f.ID != s.ID {
			t.Errorf("find: %+v %v", f, err)
		}
		if err := x.Delete(ctx, ana, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := x.Find(ctx, ana, "Failed"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("after deleting: %v", err)
		}
	}, org.Migrations(), audit.Migrations(), savedview.Migrations())
}
