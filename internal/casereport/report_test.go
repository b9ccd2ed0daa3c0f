package casereport_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

var sets = []store.MigrationSet{audit.Migrations(), org.Migrations(), cases.Migrations()}

const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`

type env struct {
	db    *store.DB
	cases *cases.Service
	rep   *casereport.Service
	alice scope.Scope // RJ1 analyst
	bob   scope.Scope // RJZ analyst
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := t.Context()
	now := func() time.Time { return time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) }
	al := audit.New(db, now)
	orgs, err := org.New(org.Options{DB: db, Audit: al, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := orgs.EnsureRoot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []org.Org{
		{Code: "Y56", Name: "London", Type: org.Region},
		{Code: "QKK", Name: "NHS South East London ICB", Type: org.ICB, Parent: "Y56"},
		{Code: "RJ1", Name: "Guy's and St Thomas' NHS Foundation Trust", Type: org.Trust, Parent: "QKK"},
		{Code: "RJZ", Name: "King's College Hospital NHS Foundation Trust", Type: org.Trust, Parent: "QKK"},
	} {
		if _, err := orgs.Create(ctx, scope.System("test"), o); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := cases.New(cases.Options{DB: db, Audit: al, Orgs: orgs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	rep, err := casereport.New(casereport.Options{Cases: cs, Orgs: orgs, Audit: al, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	person := func(email string, code, path string) scope.Scope {
		return scope.Scope{UserID: "u-" + email, Email: email, Via: "session", Home: code, Grants: []scope.Grant{{Role: scope.OrgAnalyst, Org: code, Path: path}}}
	}
	return &env{db: db, cases: cs, rep: rep, alice: person("alice@rj1.nhs.test", "RJ1", "/ENG/Y56/QKK/RJ1/"), bob: person("bob@rjz.nhs.test", "RJZ", "/ENG/Y56/QKK/RJZ/")}
}

// ransomwareCase is a case with tasks, observables, a timeline entry, a
// comment and evidence, titled with an XSS payload.
func (e *env) ransomwareCase(t *testing.T) cases.Case {
	t.Helper()
	ctx := t.Context()
	a, err := e.cases.CreateAlert(ctx, e.alice, cases.NewAlert{Source: "edr", Type: "ransomware", SourceRef: "rep-1", Title: "LockBit note on PACS-01",
		Severity: cases.Critical, Org: "RJ1", TLP: cases.TLPAmber, Observables: []cases.Observable{{Type: cases.ObsIP, Value: "203.0.113.66"}, {Type: cases.ObsHost, Value: "PACS-01"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.cases.CreateCase(ctx, e.alice, cases.NewCase{Org: "RJ1", Title: "Ransomware on PACS " + xss, Template: "ransomware", Severity: cases.Critical,
		Description: "Encryption seen on **PACS-01** at 09:12.\n\n<script>alert(2)</script> [click](javascript:alert(3))", AlertIDs: []string{a.Alert.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cases.AddTimelineEntry(ctx, e.alice, c.ID, cases.NewTimelineEntry{Title: "First host encrypted"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cases.AddComment(ctx, e.alice, c.ID, "Backups checked <img src=x onerror=alert(4)>"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cases.AddAttachment(ctx, e.alice, c.ID, "ransom-note.txt", strings.NewReader("pay us")); err != nil {
		t.Fatal(err)
	}
	c, err = e.cases.GetCase(ctx, e.alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReportFormats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		ctx := t.Context()
		c := e.ransomwareCase(t)

		md, err := e.rep.Export(ctx, e.alice, c.ID, casereport.KindCase, "md")
		if err != nil {
			t.Fatal(err)
		}
		m := string(md.Body)
		for _, want := range []string{"**TLP:AMBER**", "# Case report: Ransomware on PACS \\<script\\>", "Guy's and St Thomas' NHS Foundation Trust (RJ1)",
			"| Severity | Critical |", "Isolate affected hosts", "203.0.113.66", "First host encrypted", "ransom-note.txt", "> Backups checked \\<img"} {
			if !strings.Contains(m, want) {
				t.Errorf("Markdown lacks %q:\n%s", want, m)
			}
		}
		// Every < and [ of someone's text is backslash-escaped: no HTML,
		// no links, whatever renders the file.
		if live := regexp.MustCompile(`(^|[^\\])(<[a-zA-Z/!]|\]\()`).FindString(m); live != "" {
			t.Errorf("Markdown carries live markup %q:\n%s", live, m)
		}

		h, err := e.rep.Export(ctx, e.alice, c.ID, casereport.KindCase, "html")
		if err != nil {
			t.Fatal(err)
		}
		hs := string(h.Body)
		if h.ContentType != "text/html; charset=utf-8" || !strings.Contains(hs, "Ransomware on PACS &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("HTML title not escaped:\n%s", hs)
		}
		// Once the escaped title is taken out, nothing of any payload is left.
		rest := strings.ReplaceAll(hs, "Ransomware on PACS &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "")
		for _, bad := range []string{"<script", "<img", "onerror", "javascript:", "alert("} {
			if strings.Contains(rest, bad) {
				t.Errorf("HTML carries %q:\n%s", bad, hs)
			}
		}
		if !strings.Contains(hs, "<strong>PACS-01</strong>") || !strings.Contains(hs, "Isolate affected hosts") {
			t.Errorf("HTML lacks the rendered description or tasks")
		}

		p, err := e.rep.Export(ctx, e.alice, c.ID, casereport.KindCase, "pdf")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(p.Body, []byte("%PDF-")) || p.FileName != c.ID+".pdf" {
			t.Fatalf("not a PDF: %q %s", p.Body[:min(20, len(p.Body))], p.FileName)
		}
		text := pdfText(t, p.Body)
		for _, want := range []string{"Case report: Ransomware on PACS", "TLP:AMBER", "Critical", "Guy's and St Thomas'", "Isolate affected hosts",
			"First host encrypted", "203.0.113.66", "PACS-01", "ransom-note.txt", "Page 1 of"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%s", want, text)
			}
		}
		if dir := os.Getenv("VIGIL_REPORT_OUT"); dir != "" { // for looking at it: pdftoppm -png
			_ = os.WriteFile(filepath.Join(dir, "case-"+storetest.Name(db)+".pdf"), p.Body, 0o644)
		}

		// Another trust's analyst gets nothing, in any format.
		for _, f := range casereport.Formats() {
			if _, err := e.rep.Export(ctx, e.bob, c.ID, casereport.KindCase, f); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("bob's %s export = %v, want not found", f, err)
			}
			if _, err := e.rep.Export(ctx, e.bob, c.ID, casereport.KindRegulatory, f); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("bob's regulatory %s export = %v, want not found", f, err)
			}
		}
		if _, err := e.rep.Export(ctx, e.alice, c.ID, casereport.KindCase, "docx"); err == nil {
			t.Error("format docx accepted")
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'case.report' AND object_id = ?`, c.ID).Scan(&n); err != nil || n != 3 {
			t.Errorf("audit entries for exports = %d, %v; want 3", n, err)
		}
	}, sets...)
}

