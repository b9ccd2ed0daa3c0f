package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// Senders that stamp whole seconds give every block of a busy second the
// same time range, so a new ID is looked for in each of them: the worst
// case for the block store's idempotence. Batches of one second's events,
// appended, redelivered whole and in part, in other cuts and by another
// process (a second store on the same database, nothing remembered), store
// each event once, and the hour's counts match the blocks.
func TestBlocksRedeliveryStoresOnce(t *testing.T) {
	eachBlocks(t, func(t *testing.T, s *Blocks, _ *clock) {
		ctx := context.Background()
		var evs []Event
		for i := range 3*blockMax + 500 {
			// One second: every block's range is that second.
			evs = append(evs, ev(fmt.Sprintf("%011x%021x", t0.Add(-time.Minute).UnixMilli(), i), "RJ1", time.Minute, map[string]any{"n": float64(i)}))
		}
		check := func(st *Blocks, want int) {
			t.Helper()
			var n, blocks, size int64
			if err := st.db.Q().QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0), COUNT(*), COALESCE(SUM(bytes), 0) FROM event_blocks`).Scan(&n, &blocks, &size); err != nil {
				t.Fatal(err)
			}
			c, err := st.Count(ctx, alice, Query{Text: "exists(n)"})
			if err != nil {
				t.Fatal(err)
			}
			stats, err := st.dayStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(want) || c != n || len(stats["RJ1"]) != 1 || stats["RJ1"][0].events != n || stats["RJ1"][0].bytes != size {
				t.Fatalf("%d events in %d blocks of %d bytes (want %d), %d counted, hour counts %+v", n, blocks, size, want, c, stats)
			}
		}
		for _, c := range []struct{ from, to, want int }{
			{0, 3000, 3000},
			{2000, 2000 + blockMax + 100, 2000 + blockMax + 100}, // partly stored, and more than a block
			{0, 3000, 2000 + blockMax + 100},                     // all stored before
			{1000, len(evs), len(evs)},
			{0, len(evs), len(evs)},
		} {
			if err := s.Append(ctx, evs[c.from:c.to]); err != nil {
				t.Fatal(err)
			}
			check(s, c.want)
		}
		other, err := NewBlocks(Options{DB: s.db, Now: s.now})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		shuffled := append([]Event(nil), evs...)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for lo := 0; lo < len(shuffled); lo += 5000 {
			if err := other.Append(ctx, shuffled[lo:min(lo+5000, len(shuffled))]); err != nil {
				t.Fatal(err)
			}
		}
		check(other, len(evs))
		// Every event is found, by ID and by its field.
		for _, i := range []int{0, blockMax, len(evs) - 1} {
			e, err := other.Get(ctx, alice, evs[i].ID)
			if err != nil || e.Fields["n"] != float64(i) {
				t.Errorf("Get(%s) = %v, %v", evs[i].ID, e.Fields, err)
			}
			p, err := other.Search(ctx, alice, Query{Text: fmt.Sprintf("n=%d", i)})
			if err != nil || ids(p) != evs[i].ID {
				t.Errorf("search n=%d: %q, %v", i, ids(p), err)
			}
		}
	})
}

// Events that came from the stream are kept as the stream's lines, not
// encoded again; read back, they are the events the SQL store gives for
// the same lines, field for field (HTML-escaped fields, which the
// consumer re-encodes, included).
func TestBlocksKeepStreamLines(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, sets...)
	rows, clk := newStore(t, db)
	blocks, err := NewBlocks(Options{DB: db, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer blocks.Close()
	var msg []byte
	for i, e := range sample() {
		e.Fields = map[string]any{"n": float64(i), "html": "<b> & </b>", "path": `C:\x`}
		b, err := json.Marshal(e) // encoding/json escapes < > & in the fields
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// As ingest's encoder writes it: no HTML escapes, so the
			// line itself is kept.
			w := streamEvent{Event: e}
			w.Fields = json.RawMessage(`{"n":` + fmt.Sprint(i) + `,"html":"<b> & </b>","path":"C:\\x"}`)
			w.Event.Fields = nil
			if b, err = marshalNoEscape(w); err != nil {
				t.Fatal(err)
			}
		}
		msg = append(append(msg, b...), '\n')
	}
	evs, err := AppendStreamEvents(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, e := range evs {
		if e.line != nil {
			kept++
		}
	}
	if kept != 3 {
		t.Errorf("%d of %d events kept their line, want the 3 without HTML escapes", kept, len(evs))
	}
	for _, st := range []Store{rows, blocks} {
		if err := st.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"", `"<b> &"`, `path="C:\\x"`, "n>=3"} {
		a, err := rows.Search(ctx, alice, Query{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		b, err := blocks.Search(ctx, alice, Query{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Events) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%q: rows gave\n%+v\nblocks gave\n%+v", q, a, b)
		}
	}
	for _, e := range evs {
		a, errA := rows.Get(ctx, alice, e.ID)
		b, errB := blocks.Get(ctx, alice, e.ID)
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("Get(%s): rows %+v (%v), blocks %+v (%v)", e.ID, a, errA, b, errB)
		}
	}
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// The Bloom filter has no false negatives and few false positives.
func TestBloom(t *testing.T) {
	for _, n := range []int{1, 7, 1000, 8192} {
		bl := newBloom(n)
		for i := range n {
			bl.add(bloomHash(fmt.Sprintf("%011x%021x", 1733510000000+i/100, i)))
		}
		for i := range n {
			if !bl.has(bloomHash(fmt.Sprintf("%011x%021x", 1733510000000+i/100, i))) {
				t.Fatalf("n=%d: ID %d added and not found", n, i)
			}
		}
		fp := 0
		const tries = 200000
		for i := range tries {
			if bl.has(bloomHash(fmt.Sprintf("other-%d", i))) {
				fp++
			}
		}
		if rate := float64(fp) / tries; rate > 0.005 {
			t.Errorf("n=%d: %.3f %% false positives, want under 0.5 %%", n, 100*rate)
		}
	}
}

// Two processes appending the same events at once (several servers
// sharing one database, each redelivered the same batch) store each
// event once: on PostgreSQL each organisation-hour's appends take turns.
func TestBlocksConcurrentWritersStoreOnce(t *testing.T) {
	eachBlocks(t, func(t *testing.T, s *Blocks, _ *clock) {
		ctx := context.Background()
		var evs []Event
		for i := range 4000 {
			org := "RJ1"
			if i%2 == 1 {
				org = "RJZ"
			}
			evs = append(evs, ev(fmt.Sprintf("c%05d", i), org, time.Duration(i%90)*time.Minute, map[string]any{"n": float64(i)}))
		}
		writers := make([]*Blocks, 4)
		for i := range writers {
			w, err := NewBlocks(Options{DB: s.db, Now: s.now})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			writers[i] = w
		}
		errs := make(chan error, len(writers))
		for i, w := range writers {
			go func() {
				// Each its own cut of the same events, in its own order.
				mine := append([]Event(nil), evs...)
				rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(mine), func(a, b int) { mine[a], mine[b] = mine[b], mine[a] })
				for lo := 0; lo < len(mine); lo += 700 {
					if err := w.Append(ctx, mine[lo:min(lo+700, len(mine))]); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var n int64
		if err := s.db.Q().QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0) FROM event_blocks`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != int64(len(evs)) {
			t.Fatalf("%d events stored by four writers of the same %d", n, len(evs))
		}
	})
}

