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

var vulnPageNames = []string{"vulnsboms", "vulnfindings"}

func (w *Web) registerVuln(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/vuln/products/{id}", authd, "A supplier product's stored SBOMs and their findings, most urgent first", w.vulnProductPage)
	h("GET", "/vuln/orgs/{code}", authd, "An organisation's stored inventories and their findings, most urgent first", w.vulnOrgPage)
	w.registerVulnFindings(h)
}

type vulnSBOMsData struct {
	// Kind is "product" or "inventory"; Subject the product's ID or the
	// organisation's code.
	Kind, Subject string
	SBOMs         []vuln.StoredSBOM
	Findings      []vuln.StoredFinding
	Levels        []string
	SLA           string
	// VEX stored for the product or organisation; CanChange: the reader
	// may upload here (the forms are shown); Done and Error: the last
	// upload's outcome.
	VEX           []vuln.StoredVEX
	KPIs          []vuln.LevelKPI
	CanChange     bool
	Done, Error   string
	Criticalities []string
	Form          findingForm
}

// findingForm is the workflow form's data (partials.html "findingform").
type findingForm struct {
	CSRF, Back string
	Actions    []string
	// National: the reader may raise a cyber alert from a finding.
	National bool
}

var vulnDone = map[string]string{
	"sbom":        "SBOM stored; its findings are listed below once it is matched.",
	"inventory":   "Inventory stored; its findings are listed below once it is matched.",
	"vex":         "VEX stored and applied to the stored findings.",
	"vex-removed": "VEX removed; the findings it suppressed are judged again.",
	"acted":       "Done: the findings are changed, and each change is in the audit log.",
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
	vex, err := w.o.SBOMs.ListVEX(r.Context(), sc, sf)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	ks, err := w.o.SBOMs.FindingKPIs(r.Context(), sc, vuln.FindingQuery{Product: sf.Product, Org: sf.Org})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	canChange := false
	if kind == vuln.KindInventory {
		p, err := w.o.Orgs.PathOf(r.Context(), subject)
		canChange = err == nil && sc.CanAt(scope.Write, p)
	} else if w.o.Supply != nil {
		_, err := w.o.Supply.EditableProduct(r.Context(), sc, subject)
		canChange = err == nil
	}
	v := w.page(r, sc, title, area)
	v.D = vulnSBOMsData{Kind: kind, Subject: subject, SBOMs: xs, Findings: fs, Levels: vuln.PriorityLevels(), SLA: w.o.SBOMs.SLA().String(),
		VEX: vex, KPIs: ks, CanChange: canChange, Done: vulnDone[r.URL.Query().Get("done")], Error: r.URL.Query().Get("error"),
		Criticalities: vuln.Criticalities(), Form: findingForm{CSRF: v.CSRF, Back: r.URL.Path, Actions: vuln.FindingActions(),
			National: w.o.CyberAlerts != nil && w.mayIssue(r, sc)}}
	w.render(rw, r, http.StatusOK, "vulnsboms", v)
}
