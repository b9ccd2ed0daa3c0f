package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestStatementVersionPages: submitted, queried, amended and submitted
// again, a statement lists two versions on its page; each opens read-only,
// the second with the amended answer as changed (before and after), the
// first with no changes section. The trust that deploys the supplier reads
// them only once the statement is accepted, without evidence.
func TestStatementVersionPages(t *testing.T) {
	e := campaignEnv(t)
	nat := e.signIn("nat@supply.test")
	p := nat.post("/assurance/campaigns", map[string][]string{"name": {"Versions 2099"}, "set_id": {"webcaf-caf@1.0"}, "tier": {"all"}, "deadline": {"2099-03-31"}})
	wantStatus(t, "create", p, 303)
	rep := e.signIn("rep@synnovis.test")
	p = rep.get("/assurance/statements")
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
	mustNotContain(t, "draft", p.body, `id="h-versions"`)
	for seq, a := range []string{"met", "partly", "not_applicable"} {
		form := map[string][]string{"answer": {a}, "justification": {"because"}}
		if seq == 0 {
			form["link"] = []string{"https://synnovis.example/board-minutes"}
		}
		wantStatus(t, "answer", rep.post(page+"/answers/"+string(rune('1'+seq)), form), 303)
	}
	wantStatus(t, "submit", rep.post(page+"/submit", map[string][]string{"role": {"CISO"}}), 303)
	wantStatus(t, "query", nat.post(page+"/answers/2/review", map[string][]string{"decision": {"queried"}, "note": {"Which systems?"}}), 303)
	wantStatus(t, "amend", rep.post(page+"/answers/2", map[string][]string{"answer": {"met"}, "justification": {"MFA on every system now"}}), 303)
	wantStatus(t, "resubmit", rep.post(page+"/submit", map[string][]string{"role": {"Chief Executive"}}), 303)

	p = rep.get(page)
	mustContain(t, "statement", p.body, `id="h-versions"`, page+"/versions/1", page+"/versions/2", "Sam Synnovis (Chief Executive)")
	checkNoInline(t, "statement", p.body)
	p = rep.get(page + "/versions/2")
	wantStatus(t, "version 2", p, 200)
	mustContain(t, "version 2", p.body, `id="version-number">2`, "Changed since version 1", `id="version-changes"`, "<del>Partly met</del>", "<ins>Met</ins>",
		"MFA on every system now", "Sam Synnovis (Chief Executive)", "https://synnovis.example/board-minutes")
	checkNoInline(t, "version 2", p.body)
	mustNotContain(t, "version 2", p.body, "answer-form", "review-form", "submit-form")
	p = nat.get(page + "/versions/1")
	wantStatus(t, "version 1", p, 200)
	mustContain(t, "version 1", p.body, "Partly met", "Sam Synnovis (CISO)")
	mustNotContain(t, "version 1", p.body, "Changed since", "MFA on every system now")
	wantStatus(t, "version 3", rep.get(page+"/versions/3"), 404)
	wantStatus(t, "version x", rep.get(page+"/versions/x"), 404)

	gstt := e.signIn("gstt@supply.test")
	wantStatus(t, "trust before acceptance", gstt.get(page+"/versions/1"), 404)
	for _, n := range []string{"1", "2", "3"} {
		wantStatus(t, "accept "+n, nat.post(page+"/answers/"+n+"/review", map[string][]string{"decision": {"accepted"}}), 303)
	}
	wantStatus(t, "accept", nat.post(page+"/accept", nil), 303)
	p = gstt.get(page + "/versions/2")
	wantStatus(t, "trust", p, 200)
	mustContain(t, "trust", p.body, "MFA on every system now")
	mustNotContain(t, "trust", p.body, "synnovis.example")
	mustContain(t, "trust's statement", gstt.get(page).body, page+"/versions/2")
}

// submittedStatement starts a campaign for Synnovis on the set
// TestEveryPageRenders imports, answers its one requirement as Synnovis's
// representative and submits it; it returns the statement's page.
func submittedStatement(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	c, err := e.assurance.CreateCampaign(ctx, scope.System("test"), assurance.NewCampaign{Name: "Every page versions", SetID: "webcaf-caf@1.0", Deadline: "2099-01-01", Suppliers: []string{"SYNNOVIS"}})
	if err != nil {
		t.Fatal(err)
	}
	path, err := e.orgs.PathOf(ctx, "S-SYN")
	if err != nil {
		t.Fatal(err)
	}
	rep := scope.Scope{UserID: "u-rep", Name: "Sam Synnovis", Via: "test", Grants: []scope.Grant{{Role: scope.SupplierRep, Org: "S-SYN", Path: path}}}
	id := c.Statements[0].ID
	if _, err := e.assurance.SaveAnswer(ctx, rep, id, 1, assurance.AnswerInput{Answer: assurance.Met, Justification: "Every page"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.assurance.Submit(ctx, rep, id, "CISO"); err != nil {
		t.Fatal(err)
	}
	return "/assurance/statements/" + id
}

// TestStatementCertificateEvidence: the answer form cites a certificate
// recorded for the supplier by its number; the statement lists it as
// evidence; an unknown number is refused with the reason on the page.
func TestStatementCertificateEvidence(t *testing.T) {
	e := campaignEnv(t)
	if _, err := e.assurance.PutCertificate(context.Background(), scope.System("test"), assurance.Certificate{
		SupplierID: "SYNNOVIS", Scheme: assurance.CyberEssentialsPlus, Number: "IASME-CEP-7001", Scope: "whole organisation", Issued: time.Now().UTC().Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	nat := e.signIn("nat@supply.test")
	wantStatus(t, "create", nat.post("/assurance/campaigns", map[string][]string{"name": {"Certificates 2099"}, "set_id": {"webcaf-caf@1.0"}, "tier": {"all"}, "deadline": {"2099-03-31"}}), 303)
	rep := e.signIn("rep@synnovis.test")
	p := rep.get("/assurance/statements")
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
	mustContain(t, "form", rep.get(page).body, `name="certificate"`)
	wantStatus(t, "cite", rep.post(page+"/answers/1", map[string][]string{"answer": {"met"}, "justification": {"certified"}, "certificate": {"IASME-CEP-7001"}}), 303)
	mustContain(t, "statement", rep.get(page).body, "Cyber Essentials Plus certificate IASME-CEP-7001, valid until")
	p = rep.post(page+"/answers/1", map[string][]string{"answer": {"met"}, "justification": {"certified"}, "certificate": {"IASME-NOPE"}})
	if p.status != 303 || !strings.Contains(p.location(), "error=") {
		t.Fatalf("an unknown certificate: %d %s", p.status, p.location())
	}
	mustContain(t, "refusal", rep.get(p.location()).body, "no certificate IASME-NOPE is recorded for this supplier")
}
