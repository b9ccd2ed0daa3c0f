package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestHunt runs `vigil hunt` as an analyst would: a SigmaHQ rule over its
// own regression event (nested EVTX JSON over several lines), a rule
// directory with a broken rule in it, a file with no matches, the table
// format and a missing file.
func TestHunt(t *testing.T) {
	sigmaDir := filepath.Join("..", "..", "..", "shared", "data", "sigma")
	const (
		ruleID = "271de298-cc0e-4842-acd8-079a0a99ea65"
		rule   = "rules-emerging-threats/2025/Exploits/CVE-2025-55182/proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child_process.yml"
		events = "regression_data/rules-emerging-threats/2025/Exploits/CVE-2025-55182/proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child_process/" + ruleID + ".json"
	)
	rulePath, eventsPath := filepath.Join(sigmaDir, rule), filepath.Join(sigmaDir, events)
	if _, err := os.Stat(eventsPath); err != nil {
		testneed.Missing(t, "SigmaHQ's rules and regression data in ../shared/data/sigma", err)
		return
	}
	zeek := filepath.Join("..", "..", "..", "shared", "data", "events", "network")

	r := must(t, run(t, "", nil, "hunt", "--rules", rulePath, eventsPath))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d matches, want 1 (the regression index's count):\n%s\nstderr: %s", len(lines), r.stdout, r.stderr)
	}
	var m struct {
		RuleID    string `json:"rule_id"`
		RuleTitle string `json:"rule_title"`
		Level     string
		Author    string
		File      string
		Line      int64
		Event     struct {
			Category string
			Fields   map[string]any
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m.RuleID != ruleID || m.Level == "" || m.Author == "" || m.File != eventsPath || m.Line != 1 ||
		m.Event.Category != "process_creation" || m.Event.Fields["CommandLine"] == nil {
		t.Errorf("match %+v", m)
	}
	if !strings.Contains(r.stderr, "1 rule and 0 correlations loaded") || !strings.Contains(r.stderr, "1 match") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// A directory of rules with a broken one: reported with its file and
	// line, and the hunt goes on with the rest.
	dir := t.TempDir()
	b, err := os.ReadFile(rulePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := "title: Broken\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|nosuchmodifier: x\n  condition: sel\n"
	if err := os.WriteFile(filepath.Join(dir, "broken.yml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	r = must(t, run(t, "", nil, "hunt", eventsPath, "--rules", dir, "--format", "table"))
	if !strings.Contains(r.stderr, filepath.Join(dir, "broken.yml")+":6:") || !strings.Contains(r.stderr, "nosuchmodifier") {
		t.Errorf("the broken rule is not reported with its file and line: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "LEVEL") || !strings.Contains(r.stdout, "React2Shell") {
		t.Errorf("table: %s", r.stdout)
	}

	// No match is not a failure.
	if _, err := os.Stat(zeek); err == nil {
		r = must(t, run(t, "", nil, "hunt", "--rules", rulePath, zeek))
		if strings.TrimSpace(r.stdout) != "" || !strings.Contains(r.stderr, "0 matches") {
			t.Errorf("Zeek records matched a Windows rule: %s / %s", r.stdout, r.stderr)
		}
	}

	// A file that is not there is an error naming it.
	r = run(t, "", nil, "hunt", "--rules", rulePath, filepath.Join(dir, "missing.json"))
	if r.code == 0 || !strings.Contains(r.stderr, "missing.json") {
		t.Errorf("missing file: exit %d, %s", r.code, r.stderr)
	}
	if r = run(t, "", nil, "hunt", eventsPath); r.code == 0 || !strings.Contains(r.stderr, "--rules is required") {
		t.Errorf("no --rules: exit %d, %s", r.code, r.stderr)
	}
}

// TestRulesCheck reports each rule that does not load with its file, line
// and reason, fails when any does, and takes placeholder values.
func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good.yml", "title: Good\nlevel: high\nstatus: test\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n")
	write("cond.yml", "title: Bad condition\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  condition: sel and nothere\n")
	write("expand.yml", "title: Expand\nlevel: low\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Computer|expand: '%dc_hosts%'\n  condition: sel\n")
	r := run(t, "", nil, "rules", "check", dir)
	if r.code != 1 || !strings.Contains(r.stdout, filepath.Join(dir, "cond.yml")+":7:") || !strings.Contains(r.stdout, "nothere") ||
		!strings.Contains(r.stdout, "dc_hosts") || !strings.Contains(r.stdout, "1 rule load, 2 rules do not") || !strings.Contains(r.stderr, "2 rules did not load") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	ph := filepath.Join(t.TempDir(), "placeholders.yaml")
	if err := os.WriteFile(ph, []byte("dc_hosts: [DC01, DC02]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", nil, "rules", "check", dir, "--placeholders", ph, "--format", "json")
	var res struct {
		Loaded int
		Failed []struct {
			File string
			Line int
			Msg  string
		}
		ByLevel map[string]int `json:"by_level"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if r.code != 1 || res.Loaded != 2 || len(res.Failed) != 1 || res.Failed[0].Line != 7 || res.ByLevel["low"] != 1 || res.ByLevel["high"] != 1 {
		t.Errorf("exit %d, %+v", r.code, res)
	}
	must(t, run(t, "", nil, "rules", "check", filepath.Join(dir, "good.yml")))
}

// TestHuntCorrelation runs a correlation rule in a hunt: three whoami
// runs on one host within five minutes is one correlation match. The
// rule it counts reports nothing of its own (Sigma's generate: false is
// the default for a correlation's rules) unless the correlation says
// generate: true.
func TestHuntCorrelation(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	text := `title: Whoami
name: whoami_run
id: 11111111-1111-4111-8111-111111111111
level: low
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    CommandLine|contains: whoami
  condition: sel
---
title: Many whoami runs on one host
id: 22222222-2222-4222-8222-222222222222
level: high
author: Vigil tests
correlation:
  type: event_count
  rules:
    - whoami_run
  group-by:
    - Computer
  timespan: 5m
  condition:
    gte: 3
`
	var lines []string
	for i, host := range []string{"PC1", "PC2", "PC1", "PC1", "PC2"} {
		lines = append(lines, `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"`+host+`","CommandLine":"whoami /all","@timestamp":"2026-12-06T10:0`+string(rune('0'+i))+`:00Z"}`)
	}
	evs := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(evs, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, generate := range []bool{false, true} {
		body := text
		if generate {
			body += "  generate: true\n" // in the correlation section
		}
		if err := os.WriteFile(rules, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		base, corr := huntCount(t, rules, evs)
		if want := map[bool]int{false: 0, true: 5}[generate]; corr != 1 || base != want {
			t.Errorf("generate %v: %d correlation and %d rule matches, want 1 and %d", generate, corr, base, want)
		}
	}
}

func huntCount(t *testing.T, rules, evs string) (base, corr int) {
	t.Helper()
	r := must(t, run(t, "", nil, "hunt", "--rules", rules, evs))
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m struct {
			RuleID      string `json:"rule_id"`
			Line        int
			Correlation *struct {
				Type  string
				Group map[string]string
				Value float64
			}
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Correlation != nil:
			corr++
			if m.RuleID != "22222222-2222-4222-8222-222222222222" || m.Correlation.Group["Computer"] != "PC1" || m.Correlation.Value != 3 || m.Line != 4 {
				t.Errorf("correlation match %s", l)
			}
		case m.RuleID == "11111111-1111-4111-8111-111111111111":
			base++
		}
	}
	return base, corr
}

// TestHuntStored retro-hunts the events stored in a data directory,
// within the caller's organisation and time range.
func TestHuntStored(t *testing.T) {
	sigmaDir := filepath.Join("..", "..", "..", "shared", "data", "sigma")
	rule := filepath.Join(sigmaDir, "rules-emerging-threats/2025/Exploits/CVE-2025-55182/proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child_process.yml")
	evs := filepath.Join(sigmaDir, "regression_data/rules-emerging-threats/2025/Exploits/CVE-2025-55182/proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child_process/271de298-cc0e-4842-acd8-079a0a99ea65.json")
	if _, err := os.Stat(evs); err != nil {
		testneed.Missing(t, "SigmaHQ's rules and regression data in ../shared/data/sigma", err)
		return
	}
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "demo"))
	must(t, run(t, "", nil, "--data-dir", dir, "events", "import", evs, "--org", "RJ1"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "hunt", "--rules", rule, "--from", "2020-01-01", "--org", "RJ1"))
	if strings.Count(r.stdout, `"rule_id":"271de298-cc0e-4842-acd8-079a0a99ea65"`) != 1 || !strings.Contains(r.stdout, `"org":"RJ1"`) ||
		!strings.Contains(r.stderr, "1 stored events read, 1 match") {
		t.Errorf("retro-hunt RJ1:\n%s\n%s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "hunt", "--rules", rule, "--from", "2020-01-01", "--org", "RJZ", "--format", "table"))
	if strings.Contains(r.stdout, "React2Shell") || !strings.Contains(r.stderr, "0 matches") {
		t.Errorf("retro-hunt RJZ found RJ1's event:\n%s\n%s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "hunt", "--rules", rule, "--since", "1h"))
	if strings.TrimSpace(r.stdout) != "" {
		t.Errorf("the event of 2025 found in the last hour: %s", r.stdout)
	}
	for _, args := range [][]string{
		{"hunt", "--rules", rule},
		{"hunt", "--rules", rule, evs, "--since", "1d"},
		{"hunt", "--rules", rule, evs, "--org", "RJ1"},
	} {
		if r := run(t, "", nil, append([]string{"--data-dir", dir}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, %s", args, r.code, r.stderr)
		}
	}
}
