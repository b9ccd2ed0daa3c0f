// Package savedview holds a person's saved queries: named queries of one
// kind — the alerts inbox's views ("Critical, unassigned"), the events
// page's saved searches ("Failed sign-ins, last week") — that belong to the
// person who saved them and are never shown to anyone else.
//
// The rules every kind shares live here once: only a signed-in person has
// saved views, a name is required and one line, a query is at most
// MaxQuery characters, a person has at most MaxPerKind of one kind, saving
// under a name of theirs replaces that view's query, another person's view
// is not found, and every save and delete is audited. What a query of a
// kind may hold is that kind's domain's rule (cases reads the inbox's
// filter keys, events compiles a search): the domain checks and normalises
// the query, then calls Save.
//
// A saved view narrows nothing by itself: whatever it finds is still read
// through the caller's scope.
package savedview

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the saved views' schema. Its domain is "cases-views"
// because the inbox's views shipped first under that name (0001, table
// alert_views) and databases have recorded it; 0002 renamed the table to
// saved_views and gave each row its kind.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "cases-views", FS: sub}
}

// Limits shared by every kind.
const (
	// MaxPerKind is how many views of one kind a person may keep.
	MaxPerKind = 50
	// MaxQuery is the longest query, in bytes, a view may hold unless
	// its kind says otherwise.
	MaxQuery = 2000
	// MaxName is the longest name, in characters.
	MaxName = 80
)

// Kind is one sort of saved view, declared by the domain whose queries it
// holds.
type Kind struct {
	// Name is stored with each view: "inbox", "events".
	Name string
	// Noun and Nouns are what people call one and many in messages:
	// "view" and "views", "search" and "searches".
	Noun, Nouns string
	// IDPrefix begins each view's ID: "VW", "ES".
	IDPrefix string
	// Action begins the audit actions, Action+".save" and
	// Action+".delete": "alert.view", "event.search".
	Action string
	// ObjectType is the audit entries' object type.
	ObjectType string
	// MaxQuery is the longest query, in bytes, of this kind (0:
	// MaxQuery).
	MaxQuery int
}

func (k Kind) maxQuery() int {
	if k.MaxQuery > 0 {
		return k.MaxQuery
	}
	return MaxQuery
}

func (k Kind) check() error {
	if k.Name == "" || k.Noun == "" || k.Nouns == "" || k.IDPrefix == "" || k.Action == "" || k.ObjectType == "" {
		return fmt.Errorf("savedview: kind %+v: every field is required", k)
	}
	return nil
}

// View is one saved query.
type View struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
}

