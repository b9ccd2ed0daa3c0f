package pattern

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Error is a pattern that does not parse or does not validate.
type Error struct {
	// Offset is the byte offset of the offending token in the pattern;
	// Line and Column (both from 1, the column counting characters) say
	// the same for people.
	Offset, Line, Column int
	Msg                  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d column %d: %s", e.Line, e.Column, e.Msg)
}

// Caret renders the error under the line of src it points into:
//
//	[file:size = ]
//	             ^ expected a value …
func (e *Error) Caret(src string) string {
	start := strings.LastIndexAny(src[:min(e.Offset, len(src))], "\r\n") + 1
	end := strings.IndexAny(src[start:], "\r\n")
	if end < 0 {
		end = len(src)
	} else {
		end += start
	}
	return src[start:end] + "\n" + strings.Repeat(" ", e.Column-1) + "^ " + e.Msg
}

func newError(src string, off int, format string, a ...any) *Error {
	off = min(max(off, 0), len(src))
	line, col := 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return &Error{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, a...)}
}

// Parse parses and validates a STIX 2.1 pattern.
func Parse(src string) (p *Pattern, err error) {
	defer func() {
		// The parser is written not to panic; this keeps a bug from
		// taking a server down with it.
		if r := recover(); r != nil {
			p, err = nil, newError(src, 0, "internal error parsing pattern: %v", r)
		}
	}()
	ps := &parser{src: src, toks: lex(src)}
	expr := ps.obsExprs()
	if ps.err == nil && ps.peek().kind != tEOF {
		t := ps.peek()
		ps.fail(t, "unexpected %s after the end of the pattern; observations are joined by AND, OR or FOLLOWEDBY", t.describe())
	}
	if ps.err != nil {
		return nil, ps.err
	}
	return &Pattern{Source: src, Expr: expr}, nil
}

type parser struct {
	src  string
	toks []token
	n    int
	err  *Error
}

func (p *parser) peek() token { return p.toks[p.n] }

func (p *parser) next() token {
	t := p.toks[p.n]
	if t.kind != tEOF && t.kind != tErr {
		p.n++
	}
	return t
}

// fail records the first error; later ones are consequences of it.
func (p *parser) fail(t token, format string, a ...any) {
	if p.err != nil {
		return
	}
	if t.kind == tErr {
		p.err = newError(p.src, t.pos, "%s", t.text)
		return
	}
	p.err = newError(p.src, t.pos, format, a...)
}

func (p *parser) isKeyword(s string) bool {
	t := p.peek()
	return t.kind == tKeyword && t.text == s
}

// obsExprs: obsOr (FOLLOWEDBY obsOr)*, left associative.
func (p *parser) obsExprs() ObsExpr {
	l := p.obsOr()
	for p.err == nil && p.isKeyword("FOLLOWEDBY") {
		at := p.next().pos
		r := p.obsOr()
		l = &ObsBinary{Op: FollowedBy, OpAt: at, L: l, R: r}
	}
	return l
}

func (p *parser) obsOr() ObsExpr {
	l := p.obsAnd()
	for p.err == nil && p.isKeyword("OR") {
		at := p.next().pos
		r := p.obsAnd()
		l = &ObsBinary{Op: ObsOr, OpAt: at, L: l, R: r}
	}
	return l
}

func (p *parser) obsAnd() ObsExpr {
	l := p.obsQualified()
	for p.err == nil && p.isKeyword("AND") {
		at := p.next().pos
		r := p.obsQualified()
		l = &ObsBinary{Op: ObsAnd, OpAt: at, L: l, R: r}
	}
	return l
}

// obsQualified is an observation or group followed by qualifiers. The
// reference validator allows one qualifier of each kind directly on a
// bracketed observation; on a parenthesised group it does not check.
func (p *parser) obsQualified() ObsExpr {
	e := p.obsPrimary()
	_, simple := e.(*Observation)
	seen := map[QualKind]bool{}
	for p.err == nil {
		t := p.peek()
		if t.kind != tKeyword || (t.text != "WITHIN" && t.text != "REPEATS" && t.text != "START") {
			return e
		}
		q, ok := p.qualifier()
		if !ok {
			return e
		}
		if simple && seen[q.Kind] {
			p.fail(t, "a second %s qualifier on the same observation; give each kind of qualifier once", q.Kind)
			return e
		}
		seen[q.Kind] = true
		e = &Qualified{Expr: e, Q: q}
	}
	return e
}

