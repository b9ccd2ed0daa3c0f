package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/testneed"
)

// chromiumPath is Debian's browser; tests never download one.
const chromiumPath = "/usr/bin/chromium"

// requireChromium skips the test without Debian's chromium, or fails it in CI.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		testneed.Missing(t, "Debian's chromium (apt-get install chromium)", err)
	}
}

// screenshotDir is VIGIL_SCREENSHOTS when set (kept), else a temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium with a window of width × height and
// the flags this closed network needs, for at most timeout. At the end of
// the test every console error and exception it saw — which include any
// Content-Security-Policy violation — fails the test.
func newBrowser(t *testing.T, width, height int64, timeout time.Duration) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(width), int(height)),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	var mu sync.Mutex
	var problems []string
	t.Cleanup(func() {
		cancelT()
		cancel()
		cancelAlloc()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			// Network entries are the statuses of pages the test asks
			// for on purpose (a 401 for a wrong password, a 404).
			if ev.Entry.Level == "error" && ev.Entry.Source != "network" {
				problems = append(problems, fmt.Sprintf("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return ctx
}

// browser is one headless Chromium window on a test server, with what
// every browser test does: run actions, evaluate script, screenshot, sign
// in. Each step that fails ends the test, naming the step.
type browser struct {
	t             *testing.T
	ctx           context.Context
	base, dir     string
	width, height int64
	// file gives a screenshot's file name (without .png) from its label;
	// by default label-WIDTHxHEIGHT.
	file func(label string) string
}

// openBrowser starts a browser of width × height on the server at base,
// saving screenshots in dir.
func openBrowser(t *testing.T, base, dir string, width, height int64, timeout time.Duration) *browser {
	t.Helper()
	b := &browser{t: t, ctx: newBrowser(t, width, height, timeout), base: base, dir: dir, width: width, height: height}
	b.file = func(label string) string { return fmt.Sprintf("%s-%dx%d", label, width, height) }
	return b
}

// do runs actions as one step.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs js in the page and returns its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// evalText runs js in the page for a string.
func (b *browser) evalText(js string) string {
	b.t.Helper()
	return eval[string](b, js)
}

// shot saves a screenshot of the whole page.
func (b *browser) shot(label string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", label, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, b.file(label)+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in through the form as email, then waits for ready (a
// signed-in page's element).
func (b *browser) signIn(email string, ready chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do("sign in as "+email, chromedp.EmulateViewport(b.width, b.height), chromedp.Navigate(b.base+"/signin"), chromedp.WaitVisible(chromedp.ID("f-email")),
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		ready)
}
