package cases

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
)

// Case templates are data (DESIGN principle 4): YAML files embedded from
// templates/, loaded and checked when the service starts; a mistake is
// reported as file:line:column. A template gives a new case its title
// prefix, description, severity, markings, tags, typed custom fields and
// tasks:
//
//	name: ransomware                 # the template's ID, as cases refer to it
//	title: "Ransomware"              # the case title starts with it
//	description: |                   # Markdown
//	  …
//	severity: high                   # info, low, medium, high, critical
//	tlp: amber                       # clear, green, amber, amber+strict, red
//	pap: amber                       # clear, green, amber, red
//	tags: [ransomware]
//	fields:
//	  - name: encrypted_hosts        # lower-case key
//	    label: Hosts encrypted
//	    type: number                 # string, number, date (YYYY-MM-DD), enum, bool
//	    required_on_close: true      # the case cannot close without it
//	  - name: aware_on
//	    type: date
//	    starts_clock: ico            # a regulatory clock (nis, ico) runs from this day
//	  - name: strain
//	    type: enum
//	    values: [lockbit, blackcat, other]
//	tasks:
//	  - title: Isolate affected hosts
//	    description: …
//	    checklist: [Pull network cables or isolate in EDR, …]

//go:embed templates/*.yaml
var templateFS embed.FS

// FieldType is the type of a custom field.
type FieldType string

const (
	FieldString FieldType = "string"
	FieldNumber FieldType = "number"
	FieldDate   FieldType = "date"
	FieldEnum   FieldType = "enum"
	FieldBool   FieldType = "bool"
)

// FieldTypes lists the custom field types.
func FieldTypes() []FieldType {
	return []FieldType{FieldString, FieldNumber, FieldDate, FieldEnum, FieldBool}
}

// FieldDef is a custom field a template gives its cases.
type FieldDef struct {
	Name            string    `json:"name"`
	Label           string    `json:"label"`
	Type            FieldType `json:"type"`
	Values          []string  `json:"values,omitempty"`
	RequiredOnClose bool      `json:"required_on_close"`
	Help            string    `json:"help,omitempty"`
	// StartsClock names the regulatory clock (nis or ico) a date field
	// starts: setting data-breach's aware_on starts the ICO's 72 hours
	// from that day (clocks.go).
	StartsClock ClockKind `json:"starts_clock,omitempty"`
}

// TaskDef is a task a template opens in each new case.
type TaskDef struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Checklist   []string `json:"checklist,omitempty"`
}

// Template is one case template.
type Template struct {
	Name        string     `json:"name"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Severity    Severity   `json:"severity"`
	TLP         TLP        `json:"tlp"`
	PAP         PAP        `json:"pap"`
	Tags        []string   `json:"tags"`
	Fields      []FieldDef `json:"fields"`
	Tasks       []TaskDef  `json:"tasks"`
}

// field returns the definition of name, or nil.
func (t *Template) field(name string) *FieldDef {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

// Templates lists the loaded templates by name.
func (s *Service) Templates() []Template {
	out := make([]Template, 0, len(s.templates))
	for _, k := range sortedKeys(s.templates) {
		out = append(out, *s.templates[k])
	}
	return out
}

// Template returns one template, or fault.ErrNotFound.
func (s *Service) Template(name string) (Template, error) {
	t, ok := s.templates[name]
	if !ok {
		return Template{}, notFound("template", name)
	}
	return *t, nil
}

// TemplateError is a mistake in a template file, at a position.
type TemplateError struct {
	File         string
	Line, Column int
	Reason       string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Reason)
}

// LoadTemplates reads every *.yaml file in dir of fsys and checks it; the
// error lists every mistake found, each as file:line:column.
func LoadTemplates(fsys fs.FS, dir string) (map[string]*Template, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("cases: templates: %w", err)
	}
	out := map[string]*Template{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		file := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("cases: template %s: %w", file, err)
		}
		t, terrs := ParseTemplate(file, b)
		errs = append(errs, terrs...)
		if t == nil {
			continue
		}
		if _, dup := out[t.Name]; dup {
			errs = append(errs, &TemplateError{File: file, Line: 1, Column: 1, Reason: fmt.Sprintf("name %q is used by another template", t.Name)})
			continue
		}
		out[t.Name] = t
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("cases: case templates:\n%w", errors.Join(errs...))
	}
	return out, nil
}

var templateNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`) })

