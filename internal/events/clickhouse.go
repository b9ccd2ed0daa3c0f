package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// ClickHouseOptions configure the ClickHouse store (ADR 0008).
type ClickHouseOptions struct {
	// URL is the server's HTTP interface: http://[user:password@]host:8123/?database=vigil,
	// or clickhouse://[user:password@]host:8123/vigil (the same interface;
	// the path names the database). The database is created if missing.
	URL string
	// Orgs resolves a scope into the codes of the organisations it may
	// read (org.Service.ReadableCodes: the same rule as the SQL store's,
	// in Vigil's own database), which every read filters by (required).
	Orgs OrgCodes
	// Now is the clock retention and default time ranges read (default
	// time.Now).
	Now func() time.Time
	// FieldSample is how many of the newest matching events Fields reads
	// (default 500).
	FieldSample int
	// Client is the HTTP client (default one with no overall timeout:
	// requests end with their context).
	Client *http.Client
}

// OrgCodes is what the ClickHouse store needs of the organisations.
type OrgCodes interface {
	ReadableCodes(ctx context.Context, sc scope.Scope) ([]string, error)
}

// ClickHouse is the Store on a ClickHouse server, spoken to over its HTTP
// interface: RowBinary in, JSONEachRow out, values written into the SQL as
// literals by chString and chFloat (the server, 18.16, has no query
// parameters over HTTP). Table events is a ReplacingMergeTree partitioned
// by UTC day and ordered by (org, event_ns, id); see ADR 0008.
type ClickHouse struct {
	base   *url.URL // the server's address, without the query
	db     string
	user   *url.Userinfo
	client *http.Client
	orgs   OrgCodes
	now    func() time.Time
	opts   ClickHouseOptions

	// appendMu serialises this process's appends, so two of its batches
	// with the same event cannot both find it absent and both insert it.
	appendMu sync.Mutex
}

var _ Store = (*ClickHouse)(nil)

// NewClickHouse connects to the server at o.URL, creating the database
// and the events table if they are missing.
func NewClickHouse(ctx context.Context, o ClickHouseOptions) (*ClickHouse, error) {
	if o.Orgs == nil {
		return nil, errors.New("events: ClickHouseOptions.Orgs is required (scope is resolved in Vigil's database)")
	}
	if o.FieldSample < 0 {
		return nil, errors.New("events: ClickHouseOptions.FieldSample must not be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FieldSample == 0 {
		o.FieldSample = 500
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	base, db, err := parseClickHouseURL(o.URL)
	if err != nil {
		return nil, err
	}
	s := &ClickHouse{base: base, db: db, user: base.User, client: o.Client, orgs: o.Orgs, now: o.Now, opts: o}
	s.base.User = nil
	if err := s.exec(ctx, "", "CREATE DATABASE IF NOT EXISTS "+chIdent(db)); err != nil {
		return nil, err
	}
	if err := s.exec(ctx, s.db, chEventsTable); err != nil {
		return nil, err
	}
	return s, nil
}

// parseClickHouseURL splits u into the server's address and the database.
func parseClickHouseURL(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fault.Invalidf("events_url", "%q is not a URL: %v", raw, err)
	}
	db := "vigil"
	switch u.Scheme {
	case "http", "https":
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return nil, "", fault.Invalidf("events_url", "%q: %v", raw, err)
		}
		if d := q.Get("database"); d != "" {
			db = d
		}
	case "clickhouse":
		u.Scheme = "http"
		if d := strings.Trim(u.Path, "/"); d != "" {
			db = d
		}
		if u.Port() == "" {
			u.Host += ":8123"
		}
	default:
		return nil, "", fault.Invalidf("events_url", "%q: want http://, https:// or clickhouse://", raw)
	}
	if u.Host == "" {
		return nil, "", fault.Invalidf("events_url", "%q names no host", raw)
	}
	for _, r := range db {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return nil, "", fault.Invalidf("events_url", "database %q: use letters, digits and _", db)
		}
	}
	u.Path, u.RawQuery, u.Fragment = "/", "", ""
	return u, db, nil
}

