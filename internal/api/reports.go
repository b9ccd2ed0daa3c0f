package api

import (
	"encoding/json"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/casereport"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
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
	a.AddSchema("KPIs", reflect.TypeFor[cases.KPIs]())
	a.routeRaw(rt, spec{Method: "GET", Path: "/kpis", Tag: "cases",
		Summary: "Case KPIs over what you may see: volume, MTTA and MTTR by severity, template, organisation and analyst; SLA compliance; false-positive rate per alert source (?format=csv for a spreadsheet)",
		Params: []param{{Name: "since", In: "query", Type: "string", Desc: "cases opened at or after, RFC 3339 (default 90 days ago)"},
			{Name: "until", In: "query", Type: "string", Desc: "cases opened before, RFC 3339 (default now)"},
			{Name: "org", In: "query", Type: "string", Desc: "only this organisation and those beneath it"},
			{Name: "format", In: "query", Type: "string", Desc: "json (default) or csv"}},
		Response: "KPIs"}, a.kpis)
}

// kpis answers GET /kpis: JSON, or CSV with ?format=csv.
func (a *API) kpis(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	q := r.URL.Query()
	f := cases.KPIFilter{Org: q.Get("org")}
	for _, x := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(x.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fault.Invalidf(x.name, "want an RFC 3339 time such as 2026-11-01T00:00:00Z")
			}
			*x.t = t
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return fault.Invalidf("format", "want json or csv")
	}
	k, err := a.o.Cases.KPIs(r.Context(), sc, f)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="vigil-kpis.csv"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_ = k.WriteCSV(w) // a failed write: the client has gone
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(k) // a failed write: the client has gone
	return nil
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
