package events

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The query language compiled to ClickHouse SQL (ADR 0008). ClickHouse
// 18.16 takes no bound parameters over HTTP, so values are written into
// the SQL as literals, only ever through chString (strings, escaped) and
// chFloat (finite numbers, formatted here); field names are checked by
// the parser (letters, digits and _ . - @ :) and still pass through
// chString. The matching rules are the SQL store's (ADR 0007, decision
// 12): string equality and wildcards ignore case, a bare number equals the
// field's number or its digits as text, ranges compare numbers only, a
// condition on a missing field is false (so NOT of it holds).

// chString is s as a ClickHouse string literal: quotes and backslashes
// escaped, control bytes written as \xHH, so no input can end the literal.
func chString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\'':
			b.WriteString(`\'`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// chFloat is a finite number as a ClickHouse literal.
func chFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("events: %v is not a finite number", f)
	}
	return "(" + strconv.FormatFloat(f, 'g', -1, 64) + ")", nil
}

// chHotFields are fields that are also columns of their own, holding the
// value as text when it is a string or a number and "" otherwise: numeric
// equality and ranges (which only ever match strings and numbers) read
// the column instead of the fields' value array, which holds every value
// of the event. The column name is a constant from this table.
var chHotFields = map[string]string{"EventID": "event_id"}

// chAccess is how a condition reads one field: its value as text, and
// when it has one.
type chAccess struct {
	col    bool
	text   string // the value as text ('' when absent)
	typ    string // its type (chtAbsent…), for fields
	exists string // the event has the field
	valued string // the field is there and not null
}

// chField is the access to field: one of the six columns, or a key of the
// fields arrays (looked up once per row: identical expressions are
// computed once per block).
func chField(field string) chAccess {
	if col, ok := columns[field]; ok {
		return chAccess{col: true, text: col, exists: "(" + col + " != '')", valued: "1"}
	}
	k := chString(field)
	ix := "indexOf(keys, " + k + ")"
	return chAccess{
		text:   "vals[" + ix + "]",
		typ:    "types[" + ix + "]",
		exists: "has(keys, " + k + ")",
		valued: "types[" + ix + "] NOT IN (0, 4)",
	}
}

// guard is a.typ restricted to kinds (for a column, always true).
func (a chAccess) guard(kinds string) string {
	if a.col {
		return "1"
	}
	return a.typ + " IN (" + kinds + ")"
}

// chCompileWhere compiles n (nil matches everything, "1").
func chCompileWhere(n Node) (string, error) {
	if n == nil {
		return "1", nil
	}
	return chNode(n)
}

