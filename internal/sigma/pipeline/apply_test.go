package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var pcWindows = LogSource{Product: "windows", Category: "process_creation"}

func fields(r *Result) [][]string {
	var out [][]string
	for _, it := range r.Items {
		out = append(out, it.Fields)
	}
	return out
}

func TestApplyFieldTransformations(t *testing.T) {
	p := mustParse(t, `transformations:
  - id: map
    type: field_name_mapping
    mapping:
      Image: [process.executable, winlog.event_data.Image]
      User: user.name
    rule_conditions:
      - type: logsource
        product: windows
  - id: prefixmap
    type: field_name_prefix_mapping
    mapping:
      win.: event_data.
      Process: proc.
  - id: suffix
    type: field_name_suffix
    suffix: .keyword
    field_name_conditions:
      - type: include_fields
        fields: [CommandLine]
  - id: prefix
    type: field_name_prefix
    prefix: winlog.event_data.
    field_name_cond_not: true
    field_name_cond_op: or
    field_name_conditions:
      - type: processing_item_applied
        processing_item_id: map
      - type: include_fields
        mode: re
        fields: ['\w+\.']
`)
	r, err := p.Apply(Rule{LogSource: pcWindows, Items: []DetectionItem{
		{Field: "Image"}, {Field: "User"}, {Field: "win.x"}, {Field: "ProcessGuid"}, {Field: "CommandLine"}, {Field: "Hashes"}, {Values: []string{"kw"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"process.executable", "winlog.event_data.Image"},
		{"user.name"},
		{"event_data.x"},
		{"proc.Guid"},
		{"CommandLine.keyword"},
		{"winlog.event_data.Hashes"},
		nil,
	}
	if got := fields(r); !reflect.DeepEqual(got, want) {
		t.Errorf("fields\n %q\nwant\n %q", got, want)
	}
	if want := []string{"map", "prefixmap", "suffix", "prefix"}; !reflect.DeepEqual(r.Applied, want) {
		t.Errorf("applied %q, want %q", r.Applied, want)
	}
	// The logsource condition keeps the mapping off other products.
	r, err = p.Apply(Rule{LogSource: LogSource{Product: "linux"}, Items: []DetectionItem{{Field: "Image"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Items[0].Fields; !reflect.DeepEqual(got, []string{"winlog.event_data.Image"}) {
		t.Errorf("linux Image → %q", got)
	}
}

func TestApplyRuleConditionsAndLogsource(t *testing.T) {
	// Splunk's pattern: a condition item, then a mapping that applies only
	// when that item did.
	p := mustParse(t, `transformations:
  - id: to_eventcode
    type: field_name_mapping
    mapping: {EventID: EventCode}
  - id: sec4688
    type: add_condition
    conditions:
      EventCode: 4688
      sourcetype: "XmlWinEventLog:Security"
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: sec4688_fields
    type: field_name_mapping
    mapping: {Image: NewProcessName}
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
      - type: processing_item_applied
        processing_item_id: sec4688
  - id: rewrite
    type: change_logsource
    service: security
    rule_conditions:
      - type: processing_item_applied
        processing_item_id: sec4688
  - id: after_rewrite
    type: add_condition
    conditions: {index: win}
    rule_conditions:
      - type: logsource
        service: security
  - id: tagged
    type: add_condition
    conditions: {tagged: "yes"}
    negated: true
    rule_cond_op: or
    rule_conditions:
      - type: tag
        tag: ATTACK.T1059
      - type: contains_detection_item
        field: EventCode
        value: "1"
  - id: corr
    type: add_condition
    conditions: {corr: "yes"}
    rule_conditions:
      - type: is_sigma_correlation_rule
  - id: plain
    type: add_condition
    name: my_filter
    conditions: {plain: "$product-$category-${service}"}
    template: true
    rule_conditions:
      - type: is_sigma_rule
`)
	r, err := p.Apply(Rule{LogSource: pcWindows, Tags: []string{"attack.t1059"}, Items: []DetectionItem{{Field: "Image", Values: []string{`*\cmd.exe`}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Items[0].Fields; !reflect.DeepEqual(got, []string{"NewProcessName"}) {
		t.Errorf("Image → %q", got)
	}
	if r.LogSource != (LogSource{Product: "windows", Category: "process_creation", Service: "security"}) {
		t.Errorf("log source %s", r.LogSource)
	}
	want := []string{"EventCode=4688", "sourcetype=XmlWinEventLog:Security", "index=win", "not tagged=yes", "plain=windows-process_creation-security"}
	if got := condStrings(r); !reflect.DeepEqual(got, want) {
		t.Errorf("conditions\n %q\nwant\n %q", got, want)
	}
	if r.Conditions[len(r.Conditions)-1].Name != "my_filter" || r.Conditions[0].ItemID != "sec4688" {
		t.Errorf("condition names %+v", r.Conditions)
	}

	// A correlation rule of another log source: none of the windows items.
	r, err = p.Apply(Rule{LogSource: LogSource{Product: "linux"}, Correlation: true, Items: []DetectionItem{{Field: "EventID", Values: []string{"1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"not tagged=yes", "corr=yes"}) {
		t.Errorf("correlation conditions %q", got)
	}
}

func TestApplyValues(t *testing.T) {
	p := mustParse(t, `vars:
  admins: [alice, bob]
  hosts: [h1, h2]
transformations:
  - id: wild
    type: wildcard_placeholders
    include: [anything]
  - id: vals
    type: value_placeholders
    exclude: [anything]
  - id: paths
    type: replace_string
    regex: '^\*\\([^\\]+)$'
    replacement: '\1'
    field_name_conditions:
      - type: include_fields
        fields: [ParentImage]
  - id: map
    type: map_string
    mapping:
      CreateKey: [registry_add, add]
  - id: set
    type: set_value
    value: "443"
    field_name_conditions:
      - type: include_fields
        fields: [DestinationPort]
  - id: drop
    type: drop_detection_item
    detection_item_conditions:
      - type: is_null
`)
	_, err := p.Apply(Rule{Items: []DetectionItem{
		{Field: "User", Values: []string{"%admins%", "%hosts%\\%admins%", "carol"}, Expand: true},
		{Field: "Host", Values: []string{"%anything%-x"}, Expand: true},
		{Field: "Other", Values: []string{"%undefined%"}, Expand: true},
		{Field: "NotExpand", Values: []string{"%admins%"}},
		{Field: "ParentImage", Values: []string{`*\cmd.exe`, `C:\x\y.exe`}},
		{Field: "EventType", Values: []string{"CreateKey", "SetValue"}},
		{Field: "DestinationPort", Values: []string{"80"}},
		{Field: "Gone", Null: true},
	}})
	if err == nil || !strings.Contains(err.Error(), `transformation "vals" (value_placeholders): placeholder %undefined% has no values`) {
		t.Fatalf("undefined placeholder: err = %v", err)
	}
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.ID != "vals" || ae.Pos.Line != 8 {
		t.Errorf("error %#v", err)
	}
	p.Vars["undefined"] = []string{"u"}
	r, err := p.Apply(Rule{Items: []DetectionItem{
		{Field: "User", Values: []string{"%admins%", "%hosts%\\%admins%", "carol"}, Expand: true},
		{Field: "Host", Values: []string{"%anything%-x"}, Expand: true},
		{Field: "NotExpand", Values: []string{"%admins%"}},
		{Field: "ParentImage", Values: []string{`*\cmd.exe`, `C:\x\y.exe`}},
		{Field: "EventType", Values: []string{"CreateKey", "SetValue"}},
		{Field: "DestinationPort", Values: []string{"80"}},
		{Field: "Gone", Null: true},
		{Field: "ParentImage", Values: []string{`^*\\cmd.exe`, "CreateKey"}, Raw: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Items[7].Values; !reflect.DeepEqual(got, []string{`^*\\cmd.exe`, "CreateKey"}) {
		t.Errorf("raw values changed to %q", got)
	}
	want := [][]string{
		{"alice", "bob", `h1\alice`, `h1\bob`, `h2\alice`, `h2\bob`, "carol"},
		{"*-x"},
		{"%admins%"},
		{"cmd.exe", `C:\x\y.exe`},
		{"registry_add", "add", "SetValue"},
		{"443"},
		nil,
	}
	for i, w := range want {
		if got := r.Items[i].Values; !reflect.DeepEqual(got, w) {
			t.Errorf("item %d values %q, want %q", i, got, w)
		}
	}
	if !r.Items[6].Dropped || r.Items[0].Dropped {
		t.Errorf("dropped: %+v", r.Items)
	}
	if r.Items[0].Unresolved != nil {
		t.Errorf("unresolved %q", r.Items[0].Unresolved)
	}
}

func TestApplyUnresolvedPlaceholder(t *testing.T) {
	p := mustParse(t, `transformations:
  - type: value_placeholders
    include: [known]
vars:
  known: [k]
`)
	r, err := p.Apply(Rule{Items: []DetectionItem{{Field: "f", Values: []string{"%known%", "%other%"}, Expand: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Items[0]; !reflect.DeepEqual(got.Values, []string{"k", "%other%"}) || !reflect.DeepEqual(got.Unresolved, []string{"other"}) {
		t.Errorf("item %+v", got)
	}
}

func TestApplyFailures(t *testing.T) {
	p := mustParse(t, `transformations:
  - id: no_grandparent
    type: rule_failure
    message: GrandParentImage is not a supported field
    field_name_conditions:
      - type: include_fields
        fields: [GrandParentImage]
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: no_cmdline
    type: detection_item_failure
    message: CommandLine is not captured in file access events
    field_name_conditions:
      - type: include_fields
        fields: [CommandLine]
  - id: lower
    type: case
    method: lower
    field_name_conditions:
      - type: include_fields
        fields: [User]
  - id: wild_only
    type: drop_detection_item
    detection_item_conditions:
      - type: contains_wildcard
  - id: pattern
    type: add_condition
    conditions: {matched: "yes"}
    detection_item_conditions:
      - type: match_string
        pattern: '^test\.exe$'
`)
	for _, tc := range []struct {
		items []DetectionItem
		ls    LogSource
		want  string
	}{
		{[]DetectionItem{{Field: "GrandParentImage"}}, pcWindows, `test.yml:2: transformation "no_grandparent" (rule_failure): GrandParentImage is not a supported field`},
		{[]DetectionItem{{Field: "GrandParentImage"}}, LogSource{Product: "linux"}, ""},
		{[]DetectionItem{{Field: "Image"}}, pcWindows, ""},
		{[]DetectionItem{{Field: "CommandLine"}}, LogSource{}, `test.yml:12: transformation "no_cmdline" (detection_item_failure): CommandLine is not captured`},
		{[]DetectionItem{{Field: "User", Values: []string{"x"}}}, LogSource{}, `test.yml:18: transformation "lower" (case): changing the case of values is not implemented`},
		{[]DetectionItem{{Values: []string{"keyword"}}}, LogSource{}, ""},
	} {
		_, err := p.Apply(Rule{LogSource: tc.ls, Items: tc.items})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected %v", tc.items, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%+v: err %v, want %s", tc.items, err, tc.want)
		}
	}
	r, err := p.Apply(Rule{Items: []DetectionItem{{Field: "Image", Values: []string{"*.exe"}}, {Field: "Image", Values: []string{"test.exe"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Items[0].Dropped || r.Items[1].Dropped {
		t.Errorf("contains_wildcard drop: %+v", r.Items)
	}
	if got := condStrings(r); !reflect.DeepEqual(got, []string{"matched=yes"}) {
		t.Errorf("match_string add_condition: %q", got)
	}
}

func TestChainPriority(t *testing.T) {
	late := mustParse(t, `name: late
priority: 50
vars: {v: [late]}
transformations:
  - id: late
    type: field_name_mapping
    mapping: {b: c}
`)
	early := mustParse(t, `name: early
priority: 10
vars: {v: [early], w: [w]}
transformations:
  - id: early
    type: field_name_mapping
    mapping: {a: b}
`)
	c := Chain(late, early)
	if c.Name != "early + late" || c.Priority != 10 {
		t.Errorf("chain %q %d", c.Name, c.Priority)
	}
	if !reflect.DeepEqual(c.Vars, map[string][]string{"v": {"late"}, "w": {"w"}}) {
		t.Errorf("vars %v", c.Vars)
	}
	got, err := c.MapField(LogSource{}, "a")
	if err != nil || !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("a → %q %v", got, err)
	}
}

func TestApplyDoesNotChangeRule(t *testing.T) {
	p := mustParse(t, `transformations:
  - type: replace_string
    regex: a
    replacement: b
  - type: field_name_mapping
    mapping: {f: g}
`)
	r := Rule{Items: []DetectionItem{{Field: "f", Values: []string{"a"}}}}
	if _, err := p.Apply(r); err != nil {
		t.Fatal(err)
	}
	if r.Items[0].Field != "f" || r.Items[0].Values[0] != "a" {
		t.Errorf("rule changed: %+v", r.Items)
	}
}

func TestPlaceholderExpansionBound(t *testing.T) {
	vals := make([]string, 400)
	for i := range vals {
		vals[i] = "v"
	}
	p := &Pipeline{Vars: map[string][]string{"x": vals}, Items: []*Item{{ID: "vp", Type: "value_placeholders", Transformation: ValuePlaceholders{}}}}
	_, err := p.Apply(Rule{Items: []DetectionItem{{Field: "f", Values: []string{"%x%%x%%x%"}, Expand: true}}})
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("err = %v", err)
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		attr, got, want, op string
		ok                  bool
	}{
		{"level", "high", "medium", "gte", true},
		{"level", "low", "medium", "gte", false},
		{"level", "Critical", "critical", "eq", true},
		{"level", "bogus", "medium", "gte", false},
		{"status", "stable", "test", "gt", true},
		{"status", "experimental", "test", "lt", true},
		{"date", "2024-01-02", "2023/12/31", "gt", true},
		{"", "10", "9", "gt", true},
		{"", "10", "x", "gt", false},
		{"title", "abc", "abc", "eq", true},
		{"title", "abc", "abd", "ne", true},
		{"title", "abc", "abd", "lt", false},
	} {
		if got := compare(tc.attr, tc.got, tc.want, tc.op); got != tc.ok {
			t.Errorf("compare(%q, %q %s %q) = %v", tc.attr, tc.got, tc.op, tc.want, got)
		}
	}
}

func TestApplyStateAndAttributes(t *testing.T) {
	p := mustParse(t, `transformations:
  - id: st
    type: set_state
    key: env
    val: prod
    rule_conditions:
      - type: logsource
        product: windows
  - id: by_state
    type: field_name_mapping
    mapping: {A: B}
    field_name_conditions:
      - type: processing_state
        key: env
        val: prod
  - id: by_level
    type: field_name_mapping
    mapping: {C: D}
    rule_conditions:
      - type: rule_attribute
        attribute: level
        value: medium
        op: gte
`)
	for _, tc := range []struct {
		ls    LogSource
		level string
		want  [][]string
	}{
		{LogSource{Product: "windows"}, "high", [][]string{{"B"}, {"D"}}},
		{LogSource{Product: "linux"}, "low", [][]string{{"A"}, {"C"}}},
	} {
		r, err := p.Apply(Rule{LogSource: tc.ls, Attributes: map[string]string{"level": tc.level}, Items: []DetectionItem{{Field: "A"}, {Field: "C"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fields(r); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.ls, tc.level, got, tc.want)
		}
	}
	if _, err := Parse("t.yml", []byte("transformations:\n  - type: drop_detection_item\n    rule_conditions:\n      - type: rule_attribute\n        attribute: level\n        op: bigger\n")); err == nil || !strings.Contains(err.Error(), `t.yml:6: transformation (drop_detection_item): want eq, ne, gt, gte, lt or lte, got "bigger"`) {
		t.Errorf("bad op: %v", err)
	}
}
