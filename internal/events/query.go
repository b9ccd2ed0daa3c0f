package events

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/fault"
)

// The analysts' query language (docs/events-query.md): parse turns text
// into an AST, compile.go turns the AST into SQL for a dialect. The text
// never reaches SQL: field names and values become bound arguments, and
// only the fixed spellings in compile.go are SQL.
//
//	query   = or
//	or      = and { "OR" and }
//	and     = not { ["AND"] not }          juxtaposition is AND
//	not     = "NOT" not | primary
//	primary = "(" or ")" | "exists" "(" field ")"
//	        | field op value | field "in" "(" value { "," value } ")"
//	        | word | "quoted phrase"        free text
//	op      = "=" | "!=" | ">" | ">=" | "<" | "<="
//
// Keywords are case-insensitive. A value is a bare word or a quoted
// string; `*` in either is a wildcard (`\*` a literal star); a bare word
// that is a number compares numerically with > >= < <=, and a bare word
// that is an IPv4 prefix (10.0.0.0/8) matches addresses inside it.

// MaxQueryLen bounds a query's text; longer text is refused before
// parsing, so a pasted log file does not become a million-term query.
const MaxQueryLen = 8192

// maxDepth bounds nesting (parentheses and NOT), so a hostile query cannot
// exhaust the stack.
const maxDepth = 64

// Node is a node of a parsed query: a sealed interface, one type per form.
type Node interface{ node() }

// And, Or and Not combine conditions.
type (
	And struct{ L, R Node }
	Or  struct{ L, R Node }
	Not struct{ X Node }
)

// Compare is `field op value`; In is `field in (v, …)` (any of them equal).
type Compare struct {
	Field string
	Op    string // = != > >= < <=
	Value Value
}

// In is `field in (v1, v2, …)`.
type In struct {
	Field  string
	Values []Value
}

// Exists is `exists(field)`: the event has the field, whatever its value.
type Exists struct{ Field string }

// Text is free text: a word or phrase anywhere in the event's fields (or
// its raw text when it could not be parsed).
type Text struct{ Value Value }

func (And) node()     {}
func (Or) node()      {}
func (Not) node()     {}
func (Compare) node() {}
func (In) node()      {}
func (Exists) node()  {}
func (Text) node()    {}

// Value is a literal as the analyst wrote it. Parts are the literal pieces
// between wildcards: "a*b" is ["a", "b"], "*x*" is ["", "x", ""], and a
// value without wildcards has one part.
type Value struct {
	Parts []string
	// Quoted values are always strings; a bare word may also be a number
	// (Num, IsNum) or an IPv4 or IPv6 prefix (Prefix, IsPrefix).
	Quoted   bool
	Num      float64
	IsNum    bool
	Prefix   netip.Prefix
	IsPrefix bool
	Pos      int
}

// Wild reports whether the value has a wildcard.
func (v Value) Wild() bool { return len(v.Parts) > 1 }

// Literal is the value's text with its wildcards written as `*`.
func (v Value) Literal() string { return strings.Join(v.Parts, "*") }

// SyntaxError is a query that cannot be parsed: Pos is the byte offset in
// the query where the problem is (0-based), Msg what is wrong there.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("query: at %d: %s", e.Pos, e.Msg) }

// Invalid turns the error into fault's vocabulary, so the API answers 400
// naming the query and the position.
func (e *SyntaxError) Unwrap() error {
	return &fault.Invalid{Field: "query", Reason: fmt.Sprintf("at character %d: %s", e.Pos+1, e.Msg)}
}

// Parse parses a query. The empty query (only spaces) is nil: it matches
// every event in scope and time. Parse never panics; a panic inside is
// turned into an error at the entry, as promql's parser does.
func Parse(text string) (n Node, err error) {
	if len(text) > MaxQueryLen {
		return nil, &SyntaxError{Pos: MaxQueryLen, Msg: fmt.Sprintf("the query is longer than %d characters", MaxQueryLen)}
	}
	if !utf8.ValidString(text) {
		return nil, &SyntaxError{Pos: 0, Msg: "the query is not valid UTF-8"}
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, &SyntaxError{Pos: 0, Msg: fmt.Sprintf("internal parser error: %v", r)}
		}
	}()
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, end: len(text)}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	n, err = p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, &SyntaxError{Pos: t.pos, Msg: "unbalanced ')'"}
		}
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unexpected %s", t.describe())}
	}
	return n, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tComma
	tOp
)

type token struct {
	kind tokKind
	text string // tWord: as written; tString: unescaped (wildcards kept in parts); tOp: the operator
	// parts are the literal pieces between wildcards of a word or string.
	parts []string
	pos   int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "quoted string"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tComma:
		return "','"
	case tOp:
		return "'" + t.text + "'"
	}
	return "'" + t.text + "'"
}

