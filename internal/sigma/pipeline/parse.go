package pipeline

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// ParseFile reads a pipeline file in either format (see Parse); errors
// name the file as given.
func ParseFile(path string) (*Pipeline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse reads a processing pipeline named file (used only in positions)
// from data: pySigma's processing-pipeline YAML, or the legacy sigmac
// configuration format (fieldmappings:, logsources:), told apart by their
// top-level keys. Every problem found is returned, joined, each an *Error
// naming file, line and field. Untrusted input never panics: a runtime
// panic is turned into an error.
func Parse(file string, data []byte) (p *Pipeline, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &Error{Pos: Pos{File: file, Line: 1}, Msg: fmt.Sprintf("internal error reading pipeline: %v", r)}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Pos: Pos{File: file, Line: yamlErrLine(err)}, Msg: "invalid YAML: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{Pos: Pos{File: file, Line: 1}, Msg: "empty pipeline"}
	}
	root := doc.Content[0]
	ps := &parser{file: file}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Pos: ps.pos(root), Msg: fmt.Sprintf("a pipeline is a mapping, got %s", kindName(root))}
	}
	sigmac := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "fieldmappings", "logsources", "defaultindex", "backends", "order", "title":
			sigmac = true
		case "transformations", "postprocessing", "finalizers", "priority", "vars":
			sigmac = false
			i = len(root.Content) // pySigma keys decide
		}
	}
	if sigmac {
		p = ps.sigmac(root)
	} else {
		p = ps.pysigma(root)
	}
	if len(ps.errs) > 0 {
		return nil, errors.Join(ps.errs...)
	}
	return p, nil
}

// yamlErrLine digs the line out of a YAML syntax error ("yaml: line 3: …").
func yamlErrLine(err error) int {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return 1
	}
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(s[i+5 : j]); err == nil {
			return n
		}
	}
	return 1
}

type parser struct {
	file string
	errs []error
	cur  string // the item being read, prefixed to its errors
}

func (ps *parser) pos(n *yaml.Node) Pos { return Pos{File: ps.file, Line: n.Line} }

// errf records a problem at n; parsing goes on to report the others.
func (ps *parser) errf(n *yaml.Node, field, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if ps.cur != "" {
		msg = ps.cur + ": " + msg
	}
	e := &Error{Pos: ps.pos(n), Field: field, Msg: msg}
	ps.errs = append(ps.errs, e)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// resolve follows aliases (bounded: the YAML library has already refused
// alias cycles, but a chain is followed only so far).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 32; i++ {
		n = n.Alias
	}
	return n
}

// pairs returns a mapping's key/value nodes in order, with YAML merge
// keys (<<: *anchor) expanded in place and a later key overriding an
// earlier one, as YAML defines.
func (ps *parser) pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	index := map[string]int{}
	budget := maxMergePairs
	collectPairs(n, &out, index, 0, &budget)
	if budget < 0 {
		ps.errf(n, "", "merge keys (<<) expand this mapping to more than %d entries", maxMergePairs)
	}
	return out
}

// maxMergePairs bounds the pairs one mapping's merge keys may expand to:
// merges of merges of anchors could otherwise multiply a small document
// into an enormous one (the "billion laughs").
const maxMergePairs = 10000

func collectPairs(n *yaml.Node, out *[][2]*yaml.Node, index map[string]int, depth int, budget *int) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if *budget--; *budget < 0 {
			return
		}
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Tag == "!!merge" {
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					collectPairs(m, out, index, depth+1, budget)
				}
			} else {
				collectPairs(v, out, index, depth+1, budget)
			}
			continue
		}
		if j, ok := index[k.Value]; ok {
			(*out)[j][1] = v
			continue
		}
		index[k.Value] = len(*out)
		*out = append(*out, [2]*yaml.Node{k, v})
	}
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

