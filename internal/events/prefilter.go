package events

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/flatjson"
)

// A prefilter is what an event's line must hold for a query to match it,
// so that the block store decodes and matches only the lines that hold it
// (a look for a few bytes costs a fraction of decoding the event). Each
// clause is a set of literals, lower case, one of which must be in the
// line, ignoring ASCII case. It is a necessary condition, never a
// sufficient one: the match (match.go) decides. TestMatchAgreesWithSQLite
// holds it to that over lines written every way JSON allows.
//
// A literal is drawn from a value the query compares for equality, lists,
// or searches as free text, and only where the line must spell it as the
// query does:
//   - a run of printable ASCII that JSON writes as itself (no quote,
//     backslash or < > &), three bytes or more;
//   - for a field's value, also without [ ] { } , : (a list or object is
//     matched as SQLite writes it back, without the spaces between its
//     tokens) and with a byte that no number's text has (a number is
//     matched as SQLite writes it, 1E5 as 100000.0);
//   - a number's digits, for a whole number under 10^15 other than 0 and
//     1 (which equal false and true), only in blocks whose numbers are
//     all plain (blockPlain: no exponent, at most 15 significant digits,
//     so a number equal to 4688 is spelt 4688 or 4688.0…).
//
// A line with an escape that may stand for a plain byte (\u… or \/) passes
// whatever it holds: a string's text is then not its spelling.
type prefilter [][][]byte

// minLiteral is the shortest literal worth looking for.
const minLiteral = 3

// prefilterOf is n's prefilter for a block whose numbers are plain or not:
// empty when nothing is required.
func prefilterOf(n Node, plainNumbers bool) prefilter {
	switch n := n.(type) {
	case And:
		return append(prefilterOf(n.L, plainNumbers), prefilterOf(n.R, plainNumbers)...)
	case Or:
		// (a ∧ …) ∨ (b ∧ …) needs a or b.
		l, r := prefilterOf(n.L, plainNumbers), prefilterOf(n.R, plainNumbers)
		if len(l) == 0 || len(r) == 0 {
			return nil
		}
		return prefilter{append(append([][]byte(nil), l[0]...), r[0]...)}
	case Compare:
		if n.Op != "=" {
			return nil
		}
		if lit := fieldLiteral(n.Value, plainNumbers); lit != nil {
			return prefilter{{lit}}
		}
	case In:
		var c [][]byte
		for _, v := range n.Values {
			lit := fieldLiteral(v, plainNumbers)
			if lit == nil {
				return nil
			}
			c = append(c, lit)
		}
		if len(c) > 0 {
			return prefilter{c}
		}
	case Text:
		if lit := longestRun(n.Value.Parts, plainJSON); lit != nil {
			return prefilter{{lit}}
		}
	}
	return nil
}

// fieldLiteral is the literal a field's (or column's) equality with v
// needs in the line, or nil.
func fieldLiteral(v Value, plainNumbers bool) []byte {
	switch {
	case v.IsPrefix:
		return nil
	case v.IsNum && !v.Quoted:
		f := v.Num
		if !plainNumbers || f != math.Trunc(f) || math.Abs(f) >= 1e15 || f == 0 || f == 1 {
			return nil
		}
		s := strconv.FormatInt(int64(f), 10)
		if len(s) < minLiteral {
			return nil
		}
		return []byte(s)
	case !v.Quoted && !v.Wild() && (v.Parts[0] == "true" || v.Parts[0] == "false"):
		return nil // a JSON boolean, or a column's text
	}
	lit := longestRun(v.Parts, func(c byte) bool {
		return plainJSON(c) && c != '[' && c != ']' && c != '{' && c != '}' && c != ',' && c != ':'
	})
	if bytes.IndexFunc(lit, func(r rune) bool { return !numberByte(byte(r)) }) < 0 {
		return nil // what a number's text could be
	}
	return lit
}

// numberByte says whether c may be in a number as SQLite writes it (digits,
// point, sign, exponent, Inf, NaN), in either case.
func numberByte(c byte) bool {
	switch c | 0x20 {
	case 'e', 'i', 'n', 'f', 'a':
		return true
	}
	return c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-'
}

// longestRun is the longest run of bytes ok accepts in parts, lower case,
// or nil when it is shorter than minLiteral.
func longestRun(parts []string, ok func(byte) bool) []byte {
	var best string
	for _, p := range parts {
		// SQLite reads a pattern to its first NUL: what follows is not
		// looked for.
		cut := false
		if i := strings.IndexByte(p, 0); i >= 0 {
			p, cut = p[:i], true
		}
		for start := 0; start < len(p); {
			end := start
			for end < len(p) && ok(p[end]) {
				end++
			}
			if end-start > len(best) {
				best = p[start:end]
			}
			start = end + 1
		}
		if cut {
			break
		}
	}
	if len(best) < minLiteral {
		return nil
	}
	return lowerASCII([]byte(best))
}

// plainJSON says whether JSON encoders write c as itself in a string.
func plainJSON(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// pass says whether line holds one literal of every clause (or an escape
// that may hide one).
func (p prefilter) pass(line []byte) bool {
	for _, c := range p {
		found := false
		for _, lit := range c {
			if indexFold(line, lit) >= 0 {
				found = true
				break
			}
		}
		if !found && !plainEscapes(line) {
			return false
		}
	}
	return true
}

// plainEscapes says whether line has an escape that may stand for a
// printable byte: \u… or \/ (a \\ is a backslash, which no literal holds).
func plainEscapes(line []byte) bool {
	for i := bytes.IndexByte(line, '\\'); i >= 0 && i+1 < len(line); {
		switch line[i+1] {
		case 'u', '/':
			return true
		}
		j := bytes.IndexByte(line[i+2:], '\\')
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// blockPlain says whether every number in the lines is plain: no exponent
// and at most 15 significant digits, so that one equal to a whole number
// under 10^15 is spelt with its digits. Strings are passed over.
func blockPlain(lines []byte) bool {
	return NumbersPlain(lines)
}

// NumbersPlain says whether every number in JSON text (one value, or
// lines of them) is plain: no exponent and at most 15 significant
// digits. A producer that writes stream lines itself tells the block
// store so (Event.SetStreamLine) by asking this of the numbers it
// wrote, rather than the store asking it of every line.
func NumbersPlain(lines []byte) bool {
	for i := 0; i < len(lines); i++ {
		switch c := lines[i]; {
		case c == '"':
			// To the closing quote: the next one not escaped by an odd
			// run of backslashes before it (IndexByte passes the string's
			// bytes many at a time).
			for start := i + 1; ; {
				j := bytes.IndexByte(lines[i+1:], '"')
				if j < 0 {
					return true
				}
				i += 1 + j
				if !flatjson.EscapesNext(lines[start:i]) {
					break
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
