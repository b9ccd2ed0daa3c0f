package web

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// The national findings view with its workflow form (/vuln/findings),
// the upload forms for SBOMs, inventories and VEX on the product and
// organisation pages, the uploaded file's download, and a cyber alert's
// scope refresh (issue 18). Every rule is vuln's.

func (w *Web) registerVulnFindings(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/vuln/findings", authd, "Every stored finding you may see, across products and organisations, filtered, with counts overdue by priority and the workflow form", w.vulnFindingsPage)
	h("GET", "/vuln/findings.csv", authd, "The findings view as CSV, with the same filters (every page, at most 100,000 lines)", w.vulnFindingsCSV)
	h("POST", "/vuln/findings/actions", authd, "Acknowledge, accept the risk of, close or reopen the findings ticked (all or none)", w.vulnFindingsAct)
	h("POST", "/vuln/products/{id}/sboms", authd, "Upload a supplier product's SBOM at one version", w.vulnUploadProductSBOM)
	h("POST", "/vuln/orgs/{code}/inventories", authd, "Upload an organisation's inventory", w.vulnUploadInventory)
	h("POST", "/vuln/products/{id}/vex", authd, "Upload a VEX document for a supplier product", w.vulnUploadProductVEX)
	h("POST", "/vuln/orgs/{code}/vex", authd, "Upload a VEX document for an organisation", w.vulnUploadOrgVEX)
	h("POST", "/vuln/vex/{id}/delete", authd, "Remove a stored VEX document", w.vulnDeleteVEX)
	h("GET", "/vuln/sboms/{id}/file", authd, "Download an uploaded SBOM or inventory file (always an attachment)", w.vulnSBOMFile)
	if w.o.CyberAlerts != nil {
		h("POST", "/cyber-alerts/{id}/refresh", authd, "Work out a cyber alert's scope again from the register (national team)", w.cyberAlertRefresh)
	}
}

type vulnFindingsData struct {
	Page    vuln.FindingPage
	KPIs    []vuln.LevelKPI
	Q       url.Values
	Next    string
	Levels  []string
	States  []string
	Actions []string
	Done    string
	Error   string
	Form    findingForm
	CSV     string
}

func findingQueryOf(q url.Values) vuln.FindingQuery {
	over, _ := strconv.ParseBool(q.Get("overdue"))
	return vuln.FindingQuery{Level: q.Get("priority"), Ecosystem: q.Get("ecosystem"), CVE: q.Get("cve"), Org: q.Get("org"), ICB: q.Get("icb"),
		Product: q.Get("product"), Kind: q.Get("kind"), State: q.Get("state"), Overdue: over, Cursor: q.Get("cursor"), Limit: 100}
}

var findingsDone = map[string]string{"acted": "Done: the findings are changed, and each change is in the audit log."}

func (w *Web) vulnFindingsPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	fq := findingQueryOf(q)
	p, err := w.o.SBOMs.Search(r.Context(), sc, fq)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	ks, err := w.o.SBOMs.FindingKPIs(r.Context(), sc, fq)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := vulnFindingsData{Page: p, KPIs: ks, Q: q, Levels: vuln.PriorityLevels(), States: append(vuln.FindingStates(), "all"), Actions: vuln.FindingActions(),
		Done: findingsDone[q.Get("done")], Error: q.Get("error")}
	if p.Next != "" {
		n := url.Values{}
		for k, v := range q {
			n[k] = v
		}
		n.Set("cursor", p.Next)
		d.Next = "/vuln/findings?" + n.Encode()
	}
	c := url.Values{}
	for k, v := range q {
		if k != "cursor" && k != "done" && k != "error" {
			c[k] = v
		}
	}
	d.CSV = "/vuln/findings.csv?" + c.Encode()
	v := w.page(r, sc, "Vulnerability findings", "suppliers")
	d.Form = findingForm{CSRF: v.CSRF, Back: r.URL.RequestURI(), Actions: vuln.FindingActions(), National: w.o.CyberAlerts != nil && w.mayIssue(r, sc)}
	v.D = d
	w.render(rw, r, http.StatusOK, "vulnfindings", v)
}

// back is where a form returns to: the page it came from (a local path
// only), else the findings page.
func back(r *http.Request, def string) string {
	if b := r.PostFormValue("back"); strings.HasPrefix(b, "/vuln/") && !strings.HasPrefix(b, "//") {
		return b
	}
	return def
}

func withParam(path, k, v string) string {
	path, _, _ = strings.Cut(path, "#")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + k + "=" + url.QueryEscape(v)
}

func (w *Web) vulnFindingsAct(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	f := r.PostForm
	a := vuln.FindingAction{Findings: f["findings"], Action: f.Get("action"), Reason: f.Get("reason"), Resolution: f.Get("resolution")}
	to := back(r, "/vuln/findings")
	if a.Action == actCyberAlert && w.o.CyberAlerts != nil {
		w.findingAlert(rw, r, sc, to)
		return
	}
	if e := strings.TrimSpace(f.Get("expires")); e != "" {
		t, err := time.ParseInLocation("2006-01-02", e, w.loc())
		if err != nil {
			http.Redirect(rw, r, withParam(to, "error", "Expires: give a date such as 2027-03-31."), http.StatusSeeOther)
			return
		}
		a.Expires = t
	}
	if _, err := w.o.SBOMs.Act(r.Context(), sc, a); err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, withParam(to, "error", msg), http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, withParam(to, "done", "acted"), http.StatusSeeOther)
}

// upload reads the form's one file; a problem goes back to the page.
func (w *Web) upload(rw http.ResponseWriter, r *http.Request, page string) (uploadFile, bool) {
	files, problem := readUpload(rw, r, "files", 1)
	if problem != "" {
		http.Redirect(rw, r, withParam(page, "error", problem), http.StatusSeeOther)
		return uploadFile{}, false
	}
	return files[0], true
}

