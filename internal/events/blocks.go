package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Blocks is the event store that keeps events in compressed blocks
// (ADR 0012): a block is up to blockMax events of one organisation and
// one hour, newest first, as the events stream's own JSON lines, zstd
// compressed, in one row of event_blocks with the block's time range, a
// Bloom filter of its IDs and the IDs themselves. Appending costs a
// compression and a row per block instead of a row and four index
// entries per event; a search reads the blocks of its scope and time
// range, newest first, and matches their events in Go (match.go) with
// the SQLite compiler's rules. It shares the events migration set and
// events_hours (the hourly counts) with the SQL store.
type Blocks struct {
	db    *store.DB
	now   func() time.Time
	opts  Options
	codec *codec
	// mu queues this process's appends and retention: SQLite has one
	// writer at a time, and an append reads what the hour holds before
	// it writes.
	mu sync.Mutex
	// noRollup makes counts and histograms read the blocks even where
	// events_hours could answer (tests compare the two).
	noRollup bool
	// recent holds the sorted IDs of the blocks this process wrote or
	// read last (under mu): an append checks new IDs against the blocks
	// of their hour, and a Bloom filter's rare false positive would
	// otherwise decompress a block's IDs again each time.
	recent map[int64][]string
	order  []int64
}

// recentBlocks is how many blocks' IDs Blocks.recent keeps: about 64 ×
// 5,600 IDs, 17 MB, the last few seconds of a full-speed stream.
const recentBlocks = 64

// remember keeps a block's sorted IDs in recent, forgetting the oldest.
func (b *Blocks) remember(block int64, ids []string) {
	if b.recent == nil {
		b.recent = map[int64][]string{}
	}
	if _, ok := b.recent[block]; ok {
		return
	}
	if len(b.order) >= recentBlocks {
		delete(b.recent, b.order[0])
		b.order = b.order[1:]
	}
	b.recent[block] = ids
	b.order = append(b.order, block)
}

// forget empties recent (after retention: what it deleted need not be
// remembered). Block numbers are never given twice (AUTOINCREMENT on
// SQLite, an identity on PostgreSQL), so what another process deletes
// leaves nothing wrong here, only unused.
func (b *Blocks) forget() { b.recent, b.order = nil, nil }

var _ Store = (*Blocks)(nil)

// blockMax is the most events a block holds: a fetch of the stream (4 MiB,
// about 5,600 syslog events) is one block an organisation-hour.
const blockMax = 8192

// NewBlocks returns the block store over o.DB, migrated with Migrations.
func NewBlocks(o Options) (*Blocks, error) {
	s, err := New(o) // migrates, checks and defaults the options
	if err != nil {
		return nil, err
	}
	return &Blocks{db: s.db, now: s.now, opts: s.opts, codec: s.codec}, nil
}

// Kinds of store in Vigil's own database (Open).
const (
	KindRows   = "rows"
	KindBlocks = "blocks"
)

// Open returns the event store of kind (KindRows, KindBlocks, or "" to
// choose) over o.DB, and the kind it is. A database keeps its events in
// one store, and the stores do not read each other's tables (they share
// only the hourly counts): chosen, it is the store that already holds
// events, and for a database that holds none the row store on PostgreSQL
// (its days are native partitions, dropped whole) and the block store on
// SQLite. Asked for the other store than the one holding the events, it
// refuses rather than show none of them beside counts of them all.
func Open(ctx context.Context, o Options, kind string) (Store, string, error) {
	rows, err := New(o) // migrates: both stores' tables exist after it
	if err != nil {
		return nil, "", err
	}
	var inRows, inBlocks int
	if err := rows.db.Q().QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM events LIMIT 1) r), (SELECT COUNT(*) FROM (SELECT 1 FROM event_blocks LIMIT 1) b)").Scan(&inRows, &inBlocks); err != nil {
		return nil, "", fmt.Errorf("events: choose a store: %w", err)
	}
	held := ""
	switch {
	case inRows > 0 && inBlocks == 0:
		held = KindRows
	case inBlocks > 0 && inRows == 0:
		held = KindBlocks
	}
	switch {
	case kind == "" && held != "":
		kind = held
	case kind == "" && rows.db.Dialect == store.Postgres:
		kind = KindRows
	case kind == "":
		kind = KindBlocks
	case held != "" && kind != held:
		return nil, "", fault.Invalidf("events-store", "this database keeps its events in %s, not %s: give --events-store %s, or none", held, kind, held)
	}
	switch kind {
	case KindRows:
		return rows, kind, nil
	case KindBlocks:
		return &Blocks{db: rows.db, now: rows.now, opts: rows.opts, codec: rows.codec}, kind, nil
	}
	return nil, "", fault.Invalidf("events-store", "%q is not a kind of event store: want %s or %s", kind, KindRows, KindBlocks)
}

