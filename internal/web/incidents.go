package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supplyviz"
)

// National incidents (issue 15, ADR 0005): the national team's list and
// incident page — acknowledgement progress by region and ICB on the
// supplier maps, who has not answered, every child case (the case pages
// are the Cases area's), a refresh button and updates shared down — the
// "Open a national incident" form on a supplier's page, and, on an
// affected organisation's own case, its acknowledgement form and clocks
// (cases_extras.go). Every rule is the cases package's: the handlers read
// forms and call it with the caller's Scope, so a trust reaches only its
// own child (anything else is 404).

// incidentPageNames are the incident pages' templates; incident.html also
// holds the parts drawn on the case page.
var incidentPageNames = []string{"incidents", "incident"}

func (w *Web) registerIncidents(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/incidents", authd, "National incidents: acknowledgement counts (the national team's)", w.incidentsPage)
	h("POST", "/incidents", authd, "Open a national incident from a supplier compromise (national team)", w.incidentOpen)
	h("GET", "/incidents/{id}", authd, "One national incident: acknowledgement progress by region and ICB, who has not answered, every child case", w.incidentPage)
	h("POST", "/incidents/{id}/refresh", authd, "Ask the supplier register again for a national incident's organisations", w.incidentRefresh)
	h("POST", "/incidents/{id}/updates", authd, "Copy an update into every affected organisation's case", w.incidentShare)
	h("POST", "/cases/{id}/incident", authd, "Acknowledge a national incident on the organisation's own case and report status", w.incidentAck)
}

type incidentsData struct {
	List []cases.IncidentSummary
}

func (w *Web) incidentsPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	list, err := w.o.Cases.ListIncidents(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "National incidents", "cases")
	v.D = incidentsData{List: list}
	w.render(rw, r, http.StatusOK, "incidents", v)
}