// stored finishes an upload: invalid input goes back to the page as a
// message, other errors are the error page.
func (w *Web) stored(rw http.ResponseWriter, r *http.Request, sc scope.Scope, page, done string, err error) {
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, withParam(page, "error", msg), http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, withParam(page, "done", done), http.StatusSeeOther)
}

func (w *Web) vulnUploadProductSBOM(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	page := "/vuln/products/" + url.PathEscape(id)
	f, ok := w.upload(rw, r, page)
	if !ok {
		return
	}
	_, err := w.o.SBOMs.AddProductSBOM(r.Context(), sc, id, r.PostFormValue("version"), f.Name, f.Data)
	w.stored(rw, r, sc, page, "sbom", err)
}

func (w *Web) vulnUploadInventory(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	code := strings.ToUpper(r.PathValue("code"))
	page := "/vuln/orgs/" + url.PathEscape(code)
	f, ok := w.upload(rw, r, page)
	if !ok {
		return
	}
	_, err := w.o.SBOMs.AddInventory(r.Context(), sc, code, vuln.InventoryMeta{Name: r.PostFormValue("name"), Criticality: r.PostFormValue("criticality"),
		Exposure: r.PostFormValue("exposure")}, f.Name, f.Data)
	w.stored(rw, r, sc, page, "inventory", err)
}

func (w *Web) vulnUploadProductVEX(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	page := "/vuln/products/" + url.PathEscape(id)
	f, ok := w.upload(rw, r, page)
	if !ok {
		return
	}
	_, err := w.o.SBOMs.AddProductVEX(r.Context(), sc, id, f.Name, f.Data)
	w.stored(rw, r, sc, page, "vex", err)
}

func (w *Web) vulnUploadOrgVEX(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	code := strings.ToUpper(r.PathValue("code"))
	page := "/vuln/orgs/" + url.PathEscape(code)
	f, ok := w.upload(rw, r, page)
	if !ok {
		return
	}
	_, err := w.o.SBOMs.AddOrgVEX(r.Context(), sc, code, f.Name, f.Data)
	w.stored(rw, r, sc, page, "vex", err)
}

func (w *Web) vulnDeleteVEX(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	x, err := w.o.SBOMs.GetVEX(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	page := "/vuln/products/" + url.PathEscape(x.Product)
	if x.Kind == vuln.KindInventory {
		page = "/vuln/orgs/" + url.PathEscape(x.Org)
	}
	w.stored(rw, r, sc, page, "vex-removed", w.o.SBOMs.DeleteVEX(r.Context(), sc, x.ID))
}

// vulnSBOMFile downloads the uploaded file: never active content (an
// attachment, nosniff, a sandboxing CSP).
func (w *Web) vulnSBOMFile(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f, err := w.o.SBOMs.File(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(f.Data) // a failed write: the client has gone
}

func (w *Web) cyberAlertRefresh(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	if _, err := w.o.CyberAlerts.RefreshScope(r.Context(), sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/cyber-alerts/"+url.PathEscape(id)+"?done=refreshed", http.StatusSeeOther)
}

// actCyberAlert is the workflow form's choice that raises a national
// cyber alert from the one finding ticked (the national team's).
const actCyberAlert = "cyber-alert"

// findingAlert raises a cyber alert from the one finding ticked: its CVEs,
// its summary as the title and its priority as the severity (vuln.AlertFromFinding).
func (w *Web) findingAlert(rw http.ResponseWriter, r *http.Request, sc scope.Scope, to string) {
	f := r.PostForm
	bad := func(msg string) { http.Redirect(rw, r, withParam(to, "error", msg), http.StatusSeeOther) }
	if len(f["findings"]) != 1 {
		bad("Tick one finding to raise a cyber alert from.")
		return
	}
	ref, err := vuln.ParseFindingRef(f["findings"][0])
	if err != nil {
		bad(invalidMessage(err))
		return
	}
	fs, err := w.o.SBOMs.Findings(r.Context(), sc, vuln.FindingFilter{SBOM: ref.SBOM})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	var found *vuln.StoredFinding
	for i := range fs {
		if fs[i].Ref == f["findings"][0] {
			found = &fs[i]
		}
	}
	if found == nil {
		w.fail(rw, r, sc, fault.NotFoundf("finding %s", f["findings"][0]))
		return
	}
	n := vuln.NewAlert{RequiredAction: f.Get("required_action"), TLP: f.Get("tlp")}
	if d := strings.TrimSpace(f.Get("deadline")); d != "" {
		t, err := time.ParseInLocation("2006-01-02", d, w.loc())
		if err != nil {
			bad("Deadline: give a date such as 2026-12-31.")
			return
		}
		n.Deadline = t.Add(17 * time.Hour) // the end of that working day, as the issue form
	}
	if n, err = vuln.AlertFromFinding(*found, n); err == nil {
		var a vuln.CyberAlert
		if a, err = w.o.CyberAlerts.Issue(r.Context(), sc, n); err == nil {
			http.Redirect(rw, r, "/cyber-alerts/"+url.PathEscape(a.ID)+"?done=issued", http.StatusSeeOther)
			return
		}
	}
	if msg := invalidMessage(err); msg != "" {
		bad(msg)
		return
	}
	w.fail(rw, r, sc, err)
}

func (w *Web) vulnFindingsCSV(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := findingQueryOf(r.URL.Query())
	fs, _, err := w.o.SBOMs.SearchAll(r.Context(), sc, q)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="vigil-findings.csv"`)
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	_ = vuln.WriteFindingsCSV(rw, fs) // a failed write: the client has gone
}