func (p *parser) qualifier() (Qualifier, bool) {
	t := p.next()
	q := Qualifier{At: t.pos}
	switch t.text {
	case "WITHIN":
		q.Kind = Within
		n := p.next()
		switch {
		case n.kind == tInt && !n.neg:
			q.Seconds = float64(n.i)
		case n.kind == tFloat && !n.neg:
			q.Seconds = n.f
		default:
			p.fail(n, "WITHIN wants a positive number of seconds, got %s", n.describe())
			return q, false
		}
		if s := p.next(); s.kind != tKeyword || s.text != "SECONDS" {
			p.fail(s, "WITHIN %s wants SECONDS, got %s (seconds are the only unit)", n.text, s.describe())
			return q, false
		}
	case "REPEATS":
		q.Kind = Repeats
		n := p.next()
		if n.kind != tInt || n.neg {
			p.fail(n, "REPEATS wants a positive whole number, got %s", n.describe())
			return q, false
		}
		q.Times = n.i
		if s := p.next(); s.kind != tKeyword || s.text != "TIMES" {
			p.fail(s, "REPEATS %s wants TIMES, got %s", n.text, s.describe())
			return q, false
		}
	default: // START
		q.Kind = StartStop
		a := p.next()
		if a.kind != tTimestamp {
			p.fail(a, "START wants a timestamp t'YYYY-MM-DDThh:mm:ssZ', got %s", a.describe())
			return q, false
		}
		if s := p.next(); s.kind != tKeyword || s.text != "STOP" {
			p.fail(s, "START %s wants STOP and a timestamp, got %s", a.text, s.describe())
			return q, false
		}
		b := p.next()
		if b.kind != tTimestamp {
			p.fail(b, "STOP wants a timestamp t'YYYY-MM-DDThh:mm:ssZ', got %s", b.describe())
			return q, false
		}
		q.Start, q.Stop = a.t, b.t
	}
	return q, true
}

func (p *parser) obsPrimary() ObsExpr {
	t := p.next()
	switch t.kind {
	case tLBrack:
		c := p.cmpOr()
		if p.err != nil {
			return &Observation{At: t.pos, Cmp: c}
		}
		if e := p.next(); e.kind != tRBrack {
			p.fail(e, "expected AND, OR or ] to close the observation opened at column %d, got %s", newError(p.src, t.pos, "").Column, e.describe())
		}
		return &Observation{At: t.pos, Cmp: c}
	case tLParen:
		e := p.obsExprs()
		if p.err != nil {
			return &ObsGroup{At: t.pos, Expr: e}
		}
		if r := p.next(); r.kind != tRParen {
			p.fail(r, "expected ) to close the group opened at column %d, got %s", newError(p.src, t.pos, "").Column, r.describe())
		}
		return &ObsGroup{At: t.pos, Expr: e}
	}
	if t.kind == tIdent && p.n == 1 {
		p.fail(t, "a pattern starts with [ (an observation) or ( — the pattern is missing its square brackets")
	} else {
		p.fail(t, "expected [ to start an observation or ( to start a group, got %s", t.describe())
	}
	return &Observation{At: t.pos}
}

func (p *parser) cmpOr() CmpExpr {
	l := p.cmpAnd()
	for p.err == nil && p.isKeyword("OR") {
		p.next()
		r := p.cmpAnd()
		l = &CmpBinary{L: l, R: r}
	}
	return l
}

func (p *parser) cmpAnd() CmpExpr {
	l := p.propTest()
	for p.err == nil && p.isKeyword("AND") {
		p.next()
		r := p.propTest()
		l = &CmpBinary{And: true, L: l, R: r}
	}
	return l
}