// chEventsTable is the events table. Fields are kept twice: as the JSON
// object events come back with (and free text searches), and as three
// parallel arrays of each top-level key, its type and its value as text,
// which field conditions read — exact and fast where 18.16's
// visitParamExtract* would match a key's first occurrence anywhere in
// the text. The raw text is stored plain: the server compresses each
// column in blocks (LZ4, or zstd where its <compression> says so), which
// shrinks similar lines far better than one zstd frame per event; 18.16
// has no per-column CODEC. EventID, the field Windows searches start
// from, is also a column of its own (chHotFields): a number's equality
// or range on it reads that short column instead of every value of
// every field. Granules are 256 rows, not 8,192: an event is kilobytes
// wide, and a page's events are read granule by granule (at 1,000,000
// events the fetch of a page of 100 took 1.7 s with 8,192-row granules,
// 96 ms with 256; 18.16 has no adaptive index_granularity_bytes).
const chEventsTable = `CREATE TABLE IF NOT EXISTS events (
	day Date,
	org String,
	event_ns Int64,
	id String,
	received_ns Int64,
	host String,
	product String,
	service String,
	category String,
	protocol String,
	source_addr String,
	source_token String,
	source_format String,
	fields String,
	keys Array(String),
	types Array(UInt8),
	vals Array(String),
	raw String,
	raw_text String,
	truncated UInt8,
	parse_error String,
	size UInt32,
	event_id String
) ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY (org, event_ns, id)
SETTINGS index_granularity = 256`

// The types of a field's value in the types array; 0 is what the array
// gives for a key that is absent.
const (
	chtAbsent = 0
	chtString = 1
	chtNumber = 2
	chtBool   = 3
	chtNull   = 4
	chtJSON   = 5 // a list or object, its value the JSON text
)

// chIdent quotes an identifier checked to be letters, digits and _.
func chIdent(s string) string { return "`" + s + "`" }

// settings every query runs with: compiled queries (a long `in` list, a
// region's organisation codes) may pass the defaults of 256 KiB and
// 50,000 AST elements.
var chSettings = url.Values{
	"max_query_size":                          {"16777216"},
	"max_ast_elements":                        {"1000000"},
	"max_expanded_ast_elements":               {"1000000"},
	"output_format_json_quote_64bit_integers": {"0"},
}

// chExternal is a table sent with a query (ClickHouse's "external
// data"): the query reads it by name, and the server builds an IN set
// from it without parsing thousands of literals.
type chExternal struct {
	name, structure string
	rowBinary       []byte
}

// do sends one request: the query in the body, or in the URL when body
// is set (an INSERT's rows) or an external table goes with it.
func (s *ClickHouse) do(ctx context.Context, db, query string, body io.Reader) (io.ReadCloser, error) {
	return s.doExt(ctx, db, query, body, nil)
}