// incidentOpen opens an incident from the supplier page's form; a mistake
// goes back to the supplier page, said above its form.
func (w *Web) incidentOpen(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	supplier := strings.TrimSpace(r.PostFormValue("supplier"))
	inc, err := w.o.Cases.OpenIncident(r.Context(), sc, cases.NewIncident{Supplier: supplier, Product: r.PostFormValue("product"),
		Title: r.PostFormValue("title"), Severity: cases.Severity(r.PostFormValue("severity"))})
	if err != nil {
		if msg := invalidMessage(err); msg != "" && supplier != "" {
			http.Redirect(rw, r, "/suppliers/s/"+url.PathEscape(supplier)+"?incident="+url.QueryEscape(msg)+"#incident", http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/incidents/"+url.PathEscape(inc.ID)+"?done=opened", http.StatusSeeOther)
}

type incidentData struct {
	I        cases.Incident
	Message  string
	Error    string
	Map      template.HTML
	Waiting  []cases.IncidentChild
	CanWrite bool
}

var incidentDone = map[string]string{"opened": "National incident opened: every affected organisation has its case.", "refreshed": "Refreshed from the supplier register.",
	"shared": "Update shared with every affected organisation."}

func (w *Web) incidentPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	inc, err := w.o.Cases.GetIncident(ctx, sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := incidentData{I: inc, Message: incidentDone[r.URL.Query().Get("done")], Error: r.URL.Query().Get("error"), CanWrite: sc.Can(scope.Write)}
	if q := r.URL.Query().Get("done"); q == "refreshed" {
		d.Message = "Refreshed from the supplier register: " + r.URL.Query().Get("summary")
	}
	waiting := map[string]bool{}
	for _, o := range inc.Progress.NotAnswered {
		waiting[o] = true
	}
	for _, c := range inc.Children {
		if waiting[c.Org] {
			d.Waiting = append(d.Waiting, c)
		}
	}
	d.Map = w.incidentMap(r, inc)
	v := w.page(r, sc, inc.Title, "cases")
	v.D = d
	w.render(rw, r, http.StatusOK, "incident", v)
}

// incidentMap draws acknowledgement progress by ICB on the supplier maps'
// choropleth, inline; nothing without boundaries (the tables say it all).
func (w *Web) incidentMap(r *http.Request, inc cases.Incident) template.HTML {
	groups := make([]ackGroup, 0, len(inc.Progress.ByICB))
	for _, g := range inc.Progress.ByICB {
		groups = append(groups, ackGroup{Code: g.Code, Name: g.Name, Answered: g.Answered, Of: g.Organisations})
	}
	s := w.ackMap(r.Context(), geo.LevelICB, "Acknowledgements by ICB", inc.Title, "Share of affected organisations that answered",
		fmt.Sprintf("Vigil national incident %s.", inc.ID), groups)
	return w.inlineSVG(s, "incident map")
}

// ackGroup is one ICB's answers to a national incident or cyber alert.
type ackGroup struct {
	Code, Name   string
	Answered, Of int
}

// ackMap is the choropleth of the share of each ICB's (or, at
// geo.LevelRegion, each NHS England region's) organisations in scope that
// have answered, in four bands from none (hatched red) to all; nil
// without boundaries. Areas with no boundary are listed as unmapped.
func (w *Web) ackMap(ctx context.Context, level geo.Level, title, subtitle, legend, footer string, groups []ackGroup) *supplyviz.Scene {
	if w.o.Boundaries == nil {
		return nil
	}
	bs, err := w.o.Boundaries.Load(ctx, level)
	if err != nil || len(bs) == 0 {
		return nil
	}
	o := supplyviz.MapOptions{Title: title, Subtitle: subtitle, LegendTitle: legend,
		Values: map[string]supplyviz.MapValue{}, NoData: "Not affected", Link: func(code string) string { return "#" + string(level) + "-" + code },
		Bins: []supplyviz.Bin{{Min: 0, Label: "None yet", Fill: supplyviz.Hex("#d4351c"), Hatch: supplyviz.Hex("#942514")},
			{Min: 0.01, Label: "Some", Fill: supplyviz.Hex("#f47738")},
			{Min: 0.5, Label: "Half or more", Fill: supplyviz.Hex("#ffdd00")},
			{Min: 1, Label: "All", Fill: supplyviz.Hex("#00703c")}},
		Footer: footer}
	mapped := map[string]bool{}
	for _, b := range bs {
		mapped[b.Code] = true
	}
	for _, g := range groups {
		if !mapped[g.Code] {
			o.Unmapped = append(o.Unmapped, g.Code)
			continue
		}
		o.Values[g.Code] = supplyviz.MapValue{Value: float64(g.Answered) / float64(max(g.Of, 1)),
			Label: fmt.Sprintf("%d/%d", g.Answered, g.Of), Detail: fmt.Sprintf("%s: %d of %d answered", g.Name, g.Answered, g.Of)}
	}
	return supplyviz.MapPicture(bs, o)
}

// inlineSVG is a picture as SVG to place in a page; "" for none or on a
// failure (logged under what): the page's tables say it all.
func (w *Web) inlineSVG(s *supplyviz.Scene, what string) template.HTML {
	return w.inlineSVGAs(s, what, "")
}

// inlineSVGAs is inlineSVG with ids prefixed, for a page with several
// pictures (their titles, descriptions and hatch patterns stay unique).
func (w *Web) inlineSVGAs(s *supplyviz.Scene, what, idPrefix string) template.HTML {
	if s == nil {
		return ""
	}
	var buf bytes.Buffer
	if err := supplyviz.WriteSVG(&buf, s, supplyviz.SVGOptions{IDPrefix: idPrefix}); err != nil {
		w.log.Warn(what, "err", err)
		return ""
	}
	return template.HTML(buf.String()) //nolint:gosec // drawn by supplyviz, which escapes every text it places
}

func (w *Web) incidentRefresh(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	inc, err := w.o.Cases.RefreshIncident(r.Context(), sc, id)
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, "/incidents/"+url.PathEscape(id)+"?error="+url.QueryEscape(msg), http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	s := inc.Refresh
	sum := fmt.Sprintf("%d new, %d changed, %d no longer affected, %d affected again.", len(s.Added), len(s.Changed), len(s.Dropped), len(s.Returned))
	http.Redirect(rw, r, "/incidents/"+url.PathEscape(id)+"?done=refreshed&summary="+url.QueryEscape(sum), http.StatusSeeOther)
}

func (w *Web) incidentShare(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Cases.ShareIncidentUpdate(r.Context(), sc, id, cases.IncidentUpdate{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")})
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, "/incidents/"+url.PathEscape(id)+"?error="+url.QueryEscape(msg)+"#share", http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/incidents/"+url.PathEscape(id)+"?done=shared", http.StatusSeeOther)
}

func (w *Web) incidentAck(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Cases.AcknowledgeIncident(r.Context(), sc, id, cases.IncidentAck{Status: r.PostFormValue("status"), Note: r.PostFormValue("note")})
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, "/cases/"+url.PathEscape(id)+"?ackerror="+url.QueryEscape(msg)+"#incident", http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/cases/"+url.PathEscape(id)+"?done=acknowledged#incident", http.StatusSeeOther)
}

// invalidMessage is an invalid request's reason as a sentence, or "".
func invalidMessage(err error) string {
	var inv *fault.Invalid
	if errors.As(err, &inv) {
		return sentence(inv.Field + ": " + inv.Reason)
	}
	return ""
}

// incidentPart is what an affected organisation's case shows of its
// national incident: its impact, its answer and the form to give it.
type incidentPart struct {
	P        cases.IncidentChild
	CSRF     string
	Error    string
	Statuses []string
	CanWrite bool
	National bool
}

type clocksPart struct {
	Clocks []cases.Clock
}

// incidentExtras fills the case page's incident and clocks parts.
func (w *Web) incidentExtras(r *http.Request, sc scope.Scope, c cases.Case) (incident, clocks template.HTML) {
	t := w.pages["incident"]
	if len(c.Clocks) > 0 {
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "case-clocks-part", clocksPart{Clocks: c.Clocks}); err != nil {
			w.log.Warn("case clocks", "err", err)
		} else {
			clocks = template.HTML(buf.String()) //nolint:gosec // html/template's output
		}
	}
	if c.ParentID == "" {
		return incident, clocks
	}
	p, err := w.o.Cases.IncidentPart(r.Context(), sc, c.ID)
	if err != nil {
		return incident, clocks // a split-off child is no member: nothing to show
	}
	path, _ := w.o.Orgs.PathOf(r.Context(), c.Org)
	d := incidentPart{P: p, CSRF: httpd.CSRFToken(r.Context()), Error: r.URL.Query().Get("ackerror"), Statuses: cases.AckStatuses(),
		CanWrite: c.Status != cases.CaseClosed && sc.CanAt(scope.Write, path), National: sc.CanAt(scope.Read, "/"+org.RootCode+"/")}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "case-incident-part", d); err != nil {
		w.log.Warn("case incident part", "err", err)
		return incident, clocks
	}
	return template.HTML(buf.String()), clocks //nolint:gosec // html/template's output
}