// ParseTemplate reads one template file. It returns the template, or nil
// and every mistake it found; it never panics on input.
func ParseTemplate(file string, b []byte) (t *Template, errs []error) {
	defer func() {
		if p := recover(); p != nil {
			t, errs = nil, []error{&TemplateError{File: file, Line: 1, Column: 1, Reason: fmt.Sprintf("cannot be read: %v", p)}}
		}
	}()
	p := &tplParser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line := 1
		var te *yaml.TypeError
		msg := err.Error()
		if !errors.As(err, &te) {
			// "yaml: line 3: mapping values are not allowed in this context"
			if _, rest, ok := strings.Cut(msg, "line "); ok {
				n, tail, _ := strings.Cut(rest, ":")
				if v, err := strconv.Atoi(n); err == nil {
					line, msg = v, strings.TrimSpace(tail)
				}
			}
		}
		return nil, []error{&TemplateError{File: file, Line: line, Column: 1, Reason: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil, []error{&TemplateError{File: file, Line: 1, Column: 1, Reason: "is empty"}}
	}
	t = &Template{}
	root := doc.Content[0]
	p.mapping(root, "", map[string]func(*yaml.Node, string){
		"name":        func(n *yaml.Node, f string) { t.Name = p.str(n, f) },
		"title":       func(n *yaml.Node, f string) { t.Title = p.str(n, f) },
		"description": func(n *yaml.Node, f string) { t.Description = p.str(n, f) },
		"severity":    func(n *yaml.Node, f string) { t.Severity = Severity(p.str(n, f)) },
		"tlp":         func(n *yaml.Node, f string) { t.TLP = TLP(p.str(n, f)) },
		"pap":         func(n *yaml.Node, f string) { t.PAP = PAP(p.str(n, f)) },
		"tags":        func(n *yaml.Node, f string) { t.Tags = p.strs(n, f) },
		"fields": func(n *yaml.Node, f string) {
			p.seq(n, f, func(item *yaml.Node, f string) {
				var d FieldDef
				p.mapping(item, f, map[string]func(*yaml.Node, string){
					"name":              func(n *yaml.Node, f string) { d.Name = p.str(n, f) },
					"label":             func(n *yaml.Node, f string) { d.Label = p.str(n, f) },
					"type":              func(n *yaml.Node, f string) { d.Type = FieldType(p.str(n, f)) },
					"values":            func(n *yaml.Node, f string) { d.Values = p.strs(n, f) },
					"required_on_close": func(n *yaml.Node, f string) { d.RequiredOnClose = p.boolean(n, f) },
					"help":              func(n *yaml.Node, f string) { d.Help = p.str(n, f) },
					"starts_clock":      func(n *yaml.Node, f string) { d.StartsClock = ClockKind(p.str(n, f)) },
				}, "name", "type")
				if d.StartsClock != "" && !d.StartsClock.regulatory() {
					p.fail(item, f+".starts_clock", fmt.Sprintf("%q is not a regulatory clock (nis, ico)", d.StartsClock))
				} else if d.StartsClock != "" && d.Type != FieldDate {
					p.fail(item, f+".starts_clock", "only a date field starts a clock")
				}
				p.checkField(item, f, &d, t)
				t.Fields = append(t.Fields, d)
			})
		},
		"tasks": func(n *yaml.Node, f string) {
			p.seq(n, f, func(item *yaml.Node, f string) {
				var d TaskDef
				p.mapping(item, f, map[string]func(*yaml.Node, string){
					"title":       func(n *yaml.Node, f string) { d.Title = p.str(n, f) },
					"description": func(n *yaml.Node, f string) { d.Description = p.str(n, f) },
					"checklist":   func(n *yaml.Node, f string) { d.Checklist = p.strs(n, f) },
				}, "title")
				if d.Title != "" {
					if err := checkName("title", d.Title, true, maxTitle); err != nil {
						p.fail(item, f+".title", fault.Message(err))
					}
				}
				t.Tasks = append(t.Tasks, d)
			})
		},
	}, "name", "title", "severity", "tlp")
	if t.Name != "" && !templateNameRE().MatchString(t.Name) {
		p.failKey(root, "name", "name", fmt.Sprintf("%q: use lower-case letters, digits and hyphens", t.Name))
	}
	if t.Severity != "" && oneOf("severity", t.Severity, Severities()) != nil {
		p.failKey(root, "severity", "severity", fmt.Sprintf("%q is not one of %s", t.Severity, names(Severities())))
	}
	if t.TLP != "" && oneOf("tlp", t.TLP, TLPs()) != nil {
		p.failKey(root, "tlp", "tlp", fmt.Sprintf("%q is not one of %s", t.TLP, names(TLPs())))
	}
	if t.PAP == "" {
		t.PAP = PAPAmber
	} else if oneOf("pap", t.PAP, PAPs()) != nil {
		p.failKey(root, "pap", "pap", fmt.Sprintf("%q is not one of %s", t.PAP, names(PAPs())))
	}
	if tags, err := normTags("tags", t.Tags); err != nil {
		p.failKey(root, "tags", "tags", fault.Message(err))
	} else {
		t.Tags = tags
	}
	if t.Fields == nil {
		t.Fields = []FieldDef{}
	}
	if t.Tasks == nil {
		t.Tasks = []TaskDef{}
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return t, nil
}

type tplParser struct {
	file string
	errs []error
}

func (p *tplParser) fail(n *yaml.Node, field, reason string) {
	p.errs = append(p.errs, &TemplateError{File: p.file, Line: n.Line, Column: n.Column, Reason: field + ": " + reason})
}

// failKey reports a problem with the value of key in mapping m.
func (p *tplParser) failKey(m *yaml.Node, key, field, reason string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			p.fail(m.Content[i+1], field, reason)
			return
		}
	}
	p.fail(m, field, reason)
}

