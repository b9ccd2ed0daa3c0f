package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// incidentEnv is the supplier register's test estate with cases and
// national incidents, and an analyst of King's College Hospital (RJZ)
// besides Guy's and St Thomas' (gstt@supply.test, RJ1).
func incidentEnv(t *testing.T) *env {
	t.Helper()
	e := newSupplyEnvWith(t, envOptions{cases: true})
	nu, err := e.auth.AddUser(context.Background(), scope.System("test"), auth.NewUser{Email: "kings@supply.test", Name: "Kim Kings", Org: "RJZ",
		Role: scope.OrgAnalyst, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	e.users["kings@supply.test"] = nu.ID
	return e
}

var incidentIDRE = regexp.MustCompile(`/incidents/(CS-[0-9A-Z]+)`)

// The pages without a browser: the national team opens an incident from
// the supplier page, the incident page counts and lists, a trust sees its
// own case's part and answers, and never the incident page.
func TestIncidentPages(t *testing.T) {
	e := incidentEnv(t)
	nat := e.signIn("nat@supply.test")
	p := nat.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "supplier page", p.body, "Open a national incident", `action="/incidents"`)
	p = nat.post("/incidents", map[string][]string{"supplier": {"SYNNOVIS"}, "title": {"Synnovis ransomware"}, "severity": {"critical"}})
	wantStatus(t, "open", p, 303)
	m := incidentIDRE.FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("open redirected to %q", p.location())
	}
	id := m[1]
	p = nat.get("/incidents/" + id)
	wantStatus(t, "incident", p, 200)
	mustContain(t, "incident", p.body, "Synnovis ransomware", "Acknowledgements by ICB", "Not answered", "By region", "London", "Guy&#39;s and St Thomas&#39;",
		"Refresh from the register", "Share an update")
	inc, err := e.cases.GetIncident(context.Background(), scope.System("test"), id)
	if err != nil {
		t.Fatal(err)
	}
	child := map[string]string{}
	for _, c := range inc.Children {
		child[c.Org] = c.CaseID
	}
	gstt := e.signIn("gstt@supply.test")
	wantStatus(t, "trust at the incident", gstt.get("/incidents/"+id), 404)
	wantStatus(t, "trust at another trust's child", gstt.get("/cases/"+child["RJZ"]), 404)
	p = gstt.get("/cases/" + child["RJ1"])
	wantStatus(t, "own child", p, 200)
	mustContain(t, "own child", p.body, "National incident", "waiting for your acknowledgement", `action="/cases/`+child["RJ1"]+`/incident"`, "Clocks", "Acknowledge")
	mustNotContain(t, "own child", p.body, `href="/incidents/`)
	p = gstt.post("/cases/"+child["RJ1"]+"/incident", map[string][]string{"status": {"fallback-in-use"}, "note": {"paper requests"}})
	wantStatus(t, "acknowledge", p, 303)
	p = gstt.get("/cases/" + child["RJ1"])
	mustContain(t, "acknowledged", p.body, "You answered <strong>Fallback in use</strong>", "paper requests")
	p = gstt.post("/cases/"+child["RJ1"]+"/incident", map[string][]string{"status": {"on-fire"}})
	wantStatus(t, "bad status", p, 303)
	if !strings.Contains(p.location(), "ackerror=") {
		t.Errorf("a bad status redirected to %q", p.location())
	}
	p = nat.get("/incidents/" + id)
	mustContain(t, "after one answer", p.body, "<strong>1 of ")
}

