package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHomeBrowser signs in through the form as each of four roles — a
// national analyst, a region lead, a trust's analyst and a supplier's
// representative — on the supply fixture, and loads the home page at a
// desktop width (1280 px) and a phone width (390 px): the role's sections
// are there, the ones for other roles are not, and nothing is wider than
// the window (tables scroll inside their own box). It also opens the
// trust's organisation page with its dependencies. Screenshots are saved
// (VIGIL_SCREENSHOTS=dir keeps them).
func TestHomeBrowser(t *testing.T) {
	requireChromium(t)
	e := newSupplyEnv(t)
	dir := screenshotDir(t)
	roles := []struct {
		email, name string
		want, not   []string
	}{
		{"nat@supply.test", "national", []string{"home-systemic", "home-spof", "home-hotspots", "home-changes"}, []string{"home-own", "home-rep"}},
		{"lead@supply.test", "region-lead", []string{"home-systemic", "home-spof", "home-hotspots", "home-changes"}, []string{"home-own", "home-rep"}},
		{"gstt@supply.test", "trust", []string{"home-own", "org-depends", "org-exposure"}, []string{"home-systemic", "home-rep"}},
		{"rep@synnovis.test", "supplier-rep", []string{"home-rep", "home-visibility"}, []string{"home-systemic", "home-own", "org-depends"}},
	}
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		for _, r := range roles {
			t.Run(fmt.Sprintf("%s-%d", r.name, vp.w), func(t *testing.T) {
				b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 60*time.Second)
				b.file = func(label string) string { return fmt.Sprintf("home-%s-%s-%d", label, r.name, vp.w) }
				base, do, eval, shot := b.base, b.do, b.evalText, b.shot
				// The page is as wide as the window, and nothing outside a
				// table's scrolling box reaches past its right edge.
				fits := func(what string) {
					t.Helper()
					got := eval(`String(document.documentElement.scrollWidth) + " " + Array.from(document.querySelectorAll("body *")).filter(e => !e.closest(".table-wrap") && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className).join(",")`)
					if got != fmt.Sprint(vp.w)+" " {
						t.Errorf("%s at %d px: page wider than the window: %s", what, vp.w, got)
					}
					// A stacked table's cell keeps room on its left for the
					// column's name (drawn there by ::before, which no
					// element box reports): without it the name is off screen.
					if vp.w < 600 {
						if got := eval(`Array.from(document.querySelectorAll(".data-table tbody td[data-label]:not([data-label=''])")).filter(td => td.offsetParent && parseFloat(getComputedStyle(td).paddingLeft) < 40).slice(0, 3).map(td => td.dataset.label + " in " + td.closest("table").className).join(", ")`); got != "" {
							t.Errorf("%s at %d px: cells with no room for their column's name: %s", what, vp.w, got)
						}
					}
				}
				do("sign in", chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
					chromedp.SendKeys(chromedp.ID("f-email"), r.email), chromedp.SendKeys(chromedp.ID("f-password"), password),
					// Only signed-in pages have the navigation, so this waits for
					// home (on a phone it is folded behind the Menu button: in the
					// page, not visible).
					chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)), chromedp.WaitReady(chromedp.CSS("nav.sidenav")))
				if h := eval(`document.querySelector("main h1").textContent`); !strings.HasPrefix(h, "Welcome") {
					t.Fatalf("after sign-in the heading is %q", h)
				}
				for _, id := range r.want {
					if eval(`String(!!document.getElementById("`+id+`"))`) != "true" {
						t.Errorf("home lacks #%s", id)
					}
				}
				for _, id := range r.not {
					if eval(`String(!!document.getElementById("`+id+`"))`) != "false" {
						t.Errorf("home has #%s, which is not for a %s", id, r.name)
					}
				}
				// No placeholders: every navigation entry leads to a page.
				if nav := eval(`Array.from(document.querySelectorAll("nav.sidenav a")).map(a => a.getAttribute("href")).join(" ")`); strings.Contains(nav, "/monitoring") {
					t.Errorf("navigation: %s", nav)
				}
				fits("home")
				shot("home")
				if r.name == "trust" {
					do("organisation page", chromedp.Navigate(base+"/orgs/RJ1"), chromedp.WaitVisible(chromedp.ID("org-exposure")))
					fits("organisation page")
					shot("org")
				}
			})
		}
	}
	t.Logf("screenshots in %s", dir)
}
