// Package flatjson parses JSON objects into flat maps, fast: telemetry
// (ingest's JSON events) and the fields of events on the events stream
// (live detection and analytics decode every event's). It is a small
// hand-written parser rather than encoding/json into map[string]any
// because the hot paths want no reflection and no intermediate tree:
// keys and values without escapes are substrings of the input.
package flatjson

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting, so that "[[[[…" costs a bounded stack. Real
// telemetry nests a handful of levels (Entra ID sign-ins about six).
const MaxDepth = 64

// SyntaxError says where the input stopped being what was expected.
type SyntaxError struct {
	Offset int // bytes into the input
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg) }

// Flatten parses the JSON object s into m with nested object keys joined
// by dots ({"a":{"b":1}} gives "a.b"). Numbers are float64 (an integer
// too large for float64 to hold exactly, such as a Windows Keywords mask,
// stays the decimal string so no digit is lost), booleans bool. null is
// left out, so a null field is absent, as Sigma treats it. An array of
// scalars is a []any; objects or arrays inside an array are flattened
// with the index as a path element ("a.0.b"). A key that repeats keeps
// its last value. Errors are *SyntaxError.
func Flatten(s string, m map[string]any) error {
	return parse(jsonParser{s: s, m: m})
}

// DecodeRecord parses a flat JSON object s (no object inside it, at any
// depth) into m exactly as encoding/json.Unmarshal into a map[string]any
// would: numbers float64 whatever their size, null kept as nil (in
// arrays too). An object inside is an error, so that the caller can hand
// such input to encoding/json, which nests it.
func DecodeRecord(s string, m map[string]any) error {
	return parse(jsonParser{s: s, m: m, record: true})
}

func parse(p jsonParser) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return p.err("expected a JSON object")
	}
	if err := p.object(""); err != nil {
		return err
	}
	p.space()
	if p.i != len(p.s) {
		return p.err("text after the JSON object")
	}
	return nil
}

type jsonParser struct {
	s     string
	i     int
	m     map[string]any
	depth int
	// record is DecodeRecord's mode: nested objects refused, nulls and
	// every number kept as encoding/json keeps them.
	record bool
}

func (p *jsonParser) err(msg string) error { return &SyntaxError{Offset: p.i, Msg: msg} }

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// object reads {…} at p.i, storing members under prefix.
func (p *jsonParser) object(prefix string) error {
	if p.depth++; p.depth > MaxDepth {
		return p.err("nested too deeply")
	}
	if p.record && p.depth > 1 {
		return p.err("an object inside a record")
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return p.err("expected a member name")
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return p.err("expected ':'")
		}
		p.i++
		p.space()
		if err := p.value(join(prefix, k)); err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.s) {
			return p.err("object not closed")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.err("expected ',' or '}'")
		}
	}
}

// value reads any value and stores it under key.
func (p *jsonParser) value(key string) error {
	if p.i >= len(p.s) {
		return p.err("expected a value")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(key)
	case c == '[':
		return p.array(key)
	default:
		v, err := p.scalar()
		if err != nil {
			return err
		}
		if v != nil || p.record {
			p.m[key] = v
		}
		return nil
	}
}

// array reads […]: scalars collect into one []any under key, containers
// are flattened under key.<index>.
func (p *jsonParser) array(key string) error {
	if p.depth++; p.depth > MaxDepth {
		return p.err("nested too deeply")
	}
	defer func() { p.depth-- }()
	p.i++ // '['
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.m[key] = []any{}
		return nil
	}
	var list []any
	for n := 0; ; n++ {
		p.space()
		if p.i >= len(p.s) {
			return p.err("array not closed")
		}
		if c := p.s[p.i]; c == '{' || c == '[' {
			if p.record {
				return p.err("a container inside a record's list")
			}
			if err := p.value(key + "." + strconv.Itoa(n)); err != nil {
				return err
			}
		} else {
			v, err := p.scalar()
			if err != nil {
				return err
			}
			if v != nil || p.record {
				list = append(list, v)
			}
		}
		p.space()
		if p.i >= len(p.s) {
			return p.err("array not closed")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			if list == nil && p.record {
				list = []any{} // [null] without nulls is still a list
			}
			if list != nil {
				p.m[key] = list
			}
			return nil
		default:
			return p.err("expected ',' or ']'")
		}
	}
}

