package sigma

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Correlator evaluates correlation rules over the matches of the rules
// they refer to, per group of field values, in event time (the times
// passed to Observe; no clock is read). Chained correlations (a
// correlation referring to another) are fed by the hits of the inner
// one. It holds per-group state, so it is for one goroutine (a stream
// consumer); groups idle for longer than their timespan are dropped.
//
// Windows slide: a correlation fires on the match that makes its
// condition true within the timespan before it, and then starts afresh
// for that group, so a burst raises one hit, not one per further event.
type Correlator struct {
	corrs  []*corrState
	byRef  map[string][]corrRef // rule or correlation id/name → who refers to it
	silent map[*Rule]bool
}

type corrRef struct {
	cs    *corrState
	index int // position in Correlation.Rules
}

type corrState struct {
	c      *Correlation
	groups map[string]*corrGroup
	adds   int
}

type corrGroup struct {
	values map[string]string
	times  []time.Time
	vals   []timedValue
	last   []time.Time // temporal: latest match per referred rule
	chain  []time.Time // temporal_ordered: start of the chain completed up to each rule
	newest time.Time
}

type timedValue struct {
	t   time.Time
	s   string
	num float64
}

// CorrelationHit is a correlation that fired: for which group of values,
// when (the time of the match that completed it), and the value its
// condition tested (the count, distinct count, sum or average; for the
// temporal types the number of referred rules seen).
type CorrelationHit struct {
	Correlation *Correlation
	Group       map[string]string
	Time        time.Time
	Value       float64
}