// TestIncidentBrowser: the national administrator opens an incident for a
// supplier from its page in headless Chromium, two trusts sign in and
// acknowledge on their own cases, and the national page and its map show
// two acknowledged. Screenshots are kept with VIGIL_SCREENSHOTS=dir.
func TestIncidentBrowser(t *testing.T) {
	requireChromium(t)
	e := incidentEnv(t)
	maps := importBoundaries(t, e)
	dir := screenshotDir(t)
	base := e.srv.URL
	const width, height = 1366, 900
	session := func(email string) (context.Context, func(string, ...chromedp.Action[chromedp.Void]), func(string)) {
		ctx := newBrowser(t, width, height, 120*time.Second)
		do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, actions...); err != nil {
				t.Fatalf("%s (%s): %v", what, email, err)
			}
		}
		shot := func(name string) {
			t.Helper()
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("incident-%s.png", name)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("sign in", chromedp.EmulateViewport(width, height), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
			chromedp.SendKeys(chromedp.ID("f-email"), email), chromedp.SendKeys(chromedp.ID("f-password"), password),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("nav.sidenav")))
		return ctx, do, shot
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	nat, do, shot := session("nat@supply.test")
	do("supplier page", chromedp.Navigate(base+"/suppliers/s/SYNNOVIS"), chromedp.WaitVisible(chromedp.ID("f-inc-title")))
	do("title", chromedp.Evaluate[chromedp.Void](`document.getElementById("f-inc-title").value = ""`), chromedp.SendKeys(chromedp.ID("f-inc-title"), "Synnovis ransomware"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-inc-severity").value = "critical"`))
	shot("01-supplier-form")
	do("open", chromedp.Click(chromedp.CSS(`form[action="/incidents"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("answered")))
	loc, err := chromedp.Run(nat, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	m := incidentIDRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after opening the browser is at %s", loc)
	}
	id := m[1]
	if s := text(nat, "#answered"); !strings.Contains(s, "0 of ") {
		t.Errorf("answered before anyone did: %q", s)
	}
	shot("02-opened")
	inc, err := e.cases.GetIncident(context.Background(), scope.System("test"), id)
	if err != nil {
		t.Fatal(err)
	}
	child := map[string]string{}
	for _, c := range inc.Children {
		child[c.Org] = c.CaseID
	}
	if child["RJ1"] == "" || child["RJZ"] == "" {
		t.Fatalf("children: %+v", inc.Children)
	}

	for _, tr := range []struct{ email, org, status, name string }{
		{"gstt@supply.test", "RJ1", "fallback-in-use", "03-gstt"},
		{"kings@supply.test", "RJZ", "services-down", "04-kings"},
	} {
		ctx, do, shot := session(tr.email)
		do("own case", chromedp.Navigate(base+"/cases/"+child[tr.org]), chromedp.WaitVisible(chromedp.ID("f-ack-"+tr.status)))
		shot(tr.name + "-case")
		do("acknowledge", chromedp.Click(chromedp.ID("f-ack-"+tr.status)), chromedp.SendKeys(chromedp.ID("f-ack-note"), "from the browser"),
			chromedp.Click(chromedp.CSS(`form.incident-ack button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
		if s := text(ctx, "#incident-answer"); !strings.Contains(s, "You answered") {
			t.Errorf("%s after acknowledging: %q", tr.email, s)
		}
		shot(tr.name + "-acknowledged")
		do("not the incident", chromedp.Navigate(base+"/incidents/"+id), chromedp.WaitVisible(chromedp.CSS(".error-page")))
	}

	do("national page again", chromedp.Navigate(base+"/incidents/"+id), chromedp.WaitVisible(chromedp.ID("answered")))
	if s := text(nat, "#answered"); !strings.Contains(s, "2 of ") {
		t.Errorf("national page after two answers: %q", s)
	}
	if s := text(nat, "#children"); strings.Count(s, "today") < 2 {
		t.Errorf("the children table does not say when the two answered:\n%s", s)
	}
	if s := text(nat, "#icb-QKK"); !strings.Contains(s, "2") {
		t.Errorf("QKK row: %q", s)
	}
	if maps {
		// The map labels each ICB with answered/affected: QKK holds both trusts.
		svg := text(nat, ".incident-map")
		if !regexp.MustCompile(`\b2/\d+\b`).MatchString(svg) {
			t.Errorf("the map shows no ICB with 2 answered: %q", svg)
		}
	}
	shot("05-national-two-acknowledged")
	t.Logf("screenshots in %s (map drawn: %v)", dir, maps)
}
