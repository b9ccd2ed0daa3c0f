package web

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supplyviz"
	"github.com/vigil-health/vigil/internal/vuln"
)

// National cyber alerts (issue 18, items 7–9): the list with the national
// team's issue form (/cyber-alerts), one alert with each organisation the
// reader may see and the response form for those it may answer for, in
// bulk (/cyber-alerts/{id}), and the response dashboard by region, ICB and
// type with its CSV (/cyber-alerts/dashboard). Every rule is vuln's: the
// handlers read forms and call it with the caller's Scope.

var cyberAlertPageNames = []string{"cyberalerts", "cyberalert", "cyberalertsdash", "cyberalerthistory"}

func (w *Web) registerCyberAlerts(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("POST", "/cyber-alerts", authd, "Issue a national cyber alert (national team)", w.cyberAlertIssue)
	h("GET", "/cyber-alerts/{id}", authd, "One national cyber alert: the organisations you may see, why each is in scope, clocks and responses; the response form", w.cyberAlertPage)
	h("POST", "/cyber-alerts/{id}/responses", authd, "Answer a cyber alert for one or more organisations", w.cyberAlertRespond)
	h("GET", "/cyber-alerts/dashboard", authd, "Cyber alert response dashboard: response rate and overdue organisations by region, ICB and type", w.cyberAlertDashboard)
	h("GET", "/cyber-alerts/history", authd, "An organisation's part in every cyber alert that reached it, with its response times", w.cyberAlertHistory)
	h("GET", "/cyber-alerts/dashboard.csv", authd, "Cyber alert responses as CSV, one line an organisation and alert", w.cyberAlertDashboardCSV)
	h("GET", "/cyber-alerts/dashboard.png", authd, "The map of acknowledgements by ICB as a PNG image, for briefings", w.cyberAlertDashboardPNG)
}

type cyberAlertsData struct {
	List     []vuln.AlertSummary
	CanIssue bool
	Error    string
	Form     url.Values
	Sevs     []string
	TLPs     []string
}

func (w *Web) mayIssue(r *http.Request, sc scope.Scope) bool {
	p, err := w.o.Orgs.PathOf(r.Context(), org.RootCode)
	return err == nil && sc.CanAt(scope.Write, p)
}

func (w *Web) cyberAlertsPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.cyberAlertsRender(rw, r, sc, http.StatusOK, "", nil)
}

func (w *Web) cyberAlertsRender(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, msg string, form url.Values) {
	list, err := w.o.CyberAlerts.List(r.Context(), sc, vuln.ListFilter{})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if form == nil {
		form = url.Values{"severity": {"high"}, "tlp": {"AMBER"}}
	}
	v := w.page(r, sc, "National cyber alerts", "cyber-alerts")
	v.D = cyberAlertsData{List: list, CanIssue: w.mayIssue(r, sc), Error: msg, Form: form, Sevs: vuln.AlertSeverities(), TLPs: vuln.TLPs()}
	w.render(rw, r, status, "cyberalerts", v)
}

// splitList reads a form field of items separated by commas, spaces or
// lines.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
}

// cyberAlertIssue issues from the list page's form. Products are one a
// line: "ID-or-name" or "ID-or-name: >=1.0, <2.0".
func (w *Web) cyberAlertIssue(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	f := r.PostForm
	n := vuln.NewAlert{Title: f.Get("title"), Severity: f.Get("severity"), CVEs: splitList(f.Get("cves")), RequiredAction: f.Get("required_action"), TLP: f.Get("tlp")}
	for _, line := range strings.Split(f.Get("products"), "\n") {
		p, vers, _ := strings.Cut(line, ":")
		if p = strings.TrimSpace(p); p != "" {
			n.Products = append(n.Products, vuln.AffectedProductSpec{Product: p, Versions: strings.TrimSpace(vers)})
		}
	}
	if d := strings.TrimSpace(f.Get("deadline")); d != "" {
		t, err := time.ParseInLocation("2006-01-02", d, w.loc())
		if err != nil {
			w.cyberAlertsRender(rw, r, sc, http.StatusBadRequest, "Deadline: give a date such as 2026-12-31.", f)
			return
		}
		n.Deadline = t.Add(17 * time.Hour) // the end of that working day
	}
	if !w.mayIssue(r, sc) {
		w.fail(rw, r, sc, fault.Forbiddenf("issuing a national cyber alert needs a national role that may change things"))
		return
	}
	a, err := w.o.CyberAlerts.Issue(r.Context(), sc, n)
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			w.cyberAlertsRender(rw, r, sc, http.StatusBadRequest, msg, f)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/cyber-alerts/"+url.PathEscape(a.ID)+"?done=issued", http.StatusSeeOther)
}