func (s *ClickHouse) doExt(ctx context.Context, db, query string, body io.Reader, ext *chExternal) (io.ReadCloser, error) {
	u := *s.base
	v := url.Values{}
	for k, x := range chSettings {
		v[k] = x
	}
	if db != "" {
		v.Set("database", db)
	}
	ctype := "text/plain"
	switch {
	case ext != nil:
		v.Set("query", query)
		v.Set(ext.name+"_structure", ext.structure)
		v.Set(ext.name+"_format", "RowBinary")
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, err := mw.CreateFormFile(ext.name, ext.name)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(ext.rowBinary); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		body, ctype = &b, mw.FormDataContentType()
	case body == nil:
		body = strings.NewReader(query)
	default:
		v.Set("query", query)
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if s.user != nil {
		p, _ := s.user.Password()
		req.SetBasicAuth(s.user.Username(), p)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("events: clickhouse: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		_ = res.Body.Close()
		return nil, fmt.Errorf("events: clickhouse: %s: %s", res.Status, strings.TrimSpace(string(msg)))
	}
	return res.Body, nil
}

func (s *ClickHouse) exec(ctx context.Context, db, query string) error {
	body, err := s.do(ctx, db, query, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, body)
	_ = body.Close()
	return err
}

// query runs a SELECT (FORMAT JSONEachRow is added) and calls fn with
// each row's JSON.
func (s *ClickHouse) query(ctx context.Context, q string, fn func(row []byte) error) error {
	return s.queryExt(ctx, q, nil, fn)
}

func (s *ClickHouse) queryExt(ctx context.Context, q string, ext *chExternal, fn func(row []byte) error) error {
	body, err := s.doExt(ctx, s.db, q+" FORMAT JSONEachRow", nil, ext)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("events: clickhouse: read: %w", err)
	}
	return nil
}

// chRow is an event as the table holds it.
type chRow struct {
	DayNum       int64    `json:"-"` // chDay of EventNS
	Org          string   `json:"org"`
	EventNS      int64    `json:"event_ns"`
	ID           string   `json:"id"`
	ReceivedNS   int64    `json:"received_ns"`
	Host         string   `json:"host"`
	Product      string   `json:"product"`
	Service      string   `json:"service"`
	Category     string   `json:"category"`
	Protocol     string   `json:"protocol"`
	SourceAddr   string   `json:"source_addr"`
	SourceToken  string   `json:"source_token"`
	SourceFormat string   `json:"source_format"`
	Fields       string   `json:"fields"`
	Keys         []string `json:"keys,omitempty"`
	Types        []int8   `json:"types,omitempty"` // not []uint8, which JSON writes as base64
	Vals         []string `json:"vals,omitempty"`
	Raw          string   `json:"raw"`
	RawText      string   `json:"raw_text"`
	Truncated    uint8    `json:"truncated"`
	ParseError   string   `json:"parse_error"`
	Size         uint32   `json:"size,omitempty"`
	EventIDField string   `json:"-"` // the EventID field as text, "" unless a string or number
}

const chInsertCols = "day, org, event_ns, id, received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, keys, types, vals, raw, raw_text, truncated, parse_error, size, event_id"
const chSelectCols = "org, event_ns, id, received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, raw, raw_text, truncated, parse_error"

// chDay is the table's day of ns: the UTC day, held within the Date
// type's range (1970 to 2149), so a wrong clock lands on an end day
// rather than failing the insert.
func chDay(ns int64) int64 { return min(max(dayOf(ns), 0), 65535) }

// Append stores evs; an ID already stored is skipped. It checks evs as
// the SQL store does, drops duplicates within the batch, asks the server
// which of the IDs it already holds (bounded by the batch's
// organisations and time range, so the primary key prunes the read) and
// inserts the rest as one block, which ClickHouse writes atomically. Rows
// go in as RowBinary: JSONEachRow took twice as long to write and the
// server three times as long to read (the fields' JSON escaped again).
func (s *ClickHouse) Append(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := encodeNew(evs, chEncode)
	if err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	have, err := s.existing(ctx, rows)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	n := 0
	for i := range rows {
		if have[rows[i].ID] {
			continue
		}
		rows[i].rowBinary(&b)
		n++
	}
	if n == 0 {
		return nil
	}
	body, err := s.do(ctx, s.db, "INSERT INTO events ("+chInsertCols+") FORMAT RowBinary", &b)
	if err != nil {
		return fmt.Errorf("events: append: %w", err)
	}
	_, err = io.Copy(io.Discard, body)
	_ = body.Close()
	return err
}

// existing returns which of rows' IDs the table holds. The batch's keys
// go as an external table and are looked up as (org, event_ns, id) — the
// sort key, so the server reads only the granules that may hold them
// (an id IN (…) list read every id of the batch's time range, which for a
// batch spread over a week is the whole week: 4,500 events/s at 400,000
// events and falling).
func (s *ClickHouse) existing(ctx context.Context, rows []chRow) (map[string]bool, error) {
	lo, hi := rows[0].DayNum, rows[0].DayNum
	var b bytes.Buffer
	var tmp [binary.MaxVarintLen64]byte
	for _, r := range rows {
		lo, hi = min(lo, r.DayNum), max(hi, r.DayNum)
		for i, s := range []string{r.Org, "", r.ID} {
			if i == 1 {
				binary.LittleEndian.PutUint64(tmp[:8], uint64(r.EventNS))
				b.Write(tmp[:8])
				continue
			}
			b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(s)))])
			b.WriteString(s)
		}
	}
	q := "SELECT id FROM events WHERE day >= " + chDate(lo) + " AND day <= " + chDate(hi) + " AND (org, event_ns, id) IN batch"
	have := map[string]bool{}
	err := s.queryExt(ctx, q, &chExternal{name: "batch", structure: "org String, event_ns Int64, id String", rowBinary: b.Bytes()}, func(row []byte) error {
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return fmt.Errorf("events: clickhouse: read ids: %w", err)
		}
		have[r.ID] = true
		return nil
	})
	return have, err
}

