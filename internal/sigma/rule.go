package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrUnsupported is what an Error about a construct the engine does not
// evaluate (a placeholder without values, a regular expression Go's RE2
// cannot compile, a value_percentile correlation, a Sigma 1 aggregation)
// matches with errors.Is, as opposed to a rule that is invalid.
var ErrUnsupported = errors.New("unsupported")

// Error is a problem with a rule, at a position in its file.
type Error struct {
	// File is the rule's path as the caller named it ("" when parsed from
	// bytes with no name).
	File string
	// Line and Column are 1-based; 0 when the problem has no position.
	Line, Column int
	// Msg says what is wrong and, where it helps, what to do.
	Msg string
	// Unsupported is set when the rule may be valid Sigma but uses a
	// construct this engine does not evaluate.
	Unsupported bool
}

func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "<rule>"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Msg)
	}
	return file + ": " + e.Msg
}

// Is makes errors.Is(err, ErrUnsupported) true for unsupported constructs.
func (e *Error) Is(target error) bool { return target == ErrUnsupported && e.Unsupported }

// Position is a 1-based line and column in a rule file.
type Position struct{ Line, Column int }

func posOf(n *yaml.Node) Position { return Position{n.Line, n.Column} }

// Rule is one parsed Sigma detection rule. Metadata is kept as text as
// the file gives it (dates too); Detection holds the searches and
// conditions with their positions.
type Rule struct {
	// File is the path the rule was read from, as given to Parse.
	File string

	Title          string
	ID             string
	Name           string
	Status         string
	Description    string
	License        string
	Author         string
	Date           string
	Modified       string
	Level          string
	Taxonomy       string
	References     []string
	Tags           []string
	Fields         []string
	FalsePositives []string
	Scope          []string
	Related        []Related

	Logsource Logsource
	Detection Detection
}

// Related is an entry of a rule's related list.
type Related struct {
	ID   string
	Type string // derived, obsolete, merged, renamed, similar
}

// Logsource is the kind of log a rule applies to, in Sigma's taxonomy.
type Logsource struct {
	Product    string
	Category   string
	Service    string
	Definition string
	Pos        Position
}

// Covers reports whether a rule of this log source applies to an event of
// the given product, category and service: every part the rule names
// must equal the event's (case-insensitively); a part the rule leaves out
// matches anything. Category registry_event covers the finer registry
// categories (registry_add, registry_delete, registry_set,
// registry_rename), as in Sigma's taxonomy where it is Sysmon 12–14.
func (l Logsource) Covers(product, category, service string) bool {
	return (l.Product == "" || strings.EqualFold(l.Product, product)) &&
		(l.Category == "" || strings.EqualFold(l.Category, category) || coversCategory(l.Category, category)) &&
		(l.Service == "" || strings.EqualFold(l.Service, service))
}

func coversCategory(rule, event string) bool {
	if !strings.EqualFold(rule, "registry_event") {
		return false
	}
	switch strings.ToLower(event) {
	case "registry_add", "registry_delete", "registry_set", "registry_rename":
		return true
	}
	return false
}

// Detection is a rule's detection section: its named searches in file
// order and its conditions (several are OR-ed).
type Detection struct {
	Pos        Position
	Searches   []*Search
	Conditions []Condition
	// Timeframe is the deprecated Sigma 1 aggregation window, kept as text.
	Timeframe string
}

// Search finds a search by name, nil when there is none.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Condition is one condition expression with its parsed form.
type Condition struct {
	Text string
	Expr Expr
	Pos  Position
}

// Search is one search identifier of the detection section: a map of
// field matches (AND), a list of such maps (OR), or a list of keywords.
// All three are held as Maps, OR-ed; a keyword list is one map with one
// FieldMatch whose Field is "".
type Search struct {
	Name string
	Pos  Position
	Maps []*SearchMap
}

// SearchMap is one map of a search: its FieldMatches AND-ed.
type SearchMap struct {
	Pos     Position
	Matches []*FieldMatch
}

// FieldMatch is one key of a search map: a field (or "" for a keyword
// search), its modifiers in order, and its values (OR-ed unless the all
// modifier says AND).
type FieldMatch struct {
	Field     string
	Modifiers []string
	Values    []Value
	Pos       Position
}

// ValueKind is the YAML type of a rule value.
type ValueKind uint8

// The kinds of value.
const (
	String ValueKind = iota
	Number
	Bool
	Null
)

