package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/savedview"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

func casesMigrations() []store.MigrationSet {
	return []store.MigrationSet{cases.Migrations(), savedview.Migrations()}
}

// caseUsers resolves assignees and mentions as the app does.
type caseUsers struct{ auth *auth.Service }

func (u caseUsers) ScopeOf(ctx context.Context, who string) (scope.Scope, error) {
	usr, err := u.auth.GetUser(ctx, scope.System("cases"), who)
	if err != nil {
		return scope.Scope{}, err
	}
	sc, err := u.auth.ScopeFor(ctx, usr.ID, "", "")
	if errors.Is(err, auth.ErrDisabled) {
		return scope.Scope{}, fault.ErrNotFound
	}
	return sc, err
}

func newCasesService(t testing.TB, e *env, log *slog.Logger) *cases.Service {
	t.Helper()
	o := cases.Options{DB: e.db, Audit: e.audit, Orgs: e.orgs, Users: caseUsers{e.auth}, Logger: log}
	if e.supply != nil {
		o.Supply = e.supply // national incidents (incidents_test.go)
	}
	svc, err := cases.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// seedAlert reports one alert as a producer would.
func seedAlert(t testing.TB, svc *cases.Service, org, ref, title string, sev cases.Severity, obs ...cases.Observable) string {
	t.Helper()
	if obs == nil {
		obs = []cases.Observable{}
	}
	r, err := svc.CreateAlert(context.Background(), scope.System("test"), cases.NewAlert{Source: "mail-gateway", Type: "phishing", SourceRef: ref,
		Title: title, Severity: sev, Org: org, TLP: cases.TLPAmber, Observables: obs})
	if err != nil {
		t.Fatalf("alert %s: %v", ref, err)
	}
	return r.Alert.ID
}

var caseIDRE = regexp.MustCompile(`/cases/(CS-[0-9A-Z]+)`)

func TestAlertsInboxFiltersAndScope(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	svc := e.cases
	ip := cases.Observable{Type: cases.ObsIP, Value: "198.51.100.7"}
	seedAlert(t, svc, "RR8", "leeds-1", "Invoice lure to finance", cases.High, ip)
	seedAlert(t, svc, "RR8", "leeds-2", "Parcel delivery lure", cases.Low)
	seedAlert(t, svc, "RAE", "bradford-1", "Bradford payroll lure", cases.Critical, ip)

	c := e.signIn("analyst@leeds.test")
	home := c.get("/")
	mustContain(t, "navigation", home.body, `href="/alerts"`, `href="/cases"`)
	p := c.get("/alerts")
	wantStatus(t, "inbox", p, 200)
	mustContain(t, "inbox", p.body, "Invoice lure to finance", "Parcel delivery lure", "2 alerts", `name="ids"`, "Open a case")
	mustNotContain(t, "inbox", p.body, "Bradford payroll lure", "RAE")

	p = c.get("/alerts?severity=high")
	mustContain(t, "filtered", p.body, "Invoice lure to finance", "1 alert match")
	mustNotContain(t, "filtered", p.body, "Parcel delivery lure")
	p = c.get("/alerts?q=parcel")
	mustContain(t, "search", p.body, "Parcel delivery lure")
	mustNotContain(t, "search", p.body, "Invoice lure")
	// Another trust's organisation code as a filter shows nothing of it.
	p = c.get("/alerts?org=RAE")
	wantStatus(t, "other org", p, 200)
	mustNotContain(t, "other org", p.body, "Bradford payroll lure")

	// A filter that cannot be read says which.
	p = c.get("/alerts?since=yesterday")
	wantStatus(t, "bad since", p, http.StatusBadRequest)
	mustContain(t, "bad since", p.body, "The filter “since”", "YYYY-MM-DD")
	p = c.get("/alerts?severity=apocalyptic")
	wantStatus(t, "bad severity", p, http.StatusBadRequest)
	mustContain(t, "bad severity", p.body, "The filter “severity”")

	// Grouping by observable and by source.
	seedAlert(t, svc, "RR8", "leeds-3", "Invoice lure again", cases.Medium, ip)
	p = c.get("/alerts?group=observable")
	mustContain(t, "grouped", p.body, "ip 198.51.100.7", "no observables")
	p = c.get("/alerts?group=source")
	mustContain(t, "grouped by source", p.body, "mail-gateway / phishing")

	// The alert page; another trust's is 404.
	id := seedAlert(t, svc, "RR8", "leeds-4", "Alert with a page", cases.Low, ip)
	p = c.get("/alerts/" + id)
	wantStatus(t, "alert", p, 200)
	mustContain(t, "alert", p.body, "Alert with a page", "198.51.100.7", "leeds-4")
	other := seedAlert(t, svc, "RAE", "bradford-2", "Bradford only", cases.Low)
	wantStatus(t, "other trust's alert", c.get("/alerts/"+other), 404)
}

func TestAlertsInboxPages(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	for i := 0; i < inboxPage+5; i++ {
		seedAlert(t, e.cases, "RR8", fmt.Sprintf("page-%03d", i), fmt.Sprintf("Paged alert %03d", i), cases.Medium)
	}
	c := e.signIn("analyst@leeds.test")
	p := c.get("/alerts?severity=medium")
	mustContain(t, "first page", p.body, "Paged alert 104", "Older alerts", "100 alerts on this page")
	mustNotContain(t, "first page", p.body, "Paged alert 004")
	m := regexp.MustCompile(`href="(/alerts\?[^"]*after=[^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no next-page link")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "severity=medium") {
		t.Errorf("the next page drops the filter: %s", next)
	}
	p = c.get(next)
	mustContain(t, "second page", p.body, "Paged alert 004", "Paged alert 000", "Newest alerts")
	mustNotContain(t, "second page", p.body, "Paged alert 104")
}

func TestAlertsBulkTriageAndViews(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	svc := e.cases
	a1 := seedAlert(t, svc, "RR8", "t-1", "Finance invoice lure", cases.High, cases.Observable{Type: cases.ObsDomain, Value: "invoices.example"})
	a2 := seedAlert(t, svc, "RR8", "t-2", "Finance invoice lure (2)", cases.Medium)
	a3 := seedAlert(t, svc, "RR8", "t-3", "Benign newsletter", cases.Low)
	b1 := seedAlert(t, svc, "RAE", "t-b", "Bradford alert", cases.Low)
	c := e.signIn("analyst@leeds.test")
	c.get("/alerts")

	// A verdict on one alert.
	p := c.post("/alerts/triage", url.Values{"ids": {a3}, "action": {"close"}, "disposition": {"benign"}, "reason": {"newsletter"}, "back": {"q=newsletter"}})
	wantStatus(t, "close", p, http.StatusSeeOther)
	if loc := p.location(); !strings.Contains(loc, "q=newsletter") || !strings.Contains(loc, "done=close") {
		t.Errorf("after triage: %s", loc)
	}
	mustContain(t, "notice", c.get(p.location()).body, "1 alert closed.")
	if a, _ := svc.GetAlert(context.Background(), scope.System("t"), a3); a.Status != cases.AlertClosed || a.Disposition != cases.Benign {
		t.Errorf("alert after close: %s %s", a.Status, a.Disposition)
	}
	// A verdict without one chosen names the field.
	p = c.post("/alerts/triage", url.Values{"ids": {a1}, "action": {"disposition"}})
	wantStatus(t, "no verdict", p, http.StatusUnprocessableEntity)
	mustContain(t, "no verdict", p.body, "There is a problem", `href="#f-disposition"`, `value="`+a1+`" id="sel-`+a1+`" aria-label="Select alert Finance invoice lure" checked`)
	// Nothing ticked.
	p = c.post("/alerts/triage", url.Values{"action": {"acknowledge"}})
	wantStatus(t, "none ticked", p, http.StatusUnprocessableEntity)
	mustContain(t, "none ticked", p.body, "give at least one ID")
	// Another trust's alert among them: nothing changes, 404, not named.
	p = c.post("/alerts/triage", url.Values{"ids": {a1, b1}, "action": {"acknowledge"}})
	wantStatus(t, "other trust", p, http.StatusNotFound)
	mustNotContain(t, "other trust", p.body, b1, "Bradford")

	// Two alerts into a new phishing case.
	p = c.post("/alerts/triage", url.Values{"ids": {a1, a2}, "action": {"new-case"}, "template": {"phishing"}})
	wantStatus(t, "new case", p, http.StatusSeeOther)
	m := caseIDRE.FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("new case: redirect %q", p.location())
	}
	cp := c.get(p.location())
	wantStatus(t, "case", cp, 200)
	mustContain(t, "case", cp.body, "Case opened.", a1, a2, "Search and purge from mailboxes", "invoices.example", "Recipients who clicked or replied")

	// A third alert joins it; a case out of scope is named as not found.
	a4 := seedAlert(t, svc, "RR8", "t-4", "Another invoice lure", cases.Low)
	p = c.post("/alerts/triage", url.Values{"ids": {a4}, "action": {"add-to-case"}, "case": {m[1]}})
	wantStatus(t, "add to case", p, http.StatusSeeOther)
	bc, err := svc.CreateCase(context.Background(), scope.System("t"), cases.NewCase{Org: "RAE", Title: "Bradford case"})
	if err != nil {
		t.Fatal(err)
	}
	a5 := seedAlert(t, svc, "RR8", "t-5", "Yet another", cases.Low)
	p = c.post("/alerts/triage", url.Values{"ids": {a5}, "action": {"add-to-case"}, "case": {bc.ID}})
	wantStatus(t, "other trust's case", p, http.StatusNotFound)
	mustContain(t, "other trust's case", p.body, "There is no case "+bc.ID+" that you can see")
	mustNotContain(t, "other trust's case", p.body, "Bradford case")

	// Saved views: one person's, by name, replaced by a save of the same name.
	p = c.post("/alerts/views", url.Values{"name": {"High ones"}, "query": {"severity=high&bogus=1"}})
	wantStatus(t, "save view", p, http.StatusSeeOther)
	p = c.get("/alerts")
	mustContain(t, "views", p.body, `href="/alerts?severity=high"`, "High ones")
	p = c.post("/alerts/views", url.Values{"name": {""}, "query": {"severity=high"}})
	wantStatus(t, "nameless view", p, http.StatusUnprocessableEntity)
	mustContain(t, "nameless view", p.body, `href="#f-view"`, "Is required")
	views, err := svc.Views(context.Background(), mustScope(t, e, "analyst@leeds.test"))
	if err != nil || len(views) != 1 {
		t.Fatalf("views: %v %v", views, err)
	}
	other := e.signIn("analyst@bradford.test")
	mustNotContain(t, "another person's inbox", other.get("/alerts").body, "High ones")
	wantStatus(t, "delete another's view", other.post("/alerts/views/"+views[0].ID+"/delete", nil), 404)
	wantStatus(t, "delete own view", c.post("/alerts/views/"+views[0].ID+"/delete", nil), http.StatusSeeOther)
	mustNotContain(t, "deleted view", c.get("/alerts").body, "High ones")
}

func mustScope(t *testing.T, e *env, email string) scope.Scope {
	t.Helper()
	sc, err := e.auth.ScopeFor(context.Background(), e.users[email], "", "")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestCasePageWorkflow(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	svc := e.cases
	ctx := context.Background()
	sys := scope.System("t")
	cs, err := svc.CreateCase(ctx, sys, cases.NewCase{Org: "RR8", Template: "phishing",
		Description: "Reported by **ward 3**.\n\n<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.signIn("analyst@leeds.test")
	p := c.get("/cases/" + cs.ID)
	wantStatus(t, "case", p, 200)
	mustContain(t, "case", p.body, "<strong>ward 3</strong>", "Start work", "Close the case", "Mark resolved")
	mustNotContain(t, "case", p.body, "<script>alert", ">Reopen<")
	// The raw Markdown is only in the edit form's textarea (as text); the
	// rendered description carries no handler, image or script link.
	desc := regexp.MustCompile(`(?s)<section id="description".*?</section>`).FindString(p.body)
	mustContain(t, "description", desc, "<strong>ward 3</strong>")
	mustNotContain(t, "description", desc, "onerror", "javascript:", "<img", "<script")

	// Close without the template's required fields: the error names the field by its label.
	p = c.post("/cases/"+cs.ID+"/status", url.Values{"status": {"closed"}, "resolution": {"true-positive"}, "impact": {"minor"}})
	wantStatus(t, "close without fields", p, http.StatusUnprocessableEntity)
	mustContain(t, "close without fields", p.body, "“Recipients who clicked or replied” is required to close a Phishing case", `href="#f-close-field-clicked"`, `id="f-close-field-clicked"`,
		"“Credentials entered” is required to close a Phishing case", `href="#f-close-field-credentials_entered"`)
	// A number that is not one names the field too.
	p = c.post("/cases/"+cs.ID+"/status", url.Values{"status": {"closed"}, "resolution": {"true-positive"}, "impact": {"minor"}, "field-clicked": {"three"}})
	wantStatus(t, "bad number", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad number", p.body, "“Recipients who clicked or replied” &#34;three&#34; is not a number")

	// A task, a log entry, a ticked checklist step, a comment with a mention.
	wantStatus(t, "task", c.post("/cases/"+cs.ID+"/tasks", url.Values{"title": {"Call the recipients"}, "checklist": {"Call A\nCall B"}}), http.StatusSeeOther)
	tasks, _ := svc.ListTasks(ctx, sys, cs.ID)
	var tk cases.Task
	for _, x := range tasks {
		if x.Title == "Call the recipients" {
			tk = x
		}
	}
	wantStatus(t, "tick", c.post("/cases/"+cs.ID+"/tasks/"+tk.ID, url.Values{"items": {"2"}, "done": {"1"}, "status": {"in-progress"}}), http.StatusSeeOther)
	wantStatus(t, "log", c.post("/cases/"+cs.ID+"/tasks/"+tk.ID+"/logs", url.Values{"body": {"Reached **A**"}}), http.StatusSeeOther)
	wantStatus(t, "comment", c.post("/cases/"+cs.ID+"/comments", url.Values{"body": {"Over to @orgadmin@leeds.test and @analyst@bradford.test"}}), http.StatusSeeOther)
	wantStatus(t, "empty comment", c.post("/cases/"+cs.ID+"/comments", url.Values{"body": {""}}), http.StatusUnprocessableEntity)
	wantStatus(t, "timeline", c.post("/cases/"+cs.ID+"/timeline", url.Values{"at": {"2026-12-01T09:12"}, "title": {"First click"}}), http.StatusSeeOther)
	wantStatus(t, "observable", c.post("/cases/"+cs.ID+"/observables", url.Values{"type": {"url"}, "value": {"https://invoices.example/pay"}}), http.StatusSeeOther)
	p = c.post("/cases/"+cs.ID+"/observables", url.Values{"type": {"ip"}, "value": {"not an ip"}})
	wantStatus(t, "bad observable", p, http.StatusUnprocessableEntity)
	mustContain(t, "bad observable", p.body, `href="#f-obs-value"`)
	p = c.get("/cases/" + cs.ID)
	mustContain(t, "case after work", p.body, "Call the recipients", `value="1" checked`, "<strong>A</strong>", "told orgadmin@leeds.test",
		"First click", "https://invoices.example/pay", "Comment by analyst@leeds.test")
	mustNotContain(t, "mention outside the case", p.body, "told orgadmin@leeds.test, analyst@bradford.test")

	// Close with the fields given in the close form.
	p = c.post("/cases/"+cs.ID+"/status", url.Values{"status": {"closed"}, "resolution": {"true-positive"}, "impact": {"minor"},
		"field-clicked": {"2"}, "field-credentials_entered": {"false"}, "summary": {"Two clicked; no credentials."}})
	wantStatus(t, "close", p, http.StatusSeeOther)
	p = c.get(p.location())
	mustContain(t, "closed", p.body, "Status changed.", "Reopen", "Two clicked; no credentials.")
	mustNotContain(t, "closed", p.body, "Close the case", "Start work", "Save changes")

	// The auditor reads, with no forms; another trust's analyst gets 404.
	p = e.signIn("auditor@vigil.test").get("/cases/" + cs.ID)
	wantStatus(t, "auditor", p, 200)
	mustContain(t, "auditor", p.body, "You may read this case but not change it")
	wantStatus(t, "other trust", e.signIn("analyst@bradford.test").get("/cases/"+cs.ID), 404)
}

func TestCaseNewListAndLinks(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	c := e.signIn("analyst@leeds.test")
	p := c.get("/cases/new?template=ransomware")
	wantStatus(t, "new form", p, 200)
	mustContain(t, "new form", p.body, `value="RR8"`, `<option value="ransomware" selected>`)
	p = c.post("/cases", url.Values{"org": {"RR8"}, "title": {""}})
	wantStatus(t, "untitled", p, http.StatusUnprocessableEntity)
	mustContain(t, "untitled", p.body, `href="#f-title"`)
	p = c.post("/cases", url.Values{"org": {"RR8"}, "template": {"ransomware"}, "title": {"Ward PCs encrypted"}})
	wantStatus(t, "create", p, http.StatusSeeOther)
	first := caseIDRE.FindStringSubmatch(p.location())[1]
	p = c.post("/cases", url.Values{"org": {"RR8"}, "title": {"Second look"}})
	second := caseIDRE.FindStringSubmatch(p.location())[1]
	p = c.get("/cases?q=ward")
	mustContain(t, "list", p.body, "Ward PCs encrypted", "1 case")
	mustNotContain(t, "list", p.body, "Second look")
	wantStatus(t, "link", c.post("/cases/"+first+"/links", url.Values{"case_id": {second}}), http.StatusSeeOther)
	mustContain(t, "linked", c.get("/cases/"+first).body, "Second look")
	p = c.post("/cases/"+first+"/merge", url.Values{"from": {"CS-01ZZZZZZZZZZZZZZZZZZZZZZZZ"}})
	wantStatus(t, "merge unknown", p, http.StatusNotFound)
	mustContain(t, "merge unknown", p.body, "that you can see")
	wantStatus(t, "merge", c.post("/cases/"+first+"/merge", url.Values{"from": {second}}), http.StatusSeeOther)
	p = c.get("/cases/" + second)
	mustContain(t, "merged", p.body, "Merged into", first)
	// Bradford's analyst cannot open a case in Leeds.
	b := e.signIn("analyst@bradford.test")
	b.get("/cases/new")
	p = b.post("/cases", url.Values{"org": {"RR8"}, "title": {"Not mine"}})
	if p.status < 400 || p.status >= 500 {
		t.Errorf("a case in another trust: status %d", p.status)
	}
}

// casePagePaths seeds an alert and a case and returns the Alerts and
// Cases pages with the template each renders (TestEveryPageRenders).
func casePagePaths(t *testing.T, e *env) map[string]string {
	t.Helper()
	a := seedAlert(t, e.cases, "RR8", "every-page", "Every page alert", cases.High, cases.Observable{Type: cases.ObsIP, Value: "192.0.2.44"})
	cs, err := e.cases.CreateCase(context.Background(), scope.System("test"), cases.NewCase{Template: "phishing", AlertIDs: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"/alerts": "alerts", "/alerts?group=title": "alerts", "/alerts/" + a: "alert", "/cases": "cases",
		"/cases/new": "case_new", "/cases/" + cs.ID: "case"}
}

// The Alerts and Cases entries are in the navigation of people who read
// organisations' data, not of a supplier representative (who reads no
// organisation's alerts); without the cases service neither is there.
func TestCasesNavigationByRole(t *testing.T) {
	e := newSupplyEnvWith(t, envOptions{cases: true})
	for email, want := range map[string]bool{"nat@supply.test": true, "gstt@supply.test": true, "rep@synnovis.test": false, "auditor@vigil.test": true} {
		home := e.signIn(email).get("/")
		has := strings.Contains(home.body, `href="/alerts"`) && strings.Contains(home.body, `href="/cases"`)
		if has != want {
			t.Errorf("%s: Alerts and Cases in the navigation = %v, want %v", email, has, want)
		}
	}
	rep := e.signIn("rep@synnovis.test")
	p := rep.get("/alerts")
	wantStatus(t, "representative's inbox", p, 200)
	mustContain(t, "representative's inbox", p.body, "0 alerts")
	plain := newEnv(t, envOptions{})
	c := plain.signIn("analyst@leeds.test")
	mustNotContain(t, "without cases", c.get("/").body, `href="/alerts"`, `href="/cases"`)
	wantStatus(t, "/alerts without cases", c.get("/alerts"), 404)
	wantStatus(t, "/cases without cases", c.get("/cases"), 404)
}

// "Seen in other cases" on a case page names only the cases the reader
// may see: Leeds's analyst sees the other Leeds case holding the same
// address, never Bradford's.
func TestCaseSeenInOtherCasesWithinScope(t *testing.T) {
	e := newEnv(t, envOptions{cases: true})
	ctx := context.Background()
	sys := scope.System("t")
	ip := cases.Observable{Type: cases.ObsIP, Value: "203.0.113.77"}
	var ids []string
	for _, x := range []struct{ org, ref, title string }{{"RR8", "s-1", "Leeds first sighting"}, {"RR8", "s-2", "Leeds second sighting"}, {"RAE", "s-3", "Bradford sighting"}} {
		a := seedAlert(t, e.cases, x.org, x.ref, x.title, cases.High, ip)
		c, err := e.cases.CreateCase(ctx, sys, cases.NewCase{Org: x.org, Title: x.title + " case", AlertIDs: []string{a}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	p := e.signIn("analyst@leeds.test").get("/cases/" + ids[0])
	wantStatus(t, "case", p, 200)
	obs := regexp.MustCompile(`(?s)<section id="observables".*?</section>`).FindString(p.body)
	mustContain(t, "observables", obs, "203.0.113.77", "Leeds second sighting case", ids[1])
	mustNotContain(t, "observables", obs, "Bradford", ids[2], "RAE")
	p = e.signIn("admin@vigil.test").get("/cases/" + ids[0])
	obs = regexp.MustCompile(`(?s)<section id="observables".*?</section>`).FindString(p.body)
	mustContain(t, "national view of the observables", obs, "Leeds second sighting case", "Bradford sighting case")
}
