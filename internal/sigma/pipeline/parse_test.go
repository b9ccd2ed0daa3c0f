package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *Pipeline {
	t.Helper()
	p, err := Parse("test.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown type", `name: x
transformations:
  - id: x
    type: foo
`, `test.yml:3: transformation "x" (foo): unknown type "foo" (transformations[0].type)`},
		{"no type", `transformations:
  - id: a
    mapping: {A: B}
`, `test.yml:2: transformation "a" () has no type (transformations[0].type)`},
		{"unknown rule condition", `transformations:
  - id: a
    type: field_name_mapping
    mapping: {A: B}
    rule_conditions:
      - type: logsourze
        product: windows
`, `test.yml:6: transformation "a" (field_name_mapping): unknown rule condition type "logsourze" (transformations[0].rule_conditions[0].type)`},
		{"unknown parameter", `transformations:
  - id: a
    type: field_name_mapping
    mappings: {A: B}
`, `test.yml:4: transformation "a" (field_name_mapping): unknown parameter of field_name_mapping (want mapping) (transformations[0].mappings)`},
		{"missing parameter", `transformations:
  - id: a
    type: add_condition
`, `test.yml:2: transformation "a" (add_condition): add_condition needs conditions (transformations[0])`},
		{"bad regex", `transformations:
  - id: a
    type: replace_string
    regex: "(["
    replacement: x
`, `test.yml:4: transformation "a" (replace_string): bad regular expression "([": error parsing regexp: missing closing ]: ` + "`[`" + ` (transformations[0].regex)`},
		{"bad op", `transformations:
  - id: a
    type: drop_detection_item
    rule_cond_op: xor
`, `test.yml:4: transformation "a" (drop_detection_item): want and or or, got "xor" (transformations[0].rule_cond_op)`},
		{"mapping not a mapping", `transformations:
  - id: a
    type: field_name_mapping
    mapping: [A, B]
`, `test.yml:4: transformation "a" (field_name_mapping): want a mapping of field names, got a list (transformations[0].mapping)`},
		{"transformations not a list", `transformations: {a: b}
`, `test.yml:1: want a list of processing items, got a mapping (transformations)`},
		{"priority", `priority: high
transformations: []
`, `test.yml:1: want a whole number, got "high" (priority)`},
		{"yaml syntax", "name: x\ntransformations: [a\n", `test.yml:1: invalid YAML: yaml: line 1: did not find expected ',' or ']'`},
		{"not a mapping", "- a\n- b\n", `test.yml:1: a pipeline is a mapping, got a list`},
		{"empty", "", `test.yml:1: empty pipeline`},
		{"sigmac conditional key", `title: t
fieldmappings:
  Image:
    product windows: X
`, `test.yml:4: a conditional field mapping's key is field=value or default, got "product windows" (fieldmappings.Image.product windows)`},
		{"sigmac rewrite field", `title: t
logsources:
  a:
    product: windows
    rewrite:
      index: x
`, `test.yml:6: a rewrite sets product, category or service (logsources.a.rewrite.index)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n %s\nwant prefix\n %s", err, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestParseAllErrors(t *testing.T) {
	_, err := Parse("t.yml", []byte(`transformations:
  - type: foo
  - type: bar
`))
	if err == nil || !strings.Contains(err.Error(), `"foo"`) || !strings.Contains(err.Error(), `"bar"`) {
		t.Errorf("want both unknown types reported, got %v", err)
	}
}

func TestParseModel(t *testing.T) {
	p := mustParse(t, `name: example
priority: 30
allowed_backends: [splunk]
vars:
  admins: [alice, bob]
  one: 1
  nested: {a: [b]}
transformations:
  - id: m
    type: field_name_mapping
    mapping:
      CommandLine: process.command_line
      Image: [process.executable, winlog.event_data.Image]
    rule_cond_op: or
    rule_cond_not: true
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
      - type: tag
        tag: attack.t1059
    field_name_cond_op: or
    field_name_conditions:
      - type: include_fields
        fields: CommandLine
      - type: exclude_fields
        mode: re
        fields: ['Im.*']
  - id: out
    type: add_field
    field: ComputerName
  - id: conv
    type: convert_type
    target_type: num
postprocessing:
  - type: embed
    prefix: x
finalizers:
  - type: concat
`)
	if p.Name != "example" || p.Priority != 30 || p.Format != "pysigma" || !reflect.DeepEqual(p.AllowedBackends, []string{"splunk"}) {
		t.Errorf("header: %+v", p)
	}
	if !reflect.DeepEqual(p.Vars, map[string][]string{"admins": {"alice", "bob"}, "one": {"1"}}) {
		t.Errorf("vars %v", p.Vars)
	}
	if len(p.Items) != 2 {
		t.Fatalf("%d items, want 2 (add_field is a note)", len(p.Items))
	}
	m := p.Items[0]
	if m.ID != "m" || m.Pos.Line != 9 || m.Type != "field_name_mapping" {
		t.Errorf("item %+v", m)
	}
	if got := m.Transformation.(FieldNameMapping).Mapping["Image"]; !reflect.DeepEqual(got, []string{"process.executable", "winlog.event_data.Image"}) {
		t.Errorf("Image → %q", got)
	}
	if m.RuleConds.Op != Or || !m.RuleConds.Not || len(m.RuleConds.List) != 2 {
		t.Errorf("rule conditions %+v", m.RuleConds)
	}
	if m.RuleConds.List[0] != (LogsourceCondition{LogSource{Product: "windows", Category: "process_creation"}}) || m.RuleConds.List[1] != (TagCondition{"attack.t1059"}) {
		t.Errorf("rule conditions %+v", m.RuleConds.List)
	}
	fc := m.FieldConds.List[1].(FieldsCondition)
	if !fc.Exclude || len(fc.Regex) != 1 || !fc.matches("CommandLine") || fc.matches("Image") {
		t.Errorf("exclude_fields re: %+v", fc)
	}
	if p.Items[1].Unsupported == "" || p.Items[1].Transformation != nil {
		t.Errorf("convert_type: %+v", p.Items[1])
	}
	if u := p.Unsupported(); len(u) != 1 || !strings.HasPrefix(u[0], `test.yml:32: transformation "conv" (convert_type): converting value types`) {
		t.Errorf("Unsupported() = %q", u)
	}
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.What)
	}
	if want := []string{"vars.nested", `transformation "out" (add_field)`, "postprocessing[0] (embed)", "finalizers[0] (concat)"}; !reflect.DeepEqual(notes, want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
}

func TestParsePythonReplacement(t *testing.T) {
	p := mustParse(t, `transformations:
  - type: replace_string
    regex: '^\*\\([^\\]+)$'
    replacement: '\1 costs $5'
`)
	rs := p.Items[0].Transformation.(ReplaceString)
	if got := rs.Regex.ReplaceAllString(`*\cmd.exe`, rs.Replacement); got != "cmd.exe costs $5" {
		t.Errorf("replacement gave %q", got)
	}
}

func TestParseMergeKeys(t *testing.T) {
	p := mustParse(t, `windows: &windows
  - type: logsource
    product: windows
base: &base
  type: field_name_mapping
  rule_conditions: *windows
transformations:
  - <<: *base
    id: one
    mapping: {A: B}
  - <<: [*base]
    id: two
    type: field_name_prefix
    prefix: x.
`)
	if len(p.Items) != 2 {
		t.Fatalf("%d items", len(p.Items))
	}
	if p.Items[0].Type != "field_name_mapping" || p.Items[1].Type != "field_name_prefix" {
		t.Errorf("types %q %q", p.Items[0].Type, p.Items[1].Type)
	}
	for _, it := range p.Items {
		if len(it.RuleConds.List) != 1 {
			t.Errorf("%s: rule conditions %+v", it.ID, it.RuleConds)
		}
	}
}

func TestParseMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 {type: drop_detection_item}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [", i, i)
		for j := 0; j < 30; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("transformations:\n  - <<: *a8\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := Parse("bomb.yml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "bomb.yml:11: merge keys (<<) expand this mapping to more than 10000 entries") {
			t.Errorf("err = %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("merge keys expanded without bound")
	}
}
