package events

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the events domain's schema. Its scope filters join
// the organisations table, so the org migrations run first.
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "events", FS: sub}
}

// Options configure the SQL store.
type Options struct {
	// DB is the store's database (required).
	DB *store.DB
	// Now is the clock retention and default time ranges read (default
	// time.Now).
	Now func() time.Time
	// FieldSample is how many of the newest matching events Fields reads
	// (default 500).
	FieldSample int
}

// SQL is the Store on Vigil's database: SQLite or PostgreSQL.
type SQL struct {
	db    *store.DB
	now   func() time.Time
	opts  Options
	codec *codec

	// writeMu queues this process's appends on SQLite, which has one
	// writer at a time: waiting in Go costs nothing, while connections
	// contending in SQLite's busy handler sleep (see cases/writer.go).
	writeMu sync.Mutex
	// days are the PostgreSQL partitions known to exist.
	days sync.Map
	// insertTexts are the INSERT texts of a full chunk, without and with
	// RETURNING (insertText).
	insertTexts [2]atomic.Pointer[string]
	// noRollup makes histograms and counts read the events even where events_hours
	// could answer (tests compare the two).
	noRollup bool
}

var _ Store = (*SQL)(nil)

// New returns the SQL store over o.DB, migrated with Migrations.
func New(o Options) (*SQL, error) {
	if o.DB == nil {
		return nil, errors.New("events: Options.DB is required")
	}
	if o.FieldSample < 0 {
		return nil, errors.New("events: Options.FieldSample must not be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FieldSample == 0 {
		o.FieldSample = 500
	}
	c, err := newCodec()
	if err != nil {
		return nil, err
	}
	return &SQL{db: o.DB, now: o.Now, opts: o, codec: c}, nil
}

// Close releases the compressor. Safe to call twice.
func (s *SQL) Close() error {
	s.codec.close()
	return nil
}

const nsPerDay = int64(24 * time.Hour)

// dayOf is the Unix day number of t (UTC), rounding down before 1970 too.
func dayOf(ns int64) int64 {
	d := ns / nsPerDay
	if ns < 0 && ns%nsPerDay != 0 {
		d--
	}
	return d
}

const nsPerHour = int64(time.Hour)

// hourOf is the Unix hour number of ns, rounding down before 1970 too.
func hourOf(ns int64) int64 {
	h := ns / nsPerHour
	if ns < 0 && ns%nsPerHour != 0 {
		h--
	}
	return h
}

func dayName(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format("2006-01-02")
}

// row is an event as stored.
type row struct {
	ev       *Event
	ens, rns int64 // event and received time, Unix nanoseconds
	day      int64
	fields   []byte
	raw      []byte
	plain    sql.NullString
	size     int
	// eventID is the fields' EventID for SQLite's event_id column
	// (eventIDOf); PostgreSQL computes its own.
	eventID any
}

// insertCols are the columns Append fills: 18 on both engines, and
// SQLite's event_id (PostgreSQL's is generated from the fields, and the
// day, the partition key, goes first there: 19 values a row either way).
const insertCols = "id, org, event_ns, received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, raw, raw_text, truncated, parse_error, size"

// insertValues is how many values a row binds.
const insertValues = 19

// encodeNew checks evs — each needs an ID, an organisation and an event
// or received time — and encodes each ID once, in order, with enc: what
// every store's Append does first.
func encodeNew[R any](evs []Event, enc func(*Event) (R, error)) ([]R, error) {
	rows := make([]R, 0, len(evs))
	seen := make(map[string]bool, len(evs))
	for i := range evs {
		e := &evs[i]
		switch {
		case e.ID == "":
			return nil, fault.Invalidf("id", "event %d has no ID", i)
		case e.Org == "":
			return nil, fault.Invalidf("org", "event %s has no organisation", e.ID)
		case e.ReceivedAt.IsZero() && e.EventTime.IsZero():
			return nil, fault.Invalidf("event_time", "event %s has neither an event time nor a received time", e.ID)
		}
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		r, err := enc(e)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Append stores evs; an ID already stored is skipped. Events are checked
// first: each needs an ID and an organisation; an event without an event
// time takes its received time.
func (s *SQL) Append(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := encodeNew(evs, s.encode)
	if err != nil {
		return err
	}
	if s.db.Dialect == store.Postgres {
		if err := s.ensureDays(ctx, rows); err != nil {
			return err
		}
	} else {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	err = s.insert(ctx, rows)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23514" {
		// "no partition of relation found for row": another process's
		// retention dropped a day this process had seen. Forget the days
		// known, make them again, and try once more.
		s.days.Clear()
		if err := s.ensureDays(ctx, rows); err != nil {
			return err
		}
		err = s.insert(ctx, rows)
	}
	return err
}

// insert writes rows and counts them per organisation and day, in one
// transaction.
func (s *SQL) insert(ctx context.Context, rows []row) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		added := map[hourKey][2]int64{}
		const chunk = insertChunk
		for lo := 0; lo < len(rows); lo += chunk {
			part := rows[lo:min(lo+chunk, len(rows))]
			// Full chunks are one statement text, worth keeping prepared;
			// the remainder's sizes vary.
			full := len(part) == chunk
			// A chunk of one organisation's events of one hour (a
			// listener's batch, mostly) goes without RETURNING: if every
			// row is new, as it is but for a redelivery, its counts are
			// the chunk's. RETURNING had SQLite hand back every row, a
			// fifth of the append. A chunk some of whose rows were
			// already stored is undone and inserted again below,
			// returning what it stored.
			if k, ok := oneHour(part); ok {
				done, err := s.insertAllNew(ctx, tx, part, full)
				if err != nil {
					return err
				}
				if done {
					v := added[k]
					for _, r := range part {
						v[1] += int64(r.size)
					}
					added[k] = [2]int64{v[0] + int64(len(part)), v[1]}
					continue
				}
			}
			q, args := s.insertSQL(part, true)
			query := tx.QueryContext
			if full {
				query = tx.QueryPrepared
			}
			res, err := query(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("events: append: %w", err)
			}
			for res.Next() {
				var org string
				var ns, size int64
				if err := res.Scan(&org, &ns, &size); err != nil {
					_ = res.Close()
					return fmt.Errorf("events: append: %w", err)
				}
				k := hourKey{org, hourOf(ns)}
				v := added[k]
				added[k] = [2]int64{v[0] + 1, v[1] + size}
			}
			if err := res.Close(); err != nil {
				return fmt.Errorf("events: append: %w", err)
			}
			if err := res.Err(); err != nil {
				return fmt.Errorf("events: append: %w", err)
			}
		}
		keys := make([]hourKey, 0, len(added))
		for k := range added {
			keys = append(keys, k)
		}
		// A fixed order, so two PostgreSQL writers lock the day rows alike.
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].org != keys[j].org {
				return keys[i].org < keys[j].org
			}
			return keys[i].hour < keys[j].hour
		})
		for _, k := range keys {
			v := added[k]
			if _, err := tx.ExecContext(ctx, `INSERT INTO events_hours (org, hour, events, bytes) VALUES (?, ?, ?, ?)
				ON CONFLICT (org, hour) DO UPDATE SET events = events_hours.events + excluded.events, bytes = events_hours.bytes + excluded.bytes`,
				k.org, k.hour, v[0], v[1]); err != nil {
				return fmt.Errorf("events: count day: %w", err)
			}
		}
		return nil
	})
}

