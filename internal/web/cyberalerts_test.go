package web

import (
	"context"
	"fmt"
	"html"
	"image"
	_ "image/png"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/vuln"
)

// cyberEnv is the web UI with a register where Leeds (RR8) deploys an EPR
// that depends on a vulnerable agent and Bradford (RAE) runs the agent
// itself, and one alert about the agent's CVE.
func cyberEnv(t *testing.T) (*env, vuln.CyberAlert) {
	t.Helper()
	e := newEnv(t, envOptions{supply: true, cyberAlerts: true})
	ctx := context.Background()
	sys := scope.System("test")
	steps := []func() error{
		func() error {
			_, err := e.supply.PutSupplier(ctx, sys, supply.Supplier{ID: "AGENTCO", Name: "Agent Co"})
			return err
		},
		func() error {
			_, err := e.supply.PutProduct(ctx, sys, supply.Product{ID: "AGENT", SupplierID: "AGENTCO", Name: "Endpoint Agent", Kind: supply.Component})
			return err
		},
		func() error {
			_, err := e.supply.PutProduct(ctx, sys, supply.Product{ID: "EPR", SupplierID: "AGENTCO", Name: "Ward EPR", Kind: supply.Software})
			return err
		},
		func() error {
			_, err := e.supply.PutDependency(ctx, sys, supply.Dependency{ProductID: "EPR", DependsOnID: "AGENT", Kind: supply.DepComponent, Critical: true})
			return err
		},
		func() error {
			_, err := e.supply.PutVuln(ctx, sys, supply.Vuln{ProductID: "AGENT", CVE: "CVE-2099-0001"})
			return err
		},
		func() error {
			_, err := e.supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RR8", ProductID: "EPR", Service: "epr", Criticality: supply.Critical})
			return err
		},
		func() error {
			_, err := e.supply.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RAE", ProductID: "AGENT", Service: "desktops", Criticality: supply.Medium})
			return err
		},
	}
	for _, st := range steps {
		if err := st(); err != nil {
			t.Fatal(err)
		}
	}
	nat := scope.Scope{UserID: "n", Email: "admin@vigil.test", Grants: []scope.Grant{{Role: scope.NationalAnalyst, Org: "ENG", Path: "/ENG/"}}}
	a, err := e.alerts.Issue(ctx, nat, vuln.NewAlert{Title: "Endpoint Agent remote code execution", Severity: "critical", CVEs: []string{"CVE-2099-0001"},
		RequiredAction: "Upgrade the agent to 9.1.", Deadline: time.Now().Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Orgs) != 2 {
		t.Fatalf("in scope: %+v", a.Orgs)
	}
	return e, a
}

// The pages without a browser: a trust sees its own row only, answers with
// the CSRF token (and is refused without), the national issue form issues.
func TestCyberAlertPages(t *testing.T) {
	e, a := cyberEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/cyber-alerts/" + a.ID)
	wantStatus(t, "alert page", p, 200)
	checkNoInline(t, "alert page", p.body)
	mustContain(t, "alert page", p.body, "Endpoint Agent remote code execution", `id="org-RR8"`, "Leeds Teaching Hospitals NHS Trust deploys Ward EPR", `name="csrf"`)
	mustNotContain(t, "alert page", p.body, "RAE", "Bradford")
	p = leeds.post("/cyber-alerts/"+a.ID+"/responses", url.Values{"orgs": {"RAE"}, "action": {"acknowledge"}})
	wantStatus(t, "answer for Bradford", p, 404)
	p = leeds.post("/cyber-alerts/"+a.ID+"/responses", url.Values{"orgs": {"RR8"}, "action": {"applicability"}, "applicability": {"not-affected"}})
	wantStatus(t, "not affected without a reason", p, 303)
	if !strings.Contains(p.location(), "error=") {
		t.Errorf("no error for a missing reason: %s", p.location())
	}
	// Bradford sees nothing of Leeds.
	brad := e.signIn("analyst@bradford.test")
	p = brad.get("/cyber-alerts/dashboard.csv")
	mustContain(t, "Bradford's CSV", p.body, ",RAE,")
	mustNotContain(t, "Bradford's CSV", p.body, "RR8")
	// The national team issues from the form.
	adm := e.signIn("admin@vigil.test")
	// The dashboard's map of acknowledgements by ICB, inline and as a PNG
	// to download; Bradford's picture is drawn from Bradford's figures.
	if importBoundaries(t, e) {
		p = adm.get("/cyber-alerts/dashboard?alert=" + a.ID)
		wantStatus(t, "dashboard", p, 200)
		checkNoInline(t, "dashboard", p.body)
		mustContain(t, "dashboard", p.body, `id="ack-map"`, "Cyber alert acknowledgements by ICB", "/cyber-alerts/dashboard.png?alert="+a.ID)
		// Beside it the same by NHS England region, drawn from the ONS
		// region boundaries, each region's figures as the table gives them.
		d, err := e.alerts.Dashboard(context.Background(), scope.Scope{UserID: "n", Email: "admin@vigil.test",
			Grants: []scope.Grant{{Role: scope.NationalAnalyst, Org: "ENG", Path: "/ENG/"}}}, a.ID)
		if err != nil || len(d.ByRegion) == 0 {
			t.Fatalf("dashboard: %v %+v", err, d.ByRegion)
		}
		mustContain(t, "dashboard", p.body, `id="region-map"`, "Cyber alert acknowledgements by region")
		// Three pictures on one page: no id twice.
		ids := map[string]int{}
		for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(p.body, -1) {
			if ids[m[1]]++; ids[m[1]] == 2 {
				t.Errorf("id %q twice on the dashboard", m[1])
			}
		}
		for _, g := range d.ByRegion {
			mustContain(t, "region map", p.body, html.EscapeString(fmt.Sprintf("%s: %d of %d answered", g.Name, g.Acknowledged, g.Organisations)))
		}
		for _, c := range []*client{adm, brad} {
			p = c.get("/cyber-alerts/dashboard.png?alert=" + a.ID)
			wantStatus(t, "dashboard PNG", p, 200)
			img, format, err := image.Decode(strings.NewReader(p.body))
			if err != nil || format != "png" || img.Bounds().Dx() < 600 {
				t.Fatalf("dashboard PNG: %v %q %v", err, format, img)
			}
			if cd := p.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, a.ID) {
				t.Errorf("dashboard PNG disposition %q", cd)
			}
		}
		p = brad.get("/cyber-alerts/dashboard.png?alert=CA-20990101-NOSUCH")
		wantStatus(t, "PNG of no such alert", p, 404)
	}
	p = adm.get("/cyber-alerts")
	mustContain(t, "list", p.body, "Issue a cyber alert", a.ID)
	p = adm.post("/cyber-alerts", url.Values{"title": {"Ward EPR 4 flaw"}, "severity": {"high"}, "tlp": {"GREEN"}, "products": {"EPR"},
		"required_action": {"Apply hotfix 7"}, "deadline": {"2030-01-31"}})
	wantStatus(t, "issue", p, 303)
	p = adm.get(p.location())
	mustContain(t, "issued alert", p.body, "Ward EPR 4 flaw", "TLP:GREEN", `id="org-RR8"`)
	p = adm.post("/cyber-alerts", url.Values{"title": {"No deadline"}, "products": {"EPR"}, "required_action": {"x"}})
	wantStatus(t, "issue without a deadline", p, 400)
	mustContain(t, "issue without a deadline", p.body, "deadline")
	// Leeds may not issue.
	p = leeds.post("/cyber-alerts", url.Values{"title": {"Mine"}, "products": {"EPR"}, "required_action": {"x"}, "deadline": {"2030-01-31"}})
	wantStatus(t, "Leeds issues", p, 403)
}

