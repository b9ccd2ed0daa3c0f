package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/cases"
)

// TestCasesBrowser drives the Alerts and Cases areas in headless Chromium
// at a desktop (1280 px) and a phone (375 px) width as a trust analyst:
// filter the inbox, tick two alerts and open a case from the phishing
// template, add a task and a comment, try to close the case without the
// template's required field (the error names it), then close it. Nothing
// may be wider than the window. Screenshots are kept with
// VIGIL_SCREENSHOTS=dir.
func TestCasesBrowser(t *testing.T) {
	requireChromium(t)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {375, 812}} {
		t.Run(fmt.Sprintf("%dpx", vp.w), func(t *testing.T) {
			e := newEnv(t, envOptions{cases: true})
			ip := cases.Observable{Type: cases.ObsDomain, Value: "invoices-portal.example"}
			seedAlert(t, e.cases, "RR8", "mg-1", "Invoice lure sent to finance team", cases.High, ip)
			seedAlert(t, e.cases, "RR8", "mg-2", "Invoice lure sent to estates", cases.Medium, ip)
			seedAlert(t, e.cases, "RR8", "mg-3", "Parcel delivery lure", cases.Low)
			seedAlert(t, e.cases, "RR8", "mg-4", "Voicemail lure with a long title that has to wrap on a phone screen", cases.Info)
			seedAlert(t, e.cases, "RAE", "mg-b", "Bradford invoice lure", cases.Critical)
			b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 120*time.Second)
			browseCases(b, vp.h)
		})
	}
	t.Logf("screenshots in %s", dir)
}

// navigates runs actions that load a new page and waits for it: the old
// page is marked first, so waiting cannot be satisfied by what it held.
func navigates(actions ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
	out := []chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](`document.body.setAttribute('data-stale', '1')`)}
	out = append(out, actions...)
	return append(out, chromedp.WaitNotPresent(chromedp.CSS("body[data-stale]")), chromedp.WaitReady(chromedp.CSS("footer")))
}

func browseCases(b *browser, height int64) {
	t := b.t
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	b.do("sign in",
		chromedp.EmulateViewport(b.width, height),
		chromedp.Navigate(b.base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), "analyst@leeds.test"),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitReady(chromedp.ID("sidenav")))

	// The inbox, then filtered by a word.
	b.do("inbox", chromedp.Navigate(b.base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("table.table-alerts")))
	if s := text("#count"); !strings.Contains(s, "4 alerts") {
		t.Errorf("inbox count: %q", s)
	}
	b.fits("inbox")
	b.shot("alerts-inbox")
	b.do("filter", navigates(
		chromedp.SendKeys(chromedp.ID("f-q"), "invoice"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))...)
	rows := text("table.table-alerts tbody")
	if !strings.Contains(rows, "Invoice lure sent to finance team") || strings.Contains(rows, "Parcel") || strings.Contains(rows, "Bradford") {
		t.Errorf("filtered rows:\n%s", rows)
	}
	b.fits("filtered inbox")
	b.shot("alerts-filtered")

	// Tick both (on a desktop with the heading's "select all" box, which
	// the script adds) and open a case from the phishing template.
	if b.width >= 1000 {
		b.do("select all", chromedp.Click(chromedp.CSS(`table.table-alerts thead input.select-all`)))
		if n := eval[int](b, `document.querySelectorAll('table.table-alerts tbody input[name="ids"]:checked').length`); n != 2 {
			t.Fatalf("select all ticked %d alerts, want 2", n)
		}
	} else {
		b.do("tick",
			chromedp.Click(chromedp.CSS(`table.table-alerts tbody tr:nth-child(1) input[name="ids"]`)),
			chromedp.Click(chromedp.CSS(`table.table-alerts tbody tr:nth-child(2) input[name="ids"]`)))
	}
	b.do("open a case", navigates(
		chromedp.SetValue(chromedp.ID("f-template"), "phishing"),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="new-case"]`)))...)
	if s := text(".notice"); !strings.Contains(s, "Case opened") {
		t.Errorf("after opening the case: %q", s)
	}
	if s := text("section#alerts"); strings.Count(s, "AL-") != 2 {
		t.Errorf("the case holds: %q", s)
	}
	if s := text("section#observables"); !strings.Contains(s, "invoices-portal.example") {
		t.Errorf("observables: %q", s)
	}

	// A task and a comment.
	b.do("add task", navigates(
		chromedp.Click(chromedp.CSS(`section#tasks details.add-form > summary`)),
		chromedp.WaitVisible(chromedp.ID("f-task-title")),
		chromedp.SendKeys(chromedp.ID("f-task-title"), "Ring the finance team"),
		chromedp.Submit(chromedp.ID("f-task-title")))...)
	if s := text("section#tasks"); !strings.Contains(s, "Ring the finance team") {
		t.Errorf("tasks: %q", s)
	}
	b.do("comment", navigates(
		chromedp.SendKeys(chromedp.ID("f-comment-body"), "Both lures came from the same **portal**."),
		chromedp.Click(chromedp.CSS(`form.comment-form button[type="submit"]`)))...)
	if s := text("section#comments"); !strings.Contains(s, "Both lures came from the same portal.") {
		t.Errorf("comments: %q", s)
	}

	// Close without the required field: the error names it.
	b.do("close too soon", navigates(
		chromedp.SetValue(chromedp.ID("f-close-resolution"), "true-positive"),
		chromedp.SetValue(chromedp.ID("f-close-impact"), "minor"),
		chromedp.Click(chromedp.CSS(`form.close-form button[type="submit"]`)))...)
	if s := text(".error-summary"); !strings.Contains(s, "“Recipients who clicked or replied” is required to close a phishing case") {
		t.Errorf("error summary: %q", s)
	}
	if s := text("#f-close-field-clicked-error"); !strings.Contains(s, "Recipients who clicked or replied") {
		t.Errorf("field error: %q", s)
	}
	b.fits("case with an error")
	b.shot("case-close-error")

	// Now with the fields: closed.
	b.do("close", navigates(
		chromedp.SetValue(chromedp.ID("f-close-field-clicked"), "1"),
		chromedp.SetValue(chromedp.ID("f-close-field-credentials_entered"), "false"),
		chromedp.SetValue(chromedp.ID("f-close-resolution"), "true-positive"),
		chromedp.SetValue(chromedp.ID("f-close-impact"), "minor"),
		chromedp.Click(chromedp.CSS(`form.close-form button[type="submit"]`)))...)
	if s := text(".case-marks"); !strings.Contains(s, "Closed") {
		t.Errorf("after closing: %q", s)
	}
	if s := text("section#details"); !strings.Contains(s, "True positive, impact Minor") {
		t.Errorf("details after closing: %q", s)
	}
	b.fits("closed case")
	b.shot("case-closed")

	// The case list.
	b.do("cases", chromedp.Navigate(b.base+"/cases"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	b.fits("cases")
	b.shot("cases-list")
}
