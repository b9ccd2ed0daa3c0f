package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// huntRule finds Empire's hidden, encoded PowerShell stager.
const huntRule = `title: Hidden encoded PowerShell
id: 3c0f0000-0000-4000-8000-000000000001
level: high
author: Vigil tests
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|contains|all: ['-w 1', '-enc']
    Image|endswith: '\powershell.exe'
  condition: selection
`

// TestHuntPages without a browser: a rule tested on samples says which
// matched and why; a retro-hunt finds only the caller's organisations'
// events; a rule in error is named with its line.
func TestHuntPages(t *testing.T) {
	e := eventsEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/hunt")
	wantStatus(t, "page", p, 200)
	mustContain(t, "page", p.body, "Hunt stored events", "Test on the samples", `name="csrf"`)
	p = leeds.post("/hunt", urlValues("action", "hunt", "from", "2020-01-01", "rules", huntRule))
	wantStatus(t, "hunt", p, 200)
	mustContain(t, "hunt", p.body, "2 matches", "Hidden encoded PowerShell", "Vigil tests", "RR8")
	mustNotContain(t, "hunt", p.body, ">RAE<")
	admin := e.signIn("admin@vigil.test")
	mustContain(t, "national hunt", admin.post("/hunt", urlValues("action", "hunt", "from", "2020-01-01", "rules", huntRule)).body, "4 matches", ">RAE<")
	p = leeds.post("/hunt", urlValues("action", "test", "rules", huntRule, "events",
		`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell -noP -sta -w 1 -enc SQBFAFgA"}`+"\n"+
			`{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c dir"}`))
	wantStatus(t, "test", p, 200)
	mustContain(t, "test", p.body, "2 samples", "1 rule loaded", "Match</span> Hidden encoded PowerShell", "<code>selection</code>", "<code>CommandLine</code>", "No match")
	p = leeds.post("/hunt", urlValues("action", "test", "rules", "title: Broken\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|nosuch: x\n  condition: sel\n", "events", `{"EventID":1}`))
	mustContain(t, "broken rule", p.body, "Rules that did not load", "Line 6:", "nosuch")
	p = leeds.post("/hunt", urlValues("action", "test", "rules", huntRule))
	wantStatus(t, "no samples", p, 422)
	mustContain(t, "no samples", p.body, `id="f-events-error"`)
	wantStatus(t, "no csrf", leeds.post("/hunt", urlValues("csrf", "x", "action", "hunt", "rules", huntRule)), 403)
	// A field mapping: the ECS sample matches only through the ecs pipeline;
	// a name that is not a built-in is the field's error.
	ecs := `{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1},"process":{"executable":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","command_line":"powershell -noP -sta -w 1 -enc SQBFAFgA"}}`
	mustContain(t, "no mapping", leeds.post("/hunt", urlValues("action", "test", "rules", huntRule, "events", ecs)).body, "No match")
	p = leeds.post("/hunt", urlValues("action", "test", "rules", huntRule, "events", ecs, "mappings", "ecs"))
	wantStatus(t, "ecs mapping", p, 200)
	mustContain(t, "ecs mapping", p.body, "Match</span> Hidden encoded PowerShell", "<code>process.command_line</code>")
	p = leeds.post("/hunt", urlValues("action", "test", "rules", huntRule, "events", ecs, "mappings", "/etc/passwd"))
	wantStatus(t, "file mapping", p, 422)
	mustContain(t, "file mapping", p.body, `id="f-mappings-error"`, "not a built-in pipeline")
}

// TestHuntBrowser: at 1280 and 390 px, a Leeds analyst pastes a rule,
// hunts the stored events and sees Leeds's two matches, never Bradford's.
func TestHuntBrowser(t *testing.T) {
	requireChromium(t)
	e := eventsEnv(t)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprint(vp.w), func(t *testing.T) {
			b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 90*time.Second)
			b.file = func(label string) string { return fmt.Sprintf("hunt-%s-%d", label, vp.w) }
			b.signIn("analyst@leeds.test", chromedp.WaitReady(chromedp.ID("sidenav")))
			b.do("hunt page", chromedp.Navigate(b.base+"/hunt"), chromedp.WaitVisible(chromedp.ID("f-rules")))
			rule, _ := json.Marshal(huntRule)
			b.do("hunt", chromedp.Evaluate[chromedp.Void](`document.getElementById("f-rules").value = `+string(rule)+`; document.getElementById("f-since").value = ""`),
				chromedp.SendKeys(chromedp.ID("f-from"), "2020-01-01"),
				chromedp.Click(chromedp.CSS(`button[value="hunt"]`)), chromedp.WaitVisible(chromedp.ID("hunt-results")))
			got := b.evalText(`document.getElementById("hunt-results").textContent + "\n" + Array.from(document.querySelectorAll('section[aria-labelledby="hunt-results"] tbody tr')).map(r => r.textContent.replace(/\s+/g, " ")).join("\n")`)
			if !strings.Contains(got, "2 matches") || strings.Count(got, "RR8") != 2 || strings.Contains(got, "RAE") {
				t.Errorf("results:\n%s", got)
			}
			b.shot("found")
		})
	}
	t.Logf("screenshots in %s", dir)
}

// urlValues is a form from key, value pairs.
func urlValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
