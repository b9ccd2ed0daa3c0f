package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/notify/smtptest"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestIssue15AlertToEscalationToPDF is issue 15's "Done when" from the
// alert to the PDF, through a real `vigil serve` on both engines: an
// external alert posted through the API is triaged, promoted to a case
// from a template, given a task, merged with a second alert, breaches a
// clock and escalates by e-mail — captured by a real SMTP server in the
// test — and exports to a PDF whose text holds the case's title.
//
// The clock: the server's clock is the real one (App has no clock to
// inject), so the critical acknowledge target is set to one second with
// --case-sla, and the test runs the check `vigil serve` runs every 30 s
// (CheckClocks) once the second has passed.
func TestIssue15AlertToEscalationToPDF(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testIssue15Done(t, false) })
	t.Run("postgres+nats", func(t *testing.T) { testIssue15Done(t, true) })
}

func testIssue15Done(t *testing.T, external bool) {
	mail := smtptest.Run(t, "", "")
	s := startWith(t, func(c *config.Config) {
		if external {
			externalConfig(storetest.PostgresSchemaURL(t))(c)
		}
		c.SMTPAddr, c.SMTPFrom, c.SMTPStartTLS = mail.Addr, "Vigil <vigil@soc.nhs.test>", "off"
		c.CaseSLA = "critical=1s/1h/24h"
	})
	f := newFixture(t, s)
	ctx := context.Background()
	sys := scope.System("test")
	for _, u := range []struct {
		email, org string
		role       scope.Role
	}{{"carol@rj1.nhs.test", "RJ1", scope.OrgAnalyst}, {"rex@y56.nhs.test", "Y56", scope.RegionLead}, {"nadia@nhs.test", "ENG", scope.NationalAnalyst}} {
		if _, err := s.Auth.AddUser(ctx, sys, auth.NewUser{Email: u.email, Name: u.email, Org: u.org, Role: u.role}); err != nil {
			t.Fatal(err)
		}
	}
	call := func(method, path, body string, want int) string {
		t.Helper()
		res, out := do(t, method, s.url(path), f.aliceTok, body)
		if res.StatusCode != want {
			t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, out)
		}
		return out
	}
	id := func(out string) string {
		var x struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &x); err != nil || x.ID == "" {
			t.Fatalf("no id in %s", out)
		}
		return x.ID
	}

	// 1. An EDR posts an alert; an analyst acknowledges it.
	a1 := id(call("POST", "/api/v1/alerts", `{"source":"edr","type":"ransomware","source_ref":"det-4411","title":"LockBit ransom note on PACS-01",
		"severity":"critical","org":"RJ1","tlp":"amber","observables":[{"type":"host","value":"PACS-01"},{"type":"ip","value":"203.0.113.66"}]}`, 201))
	call("POST", "/api/v1/alerts/triage", `{"ids":["`+a1+`"],"action":"acknowledge"}`, 200)
	// 2. Promoted to a case from the ransomware template, assigned to Carol.
	title := "Ransomware on the PACS servers"
	out := call("POST", "/api/v1/cases", `{"org":"RJ1","title":"`+title+`","template":"ransomware","severity":"critical","assignee":"carol@rj1.nhs.test","alert_ids":["`+a1+`"]}`, 201)
	caseID := id(out)
	if !strings.Contains(out, "Isolate affected hosts") {
		t.Errorf("the case has not the template's tasks: %s", out)
	}
	// 3. A task of its own.
	call("POST", "/api/v1/cases/"+caseID+"/tasks", `{"title":"Call the PACS vendor's incident line"}`, 201)
	// 4. A second alert from the same outbreak joins the case.
	a2 := id(call("POST", "/api/v1/alerts", `{"source":"edr","type":"ransomware","source_ref":"det-4412","title":"Encryption on PACS-02",
		"severity":"critical","org":"RJ1","tlp":"amber","observables":[{"type":"host","value":"PACS-02"}]}`, 201))
	out = call("POST", "/api/v1/cases/"+caseID+"/alerts", `{"ids":["`+a2+`"]}`, 200)
	if !strings.Contains(out, a1) || !strings.Contains(out, a2) {
		t.Errorf("the case does not hold both alerts: %s", out)
	}
	// 5. Nobody acknowledges within the (one-second) target: the clock
	// breaches and escalates to London (Y56) and the national team.
	time.Sleep(1100 * time.Millisecond)
	if n, err := s.Cases.CheckClocks(ctx); err != nil || n < 1 {
		t.Fatalf("CheckClocks = %d, %v; want the acknowledge clock breached", n, err)
	}
	mail.Wait(4, 15*time.Second) // assignment and breach to Carol, escalation to Rex and Nadia
	for _, who := range []string{"rex@y56.nhs.test", "nadia@nhs.test"} {
		m := mail.To(who)
		if len(m) != 1 || !strings.Contains(m[0].Subject(), "Case escalated: "+title) || !strings.Contains(m[0].Text(), caseID) ||
			!strings.Contains(m[0].Text(), "Escalated to Y56, ENG") || !strings.Contains(m[0].Text(), "acknowledge clock ran out") {
			t.Errorf("escalation e-mail to %s: %+v", who, m)
		}
	}
	carol := mail.To("carol@rj1.nhs.test")
	subjects := []string{}
	for _, m := range carol {
		subjects = append(subjects, m.Subject())
	}
	if len(carol) != 2 || !strings.Contains(strings.Join(subjects, "|"), "Case assigned to you") || !strings.Contains(strings.Join(subjects, "|"), "Acknowledge clock breached") {
		t.Errorf("Carol's e-mails: %q", subjects)
	}
	if m := mail.To("bob@rjz.nhs.test"); len(m) != 0 {
		t.Errorf("another trust's user was e-mailed: %+v", m)
	}

	// 6. The case exports to a PDF a person can read.
	res, pdf := get(t, http.DefaultClient, s.url("/api/v1/cases/"+caseID+"/report?format=pdf"), f.aliceTok)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("report = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testneed.Missing(t, "pdftotext (Debian's poppler-utils)", err)
	}
	cmd := exec.CommandContext(ctx, "pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader([]byte(pdf))
	text, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"Case report: " + title, "TLP:AMBER", "Critical", "GUY'S AND ST THOMAS'", "Call the PACS vendor's incident line",
		"Acknowledge clock breached", "LockBit ransom note on PACS-01", "Encryption on PACS-02", "203.0.113.66", "pacs-02"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	if dir := os.Getenv("VIGIL_REPORT_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "issue15-"+strings.ReplaceAll(t.Name(), "/", "-")+".pdf"), []byte(pdf), 0o644)
	}
}
