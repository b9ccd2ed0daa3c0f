package api

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerReports adds case exports: the case report and the regulatory
// report pack, each in Markdown, HTML or PDF, read with the caller's scope
// (casereport reads only through the cases service's scoped reads).
func (a *API) registerReports(rt *httpd.Router) {
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	format := param{Name: "format", In: "query", Type: "string", Desc: "md, html or pdf (default pdf)"}
	a.routeRaw(rt, spec{Method: "GET", Path: "/cases/{id}/report", Tag: "cases",
		Summary: "Download the case report (title, severity, organisation, details, tasks, timeline, observables, evidence, comments) as Markdown, HTML or PDF",
		Params:  []param{id, format}, Binary: true}, a.exportReport(casereport.KindCase))
	a.routeRaw(rt, spec{Method: "GET", Path: "/cases/{id}/regulatory-pack", Tag: "cases",
		Summary: "Download the regulatory report pack: the NIS incident report's and the ICO personal-data breach report's questions, answered from the case",
		Params:  []param{id, format}, Binary: true}, a.exportReport(casereport.KindRegulatory))
}

func (a *API) exportReport(kind string) rawHandler {
	return func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		x, err := a.o.Reports.Export(r.Context(), sc, r.PathValue("id"), kind, r.URL.Query().Get("format"))
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", x.ContentType)
		// Always a download: an HTML report opened from Vigil's own origin
		// would run with its cookies (it has no script, but it is someone's
		// text); sandboxed and not sniffed besides.
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": x.FileName}))
		h.Set("Content-Length", strconv.Itoa(len(x.Body)))
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(x.Body) // a failed write: the client has gone; the export's audit entry stands
		return nil
	}
}