// scalar reads a scalar as text ("" for null).
func (ps *parser) scalar(n *yaml.Node, field string) (string, bool) {
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		ps.errf(n, field, "want a single value, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// scalars reads a scalar or a list of scalars.
func (ps *parser) scalars(n *yaml.Node, field string) ([]string, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, true
	}
	if n.Kind != yaml.SequenceNode {
		ps.errf(n, field, "want a value or a list of values, got %s", kindName(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		c = resolve(c)
		if isNull(c) {
			out = append(out, "")
			continue
		}
		if c.Kind != yaml.ScalarNode {
			ps.errf(c, fmt.Sprintf("%s[%d]", field, i), "want a single value, got %s", kindName(c))
			return nil, false
		}
		out = append(out, c.Value)
	}
	return out, true
}

func (ps *parser) boolean(n *yaml.Node, field string) bool {
	s, ok := ps.scalar(n, field)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off", "":
		return false
	}
	ps.errf(n, field, "want true or false, got %q", s)
	return false
}

func (ps *parser) pysigma(root *yaml.Node) *Pipeline {
	p := &Pipeline{Format: "pysigma", Vars: map[string][]string{}}
	for _, kv := range ps.pairs(root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name":
			p.Name, _ = ps.scalar(v, "name")
		case "priority":
			s, ok := ps.scalar(v, "priority")
			if ok && s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					ps.errf(v, "priority", "want a whole number, got %q", s)
				}
				p.Priority = n
			}
		case "allowed_backends":
			p.AllowedBackends, _ = ps.scalars(v, "allowed_backends")
		case "vars":
			ps.vars(p, v)
		case "transformations":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				ps.errf(v, "transformations", "want a list of processing items, got %s", kindName(v))
				continue
			}
			for i, c := range v.Content {
				if it := ps.item(resolve(c), fmt.Sprintf("transformations[%d]", i), p); it != nil {
					p.Items = append(p.Items, it)
				}
			}
		case "postprocessing", "finalizers":
			ps.outputOnly(p, k.Value, v)
		default:
			p.Notes = append(p.Notes, Note{Pos: ps.pos(k), What: k.Value, Reason: "not a pySigma pipeline key; ignored"})
		}
	}
	return p
}

func (ps *parser) vars(p *Pipeline, v *yaml.Node) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		ps.errf(v, "vars", "want a mapping of placeholder names to values, got %s", kindName(v))
		return
	}
	for _, kv := range ps.pairs(v) {
		name := kv[0].Value
		if kv[1].Kind == yaml.MappingNode || (kv[1].Kind == yaml.SequenceNode && !allScalars(kv[1])) {
			p.Notes = append(p.Notes, Note{Pos: ps.pos(kv[0]), What: "vars." + name,
				Reason: "a structured value, usable only by output templates, not as placeholder values"})
			continue
		}
		vals, ok := ps.scalars(kv[1], "vars."+name)
		if ok {
			p.Vars[name] = vals
		}
	}
}

