package cases

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Saved views: a person's named inbox filters ("Critical, unassigned",
// "Phishing this week"). A view holds the inbox's filter as a query
// string of the keys InboxFilterKeys lists; it belongs to the person who
// saved it and is never shown to anyone else. It narrows nothing by
// itself: the inbox still reads through the caller's scope.

//go:embed views_migrations/*.sql
var viewMigrationFS embed.FS

// ViewMigrations returns the saved views' schema: a migration set of its
// own (domain "cases-views"), so its numbers never meet the cases
// schema's.
func ViewMigrations() store.MigrationSet {
	sub, _ := fs.Sub(viewMigrationFS, "views_migrations")
	return store.MigrationSet{Domain: "cases-views", FS: sub}
}

// SavedView is one saved inbox filter.
type SavedView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
}

// InboxFilterKeys are the query keys an inbox filter (and so a saved view)
// may hold.
func InboxFilterKeys() []string {
	return []string{"status", "severity", "source", "type", "org", "assignee", "q", "since", "group"}
}

const (
	prefixView   = "VW"
	maxViews     = 50
	maxViewQuery = 2000
)

// SaveView stores the inbox filter query under name for the caller,
// replacing a view of theirs of the same name. Keys outside
// InboxFilterKeys and empty values are dropped; at least one must remain.
func (s *Service) SaveView(ctx context.Context, sc scope.Scope, name, query string) (SavedView, error) {
	if sc.UserID == "" {
		return SavedView{}, fault.Forbiddenf("only a signed-in person has saved views")
	}
	name = strings.TrimSpace(name)
	if err := checkName("name", name, true, 80); err != nil {
		return SavedView{}, err
	}
	if len(query) > maxViewQuery {
		return SavedView{}, fault.Invalidf("query", "is longer than %d characters", maxViewQuery)
	}
	in, err := url.ParseQuery(strings.TrimPrefix(query, "?"))
	if err != nil {
		return SavedView{}, fault.Invalidf("query", "is not a query string: %v", err)
	}
	keep := url.Values{}
	for _, k := range InboxFilterKeys() {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			if err := checkName(k, v, false, safetext.MaxName); err != nil {
				return SavedView{}, err
			}
			keep.Set(k, v)
		}
	}
	if len(keep) == 0 {
		return SavedView{}, fault.Invalidf("query", "choose at least one filter to save as a view")
	}
	now := s.now()
	v := SavedView{ID: newID(prefixView, now), Name: name, Query: keep.Encode(), CreatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_views WHERE user_id = ? AND name <> ?`, sc.UserID, name).Scan(&n); err != nil {
			return fmt.Errorf("cases: count views: %w", err)
		}
		if n >= maxViews {
			return fault.Invalidf("name", "you have %d saved views, the most allowed: delete one first", n)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_views (id, user_id, name, query, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query`, v.ID, sc.UserID, v.Name, v.Query, ts(now)); err != nil {
			return fmt.Errorf("cases: save view: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM alert_views WHERE user_id = ? AND name = ?`, sc.UserID, name).Scan(&v.ID); err != nil {
			return fmt.Errorf("cases: read view: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "alert.view.save", ObjectType: "view", ObjectID: v.ID,
			After: map[string]string{"name": v.Name, "query": v.Query}})
		return err
	})
	if err != nil {
		return SavedView{}, err
	}
	return v, nil
}

// Views lists the caller's saved views by name.
func (s *Service) Views(ctx context.Context, sc scope.Scope) ([]SavedView, error) {
	out, err := queryAll(ctx, s.db.Q(), `SELECT id, name, query, created_at FROM alert_views WHERE user_id = ? ORDER BY name, id`,
		func(r scanner) (SavedView, error) {
			var v SavedView
			var at string
			err := r.Scan(&v.ID, &v.Name, &v.Query, &at)
			v.CreatedAt = parseTS(at)
			return v, err
		}, sc.UserID)
	if out == nil && err == nil {
		out = []SavedView{}
	}
	return out, err
}

// DeleteView deletes one of the caller's saved views; another person's
// view, or none, is not found.
func (s *Service) DeleteView(ctx context.Context, sc scope.Scope, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM alert_views WHERE id = ? AND user_id = ?`, id, sc.UserID).Scan(&name)
		if err != nil {
			return notFound("view", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_views WHERE id = ? AND user_id = ?`, id, sc.UserID); err != nil {
			return fmt.Errorf("cases: delete view: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "alert.view.delete", ObjectType: "view", ObjectID: id,
			Before: map[string]string{"name": name}})
		return err
	})
}

// AlertGroup is alerts of one page that look alike: the same source and
// type, the same title, or sharing an observable.
type AlertGroup struct {
	// Key is what they share, in words ("edr / malware", a title, "ip
	// 198.51.100.7").
	Key    string
	Alerts []Alert
}

// GroupBy lists the ways the inbox groups alerts.
func GroupBy() []string { return []string{"source", "title", "observable"} }

// GroupAlerts groups a page of alerts by "source" (source and type),
// "title" or "observable": each alert joins the group of its observable
// that most alerts of the page share (ties to the first in order), so an
// alert is in one group; groups keep the page's order (newest first) by
// their newest alert.
func GroupAlerts(list []Alert, by string) ([]AlertGroup, error) {
	if err := oneOf("group", by, GroupBy()); err != nil {
		return nil, err
	}
	obsKey := func(o Observable) string { return string(o.Type) + " " + o.Value }
	shared := map[string]int{}
	if by == "observable" {
		for _, a := range list {
			seen := map[string]bool{}
			for _, o := range a.Observables {
				if k := obsKey(o); !seen[k] {
					seen[k] = true
					shared[k]++
				}
			}
		}
	}
	index := map[string]int{}
	var out []AlertGroup
	for _, a := range list {
		var key string
		switch by {
		case "source":
			key = a.Source + " / " + a.Type
		case "title":
			key = a.Title
		case "observable":
			key = "no observables"
			keys := make([]string, 0, len(a.Observables))
			for _, o := range a.Observables {
				keys = append(keys, obsKey(o))
			}
			sort.Strings(keys)
			for _, k := range keys {
				if key == "no observables" || shared[k] > shared[key] {
					key = k
				}
			}
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, AlertGroup{Key: key})
		}
		out[i].Alerts = append(out[i].Alerts, a)
	}
	return out, nil
}

// NextStatuses lists the statuses a case of status from may move to (the
// workflow in case.go), for a page to offer only those.
func NextStatuses(from CaseStatus) []CaseStatus {
	return append([]CaseStatus(nil), transitions[from]...)
}
