package events

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events/chtest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestScaleClickHouse is TestScale on ClickHouse: the same synthetic
// events (the same generator, seed, 20 trusts and 7 days), appended in
// batches, then the same searches timed. It runs only when asked:
//
//	VIGIL_EVENTS_SCALE_CH=1000000 go test -count=1 -timeout 30m -run TestScaleClickHouse -v ./internal/events/
//
// The server is VIGIL_TEST_CLICKHOUSE_URL's, or one started for the test
// (data under the test's temporary directory, removed at the end).
// VIGIL_EVENTS_SCALE_MIX=national replays TestScale's national mix in
// time order, the same events as TestScale builds with it.
// VIGIL_EVENTS_SCALE_BATCH sets the batch (default 5,000, as TestScale);
// VIGIL_EVENTS_SCALE_CH_URL names a server and database to keep the events
// in (http://127.0.0.1:8123/?database=scale), so that the queries can be
// timed again without appending.
func TestScaleClickHouse(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_CH"))
	if n <= 0 {
		t.Skip("set VIGIL_EVENTS_SCALE_CH to the number of events")
	}
	ctx := context.Background()
	end := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: end}
	db := storetest.SQLite(t, sets...)
	osvc, err := org.New(org.Options{DB: db, Audit: audit.New(db, clk.now), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := osvc.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range estate[:2] {
		if _, err := osvc.Create(ctx, scope.System("t"), o); err != nil {
			t.Fatal(err)
		}
	}
	// VIGIL_EVENTS_SCALE_CH_COPIES=k holds k times the events: the
	// generated ones for trusts RB00–RB19 and k-1 copies of them made by
	// ClickHouse itself for trusts RC00–RC19, RD00–RD19 and so on (the
	// same events, their trust and ID changed), a national estate of 20×k
	// trusts over the same 7 days.
	copies := 1
	if c, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_CH_COPIES")); c > 1 {
		copies = min(c, 20)
	}
	// Each copy's trusts are under an ICB of their own (QZC, QZD…), so
	// that an analyst of QKK sees exactly the generated events while a
	// national one sees them all: the two sizes timed in one run.
	var orgs []string
	for c := range copies {
		icb := "QKK"
		if c > 0 {
			icb = fmt.Sprintf("QZ%c", 'B'+c)
			if _, err := osvc.Create(ctx, scope.System("t"), org.Org{Code: icb, Name: "ICB " + icb, Type: org.ICB, Parent: "Y56"}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			code := fmt.Sprintf("R%c%02d", 'B'+c, i)
			if c == 0 {
				orgs = append(orgs, code)
			}
			if _, err := osvc.Create(ctx, scope.System("t"), org.Org{Code: code, Name: "Trust " + code, Type: org.Trust, Parent: icb}); err != nil {
				t.Fatal(err)
			}
		}
	}
	u := os.Getenv("VIGIL_EVENTS_SCALE_CH_URL")
	if u == "" {
		u = chtest.URL(t)
	}
	s, err := NewClickHouse(ctx, ClickHouseOptions{URL: u, Orgs: orgCodes(t, db), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	national := person(scope.NationalAnalyst, "ENG", "/ENG/")
	trust := person(scope.OrgAnalyst, "RB03", "/ENG/Y56/QKK/RB03/")
	icb := person(scope.OrgAnalyst, "QKK", "/ENG/Y56/QKK/")

	sm := scaleSamples(t, os.Getenv("VIGIL_EVENTS_SCALE_MIX"))
	batch := 5000
	if b, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_BATCH")); b > 0 {
		batch = b
	}
	mix := os.Getenv("VIGIL_EVENTS_SCALE_MIX")
	o := GenerateOptions{Count: n, Orgs: orgs, End: end, Span: 7 * 24 * time.Hour, Seed: 42, Batch: batch}
	if mix == "national" {
		// In time order, as TestScale builds the national mix, so that
		// both stores hold the same events.
		o.Ordered = true
	}
	// Appending is timed apart from generating: the generator is the
	// same for every store (and here takes under 1 % of the time).
	var el time.Duration
	done := 0
	st := time.Now()
	have, err := s.Count(ctx, scope.System("t"), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if have < int64(n) {
		err = sm.Generate(o, func(b []Event) error {
			a := time.Now()
			err := s.Append(ctx, b)
			el += time.Since(a)
			done += len(b)
			if done%200000 < len(b) {
				t.Logf("%d events, %.0f/s appending", done, float64(done)/el.Seconds())
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE append clickhouse: %d events in %v appending (%v with generating) = %.0f events/s (batch %d, %d samples, mix %q)",
			n, el.Round(time.Millisecond), time.Since(st).Round(time.Millisecond), float64(n)/el.Seconds(), batch, len(sm), mix)
	}
	for c := 1; c < copies; c++ {
		prefix := fmt.Sprintf("R%c", 'B'+c)
		var got struct{ N int64 }
		if err := s.query(ctx, "SELECT count() AS n FROM events WHERE org LIKE '"+prefix+"%'", func(row []byte) error { return jsonUnmarshal(row, &got) }); err != nil {
			t.Fatal(err)
		}
		if got.N >= int64(n) {
			continue
		}
		if got.N > 0 {
			t.Fatalf("copy %s holds %d of %d events: drop the database and start again", prefix, got.N, n)
		}
		// The ID keeps its 11 hex digits of time and takes a new hash, so
		// that it stays unique across copies.
		st := time.Now()
		err := s.exec(ctx, s.db, "INSERT INTO events SELECT day, concat('"+prefix+"', substring(org, 3, 100)) AS copy_org, event_ns, "+
			"concat(substring(id, 1, 11), substring(lower(hex(MD5(concat(id, '"+prefix+"')))), 1, length(id) - 11)) AS copy_id, "+
			"received_ns, host, product, service, category, protocol, source_addr, source_token, source_format, fields, keys, types, vals, raw, raw_text, truncated, parse_error, size, event_id "+
			"FROM events WHERE org LIKE 'RB%'")
		if err != nil {
			t.Fatalf("copy %s: %v", prefix, err)
		}
		el := time.Since(st)
		t.Logf("FIGURE copy %s: %d events in %v = %.0f events/s inside ClickHouse", prefix, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	}
	var parts struct {
		P, R, B int64
	}
	_ = s.query(ctx, "SELECT count() AS p, sum(rows) AS r, sum(bytes) AS b FROM system.parts WHERE database = "+chString(s.db)+" AND table = 'events' AND active",
		func(row []byte) error { return jsonUnmarshal(row, &parts) })
	t.Logf("table: %d active parts, %d rows, %.1f MB on disk (%.0f bytes an event)", parts.P, parts.R, float64(parts.B)/1e6, float64(parts.B)/float64(max(parts.R, 1)))

	day := Query{Since: end.Add(-24 * time.Hour), Until: end}
	week := Query{Since: end.Add(-7 * 24 * time.Hour), Until: end}
	timeIt := scaleTimer(t, "clickhouse")
	for _, who := range []struct {
		name string
		sc   scope.Scope
	}{{"national", national}, {"icb", icb}, {"trust", trust}} {
		for _, text := range []string{"EventID=4688", `EventID="4688"`, "Image=*powershell.exe"} {
			q := day
			q.Text = text
			timeIt(who.name+" first page "+text+" 24h", func() (string, error) {
				p, err := s.Search(ctx, who.sc, q)
				return fmt.Sprintf("%d events", len(p.Events)), err
			})
		}
		timeIt(who.name+" histogram 7d all events (168 buckets)", func() (string, error) {
			h, err := s.Histogram(ctx, who.sc, week, 168)
			return fmt.Sprintf("%d events", total(h)), err
		})
		w := week
		w.Text = "EventID=4688"
		timeIt(who.name+" histogram 7d EventID=4688 (168 buckets)", func() (string, error) {
			h, err := s.Histogram(ctx, who.sc, w, 168)
			return fmt.Sprintf("%d events", total(h)), err
		})
		timeIt(who.name+" count all events 7d", func() (string, error) {
			c, err := s.Count(ctx, who.sc, week)
			return fmt.Sprint(c), err
		})
		q := day
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
	// VIGIL_EVENTS_SCALE_CH_MORE=m appends m new events through Vigil
	// after the queries, to time appending onto a store already this
	// size (the store then holds m more).
	if more, _ := strconv.Atoi(os.Getenv("VIGIL_EVENTS_SCALE_CH_MORE")); more > 0 {
		scaleMore(t, s, "clickhouse", sm, GenerateOptions{Count: more, Orgs: orgs, End: end, Span: 7 * 24 * time.Hour, Seed: 4242, Batch: batch})
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
