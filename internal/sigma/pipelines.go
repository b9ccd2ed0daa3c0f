package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

// Processing pipelines (internal/sigma/pipeline) applied to rules: a
// pipeline rewrites a parsed rule before it compiles, as pySigma rewrites
// it before a backend converts it — field names renamed (one to many
// becomes an OR of the fields), values replaced, detection items dropped,
// placeholders expanded, conditions added. The parsed Rule is never
// changed: the compiler works on a rewritten copy of its detection, and
// CompiledRule.Rule stays the rule as written (alerts show it so).

// LoadPipelines reads pipelines named by specs, in the order given: each
// a built-in pipeline's name ("vigil", "ecs") or a pySigma or sigmac
// pipeline file (pipeline.Open). "default" and "" stand for Vigil's ingest
// mapping, which is no pipeline, and are skipped. Options.Pipelines takes
// the result; pipelines apply in order of priority, as pySigma chains
// them.
func LoadPipelines(specs []string) ([]*pipeline.Pipeline, error) {
	var out []*pipeline.Pipeline
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" || strings.EqualFold(s, "default") {
			continue
		}
		p, err := pipeline.Open(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// chained is the one pipeline opts.Pipelines make (nil for none), with
// the placeholder values of opts.Placeholders added to its vars where the
// pipelines give none, so that value_placeholders finds them too.
func (o Options) chained() *pipeline.Pipeline {
	if o.chain != nil {
		return o.chain
	}
	if len(o.Pipelines) == 0 {
		return nil
	}
	p := pipeline.Chain(o.Pipelines...)
	for k, v := range o.Placeholders {
		if _, ok := p.Vars[k]; !ok {
			p.Vars[k] = v
		}
	}
	return p
}

// prepared returns o with its pipelines chained once, for a loader that
// compiles many rules with it.
func (o Options) prepared() Options {
	o.chain = o.chained()
	return o
}

// pipelineError is a rule the pipeline refuses: an unsupported item
// applies to it, or a rule_failure or detection_item_failure fired. The
// message names the pipeline file, line and item.
func pipelineError(file string, pos Position, err error) *Error {
	var ae *pipeline.ApplyError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = "pipeline " + ae.Error()
	}
	return &Error{File: file, Line: pos.Line, Column: pos.Column, Msg: msg, Unsupported: true}
}

// mapped is a detection after a pipeline.
type mapped struct {
	det *Detection
	// fields are the event fields a field match reads when the pipeline
	// mapped its field to more than one (any may match).
	fields map[*FieldMatch][]string
	// routes are add_condition's conditions, ANDed into the rule.
	routes  []pipeline.AddedCondition
	applied []string
}

// ruleAttributes are the rule's attributes for rule_attribute conditions.
func ruleAttributes(r *Rule) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"id": r.ID, "title": r.Title, "name": r.Name, "status": r.Status,
		"level": r.Level, "date": r.Date, "modified": r.Modified, "author": r.Author, "license": r.License,
		"taxonomy": r.Taxonomy, "description": r.Description} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// applyPipeline runs p over a detection of log source ls and returns the
// rewritten copy. A rule that cannot be rewritten is an *Error naming
// file and the pipeline item.
func applyPipeline(p *pipeline.Pipeline, file string, ls Logsource, tags []string, attrs map[string]string, d *Detection) (*mapped, error) {
	in := pipeline.Rule{
		LogSource:  pipeline.LogSource{Product: ls.Product, Category: ls.Category, Service: ls.Service},
		Tags:       tags,
		Attributes: attrs,
	}
	for _, s := range d.Searches {
		for _, m := range s.Maps {
			for _, fm := range m.Matches {
				in.Items = append(in.Items, detectionItem(fm))
			}
		}
	}
	res, err := p.Apply(in)
	if err != nil {
		return nil, pipelineError(file, d.Pos, err)
	}
	out := &mapped{det: &Detection{Pos: d.Pos, Conditions: d.Conditions, Timeframe: d.Timeframe},
		fields: map[*FieldMatch][]string{}, routes: res.Conditions, applied: res.Applied}
	i := 0
	for _, s := range d.Searches {
		ns := &Search{Name: s.Name, Pos: s.Pos}
		for _, m := range s.Maps {
			nm := &SearchMap{Pos: m.Pos}
			for _, fm := range m.Matches {
				orig, r := in.Items[i], res.Items[i]
				i++
				if r.Dropped {
					continue
				}
				nf := rewrite(fm, orig, r)
				if len(r.Fields) > 1 {
					out.fields[nf] = r.Fields
				}
				nm.Matches = append(nm.Matches, nf)
			}
			if len(nm.Matches) == 0 {
				return nil, &Error{File: file, Line: m.Pos.Line, Column: m.Pos.Column, Unsupported: true,
					Msg: fmt.Sprintf("the pipelines (%s) dropped every field of a map of search %q (drop_detection_item): nothing is left to match", pipelineNames(p), s.Name)}
			}
			ns.Maps = append(ns.Maps, nm)
		}
		out.det.Searches = append(out.det.Searches, ns)
	}
	return out, nil
}

