package web

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/bus/bustest"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/testclock"
)

// ingestEnv is the web UI with the ingest dashboard over a real syslog
// UDP listener on the embedded bus, whose senders are loopback addresses
// mapped to Leeds (127.0.0.2 and .3) and Bradford (127.0.0.4). Senders
// talk on the test clock: .2 every minute and still talking, .3 every
// minute until twenty minutes ago (silent), .4 at Bradford every minute.
func ingestEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, envOptions{})
	b := bustest.Run(t)
	clock := testclock.New(time.Now().Add(-40 * time.Minute).Truncate(time.Second))
	mapFile := filepath.Join(t.TempDir(), "map.yaml")
	if err := os.WriteFile(mapFile, []byte("senders:\n  - match: 127.0.0.2\n    org: RR8\n  - match: 127.0.0.3\n    org: RR8\n  - match: 127.0.0.4\n    org: RAE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := ingest.NewService(ctx, ingest.ServiceOptions{Conn: b.Conn(), Root: org.RootCode, MapFile: mapFile, SyslogUDP: "127.0.0.1:0", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	h, err := ingest.NewHealth(ingest.HealthOptions{Metrics: svc.Metrics(), Publisher: svc.Publisher(), Paths: e.orgs.Paths, Root: org.RootCode, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	to := svc.Addrs()[ingest.ListenerSyslogUDP].(*net.UDPAddr)
	conns := map[string]*net.UDPConn{}
	for _, from := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, to)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns[from] = c
	}
	var sent int64
	send := func(from string, msgs ...string) {
		for _, m := range msgs {
			if _, err := conns[from].Write([]byte(m)); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		// The listener counts on the clock it reads when it publishes:
		// wait for it before moving the clock on.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int64
			for _, s := range svc.Metrics().Senders() {
				n += s.Events
			}
			if n == sent {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("listener counted %d of %d", n, sent)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := 0; i < 40; i++ {
		clock.Advance(time.Minute)
		// Each message its own (the stream drops a resent one).
		send("127.0.0.2", fmt.Sprintf("<34>1 2026-12-06T09:%02d:00Z ward-pc-7 sshd 1 - - Accepted publickey for svc", i), fmt.Sprintf("not syslog at all %d", i))
		if i < 20 {
			send("127.0.0.3", fmt.Sprintf("<13>Dec  6 09:%02d:00 pharmacy-db postgres[12]: checkpoint complete", i))
		}
		send("127.0.0.4", fmt.Sprintf("<34>1 2026-12-06T09:%02d:00Z brad-fw-1 fw 1 - - deny tcp 10.1.1.1 -> 10.2.2.2", i))
		h.Tick(ctx, clock.Now())
	}
	// A dashboard with its own Web over the same store and sign-ins.
	rt, err := httpd.NewRouter(httpd.Options{Identifier: auth.HTTPIdentifier{Auth: e.auth}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Options{Orgs: e.orgs, Auth: e.auth, Audit: e.audit, Version: "test-1", Ingest: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.Register(rt)
	e.srv.Close()
	e.srv, e.web = httptest.NewServer(rt), w
	t.Cleanup(e.srv.Close)
	return e
}

// TestIngestPage: Leeds's analyst sees Leeds's rates and senders — one
// talking, one silent — and nothing of Bradford's; the national admin
// sees both trusts and the server's own figures.
func TestIngestPage(t *testing.T) {
	e := ingestEnv(t)
	leeds := e.signIn("analyst@leeds.test")
	p := leeds.get("/ingest")
	wantStatus(t, "ingest", p, 200)
	mustContain(t, "ingest", p.body, `href="/ingest" aria-current`, `href="/orgs/RR8"`, "syslog-udp 127.0.0.2", "syslog-udp 127.0.0.3",
		`<span class="tag tag-sev-high">silent</span>`, `<span class="tag tag-ok">ok</span>`, "<td class=\"num\">50 %</td>", `<h2>1</h2><p><span class="tag tag-sev-high">Silent</span> now.`, "<td class=\"num\">0.03</td>")
	mustNotContain(t, "ingest", p.body, "RAE", "127.0.0.4", "Stream messages waiting for the store")
	// Silent senders come first.
	if strings.Index(p.body, "syslog-udp 127.0.0.3") > strings.Index(p.body, "syslog-udp 127.0.0.2") {
		t.Errorf("the silent sender is not listed first")
	}
	admin := e.signIn("admin@vigil.test")
	p = admin.get("/ingest")
	mustContain(t, "national", p.body, `href="/orgs/RAE"`, "syslog-udp 127.0.0.4", "Events in flight to the stream")
	// Bradford's analyst: Bradford's only.
	p = e.signIn("analyst@bradford.test").get("/ingest")
	mustContain(t, "bradford", p.body, "syslog-udp 127.0.0.4")
	mustNotContain(t, "bradford", p.body, "127.0.0.2", "RR8")
}

// TestIngestPageBrowser draws the dashboard in headless Chromium (no
// console errors, so nothing the CSP refuses) and keeps screenshots with
// VIGIL_SCREENSHOTS=dir.
func TestIngestPageBrowser(t *testing.T) {
	requireChromium(t)
	e := ingestEnv(t)
	dir := screenshotDir(t)
	for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
		t.Run(fmt.Sprint(vp.w), func(t *testing.T) {
			b := openBrowser(t, e.srv.URL, dir, vp.w, vp.h, 90*time.Second)
			b.file = func(label string) string { return fmt.Sprintf("ingest-%s-%d", label, vp.w) }
			b.signIn("admin@vigil.test", chromedp.WaitReady(chromedp.ID("sidenav")))
			b.do("ingest page", chromedp.Navigate(b.base+"/ingest"), chromedp.WaitVisible(chromedp.ID("senders")))
			if got := b.evalText(`document.querySelector("#senders").parentElement.querySelector("tbody tr").textContent`); !strings.Contains(got, "silent") {
				t.Errorf("first sender row %q, want the silent one", got)
			}
			b.shot("national")
		})
	}
	t.Logf("screenshots in %s", dir)
}

func TestSpanText(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "—", 45 * time.Second: "45s", 5 * time.Minute: "5m", 190 * time.Second: "3m 10s",
		125 * time.Minute: "2h 5m", 3 * time.Hour: "3h", 76 * time.Hour: "3d 4h"} {
		if got := spanText(d); got != want {
			t.Errorf("spanText(%s) = %q, want %q", d, got, want)
		}
	}
}
