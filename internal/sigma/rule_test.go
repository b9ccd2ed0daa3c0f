package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fullRule = `title: Whoami Execution
id: e28a5a99-da44-436d-b7a0-2afc20a5f413
related:
    - id: 00000000-0000-0000-0000-000000000001
      type: similar
status: test
description: Detects whoami
references:
    - https://example.org/whoami
author: Florian Roth (Nextron Systems)
date: 2018-08-13
modified: 2023-11-30
tags:
    - attack.discovery
    - attack.t1033
logsource:
    category: process_creation
    product: windows
    service: sysmon
    definition: 'Requirements: Sysmon'
detection:
    selection_img:
        - Image|endswith: '\whoami.exe'
        - OriginalFileName: 'whoami.exe'
    keywords:
        - 'whoami /all'
    filter:
        User: null
    condition: selection_img and not filter
fields:
    - CommandLine
falsepositives:
    - Admin activity
level: low
custom_key: kept out of the model
`

func TestParseFullRule(t *testing.T) {
	r, err := Parse([]byte(fullRule), "rules/x.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{
		File: "rules/x.yml", Title: "Whoami Execution", ID: "e28a5a99-da44-436d-b7a0-2afc20a5f413",
		Status: "test", Description: "Detects whoami", Author: "Florian Roth (Nextron Systems)",
		Date: "2018-08-13", Modified: "2023-11-30", Level: "low",
		References:     []string{"https://example.org/whoami"},
		Tags:           []string{"attack.discovery", "attack.t1033"},
		Fields:         []string{"CommandLine"},
		FalsePositives: []string{"Admin activity"},
		Related:        []Related{{ID: "00000000-0000-0000-0000-000000000001", Type: "similar"}},
	}
	got := *r
	got.Logsource, got.Detection = Logsource{}, Detection{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata:\n got %+v\nwant %+v", got, want)
	}
	ls := r.Logsource
	if ls.Product != "windows" || ls.Category != "process_creation" || ls.Service != "sysmon" || ls.Definition != "Requirements: Sysmon" || ls.Pos.Line != 17 {
		t.Errorf("logsource %+v", ls)
	}
	d := r.Detection
	if len(d.Searches) != 3 || d.Searches[0].Name != "selection_img" || d.Searches[1].Name != "keywords" {
		t.Fatalf("searches %+v", d.Searches)
	}
	sel := d.Search("selection_img")
	if sel.Pos.Line != 22 || len(sel.Maps) != 2 {
		t.Errorf("selection_img at %v with %d maps", sel.Pos, len(sel.Maps))
	}
	fm := sel.Maps[0].Matches[0]
	if fm.Field != "Image" || !reflect.DeepEqual(fm.Modifiers, []string{"endswith"}) || fm.Values[0].Text != `\whoami.exe` || fm.Pos.Line != 23 || fm.Values[0].Pos.Line != 23 {
		t.Errorf("first field match %+v", fm)
	}
	kw := d.Search("keywords").Maps[0].Matches[0]
	if kw.Field != "" || kw.Values[0].Text != "whoami /all" {
		t.Errorf("keywords %+v", kw)
	}
	if v := d.Search("filter").Maps[0].Matches[0].Values[0]; v.Kind != Null {
		t.Errorf("null parsed as %v", v.Kind)
	}
	if len(d.Conditions) != 1 || d.Conditions[0].Text != "selection_img and not filter" || d.Conditions[0].Pos.Line != 29 {
		t.Errorf("conditions %+v", d.Conditions)
	}
	if d.Search("nope") != nil {
		t.Error("Search found a search that is not there")
	}
	if _, err := Compile(r, Options{}); err != nil {
		t.Error(err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in, want    string
		unsupported bool
	}{
		{"", "x.yml: empty file", false},
		{"- a\n- b\n", "x.yml:1: a rule is a YAML map, not a list", false},
		{"title: [\n", "x.yml:1: YAML: did not find expected node content", false},
		{"title: t\n", "x.yml:1: no logsource", false},
		{"logsource: {}\ndetection: {a: {b: c}, condition: a}\n", "no title", false},
		{"title: t\nlogsource: {}\n", "no detection", false},
		{"title: t\nlogsource: {}\ndetection:\n    a:\n        b: c\n", "x.yml:4: detection has no condition", false},
		{"title: t\ntitle: u\n", "x.yml:2: duplicate key \"title\"", false},
		{"title: t\ntags: {a: b}\n", "x.yml:2: tags is a list of values, not a map", false},
		{"title: t\nlogsource: [a]\n", "x.yml:2: logsource is a map", false},
		{"title: t\nlogsource: {}\ndetection:\n    a: b\n    a: c\n    condition: a\n", "x.yml:5: duplicate search identifier \"a\"", false},
		{"title: t\nlogsource: {}\ndetection:\n    a:\n        F: 1\n        F: 2\n    condition: a\n", "x.yml:6: duplicate field \"F\"", false},
		{"title: t\nlogsource: {}\ndetection:\n    a:\n        - [x]\n    condition: a\n", "x.yml:5: search \"a\": a list holds maps or keywords, not a list", false},
		{"title: t\nlogsource: {}\ndetection:\n    a: {F: x}\n    condition: {x: y}\n", "x.yml:5: condition is an expression or a list", false},
		{"title: t\ncorrelation:\n    type: event_count\n", "x.yml:2: this is a correlation rule, not a detection rule", false},
		{"title: t\nfilter:\n    rules: []\n", "x.yml:2: this is a filter (meta-rule), not a detection rule", false},
		{"title: t\n---\ntitle: u\n", "x.yml:2: more than one YAML document: read the file with ParseCollection", false},
		{"title: t\nlogsource: &a {product: x}\ndetection:\n    s: *a\n    condition: s\n", "alias to a list or map", false},
		{"title: t\nlogsource: {}\ndetection:\n    s:\n        F: !!binary aGVsbG8=\n        G: !custom x\n    condition: s\n", "x.yml:6: value of YAML type !custom", false},
	} {
		_, err := Parse([]byte(c.in), "x.yml")
		if err == nil {
			t.Errorf("%q parsed, want %q", c.in, c.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: %T is not *Error", c.in, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.in, err, c.want)
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%q: unsupported = %v, want %v", c.in, !c.unsupported, c.unsupported)
		}
	}
}

func TestLogsourceCovers(t *testing.T) {
	ls := Logsource{Product: "windows", Category: "process_creation"}
	for _, c := range []struct {
		p, c, s string
		want    bool
	}{
		{"windows", "process_creation", "sysmon", true},
		{"Windows", "PROCESS_CREATION", "", true},
		{"windows", "file_event", "sysmon", false},
		{"linux", "process_creation", "", false},
		{"windows", "", "security", false},
	} {
		if got := ls.Covers(c.p, c.c, c.s); got != c.want {
			t.Errorf("Covers(%q, %q, %q) = %v", c.p, c.c, c.s, got)
		}
	}
	reg := Logsource{Product: "windows", Category: "registry_event"}
	if !reg.Covers("windows", "registry_set", "sysmon") || !reg.Covers("windows", "registry_event", "") || reg.Covers("windows", "file_event", "") {
		t.Error("registry_event does not cover the finer registry categories (and only them)")
	}
	if !(Logsource{}).Covers("x", "y", "z") {
		t.Error("an empty log source covers everything")
	}
}

// seedCorpus adds the rules under testdata and a sample of SigmaHQ's to f.
func seedRules(add func([]byte)) {
	paths, _ := filepath.Glob("testdata/*/*.yml")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			add(b)
		}
	}
	add([]byte(fullRule))
}

