package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CorrelationType is a correlation rule's type.
type CorrelationType string

// The correlation types of the specification (v2.1).
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
)

// Correlation is a Sigma correlation rule: it fires when the rules (or
// correlations) it refers to match in a pattern over a time span, per
// group of field values.
type Correlation struct {
	File           string
	Pos            Position
	Title          string
	ID             string
	Name           string
	Status         string
	Description    string
	Author         string
	Date           string
	Modified       string
	Level          string
	Taxonomy       string
	References     []string
	FalsePositives []string
	Tags           []string

	Type CorrelationType
	// Rules are the ids or names of the rules and correlations it refers to.
	Rules []string
	// GroupBy are field names (or aliases) whose values make a group.
	GroupBy  []string
	Timespan time.Duration
	// Aliases maps an alias to its field name per referred rule name.
	Aliases map[string]map[string]string
	// Condition is AND-ed comparisons of the count (or value); empty
	// for temporal types means "all the rules".
	Condition []Comparison
	// Field is the field value_count, value_sum and value_avg read.
	Field string
	// Generate says the referred rules also alert on their own.
	Generate bool

	// mapped are the event fields a group-by or value field reads for a
	// referred rule (by the name feed sees) once processing pipelines
	// renamed it: the first of them the event has (mapCorrelationFields).
	mapped map[[2]string][]string
}

// Comparison is one criterion of a correlation condition.
type Comparison struct {
	Op    string // gt gte lt lte eq neq
	Value float64
}

func (c Comparison) holds(x float64) bool {
	switch c.Op {
	case "gt":
		return x > c.Value
	case "gte":
		return x >= c.Value
	case "lt":
		return x < c.Value
	case "lte":
		return x <= c.Value
	case "eq":
		return x == c.Value
	case "neq":
		return x != c.Value
	}
	return false
}