// rawModifiers make a field match's values something other than Sigma
// strings (a regular expression, a network, a number, an encoding's
// input): pySigma's value transformations and string conditions pass
// them by.
var rawModifiers = []string{"re", "cidr", "lt", "lte", "gt", "gte", "exists", "fieldref",
	"base64", "base64offset", "utf16", "utf16le", "utf16be", "wide",
	"minute", "hour", "day", "week", "month", "year"}

// detectionItem is fm as a pipeline sees it: values in Sigma's string
// syntax with contains, startswith and endswith written as wildcards, as
// pySigma's rule model has them when pipelines run.
func detectionItem(fm *FieldMatch) pipeline.DetectionItem {
	it := pipeline.DetectionItem{Field: fm.Field, Expand: slices.Contains(fm.Modifiers, "expand")}
	for _, m := range fm.Modifiers {
		if slices.Contains(rawModifiers, m) {
			it.Raw = true
		}
	}
	for _, v := range fm.Values {
		switch v.Kind {
		case Null:
			it.Null = true
			continue
		case Number, Bool:
			it.Raw = true // pySigma's string transformations pass numbers and booleans by
		}
		t := v.Text
		for _, m := range fm.Modifiers {
			switch m {
			case "contains":
				t = "*" + t + "*"
			case "startswith":
				t += "*"
			case "endswith":
				t = "*" + t
			}
		}
		it.Values = append(it.Values, t)
	}
	return it
}

// rewrite is fm after the pipeline: its (first) field, and its values
// when a value transformation changed them. Changed values carry their
// contains, startswith and endswith as wildcards, so those modifiers go;
// expand goes when no placeholder is left for Options.Placeholders.
func rewrite(fm *FieldMatch, in pipeline.DetectionItem, r pipeline.MappedItem) *FieldMatch {
	nf := *fm
	if len(r.Fields) > 0 {
		nf.Field = r.Fields[0]
	}
	if slices.Equal(in.Values, r.Values) && in.Null == r.Null {
		return &nf
	}
	nf.Values = nil
	if r.Null {
		nf.Values = append(nf.Values, Value{Kind: Null, Text: "null", Pos: fm.Pos})
	}
	for _, t := range r.Values {
		nf.Values = append(nf.Values, Value{Kind: String, Text: t, Pos: fm.Pos})
	}
	nf.Modifiers = slices.DeleteFunc(slices.Clone(fm.Modifiers), func(m string) bool {
		switch m {
		case "contains", "startswith", "endswith":
			return true
		case "expand":
			return len(r.Unresolved) == 0
		}
		return false
	})
	return &nf
}