// insertChunk is how many rows one INSERT of Append takes: 18 columns
// (19 on PostgreSQL), under both engines' limits on bound values.
const insertChunk = 500

// hourKey is a row of events_hours: an organisation's hour.
type hourKey struct {
	org  string
	hour int64
}

// oneHour says whether rows are all of one organisation's hour, and which.
func oneHour(rows []row) (hourKey, bool) {
	k := hourKey{rows[0].ev.Org, hourOf(rows[0].ens)}
	for _, r := range rows[1:] {
		if r.ev.Org != k.org || hourOf(r.ens) != k.hour {
			return hourKey{}, false
		}
	}
	return k, true
}

// insertAllNew inserts rows, without RETURNING, within a savepoint, and
// keeps them only if every one was new (true); otherwise it undoes the
// insert and returns false.
func (s *SQL) insertAllNew(ctx context.Context, tx *store.Tx, rows []row, prepared bool) (bool, error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT events_chunk"); err != nil {
		return false, fmt.Errorf("events: append: %w", err)
	}
	q, args := s.insertSQL(rows, false)
	exec := tx.ExecContext
	if prepared {
		exec = tx.ExecPrepared
	}
	res, err := exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("events: append: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("events: append: %w", err)
	}
	if n != int64(len(rows)) {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT events_chunk"); err != nil {
			return false, fmt.Errorf("events: append: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT events_chunk"); err != nil {
		return false, fmt.Errorf("events: append: %w", err)
	}
	return n == int64(len(rows)), nil
}

