package web

import (
	"html/template"
	"net/http"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/scope"
)

// ---- Extension point of the case page (issue 15) ----
//
// Other parts of issue 15 show things on a case that the cases page does
// not own: the SLA and regulatory clocks and the national incident a
// case belongs to (incidents), and the report downloads (notify/reports).
// Each fills its field of caseExtras here, from its own service under the
// caller's scope, and the case page (templates/case.html, blocks
// "case-incident", "case-clocks" and "case-reports") shows it. A field
// left empty shows nothing: no placeholder promising what is not there.

// caseExtras is what other parts of issue 15 add to the case page.
type caseExtras struct {
	// Incident is the national incident the case is a child of, and what
	// the national team shares with it (incidents).
	Incident template.HTML
	// Clocks are the case's SLA and regulatory clocks (incidents).
	Clocks template.HTML
	// Reports are the case's report downloads: Markdown, HTML, PDF and
	// the regulatory pack (notify/reports).
	Reports template.HTML
}

// caseExtras gathers the extras of case c for the caller: the clocks and
// the national incident part (incidents.go) and the report downloads.
func (w *Web) caseExtras(r *http.Request, sc scope.Scope, c cases.Case) caseExtras {
	x := caseExtras{Reports: reportLinks(c.ID)} // the API's export routes (reports.go) read the case again with the reader's scope
	x.Incident, x.Clocks = w.incidentExtras(r, sc, c)
	return x
}
