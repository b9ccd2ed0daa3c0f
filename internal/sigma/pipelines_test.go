package sigma

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

func mustPipeline(t *testing.T, name, text string) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("pipeline %s: %v", name, err)
	}
	return p
}

// whoamiRule is a process_creation rule on Image and CommandLine.
const whoamiRule = `title: whoami
id: 11111111-1111-1111-1111-111111111111
level: high
tags: [attack.discovery]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
    CommandLine|contains: /all
  condition: sel
`

// TestPipelineTransformations compiles a rule through a one-item
// pipeline per transformation and checks which events it then matches.
func TestPipelineTransformations(t *testing.T) {
	whoami := Map{"Image": `C:\Windows\whoami.exe`, "CommandLine": "whoami /all"}
	cases := []struct {
		name, pipeline string
		rule           string // whoamiRule when empty
		match, miss    []Map
	}{
		{name: "field_name_mapping one to one", pipeline: `
transformations:
  - type: field_name_mapping
    mapping: {Image: process.executable, CommandLine: process.command_line}`,
			match: []Map{{"process": map[string]any{"executable": `C:\x\whoami.exe`, "command_line": "whoami /all"}}},
			miss:  []Map{whoami}},
		{name: "field_name_mapping one to many is an OR", pipeline: `
transformations:
  - type: field_name_mapping
    mapping: {Image: [process.executable, NewProcessName]}`,
			match: []Map{{"process.executable": `C:\whoami.exe`, "CommandLine": "whoami /all"},
				{"NewProcessName": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss: []Map{whoami, {"NewProcessName": `C:\cmd.exe`, "CommandLine": "whoami /all"}}},
		{name: "one to many: null and exists false hold only when every name is absent", pipeline: `
transformations:
  - type: field_name_mapping
    mapping: {LogonId: [LogonId, SubjectLogonId], User: [User, SubjectUserName]}`,
			rule: `title: x
logsource: {product: windows}
detection:
  sel: {Image: a}
  nolid: {LogonId: null}
  nouser: {User|exists: false}
  condition: sel and not nolid and not nouser`,
			match: []Map{{"Image": "a", "LogonId": "0x1", "User": "u"}, {"Image": "a", "SubjectLogonId": "0x1", "SubjectUserName": "u"}},
			miss:  []Map{{"Image": "a", "User": "u"}, {"Image": "a", "LogonId": "0x1"}}},
		{name: "is_null detection item condition", pipeline: `
transformations:
  - type: drop_detection_item
    detection_item_conditions: [{type: is_null}]`,
			rule: `title: x
logsource: {product: windows}
detection:
  sel: {Image|endswith: '\whoami.exe', ParentImage: null}
  condition: sel`,
			match: []Map{{"Image": `C:\whoami.exe`, "ParentImage": `C:\cmd.exe`}},
			miss:  []Map{{"Image": `C:\cmd.exe`}}},
		{name: "match_string detection item condition", pipeline: `
transformations:
  - type: field_name_prefix
    prefix: p.
    detection_item_conditions: [{type: match_string, pattern: 'whoami', cond: any}]`,
			match: []Map{{"p.Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "contains_wildcard detection item condition", pipeline: `
transformations:
  - type: field_name_suffix
    suffix: .text
    detection_item_conditions: [{type: contains_wildcard, cond: all}]`,
			rule: `title: x
logsource: {product: windows}
detection:
  sel: {EventID: 1, Image|endswith: '\whoami.exe', User: bob}
  condition: sel`,
			match: []Map{{"EventID": 1.0, "Image.text": `C:\whoami.exe`, "User": "bob"}},
			miss:  []Map{{"EventID": 1.0, "Image": `C:\whoami.exe`, "User": "bob"}}},
		{name: "field_name_prefix_mapping", pipeline: `
transformations:
  - type: field_name_prefix_mapping
    mapping: {Comm: proc.comm, Ima: proc.ima}`,
			match: []Map{{"proc.image": `C:\whoami.exe`, "proc.commandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "field_name_prefix", pipeline: `
transformations:
  - type: field_name_prefix
    prefix: winlog.event_data.`,
			match: []Map{{"winlog": map[string]any{"event_data": map[string]any{"Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}}}},
			miss:  []Map{whoami}},
		{name: "field_name_suffix with include_fields", pipeline: `
transformations:
  - type: field_name_suffix
    suffix: .keyword
    field_name_conditions:
      - type: include_fields
        fields: [Image]`,
			match: []Map{{"Image.keyword": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "exclude_fields in re mode", pipeline: `
transformations:
  - type: field_name_prefix
    prefix: x.
    field_name_conditions:
      - type: exclude_fields
        mode: re
        fields: ['Comm.*']`,
			match: []Map{{"x.Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "add_condition", pipeline: `
transformations:
  - id: chan
    type: add_condition
    conditions: {Channel: [Security, Microsoft-Windows-Sysmon/Operational], EventID: [1, 4688]}`,
			match: []Map{{"Channel": "security", "EventID": 4688.0, "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"},
				{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": "1", "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss: []Map{whoami, {"Channel": "Security", "EventID": 4624.0, "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}}},
		{name: "add_condition negated", pipeline: `
transformations:
  - type: add_condition
    negated: true
    conditions: {User: 'NT AUTHORITY\SYSTEM'}`,
			match: []Map{whoami, {"User": "CONTOSO\\bob", "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{{"User": `nt authority\system`, "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}}},
		{name: "add_condition template", pipeline: `
transformations:
  - type: add_condition
    template: true
    conditions: {sourcetype: 'windows:$category'}`,
			match: []Map{{"sourcetype": "windows:process_creation", "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "add_condition fields are mapped by later items", pipeline: `
transformations:
  - type: add_condition
    conditions: {Channel: Security}
  - type: field_name_mapping
    mapping: {Channel: winlog.channel}`,
			match: []Map{{"winlog.channel": "Security", "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{{"Channel": "Security", "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}}},
		{name: "change_logsource then a logsource condition", pipeline: `
transformations:
  - type: change_logsource
    service: sysmon
    rule_conditions: [{type: logsource, category: process_creation}]
  - type: add_condition
    conditions: {EventID: 1}
    rule_conditions: [{type: logsource, service: sysmon}]`,
			match: []Map{{"EventID": 1.0, "Image": `C:\whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "logsource condition that does not hold", pipeline: `
transformations:
  - type: field_name_prefix
    prefix: zz.
    rule_conditions: [{type: logsource, category: network_connection}]`,
			match: []Map{whoami}},
		{name: "drop_detection_item", pipeline: `
transformations:
  - type: drop_detection_item
    field_name_conditions: [{type: include_fields, fields: [CommandLine]}]`,
			match: []Map{{"Image": `C:\whoami.exe`}},
			miss:  []Map{{"CommandLine": "whoami /all"}}},
		{name: "replace_string", pipeline: `
transformations:
  - type: replace_string
    regex: whoami
    replacement: klist
    field_name_conditions: [{type: include_fields, fields: [Image]}]`,
			match: []Map{{"Image": `C:\Windows\KLIST.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "replace_string with a group", pipeline: `
transformations:
  - type: replace_string
    regex: '^\*\\(.*)$'
    replacement: '*/\1'`,
			match: []Map{{"Image": `/usr/bin/whoami.exe`, "CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
		{name: "value_placeholders", pipeline: `
vars:
  admins: [alice, 'bob*']
transformations:
  - type: value_placeholders`,
			rule: `title: admin
logsource: {product: windows}
detection:
  sel: {User|expand: '%admins%'}
  condition: sel`,
			match: []Map{{"User": "alice"}, {"User": "Bobby"}},
			miss:  []Map{{"User": "carol"}}},
		{name: "wildcard_placeholders", pipeline: `
transformations:
  - type: wildcard_placeholders`,
			rule: `title: admin
logsource: {product: windows}
detection:
  sel: {User|expand: '%admins%@contoso'}
  condition: sel`,
			match: []Map{{"User": `anyone@CONTOSO`}},
			miss:  []Map{{"User": `x@fabrikam`}}},
		{name: "set_state changes nothing that matches", pipeline: `
transformations:
  - type: set_state
    key: index
    val: windows`,
			match: []Map{whoami}},
		{name: "processing_item_applied", pipeline: `
transformations:
  - id: img
    type: field_name_mapping
    mapping: {Image: NewProcessName}
    rule_conditions: [{type: contains_detection_item, field: EventID, value: '4688'}]
  - type: add_condition
    conditions: {Channel: Security}
    rule_conditions: [{type: processing_item_applied, processing_item_id: img}]`,
			rule: `title: x
logsource: {product: windows}
detection:
  sel: {EventID: 4688, Image|endswith: '\whoami.exe'}
  condition: sel`,
			match: []Map{{"Channel": "Security", "EventID": 4688.0, "NewProcessName": `C:\whoami.exe`}},
			miss:  []Map{{"EventID": 4688.0, "NewProcessName": `C:\whoami.exe`}, {"Channel": "Security", "EventID": 4688.0, "Image": `C:\whoami.exe`}}},
		{name: "tag and rule_attribute conditions", pipeline: `
transformations:
  - type: field_name_prefix
    prefix: a.
    rule_conditions: [{type: tag, tag: attack.discovery}]
  - type: field_name_prefix
    prefix: b.
    rule_conditions: [{type: rule_attribute, attribute: level, op: gte, value: high}]
  - type: field_name_prefix
    prefix: c.
    rule_conditions: [{type: tag, tag: attack.execution}]`,
			match: []Map{{"b.a.Image": `C:\whoami.exe`, "b.a.CommandLine": "whoami /all"}},
			miss:  []Map{whoami}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule := tc.rule
			if rule == "" {
				rule = whoamiRule
			}
			c, err := ParseAndCompile([]byte(rule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{mustPipeline(t, "p.yml", tc.pipeline)}})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.match {
				if !c.Match(ev) {
					t.Errorf("does not match %v\n%s", ev, c)
				}
			}
			for _, ev := range tc.miss {
				if c.Match(ev) {
					t.Errorf("matches %v\n%s", ev, c)
				}
			}
		})
	}
}

// TestPipelineFailures: what Vigil cannot apply, and the pipeline's own
// failures, are load errors naming the pipeline file, line and item.
func TestPipelineFailures(t *testing.T) {
	cases := []struct{ name, pipeline, want string }{
		{"query_expression_placeholders", `
transformations:
  - id: lookup
    type: query_expression_placeholders
    expression: "{field} IN lookup"
    include: [admins]`,
			`rule.yml:7: pipeline p.yml:3: transformation "lookup" (query_expression_placeholders): turns a placeholder into backend query text`},
		{"rule_failure on a tag", `
transformations:
  - id: nodisc
    type: rule_failure
    message: discovery rules are not for this backend
    rule_conditions: [{type: tag, tag: attack.discovery}]`,
			`pipeline p.yml:3: transformation "nodisc" (rule_failure): discovery rules are not for this backend`},
		{"detection_item_failure on a field", `
transformations:
  - id: nocmd
    type: detection_item_failure
    message: no command lines here
    field_name_conditions: [{type: include_fields, fields: [CommandLine]}]`,
			`pipeline p.yml:3: transformation "nocmd" (detection_item_failure): no command lines here`},
		{"convert_type", `
transformations:
  - id: conv
    type: convert_type
    target_type: str`,
			`transformation "conv" (convert_type): converting value types is not implemented`},
		{"dropping a whole map", `
transformations:
  - type: drop_detection_item`,
			`rule.yml:8: the pipelines (p.yml) dropped every field of a map of search "sel"`},
	}
	// whoamiRule with a placeholder the lookup handles.
	rule := strings.Replace(whoamiRule, "    CommandLine|contains: /all\n", "    CommandLine|contains: /all\n    User|expand: '%admins%'\n", 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAndCompile([]byte(rule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{mustPipeline(t, "p.yml", tc.pipeline)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%v is not ErrUnsupported", err)
			}
		})
	}
	// An unsupported item whose conditions do not hold, or that touches
	// nothing of the rule, does not fail it.
	for _, pl := range []string{`
transformations:
  - id: lookup
    type: query_expression_placeholders
    expression: "{field} IN lookup"
    rule_conditions: [{type: logsource, product: linux}]`, `
transformations:
  - id: lookup
    type: query_expression_placeholders
    expression: "{field} IN lookup"
    include: [threat_ips]`, `
transformations:
  - id: hashes
    type: hashes_fields
    valid_hash_algos: [MD5]`} {
		p := mustPipeline(t, "p.yml", pl)
		if _, err := ParseAndCompile([]byte(rule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{p}, Placeholders: map[string][]string{"admins": {"alice"}}}); err != nil {
			t.Errorf("%s: %v", pl, err)
		}
	}
	p := mustPipeline(t, "p.yml", "transformations:\n  - id: hashes\n    type: hashes_fields\n    valid_hash_algos: [MD5]\n")
	_, err := ParseAndCompile([]byte(strings.Replace(whoamiRule, "CommandLine|contains", "Hashes|contains", 1)), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{p}})
	if err == nil || !strings.Contains(err.Error(), `transformation "hashes" (hashes_fields)`) {
		t.Errorf("a rule on Hashes: %v", err)
	}
}

// TestPipelineChain: pipelines apply in order of priority, whatever the
// order given, and a later one sees the names an earlier one gave.
func TestPipelineChain(t *testing.T) {
	first := mustPipeline(t, "first.yml", `
priority: 10
transformations:
  - type: field_name_mapping
    mapping: {Image: proc_image}`)
	second := mustPipeline(t, "second.yml", `
priority: 20
transformations:
  - type: field_name_mapping
    mapping: {proc_image: [process.executable, proc.exe]}`)
	c, err := ParseAndCompile([]byte(whoamiRule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{second, first}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"process.executable", "proc.exe"} {
		if !c.Match(Map{f: `C:\whoami.exe`, "CommandLine": "whoami /all"}) {
			t.Errorf("%s does not match", f)
		}
	}
	if c.Match(Map{"proc_image": `C:\whoami.exe`, "CommandLine": "whoami /all"}) {
		t.Error("the intermediate name matches")
	}
}

// TestPipelineKeepsRule: the compiled rule is the rule as written (alerts
// show it), and says which pipeline items changed it.
func TestPipelineKeepsRule(t *testing.T) {
	p, err := pipeline.Builtin("ecs")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseAndCompile([]byte(whoamiRule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{p}})
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Rule.Detection.Searches[0].Maps[0].Matches[0].Field; f != "Image" {
		t.Errorf("the rule's field became %q", f)
	}
	if got := strings.Join(c.PipelineItems(), ","); !strings.Contains(got, "ecs_windows_process_creation") {
		t.Errorf("PipelineItems = %s", got)
	}
	ev := Map{"winlog.channel": "Security", "winlog.event_id": 4688.0, "process.executable": `C:\whoami.exe`, "process.command_line": "whoami /all"}
	if r := c.Explain(ev); !r.Matched || strings.Join(r.Searches, ",") != "sel" {
		t.Errorf("Explain = %+v\n%s", r, c)
	}
	if !strings.Contains(c.String(), "pipeline condition ecs_windows_process_creation") {
		t.Errorf("dump lacks the pipeline condition:\n%s", c)
	}
}

// TestPipelineFilter: a filter's fields are mapped as its rule's are.
func TestPipelineFilter(t *testing.T) {
	p := mustPipeline(t, "p.yml", `
transformations:
  - type: field_name_mapping
    mapping: {Image: process.executable, CommandLine: process.command_line, User: user.name}`)
	opts := Options{Pipelines: []*pipeline.Pipeline{p}}
	r, err := ParseAndCompile([]byte(whoamiRule), "rule.yml", opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFilter([]byte(`title: admins
logsource: {product: windows, category: process_creation}
filter:
  rules: [11111111-1111-1111-1111-111111111111]
  sel: {User: alice}
  condition: sel
`), "filter.yml")
	if err != nil {
		t.Fatal(err)
	}
	cf, err := CompileFilter(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	r = r.WithFilters(cf)
	ev := Map{"process.executable": `C:\whoami.exe`, "process.command_line": "whoami /all", "user.name": "bob"}
	if !r.Match(ev) {
		t.Error("bob's whoami does not match")
	}
	ev["user.name"] = "alice"
	if r.Match(ev) {
		t.Error("alice's whoami is not filtered")
	}
}

// TestPipelineRoutesUnknownEvents: an event ingest gave no log source
// meets the rules a pipeline routes, whose added conditions decide; an
// event of another log source still does not.
func TestPipelineRoutesUnknownEvents(t *testing.T) {
	p := mustPipeline(t, "splunk.yml", `
transformations:
  - id: splunk_4688
    type: add_condition
    conditions: {source: 'WinEventLog:Security', EventCode: 4688}
    rule_conditions: [{type: logsource, product: windows, category: process_creation}]
  - type: field_name_mapping
    mapping: {Image: NewProcessName}`)
	routed, err := ParseAndCompile([]byte(whoamiRule), "rule.yml", Options{Pipelines: []*pipeline.Pipeline{p}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ParseAndCompile([]byte(strings.Replace(whoamiRule, "title: whoami", "title: plain", 1)), "plain.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRouter([]*CompiledRule{routed, plain})
	ev := Map{"source": "WinEventLog:Security", "EventCode": "4688", "NewProcessName": `C:\whoami.exe`, "CommandLine": "whoami /all"}
	var got []string
	rt.Match("", "", "", ev, func(c *CompiledRule) { got = append(got, c.Rule.Title) })
	if strings.Join(got, ",") != "whoami" {
		t.Errorf("an event with no log source matched %q, want the routed rule", got)
	}
	got = nil
	rt.Match("linux", "process_creation", "", ev, func(c *CompiledRule) { got = append(got, c.Rule.Title) })
	if len(got) != 0 {
		t.Errorf("a Linux event matched %q", got)
	}
	ev["source"] = "WinEventLog:System"
	if n := rt.Match("", "", "", ev, nil); n != 0 {
		t.Errorf("an event the added condition excludes matched %d rules", n)
	}
}

// TestPipelinePlaceholdersFromOptions: value_placeholders reads
// Options.Placeholders for names the pipeline's vars lack, and a
// placeholder no item handles is left to Options.Placeholders.
func TestPipelinePlaceholdersFromOptions(t *testing.T) {
	rule := `title: dc
logsource: {product: windows}
detection:
  sel: {Computer|expand: '%dcs%'}
  condition: sel`
	for _, pl := range []string{"transformations:\n  - type: value_placeholders\n", "transformations:\n  - type: field_name_prefix\n    prefix: ''\n"} {
		c, err := ParseAndCompile([]byte(rule), "rule.yml", Options{Placeholders: map[string][]string{"dcs": {"DC01", "DC02"}},
			Pipelines: []*pipeline.Pipeline{mustPipeline(t, "p.yml", pl)}})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Match(Map{"Computer": "dc02"}) || c.Match(Map{"Computer": "ws01"}) {
			t.Errorf("%q: placeholders not expanded\n%s", pl, c)
		}
	}
}

// TestPipelineCorrelationFields: a correlation's group-by and value
// fields are read under the names the pipelines give the rules it
// counts.
func TestPipelineCorrelationFields(t *testing.T) {
	p := mustPipeline(t, "p.yml", `
transformations:
  - type: field_name_mapping
    mapping: {User: [user.name, winlog.event_data.User], Computer: host.name}
    rule_conditions: [{type: logsource, category: process_creation}]`)
	c, err := LoadText(`title: whoami
name: whoami_run
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: three whoami hosts for one user
correlation:
  type: value_count
  rules: [whoami_run]
  group-by: [User]
  timespan: 5m
  condition: {field: Computer, gte: 3}
`, "rules.yml", Options{Pipelines: []*pipeline.Pipeline{p}})
	if err != nil || len(c.Failed) > 0 {
		t.Fatal(err, c.Failed)
	}
	cr, err := NewCorrelator(c.Rules, c.Correlations)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var hits []CorrelationHit
	for i, host := range []string{"ws1", "ws2", "ws1", "ws3"} {
		ev := Map{"Image": `C:\whoami.exe`, "host.name": host, "winlog.event_data.User": `CONTOSO\bob`}
		if i == 1 {
			ev = Map{"Image": `C:\whoami.exe`, "host.name": host, "user.name": `CONTOSO\bob`}
		}
		hits = append(hits, cr.Observe(c.Rules[0].Rule, ev, t0.Add(time.Duration(i)*time.Second))...)
	}
	if len(hits) != 1 || hits[0].Group["User"] != `CONTOSO\bob` || hits[0].Value != 3 {
		t.Errorf("hits %+v", hits)
	}
}
