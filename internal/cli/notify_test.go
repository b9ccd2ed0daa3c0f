package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/scope"
)

func TestNotificationsCommands(t *testing.T) {
	dir, _ := casesDataDir(t)
	cfg := config.Default()
	cfg.DataDir = dir
	a, err := app.Open(context.Background(), cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Auth.AddUser(context.Background(), scope.System("test"), auth.NewUser{Email: "ana@rj1.nhs.test", Name: "Ana", Org: "RJ1", Role: scope.OrgAnalyst}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	r := must(t, vigil("notifications", "get", "--user", "ana@rj1.nhs.test"))
	if !strings.Contains(r.stdout, "case.assigned, comment.mention, clock.breached, case.escalated") || !strings.Contains(r.stdout, "no SMTP server") {
		t.Errorf("defaults:\n%s", r.stdout)
	}
	r = must(t, vigil("notifications", "set", "--user", "ana@rj1.nhs.test", "--email", "none", "--webhook", "case.escalated",
		"--webhook-url", "https://hooks.rj1.example/vigil", "--format", "json"))
	var st notify.Settings
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Email) != 0 || st.WebhookURL != "https://hooks.rj1.example/vigil" || !strings.HasPrefix(st.WebhookSecret, "vwhsec_") {
		t.Errorf("set: %+v, %v\n%s", st, err, r.stdout)
	}
	r = vigil("notifications", "set", "--user", "ana@rj1.nhs.test", "--email", "case.explode")
	if r.code == 0 || !strings.Contains(r.stderr, "email[0]") {
		t.Errorf("bad kind: exit %d, %s", r.code, r.stderr)
	}
	if r := vigil("notifications", "get"); r.code == 0 || !strings.Contains(r.stderr, "--user") {
		t.Errorf("no --user: exit %d, %s", r.code, r.stderr)
	}
}

func TestCasesReportCommand(t *testing.T) {
	dir, ids := casesDataDir(t)
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	r := must(t, vigil("cases", "create", "--org", "RJ1", "--title", "Emotet outbreak", "--template", "ransomware", "--alert", ids[0], "--format", "ids"))
	id := strings.TrimSpace(r.stdout)
	r = must(t, vigil("cases", "report", id, "--format", "md"))
	if !strings.Contains(r.stdout, "# Case report: Emotet outbreak") || !strings.Contains(r.stdout, "Isolate affected hosts") {
		t.Errorf("markdown report:\n%s", r.stdout)
	}
	out := t.TempDir() + "/r.pdf"
	r = must(t, vigil("cases", "report", id, "--format", "pdf", "-o", out))
	if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("pdf: %v %q", err, b[:min(len(b), 8)])
	}
	r = must(t, vigil("cases", "report", id, "--regulatory", "--format", "md"))
	if !strings.Contains(r.stdout, "NIS incident report") {
		t.Errorf("pack:\n%s", r.stdout)
	}
	if r := vigil("cases", "report", id, "--format", "docx"); r.code == 0 || !strings.Contains(r.stderr, "format") {
		t.Errorf("docx: %d %s", r.code, r.stderr)
	}
	if r := vigil("cases", "report", "CS-00000000000000000000000000"); r.code == 0 {
		t.Errorf("unknown case: exit 0")
	}
}

func TestCasesKPIsCommand(t *testing.T) {
	dir, ids := casesDataDir(t)
	vigil := func(args ...string) result { return run(t, "", nil, append([]string{"--data-dir", dir}, args...)...) }
	must(t, vigil("cases", "create", "--org", "RJ1", "--title", "KPI case", "--severity", "high", "--alert", ids[0]))
	must(t, vigil("alerts", "triage", ids[1], "--action", "disposition", "--disposition", "false-positive", "--reason", "test"))
	r := must(t, vigil("cases", "kpis"))
	for _, want := range []string{"total", "severity      high", "organisation  RJ1", "edr", "100%"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("kpis table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = must(t, vigil("cases", "kpis", "--format", "csv"))
	if !strings.HasPrefix(r.stdout, "dimension,key,metric,value\n") || !strings.Contains(r.stdout, "source,edr,false_positive_rate,1\n") {
		t.Errorf("csv:\n%s", r.stdout)
	}
	if r := vigil("cases", "kpis", "--since", "yesterday"); r.code == 0 || !strings.Contains(r.stderr, "--since") {
		t.Errorf("bad --since: %d %s", r.code, r.stderr)
	}
}
