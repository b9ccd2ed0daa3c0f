package ingest

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/events"
)

// defaultLogSources is the mapping Vigil ships (logsources.yaml, which
// documents the rule format).
//
//go:embed logsources.yaml
var defaultLogSources []byte

// LogSources decides an event's Sigma log source and Sigma field names
// from its parsed fields, by the first matching rule of a YAML mapping.
// It is read-only after LoadLogSources, so one value serves every
// listener goroutine without locks.
type LogSources struct {
	rules []lsRule
}

// LogSource is a Sigma log source.
type LogSource struct {
	Product, Service, Category string
}

type lsRule struct {
	name                       string
	formats                    []string
	match                      []lsMatch
	exists                     []string
	product, service, category string
	serviceField               []string
	categoryField              []string
	catNum                     map[float64]string
	catStr                     map[string]string
	refine                     map[string]lsRefine
	fields                     [][2]string
}

type lsMatch struct{ field, value string }

type lsRefine struct {
	field  string
	values map[string]string
}

// fieldList is a YAML field name or list of names.
type fieldList []string

func (f *fieldList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*f = fieldList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*f = l
	return nil
}

type lsFile struct {
	Rules []struct {
		Name          string            `yaml:"name"`
		Formats       []string          `yaml:"formats"`
		Match         map[string]string `yaml:"match"`
		Exists        []string          `yaml:"exists"`
		Product       string            `yaml:"product"`
		Service       string            `yaml:"service"`
		Category      string            `yaml:"category"`
		ServiceField  fieldList         `yaml:"service_field"`
		CategoryField fieldList         `yaml:"category_field"`
		Categories    map[string]string `yaml:"categories"`
		Refine        map[string]struct {
			Field  string            `yaml:"field"`
			Values map[string]string `yaml:"values"`
		} `yaml:"refine"`
		Fields map[string]string `yaml:"fields"`
	} `yaml:"rules"`
}

// LoadLogSources reads a mapping in the format of logsources.yaml; nil or
// empty data gives the shipped mapping. Errors name the rule and field.
func LoadLogSources(data []byte) (*LogSources, error) {
	if len(data) == 0 {
		data = defaultLogSources
	}
	var f lsFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("log sources: %w", err)
	}
	ls := &LogSources{}
	for i, r := range f.Rules {
		name := r.Name
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		if r.Product == "" && r.Service == "" && r.Category == "" && len(r.ServiceField) == 0 {
			return nil, fmt.Errorf("log sources: rule %s: product, service, service_field or category is required", name)
		}
		if len(r.Categories) > 0 && len(r.CategoryField) == 0 {
			return nil, fmt.Errorf("log sources: rule %s: categories need category_field", name)
		}
		lr := lsRule{
			name: name, formats: r.Formats, exists: r.Exists,
			product: r.Product, service: r.Service, category: r.Category,
			serviceField: r.ServiceField, categoryField: r.CategoryField,
			catNum: map[float64]string{}, catStr: map[string]string{},
			refine: map[string]lsRefine{},
		}
		for k, v := range r.Match {
			lr.match = append(lr.match, lsMatch{k, v})
		}
		for k, v := range r.Categories {
			lr.catStr[strings.ToLower(k)] = v
			if n, err := strconv.ParseFloat(k, 64); err == nil {
				lr.catNum[n] = v
			}
		}
		for k, v := range r.Refine {
			if v.Field == "" {
				return nil, fmt.Errorf("log sources: rule %s: refine %s: field is required", name, k)
			}
			rv := lsRefine{field: v.Field, values: map[string]string{}}
			for vk, vv := range v.Values {
				rv.values[strings.ToLower(vk)] = vv
			}
			lr.refine[strings.ToLower(k)] = rv
		}
		for src, dst := range r.Fields {
			lr.fields = append(lr.fields, [2]string{src, dst})
		}
		ls.rules = append(ls.rules, lr)
	}
	return ls, nil
}

// Apply finds the log source of an event read by format with fields m,
// and adds the rule's Sigma field names to m. It returns the zero
// LogSource when no rule matches.
func (ls *LogSources) Apply(format string, m map[string]any) LogSource {
rules:
	for i := range ls.rules {
		r := &ls.rules[i]
		if len(r.formats) > 0 && !contains(r.formats, format) {
			continue
		}
		for _, mt := range r.match {
			if !strings.EqualFold(text(m[mt.field]), mt.value) {
				continue rules
			}
		}
		for _, f := range r.exists {
			if _, ok := m[f]; !ok {
				continue rules
			}
		}
		src := LogSource{Product: r.product, Service: r.service, Category: r.category}
		if src.Service == "" {
			for _, f := range r.serviceField {
				if s := text(m[f]); s != "" {
					src.Service = lowerASCII(s)
					break
				}
			}
		}
		for _, f := range r.categoryField {
			v, ok := m[f]
			if !ok {
				continue
			}
			key, cat := "", ""
			if n, isNum := v.(float64); isNum {
				cat = r.catNum[n]
				if len(r.refine) > 0 {
					key = strconv.FormatFloat(n, 'f', -1, 64)
				}
			} else {
				key = lowerASCII(text(v))
				cat = r.catStr[key]
				if cat == "" {
					if n, isNum := number(v); isNum {
						cat = r.catNum[n]
					}
				}
			}
			if rf, ok := r.refine[key]; ok {
				if c := rf.values[lowerASCII(text(m[rf.field]))]; c != "" {
					cat = c
				}
			}
			if cat != "" {
				src.Category = cat
			}
			break
		}
		for _, f := range r.fields {
			if v, ok := m[f[0]]; ok {
				if _, set := m[f[1]]; !set {
					m[f[1]] = v
				}
			}
		}
		return src
	}
	return LogSource{}
}

// fixedFor is what Apply gives every event of format whatever its
// fields — the log source, and the field copies (source, Sigma name) it
// makes in order — when the first rule that can take format asks nothing
// of the fields (no match, exists, service_field or category_field);
// ok is false when some event's fields could change the answer. A
// producer that writes its fields' JSON itself (the flow listener) uses
// it to skip the map Apply needs.
func (ls *LogSources) fixedFor(format string) (src LogSource, copies [][2]string, ok bool) {
	for i := range ls.rules {
		r := &ls.rules[i]
		if len(r.formats) > 0 && !contains(r.formats, format) {
			continue
		}
		if len(r.match) > 0 || len(r.exists) > 0 || len(r.categoryField) > 0 || r.service == "" && len(r.serviceField) > 0 {
			return LogSource{}, nil, false
		}
		return LogSource{Product: r.product, Service: r.service, Category: r.category}, r.fields, true
	}
	return LogSource{}, nil, true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// text is a field's value as text for matching (events.FieldText).
func text(v any) string { return events.FieldText(v) }

// lowerASCII lower-cases s, returning s itself (no allocation) when it
// has no upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
