package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowser drives the UI in headless Chromium at a laptop and a tablet
// width: sign in through the form, open levels of the organisation tree
// (loaded by the script), search, create a token, and visit the admin
// pages, saving a screenshot of each. Set VIGIL_SCREENSHOTS=dir to keep
// them.
func TestBrowser(t *testing.T) {
	requireChromium(t)
	e := newEnv(t, envOptions{})
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1366, 900}, {800, 1100}} {
		t.Run(fmt.Sprintf("%dx%d", vp.w, vp.h), func(t *testing.T) {
			browse(t, e, dir, vp.w, vp.h)
		})
	}
	t.Logf("screenshots in %s", dir)
}

func browse(t *testing.T, e *env, dir string, width, height int64) {
	b := openBrowser(t, e.srv.URL, dir, width, height, 90*time.Second)
	ctx, base, do, shot := b.ctx, b.base, b.do, b.shot
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	do("open sign-in", chromedp.EmulateViewport(width, height), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")))
	shot("01-signin")

	// A wrong password first: the message, with the e-mail kept.
	do("wrong password",
		chromedp.SendKeys(chromedp.ID("f-email"), "admin@vigil.test"),
		chromedp.SendKeys(chromedp.ID("f-password"), "wrong password"),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	if s := text(".error-summary"); !strings.Contains(s, "not recognised") {
		t.Errorf("error summary after a wrong password: %q", s)
	}
	do("sign in",
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		// Only signed-in pages have the navigation, so this waits for home.
		chromedp.WaitVisible(chromedp.CSS("nav.sidenav")))
	if h := text("main h1"); !strings.Contains(h, "Welcome, Ada Admin") {
		t.Fatalf("after sign-in the heading is %q", h)
	}

	// The first Tab reaches the skip link.
	do("tab", chromedp.KeyEvent(kb.Tab))
	if c, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`)); err != nil || c != "skip-link" {
		t.Errorf("first Tab focuses %q (%v), want the skip link", c, err)
	}
	do("untab", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	shot("02-home")

	// The tree: open the region and the ICB, each level loaded by the script.
	do("open tree", chromedp.Navigate(base+"/orgs"), chromedp.WaitVisible(chromedp.ID("n-Y63")))
	do("open region",
		chromedp.Click(chromedp.CSS("#n-Y63 > details > summary")),
		chromedp.WaitVisible(chromedp.ID("n-QWO")))
	do("open ICB",
		chromedp.Click(chromedp.CSS("#n-QWO > details > summary")),
		chromedp.WaitVisible(chromedp.ID("n-RR8")))
	tree := text(".tree-root")
	for _, want := range []string{"Leeds Teaching Hospitals NHS Trust", "Bradford Teaching Hospitals NHS Foundation Trust", "NHS West Yorkshire ICB - 15F Leeds"} {
		if !strings.Contains(tree, want) {
			t.Errorf("tree lacks %q:\n%s", want, tree)
		}
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/orgs" {
		t.Errorf("opening tree levels navigated to %s; the script should have loaded them in place", loc)
	}
	shot("03-orgs-tree")

	do("search",
		chromedp.SendKeys(chromedp.ID("f-q"), "teaching"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.table-dense")))
	results := text("table.table-dense")
	for _, want := range []string{"RR8", "RAE", "Leeds Teaching Hospitals NHS Trust", "NHS West Yorkshire Integrated Care Board"} {
		if !strings.Contains(results, want) {
			t.Errorf("search results lack %q:\n%s", want, results)
		}
	}
	shot("04-orgs-search")

	do("organisation page", chromedp.Navigate(base+"/orgs/RR8"), chromedp.WaitVisible(chromedp.CSS(".breadcrumbs")))
	shot("05-org")
	do("work on the organisation",
		chromedp.Click(chromedp.CSS(`main form[action="/context/org"] button`)),
		chromedp.WaitVisible(chromedp.CSS("main .context")))
	if s := text("main .context"); !strings.Contains(s, "Leeds Teaching Hospitals NHS Trust") {
		t.Errorf("current organisation line: %q", s)
	}

	do("users", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table.table-dense")))
	if s := text("table.table-dense"); !strings.Contains(s, "analyst@leeds.test") {
		t.Errorf("users table lacks analyst@leeds.test")
	}
	shot("06-admin-users")

	do("user", chromedp.Navigate(base+"/admin/users/"+e.users["analyst@leeds.test"]), chromedp.WaitVisible(chromedp.CSS("main h1")))
	shot("07-admin-user")

	do("new token",
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Browser test"),
		chromedp.Click(chromedp.CSS(`form[action="/account/tokens"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("new-secret")),
		chromedp.WaitVisible(chromedp.CSS(".js-copy")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("new-secret"))); err != nil || !strings.HasPrefix(v, "vigil_t_") {
		t.Errorf("token field holds %q (%v)", v, err)
	}
	shot("08-account-tokens")

	do("audit", chromedp.Navigate(base+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("table.table-audit")))
	shot("09-audit")
	do("verify", chromedp.Click(chromedp.CSS(`form[action="/admin/audit/verify"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "intact") {
		t.Errorf("verification: %q", s)
	}

	do("not found", chromedp.Navigate(base+"/orgs/NOPE1"), chromedp.WaitVisible(chromedp.CSS(".error-page")))
	shot("11-not-found")

	// Open the user menu and sign out with the keyboard-reachable button.
	do("sign out",
		chromedp.Click(chromedp.CSS(".user-menu > summary")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signout"] button`)))
	shot("12-user-menu")
	do("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "signed out") {
		t.Errorf("after sign-out: %q", s)
	}
}