// scalar reads a string, number, true, false or null (nil).
func (p *jsonParser) scalar() (any, error) {
	s := p.s
	switch c := s[p.i]; {
	case c == '"':
		return p.str()
	case c == 't' && strings.HasPrefix(s[p.i:], "true"):
		p.i += 4
		return true, nil
	case c == 'f' && strings.HasPrefix(s[p.i:], "false"):
		p.i += 5
		return false, nil
	case c == 'n' && strings.HasPrefix(s[p.i:], "null"):
		p.i += 4
		return nil, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.err("expected a value")
}

// number reads a JSON number. Integers beyond 2^53 stay strings.
func (p *jsonParser) number() (any, error) {
	start := p.i
	s := p.s
	i := p.i
	if s[i] == '-' {
		i++
	}
	intStart := i
	if i < len(s) && s[i] == '0' {
		i++ // JSON allows no leading zeros: "01" ends after the 0
	} else {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i == intStart {
		p.i = i
		return nil, p.err("expected digits")
	}
	integer := true
	if i < len(s) && s[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == d {
			p.i = i
			return nil, p.err("expected digits after '.'")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == d {
			p.i = i
			return nil, p.err("expected exponent digits")
		}
	}
	p.i = i
	lit := s[start:i]
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		if p.record {
			return nil, p.err("a number out of float64's range")
		}
		return lit, nil // out of float64's range: keep the text
	}
	if integer && math.Abs(f) > 1<<53 && !p.record {
		return lit, nil
	}
	return f, nil
}

// str reads a JSON string at p.i (on its opening quote). Without escapes
// the result is a substring of the input. The closing quote (the first
// not escaped by an odd run of backslashes) and the escapes are found
// with IndexByte, which is vectorised: most of a JSON event's bytes are
// in its strings, and Windows paths put a backslash every few bytes.
func (p *jsonParser) str() (string, error) {
	s := p.s
	start := p.i + 1
	end := start
	for {
		q := strings.IndexByte(s[end:], '"')
		if q < 0 {
			p.i = len(s)
			return "", p.err("string not closed")
		}
		end += q
		if !EscapesNext(s[start:end]) {
			break
		}
		end++
	}
	if p.record && !plainText(s[start:end]) {
		p.i = start
		return "", p.err("a control character or invalid UTF-8 in a string") // encoding/json refuses or replaces them
	}
	i := strings.IndexByte(s[start:end], '\\')
	if i < 0 {
		p.i = end + 1
		return s[start:end], nil
	}
	i += start
	// The unescaped text is never longer than the escaped one (\uXXXX
	// is six bytes for at most three): size the builder once.
	var b strings.Builder
	b.Grow(end - start)
	b.WriteString(s[start:i])
	for i < end {
		if s[i] != '\\' {
			j := strings.IndexByte(s[i:end], '\\')
			if j < 0 {
				j = end - i
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		// An escape: the closing quote is not escaped, so a backslash
		// always has a byte after it before end.
		i++
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := hex4(s, i+1)
			if n == 0 {
				p.i = i
				return "", p.err(`bad \u escape`)
			}
			i += n
			if utf16.IsSurrogate(r) {
				r2, n2 := rune(-1), 0
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, n2 = hex4(s, i+3)
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError && n2 > 0 {
					r = d
					i += 2 + n2
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			p.i = i
			return "", p.err("bad escape")
		}
		i++
	}
	p.i = end + 1
	return b.String(), nil
}

// plainText says s, a JSON string's text as written, is valid UTF-8 with
// no control character (JSON wants those escaped).
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// PlainRun is the index of the first byte of s from i on that a JSON
// string cannot hold as it is, or a reader simply pass over — a quote, a
// backslash, a control character, and when ascii is set a byte of a
// multi-byte character (which the caller checks or escapes itself) — or
// len(s). It reads eight bytes at a time: the text of telemetry is mostly
// long runs of plain ASCII (raw lines, messages), which the events
// stream's encoder and decoder both walk.
func PlainRun[T ~string | ~[]byte](s T, i int, ascii bool) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	high := uint64(highs)
	if !ascii {
		high = 0
	}
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := w^(ones*'"'), w^(ones*'\\')
		// A byte's high bit is set where it is zero in q or bs, below
		// 0x20 in w, or (ascii) 0x80 or more in w. Each test may also
		// mark bytes above the first it marks (a borrow), never below:
		// the lowest mark is exact.
		m := (q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w | w&high
		if m &= highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || ascii && c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// EscapesNext says s ends in an odd run of backslashes, so that in a
// JSON string the byte after it (a quote, say) is escaped.
func EscapesNext[T ~string | ~[]byte](s T) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// hex4 reads four hex digits at s[i:], returning the rune and 4 (0 when
// they are not there). The returned count is the number of bytes consumed
// minus one, so the caller's i ends on the last digit.
func hex4(s string, i int) (rune, int) {
	if i+4 > len(s) {
		return 0, 0
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