func allScalars(n *yaml.Node) bool {
	for _, c := range n.Content {
		if c = resolve(c); c.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// outputOnly records postprocessing and finalizer items: they turn a
// backend's query text into its final output and have nothing to act on
// in a matching engine.
func (ps *parser) outputOnly(p *Pipeline, key string, v *yaml.Node) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.SequenceNode {
		ps.errf(v, key, "want a list, got %s", kindName(v))
		return
	}
	reason := "post-processes a backend's query text; a matching engine produces no query"
	if key == "finalizers" {
		reason = "assembles a backend's output file from its queries; a matching engine produces no queries"
	}
	for i, c := range v.Content {
		c = resolve(c)
		typ := ""
		for _, kv := range ps.pairs(c) {
			if kv[0].Value == "type" {
				typ = kv[1].Value
			}
		}
		p.Notes = append(p.Notes, Note{Pos: ps.pos(c), What: fmt.Sprintf("%s[%d] (%s)", key, i, typ), Reason: reason})
	}
}

// notApplicable are transformations that only shape a backend's output:
// they change nothing about which events a rule matches.
var notApplicable = map[string]string{
	"add_field":            "adds to the rule's output field list; a matching engine returns whole events",
	"remove_field":         "removes from the rule's output field list; a matching engine returns whole events",
	"set_field":            "sets the rule's output field list; a matching engine returns whole events",
	"set_custom_attribute": "sets a custom attribute read by backend output templates; it does not change what matches",
}

// unsupported are pySigma transformations that change what a rule matches
// but that Vigil does not implement, with the reason.
var unsupported = map[string]string{
	"query_expression_placeholders": "turns a placeholder into backend query text (e.g. a lookup); a matching engine has no query to embed it in: give the placeholder's values in vars and use value_placeholders",
	"convert_type":                  "converting value types is not implemented",
	"case":                          "changing the case of values is not implemented (Vigil matches case-insensitively unless |cased)",
	"regex":                         "rewriting values as backend regular-expression syntax is for query languages and not implemented",
	"hashes_fields":                 "splitting Hashes values into per-algorithm fields is not implemented",
	"field_name_transform":          "needs a Python function",
	"nest":                          "nested processing items are not implemented",
}

// touches says which detection items an unsupported transformation
// would change, where pySigma's changes only some: query expression
// placeholders only the placeholders they handle (include, exclude), and
// hashes_fields only the Hashes (or Hash) field.
func (ps *parser) touches(typ string, params map[string]*yaml.Node, what string) func(*work) bool {
	switch typ {
	case "query_expression_placeholders":
		inc, _ := ps.scalars(params["include"], what+".include")
		exc, _ := ps.scalars(params["exclude"], what+".exclude")
		return func(w *work) bool {
			if !w.expand || w.raw {
				return false
			}
			for _, v := range w.values {
				for _, m := range placeholderRE().FindAllStringSubmatch(v, -1) {
					if (len(inc) == 0 || contains(inc, m[1])) && !contains(exc, m[1]) {
						return true
					}
				}
			}
			return false
		}
	case "hashes_fields":
		return func(w *work) bool { return contains(w.fields, "Hashes") || contains(w.fields, "Hash") }
	}
	return nil
}

var commonItemKeys = map[string]bool{
	"id": true, "type": true,
	"rule_conditions": true, "rule_cond_op": true, "rule_cond_not": true, "rule_cond_expr": true,
	"field_name_conditions": true, "field_name_cond_op": true, "field_name_cond_not": true, "field_name_cond_expr": true,
	"detection_item_conditions": true, "detection_item_cond_op": true, "detection_item_cond_not": true, "detection_item_cond_expr": true,
}

func (ps *parser) item(n *yaml.Node, field string, p *Pipeline) *Item {
	if n.Kind != yaml.MappingNode {
		ps.errf(n, field, "a processing item is a mapping, got %s", kindName(n))
		return nil
	}
	it := &Item{Pos: ps.pos(n)}
	params := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	var typeNode *yaml.Node
	for _, kv := range ps.pairs(n) {
		k, v := kv[0].Value, kv[1]
		keys[k] = kv[0]
		switch k {
		case "id":
			it.ID, _ = ps.scalar(v, field+".id")
		case "type":
			typeNode = v
			it.Type, _ = ps.scalar(v, field+".type")
		default:
			params[k] = v
		}
	}
	if typeNode == nil || it.Type == "" {
		ps.errf(n, field+".type", "%s has no type", it.label())
		return nil
	}
	what := field
	ps.cur = it.label()
	defer func() { ps.cur = "" }()
	if r, ok := notApplicable[it.Type]; ok {
		p.Notes = append(p.Notes, Note{Pos: it.Pos, What: it.label(), Reason: r})
		return nil
	}
	it.RuleConds = conds(ps, params, "rule_conditions", "rule_cond", what, it, ps.ruleCondition)
	it.FieldConds = conds(ps, params, "field_name_conditions", "field_name_cond", what, it, ps.fieldCondition)
	it.DetectionItemConds = conds(ps, params, "detection_item_conditions", "detection_item_cond", what, it, ps.detectionItemCondition)
	for k := range commonItemKeys {
		delete(params, k)
	}
	if r, ok := unsupported[it.Type]; ok {
		it.Unsupported = r
		it.touches = ps.touches(it.Type, params, what)
		return it
	}
	t := ps.transformation(it, params, keys, what)
	if t == nil && it.Unsupported == "" {
		return nil // error reported
	}
	if it.Unsupported == "" {
		it.Transformation = t
	}
	return it
}

// conds reads one kind of conditions with its _op and _not.
func conds[C any](ps *parser, params map[string]*yaml.Node, key, prefix, what string, it *Item, one func(*yaml.Node, string, *Item) (C, bool)) Conditions[C] {
	var c Conditions[C]
	if _, ok := params[prefix+"_expr"]; ok {
		setUnsupported(it, fmt.Sprintf("%s (condition expressions over named conditions) is not implemented", prefix+"_expr"))
	}
	if v, ok := params[prefix+"_op"]; ok {
		s, _ := ps.scalar(v, what+"."+prefix+"_op")
		switch strings.ToLower(s) {
		case "and", "all", "":
			c.Op = And
		case "or", "any":
			c.Op = Or
		default:
			ps.errf(v, what+"."+prefix+"_op", "want and or or, got %q", s)
		}
	}
	if v, ok := params[prefix+"_not"]; ok {
		c.Not = ps.boolean(v, what+"."+prefix+"_not")
	}
	v, ok := params[key]
	if !ok || isNull(v) {
		return c
	}
	if v.Kind == yaml.MappingNode {
		setUnsupported(it, key+" given as named conditions (a mapping, for "+prefix+"_expr) is not implemented")
		return c
	}
	if v.Kind != yaml.SequenceNode {
		ps.errf(v, what+"."+key, "want a list of conditions, got %s", kindName(v))
		return c
	}
	for i, e := range v.Content {
		if x, ok := one(resolve(e), fmt.Sprintf("%s.%s[%d]", what, key, i), it); ok {
			c.List = append(c.List, x)
		}
	}
	return c
}

func setUnsupported(it *Item, reason string) {
	if it.Unsupported == "" {
		it.Unsupported = reason
	}
}

// condParams splits a condition mapping into its type and parameters.
func (ps *parser) condParams(n *yaml.Node, field string) (string, map[string]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		ps.errf(n, field, "a condition is a mapping, got %s", kindName(n))
		return "", nil, false
	}
	params := map[string]*yaml.Node{}
	typ := ""
	for _, kv := range ps.pairs(n) {
		if kv[0].Value == "type" {
			typ, _ = ps.scalar(kv[1], field+".type")
			continue
		}
		params[kv[0].Value] = kv[1]
	}
	if typ == "" {
		ps.errf(n, field, "condition has no type")
		return "", nil, false
	}
	return typ, params, true
}

