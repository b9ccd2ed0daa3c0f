package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// casesDataDir holds a trust and three alerts.
func casesDataDir(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sys := scope.System("test")
	for _, o := range []org.Org{{Code: "Y56", Name: "London", Type: org.Region}, {Code: "QKK", Name: "SEL ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's", Type: org.Trust, Parent: "QKK"}} {
		if _, err := a.Orgs.Create(ctx, sys, o); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i, title := range []string{"Emotet on WS-1", "Phish reported", "Emotet on WS-2"} {
		r, err := a.Cases.CreateAlert(ctx, sys, cases.NewAlert{Source: "edr", Type: "malware", SourceRef: string(rune('a' + i)), Title: title,
			Severity: cases.High, Org: "RJ1", TLP: cases.TLPAmber, Observables: []cases.Observable{{Type: cases.ObsHost, Value: "WS-1"}},
			Description: "Seen by the EDR.\nSecond line.", Fields: map[string]string{"rule_author": "Vigil tests", "engine": "edr-1"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Alert.ID)
	}
	return dir, ids
}

func TestAlertsAndCasesCommands(t *testing.T) {
	dir, ids := casesDataDir(t)
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	r := must(t, vigil("alerts", "list"))
	if !strings.Contains(r.stdout, "Emotet on WS-2") || !strings.Contains(r.stdout, "Phish reported") {
		t.Errorf("alerts list:\n%s", r.stdout)
	}
	r = must(t, vigil("alerts", "list", "--format", "json", "--q", "emotet"))
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Fatalf("json list printed %d lines, want 2:\n%s", n, r.stdout)
	}
	var first cases.Alert
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &first); err != nil || first.ID != ids[2] {
		t.Fatalf("newest first: %v %+v", err, first)
	}
	r = vigil("alerts", "triage", ids[0], ids[1], "--action", "close")
	if r.code != 1 || !strings.Contains(r.stderr, "disposition") {
		t.Errorf("close without disposition: %d %s", r.code, r.stderr)
	}
	r = must(t, vigil("alerts", "triage", ids[0], ids[1], "--action", "close", "--disposition", "false-positive", "--reason", "lab"))
	if strings.Count(r.stdout, "closed") != 2 {
		t.Errorf("triage:\n%s", r.stdout)
	}
	r = must(t, vigil("alerts", "get", ids[0]))
	if !strings.Contains(r.stdout, "false-positive by cli:") || !strings.Contains(r.stdout, "host ws-1") ||
		!strings.Contains(r.stdout, "field rule_author") || !strings.Contains(r.stdout, "Vigil tests") ||
		!strings.Contains(r.stdout, "\nSeen by the EDR.\nSecond line.") {
		t.Errorf("alerts get:\n%s", r.stdout)
	}
	r = vigil("alerts", "get", "AL-nope")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown alert: %d %s", r.code, r.stderr)
	}
	// Cases: open from a template with an alert, list, close, merge.
	r = must(t, vigil("cases", "create", "--alert", ids[2], "--template", "ransomware", "--format", "json"))
	var c cases.Case
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Org != "RJ1" || len(c.Alerts) != 1 || len(c.Tasks) != 5 {
		t.Fatalf("create: %v %s", err, r.stdout)
	}
	r = must(t, vigil("cases", "create", "--org", "RJ1", "--title", "Second look", "--format", "json"))
	var c2 cases.Case
	json.Unmarshal([]byte(r.stdout), &c2)
	r = must(t, vigil("cases", "list"))
	if !strings.Contains(r.stdout, "Second look") || !strings.Contains(r.stdout, "ransomware") {
		t.Errorf("cases list:\n%s", r.stdout)
	}
	r = vigil("cases", "close", c.ID, "--resolution", "true-positive", "--impact", "severe")
	if r.code != 1 || !strings.Contains(r.stderr, "fields.") {
		t.Errorf("close without mandatory fields: %d %s", r.code, r.stderr)
	}
	r = must(t, vigil("cases", "merge", c.ID, c2.ID))
	if !strings.Contains(r.stdout, "merged-from") {
		t.Errorf("merge:\n%s", r.stdout)
	}
	r = must(t, vigil("cases", "get", c2.ID, "--format", "json"))
	if !strings.Contains(r.stdout, `"merged_into":"`+c.ID+`"`) || !strings.Contains(r.stdout, `"status":"closed"`) {
		t.Errorf("merged-away case: %s", r.stdout)
	}
	r = vigil("cases", "close", "CS-x", "--resolution", "other", "--impact", "none")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("closing an unknown case: %d %s", r.code, r.stderr)
	}
	r = vigil("cases", "list", "--format", "yaml")
	if r.code != 2 {
		t.Errorf("bad format: %d %s", r.code, r.stderr)
	}
}

// vigil cases clocks shows a case's clocks; vigil cases clock starts and
// meets a regulatory one; mistakes name the flag or field.
func TestCaseClocksCommands(t *testing.T) {
	dir, _ := casesDataDir(t)
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	r := must(t, vigil("cases", "create", "--org", "RJ1", "--title", "Clocked", "--severity", "critical", "--format", "ids"))
	id := strings.TrimSpace(r.stdout)
	r = must(t, vigil("cases", "clocks", id))
	for _, want := range []string{"CLOCK", "ack", "respond", "resolve", "running", "severity critical"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("clocks lack %q:\n%s", want, r.stdout)
		}
	}
	r = vigil("cases", "clock", id, "--clock", "nis", "--action", "start", "--at", "2020-01-01T00:00:00Z")
	if r.code != 1 || !strings.Contains(r.stderr, "at: ") || !strings.Contains(r.stderr, "more than a year ago") {
		t.Errorf("an old awareness time: %d %s", r.code, r.stderr)
	}
	r = vigil("cases", "clock", id, "--clock", "ack")
	if r.code != 1 || !strings.Contains(r.stderr, "clock: ") {
		t.Errorf("an SLA clock by hand: %d %s", r.code, r.stderr)
	}
	must(t, vigil("cases", "clock", id, "--clock", "nis", "--action", "start"))
	r = must(t, vigil("cases", "clock", id, "--clock", "nis", "--action", "reported", "--note", "NCSC 4711", "--format", "json"))
	if !strings.Contains(r.stdout, `"clock":"nis","label":"NIS incident report","state":"met"`) {
		t.Errorf("reported:\n%s", r.stdout)
	}
	r = must(t, vigil("cases", "get", id))
	if !strings.Contains(r.stdout, "clock nis") || !strings.Contains(r.stdout, "met, due") {
		t.Errorf("cases get shows no clocks:\n%s", r.stdout)
	}
}
