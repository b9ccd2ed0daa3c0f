package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/assurance"
)

// TestMethodologyPageMatchesCode reads the published methodology as a
// trust's user sees it and checks every row against the scoring code
// itself (assurance.ScoreOf on a one-requirement statement), the version
// against the one scores carry, and the change log entry by entry.
func TestMethodologyPageMatchesCode(t *testing.T) {
	e := campaignEnv(t)
	p := e.signIn("gstt@supply.test").get("/assurance/methodology")
	wantStatus(t, "methodology", p, 200)
	mustContain(t, "methodology", p.body, fmt.Sprintf(`<span id="method-version">%d</span>`, assurance.MethodVersion), html.EscapeString(assurance.ScoreMethod))
	rows := regexp.MustCompile(`(?s)<table class="table table-dense" id="method-cases">.*?</table>`).FindString(p.body)
	m := assurance.GetMethodology()
	if got := strings.Count(rows, "<tr><td>"); got != len(m.Cases) {
		t.Fatalf("the page lists %d cases, the method %d:\n%s", got, len(m.Cases), rows)
	}
	for _, c := range m.Cases {
		var cells []string
		for _, w := range []int{1, m.WeightExample} {
			sc := assurance.ScoreOf([]assurance.Requirement{{Seq: 1, Weight: w}}, map[int]assurance.AnswerState{1: {Answer: c.Answer, Review: c.Review}})
			cells = append(cells, fmt.Sprintf(`<td class="num">%d of %d</td>`, sc.Points, sc.Max))
			if w == 1 {
				cells = append([]string{html.EscapeString(sc.Objectives[0].Principles[0].Lines[0].Why)}, cells...)
			}
		}
		want := "<tr><td>" + html.EscapeString(c.Case) + "</td>" + cells[1] + cells[2] + "<td>" + cells[0] + "</td></tr>"
		if !strings.Contains(rows, want) {
			t.Errorf("the page does not say what the code does for %q: want %s in\n%s", c.Case, want, rows)
		}
	}
	for _, c := range assurance.MethodChanges() {
		mustContain(t, "change log", p.body, fmt.Sprintf("<tr><td>%d</td><td>%s</td><td>%s</td></tr>", c.Version, c.Date, html.EscapeString(c.Summary)))
	}
	for _, r := range assurance.PriorityRules().Rules {
		mustContain(t, "priority rules", p.body, html.EscapeString(r))
	}
}

var disputeIDRE = regexp.MustCompile(`id="dispute-(DP-[0-9A-Z]+)"`)

