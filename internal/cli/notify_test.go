package cli

import (
	"context"
	"encoding/json"
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
