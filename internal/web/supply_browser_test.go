package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/scope"
)

// TestSupplyBrowser opens the Suppliers area's pictures in headless
// Chromium — the blast radius with its map, the interactive graph, the
// map page and the concentration charts — checks the graph's script and
// that the pages break no Content-Security-Policy rule, and saves
// screenshots (VIGIL_SCREENSHOTS=dir keeps them).
func TestSupplyBrowser(t *testing.T) {
	requireChromium(t)
	e := newSupplyEnv(t)
	for range 2 { // two snapshots, so the concentration page draws a trend
		if _, err := e.supply.RecordSnapshot(context.Background(), scope.System("test")); err != nil {
			t.Fatal(err)
		}
	}
	if !importBoundaries(t, e) {
		t.Log("no ONS boundaries on this machine: the map shows its table only")
	}
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1366, 900}, {800, 1100}} {
		t.Run(fmt.Sprintf("%dx%d", vp.w, vp.h), func(t *testing.T) {
			browseSupply(t, e, dir, vp.w, vp.h)
		})
	}
	t.Logf("screenshots in %s", dir)
}

func browseSupply(t *testing.T, e *env, dir string, width, height int64) {
	b := openBrowser(t, e.srv.URL, dir, width, height, 120*time.Second)
	ctx, base, do, eval, shot := b.ctx, b.base, b.do, b.evalText, b.shot
	// Nothing makes the page wider than the window: tables and the graph
	// scroll in their own boxes.
	fits := func(what string) {
		t.Helper()
		if w := eval(`String(document.documentElement.scrollWidth) + " " + Array.from(document.querySelectorAll("body *")).filter(e => !e.closest(".table-wrap, .graph") && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className).join(",")`); !strings.HasPrefix(w, fmt.Sprint(width)+" ") {
			t.Errorf("%s: page wider than the window: %s", what, w)
		}
	}
	// Every <img> on the page loaded (a broken picture has naturalWidth 0).
	imagesLoaded := func(what string) {
		t.Helper()
		fits(what)
		if bad := eval(`Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src).join(" ")`); bad != "" {
			t.Errorf("%s: pictures that did not load: %s", what, bad)
		}
	}

	do("sign in", chromedp.EmulateViewport(width, height), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), "nat@supply.test"),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("nav.sidenav")))

	do("overview", chromedp.Navigate(base+"/suppliers"), chromedp.WaitVisible(chromedp.ID("systemic")))
	fits("overview")
	shot("s01-suppliers")

	// The blast-radius form, used as a person would.
	do("impact form", chromedp.Navigate(base+"/suppliers/impact"), chromedp.WaitVisible(chromedp.ID("f-q")),
		chromedp.SetValue(chromedp.ID("f-by"), "supplier"),
		chromedp.SendKeys(chromedp.ID("f-q"), "SYNNOVIS"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.table-impact")))
	do("map picture", chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("impact")
	if s := eval(`document.querySelector("table.table-impact").innerText`); !strings.Contains(s, "RJ1") || !strings.Contains(s, "Hard-down") || !strings.Contains(s, "→") {
		t.Errorf("impact table: %.500s", s)
	}
	shot("s02-impact")

	// The graph: an inline picture whose boxes are links; hovering one
	// highlights its neighbours (the script), and "one step more" expands.
	do("graph", chromedp.Navigate(base+"/suppliers/graph?node=supplier:SYNNOVIS&depth=2"), chromedp.WaitVisible(chromedp.CSS("[data-graph] svg")))
	fits("graph")
	shot("s03-graph")
	do("hover", chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-node="product:SYN-LIMS"]').dispatchEvent(new MouseEvent("mouseover", {bubbles: true}))`))
	if got := eval(`document.querySelector("[data-graph]").className + " | " + document.querySelectorAll("[data-graph] .vz-hl").length`); !strings.Contains(got, "vz-focus") || strings.HasSuffix(got, " 0") {
		t.Errorf("hovering a node: %q, want the graph in focus mode with highlighted neighbours", got)
	}
	shot("s04-graph-hover")
	do("expand", chromedp.Click(chromedp.CSS(`.graph-steps a:last-child`)), chromedp.WaitVisible(chromedp.CSS("[data-graph] svg")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "depth=3") {
		t.Errorf("expand went to %s", loc)
	}
	// Keyboard: a node is a link and follows.
	do("recentre", chromedp.Navigate(base+"/suppliers/graph?node=org:G85004&depth=3"), chromedp.WaitVisible(chromedp.CSS("[data-graph] svg")))
	shot("s05-graph-org")

	do("map", chromedp.Navigate(base+"/suppliers/map?supplier=SYNNOVIS&level=icb"), chromedp.WaitVisible(chromedp.ID("values")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("map")
	shot("s06-map")
	do("map by region", chromedp.Navigate(base+"/suppliers/map?product=EMIS-WEB&level=region&metric=population"), chromedp.WaitVisible(chromedp.ID("values")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("map by region")
	shot("s07-map-region")

	do("concentration", chromedp.Navigate(base+"/suppliers/concentration?service=gp-clinical&by=icb"), chromedp.WaitVisible(chromedp.ID("groups")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("concentration")
	shot("s08-concentration")
	do("hhi", chromedp.Navigate(base+"/suppliers/concentration?service=gp-clinical&by=icb&chart=hhi"), chromedp.WaitVisible(chromedp.ID("groups")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("hhi")
	shot("s09-hhi")

	do("trend", chromedp.Navigate(base+"/suppliers/concentration?service=gp-clinical&by=icb&group=QKK"), chromedp.WaitVisible(chromedp.ID("trend")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("trend")
	if s := eval(`document.querySelector("section[aria-labelledby=trend] table").innerText`); !strings.Contains(s, "5,313") || !strings.Contains(s, "EMIS Health") {
		t.Errorf("trend table: %.300s", s)
	}
	shot("s09b-trend")

	do("supplier", chromedp.Navigate(base+"/suppliers/s/SYNNOVIS"), chromedp.WaitVisible(chromedp.ID("products")), chromedp.Sleep(300*time.Millisecond))
	imagesLoaded("supplier")
	shot("s10-supplier")
	do("import", chromedp.Navigate(base+"/suppliers/import"), chromedp.WaitVisible(chromedp.ID("f-files")))
	fits("import")
	shot("s11-import")
}

// TestSupplyLookupBrowser types a supplier's name with a typo into the
// blast-radius form as a person would, sees the form kept with "did you
// mean" and the suggestion list, follows the suggestion, and loads the
// blast radius at phone width (390 px): nothing may be wider than the
// screen (tables scroll in their own boxes, or stack). Screenshots are
// saved for looking at (VIGIL_SCREENSHOTS=dir keeps them).
func TestSupplyLookupBrowser(t *testing.T) {
	requireChromium(t)
	e := newSupplyEnv(t)
	hostLIMSOnAWS(t, e)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprintf("%dx%d", vp.w, vp.h), func(t *testing.T) {
			lookupInBrowser(t, e, dir, vp.w, vp.h)
		})
	}
	t.Logf("screenshots in %s", dir)
}

func lookupInBrowser(t *testing.T, e *env, dir string, width, height int64) {
	b := openBrowser(t, e.srv.URL, dir, width, height, 90*time.Second)
	base, do, eval, shot := b.base, b.do, b.evalText, b.shot
	// Nothing of the page's own content (main) is wider than the window,
	// save what scrolls in its own box. The frame around it (header,
	// organisation switcher, navigation) is the frame's to fit, and is
	// reported, not failed, here.
	fits := func(what string) {
		t.Helper()
		const over = `.filter(e => !e.closest(".table-wrap, .graph") && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className).join(",")`
		if w := eval(`Array.from(document.querySelectorAll("main *"))` + over); w != "" {
			t.Errorf("%s: the page is wider than the window: %s", what, w)
		}
		if w := eval(`String(document.documentElement.scrollWidth) + " " + Array.from(document.querySelectorAll("body *"))` + over); !strings.HasPrefix(w, fmt.Sprint(width)+" ") {
			t.Logf("%s: the frame is wider than the window (the frame's layout): %s", what, w)
		}
	}

	do("sign in", chromedp.EmulateViewport(width, height), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), "nat@supply.test"),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitReady(chromedp.CSS(`form[action="/signout"]`)))

	// The blank form offers suggestions with the page: no script needed.
	do("impact form", chromedp.Navigate(base+"/suppliers/impact"), chromedp.WaitVisible(chromedp.ID("f-q")))
	if got := eval(`document.getElementById("f-q").getAttribute("list") + " " + document.querySelectorAll("#f-q-list option").length`); got != "f-q-list 10" {
		t.Errorf("suggestions with the blank form: %q, want the ten suppliers", got)
	}
	fits("blank form")
	shot("l01-impact-form")

	// A typo: the form comes back as typed, saying what it may have meant.
	do("typo", chromedp.SetValue(chromedp.ID("f-by"), "supplier"),
		chromedp.SendKeys(chromedp.ID("f-q"), "Synovis"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	if s := eval(`document.querySelector(".error-summary").innerText`); !strings.Contains(s, "No supplier called “Synovis”") || !strings.Contains(s, "Did you mean Synnovis Analytics LLP SYNNOVIS?") {
		t.Errorf("typo message: %q", s)
	}
	if v := eval(`document.getElementById("f-q").value + " | " + document.querySelector("#f-q-list option").value`); v != "Synovis | SYNNOVIS" {
		t.Errorf("the form kept %q, want what was typed and SYNNOVIS suggested first", v)
	}
	fits("typo")
	shot("l02-impact-typo")

	// The suggestion answers the question.
	do("follow the suggestion", chromedp.Click(chromedp.CSS(`.error-summary a[href="/suppliers/impact?supplier=SYNNOVIS"]`)),
		chromedp.WaitVisible(chromedp.ID("result")))
	if s := eval(`document.getElementById("result").innerText`); s != "If Synnovis Analytics LLP is compromised" {
		t.Errorf("after the suggestion: %q", s)
	}
	if s := eval(`document.querySelector("table.table-impact").innerText`); !strings.Contains(s, "RJ1") || !strings.Contains(s, "Synnovis pathology LIMS") {
		t.Errorf("impact table: %.300s", s)
	}
	fits("impact")
	shot("l03-impact")

	// A product reached through several paths: the shared start once.
	do("aws", chromedp.Navigate(base+"/suppliers/impact?supplier=aws"), chromedp.WaitVisible(chromedp.ID("result")))
	// Practice One uses EMIS Web and the LIMS, both hosted on AWS: the
	// shared start once, then the two branches.
	if s := eval(`Array.from(document.querySelectorAll("table.table-impact tr")).filter(r => r.innerText.includes("G85001")).map(r => r.querySelector(".path-tree").innerText.replace(/\s+/g, " ")).join("")`); s !=
		"Amazon Web Services → then AWS eu-west-2 → then one of EMIS Web (GP clinical system, critical, no fallback) Synnovis pathology LIMS and managed service (Pathology, high, no fallback)" {
		t.Errorf("aws: G85001's paths read %q", s)
	}
	fits("aws")
	shot("l04-impact-grouped")

	// The Map tab opens on its form, not an error.
	do("map tab", chromedp.Navigate(base+"/suppliers/map"), chromedp.WaitVisible(chromedp.ID("f-q")))
	if n := eval(`String(document.querySelectorAll(".error-summary").length)`); n != "0" {
		t.Errorf("the map tab opens on an error")
	}
	fits("map tab")
	shot("l05-map-tab")
}
