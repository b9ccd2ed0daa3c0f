package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigil-health/vigil/internal/scope"
)

// TestFrameBrowser drives the frame in headless Chromium at a desktop
// (1280 px) and a phone (390 px) width: on the audit log it sorts by the
// numeric # column both ways and filters the rows (checking the live
// count), on a phone it opens and closes the navigation with the keyboard,
// and on every page of the frame it checks that nothing is wider than the
// window. Screenshots of each page are kept with VIGIL_SCREENSHOTS=dir.
func TestFrameBrowser(t *testing.T) {
	requireChromium(t)
	e := newEnv(t, envOptions{})
	// Tokens, so the account page shows its table.
	for _, name := range []string{"SIEM export", "Laptop"} {
		if _, _, err := e.auth.CreateToken(context.Background(), scope.System("test"), e.users["admin@vigil.test"], name, 90*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprintf("%dpx", vp.w), func(t *testing.T) {
			browseFrame(t, e, dir, vp.w, vp.h)
		})
	}
	t.Run("390px without script", func(t *testing.T) { browseFrameNoScript(t, e, dir) })
	t.Logf("screenshots in %s", dir)
}

// fits fails the test when the page is wider than the window (a sideways
// scroll on a phone).
func (b *browser) fits(page string) {
	b.t.Helper()
	w := eval[int64](b, `document.documentElement.scrollWidth`)
	if w > b.width {
		wide := eval[string](b, `(function(){var out=[];document.querySelectorAll('body *').forEach(function(el){var r=el.getBoundingClientRect();if(r.right>window.innerWidth+1&&out.length<5){out.push(el.tagName+'.'+el.className+' right='+Math.round(r.right));}});return out.join('; ');})()`)
		b.t.Errorf("%s is %d px wide in a %d px window; widest: %s", page, w, b.width, wide)
	}
}

// framePages are the pages of the frame: what this test owns the look of.
func framePages(e *env) [][2]string {
	return [][2]string{
		{"admin", "/admin"},
		{"users", "/admin/users"},
		{"user", "/admin/users/" + e.users["analyst@leeds.test"]},
		{"audit", "/admin/audit"},
		{"account", "/account"},
		{"orgs-search", "/orgs?q=leeds&closed=1"},
		{"orgs-tree", "/orgs"},
		{"home", "/"},
		{"not-found", "/orgs/NOPE1"},
	}
}

var countRE = regexp.MustCompile(`^(\d+) of (\d+) rows$`)

