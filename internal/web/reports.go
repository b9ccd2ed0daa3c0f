package web

import (
	"html/template"
	"net/url"
	"strings"
)

// reportLinks is the case pages' "Download report" line: the case report
// and the regulatory pack (NIS, ICO) in PDF, HTML and Markdown, served by
// the API's export routes (the session cookie signs the download in; each
// export reads the case with the reader's scope and is audited). A case
// page includes it as {{reportLinks .Case.ID}}.
func reportLinks(caseID string) template.HTML {
	id := url.PathEscape(caseID)
	var b strings.Builder
	b.WriteString(`<p class="downloads report-links">Download report: `)
	for i, f := range [][2]string{{"pdf", "PDF"}, {"html", "HTML"}, {"md", "Markdown"}} {
		if i > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(`<a href="/api/v1/cases/` + template.HTMLEscapeString(id) + `/report?format=` + f[0] + `" download>` + f[1] + `</a>`)
	}
	b.WriteString(` — regulatory pack (NIS, ICO): `)
	for i, f := range [][2]string{{"pdf", "PDF"}, {"html", "HTML"}, {"md", "Markdown"}} {
		if i > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(`<a href="/api/v1/cases/` + template.HTMLEscapeString(id) + `/regulatory-pack?format=` + f[0] + `" download>` + f[1] + `<span class="visually-hidden"> of the regulatory pack</span></a>`)
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String()) // the ID is escaped for the path and for HTML
}
