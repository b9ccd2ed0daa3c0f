package casereport

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed templates/report.html
var templateFS embed.FS

// page is what the HTML templates see. Description and comment HTML come
// from the cases service, which renders Markdown with raw HTML off and
// sanitises the result with an allow-list (cases/markdown.go): they are
// the only text not escaped here.
type page struct {
	Title, TLP  string
	R           Report
	P           Pack
	Description template.HTML
	Comments    []htmlComment
}

type htmlComment struct {
	By, At string
	HTML   template.HTML
}

func (r Report) templates() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"when":  func(t time.Time) string { return r.when(t) },
		"upper": strings.ToUpper,
	}).ParseFS(templateFS, "templates/report.html"))
}

// HTML writes the case report as one self-contained page (styles inline,
// no script, no remote resources).
func (r Report) HTML(out io.Writer) error {
	p := page{Title: "Case report: " + r.Case.Title + " (" + r.Case.ID + ")", TLP: string(r.Case.TLP), R: r,
		Description: template.HTML(r.Case.DescriptionHTML)} // sanitised by cases
	for _, c := range r.Comments {
		p.Comments = append(p.Comments, htmlComment{By: c.By, At: r.when(c.At), HTML: template.HTML(c.BodyHTML)}) // sanitised by cases
	}
	return r.templates().ExecuteTemplate(out, "report", p)
}

// HTML writes the regulatory pack as one self-contained page.
func (p Pack) HTML(out io.Writer) error {
	r := p.Report
	return r.templates().ExecuteTemplate(out, "pack", page{Title: "Regulatory report pack: " + p.Title + " (" + p.Case + ")", TLP: string(r.Case.TLP), R: r, P: p})
}