func (p *parser) propTest() CmpExpr {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		e := p.cmpOr()
		if p.err == nil {
			if r := p.next(); r.kind != tRParen {
				p.fail(r, "expected AND, OR or ) to close the comparison group opened at column %d, got %s", newError(p.src, t.pos, "").Column, r.describe())
			}
		}
		return &CmpGroup{At: t.pos, Expr: e}
	}
	// NOT? EXISTS path
	if p.isKeyword("EXISTS") || p.isKeyword("NOT") && p.n+1 < len(p.toks) && p.toks[p.n+1].kind == tKeyword && p.toks[p.n+1].text == "EXISTS" {
		not := p.isKeyword("NOT")
		if not {
			p.next()
		}
		p.next()
		path := p.path()
		return &Exists{At: t.pos, Not: not, Path: path}
	}
	path := p.path()
	c := &Comparison{At: t.pos, Path: path}
	if p.err != nil {
		return c
	}
	if p.isKeyword("NOT") {
		p.next()
		c.Not = true
	}
	o := p.next()
	switch {
	case o.kind == tEq:
		c.Op = Eq
	case o.kind == tNeq:
		c.Op = Neq
	case o.kind == tLt:
		c.Op = Lt
	case o.kind == tLe:
		c.Op = Le
	case o.kind == tGt:
		c.Op = Gt
	case o.kind == tGe:
		c.Op = Ge
	case o.kind == tKeyword && o.text == "IN":
		c.Op = In
	case o.kind == tKeyword && o.text == "LIKE":
		c.Op = Like
	case o.kind == tKeyword && o.text == "MATCHES":
		c.Op = Matches
	case o.kind == tKeyword && o.text == "ISSUBSET":
		c.Op = IsSubset
	case o.kind == tKeyword && o.text == "ISSUPERSET":
		c.Op = IsSuperset
	default:
		p.fail(o, "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) after %s, got %s", path, o.describe())
		return c
	}
	switch c.Op {
	case In:
		c.Value = p.set()
	case Like, Matches, IsSubset, IsSuperset:
		v := p.next()
		if v.kind != tString {
			p.fail(v, "%s wants a string literal in single quotes, got %s", c.Op, v.describe())
			return c
		}
		c.Value = Literal{Kind: String, At: v.pos, Str: v.text}
		if c.Op == Matches {
			// Patterns use PCRE; Go's RE2 accepts the common subset, and a
			// regular expression it cannot compile is reported here, at
			// its position, rather than failing to match later.
			if _, err := regexp.Compile(v.text); err != nil {
				p.fail(v, "MATCHES: %v", err)
			}
		}
	default:
		v := p.next()
		lit, ok := literal(v)
		if !ok || (lit.Kind == Bool && c.Op != Eq && c.Op != Neq) {
			what := "a value (string, number, boolean, t'timestamp', h'hex' or b'base64')"
			if c.Op != Eq && c.Op != Neq {
				what = "an orderable value (string, number, t'timestamp', h'hex' or b'base64')"
			}
			p.fail(v, "%s wants %s, got %s", c.Op, what, v.describe())
			return c
		}
		c.Value = lit
	}
	if p.err == nil {
		p.checkHash(c)
	}
	return c
}

func literal(t token) (Literal, bool) {
	l := Literal{At: t.pos}
	switch t.kind {
	case tString:
		l.Kind, l.Str = String, t.text
	case tInt:
		l.Kind, l.Int = Int, t.i
	case tFloat:
		l.Kind, l.Float = Float, t.f
	case tBool:
		l.Kind, l.Bool = Bool, t.text == "true"
	case tHex:
		l.Kind, l.Bytes = Hex, t.b
	case tBinary:
		l.Kind, l.Bytes = Binary, t.b
	case tTimestamp:
		l.Kind, l.Time = Timestamp, t.t
	default:
		return l, false
	}
	return l, true
}

func (p *parser) set() Literal {
	o := p.next()
	s := Literal{Kind: Set, At: o.pos}
	if o.kind != tLParen {
		p.fail(o, "IN wants a set of values in parentheses, e.g. ('a', 'b'), got %s", o.describe())
		return s
	}
	if p.peek().kind == tRParen {
		p.next()
		return s
	}
	for {
		v := p.next()
		lit, ok := literal(v)
		if !ok {
			p.fail(v, "expected a value in the IN set, got %s", v.describe())
			return s
		}
		s.Set = append(s.Set, lit)
		sep := p.next()
		if sep.kind == tRParen {
			return s
		}
		if sep.kind != tComma {
			p.fail(sep, "expected , or ) in the IN set, got %s", sep.describe())
			return s
		}
	}
}