type cyberAlertData struct {
	A        vuln.CyberAlert
	Message  string
	Error    string
	Writable []vuln.AlertOrg
	Actions  []string
	Apps     []string
	// CanRefresh: the reader may work out the scope again (national team).
	CanRefresh bool
}

var cyberAlertDone = map[string]string{"issued": "Cyber alert issued: every organisation in scope is being e-mailed.", "answered": "Your answer is recorded.",
	"refreshed": "The scope was worked out again from the register: organisations newly in scope were added and told."}

func (w *Web) cyberAlertPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	a, err := w.o.CyberAlerts.Get(ctx, sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := cyberAlertData{A: a, Message: cyberAlertDone[r.URL.Query().Get("done")], Error: r.URL.Query().Get("error"), Actions: vuln.Actions(), Apps: vuln.Applicabilities(),
		CanRefresh: w.mayIssue(r, sc)}
	for _, m := range a.Orgs {
		if m.ClosedAt != nil {
			continue
		}
		if p, err := w.o.Orgs.PathOf(ctx, m.Org); err == nil && sc.CanAt(scope.Write, p) {
			d.Writable = append(d.Writable, m)
		}
	}
	v := w.page(r, sc, a.Title, "cyber-alerts")
	v.D = d
	w.render(rw, r, http.StatusOK, "cyberalert", v)
}

func (w *Web) cyberAlertRespond(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	id := r.PathValue("id")
	f := r.PostForm
	var orgs []string
	for _, o := range f["orgs"] {
		orgs = append(orgs, splitList(o)...)
	}
	_, err := w.o.CyberAlerts.Respond(r.Context(), sc, id, vuln.Response{Orgs: orgs, Action: f.Get("action"), Applicability: f.Get("applicability"), Text: f.Get("text")})
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			http.Redirect(rw, r, "/cyber-alerts/"+url.PathEscape(id)+"?error="+url.QueryEscape(msg)+"#respond", http.StatusSeeOther)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/cyber-alerts/"+url.PathEscape(id)+"?done=answered", http.StatusSeeOther)
}

type cyberDashData struct {
	D     vuln.Dashboard
	Alert string
	CSV   string
	PNG   string
	Map   template.HTML
	// RegionMap is the same by NHS England region, beside the ICB map;
	// Chart the response rate over time (the table stays beside it).
	RegionMap, Chart template.HTML
	Groups           []cyberGroup
}

type cyberGroup struct {
	ID, Title, Col string
	Rows           []vuln.GroupStats
}

