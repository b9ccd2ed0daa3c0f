package events

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/store"
)

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		q   string
		pos int
		msg string
	}{
		{`(EventID=1`, 10, "expected ')'"},
		{`EventID=1)`, 9, "unbalanced ')'"},
		{`EventID=`, 8, "expected a value, found end of query"},
		{`EventID=(1)`, 8, "expected a value, found '('"},
		{`bytes>lots`, 6, `> needs a number, not "lots"`},
		{`port>=*`, 6, "needs a number"},
		{`Image="C:\Windows`, 6, "unterminated quoted string"},
		{`a ! b`, 2, "'!' must be followed by '='"},
		{`AND x`, 0, "AND needs a condition before it"},
		{`x OR`, 4, "the query ends where a condition was expected"},
		{`x AND OR y`, 6, "OR needs a condition before it"},
		{`NOT`, 3, "the query ends"},
		{`EventID in (1, 2`, 16, "expected ',' or ')'"},
		{`EventID in (1 2)`, 14, "expected ',' or ')'"},
		{`Comm*and=x`, 0, "a field name cannot have a wildcard"},
		{`exists()`, 7, "exists( needs a field name"},
		{`exists(User`, 11, "expected ')' after the field name"},
		{`Us\er=x`, 2, "cannot be part of a field name"},
		{`x=1 )`, 4, "unbalanced ')'"},
		{strings.Repeat("(", 100) + "x" + strings.Repeat(")", 100), 65, "nests deeper than 64"},
		{strings.Repeat("x ", MaxQueryLen), MaxQueryLen, "longer than"},
		{"x=\xff", 0, "not valid UTF-8"},
	} {
		_, err := Parse(c.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v, want a syntax error", c.q, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: at %d %q, want at %d %q", c.q, se.Pos, se.Msg, c.pos, c.msg)
		}
		var inv *fault.Invalid
		if !errors.As(err, &inv) || inv.Field != "query" {
			t.Errorf("%q: not a fault.Invalid for the query field: %v", c.q, err)
		}
	}
}

func TestParseShapes(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{``, "<nil>"},
		{`   `, "<nil>"},
		{`a=1 b=2 OR c=3`, "Or{And{a=1 b=2} c=3}"},
		{`a=1 AND (b=2 OR c=3)`, "And{a=1 Or{b=2 c=3}}"},
		{`NOT NOT a=1`, "Not{Not{a=1}}"},
		{`not a=1 and b=2`, "And{Not{a=1} b=2}"},
		{`x in (1, "two", *3*)`, "In{x [1 two *3*]}"},
		{`exists(a.b-c@d:e)`, "Exists{a.b-c@d:e}"},
		{`foo "bar baz"`, "And{Text{foo} Text{bar baz}}"},
		{`a=\*lit\*`, "a=*lit*"},
		{`exists x`, "And{Text{exists} Text{x}}"}, // a keyword only where it can be one
		{`in`, "Text{in}"},
	} {
		n, err := Parse(c.q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if got := show(n); got != c.want {
			t.Errorf("%q: %s, want %s", c.q, got, c.want)
		}
	}
	n, _ := Parse(`a=\*lit\*`)
	if v := n.(Compare).Value; v.Wild() {
		t.Errorf("escaped stars are wildcards: %#v", v)
	}
	n, _ = Parse(`src=10.0.0.0/8 n=-1.5`)
	if v := n.(And).L.(Compare).Value; !v.IsPrefix || v.Prefix.Bits() != 8 {
		t.Errorf("prefix not read: %#v", v)
	}
	if v := n.(And).R.(Compare).Value; !v.IsNum || v.Num != -1.5 {
		t.Errorf("number not read: %#v", v)
	}
}

func show(n Node) string {
	switch n := n.(type) {
	case nil:
		return "<nil>"
	case And:
		return "And{" + show(n.L) + " " + show(n.R) + "}"
	case Or:
		return "Or{" + show(n.L) + " " + show(n.R) + "}"
	case Not:
		return "Not{" + show(n.X) + "}"
	case Compare:
		return n.Field + n.Op + n.Value.Literal()
	case In:
		var vs []string
		for _, v := range n.Values {
			vs = append(vs, v.Literal())
		}
		return "In{" + n.Field + " [" + strings.Join(vs, " ") + "]}"
	case Exists:
		return "Exists{" + n.Field + "}"
	case Text:
		return "Text{" + n.Value.Literal() + "}"
	}
	return "?"
}