// FuzzParse: no rule file makes Parse or Compile panic, and a rule that
// parses either compiles or says why with a position.
func FuzzParse(f *testing.F) {
	seedRules(func(b []byte) { f.Add(b) })
	f.Add([]byte("title: t\nlogsource: {}\ndetection:\n    a|x: [1, null]\n    condition: a\n"))
	f.Add([]byte("title: t\nlogsource: &x {}\ndetection:\n    s: {F|re|i: '(?i'}\n    condition: 1 of s*\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if col, err := ParseCollection(data, "f.yml"); err == nil {
			var rules []*CompiledRule
			for _, r := range col.Rules {
				if c, err := Compile(r, Options{}); err == nil {
					rules = append(rules, c)
				}
			}
			if cr, err := NewCorrelator(rules, col.Correlations); err == nil {
				for _, r := range rules {
					cr.Observe(r.Rule, Map{"F": "a"}, t0)
				}
			}
		}
		if f, err := ParseFilter(data, "f.yml"); err == nil {
			if cf, err := CompileFilter(f, Options{}); err == nil {
				cf.cond.eval(getCtx(Map{"F": "a"}))
			}
		}
		r, err := Parse(data, "f.yml")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "f.yml" {
				t.Fatalf("error %v is not an *Error naming the file", err)
			}
			return
		}
		c, err := Compile(r, Options{Placeholders: map[string][]string{"x": {"a*"}}})
		if err != nil {
			return
		}
		c.Match(Map{"F": "a", "G": 1.0, "H": []any{"x", true}})
		_ = c.String()
	})
}

// FuzzCondition: ParseCondition never panics, and what it parses prints
// back to a condition that parses to the same tree.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not b", "1 of sel* or all of them", "not (a or (b and c))", "all of x_* and not 1 of filter_*", "((a", "sel | count() > 5", "2 of x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseCondition(s)
		if err != nil {
			return
		}
		e2, err := ParseCondition(e.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, e.String(), err)
		}
		if e2.String() != e.String() {
			t.Fatalf("%q: %q reparsed as %q", s, e.String(), e2.String())
		}
	})
}
