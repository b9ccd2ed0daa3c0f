package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"
)

// The query language evaluated in Go, over an event in hand, for the block
// store (blocks.go), which reads events out of compressed blocks rather
// than asking SQL. Its rules are the SQLite compiler's (compile.go), one
// for one, so that a query finds the same events on either store: string
// matches ignore ASCII case as SQLite's LIKE does, a bare number equals a
// field's number or its digits as text, ranges compare numbers only, and a
// condition on a missing field is false (so NOT of it holds).
// TestOperators runs the same queries on every engine, and
// TestMatchAgreesWithSQLite compares the two over generated events and
// queries.

// evalEvent is an event being matched: its fields are read from their JSON
// text on first use, once.
type evalEvent struct {
	e      *Event
	fields []byte
	parsed bool
	vals   map[string]fieldVal
}

// fieldVal is one top-level field as SQLite's json_extract sees it.
type fieldVal struct {
	kind byte // 's' string, 'i' integer, 'r' real, 't' true, 'f' false, 'n' null, 'j' list or object
	str  string
	num  float64
	i    int64 // the value of an 'i' (and 1 or 0 for 't' or 'f')
	raw  []byte
}

// sqlNum is a number as SQLite holds it: an integer or a real.
type sqlNum struct {
	isInt bool
	i     int64
	f     float64
}

// cmp is sqlite3MemCompare of the number with the real r: an integer is
// compared with a real exactly (sqlite3IntFloatCompare), not as a double.
func (x sqlNum) cmp(r float64) int {
	if !x.isInt {
		switch {
		case x.f < r:
			return -1
		case x.f > r:
			return 1
		}
		return 0
	}
	switch {
	case math.IsNaN(r):
		return 1
	case r < -9223372036854775808.0:
		return 1
	case r >= 9223372036854775808.0:
		return -1
	}
	y := int64(r)
	switch {
	case x.i < y:
		return -1
	case x.i > y:
		return 1
	}
	s := float64(x.i)
	switch {
	case s < r:
		return -1
	case s > r:
		return 1
	}
	return 0
}

// matcher is a compiled condition.
type matcher func(*evalEvent) bool

// compileMatch compiles n (nil matches everything).
func compileMatch(n Node) (matcher, error) {
	if n == nil {
		return func(*evalEvent) bool { return true }, nil
	}
	switch n := n.(type) {
	case And:
		l, r, err := compilePair(n.L, n.R)
		if err != nil {
			return nil, err
		}
		return func(v *evalEvent) bool { return l(v) && r(v) }, nil
	case Or:
		l, r, err := compilePair(n.L, n.R)
		if err != nil {
			return nil, err
		}
		return func(v *evalEvent) bool { return l(v) || r(v) }, nil
	case Not:
		x, err := compileMatch(n.X)
		if err != nil {
			return nil, err
		}
		return func(v *evalEvent) bool { return !x(v) }, nil
	case Compare:
		return compareMatch(n.Field, n.Op, n.Value), nil
	case In:
		ms := make([]matcher, len(n.Values))
		for i, val := range n.Values {
			ms[i] = compareMatch(n.Field, "=", val)
		}
		return func(v *evalEvent) bool {
			for _, m := range ms {
				if m(v) {
					return true
				}
			}
			return false
		}, nil
	case Exists:
		if _, ok := columns[n.Field]; ok {
			f := n.Field
			return func(v *evalEvent) bool { return columnOf(v.e, f) != "" }, nil
		}
		f := n.Field
		return func(v *evalEvent) bool { _, ok := v.field(f); return ok }, nil
	case Text:
		inFields := newLike(jsonEscapeParts(n.Value.Parts), true)
		inRaw := newLike(n.Value.Parts, true)
		return func(v *evalEvent) bool {
			return inFields.match(v.fieldsText()) || (v.e.ParseError != "" && inRaw.matchString(v.e.Raw))
		}, nil
	}
	return nil, fmt.Errorf("events: cannot match %T", n)
}

// compilePair compiles the two sides of an AND or an OR.
func compilePair(l, r Node) (matcher, matcher, error) {
	lm, err := compileMatch(l)
	if err != nil {
		return nil, nil, err
	}
	rm, err := compileMatch(r)
	if err != nil {
		return nil, nil, err
	}
	return lm, rm, nil
}

