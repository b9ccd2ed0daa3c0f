package events

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/store/storetest"
)

// The Go evaluator (match.go) against the SQLite store, the reference:
// generated events, generated queries, and the same IDs from both.

// diffFixture is a SQLite store holding the generated events.
type diffFixture struct {
	s   *SQL
	evs []Event
	// b is the block store holding the same events: what it finds (its
	// prefilter, then the match) must be what SQLite finds too.
	b *Blocks
}

// diffScope reads every organisation the events are in (RJ1 and RJZ).
var diffScope = rex

func newDiffFixture(t testing.TB) *diffFixture {
	t.Helper()
	db := storetest.SQLite(t, sets...)
	s, _ := newStore(t, db)
	evs := diffEvents(rand.New(rand.NewPCG(1, 2)), 400)
	if err := s.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	bdb := storetest.SQLite(t, sets...)
	_, bclk := newStore(t, bdb)
	bs, err := NewBlocks(Options{DB: bdb, Now: bclk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bs.Close() })
	if err := bs.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	f := &diffFixture{s: s, evs: evs, b: bs}
	// The scope must see every event, or the comparison means nothing.
	got, err := f.sqlIDs("")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("the empty query finds %d of the %d events", len(got), len(evs))
	}
	// sqlIDs is Search's condition: both find the same events (on a query
	// that leaves out the fields Search cannot read back).
	const q = `(Image=*cmd* OR NOT exists(n)) NOT "1e400"`
	a, err := f.sqlIDs(q)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.searchIDs(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !maps.Equal(a, b) {
		t.Fatalf("%q: Search finds %d events, its condition %d", q, len(b), len(a))
	}
	return f
}

