package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// LogSource is a Sigma log source (https://sigmahq.io/docs/basics/log-sources.html).
// An empty field is unspecified.
type LogSource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

// String renders the set fields as "product=windows category=process_creation".
func (l LogSource) String() string {
	var b []string
	for _, kv := range [][2]string{{"product", l.Product}, {"category", l.Category}, {"service", l.Service}} {
		if kv[1] != "" {
			b = append(b, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(b, " ")
}

// Pos is where something was read: a file (as the caller named it) and a
// 1-based line.
type Pos struct {
	File string
	Line int
}

// String renders "file:line".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Error is a problem in a pipeline file: its position, the field (a YAML
// path such as "transformations[3].type") and what is wrong.
type Error struct {
	Pos   Pos
	Field string
	Msg   string
}

// Error renders "file:line: message (field)".
func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Pos, e.Msg, e.Field)
}

// Note is a construct read from a pipeline that has no effect on which
// events a rule matches (an output-only transformation, a finalizer, a
// backend index), with the reason it is not applied.
type Note struct {
	Pos    Pos
	What   string // e.g. `transformation "x" (add_field)`, `finalizers[0] (concat)`
	Reason string
}

// String renders "file:line: what: reason".
func (n Note) String() string { return fmt.Sprintf("%s: %s: %s", n.Pos, n.What, n.Reason) }

// Pipeline is a parsed processing pipeline: its items in the order they
// apply. Pipelines are read-only after parsing; one value may serve many
// goroutines.
type Pipeline struct {
	Name     string
	Priority int
	// Format is "pysigma" or "sigmac" (the legacy configuration format).
	Format string
	// Vars are the values placeholders expand to (pySigma's vars): a
	// scalar becomes a one-value list.
	Vars            map[string][]string
	AllowedBackends []string
	Items           []*Item
	// Notes lists what was read but does not apply to a matching engine.
	Notes []Note
}

// Unsupported returns the items a matching engine cannot apply, each
// rendered "file:line: transformation "id" (type): reason".
func (p *Pipeline) Unsupported() []string {
	var out []string
	for _, it := range p.Items {
		if it.Unsupported != "" {
			out = append(out, fmt.Sprintf("%s: %s: %s", it.Pos, it.label(), it.Unsupported))
		}
	}
	return out
}

// Op combines a list of conditions.
type Op int

// The ways conditions combine: all must hold (pySigma's default "and") or
// any.
const (
	And Op = iota
	Or
)

// Conditions is a list of conditions of one kind with how they combine,
// as pySigma's rule_conditions/rule_cond_op/rule_cond_not (and the
// field_name_ and detection_item_ equivalents) give them. An empty list
// always holds (Not is then ignored, as in pySigma).
type Conditions[C any] struct {
	List []C
	Op   Op
	Not  bool
}

func (c Conditions[C]) eval(f func(C) bool) bool {
	if len(c.List) == 0 {
		return true
	}
	r := c.Op == And
	for _, x := range c.List {
		if v := f(x); c.Op == And && !v {
			r = false
			break
		} else if c.Op == Or && v {
			r = true
			break
		}
	}
	return r != c.Not
}

// Item is one processing item: a transformation and the conditions under
// which it applies.
type Item struct {
	ID   string
	Type string
	Pos  Pos
	// Transformation is what the item does; nil when Unsupported is set.
	Transformation Transformation
	// Unsupported is why a matching engine cannot apply this item; a
	// rule the item applies to fails with it.
	Unsupported string
	// touches narrows an unsupported item to the detection items pySigma's
	// would change (a placeholder it handles, a Hashes field): a rule
	// with none of them is not failed. Nil: every rule its conditions
	// select.
	touches func(*work) bool

	RuleConds          Conditions[RuleCondition]
	FieldConds         Conditions[FieldCondition]
	DetectionItemConds Conditions[DetectionItemCondition]
}

func (it *Item) label() string {
	if it.ID == "" {
		return fmt.Sprintf("transformation (%s)", it.Type)
	}
	return fmt.Sprintf("transformation %q (%s)", it.ID, it.Type)
}

// RuleCondition decides whether an item applies to a rule. Its concrete
// types are the Logsource, ContainsDetectionItem, ContainsField,
// ProcessingItemApplied, IsSigmaRule, IsSigmaCorrelationRule, Tag,
// RuleAttribute and ProcessingState conditions of this package.
type RuleCondition interface{ ruleCondition() }

// LogsourceCondition holds when each set field equals the rule's
// (case-insensitively).
type LogsourceCondition struct{ LogSource LogSource }

// ContainsDetectionItemCondition holds when the rule has a detection item
// on Field with Value among its values.
type ContainsDetectionItemCondition struct{ Field, Value string }

// ContainsFieldCondition holds when the rule has a detection item on Field.
type ContainsFieldCondition struct{ Field string }

// ProcessingItemAppliedCondition holds when the item with ID has been
// applied: to the rule (as a rule condition) or to the detection item (as
// a field-name or detection-item condition).
type ProcessingItemAppliedCondition struct{ ID string }

// IsSigmaRuleCondition holds for a detection rule (not a correlation).
type IsSigmaRuleCondition struct{}

// IsSigmaCorrelationRuleCondition holds for a correlation rule.
type IsSigmaCorrelationRuleCondition struct{}

// TagCondition holds when the rule has Tag (case-insensitively).
type TagCondition struct{ Tag string }

// RuleAttributeCondition compares the rule's Attribute (Rule.Attributes:
// level, status, date, title, a custom attribute…) with Value by Op (eq,
// ne, gt, gte, lt, lte). Levels and statuses compare in Sigma's order,
// dates as dates, numbers as numbers, other text only by eq and ne.
type RuleAttributeCondition struct{ Attribute, Value, Op string }

// ProcessingStateCondition compares the pipeline state Key (set by
// set_state items earlier in the same application) with Val by Op, as
// RuleAttributeCondition compares.
type ProcessingStateCondition struct{ Key, Val, Op string }

func (LogsourceCondition) ruleCondition()                {}
func (ContainsDetectionItemCondition) ruleCondition()    {}
func (ContainsFieldCondition) ruleCondition()            {}
func (ProcessingItemAppliedCondition) ruleCondition()    {}
func (IsSigmaRuleCondition) ruleCondition()              {}
func (IsSigmaCorrelationRuleCondition) ruleCondition()   {}
func (TagCondition) ruleCondition()                      {}
func (RuleAttributeCondition) ruleCondition()            {}
func (ProcessingStateCondition) ruleCondition()          {}
func (ProcessingStateCondition) fieldCondition()         {}
func (ProcessingStateCondition) detectionItemCondition() {}

// FieldCondition decides whether an item applies to a field name:
// FieldsCondition, ProcessingItemAppliedCondition or
// ProcessingStateCondition.
type FieldCondition interface{ fieldCondition() }

// FieldsCondition is pySigma's include_fields (Exclude false) or
// exclude_fields (Exclude true): the field is one of Plain, or matches
// one of Regex at its start (Python's re.match).
type FieldsCondition struct {
	Exclude bool
	Plain   []string
	Regex   []*regexp.Regexp
}

func (FieldsCondition) fieldCondition()                {}
func (ProcessingItemAppliedCondition) fieldCondition() {}

func (c FieldsCondition) matches(field string) bool {
	in := false
	for _, f := range c.Plain {
		if f == field {
			in = true
			break
		}
	}
	for _, r := range c.Regex {
		if !in && r.MatchString(field) {
			in = true
		}
	}
	return in != c.Exclude
}

// DetectionItemCondition decides whether an item applies to a detection
// item: MatchStringCondition, ContainsWildcardCondition, IsNullCondition,
// ProcessingItemAppliedCondition or ProcessingStateCondition.
type DetectionItemCondition interface{ detectionItemCondition() }

// MatchStringCondition holds when any (All false) or all of the values
// match Pattern (Negate inverts each match).
type MatchStringCondition struct {
	Pattern *regexp.Regexp
	All     bool
	Negate  bool
}

// ContainsWildcardCondition holds when any (or all) of the values contain
// an unescaped Sigma wildcard (* or ?).
type ContainsWildcardCondition struct{ All bool }

// IsNullCondition holds when the detection item's value is null.
type IsNullCondition struct{ All bool }

func (MatchStringCondition) detectionItemCondition()           {}
func (ContainsWildcardCondition) detectionItemCondition()      {}
func (IsNullCondition) detectionItemCondition()                {}
func (ProcessingItemAppliedCondition) detectionItemCondition() {}

// Transformation is what an item does. Its concrete types are
// FieldNameMapping, FieldNamePrefixMapping, FieldNamePrefix,
// FieldNameSuffix, AddCondition, ChangeLogsource, ValuePlaceholders,
// WildcardPlaceholders, DropDetectionItem, ReplaceString, MapString,
// SetValue, SetState, RuleFailure and DetectionItemFailure.
type Transformation interface{ transformation() }

// FieldNameMapping renames fields; a field mapped to several names
// matches when any of them does (one to many).
type FieldNameMapping struct{ Mapping map[string][]string }

// PrefixPair is one entry of a FieldNamePrefixMapping.
type PrefixPair struct{ From, To string }

// FieldNamePrefixMapping replaces the first matching prefix of a field
// name (in the order written).
type FieldNamePrefixMapping struct{ Mapping []PrefixPair }

// FieldNamePrefix prepends Prefix to field names.
type FieldNamePrefix struct{ Prefix string }

// FieldNameSuffix appends Suffix to field names.
type FieldNameSuffix struct{ Suffix string }

// Condition is one field condition an AddCondition adds: the field equals
// one of Values (Sigma value syntax, wildcards included).
type Condition struct {
	Field  string
	Values []string
}

// AddCondition ANDs Conditions (all of them) into the rule; Negated ANDs
// their negation instead. Template substitutes $product, $category and
// $service in the values from the rule's log source.
type AddCondition struct {
	Name       string
	Conditions []Condition
	Negated    bool
	Template   bool
}

// ChangeLogsource sets the rule's log source fields that are non-empty.
type ChangeLogsource struct{ LogSource LogSource }

// ValuePlaceholders expands %name% placeholders (values with the expand
// modifier) to the pipeline's Vars; Include or Exclude restrict the names
// handled.
type ValuePlaceholders struct{ Include, Exclude []string }

// WildcardPlaceholders replaces %name% placeholders with the wildcard *.
type WildcardPlaceholders struct{ Include, Exclude []string }

// DropDetectionItem removes detection items from the rule.
type DropDetectionItem struct{}

// ReplaceString replaces matches of Regex in values with Replacement
// (Go's ${1} syntax; Python's \1 is converted when parsed).
type ReplaceString struct {
	Regex       *regexp.Regexp
	Replacement string
}

// MapString replaces a value equal to a key with the mapped values.
type MapString struct{ Mapping map[string][]string }

// SetValue replaces a detection item's values with Value.
type SetValue struct{ Value string }

// SetState sets the pipeline state Key to Val for the rule being
// processed, for later processing_state conditions.
type SetState struct{ Key, Val string }

// RuleFailure fails the rule with Message.
type RuleFailure struct{ Message string }

// DetectionItemFailure fails the rule with Message when a detection item
// matches the item's conditions.
type DetectionItemFailure struct{ Message string }

func (FieldNameMapping) transformation()       {}
func (FieldNamePrefixMapping) transformation() {}
func (FieldNamePrefix) transformation()        {}
func (FieldNameSuffix) transformation()        {}
func (AddCondition) transformation()           {}
func (ChangeLogsource) transformation()        {}
func (ValuePlaceholders) transformation()      {}
func (WildcardPlaceholders) transformation()   {}
func (DropDetectionItem) transformation()      {}
func (ReplaceString) transformation()          {}
func (MapString) transformation()              {}
func (SetValue) transformation()               {}
func (SetState) transformation()               {}
func (RuleFailure) transformation()            {}
func (DetectionItemFailure) transformation()   {}