// Open keeps a database's events in the store that holds them: chosen
// without a kind, it is that store; asked for the other, it refuses (the
// other would show none of the events beside the hourly counts of all).
func TestOpenChoosesTheStoreThatHoldsTheEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, clk := newStore(t, db)
		o := Options{DB: db, Now: clk.now}
		_, kind, err := Open(ctx, o, "")
		if err != nil {
			t.Fatal(err)
		}
		want := KindBlocks
		if db.Dialect == store.Postgres {
			want = KindRows
		}
		if kind != want {
			t.Errorf("an empty %s database chose %s, want %s", db.Dialect, kind, want)
		}
		// The other kind, explicitly, holds the first events.
		other := KindRows
		if kind == KindRows {
			other = KindBlocks
		}
		st, _, err := Open(ctx, o, other)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Append(ctx, sample()); err != nil {
			t.Fatal(err)
		}
		if _, got, err := Open(ctx, o, ""); err != nil || got != other {
			t.Errorf("with events in %s, Open chose %q (%v)", other, got, err)
		}
		var inv *fault.Invalid
		if _, _, err := Open(ctx, o, kind); !errors.As(err, &inv) || !strings.Contains(err.Error(), "keeps its events in "+other) {
			t.Errorf("Open(%s) on a database holding %s = %v, want it refused", kind, other, err)
		}
	}, sets...)
}

// TestSortNewestFirst holds the sort of a block's rows, with its short
// cut for rows that come oldest first and its sort by key, to a plain
// sort: rows in order, in order with moments shared, reversed, shuffled,
// and times too far apart for a key.
func TestSortNewestFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 12))
	for trial := range 400 {
		n := r.IntN(60)
		rows := make([]blockRow, n)
		ns := int64(0)
		for i := range rows {
			if r.IntN(3) > 0 { // a third share the moment before
				ns += int64(r.IntN(5))
			}
			rows[i] = blockRow{ev: &Event{ID: fmt.Sprintf("%04x", r.IntN(1<<16))}, ns: ns}
		}
		if trial%8 == 6 { // too far apart for sortByKey's integer
			for i := range rows {
				rows[i].ns *= 1 << 54
			}
		}
		switch trial % 4 {
		case 1:
			slices.Reverse(rows)
		case 2:
			r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		case 3:
			if n > 2 { // in order but one
				rows[0], rows[n-1] = rows[n-1], rows[0]
			}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, newestFirst)
		sortNewestFirst(rows)
		for i := range rows {
			if rows[i].ns != want[i].ns || rows[i].ev.ID != want[i].ev.ID {
				t.Fatalf("trial %d: row %d is %d %s, want %d %s", trial, i, rows[i].ns, rows[i].ev.ID, want[i].ns, want[i].ev.ID)
			}
		}
	}
}
