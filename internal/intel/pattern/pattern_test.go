package pattern

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

const stixData = "../../../../shared/data/stix"

// TestVectors parses every vector of ../shared/data/stix/patterns: the 124
// that OASIS's reference validator accepts must parse, the 27 it rejects
// must not; and the 23 patterns of the specification itself.
func TestVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(stixData, "patterns", "vectors.json"))
	if err != nil {
		testneed.Missing(t, "the STIX pattern vectors in ../shared/data/stix/patterns", err)
	}
	var doc struct {
		Count   int
		Vectors []struct {
			Pattern string
			Expect  string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	pass, fail := 0, 0
	for i, v := range doc.Vectors {
		_, err := Parse(v.Pattern)
		switch v.Expect {
		case "pass":
			pass++
			if err != nil {
				t.Errorf("vector %d must parse: %s\n%s", i, v.Pattern, err.(*Error).Caret(v.Pattern))
			}
		case "fail":
			fail++
			if err == nil {
				t.Errorf("vector %d must be rejected: %s", i, v.Pattern)
			}
		default:
			t.Fatalf("vector %d: expect %q", i, v.Expect)
		}
	}
	if pass != 124 || fail != 27 || doc.Count != len(doc.Vectors) {
		t.Errorf("%d pass and %d fail vectors (count %d), want 124 and 27", pass, fail, doc.Count)
	}
	// The line files say the same as vectors.json.
	for file, want := range map[string]bool{"pass.txt": true, "fail.txt": false, "spec_examples.txt": true} {
		b, err := os.ReadFile(filepath.Join(stixData, "patterns", file))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			n++
			if _, err := Parse(line); (err == nil) != want {
				t.Errorf("%s: %s: parse error %v", file, line, err)
			}
		}
		if n == 0 {
			t.Errorf("%s: no patterns", file)
		}
	}
}

func TestParseTree(t *testing.T) {
	p, err := Parse(`([file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:name NOT IN ('a.exe', 'b.exe')] AND [x:list[*].k[2] >= 3.5]) FOLLOWEDBY [ipv4-addr:value ISSUBSET '10.0.0.0/8'] WITHIN 300 SECONDS REPEATS 2 TIMES START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00Z'`)
	if err != nil {
		t.Fatal(err)
	}
	top, ok := p.Expr.(*ObsBinary)
	if !ok || top.Op != FollowedBy {
		t.Fatalf("top is %T %+v, want FOLLOWEDBY", p.Expr, p.Expr)
	}
	g, ok := top.L.(*ObsGroup)
	if !ok {
		t.Fatalf("left is %T", top.L)
	}
	and := g.Expr.(*ObsBinary)
	if and.Op != ObsAnd {
		t.Errorf("group op %v", and.Op)
	}
	first := and.L.(*Observation).Cmp.(*CmpBinary)
	if first.And {
		t.Error("first observation joined by AND, want OR")
	}
	hash := first.L.(*Comparison)
	if hash.Path.String() != "file:hashes.'SHA-256'" || hash.Op != Eq || hash.Value.Kind != String {
		t.Errorf("hash comparison %+v path %s", hash, hash.Path)
	}
	in := first.R.(*Comparison)
	if !in.Not || in.Op != In || len(in.Value.Set) != 2 || in.Value.Set[1].Str != "b.exe" {
		t.Errorf("IN comparison %+v", in)
	}
	list := and.R.(*Observation).Cmp.(*Comparison)
	if list.Path.String() != "x:list[*].k[2]" || list.Path.Key() != "x:list.k" || list.Op != Ge || list.Value.Float != 3.5 {
		t.Errorf("list path %s key %s op %v value %+v", list.Path, list.Path.Key(), list.Op, list.Value)
	}
	// Qualifiers nest, the first written innermost.
	q3 := top.R.(*Qualified)
	q2 := q3.Expr.(*Qualified)
	q1 := q2.Expr.(*Qualified)
	if q1.Q.Kind != Within || q1.Q.Seconds != 300 || q2.Q.Kind != Repeats || q2.Q.Times != 2 || q3.Q.Kind != StartStop ||
		q3.Q.Start.Nanosecond() != 123000000 || q3.Q.Stop.Hour() != 2 {
		t.Errorf("qualifiers %+v %+v %+v", q1.Q, q2.Q, q3.Q)
	}
}