// mapping walks a mapping node, calling the handler of each known key and
// reporting unknown, repeated and missing (required) keys.
func (p *tplParser) mapping(n *yaml.Node, field string, keys map[string]func(*yaml.Node, string), required ...string) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, orWhole(field), "want a mapping of keys to values")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := k.Value
		if field != "" {
			f = field + "." + k.Value
		}
		h, ok := keys[k.Value]
		if !ok {
			p.fail(k, f, "unknown key (known: "+strings.Join(sortedKeys(keys), ", ")+")")
			continue
		}
		if seen[k.Value] {
			p.fail(k, f, "given twice")
			continue
		}
		seen[k.Value] = true
		h(v, f)
	}
	for _, r := range required {
		if !seen[r] {
			f := r
			if field != "" {
				f = field + "." + r
			}
			p.fail(n, f, "is required")
		}
	}
}

func orWhole(field string) string {
	if field == "" {
		return "the template"
	}
	return field
}

func (p *tplParser) seq(n *yaml.Node, field string, item func(*yaml.Node, string)) {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "want a list")
		return
	}
	for i, c := range n.Content {
		item(c, fmt.Sprintf("%s[%d]", field, i))
	}
}

func (p *tplParser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, field, "want text")
		return ""
	}
	if r := safetext.Problem(n.Value, safetext.Text, maxDescription); r != "" {
		p.fail(n, field, r)
		return ""
	}
	return n.Value
}

