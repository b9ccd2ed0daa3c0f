package sigma

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// A literal prefilter shared by the rules of one log source (built by the
// Router for each rule list it routes to). Most rules cannot match most
// events, and most say so through a literal: a rule whose condition
// needs CommandLine to contain "mimikatz" (or one of a list of
// fragments) cannot match an event whose CommandLine has none of them.
// For each rule the compiler's tree yields such a necessary set of
// (field, literal) atoms where it can; the atoms of all the rules are
// gathered per field into one Aho–Corasick automaton, each field's
// lower-cased text is scanned once an event, and only the rules one of
// whose atoms was found (and those with no atoms) are evaluated.
//
// An atom is necessary, never sufficient: the rule is still evaluated in
// full, so the prefilter changes how fast the answer comes, never what
// it is. A field holding anything but text (a number, a list) satisfies
// every atom on it, as the rule may match it by other means.

// atom says that a field's lower-cased text (or, with keyword, one of the
// event's keyword texts) contains lit.
type atom struct {
	field   string
	slot    int
	keyword bool
	lit     string
}

// necessary returns atoms one of which holds whenever n does, or false
// when n has no such set (a negation, a regular expression, a number
// comparison, a field's existence…).
func necessary(n node) ([]atom, bool) {
	switch x := n.(type) {
	case *refNode:
		return necessary(x.kid)
	case *andNode:
		var best []atom
		found := false
		for _, k := range x.kids {
			if a, ok := necessary(k); ok && (!found || betterAtoms(a, best)) {
				best, found = a, true
			}
		}
		return best, found
	case *orNode:
		var all []atom
		for _, k := range x.kids {
			a, ok := necessary(k)
			if !ok {
				return nil, false
			}
			all = append(all, a...)
		}
		return all, len(all) > 0
	case *fieldNode:
		return x.necessary()
	}
	return nil, false
}

func (n *fieldNode) necessary() ([]atom, bool) {
	mk := func(lit string) atom {
		return atom{field: n.field, slot: n.slot, keyword: n.keyword, lit: lit}
	}
	groupAtoms := func(g []pred) ([]atom, bool) {
		var out []atom
		for _, p := range g {
			lits, ok := predLiterals(p)
			if !ok {
				return nil, false
			}
			for _, lit := range lits {
				out = append(out, mk(lit))
			}
		}
		return out, len(out) > 0
	}
	if n.all {
		// Every group must hold: the best group's alternatives will do.
		var best []atom
		found := false
		for _, g := range n.groups {
			if a, ok := groupAtoms(g); ok && (!found || betterAtoms(a, best)) {
				best, found = a, true
			}
		}
		return best, found
	}
	var out []atom
	if n.ac != nil {
		for _, lit := range n.ac.needles {
			out = append(out, mk(lit))
		}
	}
	for _, g := range n.groups {
		a, ok := groupAtoms(g)
		if !ok {
			return nil, false
		}
		out = append(out, a...)
	}
	return out, len(out) > 0
}

// predLiterals are literals one of which any text p matches contains,
// lower-cased as the text it is compared with: a case-insensitive
// pattern's literal (for a glob, its longest), or what a regular
// expression needs (see regexpLiterals).
func predLiterals(p pred) ([]string, bool) {
	if rp, ok := p.(*rePred); ok {
		return regexpLiterals(rp.re.String())
	}
	sp, ok := p.(*strPred)
	if !ok || sp.m.cased {
		return nil, false
	}
	switch sp.m.kind {
	case mEqual, mPrefix, mSuffix, mContains:
		return []string{sp.m.lit}, sp.m.lit != ""
	case mGlob:
		lit := ""
		for _, t := range sp.m.glob {
			if t.kind == 'l' && len(t.lit) > len(lit) {
				lit = t.lit
			}
		}
		return []string{lit}, lit != ""
	}
	return nil, false
}

// regexpLiterals are ASCII literals, lower-cased, one of which every text
// the regular expression matches contains: a literal the expression
// cannot match without (the best of a concatenation's, every branch's of
// an alternation). The expression runs on the text as it is; its ASCII
// literal in the text is the literal lower-cased in the lower-cased text.
// Under case folding an s also matches ſ (U+017F), which lower-casing
// leaves alone, so a folded literal is cut at its s.
func regexpLiterals(expr string) ([]string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	return reLits(re.Simplify())
}

func reLits(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		best := ""
		var cur []byte
		flush := func() {
			if len(cur) > len(best) {
				best = string(cur)
			}
			cur = cur[:0]
		}
		for _, r := range re.Rune {
			if r >= utf8.RuneSelf || (re.Flags&syntax.FoldCase != 0 && (r == 's' || r == 'S')) {
				flush()
				continue
			}
			cur = append(cur, lowerByte(byte(r)))
		}
		flush()
		return []string{best}, best != ""
	case syntax.OpCapture:
		return reLits(re.Sub[0])
	case syntax.OpPlus:
		return reLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reLits(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		found := false
		for _, s := range re.Sub {
			if l, ok := reLits(s); ok && (!found || betterLits(l, best)) {
				best, found = l, true
			}
		}
		return best, found
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			l, ok := reLits(s)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
		}
		return all, len(all) > 0
	}
	return nil, false
}