// TestCyberAlertBrowser: two trusts answer an alert in headless Chromium,
// each on its own response page, and the national dashboard shows both
// answers (issue 18's "Done when").
func TestCyberAlertBrowser(t *testing.T) {
	requireChromium(t)
	dir := screenshotDir(t)
	e, a := cyberEnv(t)
	respond := func(email, action, applicability, text string) {
		b := openBrowser(t, e.srv.URL, dir, 1280, 900, 90*time.Second)
		b.file = func(label string) string { return fmt.Sprintf("cyberalert-%s", label) }
		b.signIn(email, chromedp.WaitReady(chromedp.ID("sidenav")))
		b.do("open the alert", navigates(chromedp.Navigate(b.base+"/cyber-alerts/"+a.ID))...)
		acts := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.ID("r-action")), chromedp.SetValue(chromedp.ID("r-action"), action)}
		if applicability != "" {
			acts = append(acts, chromedp.SetValue(chromedp.ID("r-app"), applicability))
		}
		if text != "" {
			acts = append(acts, chromedp.SendKeys(chromedp.ID("r-text"), text))
		}
		b.do("fill the response", acts...)
		b.do("send it", navigates(chromedp.Click(chromedp.CSS(`form[action$="/responses"] button[type="submit"]`)))...)
		if got := b.evalText(`document.querySelector("main").innerText`); !strings.Contains(got, "Your answer is recorded") {
			t.Fatalf("%s: after sending: %s", email, got)
		}
		b.shot(strings.Split(email, "@")[1])
	}
	respond("analyst@leeds.test", "applicability", "affected", "EPR 4.2 on 300 ward PCs")
	respond("analyst@bradford.test", "acknowledge", "", "")

	b := openBrowser(t, e.srv.URL, dir, 1280, 900, 90*time.Second)
	b.file = func(label string) string { return "cyberalert-" + label }
	b.signIn("admin@vigil.test", chromedp.WaitReady(chromedp.ID("sidenav")))
	b.do("open the dashboard", navigates(chromedp.Navigate(b.base+"/cyber-alerts/dashboard?alert="+a.ID))...)
	if got := b.evalText(`document.getElementById("t-ack").innerText`); got != "2 (100 %)" {
		t.Errorf("dashboard acknowledged = %q, want 2 (100 %%)", got)
	}
	if got := b.evalText(`document.querySelector("#by-icb tbody").innerText`); !strings.Contains(got, "QWO") || !strings.Contains(got, "100 %") {
		t.Errorf("by ICB: %q", got)
	}
	b.shot("dashboard")
	b.do("open the alert", navigates(chromedp.Navigate(b.base+"/cyber-alerts/"+a.ID))...)
	if got := b.evalText(`document.querySelector("#org-RR8 .state").innerText + "|" + document.querySelector("#org-RAE .state").innerText`); got != "Affected — EPR 4.2 on 300 ward PCs|Acknowledged" {
		t.Errorf("states = %q", got)
	}
}