func chNode(n Node) (string, error) {
	switch n := n.(type) {
	case And:
		return chChain(n, " AND ")
	case Or:
		return chChain(n, " OR ")
	case Not:
		x, err := chNode(n.X)
		if err != nil {
			return "", err
		}
		return "NOT (" + x + ")", nil
	case Compare:
		return chCompare(n.Field, n.Op, n.Value)
	case In:
		parts := make([]string, 0, len(n.Values))
		for _, v := range n.Values {
			s, err := chCompare(n.Field, "=", v)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return balanced(parts, " OR "), nil
	case Exists:
		return chField(n.Field).exists, nil
	case Text:
		return chText(n.Value), nil
	}
	return "", fmt.Errorf("events: cannot compile %T", n)
}

// chChain compiles a run of one operator as a balanced tree, as the SQL
// compiler does (ClickHouse too refuses ASTs deeper than 1,000).
func chChain(n Node, op string) (string, error) {
	var terms []Node
	var collect func(Node)
	collect = func(x Node) {
		switch x := x.(type) {
		case And:
			if op == " AND " {
				collect(x.L)
				collect(x.R)
				return
			}
		case Or:
			if op == " OR " {
				collect(x.L)
				collect(x.R)
				return
			}
		}
		terms = append(terms, x)
	}
	collect(n)
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		s, err := chNode(t)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return balanced(parts, op), nil
}

// chNumeric is text that reads as a decimal number (the SQL stores'
// rule: sign, digits, optional fraction).
var chNumeric = chString(`^[+-]?[0-9]+(\.[0-9]+)?$`)

func chCompare(field, op string, v Value) (string, error) {
	switch op {
	case "=":
		return chEqual(field, v)
	case "!=":
		s, err := chEqual(field, v)
		if err != nil {
			return "", err
		}
		return "NOT " + s, nil
	case ">", ">=", "<", "<=":
		num, err := chFloat(v.Num)
		if err != nil {
			return "", err
		}
		if col, ok := chHotFields[field]; ok {
			return "(match(" + col + ", " + chNumeric + ") AND toFloat64OrZero(" + col + ") " + op + " " + num + ")", nil
		}
		a := chField(field)
		return "(" + a.guard("1, 2") + " AND match(" + a.text + ", " + chNumeric + ") AND toFloat64OrZero(" + a.text + ") " + op + " " + num + ")", nil
	}
	return "", fmt.Errorf("events: unknown operator %q", op)
}

func chEqual(field string, v Value) (string, error) {
	a := chField(field)
	switch {
	case !a.col && !v.Quoted && !v.Wild() && (v.Parts[0] == "true" || v.Parts[0] == "false"):
		// A JSON boolean, not the text "true".
		return "(" + a.guard("3") + " AND " + a.text + " = " + chString(v.Parts[0]) + ")", nil
	case v.IsPrefix:
		return chCIDR(a, v), nil
	case v.IsNum && !a.col:
		// The field's number or its digits as text: numbers are stored
		// in their shortest decimal form, as the query's is written.
		txt := strconv.FormatFloat(v.Num, 'f', -1, 64)
		if col, ok := chHotFields[field]; ok {
			return "(" + col + " = " + chString(txt) + ")", nil
		}
		return "(" + a.guard("1, 2") + " AND " + a.text + " = " + chString(txt) + ")", nil
	}
	var m string
	if !v.Wild() {
		m = "lowerUTF8(" + a.text + ") = lowerUTF8(" + chString(v.Parts[0]) + ")"
	} else {
		m = "lowerUTF8(" + a.text + ") LIKE lowerUTF8(" + chString(likePattern(v.Parts, false)) + ")"
	}
	return "(" + a.guard("1, 2, 3, 5") + " AND " + m + ")", nil
}

// chCIDR matches string values that are addresses inside v's prefix: an
// IPv4 prefix takes dotted quads, compared as numbers under the mask; an
// IPv6 prefix takes any spelling IPv6StringToNum reads (compressed, upper
// case, IPv4-mapped), compared byte by byte, and nothing it cannot read.
func chCIDR(a chAccess, v Value) string {
	p := v.Prefix
	g := a.guard("1")
	if p.Addr().Is4() {
		b := p.Addr().As4()
		if p.Bits() == 32 {
			return "(" + g + " AND " + a.text + " = " + chString(p.Addr().String()) + ")"
		}
		net := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		mask := uint32(0)
		if p.Bits() > 0 {
			mask = ^uint32(0) << (32 - p.Bits())
		}
		return "(" + g + " AND match(" + a.text + ", " + chString(`^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$`) + ") AND bitAnd(IPv4StringToNum(" + a.text + "), " +
			strconv.FormatUint(uint64(mask), 10) + ") = " + strconv.FormatUint(uint64(net&mask), 10) + ")"
	}
	x := "IPv6StringToNum(" + a.text + ")"
	parts := []string{g, "position(" + a.text + ", ':') > 0",
		// Unreadable text reads as ::, which only zeros and colons spell.
		"(" + x + " != toFixedString('', 16) OR match(" + a.text + ", '^[0:]+$'))"}
	b := p.Addr().As16()
	whole, rem := p.Bits()/8, p.Bits()%8
	if whole > 0 {
		parts = append(parts, "substring("+x+", 1, "+strconv.Itoa(whole)+") = unhex('"+fmt.Sprintf("%X", b[:whole])+"')")
	}
	if rem > 0 {
		m := byte(0xff) << (8 - rem)
		parts = append(parts, "bitAnd(reinterpretAsUInt8(substring("+x+", "+strconv.Itoa(whole+1)+", 1)), "+strconv.Itoa(int(m))+") = "+strconv.Itoa(int(b[whole]&m)))
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// chText is free text: the term in the fields' JSON text (escaped as JSON
// writes it) or in the raw text of an event that could not be parsed.
func chText(v Value) string {
	if !v.Wild() {
		return "(positionCaseInsensitiveUTF8(fields, " + chString(jsonEscape(v.Parts[0])) + ") > 0 OR positionCaseInsensitiveUTF8(raw_text, " + chString(v.Parts[0]) + ") > 0)"
	}
	return "(lowerUTF8(fields) LIKE lowerUTF8(" + chString(likePattern(jsonEscapeParts(v.Parts), true)) + ") OR lowerUTF8(raw_text) LIKE lowerUTF8(" + chString(likePattern(v.Parts, true)) + "))"
}