func (ps *parser) only(n *yaml.Node, field, typ string, params map[string]*yaml.Node, allowed ...string) bool {
	ok := true
	for k, v := range params {
		found := false
		for _, a := range allowed {
			if a == k {
				found = true
			}
		}
		if !found {
			ps.errf(v, field+"."+k, "unknown parameter of %s (want %s)", typ, strings.Join(allowed, ", "))
			ok = false
		}
	}
	return ok
}

func (ps *parser) str(params map[string]*yaml.Node, key, field string) string {
	v, ok := params[key]
	if !ok {
		return ""
	}
	s, _ := ps.scalar(v, field+"."+key)
	return s
}

func (ps *parser) ruleCondition(n *yaml.Node, field string, it *Item) (RuleCondition, bool) {
	typ, params, ok := ps.condParams(n, field)
	if !ok {
		return nil, false
	}
	switch typ {
	case "logsource":
		ps.only(n, field, typ, params, "product", "category", "service")
		return LogsourceCondition{LogSource{Product: ps.str(params, "product", field), Category: ps.str(params, "category", field), Service: ps.str(params, "service", field)}}, true
	case "contains_detection_item":
		ps.only(n, field, typ, params, "field", "value")
		return ContainsDetectionItemCondition{Field: ps.str(params, "field", field), Value: ps.str(params, "value", field)}, true
	case "contains_field":
		ps.only(n, field, typ, params, "field")
		return ContainsFieldCondition{Field: ps.str(params, "field", field)}, true
	case "processing_item_applied":
		ps.only(n, field, typ, params, "processing_item_id")
		return ProcessingItemAppliedCondition{ID: ps.str(params, "processing_item_id", field)}, true
	case "is_sigma_rule":
		return IsSigmaRuleCondition{}, true
	case "is_sigma_correlation_rule":
		return IsSigmaCorrelationRuleCondition{}, true
	case "tag":
		ps.only(n, field, typ, params, "tag")
		return TagCondition{Tag: ps.str(params, "tag", field)}, true
	case "rule_attribute":
		ps.only(n, field, typ, params, "attribute", "value", "op")
		c := RuleAttributeCondition{Attribute: ps.str(params, "attribute", field), Value: ps.str(params, "value", field), Op: ps.op(params, field)}
		return c, true
	case "processing_state":
		return ps.stateCond(n, field, typ, params), true
	}
	ps.errf(n, field+".type", "unknown rule condition type %q", typ)
	return nil, false
}