// chIn is `col IN ('a', 'b')`, or a condition matching nothing for no values.
func chIn(col string, vals []string) string {
	if len(vals) == 0 {
		return "0"
	}
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = chString(v)
	}
	return col + " IN (" + strings.Join(q, ", ") + ")"
}

// rowBinary appends r in ClickHouse's RowBinary format, the columns in
// chInsertCols's order: strings and arrays length-prefixed (LEB128),
// integers little-endian, Date as its day number.
func (r *chRow) rowBinary(b *bytes.Buffer) {
	var tmp [binary.MaxVarintLen64]byte
	str := func(s string) {
		b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(s)))])
		b.WriteString(s)
	}
	i64 := func(v int64) {
		binary.LittleEndian.PutUint64(tmp[:8], uint64(v))
		b.Write(tmp[:8])
	}
	binary.LittleEndian.PutUint16(tmp[:2], uint16(r.DayNum))
	b.Write(tmp[:2])
	str(r.Org)
	i64(r.EventNS)
	str(r.ID)
	i64(r.ReceivedNS)
	for _, s := range []string{r.Host, r.Product, r.Service, r.Category, r.Protocol, r.SourceAddr, r.SourceToken, r.SourceFormat, r.Fields} {
		str(s)
	}
	b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.Keys)))])
	for _, k := range r.Keys {
		str(k)
	}
	b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.Types)))])
	for _, t := range r.Types {
		b.WriteByte(byte(t))
	}
	b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.Vals)))])
	for _, v := range r.Vals {
		str(v)
	}
	str(r.Raw)
	str(r.RawText)
	b.WriteByte(r.Truncated)
	str(r.ParseError)
	binary.LittleEndian.PutUint32(tmp[:4], r.Size)
	b.Write(tmp[:4])
	str(r.EventIDField)
}

// chEncode is e as a row: times, the day, the fields as JSON and as key,
// type and text arrays, the raw text (in raw_text instead for an event
// that could not be parsed, which free text searches).
func chEncode(e *Event) (chRow, error) {
	et, rt := e.EventTime, e.ReceivedAt
	if et.IsZero() {
		et = rt
	}
	if rt.IsZero() {
		rt = et
	}
	fields := e.Fields
	var fjson []byte
	if e.fieldsJSON != nil {
		fjson = e.fieldsJSON
		if fields == nil {
			f, err := unmarshalFields(fjson)
			if err != nil {
				return chRow{}, fault.Invalidf("fields", "event %s: %v", e.ID, err)
			}
			fields = f
		}
	} else {
		f := fields
		if f == nil {
			f = map[string]any{}
		}
		b, err := marshalPlain(f)
		if err != nil {
			return chRow{}, fault.Invalidf("fields", "event %s: %v", e.ID, err)
		}
		fjson = b
	}
	r := chRow{
		DayNum: chDay(et.UnixNano()), Org: e.Org, EventNS: et.UnixNano(), ID: e.ID, ReceivedNS: rt.UnixNano(),
		Host: e.Source.Host, Product: e.Product, Service: e.Service, Category: e.Category, Protocol: e.Source.Protocol,
		SourceAddr: e.Source.Addr, SourceToken: e.Source.Token, SourceFormat: e.Source.Format,
		Fields: string(fjson), ParseError: e.ParseError,
		Keys: []string{}, Types: []int8{}, Vals: []string{},
	}
	if e.Truncated {
		r.Truncated = 1
	}
	if e.ParseError != "" {
		r.RawText = e.Raw
	} else {
		r.Raw = e.Raw
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, v, err := chValue(fields[k])
		if err != nil {
			return chRow{}, fault.Invalidf("fields", "event %s field %s: %v", e.ID, k, err)
		}
		r.Keys, r.Types, r.Vals = append(r.Keys, k), append(r.Types, t), append(r.Vals, v)
		if k == "EventID" && (t == chtString || t == chtNumber) {
			r.EventIDField = v
		}
	}
	r.Size = uint32(min(len(r.Fields)+len(r.Raw)+len(r.RawText)+64, 1<<31))
	return r, nil
}

