package intel

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Query selects stored objects a page at a time, in the order they were
// added, as TAXII 2.1's objects endpoint (section 5.4) asks.
type Query struct {
	// AddedAfter keeps versions added strictly after it (zero: all).
	AddedAfter time.Time
	// Limit is the page size; 0 means 100.
	Limit int
	// Next is the cursor a previous page returned.
	Next string
	// IDs and Types keep only those (match[id], match[type]).
	IDs, Types []string
	// Versions is match[version]: "last" (the default), "first", "all",
	// or STIX timestamps.
	Versions []string
}

// Entry is one stored version.
type Entry struct {
	Object    *stix.Object
	DateAdded time.Time
}

// Page is one page of a Query.
type Page struct {
	Entries []Entry
	More    bool
	// Next continues the query when More.
	Next string
}

// ErrBadQuery is a query that cannot be run: a malformed cursor or version.
var ErrBadQuery = fmt.Errorf("intel: bad query")

// List runs q.
func (s *Store) List(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	if !q.AddedAfter.IsZero() {
		where = append(where, "added_at > ?")
		args = append(args, versionKey(q.AddedAfter))
	}
	if q.Next != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Next)
		parts := strings.Split(string(raw), "\x00")
		if err != nil || len(parts) != 3 {
			return Page{}, fmt.Errorf("%w: next %q is not a cursor this server gave", ErrBadQuery, q.Next)
		}
		where = append(where, "(added_at > ? OR added_at = ? AND (id > ? OR id = ? AND version > ?))")
		args = append(args, parts[0], parts[0], parts[1], parts[1], parts[2])
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("id", q.IDs)
	in("type", q.Types)
	versions := q.Versions
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	if !slices.Contains(versions, "all") {
		var vs []string
		for _, v := range versions {
			switch v {
			case "last":
				vs = append(vs, "version = (SELECT MAX(l.version) FROM intel_objects l WHERE l.id = intel_objects.id)")
			case "first":
				vs = append(vs, "version = (SELECT MIN(f.version) FROM intel_objects f WHERE f.id = intel_objects.id)")
			default:
				t, err := stix.ParseTimestamp(v)
				if err != nil {
					return Page{}, fmt.Errorf("%w: match[version] %q: want last, first, all or a timestamp", ErrBadQuery, v)
				}
				vs = append(vs, "version = ?")
				args = append(args, versionKey(t))
			}
		}
		where = append(where, "("+strings.Join(vs, " OR ")+")")
	}
	sqlq := `SELECT id, version, added_at, body FROM intel_objects`
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += fmt.Sprintf(" ORDER BY added_at, id, version LIMIT %d", limit+1)
	rows, err := s.db.Q().QueryContext(ctx, sqlq, args...)
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	var p Page
	var lastID, lastVersion, lastAdded string
	for rows.Next() {
		var id, version, added, body string
		if err := rows.Scan(&id, &version, &added, &body); err != nil {
			return Page{}, err
		}
		if len(p.Entries) == limit {
			p.More = true
			break
		}
		o, err := stix.Parse([]byte(body))
		if err != nil {
			return Page{}, fmt.Errorf("intel: stored %s: %w", id, err)
		}
		t, err := time.Parse(time.RFC3339Nano, added)
		if err != nil {
			return Page{}, fmt.Errorf("intel: stored %s added_at %q: %w", id, added, err)
		}
		p.Entries = append(p.Entries, Entry{Object: o, DateAdded: t})
		lastID, lastVersion, lastAdded = id, version, added
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	if p.More {
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(lastAdded + "\x00" + lastID + "\x00" + lastVersion))
	}
	return p, nil
}
