package pattern

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Fields is one normalised event flattened to STIX object paths in
// Path.Key form — "ipv4-addr:value", "domain-name:value", "url:value",
// "file:hashes.'SHA-256'", "email-addr:value",
// "network-traffic:dst_ref.value" — each with its values as text (numbers
// in decimal, timestamps in RFC 3339, binary in base64). A list property
// is a field with several values: [n] picks the n-th, [*] or no index any.
type Fields map[string][]string

// ErrNotSingle says a pattern needs more than one event to decide:
// observations joined by AND or FOLLOWEDBY, or a WITHIN, REPEATS or
// START/STOP qualifier. Those are matched over windows of events, not by
// Matcher.
var ErrNotSingle = errors.New("pattern needs several observations or a time window")

// Matcher is a pattern compiled for matching one event at a time: a
// single observation, or observations joined by OR (any one matching).
type Matcher struct {
	pattern *Pattern
	obs     []evalFn
}

type evalFn func(Fields) bool

// Compile prepares p for Match. It fails with ErrNotSingle (wrapped, with
// the position) when p cannot be decided on one event.
func Compile(p *Pattern) (*Matcher, error) {
	m := &Matcher{pattern: p}
	if err := m.collect(p.Expr); err != nil {
		return nil, err
	}
	return m, nil
}

// MustCompile parses and compiles src, panicking on error: for patterns
// written in code and tests.
func MustCompile(src string) *Matcher {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	m, err := Compile(p)
	if err != nil {
		panic(err)
	}
	return m
}

// Pattern is the pattern the matcher was compiled from.
func (m *Matcher) Pattern() *Pattern { return m.pattern }

func (m *Matcher) collect(e ObsExpr) error {
	switch e := e.(type) {
	case *Observation:
		m.obs = append(m.obs, compileCmp(e.Cmp))
		return nil
	case *ObsGroup:
		return m.collect(e.Expr)
	case *ObsBinary:
		if e.Op == ObsOr {
			if err := m.collect(e.L); err != nil {
				return err
			}
			return m.collect(e.R)
		}
		return fmt.Errorf("%w: %s at %s", ErrNotSingle, e.Op, position(m.pattern.Source, e.OpAt))
	case *Qualified:
		return fmt.Errorf("%w: %s qualifier at %s", ErrNotSingle, e.Q.Kind, position(m.pattern.Source, e.Q.At))
	}
	return fmt.Errorf("unknown observation expression %T", e)
}

func position(src string, off int) string {
	e := newError(src, off, "")
	return fmt.Sprintf("line %d column %d", e.Line, e.Column)
}

// Match reports whether the event f satisfies the pattern.
func (m *Matcher) Match(f Fields) bool {
	for _, o := range m.obs {
		if o(f) {
			return true
		}
	}
	return false
}

func compileCmp(c CmpExpr) evalFn {
	switch c := c.(type) {
	case *CmpGroup:
		return compileCmp(c.Expr)
	case *CmpBinary:
		l, r := compileCmp(c.L), compileCmp(c.R)
		if c.And {
			return func(f Fields) bool { return l(f) && r(f) }
		}
		return func(f Fields) bool { return l(f) || r(f) }
	case *Exists:
		get := getter(c.Path)
		not := c.Not
		return func(f Fields) bool { return (len(get(f)) > 0) != not }
	case *Comparison:
		get := getter(c.Path)
		test := compileTest(c)
		not := c.Not
		// A property the event lacks makes the comparison false, negated
		// or not (STIX 2.1 section 9.5): NOT negates the operator, it
		// does not turn a missing value into a match.
		return func(f Fields) bool {
			for _, v := range get(f) {
				if test(v) != not {
					return true
				}
			}
			return false
		}
	}
	return func(Fields) bool { return false }
}

// getter returns the values of a path in an event: all of them, or the
// n-th when the path's last list index is a number.
func getter(p Path) func(Fields) []string {
	key := p.Key()
	idx := int64(-1)
	for _, s := range p.Steps {
		if s.IsIndex && !s.Any {
			idx = s.Index
		}
	}
	if idx < 0 {
		return func(f Fields) []string { return f[key] }
	}
	return func(f Fields) []string {
		vs := f[key]
		if idx >= int64(len(vs)) {
			return nil
		}
		return vs[idx : idx+1]
	}
}

// foldCase says a property's values compare without regard to case: domain
// names, e-mail addresses and hex hash values.
func foldCase(p Path) bool {
	if p.Type == "domain-name" || p.Type == "email-addr" {
		return true
	}
	n := len(p.Steps)
	return n >= 2 && p.Steps[n-2].Key == "hashes"
}

