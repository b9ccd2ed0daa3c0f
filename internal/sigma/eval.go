package sigma

import (
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// node is one node of a compiled rule's matcher tree. The set is closed:
// and, or, not, a search reference, and the field tests.
type node interface {
	eval(c *evalCtx) bool
}

type andNode struct {
	kids []node
	of   string // "all of x*" when it came from one, for the dump
}

func (n *andNode) eval(c *evalCtx) bool {
	for _, k := range n.kids {
		if !k.eval(c) {
			return false
		}
	}
	return true
}

type orNode struct {
	kids []node
	of   string
}

func (n *orNode) eval(c *evalCtx) bool {
	for _, k := range n.kids {
		if k.eval(c) {
			return true
		}
	}
	return false
}

type notNode struct{ kid node }

func (n *notNode) eval(c *evalCtx) bool { return !n.kid.eval(c) }

// refNode is a search named in the condition (kept for the dump and for
// explaining matches).
type refNode struct {
	name string
	kid  node
}

func (n *refNode) eval(c *evalCtx) bool { return n.kid.eval(c) }

// nullNode matches a field that is absent or nil.
type nullNode struct {
	field string
	slot  int
}

func (n *nullNode) eval(c *evalCtx) bool {
	s := c.field(n.slot, n.field)
	return !s.ok || s.v == nil
}

// existsNode is field|exists: want.
type existsNode struct {
	field string
	slot  int
	want  bool
}

func (n *existsNode) eval(c *evalCtx) bool {
	return c.field(n.slot, n.field).ok == n.want
}

// fieldNode tests one field (or the keywords) against the values of a
// FieldMatch: groups are the rule's values, each a list of alternatives
// (windash, base64offset and placeholders make several); a group matches
// when any alternative does; the node when any group does, or every
// group with all.
type fieldNode struct {
	field   string
	slot    int // fieldSlot(field)
	keyword bool
	all     bool
	groups  [][]pred
	mods    []string
	// ac, when set, holds the case-insensitive contains values of all
	// groups (taken out of them): without all, any one matching is
	// enough, and one pass finds whether any does.
	ac *acSearcher
}

// buildAC moves the case-insensitive contains values into one
// Aho–Corasick searcher when there are enough of them.
func (n *fieldNode) buildAC() {
	var needles []string
	for _, g := range n.groups {
		for _, p := range g {
			if isACPred(p) {
				needles = append(needles, p.(*strPred).m.lit)
			}
		}
	}
	if len(needles) < acMinNeedles {
		return
	}
	ac := newACSearcher(needles)
	if ac == nil {
		return
	}
	n.ac = ac
	groups := n.groups[:0]
	for _, g := range n.groups {
		rest := g[:0]
		for _, p := range g {
			if !isACPred(p) {
				rest = append(rest, p)
			}
		}
		if len(rest) > 0 {
			groups = append(groups, rest)
		}
	}
	n.groups = groups
}

func isACPred(p pred) bool {
	sp, ok := p.(*strPred)
	return ok && sp.m.kind == mContains && !sp.m.cased && !sp.isNum && !sp.isBool && sp.m.lit != ""
}

func (n *fieldNode) eval(c *evalCtx) bool {
	if n.keyword {
		return n.evalKeywords(c)
	}
	s := c.field(n.slot, n.field)
	if !s.ok {
		return false
	}
	if s.str {
		return n.evalText(&s.t, c.ev)
	}
	v, ev := s.v, c.ev
	if n.ac != nil && n.ac.containsValue(v) {
		return true // only set without all
	}
	for _, g := range n.groups {
		if groupMatches(g, v, ev) {
			if !n.all {
				return true
			}
		} else if n.all {
			return false
		}
	}
	return n.all
}

// evalText is eval for a field holding text, prepared once an event.
func (n *fieldNode) evalText(t *text, ev Event) bool {
	if n.ac != nil && n.ac.contains(t.lower) {
		return true // only set without all
	}
	for _, g := range n.groups {
		if groupMatchesPrepared(g, t, ev) {
			if !n.all {
				return true
			}
		} else if n.all {
			return false
		}
	}
	return n.all
}

func groupMatches(g []pred, v any, ev Event) bool {
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if groupMatches(g, e, ev) {
				return true
			}
		}
		return false
	}
	if l, ok := v.([]string); ok {
		for _, e := range l {
			if groupMatches(g, e, ev) {
				return true
			}
		}
		return false
	}
	if s, ok := v.(string); ok {
		return groupMatchesText(g, s, ev)
	}
	for _, p := range g {
		if p.match(v, ev) {
			return true
		}
	}
	return false
}

