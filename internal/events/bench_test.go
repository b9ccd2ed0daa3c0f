package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// samplePaths are the real Windows logs synthetic events replay.
func samplePaths(t testing.TB) []string {
	ps, _ := filepath.Glob("../../../shared/data/events/windows/otrf/*.jsonl.gz")
	if len(ps) == 0 {
		t.Skip("no samples under ../shared/data/events/windows/otrf")
	}
	sort.Strings(ps)
	return ps
}

func TestGenerate(t *testing.T) {
	sm, err := LoadSamples(2000, samplePaths(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	o := GenerateOptions{Count: 250, Orgs: []string{"RJ1", "RJZ"}, End: t0, Span: 24 * time.Hour, Seed: 7, Batch: 100}
	if err := sm.Generate(o, func(b []Event) error { evs = append(evs, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 250 {
		t.Fatalf("%d events", len(evs))
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID] || e.Org == "" || e.EventTime.After(t0) || e.EventTime.Before(t0.Add(-24*time.Hour)) || e.Raw == "" || len(e.Fields) == 0 {
			t.Fatalf("bad event %+v", e)
		}
		seen[e.ID] = true
	}
	var again []Event
	if err := sm.Generate(o, func(b []Event) error { again = append(again, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if again[17].ID != evs[17].ID || !again[17].EventTime.Equal(evs[17].EventTime) {
		t.Error("the same seed made different events")
	}
	// They store and are found by their fields.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newStore(t, db)
		if err := s.Append(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(context.Background(), rex, Query{Text: "exists(EventID)"})
		if err != nil || n != 250 {
			t.Errorf("count %d (%v)", n, err)
		}
	}, sets...)
}

// BenchmarkAppend measures appending synthetic events to SQLite in
// batches of 1,000 (the consumer's batch).
func BenchmarkAppend(b *testing.B) {
	sm, err := LoadSamples(5000, samplePaths(b)...)
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.SQLite(b, sets...)
	s, _ := newStore(b, db)
	var evs []Event
	if err := sm.Generate(GenerateOptions{Count: b.N * 1000, Orgs: []string{"RJ1", "RJZ"}, End: t0, Seed: 1, Batch: 1000},
		func(x []Event) error { evs = append(evs, x...); return nil }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.Append(context.Background(), evs[i*1000:(i+1)*1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "events/s")
}

// TestScale builds (or reuses) a store of VIGIL_EVENTS_SCALE synthetic
// events over 7 days for 20 trusts and times the searches the issue sets
// targets for. It runs only when asked:
//
//	VIGIL_EVENTS_SCALE=1000000 VIGIL_EVENTS_SCALE_DIR=/tmp/ev1m \
//	  go test -count=1 -timeout 20m -run TestScale -v ./internal/events/
//
// VIGIL_EVENTS_SCALE_DB=postgres uses PostgreSQL (a fresh schema) instead
// of SQLite; VIGIL_EVENTS_SCALE_DIR keeps the SQLite database so the
// queries can be timed again without appending.
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE"))
	if n <= 0 {
		t.Skip("set VIGIL_EVENTS_SCALE to the number of events")
	}
	ctx := context.Background()
	end := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var db *store.DB
	var err error
	switch os.Getenv("VIGIL_EVENTS_SCALE_DB") {
	case "postgres":
		db = storetest.Postgres(t, sets...)
	default:
		dir := os.Getenv("VIGIL_EVENTS_SCALE_DIR")
		if dir == "" {
			dir = t.TempDir()
		}
		db, err = store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		if _, err := db.Migrate(ctx, sets...); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{t: end}
	osvc, err := org.New(org.Options{DB: db, Audit: audit.New(db, clk.now), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := osvc.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	var orgs []string
	if _, err := osvc.Get(ctx, scope.System("t"), "QKK"); err != nil {
		for _, o := range estate[:2] {
			if _, err := osvc.Create(ctx, scope.System("t"), o); err != nil {
				t.Fatal(err)
			}
		}
	}
	// VIGIL_EVENTS_SCALE_COPIES=k holds k times the events, as
	// TestScaleClickHouse does: the generated ones for trusts RB00–RB19
	// under ICB QKK, and k-1 copies made by the database itself for
	// trusts RC00–RC19 under ICB QZC, RD00–RD19 under QZD and so on. An
	// analyst of QKK then sees exactly the generated events and a
	// national one all of them: the two sizes timed in one run.
	copies := 1
	if c, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_COPIES")); c > 1 {
		copies = min(c, 20)
	}
	ensure := func(o org.Org) {
		if _, err := osvc.Get(ctx, scope.System("t"), o.Code); err != nil {
			if _, err := osvc.Create(ctx, scope.System("t"), o); err != nil {
				t.Fatal(err)
			}
		}
	}
	for c := range copies {
		icb := "QKK"
		if c > 0 {
			icb = fmt.Sprintf("QZ%c", 'B'+c)
			ensure(org.Org{Code: icb, Name: "ICB " + icb, Type: org.ICB, Parent: "Y56"})
		}
		for i := range 20 {
			code := fmt.Sprintf("R%c%02d", 'B'+c, i)
			if c == 0 {
				orgs = append(orgs, code)
			}
			ensure(org.Org{Code: code, Name: "Trust " + code, Type: org.Trust, Parent: icb})
		}
	}
	// VIGIL_EVENTS_SCALE_STORE=blocks times the block store (ADR 0012)
	// on the same database; a run builds and times one store.
	var s engine
	if os.Getenv("VIGIL_EVENTS_SCALE_STORE") == "blocks" {
		if copies > 1 {
			t.Fatal("VIGIL_EVENTS_SCALE_COPIES copies rows of the SQL store; the block store takes none")
		}
		bs, err := NewBlocks(Options{DB: db, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = bs.Close() }()
		s = bs
	} else {
		ss, err := New(Options{DB: db, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ss.Close() }()
		s = ss
	}
	national := person(scope.NationalAnalyst, "ENG", "/ENG/")
	trust := person(scope.OrgAnalyst, "RB03", "/ENG/Y56/QKK/RB03/")

	icbLead := person(scope.OrgAnalyst, "QKK", "/ENG/Y56/QKK/")

	have, err := s.Count(ctx, icbLead, Query{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the store holds %d generated events", have)
	if have < int64(n) {
		mix := os.Getenv("VIGIL_EVENTS_SCALE_MIX")
		sm := scaleSamples(t, mix)
		// A run adds at most VIGIL_EVENTS_SCALE_STEP events, so that a
		// large store is built over several runs of a few minutes each;
		// each run's seed follows from what is there.
		add := n - int(have)
		if step, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_STEP")); step > 0 {
			add = min(add, step)
		}
		batch := 5000
		if b, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_BATCH")); b > 0 {
			batch = b
		}
		o := GenerateOptions{Count: add, Orgs: orgs, End: end, Span: 7 * 24 * time.Hour, Seed: 42 + uint64(have), Batch: batch}
		if mix == "national" {
			// In time order, as traffic arrives; the same seed whatever
			// is there, so a stopped build goes on where it stopped.
			o.Ordered, o.Count, o.From, o.Seed = true, int(have)+add, int(have), 42
		}
		start := time.Now()
		done := 0
		err = sm.Generate(o, func(b []Event) error {
			done += len(b)
			if done%200000 < len(b) {
				t.Logf("%d events, %.0f/s", done, float64(done)/time.Since(start).Seconds())
			}
			return s.Append(ctx, b)
		})
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		t.Logf("FIGURE append %s: %d events onto %d in %v = %.0f events/s (%d samples, mix %q, batch %d)", db.Dialect, add, have, el.Round(time.Millisecond), float64(add)/el.Seconds(), len(sm), mix, batch)
		if int(have)+add < n {
			return // the queries are timed once the store is whole
		}
	}
	for c := 1; c < copies; c++ {
		scaleCopy(t, db, fmt.Sprintf("R%c", 'B'+c), int64(n), end)
	}
	scaleSize(t, db)
	// Statistics for the planners, as a deployment's periodic ANALYZE
	// would have them.
	// (SQLite samples each index, as its documentation advises for
	// large databases, instead of reading gigabytes.)
	st := time.Now()
	if db.Dialect == store.SQLite {
		if _, err := db.ExecContext(ctx, "PRAGMA analysis_limit = 2000"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	t.Logf("ANALYZE took %v", time.Since(st).Round(time.Millisecond))
	day := Query{Since: end.Add(-24 * time.Hour), Until: end}
	week := Query{Since: end.Add(-7 * 24 * time.Hour), Until: end}
	timeIt := scaleTimer(t, string(db.Dialect))
	for _, who := range []struct {
		name string
		sc   scope.Scope
	}{{"national", national}, {"icb", icbLead}, {"trust", trust}} {
		q := day
		q.Text = "EventID=4688"
		timeIt(who.name+" first page EventID=4688 24h", func() (string, error) {
			p, err := s.Search(ctx, who.sc, q)
			return fmt.Sprintf("%d events", len(p.Events)), err
		})
		q.Text = `EventID="4688"` // the same events as text: no index
		timeIt(who.name+` first page EventID="4688" 24h (unindexed)`, func() (string, error) {
			p, err := s.Search(ctx, who.sc, q)
			return fmt.Sprintf("%d events", len(p.Events)), err
		})
		q.Text = `Image=*powershell.exe`
		timeIt(who.name+" first page Image=*powershell.exe 24h", func() (string, error) {
			p, err := s.Search(ctx, who.sc, q)
			return fmt.Sprintf("%d events", len(p.Events)), err
		})
		w := week
		timeIt(who.name+" histogram 7d all events (168 buckets)", func() (string, error) {
			h, err := s.Histogram(ctx, who.sc, w, 168)
			return fmt.Sprintf("%d events", total(h)), err
		})
		// The Events page's own: 48 bars ending now, not on the hour, so
		// they are counted from the events, not from events_hours; and
		// the page's count of every event in the range.
		odd := Query{Since: week.Since.Add(-17 * time.Minute), Until: week.Until.Add(-17 * time.Minute)}
		timeIt(who.name+" histogram 7d all events, not on the hour (48 buckets)", func() (string, error) {
			h, err := s.Histogram(ctx, who.sc, odd, 48)
			return fmt.Sprintf("%d events", total(h)), err
		})
		timeIt(who.name+" count all events 7d", func() (string, error) {
			c, err := s.Count(ctx, who.sc, week)
			return fmt.Sprint(c), err
		})
		// The page's count: a range not on the hour, its whole hours from
		// events_hours and its two part-hours from the events; beside it
		// the same count from the events alone, as before.
		timeIt(who.name+" count all events 7d, not on the hour", func() (string, error) {
			c, err := s.Count(ctx, who.sc, odd)
			return fmt.Sprint(c), err
		})
		timeIt(who.name+" count all events 7d, not on the hour, from the events", func() (string, error) {
			s.setNoRollup(true)
			defer s.setNoRollup(false)
			c, err := s.Count(ctx, who.sc, odd)
			return fmt.Sprint(c), err
		})
		w.Text = "EventID=4688"
		timeIt(who.name+" histogram 7d EventID=4688 (168 buckets)", func() (string, error) {
			h, err := s.Histogram(ctx, who.sc, w, 168)
			return fmt.Sprintf("%d events", total(h)), err
		})
		q.Text = "EventID=4688"
		timeIt(who.name+" count EventID=4688 24h", func() (string, error) {
			c, err := s.Count(ctx, who.sc, q)
			return fmt.Sprint(c), err
		})
		timeIt(who.name+" top values Image 24h", func() (string, error) {
			v, err := s.TopValues(ctx, who.sc, day, "Image", 10)
			return fmt.Sprintf("%d values", len(v)), err
		})
	}
	scaleGet(t, s, timeIt, national, day)
	// VIGIL_EVENTS_SCALE_MORE=m appends m new events through Vigil after
	// the queries, to time appending onto a store already this size.
	if more, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_MORE")); more > 0 {
		scaleMore(t, s, string(db.Dialect), scaleSamples(t, os.Getenv("VIGIL_EVENTS_SCALE_MIX")), GenerateOptions{Count: more, Orgs: orgs, End: end, Span: 7 * 24 * time.Hour, Seed: 4242, Batch: 5000})
	}
}

// scaleTimer returns the scale tests' timer: a query run three times
// (once when it takes over a minute), its median logged as a FIGURE
// line of the store named.
func scaleTimer(t *testing.T, store string) func(name string, fn func() (string, error)) {
	return func(name string, fn func() (string, error)) {
		t.Helper()
		var ds []time.Duration
		var out string
		for range 3 {
			st := time.Now()
			o, err := fn()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ds = append(ds, time.Since(st))
			out = o
			if ds[0] > time.Minute {
				break // a scan of minutes: one run says enough
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("FIGURE %s %s: median %v (runs %v) → %s", store, name, ds[len(ds)/2].Round(100*time.Microsecond), ds, out)
	}
}

// scaleGet times reading one event of the last day by its ID.
func scaleGet(t *testing.T, s Store, timeIt func(string, func() (string, error)), national scope.Scope, day Query) {
	t.Helper()
	ctx := context.Background()
	p, err := s.Search(ctx, national, day)
	if err != nil || len(p.Events) == 0 {
		t.Fatalf("no event to get: %v", err)
	}
	id := p.Events[0].ID
	timeIt("national get by ID", func() (string, error) {
		_, err := s.Get(ctx, national, id)
		return id, err
	})
}

// scaleMore appends o.Count new events through the store after the
// queries, to time appending onto a store already its size (the
// generating not timed).
func scaleMore(t *testing.T, s Store, store string, sm Samples, o GenerateOptions) {
	t.Helper()
	ctx := context.Background()
	onto, err := s.Count(ctx, scope.System("t"), Query{})
	if err != nil {
		t.Fatal(err)
	}
	var el time.Duration
	err = sm.Generate(o, func(b []Event) error {
		a := time.Now()
		err := s.Append(ctx, b)
		el += time.Since(a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE append %s onto %d: %d events in %v appending = %.0f events/s (batch %d)", store, onto, o.Count, el.Round(time.Millisecond), float64(o.Count)/el.Seconds(), o.Batch)
}

// scaleCopy copies the generated events of trusts RB00–RB19 to the
// trusts named by prefix (RC00–RC19 for "RC"), an hour at a time inside
// the database, with their hourly counts. Each copy's ID keeps its 11
// hex digits of time and puts "z" and the copy's letter in the next two
// places: never hex, so never another copy's or a generated event's.
func scaleCopy(t *testing.T, db *store.DB, prefix string, n int64, end time.Time) {
	t.Helper()
	ctx := context.Background()
	var have int64
	if err := db.QueryRowContext(ctx, db.Rebind("SELECT count(*) FROM events_hours WHERE org LIKE ?"), prefix+"%").Scan(&have); err != nil {
		t.Fatal(err)
	}
	if have > 0 {
		var got int64
		if err := db.QueryRowContext(ctx, db.Rebind("SELECT coalesce(sum(events), 0) FROM events_hours WHERE org LIKE ?"), prefix+"%").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got < n {
			t.Fatalf("copy %s holds %d of %d events: build the store again", prefix, got, n)
		}
		return
	}
	cols := "event_ns, received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, raw, raw_text, truncated, parse_error, size"
	if db.Dialect == store.Postgres {
		cols = "day, " + cols
	} else {
		cols += ", event_id" // PostgreSQL's is generated
	}
	ins := "INSERT INTO events (id, org, " + cols + ") SELECT substr(id, 1, 11) || 'z" + prefix[1:] + "' || substr(id, 14), '" + prefix + "' || substr(org, 3), " + cols +
		" FROM events WHERE org >= 'RB' AND org < 'RC' AND event_ns >= ? AND event_ns < ?"
	ins = db.Rebind(ins)
	st := time.Now()
	var copied int64
	for h := end.Add(-7*24*time.Hour - time.Hour); h.Before(end.Add(time.Hour)); h = h.Add(time.Hour) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tx.ExecContext(ctx, ins, h.UnixNano(), h.Add(time.Hour).UnixNano())
		if err != nil {
			_ = tx.Rollback()
			t.Fatalf("copy %s: %v", prefix, err)
		}
		k, _ := r.RowsAffected()
		copied += k
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, db.Rebind("INSERT INTO events_hours (org, hour, events, bytes) SELECT ? || substr(org, 3), hour, events, bytes FROM events_hours WHERE org >= 'RB' AND org < 'RC'"), prefix); err != nil {
		t.Fatal(err)
	}
	el := time.Since(st)
	if copied < n {
		t.Fatalf("copy %s: %d events copied, want %d", prefix, copied, n)
	}
	t.Logf("FIGURE copy %s: %d events in %v = %.0f events/s inside %s", prefix, copied, el.Round(time.Millisecond), float64(copied)/el.Seconds(), db.Dialect)
}

// scaleSize logs what the events take on disk: SQLite's whole database
// file (pages in use), PostgreSQL's events partitions and their indexes.
func scaleSize(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	var events, bytes int64
	if err := db.QueryRowContext(ctx, "SELECT coalesce(sum(events), 0) FROM events_hours").Scan(&events); err != nil {
		t.Fatal(err)
	}
	var err error
	switch db.Dialect {
	case store.Postgres:
		err = db.QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
			JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' AND p.relnamespace = to_regnamespace(current_schema())`).Scan(&bytes)
	default:
		err = db.QueryRowContext(ctx, "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) - (SELECT freelist_count FROM pragma_freelist_count()) * (SELECT page_size FROM pragma_page_size())").Scan(&bytes)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE size %s: %d events, %.1f GB (%.0f bytes an event)", db.Dialect, events, float64(bytes)/1e9, float64(bytes)/float64(max(events, 1)))
}

// scaleSamples are the records TestScale replays. mix "" is every
// Windows sample (the first 3,000 of each OTRF file, so every attack's
// events are among them); "national" is closer to a health system's
// traffic: 60 % short syslog lines (the loghub Linux and OpenSSH logs),
// 25 % network connections (the Zeek conn records of OTRF APT29) and 15 %
// Windows events (the same OTRF files).
func scaleSamples(t *testing.T, mix string) Samples {
	var win Samples
	for _, p := range samplePaths(t) {
		x, err := LoadSamples(3000, p)
		if err != nil {
			t.Fatal(err)
		}
		win = append(win, x...)
	}
	switch mix {
	case "":
		return win
	case "national":
	default:
		t.Fatalf("VIGIL_EVENTS_SCALE_MIX %q: want empty or national", mix)
	}
	const shared = "../../../shared/data/events/"
	sys, err := LoadSyslogSamples(0, shared+"linux/loghub/Linux_2k.log", shared+"linux/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	zp, _ := filepath.Glob(shared + "network/zeek/*.jsonl.gz")
	zeek, err := LoadSamples(0, zp...)
	if err != nil {
		t.Fatal(err)
	}
	var conn Samples
	for _, z := range zeek {
		if z.Fields["@stream"] == "conn" {
			conn = append(conn, z)
		}
	}
	conn = conn.Retag("zeek", "conn", "network_connection", "@system")
	sm, err := Mix([]Samples{sys, conn, win}, []float64{60, 25, 15})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mix national: %d syslog, %d conn, %d Windows records → %d samples", len(sys), len(conn), len(win), len(sm))
	return sm
}

func total(h []Bucket) int64 {
	var n int64
	for _, b := range h {
		n += b.Count
	}
	return n
}

// TestGenerateOrdered: Ordered events come in time order with IDs that
// sort as their times; a run From k makes the same IDs and times as a
// whole run's events from k on. Mix draws parts by weight, and syslog
// lines read into ingest's RFC 3164 fields.
func TestGenerateOrdered(t *testing.T) {
	sys, err := LoadSyslogSamples(0, "../../../shared/data/events/linux/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Skip(err)
	}
	if len(sys) != 2000 || sys[0].Fields["syslog.appname"] != "sshd" || sys[0].Fields["syslog.procid"] != "24200" ||
		sys[0].Host != "LabSZ" || !strings.HasPrefix(sys[0].Raw, "<38>Dec 10 06:55:46 LabSZ sshd[24200]: ") {
		t.Fatalf("%d lines, first %+v", len(sys), sys[0])
	}
	win := sys[:10].Retag("windows", "security", "", "syslog.hostname")
	mix, err := Mix([]Samples{sys, win}, []float64{3, 1})
	if err != nil || len(mix) != 2667 {
		t.Fatalf("mix of %d (%v)", len(mix), err)
	}
	o := GenerateOptions{Count: 1000, Orgs: []string{"RJ1"}, End: t0, Span: time.Hour, Seed: 3, Batch: 100, Ordered: true}
	var all, tail []Event
	if err := mix.Generate(o, func(b []Event) error { all = append(all, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if !all[i].EventTime.After(all[i-1].EventTime) || all[i].ID <= all[i-1].ID || all[i].EventTime.After(t0) {
			t.Fatalf("event %d: %v %s after %v %s", i, all[i].EventTime, all[i].ID, all[i-1].EventTime, all[i-1].ID)
		}
	}
	o.From = 600
	if err := mix.Generate(o, func(b []Event) error { tail = append(tail, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(tail) != 400 || tail[0].ID != all[600].ID || !tail[399].EventTime.Equal(all[999].EventTime) {
		t.Fatalf("from 600: %d events, first %s (want %s)", len(tail), tail[0].ID, all[600].ID)
	}
}

// BenchmarkAppendIDOrder appends b.N syslog events to a SQLite store on
// disk in the consumer's transactions of 5,600, with IDs as ingest made
// them before ADR 0011 (a hash: each insert lands on a random page of the
// ID index) and as it makes them now (the event's time in milliseconds,
// then a hash: the index grows at its end). Besides events/s it reports
// the CPU time (user and system, of the whole process: nothing else runs)
// and the bytes the process wrote to disk per event, which depend on the
// IDs' order and not on the machine's load:
//
//	go test -run '^$' -bench AppendIDOrder -benchtime 2000000x ./internal/events/
func BenchmarkAppendIDOrder(b *testing.B) {
	for _, order := range []string{"random", "time-led"} {
		b.Run(order, func(b *testing.B) {
			s, _ := newStore(b, storetest.SQLite(b, sets...))
			ctx := context.Background()
			const tx = 5600
			evs := make([]Event, 0, tx)
			msg := "seq: %010d, thread: 0000, runid: 1733510000, stamp: 2026-12-06T18:50:51 PADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADD"
			cpu0, w0 := processCPU(b), processWritten(b)
			b.ResetTimer()
			for i := range b.N {
				t := t0.Add(time.Duration(i) * 10 * time.Microsecond)
				h := uint64(i) * 0x9e3779b97f4a7c15
				id := fmt.Sprintf("%016x%016x", h, h^0xdeadbeef)
				if order == "time-led" {
					id = fmt.Sprintf("%011x%021x", t.UnixMilli(), h>>4)
				}
				text := fmt.Sprintf(msg, i)
				evs = append(evs, Event{ID: id, Org: "RJ1", ReceivedAt: t, EventTime: t,
					Source: Source{Protocol: "syslog-tcp", Addr: "127.0.0.1:40112", Format: "rfc5424", Host: "localhost"},
					Fields: map[string]any{"syslog.appname": "prg00000", "syslog.procid": "1234", "message": text, "host.name": "localhost"},
					Raw:    "<38>1 2026-12-06T18:50:51+00:00 localhost prg00000 1234 - - " + text})
				if len(evs) == tx || i == b.N-1 {
					if err := s.Append(ctx, evs); err != nil {
						b.Fatal(err)
					}
					evs = evs[:0]
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/event")
			b.ReportMetric(float64(processWritten(b)-w0)/float64(b.N), "written-B/event")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processWritten is what the process has written to storage so far
// (write_bytes of /proc/self/io), or 0 where the kernel does not say.
func processWritten(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
