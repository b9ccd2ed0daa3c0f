package web

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// eventsEnv is the web UI with the event store holding a real capture —
// OTRF's Empire PsExec run (NXLog's flat Windows JSON) — twice: once as
// Leeds Teaching Hospitals' (RR8) events and once as Bradford's (RAE).
func eventsEnv(t *testing.T) *env {
	t.Helper()
	sample := filepath.Join("..", "..", "..", "shared", "data", "events", "windows", "otrf", "empire_psexec_dcerpc_tcp_svcctl.jsonl.gz")
	if _, err := os.Stat(sample); err != nil {
		testneed.Missing(t, "the event samples in ../shared/data/events", err)
	}
	e := newEnv(t, envOptions{events: true})
	n, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"RR8", "RAE"} {
		// A copy per organisation, so the two trusts' events have IDs of
		// their own (the ID names the file it came from).
		dir := filepath.Join(t.TempDir(), org)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(sample))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.ImportFiles(context.Background(), n, []string{p}, org, e.events.Append, nil); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// The Sysmon process creation the test looks for: PowerShell launched
// hidden with an encoded command by Empire's stager.
const wantCommandLine = `powershell -noP -sta -w 1 -enc`

// TestEventSearchPages without a browser: the page finds the event by
// CommandLine, counts only the caller's organisations, names a bad query's
// problem at the field, and the event page shows raw and parsed.
func TestEventSearchPages(t *testing.T) {
	e := eventsEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/events?from=2020-01-01&q=" + urlQuery(`EventID=1 AND CommandLine="*-noP -sta -w 1 -enc*"`))
	wantStatus(t, "search", p, 200)
	mustContain(t, "search", p.body, "<strong>2 events</strong>", "windows / process_creation", "RR8", "CommandLine: ", "event-histogram",
		`href="/api/v1/events/export?from=2020-01-01&amp;q=EventID%3D1&#43;AND&#43;CommandLine`, "&amp;format=csv")
	// A field's value narrows the search: the link adds it to the query.
	mustContain(t, "field value link", p.body, `href="/events?from=2020-01-01&amp;q=%28EventID%3D1&#43;AND`)
	mustNotContain(t, "search", p.body, ">RAE<")
	// Pages: the next page's link carries the query and the cursor.
	p = leeds.get("/events?from=2020-01-01")
	mustContain(t, "all", p.body, "<strong>4,348 events</strong>", `rel="next"`)
	m := regexp.MustCompile(`href="(/events\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no next-page link")
	}
	next := leeds.get(html.UnescapeString(m[1]))
	wantStatus(t, "next page", next, 200)
	mustContain(t, "next page", next.body, "<strong>4,348 events</strong>")
	if first, second := regexp.MustCompile(`href="/events/([0-9a-f]+)"`).FindStringSubmatch(p.body), regexp.MustCompile(`href="/events/([0-9a-f]+)"`).FindStringSubmatch(next.body); first == nil || second == nil || first[1] == second[1] {
		t.Errorf("the next page starts with the same event")
	}
	// The national view sees both trusts'.
	admin := e.signIn("admin@vigil.test")
	mustContain(t, "national search", admin.get("/events?from=2020-01-01&q="+urlQuery(`EventID=1 AND CommandLine="*-noP -sta -w 1 -enc*"`)).body, "<strong>4 events</strong>")
	p = leeds.get("/events?q=" + urlQuery("EventID=") + "&since=24h")
	wantStatus(t, "bad query", p, 400)
	mustContain(t, "bad query", p.body, "There is a problem", `id="f-q-error"`, "At character 9: expected a value")
	p = leeds.get("/events?since=yesterday")
	wantStatus(t, "bad range", p, 400)
	mustContain(t, "bad range", p.body, `id="f-since-error"`)
	wantStatus(t, "unknown event", leeds.get("/events/0123456789abcdef0123456789abcdef"), 404)
}

// TestEventSavedSearches: an analyst saves the page's search under a
// name, finds it listed as a link that runs it again, replaces it by
// saving under the same name, is told why a search that does not compile
// cannot be saved, and deletes it; another analyst never sees it, nor
// deletes it.
func TestEventSavedSearches(t *testing.T) {
	e := eventsEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	q := `EventID=1 AND CommandLine="*-noP -sta -w 1 -enc*"`
	p := leeds.post("/events/searches", url.Values{"name": {"Empire stager"}, "q": {q}, "from": {"2020-01-01"}})
	wantStatus(t, "save", p, 303)
	if !strings.HasPrefix(p.location(), "/events?") || !strings.Contains(p.location(), "done=saved") {
		t.Fatalf("after saving: %s", p.location())
	}
	p = leeds.get(p.location())
	mustContain(t, "after saving", p.body, "Search saved.", "Your saved searches", ">Empire stager</a>", "<strong>2 events</strong>", `action="/events/searches"`)
	link := regexp.MustCompile(`<a href="(/events\?[^"]*)" aria-current="true" title="[^"]*">Empire stager</a>`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatalf("no current link to the saved search:\n%s", p.body)
	}
	mustContain(t, "run the saved search", leeds.get(html.UnescapeString(link[1])).body, "<strong>2 events</strong>")
	// The same name replaces the search.
	wantStatus(t, "replace", leeds.post("/events/searches", url.Values{"name": {"Empire stager"}, "q": {"EventID=1"}, "since": {"7d"}}), 303)
	p = leeds.get("/events")
	if n := strings.Count(p.body, ">Empire stager</a>"); n != 1 || !strings.Contains(p.body, `href="/events?q=EventID%3D1&amp;since=7d"`) {
		t.Errorf("after replacing: %d links\n%s", n, p.body)
	}
	// A query that does not compile is refused, with the reason by the name.
	p = leeds.post("/events/searches", url.Values{"name": {"Broken"}, "q": {"EventID="}})
	wantStatus(t, "broken query", p, 422)
	mustContain(t, "broken query", p.body, `id="f-save-error"`, "Query: at character 9", `value="Broken"`)
	p = leeds.post("/events/searches", url.Values{"name": {""}, "q": {"EventID=1"}})
	wantStatus(t, "no name", p, 422)
	mustContain(t, "no name", p.body, `id="f-save-error"`, "Is required")
	id := regexp.MustCompile(`action="/events/searches/(ES-[0-9A-Z]+)/delete"`).FindStringSubmatch(leeds.get("/events").body)
	if id == nil {
		t.Fatal("no delete form")
	}
	// Another analyst neither sees nor deletes it.
	bradford := e.signIn("analyst@bradford.test")
	mustNotContain(t, "another analyst", bradford.get("/events").body, "Empire stager")
	wantStatus(t, "another's delete", bradford.post("/events/searches/"+id[1]+"/delete", nil), 404)
	wantStatus(t, "delete", leeds.post("/events/searches/"+id[1]+"/delete", nil), 303)
	mustNotContain(t, "after deleting", leeds.get("/events").body, "Empire stager")
	wantStatus(t, "delete again", leeds.post("/events/searches/"+id[1]+"/delete", nil), 404)
	// Without the CSRF token nothing is saved.
	wantStatus(t, "no csrf", leeds.post("/events/searches", url.Values{"csrf": {"x"}, "name": {"Forged"}, "q": {"EventID=1"}}), 403)
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", " ", "+", "&", "%26", "=", "%3D", `"`, "%22", "*", "%2A", "\\", "%5C").Replace(s)
}