// insertSQL is the INSERT of rows, skipping IDs already stored, and
// returning the rows it stored when returning is set.
func (s *SQL) insertSQL(rows []row, returning bool) (string, []any) {
	pg := s.db.Dialect == store.Postgres
	args := make([]any, 0, len(rows)*insertValues)
	// A chunk is mostly one sender's batch: its organisation, host and
	// source repeat row after row, and each is boxed once, not once a row
	// (a string in an interface is an allocation).
	var org, host, product, service, category, protocol, addr, token, format boxed
	for _, r := range rows {
		e := r.ev
		if pg {
			args = append(args, r.day)
		}
		// The fields as a string (TEXT: a []byte would be bound as a
		// BLOB, which json_extract reads as SQLite's binary JSON) without
		// a copy: the driver copies it when binding, and the row's bytes
		// do not change meanwhile.
		args = append(args, e.ID, org.of(e.Org), r.ens, r.rns, host.of(e.Source.Host), product.of(e.Product), service.of(e.Service), category.of(e.Category),
			protocol.of(e.Source.Protocol), addr.of(e.Source.Addr), token.of(e.Source.Token), format.of(e.Source.Format), bytesString(r.fields), r.raw, r.plain, e.Truncated, e.ParseError, r.size)
		if !pg {
			args = append(args, r.eventID)
		}
	}
	return s.insertText(len(rows), returning), args
}

// boxed is a column's last value in an interface, for the next row of the
// same value.
type boxed struct {
	s string
	v any
}

func (b *boxed) of(s string) any {
	if b.v == nil || b.s != s {
		b.s, b.v = s, s
	}
	return b.v
}

