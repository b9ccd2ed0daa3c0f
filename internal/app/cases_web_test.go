package app

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// Evidence uploaded on the case page downloads from the link the page
// gives — the API's attachment route, answering the browser's session —
// always as an attachment (never rendered, even when the file is HTML
// renamed .txt), with the bytes uploaded; another trust's session gets 404.
func TestCasePageEvidenceDownload(t *testing.T) {
	s := startServer(t)
	f := newFixture(t, s)
	ctx := context.Background()
	c, err := s.Cases.CreateCase(ctx, scope.System("test"), cases.NewCase{Org: "RJ1", Title: "Evidence from the page"})
	if err != nil {
		t.Fatal(err)
	}
	session := func(id string) auth.Session {
		se, err := s.Auth.StartSession(ctx, id, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		return se
	}
	alice, bob := session(f.alice.ID), session(f.bob.ID)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(se auth.Session, req *http.Request) (*http.Response, []byte) {
		t.Helper()
		req.AddCookie(&http.Cookie{Name: auth.CookieName(false), Value: se.Secret})
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	const evidence = "<html><script>alert(1)</script>firewall log</html>\n"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", alice.CSRF)
	fw, _ := mw.CreateFormFile("files", "firewall.txt")
	_, _ = io.WriteString(fw, evidence)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", s.url("/cases/"+c.ID+"/attachments"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if res, b := do(alice, req); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%.800s", res.StatusCode, b)
	}
	req, _ = http.NewRequest("GET", s.url("/cases/"+c.ID), nil)
	res, page := do(alice, req)
	m := regexp.MustCompile(`href="(/api/v1/cases/` + c.ID + `/attachments/AT-[0-9A-Z]+)" download>firewall.txt`).FindSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("case page %d lacks the download link:\n%.2000s", res.StatusCode, page)
	}
	req, _ = http.NewRequest("GET", s.url(string(m[1])), nil)
	res, b := do(alice, req)
	if res.StatusCode != 200 || string(b) != evidence {
		t.Fatalf("download: %d %q", res.StatusCode, b)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "html") {
		t.Errorf("Content-Type %q", ct)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("headers: %v", res.Header)
	}
	req, _ = http.NewRequest("GET", s.url(string(m[1])), nil)
	if res, b := do(bob, req); res.StatusCode != 404 || bytes.Contains(b, []byte("firewall")) {
		t.Errorf("another trust's download: %d %.200s", res.StatusCode, b)
	}
}
