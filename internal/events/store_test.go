package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

var sets = []store.MigrationSet{org.Migrations(), audit.Migrations(), Migrations()}

// t0 is the tests' now: events spread over the days before it.
var t0 = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

// The estate: two trusts of one ICB, and the ICB's lead sees both.
var estate = []org.Org{
	{Code: "Y56", Name: "London", Type: org.Region},
	{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
	{Code: "RJ1", Name: "Guy's and St Thomas'", Type: org.Trust, Parent: "QKK"},
	{Code: "RJZ", Name: "King's College Hospital", Type: org.Trust, Parent: "QKK"},
}

func person(role scope.Role, code, path string) scope.Scope {
	return scope.Scope{UserID: "u-" + code, Email: code + "@nhs.test", Via: "session", Home: code, Grants: []scope.Grant{{Role: role, Org: code, Path: path}}}
}

var (
	alice = person(scope.OrgAnalyst, "RJ1", "/ENG/Y56/QKK/RJ1/")
	bob   = person(scope.OrgAnalyst, "RJZ", "/ENG/Y56/QKK/RJZ/")
	rex   = person(scope.RegionLead, "Y56", "/ENG/Y56/")
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t testing.TB, db *store.DB) (*SQL, *clock) {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: t0}
	os, err := org.New(org.Options{DB: db, Audit: audit.New(db, clk.now), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range estate {
		if _, err := os.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatalf("create %s: %v", o.Code, err)
		}
	}
	s, err := New(Options{DB: db, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

func each(t *testing.T, fn func(t *testing.T, s *SQL, clk *clock)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, clk := newStore(t, db)
		fn(t, s, clk)
	}, sets...)
}

// eachBlocks runs fn on the block store over SQLite and PostgreSQL.
func eachBlocks(t *testing.T, fn func(t *testing.T, s *Blocks, clk *clock)) {
	t.Run("blocks", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			_, clk := newStore(t, db)
			s, err := NewBlocks(Options{DB: db, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			fn(t, s, clk)
		}, sets...)
	})
}

// ev is an event of org at t0 minus ago, with fields.
func ev(id, org string, ago time.Duration, fields map[string]any) Event {
	return Event{ID: id, Org: org, ReceivedAt: t0.Add(-ago), EventTime: t0.Add(-ago), Source: Source{Protocol: "syslog-tcp", Host: "host-" + id, Format: "json"},
		Product: "windows", Service: "sysmon", Category: "process_creation", Fields: fields, Raw: fmt.Sprintf("raw text of %s %v", id, fields)}
}

// sample is the operators' corpus, all of RJ1 within the last hour.
func sample() []Event {
	return []Event{
		ev("a1", "RJ1", 1*time.Minute, map[string]any{"EventID": float64(4688), "Image": `C:\Windows\System32\cmd.exe`, "CommandLine": "cmd.exe /c whoami", "User": "alice"}),
		ev("a2", "RJ1", 2*time.Minute, map[string]any{"EventID": "4688", "Image": `C:\Tools\mimikatz.exe`, "CommandLine": `mimikatz.exe "sekurlsa::logonpasswords"`}),
		ev("a3", "RJ1", 3*time.Minute, map[string]any{"EventID": float64(3), "src_ip": "10.1.2.3", "dst_port": float64(443), "bytes": float64(5000)}),
		ev("a4", "RJ1", 4*time.Minute, map[string]any{"EventID": float64(3), "src_ip": "192.168.7.20", "dst_port": "80", "bytes": "999"}),
		ev("a5", "RJ1", 5*time.Minute, map[string]any{"EventID": float64(11), "TargetFilename": `C:\Users\x\evil 100%_done.txt`, "src_ip": "172.20.1.1", "Elevated": true}),
		{ID: "a6", Org: "RJ1", ReceivedAt: t0.Add(-6 * time.Minute), Raw: "<13>garbled kernel: segfault at deadbeef", ParseError: "no parser matched", Source: Source{Protocol: "syslog-udp", Host: "fw1"}},
	}
}

func ids(p Page) string {
	var s []string
	for _, e := range p.Events {
		s = append(s, e.ID)
	}
	return strings.Join(s, ",")
}

// A batch of one organisation's hour goes in without RETURNING when all
// of it is new; partly or wholly stored before (a redelivery, a batch
// cut differently), it is undone and inserted row by row: either way
// each event is stored once and the hour's counts (which retention by
// size and the histograms read) match the events.
func TestAppendOneHourRedelivered(t *testing.T) {
	each(t, func(t *testing.T, s *SQL, _ *clock) {
		ctx := context.Background()
		var evs []Event
		for i := range 1200 { // two full chunks of 500 and a remainder
			evs = append(evs, ev(fmt.Sprintf("h%05d", i), "RJ1", 30*time.Minute-time.Duration(i)*time.Second, map[string]any{"n": float64(i)}))
		}
		check := func(want int) {
			t.Helper()
			var n, size int64
			if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events`).Scan(&n, &size); err != nil {
				t.Fatal(err)
			}
			stats, err := s.dayStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(want) || len(stats["RJ1"]) != 1 || stats["RJ1"][0].events != n || stats["RJ1"][0].bytes != size {
				t.Fatalf("%d events of %d bytes stored (want %d), hour counts %+v", n, size, want, stats)
			}
		}
		for _, c := range []struct{ from, to, want int }{
			{0, 300, 300},   // new
			{0, 1200, 1200}, // the first chunk partly stored before
			{0, 1200, 1200}, // all of it again
			{700, 900, 1200},
		} {
			if err := s.Append(ctx, evs[c.from:c.to]); err != nil {
				t.Fatal(err)
			}
			check(c.want)
		}
	})
}

func TestAppendIdempotent(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		evs := sample()
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		// Redelivery of the whole batch, and a duplicate within one batch.
		if err := s.Append(ctx, append(sample(), sample()[0])); err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(ctx, alice, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(evs)) {
			t.Errorf("count after appending twice = %d, want %d", n, len(evs))
		}
		stats, err := s.dayStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats["RJ1"]) != 1 || stats["RJ1"][0].events != int64(len(evs)) {
			t.Errorf("day counts %+v, want one day of %d", stats, len(evs))
		}
		got, err := s.Get(ctx, alice, "a2")
		if err != nil {
			t.Fatal(err)
		}
		want := evs[1]
		if got.Raw != want.Raw || got.Fields["CommandLine"] != want.Fields["CommandLine"] || !got.EventTime.Equal(want.EventTime) ||
			got.Source != want.Source || got.Category != want.Category {
			t.Errorf("Get = %+v\nwant %+v", got, want)
		}
		long := ev("big", "RJ1", time.Minute, nil)
		long.Raw = strings.Repeat(`{"EventID":4688,"Image":"C:\\Windows\\System32\\cmd.exe"} `, 100)
		if err := s.Append(ctx, []Event{long}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, alice, "big"); err != nil || got.Raw != long.Raw {
			t.Errorf("compressed raw did not come back whole: %v", err)
		}
		if got, err := s.Get(ctx, alice, "a6"); err != nil || got.Raw != evs[5].Raw || got.ParseError != evs[5].ParseError || len(got.Fields) != 0 {
			t.Errorf("unparsed event came back as %+v (%v)", got, err)
		}
		for _, bad := range []Event{{Org: "RJ1", ReceivedAt: t0}, {ID: "x", ReceivedAt: t0}, {ID: "x", Org: "RJ1"}} {
			var inv *fault.Invalid
			if err := s.Append(ctx, []Event{bad}); !errors.As(err, &inv) {
				t.Errorf("Append(%+v) = %v, want invalid", bad, err)
			}
		}
	})
}

func TestOperators(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		if err := s.Append(ctx, sample()); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ q, want string }{
			{``, "a1,a2,a3,a4,a5,a6"},
			{`EventID=4688`, "a1,a2"}, // a number, and a string of digits
			{`EventID="4688"`, "a1,a2"},
			{`Image="C:\\Windows\\System32\\cmd.exe"`, "a1"},
			{`Image="c:\\windows\\system32\\CMD.EXE"`, "a1"}, // case-insensitive, as Sigma
			{`CommandLine=*mimikatz*`, "a2"},
			{`CommandLine=cmd*`, "a1"},
			{`CommandLine="*sekurlsa::*"`, "a2"},
			{`TargetFilename=*100%_done*`, "a5"}, // % and _ are literal
			{`TargetFilename=*100_%done*`, ""},
			{`EventID in (1, 3, 11)`, "a3,a4,a5"},
			{`bytes>1000`, "a3"},
			{`bytes<1000`, "a4"}, // "999" is a number too
			{`dst_port>=80`, "a3,a4"},
			{`dst_port<=80`, "a4"},
			{`src_ip=10.0.0.0/8`, "a3"},
			{`src_ip=192.168.0.0/16`, "a4"},
			{`src_ip=172.16.0.0/12`, "a5"},
			{`src_ip=0.0.0.0/0`, "a3,a4,a5"},
			{`src_ip=10.1.2.3/32`, "a3"},
			{`src_ip=10.1.2.3`, "a3"},
			{`exists(User)`, "a1"},
			{`NOT exists(EventID)`, "a6"},
			{`Elevated=true`, "a5"},
			{`Elevated=false`, ""},
			{`whoami`, "a1"},
			{`"sekurlsa::logonpasswords"`, "a2"},
			{`segfault`, "a6"},                    // raw text of an unparsed event
			{`"C:\\Tools\\"`, "a2"},               // a backslash in free text
			{`EventID=3 AND bytes>1000`, "a3"},    // explicit AND
			{`EventID=3 bytes>1000`, "a3"},        // juxtaposition is AND
			{`EventID=11 OR User=alice`, "a1,a5"}, //
			{`NOT EventID=3 AND exists(EventID)`, "a1,a2,a5"},
			{`EventID!=3 and exists(EventID)`, "a1,a2,a5"},
			{`NOT CommandLine=*mimikatz*`, "a1,a3,a4,a5,a6"}, // lacking the field counts as not matching
			{`(EventID=3 OR EventID=11) AND NOT src_ip=10.0.0.0/8`, "a4,a5"},
			{`host=host-a1`, "a1"},
			{`host=fw1 protocol=syslog-udp`, "a6"},
			{`product=windows category=process_creation service=sysmon`, "a1,a2,a3,a4,a5"},
			{`org=RJ1`, "a1,a2,a3,a4,a5,a6"},
			{`exists(host)`, "a1,a2,a3,a4,a5,a6"},
		} {
			p, err := s.Search(ctx, alice, Query{Text: c.q})
			if err != nil {
				t.Errorf("%s: %v", c.q, err)
				continue
			}
			if got := ids(p); got != c.want {
				t.Errorf("%s: got [%s], want [%s]", c.q, got, c.want)
			}
			n, err := s.Count(ctx, alice, Query{Text: c.q})
			if err != nil || n != int64(len(p.Events)) {
				t.Errorf("%s: count %d (%v), search found %d", c.q, n, err, len(p.Events))
			}
		}
	})
}

func TestScopeIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		evs := []Event{
			ev("rj1-1", "RJ1", time.Minute, map[string]any{"CommandLine": "secret rj1"}),
			ev("rjz-1", "RJZ", time.Minute, map[string]any{"CommandLine": "secret rjz"}),
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who  scope.Scope
			q    Query
			want string
		}{
			{alice, Query{}, "rj1-1"},
			{bob, Query{}, "rjz-1"},
			{rex, Query{}, "rjz-1,rj1-1"},
			{alice, Query{Org: "RJZ"}, ""},
			{alice, Query{Text: "org=RJZ"}, ""},
			{alice, Query{Text: "secret OR org=RJZ OR NOT org=RJ1"}, "rj1-1"},
			{scope.Scope{}, Query{}, ""},
		} {
			p, err := s.Search(ctx, c.who, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); got != c.want {
				t.Errorf("%s %+v: got [%s], want [%s]", c.who.Home, c.q, got, c.want)
			}
		}
		if _, err := s.Get(ctx, alice, "rjz-1"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alice gets RJZ's event: %v, want not found", err)
		}
		if n, _ := s.Count(ctx, bob, Query{Text: "secret"}); n != 1 {
			t.Errorf("bob counts %d, want 1", n)
		}
		h, err := s.Histogram(ctx, alice, Query{Since: t0.Add(-time.Hour), Until: t0}, 4)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, b := range h {
			total += b.Count
		}
		if total != 1 {
			t.Errorf("alice's histogram counts %d events, want 1", total)
		}
		tv, err := s.TopValues(ctx, alice, Query{}, "CommandLine", 10)
		if err != nil || len(tv) != 1 || tv[0].Value != "secret rj1" {
			t.Errorf("alice's top values %v (%v)", tv, err)
		}
		fs, err := s.Fields(ctx, alice, Query{})
		if err != nil || len(fs) != 1 || fs[0].Top[0].Value != "secret rj1" {
			t.Errorf("alice's fields %+v (%v)", fs, err)
		}
	})
}

func TestCursorPaging(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		var evs []Event
		for i := range 25 {
			// Pairs share a time stamp, so the cursor must break ties by ID.
			evs = append(evs, ev(fmt.Sprintf("e%02d", i), "RJ1", time.Duration(i/2)*time.Second, map[string]any{"n": float64(i)}))
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		var got []string
		q := Query{Limit: 7}
		pages := 0
		for {
			p, err := s.Search(ctx, alice, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range p.Events {
				got = append(got, e.ID)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if pages != 4 || len(got) != 25 {
			t.Fatalf("%d pages, %d events: %v", pages, len(got), got)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1] == got[i] {
				t.Errorf("%s twice", got[i])
			}
		}
		if got[0] != "e01" || got[1] != "e00" || got[24] != "e24" {
			t.Errorf("order %v, want newest first, ties by ID descending", got)
		}
		var inv *fault.Invalid
		if _, err := s.Search(ctx, alice, Query{Cursor: "not a cursor!"}); !errors.As(err, &inv) || inv.Field != "cursor" {
			t.Errorf("bad cursor: %v", err)
		}
		if _, err := s.Search(ctx, alice, Query{Limit: MaxLimit + 1}); !errors.As(err, &inv) {
			t.Errorf("limit too large: %v", err)
		}
	})
}

func TestHistogram(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		var evs []Event
		// Day i before t0 holds i+1 events, over 7 days.
		for d := range 7 {
			for j := 0; j <= d; j++ {
				evs = append(evs, ev(fmt.Sprintf("d%d-%d", d, j), "RJ1", time.Duration(d)*24*time.Hour+time.Duration(j+1)*time.Minute, map[string]any{"EventID": float64(4688 + j%2)}))
			}
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		h, err := s.Histogram(ctx, alice, Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0}, 7)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range h {
			want := int64(7 - i) // oldest bucket first: day 6 has 7 events
			if b.Count != want || !b.Start.Equal(t0.Add(time.Duration(i-7)*24*time.Hour)) {
				t.Errorf("bucket %d = %v %d, want %v %d", i, b.Start, b.Count, t0.Add(time.Duration(i-7)*24*time.Hour), want)
			}
		}
		h, err = s.Histogram(ctx, alice, Query{Text: "EventID=4689", Since: t0.Add(-7 * 24 * time.Hour), Until: t0}, 7)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, b := range h {
			total += b.Count
		}
		if total != 12 { // days 1..6 hold j=1,3,5: 0+1+1+2+2+3+3
			t.Errorf("EventID=4689 histogram totals %d, want 12", total)
		}
		// Default range: the last 24 hours before now.
		h, err = s.Histogram(ctx, alice, Query{}, 24)
		if err != nil || len(h) != 24 || h[23].Count != 1 {
			t.Errorf("default histogram %v (%v)", h, err)
		}
		if _, err := s.Histogram(ctx, alice, Query{}, 0); err == nil {
			t.Error("zero buckets accepted")
		}
		// Histograms of every event on whole hours come from events_hours;
		// they must agree with counting the events, for every caller.
		for _, c := range []struct {
			q Query
			n int
		}{
			{Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0}, 7},
			{Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0}, 168},
			{Query{Since: t0.Add(-3 * 24 * time.Hour), Until: t0.Add(-24 * time.Hour)}, 2},
			{Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0, Org: "RJ1"}, 14},
			{Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0, Org: "RJZ"}, 7},
			{Query{Since: t0.Add(-90 * time.Minute), Until: t0}, 3}, // not whole hours: counted
		} {
			for _, sc := range []scope.Scope{alice, bob, rex} {
				s.setNoRollup(false)
				a, err1 := s.Histogram(ctx, sc, c.q, c.n)
				s.setNoRollup(true)
				b, err2 := s.Histogram(ctx, sc, c.q, c.n)
				s.setNoRollup(false)
				if err1 != nil || err2 != nil || fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("%s %+v/%d: from hours %v (%v), from events %v (%v)", sc.Home, c.q, c.n, a, err1, b, err2)
				}
			}
		}
		// So must a count of every event, whose whole hours come from
		// events_hours and its part-hours at either end from the events
		// (the events sit 1 to 7 minutes before each day's end).
		for _, q := range []Query{
			{},
			{Since: t0.Add(-7 * 24 * time.Hour), Until: t0},
			{Since: t0.Add(-3*24*time.Hour - 3*time.Minute), Until: t0.Add(-2 * time.Minute)},
			{Since: t0.Add(-24*time.Hour - 150*time.Second)},
			{Until: t0.Add(-2*24*time.Hour - 4*time.Minute)},
			{Since: t0.Add(-5 * time.Minute), Until: t0.Add(-2 * time.Minute)}, // inside one hour
			{Since: t0.Add(-7*24*time.Hour - 30*time.Minute), Until: t0.Add(-time.Minute), Org: "RJ1"},
			{Since: t0.Add(-7 * 24 * time.Hour), Org: "RJZ"},
		} {
			for _, sc := range []scope.Scope{alice, bob, rex} {
				s.setNoRollup(false)
				a, err1 := s.Count(ctx, sc, q)
				s.setNoRollup(true)
				b, err2 := s.Count(ctx, sc, q)
				s.setNoRollup(false)
				if err1 != nil || err2 != nil || a != b {
					t.Errorf("%s count %+v: from hours %d (%v), from events %d (%v)", sc.Home, q, a, err1, b, err2)
				}
			}
		}
		if n, err := s.Count(ctx, alice, Query{Since: t0.Add(-24*time.Hour - 150*time.Second)}); err != nil || n != 1+2 {
			t.Errorf("count since 24h02m30s ago = %d (%v), want 3: day 0's one and day 1's two after the cut", n, err)
		}
		tv, err := s.TopValues(ctx, alice, Query{}, "EventID", 5)
		if err != nil || len(tv) != 2 || tv[0] != (ValueCount{"4688", 16}) {
			t.Errorf("top values %v (%v)", tv, err)
		}
	})
}

func TestRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, clk *clock) {
		ctx := context.Background()
		var evs []Event
		for d := range 5 {
			for _, o := range []string{"RJ1", "RJZ"} {
				e := ev(fmt.Sprintf("%s-%d", o, d), o, time.Duration(d)*24*time.Hour, map[string]any{"d": float64(d)})
				e.Raw = strings.Repeat("x", 50) // about 150 bytes stored
				evs = append(evs, e)
			}
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		count := func(sc scope.Scope) int64 {
			n, err := s.Count(ctx, sc, Query{})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// By age: 3 days keeps today and the two days before.
		res, err := s.Retain(ctx, Policy{Default: Limit{MaxAge: 3 * 24 * time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.DaysDropped) != 2 || res.DaysDropped[0] != "2026-10-29" || res.Deleted != 4 {
			t.Errorf("retain by age: %+v, want 2026-10-29 and 2026-10-30 dropped, 4 events", res)
		}
		if count(rex) != 6 {
			t.Errorf("after age retention %d events, want 6", count(rex))
		}
		// A shorter limit for one organisation removes only its days.
		res, err = s.Retain(ctx, Policy{Default: Limit{MaxAge: 3 * 24 * time.Hour}, Orgs: map[string]Limit{"RJZ": {MaxAge: 24 * time.Hour}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted != 2 || len(res.DaysDropped) != 0 || count(bob) != 1 || count(alice) != 3 {
			t.Errorf("RJZ's one-day limit: %+v, RJZ %d RJ1 %d", res, count(bob), count(alice))
		}
		// By size: RJ1 may keep one day's worth; its newest day stays.
		stats, _ := s.dayStats(ctx)
		per := stats["RJ1"][0].bytes
		res, err = s.Retain(ctx, Policy{Orgs: map[string]Limit{"RJ1": {MaxBytes: per + per/2}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted != 2 || count(alice) != 1 || count(bob) != 1 {
			t.Errorf("RJ1 by size: %+v, RJ1 %d RJZ %d", res, count(alice), count(bob))
		}
		// A limit below one day still keeps the newest day.
		if _, err := s.Retain(ctx, Policy{Default: Limit{MaxBytes: 1}}); err != nil {
			t.Fatal(err)
		}
		if count(rex) != 2 {
			t.Errorf("a tiny size limit left %d events, want each organisation's newest day (2)", count(rex))
		}
		// Days move on: a week later everything is past the age limit.
		clk.t = t0.Add(7 * 24 * time.Hour)
		res, err = s.Retain(ctx, Policy{Default: Limit{MaxAge: 3 * 24 * time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		if count(rex) != 0 || len(res.DaysDropped) == 0 {
			t.Errorf("a week on: %d events left, %+v", count(rex), res)
		}
		// Appending to a dropped day works again (the partition is remade).
		if err := s.Append(ctx, evs[:1]); err != nil {
			t.Fatal(err)
		}
		if count(alice) != 1 {
			t.Errorf("re-appended day holds %d", count(alice))
		}
	})
}

// TestDayDroppedByAnotherProcess: a second store on the same database
// (another vigil process) drops a day this one has written; appending to
// that day again remakes its partition.
func TestDayDroppedByAnotherProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, clk := newStore(t, db)
		b, err := New(Options{DB: db, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = b.Close() }()
		old := ev("old", "RJ1", 10*24*time.Hour, nil)
		if err := a.Append(ctx, []Event{old}); err != nil {
			t.Fatal(err)
		}
		if res, err := b.Retain(ctx, Policy{Default: Limit{MaxAge: 24 * time.Hour}}); err != nil || res.Deleted != 1 {
			t.Fatalf("retain: %+v %v", res, err)
		}
		if err := a.Append(ctx, []Event{old}); err != nil {
			t.Fatalf("append to a day dropped elsewhere: %v", err)
		}
		if n, _ := a.Count(ctx, alice, Query{}); n != 1 {
			t.Errorf("%d events, want 1", n)
		}
	}, sets...)
}

// A page after the first reads the time index from the cursor down, as
// the first page does from the end of the range: SQLite's plan sorts
// nothing. (Without the cursor's range bound, the OR of the cursor made
// SQLite sort every event since the start for each later page: two
// minutes a page over 10M events.)
func TestSearchLaterPageSortsNothing(t *testing.T) {
	each(t, func(t *testing.T, s *SQL, clk *clock) {
		if s.db.Dialect != store.SQLite {
			t.Skip("the plan checked is SQLite's")
		}
		ctx := context.Background()
		if err := s.Append(ctx, sample()); err != nil {
			t.Fatal(err)
		}
		sc := scope.System("test")
		q := Query{Since: t0.Add(-7 * 24 * time.Hour), Limit: 2}
		p, err := s.Search(ctx, sc, q)
		if err != nil || p.Next == "" {
			t.Fatalf("first page: %v, next %q", err, p.Next)
		}
		plan := func(q Query) string {
			t.Helper()
			query, args, err := s.searchSQL(sc, q, 3)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := s.db.Q().QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var steps []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				steps = append(steps, detail)
			}
			return strings.Join(steps, "; ")
		}
		for _, text := range []string{"", "EventID=4688"} {
			q.Text, q.Cursor = text, ""
			first := plan(q)
			q.Cursor = p.Next
			later := plan(q)
			// A sort of the whole range ("FOR ORDER BY") where the first
			// page needs none, or only of its ties ("FOR LAST TERM").
			if strings.Contains(later, "FOR ORDER BY") && !strings.Contains(first, "FOR ORDER BY") {
				t.Errorf("%q: a later page sorts what the first does not:\nfirst: %s\nlater: %s", text, first, later)
			}
			if !strings.Contains(later, "USING INDEX") {
				t.Errorf("%q: a later page reads no index: %s", text, later)
			}
		}
	})
}

// TestIPv6Prefixes matches addresses in an IPv6 prefix however they are
// spelt (compressed, upper case, IPv4-mapped), and never fails on a value
// that is not an address.
func TestIPv6Prefixes(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		evs := []Event{
			ev("v1", "RJ1", time.Minute, map[string]any{"src_ip": "2001:db8:0:1::5"}),
			ev("v2", "RJ1", 2*time.Minute, map[string]any{"src_ip": "2001:DB8:0000:0002:0000:0000:0000:0009"}),
			ev("v3", "RJ1", 3*time.Minute, map[string]any{"src_ip": "fe80::1"}),
			ev("v4", "RJ1", 4*time.Minute, map[string]any{"src_ip": "::ffff:10.1.2.3"}),
			ev("v5", "RJ1", 5*time.Minute, map[string]any{"src_ip": "not:an::address::at all"}),
			ev("v6", "RJ1", 6*time.Minute, map[string]any{"src_ip": float64(7)}),
			ev("v7", "RJ1", 7*time.Minute, map[string]any{"dst_ip": "2001:db8::1"}),
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ q, want string }{
			{`src_ip=2001:db8::/32`, "v1,v2"},
			{`src_ip=2001:db8:0:1::/64`, "v1"},
			{`src_ip=2001:db8:0:2::9/128`, "v2"},
			{`src_ip=fe80::/10`, "v3"},
			{`src_ip=::/0`, "v1,v2,v3,v4"},
			{`NOT src_ip=2001:db8::/32 AND exists(src_ip)`, "v3,v4,v5,v6"},
			{`src_ip=2001:db8::/32 OR dst_ip=2001:db8::/32`, "v1,v2,v7"},
		} {
			p, err := s.Search(ctx, alice, Query{Text: c.q})
			if err != nil {
				t.Errorf("%s: %v", c.q, err)
				continue
			}
			if got := ids(p); got != c.want {
				t.Errorf("%s: got [%s], want [%s]", c.q, got, c.want)
			}
		}
	})
}