// Value pools for the events.
var (
	diffStrings = []string{
		"cmd.exe", "CMD.EXE", "Cmd.Exe /c whoami", `C:\Windows\cmd.exe`, `C:\Windows\System32\cmd.exe`, `c:\windows\CMD.exe`,
		"a*b", "a?b", "100%", "50%_done", `back\slash`, `trailing\`, `say "hi"`, `"`, `\`, "*", "?", "%", "_",
		"é", "É", "café", "CAFÉ", "İstanbul", "istanbul", "ıi", "ß", "日本語", "\u2028sep", "<script>&amp;",
		"10.1.2.3", "10.1.2.30", "10.17.0.1", "10.31.255.255", "10.32.0.0", "192.168.0.300", "192.168.1.1", "192.168.7.20",
		"10.1.2", "10.1.2.3.4", "010.001.002.003", "10. 20.0.0", "10.+5.0.0", "10.-1.0.0", "10.1e1.0.0", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:DB8::1", "2001:db8:1::5", "2001:db9::1", "::ffff:10.0.0.1", "::1", "fe80::1%eth0", "::ffff:192.168.1.1",
		"4688", "4688.0", "04688", " 12", "12 ", "1.2.3", "+5", "-5", "-", "+", ".", "", "0", "-0", "1e3", "0x10", ".5", "5.", "00012",
		"9007199254740993", "9007199254740992", "99999999999999999999", "0.1", "0.30000000000000004", "1.0e+20", "100.0", "3",
		"true", "false", "null", "TRUE", "a\x00b", "tab\there", "line\nbreak", "{\"x\":1}", "[1,2]", "whoami", "mimikatz",
		"sekurlsa::logonpasswords", "alice", "ALICE", "Alice Smith", "host-1",
	}
	diffFloats = []float64{0, 1, -1, 3, 11, 12, 443, 4688, -4688, 1.5, -2.25, 0.1, 0.2, 0.3, 0.30000000000000004, 100, 1e20, 1e21, 1e-7,
		123456789012, 9007199254740992, 9007199254740994, 5000, 999, math.Copysign(0, -1), 2.5e-300, 1.7976931348623157e308}
	diffNumbers = []json.Number{"9007199254740993", "100.0", "1E5", "1e3", "-0", "-0.0", "4688.0", "12.50", "0.10",
		"123456789012345678901234567890", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e400", "-1e400",
		"1.0e+20", "3.0", "262530878470.18870544840872894", "3500000000000000.2500001", "1e15", "1e16", "123456789012345.6"}
	diffNames = []string{"EventID", "Image", "CommandLine", "src_ip", "dst_ip", "dst_port", "User", "n", "bytes",
		"Elevated", "event_data.CommandLine", "x-y", "k@v", "tag:z", "É", "data", "list", "obj"}
	// diffJSON are fields as a consumer hands them over (Event.fieldsJSON):
	// spacing, keys given twice, escapes.
	diffJSON = []string{
		`{"EventID": 4688, "Image" : "C:\\Windows\\cmd.exe"}`,
		`{"n":1,"n":2}`,
		`{"EventID":"4688","EventID":4689}`,
		`{"n":100.0,"bytes":1E5,"dst_port":-0,"data":-0.0,"big":123456789012345678901234567890}`,
		`{"User":"caf\u00e9","Image":"\u0041BC","CommandLine":"a\/b"}`,
		`{"list":[1, 2, "x"],"obj":{ "k" : "v" }}`,
		`{"User":"\ud83d\ude00 smile"}`,
		`{"Event\u0049D":7}`,
		`{"n":1e400,"bytes":-1e400}`,
		`{}`,
		`{"data":null}`,
		`{"src_ip":"10.1.2.3","list":["10.1.2.3"],"obj":{"ip":"10.1.2.3"}}`,
		`{"CommandLine":"x\u0000y","User":"tab\tx"}`,
		`{"n":0.1,"bytes":0.30000000000000004,"dst_port":1.0}`,
		` {"EventID":3 } `,
		`{"User":"\ud83d\ude00","n":1,"n":2}`,
		`{"User":"\ud83dx","CommandLine":"\ude00"}`,
		`{"User":"\ud83d\ude00","EventID":1,"EventID":2}`,
		`{"EventID":3500000000000000.2500001}`,
		`{"n":"5\u0000x","bytes":"\u0000x","dst_port":" 7"}`,
		`{"obj":{"a": [ "x y" , {"b" :"\u00e9\/"} ]},"list":[ ]}`,
		`{"n":3500000000000000.2500001,"bytes":262530878470.18870544840872894,"dst_port":"3500000000000000.2500001"}`,
	}
	diffHosts     = []string{"host-1", "HOST-1", "dc01.corp", "10.1.2.3", "2001:db8::5", "", "fw1", "4688", "é-host", "10.1.2"}
	diffProducts  = []string{"windows", "Windows", "linux", "", "zeek"}
	diffServices  = []string{"sysmon", "security", "sshd", ""}
	diffCats      = []string{"process_creation", "network_connection", "", "file_event"}
	diffProtocols = []string{"syslog-udp", "syslog-tcp", "http", "", "es-bulk"}
	diffRaws      = []string{"<13>garbled kernel: segfault at deadbeef", "rawonly C:\\Temp\\x.exe 100% done", "İstanbul É é",
		"a*b?c", "10.1.2.3 -> 2001:db8::1", "", "quote \" and \\ back", "EventID=4688", "nul\x00byte", "CAFÉ café"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// diffString is a string from the pool, sometimes two joined or recased.
func diffString(r *rand.Rand) string {
	s := pick(r, diffStrings)
	switch r.IntN(8) {
	case 0:
		s += pick(r, []string{" ", "", "\\", "/", "=", ","}) + pick(r, diffStrings)
	case 1:
		s = strings.ToUpper(s)
	case 2:
		s = strings.ToLower(s)
	}
	return s
}

func diffValue(r *rand.Rand, depth int) any {
	switch r.IntN(12) {
	case 0, 1, 2, 3:
		return diffString(r)
	case 4, 5:
		return pick(r, diffFloats)
	case 6:
		return pick(r, diffNumbers)
	case 7:
		return r.IntN(2) == 0
	case 8:
		return nil
	case 9:
		if depth > 0 {
			return diffString(r)
		}
		n := r.IntN(3)
		l := []any{}
		for range n {
			l = append(l, diffValue(r, depth+1))
		}
		return l
	case 10:
		if depth > 0 {
			return pick(r, diffFloats)
		}
		return map[string]any{"x": diffValue(r, depth+1), pick(r, diffNames): diffValue(r, depth+1)}
	}
	return float64(r.IntN(5000) - 100)
}

// diffEvents are n events of RJ1 and RJZ within the hour before t0.
func diffEvents(r *rand.Rand, n int) []Event {
	evs := make([]Event, 0, n)
	for i := range n {
		ago := time.Duration(r.IntN(3600_000)) * time.Millisecond
		e := Event{
			ID:         fmt.Sprintf("m%04d", i),
			Org:        pick(r, []string{"RJ1", "RJZ"}),
			EventTime:  t0.Add(-ago),
			ReceivedAt: t0.Add(-ago + time.Second),
			Source:     Source{Protocol: pick(r, diffProtocols), Host: pick(r, diffHosts), Format: "json"},
			Product:    pick(r, diffProducts),
			Service:    pick(r, diffServices),
			Category:   pick(r, diffCats),
			Raw:        fmt.Sprintf("raw m%04d %s", i, pick(r, diffRaws)),
		}
		switch k := r.IntN(20); {
		case k == 0:
			// Fields nil.
		case k == 1 || k == 2:
			e.ParseError = "no parser matched"
			e.Raw = pick(r, diffRaws)
			if k == 2 {
				e.Fields = map[string]any{pick(r, diffNames): diffValue(r, 0)}
			}
		case k == 3 || k == 4:
			e.fieldsJSON = []byte(pick(r, diffJSON))
		default:
			e.Fields = map[string]any{}
			for range 1 + r.IntN(6) {
				e.Fields[pick(r, diffNames)] = diffValue(r, 0)
			}
		}
		evs = append(evs, e)
	}
	return evs
}

// Query pieces.
var (
	diffQueryNames = append(append([]string{}, diffNames...), "EventID", "EventID", "Image", "src_ip",
		"Missing", "eventid", "image", "event_data", "org", "host", "product", "service", "category", "protocol")
	diffOps   = []string{"=", "=", "=", "!=", ">", ">=", "<", "<="}
	diffNums  = []string{"4688", "4688.0", "3", "-1", "0", "-0", "1", "1.5", "0.1", "0.3", "0.30000000000000004", "1e20", "1e21", "1e3", "+5", ".5", "5.", "12", "443", "100", "1e-7", "9007199254740993", "9007199254740992", "9223372036854775807", "-4688", "999", "5000", "100000"}
	diffCIDRs = []string{"10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32", "10.16.0.0/12", "10.0.0.0/12", "192.168.0.0/16", "0.0.0.0/0",
		"172.16.0.0/12", "10.1.0.0/20", "10.1.2.0/25", "10.1.2.0/31", "10.0.0.0/7", "192.168.0.0/23", "2001:db8::/32", "2001:db8::/64",
		"2001:db8::1/128", "::ffff:10.0.0.0/104", "::/0", "::1/128", "fe80::/10", "192.168.1.1/32", "10.20.0.0/16", "0.0.0.0/8"}
	diffWords = []string{"cmd", "CMD.exe", "whoami", `C:\Windows`, `c:\windows\cmd.exe`, "é", "É", "İ", "i", "100%", "_", "%", `\`,
		"4688", "10.1.2", "*exe", "cmd*exe", "a*", "*", "garbled", "segfault", "rawonly", "null", "true", ":", "{", "}", "x", "y",
		"café", "CAFÉ", "\\u00e9", "u00e9", "u0000", "smile", "😀", "EventID", "EventID=4688", "nul", "deadbeef", "istanbul", "ıi"}
	diffPhrases = []string{`"cmd.exe /c"`, `"say \"hi\""`, `"C:\\Windows\\cmd.exe"`, `"C:\Windows"`, `"\""`, `"a\*b"`, `"a*b"`,
		`""`, `"*"`, `"100% done"`, `"\"EventID\":4688"`, `"İstanbul É"`, `":1,"`, `"4688"`, `"x\u0000y"`, `"line\nbreak"`, `"tab\tx"`}
)

// diffLiteral writes literal parts as a query value: quoted, or bare
// when it can be, with * between parts.
func diffLiteral(r *rand.Rand, parts []string) string {
	bare := r.IntN(3) != 0
	for i, p := range parts {
		if strings.ContainsAny(p, " \t\n()=!<>,\"\u2028") || (i < len(parts)-1 && strings.HasSuffix(p, `\`)) {
			bare = false
		}
	}
	if strings.Join(parts, "") == "" && len(parts) == 1 {
		bare = false
	}
	var b strings.Builder
	if !bare {
		b.WriteByte('"')
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		if bare {
			b.WriteString(strings.ReplaceAll(p, "*", `\*`))
			continue
		}
		for _, c := range []byte(p) {
			if c == '\\' || c == '"' || c == '*' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	if !bare {
		b.WriteByte('"')
	}
	return b.String()
}

// diffWild cuts s into parts with wildcards at its start, middle or end.
func diffWild(r *rand.Rand, s string) []string {
	rs := []rune(s)
	cut := func() string {
		if len(rs) == 0 {
			return ""
		}
		i, j := r.IntN(len(rs)+1), r.IntN(len(rs)+1)
		return string(rs[min(i, j):max(i, j)])
	}
	switch r.IntN(8) {
	case 0:
		return []string{s, ""}
	case 1:
		return []string{"", s}
	case 2:
		return []string{"", cut(), ""}
	case 3:
		if len(rs) < 2 {
			return []string{s}
		}
		k := r.IntN(len(rs))
		return []string{string(rs[:k]), string(rs[k:])}
	case 4:
		return []string{"", ""}
	case 5:
		return []string{cut(), cut()}
	}
	return []string{s}
}

// diffQueryValue is a value for field op value.
func diffQueryValue(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0, 1:
		return pick(r, diffNums)
	case 2:
		if r.IntN(2) == 0 {
			return pick(r, diffCIDRs)
		}
		bits := pick(r, []int{0, 7, 8, 9, 12, 16, 20, 24, 25, 31, 32})
		return fmt.Sprintf("%d.%d.%d.%d/%d", pick(r, []int{10, 192, 0, 172}), r.IntN(40), r.IntN(4), r.IntN(300), bits)
	case 3:
		return pick(r, []string{"true", "false", "TRUE", "null", "*", `""`, `"true"`, `"4688"`, `"10.0.0.0/8"`})
	case 4:
		return fmt.Sprint(pick(r, diffFloats))
	}
	s := diffString(r)
	switch r.IntN(4) {
	case 0:
		s = strings.ToUpper(s)
	case 1:
		s = strings.ToLower(s)
	}
	return diffLiteral(r, diffWild(r, s))
}

func diffAtom(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return pick(r, diffQueryNames) + pick(r, []string{"", " "}) + pick(r, diffOps) + pick(r, []string{"", " "}) + diffQueryValue(r)
	case 4:
		var vs []string
		for range 1 + r.IntN(3) {
			vs = append(vs, diffQueryValue(r))
		}
		return pick(r, diffQueryNames) + " in (" + strings.Join(vs, ", ") + ")"
	case 5:
		return "exists(" + pick(r, diffQueryNames) + ")"
	case 6:
		return pick(r, diffPhrases)
	case 7:
		return diffLiteral(r, diffWild(r, diffString(r)))
	}
	w := pick(r, diffWords)
	if r.IntN(4) == 0 {
		w = diffLiteral(r, diffWild(r, w))
	}
	return w
}

func diffQuery(r *rand.Rand, depth int) string {
	if depth >= 3 || r.IntN(5) < 2 {
		return diffAtom(r)
	}
	a, b := diffQuery(r, depth+1), diffQuery(r, depth+1)
	switch r.IntN(6) {
	case 0:
		return a + " AND " + b
	case 1:
		return a + " OR " + b
	case 2:
		return a + " " + b
	case 3:
		return "NOT " + a
	case 4:
		return "(" + a + " OR " + b + ")"
	}
	return "NOT (" + a + " " + pick(r, []string{"and", "or"}) + " " + b + ")"
}

// sqlIDs are the IDs the SQLite store finds for q: Search's condition
// (where), selecting only the IDs. Search itself reads each event whole,
// and cannot read back fields such as {"n":1e400} (json.Unmarshal refuses
// a number beyond float64), which the evaluator must still agree on.
func (f *diffFixture) sqlIDs(q string) (map[string]bool, error) {
	w, args, err := f.s.where(diffScope, Query{Text: q})
	if err != nil {
		return nil, err
	}
	rows, err := f.s.db.Q().QueryContext(context.Background(), "SELECT id FROM events WHERE "+w, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// searchIDs are the IDs Search finds for q.
func (f *diffFixture) searchIDs(q string) (map[string]bool, error) {
	p, err := f.s.Search(context.Background(), diffScope, Query{Text: q, Limit: MaxLimit})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(p.Events))
	for _, e := range p.Events {
		out[e.ID] = true
	}
	return out, nil
}

// sqlHas reports whether the SQLite condition of n holds for event id.
func (f *diffFixture) sqlHas(n Node, id string) (bool, error) {
	cond, args, err := compileWhere(f.s.db.Dialect, n)
	if err != nil {
		return false, err
	}
	var c int
	err = f.s.db.Q().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM events WHERE id = ? AND ("+cond+")", append([]any{id}, args...)...).Scan(&c)
	return c > 0, err
}

func (f *diffFixture) goHas(n Node, e *Event) (bool, error) {
	m, err := compileMatch(n)
	if err != nil {
		return false, err
	}
	return m(&evalEvent{e: e}), nil
}

// culprit is the smallest part of n on which the two disagree for e.
func (f *diffFixture) culprit(n Node, e *Event) Node {
	var kids []Node
	switch x := n.(type) {
	case And:
		kids = []Node{x.L, x.R}
	case Or:
		kids = []Node{x.L, x.R}
	case Not:
		kids = []Node{x.X}
	case In:
		for _, v := range x.Values {
			kids = append(kids, Compare{Field: x.Field, Op: "=", Value: v})
		}
	}
	for _, k := range kids {
		s, err1 := f.sqlHas(k, e.ID)
		g, err2 := f.goHas(k, e)
		if err1 == nil && err2 == nil && s != g {
			return f.culprit(k, e)
		}
	}
	return n
}

// diffShow writes a node back as query text, values with their parse.
func diffShow(n Node) string {
	val := func(v Value) string {
		var b strings.Builder
		b.WriteString(strconv.Quote(v.Literal()))
		if !v.Quoted {
			b.WriteString("(bare")
			if v.IsNum {
				b.WriteString(" num=" + strconv.FormatFloat(v.Num, 'g', -1, 64))
			}
			if v.IsPrefix {
				b.WriteString(" prefix=" + v.Prefix.String())
			}
			b.WriteString(")")
		}
		return b.String()
	}
	switch n := n.(type) {
	case nil:
		return "<all>"
	case And:
		return "(" + diffShow(n.L) + " AND " + diffShow(n.R) + ")"
	case Or:
		return "(" + diffShow(n.L) + " OR " + diffShow(n.R) + ")"
	case Not:
		return "NOT " + diffShow(n.X)
	case Compare:
		return n.Field + " " + n.Op + " " + val(n.Value)
	case In:
		var vs []string
		for _, v := range n.Values {
			vs = append(vs, val(v))
		}
		return n.Field + " in (" + strings.Join(vs, ", ") + ")"
	case Exists:
		return "exists(" + n.Field + ")"
	case Text:
		return "text " + val(n.Value)
	}
	return fmt.Sprintf("%#v", n)
}

func diffDescribe(e *Event) string {
	s := fmt.Sprintf("%s fields=%s host=%q product=%q service=%q category=%q protocol=%q org=%s", e.ID, fieldsJSONOf(e),
		e.Source.Host, e.Product, e.Service, e.Category, e.Source.Protocol, e.Org)
	if e.ParseError != "" {
		s += fmt.Sprintf(" parse_error raw=%q", e.Raw)
	}
	return s
}

// check compares the two on q: "" when they agree (or q does not parse),
// else a report naming each differing event, and the culprits (the
// smallest parts of q the two disagree on).
func (f *diffFixture) check(q string) (string, []string, error) {
	n, err := Parse(q)
	if err != nil {
		return "", nil, nil
	}
	m, err := compileMatch(n)
	if err != nil {
		return "", nil, fmt.Errorf("compileMatch(%q): %w", q, err)
	}
	want, err := f.sqlIDs(q)
	if err != nil {
		return "", nil, fmt.Errorf("SQLite search %q: %w", q, err)
	}
	var lines, culprits []string
	differ := 0
	for i := range f.evs {
		e := &f.evs[i]
		got := m(&evalEvent{e: e})
		if got == want[e.ID] {
			continue
		}
		differ++
		if differ > 5 {
			continue
		}
		side := "SQLite matches, Go does not"
		if got {
			side = "Go matches, SQLite does not"
		}
		c := diffShow(f.culprit(n, e))
		culprits = append(culprits, c)
		lines = append(lines, fmt.Sprintf("  %s: %s\n    culprit: %s\n    event: %s", e.ID, side, c, diffDescribe(e)))
	}
	// The block store: prefilter and match over the stored lines.
	inBlocks := map[string]bool{}
	if err := f.b.scan(context.Background(), diffScope, Query{Text: q}, func(e *Event) bool { inBlocks[e.ID] = true; return true }); err != nil {
		return "", nil, fmt.Errorf("block store %q: %w", q, err)
	}
	for i := range f.evs {
		e := &f.evs[i]
		if inBlocks[e.ID] == want[e.ID] {
			continue
		}
		differ++
		if differ > 5 {
			continue
		}
		side := "SQLite matches, the block store does not"
		if inBlocks[e.ID] {
			side = "the block store matches, SQLite does not"
		}
		culprits = append(culprits, "blocks: "+diffShow(n))
		lines = append(lines, fmt.Sprintf("  %s: %s (prefilters %q, plain %q)\n    event: %s", e.ID, side, prefilterOf(n, false), prefilterOf(n, true), diffDescribe(e)))
	}
	// Counts (from the blocks' keys where they can) agree too.
	if c, err := f.b.Count(context.Background(), diffScope, Query{Text: q}); err != nil {
		return "", nil, fmt.Errorf("block store count %q: %w", q, err)
	} else if c != int64(len(want)) {
		differ++
		culprits = append(culprits, "blocks count: "+diffShow(n))
		lines = append(lines, fmt.Sprintf("  the block store counts %d, SQLite finds %d", c, len(want)))
	}
	if differ == 0 {
		return "", nil, nil
	}
	if differ > 5 {
		lines = append(lines, fmt.Sprintf("  … %d events differ in all", differ))
	}
	return fmt.Sprintf("query %q (parsed %s):\n%s", q, diffShow(n), strings.Join(lines, "\n")), culprits, nil
}

func TestMatchAgreesWithSQLite(t *testing.T) {
	f := newDiffFixture(t)
	r := rand.New(rand.NewPCG(3, 4))
	queries := slices.Clone(diffSeeds)
	for range 3000 {
		queries = append(queries, diffQuery(r, 0))
	}
	// Up to 20 failing queries are reported, each showing a culprit not
	// seen before, so that one run shows as many distinct causes as it can.
	var fails []string
	seen, culprits := map[string]bool{}, map[string]bool{}
	parsed, failed := 0, 0
	for _, q := range queries {
		if seen[q] {
			continue
		}
		seen[q] = true
		if _, err := Parse(q); err == nil {
			parsed++
		}
		msg, cs, err := f.check(q)
		if err != nil {
			t.Fatal(err)
		}
		if msg == "" {
			continue
		}
		failed++
		fresh := false
		for _, c := range cs {
			if !culprits[c] {
				fresh = true
				culprits[c] = true
			}
		}
		if fresh && len(fails) < 20 {
			fails = append(fails, msg)
		}
	}
	t.Logf("%d queries parsed of %d", parsed, len(seen))
	if failed > 0 {
		t.Fatalf("%d of %d queries find other events in Go than in SQLite; %d of them:\n\n%s", failed, parsed, len(fails), strings.Join(fails, "\n\n"))
	}
}

// diffSeeds are queries both the test and the fuzz target start from.
var diffSeeds = []string{
	``, `EventID=4688`, `EventID=4688.0`, `NOT EventID=3`, `EventID in (3, "4688", 11)`, `dst_port>100`, `n<=0.1`,
	`bytes>=1e20`, `src_ip=10.0.0.0/8`, `src_ip=10.16.0.0/12`, `src_ip=2001:db8::/32`, `host=10.1.2.0/24`, `exists(data)`,
	`NOT exists(EventID)`, `Elevated=true`, `Elevated!=false`, `Image=*cmd.exe`, `Image="C:\\Windows\\*"`, `C:\Windows`,
	`"say \"hi\""`, `100%`, `_`, `é`, `İ`, `CommandLine=*\**`, `User=alice OR User=ALICE`, `product=windows service!=sysmon`,
	`protocol=syslog-*`, `org=RJ1`, `category=""`, `list=*10.1.2.3*`, `obj=*`, `n=1`, `n=100`, `bytes=1E5`, `garbled`, `segfault`,
	`rawonly`, `"x\u0000y"`, `CommandLine=*y`, `data=-0`, `n=9007199254740993`, `n>9007199254740992`, `dst_port=0`,
	`list="[1,2,*"`, `obj=*"k":"v"*`, `n=2`, `n>3500000000000000`, `bytes<262530878470.1887`, `dst_port>3500000000000000`,
	`data="0.0"`, `data="-0.0"`, `n>1`, `bytes>=0`, `bytes<=0`, `obj=*"x y",{*`, `list="[]"`, `User=*x`,
	`EventID=7`, `EventID=1`, `EventID=2`, `EventID=*1*`, `EventID=3500000000000000.5`, `EventID=3500000000000000`, `EventID>3500000000000000`, `n=*e+15*`, `n=1000000000000000*`, `Elevated=10.0.0.0/12`, `src_ip=0.0.0.0/9`,
}

func FuzzMatchAgreesWithSQLite(f *testing.F) {
	for _, q := range diffSeeds {
		f.Add(q)
	}
	fx := newDiffFixture(f)
	f.Fuzz(func(t *testing.T, q string) {
		msg, _, err := fx.check(q)
		if err != nil {
			t.Fatal(err)
		}
		if msg != "" {
			t.Fatal(msg)
		}
	})
}

// blockPlainByBytes is blockPlain as it was first written, a byte at a
// time through strings: the reference for the one that skips them.
func blockPlainByBytes(lines []byte) bool {
	for i := 0; i < len(lines); i++ {
		switch c := lines[i]; {
		case c == '"':
			for i++; i < len(lines) && lines[i] != '"'; i++ {
				if lines[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			sig, lead := 0, true
			for ; i < len(lines); i++ {
				d := lines[i]
				switch {
				case d == 'e' || d == 'E':
					return false
				case d >= '1' && d <= '9' || d == '0' && !lead:
					lead = false
					sig++
				case d == '0' || d == '.' || d == '-' || d == '+':
				default:
					i--
					goto next
				}
			}
		next:
			if sig > 15 {
				return false
			}
		}
	}
	return true
}

// blockPlain gives what reading every byte gives, for lines made of the
// pieces that decide it: quotes, backslashes, digits, exponents.
func TestBlockPlainSkipsStringsAlike(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 12))
	pieces := []string{`"`, `\`, `\\`, `\"`, `1`, `0`, `1234567890123456`, `e`, `-`, `.`, `a`, `:`, `,`, "\n", `{"k":`, `12`}
	for range 200_000 {
		var b []byte
		for range r.IntN(12) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		if got, want := blockPlain(b), blockPlainByBytes(b); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	}
}
