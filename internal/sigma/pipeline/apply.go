package pipeline

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Rule is what a pipeline needs to know of a Sigma rule: the engine fills
// it from its own rule model.
type Rule struct {
	LogSource LogSource
	Tags      []string
	// Correlation is set for a correlation rule.
	Correlation bool
	// Items are the rule's detection items, flattened from all its
	// searches; Result.Items answers for each at the same index.
	Items []DetectionItem
	// Attributes are the rule's other attributes by their YAML names
	// (id, title, status, level, date, modified, author, custom ones),
	// for rule_attribute conditions.
	Attributes map[string]string
}

// DetectionItem is one field (or keyword) search of a rule.
type DetectionItem struct {
	// Field is the field name as the rule writes it (without modifiers);
	// "" for a keyword search.
	Field string
	// Values are the values as pySigma's pipelines see them: Sigma's
	// value syntax (wildcards and escapes kept), with the contains,
	// startswith and endswith modifiers already written as wildcards
	// (`|contains: x` is `*x*`, `|endswith: \cmd.exe` is `*\cmd.exe`), so
	// that pipelines written for pySigma (replace_string patterns,
	// contains_wildcard conditions) see what they were written for.
	// Numbers and booleans as text.
	Values []string
	// Raw is set when the values are not Sigma strings — a regular
	// expression, a CIDR range, a number comparison, a field reference:
	// value transformations (replace_string, map_string, placeholders)
	// and string conditions (match_string, contains_wildcard) pass them
	// by, as pySigma's do.
	Raw bool
	// Null is set when the item's value is null.
	Null bool
	// Expand is set when the item has the expand modifier: %name% in its
	// values are placeholders.
	Expand bool
}

// Result is a rule after a pipeline: what the engine compiles.
type Result struct {
	// LogSource is the rule's log source after change_logsource.
	LogSource LogSource
	// Items answer for Rule.Items, index for index.
	Items []MappedItem
	// Conditions are add_condition's extra conditions, each to be ANDed
	// into the rule's condition. They route the rule to the events of its
	// log source (e.g. Channel and EventID for a Sysmon category).
	Conditions []AddedCondition
	// Applied are the IDs of the processing items that changed the rule,
	// in order (items without an ID are not listed).
	Applied []string
}

// Routed reports whether any condition was added: a pipeline that routes
// log sources adds at least one for every log source it knows.
func (r *Result) Routed() bool { return len(r.Conditions) > 0 }

// MappedItem is a detection item after the pipeline.
type MappedItem struct {
	// Fields are the event fields to read: the item matches when any of
	// them does (a one-to-many mapping). Nil for a keyword search.
	Fields []string
	// Values after value transformations and placeholder expansion.
	Values []string
	Null   bool
	// Dropped is set when drop_detection_item removed the item: the
	// engine treats it as absent from its search.
	Dropped bool
	// Unresolved lists placeholders (of an Expand item) that no item gave
	// values to; the engine decides (Vigil reports the rule).
	Unresolved []string
}

// AddedCondition is one add_condition: all of Items hold (or, Negated,
// not all of them).
type AddedCondition struct {
	ItemID  string
	Name    string
	Negated bool
	// Items are field conditions (never keywords), after the field
	// mappings that followed the add_condition.
	Items []MappedItem
}

// ApplyError is why a pipeline cannot be applied to a rule: an item the
// rule needs is unsupported, or a rule_failure or detection_item_failure
// item fired.
type ApplyError struct {
	Pos    Pos
	ID     string
	Type   string
	Reason string
}

// Error renders "file:line: transformation "id" (type): reason".
func (e *ApplyError) Error() string {
	it := Item{ID: e.ID, Type: e.Type}
	return fmt.Sprintf("%s: %s: %s", e.Pos, it.label(), e.Reason)
}

// work is a detection item while the pipeline runs.
type work struct {
	fields  []string // nil for a keyword
	values  []string
	null    bool
	expand  bool
	raw     bool
	dropped bool
	applied map[string]bool
}

type state struct {
	p       *Pipeline
	ls      LogSource
	rule    *Rule
	items   []*work // rule items first, then added ones
	added   []addedWork
	applied map[string]bool
	order   []string
	vars    map[string]string // set_state
}

