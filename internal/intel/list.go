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
	// Collection keeps the versions a collection holds, paged by when
	// they were added to it ("": the whole store, by when stored).
	Collection string
	// MaxTLP leaves out versions marked above it (0: no ceiling).
	// Unmarked objects are not left out.
	MaxTLP stix.TLP
	// Reader, when set, leaves out TLP:RED and TLP:AMBER+STRICT versions
	// of which neither the reader nor their organisations is a recipient.
	// ReadCollection always sets it.
	Reader *Reader
	// Approver, with Reader and Collection, reads every pending
	// submission of the collection; any other Reader only those of
	// their organisations (submissions.go).
	Approver bool
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
	from, added := `intel_objects o`, "o.added_at"
	if q.Collection != "" {
		from, added = `intel_objects o JOIN intel_collection_objects m ON m.collection_id = ? AND m.id = o.id AND m.version = o.version`, "m.added_at"
		args = append(args, q.Collection)
	}
	if !q.AddedAfter.IsZero() {
		where = append(where, added+" > ?")
		args = append(args, versionKey(q.AddedAfter))
	}
	if q.MaxTLP > 0 {
		where = append(where, "o.tlp <= ?")
		args = append(args, int(q.MaxTLP))
	}
	if q.Reader != nil {
		rcpt := "(r.kind = 'user' AND r.recipient = ?"
		args = append(args, q.Reader.UserID)
		if len(q.Reader.Orgs) > 0 {
			rcpt += " OR r.kind = 'org' AND r.recipient IN (?" + strings.Repeat(", ?", len(q.Reader.Orgs)-1) + ")"
			for _, o := range q.Reader.Orgs {
				args = append(args, o)
			}
		}
		where = append(where, fmt.Sprintf("(o.tlp < %d OR EXISTS (SELECT 1 FROM intel_object_recipients r WHERE r.id = o.id AND %s)))", int(stix.TLPAmberStrict), rcpt))
	}
	// pending is the condition on a membership (alias) that the reader
	// may read it: not a pending submission, or one of theirs.
	pending := func(alias string) (string, []any) {
		if q.Collection == "" || q.Reader == nil || q.Approver {
			return "", nil
		}
		if len(q.Reader.Orgs) == 0 {
			return alias + ".pending_org = ''", nil
		}
		var a []any
		for _, o := range q.Reader.Orgs {
			a = append(a, o)
		}
		return "(" + alias + ".pending_org = '' OR " + alias + ".pending_org IN (?" + strings.Repeat(", ?", len(a)-1) + "))", a
	}
	if c, a := pending("m"); c != "" {
		where = append(where, c)
		args = append(args, a...)
	}
	if q.Next != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Next)
		parts := strings.Split(string(raw), "\x00")
		if err != nil || len(parts) != 3 {
			return Page{}, fmt.Errorf("%w: next %q is not a cursor this server gave", ErrBadQuery, q.Next)
		}
		where = append(where, "("+added+" > ? OR "+added+" = ? AND (o.id > ? OR o.id = ? AND o.version > ?))")
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
	in("o.id", q.IDs)
	if q.Collection != "" {
		// The same ids on the membership, so a look-up of a few ids
		// (search, an object's page) starts from them rather than from
		// every member of the collection, which PostgreSQL chose.
		in("m.id", q.IDs)
	}
	in("o.type", q.Types)
	versions := q.Versions
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	// first and last are of the versions the collection holds.
	members, memberOf := "intel_objects", ""
	if q.Collection != "" {
		members, memberOf = "intel_collection_objects", "l.collection_id = m.collection_id AND "
	}
	if !slices.Contains(versions, "all") {
		var vs []string
		// The first and last versions the reader may read: a pending
		// newer version hides no approved one from the others.
		pc, pa := pending("l")
		if pc != "" {
			pc += " AND "
		}
		for _, v := range versions {
			switch v {
			case "last":
				vs = append(vs, "o.version = (SELECT MAX(l.version) FROM "+members+" l WHERE "+memberOf+pc+"l.id = o.id)")
				args = append(args, pa...)
			case "first":
				vs = append(vs, "o.version = (SELECT MIN(l.version) FROM "+members+" l WHERE "+memberOf+pc+"l.id = o.id)")
				args = append(args, pa...)
			default:
				t, err := stix.ParseTimestamp(v)
				if err != nil {
					return Page{}, fmt.Errorf("%w: match[version] %q: want last, first, all or a timestamp", ErrBadQuery, v)
				}
				vs = append(vs, "o.version = ?")
				args = append(args, versionKey(t))
			}
		}
		where = append(where, "("+strings.Join(vs, " OR ")+")")
	}
	sqlq := `SELECT o.id, o.version, ` + added + `, o.body FROM ` + from
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += fmt.Sprintf(" ORDER BY %s, o.id, o.version LIMIT %d", added, limit+1)
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
	if q.Reader != nil {
		// After the cursor is taken from the rows, so a page that loses
		// an object to redaction still resumes where it should.
		if p.Entries, err = s.redactRefs(ctx, q.Reader, p.Entries); err != nil {
			return Page{}, err
		}
	}
	return p, nil
}