// insertText is the text of insertSQL's statement for rows rows. The
// full chunk's two texts (30 KB each) are built once and kept.
func (s *SQL) insertText(rows int, returning bool) string {
	full := rows == insertChunk
	if full {
		if q := s.insertTexts[b2i(returning)].Load(); q != nil {
			return *q
		}
	}
	var b strings.Builder
	pg := s.db.Dialect == store.Postgres
	b.WriteString("INSERT INTO events (")
	if pg {
		b.WriteString("day, ")
	}
	b.WriteString(insertCols)
	if !pg {
		b.WriteString(", event_id")
	}
	b.WriteString(") VALUES ")
	one := "(" + store.Placeholders(insertValues) + ")"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	if returning {
		b.WriteString(" RETURNING org, event_ns, size")
	}
	q := b.String()
	if full {
		s.insertTexts[b2i(returning)].Store(&q)
	}
	return q
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *SQL) encode(e *Event) (row, error) {
	et, rt := e.EventTime, e.ReceivedAt
	if et.IsZero() {
		et = rt
	}
	if rt.IsZero() {
		rt = et
	}
	fields := e.fieldsJSON
	if fields == nil {
		f := e.Fields
		if f == nil {
			f = map[string]any{}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		// Free text matches the JSON text of the fields, so < > & stay as
		// written rather than \u003c…
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f); err != nil {
			return row{}, fault.Invalidf("fields", "event %s: %v", e.ID, err)
		}
		fields = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	r := row{ev: e, ens: et.UnixNano(), rns: rt.UnixNano(), day: dayOf(et.UnixNano()), fields: fields}
	if e.ParseError != "" {
		// Kept plain for free text (nothing else holds its words), and
		// then only there.
		r.plain = sql.NullString{String: e.Raw, Valid: true}
	} else {
		r.raw = s.codec.compress(e.Raw)
	}
	r.size = len(r.fields) + len(r.raw) + len(r.plain.String) + 64
	if s.db.Dialect != store.Postgres {
		r.eventID = eventIDOf(r.fields)
	}
	return r, nil
}

// eventIDOf is the top-level EventID of fields (a JSON object) as SQLite's
// json_extract(fields, '$."EventID"') gives it, for the event_id column
// (migration 0004): an int64 for an integer that fits, a float64 for any
// other number, the text of a string, 1 or 0 for true or false — or nil
// when there is none or it is null, an object or a list, which no
// equality on a number or its text could match. Most events (syslog lines, flows) have
// no EventID, and a look for its name is all they cost.
func eventIDOf(fields []byte) any {
	if !bytes.Contains(fields, []byte("EventID")) {
		return nil
	}
	d := eventDecoder{b: fields, s: bytesString(fields)}
	var v any
	found := false
	if d.object(func(key string) bool {
		if key != "EventID" || found || d.i >= len(d.b) {
			return d.skip(0)
		}
		found = true // json_extract reads the first of keys given twice
		start := d.i
		if !d.skip(0) {
			return false
		}
		v = eventIDValue(fields[start:d.i], d.s[start:d.i])
		return true
	}) {
		return v
	}
	// Valid JSON this decoder does not read (a surrogate pair escaped,
	// nesting past its depth): encoding/json finds the key.
	var m map[string]json.RawMessage
	if json.Unmarshal(fields, &m) != nil {
		return nil
	}
	raw, ok := m["EventID"]
	if !ok {
		return nil
	}
	return eventIDValue(raw, string(raw))
}

// eventIDValue is eventIDOf's value of one JSON value, b (text, the same
// bytes as a string).
func eventIDValue(b []byte, text string) any {
	switch c := b[0]; {
	case c == '"':
		d := eventDecoder{b: b, s: text}
		if t, ok := d.str(); ok {
			// A slice of the fields, which the driver copies when binding.
			return t
		}
		var t string
		if json.Unmarshal(b, &t) == nil {
			return t
		}
	case c == 't':
		return int64(1)
	case c == 'f':
		return int64(0)
	case c == '-' || c >= '0' && c <= '9':
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(text, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return f // ±Inf beyond float64's range, as SQLite reads it
		}
	}
	return nil
}

// ensureDays creates the PostgreSQL partitions rows need. The statement is
// DDL, which takes no bound values; the day numbers and names are
// computed here from integers, never from input text.
func (s *SQL) ensureDays(ctx context.Context, rows []row) error {
	for _, r := range rows {
		if _, ok := s.days.Load(r.day); ok {
			continue
		}
		name := "events_d" + strings.ReplaceAll(dayName(r.day), "-", "")
		q := "CREATE TABLE IF NOT EXISTS " + name + " PARTITION OF events FOR VALUES FROM (" +
			strconv.FormatInt(r.day, 10) + ") TO (" + strconv.FormatInt(r.day+1, 10) + ")"
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			// Another process created it between IF NOT EXISTS's look and
			// its create: 42P07 duplicate_table means it is there.
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || (pe.Code != "42P07" && pe.Code != "23505") {
				return fmt.Errorf("events: create partition %s: %w", name, err)
			}
		}
		s.days.Store(r.day, true)
	}
	return nil
}

