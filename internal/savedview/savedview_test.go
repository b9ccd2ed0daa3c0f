package savedview

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

var (
	inbox  = Kind{Name: "inbox", Noun: "view", Nouns: "views", IDPrefix: "VW", Action: "alert.view", ObjectType: "view"}
	events = Kind{Name: "events", Noun: "search", Nouns: "searches", IDPrefix: "ES", Action: "event.search", ObjectType: "event_search"}
	alice  = scope.Scope{UserID: "u-alice", Email: "alice@nhs.test", Via: "session"}
	bob    = scope.Scope{UserID: "u-bob", Email: "bob@nhs.test", Via: "session"}
)

func newService(t *testing.T, db *store.DB) (*Service, *audit.Log) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }
	log := audit.New(db, now)
	s, err := New(Options{DB: db, Audit: log, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s, log
}

func wantInvalid(t *testing.T, err error, field string) *fault.Invalid {
	t.Helper()
	var inv *fault.Invalid
	if !errors.As(err, &inv) || inv.Field != field {
		t.Fatalf("got %v, want invalid %s", err, field)
	}
	return inv
}

// A person's views of one kind are theirs alone and apart from their
// views of another kind: the same name in two kinds is two views, a save
// under a name replaces its query, the limit counts one kind, nobody
// else lists, finds or deletes them, and each change is audited.
func TestViewsByKindAndOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, log := newService(t, db)
		a, err := s.Save(ctx, alice, inbox, "  Mine ", "status=new")
		if err != nil || a.Name != "Mine" || !strings.HasPrefix(a.ID, "VW-") {
			t.Fatalf("save: %+v %v", a, err)
		}
		e, err := s.Save(ctx, alice, events, "Mine", "q=EventID%3D4625")
		if err != nil || e.ID == a.ID || !strings.HasPrefix(e.ID, "ES-") {
			t.Fatalf("same name, other kind: %+v %v", e, err)
		}
		again, err := s.Save(ctx, alice, inbox, "Mine", "status=closed")
		if err != nil || again.ID != a.ID || again.Query != "status=closed" {
			t.Errorf("replace: %+v %v", again, err)
		}
		if l, _ := s.List(ctx, alice, inbox); len(l) != 1 || l[0].Query != "status=closed" {
			t.Errorf("alice's inbox views: %+v", l)
		}
		if l, _ := s.List(ctx, alice, events); len(l) != 1 || l[0].Query != "q=EventID%3D4625" {
			t.Errorf("alice's searches: %+v", l)
		}
		if l, _ := s.List(ctx, bob, events); len(l) != 0 {
			t.Errorf("bob lists %+v", l)
		}
		if _, err := s.Find(ctx, bob, events, "Mine"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob finds alice's search: %v", err)
		}
		if f, err := s.Find(ctx, alice, events, "Mine"); err != nil || f.ID != e.ID {
			t.Errorf("find: %+v %v", f, err)
		}
		if err := s.Delete(ctx, bob, events, e.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob deletes alice's search: %v", err)
		}
		if err := s.Delete(ctx, alice, inbox, e.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a search deleted as an inbox view: %v", err)
		}
		if _, err := s.Save(ctx, scope.Scope{Via: "token"}, inbox, "x", "a=b"); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("no person: %v", err)
		}
		_, err = s.Save(ctx, alice, inbox, " ", "status=new")
		wantInvalid(t, err, "name")
		_, err = s.Save(ctx, alice, inbox, "Bidi \u202e", "status=new")
		wantInvalid(t, err, "name")
		_, err = s.Save(ctx, alice, inbox, "Empty", "  ")
		wantInvalid(t, err, "query")
		_, err = s.Save(ctx, alice, inbox, "Long", strings.Repeat("a", MaxQuery+1))
		wantInvalid(t, err, "query")
		for i := 1; i < MaxPerKind; i++ {
			if _, err := s.Save(ctx, alice, events, fmt.Sprintf("Search %02d", i), "q=a"); err != nil {
				t.Fatal(err)
			}
		}
		_, err = s.Save(ctx, alice, events, "One too many", "q=a")
		if inv := wantInvalid(t, err, "name"); !strings.Contains(inv.Reason, "50 saved searches") {
			t.Errorf("reason: %s", inv.Reason)
		}
		if _, err := s.Save(ctx, alice, inbox, "Another view", "status=new"); err != nil {
			t.Errorf("the search limit stops an inbox view: %v", err)
		}
		if err := s.Delete(ctx, alice, events, e.ID); err != nil {
			t.Fatal(err)
		}
		entries, _, err := log.List(ctx, scope.System("test"), audit.Filter{Object: e.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range entries {
			actions = append(actions, en.Action)
		}
		if got := strings.Join(actions, " "); !strings.Contains(got, "event.search.save") || !strings.Contains(got, "event.search.delete") {
			t.Errorf("audited %q", got)
		}
	}, org.Migrations(), audit.Migrations(), Migrations())
}

// A database made by the views' schema as it shipped (0001, table
// alert_views) keeps its people's views: they become inbox views, and the
// upgrade applies 0002 only.
func TestViewsUpgradeFromShipped(t *testing.T) {
	shipped := store.MigrationSet{Domain: "cases-views", FS: os.DirFS(filepath.Join("testdata", "schema-as-shipped"))}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Migrate(ctx, shipped); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO alert_views (id, user_id, name, query, created_at)
			VALUES ('VW-OLD', 'u-alice', 'Critical', 'severity=critical', '2026-11-02T09:00:00.000000000Z')`); err != nil {
			t.Fatal(err)
		}
		done, err := db.Migrate(ctx, Migrations())
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 1 || done[0].Version != 2 {
			t.Fatalf("upgrade applied %+v, want 0002 only", done)
		}
		s, _ := newService(t, db)
		l, err := s.List(ctx, alice, inbox)
		if err != nil || len(l) != 1 || l[0].ID != "VW-OLD" || l[0].Query != "severity=critical" || l[0].CreatedAt.Day() != 2 {
			t.Fatalf("after the upgrade: %+v %v", l, err)
		}
		if l, _ := s.List(ctx, alice, events); len(l) != 0 {
			t.Errorf("an inbox view listed as a search: %+v", l)
		}
		if _, err := s.Save(ctx, alice, events, "Critical", "q=x"); err != nil {
			t.Errorf("a search named as an old view: %v", err)
		}
	}, org.Migrations(), audit.Migrations())
}
