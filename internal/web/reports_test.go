package web

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
)

// reportLinks, as a case page uses it: six downloads, the ID escaped.
func TestReportLinks(t *testing.T) {
	tm := template.Must(template.New("x").Funcs(template.FuncMap{"reportLinks": reportLinks}).Parse(`{{reportLinks .}}`))
	var b bytes.Buffer
	if err := tm.Execute(&b, "CS-01ABC"); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`href="/api/v1/cases/CS-01ABC/report?format=pdf" download>PDF</a>`, `/report?format=html"`, `/report?format=md"`,
		`href="/api/v1/cases/CS-01ABC/regulatory-pack?format=pdf" download>PDF<span class="visually-hidden"> of the regulatory pack</span></a>`} {
		if !strings.Contains(s, want) {
			t.Errorf("links lack %q:\n%s", want, s)
		}
	}
	b.Reset()
	if err := tm.Execute(&b, `"><script>x</script>`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), `"><`) {
		t.Errorf("an ID breaks out: %s", b.String())
	}
}