// NewCorrelator checks that every reference of corrs resolves to one of
// rules or corrs (by id or name) without cycles, and returns a Correlator
// for them. Errors are *Error naming the correlation's file and line.
func NewCorrelator(rules []*CompiledRule, corrs []*Correlation) (*Correlator, error) {
	known := map[string]bool{}
	ruleByRef := map[string]*Rule{}
	for _, r := range rules {
		for _, k := range []string{r.Rule.ID, r.Rule.Name} {
			if k != "" {
				known[k] = true
				ruleByRef[k] = r.Rule
			}
		}
	}
	corrByRef := map[string]*Correlation{}
	for _, c := range corrs {
		for _, k := range []string{c.ID, c.Name} {
			if k != "" {
				known[k] = true
				corrByRef[k] = c
			}
		}
	}
	cr := &Correlator{byRef: map[string][]corrRef{}, silent: map[*Rule]bool{}}
	generates := map[*Rule]bool{}
	for _, c := range corrs {
		cs := &corrState{c: c, groups: map[string]*corrGroup{}}
		cr.corrs = append(cr.corrs, cs)
		for i, ref := range c.Rules {
			if !known[ref] {
				return nil, &Error{File: c.File, Line: c.Pos.Line, Msg: fmt.Sprintf("correlation %q refers to %q, which is no loaded rule or correlation (by id or name)", c.Title, ref)}
			}
			cr.byRef[ref] = append(cr.byRef[ref], corrRef{cs: cs, index: i})
			if r := ruleByRef[ref]; r != nil {
				if c.Generate {
					generates[r] = true
				} else if !generates[r] {
					cr.silent[r] = true
				}
			}
		}
	}
	for r := range generates {
		delete(cr.silent, r)
	}
	// Cycles: a correlation reaching itself through its references.
	var visit func(c *Correlation, path []*Correlation) error
	visit = func(c *Correlation, path []*Correlation) error {
		if slices.Contains(path, c) {
			return &Error{File: c.File, Line: c.Pos.Line, Msg: fmt.Sprintf("correlation %q refers to itself through its rules", c.Title)}
		}
		for _, ref := range c.Rules {
			if inner := corrByRef[ref]; inner != nil {
				if err := visit(inner, append(path, c)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, c := range corrs {
		if err := visit(c, nil); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

// Generates reports whether a rule's matches are alerts of their own:
// false for a rule that only feeds correlations (every correlation that
// refers to it leaves generate unset, the specification's default).
func (cr *Correlator) Generates(r *Rule) bool { return !cr.silent[r] }

// Observe records that rule r matched ev at time t and returns the
// correlations that fire as a result, chained ones included (nil for
// none). A rule no correlation refers to costs two map look-ups.
func (cr *Correlator) Observe(r *Rule, ev Event, t time.Time) []CorrelationHit {
	return cr.feedRefs(r.ID, r.Name, ev, t, nil)
}

// feedRefs feeds the correlations that refer to id or name.
func (cr *Correlator) feedRefs(id, name string, ev Event, t time.Time, hits []CorrelationHit) []CorrelationHit {
	if id != "" {
		for _, ref := range cr.byRef[id] {
			hits = cr.feed(ref, name, ev, t, hits)
		}
	}
	if name != "" && name != id {
		for _, ref := range cr.byRef[name] {
			hits = cr.feed(ref, name, ev, t, hits)
		}
	}
	return hits
}

func (cr *Correlator) feed(ref corrRef, refName string, ev Event, t time.Time, hits []CorrelationHit) []CorrelationHit {
	cs := ref.cs
	c := cs.c
	values := make(map[string]string, len(c.GroupBy))
	var key strings.Builder
	for _, g := range c.GroupBy {
		v := valueText(c.lookup(ev, aliasField(c, g, refName), refName))
		values[g] = v
		key.WriteString(v)
		key.WriteByte(0)
	}
	g := cs.groups[key.String()]
	if g == nil {
		g = &corrGroup{values: values}
		cs.groups[key.String()] = g
	}
	from := t.Add(-c.Timespan)
	var fired bool
	var value float64
	switch c.Type {
	case EventCount:
		g.times = append(pruneTimes(g.times, from), t)
		value = float64(len(g.times))
		if fired = holdsAll(c.Condition, value); fired {
			g.times = g.times[:0]
		}
	case ValueCount, ValueSum, ValueAvg:
		raw, ok := c.lookup(ev, aliasField(c, c.Field, refName), refName)
		if !ok {
			break
		}
		tv := timedValue{t: t}
		if c.Type == ValueCount {
			tv.s, ok = scalarText(raw)
		} else {
			tv.num, ok = scalarNumber(raw)
		}
		if !ok {
			break
		}
		g.vals = append(pruneValues(g.vals, from), tv)
		value = aggregate(c.Type, g.vals)
		if fired = holdsAll(c.Condition, value); fired {
			g.vals = g.vals[:0]
		}
	case Temporal:
		if g.last == nil {
			g.last = make([]time.Time, len(c.Rules))
		}
		g.last[ref.index] = t
		for _, lt := range g.last {
			if !lt.IsZero() && !lt.Before(from) {
				value++
			}
		}
		if len(c.Condition) == 0 {
			fired = int(value) == len(c.Rules)
		} else {
			fired = holdsAll(c.Condition, value)
		}
		if fired {
			clear(g.last)
		}
	case TemporalOrdered:
		if g.chain == nil {
			g.chain = make([]time.Time, len(c.Rules))
		}
		i := ref.index
		switch {
		case i == 0:
			g.chain[0] = t
		case !g.chain[i-1].IsZero() && !g.chain[i-1].Before(from):
			g.chain[i] = g.chain[i-1]
		}
		if i == len(c.Rules)-1 && !g.chain[i].IsZero() && !g.chain[i].Before(from) {
			fired, value = true, float64(len(c.Rules))
			clear(g.chain)
		}
	}
	if t.After(g.newest) {
		g.newest = t
	}
	if cs.adds++; cs.adds%1024 == 0 {
		for k, og := range cs.groups {
			if og.newest.Before(from) {
				delete(cs.groups, k)
			}
		}
	}
	if !fired {
		return hits
	}
	hit := CorrelationHit{Correlation: c, Group: values, Time: t, Value: value}
	hits = append(hits, hit)
	// Feed the correlations that refer to this one.
	group := make(Map, len(values))
	for k, v := range values {
		group[k] = v
	}
	return cr.feedRefs(c.ID, c.Name, group, t, hits)
}

// aliasField resolves a group-by name: an alias's field for the referred
// rule (by name), else the name itself.
func aliasField(c *Correlation, name, refName string) string {
	if a, ok := c.Aliases[name]; ok {
		if f, ok := a[refName]; ok {
			return f
		}
	}
	return name
}

// lookup reads field, of the rule refName names, from ev: the field
// itself, or where pipelines renamed it (one to many) the first of its
// names that ev has.
func (c *Correlation) lookup(ev Event, field, refName string) (any, bool) {
	if names := c.mapped[[2]string{refName, field}]; len(names) > 0 {
		for _, n := range names {
			if v, ok := ev.Field(n); ok {
				return v, true
			}
		}
		return nil, false
	}
	return ev.Field(field)
}

func valueText(v any, ok bool) string {
	if !ok {
		return ""
	}
	if l, ok := v.([]any); ok {
		parts := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := scalarText(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	}
	s, _ := scalarText(v)
	return s
}

func holdsAll(cs []Comparison, x float64) bool {
	for _, c := range cs {
		if !c.holds(x) {
			return false
		}
	}
	return len(cs) > 0
}

func pruneTimes(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(from) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

func pruneValues(vs []timedValue, from time.Time) []timedValue {
	i := 0
	for i < len(vs) && vs[i].t.Before(from) {
		i++
	}
	return append(vs[:0], vs[i:]...)
}

func aggregate(t CorrelationType, vs []timedValue) float64 {
	switch t {
	case ValueCount:
		distinct := make(map[string]struct{}, len(vs))
		for _, v := range vs {
			distinct[v.s] = struct{}{}
		}
		return float64(len(distinct))
	case ValueSum, ValueAvg:
		sum := 0.0
		for _, v := range vs {
			sum += v.num
		}
		if t == ValueAvg && len(vs) > 0 {
			return sum / float64(len(vs))
		}
		return sum
	}
	return 0
}