// where builds the condition every read shares: scope, time, organisation
// and the query's own condition.
func (s *SQL) where(sc scope.Scope, q Query) (string, []any, error) {
	n, err := Parse(q.Text)
	if err != nil {
		return "", nil, err
	}
	cond, cargs, err := compileWhere(s.db.Dialect, n)
	if err != nil {
		return "", nil, err
	}
	scopeSQL, args := sc.Filter("org", scope.Read)
	parts := []string{scopeSQL}
	if !q.Since.IsZero() {
		parts = append(parts, "event_ns >= ?")
		args = append(args, q.Since.UnixNano())
		if s.db.Dialect == store.Postgres {
			// The partition key, so the planner reads only these days.
			parts = append(parts, "day >= ?")
			args = append(args, dayOf(q.Since.UnixNano()))
		}
	}
	if !q.Until.IsZero() {
		parts = append(parts, "event_ns < ?")
		args = append(args, q.Until.UnixNano())
		if s.db.Dialect == store.Postgres {
			parts = append(parts, "day <= ?")
			args = append(args, dayOf(q.Until.UnixNano()))
		}
	}
	if q.Org != "" {
		parts = append(parts, "org = ?")
		args = append(args, q.Org)
	}
	if cond != "1=1" {
		parts = append(parts, cond)
		args = append(args, cargs...)
	}
	return strings.Join(parts, " AND "), args, nil
}

const selectCols = "id, org, event_ns, received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, raw, raw_text, truncated, parse_error"

// searchSQL is Search's query for a page of q of at most limit events.
func (s *SQL) searchSQL(sc scope.Scope, q Query, limit int) (string, []any, error) {
	w, args, err := s.where(sc, q)
	if err != nil {
		return "", nil, err
	}
	if q.Cursor != "" {
		ns, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", nil, err
		}
		// The bound event_ns <= ? says the same as the OR, but as a range
		// an index can start from: without it a page after the first,
		// with no end time, sorted every event since the start again
		// (about 2 minutes a page over 10M events).
		w += " AND event_ns <= ? AND (event_ns < ? OR (event_ns = ? AND id < ?))"
		args = append(args, ns, ns, ns, id)
		if s.db.Dialect == store.Postgres {
			w += " AND day <= ?"
			args = append(args, dayOf(ns))
		}
	}
	args = append(args, limit)
	return "SELECT " + selectCols + " FROM events WHERE " + w + " ORDER BY event_ns DESC, id DESC LIMIT ?", args, nil
}

// Search returns the newest matching events first.
func (s *SQL) Search(ctx context.Context, sc scope.Scope, q Query) (Page, error) {
	limit, err := pageLimit(q)
	if err != nil {
		return Page{}, err
	}
	query, args, err := s.searchSQL(sc, q, limit+1)
	if err != nil {
		return Page{}, err
	}
	rows, err := s.db.Q().QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("events: search: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		e, err := s.scan(rows)
		if err != nil {
			return Page{}, err
		}
		p.Events = append(p.Events, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("events: search: %w", err)
	}
	if len(p.Events) > limit {
		p.Events = p.Events[:limit]
		last := p.Events[limit-1]
		p.Next = encodeCursor(last.EventTime.UnixNano(), last.ID)
	}
	return p, nil
}

func (s *SQL) scan(rows *sql.Rows) (Event, error) {
	var e Event
	var ens, rns int64
	var fields, raw []byte
	var plain sql.NullString
	if err := rows.Scan(&e.ID, &e.Org, &ens, &rns, &e.Source.Host, &e.Product, &e.Service, &e.Category, &e.Source.Protocol,
		&e.Source.Addr, &e.Source.Token, &e.Source.Format, &fields, &raw, &plain, &e.Truncated, &e.ParseError); err != nil {
		return Event{}, fmt.Errorf("events: read: %w", err)
	}
	e.EventTime, e.ReceivedAt = time.Unix(0, ens).UTC(), time.Unix(0, rns).UTC()
	if err := json.Unmarshal(fields, &e.Fields); err != nil {
		return Event{}, fmt.Errorf("events: read %s fields: %w", e.ID, err)
	}
	if plain.Valid {
		e.Raw = plain.String
		return e, nil
	}
	txt, err := s.codec.decompress(raw)
	if err != nil {
		return Event{}, fmt.Errorf("events: read %s raw: %w", e.ID, err)
	}
	e.Raw = txt
	return e, nil
}

func encodeCursor(ns int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ns, 10) + "." + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if a, id, ok := strings.Cut(string(b), "."); ok {
			if ns, err := strconv.ParseInt(a, 10, 64); err == nil {
				return ns, id, nil
			}
		}
	}
	return 0, "", fault.Invalidf("cursor", "%q is not a cursor from a previous page; start again without one", c)
}