func browseFrame(t *testing.T, e *env, dir string, width, height int64) {
	b := openBrowser(t, e.srv.URL, dir, width, height, 120*time.Second)
	b.file = func(label string) string { return fmt.Sprintf("frame-%s-%d", label, width) }
	// Only signed-in pages have the navigation (folded away on a phone, so
	// it is waited for in the document, not on screen).
	b.signIn("admin@vigil.test", chromedp.WaitReady(chromedp.ID("sidenav")))
	phone := width <= 640

	for _, p := range framePages(e) {
		b.do("open "+p[0], chromedp.Navigate(b.base+p[1]), chromedp.WaitVisible(chromedp.CSS("main h1")))
		b.fits(p[0])
		b.shot(p[0])
	}

	// Sort the audit log by its numeric # column, both ways.
	b.do("audit", chromedp.Navigate(b.base+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("table.data-table.is-enhanced")))
	seqs := func() []int {
		t.Helper()
		s := eval[string](b, `Array.prototype.map.call(document.querySelectorAll('table.data-table tbody tr:not([hidden]) td:first-child'), function(td){return td.getAttribute('data-sort');}).join(',')`)
		var out []int
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("data-sort %q of the # column: %v", f, err)
			}
			out = append(out, n)
		}
		return out
	}
	sorted := func(xs []int, asc bool) bool {
		for i := 1; i < len(xs); i++ {
			if (asc && xs[i-1] > xs[i]) || (!asc && xs[i-1] < xs[i]) {
				return false
			}
		}
		return len(xs) > 5
	}
	if !sorted(seqs(), false) {
		t.Fatalf("the audit log does not start newest first: %v", seqs())
	}
	hash := `table.data-table thead th:first-child`
	b.do("sort by #", chromedp.Click(chromedp.CSS(hash+" button")))
	if got := seqs(); !sorted(got, true) {
		t.Errorf("after sorting by #: %v, want ascending", got)
	}
	if s := eval[string](b, `document.querySelector('`+hash+`').getAttribute('aria-sort')`); s != "ascending" {
		t.Errorf("aria-sort = %q after one click, want ascending", s)
	}
	// Again, by keyboard: the heading's button takes Enter.
	b.do("sort by # again", chromedp.Focus(chromedp.CSS(hash+" button")), chromedp.KeyEvent(kb.Enter))
	if got := seqs(); !sorted(got, false) {
		t.Errorf("after sorting by # again: %v, want descending", got)
	}
	if s := eval[string](b, `document.querySelector('`+hash+`').getAttribute('aria-sort')`); s != "descending" {
		t.Errorf("aria-sort = %q after two sorts, want descending", s)
	}
	// A text column sorts too, and the # heading gives up its aria-sort.
	b.do("sort by what", chromedp.Click(chromedp.CSS(`table.data-table thead th:nth-child(3) button`)))
	if s := eval[string](b, `String(document.querySelector('`+hash+`').getAttribute('aria-sort'))`); s != "null" {
		t.Errorf("# heading keeps aria-sort %q after sorting by another column", s)
	}
	b.shot("audit-sorted")

	// Filter: only the sign-ins are left, and the live count says so.
	total := eval[int](b, `document.querySelectorAll('table.data-table tbody tr').length`)
	b.do("filter", chromedp.SendKeys(chromedp.CSS(".table-tools input"), "signed in"))
	visible := eval[int](b, `document.querySelectorAll('table.data-table tbody tr:not([hidden])').length`)
	count := eval[string](b, `document.querySelector('.table-count').textContent`)
	m := countRE.FindStringSubmatch(count)
	if m == nil || m[1] != strconv.Itoa(visible) || m[2] != strconv.Itoa(total) || visible == 0 || visible == total {
		t.Errorf("filtered: count %q with %d of %d rows shown", count, visible, total)
	}
	if bad := eval[int](b, `Array.prototype.filter.call(document.querySelectorAll('table.data-table tbody tr:not([hidden])'), function(r){return r.textContent.indexOf('signed in')<0;}).length`); bad != 0 {
		t.Errorf("%d shown rows do not contain the filter text", bad)
	}
	if live := eval[string](b, `document.querySelector('.table-count').getAttribute('aria-live')`); live != "polite" {
		t.Errorf("the count is not a live region: aria-live=%q", live)
	}
	if l := eval[string](b, `(function(){var i=document.querySelector('.table-tools input');return document.querySelector('label[for="'+i.id+'"]').textContent;})()`); l == "" {
		t.Error("the filter box has no label")
	}
	b.fits("audit filtered")
	b.shot("audit-filtered")
	b.do("clear filter", chromedp.Evaluate[chromedp.Void](`(function(){var i=document.querySelector('.table-tools input');i.value='';i.dispatchEvent(new Event('input'));})()`))
	if c := eval[string](b, `document.querySelector('.table-count').textContent`); c != fmt.Sprintf("%d rows", total) {
		t.Errorf("count after clearing the filter: %q", c)
	}

	// The navigation: always shown on a desktop; on a phone behind a
	// Menu button that the keyboard opens and closes.
	navShown := func() bool {
		return eval[bool](b, `document.getElementById('sidenav').getBoundingClientRect().height > 0`)
	}
	menuShown := func() bool {
		return eval[bool](b, `document.querySelector('.menu-button').getBoundingClientRect().width > 0`)
	}
	expanded := func() string {
		return eval[string](b, `document.querySelector('.menu-button').getAttribute('aria-expanded')`)
	}
	b.do("users", chromedp.Navigate(b.base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if !phone {
		if !navShown() || menuShown() {
			t.Errorf("desktop: navigation shown %v, menu button shown %v", navShown(), menuShown())
		}
		return
	}
	if navShown() || !menuShown() || expanded() != "false" {
		t.Fatalf("phone: navigation shown %v, menu button shown %v, aria-expanded %q; want it folded behind the button", navShown(), menuShown(), expanded())
	}
	// Tab from the skip link until the menu button has focus.
	b.do("focus the page", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	reached := false
	for i := 0; i < 12 && !reached; i++ {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		reached = eval[bool](b, `document.activeElement === document.querySelector('.menu-button')`)
	}
	if !reached {
		t.Fatal("Tab never reached the menu button")
	}
	b.do("open the menu", chromedp.KeyEvent(kb.Enter))
	if !navShown() || expanded() != "true" {
		t.Fatalf("after Enter: navigation shown %v, aria-expanded %q", navShown(), expanded())
	}
	// The next Tab goes into the navigation.
	b.do("tab into the menu", chromedp.KeyEvent(kb.Tab))
	if in := eval[bool](b, `document.getElementById('sidenav').contains(document.activeElement)`); !in {
		t.Error("Tab after opening the menu does not reach its first link")
	}
	b.fits("open menu")
	b.shot("menu-open")
	b.do("close the menu", chromedp.KeyEvent(kb.Escape))
	if navShown() || expanded() != "false" {
		t.Errorf("after Escape: navigation shown %v, aria-expanded %q", navShown(), expanded())
	}
	if back := eval[bool](b, `document.activeElement === document.querySelector('.menu-button')`); !back {
		t.Error("Escape does not return focus to the menu button")
	}
	b.do("space opens", chromedp.KeyEvent(" "))
	if !navShown() || expanded() != "true" {
		t.Errorf("after Space: navigation shown %v, aria-expanded %q", navShown(), expanded())
	}
	b.do("space closes", chromedp.KeyEvent(" "))
	if navShown() || expanded() != "false" {
		t.Errorf("after Space again: navigation shown %v, aria-expanded %q", navShown(), expanded())
	}

	// A stacked table: each cell shows its column's name.
	b.do("users", chromedp.Navigate(b.base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table.data-table")))
	if label := eval[string](b, `getComputedStyle(document.querySelector('table.data-table tbody td'), '::before').content`); label != `"Name"` {
		t.Errorf("first cell of a stacked row shows %s before it, want \"Name\"", label)
	}
	if d := eval[string](b, `getComputedStyle(document.querySelector('table.data-table tbody tr')).display`); d != "block" {
		t.Errorf("rows of a data table on a phone have display %q, want block (one card a row)", d)
	}
}

// browseFrameNoScript: with scripting off, the phone's navigation is still
// there (a bar of links) and the tables are plain tables.
func browseFrameNoScript(t *testing.T, e *env, dir string) {
	b := openBrowser(t, e.srv.URL, dir, 390, 844, 60*time.Second)
	b.file = func(label string) string { return fmt.Sprintf("frame-%s-390-noscript", label) }
	b.signIn("admin@vigil.test", chromedp.WaitReady(chromedp.ID("sidenav")))
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn scripts off: %v", err)
	}
	b.do("users without script", chromedp.Navigate(b.base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if n := eval[int](b, `document.querySelectorAll('#sidenav a').length`); n < 3 {
		t.Fatalf("%d navigation links", n)
	}
	// Evaluate runs even with page scripts off.
	if shown := eval[bool](b, `document.querySelector('#sidenav a').getBoundingClientRect().height > 0`); !shown {
		t.Error("without the script the navigation is hidden on a phone")
	}
	if hidden := eval[bool](b, `document.querySelector('.menu-button').getBoundingClientRect().width === 0`); !hidden {
		t.Error("without the script the menu button (which could do nothing) is shown")
	}
	if n := eval[int](b, `document.querySelectorAll('.table-tools, .sort-button').length`); n != 0 {
		t.Errorf("%d filter boxes or sort buttons without the script", n)
	}
	b.fits("users without script")
	b.shot("users")
}