// TestEventSearchBrowser: a trust analyst types a query for a Sysmon
// process creation by its command line into the search page in headless
// Chromium, finds the event, opens it and sees the raw text beside the
// parsed fields — at desktop and phone widths; the search saved under a
// name is listed as the current one. Bradford's copy of the same
// events is never shown to Leeds.
func TestEventSearchBrowser(t *testing.T) {
	requireChromium(t)
	e := eventsEnv(t)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprint(vp.w), func(t *testing.T) {
			b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 90*time.Second)
			b.file = func(label string) string { return fmt.Sprintf("events-%s-%d", label, vp.w) }
			b.signIn("analyst@leeds.test", chromedp.WaitReady(chromedp.ID("sidenav")))
			b.do("events page", chromedp.Navigate(b.base+"/events"), chromedp.WaitVisible(chromedp.ID("f-q")))
			b.do("search", chromedp.SendKeys(chromedp.ID("f-q"), `EventID=1 AND CommandLine="*-noP -sta -w 1 -enc*"`),
				chromedp.SendKeys(chromedp.ID("f-from"), "2020-01-01"),
				chromedp.Click(chromedp.CSS(`form.event-search button[type="submit"]`)),
				// The empty page already has a count (none in the last 24
				// hours): wait for the results table instead.
				chromedp.WaitVisible(chromedp.CSS("table.table-events")))
			if got := b.evalText(`document.getElementById("event-count").textContent`); !strings.Contains(got, "2 events since 1 Jan 2020") {
				t.Errorf("found %q, want 2 events (Leeds's own copy only)", got)
			}
			rows := b.evalText(`Array.from(document.querySelectorAll("table.table-events tbody tr")).map(r => r.textContent.replace(/\s+/g, " ")).join("\n")`)
			if !strings.Contains(rows, wantCommandLine) || strings.Contains(rows, "RAE") {
				t.Errorf("rows:\n%s", rows)
			}
			b.shot("found")
			// Save it under a name: it is listed as the current search.
			b.do("save the search", chromedp.SendKeys(chromedp.ID("f-save"), "Empire stager"),
				chromedp.Click(chromedp.CSS(`form.save-view button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`.saved-searches a[aria-current]`)), chromedp.WaitVisible(chromedp.CSS("table.table-events")))
			if got := b.evalText(`document.querySelector(".saved-searches a[aria-current]").textContent`); got != "Empire stager" {
				t.Errorf("saved search listed as %q", got)
			}
			b.shot("saved")
			b.do("open the event", chromedp.Click(chromedp.CSS(`table.table-events tbody tr td a`)), chromedp.WaitVisible(chromedp.CSS("pre.event-raw")))
			raw := b.evalText(`document.querySelector("pre.event-raw").textContent`)
			parsed := b.evalText(`Array.from(document.querySelectorAll(".event-detail table tbody tr")).map(r => r.textContent.replace(/\s+/g, " ")).join("\n")`)
			if !strings.Contains(raw, `"EventID":1`) || !strings.Contains(parsed, "CommandLine") || !strings.Contains(parsed, wantCommandLine) || !strings.Contains(parsed, "Image") {
				t.Errorf("event page: raw %.200q\nparsed %.400q", raw, parsed)
			}
			b.shot("event")
		})
	}
	t.Logf("screenshots in %s", dir)
}