// Count returns how many events match. A count of every event in scope
// (no query text) reads the whole hours of its range from events_hours
// and counts only the events of the part-hours at either end: at
// 10,000,000 events a 7-day count took a second counting the events.
func (s *SQL) Count(ctx context.Context, sc scope.Scope, q Query) (int64, error) {
	node, err := Parse(q.Text)
	if err != nil {
		return 0, err
	}
	if node != nil || s.noRollup {
		return s.countEvents(ctx, sc, q)
	}
	return countByHours(ctx, s.db, sc, q, func(q Query) (int64, error) { return s.countEvents(ctx, sc, q) })
}

// countByHours counts every event in scope in q's range: the whole hours
// from events_hours, the part-hours at either end with countEvents.
func countByHours(ctx context.Context, db *store.DB, sc scope.Scope, q Query, countEvents func(Query) (int64, error)) (int64, error) {
	// Whole hours [first, last) inside the range; an open side is open
	// in the hours too.
	first, last := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		first = -hourOf(-q.Since.UnixNano()) // the hour at or after Since
	}
	if !q.Until.IsZero() {
		last = hourOf(q.Until.UnixNano())
	}
	if first >= last {
		return countEvents(q)
	}
	f, args := sc.Filter("org", scope.Read)
	w := f
	if first != math.MinInt64 {
		w += " AND hour >= ?"
		args = append(args, first)
	}
	if last != math.MaxInt64 {
		w += " AND hour < ?"
		args = append(args, last)
	}
	if q.Org != "" {
		w += " AND org = ?"
		args = append(args, q.Org)
	}
	var n sql.NullInt64
	if err := db.Q().QueryRowContext(ctx, "SELECT CAST(SUM(events) AS BIGINT) FROM events_hours WHERE "+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("events: count: %w", err)
	}
	total := n.Int64
	if !q.Since.IsZero() && q.Since.UnixNano() < first*nsPerHour {
		e := q
		e.Until = time.Unix(0, first*nsPerHour)
		c, err := countEvents(e)
		if err != nil {
			return 0, err
		}
		total += c
	}
	if !q.Until.IsZero() && last*nsPerHour < q.Until.UnixNano() {
		e := q
		e.Since = time.Unix(0, last*nsPerHour)
		c, err := countEvents(e)
		if err != nil {
			return 0, err
		}
		total += c
	}
	return total, nil
}

// countEvents counts the matching events themselves.
func (s *SQL) countEvents(ctx context.Context, sc scope.Scope, q Query) (int64, error) {
	w, args, err := s.where(sc, q)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.Q().QueryRowContext(ctx, "SELECT COUNT(*) FROM events WHERE "+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("events: count: %w", err)
	}
	return n, nil
}

// MaxBuckets bounds a histogram's bars.
const MaxBuckets = 1000

