package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/notify/smtptest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// TestAssuranceRemindersByEmail: through a real server and a real SMTP
// server, a campaign due today reminds the supplier's representative by
// e-mail once (the server's leader duty and a direct check race for the
// claim; one wins), and once the deadline has passed — checked by a
// second assurance service over the same database and notifier with a
// clock two days on, the code the leader runs every ClockInterval — the
// overdue notice reaches the representative and the national assessor,
// once.
func TestAssuranceRemindersByEmail(t *testing.T) {
	mail := smtptest.Run(t, "", "")
	s := startWith(t, func(c *config.Config) {
		c.SMTPAddr, c.SMTPFrom, c.SMTPStartTLS = mail.Addr, "Vigil <vigil@soc.nhs.test>", "off"
	})
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Orgs.Create(ctx, sys, org.Org{Code: "SUP-REM", Name: "Reminded Ltd (tenant)", Type: org.Supplier}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "REM-SUP", Name: "Reminded Ltd", TenantOrg: "SUP-REM"}); err != nil {
		t.Fatal(err)
	}
	account(t, s, "rep@reminded.test", scope.SupplierRep, "SUP-REM", nationalPW)
	account(t, s, "nadia@nhs.test", scope.NationalAnalyst, org.RootCode, nationalPW)
	set, err := assurance.Parse("rem-caf-v1.0.yaml", []byte("objectives:\n  A:\n    title: Risk\n    principles:\n      A1:\n        title: Governance\n        outcomes:\n          A1.a:\n            title: Board\n            indicators:\n              achieved:\n                A1.a.1: {description: Owned by the board.}\n"), assurance.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.Import(ctx, sys, set); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: "Due today", SetID: set.ID, Deadline: today, Suppliers: []string{"REM-SUP"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.CheckReminders(ctx); err != nil {
		t.Fatal(err)
	}
	got := mail.Wait(1, 15*time.Second)
	if len(got) != 1 || len(mail.To("rep@reminded.test")) != 1 || !strings.Contains(got[0].Subject(), "Reminder: Reminded Ltd's statement") ||
		!strings.Contains(got[0].Text(), "/assurance/statements/"+c.Statements[0].ID) {
		t.Fatalf("reminder mails: %+v", got)
	}
	if n, err := s.Assurance.CheckReminders(ctx); err != nil || n != 0 {
		t.Errorf("a second check sent %d (%v)", n, err)
	}
	later, err := assurance.New(assurance.Options{DB: s.DB, Audit: s.Audit, Orgs: s.Orgs, Suppliers: s.Supply, Register: s.Supply,
		Notifier: assuranceNotifier{s.Auth, s.Notify}, BaseURL: "https://vigil.test", Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := later.CheckReminders(ctx); err != nil || n != 1 {
		t.Fatalf("overdue check sent %d (%v)", n, err)
	}
	mail.Wait(3, 15*time.Second)
	over := mail.To("nadia@nhs.test")
	if len(over) != 1 || !strings.Contains(over[0].Subject(), "Overdue") || len(mail.To("rep@reminded.test")) != 2 {
		t.Errorf("overdue mails: %d to the assessor, %d to the representative", len(over), len(mail.To("rep@reminded.test")))
	}
	if n, _ := later.CheckReminders(ctx); n != 0 {
		t.Errorf("the overdue notice went twice")
	}
	p, err := s.Assurance.CampaignProgress(ctx, sys, c.ID)
	if err != nil || p.Reminders[assurance.Remind1] != 1 || p.Reminders[assurance.Overdue] != 1 {
		t.Errorf("progress: %+v %v", p.Reminders, err)
	}
}

// TestAssuranceSheetAndLinkAPI: over the API, a supplier's representative
// downloads the statement as CSV and uploads it filled in — a bad file is
// a validation problem listing each bad cell, and stores nothing; the
// assessor makes a single-use link, whose token only that answer shows,
// and which an anonymous browser may open once.
func TestAssuranceSheetAndLinkAPI(t *testing.T) {
	s := startWith(t, nil)
	ctx := context.Background()
	sys := scope.System("test")
	if _, err := s.Orgs.Create(ctx, sys, org.Org{Code: "SUP-SHT", Name: "Sheet Ltd (tenant)", Type: org.Supplier}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Supply.PutSupplier(ctx, sys, supply.Supplier{ID: "SHT-SUP", Name: "Sheet Ltd", TenantOrg: "SUP-SHT"}); err != nil {
		t.Fatal(err)
	}
	repTok := account(t, s, "rep@sheet.test", scope.SupplierRep, "SUP-SHT", nationalPW)
	natTok := account(t, s, "nadia@nhs.test", scope.NationalAnalyst, org.RootCode, nationalPW)
	set, err := assurance.Parse("sheet-caf-v1.0.yaml", []byte("objectives:\n  A:\n    title: Risk\n    principles:\n      A1:\n        title: Governance\n        outcomes:\n          A1.a:\n            title: Board\n            indicators:\n              achieved:\n                A1.a.1: {description: Owned by the board.}\n"), assurance.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assurance.Import(ctx, sys, set); err != nil {
		t.Fatal(err)
	}
	c, err := s.Assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: "Sheets", SetID: set.ID, Deadline: "2099-01-01", Suppliers: []string{"SHT-SUP"}})
	if err != nil {
		t.Fatal(err)
	}
	st := s.url("/api/v1/assurance/statements/" + c.Statements[0].ID)
	res, body := do(t, "GET", st+"/spreadsheet?format=csv", repTok, "")
	if res.StatusCode != 200 || !strings.HasPrefix(body, "seq,ref,requirement") || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export = %d %q", res.StatusCode, body)
	}
	upload := func(csv string) (*http.Response, string) {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "filled.csv")
		io.WriteString(fw, csv)
		mw.Close()
		req, _ := http.NewRequest("POST", st+"/spreadsheet", &b)
		req.Header.Set("Authorization", "Bearer "+repTok)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res, string(out)
	}
	res, body = upload("seq,answer,justification\n1,maybe,x\n7,met,y\n")
	var p struct {
		Type   string
		Errors []struct{ Field, Reason string }
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || res.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "filled.csv row 2 column B (answer)" {
		t.Fatalf("bad upload = %d %s", res.StatusCode, body)
	}
	if res, body = upload("seq,answer,justification\n1,met,Board minutes\n"); res.StatusCode != 200 || !strings.Contains(body, `"saved":1`) {
		t.Fatalf("good upload = %d %s", res.StatusCode, body)
	}
	// The link: its token once, then only its description; opened once.
	res, body = do(t, "POST", st+"/links", natTok, `{"recipient":"rep@sheet.test","days":2}`)
	var l assurance.Link
	if err := json.Unmarshal([]byte(body), &l); err != nil || res.StatusCode != 201 || l.Token == "" {
		t.Fatalf("link = %d %s", res.StatusCode, body)
	}
	if res, body = do(t, "GET", st+"/links", natTok, ""); res.StatusCode != 200 || strings.Contains(body, l.Token) || !strings.Contains(body, l.ID) {
		t.Errorf("links = %d %s", res.StatusCode, body)
	}
	if res, _ = do(t, "POST", st+"/links", repTok, `{"recipient":"me"}`); res.StatusCode != 403 {
		t.Errorf("the supplier made a link: %d", res.StatusCode)
	}
	if res, body = do(t, "GET", s.url(l.Path), "", ""); res.StatusCode != 200 || !strings.Contains(body, "Sheet Ltd") {
		t.Errorf("confirm page = %d", res.StatusCode)
	}
}
