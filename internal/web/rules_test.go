package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/rules"
	"github.com/vigil-health/vigil/internal/scope"
)

const (
	pageRuleID = "7e570000-0000-4000-8000-000000000001"
	pageRule   = `title: Mimikatz on the command line
id: ` + pageRuleID + `
status: test
level: high
author: Vigil tests
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    CommandLine|contains: mimikatz
  condition: sel
`
	// pageSamples are a Sysmon process creation that the edited rule
	// (sekurlsa) matches and one it does not.
	pageSamples = `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Tools\\m.exe","CommandLine":"m.exe sekurlsa::logonpasswords"}
{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c dir"}`
)

func rulesEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, envOptions{rules: true})
	if _, err := e.rules.Import(context.Background(), scope.System("test"), "tests", "first", []rules.File{{Name: "mimikatz.yml", Data: []byte(pageRule)}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRulesPages without a browser: Leeds's analyst sees the rules for
// Leeds, switches one off for Leeds alone (Bradford's still on), adds an
// exception Bradford's analyst never sees, may test in the editor but
// not save; the national admin saves an edit as version 2.
func TestRulesPages(t *testing.T) {
	e := rulesEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/rules")
	wantStatus(t, "list", p, 200)
	mustContain(t, "list", p.body, "Detection rules", "Mimikatz on the command line", "Runs for RR8", "Disable for RR8", `name="csrf"`)
	wantStatus(t, "disable", leeds.post("/rules/"+pageRuleID+"/settings", urlValues("org", "RR8", "enabled", "off", "back", "/rules?org=RR8")), 303)
	if b := leeds.get("/rules").body; !strings.Contains(b, "Enable for RR8") || !strings.Contains(b, "own)") {
		i := strings.Index(b, "Enable for")
		t.Errorf("after disable: %s", b[max(0, i-600):min(len(b), i+100)])
	}
	bradford := e.signIn("analyst@bradford.test")
	mustContain(t, "bradford's list", bradford.get("/rules").body, "Disable for RAE")
	wantStatus(t, "leeds at bradford", leeds.get("/rules?org=RAE"), 404)
	wantStatus(t, "leeds sets bradford's", leeds.post("/rules/"+pageRuleID+"/settings", urlValues("org", "RAE", "enabled", "off")), 404)

	wantStatus(t, "exception", leeds.post("/rules/"+pageRuleID+"/exceptions", urlValues("exorg", "RR8", "match", "Computer=backup01*\nUser=svc_backup",
		"owner", "liam@leeds.test", "reason", "Leeds nightly backup", "expires", "30d")), 303)
	p = leeds.get("/rules/" + pageRuleID)
	mustContain(t, "rule page", p.body, "Leeds nightly backup", "Computer=backup01*", "History", "first", "Reset RR8")
	mustNotContain(t, "bradford's rule page", bradford.get("/rules/"+pageRuleID).body, "Leeds nightly backup", "RR8")
	p = leeds.post("/rules/"+pageRuleID+"/exceptions", urlValues("exorg", "RR8", "match", "User=x", "owner", "o", "reason", "r", "expires", "soon"))
	wantStatus(t, "bad expiry", p, 422)
	mustContain(t, "bad expiry", p.body, `id="f-expires-error"`)

	p = leeds.get("/rules/" + pageRuleID + "/edit")
	wantStatus(t, "editor", p, 200)
	mustContain(t, "editor", p.body, "CommandLine|contains: mimikatz", `name="base_version" value="1"`, "Saving needs a national role")
	edited := strings.Replace(pageRule, "mimikatz", "sekurlsa", 1)
	p = leeds.post("/rules/edit", urlValues("action", "test", "id", pageRuleID, "base_version", "1", "yaml", edited, "events", pageSamples))
	wantStatus(t, "test", p, 200)
	mustContain(t, "test", p.body, "2 samples", "Match</span> Mimikatz on the command line", "<code>sel</code>", "No match")
	p = leeds.post("/rules/edit", urlValues("action", "save", "id", pageRuleID, "base_version", "1", "yaml", edited))
	wantStatus(t, "analyst saves", p, 422)
	mustContain(t, "analyst saves", p.body, "national role")

	admin := e.signIn("admin@vigil.test")
	p = admin.post("/rules/edit", urlValues("action", "save", "id", pageRuleID, "base_version", "1", "yaml", strings.Replace(edited, "condition: sel", "condition: nosuch", 1)))
	wantStatus(t, "broken save", p, 422)
	if !strings.Contains(p.body, "nosuch") || !strings.Contains(p.body, "ine ") {
		i := strings.Index(p.body, "error-message")
		t.Errorf("broken save: %s", p.body[max(0, i-100):min(len(p.body), i+400)])
	}
	wantStatus(t, "save", admin.post("/rules/edit", urlValues("action", "save", "id", pageRuleID, "base_version", "1", "yaml", edited, "note", "sekurlsa, not the name")), 303)
	mustContain(t, "history", admin.get("/rules/"+pageRuleID).body, "sekurlsa, not the name", "admin@vigil.test")
	p = admin.post("/rules/edit", urlValues("action", "save", "id", pageRuleID, "base_version", "1", "yaml", pageRule))
	wantStatus(t, "stale save", p, 422)
	mustContain(t, "stale save", p.body, "version 2")
	wantStatus(t, "no csrf", leeds.post("/rules/"+pageRuleID+"/settings", urlValues("csrf", "x", "org", "RR8", "enabled", "on")), 403)
}

// TestRuleEditorBrowser: at 1280 and 390 px, a national administrator
// opens a rule in the editor, changes it, tests it on pasted samples (one
// matches, one does not), and saves it as version 2 with a note, which
// the rule's history then shows.
func TestRuleEditorBrowser(t *testing.T) {
	requireChromium(t)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprint(vp.w), func(t *testing.T) {
			e := rulesEnv(t)
			b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 90*time.Second)
			b.file = func(label string) string { return fmt.Sprintf("rule-editor-%s-%d", label, vp.w) }
			b.signIn("admin@vigil.test", chromedp.WaitReady(chromedp.ID("sidenav")))
			b.do("rule list", chromedp.Navigate(b.base+"/rules"), chromedp.WaitVisible(chromedp.ID("list")))
			b.do("rule page", chromedp.Click(chromedp.CSS(`tbody a[href="/rules/`+pageRuleID+`"]`)), chromedp.WaitVisible(chromedp.ID("history")))
			b.do("editor", chromedp.Click(chromedp.CSS(`a[href="/rules/`+pageRuleID+`/edit"]`)), chromedp.WaitVisible(chromedp.ID("f-yaml")))
			edited, _ := json.Marshal(strings.Replace(pageRule, "mimikatz", "sekurlsa", 1))
			samples, _ := json.Marshal(pageSamples)
			b.do("test", chromedp.Evaluate[chromedp.Void](`document.getElementById("f-yaml").value = `+string(edited)+`; document.getElementById("f-events").value = `+string(samples)),
				chromedp.Click(chromedp.CSS(`button[value="test"]`)), chromedp.WaitVisible(chromedp.ID("test-results")))
			got := b.evalText(`Array.from(document.querySelectorAll('section[aria-labelledby="test-results"] tbody tr')).map(r => r.textContent.replace(/\s+/g, " ")).join("\n")`)
			if lines := strings.Split(got, "\n"); len(lines) != 2 || !strings.Contains(lines[0], "Match Mimikatz on the command line") || !strings.Contains(lines[1], "No match") {
				t.Errorf("test results:\n%s", got)
			}
			if v := b.evalText(`document.getElementById("f-yaml").value`); !strings.Contains(v, "CommandLine|contains: sekurlsa") {
				t.Errorf("the edited text was not kept across the test:\n%s", v)
			}
			b.shot("tested")
			b.do("save", chromedp.SendKeys(chromedp.ID("f-note"), "match the command, not the name"),
				chromedp.Click(chromedp.CSS(`button[value="save"]`)), chromedp.WaitVisible(chromedp.ID("history")))
			hist := b.evalText(`document.querySelector('section[aria-labelledby="history"]').textContent.replace(/\s+/g, " ")`)
			if !strings.Contains(hist, "match the command, not the name") || !strings.Contains(hist, "admin@vigil.test") {
				t.Errorf("history after save: %s", hist)
			}
			b.shot("saved")
			d, err := e.rules.Get(context.Background(), scope.System("t"), pageRuleID)
			if err != nil || d.Version != 2 || !strings.Contains(d.YAML, "sekurlsa") {
				t.Errorf("stored: version %d, %v", d.Version, err)
			}
		})
	}
	t.Logf("screenshots in %s", dir)
}