type addedWork struct {
	id, name string
	negated  bool
	first, n int // index range in state.items
}

// Apply runs the pipeline over r. It never changes r.
func (p *Pipeline) Apply(r Rule) (*Result, error) {
	s := &state{p: p, ls: r.LogSource, rule: &r, applied: map[string]bool{}, vars: map[string]string{}}
	for _, d := range r.Items {
		w := &work{values: append([]string(nil), d.Values...), null: d.Null, expand: d.Expand, raw: d.Raw, applied: map[string]bool{}}
		if d.Field != "" {
			w.fields = []string{d.Field}
		}
		s.items = append(s.items, w)
	}
	for _, it := range p.Items {
		if err := s.apply(it); err != nil {
			return nil, err
		}
	}
	res := &Result{LogSource: s.ls, Applied: s.order}
	for _, w := range s.items[:len(r.Items)] {
		res.Items = append(res.Items, w.result())
	}
	for _, a := range s.added {
		c := AddedCondition{ItemID: a.id, Name: a.name, Negated: a.negated}
		for _, w := range s.items[a.first : a.first+a.n] {
			if !w.dropped {
				c.Items = append(c.Items, w.result())
			}
		}
		if len(c.Items) > 0 {
			res.Conditions = append(res.Conditions, c)
		}
	}
	return res, nil
}

// Route is Apply for a rule with no detection items: the log source
// rewrite and the routing conditions of ls.
func (p *Pipeline) Route(ls LogSource) (*Result, error) { return p.Apply(Rule{LogSource: ls}) }

// MapField returns the event fields a rule of ls reads for field.
func (p *Pipeline) MapField(ls LogSource, field string) ([]string, error) {
	res, err := p.Apply(Rule{LogSource: ls, Items: []DetectionItem{{Field: field}}})
	if err != nil {
		return nil, err
	}
	return res.Items[0].Fields, nil
}

var placeholderRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`%(\w+)%`) })

func (w *work) result() MappedItem {
	m := MappedItem{Fields: w.fields, Values: w.values, Null: w.null, Dropped: w.dropped}
	if w.expand {
		seen := map[string]bool{}
		for _, v := range w.values {
			for _, g := range placeholderRE().FindAllStringSubmatch(v, -1) {
				if !seen[g[1]] {
					seen[g[1]] = true
					m.Unresolved = append(m.Unresolved, g[1])
				}
			}
		}
	}
	return m
}

func (s *state) fail(it *Item, reason string) error {
	return &ApplyError{Pos: it.Pos, ID: it.ID, Type: it.Type, Reason: reason}
}

func (s *state) mark(it *Item) {
	if it.ID != "" && !s.applied[it.ID] {
		s.applied[it.ID] = true
		s.order = append(s.order, it.ID)
	}
}

func (s *state) ruleCond(c RuleCondition) bool {
	switch c := c.(type) {
	case LogsourceCondition:
		return eqSet(c.LogSource.Product, s.ls.Product) && eqSet(c.LogSource.Category, s.ls.Category) && eqSet(c.LogSource.Service, s.ls.Service)
	case ContainsDetectionItemCondition:
		for _, w := range s.items {
			if !w.dropped && contains(w.fields, c.Field) && contains(w.values, c.Value) {
				return true
			}
		}
	case ContainsFieldCondition:
		for _, w := range s.items {
			if !w.dropped && contains(w.fields, c.Field) {
				return true
			}
		}
	case ProcessingItemAppliedCondition:
		return s.applied[c.ID]
	case IsSigmaRuleCondition:
		return !s.rule.Correlation
	case IsSigmaCorrelationRuleCondition:
		return s.rule.Correlation
	case TagCondition:
		for _, t := range s.rule.Tags {
			if strings.EqualFold(t, c.Tag) {
				return true
			}
		}
	case RuleAttributeCondition:
		v, ok := s.rule.Attributes[c.Attribute]
		return ok && compare(c.Attribute, v, c.Value, c.Op)
	case ProcessingStateCondition:
		return s.stateCond(c)
	}
	return false
}

func (s *state) stateCond(c ProcessingStateCondition) bool {
	v, ok := s.vars[c.Key]
	return ok && compare("", v, c.Val, c.Op)
}

