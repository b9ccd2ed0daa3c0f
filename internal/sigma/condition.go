package sigma

import (
	"fmt"
	"strings"
)

// Expr is a parsed condition: one of *AndExpr, *OrExpr, *NotExpr,
// *SearchRef and *OfExpr. The set is sealed (an unexported method), so a
// switch over it in this package is exhaustive.
type Expr interface {
	// Offset is the 0-based byte offset in the condition where the
	// expression starts.
	Offset() int
	// String is the expression in Sigma syntax, fully parenthesised.
	String() string
	expr()
}

// AndExpr is true when every argument is.
type AndExpr struct {
	Args []Expr
	At   int
}

// OrExpr is true when any argument is.
type OrExpr struct {
	Args []Expr
	At   int
}

// NotExpr negates X.
type NotExpr struct {
	X  Expr
	At int
}

// SearchRef names one search identifier.
type SearchRef struct {
	Name string
	At   int
}

// OfExpr is "1 of PATTERN" or "all of PATTERN" (All). Pattern is the
// search-identifier pattern with * wildcards, or "them" for every search
// whose name does not start with "_".
type OfExpr struct {
	All     bool
	Pattern string
	At      int
}

func (e *AndExpr) Offset() int   { return e.At }
func (e *OrExpr) Offset() int    { return e.At }
func (e *NotExpr) Offset() int   { return e.At }
func (e *SearchRef) Offset() int { return e.At }
func (e *OfExpr) Offset() int    { return e.At }
func (*AndExpr) expr()           {}
func (*OrExpr) expr()            {}
func (*NotExpr) expr()           {}
func (*SearchRef) expr()         {}
func (*OfExpr) expr()            {}

func (e *AndExpr) String() string { return joinExprs(e.Args, " and ") }
func (e *OrExpr) String() string  { return joinExprs(e.Args, " or ") }
func (e *NotExpr) String() string { return "not " + e.X.String() }
func (e *SearchRef) String() string {
	return e.Name
}
func (e *OfExpr) String() string {
	if e.All {
		return "all of " + e.Pattern
	}
	return "1 of " + e.Pattern
}

func joinExprs(args []Expr, sep string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// ConditionError is a condition that does not parse, at a byte offset.
type ConditionError struct {
	Offset      int
	Msg         string
	Unsupported bool
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Msg)
}

// Is makes errors.Is(err, ErrUnsupported) true for unsupported forms.
func (e *ConditionError) Is(target error) bool { return target == ErrUnsupported && e.Unsupported }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tAnd
	tOr
	tNot
	tOf
	tOne
	tAll
	tThem
	tLParen
	tRParen
	tNumber
)

type token struct {
	kind tokKind
	text string
	at   int
}

// maxConditionDepth bounds nesting, so a hostile condition of a million
// "(" or "not" cannot exhaust the stack.
const maxConditionDepth = 100

// maxConditionLen bounds a condition's length.
const maxConditionLen = 64 << 10

// ParseCondition parses a Sigma condition. Precedence, from least to most
// binding: or, and, not, "x of", parentheses. Keywords are
// case-insensitive. The deprecated aggregation form ("… | count() > 5")
// and "N of" for N other than 1 are reported as unsupported. It never
// panics; errors are *ConditionError.
func ParseCondition(s string) (e Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, &ConditionError{Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	if len(s) > maxConditionLen {
		return nil, &ConditionError{Msg: fmt.Sprintf("condition is %d bytes, over the %d limit", len(s), maxConditionLen)}
	}
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, &ConditionError{Msg: "empty condition"}
	}
	e, err = p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &ConditionError{Offset: t.at, Msg: fmt.Sprintf("unexpected %q", t.text)}
	}
	return e, nil
}

func lexCondition(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == '|':
			return nil, &ConditionError{Offset: i, Msg: "aggregation expressions (\"| count() …\") are Sigma 1 and not supported; write a correlation rule", Unsupported: true}
		case identByte(c):
			j := i
			for j < len(s) && identByte(s[j]) {
				j++
			}
			w := s[i:j]
			t := token{tIdent, w, i}
			switch strings.ToLower(w) {
			case "and":
				t.kind = tAnd
			case "or":
				t.kind = tOr
			case "not":
				t.kind = tNot
			case "of":
				t.kind = tOf
			case "all":
				t.kind = tAll
			case "them":
				t.kind = tThem
			case "1":
				t.kind = tOne
			default:
				if allDigits(w) {
					t.kind = tNumber
				}
			}
			toks = append(toks, t)
			i = j
		default:
			return nil, &ConditionError{Offset: i, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
		}
	}
	return append(toks, token{tEOF, "end of condition", len(s)}), nil
}

func identByte(c byte) bool {
	return c == '_' || c == '*' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

type condParser struct {
	toks []token
	i    int
}

func (p *condParser) peek() token { return p.toks[p.i] }
func (p *condParser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *condParser) or(depth int) (Expr, error) {
	at := p.peek().at
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.peek().kind == tOr {
		p.next()
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &OrExpr{Args: args, At: at}, nil
}

func (p *condParser) and(depth int) (Expr, error) {
	at := p.peek().at
	first, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.peek().kind == tAnd {
		p.next()
		e, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &AndExpr{Args: args, At: at}, nil
}

func (p *condParser) not(depth int) (Expr, error) {
	if depth > maxConditionDepth {
		return nil, &ConditionError{Offset: p.peek().at, Msg: fmt.Sprintf("nested more than %d deep", maxConditionDepth)}
	}
	if t := p.peek(); t.kind == tNot {
		p.next()
		x, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &NotExpr{X: x, At: t.at}, nil
	}
	return p.primary(depth)
}

func (p *condParser) primary(depth int) (Expr, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &ConditionError{Offset: c.at, Msg: fmt.Sprintf("expected \")\" to close the \"(\" at offset %d, found %q", t.at, c.text)}
		}
		return e, nil
	case tOne, tAll, tNumber:
		if p.peek().kind != tOf {
			if t.kind == tOne || t.kind == tNumber {
				// A search may be named "1"; treat a lone number as one.
				return &SearchRef{Name: t.text, At: t.at}, nil
			}
			return nil, &ConditionError{Offset: p.peek().at, Msg: fmt.Sprintf("expected \"of\" after %q, found %q", t.text, p.peek().text)}
		}
		if t.kind == tNumber {
			return nil, &ConditionError{Offset: t.at, Msg: fmt.Sprintf("%q of: only \"1 of\" and \"all of\" are Sigma", t.text), Unsupported: true}
		}
		p.next() // of
		target := p.next()
		switch target.kind {
		case tThem:
			return &OfExpr{All: t.kind == tAll, Pattern: "them", At: t.at}, nil
		case tIdent, tOne, tNumber:
			return &OfExpr{All: t.kind == tAll, Pattern: target.text, At: t.at}, nil
		}
		return nil, &ConditionError{Offset: target.at, Msg: fmt.Sprintf("expected a search-identifier pattern or \"them\" after \"of\", found %q", target.text)}
	case tIdent:
		return &SearchRef{Name: t.text, At: t.at}, nil
	case tEOF:
		return nil, &ConditionError{Offset: t.at, Msg: "unexpected end of condition"}
	}
	return nil, &ConditionError{Offset: t.at, Msg: fmt.Sprintf("unexpected %q", t.text)}
}
