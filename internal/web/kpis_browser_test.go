package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// The KPI dashboard and the notification settings in a real browser: the
// CSP holds (newBrowser fails the test on any violation) and the pages
// render; the screenshots are kept with VIGIL_SCREENSHOTS.
func TestKPIAndNotificationPagesInBrowser(t *testing.T) {
	requireChromium(t)
	e := newSupplyEnvWith(t, envOptions{})
	ctx := context.Background()
	sys := scope.System("test")
	cs := e.notify.cases
	sevs := []cases.Severity{cases.Critical, cases.High, cases.High, cases.Medium, cases.Medium, cases.Medium, cases.Low}
	for i, sev := range sevs {
		src := []string{"edr", "mail-gateway", "ids"}[i%3]
		r, err := cs.CreateAlert(ctx, sys, cases.NewAlert{Source: src, Type: "t", SourceRef: fmt.Sprintf("kpi-b-%d", i), Title: "KPI alert", Severity: sev, Org: "RR8", TLP: cases.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		c, err := cs.CreateCase(ctx, sys, cases.NewCase{Org: "RR8", Title: "KPI case", Severity: sev, Template: []string{"phishing", "ransomware", ""}[i%3], AlertIDs: []string{r.Alert.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := cs.SetStatus(ctx, sys, c.ID, cases.StatusChange{Status: cases.CaseInProgress}); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := screenshotDir(t)
	b := newBrowser(t, 1366, 900, 60*time.Second)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), "analyst@leeds.test"), chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("nav.sidenav")),
		chromedp.Navigate(e.srv.URL+"/cases/kpis"), chromedp.WaitVisible(chromedp.CSS("svg.kpi-chart"))); err != nil {
		t.Fatal(err)
	}
	shot("kpis")
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/account/notifications"), chromedp.WaitVisible(chromedp.ID("f-webhook_url"))); err != nil {
		t.Fatal(err)
	}
	shot("notifications")
	t.Logf("screenshots in %s", dir)
}