// CompileTest compiles the operator and value of one comparison (its
// NOT left to the caller) into a test of one of an event's values, as
// Matcher applies it: LIKE and MATCHES compile to RE2 regular
// expressions once, here.
func CompileTest(c *Comparison) func(string) bool { return compileTest(c) }

func compileTest(c *Comparison) func(string) bool {
	fold := foldCase(c.Path)
	switch c.Op {
	case Eq:
		return equal(c.Value, fold)
	case Neq:
		eq := equal(c.Value, fold)
		return func(v string) bool { return !eq(v) }
	case In:
		tests := make([]func(string) bool, len(c.Value.Set))
		for i, l := range c.Value.Set {
			tests[i] = equal(l, fold)
		}
		return func(v string) bool {
			for _, t := range tests {
				if t(v) {
					return true
				}
			}
			return false
		}
	case Lt, Le, Gt, Ge:
		cmp := compare(c.Value)
		op := c.Op
		return func(v string) bool {
			r, ok := cmp(v)
			if !ok {
				return false
			}
			switch op {
			case Lt:
				return r < 0
			case Le:
				return r <= 0
			case Gt:
				return r > 0
			}
			return r >= 0
		}
	case Like:
		re := regexp.MustCompile(likeRegexp(c.Value.Str, fold))
		return re.MatchString
	case Matches:
		re, err := regexp.Compile(c.Value.Str)
		if err != nil { // Parse has compiled it already
			return func(string) bool { return false }
		}
		return re.MatchString
	case IsSubset:
		outer, ok := prefix(c.Value.Str)
		if !ok {
			return func(string) bool { return false }
		}
		return func(v string) bool {
			inner, ok := prefix(v)
			return ok && contains(outer, inner)
		}
	case IsSuperset:
		inner, ok := prefix(c.Value.Str)
		if !ok {
			return func(string) bool { return false }
		}
		return func(v string) bool {
			outer, ok := prefix(v)
			return ok && contains(outer, inner)
		}
	}
	return func(string) bool { return false }
}

// prefix reads an IP address or CIDR block; an address is its /32 or /128.
func prefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func contains(outer, inner netip.Prefix) bool {
	return outer.Addr().Is4() == inner.Addr().Is4() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func equal(l Literal, fold bool) func(string) bool {
	switch l.Kind {
	case String:
		want := l.Str
		// '198.51.100.1/32' names one address, as IP indicators often do.
		if p, ok := prefix(want); ok && p.IsSingleIP() {
			return func(v string) bool {
				if v == want {
					return true
				}
				q, ok := prefix(v)
				return ok && q == p
			}
		}
		if fold {
			return func(v string) bool { return strings.EqualFold(v, want) }
		}
		return func(v string) bool { return v == want }
	case Bool:
		return func(v string) bool {
			b, err := strconv.ParseBool(v)
			return err == nil && b == l.Bool
		}
	case Hex:
		return func(v string) bool {
			b, err := hex.DecodeString(v)
			return err == nil && bytes.Equal(b, l.Bytes)
		}
	case Binary:
		return func(v string) bool {
			b, err := base64.StdEncoding.DecodeString(v)
			return err == nil && bytes.Equal(b, l.Bytes)
		}
	}
	cmp := compare(l)
	return func(v string) bool {
		r, ok := cmp(v)
		return ok && r == 0
	}
}

// compare returns a function ordering an event's value against l: -1, 0
// or 1, and false when the value is not of l's kind.
func compare(l Literal) func(string) (int, bool) {
	switch l.Kind {
	case Int, Float:
		want := l.Float
		if l.Kind == Int {
			want = float64(l.Int)
		}
		return func(v string) (int, bool) {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, false
			}
			switch {
			case f < want:
				return -1, true
			case f > want:
				return 1, true
			}
			return 0, true
		}
	case Timestamp:
		return func(v string) (int, bool) {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return 0, false
			}
			return t.Compare(l.Time), true
		}
	case String:
		return func(v string) (int, bool) { return strings.Compare(v, l.Str), true }
	case Hex, Binary:
		return func(v string) (int, bool) {
			var b []byte
			var err error
			if l.Kind == Hex {
				b, err = hex.DecodeString(v)
			} else {
				b, err = base64.StdEncoding.DecodeString(v)
			}
			if err != nil {
				return 0, false
			}
			return bytes.Compare(b, l.Bytes), true
		}
	}
	return func(string) (int, bool) { return 0, false }
}

// likeRegexp turns a SQL LIKE pattern (% any run, _ any one character)
// into an anchored regular expression.
func likeRegexp(like string, fold bool) string {
	var b strings.Builder
	b.WriteString("(?s)")
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteByte('^')
	for _, r := range like {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteByte('$')
	return b.String()
}