// bucketRange checks a histogram's n and fills in q's range (the last 24
// hours to now by default), giving each of the n buckets' width and the
// first one's start, in nanoseconds, and the buckets, empty: every
// store's Histogram begins so.
func bucketRange(q Query, n int, now time.Time) (Query, int64, int64, []Bucket, error) {
	if n <= 0 || n > MaxBuckets {
		return q, 0, 0, nil, fault.Invalidf("buckets", "%d is not between 1 and %d", n, MaxBuckets)
	}
	if q.Until.IsZero() {
		q.Until = now
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	if !q.Since.Before(q.Until) {
		return q, 0, 0, nil, fault.Invalidf("since", "the range must end after it starts")
	}
	span := q.Until.Sub(q.Since).Nanoseconds()
	width, start := (span+int64(n)-1)/int64(n), q.Since.UnixNano()
	out := make([]Bucket, n)
	for i := range out {
		out[i].Start = time.Unix(0, start+int64(i)*width).UTC()
	}
	return q, width, start, out, nil
}

// onHours says whether events_hours answers a histogram: every event (no
// text), its range and buckets on whole hours.
func onHours(node Node, q Query, start, width int64) bool {
	return node == nil && start%nsPerHour == 0 && q.Until.UnixNano()%nsPerHour == 0 && width%nsPerHour == 0
}

// Histogram counts matching events in n equal buckets over the query's
// time range.
func (s *SQL) Histogram(ctx context.Context, sc scope.Scope, q Query, n int) ([]Bucket, error) {
	q, width, start, out, err := bucketRange(q, n, s.now())
	if err != nil {
		return nil, err
	}
	node, err := Parse(q.Text)
	if err != nil {
		return nil, err
	}
	if onHours(node, q, start, width) && !s.noRollup {
		return out, hourHistogram(ctx, s.db, sc, q, width, out)
	}
	w, args, err := s.where(sc, q)
	if err != nil {
		return nil, err
	}
	args = append([]any{start, width}, args...)
	rows, err := s.db.Q().QueryContext(ctx, "SELECT (event_ns - ?) / ? AS b, COUNT(*) FROM events WHERE "+w+" GROUP BY b", args...)
	if err != nil {
		return nil, fmt.Errorf("events: histogram: %w", err)
	}
	return out, addBuckets(rows, out)
}

// addBuckets adds rows of (bucket, count) to out.
func addBuckets(rows *sql.Rows, out []Bucket) error {
	defer rows.Close()
	for rows.Next() {
		var b, c int64
		if err := rows.Scan(&b, &c); err != nil {
			return fmt.Errorf("events: histogram: %w", err)
		}
		if b >= 0 && b < int64(len(out)) {
			out[b].Count += c
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("events: histogram: %w", err)
	}
	return nil
}

// hourHistogram answers a histogram of every event in scope (no query
// text) whose range and buckets fall on whole hours from events_hours:
// 168 rows a week for each organisation instead of every event.
func hourHistogram(ctx context.Context, db *store.DB, sc scope.Scope, q Query, width int64, out []Bucket) error {
	f, args := sc.Filter("org", scope.Read)
	from, to := q.Since.UnixNano()/nsPerHour, q.Until.UnixNano()/nsPerHour
	w := f + " AND hour >= ? AND hour < ?"
	args = append(args, from, to)
	if q.Org != "" {
		w += " AND org = ?"
		args = append(args, q.Org)
	}
	args = append([]any{from, width / nsPerHour}, args...)
	rows, err := db.Q().QueryContext(ctx, "SELECT (hour - ?) / ? AS b, CAST(SUM(events) AS BIGINT) FROM events_hours WHERE "+w+" GROUP BY b", args...)
	if err != nil {
		return fmt.Errorf("events: histogram: %w", err)
	}
	return addBuckets(rows, out)
}

// Fields summarises the fields of the newest matching events (a sample of
// Options.FieldSample), with each field's five commonest values.
func (s *SQL) Fields(ctx context.Context, sc scope.Scope, q Query) ([]FieldSummary, error) {
	w, args, err := s.where(sc, q)
	if err != nil {
		return nil, err
	}
	args = append(args, s.opts.FieldSample)
	rows, err := s.db.Q().QueryContext(ctx, "SELECT fields FROM events WHERE "+w+" ORDER BY event_ns DESC, id DESC LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("events: fields: %w", err)
	}
	defer rows.Close()
	var sum fieldSummariser
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("events: fields: %w", err)
		}
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("events: fields: %w", err)
		}
		sum.add(f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: fields: %w", err)
	}
	return sum.summaries(), nil
}

