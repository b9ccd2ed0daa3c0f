package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

const casePage = 100

type caseListData struct {
	Status, Severity, Org, Assignee, Tag, Template, Q string
	Query                                             string
	Cases                                             []cases.Case
	Next                                              string
	Paged                                             bool
	Problem                                           string
	Statuses                                          []cases.CaseStatus
	Sevs                                              []cases.Severity
	Templates                                         []cases.Template
	CanWrite                                          bool
}

// caseList lists the cases the caller may see that match the filter.
func (w *Web) caseList(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	d := caseListData{Status: g("status"), Severity: g("severity"), Org: g("org"), Assignee: g("assignee"), Tag: g("tag"), Template: g("template"), Q: g("q"),
		Statuses: cases.CaseStatuses(), Sevs: cases.Severities(), Templates: w.o.Cases.Templates(), CanWrite: sc.Can(scope.Write), Paged: q.Get("after") != ""}
	keep := url.Values{}
	for _, k := range []string{"status", "severity", "org", "assignee", "tag", "template", "q"} {
		if v := g(k); v != "" {
			keep.Set(k, v)
		}
	}
	d.Query = keep.Encode()
	f := cases.CaseFilter{Status: cases.CaseStatus(d.Status), Severity: cases.Severity(d.Severity), Org: d.Org, Assignee: d.Assignee, Tag: d.Tag,
		Template: d.Template, Query: d.Q, After: q.Get("after"), Limit: casePage}
	if d.Assignee == "me" {
		f.Assignee = sc.Email
	}
	list, next, err := w.o.Cases.ListCases(r.Context(), sc, f)
	status := http.StatusOK
	var inv *fault.Invalid
	switch {
	case errors.As(err, &inv):
		d.Problem, status = "The filter “"+inv.Field+"” "+inv.Reason+".", http.StatusBadRequest
	case err != nil:
		w.fail(rw, r, sc, err)
		return
	}
	d.Cases = list
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/cases?" + nq.Encode()
	}
	v := w.page(r, sc, "Cases", "cases")
	v.D = d
	w.render(rw, r, status, "cases", v)
}

type caseNewData struct {
	Form      *form
	Templates []cases.Template
	Sevs      []cases.Severity
	TLPs      []cases.TLP
}

var caseNewFields = []string{"template", "org", "title", "description", "severity", "tlp"}

// caseNewForm is the form to open a case.
func (w *Web) caseNewForm(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	f := &form{Values: map[string]string{"template": r.URL.Query().Get("template")}, Errors: map[string]string{}}
	if cur := w.currentOrg(r, sc); cur != nil {
		f.Values["org"] = cur.Code
	} else if len(sc.Grants) == 1 {
		f.Values["org"] = sc.Grants[0].Org
	}
	w.renderCaseNew(rw, r, sc, http.StatusOK, f)
}

func (w *Web) renderCaseNew(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, f *form) {
	v := w.page(r, sc, "Open a case", "cases")
	v.D = caseNewData{Form: f, Templates: w.o.Cases.Templates(), Sevs: cases.Severities(), TLPs: cases.TLPs()}
	w.render(rw, r, status, "case_new", v)
}

// caseCreate opens a case and shows it.
func (w *Web) caseCreate(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	f := newForm(r, caseNewFields...)
	c, err := w.o.Cases.CreateCase(r.Context(), sc, cases.NewCase{Template: f.V("template"), Org: f.V("org"), Title: f.V("title"),
		Description: r.PostFormValue("description"), Severity: cases.Severity(f.V("severity")), TLP: cases.TLP(f.V("tlp"))})
	if err != nil {
		if f.fieldError(err, caseNewFields...) {
			w.renderCaseNew(rw, r, sc, http.StatusUnprocessableEntity, f)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/cases/"+c.ID+"?done=created", http.StatusSeeOther)
}