func (k ValueKind) String() string {
	switch k {
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Null:
		return "null"
	}
	return "string"
}

// Value is one value of a FieldMatch: its kind and its text as written
// (YAML quoting removed, Sigma escapes kept).
type Value struct {
	Kind ValueKind
	Text string
	Pos  Position
}

// maxRuleBytes bounds one rule file; SigmaHQ's largest is about 30 kB.
const maxRuleBytes = 4 << 20

// Parse reads one Sigma rule from data; file names it in errors. Every
// error is an *Error with the file and line. Parse never panics.
func Parse(data []byte, file string) (r *Rule, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, &Error{File: file, Msg: fmt.Sprintf("internal error parsing rule: %v", p)}
		}
	}()
	if len(data) > maxRuleBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("rule is %d bytes, over the %d-byte limit", len(data), maxRuleBytes)}
	}
	root, err := decodeRoot(data, file)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file}
	return p.rule(root)
}

// decodeRoot decodes the one YAML document of a rule or filter file and
// returns its top-level map.
func decodeRoot(data []byte, file string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{File: file, Msg: "empty file: no rule"}
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document: read the file with ParseCollection"}
	} else if err != io.EOF {
		return nil, yamlError(file, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return nil, &Error{File: file, Line: root.Line, Msg: "empty document: no rule"}
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Column: root.Column, Msg: fmt.Sprintf("a rule is a YAML map, not a %s", kindName(root))}
	}
	return root, nil
}

