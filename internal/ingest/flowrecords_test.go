package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// The block store keeps flows as their records (ADR 0014): a store given
// a flow message's records shows exactly what a store given its events
// with their lines shows — every event, field and raw text, every search,
// count and event page — on SQLite and PostgreSQL; it writes blocks of
// records rather than lines; a flow whose log source copies a field to
// EventID (which a block's keys hold) is kept as its line, beside the
// records, and found by its EventID; and records delivered again are
// stored once.
func TestFlowRecordsStoreAsTheirLines(t *testing.T) {
	flows := sampleAndRandomFlows(t, 14, 3000)
	toEventID, err := LoadLogSources([]byte(`rules:
  - formats: [netflow-v5, netflow-v9, ipfix]
    product: netflow
    fields: {dst_port: EventID, src_ip: SourceIp}
`))
	if err != nil {
		t.Fatal(err)
	}
	msg, want := flowMessage(flows, nil, toEventID)
	lines, err := decodeFlowMessage(nil, msg)
	if err != nil || len(lines) != len(want) {
		t.Fatalf("%d events of %d: %v", len(lines), len(want), err)
	}
	recs, err := decodeFlowRecords(nil, msg)
	if err != nil || len(recs) != len(want) {
		t.Fatalf("%d records of %d: %v", len(recs), len(want), err)
	}
	withLine := 0
	for i := range recs {
		if recs[i].ID != want[i].ID || !recs[i].EventTime.Equal(lines[i].EventTime) || recs[i].Org != want[i].Org {
			t.Fatalf("record %d: %s %v %s, want %s %v %s", i, recs[i].ID, recs[i].EventTime, recs[i].Org, want[i].ID, lines[i].EventTime, want[i].Org)
		}
		if recs[i].StreamLine() != nil {
			withLine++
		}
	}
	// Asked for its fields, a record is the event with its line.
	for i := range recs {
		c := recs[i]
		if err := c.LoadFields(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := lines[i].LoadFields(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.StreamLine(), lines[i].StreamLine()) || c.Raw != lines[i].Raw || !reflect.DeepEqual(c.Fields, lines[i].Fields) {
			t.Fatalf("record %d written out:\n%s\n%s\nthe event:\n%s\n%s", i, c.StreamLine(), mustJSON(t, c.Fields), lines[i].StreamLine(), mustJSON(t, lines[i].Fields))
		}
	}
	if withLine == 0 || withLine == len(recs) {
		t.Fatalf("%d of %d records came with their lines: the EventID mapping's flows, and only those, should", withLine, len(recs))
	}

	sys := scope.System("test")
	queries := []string{"", "proto=udp", "src_ip=10.0.0.0/8", "dst_port>=1024", "EventID=53", "EventID in (53, 443)",
		"NOT proto=tcp", "SourceIp=*", "udp", "exporter=192.0.2.7", "duration>0.05", "bytes>100000000000000 OR tcp_flags=*"}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dbB := storetest.SQLite(t, blockSets...)
		if db.Dialect == store.Postgres {
			dbB = storetest.Postgres(t, blockSets...)
		}
		a, b := newBlocksStore(t, db), newBlocksStore(t, dbB)
		if err := a.Append(ctx, lines); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second time, every one is already stored
			if err := b.Append(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queries {
			qa, qb := searchAll(t, a, sys, q), searchAll(t, b, sys, q)
			if len(qa) != len(qb) {
				t.Fatalf("%q: %d events from lines, %d from records", q, len(qa), len(qb))
			}
			for i := range qa {
				if qa[i] != qb[i] {
					t.Fatalf("%q, event %d:\n lines   %s\n records %s", q, i, qa[i], qb[i])
				}
			}
			ca, err1 := a.Count(ctx, sys, events.Query{Text: q})
			cb, err2 := b.Count(ctx, sys, events.Query{Text: q})
			if err1 != nil || err2 != nil || ca != cb || ca != int64(len(qa)) {
				t.Fatalf("%q: counted %d from lines, %d from records, found %d (%v, %v)", q, ca, cb, len(qa), err1, err2)
			}
		}
		if n := len(searchAll(t, b, sys, "")); n != len(want) {
			t.Fatalf("%d of %d flows stored", n, len(want))
		}
		if n := len(searchAll(t, b, sys, "EventID=53")); n == 0 {
			t.Fatal("no flow found by the EventID its mapping gives it")
		}
		for _, i := range []int{0, len(want) / 2, len(want) - 1} {
			ga, err1 := a.Get(ctx, sys, want[i].ID)
			gb, err2 := b.Get(ctx, sys, want[i].ID)
			if err1 != nil || err2 != nil || mustJSON(t, ga) != mustJSON(t, gb) {
				t.Fatalf("event %s:\n lines   %s (%v)\n records %s (%v)", want[i].ID, mustJSON(t, ga), err1, mustJSON(t, gb), err2)
			}
		}
		// b's blocks are records, but for the flows kept as lines.
		kinds := blockKinds(t, dbB)
		if kinds[true] == 0 || kinds[false] == 0 || blockKinds(t, db)[true] != 0 {
			t.Fatalf("blocks of records and of lines: %v in the store given records, %v in the other", kinds, blockKinds(t, db))
		}
	}, blockSets...)
}

