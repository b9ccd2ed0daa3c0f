package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tErr         // a lexical error; text holds the message
	tIdent
	tString
	tInt
	tFloat
	tHex
	tBinary
	tTimestamp
	tBool
	tKeyword
	tEq
	tNeq
	tLt
	tLe
	tGt
	tGe
	tColon
	tDot
	tComma
	tLParen
	tRParen
	tLBrack
	tRBrack
	tStar
)

var keywords = map[string]struct{}{
	"AND": {}, "OR": {}, "NOT": {}, "FOLLOWEDBY": {}, "LIKE": {}, "MATCHES": {}, "ISSUPERSET": {},
	"ISSUBSET": {}, "EXISTS": {}, "LAST": {}, "IN": {}, "START": {}, "STOP": {}, "SECONDS": {},
	"WITHIN": {}, "REPEATS": {}, "TIMES": {}, "true": {}, "false": {},
}

type token struct {
	kind tokKind
	pos  int    // byte offset
	text string // source text; for tString the unescaped value; for tErr the message
	// hyphen says an identifier holds a hyphen: allowed in object types,
	// not in property names.
	hyphen bool
	neg    bool // a number written with a leading '-'
	i      int64
	f      float64
	b      []byte
	t      time.Time
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return "string " + quote(t.text)
	case tErr:
		return t.text
	}
	return strconv.Quote(t.text)
}

// isSpace is the grammar's WS rule.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex splits src into tokens. A lexical error becomes a tErr token where it
// happened and ends the stream, so the parser reports errors in the order
// they appear.
func lex(src string) []token {
	var toks []token
	i := 0
	for {
		// Whitespace and comments.
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if isSpace(r) {
				i += n
				continue
			}
			if r == '/' && i+1 < len(src) && src[i+1] == '*' {
				end := indexFrom(src, "*/", i+2)
				if end < 0 {
					return append(toks, token{kind: tErr, pos: i, text: "unterminated comment"})
				}
				i = end + 2
				continue
			}
			if r == '/' && i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' && src[i] != '\r' {
					i++
				}
				continue
			}
			break
		}
		if i >= len(src) {
			return append(toks, token{kind: tEOF, pos: i})
		}
		t, n := lexOne(src, i)
		toks = append(toks, t)
		if t.kind == tErr {
			return toks
		}
		i += n
	}
}

func indexFrom(s, sub string, from int) int {
	for j := from; j+len(sub) <= len(s); j++ {
		if s[j:j+len(sub)] == sub {
			return j
		}
	}
	return -1
}

func lexOne(src string, i int) (token, int) {
	c := src[i]
	errAt := func(pos int, msg string) (token, int) { return token{kind: tErr, pos: pos, text: msg}, 0 }
	two := ""
	if i+1 < len(src) {
		two = src[i : i+2]
	}
	switch {
	case (c == 't' || c == 'h' || c == 'b') && i+1 < len(src) && src[i+1] == '\'':
		return lexTyped(src, i)
	case isIdentStart(c):
		j, hyphen := i+1, false
		for j < len(src) && (isIdentStart(src[j]) || isDigit(src[j]) || src[j] == '-') {
			hyphen = hyphen || src[j] == '-'
			j++
		}
		text := src[i:j]
		if text == "true" || text == "false" {
			return token{kind: tBool, pos: i, text: text}, j - i
		}
		if _, ok := keywords[text]; ok {
			return token{kind: tKeyword, pos: i, text: text}, j - i
		}
		return token{kind: tIdent, pos: i, text: text, hyphen: hyphen}, j - i
	case c == '\'':
		s, n, msg, at := lexString(src, i)
		if msg != "" {
			return errAt(at, msg)
		}
		return token{kind: tString, pos: i, text: s}, n
	case isDigit(c) || c == '+' || c == '-' || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
		return lexNumber(src, i)
	case two == "==" || two == "!=" || two == "<>" || two == "<=" || two == ">=":
		k := map[string]tokKind{"==": tEq, "!=": tNeq, "<>": tNeq, "<=": tLe, ">=": tGe}[two]
		return token{kind: k, pos: i, text: two}, 2
	}
	single := map[byte]tokKind{'=': tEq, '<': tLt, '>': tGt, ':': tColon, '.': tDot, ',': tComma,
		'(': tLParen, ')': tRParen, '[': tLBrack, ']': tRBrack, '*': tStar}
	if k, ok := single[c]; ok {
		return token{kind: k, pos: i, text: string(c)}, 1
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return errAt(i, "unexpected character "+strconv.QuoteRune(r))
}

// lexString reads a quoted string; the only escapes are \' and \\.
func lexString(src string, i int) (val string, n int, msg string, at int) {
	var b []byte
	j := i + 1
	for j < len(src) {
		switch src[j] {
		case '\'':
			return string(b), j + 1 - i, "", 0
		case '\\':
			if j+1 < len(src) && (src[j+1] == '\'' || src[j+1] == '\\') {
				b = append(b, src[j+1])
				j += 2
				continue
			}
			return "", 0, `invalid escape in string: only \' and \\ may follow a backslash`, j
		}
		b = append(b, src[j])
		j++
	}
	return "", 0, "unterminated string (no closing ')", i
}

// lexTyped reads t'…', h'…' or b'…'.
func lexTyped(src string, i int) (token, int) {
	end := i + 2
	for end < len(src) && src[end] != '\'' {
		end++
	}
	if end >= len(src) {
		return token{kind: tErr, pos: i, text: "unterminated " + string(src[i]) + "'…' literal"}, 0
	}
	body := src[i+2 : end]
	n := end + 1 - i
	tok := token{pos: i, text: src[i : end+1]}
	switch src[i] {
	case 't':
		t, ok := parseTimestamp(body)
		if !ok {
			return token{kind: tErr, pos: i, text: "invalid timestamp literal " + tok.text + ": want t'YYYY-MM-DDThh:mm:ss[.s+]Z' (UTC, month 01-12, day 01-31, hour 00-23, second 00-60)"}, 0
		}
		tok.kind, tok.t = tTimestamp, t
	case 'h':
		if len(body)%2 != 0 || !allHex(body) {
			return token{kind: tErr, pos: i, text: "invalid hex literal " + tok.text + ": want pairs of hex digits"}, 0
		}
		tok.kind = tHex
		tok.b, _ = hex.DecodeString(body)
	default:
		if !validBase64(body) {
			return token{kind: tErr, pos: i, text: "invalid binary literal " + tok.text + ": want padded base64 (groups of 4 characters A-Z a-z 0-9 + /)"}, 0
		}
		tok.kind = tBinary
		tok.b, _ = base64.StdEncoding.DecodeString(body)
	}
	return tok, n
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validBase64 is the grammar's BinaryLiteral body: one or more groups of
// four, the last possibly ending in = or ==.
func validBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	b64 := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/'
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if b64(c) {
			continue
		}
		// '=' only in the last group: "xxx=" or "xx==".
		if c == '=' && (i == len(s)-1 || i == len(s)-2 && s[len(s)-1] == '=') && i >= len(s)-2 {
			continue
		}
		return false
	}
	return true
}