// yamlError turns a YAML syntax error ("yaml: line 3: …") into an *Error.
func yamlError(file string, err error) *Error {
	msg := err.Error()
	line := 0
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, e := fmt.Sscanf(rest[:i], "%d", &line); e == nil {
				msg = rest[i+2:]
			}
		}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	return &Error{File: file, Line: line, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct{ file string }

func (p *parser) errf(n *yaml.Node, format string, a ...any) *Error {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// deref follows an alias to the node it names. Aliases to collections are
// refused: they are how "billion laughs" inputs grow, and no rule needs them.
func (p *parser) deref(n *yaml.Node) (*yaml.Node, error) {
	if n.Kind != yaml.AliasNode {
		return n, nil
	}
	if n.Alias == nil || n.Alias.Kind != yaml.ScalarNode {
		return nil, p.errf(n, "YAML alias to a list or map is not supported")
	}
	return n.Alias, nil
}

func (p *parser) rule(root *yaml.Node) (*Rule, error) {
	r := &Rule{File: p.file}
	var detection, logsource *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "a rule's keys are names, not a %s", kindName(k))
		}
		if seen[k.Value] {
			return nil, p.errf(k, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "title":
			r.Title, err = p.text(k, v)
		case "id":
			r.ID, err = p.text(k, v)
		case "name":
			r.Name, err = p.text(k, v)
		case "status":
			r.Status, err = p.text(k, v)
		case "description":
			r.Description, err = p.text(k, v)
		case "license":
			r.License, err = p.text(k, v)
		case "author":
			r.Author, err = p.text(k, v)
		case "date":
			r.Date, err = p.text(k, v)
		case "modified":
			r.Modified, err = p.text(k, v)
		case "level":
			r.Level, err = p.text(k, v)
		case "taxonomy":
			r.Taxonomy, err = p.text(k, v)
		case "references":
			r.References, err = p.texts(k, v)
		case "tags":
			r.Tags, err = p.texts(k, v)
		case "fields":
			r.Fields, err = p.texts(k, v)
		case "falsepositives":
			r.FalsePositives, err = p.texts(k, v)
		case "scope":
			r.Scope, err = p.texts(k, v)
		case "related":
			r.Related, err = p.related(v)
		case "logsource":
			logsource = v
		case "detection":
			detection = v
		case "correlation":
			return nil, &Error{File: p.file, Line: k.Line, Column: k.Column, Msg: "this is a correlation rule, not a detection rule: read it with ParseCollection"}
		case "filter":
			return nil, &Error{File: p.file, Line: k.Line, Column: k.Column, Msg: "this is a filter (meta-rule), not a detection rule: read it with ParseFilter"}
		case "action":
			return nil, &Error{File: p.file, Line: k.Line, Column: k.Column, Msg: "rule collections (action:) are not supported; split them into one rule a file", Unsupported: true}
		}
		if err != nil {
			return nil, err
		}
	}
	if r.Title == "" {
		return nil, p.errf(root, "no title: every rule needs one")
	}
	if logsource == nil {
		return nil, p.errf(root, "no logsource: every rule needs one")
	}
	if err := p.logsource(logsource, &r.Logsource); err != nil {
		return nil, err
	}
	if detection == nil {
		return nil, p.errf(root, "no detection: every rule needs one")
	}
	if err := p.detection(detection, &r.Detection); err != nil {
		return nil, err
	}
	return r, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

// text reads a scalar as text (a date or number as written).
func (p *parser) text(k, v *yaml.Node) (string, error) {
	v, err := p.deref(v)
	if err != nil {
		return "", err
	}
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v, "%s is a value, not a %s", k.Value, kindName(v))
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

// texts reads a list of scalars; a single scalar is a list of one.
func (p *parser) texts(k, v *yaml.Node) ([]string, error) {
	v, err := p.deref(v)
	if err != nil {
		return nil, err
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, nil
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			s, err := p.text(k, e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, p.errf(v, "%s is a list of values, not a %s", k.Value, kindName(v))
}

func (p *parser) related(v *yaml.Node) ([]Related, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, "related is a list of {id, type}, not a %s", kindName(v))
	}
	var out []Related
	for _, e := range v.Content {
		if e.Kind != yaml.MappingNode {
			return nil, p.errf(e, "a related entry is a map of id and type, not a %s", kindName(e))
		}
		var rel Related
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, val := e.Content[i], e.Content[i+1]
			var err error
			switch k.Value {
			case "id":
				rel.ID, err = p.text(k, val)
			case "type":
				rel.Type, err = p.text(k, val)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, rel)
	}
	return out, nil
}

func (p *parser) logsource(v *yaml.Node, ls *Logsource) error {
	if v.Kind != yaml.MappingNode {
		return p.errf(v, "logsource is a map (product, category, service), not a %s", kindName(v))
	}
	ls.Pos = posOf(v)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		var err error
		switch k.Value {
		case "product":
			ls.Product, err = p.text(k, val)
		case "category":
			ls.Category, err = p.text(k, val)
		case "service":
			ls.Service, err = p.text(k, val)
		case "definition":
			ls.Definition, err = p.text(k, val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) detection(v *yaml.Node, d *Detection) error {
	if v.Kind != yaml.MappingNode {
		return p.errf(v, "detection is a map of searches and a condition, not a %s", kindName(v))
	}
	d.Pos = posOf(v)
	var cond *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errf(k, "a search identifier is a name, not a %s", kindName(k))
		}
		if seen[k.Value] {
			return p.errf(k, "duplicate search identifier %q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "condition":
			cond = val
			continue
		case "timeframe":
			t, err := p.text(k, val)
			if err != nil {
				return err
			}
			d.Timeframe = t
			continue
		}
		// Any name is accepted, as pySigma does (one SigmaHQ rule names a
		// search "select_tree_execution|endswith" and reaches it through
		// "1 of select*"); a name the condition cannot spell is only
		// reachable through a pattern.
		if k.Value == "" {
			return p.errf(k, "empty search identifier")
		}
		s, err := p.search(k, val)
		if err != nil {
			return err
		}
		d.Searches = append(d.Searches, s)
	}
	if cond == nil {
		return p.errf(v, "detection has no condition")
	}
	cond, err := p.deref(cond)
	if err != nil {
		return err
	}
	var conds []*yaml.Node
	switch cond.Kind {
	case yaml.ScalarNode:
		conds = []*yaml.Node{cond}
	case yaml.SequenceNode:
		conds = cond.Content
		if len(conds) == 0 {
			return p.errf(cond, "condition is an empty list")
		}
	default:
		return p.errf(cond, "condition is an expression or a list of them, not a %s", kindName(cond))
	}
	for _, c := range conds {
		c, err := p.deref(c)
		if err != nil {
			return err
		}
		if c.Kind != yaml.ScalarNode {
			return p.errf(c, "a condition is an expression, not a %s", kindName(c))
		}
		e, err := ParseCondition(c.Value)
		if err != nil {
			var ce *ConditionError
			if errors.As(err, &ce) {
				return &Error{File: p.file, Line: c.Line, Column: c.Column, Msg: fmt.Sprintf("condition %q at offset %d: %s", c.Value, ce.Offset, ce.Msg), Unsupported: ce.Unsupported}
			}
			return p.errf(c, "condition %q: %v", c.Value, err)
		}
		d.Conditions = append(d.Conditions, Condition{Text: c.Value, Expr: e, Pos: posOf(c)})
	}
	return nil
}

func (p *parser) search(k, v *yaml.Node) (*Search, error) {
	v, err := p.deref(v)
	if err != nil {
		return nil, err
	}
	s := &Search{Name: k.Value, Pos: posOf(k)}
	switch v.Kind {
	case yaml.MappingNode:
		m, err := p.searchMap(v)
		if err != nil {
			return nil, err
		}
		s.Maps = []*SearchMap{m}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, p.errf(v, "search %q is an empty list", k.Value)
		}
		var kw *FieldMatch
		for _, e := range v.Content {
			e, err := p.deref(e)
			if err != nil {
				return nil, err
			}
			switch e.Kind {
			case yaml.MappingNode:
				m, err := p.searchMap(e)
				if err != nil {
					return nil, err
				}
				s.Maps = append(s.Maps, m)
			case yaml.ScalarNode:
				val, err := p.value(e)
				if err != nil {
					return nil, err
				}
				if kw == nil {
					kw = &FieldMatch{Pos: posOf(e)}
					s.Maps = append(s.Maps, &SearchMap{Pos: posOf(e), Matches: []*FieldMatch{kw}})
				}
				kw.Values = append(kw.Values, val)
			default:
				return nil, p.errf(e, "search %q: a list holds maps or keywords, not a %s", k.Value, kindName(e))
			}
		}
	case yaml.ScalarNode:
		// A single keyword.
		val, err := p.value(v)
		if err != nil {
			return nil, err
		}
		fm := &FieldMatch{Pos: posOf(v), Values: []Value{val}}
		s.Maps = []*SearchMap{{Pos: posOf(v), Matches: []*FieldMatch{fm}}}
	default:
		return nil, p.errf(v, "search %q is a map or a list, not a %s", k.Value, kindName(v))
	}
	return s, nil
}

func (p *parser) searchMap(v *yaml.Node) (*SearchMap, error) {
	m := &SearchMap{Pos: posOf(v)}
	if len(v.Content) == 0 {
		return nil, p.errf(v, "empty search map")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "a field name is a value, not a %s", kindName(k))
		}
		if seen[k.Value] {
			return nil, p.errf(k, "duplicate field %q in one search map (use a list of maps or a second search)", k.Value)
		}
		seen[k.Value] = true
		parts := strings.Split(k.Value, "|")
		fm := &FieldMatch{Field: parts[0], Pos: posOf(k)}
		for _, mod := range parts[1:] {
			if mod == "" {
				return nil, p.errf(k, "empty modifier in %q", k.Value)
			}
			fm.Modifiers = append(fm.Modifiers, mod)
		}
		val, err := p.deref(val)
		if err != nil {
			return nil, err
		}
		switch val.Kind {
		case yaml.ScalarNode:
			x, err := p.value(val)
			if err != nil {
				return nil, err
			}
			fm.Values = []Value{x}
		case yaml.SequenceNode:
			if len(val.Content) == 0 {
				return nil, p.errf(val, "field %q has an empty list of values", k.Value)
			}
			for _, e := range val.Content {
				e, err := p.deref(e)
				if err != nil {
					return nil, err
				}
				if e.Kind != yaml.ScalarNode {
					return nil, p.errf(e, "field %q: a value is a string, number, boolean or null, not a %s", k.Value, kindName(e))
				}
				x, err := p.value(e)
				if err != nil {
					return nil, err
				}
				if x.Kind == Null && len(val.Content) > 1 {
					return nil, p.errf(e, "field %q: null cannot be one of a list of values (make it its own search)", k.Value)
				}
				fm.Values = append(fm.Values, x)
			}
		default:
			return nil, p.errf(val, "field %q: a value is a string, number, boolean, null or a list of them, not a %s", k.Value, kindName(val))
		}
		m.Matches = append(m.Matches, fm)
	}
	return m, nil
}

func (p *parser) value(n *yaml.Node) (Value, error) {
	v := Value{Text: n.Value, Pos: posOf(n)}
	switch n.Tag {
	case "!!int", "!!float":
		v.Kind = Number
	case "!!bool":
		v.Kind = Bool
	case "!!null":
		v.Kind = Null
	case "!!str", "!!timestamp", "!!binary", "":
		v.Kind = String
	default:
		return v, p.errf(n, "value of YAML type %s is not supported", n.Tag)
	}
	return v, nil
}