// columnOf is the event's value of one of the six columns.
func columnOf(e *Event, name string) string {
	switch name {
	case "org":
		return e.Org
	case "host":
		return e.Source.Host
	case "product":
		return e.Product
	case "service":
		return e.Service
	case "category":
		return e.Category
	case "protocol":
		return e.Source.Protocol
	}
	return ""
}

func compareMatch(field, op string, val Value) matcher {
	switch op {
	case "=":
		return equalMatch(field, val)
	case "!=":
		m := equalMatch(field, val)
		return func(v *evalEvent) bool { return !m(v) }
	}
	want := val.Num
	var cmp func(int) bool
	switch op {
	case ">":
		cmp = func(c int) bool { return c > 0 }
	case ">=":
		cmp = func(c int) bool { return c >= 0 }
	case "<":
		cmp = func(c int) bool { return c < 0 }
	default: // "<="
		cmp = func(c int) bool { return c <= 0 }
	}
	return func(v *evalEvent) bool {
		x, ok := v.number(field)
		return ok && cmp(x.cmp(want))
	}
}

func equalMatch(field string, val Value) matcher {
	_, isCol := columns[field]
	switch {
	case !val.Quoted && !val.Wild() && (val.Parts[0] == "true" || val.Parts[0] == "false") && !isCol:
		want := byte('f')
		if val.Parts[0] == "true" {
			want = 't'
		}
		return func(v *evalEvent) bool {
			f, ok := v.field(field)
			return ok && f.kind == want
		}
	case val.IsPrefix:
		return cidrMatch(field, val.Prefix)
	case val.IsNum && !isCol:
		num, txt := val.Num, strconv.FormatFloat(val.Num, 'f', -1, 64)
		if _, ok := indexedFields[field]; ok {
			// SQLite compares the event_id column, which Append fills
			// with eventIDOf, not json_extract: its value is the one to
			// compare (it misses a key written with escapes, keeps the
			// last of a key given twice where encoding/json decides, and
			// reads reals with strconv).
			return func(v *evalEvent) bool {
				switch x := eventIDOf(v.fieldsText()).(type) {
				case int64:
					return sqlNum{isInt: true, i: x}.cmp(num) == 0
				case float64:
					return x == num
				case string:
					return x == txt
				}
				return false
			}
		}
		return func(v *evalEvent) bool {
			f, ok := v.field(field)
			if !ok {
				return false
			}
			switch f.kind {
			case 'i':
				return sqlNum{isInt: true, i: f.i}.cmp(num) == 0
			case 'r':
				return f.num == num
			case 't':
				return num == 1
			case 'f':
				return num == 0
			case 's':
				return f.str == txt
			case 'j':
				return string(f.raw) == txt
			}
			return false
		}
	}
	l := newLike(val.Parts, false)
	return func(v *evalEvent) bool {
		s, ok := v.text(field)
		return ok && l.matchString(s)
	}
}

// cidrMatch is compile.go's cidr: IPv4 prefixes as text (whole octets a
// prefix, the cut octet a number), IPv6 ones parsed.
func cidrMatch(field string, p netip.Prefix) matcher {
	if !p.Addr().Is4() {
		return func(v *evalEvent) bool {
			s, ok := v.text(field)
			if !ok {
				return false
			}
			a, err := netip.ParseAddr(s)
			return err == nil && (p.Contains(a.Unmap()) || p.Contains(a))
		}
	}
	a := p.Addr().As4()
	bits := p.Bits()
	whole, rem := bits/8, bits%8
	if bits == 32 {
		want := p.Addr().String()
		return func(v *evalEvent) bool {
			s, ok := v.text(field)
			return ok && s == want
		}
	}
	var lead strings.Builder
	for i := 0; i < whole; i++ {
		lead.WriteString(strconv.Itoa(int(a[i])))
		lead.WriteByte('.')
	}
	shape := newLike([]string{lead.String(), ""}, false)
	if whole == 0 {
		shape = newLike([]string{"", ".", ".", ".", ""}, false)
	}
	if rem == 0 {
		return func(v *evalEvent) bool {
			s, ok := v.text(field)
			return ok && shape.matchString(s)
		}
	}
	lo := int64(a[whole])
	hi := lo + (1 << (8 - rem)) - 1
	from := lead.Len()
	return func(v *evalEvent) bool {
		s, ok := v.text(field)
		if !ok || !shape.matchString(s) {
			return false
		}
		n := sqliteInteger(s[min(from, len(s)):])
		return n >= lo && n <= hi
	}
}