func (p *parser) correlation(root *yaml.Node) (*Correlation, error) {
	c := &Correlation{File: p.file, Pos: posOf(root)}
	var body *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		var err error
		switch k.Value {
		case "title":
			c.Title, err = p.text(k, v)
		case "id":
			c.ID, err = p.text(k, v)
		case "name":
			c.Name, err = p.text(k, v)
		case "status":
			c.Status, err = p.text(k, v)
		case "description":
			c.Description, err = p.text(k, v)
		case "author":
			c.Author, err = p.text(k, v)
		case "date":
			c.Date, err = p.text(k, v)
		case "modified":
			c.Modified, err = p.text(k, v)
		case "level":
			c.Level, err = p.text(k, v)
		case "taxonomy":
			c.Taxonomy, err = p.text(k, v)
		case "references":
			c.References, err = p.texts(k, v)
		case "falsepositives":
			c.FalsePositives, err = p.texts(k, v)
		case "tags":
			c.Tags, err = p.texts(k, v)
		case "correlation":
			body = v
		case "detection":
			return nil, p.errf(k, "a correlation rule has no detection section")
		}
		if err != nil {
			return nil, err
		}
	}
	if c.Title == "" {
		return nil, p.errf(root, "no title: every correlation rule needs one")
	}
	if body == nil || body.Kind != yaml.MappingNode {
		return nil, p.errf(root, "correlation is a map (type, rules, group-by, timespan, condition), not a %s", kindName(body))
	}
	var cond, typ, timespan *yaml.Node
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], body.Content[i+1]
		var err error
		switch k.Value {
		case "type":
			typ = k
			var t string
			t, err = p.text(k, v)
			c.Type = CorrelationType(t)
		case "rules":
			c.Rules, err = p.texts(k, v)
		case "group-by":
			c.GroupBy, err = p.texts(k, v)
		case "timespan":
			timespan = k
			var t string
			if t, err = p.text(k, v); err == nil {
				c.Timespan, err = parseTimespan(t)
				if err != nil {
					err = p.errf(v, "timespan %q: %v", t, err)
				}
			}
		case "condition":
			cond = v
		case "aliases":
			c.Aliases, err = p.aliases(v)
		case "generate":
			var t string
			if t, err = p.text(k, v); err == nil {
				c.Generate, err = strconv.ParseBool(t)
				if err != nil {
					err = p.errf(v, "generate is true or false, not %q", t)
				}
			}
		default:
			return nil, p.errf(k, "unknown correlation attribute %q", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg:
	case ValuePercentile:
		return nil, &Error{File: p.file, Line: typ.Line, Msg: "correlation type value_percentile is not supported: the specification does not say over which population the percentile is taken", Unsupported: true}
	case "":
		return nil, p.errf(body, "correlation has no type")
	default:
		return nil, p.errf(typ, "unknown correlation type %q (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile)", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, p.errf(body, "correlation refers to no rules")
	}
	if timespan == nil {
		return nil, p.errf(body, "correlation has no timespan")
	}
	if cond != nil {
		if err := p.correlationCondition(cond, c); err != nil {
			return nil, err
		}
	}
	switch c.Type {
	case EventCount:
		if len(c.Condition) == 0 {
			return nil, p.errf(body, "%s needs a condition", c.Type)
		}
	case ValueCount, ValueSum, ValueAvg:
		if len(c.Condition) == 0 || c.Field == "" {
			return nil, p.errf(body, "%s needs a condition with a field", c.Type)
		}
	}
	if c.Type == EventCount || c.Type == ValueCount {
		// A count only grows inside the window, so a condition with no
		// lower bound (lt, lte or neq alone) could only be decided when
		// the window closes, which a stream never sees.
		lower := false
		for _, cmp := range c.Condition {
			if cmp.Op == "gt" || cmp.Op == "gte" || cmp.Op == "eq" && cmp.Value > 0 {
				lower = true
			}
		}
		if !lower {
			return nil, &Error{File: p.file, Line: cond.Line, Msg: fmt.Sprintf("%s condition without gt, gte or eq (a lower bound) is decided only when the window closes, which streaming evaluation does not do", c.Type), Unsupported: true}
		}
	}
	return c, nil
}

func (p *parser) correlationCondition(v *yaml.Node, c *Correlation) error {
	if v.Kind != yaml.MappingNode {
		return p.errf(v, "a correlation condition is a map such as {gte: 10}, not a %s", kindName(v))
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		t, err := p.text(k, val)
		if err != nil {
			return err
		}
		switch k.Value {
		case "field":
			c.Field = t
		case "gt", "gte", "lt", "lte", "eq", "neq":
			f, ok := parseNumber(t)
			if !ok {
				return p.errf(val, "condition %s takes a number, not %q", k.Value, t)
			}
			c.Condition = append(c.Condition, Comparison{Op: k.Value, Value: f})
		default:
			return p.errf(k, "unknown correlation condition %q (gt, gte, lt, lte, eq, neq, field)", k.Value)
		}
	}
	return nil
}

func (p *parser) aliases(v *yaml.Node) (map[string]map[string]string, error) {
	if v.Kind != yaml.MappingNode {
		return nil, p.errf(v, "aliases is a map of alias: {rule name: field}, not a %s", kindName(v))
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, m := v.Content[i], v.Content[i+1]
		if m.Kind != yaml.MappingNode {
			return nil, p.errf(m, "alias %q is a map of rule name: field, not a %s", k.Value, kindName(m))
		}
		fields := map[string]string{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			f, err := p.text(m.Content[j], m.Content[j+1])
			if err != nil {
				return nil, err
			}
			fields[m.Content[j].Value] = f
		}
		out[k.Value] = fields
	}
	return out, nil
}

// parseTimespan reads the specification's NUMBER+UNIT (s, m, h, d; also
// w and y, which pySigma accepts).
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("want a number and a unit (s, m, h, d), e.g. 10m")
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("want a positive whole number before the unit, e.g. 10m")
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("unknown unit %q (s, m, h, d)", s[len(s)-1:])
	}
	return time.Duration(n) * unit, nil
}