// The regulatory pack answers from the case's fields and says what is
// not recorded.
func TestRegulatoryPack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		ctx := t.Context()
		c, err := e.cases.CreateCase(ctx, e.alice, cases.NewCase{Org: "RJ1", Title: "Patient list e-mailed to the wrong practice", Template: "data-breach",
			Description: "A spreadsheet of 412 patients was sent to an external address.",
			Fields:      map[string]any{"data_subjects": 412, "special_category": true, "aware_on": "2026-11-01", "data_categories": "names, NHS numbers, diagnoses"}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.rep.Build(ctx, e.alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := casereport.Regulatory(r)
		get := func(section, q string) casereport.Answer {
			for _, s := range p.Sections {
				if strings.HasPrefix(s.Title, section) {
					for _, a := range s.Items {
						if strings.HasPrefix(a.Question, q) {
							return a
						}
					}
				}
			}
			t.Fatalf("no %s question %q", section, q)
			return casereport.Answer{}
		}
		if a := get("ICO", "Approximate number of data subjects"); a.Answer != "412" || a.Missing {
			t.Errorf("data subjects = %+v", a)
		}
		if a := get("ICO", "When it was discovered"); a.Answer != "2026-11-01" {
			t.Errorf("discovered = %+v", a)
		}
		if a := get("ICO", "Special category"); a.Answer != "Yes" {
			t.Errorf("special category = %+v", a)
		}
		if a := get("ICO", "Data Protection Officer"); !a.Missing || a.Answer != "Not recorded" {
			t.Errorf("DPO = %+v", a)
		}
		if a := get("NIS", "Operator"); !strings.Contains(a.Answer, "Guy's and St Thomas'") {
			t.Errorf("operator = %+v", a)
		}
		if a := get("NIS", "Number of users affected"); a.Answer != "412" {
			t.Errorf("NIS users = %+v", a)
		}
		for _, f := range casereport.Formats() {
			x, err := e.rep.Export(ctx, e.alice, c.ID, casereport.KindRegulatory, f)
			if err != nil {
				t.Fatal(err)
			}
			body := string(x.Body)
			if f == "pdf" {
				body = pdfText(t, x.Body)
			}
			for _, want := range []string{"NIS incident report", "ICO personal data breach report", "Not recorded", "412"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s pack lacks %q", f, want)
				}
			}
			if dir := os.Getenv("VIGIL_REPORT_OUT"); dir != "" && f == "pdf" {
				_ = os.WriteFile(filepath.Join(dir, "pack-"+storetest.Name(db)+".pdf"), x.Body, 0o644)
			}
		}
	}, sets...)
}

// pdfText extracts a PDF's text with poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testneed.Missing(t, "pdftotext (Debian's poppler-utils)", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