// wordStop reports the bytes that end a bare word.
func wordStop(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`()=!<>,"`, r)
}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '(':
			out = append(out, token{kind: tLParen, pos: i})
			i++
		case r == ')':
			out = append(out, token{kind: tRParen, pos: i})
			i++
		case r == ',':
			out = append(out, token{kind: tComma, pos: i})
			i++
		case r == '=' || r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(s) && s[i+1] == '=' && r != '=' {
				op += "="
			}
			if op == "!" {
				return nil, &SyntaxError{Pos: i, Msg: "'!' must be followed by '=' (use NOT to negate)"}
			}
			out = append(out, token{kind: tOp, text: op, pos: i})
			i += len(op)
		case r == '"':
			start := i
			i++
			var parts []string
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case '\\', '"', '*':
						b.WriteByte(s[i+1])
						i += 2
						continue
					}
				}
				if c == '*' {
					parts = append(parts, b.String())
					b.Reset()
					i++
					continue
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, &SyntaxError{Pos: start, Msg: "unterminated quoted string"}
			}
			parts = append(parts, b.String())
			out = append(out, token{kind: tString, text: strings.Join(parts, "*"), parts: parts, pos: start})
		default:
			start := i
			var parts []string
			var b strings.Builder
			for i < len(s) {
				r, w := utf8.DecodeRuneInString(s[i:])
				if wordStop(r) {
					break
				}
				if r == '\\' && i+1 < len(s) && s[i+1] == '*' {
					b.WriteByte('*')
					i += 2
					continue
				}
				if r == '*' {
					parts = append(parts, b.String())
					b.Reset()
					i++
					continue
				}
				b.WriteString(s[i : i+w])
				i += w
			}
			parts = append(parts, b.String())
			out = append(out, token{kind: tWord, text: s[start:i], parts: parts, pos: start})
		}
	}
	out = append(out, token{kind: tEOF, pos: len(s)})
	return out, nil
}

type parser struct {
	toks []token
	i    int
	end  int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isKeyword(t token, kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

func (p *parser) or(depth int) (Node, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "OR") {
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = Or{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (Node, error) {
	l, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tEOF || t.kind == tRParen || isKeyword(t, "OR") {
			return l, nil
		}
		if isKeyword(t, "AND") {
			p.next()
		}
		r, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		l = And{l, r}
	}
}

func (p *parser) not(depth int) (Node, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{Pos: p.peek().pos, Msg: fmt.Sprintf("the query nests deeper than %d levels", maxDepth)}
	}
	if isKeyword(p.peek(), "NOT") {
		p.next()
		x, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return Not{x}, nil
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (Node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &SyntaxError{Pos: c.pos, Msg: fmt.Sprintf("expected ')' to close the '(' at %d, found %s", t.pos+1, c.describe())}
		}
		return x, nil
	case tString:
		return Text{Value: Value{Parts: t.parts, Quoted: true, Pos: t.pos}}, nil
	case tWord:
		switch {
		case isKeyword(t, "AND") || isKeyword(t, "OR"):
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("%s needs a condition before it", strings.ToUpper(t.text))}
		case isKeyword(t, "exists") && p.peek().kind == tLParen:
			p.next()
			f := p.next()
			if f.kind != tWord {
				return nil, &SyntaxError{Pos: f.pos, Msg: "exists( needs a field name"}
			}
			if err := checkField(f); err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tRParen {
				return nil, &SyntaxError{Pos: c.pos, Msg: "expected ')' after the field name of exists("}
			}
			return Exists{Field: f.text}, nil
		}
		nt := p.peek()
		if nt.kind == tOp {
			if err := checkField(t); err != nil {
				return nil, err
			}
			p.next()
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if nt.text != "=" && nt.text != "!=" {
				if !v.IsNum {
					return nil, &SyntaxError{Pos: v.Pos, Msg: fmt.Sprintf("%s needs a number, not %q", nt.text, v.Literal())}
				}
			}
			return Compare{Field: t.text, Op: nt.text, Value: v}, nil
		}
		if isKeyword(nt, "in") && p.toks[p.i+1].kind == tLParen {
			if err := checkField(t); err != nil {
				return nil, err
			}
			p.next()
			open := p.next()
			var vs []Value
			for {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				vs = append(vs, v)
				c := p.next()
				if c.kind == tRParen {
					break
				}
				if c.kind != tComma {
					return nil, &SyntaxError{Pos: c.pos, Msg: fmt.Sprintf("expected ',' or ')' in the list opened at %d, found %s", open.pos+1, c.describe())}
				}
			}
			return In{Field: t.text, Values: vs}, nil
		}
		v := wordValue(t)
		return Text{Value: v}, nil
	case tEOF:
		return nil, &SyntaxError{Pos: t.pos, Msg: "the query ends where a condition was expected"}
	}
	return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unexpected %s", t.describe())}
}

func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return Value{Parts: t.parts, Quoted: true, Pos: t.pos}, nil
	case tWord:
		return wordValue(t), nil
	}
	return Value{}, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a value, found %s", t.describe())}
}

func wordValue(t token) Value {
	v := Value{Parts: t.parts, Pos: t.pos}
	if len(t.parts) == 1 {
		if f, err := strconv.ParseFloat(t.parts[0], 64); err == nil && !strings.ContainsAny(t.parts[0], "xXnN_") {
			v.Num, v.IsNum = f, true
		}
		if strings.Contains(t.parts[0], "/") {
			if pf, err := netip.ParsePrefix(t.parts[0]); err == nil {
				v.Prefix, v.IsPrefix = pf.Masked(), true
			}
		}
	}
	return v
}

// checkField accepts the names fields have: letters, digits and _ . - @ :
// (Windows and ECS names, dotted paths of flattened objects). A quote or a
// wildcard in a name is refused, since it cannot be matched safely as a
// JSON key.
func checkField(t token) error {
	if len(t.parts) > 1 {
		return &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("a field name cannot have a wildcard: %q", t.text)}
	}
	for i, r := range t.text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-@:", r) {
			continue
		}
		return &SyntaxError{Pos: t.pos + i, Msg: fmt.Sprintf("%q cannot be part of a field name", r)}
	}
	if len(t.text) > 256 {
		return &SyntaxError{Pos: t.pos, Msg: "the field name is longer than 256 characters"}
	}
	return nil
}