// TestDisputeSharingAndViewPages walks disputes, the sharing level and
// the views through the forms: Synnovis's representative disputes a
// rejection, the manager amends it; the representative limits sharing to
// the national team and Guy's and St Thomas' loses sight of the
// statement, then shares with deploying organisations again; the heat
// map (page and CSV), gaps and prioritisation show what each may see.
func TestDisputeSharingAndViewPages(t *testing.T) {
	e := campaignEnv(t)
	nat, rep, gstt := e.signIn("nat@supply.test"), e.signIn("rep@synnovis.test"), e.signIn("gstt@supply.test")
	nat.get("/assurance/campaigns")
	p := nat.post("/assurance/campaigns", map[string][]string{"name": {"Disputed 2027"}, "set_id": {"webcaf-caf@1.0"}, "suppliers": {"SYNNOVIS,SYNLAB"}, "deadline": {"2099-03-31"}})
	wantStatus(t, "create", p, 303)
	list := rep.get("/assurance/statements").body
	ids := map[string]string{}
	for _, m := range statementIDRE.FindAllStringSubmatch(list, -1) {
		i := strings.Index(list, m[0])
		for _, name := range []string{"Synnovis", "SYNLAB"} {
			if strings.Contains(list[i:min(len(list), i+200)], name) {
				ids[name] = m[1]
			}
		}
	}
	if ids["Synnovis"] == "" || ids["SYNLAB"] == "" {
		t.Fatalf("statements %v in\n%s", ids, list)
	}
	page, parent := "/assurance/statements/"+ids["Synnovis"], "/assurance/statements/"+ids["SYNLAB"]
	for _, pg := range []string{page, parent} {
		rep.get(pg)
		for _, n := range []string{"1", "2", "3"} {
			wantStatus(t, "answer", rep.post(pg+"/answers/"+n, map[string][]string{"answer": {"met"}, "justification": {"yes"}}), 303)
		}
		wantStatus(t, "submit", rep.post(pg+"/submit", map[string][]string{"role": {"CISO"}}), 303)
		nat.get(pg)
		for n, d := range map[string]string{"1": "accepted", "2": "accepted", "3": "rejected"} {
			wantStatus(t, "review", nat.post(pg+"/answers/"+n+"/review", map[string][]string{"decision": {d}, "note": {"No MFA evidence"}}), 303)
		}
		wantStatus(t, "accept", nat.post(pg+"/accept", nil), 303)
	}

	p = rep.get(page)
	mustContain(t, "accepted, to the supplier", p.body, `id="dispute-form"`, "method version", `id="score-dates"`, "accepted, ", `id="compare-link"`)
	p = rep.post(page+"/disputes", map[string][]string{"seq": {"3"}, "reason": {"Our MFA report is on page 4"}})
	wantStatus(t, "dispute", p, 303)
	p = rep.get(p.location())
	mustContain(t, "disputed", p.body, "Dispute raised", "Our MFA report is on page 4", "the review of B2.a")
	mustNotContain(t, "disputed, to the supplier", p.body, "answer-dispute-")
	id := disputeIDRE.FindStringSubmatch(p.body)
	if id == nil {
		t.Fatal("no dispute on the page")
	}
	p = gstt.get(page)
	wantStatus(t, "trust", p, 200)
	mustNotContain(t, "trust", p.body, "Our MFA report", `id="dispute-form"`, id[1])
	wantStatus(t, "trust answers", gstt.post("/assurance/disputes/"+id[1]+"/answer", map[string][]string{"decision": {"uphold"}, "note": {"x"}}), 404)
	p = nat.get(page)
	mustContain(t, "assessor", p.body, "answer-dispute-"+id[1])
	p = nat.post("/assurance/disputes/"+id[1]+"/answer", map[string][]string{"decision": {"amend"}, "seq": {"3"}, "review": {"accepted"}, "note": {"Page 4 shows it"}})
	wantStatus(t, "amend", p, 303)
	p = nat.get(page)
	mustContain(t, "amended", p.body, "Amended: the review of requirement 3 went from rejected to accepted", "6 of 6 points", "dispute "+id[1]+" amended")

	// Sharing: the representative's form on the supplier page.
	p = rep.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "rep's supplier page", p.body, `id="sharing-form"`, `id="posture"`, "every organisation that deploys it", "Our MFA report")
	p = gstt.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "trust's supplier page", p.body, `id="posture"`, "Assurance, graph position and exposure", "100%")
	mustNotContain(t, "trust's supplier page", p.body, `id="sharing-form"`, "Our MFA report")
	wantStatus(t, "trust sets sharing", gstt.post("/suppliers/s/SYNNOVIS/sharing", map[string][]string{"level": {"national"}}), 403)
	p = rep.post("/suppliers/s/SYNNOVIS/sharing", map[string][]string{"level": {"national"}})
	wantStatus(t, "national only", p, 303)
	mustContain(t, "saved", rep.get(p.location()).body, "Sharing level saved", "the national team only")
	wantStatus(t, "trust after national-only", gstt.get(page), 404)
	mustNotContain(t, "trust's heat map", gstt.get("/assurance/heatmap").body, page)
	wantStatus(t, "deployers", rep.post("/suppliers/s/SYNNOVIS/sharing", map[string][]string{"level": {"deployers"}}), 303)
	wantStatus(t, "trust again", gstt.get(page), 200)
	// The group parent's statement stands for its subsidiary once the
	// parent says so: Guy's and St Thomas' deploys only Synnovis.
	wantStatus(t, "trust at the parent's statement", gstt.get(parent), 404)
	wantStatus(t, "parent shares with subsidiaries", rep.post("/suppliers/s/SYNLAB/sharing", map[string][]string{"level": {"deployers"}, "subsidiaries": {"1"}}), 303)
	wantStatus(t, "trust at the parent's statement, shared", gstt.get(parent), 200)
	mustContain(t, "subsidiary's page", gstt.get("/suppliers/s/SYNNOVIS").body, `id="parent-statements"`, parent)

	// Views.
	p = gstt.get("/assurance/heatmap")
	mustContain(t, "heat map", p.body, "Synnovis Analytics LLP", "heat-met", page)
	p = nat.get("/assurance/heatmap?format=csv")
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(p.body, "supplier_id,supplier,statement,score_percent,A1.a,A2.a,B2.a\n") || !strings.Contains(p.body, "SYNNOVIS,Synnovis Analytics LLP,"+ids["Synnovis"]+",100.0,met,met,met") {
		t.Errorf("CSV %q:\n%s", p.header.Get("Content-Type"), p.body)
	}
	p = nat.get("/assurance/gaps?requirement=B2.a&tier=critical")
	wantStatus(t, "gaps", p, 200)
	mustContain(t, "gaps", p.body, `id="gaps"`, "B2.a")
	wantStatus(t, "bad gaps", nat.get("/assurance/gaps?tier=gold"), 400)
	p = nat.get("/assurance/priorities")
	mustContain(t, "priorities", p.body, "A combined view", "Synnovis Analytics LLP", "Systemic importance")
	mustNotContain(t, "priorities for the manager", p.body, `id="graph-hidden"`)
	wantStatus(t, "trust's priorities", gstt.get("/assurance/priorities"), 200)
}
