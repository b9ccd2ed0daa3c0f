package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestHuntMapping runs a SigmaHQ rule over events whose fields are not
// named as Sigma's: Elastic Agent's ECS process events (process.executable,
// process.command_line) and a Splunk export of Security 4688 (EventCode,
// source, no Channel), which ingest gives no log source. Each matches only
// with its mapping: the built-in ecs pipeline, and pySigma's community
// Splunk Windows pipeline as it is published.
func TestHuntMapping(t *testing.T) {
	sigmaDir := filepath.Join("..", "..", "..", "shared", "data", "sigma")
	rule := filepath.Join(sigmaDir, "rules", "windows", "process_creation", "proc_creation_win_whoami_output.yml")
	splunk := filepath.Join(sigmaDir, "pipelines", "pySigma-community-pipelines", "splunk_pipelines", "splunk_windows.yml")
	for _, p := range []string{rule, splunk} {
		if _, err := os.Stat(p); err != nil {
			testneed.Missing(t, "SigmaHQ's rules and the pipeline samples in ../shared/data/sigma", err)
			return
		}
	}
	const ruleID = "c30fb093-1109-4dc8-88a8-b30d11c95a5d"
	ecs := filepath.Join("testdata", "ecs-process.ndjson")
	splunkEvents := filepath.Join("testdata", "splunk-4688.json")

	matches := func(r result) []huntMatch {
		t.Helper()
		var out []huntMatch
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if l == "" {
				continue
			}
			var m huntMatch
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%v: %s", err, l)
			}
			out = append(out, m)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		mapping []string
		events  string
		want    int
	}{
		{"ECS without a mapping", nil, ecs, 0},
		{"ECS with --mapping default", []string{"default"}, ecs, 0},
		{"ECS with --mapping vigil", []string{"vigil"}, ecs, 0},
		{"ECS with --mapping ecs", []string{"ecs"}, ecs, 1},
		{"Splunk without a mapping", nil, splunkEvents, 0},
		{"Splunk with pySigma's Splunk pipeline", []string{splunk}, splunkEvents, 1},
		{"Splunk with the ecs pipeline", []string{"ecs"}, splunkEvents, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"hunt", "--rules", rule}
			for _, m := range tc.mapping {
				args = append(args, "--mapping", m)
			}
			r := must(t, run(t, "", nil, append(args, tc.events)...))
			got := matches(r)
			if len(got) != tc.want {
				t.Fatalf("%d matches, want %d\nstdout: %s\nstderr: %s", len(got), tc.want, r.stdout, r.stderr)
			}
			for _, m := range got {
				if m.RuleID != ruleID || m.File != tc.events || m.Line != 1 {
					t.Errorf("match %+v", m)
				}
			}
			if !strings.Contains(r.stderr, "1 rule and 0 correlations loaded (0 rules not)") {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}

	// A mapping that is neither a built-in nor a file.
	r := run(t, "", nil, "hunt", "--rules", rule, "--mapping", "nosuch", ecs)
	if r.code == 0 || !strings.Contains(r.stderr, "nosuch is neither a built-in pipeline (vigil, ecs) nor a pipeline file") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// TestRulesCheckMapping: a pipeline item Vigil cannot apply is reported
// once with its file, line and id, and each rule it applies to is a rule
// that does not load, with the same reason.
func TestRulesCheckMapping(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	write("rules/win.yml", "title: Win\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    Computer|expand: '%hosts%'\n  condition: sel\n")
	write("rules/linux.yml", "title: Linux\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '/sh'\n  condition: sel\n")
	p := write("p.yml", `name: lookups
transformations:
  - id: hosts_lookup
    type: query_expression_placeholders
    expression: "[| inputlookup {id}]"
    include: [hosts]
    rule_conditions:
      - type: logsource
        product: windows
  - id: linux_fields
    type: field_name_prefix
    prefix: process.
`)
	r := run(t, "", nil, "rules", "check", "--mapping", p, rules)
	want := filepath.Join(dir, "rules", "win.yml") + `:6: pipeline ` + p + `:3: transformation "hosts_lookup" (query_expression_placeholders)`
	if r.code != 1 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "1 rule load, 1 rule do") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "pipeline item not supported (the rules it applies to do not load): "+p+`:3: transformation "hosts_lookup"`) {
		t.Errorf("stderr: %s", r.stderr)
	}
	must(t, run(t, "", nil, "rules", "check", "--mapping", "ecs", "--mapping", "vigil", filepath.Join(rules, "linux.yml")))
}
