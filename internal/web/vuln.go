package web

import (
	"net/http"
	"strings"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// Stored SBOMs and inventories (issue 18): a supplier product's SBOMs per
// version with their findings (/vuln/products/{id}), and an organisation's
// inventories with theirs (/vuln/orgs/{code}), most urgent first with the
// priority's explanation and SLA due date. Every rule (who sees which) is
// vuln.SBOMs's; uploads go through the API and the CLI.

var vulnPageNames = []string{"vulnsboms"}

func (w *Web) registerVuln(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/vuln/products/{id}", authd, "A supplier product's stored SBOMs and their findings, most urgent first", w.vulnProductPage)
	h("GET", "/vuln/orgs/{code}", authd, "An organisation's stored inventories and their findings, most urgent first", w.vulnOrgPage)
}

type vulnSBOMsData struct {
	// Kind is "product" or "inventory"; Subject the product's ID or the
	// organisation's code.
	Kind, Subject string
	SBOMs         []vuln.StoredSBOM
	Findings      []vuln.StoredFinding
	Levels        []string
	SLA           string
}

func (w *Web) vulnProductPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	w.vulnRender(rw, r, sc, vuln.KindProduct, id, vuln.SBOMFilter{Product: id}, vuln.FindingFilter{Product: id})
}

func (w *Web) vulnOrgPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	code := strings.ToUpper(r.PathValue("code"))
	w.vulnRender(rw, r, sc, vuln.KindInventory, code, vuln.SBOMFilter{Org: code}, vuln.FindingFilter{Org: code})
}

func (w *Web) vulnRender(rw http.ResponseWriter, r *http.Request, sc scope.Scope, kind, subject string, sf vuln.SBOMFilter, ff vuln.FindingFilter) {
	ff.Level = r.URL.Query().Get("priority")
	xs, err := w.o.SBOMs.List(r.Context(), sc, sf)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	fs, err := w.o.SBOMs.Findings(r.Context(), sc, ff)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	title, area := "SBOMs of product "+subject, "suppliers"
	if kind == vuln.KindInventory {
		title, area = "Inventories of "+subject, "orgs"
	}
	v := w.page(r, sc, title, area)
	v.D = vulnSBOMsData{Kind: kind, Subject: subject, SBOMs: xs, Findings: fs, Levels: vuln.PriorityLevels(), SLA: w.o.SBOMs.SLA().String()}
	w.render(rw, r, http.StatusOK, "vulnsboms", v)
}
