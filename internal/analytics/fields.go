package analytics

import (
	"net"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/events"
)

// A field reference names where a value comes from: an event field, the
// first present of an alias's fields, or a property of the event itself
// (@org, @product, @service, @category, @host — the sending host as the
// record names it —, @addr — the sender's address without its port —,
// @protocol, @format, @token).
type fieldRef struct {
	name   string   // as written, for explanations
	names  []string // event fields to try in order
	pseudo string   // @… property, or ""
}

var pseudoFields = []string{"@org", "@product", "@service", "@category", "@host", "@addr", "@protocol", "@format", "@token"}

func (c *Config) ref(name string) fieldRef {
	if strings.HasPrefix(name, "@") {
		return fieldRef{name: name, pseudo: name}
	}
	if l, ok := c.Fields[name]; ok {
		return fieldRef{name: name, names: l}
	}
	return fieldRef{name: name, names: []string{name}}
}

// raw returns the referenced value and whether the event has it.
func (r *fieldRef) raw(ev *events.Event) (any, bool) {
	if r.pseudo != "" {
		s := pseudoValue(r.pseudo, ev)
		return s, s != ""
	}
	for _, n := range r.names {
		if n != "" && n[0] == '@' {
			if s := pseudoValue(n, ev); s != "" {
				return s, true
			}
			continue
		}
		// The stream's consumer leaves an event's fields undecoded
		// until something asks (most filters ask only for the log
		// source); one whose fields do not decode has none.
		_ = ev.LoadFields()
		if v, ok := ev.Fields[n]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// pseudoValue returns a property of the event by its @name.
func pseudoValue(name string, ev *events.Event) string {
	switch name {
	case "@org":
		return ev.Org
	case "@product":
		return ev.Product
	case "@service":
		return ev.Service
	case "@category":
		return ev.Category
	case "@host":
		return ev.Source.Host
	case "@addr":
		if h, _, err := net.SplitHostPort(ev.Source.Addr); err == nil {
			return h
		}
		return ev.Source.Addr
	case "@protocol":
		return ev.Source.Protocol
	case "@format":
		return ev.Source.Format
	case "@token":
		return ev.Source.Token
	}
	return ""
}

// text returns the referenced value as text ("" when absent), without
// boxing an event property in an interface.
func (r *fieldRef) text(ev *events.Event) string {
	if r.pseudo != "" {
		return pseudoValue(r.pseudo, ev)
	}
	v, ok := r.raw(ev)
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return events.FieldText(v)
}

// appendLower appends s folded to lower case: ASCII in place, anything
// else through strings.ToLower.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lowerASCII folds an ASCII letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether ASCII t begins with lower-case p.
func hasPrefixFold(t, p string) bool {
	if len(t) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lowerASCII(t[i]) != p[i] {
			return false
		}
	}
	return true
}

// indexFold is strings.Index of lower-case p in ASCII t, folding t.
func indexFold(t, p string) int {
	for i := 0; i+len(p) <= len(t); i++ {
		if hasPrefixFold(t[i:], p) {
			return i
		}
	}
	return -1
}

// pattern is one value of a filter: literal, or with * wildcards,
// matched case-insensitively; a number also matches a numeric value
// equal to it ("4672" matches 4672.0) without formatting the value.
type pattern struct {
	parts    []string // lower-cased text between the stars
	wildcard bool
	num      float64
	isNum    bool
}

func compilePattern(s string) pattern {
	s = strings.ToLower(s)
	if !strings.Contains(s, "*") {
		p := pattern{parts: []string{s}}
		if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == s {
			p.num, p.isNum = f, true
		}
		return p
	}
	return pattern{parts: strings.Split(s, "*"), wildcard: true}
}

// match reports whether text t matches, ignoring case. ASCII text (nearly
// all of it) is compared in place; other text is lower-cased first.
func (p *pattern) match(t string) bool {
	if !isASCII(t) {
		t = strings.ToLower(t)
		return p.matchLower(t, func(t, p string) bool { return strings.HasPrefix(t, p) }, strings.Index)
	}
	return p.matchLower(t, hasPrefixFold, indexFold)
}

func (p *pattern) matchLower(t string, prefix func(t, p string) bool, index func(t, p string) int) bool {
	if !p.wildcard {
		return len(t) == len(p.parts[0]) && prefix(t, p.parts[0])
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !prefix(t, first) {
		return false
	}
	t = t[len(first):]
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := index(t, mid)
		if i < 0 {
			return false
		}
		t = t[i+len(mid):]
	}
	return len(t) >= len(last) && prefix(t[len(t)-len(last):], last)
}

type fieldCond struct {
	ref  fieldRef
	pats []pattern
}

// match reports whether the event's value (any item of a list) matches
// any pattern.
func (c *fieldCond) match(ev *events.Event) bool {
	if c.ref.pseudo != "" {
		return c.matchText(pseudoValue(c.ref.pseudo, ev))
	}
	v, ok := c.ref.raw(ev)
	if !ok {
		return false
	}
	return c.matchValue(v)
}

func (c *fieldCond) matchValue(v any) bool {
	switch x := v.(type) {
	case string:
		return c.matchText(x)
	case float64:
		for i := range c.pats {
			if c.pats[i].isNum && c.pats[i].num == x {
				return true
			}
		}
		return c.matchText(events.FieldText(x))
	case []any:
		for _, e := range x {
			if c.matchValue(e) {
				return true
			}
		}
		return false
	}
	return c.matchText(events.FieldText(v))
}

func (c *fieldCond) matchText(t string) bool {
	for i := range c.pats {
		if c.pats[i].match(t) {
			return true
		}
	}
	return false
}

// filter is a compiled Filter.
type filter struct {
	product, service, category string
	fields, not                []fieldCond
	exists                     []fieldRef
}

func (c *Config) compileFilter(f Filter) filter {
	out := filter{product: strings.ToLower(f.Product), service: strings.ToLower(f.Service), category: strings.ToLower(f.Category)}
	conds := func(m map[string][]string) []fieldCond {
		var l []fieldCond
		for _, name := range sortedKeys(m) {
			fc := fieldCond{ref: c.ref(name)}
			for _, v := range m[name] {
				fc.pats = append(fc.pats, compilePattern(v))
			}
			l = append(l, fc)
		}
		return l
	}
	out.fields, out.not = conds(f.Fields), conds(f.Not)
	for _, e := range f.Exists {
		out.exists = append(out.exists, c.ref(e))
	}
	return out
}

// match reports whether ev passes the filter. The log source is checked
// first: it rules out most events for the price of a string comparison.
func (f *filter) match(ev *events.Event) bool {
	if f.product != "" && !strings.EqualFold(ev.Product, f.product) ||
		f.service != "" && !strings.EqualFold(ev.Service, f.service) ||
		f.category != "" && !strings.EqualFold(ev.Category, f.category) {
		return false
	}
	for i := range f.exists {
		if f.exists[i].text(ev) == "" {
			return false
		}
	}
	for i := range f.fields {
		if !f.fields[i].match(ev) {
			return false
		}
	}
	for i := range f.not {
		if f.not[i].match(ev) {
			return false
		}
	}
	return true
}