func (ps *parser) fieldCondition(n *yaml.Node, field string, it *Item) (FieldCondition, bool) {
	typ, params, ok := ps.condParams(n, field)
	if !ok {
		return nil, false
	}
	switch typ {
	case "include_fields", "exclude_fields":
		ps.only(n, field, typ, params, "fields", "mode")
		c := FieldsCondition{Exclude: typ == "exclude_fields"}
		fields, _ := ps.scalars(params["fields"], field+".fields")
		mode := strings.ToLower(ps.str(params, "mode", field))
		switch mode {
		case "", "plain":
			c.Plain = fields
		case "re":
			for _, f := range fields {
				re, err := regexp.Compile("^(?:" + f + ")")
				if err != nil {
					ps.errf(params["fields"], field+".fields", "bad regular expression %q: %v", f, err)
					return nil, false
				}
				c.Regex = append(c.Regex, re)
			}
		default:
			ps.errf(params["mode"], field+".mode", "want plain or re, got %q", mode)
			return nil, false
		}
		return c, true
	case "processing_item_applied":
		ps.only(n, field, typ, params, "processing_item_id")
		return ProcessingItemAppliedCondition{ID: ps.str(params, "processing_item_id", field)}, true
	case "processing_state":
		return ps.stateCond(n, field, typ, params), true
	}
	ps.errf(n, field+".type", "unknown field name condition type %q", typ)
	return nil, false
}

// op reads a comparison operator (eq when absent).
func (ps *parser) op(params map[string]*yaml.Node, field string) string {
	s := strings.ToLower(ps.str(params, "op", field))
	switch s {
	case "":
		return "eq"
	case "eq", "ne", "gt", "gte", "lt", "lte":
		return s
	}
	ps.errf(params["op"], field+".op", "want eq, ne, gt, gte, lt or lte, got %q", s)
	return "eq"
}

func (ps *parser) stateCond(n *yaml.Node, field, typ string, params map[string]*yaml.Node) ProcessingStateCondition {
	ps.only(n, field, typ, params, "key", "val", "op")
	return ProcessingStateCondition{Key: ps.str(params, "key", field), Val: ps.str(params, "val", field), Op: ps.op(params, field)}
}

func (ps *parser) anyAll(params map[string]*yaml.Node, field string) bool {
	s := strings.ToLower(ps.str(params, "cond", field))
	switch s {
	case "", "any":
		return false
	case "all":
		return true
	}
	ps.errf(params["cond"], field+".cond", "want any or all, got %q", s)
	return false
}

