package web

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// campaignCAF is a three-outcome WebCAF file: two objectives, three
// principles, so the score breakdown has groups to add up.
const campaignCAF = `objectives:
  A:
    title: Managing security risk
    principles:
      A1:
        title: Governance
        outcomes:
          A1.a:
            title: Board direction
            indicators:
              achieved:
                A1.a.1:
                  description: The board owns security.
      A2:
        title: Risk management
        outcomes:
          A2.a:
            title: Risk management process
            indicators:
              achieved:
                A2.a.1:
                  description: Risks are assessed.
  B:
    title: Protecting against cyber attack
    principles:
      B2:
        title: Identity and access control
        outcomes:
          B2.a:
            title: Identity verification
            indicators:
              achieved:
                B2.a.1:
                  description: MFA everywhere.
`

// campaignEnv is the supplier register's test estate (ten suppliers;
// rep@synnovis.test represents SYNLAB and its subsidiary SYNNOVIS, whose
// LIMS Guy's and St Thomas' deploys) with the three-outcome set.
func campaignEnv(t *testing.T) *env {
	t.Helper()
	e := newSupplyEnv(t)
	set, err := assurance.Parse("web-caf-v1.0.yaml", []byte(campaignCAF), assurance.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.assurance.Import(context.Background(), scope.System("test"), set); err != nil {
		t.Fatal(err)
	}
	return e
}

var statementIDRE = regexp.MustCompile(`/assurance/statements/(ST-[0-9A-Z]+)`)

// TestCampaignPages walks the workflow through the forms without a
// browser: every page renders without inline script, each side sees only
// its forms, and the trust sees the accepted statement.
func TestCampaignPages(t *testing.T) {
	e := campaignEnv(t)
	nat := e.signIn("nat@supply.test")
	p := nat.get("/assurance/campaigns")
	wantStatus(t, "campaigns", p, 200)
	mustContain(t, "campaigns", p.body, "Start a campaign", "webcaf-caf@1.0")
	checkNoInline(t, "campaigns", p.body)
	p = nat.post("/assurance/campaigns", map[string][]string{"name": {"Pathology 2027"}, "set_id": {"webcaf-caf@1.0"}, "tier": {"all"}, "deadline": {"2020-01-01"}})
	wantStatus(t, "past deadline", p, 400)
	mustContain(t, "past deadline", p.body, "Deadline: 2020-01-01 has passed")
	p = nat.post("/assurance/campaigns", map[string][]string{"name": {"Pathology 2027"}, "set_id": {"webcaf-caf@1.0"}, "tier": {"all"}, "deadline": {"2099-03-31"}})
	wantStatus(t, "create", p, 303)
	campaign := strings.SplitN(p.location(), "?", 2)[0]
	p = nat.get(p.location())
	mustContain(t, "campaign", p.body, "Campaign started", "10: 10 draft", "Synnovis Analytics LLP", "0 of 3")
	checkNoInline(t, "campaign", p.body)

	rep := e.signIn("rep@synnovis.test")
	wantStatus(t, "rep at the campaign", rep.get(campaign), 404)
	wantStatus(t, "trust at the campaign", e.signIn("gstt@supply.test").get(campaign), 404)
	p = rep.get("/assurance/statements")
	mustContain(t, "rep's statements", p.body, "Synnovis Analytics LLP", "SYNLAB AG")
	mustNotContain(t, "rep's statements", p.body, "EMIS Health", "Oracle Health")
	var synnovis string
	for _, m := range statementIDRE.FindAllStringSubmatch(p.body, -1) {
		if i := strings.Index(p.body, m[0]); strings.Contains(p.body[i:min(len(p.body), i+200)], "Synnovis") {
			synnovis = m[1]
		}
	}
	if synnovis == "" {
		t.Fatalf("no Synnovis statement in %s", p.body)
	}
	page := "/assurance/statements/" + synnovis
	p = rep.get(page)
	mustContain(t, "draft", p.body, `id="answer-1"`, `enctype="multipart/form-data"`, "Sign and submit", "0 of 6 points")
	mustNotContain(t, "draft", p.body, `id="review-1"`, "Accept the statement")
	checkNoInline(t, "statement", p.body)
	for seq, a := range []string{"met", "partly", "not_applicable"} {
		p = rep.post(page+"/answers/"+string(rune('1'+seq)), map[string][]string{"answer": {a}, "justification": {"because"}})
		wantStatus(t, "answer", p, 303)
	}
	gstt := e.signIn("gstt@supply.test")
	wantStatus(t, "trust at a draft", gstt.get(page), 404)
	p = rep.post(page+"/submit", map[string][]string{"role": {"CISO"}})
	wantStatus(t, "submit", p, 303)
	p = nat.post(page+"/answers/2/review", map[string][]string{"decision": {"queried"}, "note": {"Which systems lack MFA?"}})
	wantStatus(t, "query", p, 303)
	p = rep.get(page)
	mustContain(t, "returned", p.body, "Which systems lack MFA?", `id="answer-2"`, `id="comment-2"`)
	mustNotContain(t, "returned", p.body, `id="answer-1"`)
	wantStatus(t, "amend", rep.post(page+"/answers/2", map[string][]string{"answer": {"met"}, "justification": {"all now"}}), 303)
	wantStatus(t, "resubmit", rep.post(page+"/submit", map[string][]string{"role": {"CISO"}}), 303)
	for _, n := range []string{"1", "2", "3"} {
		wantStatus(t, "accept "+n, nat.post(page+"/answers/"+n+"/review", map[string][]string{"decision": {"accepted"}}), 303)
	}
	wantStatus(t, "accept", nat.post(page+"/accept", nil), 303)
	p = gstt.get(page)
	wantStatus(t, "trust", p, 200)
	mustContain(t, "trust", p.body, "Accepted", "4 of 4 points (100%)")
	mustNotContain(t, "trust", p.body, "Which systems lack MFA?", `id="comment-2"`, `id="review-1"`)
	p = gstt.get("/assurance/statements")
	mustContain(t, "trust's statements", p.body, "Synnovis Analytics LLP")
	mustNotContain(t, "trust's statements", p.body, "SYNLAB AG")
	// The supplier's page shows it too, to the trust that deploys it and
	// not to a trust that does not.
	p = gstt.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "supplier page", p.body, "Statements of adherence", page, "Pathology 2027", "Accepted")
	p = gstt.get("/suppliers/s/SYNLAB")
	mustNotContain(t, "parent's page", p.body, "Statements of adherence")
}

