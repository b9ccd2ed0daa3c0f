package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// filePost sends one file in the form field "files" with the client's CSRF
// token (or the one given).
func (c *client) filePost(path, csrf, name, content string) page {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf == "" {
		csrf = c.csrf
	}
	mw.WriteField("csrf", csrf)
	fw, _ := mw.CreateFormFile("files", name)
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

var linkPathRE = regexp.MustCompile(`/assurance/link/[A-Za-z0-9_-]{40,}`)

// TestCampaignUpkeepPages: the tiers page; a campaign's progress page
// with its edit and close forms; a single-use link made by the manager,
// opened once by an anonymous browser into a portal that reaches that
// statement only (answer, spreadsheet with per-cell errors, submit) and
// nothing of Vigil; the link refused the second time.
func TestCampaignUpkeepPages(t *testing.T) {
	e := campaignEnv(t)
	nat := e.signIn("nat@supply.test")
	p := nat.get("/assurance/tiers")
	wantStatus(t, "tiers", p, 200)
	mustContain(t, "tiers", p.body, `id="tier-SYNNOVIS"`, "tier-1 by rule 1: designated critical in the register", `id="tier-rules"`)
	wantStatus(t, "tiers for a trust", e.signIn("gstt@supply.test").get("/assurance/tiers"), 403)
	p = nat.post("/assurance/campaigns", url.Values{"name": {"Upkeep 2099"}, "set_id": {"webcaf-caf@1.0"}, "tier": {"tier-1"}, "deadline": {"2099-03-31"}})
	wantStatus(t, "create", p, 303)
	campaign := strings.SplitN(p.location(), "?", 2)[0]
	p = nat.get(campaign)
	mustContain(t, "campaign", p.body, `id="progress-link"`, "tier-1")
	p = nat.get(campaign + "/progress")
	wantStatus(t, "progress", p, 200)
	mustContain(t, "progress", p.body, `id="progress-all"`, `id="progress-tier-1"`, `id="edit-campaign"`, `id="close-campaign"`, `id="overdue-none"`)
	wantStatus(t, "past deadline", nat.post(campaign+"/edit", url.Values{"deadline": {"2001-01-01"}}), 400)
	p = nat.post(campaign+"/edit", url.Values{"name": {"Upkeep 2099"}, "deadline": {"2099-04-30"}})
	wantStatus(t, "edit", p, 303)
	mustContain(t, "edited", nat.get(p.location()).body, "Campaign changed", "2099-04-30")
	wantStatus(t, "rep's progress", e.signIn("rep@synnovis.test").get(campaign+"/progress"), 404)

	// Synnovis's statement; the manager makes a link.
	p = nat.get(campaign)
	var synnovis string
	for _, m := range statementIDRE.FindAllStringSubmatch(p.body, -1) {
		if i := strings.Index(p.body, m[0]); strings.Contains(p.body[i:min(len(p.body), i+200)], "Synnovis") {
			synnovis = m[1]
		}
	}
	page := "/assurance/statements/" + synnovis
	p = nat.get(page)
	mustContain(t, "statement (manager)", p.body, `id="link-form"`, `id="sheet-xlsx"`, "Asked as tier-1")
	p = nat.post(page+"/links", url.Values{"recipient": {"sid@synnovis.test"}, "days": {"3"}})
	wantStatus(t, "make link", p, 201)
	link := linkPathRE.FindString(p.body)
	if link == "" {
		t.Fatalf("no link on %s", p.body)
	}
	mustContain(t, "link list", nat.get(page).body, `id="statement-links"`, "sid@synnovis.test")

	// An anonymous browser: the confirm page does not spend the link.
	anon := e.client()
	p = anon.get(link)
	wantStatus(t, "confirm", p, 200)
	mustContain(t, "confirm", p.body, "Synnovis Analytics LLP", `id="link-continue"`)
	wantStatus(t, "confirm again", anon.get(link), 200)
	wantStatus(t, "open without the token", anon.post(link, url.Values{"csrf": {"forged"}}), 403)
	p = anon.post(link, nil)
	wantStatus(t, "open", p, 303)
	if p.location() != "/assurance/portal" {
		t.Fatalf("opened to %q", p.location())
	}
	p = anon.get("/assurance/portal")
	wantStatus(t, "portal", p, 200)
	mustContain(t, "portal", p.body, "Synnovis Analytics LLP", `id="answer-1"`, "for this statement only", `id="sheet-form"`)
	mustNotContain(t, "portal", p.body, `nav class="sidenav"`, `id="link-form"`)
	// Nothing else: not Vigil's pages, not the API, not the statement's own address.
	for _, path := range []string{page, "/assurance/statements", campaign, "/suppliers/s/SYNNOVIS", "/"} {
		if st := anon.get(path).status; st != http.StatusSeeOther && st != http.StatusNotFound {
			t.Errorf("the portal session reached %s: %d", path, st)
		}
	}
	portalCSRF := anon.csrf
	wantStatus(t, "answer without the token", anon.post("/assurance/portal/answers/1", url.Values{"csrf": {"x"}, "answer": {"met"}}), 403)
	wantStatus(t, "answer", anon.post("/assurance/portal/answers/1", url.Values{"csrf": {portalCSRF}, "answer": {"met"}, "justification": {"Board minutes"}}), 303)
	// The spreadsheet: download, a bad upload with its cells listed, a good one.
	p = anon.get("/assurance/portal/spreadsheet?format=csv")
	wantStatus(t, "portal csv", p, 200)
	if !strings.HasPrefix(p.header.Get("Content-Disposition"), "attachment") || !strings.Contains(p.body, "Board minutes") {
		t.Fatalf("csv: %v\n%s", p.header, p.body)
	}
	lines := strings.Split(strings.TrimSpace(p.body), "\n")
	bad := lines[0] + "\n" + strings.TrimSuffix(lines[2], ",") + "sometimes,x\n"
	p = anon.filePost("/assurance/portal/spreadsheet", portalCSRF, "mine.csv", bad)
	wantStatus(t, "bad sheet", p, 400)
	mustContain(t, "bad sheet", p.body, `id="sheet-errors"`, "mine.csv row 2 column G (answer)")
	good := lines[0] + "\n" + lines[1] + "\n" + strings.TrimSuffix(lines[2], ",") + "partly,Most systems\n" + strings.TrimSuffix(lines[3], ",") + "met,MFA\n"
	p = anon.filePost("/assurance/portal/spreadsheet", portalCSRF, "mine.csv", good)
	wantStatus(t, "good sheet", p, 303)
	mustContain(t, "imported", anon.get("/assurance/portal?done=imported").body, "Spreadsheet imported", "3 of 3")
	wantStatus(t, "submit", anon.post("/assurance/portal/submit", url.Values{"csrf": {portalCSRF}, "role": {"Head of IT"}}), 303)
	mustContain(t, "submitted", anon.get("/assurance/portal").body, "Submitted")

	// Used: a second browser, or the same one, finds nothing.
	other := e.client()
	p = other.get(link)
	wantStatus(t, "reused link", p, 404)
	mustContain(t, "reused link", p.body, "not valid")
	wantStatus(t, "reopen", anon.post(link, url.Values{"csrf": {portalCSRF}}), 403)
	wantStatus(t, "portal without a session", other.get("/assurance/portal"), 401)

	// The supplier's representative downloads the XLSX; the manager sees the
	// submitted statement in the progress and closes the campaign.
	rep := e.signIn("rep@synnovis.test")
	p = rep.get(page + "/spreadsheet?format=xlsx")
	if p.status != 200 || !strings.Contains(p.header.Get("Content-Type"), "spreadsheetml") || !strings.HasPrefix(p.body, "PK") {
		t.Errorf("xlsx: %d %v", p.status, p.header)
	}
	mustContain(t, "progress after", nat.get(campaign+"/progress").body, "Upkeep 2099")
	p = nat.post(campaign+"/close", url.Values{"reason": {"test over"}})
	wantStatus(t, "close", p, 303)
	p = nat.get(p.location())
	mustContain(t, "closed", p.body, "Campaign closed", `id="progress-closed"`)
	mustNotContain(t, "closed", p.body, `id="close-campaign"`)
}

// TestPortalBrowser: in headless Chromium, someone at a supplier opens a
// single-use link from an e-mail, continues, answers every requirement,
// signs and submits — and the same browser, holding only the portal's
// cookie, is sent to sign in anywhere else in Vigil.
func TestPortalBrowser(t *testing.T) {
	requireChromium(t)
	e := campaignEnv(t)
	ctx := context.Background()
	sys := scope.System("test")
	c, err := e.assurance.CreateCampaign(ctx, sys, assurance.NewCampaign{Name: "Portal 2099", SetID: "webcaf-caf@1.0", Deadline: "2099-03-31", Suppliers: []string{"SYNNOVIS"}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.assurance.CreateLink(ctx, sys, c.Statements[0].ID, assurance.NewLink{Recipient: "Sid at Synnovis"})
	if err != nil {
		t.Fatal(err)
	}
	b := openBrowser(t, e.srv.URL, screenshotDir(t), 1280, 900, 60*time.Second)
	b.file = func(label string) string { return "portal-" + label }
	click := func(what, sel, wait string) {
		t.Helper()
		eval[bool](b, `document.body.dataset.old = "1", true`)
		b.do(what, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("body:not([data-old]) "+wait)))
	}
	b.do("open the link", chromedp.Navigate(e.srv.URL+l.Path), chromedp.WaitVisible(chromedp.ID("link-continue")))
	click("continue", "#link-continue", "#answer-1")
	for seq, a := range []string{"met", "partly", "not_applicable"} {
		n := string(rune('1' + seq))
		b.do("answer "+n, chromedp.Click(chromedp.ID("a-"+n+"-"+a)), chromedp.SendKeys(chromedp.ID("j-"+n), "Answered through the link"))
		click("save "+n, "#save-"+n, "p.notice")
	}
	if got := b.evalText(`document.querySelector('#answered').textContent`); got != "3 of 3" {
		t.Fatalf("answered %q", got)
	}
	b.do("sign", chromedp.SendKeys(chromedp.ID("submit-role"), "Head of IT"))
	click("submit", "#submit-statement", "p.notice")
	if got := b.evalText(`document.querySelector('#statement-status').textContent`); got != "Submitted" {
		t.Fatalf("status %q", got)
	}
	b.do("elsewhere", chromedp.Navigate(e.srv.URL+"/assurance/statements/"+c.Statements[0].ID), chromedp.WaitVisible(chromedp.CSS("form[action='/signin']")))
	b.do("the link again", chromedp.Navigate(e.srv.URL+l.Path), chromedp.WaitVisible(chromedp.ID("portal-invalid")))
	st, err := e.assurance.GetStatement(ctx, sys, c.Statements[0].ID)
	if err != nil || st.Status != assurance.StatusSubmitted || st.SignedName != "Sid at Synnovis" || st.SignedRole != "Head of IT" {
		t.Errorf("statement %+v %v", st.StatementSummary, err)
	}
}