// sigmaOrder ranks levels and statuses as Sigma orders them.
var sigmaOrder = map[string]map[string]int{
	"level":  {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4},
	"status": {"unsupported": 0, "deprecated": 1, "experimental": 2, "test": 3, "stable": 4},
}

// compare reports whether got op want holds: in Sigma's order for level
// and status, as numbers when both are, as dates (YYYY-MM-DD or
// YYYY/MM/DD) when both are, and otherwise as text for eq and ne only.
func compare(attr, got, want, op string) bool {
	c, ordered := 0, true
	if ord, ok := sigmaOrder[attr]; ok {
		g, gok := ord[strings.ToLower(got)]
		w, wok := ord[strings.ToLower(want)]
		if !gok || !wok {
			return false
		}
		c = g - w
	} else if g, err1 := strconv.ParseFloat(got, 64); err1 == nil {
		w, err2 := strconv.ParseFloat(want, 64)
		if err2 != nil {
			return false
		}
		c = cmpFloat(g, w)
	} else if isDate(got) && isDate(want) {
		c = strings.Compare(strings.ReplaceAll(got, "/", "-"), strings.ReplaceAll(want, "/", "-"))
	} else {
		ordered = false
		if got != want {
			c = 1
		}
	}
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	}
	if !ordered {
		return false
	}
	switch op {
	case "gt":
		return c > 0
	case "gte":
		return c >= 0
	case "lt":
		return c < 0
	case "lte":
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isDate(s string) bool {
	if len(s) != 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func eqSet(want, got string) bool { return want == "" || strings.EqualFold(want, got) }

func (s *state) fieldCond(w *work, field string) func(FieldCondition) bool {
	return func(c FieldCondition) bool {
		switch c := c.(type) {
		case FieldsCondition:
			return c.matches(field)
		case ProcessingItemAppliedCondition:
			return w.applied[c.ID]
		case ProcessingStateCondition:
			return s.stateCond(c)
		}
		return false
	}
}

func (s *state) detCond(w *work) func(DetectionItemCondition) bool {
	return func(c DetectionItemCondition) bool {
		switch c := c.(type) {
		case MatchStringCondition:
			if w.raw {
				return false
			}
			return anyAll(w.values, c.All, func(v string) bool { return c.Pattern.MatchString(v) != c.Negate })
		case ContainsWildcardCondition:
			if w.raw {
				return false
			}
			return anyAll(w.values, c.All, hasWildcard)
		case IsNullCondition:
			return w.null
		case ProcessingItemAppliedCondition:
			return w.applied[c.ID]
		case ProcessingStateCondition:
			return s.stateCond(c)
		}
		return false
	}
}

func anyAll(vals []string, all bool, f func(string) bool) bool {
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		if f(v) != all {
			return !all
		}
	}
	return all
}

// hasWildcard reports an unescaped * or ? (Sigma escapes with \).
func hasWildcard(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		}
	}
	return false
}

// itemMatches reports whether the item's detection-item and field-name
// conditions hold for w (for at least one of its fields).
func (s *state) itemMatches(it *Item, w *work) bool {
	if w.dropped || !it.DetectionItemConds.eval(s.detCond(w)) {
		return false
	}
	if len(it.FieldConds.List) == 0 {
		return true
	}
	for _, f := range w.fields {
		if it.FieldConds.eval(s.fieldCond(w, f)) {
			return true
		}
	}
	return false
}

func (it *Item) hasItemConds() bool {
	return len(it.FieldConds.List) > 0 || len(it.DetectionItemConds.List) > 0
}

// anyItem reports whether some live detection item satisfies the item's
// field-name and detection-item conditions.
func (s *state) anyItem(it *Item) bool {
	for _, w := range s.items {
		if s.itemMatches(it, w) {
			return true
		}
	}
	return false
}