// Options are the Service's dependencies.
type Options struct {
	// DB holds the saved_views table (required).
	DB *store.DB
	// Audit records every save and delete (required).
	Audit *audit.Log
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service stores saved views. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service over o.
func New(o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("savedview: Options.DB is required")
	}
	if o.Audit == nil {
		return nil, errors.New("savedview: Options.Audit is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: o.DB, audit: o.Audit, now: o.Now}, nil
}

const tsLayout = "2006-01-02T15:04:05.000000000Z"

// Save stores query under name as the caller's view of kind k, replacing
// a view of theirs of that kind and name (which keeps its ID). The query
// must already be what k's domain accepts; Save checks only what every
// kind shares.
func (s *Service) Save(ctx context.Context, sc scope.Scope, k Kind, name, query string) (View, error) {
	if err := k.check(); err != nil {
		return View{}, err
	}
	if sc.UserID == "" {
		return View{}, fault.Forbiddenf("only a signed-in person has saved %s", k.Nouns)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return View{}, fault.Invalidf("name", "is required: name the %s", k.Noun)
	}
	if p := safetext.Problem(name, safetext.Name, MaxName); p != "" {
		return View{}, fault.Invalidf("name", "%s", p)
	}
	if strings.TrimSpace(query) == "" {
		return View{}, fault.Invalidf("query", "is empty: there is nothing to save")
	}
	if len(query) > k.maxQuery() {
		return View{}, fault.Invalidf("query", "is longer than %d characters", k.maxQuery())
	}
	if p := safetext.Problem(query, safetext.Text, 0); p != "" {
		return View{}, fault.Invalidf("query", "%s", p)
	}
	now := s.now()
	v := View{ID: randid.New(k.IDPrefix), Name: name, Query: query, CreatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM saved_views WHERE user_id = ? AND kind = ? AND name <> ?`, sc.UserID, k.Name, name).Scan(&n); err != nil {
			return fmt.Errorf("savedview: count: %w", err)
		}
		if n >= MaxPerKind {
			return fault.Invalidf("name", "you have %d saved %s, the most allowed: delete one first", n, k.Nouns)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO saved_views (id, user_id, kind, name, query, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, kind, name) DO UPDATE SET query = excluded.query`, v.ID, sc.UserID, k.Name, v.Name, v.Query, now.UTC().Format(tsLayout)); err != nil {
			return fmt.Errorf("savedview: save: %w", err)
		}
		var at string
		if err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM saved_views WHERE user_id = ? AND kind = ? AND name = ?`, sc.UserID, k.Name, name).Scan(&v.ID, &at); err != nil {
			return fmt.Errorf("savedview: read: %w", err)
		}
		v.CreatedAt = parseTS(at)
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: k.Action + ".save", ObjectType: k.ObjectType, ObjectID: v.ID,
			After: map[string]string{"name": v.Name, "query": v.Query}})
		return err
	})
	if err != nil {
		return View{}, err
	}
	return v, nil
}

// List returns the caller's views of kind k by name.
func (s *Service) List(ctx context.Context, sc scope.Scope, k Kind) ([]View, error) {
	out := []View{}
	if sc.UserID == "" {
		return out, nil
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, name, query, created_at FROM saved_views WHERE user_id = ? AND kind = ? ORDER BY name, id`, sc.UserID, k.Name)
	if err != nil {
		return nil, fmt.Errorf("savedview: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v View
		var at string
		if err := rows.Scan(&v.ID, &v.Name, &v.Query, &at); err != nil {
			return nil, fmt.Errorf("savedview: scan: %w", err)
		}
		v.CreatedAt = parseTS(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// Find returns the caller's view of kind k named name; none is not found.
func (s *Service) Find(ctx context.Context, sc scope.Scope, k Kind, name string) (View, error) {
	v := View{Name: strings.TrimSpace(name)}
	var at string
	err := s.db.Q().QueryRowContext(ctx, `SELECT id, query, created_at FROM saved_views WHERE user_id = ? AND kind = ? AND name = ?`,
		sc.UserID, k.Name, v.Name).Scan(&v.ID, &v.Query, &at)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && sc.UserID == "") {
		return View{}, fmt.Errorf("saved %s %q: %w", k.Noun, v.Name, fault.ErrNotFound)
	}
	if err != nil {
		return View{}, fmt.Errorf("savedview: find: %w", err)
	}
	v.CreatedAt = parseTS(at)
	return v, nil
}

// Delete deletes the caller's view id of kind k; another person's view, a
// view of another kind, or none, is not found.
func (s *Service) Delete(ctx context.Context, sc scope.Scope, k Kind, id string) error {
	if err := k.check(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM saved_views WHERE id = ? AND user_id = ? AND kind = ?`, id, sc.UserID, k.Name).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && sc.UserID == "") {
			return fmt.Errorf("%s %s: %w", k.Noun, id, fault.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("savedview: delete: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM saved_views WHERE id = ? AND user_id = ? AND kind = ?`, id, sc.UserID, k.Name); err != nil {
			return fmt.Errorf("savedview: delete: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: k.Action + ".delete", ObjectType: k.ObjectType, ObjectID: id,
			Before: map[string]string{"name": name}})
		return err
	})
}

func parseTS(s string) time.Time {
	t, err := time.Parse(tsLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}