// chValue is a field value's type and text: strings as they are, numbers
// in their shortest decimal form, true or false, "" for null, and the
// JSON text of a list or object.
func chValue(v any) (int8, string, error) {
	switch x := v.(type) {
	case string:
		return chtString, x, nil
	case float64:
		return chtNumber, strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return chtNumber, x.String(), nil
	case bool:
		return chtBool, strconv.FormatBool(x), nil
	case nil:
		return chtNull, "", nil
	}
	b, err := marshalPlain(v)
	return chtJSON, string(b), err
}

// marshalPlain is JSON without HTML escaping, as free text expects.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// scopeCond is the one place scope becomes a ClickHouse condition: the
// organisations the scope may read, found in Vigil's database by the same
// rule (scope.Filter) the SQL store joins through, written as a list of
// codes. A scope over everything ("/") is no condition at all, as in the
// SQL store; a scope over nothing matches nothing.
func (s *ClickHouse) scopeCond(ctx context.Context, sc scope.Scope) (string, error) {
	f, _ := sc.Filter("code", scope.Read)
	switch f {
	case "1=1":
		return "1", nil
	case "1=0":
		return "0", nil
	}
	codes, err := s.orgs.ReadableCodes(ctx, sc)
	if err != nil {
		return "", fmt.Errorf("events: scope: %w", err)
	}
	return chIn("org", codes), nil
}

// where is the condition every read shares: scope, time (with the day,
// so the server reads only those partitions), organisation and the
// query's own condition.
func (s *ClickHouse) where(ctx context.Context, sc scope.Scope, q Query) (string, error) {
	n, err := Parse(q.Text)
	if err != nil {
		return "", err
	}
	cond, err := chCompileWhere(n)
	if err != nil {
		return "", err
	}
	sq, err := s.scopeCond(ctx, sc)
	if err != nil {
		return "", err
	}
	parts := []string{sq}
	if !q.Since.IsZero() {
		ns := q.Since.UnixNano()
		parts = append(parts, "day >= "+chDate(chDay(ns)), "event_ns >= "+strconv.FormatInt(ns, 10))
	}
	if !q.Until.IsZero() {
		ns := q.Until.UnixNano()
		parts = append(parts, "day <= "+chDate(chDay(ns)), "event_ns < "+strconv.FormatInt(ns, 10))
	}
	if q.Org != "" {
		parts = append(parts, "org = "+chString(q.Org))
	}
	if cond != "1" {
		parts = append(parts, cond)
	}
	return strings.Join(parts, " AND "), nil
}

// chDate is a Date literal for a day number (from integers only).
func chDate(day int64) string { return "toDate('" + dayName(day) + "')" }

type chKey struct {
	NS int64  `json:"event_ns"`
	ID string `json:"id"`
}

