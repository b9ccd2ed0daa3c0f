package analytics

import (
	"net"
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

// text returns the referenced value as text ("" when absent).
func (r *fieldRef) text(ev *events.Event) string {
	v, ok := r.raw(ev)
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return events.FieldText(v)
}

// pattern is one value of a filter: literal, or with * wildcards,
// matched case-insensitively.
type pattern struct {
	parts    []string // lower-cased text between the stars
	wildcard bool
}

func compilePattern(s string) pattern {
	s = strings.ToLower(s)
	if !strings.Contains(s, "*") {
		return pattern{parts: []string{s}}
	}
	return pattern{parts: strings.Split(s, "*"), wildcard: true}
}

// match reports whether lower-cased text t matches.
func (p *pattern) match(t string) bool {
	if !p.wildcard {
		return t == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !strings.HasPrefix(t, first) {
		return false
	}
	t = t[len(first):]
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(t, mid)
		if i < 0 {
			return false
		}
		t = t[i+len(mid):]
	}
	return strings.HasSuffix(t, last)
}

type fieldCond struct {
	ref  fieldRef
	pats []pattern
}

// match reports whether the event's value (any item of a list) matches
// any pattern.
func (c *fieldCond) match(ev *events.Event) bool {
	v, ok := c.ref.raw(ev)
	if !ok {
		return false
	}
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if c.matchText(strings.ToLower(events.FieldText(x))) {
				return true
			}
		}
		return false
	}
	s, ok := v.(string)
	if !ok {
		s = events.FieldText(v)
	}
	return c.matchText(strings.ToLower(s))
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