// blockRow is an event on its way into a block.
type blockRow struct {
	ev    *Event
	ns    int64
	line  []byte
	plain bool   // line's numbers are known to be plain (Event.linePlain)
	hash  uint64 // bloomHash of the ID: the duplicate check's and the block's
}

// encode gives an event its stored line: the stream's own when it came
// from the stream (Event.line), otherwise the event as the stream's JSON.
func (b *Blocks) encode(e *Event) (blockRow, error) {
	et, rt := e.EventTime, e.ReceivedAt
	if et.IsZero() {
		et = rt
	}
	if rt.IsZero() {
		rt = et
	}
	r := blockRow{ev: e, ns: et.UnixNano(), line: e.line, plain: e.linePlain, hash: bloomHash(e.ID)}
	if (r.line != nil || e.rec != nil) && e.EventTime.Equal(et) && e.ReceivedAt.Equal(rt) {
		return r, nil
	}
	if e.rec != nil {
		return blockRow{}, fault.Invalidf("event", "event %s: a record without both its times", e.ID)
	}
	r.plain = false
	w := *e
	w.Fields, w.EventTime, w.ReceivedAt = nil, et.UTC(), rt.UTC()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return blockRow{}, fault.Invalidf("event", "event %s: %v", e.ID, err)
	}
	// The fields go in as the SQL store keeps them, byte for byte (an
	// encoder would compact them, and free text matches their text), in
	// place of the null written for them: the first "fields":null is the
	// key's, since a quote inside a string is escaped.
	line := buf.Bytes()
	i := bytes.Index(line, []byte(`"fields":null`))
	if i < 0 {
		return blockRow{}, fault.Invalidf("event", "event %s could not be encoded", e.ID)
	}
	fields := fieldsJSONOf(e)
	if !json.Valid(fields) {
		return blockRow{}, fault.Invalidf("fields", "event %s: the fields are not JSON", e.ID)
	}
	out := make([]byte, 0, len(line)+len(fields))
	out = append(append(append(out, line[:i+len(`"fields":`)]...), fields...), bytes.TrimSuffix(line[i+len(`"fields":null`):], []byte("\n"))...)
	r.line = out
	return r, nil
}