// hostile are queries whose every piece of user text holds the marker
// zqxj and SQL that would do harm if it were pasted into a statement.
var hostile = []string{
	`zqxj'; DROP TABLE events; --`,
	`"zqxj'); DELETE FROM events WHERE ('1'='1"`,
	`CommandLine="zqxj' OR '1'='1"`,
	`CommandLine=*zqxj'||(SELECT raw FROM events)||'*`,
	`zqxj:x.y-z@w="zqxj\"; DROP TABLE events; --"`,
	`zqxj in ("zqxj' OR 1=1 --", zqxjb)`,
	`exists(zqxj)`,
	`NOT zqxj_field!="zqxj$1 ?"`,
	`zqxj>1 OR zqxj<=2`,
	`zqxj=10.0.0.0/9 OR zqxj=10.0.0.0/8 OR zqxj=1.2.3.4/32`,
	`"zqxj%_\\"`,
	`host=zqxj' AND org=zqxj'--`,
}

// TestCompiledQueryHoldsNoUserText compiles hostile queries for both
// dialects and checks that no user text reached the SQL: only bound
// arguments carry it.
func TestCompiledQueryHoldsNoUserText(t *testing.T) {
	for _, q := range hostile {
		n, err := Parse(q)
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
			sql, args, err := compileWhere(d, n)
			if err != nil {
				t.Fatalf("%s %q: %v", d, q, err)
			}
			if strings.Contains(strings.ToLower(sql), "zqxj") || strings.Contains(sql, "DROP") || strings.Contains(sql, "DELETE") {
				t.Errorf("%s %q: user text in SQL: %s", d, q, sql)
			}
			if strings.Count(sql, "?") != len(args) {
				t.Errorf("%s %q: %d placeholders, %d arguments: %s", d, q, strings.Count(sql, "?"), len(args), sql)
			}
			found := false
			for _, a := range args {
				if s, ok := a.(string); ok && strings.Contains(s, "zqxj") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s %q: the user text is not among the arguments %v", d, q, args)
			}
		}
	}
}

// TestInjection runs the hostile queries against both engines: each
// returns without error or harm, and the events are all still there.
func TestInjection(t *testing.T) {
	eachEngine(t, func(t *testing.T, s engine, _ *clock) {
		ctx := context.Background()
		evs := sample()
		evs[0].Fields["zqxj"] = "zqxj' OR 1=1 --"
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, q := range hostile {
			if _, err := s.Search(ctx, alice, Query{Text: q, Since: t0.Add(-time.Hour)}); err != nil {
				t.Errorf("%q: %v", q, err)
			}
			if _, err := s.TopValues(ctx, alice, Query{Text: q}, "zqxj", 5); err != nil {
				t.Errorf("top values %q: %v", q, err)
			}
		}
		p, err := s.Search(ctx, alice, Query{Text: `zqxj in ("zqxj' OR 1=1 --", zqxjb)`})
		if err != nil || ids(p) != "a1" {
			t.Errorf("the hostile value as data: [%s] %v", ids(p), err)
		}
		if n, _ := s.Count(ctx, alice, Query{}); n != int64(len(evs)) {
			t.Errorf("%d events left of %d", n, len(evs))
		}
		if _, err := s.TopValues(ctx, alice, Query{}, `x"); DROP TABLE events; --`, 5); err == nil {
			t.Error("a hostile field name was accepted by TopValues")
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, q := range append(hostile, `EventID=4688`, `Image="C:\\Windows\\System32\\cmd.exe"`, `CommandLine=*mimikatz*`,
		`EventID in (1, 3, 11)`, `bytes>1000 port>=1024`, `src_ip=10.0.0.0/8`, `exists(User)`, `NOT (a=1 OR "b c")`) {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(q) {
				t.Fatalf("%q: %v", q, err)
			}
			return
		}
		for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
			sql, args, err := compileWhere(d, n)
			if err != nil {
				t.Fatalf("%q: compile: %v", q, err)
			}
			if strings.Count(sql, "?") != len(args) {
				t.Fatalf("%q: %d placeholders, %d arguments", q, strings.Count(sql, "?"), len(args))
			}
		}
	})
}