func (ps *parser) detectionItemCondition(n *yaml.Node, field string, it *Item) (DetectionItemCondition, bool) {
	typ, params, ok := ps.condParams(n, field)
	if !ok {
		return nil, false
	}
	switch typ {
	case "match_string":
		ps.only(n, field, typ, params, "pattern", "cond", "negate")
		pat := ps.str(params, "pattern", field)
		re, err := regexp.Compile(pat)
		if err != nil {
			ps.errf(n, field+".pattern", "bad regular expression %q: %v", pat, err)
			return nil, false
		}
		neg := false
		if v, ok := params["negate"]; ok {
			neg = ps.boolean(v, field+".negate")
		}
		return MatchStringCondition{Pattern: re, All: ps.anyAll(params, field), Negate: neg}, true
	case "contains_wildcard":
		ps.only(n, field, typ, params, "cond")
		return ContainsWildcardCondition{All: ps.anyAll(params, field)}, true
	case "is_null":
		ps.only(n, field, typ, params, "cond")
		return IsNullCondition{All: ps.anyAll(params, field)}, true
	case "processing_item_applied":
		ps.only(n, field, typ, params, "processing_item_id")
		return ProcessingItemAppliedCondition{ID: ps.str(params, "processing_item_id", field)}, true
	case "processing_state":
		return ps.stateCond(n, field, typ, params), true
	case "match_value":
		setUnsupported(it, fmt.Sprintf("detection item condition %s is not implemented", typ))
		return nil, false
	}
	ps.errf(n, field+".type", "unknown detection item condition type %q", typ)
	return nil, false
}

