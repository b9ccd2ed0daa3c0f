package events

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// eventIDShapes are fields JSON as senders and shippers spell EventID,
// and as they do not have it.
var eventIDShapes = []string{
	`{"EventID":4688,"Image":"C:\\Windows\\cmd.exe"}`,
	`{"EventID":"4688"}`,
	`{"EventID":4688.0}`,
	`{"EventID":4.688e3}`,
	`{"Image":"x","EventID":"46\u00388"}`, // an escape in the value
	`{"EventID":"4688","EventID":1}`,      // given twice: the first counts
	`{"EventID":1,"EventID":4688}`,
	`{"EventID":" 4688"}`,
	`{"EventID":"4688 "}`,
	`{"EventID":46880}`,
	`{"EventID":-4688}`,
	`{"EventID":true}`, // 1 to json_extract
	`{"EventID":false}`,
	`{"EventID":null}`,
	`{"EventID":{"4688":4688}}`,
	`{"EventID":[4688]}`,
	`{"nested":{"EventID":4688}}`, // not at the top
	`{"message":"EventID 4688"}`,  // the name, but not a key
	`{"EventIDs":4688}`,
	`{"EventID":99999999999999999999999}`, // beyond int64: a real
	`{"EventID":1e400}`,                   // beyond float64
	`{"EventID":"\ud83d\ude00 4688"}`,     // a surrogate pair: encoding/json reads it
	`{}`,
}

// TestEventIDColumn checks that a condition on EventID, written on the
// event_id column that Append fills (migration 0004), finds exactly what
// the expression it replaced found over the same fields, on both engines,
// and that SQLite's planner reads the column's partial index for it.
func TestEventIDColumn(t *testing.T) {
	each(t, func(t *testing.T, s *SQL, _ *clock) {
		ctx := context.Background()
		var evs []Event
		for i, f := range eventIDShapes {
			e := ev(string(rune('a'+i))+"1", "RJ1", time.Duration(i)*time.Minute, nil)
			e.fieldsJSON = []byte(f)
			evs = append(evs, e)
		}
		// And fields given as a map, which Append encodes itself.
		evs = append(evs, ev("map1", "RJ1", time.Hour, map[string]any{"EventID": float64(4688)}),
			ev("map2", "RJ1", time.Hour, map[string]any{"EventID": "4688"}),
			ev("map3", "RJ1", time.Hour, map[string]any{"EventID": float64(4624)}))
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		// What the expression index of migration 0002 matched.
		old := `json_extract(fields, '$."EventID"') IN (?, ?)`
		oldArgs := func(n float64, txt string) []any { return []any{n, txt} }
		if s.db.Dialect == store.Postgres {
			old = `(fields ->> 'EventID') = ?`
			oldArgs = func(_ float64, txt string) []any { return []any{txt} }
		}
		for _, c := range []struct {
			n   float64
			txt string
		}{{4688, "4688"}, {1, "1"}, {0, "0"}, {46880, "46880"}, {-4688, "-4688"}, {4624, "4624"}, {1e23, "100000000000000000000000"}} {
			q := "EventID=" + c.txt
			rows, err := s.db.Q().QueryContext(ctx, "SELECT id FROM events WHERE "+old+" ORDER BY event_ns DESC, id DESC", oldArgs(c.n, c.txt)...)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			p, err := s.Search(ctx, scope.System("test"), Query{Text: q, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); got != strings.Join(want, ",") {
				t.Errorf("%s: the column finds [%s], the expression [%s]", q, got, strings.Join(want, ","))
			}
			if c.txt == "4688" && len(want) < 6 {
				t.Errorf("%s: the expression finds only [%s]: the shapes above are not what they were", q, strings.Join(want, ","))
			}
		}
		if s.db.Dialect != store.SQLite {
			return
		}
		query, args, err := s.searchSQL(scope.System("test"), Query{Text: "EventID=4688", Since: t0.Add(-24 * time.Hour)}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		rows, err := s.db.Q().QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if p := strings.Join(plan, "; "); !strings.Contains(p, "events_eventid") {
			t.Errorf("EventID=4688 over a day does not read the EventID index: %s", p)
		}
	})
}

// TestEventIDMigration stores events under the schema before migration
// 0004 (EventID in the fields only) and migrates: the events stored
// before are found by EventID as those stored after are.
func TestEventIDMigration(t *testing.T) {
	before := fstest.MapFS{}
	if err := fs.WalkDir(migrationFS, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(path, "migrations/")
		if name >= "0004" {
			return nil
		}
		b, err := migrationFS.ReadFile(path)
		before[name] = &fstest.MapFile{Data: b}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	old := []store.MigrationSet{org.Migrations(), audit.Migrations(), {Domain: "events", FS: before}}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ns := t0.Add(-time.Minute).UnixNano()
		day := dayOf(ns)
		ins := "INSERT INTO events (id, org, event_ns, received_ns, fields) VALUES (?, 'RJ1', ?, ?, ?)"
		if db.Dialect == store.Postgres {
			if _, err := db.ExecContext(ctx, "CREATE TABLE events_d"+strings.ReplaceAll(dayName(day), "-", "")+" PARTITION OF events FOR VALUES FROM ("+itoa(day)+") TO ("+itoa(day+1)+")"); err != nil {
				t.Fatal(err)
			}
			ins = "INSERT INTO events (day, id, org, event_ns, received_ns, fields) VALUES (" + itoa(day) + ", ?, 'RJ1', ?, ?, ?)"
		}
		for i, f := range []string{`{"EventID":4688}`, `{"EventID":"4688"}`, `{"EventID":4624}`, `{"message":"EventID 4688"}`, `{"EventID":true}`} {
			if _, err := db.ExecContext(ctx, db.Rebind(ins), "old"+itoa(int64(i)), ns-int64(i), ns, f); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx, sets...); err != nil {
			t.Fatal(err)
		}
		s, _ := newStore(t, db)
		e := ev("new", "RJ1", 2*time.Minute, map[string]any{"EventID": float64(4688)})
		if err := s.Append(ctx, []Event{e}); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]string{"EventID=4688": "old0,old1,new", "EventID=4624": "old2", "exists(EventID)": "old0,old1,old2,old4,new"} {
			p, err := s.Search(ctx, scope.System("test"), Query{Text: q})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); got != want {
				t.Errorf("%s after the migration: [%s], want [%s]", q, got, want)
			}
		}
	}, old...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
