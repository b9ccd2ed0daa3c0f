// Package pattern is the STIX 2.1 patterning language: a parser for the
// whole grammar (STIX 2.1 section 9, the ANTLR grammar STIXPattern.g4 of
// oasis-open/cti-stix2-json-schemas), the checks the OASIS reference
// validator adds on top of the grammar (one qualifier of each kind on an
// observation, well-formed hash values), and evaluation of patterns made of
// single observations against an event flattened to STIX object paths, for
// the IOC matcher.
//
// Parse never panics on input; errors are *Error values carrying the byte
// offset, line and column of the offending token.
package pattern

import (
	"strconv"
	"strings"
	"time"
)

// Pattern is a parsed STIX pattern.
type Pattern struct {
	// Source is the text that was parsed.
	Source string
	// Expr is the root observation expression.
	Expr ObsExpr
}

// ObsExpr is an observation expression: an *Observation, *ObsBinary,
// *ObsGroup or *Qualified. The interface is sealed.
type ObsExpr interface {
	obsExpr()
	// Pos is the byte offset where the expression starts.
	Pos() int
}

// ObsOp joins two observation expressions.
type ObsOp int

// The observation operators, in increasing binding strength.
const (
	FollowedBy ObsOp = iota
	ObsOr
	ObsAnd
)

func (o ObsOp) String() string {
	switch o {
	case FollowedBy:
		return "FOLLOWEDBY"
	case ObsOr:
		return "OR"
	default:
		return "AND"
	}
}

// Observation is one bracketed observation: [comparison expression].
type Observation struct {
	At  int
	Cmp CmpExpr
}

// ObsBinary is L op R.
type ObsBinary struct {
	Op   ObsOp
	OpAt int // byte offset of the operator
	L, R ObsExpr
}

// ObsGroup is a parenthesised observation expression.
type ObsGroup struct {
	At   int
	Expr ObsExpr
}

// Qualified is an observation expression with one qualifier applied.
// Several qualifiers nest: the innermost is the first written.
type Qualified struct {
	Expr ObsExpr
	Q    Qualifier
}

func (*Observation) obsExpr() {}
func (*ObsBinary) obsExpr()   {}
func (*ObsGroup) obsExpr()    {}
func (*Qualified) obsExpr()   {}

// Pos implements ObsExpr.
func (o *Observation) Pos() int { return o.At }

// Pos implements ObsExpr.
func (o *ObsBinary) Pos() int { return o.L.Pos() }

// Pos implements ObsExpr.
func (o *ObsGroup) Pos() int { return o.At }

// Pos implements ObsExpr.
func (o *Qualified) Pos() int { return o.Expr.Pos() }

// QualKind names a qualifier.
type QualKind int

// The qualifiers.
const (
	Within QualKind = iota
	Repeats
	StartStop
)

func (k QualKind) String() string {
	switch k {
	case Within:
		return "WITHIN"
	case Repeats:
		return "REPEATS"
	default:
		return "START/STOP"
	}
}

// Qualifier is WITHIN n SECONDS, REPEATS n TIMES or START t STOP t.
type Qualifier struct {
	Kind QualKind
	At   int
	// Seconds is WITHIN's window.
	Seconds float64
	// Times is REPEATS' count.
	Times int64
	// Start and Stop are START/STOP's bounds.
	Start, Stop time.Time
}

// CmpExpr is a comparison expression inside an observation: *CmpBinary,
// *CmpGroup, *Comparison or *Exists. The interface is sealed.
type CmpExpr interface {
	cmpExpr()
	Pos() int
}

// CmpBinary is L AND R or L OR R inside an observation.
type CmpBinary struct {
	And  bool
	L, R CmpExpr
}

// CmpGroup is a parenthesised comparison expression.
type CmpGroup struct {
	At   int
	Expr CmpExpr
}

// Op is a comparison operator.
type Op int

// The comparison operators.
const (
	Eq Op = iota
	Neq
	Lt
	Le
	Gt
	Ge
	In
	Like
	Matches
	IsSubset
	IsSuperset
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"}

func (o Op) String() string { return opNames[o] }

// Comparison is path [NOT] op value.
type Comparison struct {
	At    int
	Path  Path
	Not   bool
	Op    Op
	Value Literal
}

// Exists is [NOT] EXISTS path.
type Exists struct {
	At   int
	Not  bool
	Path Path
}

func (*CmpBinary) cmpExpr()  {}
func (*CmpGroup) cmpExpr()   {}
func (*Comparison) cmpExpr() {}
func (*Exists) cmpExpr()     {}

// Pos implements CmpExpr.
func (c *CmpBinary) Pos() int { return c.L.Pos() }

// Pos implements CmpExpr.
func (c *CmpGroup) Pos() int { return c.At }

// Pos implements CmpExpr.
func (c *Comparison) Pos() int { return c.At }

// Pos implements CmpExpr.
func (c *Exists) Pos() int { return c.At }

// Path is an object path: type:property.key[index]…
type Path struct {
	Type  string
	Steps []Step
}

// Step is one step of a path after the type: a property or dictionary key,
// or a list index ([n], or [*] for any element).
type Step struct {
	Key     string
	IsIndex bool
	Any     bool // [*]
	Index   int64
}

// String renders the path canonically: keys that are identifiers bare,
// others quoted ('SHA-256'), so file:hashes.'SHA-256' and
// file:hashes.SHA256 stay distinct while spelling differences of the same
// path (file:'name', file:name) render alike.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Type)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.IsIndex && s.Any:
			b.WriteString("[*]")
		case s.IsIndex:
			b.WriteByte('[')
			b.WriteString(strconv.FormatInt(s.Index, 10))
			b.WriteByte(']')
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isPlainIdent(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(quote(s.Key))
			}
		}
	}
	return b.String()
}

// Key is the path with its list indexes left out (file:hashes.'SHA-256',
// domain-name:resolves_to_refs.value): the key of a flattened event field,
// where a list is the field's several values.
func (p Path) Key() string {
	q := Path{Type: p.Type}
	for _, s := range p.Steps {
		if !s.IsIndex {
			q.Steps = append(q.Steps, s)
		}
	}
	return q.String()
}

func isPlainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	_, kw := keywords[s]
	return !kw
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Kind is a literal's type.
type Kind int

// The literal kinds.
const (
	String Kind = iota
	Int
	Float
	Bool
	Binary // b'base64'
	Hex    // h'hex'
	Timestamp
	Set // (a, b, …) after IN
)

var kindNames = [...]string{"string", "integer", "float", "boolean", "binary", "hex", "timestamp", "set"}

func (k Kind) String() string { return kindNames[k] }

// Literal is a typed constant.
type Literal struct {
	Kind  Kind
	At    int
	Str   string // String
	Int   int64
	Float float64
	Bool  bool
	Bytes []byte    // Binary and Hex
	Time  time.Time // Timestamp
	Set   []Literal
}