// pyGroupRef is a Python replacement group reference (\1, \g<1>).
var pyGroupRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`) })

func (ps *parser) transformation(it *Item, params map[string]*yaml.Node, keys map[string]*yaml.Node, what string) Transformation {
	node := func(k string) *yaml.Node {
		if v, ok := params[k]; ok {
			return v
		}
		return nil
	}
	allow := func(allowed ...string) bool {
		ok := true
		for k := range params {
			if !contains(allowed, k) {
				ps.errf(keys[k], what+"."+k, "unknown parameter of %s (want %s)", it.Type, strings.Join(allowed, ", "))
				ok = false
			}
		}
		return ok
	}
	need := func(k string) *yaml.Node {
		v := node(k)
		if v == nil {
			ps.errf(&yaml.Node{Line: it.Pos.Line}, what, "%s needs %s", it.Type, k)
		}
		return v
	}
	switch it.Type {
	case "field_name_mapping":
		allow("mapping")
		m := need("mapping")
		if m == nil {
			return nil
		}
		if m.Kind != yaml.MappingNode {
			ps.errf(m, what+".mapping", "want a mapping of field names, got %s", kindName(m))
			return nil
		}
		t := FieldNameMapping{Mapping: map[string][]string{}}
		for _, kv := range ps.pairs(m) {
			vals, ok := ps.scalars(kv[1], what+".mapping."+kv[0].Value)
			if ok {
				t.Mapping[kv[0].Value] = vals
			}
		}
		return t
	case "field_name_prefix_mapping":
		allow("mapping")
		m := need("mapping")
		if m == nil {
			return nil
		}
		if m.Kind != yaml.MappingNode {
			ps.errf(m, what+".mapping", "want a mapping of prefixes, got %s", kindName(m))
			return nil
		}
		var t FieldNamePrefixMapping
		for _, kv := range ps.pairs(m) {
			to, ok := ps.scalar(kv[1], what+".mapping."+kv[0].Value)
			if ok {
				t.Mapping = append(t.Mapping, PrefixPair{From: kv[0].Value, To: to})
			}
		}
		return t
	case "field_name_prefix":
		allow("prefix")
		if v := need("prefix"); v != nil {
			s, _ := ps.scalar(v, what+".prefix")
			return FieldNamePrefix{Prefix: s}
		}
		return nil
	case "field_name_suffix":
		allow("suffix")
		if v := need("suffix"); v != nil {
			s, _ := ps.scalar(v, what+".suffix")
			return FieldNameSuffix{Suffix: s}
		}
		return nil
	case "add_condition":
		allow("conditions", "name", "template", "negated")
		m := need("conditions")
		if m == nil {
			return nil
		}
		if m.Kind != yaml.MappingNode {
			ps.errf(m, what+".conditions", "want a mapping of field to value, got %s", kindName(m))
			return nil
		}
		t := AddCondition{}
		for _, kv := range ps.pairs(m) {
			vals, ok := ps.scalars(kv[1], what+".conditions."+kv[0].Value)
			if ok {
				t.Conditions = append(t.Conditions, Condition{Field: kv[0].Value, Values: vals})
			}
		}
		if v := node("name"); v != nil {
			t.Name, _ = ps.scalar(v, what+".name")
		}
		if v := node("template"); v != nil {
			t.Template = ps.boolean(v, what+".template")
		}
		if v := node("negated"); v != nil {
			t.Negated = ps.boolean(v, what+".negated")
		}
		return t
	case "change_logsource":
		allow("product", "category", "service")
		return ChangeLogsource{LogSource{Product: ps.str(params, "product", what), Category: ps.str(params, "category", what), Service: ps.str(params, "service", what)}}
	case "value_placeholders", "wildcard_placeholders":
		allow("include", "exclude")
		inc, _ := ps.scalars(node("include"), what+".include")
		exc, _ := ps.scalars(node("exclude"), what+".exclude")
		if len(inc) > 0 && len(exc) > 0 {
			ps.errf(node("exclude"), what+".exclude", "include and exclude cannot both be given")
			return nil
		}
		if it.Type == "value_placeholders" {
			return ValuePlaceholders{Include: inc, Exclude: exc}
		}
		return WildcardPlaceholders{Include: inc, Exclude: exc}
	case "drop_detection_item":
		allow()
		return DropDetectionItem{}
	case "replace_string":
		allow("regex", "replacement", "skip_special", "interpret_special")
		rv := need("regex")
		if rv == nil {
			return nil
		}
		pat, _ := ps.scalar(rv, what+".regex")
		re, err := regexp.Compile(pat)
		if err != nil {
			ps.errf(rv, what+".regex", "bad regular expression %q: %v", pat, err)
			return nil
		}
		repl := ps.str(params, "replacement", what)
		repl = strings.ReplaceAll(repl, "$", "$$")
		repl = pyGroupRef().ReplaceAllStringFunc(repl, func(m string) string {
			g := pyGroupRef().FindStringSubmatch(m)
			if g[1] != "" {
				return "${" + g[1] + "}"
			}
			return "${" + g[2] + "}"
		})
		if v := node("interpret_special"); v != nil && ps.boolean(v, what+".interpret_special") {
			it.Unsupported = "replace_string with interpret_special is not implemented"
		}
		return ReplaceString{Regex: re, Replacement: repl}
	case "map_string":
		allow("mapping")
		m := need("mapping")
		if m == nil {
			return nil
		}
		if m.Kind != yaml.MappingNode {
			ps.errf(m, what+".mapping", "want a mapping of values, got %s", kindName(m))
			return nil
		}
		t := MapString{Mapping: map[string][]string{}}
		for _, kv := range ps.pairs(m) {
			vals, ok := ps.scalars(kv[1], what+".mapping."+kv[0].Value)
			if ok {
				t.Mapping[kv[0].Value] = vals
			}
		}
		return t
	case "set_value":
		allow("value", "force_type")
		v := need("value")
		if v == nil {
			return nil
		}
		s, _ := ps.scalar(v, what+".value")
		return SetValue{Value: s}
	case "set_state":
		allow("key", "val")
		k := need("key")
		if k == nil {
			return nil
		}
		key, _ := ps.scalar(k, what+".key")
		return SetState{Key: key, Val: ps.str(params, "val", what)}
	case "rule_failure", "detection_item_failure":
		allow("message")
		msg := ""
		if v := need("message"); v != nil {
			msg, _ = ps.scalar(v, what+".message")
		}
		if it.Type == "rule_failure" {
			return RuleFailure{Message: msg}
		}
		return DetectionItemFailure{Message: msg}
	}
	ps.errf(&yaml.Node{Line: it.Pos.Line}, what+".type", "unknown type %q", it.Type)
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