// TestCyberAlertRateChart: the dashboard draws the response rate over
// time as a server-drawn SVG step chart beside the table it comes from
// (kept for screen readers): after Leeds acknowledges, one of two within
// every reported time, marked "so far" while the time has not passed.
func TestCyberAlertRateChart(t *testing.T) {
	e, a := cyberEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.post("/cyber-alerts/"+a.ID+"/responses", url.Values{"orgs": {"RR8"}, "action": {"acknowledge"}})
	wantStatus(t, "Leeds acknowledges", p, 303)
	adm := e.signIn("admin@vigil.test")
	p = adm.get("/cyber-alerts/dashboard?alert=" + a.ID)
	wantStatus(t, "dashboard", p, 200)
	checkNoInline(t, "dashboard", p.body)
	mustContain(t, "dashboard", p.body, `id="rate-chart"`, "<svg", "Acknowledged over time", `class="rate-point"`, "48-hour clock", `id="over-time"`)
	for _, h := range vuln.RateHours {
		// Every time reported is a day or more ahead of an alert issued
		// just now: 1 of 2 so far.
		want := fmt.Sprintf("Within %d hours: 1 of 2 (%s so far)", h, phrase.Percent(0.5))
		mustContain(t, "rate chart", p.body, html.EscapeString(want), fmt.Sprintf(`data-hours="%d"`, h))
	}
}