func (s *state) apply(it *Item) error {
	if !it.RuleConds.eval(s.ruleCond) {
		return nil
	}
	if it.Unsupported != "" {
		if it.touches != nil {
			for _, w := range s.items {
				if s.itemMatches(it, w) && it.touches(w) {
					return s.fail(it, it.Unsupported)
				}
			}
			return nil
		}
		if it.hasItemConds() && !s.anyItem(it) {
			return nil
		}
		return s.fail(it, it.Unsupported)
	}
	switch t := it.Transformation.(type) {
	case ChangeLogsource:
		if it.hasItemConds() && !s.anyItem(it) {
			return nil
		}
		if t.LogSource.Product != "" {
			s.ls.Product = t.LogSource.Product
		}
		if t.LogSource.Category != "" {
			s.ls.Category = t.LogSource.Category
		}
		if t.LogSource.Service != "" {
			s.ls.Service = t.LogSource.Service
		}
		s.mark(it)
	case AddCondition:
		if it.hasItemConds() && !s.anyItem(it) {
			return nil
		}
		a := addedWork{id: it.ID, name: t.Name, negated: t.Negated, first: len(s.items), n: len(t.Conditions)}
		for _, c := range t.Conditions {
			w := &work{fields: []string{c.Field}, applied: map[string]bool{}}
			for _, v := range c.Values {
				if t.Template {
					v = s.template(v)
				}
				w.values = append(w.values, v)
			}
			if it.ID != "" {
				w.applied[it.ID] = true
			}
			s.items = append(s.items, w)
		}
		s.added = append(s.added, a)
		s.mark(it)
	case SetState:
		if it.hasItemConds() && !s.anyItem(it) {
			return nil
		}
		s.vars[t.Key] = t.Val
		s.mark(it)
	case RuleFailure:
		if it.hasItemConds() && !s.anyItem(it) {
			return nil
		}
		return s.fail(it, t.Message)
	case DetectionItemFailure:
		if s.anyItem(it) {
			return s.fail(it, t.Message)
		}
	default:
		return s.perItem(it)
	}
	return nil
}

// template substitutes $category, $product and $service (Python's
// string.Template syntax, ${name} too) from the rule's log source.
func (s *state) template(v string) string {
	r := strings.NewReplacer(
		"${category}", s.ls.Category, "${product}", s.ls.Product, "${service}", s.ls.Service,
		"$category", s.ls.Category, "$product", s.ls.Product, "$service", s.ls.Service, "$$", "$")
	return r.Replace(v)
}

// perItem applies a detection-item transformation to every detection
// item its conditions select.
func (s *state) perItem(it *Item) error {
	changedAny := false
	for _, w := range s.items {
		if w.dropped || !it.DetectionItemConds.eval(s.detCond(w)) {
			continue
		}
		changed, err := s.one(it, w)
		if err != nil {
			return err
		}
		if changed {
			changedAny = true
			if it.ID != "" {
				w.applied[it.ID] = true
			}
		}
	}
	if changedAny {
		s.mark(it)
	}
	return nil
}

// fieldOK reports whether the field conditions hold for field of w.
func (s *state) fieldOK(it *Item, w *work, field string) bool {
	return it.FieldConds.eval(s.fieldCond(w, field))
}

// valuesOK reports whether a value transformation applies to w: pySigma
// checks field-name conditions against the item's field, so a keyword
// (no field) passes only when there are none.
func (s *state) valuesOK(it *Item, w *work) bool {
	if len(it.FieldConds.List) == 0 {
		return true
	}
	for _, f := range w.fields {
		if s.fieldOK(it, w, f) {
			return true
		}
	}
	return false
}