func (w *Web) cyberAlertDashboard(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.URL.Query().Get("alert")
	d, err := w.o.CyberAlerts.Dashboard(r.Context(), sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	q := ""
	if id != "" {
		q = "?alert=" + url.QueryEscape(id)
	}
	v := w.page(r, sc, "Cyber alert responses", "cyber-alerts")
	s, rs := w.cyberAlertMaps(r.Context(), d)
	png := ""
	if s != nil || rs != nil {
		png = "/cyber-alerts/dashboard.png" + q
	}
	v.D = cyberDashData{D: d, Alert: id, CSV: "/cyber-alerts/dashboard.csv" + q, PNG: png, Map: w.inlineSVGAs(s, "cyber alert map", "icbmap-"),
		RegionMap: w.inlineSVGAs(rs, "cyber alert region map", "regionmap-"), Chart: w.inlineSVGAs(cyberRateChart(d), "cyber alert rate chart", "ratechart-"), Groups: []cyberGroup{{"by-region", "By region", "Region", d.ByRegion},
			{"by-icb", "By ICB", "ICB", d.ByICB}, {"by-type", "By organisation type", "Type", d.ByType}}}
	w.render(rw, r, http.StatusOK, "cyberalertsdash", v)
}

func (w *Web) cyberAlertDashboardCSV(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d, err := w.o.CyberAlerts.Dashboard(r.Context(), sc, r.URL.Query().Get("alert"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="vigil-cyber-alerts.csv"`)
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Cache-Control", "no-store")
	_ = d.WriteCSV(rw) // a failed write: the client has gone
}

// cyberAlertMaps are the dashboard's acknowledgements by ICB and by NHS
// England region (drawn from the ONS region boundaries), each nil
// without its boundaries.
func (w *Web) cyberAlertMaps(ctx context.Context, d vuln.Dashboard) (icb, region *supplyviz.Scene) {
	ack := func(gs []vuln.GroupStats) []ackGroup {
		out := make([]ackGroup, 0, len(gs))
		for _, g := range gs {
			out = append(out, ackGroup{Code: g.Code, Name: g.Name, Answered: g.Acknowledged, Of: g.Organisations})
		}
		return out
	}
	subtitle := "Every cyber alert you may see"
	footer := "Vigil national cyber alerts, " + d.At.UTC().Format("2 January 2006 15:04") + " UTC."
	if d.Alert != "" {
		subtitle = "Cyber alert " + d.Alert
	}
	const legend = "Share of organisations in scope that acknowledged"
	return w.ackMap(ctx, geo.LevelICB, "Cyber alert acknowledgements by ICB", subtitle, legend, footer, ack(d.ByICB)),
		w.ackMap(ctx, geo.LevelRegion, "Cyber alert acknowledgements by region", subtitle, legend, footer, ack(d.ByRegion))
}

// cyberRateChart is the response rate over time as a step chart, from
// the same figures as the table beside it.
func cyberRateChart(d vuln.Dashboard) *supplyviz.Scene {
	if len(d.OverTime) == 0 {
		return nil
	}
	pts := make([]supplyviz.RatePoint, 0, len(d.OverTime))
	for _, p := range d.OverTime {
		pts = append(pts, supplyviz.RatePoint{Hours: p.Hours, Count: p.Acknowledged, Rate: p.Rate, Elapsed: p.Elapsed})
	}
	sub := "Share of organisations in scope that acknowledged"
	if d.Alert != "" {
		sub = "Cyber alert " + d.Alert + ": share of organisations in scope"
	}
	return supplyviz.RateChart(pts, supplyviz.RateOptions{Title: "Acknowledged over time", Subtitle: sub, Of: d.Totals.Organisations, ClockHours: 48})
}

// cyberAlertDashboardPNG is the dashboard's map as a PNG file: the
// picture a briefing pastes in, drawn from the same figures as the page
// under the reader's scope; 404 when there are no map boundaries.
func (w *Web) cyberAlertDashboardPNG(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d, err := w.o.CyberAlerts.Dashboard(r.Context(), sc, r.URL.Query().Get("alert"))
	if err != nil {
		w.pictureFail(rw, r, sc, err)
		return
	}
	icb, region := w.cyberAlertMaps(r.Context(), d)
	s := supplyviz.Beside("Cyber alert acknowledgements by ICB and by region", 24, icb, region)
	if s == nil {
		w.pictureFail(rw, r, sc, fault.NotFoundf("no map boundaries are loaded"))
		return
	}
	var buf bytes.Buffer
	if err := supplyviz.WritePNG(&buf, s, 2); err != nil {
		w.serverError(rw, r, &sc, err)
		return
	}
	name := "vigil-cyber-alerts"
	if d.Alert != "" {
		name += "-" + safeName(d.Alert)
	}
	h := rw.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.png"`)
	_, _ = rw.Write(buf.Bytes()) // a failed write: the client has gone
}

type cyberHistoryData struct {
	Org  string
	List []vuln.HistoryEntry
}

func (w *Web) cyberAlertHistory(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	code := r.URL.Query().Get("org")
	list, err := w.o.CyberAlerts.History(r.Context(), sc, code)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Cyber alerts of "+strings.ToUpper(code), "cyber-alerts")
	v.D = cyberHistoryData{Org: strings.ToUpper(code), List: list}
	w.render(rw, r, http.StatusOK, "cyberalerthistory", v)
}