// field is the event's top-level field name as json_extract finds it (the
// first of a key given twice); ok is false when there is none.
func (v *evalEvent) field(name string) (fieldVal, bool) {
	if !v.parsed {
		v.parse()
	}
	f, ok := v.vals[name]
	return f, ok
}

// fieldsText is the fields' JSON text, as the SQL store keeps it.
func (v *evalEvent) fieldsText() []byte {
	if v.fields == nil {
		v.fields = fieldsJSONOf(v.e)
	}
	return v.fields
}

// fieldsJSONOf is an event's fields as the stores keep them: the JSON
// they came in, or Fields encoded without HTML escapes.
func fieldsJSONOf(e *Event) []byte {
	if e.fieldsJSON != nil {
		return e.fieldsJSON
	}
	f := e.Fields
	if f == nil {
		return []byte("{}")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(f) != nil {
		return []byte("{}")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func (v *evalEvent) parse() {
	v.parsed = true
	b := v.fieldsText()
	vals := map[string]fieldVal{}
	d := eventDecoder{b: b, s: bytesString(b)}
	if !d.object(func(key string) bool {
		start := d.i
		if !d.skip(0) {
			return false
		}
		if _, dup := vals[key]; !dup {
			vals[key] = fieldValOf(b[start:d.i])
		}
		return true
	}) {
		// Valid JSON the hand decoder does not read (a surrogate pair
		// escaped, nesting past its depth): encoding/json's tokens,
		// keeping the first of a key given twice as json_extract does.
		vals = map[string]fieldVal{}
		dec := json.NewDecoder(bytes.NewReader(b))
		if t, err := dec.Token(); err == nil && t == json.Delim('{') {
			for dec.More() {
				t, err := dec.Token()
				k, ok := t.(string)
				var raw json.RawMessage
				if err != nil || !ok || dec.Decode(&raw) != nil {
					break
				}
				if _, dup := vals[k]; !dup {
					vals[k] = fieldValOf(raw)
				}
			}
		}
	}
	v.vals = vals
}

// fieldValOf reads one JSON value as json_extract would return it.
func fieldValOf(raw []byte) fieldVal {
	switch c := raw[0]; {
	case c == '"':
		d := eventDecoder{b: raw, s: string(raw)}
		if s, ok := d.str(); ok {
			return fieldVal{kind: 's', str: s}
		}
		var s string
		_ = json.Unmarshal(raw, &s)
		return fieldVal{kind: 's', str: s}
	case c == 't':
		return fieldVal{kind: 't', num: 1, i: 1}
	case c == 'f':
		return fieldVal{kind: 'f', num: 0}
	case c == 'n':
		return fieldVal{kind: 'n'}
	case c == '-' || c >= '0' && c <= '9':
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return fieldVal{kind: 'i', num: float64(n), i: n, str: strconv.FormatInt(n, 10)}
		}
		// SQLite reads a real (and an integer beyond int64) with
		// sqlite3AtoF, which keeps about 19 significant digits.
		f := sqliteAtoF(string(raw))
		return fieldVal{kind: 'r', num: f, str: sqliteRealText(f)}
	}
	// json_extract gives a list or an object as JSON text without the
	// spaces between its tokens (strings and numbers as written).
	return fieldVal{kind: 'j', raw: minifyJSON(raw)}
}

// text is a field's (or column's) value as CAST(json_extract(…) AS TEXT)
// gives it; ok is false for a missing field or a null.
func (v *evalEvent) text(name string) (string, bool) {
	if _, ok := columns[name]; ok {
		return columnOf(v.e, name), true
	}
	f, ok := v.field(name)
	if !ok {
		return "", false
	}
	switch f.kind {
	case 's', 'i', 'r':
		return f.str, true
	case 't':
		return "1", true
	case 'f':
		return "0", true
	case 'j':
		return string(f.raw), true
	}
	return "", false
}

// number is compile.go's number(): the value if it is a number (true and
// false are 1 and 0, as json_extract gives them), text made only of
// digits, dots and signs read as SQLite's CAST AS REAL reads it, and
// nothing otherwise.
func (v *evalEvent) number(name string) (sqlNum, bool) {
	var s string
	if _, ok := columns[name]; ok {
		s = columnOf(v.e, name)
	} else {
		f, ok := v.field(name)
		if !ok {
			return sqlNum{}, false
		}
		switch f.kind {
		case 'i', 't', 'f':
			return sqlNum{isInt: true, i: f.i}, true
		case 'r':
			return sqlNum{f: f.num}, true
		case 's':
			s = f.str
		case 'j':
			s = string(f.raw)
		default:
			return sqlNum{}, false
		}
	}
	if s == "" {
		return sqlNum{}, false
	}
	// GLOB and CAST read text only up to a NUL: "5\x00x" is 5, and
	// "\x00x" is 0.
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '+' || r == '-') }) >= 0 {
		return sqlNum{}, false
	}
	return sqlNum{f: sqliteAtoF(s)}, true
}

