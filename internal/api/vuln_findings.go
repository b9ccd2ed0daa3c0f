package api

import (
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// registerFindings adds the national findings view, the findings
// workflow, VEX stored per product or organisation, the uploaded SBOM
// file's download and a cyber alert's scope refresh (issue 18). The rules
// are vuln.SBOMs's and vuln.Alerts's.
func (a *API) registerFindings(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"FindingPage":    reflect.TypeFor[vuln.FindingPage](),
		"FindingKPIs":    reflect.TypeFor[List[vuln.LevelKPI]](),
		"FindingAction":  reflect.TypeFor[findingActionBody](),
		"StoredVEX":      reflect.TypeFor[vuln.StoredVEX](),
		"StoredVEXList":  reflect.TypeFor[List[vuln.StoredVEX]](),
		"AlertRefreshed": reflect.TypeFor[vuln.ScopeRefresh](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	code := param{Name: "code", In: "path", Type: "string", Required: true, Desc: "the organisation's ODS code"}
	filters := []param{
		{Name: "priority", In: "query", Type: "string", Desc: "P1, P2, P3 or P4"},
		{Name: "ecosystem", In: "query", Type: "string", Desc: "an OSV ecosystem (Go, npm, Maven, PyPI, Debian for every release, Debian:9 for one)"},
		{Name: "cve", In: "query", Type: "string", Desc: "a vulnerability ID the finding answers to (its own, an alias or a related ID)"},
		{Name: "org", In: "query", Type: "string", Desc: "one organisation's inventories"},
		{Name: "icb", In: "query", Type: "string", Desc: "the inventories of the organisations under an ICB or region"},
		{Name: "product", In: "query", Type: "string", Desc: "one supplier product's SBOMs"},
		{Name: "kind", In: "query", Type: "string", Desc: "product or inventory"},
		{Name: "state", In: "query", Type: "string", Desc: "open, acknowledged, risk-accepted, closed, suppressed or all (default: those still to be dealt with)"},
		{Name: "overdue", In: "query", Type: "boolean", Desc: "only those past their SLA due time"},
	}
	a.route(rt, spec{Method: "GET", Path: "/vuln/findings", Tag: "vuln",
		Summary: "Every stored finding you may see, across supplier products and organisations' inventories, most urgent first: a trust sees its own inventories', a region lead its region's, the national team all; products' findings are seen by whoever sees the product. Paged with limit and cursor",
		Params:  append(append([]param{}, filters...), pageParams...), Response: "FindingPage"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q, err := findingQuery(r)
		if err != nil {
			return nil, err
		}
		return a.o.SBOMs.Search(r.Context(), sc, q)
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/vuln/findings.csv", Tag: "vuln",
		Summary: "The national findings view as CSV (the same filters, every page, at most 100,000 lines), one line a finding; text that a spreadsheet would take for a formula gets a leading '",
		Params:  filters, Binary: true}, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		q, err := findingQuery(r)
		if err != nil {
			return err
		}
		fs, more, err := a.o.SBOMs.SearchAll(r.Context(), sc, q)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="vigil-findings.csv"`)
		if more {
			w.Header().Set("Vigil-Truncated", "true")
		}
		_ = vuln.WriteFindingsCSV(w, fs) // a failed write: the client has gone
		return nil
	})
	a.route(rt, spec{Method: "GET", Path: "/vuln/findings/kpis", Tag: "vuln",
		Summary: "Findings counted per priority by state, with those overdue against the SLA (an organisation's or ICB's SLA view; the same filters as the findings)",
		Params:  filters, Response: "FindingKPIs"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q, err := findingQuery(r)
		if err != nil {
			return nil, err
		}
		return list(a.o.SBOMs.FindingKPIs(r.Context(), sc, q))
	})
	a.route(rt, spec{Method: "POST", Path: "/vuln/findings/actions", Tag: "vuln",
		Summary: "Acknowledge, accept the risk of (reason and expiry required), close (fixed, or not-affected with a reason) or reopen findings named by their ref, all or none; needs the right to change each SBOM or inventory; audited",
		Body:    "FindingAction", Response: "StoredFindingList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b findingActionBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		act := vuln.FindingAction{Findings: b.Findings, Action: b.Action, Reason: b.Reason, Resolution: b.Resolution}
		if b.Expires != "" {
			t, err := parseDay(b.Expires)
			if err != nil {
				return nil, err
			}
			act.Expires = t
		}
		return list(a.o.SBOMs.Act(r.Context(), sc, act))
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/products/{id}/vex", Tag: "vuln",
		Summary: "Store a VEX document (OpenVEX, CycloneDX VEX or CSAF VEX; multipart/form-data, one file part) for a supplier product: applied to every stored SBOM of it, and again after each match. Needs the right to change the product",
		Params:  []param{id}, Upload: true, Response: "StoredVEX", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		name, data, err := uploadedFile(r)
		if err != nil {
			return nil, err
		}
		x, err := a.o.SBOMs.AddProductVEX(r.Context(), sc, r.PathValue("id"), name, data)
		if err != nil {
			return nil, err
		}
		return created{x}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/supply/products/{id}/vex", Tag: "vuln",
		Summary: "The VEX stored for a supplier product, in the order applied, each with the findings it suppresses now",
		Params:  []param{id}, Response: "StoredVEXList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.ListVEX(r.Context(), sc, vuln.SBOMFilter{Product: r.PathValue("id")}))
	})
	a.route(rt, spec{Method: "POST", Path: "/orgs/{code}/vex", Tag: "vuln",
		Summary: "Store a VEX document for an organisation: applied to its inventories' findings. Needs write on the organisation",
		Params:  []param{code}, Upload: true, Response: "StoredVEX", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		name, data, err := uploadedFile(r)
		if err != nil {
			return nil, err
		}
		x, err := a.o.SBOMs.AddOrgVEX(r.Context(), sc, r.PathValue("code"), name, data)
		if err != nil {
			return nil, err
		}
		return created{x}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}/vex", Tag: "vuln",
		Summary: "The VEX stored for an organisation (read on it)",
		Params:  []param{code}, Response: "StoredVEXList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.SBOMs.ListVEX(r.Context(), sc, vuln.SBOMFilter{Org: r.PathValue("code")}))
	})
	a.route(rt, spec{Method: "DELETE", Path: "/vex/{id}", Tag: "vuln",
		Summary: "Remove a stored VEX document; the findings it suppressed are judged again by the rest",
		Params:  []param{id}, Status: 204}, func(r *http.Request, sc scope.Scope) (any, error) {
		return nil, a.o.SBOMs.DeleteVEX(r.Context(), sc, r.PathValue("id"))
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/sboms/{id}/file", Tag: "vuln",
		Summary: "Download the uploaded SBOM or inventory file itself, always as an attachment",
		Params:  []param{id}, Binary: true}, func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		f, err := a.o.SBOMs.File(r.Context(), sc, r.PathValue("id"))
		if err != nil {
			return err
		}
		ServeStoredFile(w, f)
		return nil
	})
	if a.o.CyberAlerts != nil {
		a.route(rt, spec{Method: "POST", Path: "/cyber-alerts/{id}/refresh", Tag: "cyber-alerts",
			Summary: "Work out an alert's scope again from the register, stored SBOMs and inventories: organisations newly in scope are added and told; those no longer in scope keep their rows, marked (national team only; the server also does it when the register changes)",
			Params:  []param{id}, Response: "AlertRefreshed"}, func(r *http.Request, sc scope.Scope) (any, error) {
			return a.o.CyberAlerts.RefreshScope(r.Context(), sc, r.PathValue("id"))
		})
	}
}

// ServeStoredFile writes an uploaded file as a download that is never
// active content: an attachment, nosniff, sandboxed, not cached.
func ServeStoredFile(w http.ResponseWriter, f vuln.SBOMFile) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Data) // a failed write: the client has gone
}

// findingActionBody is what POST /vuln/findings/actions takes.
type findingActionBody struct {
	// Findings are refs ("SB-…/COMPONENT/ID", each finding's ref).
	Findings []string `json:"findings"`
	// Action: acknowledge, accept-risk, close or reopen.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Expires: the day (YYYY-MM-DD) or time an accepted risk lapses.
	Expires    string `json:"expires,omitempty"`
	Resolution string `json:"resolution,omitempty"`
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &fault.Invalid{Field: "expires", Reason: "want a day such as 2027-03-31 or an RFC 3339 time"}
	}
	return t, nil
}

func findingQuery(r *http.Request) (vuln.FindingQuery, error) {
	q := r.URL.Query()
	limit, err := limitParam(r, 100, vuln.MaxFindingPage)
	if err != nil {
		return vuln.FindingQuery{}, err
	}
	over := false
	if v := q.Get("overdue"); v != "" {
		if over, err = strconv.ParseBool(v); err != nil {
			return vuln.FindingQuery{}, &fault.Invalid{Field: "overdue", Reason: "want true or false"}
		}
	}
	return vuln.FindingQuery{Level: q.Get("priority"), Ecosystem: q.Get("ecosystem"), CVE: q.Get("cve"), Org: q.Get("org"), ICB: q.Get("icb"),
		Product: q.Get("product"), Kind: q.Get("kind"), State: q.Get("state"), Overdue: over, Limit: limit, Cursor: q.Get("cursor")}, nil
}