// Append stores evs; an ID already stored in the same organisation's hour
// of event time is skipped, which is where a redelivered event lands.
func (b *Blocks) Append(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := encodeNew(evs, b.encode)
	if err != nil {
		return err
	}
	groups := map[hourKey][]blockRow{}
	var keys []hourKey
	for _, r := range rows {
		k := hourKey{r.ev.Org, hourOf(r.ns)}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	// In one order, so that two PostgreSQL writers take the hours' locks
	// alike.
	slices.SortFunc(keys, func(x, y hourKey) int {
		if c := strings.Compare(x.org, y.org); c != 0 {
			return c
		}
		return cmpInt(x.hour, y.hour)
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.db.InTx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if b.db.Dialect == store.Postgres {
				// Another server appending to this hour would not see
				// this one's blocks before it commits, nor this one its:
				// each hour's appends take turns, until commit. (SQLite
				// has one writer at a time already.)
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, ?))", k.org, k.hour); err != nil {
					return fmt.Errorf("events: append: lock %s's hour: %w", k.org, err)
				}
			}
			if err := b.appendHour(ctx, tx, k, groups[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendHour writes one organisation-hour's new events as blocks and
// counts them.
func (b *Blocks) appendHour(ctx context.Context, tx *store.Tx, k hourKey, rows []blockRow) error {
	rows, err := b.unstored(ctx, tx, k, rows)
	if err != nil || len(rows) == 0 {
		return err
	}
	// Records of an encoding (ADR 0014) go in blocks of their own, apart
	// from lines.
	var size int64
	stored := len(rows)
	for len(rows) > 0 {
		enc := rows[0].ev.recEnc
		kind := rows[:0:0]
		rest := rows[:0]
		for _, r := range rows {
			if r.ev.recEnc == enc {
				kind = append(kind, r)
			} else {
				rest = append(rest, r)
			}
		}
		if len(rest) == 0 {
			kind = rows // no copy when the rows are all of one kind
		}
		sortNewestFirst(kind)
		for lo := 0; lo < len(kind); lo += blockMax {
			n, err := b.writeBlock(ctx, tx, k, kind[lo:min(lo+blockMax, len(kind))])
			if err != nil {
				return err
			}
			size += n
		}
		rows = rest
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events_hours (org, hour, events, bytes) VALUES (?, ?, ?, ?)
		ON CONFLICT (org, hour) DO UPDATE SET events = events_hours.events + excluded.events, bytes = events_hours.bytes + excluded.bytes`,
		k.org, k.hour, stored, size); err != nil {
		return fmt.Errorf("events: count hour: %w", err)
	}
	return nil
}

// newestFirst orders rows as a block holds them: newest first, and by ID
// (descending) within a moment.
func newestFirst(x, y blockRow) int {
	if x.ns != y.ns {
		return cmpInt(y.ns, x.ns)
	}
	return strings.Compare(y.ev.ID, x.ev.ID)
}

// sortNewestFirst sorts rows newestFirst. One exporter's flows, and most
// senders' events, come oldest first: such rows are reversed, and only
// the events of one moment sorted among themselves. Others are sorted by
// a key of their time and place (sortByKey): sorting the rows themselves
// was 3–5 % of serve's CPU storing flows (BenchmarkNetFlowSteady).
func sortNewestFirst(rows []blockRow) {
	for i := 1; i < len(rows); i++ {
		if rows[i].ns < rows[i-1].ns {
			sortByKey(rows)
			return
		}
	}
	slices.Reverse(rows)
	sortMoments(rows)
}

// sortByKey sorts rows newest first, and in their order within a moment,
// through one integer a row: its time before the newest and its place.
// Rows whose times are too far apart for that are sorted as they are.
func sortByKey(rows []blockRow) {
	lo, hi := rows[0].ns, rows[0].ns
	for _, r := range rows {
		lo, hi = min(lo, r.ns), max(hi, r.ns)
	}
	place := bits.Len(uint(len(rows)))
	if uint64(hi-lo)>>(64-place) != 0 {
		slices.SortFunc(rows, newestFirst)
		return
	}
	keys := make([]uint64, len(rows))
	for i, r := range rows {
		keys[i] = uint64(hi-r.ns)<<place | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]blockRow, len(rows))
	for j, k := range keys {
		sorted[j] = rows[k&(1<<place-1)]
	}
	copy(rows, sorted)
	sortMoments(rows)
}

// sortMoments sorts each run of rows of one moment by ID, descending.
func sortMoments(rows []blockRow) {
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].ns == rows[lo].ns {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(rows[lo:hi], newestFirst)
		}
		lo = hi
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeBlock stores rows (newest first) as one block and returns the bytes
// it takes.
func (b *Blocks) writeBlock(ctx context.Context, tx *store.Tx, k hourKey, rows []blockRow) (int64, error) {
	// The block's text and its compressed form are megabytes: their
	// buffers are reused (blockBufs), not made and cleared each block.
	bufs := blockBufs.Get().(*blockBuf)
	defer blockBufs.Put(bufs)
	data := &bufs.data
	data.Reset()
	records := rows[0].ev.rec != nil // rows of one kind (appendHour)
	n := 0
	for _, r := range rows {
		n += len(r.line) + len(r.ev.recCtx) + len(r.ev.rec) + 1
	}
	data.Grow(n)
	ids := make([]string, len(rows))
	bl := newBloom(len(rows))
	lo, hi := rows[0].ns, rows[0].ns
	for i, r := range rows {
		if !records {
			data.Write(r.line)
			data.WriteByte('\n')
		}
		ids[i] = r.ev.ID
		bl.add(r.hash)
		lo, hi = min(lo, r.ns), max(hi, r.ns)
	}
	if records {
		data.Write(appendRecordsBlock(data.AvailableBuffer(), rows))
	}
	keys := make([]byte, 0, 8*len(rows))
	for _, r := range rows {
		keys = appendBlockKey(keys, hi, r)
	}
	sort.Strings(ids)
	known := true // every line's producer said its numbers are plain
	for _, r := range rows {
		known = known && r.plain
	}
	// A block of records is not known plain: its lines are written when
	// it is read.
	plain := b2i(!records && (known || blockPlain(data.Bytes())))
	z := b.codec.enc.EncodeAll(data.Bytes(), bufs.z[:0])
	bufs.z = z
	joined := strings.Join(ids, "\n")
	zids := b.codec.enc.EncodeAll([]byte(joined), nil)
	// Remembered as slices of one string of their own: the IDs themselves
	// are slices of the stream messages they came in, which they would
	// otherwise keep in memory (64 fetches of 4 MiB).
	ids = strings.Split(joined, "\n")
	zkeys := b.codec.enc.EncodeAll(keys, nil)
	size := int64(len(z) + len(zids) + len(zkeys) + len(bl))
	var block int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO event_blocks (org, hour, min_ns, max_ns, events, bytes, plain, bloom, ids, keys, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING block`,
		k.org, k.hour, lo, hi, len(rows), size, plain, []byte(bl), zids, zkeys, z).Scan(&block); err != nil {
		return 0, fmt.Errorf("events: append: %w", err)
	}
	// Known once the transaction holds: a rolled-back block's number
	// is given again.
	tx.AfterCommit(fmt.Sprintf("events-block-%d", block), func() { b.remember(block, ids) })
	return size, nil
}

// blockBuf is a block's text and compressed text, kept between blocks.
type blockBuf struct {
	data bytes.Buffer
	z    []byte
}

var blockBufs = sync.Pool{New: func() any { return new(blockBuf) }}

// unstored is rows without the IDs the hour already holds. Only blocks
// whose time range overlaps the rows' are read, and of those only the
// IDs of blocks whose Bloom filter holds one of the rows.
func (b *Blocks) unstored(ctx context.Context, tx *store.Tx, k hourKey, rows []blockRow) ([]blockRow, error) {
	lo, hi := rows[0].ns, rows[0].ns
	for _, r := range rows {
		lo, hi = min(lo, r.ns), max(hi, r.ns)
	}
	res, err := tx.QueryContext(ctx, `SELECT block, min_ns, max_ns, bloom FROM event_blocks WHERE org = ? AND hour = ? AND max_ns >= ? AND min_ns <= ?`, k.org, k.hour, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("events: append: %w", err)
	}
	type cand struct {
		block, lo, hi int64
		bloom         bloom
		ids           []string // sorted; read on the first Bloom hit
	}
	var cands []*cand
	for res.Next() {
		c := &cand{}
		if err := res.Scan(&c.block, &c.lo, &c.hi, (*[]byte)(&c.bloom)); err != nil {
			_ = res.Close()
			return nil, fmt.Errorf("events: append: %w", err)
		}
		cands = append(cands, c)
	}
	if err := res.Close(); err != nil {
		return nil, fmt.Errorf("events: append: %w", err)
	}
	if len(cands) == 0 {
		return rows, nil
	}
	out := rows[:0:0]
	for _, r := range rows {
		stored := false
		h := r.hash
		for _, c := range cands {
			if r.ns < c.lo || r.ns > c.hi || !c.bloom.has(h) {
				continue
			}
			if c.ids == nil {
				if c.ids = b.recent[c.block]; c.ids == nil {
					if c.ids, err = b.blockIDs(ctx, tx, c.block); err != nil {
						return nil, err
					}
					b.remember(c.block, c.ids)
				}
			}
			if _, ok := slices.BinarySearch(c.ids, r.ev.ID); ok {
				stored = true
				break
			}
		}
		if !stored {
			out = append(out, r)
		}
	}
	return out, nil
}

// blockIDs reads the IDs of one block, sorted.
func (b *Blocks) blockIDs(ctx context.Context, q store.Queryer, block int64) ([]string, error) {
	var z []byte
	if err := q.QueryRowContext(ctx, `SELECT ids FROM event_blocks WHERE block = ?`, block).Scan(&z); err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", block, err)
	}
	raw, err := b.codec.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", block, err)
	}
	return strings.Split(string(raw), "\n"), nil
}

// blockMeta is what choosing blocks to read needs.
type blockMeta struct {
	block, lo, hi int64
	events        int64
	plain         bool // its numbers are plain (blockPlain)
}

// blocksIn lists the blocks of scope and q's organisation and time range
// (and at or before the cursor's time), newest first.
func (b *Blocks) blocksIn(ctx context.Context, sc scope.Scope, q Query, until int64) ([]blockMeta, error) {
	f, args := sc.Filter("org", scope.Read)
	w := f
	if !q.Since.IsZero() {
		w += " AND max_ns >= ?"
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		w += " AND min_ns < ?"
		args = append(args, q.Until.UnixNano())
	}
	if until != math.MaxInt64 {
		w += " AND min_ns <= ?"
		args = append(args, until)
	}
	if q.Org != "" {
		w += " AND org = ?"
		args = append(args, q.Org)
	}
	rows, err := b.db.Q().QueryContext(ctx, "SELECT block, min_ns, max_ns, events, plain FROM event_blocks WHERE "+w+" ORDER BY max_ns DESC, block DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("events: list blocks: %w", err)
	}
	defer rows.Close()
	var out []blockMeta
	for rows.Next() {
		var m blockMeta
		if err := rows.Scan(&m.block, &m.lo, &m.hi, &m.events, &m.plain); err != nil {
			return nil, fmt.Errorf("events: list blocks: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// readBlock decodes one block's events, newest first: those whose line
// passes pre (every one for an empty pre).
func (b *Blocks) readBlock(ctx context.Context, block int64, pre prefilter) ([]Event, error) {
	if len(pre) == 0 {
		return b.readLines(ctx, block, nil)
	}
	return b.readLines(ctx, block, func(_ int, line []byte) bool { return pre.pass(line) })
}

// readLines decodes the events of one block, newest first, whose line keep
// keeps (given its place in the block); nil keeps every one.
func (b *Blocks) readLines(ctx context.Context, block int64, keep func(i int, line []byte) bool) ([]Event, error) {
	var z []byte
	if err := b.db.Q().QueryRowContext(ctx, `SELECT data FROM event_blocks WHERE block = ?`, block).Scan(&z); err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", block, err)
	}
	data, err := b.codec.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", block, err)
	}
	var evs []Event
	if len(data) > 0 && data[0] == recordsMark {
		// A block of records: its encoding's decoder gives the events
		// with their lines, which keep reads as it would a block's.
		if evs, err = recordEvents(data); err != nil {
			return nil, fmt.Errorf("events: read block %d: %w", block, err)
		}
		if keep != nil {
			kept := evs[:0]
			for i := range evs {
				if keep(i, evs[i].line) {
					kept = append(kept, evs[i])
				}
			}
			evs = kept
		}
	} else {
		if keep != nil {
			kept := data[:0]
			for i, lo := 0, 0; lo < len(data); i++ {
				hi := bytes.IndexByte(data[lo:], '\n')
				if hi < 0 {
					hi = len(data) - lo
				}
				line := data[lo : lo+hi]
				if keep(i, line) {
					kept = append(append(kept, line...), '\n')
				}
				lo += hi + 1
			}
			data = kept
		}
		if evs, err = appendStreamEvents(nil, data, bytesString(data)); err != nil {
			return nil, fmt.Errorf("events: read block %d: %w", block, err)
		}
	}
	for i := range evs {
		e := &evs[i]
		e.line = nil
		if e.EventTime.IsZero() {
			e.EventTime = e.ReceivedAt
		}
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = e.EventTime
		}
		e.EventTime, e.ReceivedAt = e.EventTime.UTC(), e.ReceivedAt.UTC()
	}
	return evs, nil
}

// scan calls fn with each event of scope and q's range, block by block
// newest first, that q's text matches; fn returns false to stop.
func (b *Blocks) scan(ctx context.Context, sc scope.Scope, q Query, fn func(e *Event) bool) error {
	return b.scanBlocks(ctx, sc, q, nil, fn)
}

// scanBlocks is scan, offering each block inside q's range to whole first
// when q has no text (every event of the block matches): a block whole
// takes (returning true) is not read.
func (b *Blocks) scanBlocks(ctx context.Context, sc scope.Scope, q Query, whole func(blockMeta) bool, fn func(e *Event) bool) error {
	n, err := Parse(q.Text)
	if err != nil {
		return err
	}
	m, err := compileMatch(n)
	if err != nil {
		return err
	}
	metas, err := b.blocksIn(ctx, sc, q, math.MaxInt64)
	if err != nil {
		return err
	}
	pre := [2]prefilter{prefilterOf(n, false), prefilterOf(n, true)}
	since, until := rangeNS(q)
	read := metas[:0:0]
	for _, bm := range metas {
		if n == nil && whole != nil && bm.lo >= since && bm.hi < until && whole(bm) {
			continue
		}
		read = append(read, bm)
	}
	eids := eidWanted(n)
	return inOrder(ctx, read, func(ctx context.Context, bm blockMeta) ([]Event, error) {
		return b.readKept(ctx, bm, pre[b2i(bm.plain)], eids, func(e *Event) bool {
			ns := e.EventTime.UnixNano()
			return ns >= since && ns < until && m(&evalEvent{e: e})
		})
	}, func(_ blockMeta, evs []Event) bool {
		for i := range evs {
			if !fn(&evs[i]) {
				return false
			}
		}
		return true
	})
}

// readKept is readMatching's events that keep keeps.
func (b *Blocks) readKept(ctx context.Context, bm blockMeta, pre prefilter, eids []Value, keep func(*Event) bool) ([]Event, error) {
	evs, err := b.readMatching(ctx, bm, pre, eids)
	if err != nil {
		return nil, err
	}
	kept := evs[:0]
	for i := range evs {
		if keep(&evs[i]) {
			kept = append(kept, evs[i])
		}
	}
	return kept, nil
}

// inOrder runs work on each block on up to GOMAXPROCS goroutines (at most
// four), a few blocks ahead of use, and hands use the results in the
// blocks' order; use returns false to stop, and the work under way is
// dropped. A scan's cost is decompressing and decoding blocks, which two
// cores do in half the time.
func inOrder[T any](ctx context.Context, metas []blockMeta, work func(context.Context, blockMeta) (T, error), use func(blockMeta, T) bool) error {
	workers := min(runtime.GOMAXPROCS(0), 4)
	if workers < 2 || len(metas) < 2 {
		for _, bm := range metas {
			v, err := work(ctx, bm)
			if err != nil {
				return err
			}
			if !use(bm, v) {
				return nil
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	res := make([]chan result, len(metas))
	for i := range res {
		res[i] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers) // read but not yet used
	go func() {
		sem := make(chan struct{}, workers)
		for i, bm := range metas {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-sem }()
				v, err := work(ctx, bm)
				res[i] <- result{v, err}
			}()
		}
	}()
	for i, bm := range metas {
		var r result
		select {
		case r = <-res[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		if r.err != nil {
			return r.err
		}
		if !use(bm, r.v) {
			return nil
		}
	}
	return nil
}

// rangeNS is q's time range in nanoseconds, [since, until).
func rangeNS(q Query) (int64, int64) {
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	return since, until
}

// newer orders events newest first: by time, then by ID, descending.
func newer(a, b *Event) int {
	if c := cmpInt(b.EventTime.UnixNano(), a.EventTime.UnixNano()); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// Search returns the newest matching events first. Blocks are read newest
// first, and reading stops once the page is full with events newer than
// anything the next block holds.
func (b *Blocks) Search(ctx context.Context, sc scope.Scope, q Query) (Page, error) {
	limit, err := pageLimit(q)
	if err != nil {
		return Page{}, err
	}
	found, err := b.newest(ctx, sc, q, limit+1)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(found) > limit {
		found = found[:limit]
		last := found[limit-1]
		p.Next = encodeCursor(last.EventTime.UnixNano(), last.ID)
	}
	for i := range found {
		if err := loadAllFields(&found[i]); err != nil {
			return Page{}, err
		}
	}
	p.Events = found
	return p, nil
}

// loadAllFields gives a read event its Fields as the SQL store does: a
// map, empty when it has none.
func loadAllFields(e *Event) error {
	raw := fieldsJSONOf(e)
	e.Fields, e.fieldsJSON = nil, nil
	if err := json.Unmarshal(raw, &e.Fields); err != nil {
		return fmt.Errorf("events: read %s fields: %w", e.ID, err)
	}
	if e.Fields == nil {
		e.Fields = map[string]any{}
	}
	return nil
}

// newest returns up to n matching events newest first, after q's cursor.
func (b *Blocks) newest(ctx context.Context, sc scope.Scope, q Query, n int) ([]Event, error) {
	node, err := Parse(q.Text)
	if err != nil {
		return nil, err
	}
	m, err := compileMatch(node)
	if err != nil {
		return nil, err
	}
	cns, cid := int64(math.MaxInt64), ""
	if q.Cursor != "" {
		if cns, cid, err = decodeCursor(q.Cursor); err != nil {
			return nil, err
		}
	}
	metas, err := b.blocksIn(ctx, sc, q, cns)
	if err != nil {
		return nil, err
	}
	pre := [2]prefilter{prefilterOf(node, false), prefilterOf(node, true)}
	since, until := rangeNS(q)
	var found []Event
	// Blocks are read newest first; reading stops at a block whose newest
	// event is older than the page's oldest once the page is full.
	eids := eidWanted(node)
	err = inOrder(ctx, metas, func(ctx context.Context, bm blockMeta) ([]Event, error) {
		return b.readKept(ctx, bm, pre[b2i(bm.plain)], eids, func(e *Event) bool {
			ns := e.EventTime.UnixNano()
			return ns >= since && ns < until && (ns < cns || ns == cns && e.ID < cid) && m(&evalEvent{e: e})
		})
	}, func(bm blockMeta, evs []Event) bool {
		if len(found) >= n && found[n-1].EventTime.UnixNano() > bm.hi {
			return false
		}
		if len(evs) > 0 {
			found = append(found, evs...)
			slices.SortFunc(found, func(x, y Event) int { return newer(&x, &y) })
			if len(found) > n {
				found = found[:n]
			}
		}
		return true
	})
	return found, err
}

// Count returns how many events match; a count of every event in scope
// reads events_hours for the whole hours of its range.
func (b *Blocks) Count(ctx context.Context, sc scope.Scope, q Query) (int64, error) {
	node, err := Parse(q.Text)
	if err != nil {
		return 0, err
	}
	if node != nil || b.noRollup {
		return b.countEvents(ctx, sc, q)
	}
	return countByHours(ctx, b.db, sc, q, func(q Query) (int64, error) { return b.countEvents(ctx, sc, q) })
}

// countEvents counts the matching events, a block inside the range at
// a time when every event matches.
func (b *Blocks) countEvents(ctx context.Context, sc scope.Scope, q Query) (int64, error) {
	node, err := Parse(q.Text)
	if err != nil {
		return 0, err
	}
	var n int64
	whole := func(bm blockMeta) bool { n += bm.events; return true }
	if node == nil || eidOnly(node) {
		err = b.countKeys(ctx, sc, q, node, whole, func(int64) { n++ })
		return n, err
	}
	err = b.scanBlocks(ctx, sc, q, whole, func(*Event) bool { n++; return true })
	return n, err
}

// Histogram counts matching events in n equal buckets over q's range.
func (b *Blocks) Histogram(ctx context.Context, sc scope.Scope, q Query, n int) ([]Bucket, error) {
	q, width, start, out, err := bucketRange(q, n, b.now())
	if err != nil {
		return nil, err
	}
	node, err := Parse(q.Text)
	if err != nil {
		return nil, err
	}
	if onHours(node, q, start, width) && !b.noRollup {
		return out, hourHistogram(ctx, b.db, sc, q, width, out)
	}
	// A block within one bucket (blocks hold an hour: most are) adds its
	// count without being read.
	whole := func(bm blockMeta) bool {
		i := (bm.lo - start) / width
		if i != (bm.hi-start)/width || i < 0 || i >= int64(n) {
			return false
		}
		out[i].Count += bm.events
		return true
	}
	add := func(ns int64) {
		if i := (ns - start) / width; i >= 0 && i < int64(n) {
			out[i].Count++
		}
	}
	if node == nil || eidOnly(node) {
		return out, b.countKeys(ctx, sc, q, node, whole, add)
	}
	err = b.scanBlocks(ctx, sc, q, whole, func(e *Event) bool {
		add(e.EventTime.UnixNano())
		return true
	})
	return out, err
}

// Fields summarises the fields of the newest matching events (a sample of
// Options.FieldSample).
func (b *Blocks) Fields(ctx context.Context, sc scope.Scope, q Query) ([]FieldSummary, error) {
	q.Cursor = ""
	evs, err := b.newest(ctx, sc, q, b.opts.FieldSample)
	if err != nil {
		return nil, err
	}
	var s fieldSummariser
	for i := range evs {
		var f map[string]any
		if err := json.Unmarshal(fieldsJSONOf(&evs[i]), &f); err != nil {
			return nil, fmt.Errorf("events: fields: %w", err)
		}
		s.add(f)
	}
	return s.summaries(), nil
}

// TopValues returns the n commonest values of field over every matching
// event (events without the field are not counted).
func (b *Blocks) TopValues(ctx context.Context, sc scope.Scope, q Query, field string, n int) ([]ValueCount, error) {
	if err := checkTopValues(field, n); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	err := b.scan(ctx, sc, q, func(e *Event) bool {
		v := evalEvent{e: e}
		if t, ok := v.text(field); ok {
			counts[t]++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]ValueCount, 0, len(counts))
	for v, c := range counts {
		out = append(out, ValueCount{Value: v, Count: c})
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
	return out, nil
}

// Get returns the event with id, or fault.ErrNotFound when there is none
// the caller may read. Every block in scope whose Bloom filter holds the
// ID is read until one has it.
func (b *Blocks) Get(ctx context.Context, sc scope.Scope, id string) (Event, error) {
	f, args := sc.Filter("org", scope.Read)
	rows, err := b.db.Q().QueryContext(ctx, "SELECT block, bloom FROM event_blocks WHERE "+f+" ORDER BY max_ns DESC", args...)
	if err != nil {
		return Event{}, fmt.Errorf("events: get: %w", err)
	}
	var hits []int64
	h := bloomHash(id)
	for rows.Next() {
		var block int64
		var bl []byte
		if err := rows.Scan(&block, &bl); err != nil {
			_ = rows.Close()
			return Event{}, fmt.Errorf("events: get: %w", err)
		}
		if bloom(bl).has(h) {
			hits = append(hits, block)
		}
	}
	if err := rows.Close(); err != nil {
		return Event{}, fmt.Errorf("events: get: %w", err)
	}
	for _, block := range hits {
		evs, err := b.readBlock(ctx, block, prefilterOf(Text{Value: Value{Parts: []string{id}, Quoted: true}}, true))
		if err != nil {
			return Event{}, err
		}
		for i := range evs {
			if evs[i].ID == id {
				e := evs[i]
				return e, loadAllFields(&e)
			}
		}
	}
	return Event{}, fault.NotFoundf("event %s", id)
}

// Retain deletes what the policy no longer keeps, a day at a time as the
// SQL store does.
func (b *Blocks) Retain(ctx context.Context, p Policy) (RetainResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.forget()
	return retainDays(ctx, b, p, b.now())
}

func (b *Blocks) dayStats(ctx context.Context) (map[string][]dayStat, error) {
	return readDayStats(ctx, b.db)
}

func (b *Blocks) dropDaysBefore(ctx context.Context, day int64, stats map[string][]dayStat) ([]string, int64, error) {
	n, set := daysBefore(stats, day)
	names := dayNames(set)
	err := b.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_blocks WHERE hour < ?`, day*24); err != nil {
			return fmt.Errorf("events: delete days before %s: %w", dayName(day), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events_hours WHERE hour < ?`, day*24); err != nil {
			return fmt.Errorf("events: delete day counts: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return names, n, nil
}

func (b *Blocks) deleteOrgBefore(ctx context.Context, org string, day int64, ds []dayStat) (int64, error) {
	var n int64
	for _, d := range ds {
		if d.day < day {
			n += d.events
		}
	}
	err := b.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_blocks WHERE org = ? AND hour < ?`, org, day*24); err != nil {
			return fmt.Errorf("events: delete %s's days before %s: %w", org, dayName(day), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events_hours WHERE org = ? AND hour < ?`, org, day*24); err != nil {
			return fmt.Errorf("events: delete day counts: %w", err)
		}
		return nil
	})
	return n, err
}

// bloom is a Bloom filter of a block's IDs, blocked (Putze, Sanders and
// Singler): an ID's probes all fall in one 64-byte line, so a look costs
// one cache line rather than one miss a probe. 16 bits an ID and 8
// probes a line keep false positives near 0.1 %, which matters because an
// append looks each new ID up in every block of the hour whose time range
// holds it (several, when senders stamp whole seconds). The hash is one
// 64-bit FNV-1a of the ID, computed once an ID: its low bits choose the
// line, the rest the probes.
type bloom []byte

const (
	bloomLine   = 64 // bytes
	bloomProbes = 8
)

func newBloom(n int) bloom {
	lines := max(1, (n*16+bloomLine*8-1)/(bloomLine*8))
	return make(bloom, lines*bloomLine)
}

func bloomHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	// FNV's low bits mix poorly; a final avalanche (from SplitMix64).
	h ^= h >> 31
	h *= 0x7fb5d329728ea185
	h ^= h >> 27
	return h
}

func (bl bloom) add(h uint64) {
	line := bl[(h%uint64(len(bl)/bloomLine))*bloomLine:][:bloomLine]
	p := h >> 16
	for i := 0; i < bloomProbes; i++ {
		bit := p & 511
		line[bit/8] |= 1 << (bit % 8)
		p = p>>9 | p<<55
	}
}

func (bl bloom) has(h uint64) bool {
	if len(bl) < bloomLine || len(bl)%bloomLine != 0 {
		return true // not a filter this code wrote: look at the IDs
	}
	line := bl[(h%uint64(len(bl)/bloomLine))*bloomLine:][:bloomLine]
	p := h >> 16
	for i := 0; i < bloomProbes; i++ {
		bit := p & 511
		if line[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
		p = p>>9 | p<<55
	}
	return true
}

// Close releases the store's compressor.
// keepsRecords says the store keeps events of a stream encoding as their
// records (ADR 0014): Consume gives it records.
func (b *Blocks) keepsRecords() bool { return true }

func (b *Blocks) Close() error {
	b.codec.close()
	return nil
}