// sqliteInteger is CAST(s AS INTEGER): its leading integer, 0 when none.
func sqliteInteger(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r") // sqlite3Atoi64 skips leading white space
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil {
		if s[0] == '-' {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return n
}

// sqliteRealText is a real as SQLite writes it as text: "%!.17g" with
// SQLite's own digits (sqlitefloat.go).
func sqliteRealText(f float64) string { return sqliteRealText17(f) }

// like is a LIKE pattern of literal parts joined by %, matched ignoring
// ASCII case as SQLite's LIKE does; contains puts % at both ends.
type like struct {
	parts [][]byte // lower-cased
}

func newLike(parts []string, contains bool) like {
	var l like
	if contains {
		l.parts = append(l.parts, nil)
	}
	for _, p := range parts {
		l.parts = append(l.parts, lowerASCII([]byte(p)))
	}
	if contains {
		l.parts = append(l.parts, nil)
	}
	// SQLite's LIKE reads its pattern as C text: it ends at a NUL, and
	// what comes before must then end the value.
	for i, p := range l.parts {
		if j := bytes.IndexByte(p, 0); j >= 0 {
			l.parts = append(l.parts[:i], p[:j])
			break
		}
	}
	return l
}

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// match reports whether s matches: the first part a prefix, the last a
// suffix, the ones between in order.
func (l like) match(s []byte) bool {
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i] // LIKE reads the value as C text too
	}
	if len(l.parts) == 1 {
		return len(s) == len(l.parts[0]) && hasPrefixFold(s, l.parts[0])
	}
	first, last := l.parts[0], l.parts[len(l.parts)-1]
	if len(s) < len(first)+len(last) || !hasPrefixFold(s, first) || !hasPrefixFold(s[len(s)-len(last):], last) {
		return false
	}
	rest := s[len(first) : len(s)-len(last)]
	for _, p := range l.parts[1 : len(l.parts)-1] {
		i := indexFold(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

// matchString is match of a string.
func (l like) matchString(s string) bool {
	if s == "" {
		return l.match(nil)
	}
	return l.match(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func hasPrefixFold(s, lower []byte) bool {
	if len(s) < len(lower) {
		return false
	}
	for i, c := range lower {
		d := s[i]
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if d != c {
			return false
		}
	}
	return true
}

// indexFold is the first index of lower in s ignoring ASCII case, -1 when
// it is not there.
func indexFold(s, lower []byte) int {
	if len(lower) == 0 {
		return 0
	}
	c0 := lower[0]
	up := c0
	if c0 >= 'a' && c0 <= 'z' {
		up = c0 - ('a' - 'A')
	}
	for i := 0; i+len(lower) <= len(s); i++ {
		if j := indexEither(s[i:len(s)-len(lower)+1], c0, up); j < 0 {
			return -1
		} else {
			i += j
		}
		if hasPrefixFold(s[i:], lower) {
			return i
		}
	}
	return -1
}

// indexEither is the first index in s of a or b.
func indexEither(s []byte, a, b byte) int {
	if a == b {
		return bytes.IndexByte(s, a)
	}
	i, j := bytes.IndexByte(s, a), bytes.IndexByte(s, b)
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	}
	return min(i, j)
}

// minifyJSON is raw, a valid JSON list or object, without the white space
// between its tokens, as SQLite's json_extract writes it back.
func minifyJSON(raw []byte) []byte {
	if !bytes.ContainsAny(raw, " \t\n\r") {
		return raw
	}
	out := make([]byte, 0, len(raw))
	in := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case in && c == '\\' && i+1 < len(raw):
			out = append(out, c, raw[i+1])
			i++
			continue
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue
		}
		out = append(out, c)
	}
	return out
}