// parseTimestamp checks the grammar's TimestampLiteral exactly: the fields'
// ranges, not the calendar (t'2024-02-30T…' is valid syntax), and the
// second may be 60 (a leap second).
func parseTimestamp(s string) (time.Time, bool) {
	// YYYY-MM-DDThh:mm:ss[.f+]Z
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		v := 0
		for k := a; k < b; k++ {
			if !isDigit(s[k]) {
				return 0, false
			}
			v = v*10 + int(s[k]-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	nsec := 0
	rest := s[19 : len(s)-1]
	if rest != "" {
		if rest[0] != '.' || len(rest) < 2 {
			return time.Time{}, false
		}
		scale := 100000000
		for k := 1; k < len(rest); k++ {
			if !isDigit(rest[k]) {
				return time.Time{}, false
			}
			nsec += int(rest[k]-'0') * scale
			scale /= 10
		}
	}
	// time.Date normalises out-of-range days and the leap second, which
	// is what evaluation wants of a syntactically valid timestamp.
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// lexNumber reads IntPosLiteral, IntNegLiteral, FloatPosLiteral or
// FloatNegLiteral: [+-]? digits, or [+-]? digits? . digits.
func lexNumber(src string, i int) (token, int) {
	j := i
	neg := false
	if src[j] == '+' || src[j] == '-' {
		neg = src[j] == '-'
		j++
	}
	ds := j
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	intDigits := src[ds:j]
	if j < len(src) && src[j] == '.' && j+1 < len(src) && isDigit(src[j+1]) {
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		f, err := strconv.ParseFloat(src[i:j], 64)
		if err != nil {
			return token{kind: tErr, pos: i, text: "invalid number " + strconv.Quote(src[i:j])}, 0
		}
		return token{kind: tFloat, pos: i, text: src[i:j], f: f, neg: neg}, j - i
	}
	if intDigits == "" {
		return token{kind: tErr, pos: i, text: "unexpected character " + strconv.QuoteRune(rune(src[i])) + ": a sign must be followed by a number"}, 0
	}
	if len(intDigits) > 1 && intDigits[0] == '0' {
		return token{kind: tErr, pos: i, text: "invalid integer " + strconv.Quote(src[i:j]) + ": no leading zeros"}, 0
	}
	v, err := strconv.ParseInt(src[i:j], 10, 64)
	if err != nil {
		return token{kind: tErr, pos: i, text: "integer " + strconv.Quote(src[i:j]) + " out of range (64-bit)"}, 0
	}
	return token{kind: tInt, pos: i, text: src[i:j], i: v, neg: neg}, j - i
}