func (s *state) one(it *Item, w *work) (bool, error) {
	mapFields := func(f func(string) []string) bool {
		if w.fields == nil {
			return false
		}
		var out []string
		changed := false
		for _, fld := range w.fields {
			if !s.fieldOK(it, w, fld) {
				out = append(out, fld)
				continue
			}
			if n := f(fld); n != nil {
				out = append(out, n...)
				changed = true
			} else {
				out = append(out, fld)
			}
		}
		w.fields = dedupe(out)
		return changed
	}
	switch t := it.Transformation.(type) {
	case FieldNameMapping:
		return mapFields(func(f string) []string { return t.Mapping[f] }), nil
	case FieldNamePrefixMapping:
		return mapFields(func(f string) []string {
			for _, pp := range t.Mapping {
				if rest, ok := strings.CutPrefix(f, pp.From); ok {
					return []string{pp.To + rest}
				}
			}
			return nil
		}), nil
	case FieldNamePrefix:
		return mapFields(func(f string) []string { return []string{t.Prefix + f} }), nil
	case FieldNameSuffix:
		return mapFields(func(f string) []string { return []string{f + t.Suffix} }), nil
	}
	if !s.valuesOK(it, w) {
		return false, nil
	}
	switch it.Transformation.(type) {
	case ReplaceString, MapString, ValuePlaceholders, WildcardPlaceholders:
		if w.raw {
			return false, nil
		}
	}
	switch t := it.Transformation.(type) {
	case DropDetectionItem:
		w.dropped = true
		return true, nil
	case ReplaceString:
		changed := false
		for i, v := range w.values {
			if n := t.Regex.ReplaceAllString(v, t.Replacement); n != v {
				w.values[i], changed = n, true
			}
		}
		return changed, nil
	case MapString:
		var out []string
		changed := false
		for _, v := range w.values {
			if m, ok := t.Mapping[v]; ok {
				out, changed = append(out, m...), true
			} else {
				out = append(out, v)
			}
		}
		w.values = out
		return changed, nil
	case SetValue:
		w.values, w.null = []string{t.Value}, false
		return true, nil
	case ValuePlaceholders:
		if !w.expand {
			return false, nil
		}
		return s.expand(it, w, t.Include, t.Exclude, false)
	case WildcardPlaceholders:
		if !w.expand {
			return false, nil
		}
		return s.expand(it, w, t.Include, t.Exclude, true)
	}
	return false, fmt.Errorf("%s: %s: transformation %T has no implementation", it.Pos, it.label(), it.Transformation)
}

// maxExpansion bounds the values placeholder expansion may give one
// detection item: a value with several placeholders multiplies their
// lists, and a rule that needs more is better reported than compiled.
const maxExpansion = 10000

func (s *state) expand(it *Item, w *work, include, exclude []string, wildcard bool) (bool, error) {
	handled := func(name string) bool {
		if len(include) > 0 {
			return contains(include, name)
		}
		return !contains(exclude, name)
	}
	var out []string
	changed := false
	for _, v := range w.values {
		parts := []string{""}
		last := 0
		for _, m := range placeholderRE().FindAllStringSubmatchIndex(v, -1) {
			name := v[m[2]:m[3]]
			if !handled(name) {
				continue
			}
			var repl []string
			if wildcard {
				repl = []string{"*"}
			} else {
				vals, ok := s.p.Vars[name]
				if !ok {
					return false, s.fail(it, fmt.Sprintf("placeholder %%%s%% has no values in the pipeline's vars", name))
				}
				repl = vals
			}
			if len(out)+len(parts)*len(repl) > maxExpansion {
				return false, s.fail(it, fmt.Sprintf("placeholder %%%s%% expands to more than %d values", name, maxExpansion))
			}
			lit := v[last:m[0]]
			next := make([]string, 0, len(parts)*len(repl))
			for _, p := range parts {
				for _, r := range repl {
					next = append(next, p+lit+r)
				}
			}
			parts, last, changed = next, m[1], true
		}
		for _, p := range parts {
			out = append(out, p+v[last:])
		}
	}
	w.values = out
	return changed, nil
}

func dedupe(l []string) []string {
	seen := make(map[string]bool, len(l))
	out := l[:0]
	for _, x := range l {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Chain joins pipelines into one that applies them in order of priority
// (lower first, as pySigma does; equal priorities keep the order given).
// Vars merge, a later pipeline's value winning.
func Chain(ps ...*Pipeline) *Pipeline {
	sorted := append([]*Pipeline(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Priority < sorted[j].Priority })
	out := &Pipeline{Format: "chain", Vars: map[string][]string{}}
	var names []string
	for _, p := range sorted {
		names = append(names, p.Name)
		out.Items = append(out.Items, p.Items...)
		out.Notes = append(out.Notes, p.Notes...)
		for k, v := range p.Vars {
			out.Vars[k] = v
		}
	}
	out.Name = strings.Join(names, " + ")
	if len(sorted) > 0 {
		out.Priority = sorted[0].Priority
	}
	return out
}
