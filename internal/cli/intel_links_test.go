package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntelLinkCLI: search, link to a technique and to a rule,
// detections and an indicator's edit, from the command line, against a
// collection the operator created.
func TestIntelLinkCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	r := must(t, run(t, "", nil, "--data-dir", data, "intel", "collection", "create", "--title", "Links", "--format", "json"))
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	const ts = `"created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","spec_version":"2.1"`
	bundle := `{"type":"bundle","id":"bundle--0a0a0a0a-0000-4000-8000-000000000001","objects":[
{"type":"attack-pattern","id":"attack-pattern--0a0a0a0a-0000-4000-8000-000000000002",` + ts + `,"name":"PowerShell","external_references":[{"source_name":"mitre-attack","external_id":"T1059.001"}]},
{"type":"indicator","id":"indicator--0a0a0a0a-0000-4000-8000-000000000003",` + ts + `,"name":"Encoded launcher","pattern":"[process:command_line = 'powershell -enc AAAA']","pattern_type":"stix","valid_from":"2026-12-01T00:00:00Z"}]}`
	writeFile := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "import", "--collection", c.ID, writeFile("b.json", bundle)))
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile("rules/ps.yml", `title: Encoded PowerShell
id: 0a0a0a0a-0000-4000-8000-0000000000aa
status: test
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection: {selection: {CommandLine|contains: ' -enc '}, condition: selection}
level: high
`)
	writeFile("rules/other.yml", `title: Something else
id: 0a0a0a0a-0000-4000-8000-0000000000bb
status: test
tags: [attack.t1003]
logsource: {product: windows, category: process_creation}
detection: {selection: {Image|endswith: '\dump.exe'}, condition: selection}
level: low
`)
	must(t, run(t, "", nil, "--data-dir", data, "rules", "import", rules))
	ind := "indicator--0a0a0a0a-0000-4000-8000-000000000003"

	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "search", "t1059.001"))
	if !strings.Contains(r.stdout, "attack-pattern--0a0a0a0a-0000-4000-8000-000000000002") || !strings.Contains(r.stdout, "T1059.001") {
		t.Errorf("search: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "link", ind); r.code != 2 || !strings.Contains(r.stderr, "--technique") {
		t.Errorf("link without a target: exit %d %s", r.code, r.stderr)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "link", ind, "--technique", "T4242"); r.code == 0 || !strings.Contains(r.stderr, "technique") {
		t.Errorf("link to an unknown technique: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "link", ind, "--technique", "T1059.001"))
	if !strings.Contains(r.stdout, "indicates attack-pattern--0a0a0a0a-0000-4000-8000-000000000002") {
		t.Errorf("link: %s", r.stdout)
	}
	must(t, run(t, "", nil, "--data-dir", data, "intel", "link", ind, "--rule", "0a0a0a0a-0000-4000-8000-0000000000bb", "--format", "json"))
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "detections", ind, "--format", "json"))
	var d struct {
		Techniques []struct {
			AttackID string `json:"attack_id"`
		} `json:"techniques"`
		Rules []struct{ ID, Via string } `json:"rules"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Techniques) != 1 || d.Techniques[0].AttackID != "T1059.001" || len(d.Rules) != 2 || d.Rules[0].Via != "linked by hand" || d.Rules[1].ID != "0a0a0a0a-0000-4000-8000-0000000000aa" {
		t.Errorf("detections: %s", r.stdout)
	}
	if r = run(t, "", nil, "--data-dir", data, "intel", "edit", ind, "--confidence", "101"); r.code != 2 || !strings.Contains(r.stderr, "--confidence") {
		t.Errorf("confidence 101: exit %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", data, "intel", "edit", ind, "--confidence", "30", "--valid-until", "2027-01-31", "--labels", "ps,loader", "--format", "json"))
	for _, want := range []string{`"confidence":30`, `"valid_until":"2027-01-31T00:00:00.000Z"`, `"labels":["ps","loader"]`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("edit lacks %s: %s", want, r.stdout)
		}
	}
}