func (p *tplParser) strs(n *yaml.Node, field string) []string {
	var out []string
	p.seq(n, field, func(c *yaml.Node, f string) { out = append(out, p.str(c, f)) })
	return out
}

func (p *tplParser) boolean(n *yaml.Node, field string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.fail(n, field, "want true or false")
		return false
	}
	return n.Value == "true"
}

// checkField checks one field definition against the others of t.
func (p *tplParser) checkField(n *yaml.Node, field string, d *FieldDef, t *Template) {
	if d.Name != "" && !fieldKeyRE().MatchString(d.Name) {
		p.failKey(n, "name", field+".name", fmt.Sprintf("%q: use lower-case letters, digits and _ . - (starting with a letter)", d.Name))
	}
	if d.Name != "" && t.field(d.Name) != nil {
		p.failKey(n, "name", field+".name", fmt.Sprintf("%q is defined twice", d.Name))
	}
	if d.Type != "" && oneOf("type", d.Type, FieldTypes()) != nil {
		p.failKey(n, "type", field+".type", fmt.Sprintf("%q is not one of %s", d.Type, names(FieldTypes())))
	}
	if d.Type == FieldEnum && len(d.Values) == 0 {
		p.fail(n, field+".values", "an enum needs its values")
	}
	if d.Type != FieldEnum && d.Values != nil {
		p.failKey(n, "values", field+".values", "only an enum has values")
	}
	if d.Label == "" {
		d.Label = d.Name
	}
}

// checkFieldValues checks a case's custom field values against its
// template (none are allowed without one) and returns them in their
// canonical form: numbers as JSON numbers, dates as YYYY-MM-DD, booleans
// as true/false.
func checkFieldValues(t *Template, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(in) > 0 && t == nil {
		return nil, fault.Invalidf("fields", "this case has no template, so no custom fields")
	}
	for _, k := range sortedKeys(in) {
		v := in[k]
		f := "fields." + k
		d := t.field(k)
		if d == nil {
			return nil, fault.Invalidf(f, "is not a field of the %s template (its fields: %s)", t.Name, fieldNames(t))
		}
		if v == nil {
			continue // null clears the field
		}
		switch d.Type {
		case FieldString, FieldEnum:
			s, ok := v.(string)
			if !ok {
				return nil, fault.Invalidf(f, "want text")
			}
			if err := checkText(f, s, maxShortText); err != nil {
				return nil, err
			}
			if d.Type == FieldEnum && !contains(d.Values, s) {
				return nil, fault.Invalidf(f, "%q is not one of %s", s, strings.Join(d.Values, ", "))
			}
			if s == "" {
				continue
			}
			out[k] = s
		case FieldNumber:
			var n float64
			switch x := v.(type) {
			case float64:
				n = x
			case int:
				n = float64(x)
			case int64:
				n = float64(x)
			case interface{ Float64() (float64, error) }:
				var err error
				if n, err = x.Float64(); err != nil {
					return nil, fault.Invalidf(f, "want a number")
				}
			default:
				return nil, fault.Invalidf(f, "want a number")
			}
			if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1e15 {
				return nil, fault.Invalidf(f, "want a finite number of at most 10^15")
			}
			out[k] = n
		case FieldDate:
			s, ok := v.(string)
			if !ok {
				return nil, fault.Invalidf(f, "want a date, YYYY-MM-DD")
			}
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return nil, fault.Invalidf(f, "%q is not a date: want YYYY-MM-DD", s)
			}
			out[k] = s
		case FieldBool:
			b, ok := v.(bool)
			if !ok {
				return nil, fault.Invalidf(f, "want true or false")
			}
			out[k] = b
		}
	}
	return out, nil
}

func fieldNames(t *Template) string {
	ns := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		ns[i] = f.Name
	}
	sort.Strings(ns)
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