// fieldMatchMapped compiles fm, as an OR over the fields a one-to-many
// mapping gave it — but a test that holds for an absent field (null,
// exists: false) as an AND: the names are one field under the names
// different events give it, and it is absent only when none has it.
// pySigma's OR makes `LogonId: null` true for every Sysmon event once
// LogonId also reads Security 4688's SubjectLogonId, which Sysmon events
// lack (SigmaHQ's "WmiPrvSE Spawned A Process" then missed a real
// match in the OTRF captures).
func (c *compiler) fieldMatchMapped(fm *FieldMatch) (node, error) {
	fields := c.fields[fm]
	if len(fields) < 2 {
		return c.fieldMatch(fm)
	}
	kids := make([]node, 0, len(fields))
	for _, f := range fields {
		one := *fm
		one.Field = f
		n, err := c.fieldMatch(&one)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if absentTest(fm) {
		return &andNode{kids: kids}, nil
	}
	return &orNode{kids: kids}, nil
}

// absentTest reports whether fm holds for a field the event lacks: a
// null value (without neq) or exists: false.
func absentTest(fm *FieldMatch) bool {
	neq, exists := slices.Contains(fm.Modifiers, "neq"), slices.Contains(fm.Modifiers, "exists")
	for _, v := range fm.Values {
		if v.Kind == Null && !neq {
			return true
		}
		if exists && v.Kind == Bool && strings.EqualFold(v.Text, "false") {
			return true
		}
	}
	return false
}

// routes compiles add_condition's conditions, each a routeNode, ANDed
// after root: an event is tried against the rule's own condition first,
// and the routing (true for nearly every event its log source routes
// here) only when that held.
func (c *compiler) routes(root node, pos Position, conds []pipeline.AddedCondition) (node, error) {
	if len(conds) == 0 {
		return root, nil
	}
	kids := []node{root}
	for _, ac := range conds {
		var all []node
		for _, it := range ac.Items {
			fm := &FieldMatch{Pos: pos}
			if it.Null {
				fm.Values = []Value{{Kind: Null, Text: "null", Pos: pos}}
			}
			for _, v := range it.Values {
				k := String
				if _, err := strconv.ParseInt(v, 10, 64); err == nil {
					k = Number // EventID: 4688 matches the number and its text
				}
				fm.Values = append(fm.Values, Value{Kind: k, Text: v, Pos: pos})
			}
			var alts []node
			for _, f := range it.Fields {
				one := *fm
				one.Field = f
				n, err := c.fieldMatch(&one)
				if err != nil {
					return nil, c.errAt(pos, true, "pipeline condition %s on %s: %v", ac.ItemID, f, err)
				}
				alts = append(alts, n)
			}
			switch len(alts) {
			case 0:
				continue
			case 1:
				all = append(all, alts[0])
			default:
				all = append(all, &orNode{kids: alts})
			}
		}
		var n node = &andNode{kids: all}
		if ac.Negated {
			n = &notNode{kid: n}
		}
		kids = append(kids, &routeNode{item: ac.ItemID, kid: n})
	}
	return &andNode{kids: kids}, nil
}

// routeNode is a condition a pipeline's add_condition ANDed into a rule.
// It is its own node so that the literal prefilter does not see through
// it: a channel name is in every event a log source routes to the rule,
// and as the rule's necessary literal it would let every such event
// through (prefilter.go picks the longest of the necessary literals).
type routeNode struct {
	item string
	kid  node
}

func (n *routeNode) eval(c *evalCtx) bool { return n.kid.eval(c) }

// pipelineNames names a chain's pipelines for a message: their names,
// or the files of their items for those without one.
func pipelineNames(p *pipeline.Pipeline) string {
	var out []string
	for _, it := range p.Items {
		if !slices.Contains(out, it.Pos.File) {
			out = append(out, it.Pos.File)
		}
	}
	return strings.Join(out, ", ")
}

// mapCorrelationFields renames the group-by and value fields of each
// correlation, for each detection rule it counts, as p renames that
// rule's fields: a correlation grouping by User over ECS events reads
// user.name. A field the pipeline refuses (a detection_item_failure on
// it) is read as written.
func mapCorrelationFields(p *pipeline.Pipeline, rules []*CompiledRule, corrs []*Correlation) {
	if p == nil {
		return
	}
	byRef := map[string]*Rule{}
	for _, r := range rules {
		for _, k := range []string{r.Rule.ID, r.Rule.Name} {
			if k != "" {
				byRef[k] = r.Rule
			}
		}
	}
	for _, c := range corrs {
		c.mapped = map[[2]string][]string{}
		fields := slices.Clone(c.GroupBy)
		if c.Field != "" {
			fields = append(fields, c.Field)
		}
		for _, ref := range c.Rules {
			r := byRef[ref]
			if r == nil {
				continue // a correlation: its events are groups, named as its group-by
			}
			for _, g := range fields {
				f := aliasField(c, g, r.Name)
				res, err := p.Apply(pipeline.Rule{
					LogSource:  pipeline.LogSource{Product: r.Logsource.Product, Category: r.Logsource.Category, Service: r.Logsource.Service},
					Tags:       r.Tags,
					Attributes: ruleAttributes(r),
					Items:      []pipeline.DetectionItem{{Field: f}},
				})
				if err != nil || len(res.Items) == 0 || slices.Equal(res.Items[0].Fields, []string{f}) {
					continue
				}
				k := [2]string{r.Name, f}
				for _, n := range res.Items[0].Fields {
					if !slices.Contains(c.mapped[k], n) {
						c.mapped[k] = append(c.mapped[k], n)
					}
				}
			}
		}
	}
}