// fieldSummariser counts the fields of sampled events and their values.
type fieldSummariser struct {
	counts  map[string]int
	values  map[string]map[string]int64
	sampled int
}

func (s *fieldSummariser) add(f map[string]any) {
	if s.counts == nil {
		s.counts, s.values = map[string]int{}, map[string]map[string]int64{}
	}
	s.sampled++
	for k, v := range f {
		s.counts[k]++
		if s.values[k] == nil {
			s.values[k] = map[string]int64{}
		}
		s.values[k][valueText(v)]++
	}
}

// summaries are the fields, commonest first, each with its five commonest
// values.
func (s *fieldSummariser) summaries() []FieldSummary {
	out := make([]FieldSummary, 0, len(s.counts))
	for k, c := range s.counts {
		out = append(out, FieldSummary{Name: k, Count: c, Sampled: s.sampled, Top: top(s.values[k], 5)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func valueText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v) // decoded from JSON: it encodes again
	return string(b)
}

func top(m map[string]int64, n int) []ValueCount {
	out := make([]ValueCount, 0, len(m))
	for v, c := range m {
		out = append(out, ValueCount{v, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// TopValues returns the n commonest values of field over every matching
// event (events without the field are not counted).
func (s *SQL) TopValues(ctx context.Context, sc scope.Scope, q Query, field string, n int) ([]ValueCount, error) {
	if err := checkTopValues(field, n); err != nil {
		return nil, err
	}
	c := &compiler{d: s.db.Dialect}
	expr := c.value(field)
	w, args, err := s.where(sc, q)
	if err != nil {
		return nil, err
	}
	args = append(append(c.args, args...), n)
	rows, err := s.db.Q().QueryContext(ctx, "SELECT v, COUNT(*) AS c FROM (SELECT "+expr+" AS v FROM events WHERE "+w+") t WHERE v IS NOT NULL GROUP BY v ORDER BY c DESC, v LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("events: top values: %w", err)
	}
	defer rows.Close()
	var out []ValueCount
	for rows.Next() {
		var vc ValueCount
		if err := rows.Scan(&vc.Value, &vc.Count); err != nil {
			return nil, fmt.Errorf("events: top values: %w", err)
		}
		out = append(out, vc)
	}
	return out, rows.Err()
}

// pageLimit is q's page size: DefaultLimit when unset, refused beyond
// MaxLimit.
func pageLimit(q Query) (int, error) {
	switch {
	case q.Limit == 0:
		return DefaultLimit, nil
	case q.Limit < 0 || q.Limit > MaxLimit:
		return 0, fault.Invalidf("limit", "%d is not between 1 and %d", q.Limit, MaxLimit)
	}
	return q.Limit, nil
}

// checkTopValues checks TopValues' field and number of values.
func checkTopValues(field string, n int) error {
	if n <= 0 || n > 1000 {
		return fault.Invalidf("n", "%d is not between 1 and 1000", n)
	}
	if err := checkField(token{text: field, parts: []string{field}}); err != nil || field == "" {
		return fault.Invalidf("field", "%q is not a field name", field)
	}
	return nil
}

// Get returns the event with id, or fault.ErrNotFound when there is none
// the caller may read.
func (s *SQL) Get(ctx context.Context, sc scope.Scope, id string) (Event, error) {
	f, args := sc.Filter("org", scope.Read)
	rows, err := s.db.Q().QueryContext(ctx, "SELECT "+selectCols+" FROM events WHERE id = ? AND "+f, append([]any{id}, args...)...)
	if err != nil {
		return Event{}, fmt.Errorf("events: get: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Event{}, fmt.Errorf("events: get: %w", err)
		}
		return Event{}, fault.NotFoundf("event %s", id)
	}
	return s.scan(rows)
}
