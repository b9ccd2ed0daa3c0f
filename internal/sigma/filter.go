package sigma

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Filter is a Sigma filter (meta-rule, the filters specification v2.1):
// local tuning that excludes what its detection matches from the rules
// it names, e.g. an administrator account's known activity.
type Filter struct {
	File        string
	Title       string
	ID          string
	Description string
	Date        string
	Modified    string
	Taxonomy    string
	Logsource   Logsource
	// Rules are the ids (or names) of the rules the filter tunes.
	Rules []string
	// Detection holds the filter's searches and condition.
	Detection Detection
}

// ParseFilter reads one filter file; errors are *Error with file and line.
func ParseFilter(data []byte, file string) (f *Filter, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, &Error{File: file, Msg: fmt.Sprintf("internal error parsing filter: %v", p)}
		}
	}()
	if len(data) > maxRuleBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("filter is %d bytes, over the %d-byte limit", len(data), maxRuleBytes)}
	}
	root, err := decodeRoot(data, file)
	if err != nil {
		return nil, err
	}
	return (&parser{file: file}).filter(root)
}

func (p *parser) filter(root *yaml.Node) (*Filter, error) {
	f := &Filter{File: p.file}
	var body, logsource *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		var err error
		switch k.Value {
		case "title":
			f.Title, err = p.text(k, v)
		case "id":
			f.ID, err = p.text(k, v)
		case "description":
			f.Description, err = p.text(k, v)
		case "date":
			f.Date, err = p.text(k, v)
		case "modified":
			f.Modified, err = p.text(k, v)
		case "taxonomy":
			f.Taxonomy, err = p.text(k, v)
		case "logsource":
			logsource = v
		case "filter":
			body = v
		case "detection":
			return nil, p.errf(k, "a filter has its selection and condition under filter:, not detection:")
		}
		if err != nil {
			return nil, err
		}
	}
	if f.Title == "" {
		return nil, p.errf(root, "no title: every filter needs one")
	}
	if logsource == nil {
		return nil, p.errf(root, "no logsource: every filter needs one")
	}
	if err := p.logsource(logsource, &f.Logsource); err != nil {
		return nil, err
	}
	if body == nil || body.Kind != yaml.MappingNode {
		return nil, p.errf(root, "filter: is a map of rules, selections and a condition")
	}
	// The filter map is a detection section plus its rules list.
	det := &yaml.Node{Kind: yaml.MappingNode, Line: body.Line, Column: body.Column}
	var rules *yaml.Node
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], body.Content[i+1]
		if k.Value == "rules" {
			rules = v
			continue
		}
		det.Content = append(det.Content, k, v)
	}
	if rules == nil {
		return nil, p.errf(body, "filter names no rules (rules: a list of rule ids)")
	}
	var err error
	if f.Rules, err = p.texts(&yaml.Node{Value: "rules"}, rules); err != nil {
		return nil, err
	}
	if len(f.Rules) == 0 {
		return nil, p.errf(rules, "filter names no rules (rules: a list of rule ids)")
	}
	if err := p.detection(det, &f.Detection); err != nil {
		return nil, err
	}
	return f, nil
}

// Applies reports whether f tunes r: r's id or name is one of f.Rules,
// and every part of the log source f names (product, category, service)
// is r's.
func (f *Filter) Applies(r *Rule) bool {
	if !slices.ContainsFunc(f.Rules, func(id string) bool {
		return id != "" && (strings.EqualFold(id, r.ID) || id == r.Name)
	}) {
		return false
	}
	l := f.Logsource
	return (l.Product == "" || strings.EqualFold(l.Product, r.Logsource.Product)) &&
		(l.Category == "" || strings.EqualFold(l.Category, r.Logsource.Category)) &&
		(l.Service == "" || strings.EqualFold(l.Service, r.Logsource.Service))
}

// CompiledFilter is a filter ready to apply to compiled rules.
type CompiledFilter struct {
	Filter *Filter
	cond   node
}

// CompileFilter compiles a parsed filter, as Compile does a rule.
func CompileFilter(f *Filter, opts Options) (c *CompiledFilter, err error) {
	if f == nil {
		return nil, &Error{Msg: "no filter to compile"}
	}
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, &Error{File: f.File, Msg: fmt.Sprintf("internal error compiling filter: %v", p)}
		}
	}()
	cc := &compiler{file: f.File, det: &f.Detection, opts: opts, searches: map[string]node{}}
	if p := opts.chained(); p != nil {
		// The filter's fields are named as its rules' are; the routing
		// a pipeline adds is the rules' business, not the filter's.
		mp, err := applyPipeline(p, f.File, f.Logsource, nil, map[string]string{"id": f.ID, "title": f.Title}, &f.Detection)
		if err != nil {
			return nil, err
		}
		cc.det, cc.fields = mp.det, mp.fields
	}
	root, _, err := cc.detection()
	if err != nil {
		return nil, err
	}
	return &CompiledFilter{Filter: f, cond: root}, nil
}

// WithFilters returns a copy of c that does not match what any of fs
// matches (rule and not filter1 and not filter2 …). It does not check
// Filter.Applies; the caller picks the filters (LoadFS applies those that
// apply).
func (c *CompiledRule) WithFilters(fs ...*CompiledFilter) *CompiledRule {
	if len(fs) == 0 {
		return c
	}
	out := *c
	out.unfiltered = c.base()
	out.filters = append(slices.Clip(c.filters), fs...)
	kids := []node{out.unfiltered}
	for _, f := range out.filters {
		kids = append(kids, &notNode{kid: &filterNode{f: f}})
	}
	out.cond = &andNode{kids: kids}
	return &out
}

func (c *CompiledRule) base() node {
	if c.unfiltered != nil {
		return c.unfiltered
	}
	return c.cond
}

// Filters are the filters applied to c (WithFilters).
func (c *CompiledRule) Filters() []*CompiledFilter { return slices.Clip(c.filters) }

// filterNode is a filter's condition inside a rule's tree.
type filterNode struct{ f *CompiledFilter }

func (n *filterNode) eval(c *evalCtx) bool { return n.f.cond.eval(c) }