func (n *fieldNode) evalKeywords(c *evalCtx) bool {
	texts, ok := c.keywords()
	if !ok {
		return false
	}
	ev := c.ev
	if !n.all {
		for i := range texts {
			t := &texts[i]
			if n.ac != nil && n.ac.contains(t.lower) {
				return true
			}
			for _, g := range n.groups {
				if groupMatchesPrepared(g, t, ev) {
					return true
				}
			}
		}
		return false
	}
	for _, g := range n.groups {
		found := false
		for i := range texts {
			if groupMatchesPrepared(g, &texts[i], ev) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// groupMatchesText is groupMatches for text, which it does not box into
// an interface (an allocation per keyword text per rule, measured as most
// of the allocations over a Windows corpus).
func groupMatchesText(g []pred, s string, ev Event) bool {
	t := prepare(s)
	return groupMatchesPrepared(g, &t, ev)
}

func groupMatchesPrepared(g []pred, t *text, ev Event) bool {
	for _, p := range g {
		switch x := p.(type) {
		case *strPred:
			if x.m.matchText(t) {
				return true
			}
		case *rePred:
			if x.re.MatchString(t.s) {
				return true
			}
		default:
			if p.match(t.s, ev) {
				return true
			}
		}
	}
	return false
}

// pred tests one scalar field value.
type pred interface {
	match(v any, ev Event) bool
}

// strPred is a string pattern; a number or boolean rule value also
// matches a numeric or boolean field equal to it.
type strPred struct {
	m      strMatcher
	isNum  bool
	num    float64
	isBool bool
	b      bool
}

func (p *strPred) match(v any, _ Event) bool {
	switch x := v.(type) {
	case string:
		return p.m.match(x)
	case float64:
		if p.isNum {
			return x == p.num
		}
	case bool:
		if p.isBool {
			return x == p.b
		}
	case nil:
		return false
	}
	if p.isNum {
		if f, ok := scalarNumber(v); ok {
			return f == p.num
		}
	}
	s, ok := scalarText(v)
	return ok && p.m.match(s)
}

type rePred struct {
	re  *regexp.Regexp
	src string
}

func (p *rePred) match(v any, _ Event) bool {
	s, ok := scalarText(v)
	return ok && p.re.MatchString(s)
}

type cidrPred struct{ pfx netip.Prefix }

func (p *cidrPred) match(v any, _ Event) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	return p.pfx.Contains(a.Unmap())
}

type cmpPred struct {
	op  string
	num float64
}

func (p *cmpPred) match(v any, _ Event) bool {
	f, ok := scalarNumber(v)
	return ok && compare(p.op, f, p.num)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "lt":
		return a < b
	case "lte":
		return a <= b
	case "gt":
		return a > b
	case "gte":
		return a >= b
	}
	return a == b
}

// timePred extracts a part of a date field and compares it.
type timePred struct {
	part string
	op   string // eq, lt, lte, gt, gte
	num  float64
}

func (p *timePred) match(v any, _ Event) bool {
	t, ok := fieldTime(v)
	if !ok {
		return false
	}
	var n int
	switch p.part {
	case "minute":
		n = t.Minute()
	case "hour":
		n = t.Hour()
	case "day":
		n = t.Day()
	case "week":
		_, n = t.ISOWeek()
	case "month":
		n = int(t.Month())
	case "year":
		n = t.Year()
	}
	return compare(p.op, float64(n), p.num)
}

// timeLayouts are the date forms a time modifier reads; the spec says the
// modifiers do no time-zone conversion, so the clock reading is used as
// written.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func fieldTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// refPred is fieldref: the value equals another field's.
type refPred struct {
	field string
	cased bool
}

func (p *refPred) match(v any, ev Event) bool {
	o, ok := ev.Field(p.field)
	if !ok {
		return false
	}
	a, ok1 := scalarText(v)
	b, ok2 := scalarText(o)
	if !ok1 || !ok2 {
		return false
	}
	if p.cased {
		return a == b
	}
	return strings.EqualFold(a, b)
}
