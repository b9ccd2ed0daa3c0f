package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/scope"
)

// measureText is run in the page: for every picture in main it gives the
// smallest text as the screen shows it, in CSS px. An <img> is fetched
// again from the address the browser chose (currentSrc: the phone variant
// where a <source> matched), and its smallest font-size is scaled by the
// image's shown width over its viewBox; inline SVG texts are measured by
// their screen transform.
const measureText = `(async () => {
  const out = [];
  for (const img of document.querySelectorAll("main img.picture")) {
    const src = img.currentSrc || img.src;
    // Read as text, not parsed into a document: the picture's own
    // attributes are all that is needed.
    const svg = await (await fetch(src)).text();
    const vb = (svg.match(/viewBox="([^"]*)"/) || ["", "0 0 0 0"])[1].split(/\s+/).map(Number);
    const sizes = Array.from(svg.matchAll(/<text[^>]* font-size="([0-9.]+)"/g)).map(m => Number(m[1]));
    const k = img.getBoundingClientRect().width / vb[2];
    out.push({what: src, min: Math.min(...sizes) * k, width: img.getBoundingClientRect().width});
  }
  for (const svg of document.querySelectorAll("main svg[viewBox]")) {
    let min = Infinity;
    for (const t of svg.querySelectorAll("text")) {
      const ctm = t.getScreenCTM();
      min = Math.min(min, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b));
    }
    out.push({what: "inline " + (svg.getAttribute("aria-labelledby") || ""), min: min, width: svg.getBoundingClientRect().width});
  }
  return JSON.stringify(out);
})()`

// TestPhonePictures opens every page of the Suppliers area that shows a
// chart, map or graph at phone width (375 px) and checks that the
// smallest text of each picture is shown at 12 CSS px or more — the pages
// offer phone variants through <picture>, and the graph scrolls at a
// readable size — and that every page offered a picture. Screenshots are
// saved (VIGIL_SCREENSHOTS=dir keeps them).
func TestPhonePictures(t *testing.T) {
	requireChromium(t)
	e := newSupplyEnv(t)
	for range 2 { // two snapshots, so the concentration page draws a trend
		if _, err := e.supply.RecordSnapshot(context.Background(), scope.System("test")); err != nil {
			t.Fatal(err)
		}
	}
	maps := importBoundaries(t, e)
	dir := screenshotDir(t)
	const width, height = 375, 812
	b := openBrowser(t, e.srv.URL, dir, width, height, 150*time.Second)
	ctx, do := b.ctx, b.do
	b.signIn("nat@supply.test", chromedp.WaitReady(chromedp.CSS(`form[action="/signout"]`)))

	for _, pg := range []struct {
		name, path, ready string
		pictures          int // how many pictures the page shows
		needMaps          bool
	}{
		{"p01-impact", "/suppliers/impact?supplier=SYNNOVIS", "result", 1, true},
		{"p02-map-icb", "/suppliers/map?supplier=SYNNOVIS&level=icb", "values", 1, true},
		{"p03-map-region", "/suppliers/map?product=EMIS-WEB&level=region&metric=population", "values", 1, true},
		{"p04-concentration", "/suppliers/concentration?service=gp-clinical&by=icb", "groups", 2, true},
		{"p05-hhi", "/suppliers/concentration?service=gp-clinical&by=icb&chart=hhi", "groups", 2, true},
		{"p06-trend", "/suppliers/concentration?service=gp-clinical&by=icb&group=QKK", "trend", 3, true},
		{"p07-graph", "/suppliers/graph?node=supplier:SYNNOVIS&depth=2", "nodes", 1, false},
		{"p08-supplier", "/suppliers/s/SYNNOVIS", "products", 1, false},
		{"p09-product", "/suppliers/p/EMIS-WEB", "h1", 1, false},
	} {
		if pg.needMaps && !maps {
			continue
		}
		ready := chromedp.WaitVisible(chromedp.ID(pg.ready))
		if pg.ready == "h1" {
			ready = chromedp.WaitVisible(chromedp.CSS("h1"))
		}
		do(pg.name, chromedp.Navigate(b.base+pg.path), ready,
			chromedp.Poll[chromedp.Void](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second)))
		js, err := chromedp.Run(ctx, chromedp.Evaluate[string](measureText, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: measure: %v", pg.name, err)
		}
		var got []struct {
			What       string
			Min, Width float64
		}
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatalf("%s: %v in %s", pg.name, err, js)
		}
		if len(got) < pg.pictures {
			t.Errorf("%s: %d pictures measured, want %d: %s", pg.name, len(got), pg.pictures, js)
		}
		for _, p := range got {
			if !(p.Min >= 12) {
				t.Errorf("%s: %s shows its smallest text at %.1f px (shown %.0f px wide); want 12 or more", pg.name, p.What, p.Min, p.Width)
			}
			t.Logf("%s: %s smallest text %.1f px, %.0f px wide", pg.name, p.What, p.Min, p.Width)
		}
		// The whole page, and the screen with its first picture at the top.
		b.shot(pg.name)
		do(pg.name+" scroll", chromedp.Evaluate[chromedp.Void](`document.querySelector("main picture, main .graph").scrollIntoView()`))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", pg.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-picture-%dx%d.png", pg.name, width, height)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
}
