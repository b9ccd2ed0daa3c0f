package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exampleRule reads the parts of a Sigma rule a pipeline sees — log
// source, tags, detection items — enough for the example rules beside
// pySigma's example pipelines (the engine has the real parser).
func exampleRule(t *testing.T, path string) Rule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tags      []string             `yaml:"tags"`
		Level     string               `yaml:"level"`
		Status    string               `yaml:"status"`
		LogSource LogSource            `yaml:"logsource"`
		Detection map[string]yaml.Node `yaml:"detection"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := Rule{LogSource: doc.LogSource, Tags: doc.Tags, Attributes: map[string]string{"level": doc.Level, "status": doc.Status}}
	var search func(n *yaml.Node)
	search = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				parts := strings.Split(n.Content[i].Value, "|")
				d := DetectionItem{Field: parts[0], Expand: contains(parts[1:], "expand")}
				v := n.Content[i+1]
				switch {
				case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
					d.Null = true
				case v.Kind == yaml.ScalarNode:
					d.Values = []string{v.Value}
				default:
					for _, c := range v.Content {
						d.Values = append(d.Values, c.Value)
					}
				}
				r.Items = append(r.Items, d)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if c.Kind == yaml.ScalarNode {
					r.Items = append(r.Items, DetectionItem{Values: []string{c.Value}})
				} else {
					search(c)
				}
			}
		}
	}
	for name, n := range doc.Detection {
		if name != "condition" {
			search(&n)
		}
	}
	return r
}

// TestPipelineExamples applies each of pySigma's example pipelines to
// the example rule beside it: those whose items a matching engine cannot
// apply must fail with the reason, the others must apply cleanly.
func TestPipelineExamples(t *testing.T) {
	dir := samplesDir(t, "pySigma-community-pipelines/pipeline_examples")
	pipes, _ := filepath.Glob(filepath.Join(dir, "*", "*", "pipeline.yml"))
	if len(pipes) != 34 {
		t.Errorf("%d example pipelines, want 34", len(pipes))
	}
	failing := map[string]string{
		"case":                          `(case): changing the case of values is not implemented`,
		"convert_type":                  `(convert_type): converting value types is not implemented`,
		"hashes_fields":                 `(hashes_fields): splitting Hashes values`,
		"query_expression_placeholders": `(query_expression_placeholders): turns a placeholder into backend query text`,
		"regex":                         `(regex): rewriting values as backend regular-expression syntax`,
		"rule_failure":                  `(rule_failure): GrandParentImage is not a supported field`,
		"detection_item_failure":        `(detection_item_failure): CommandLine field is not captured`,
		"set_custom_attribute":          "",
	}
	applied := map[string][]string{
		// level high ≥ medium, the state set by set_state, the tag, the
		// items applied before.
		"field_name_mapping": {"initialize_environment_state", "map_by_logsource", "map_when_contains_field", "map_by_rule_level", "map_by_state", "map_sigma_rules_only", "map_with_multiple_conditions"},
		"set_state":          {"mark_initial_processing", "map_by_state"},
	}
	for _, pf := range pipes {
		name := filepath.Base(filepath.Dir(pf))
		p, err := ParseFile(pf)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		r := exampleRule(t, filepath.Join(filepath.Dir(pf), "rule.yml"))
		res, err := p.Apply(r)
		want, fails := failing[name]
		switch {
		case fails && want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: err = %v, want %s", name, err, want)
		case (!fails || want == "") && err != nil:
			t.Errorf("%s: %v", name, err)
		case err != nil:
			t.Logf("%s: rule reported: %v", name, strings.TrimPrefix(err.Error(), dir+"/"))
		default:
			for _, id := range applied[name] {
				if !contains(res.Applied, id) {
					t.Errorf("%s: %s not applied (applied %q)", name, id, res.Applied)
				}
			}
			t.Logf("%s: applied %q, log source %s, %d conditions added", name, res.Applied, res.LogSource, len(res.Conditions))
		}
	}
}