func betterLits(a, b []string) bool {
	shortest := func(l []string) int {
		n := -1
		for _, s := range l {
			if n < 0 || len(s) < n {
				n = len(s)
			}
		}
		return n
	}
	if sa, sb := shortest(a), shortest(b); sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

// betterAtoms prefers the set whose shortest literal is longest (a
// short literal is found in most texts), then the smaller set. A literal
// of digits is worth little: such fields (EventID) are mostly numbers,
// which satisfy every atom.
func betterAtoms(a, b []atom) bool {
	sa, sb := atomsScore(a), atomsScore(b)
	if sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

func atomsScore(as []atom) int {
	score := -1
	for _, a := range as {
		s := len(a.lit)
		if strings.Trim(a.lit, "0123456789") == "" {
			s = 0
		}
		if score < 0 || s < score {
			score = s
		}
	}
	return score
}

// maxAtom is the most of a literal the prefilter looks for: any part of
// a necessary literal is necessary too, and cutting SigmaHQ's thousands
// of command-line fragments to their first bytes keeps the automaton
// (states × byte classes) in the processor's cache, where scanning a
// text costs a nanosecond or two a byte; the rules that pass are
// evaluated in full.
const maxAtom = 8

// prefilter is the shared literal prefilter of a list of rules.
type prefilter struct {
	n      int      // rules
	always []uint64 // rules without atoms: always evaluated
	fields []pfField
}

// pfField holds the atoms on one field (or on the keyword texts).
type pfField struct {
	field   string
	slot    int
	keyword bool
	ac      *acMulti  // nil: too many distinct bytes, every rule passes
	anchors *anchored // for long texts, when the needles have rare parts
	rules   []int32   // needle → rule; the rules with atoms here when ac is nil
	users   []int32   // the rules with atoms here (for values that are not text)
}

func newPrefilter(rules []*CompiledRule) *prefilter {
	pf := &prefilter{n: len(rules), always: make([]uint64, (len(rules)+63)/64)}
	type key struct {
		field   string // by name: a field without a slot has slot -1
		keyword bool
	}
	idx := map[key]int{}
	needles := [][]string{}
	for i, r := range rules {
		atoms, ok := necessary(r.cond)
		if !ok {
			pf.always[i/64] |= 1 << (i % 64)
			continue
		}
		seen := map[int]bool{}
		for _, a := range atoms {
			k := key{a.field, a.keyword}
			j, ok := idx[k]
			if !ok {
				j = len(pf.fields)
				idx[k] = j
				pf.fields = append(pf.fields, pfField{field: a.field, slot: a.slot, keyword: a.keyword})
				needles = append(needles, nil)
			}
			f := &pf.fields[j]
			lit := a.lit
			if len(lit) > maxAtom {
				lit = lit[:maxAtom] // still necessary, and the automaton stays small
			}
			needles[j] = append(needles[j], lit)
			f.rules = append(f.rules, int32(i))
			if !seen[j] {
				seen[j] = true
				f.users = append(f.users, int32(i))
			}
		}
	}
	for j := range pf.fields {
		pf.fields[j].ac = newACMulti(needles[j])
		pf.fields[j].anchors = newAnchored(needles[j])
	}
	return pf
}

// pass sets in c.hits the rules worth evaluating for c's event.
func (pf *prefilter) pass(c *evalCtx) []uint64 {
	hits := c.hits[:0]
	hits = append(hits, pf.always...)
	c.hits = hits
	for j := range pf.fields {
		f := &pf.fields[j]
		if f.keyword {
			texts, ok := c.rawKeywords()
			if !ok {
				continue
			}
			for _, s := range texts {
				// Folded as scanned: most keyword texts meet no keyword
				// search, so they are not lower-cased into the context.
				if isASCII(s) {
					f.scan(s, true, hits)
				} else {
					f.scan(strings.ToLower(s), false, hits)
				}
			}
			continue
		}
		s := c.field(f.slot, f.field)
		switch {
		case !s.ok:
		case s.str:
			f.scan(s.t.lower, false, hits)
		default:
			for _, r := range f.users {
				hits[r/64] |= 1 << (r % 64)
			}
		}
	}
	return hits
}

func (f *pfField) scan(s string, fold bool, hits []uint64) {
	if f.ac == nil {
		for _, r := range f.users {
			hits[r/64] |= 1 << (r % 64)
		}
		return
	}
	found := func(needle int32) {
		r := f.rules[needle]
		hits[r/64] |= 1 << (r % 64)
	}
	if f.anchors != nil && len(s) >= anchorMinText {
		f.anchors.each(s, fold, found)
		return
	}
	f.ac.each(s, fold, found)
}
