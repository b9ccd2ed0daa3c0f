package sigma

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a Sigma string value after wildcard parsing: literal text
// and the wildcards * (any run) and ? (one character). Modifiers transform
// patterns (contains adds stars, utf16le re-encodes the literals, …)
// before they are compiled into a strMatcher.
type pattern []ptok

type ptok struct {
	kind byte // 'l' literal, '*' any run, '?' one character
	lit  string
}

// parseWildcards applies Sigma's escape rules: \* \? \\ are the literal
// characters; a backslash before anything else is itself.
func parseWildcards(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, ptok{kind: 'l', lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
				continue
			}
			lit.WriteByte(c)
		case '*', '?':
			flush()
			if c == '*' && len(p) > 0 && p[len(p)-1].kind == '*' {
				continue // ** is *
			}
			p = append(p, ptok{kind: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

// literalPattern is a pattern of plain text (no wildcards).
func literalPattern(s string) pattern {
	if s == "" {
		return nil
	}
	return pattern{{kind: 'l', lit: s}}
}

func (p pattern) plain() (string, bool) {
	var b strings.Builder
	for _, t := range p {
		if t.kind != 'l' {
			return "", false
		}
		b.WriteString(t.lit)
	}
	return b.String(), true
}

func (p pattern) withStars(lead, trail bool) pattern {
	out := make(pattern, 0, len(p)+2)
	if lead && (len(p) == 0 || p[0].kind != '*') {
		out = append(out, ptok{kind: '*'})
	}
	out = append(out, p...)
	if trail && (len(out) == 0 || out[len(out)-1].kind != '*') {
		out = append(out, ptok{kind: '*'})
	}
	return out
}

func (p pattern) mapLiterals(f func(string) string) pattern {
	out := make(pattern, len(p))
	for i, t := range p {
		if t.kind == 'l' {
			t.lit = f(t.lit)
		}
		out[i] = t
	}
	return out
}

// String is the pattern in Sigma's notation (escapes restored).
func (p pattern) String() string {
	var b strings.Builder
	for _, t := range p {
		if t.kind != 'l' {
			b.WriteByte(t.kind)
			continue
		}
		for i := 0; i < len(t.lit); i++ {
			if c := t.lit[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(t.lit[i])
		}
	}
	return b.String()
}

// matchKind is how a compiled string pattern compares.
type matchKind uint8

const (
	mEqual matchKind = iota
	mPrefix
	mSuffix
	mContains
	mAny  // "*": any value
	mGlob // anything else with wildcards
)

var matchKindNames = [...]string{"equals", "startswith", "endswith", "contains", "any", "glob"}

// strMatcher compares text against one pattern, lower-cased at compile
// time unless cased.
type strMatcher struct {
	kind  matchKind
	lit   string // for mEqual..mContains
	glob  pattern
	cased bool
}

func newStrMatcher(p pattern, cased bool) strMatcher {
	if !cased {
		p = p.mapLiterals(lowerPattern)
	}
	m := strMatcher{cased: cased, glob: p}
	n := len(p)
	switch {
	case n == 0:
		m.kind = mEqual
	case n == 1 && p[0].kind == '*':
		m.kind = mAny
	case n == 1 && p[0].kind == 'l':
		m.kind, m.lit = mEqual, p[0].lit
	case n == 2 && p[0].kind == 'l' && p[1].kind == '*':
		m.kind, m.lit = mPrefix, p[0].lit
	case n == 2 && p[0].kind == '*' && p[1].kind == 'l':
		m.kind, m.lit = mSuffix, p[1].lit
	case n == 3 && p[0].kind == '*' && p[1].kind == 'l' && p[2].kind == '*':
		m.kind, m.lit = mContains, p[1].lit
	default:
		m.kind = mGlob
	}
	if m.kind != mGlob {
		m.glob = nil
	}
	return m
}

// lowerPattern lower-cases a literal: Unicode-aware for valid UTF-8, and
// ASCII only for the byte strings the encoding modifiers make (whose
// invalid sequences strings.ToLower would replace).
func lowerPattern(s string) string {
	if utf8.ValidString(s) {
		return strings.ToLower(s)
	}
	return lowerASCIIBytes(s)
}

func lowerASCIIBytes(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (m *strMatcher) match(s string) bool {
	if !m.cased {
		if !isASCII(s) {
			s = strings.ToLower(s)
		} else {
			return m.matchFoldASCII(s)
		}
	}
	return m.matchExact(s)
}

// text is a field value prepared once for every pattern it meets:
// lower-cased once (Unicode-aware, as the patterns were), so that every
// case-insensitive pattern is a plain comparison with lower.
type text struct {
	s     string
	lower string // s lower-cased (s itself when it has no upper case)
}

// prepare lower-cases s for matching (evalCtx.prepare does it without
// allocating for ASCII text).
func prepare(s string) text { return text{s: s, lower: strings.ToLower(s)} }

func (m *strMatcher) matchText(t *text) bool {
	if m.cased {
		return m.matchExact(t.s)
	}
	return m.matchExact(t.lower)
}

func (m *strMatcher) matchExact(s string) bool {
	switch m.kind {
	case mEqual:
		return s == m.lit
	case mPrefix:
		return strings.HasPrefix(s, m.lit)
	case mSuffix:
		return strings.HasSuffix(s, m.lit)
	case mContains:
		return strings.Contains(s, m.lit)
	case mAny:
		return true
	}
	return globMatch(m.glob, s, false)
}

// matchFoldASCII compares an ASCII s with the lower-cased pattern without
// lower-casing s (no allocation).
func (m *strMatcher) matchFoldASCII(s string) bool {
	switch m.kind {
	case mEqual:
		return len(s) == len(m.lit) && eqFoldASCII(s, m.lit)
	case mPrefix:
		return len(s) >= len(m.lit) && eqFoldASCII(s[:len(m.lit)], m.lit)
	case mSuffix:
		return len(s) >= len(m.lit) && eqFoldASCII(s[len(s)-len(m.lit):], m.lit)
	case mContains:
		return indexFoldASCII(s, m.lit) >= 0
	case mAny:
		return true
	}
	return globMatch(m.glob, s, true)
}

// isASCII reports whether s is all ASCII, sixteen bytes at a time (two
// eight-byte loads; a profile over OTRF had the byte-wise loop at 12% of
// matching, PowerShell script blocks and rendered messages being long).
func isASCII(s string) bool {
	// Sliced to a constant length, the bytes need no bounds checks and
	// their loads combine (indexed from i, each byte was checked).
	for len(s) >= 16 {
		b := s[:16]
		x := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		y := uint64(b[8]) | uint64(b[9])<<8 | uint64(b[10])<<16 | uint64(b[11])<<24 |
			uint64(b[12])<<32 | uint64(b[13])<<40 | uint64(b[14])<<48 | uint64(b[15])<<56
		if (x|y)&0x8080808080808080 != 0 {
			return false
		}
		s = s[16:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// eqFoldASCII: s folded equals lower (already lower-case), same length.
func eqFoldASCII(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		if lowerByte(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// indexFoldASCII finds lower (lower-case) in s, folding s's ASCII
// letters. Candidates are found with strings.IndexByte (vectorised) for
// the first byte in either case; each next position is searched only
// once, so the scan stays linear.
func indexFoldASCII(s, lower string) int {
	n := len(lower)
	if n == 0 {
		return 0
	}
	end := len(s) - n + 1
	if end <= 0 {
		return -1
	}
	lo := lower[0]
	up := lo
	if lo >= 'a' && lo <= 'z' {
		up = lo - ('a' - 'A')
	}
	rest := lower[1:]
	nextLo, nextUp := -2, -2 // -2: not searched yet; -1: none left
	if lo == up {
		nextUp = -1
	}
	for i := 0; i < end; {
		if nextLo != -1 && nextLo < i {
			nextLo = indexFrom(s[:end], lo, i)
		}
		if nextUp != -1 && nextUp < i {
			nextUp = indexFrom(s[:end], up, i)
		}
		j := nextLo
		if j < 0 || (nextUp >= 0 && nextUp < j) {
			j = nextUp
		}
		if j < 0 {
			return -1
		}
		if eqFoldASCII(s[j+1:j+n], rest) {
			return j
		}
		i = j + 1
	}
	return -1
}

// indexFrom is the index of c in s at or after from, or -1.
func indexFrom(s string, c byte, from int) int {
	k := strings.IndexByte(s[from:], c)
	if k < 0 {
		return -1
	}
	return from + k
}

// globMatch matches s against p (literals already lower-case when fold):
// the classic greedy algorithm that backtracks only to the last star,
// linear-ish and allocation-free. ? takes one UTF-8 character.
func globMatch(p pattern, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for {
		if pi < len(p) {
			t := p[pi]
			switch t.kind {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					pi++
					continue
				}
			default:
				if hasPrefixAt(s, si, t.lit, fold) {
					si += len(t.lit)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		// Mismatch: let the last star take one more character.
		if starP < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		pi, si = starP+1, starS
	}
}

func hasPrefixAt(s string, i int, lit string, fold bool) bool {
	if len(s)-i < len(lit) {
		return false
	}
	if fold {
		return eqFoldASCII(s[i:i+len(lit)], lit)
	}
	return s[i:i+len(lit)] == lit
}
