package events

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/events/chtest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// engine is a Store the contract tests run on: the SQL store on SQLite and
// PostgreSQL, and the ClickHouse store.
type engine interface {
	Store
	// dayStats is what the engine counts per organisation and day.
	dayStats(ctx context.Context) (map[string][]dayStat, error)
	// setNoRollup makes the SQL store count events rather than read
	// events_hours; ClickHouse always counts the events.
	setNoRollup(bool)
}

func (s *SQL) setNoRollup(b bool)    { s.noRollup = b }
func (s *Blocks) setNoRollup(b bool) { s.noRollup = b }
func (*ClickHouse) setNoRollup(bool) {}

// eachEngine runs fn on SQLite, PostgreSQL, the block store on each of
// them, and ClickHouse.
func eachEngine(t *testing.T, fn func(t *testing.T, s engine, clk *clock)) {
	each(t, func(t *testing.T, s *SQL, clk *clock) { fn(t, s, clk) })
	eachBlocks(t, func(t *testing.T, s *Blocks, clk *clock) { fn(t, s, clk) })
	t.Run("clickhouse", func(t *testing.T) {
		s, clk := newClickHouse(t)
		fn(t, s, clk)
	})
}

// orgCodes is the organisations service of db, which resolves scopes.
func orgCodes(t testing.TB, db *store.DB) OrgCodes {
	t.Helper()
	o, err := org.New(org.Options{DB: db, Audit: audit.New(db, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// newClickHouse is a ClickHouse store on a fresh database, its scope
// resolved in a SQLite database holding the test estate (which newStore
// creates, beside a SQL store this test does not use).
func newClickHouse(t testing.TB) (*ClickHouse, *clock) {
	t.Helper()
	u := chtest.URL(t)
	db := storetest.SQLite(t, sets...)
	_, clk := newStore(t, db)
	s, err := NewClickHouse(context.Background(), ClickHouseOptions{URL: u, Orgs: orgCodes(t, db), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

// literalsOut removes ClickHouse string literals from sql (as the
// server's lexer reads them: backslash escapes inside single quotes), so
// what is left is the SQL outside every literal. ok is false when a
// literal does not end.
func literalsOut(sql string) (rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		if sql[i] != '\'' {
			b.WriteByte(sql[i])
			continue
		}
		i++
		for ; i < len(sql) && sql[i] != '\''; i++ {
			if sql[i] == '\\' {
				i++
			}
		}
		if i >= len(sql) {
			return b.String(), false
		}
		b.WriteString("''")
	}
	return b.String(), true
}

// TestClickHouseCompiledQueryKeepsUserTextInLiterals compiles the hostile
// queries (query_test.go) for ClickHouse: every piece of user text is
// inside a string literal, and every literal ends.
func TestClickHouseCompiledQueryKeepsUserTextInLiterals(t *testing.T) {
	for _, q := range hostile {
		n, err := Parse(q)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		sql, err := chCompileWhere(n)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		rest, ok := literalsOut(sql)
		if !ok {
			t.Errorf("%q: a literal does not end: %s", q, sql)
		}
		if strings.Contains(strings.ToLower(rest), "zqxj") || strings.Contains(rest, "DROP") || strings.Contains(rest, "DELETE") || strings.Contains(rest, "--") {
			t.Errorf("%q: user text outside literals: %s", q, rest)
		}
		if !strings.Contains(sql, "zqxj") {
			t.Errorf("%q: the user text is nowhere in %s", q, sql)
		}
	}
}

// TestClickHouseStringLiteral sends hostile strings to the server as
// literals: each comes back byte for byte, as one value.
func TestClickHouseStringLiteral(t *testing.T) {
	u := chtest.Server(t)
	for _, in := range []string{
		"", "plain", "it's", `back\slash`, `\'`, `\\'`, "'; DROP DATABASE default; --", "new\nline\r\ttab", "nul\x00byte",
		"\x1b[31m escape", "del\x7f", "\xff\xfe not UTF-8", "é 😀 ünï", `\x41 is not A`, `\N`, "?", "{x:String}", "'||'",
	} {
		lit := chString(in)
		if rest, ok := literalsOut(lit); !ok || rest != "''" {
			t.Errorf("%q: literal %s is not one literal", in, lit)
		}
		body := postQuery(t, u, "SELECT hex("+lit+") AS h, toUInt32(length("+lit+")) AS n FORMAT JSONEachRow")
		var got struct {
			H string `json:"h"`
			N int    `json:"n"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%q: %s (%v)", in, body, err)
		}
		if got.H != strings.ToUpper(hex.EncodeToString([]byte(in))) || got.N != len(in) {
			t.Errorf("%q: the server read %s (%d bytes)", in, got.H, got.N)
		}
	}
}

func postQuery(t *testing.T, base, q string) string {
	t.Helper()
	res, err := http.Post(base, "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", res.Status, b)
	}
	return string(b)
}

func TestParseClickHouseURL(t *testing.T) {
	for _, c := range []struct{ in, base, db string }{
		{"http://127.0.0.1:8123/?database=ev", "http://127.0.0.1:8123/", "ev"},
		{"http://u:p@ch.example:8123", "http://u:p@ch.example:8123/", "vigil"},
		{"clickhouse://ch.example/events_db", "http://ch.example:8123/", "events_db"},
		{"clickhouse://ch.example:9123", "http://ch.example:9123/", "vigil"},
	} {
		b, db, err := parseClickHouseURL(c.in)
		if err != nil || b.String() != c.base || db != c.db {
			t.Errorf("%s: %v %q (%v), want %s %s", c.in, b, db, err, c.base, c.db)
		}
	}
	for _, bad := range []string{"postgres://x/y", "http:///?database=x", "http://h/?database=a;DROP", "clickhouse://h/a`b", "::"} {
		if _, _, err := parseClickHouseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestFieldValueKinds: null, list and missing values behave alike on every
// engine: a null field exists but equals nothing, a condition on a missing
// field is false (so NOT of it holds), and top values skip nulls.
func TestFieldValueKinds(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		evs := []Event{
			ev("k1", "RJ1", 1*time.Minute, map[string]any{"v": nil, "n": float64(1)}),
			ev("k2", "RJ1", 2*time.Minute, map[string]any{"v": []any{"a", "b"}, "n": "x"}),
			ev("k3", "RJ1", 3*time.Minute, map[string]any{"v": "a", "n": float64(2.5)}),
			ev("k4", "RJ1", 4*time.Minute, map[string]any{}),
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ q, want string }{
			{`exists(v)`, "k1,k2,k3"},
			{`v=*`, "k2,k3"},
			{`NOT v=*`, "k1,k4"},
			{`v=a`, "k3"},
			{`v!=a`, "k1,k2,k4"},
			{`n>=1`, "k1,k3"},
			{`NOT n>=1`, "k2,k4"},
			{`n=2.5`, "k3"},
			{`n=X`, "k2"},
			{`n in (1, x)`, "k1,k2"},
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
		tv, err := s.TopValues(ctx, alice, Query{}, "v", 10)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, x := range tv {
			total += x.Count
		}
		if total != 2 || tv[0].Value != "a" && tv[1].Value != "a" {
			t.Errorf("top values of v %v, want the list and a, no null", tv)
		}
	})
}

// TestClickHouseRedeliveryAcrossProcesses: a batch appended again through
// another store on the same database (another vigil process after a
// JetStream redelivery) stores nothing twice, and an event the consumer
// hands over as JSON text (Event.fieldsJSON) is searched by its fields.
func TestClickHouseRedeliveryAcrossProcesses(t *testing.T) {
	u := chtest.URL(t)
	db := storetest.SQLite(t, sets...)
	_, clk := newStore(t, db)
	var stores [2]*ClickHouse
	for i := range stores {
		s, err := NewClickHouse(context.Background(), ClickHouseOptions{URL: u, Orgs: orgCodes(t, db), Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	ctx := context.Background()
	js := ev("js", "RJ1", time.Minute, nil)
	js.fieldsJSON = []byte(`{"EventID":4688,"Image":"C:\\Windows\\notepad.exe"}`)
	// The batch spans four days (partitions), as a consumer's backlog can.
	old := ev("old", "RJZ", 3*24*time.Hour, map[string]any{"EventID": float64(1)})
	batch := append(sample(), js, old)
	if err := stores[0].Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Append(ctx, append(sample(), old, js)); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if n, err := s.Count(ctx, rex, Query{}); err != nil || n != int64(len(batch)) {
			t.Errorf("store %d counts %d (%v), want %d", i, n, err, len(batch))
		}
		h, err := s.Histogram(ctx, rex, Query{Since: t0.Add(-4 * 24 * time.Hour), Until: t0}, 4)
		if err != nil || total(h) != int64(len(batch)) {
			t.Errorf("store %d histogram holds %d (%v)", i, total(h), err)
		}
	}
	p, err := stores[1].Search(ctx, alice, Query{Text: `EventID=4688 Image=*notepad.exe`})
	if err != nil || ids(p) != "js" || p.Events[0].Fields["Image"] != `C:\Windows\notepad.exe` {
		t.Errorf("the JSON-text event: [%s] %v", ids(p), err)
	}
}