var blockSets = []store.MigrationSet{org.Migrations(), audit.Migrations(), events.Migrations()}

// newBlocksStore is a block store over db.
func newBlocksStore(t testing.TB, db *store.DB) *events.Blocks {
	t.Helper()
	s, err := events.NewBlocks(events.Options{DB: db, Now: func() time.Time { return received.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// blockKinds counts db's blocks of records (true) and of lines.
func blockKinds(t *testing.T, db *store.DB) map[bool]int {
	t.Helper()
	rows, err := db.Q().QueryContext(context.Background(), `SELECT data FROM event_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	out := map[bool]int{}
	for rows.Next() {
		var z []byte
		if err := rows.Scan(&z); err != nil {
			t.Fatal(err)
		}
		data, err := dec.DecodeAll(z, nil)
		if err != nil || len(data) == 0 {
			t.Fatalf("a block that does not decompress: %v", err)
		}
		out[data[0] == 0]++
	}
	return out
}

// searchAll is every event q finds, page after page, each as its JSON.
func searchAll(t *testing.T, s events.Store, sc scope.Scope, q string) []string {
	t.Helper()
	var out []string
	query := events.Query{Text: q, Limit: events.MaxLimit}
	for {
		p, err := s.Search(context.Background(), sc, query)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		for _, e := range p.Events {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		if p.Next == "" {
			return out
		}
		query.Cursor = p.Next
	}
}

// BenchmarkFlowBlocksRead is what keeping flows as records (ADR 0014)
// costs a reader: 100,000 flows stored as lines and as records, then a
// search that reads every block (an address no flow has), a first page,
// and a count.
//
//	go test -run '^$' -bench FlowBlocksRead -benchtime 5x ./internal/ingest/
func BenchmarkFlowBlocksRead(b *testing.B) {
	r := rand.New(rand.NewPCG(15, 2026))
	flows := make([]Flow, 100_000)
	for i := range flows {
		flows[i] = randomFlow(r)
		flows[i].Version = 9
	}
	msg, _ := flowMessage(flows, nil)
	for _, kind := range []string{"lines", "records"} {
		decode := decodeFlowMessage
		if kind == "records" {
			decode = decodeFlowRecords
		}
		evs, err := decode(nil, msg)
		if err != nil || len(evs) != len(flows) {
			b.Fatal(len(evs), err)
		}
		s := newBlocksStore(b, storetest.SQLite(b, blockSets...))
		for lo := 0; lo < len(evs); lo += 8192 {
			if err := s.Append(context.Background(), evs[lo:min(lo+8192, len(evs))]); err != nil {
				b.Fatal(err)
			}
		}
		sys := scope.System("bench")
		for _, q := range []struct{ name, text string }{{"scan", "src_ip=203.0.113.254"}, {"first-page", "proto=udp"}} {
			b.Run(kind+"/"+q.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Search(context.Background(), sys, events.Query{Text: q.text}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(flows)), "ns/flow-stored")
			})
		}
	}
}