// newest returns the (time, ID) of the newest limit events matching w,
// newest first. Reads sort only these two columns: the wide ones are
// fetched afterwards for the page alone (18.16 would otherwise read the
// fields and raw text of every match before its top-N sort).
func (s *ClickHouse) newest(ctx context.Context, w string, limit int) ([]chKey, error) {
	var out []chKey
	seen := map[string]bool{}
	err := s.query(ctx, "SELECT event_ns, id FROM events WHERE "+w+" ORDER BY event_ns DESC, id DESC LIMIT "+strconv.Itoa(limit), func(row []byte) error {
		var k chKey
		if err := json.Unmarshal(row, &k); err != nil {
			return fmt.Errorf("events: clickhouse: read: %w", err)
		}
		// A copy not yet merged away (ADR 0008) is shown once.
		if !seen[k.ID] {
			seen[k.ID] = true
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

// fetch reads cols of the events keys name, in keys' order; scopeSQL is
// applied again so the fetch alone can never widen what a read sees.
func (s *ClickHouse) fetch(ctx context.Context, cols, scopeSQL string, keys []chKey, fn func(row []byte) error) error {
	if len(keys) == 0 {
		return nil
	}
	lo, hi := keys[0].NS, keys[0].NS
	ids := make([]string, len(keys))
	pos := make(map[string]int, len(keys))
	for i, k := range keys {
		lo, hi = min(lo, k.NS), max(hi, k.NS)
		ids[i] = chString(k.ID)
		pos[k.ID] = i
	}
	// PREWHERE: the server reads the id column of the range first and the
	// wide columns only of the granules holding a match (a plain WHERE
	// read every wide column of the range: 2.4 s against 0.5 s for a page
	// of 100 over 24 h of 300,000 Windows events).
	q := "SELECT id AS k, " + cols + " FROM events PREWHERE id IN (" + strings.Join(ids, ", ") + ") WHERE " + scopeSQL +
		" AND day >= " + chDate(chDay(lo)) + " AND day <= " + chDate(chDay(hi)) +
		" AND event_ns >= " + strconv.FormatInt(lo, 10) + " AND event_ns <= " + strconv.FormatInt(hi, 10)
	got := make([][]byte, len(keys))
	err := s.query(ctx, q, func(row []byte) error {
		var k struct {
			K string `json:"k"`
		}
		if err := json.Unmarshal(row, &k); err != nil {
			return fmt.Errorf("events: clickhouse: read: %w", err)
		}
		if i, ok := pos[k.K]; ok && got[i] == nil {
			got[i] = append([]byte(nil), row...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, row := range got {
		if row == nil {
			continue // dropped by retention between the two reads
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// Search returns the newest matching events first, with the SQL store's
// cursor: (event time, ID) of the last event of the page.
func (s *ClickHouse) Search(ctx context.Context, sc scope.Scope, q Query) (Page, error) {
	limit, err := pageLimit(q)
	if err != nil {
		return Page{}, err
	}
	w, err := s.where(ctx, sc, q)
	if err != nil {
		return Page{}, err
	}
	if q.Cursor != "" {
		ns, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		n := strconv.FormatInt(ns, 10)
		w += " AND day <= " + chDate(chDay(ns)) + " AND event_ns <= " + n + " AND (event_ns < " + n + " OR (event_ns = " + n + " AND id < " + chString(id) + "))"
	}
	keys, err := s.newest(ctx, w, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("events: search: %w", err)
	}
	var p Page
	if len(keys) > limit {
		keys = keys[:limit]
		last := keys[limit-1]
		p.Next = encodeCursor(last.NS, last.ID)
	}
	sq, err := s.scopeCond(ctx, sc)
	if err != nil {
		return Page{}, err
	}
	err = s.fetch(ctx, chSelectCols, sq, keys, func(row []byte) error {
		e, err := chDecode(row)
		if err != nil {
			return err
		}
		p.Events = append(p.Events, e)
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("events: search: %w", err)
	}
	return p, nil
}

func chDecode(row []byte) (Event, error) {
	var r chRow
	if err := json.Unmarshal(row, &r); err != nil {
		return Event{}, fmt.Errorf("events: clickhouse: read: %w", err)
	}
	e := Event{ID: r.ID, Org: r.Org, EventTime: time.Unix(0, r.EventNS).UTC(), ReceivedAt: time.Unix(0, r.ReceivedNS).UTC(),
		Source:  Source{Protocol: r.Protocol, Addr: r.SourceAddr, Token: r.SourceToken, Format: r.SourceFormat, Host: r.Host},
		Product: r.Product, Service: r.Service, Category: r.Category, Raw: r.Raw, Truncated: r.Truncated != 0, ParseError: r.ParseError}
	if r.RawText != "" || r.ParseError != "" {
		e.Raw = r.RawText
	}
	if err := json.Unmarshal([]byte(r.Fields), &e.Fields); err != nil {
		return Event{}, fmt.Errorf("events: read %s fields: %w", e.ID, err)
	}
	return e, nil
}

// Count returns how many events match.
func (s *ClickHouse) Count(ctx context.Context, sc scope.Scope, q Query) (int64, error) {
	w, err := s.where(ctx, sc, q)
	if err != nil {
		return 0, err
	}
	var n struct {
		C int64 `json:"c"`
	}
	err = s.query(ctx, "SELECT count() AS c FROM events WHERE "+w, func(row []byte) error { return json.Unmarshal(row, &n) })
	if err != nil {
		return 0, fmt.Errorf("events: count: %w", err)
	}
	return n.C, nil
}

// Histogram counts matching events in n equal buckets over the query's
// time range (the SQL store's defaults and checks).
func (s *ClickHouse) Histogram(ctx context.Context, sc scope.Scope, q Query, n int) ([]Bucket, error) {
	q, width, start, out, err := bucketRange(q, n, s.now())
	if err != nil {
		return nil, err
	}
	w, err := s.where(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	err = s.query(ctx, "SELECT intDiv(event_ns - "+strconv.FormatInt(start, 10)+", "+strconv.FormatInt(width, 10)+") AS b, count() AS c FROM events WHERE "+w+" GROUP BY b",
		func(row []byte) error {
			var r struct {
				B, C int64
			}
			if err := json.Unmarshal(row, &r); err != nil {
				return err
			}
			if r.B >= 0 && r.B < int64(n) {
				out[r.B].Count += r.C
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("events: histogram: %w", err)
	}
	return out, nil
}

// Fields summarises the fields of the newest matching events (a sample of
// FieldSample), with each field's five commonest values.
func (s *ClickHouse) Fields(ctx context.Context, sc scope.Scope, q Query) ([]FieldSummary, error) {
	w, err := s.where(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	keys, err := s.newest(ctx, w, s.opts.FieldSample)
	if err != nil {
		return nil, fmt.Errorf("events: fields: %w", err)
	}
	sq, err := s.scopeCond(ctx, sc)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	values := map[string]map[string]int64{}
	sampled := 0
	err = s.fetch(ctx, "fields", sq, keys, func(row []byte) error {
		var r struct {
			Fields string `json:"fields"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		var f map[string]any
		if err := json.Unmarshal([]byte(r.Fields), &f); err != nil {
			return err
		}
		sampled++
		for k, v := range f {
			counts[k]++
			if values[k] == nil {
				values[k] = map[string]int64{}
			}
			values[k][valueText(v)]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events: fields: %w", err)
	}
	out := make([]FieldSummary, 0, len(counts))
	for k, c := range counts {
		out = append(out, FieldSummary{Name: k, Count: c, Sampled: sampled, Top: top(values[k], 5)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// TopValues returns the n commonest values of field over every matching
// event (events without the field, or with null, are not counted).
func (s *ClickHouse) TopValues(ctx context.Context, sc scope.Scope, q Query, field string, n int) ([]ValueCount, error) {
	if n <= 0 || n > 1000 {
		return nil, fault.Invalidf("n", "%d is not between 1 and 1000", n)
	}
	if err := checkField(token{text: field, parts: []string{field}}); err != nil || field == "" {
		return nil, fault.Invalidf("field", "%q is not a field name", field)
	}
	w, err := s.where(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	a := chField(field)
	var out []ValueCount
	err = s.query(ctx, "SELECT "+a.text+" AS v, count() AS c FROM events WHERE "+w+" AND "+a.valued+" GROUP BY v ORDER BY c DESC, v LIMIT "+strconv.Itoa(n),
		func(row []byte) error {
			var r struct {
				V string `json:"v"`
				C int64  `json:"c"`
			}
			if err := json.Unmarshal(row, &r); err != nil {
				return err
			}
			out = append(out, ValueCount{r.V, r.C})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("events: top values: %w", err)
	}
	return out, nil
}

// Get returns the event with id, or fault.ErrNotFound when there is none
// the caller may read. The ID is not in the sort key, so this reads the id
// column of every day (ADR 0008); PREWHERE makes the server read the wide
// columns only of the granule that holds it (at 1,000,000 events the
// plain WHERE read them all: 5.3 s).
func (s *ClickHouse) Get(ctx context.Context, sc scope.Scope, id string) (Event, error) {
	sq, err := s.scopeCond(ctx, sc)
	if err != nil {
		return Event{}, err
	}
	var e Event
	found := false
	err = s.query(ctx, "SELECT "+chSelectCols+" FROM events PREWHERE id = "+chString(id)+" WHERE "+sq+" LIMIT 1", func(row []byte) error {
		var err error
		e, err = chDecode(row)
		found = true
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("events: get: %w", err)
	}
	if !found {
		return Event{}, fault.NotFoundf("event %s", id)
	}
	return e, nil
}

// Close does nothing: the store holds no connections beyond the HTTP
// client's idle ones.
func (s *ClickHouse) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
