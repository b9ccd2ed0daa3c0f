package intel

import (
	"context"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// FeedEdit changes a feed: each field given (not nil) replaces the
// feed's. The kind cannot change (remove the feed and add another).
type FeedEdit struct {
	Name, URL, RemoteCollection *string
	// AuthKind "", basic or bearer; a new kind other than "" needs a new
	// AuthSecret. AuthKind "" drops the user name and secret.
	AuthKind, AuthUser, AuthSecret *string
	// Collection moves the feed to another local collection the caller
	// may write.
	Collection *string
	Interval   *time.Duration
	PageSize   *int
	// Enabled false stops the scheduled pulls (a pull on demand still
	// runs); true starts them again.
	Enabled *bool
}

// writableFeed is a feed whose collection the caller may write, with the
// collection's title.
func (s *Store) writableFeed(ctx context.Context, sc scope.Scope, id string) (FeedSpec, string, error) {
	f, err := s.FeedSpecOf(ctx, id)
	if err != nil {
		return FeedSpec{}, "", err
	}
	c, err := s.GetCollection(ctx, sc, f.Collection)
	if err != nil || !c.CanRead {
		return FeedSpec{}, "", ErrFeedNotFound
	}
	if !c.CanWrite {
		return FeedSpec{}, "", ErrCollectionForbidden
	}
	return f, c.Title, nil
}

// EditFeed changes a feed into a collection the caller may write (and,
// when it moves, into one they may write), audited as intel.feed.edit
// with the fields changed (a new secret as "changed", never itself).
//
// A change of where the feed reads (URL, remote collection) or where it
// stores (collection) starts it again from nothing: the cursor is
// cleared. A change of any of those or of the credentials makes the feed
// due at once with its back-off reset; a new interval alone reschedules
// the next pull from the last attempt.
func (s *Store) EditFeed(ctx context.Context, sc scope.Scope, id string, e FeedEdit) (Feed, error) {
	f, title, err := s.writableFeed(ctx, sc, id)
	if err != nil {
		return Feed{}, err
	}
	o := FeedOptions{Name: f.Name, Kind: f.Kind, URL: f.URL, RemoteCollection: f.RemoteCollection, AuthKind: f.Auth, AuthUser: f.AuthUser,
		AuthSecret: f.Secret, Collection: f.Collection, Interval: time.Duration(f.IntervalSeconds) * time.Second, PageSize: f.PageSize}
	if f.Auth != "" && f.Secret == "" {
		o.AuthSecret = "unopened" // kept sealed as it is, unless replaced
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&o.Name, e.Name)
	set(&o.URL, e.URL)
	set(&o.RemoteCollection, e.RemoteCollection)
	set(&o.Collection, e.Collection)
	newSecret := false
	if e.AuthKind != nil && *e.AuthKind != f.Auth {
		o.AuthKind = *e.AuthKind
		switch {
		case o.AuthKind == "":
			o.AuthUser, o.AuthSecret = "", ""
		case e.AuthSecret == nil || *e.AuthSecret == "":
			return Feed{}, &InvalidError{"auth_secret", "give the password or token for the new auth " + o.AuthKind}
		case o.AuthKind == "bearer" && e.AuthUser == nil:
			o.AuthUser = ""
		}
	}
	set(&o.AuthUser, e.AuthUser)
	if e.AuthSecret != nil && *e.AuthSecret != "" {
		o.AuthSecret, newSecret = *e.AuthSecret, true
	}
	if e.Interval != nil {
		o.Interval = *e.Interval
		if o.Interval == 0 {
			return Feed{}, &InvalidError{"interval", "at least a minute"}
		}
	}
	if e.PageSize != nil {
		o.PageSize = *e.PageSize
	}
	if err := checkFeed(&o); err != nil {
		return Feed{}, err
	}
	newTitle := title
	if o.Collection != f.Collection {
		c, err := s.GetCollection(ctx, sc, o.Collection)
		if err != nil {
			return Feed{}, err
		}
		if !c.CanWrite {
			return Feed{}, ErrCollectionForbidden
		}
		o.Collection, newTitle = c.ID, c.Title
	}
	n := f.Feed
	n.Name, n.URL, n.RemoteCollection, n.Auth, n.AuthUser, n.Collection = o.Name, o.URL, o.RemoteCollection, o.AuthKind, o.AuthUser, o.Collection
	n.IntervalSeconds, n.PageSize = int(o.Interval/time.Second), o.PageSize
	if e.Enabled != nil {
		n.Enabled = *e.Enabled
	}
	before, after := map[string]any{}, map[string]any{}
	diff := func(k string, a, b any) {
		if a != b {
			before[k], after[k] = a, b
		}
	}
	diff("name", f.Name, n.Name)
	diff("url", f.URL, n.URL)
	diff("remote_collection", f.RemoteCollection, n.RemoteCollection)
	diff("auth", f.Auth, n.Auth)
	diff("auth_user", f.AuthUser, n.AuthUser)
	diff("collection", f.Collection, n.Collection)
	diff("interval_seconds", f.IntervalSeconds, n.IntervalSeconds)
	diff("page_size", f.PageSize, n.PageSize)
	diff("enabled", f.Enabled, n.Enabled)
	if newSecret {
		after["secret"] = "changed"
	}
	if len(after) == 0 {
		return f.Feed, nil
	}
	sealed := f.sealed
	switch {
	case n.Auth == "":
		sealed = ""
	case newSecret:
		sealed = s.secrets.Seal(o.AuthSecret, feedSecretContext(f.ID))
	}
	now := s.now().UTC()
	moved := n.URL != f.URL || n.RemoteCollection != f.RemoteCollection || n.Collection != f.Collection
	reconnect := moved || n.Auth != f.Auth || n.AuthUser != f.AuthUser || newSecret
	// The settings change; the cursor and schedule only when the edit
	// says so, so a pull finishing meanwhile keeps what it recorded.
	sets := `name = ?, url = ?, remote_collection = ?, auth_kind = ?, auth_user = ?, auth_secret = ?, collection_id = ?, interval_seconds = ?, page_size = ?, enabled = ?`
	args := []any{n.Name, n.URL, n.RemoteCollection, n.Auth, n.AuthUser, sealed, n.Collection, n.IntervalSeconds, n.PageSize, n.Enabled}
	if moved {
		n.Cursor = ""
		sets += `, cursor = ''`
	}
	switch {
	case reconnect:
		n.NextRun, n.ConsecutiveFailures = now, 0
		sets += `, next_run = ?, consecutive_failures = 0`
		args = append(args, versionKey(n.NextRun))
	case n.IntervalSeconds != f.IntervalSeconds && f.ConsecutiveFailures == 0:
		from := now
		if f.LastAttempt != nil {
			from = *f.LastAttempt
		}
		n.NextRun = from.Add(time.Duration(n.IntervalSeconds) * time.Second)
		sets += `, next_run = ?`
		args = append(args, versionKey(n.NextRun))
	}
	after["collection_title"], after["feed"] = newTitle, n.Name
	if moved {
		after["cursor_cleared"] = true
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE intel_feeds SET `+sets+` WHERE id = ?`, append(args, f.ID)...)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrFeedNotFound
		}
		if s.audit == nil {
			return nil
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.feed.edit", ObjectType: "intel-feed", ObjectID: f.ID, Before: before, After: after})
		return err
	})
	if err != nil {
		return Feed{}, err
	}
	return n, nil
}

// RemoveFeed removes a feed into a collection the caller may write,
// audited as intel.feed.remove. What it pulled stays in the collection,
// with its provenance (the imports audited from "feed:<name>").
func (s *Store) RemoveFeed(ctx context.Context, sc scope.Scope, id string) error {
	f, title, err := s.writableFeed(ctx, sc, id)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM intel_feeds WHERE id = ?`, f.ID)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrFeedNotFound
		}
		if s.audit == nil {
			return nil
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.feed.remove", ObjectType: "intel-feed", ObjectID: f.ID,
			Before: map[string]any{"name": f.Name, "kind": f.Kind, "url": f.URL, "remote_collection": f.RemoteCollection, "collection": f.Collection,
				"collection_title": title, "objects_added": f.ObjectsAdded}})
		return err
	})
}