// path: objectType ':' first ('.' key | '[' index ']')*
func (p *parser) path() Path {
	t := p.next()
	var path Path
	if t.kind != tIdent {
		p.fail(t, "expected an object path such as file:name or ipv4-addr:value, got %s", t.describe())
		return path
	}
	path.Type = t.text
	if c := p.next(); c.kind != tColon {
		p.fail(c, "expected : after the object type %q (an object path is type:property)", t.text)
		return path
	}
	first := p.next()
	switch {
	case first.kind == tIdent && !first.hyphen:
		path.Steps = append(path.Steps, Step{Key: first.text})
	case first.kind == tString:
		path.Steps = append(path.Steps, Step{Key: first.text})
	case first.kind == tIdent:
		p.fail(first, "property name %q contains a hyphen; quote it: '%s'", first.text, first.text)
		return path
	default:
		p.fail(first, "expected a property name after %s:, got %s", t.text, first.describe())
		return path
	}
	for p.err == nil {
		switch p.peek().kind {
		case tDot:
			p.next()
			k := p.next()
			switch {
			case k.kind == tIdent && !k.hyphen, k.kind == tString:
				path.Steps = append(path.Steps, Step{Key: k.text})
			case k.kind == tIdent:
				p.fail(k, "property name %q contains a hyphen; quote it: '%s'", k.text, k.text)
			default:
				p.fail(k, "expected a property name or quoted key after '.', got %s", k.describe())
			}
		case tLBrack:
			p.next()
			k := p.next()
			switch k.kind {
			case tStar:
				path.Steps = append(path.Steps, Step{IsIndex: true, Any: true})
			case tInt:
				path.Steps = append(path.Steps, Step{IsIndex: true, Index: k.i})
			default:
				p.fail(k, "expected a list index (a whole number or *) after [, got %s", k.describe())
				return path
			}
			if r := p.next(); r.kind != tRBrack {
				p.fail(r, "expected ] to close the list index, got %s", r.describe())
			}
		default:
			return path
		}
	}
	return path
}

// hashLengths are the hex lengths of the hash algorithms of STIX's
// hash-algorithm-ov, keyed by name upper-cased without '-' or '_'. The
// reference validator rejects a hash comparison whose value cannot be a
// hash of its algorithm ([file:hashes.'SHA-256' = 'f00']); so does Vigil,
// since such an indicator can never match.
var hashLengths = map[string][]int{
	"MD5": {32}, "SHA1": {40}, "SHA224": {56}, "SHA256": {64}, "SHA384": {96}, "SHA512": {128},
	"SHA3224": {56}, "SHA3256": {64}, "SHA3384": {96}, "SHA3512": {128}, "RIPEMD160": {40},
	"WHIRLPOOL": {128}, "TLSH": {70, 72},
}

var ssdeepRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]+:[a-zA-Z0-9/+]+:[a-zA-Z0-9/+]+(,.*)?$|^[a-zA-Z0-9/+:.]{1,128}$`)
})

// checkHash validates the values compared by = != or IN with a
// hashes.ALGORITHM property.
func (p *parser) checkHash(c *Comparison) {
	if c.Op != Eq && c.Op != Neq && c.Op != In {
		return
	}
	n := len(c.Path.Steps)
	if n < 2 || c.Path.Steps[n-1].IsIndex || c.Path.Steps[n-2].IsIndex || c.Path.Steps[n-2].Key != "hashes" {
		return
	}
	alg := c.Path.Steps[n-1].Key
	norm := strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(alg))
	vals := []Literal{c.Value}
	if c.Op == In {
		vals = c.Value.Set
	}
	for _, v := range vals {
		if v.Kind != String {
			continue
		}
		s := v.Str
		if norm == "SSDEEP" {
			if !ssdeepRE().MatchString(s) {
				p.err = newError(p.src, v.At, "%s is not a valid SSDEEP hash", quote(s))
				return
			}
			continue
		}
		lengths, known := hashLengths[norm]
		if !known {
			continue
		}
		h := s
		if norm == "TLSH" && len(h) == 72 && (h[:2] == "T1" || h[:2] == "t1") {
			h = h[2:]
		}
		ok := allHex(h)
		if ok {
			ok = false
			for _, l := range lengths {
				ok = ok || len(s) == l
			}
		}
		if !ok {
			p.err = newError(p.src, v.At, "%s is not a valid %s hash (want %d hex digits)", quote(s), alg, lengths[0])
			return
		}
	}
}