// TestCampaignBrowser runs a campaign against the register's ten
// suppliers in headless Chromium: the national supply-chain manager
// starts it; Synnovis's representative answers with an evidence file and
// submits; the manager queries one answer; the representative amends it
// and submits again; the manager accepts each answer and the statement;
// Guy's and St Thomas', which deploys Synnovis's LIMS, sees the reviewed
// statement. Screenshots are kept with VIGIL_SCREENSHOTS=dir.
func TestCampaignBrowser(t *testing.T) {
	requireChromium(t)
	e := campaignEnv(t)
	dir := screenshotDir(t)
	evidence := filepath.Join(t.TempDir(), "mfa-policy.pdf")
	if err := os.WriteFile(evidence, []byte("%PDF-1.4\nMFA policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One browser; each person signs in afresh (cookies cleared), which
	// is faster than a browser each.
	b := openBrowser(t, e.srv.URL, dir, 1280, 900, 90*time.Second)
	b.file = func(label string) string { return "campaign-" + label }
	shots := os.Getenv("VIGIL_SCREENSHOTS") != "" // a full-page shot costs a second on a busy machine
	shot := func(label string) {
		if shots {
			b.shot(label)
		}
	}
	as := func(email string) *browser {
		t.Helper()
		if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatalf("sign out: %v", err)
		}
		b.signIn(email, chromedp.WaitVisible(chromedp.CSS("nav.sidenav")))
		return b
	}
	text := func(b *browser, sel string) string {
		t.Helper()
		return b.evalText(`(document.querySelector(` + quoteJS(sel) + `)||{}).textContent||""`)
	}
	// click submits a form and waits for wait on the page it leads to
	// (the old page is marked, so its own notice does not count).
	click := func(b *browser, what, sel string, wait string) {
		t.Helper()
		eval[bool](b, `document.body.dataset.old = "1", true`)
		b.do(what, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("body:not([data-old]) "+wait)))
	}

	// The manager starts the campaign against every supplier.
	nat := as("nat@supply.test")
	nat.do("campaign form", chromedp.Navigate(e.srv.URL+"/assurance/campaigns"), chromedp.WaitVisible(chromedp.ID("new-campaign")),
		chromedp.SendKeys(chromedp.ID("c-name"), "Pathology assurance 2027"),
		chromedp.SetValue(chromedp.ID("c-tier"), "all"),
		chromedp.SetValue(chromedp.ID("c-deadline"), "2099-03-31"))
	click(nat, "start", `#new-campaign button[type="submit"]`, "#campaign-statements")
	if got := text(nat, "#campaign-progress"); !strings.Contains(got, "10: 10 draft") {
		t.Fatalf("progress %q", got)
	}
	campaign := nat.evalText(`location.pathname`)
	shot("started")

	// The representative answers, with evidence, and submits.
	rep := as("rep@synnovis.test")
	rep.do("statements", chromedp.Navigate(e.srv.URL+"/assurance/statements"), chromedp.WaitVisible(chromedp.ID("statements")))
	page := rep.evalText(`[...document.querySelectorAll('#statements a')].find(a => a.textContent.includes('Synnovis')).getAttribute('href')`)
	rep.do("open Synnovis", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("score-breakdown")))
	rep.do("answer 1 with evidence", chromedp.Click(chromedp.ID("a-1-met")), chromedp.SendKeys(chromedp.ID("j-1"), "Board minutes, March"),
		chromedp.SetUploadFiles(chromedp.ID("f-1"), []string{evidence}))
	click(rep, "save 1", "#save-1", "p.notice")
	for seq, a := range []string{"", "partly", "not_applicable"} {
		if a == "" {
			continue
		}
		n := string(rune('1' + seq))
		rep.do("answer "+n, chromedp.Click(chromedp.ID("a-"+n+"-"+a)), chromedp.SendKeys(chromedp.ID("j-"+n), "See our access policy"))
		click(rep, "save "+n, "#save-"+n, "p.notice")
	}
	if got := text(rep, "#req-1 .evidence"); !strings.Contains(got, "mfa-policy.pdf") {
		t.Fatalf("evidence %q", got)
	}
	rep.do("sign", chromedp.SendKeys(chromedp.ID("submit-role"), "CISO"))
	click(rep, "submit", "#submit-statement", "p.notice")
	if got := text(rep, "#statement-status"); got != "Submitted" {
		t.Fatalf("status %q", got)
	}
	shot("submitted")

	// The manager queries answer 2.
	as("nat@supply.test")
	nat.do("review", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("review-2")),
		chromedp.SetValue(chromedp.ID("d-2"), "queried"), chromedp.SendKeys(chromedp.ID("n-2"), "Which systems still lack MFA?"))
	click(nat, "query", "#decide-2", "p.notice")
	if got := text(nat, "#statement-status"); got != "Returned" {
		t.Fatalf("status after the query %q", got)
	}

	// The representative replies, amends and submits again.
	as("rep@synnovis.test")
	rep.do("reply", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("comment-2")),
		chromedp.SendKeys(chromedp.ID("c-2"), "None since November: FIDO2 keys for all."))
	click(rep, "send reply", "#reply-2", "p.notice")
	rep.do("amend", chromedp.Click(chromedp.ID("a-2-met")))
	click(rep, "save amended", "#save-2", "p.notice")
	rep.do("sign again", chromedp.SendKeys(chromedp.ID("submit-role"), "CISO"))
	click(rep, "resubmit", "#submit-statement", "p.notice")

	// The manager accepts each answer, then the statement.
	as("nat@supply.test")
	nat.do("open again", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("review-1")))
	for _, n := range []string{"1", "2", "3"} {
		nat.do("decide "+n, chromedp.SetValue(chromedp.ID("d-"+n), "accepted"))
		click(nat, "accept "+n, "#decide-"+n, "p.notice")
	}
	click(nat, "accept the statement", "#accept-statement", "p.notice")
	if got := text(nat, "#statement-status"); got != "Accepted" {
		t.Fatalf("status %q", got)
	}
	if got := text(nat, "#score-total"); !strings.Contains(got, "4 of 4 points (100%)") {
		t.Errorf("score %q", got)
	}
	if got := text(nat, "#req-2 .conversation"); !strings.Contains(got, "Which systems still lack MFA?") || !strings.Contains(got, "FIDO2") {
		t.Errorf("conversation %q", got)
	}
	shot("accepted")
	nat.do("campaign again", chromedp.Navigate(e.srv.URL+campaign), chromedp.WaitVisible(chromedp.ID("campaign-progress")))
	if got := text(nat, "#campaign-progress"); !strings.Contains(got, "1 accepted") {
		t.Errorf("progress %q", got)
	}

	// The trust that deploys the LIMS sees the reviewed statement.
	gstt := as("gstt@supply.test")
	gstt.do("trust", chromedp.Navigate(e.srv.URL+"/assurance/statements"), chromedp.WaitVisible(chromedp.ID("statements")))
	if got := text(gstt, "#statements tbody"); !strings.Contains(got, "Synnovis") || strings.Contains(got, "SYNLAB AG") {
		t.Errorf("trust's list %q", got)
	}
	gstt.do("trust's view", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("score-breakdown")))
	if got := text(gstt, "#score-total"); !strings.Contains(got, "4 of 4 points") {
		t.Errorf("trust sees score %q", got)
	}
	shot("trust")
}

func quoteJS(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
