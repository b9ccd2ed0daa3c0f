package web

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/testneed"
)

// TestCoveragePage draws SigmaHQ's Windows rules over ATT&CK: the
// totals, a covered technique with its alerts, the unknown v19 tags.
func TestCoveragePage(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "sigma", "rules", "windows")
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "SigmaHQ's rules in ../shared/data/sigma", err)
	}
	c, err := sigma.LoadDir(dir, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rules []*sigma.Rule
	for _, r := range c.Rules {
		rules = append(rules, r.Rule)
	}
	e := newEnv(t, envOptions{coverage: rules, coverageHits: map[string]int64{"T1003": 7}})
	cl := e.signIn("analyst@leeds.test")
	p := cl.get("/coverage")
	wantStatus(t, "coverage", p, 200)
	mustContain(t, "coverage", p.body, "ATT&amp;CK coverage", "143 of 216", "2,407", "OS Credential Dumping", `class="cov cov-4"`,
		`<span class="tag tag-sev-high">7</span>`, "attack.stealth", `id="tac-TA0043"`, `name="org"`)
	p = cl.get("/coverage?org=rj1")
	wantStatus(t, "coverage for an organisation", p, 200)
	mustContain(t, "coverage for an organisation", p.body, "ATT&amp;CK coverage for RJ1", "The detection rules enabled for RJ1", `value="RJ1"`)
}

// TestCoverageBrowser: the matrix at 1280 and 390 px scrolls sideways
// inside its region, never widening the page.
func TestCoverageBrowser(t *testing.T) {
	requireChromium(t)
	e := newEnv(t, envOptions{coverage: []*sigma.Rule{{Title: "Dump LSASS", Tags: []string{"attack.t1003.001"}}}, coverageHits: map[string]int64{"T1003": 2}})
	srvDir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprint(vp.w), func(t *testing.T) {
			b := openBrowser(t, e.srv.URL, srvDir, vp.w, vp.h, 60*time.Second)
			b.file = func(label string) string { return fmt.Sprintf("coverage-%s-%d", label, vp.w) }
			b.signIn("analyst@leeds.test", chromedp.WaitReady(chromedp.ID("sidenav")))
			b.do("coverage", chromedp.Navigate(b.base+"/coverage"), chromedp.WaitVisible(chromedp.CSS(".coverage-matrix")))
			if wide := b.evalText(`String(document.documentElement.scrollWidth > window.innerWidth + 1)`); wide != "false" {
				t.Errorf("the page is wider than the window at %d px", vp.w)
			}
			b.shot("matrix")
		})
	}
}