func TestLiterals(t *testing.T) {
	for src, want := range map[string]Literal{
		`[x:a = 'it\'s \\ ok']`: {Kind: String, Str: `it's \ ok`},
		`[x:a = -12]`:           {Kind: Int, Int: -12},
		`[x:a = +7]`:            {Kind: Int, Int: 7},
		`[x:a = -.5]`:           {Kind: Float, Float: -0.5},
		`[x:a = true]`:          {Kind: Bool, Bool: true},
		`[x:a = h'ffD8']`:       {Kind: Hex, Bytes: []byte{0xff, 0xd8}},
		`[x:a = b'aGk=']`:       {Kind: Binary, Bytes: []byte("hi")},
		`[x:a /* note */ = // to the end of line` + "\n" + `1]`: {Kind: Int, Int: 1},
	} {
		p, err := Parse(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got := p.Expr.(*Observation).Cmp.(*Comparison).Value
		if got.Kind != want.Kind || got.Str != want.Str || got.Int != want.Int || got.Float != want.Float ||
			got.Bool != want.Bool || string(got.Bytes) != string(want.Bytes) {
			t.Errorf("%s: got %+v, want %+v", src, got, want)
		}
	}
}

// TestErrors checks that errors point at the right place and say what is wrong.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		col  int
		want string
	}{
		{`file:size = 1280`, 1, "missing its square brackets"},
		{`[file:size = ]`, 14, "= wants a value"},
		{`[file.size = 1280]`, 6, "expected : after the object type"},
		{`[file:name MATCHES /.*\.dll/]`, 20, "unexpected character '/'"},
		{`[x:k = 1] WITHIN 5 HOURS`, 20, "wants SECONDS"},
		{`[x:k = 1] WITHIN -5 SECONDS`, 18, "positive number of seconds"},
		{`[file:hashes.MD5 =? 'a']`, 19, "unexpected character '?'"},
		{`[x:a = t'2024-13-01T12:00:00Z']`, 8, "invalid timestamp literal"},
		{`[x:a = b'====']`, 8, "invalid binary literal"},
		{`[foo:bar=1] within 2 seconds`, 13, "after the end of the pattern"},
		{`[file:hashes.'SHA-256' = 'f00']`, 26, "not a valid SHA-256 hash"},
		{`[x:k = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS`, 28, "second WITHIN qualifier"},
		{`[x:k = 'a\n']`, 10, "invalid escape"},
		{`[x:k = 'abc`, 8, "unterminated string"},
		{`[x:a-b = 1]`, 4, "contains a hyphen"},
		{`[x:a = 1`, 9, "expected AND, OR or ]"},
		{`[x:a = 1] AND`, 14, "got end of pattern"},
		{`[x:a MATCHES '(']`, 14, "MATCHES"},
		{`[x:a > true]`, 8, "orderable value"},
		{`[x:a IN 'a']`, 9, "set of values"},
		{`[x:a = 007]`, 8, "leading zeros"},
		{"[x:a = 1]\n  OR [y:b ~ 2]", 11, "unexpected character '~'"},
	} {
		_, err := Parse(c.src)
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%s: error %v, want *Error", c.src, err)
			continue
		}
		if e.Column != c.col || !strings.Contains(e.Msg, c.want) {
			t.Errorf("%s: column %d %q, want column %d containing %q", c.src, e.Column, e.Msg, c.col, c.want)
		}
	}
	e := &Error{Offset: 13, Line: 1, Column: 14, Msg: "here"}
	if got := e.Caret("[file:size = ]"); got != "[file:size = ]\n             ^ here" {
		t.Errorf("caret:\n%s", got)
	}
}
