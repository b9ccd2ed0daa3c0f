package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// inboxPage is how many alerts one page of the inbox shows.
const inboxPage = 100

// inboxFilter is the inbox's filter form, as the query string carries it
// (cases.InboxFilterKeys; a saved view is the same string).
type inboxFilter struct {
	Status, Severity, Source, Type, Org, Assignee, Q, Since, Group string
}

func readInboxFilter(q url.Values) inboxFilter {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return inboxFilter{Status: g("status"), Severity: g("severity"), Source: g("source"), Type: g("type"), Org: g("org"),
		Assignee: g("assignee"), Q: g("q"), Since: g("since"), Group: g("group")}
}

// values is the filter as a query string (empty fields left out).
func (f inboxFilter) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"status": f.Status, "severity": f.Severity, "source": f.Source, "type": f.Type, "org": f.Org,
		"assignee": f.Assignee, "q": f.Q, "since": f.Since, "group": f.Group} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// sinceChoices are the inbox's "received in the last" choices; a date
// (YYYY-MM-DD, midnight UK time) is accepted too.
var sinceChoices = []struct{ Value, Label string }{{"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"}}

// since reads the since field: a choice above or a date.
func (w *Web) since(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	now := w.o.Now()
	switch s {
	case "1h":
		return now.Add(-time.Hour), nil
	case "24h":
		return now.Add(-24 * time.Hour), nil
	case "7d":
		return now.AddDate(0, 0, -7), nil
	case "30d":
		return now.AddDate(0, 0, -30), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, w.o.Location)
	if err != nil {
		return time.Time{}, fault.Invalidf("since", "%q is not a period: choose one, or give a date as YYYY-MM-DD", s)
	}
	return t, nil
}

type inboxData struct {
	F inboxFilter
	// Query is the filter as a query string (no cursor), for the next
	// page, saving a view and returning after triage.
	Query     string
	Alerts    []cases.Alert
	Groups    []cases.AlertGroup
	Next      string
	Paged     bool
	Views     []cases.SavedView
	Templates []cases.Template
	Problem   string
	Message   string
	Triage    *form
	Sinces    []struct{ Value, Label string }
	Statuses  []cases.AlertStatus
	Sevs      []cases.Severity
	Verdicts  []cases.Disposition
	Groupings []string
	CanWrite  bool
	// Ticked are the alerts ticked when triage failed, ticked again.
	Ticked map[string]bool
}

// alertsInbox is the inbox: the alerts the caller may see that match the
// filter, newest first, a page at a time.
func (w *Web) alertsInbox(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderInbox(rw, r, sc, r.URL.Query(), http.StatusOK, nil, inboxDone(r.URL.Query()))
}

var triageDone = map[string]string{
	"assign": "assigned", "acknowledge": "acknowledged", "disposition": "given a verdict", "close": "closed", "reopen": "reopened",
	"add-to-case": "added to the case",
}

// inboxDone is the message after a triage ("3 alerts closed.").
func inboxDone(q url.Values) string {
	what, ok := triageDone[q.Get("done")]
	if !ok {
		return ""
	}
	n, _ := strconv.Atoi(q.Get("n"))
	return count(n, "alert", "") + " " + what + "."
}

func (w *Web) renderInbox(rw http.ResponseWriter, r *http.Request, sc scope.Scope, q url.Values, status int, tri *form, msg string) {
	f := readInboxFilter(q)
	d := inboxData{F: f, Query: f.values().Encode(), Templates: w.o.Cases.Templates(), Triage: tri, Message: msg, Sinces: sinceChoices,
		Statuses: cases.AlertStatuses(), Sevs: cases.Severities(), Verdicts: cases.Dispositions(), Groupings: cases.GroupBy(),
		CanWrite: sc.Can(scope.Write), Paged: q.Get("after") != "", Ticked: map[string]bool{}}
	for _, id := range strings.Fields(tri.V("ids")) {
		d.Ticked[id] = true
	}
	if q.Get("done") == "view" {
		d.Message = "View saved."
	}
	views, err := w.o.Cases.Views(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Views = views
	af := cases.AlertFilter{Status: cases.AlertStatus(f.Status), Severity: cases.Severity(f.Severity), Source: f.Source, Type: f.Type,
		Org: f.Org, Assignee: f.Assignee, Query: f.Q, After: q.Get("after"), Limit: inboxPage}
	if f.Assignee == "me" {
		af.Assignee = sc.Email
	}
	af.Since, err = w.since(f.Since)
	if err == nil {
		var next string
		d.Alerts, next, err = w.o.Cases.ListAlerts(r.Context(), sc, af)
		if next != "" {
			nq := f.values()
			nq.Set("after", next)
			d.Next = "/alerts?" + nq.Encode()
		}
	}
	if err == nil && f.Group != "" {
		d.Groups, err = cases.GroupAlerts(d.Alerts, f.Group)
	}
	var inv *fault.Invalid
	switch {
	case errors.As(err, &inv):
		d.Problem = "The filter “" + inv.Field + "” " + inv.Reason + "."
		d.Alerts, d.Groups, d.Next = nil, nil, ""
		if status == http.StatusOK {
			status = http.StatusBadRequest
		}
	case err != nil:
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Alerts", "alerts")
	v.D = d
	w.render(rw, r, status, "alerts", v)
}

// alertsTriage applies one action to the ticked alerts: the buttons of
// the inbox's triage panel each send their own action.
func (w *Web) alertsTriage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.renderError(rw, r, &sc, http.StatusBadRequest, "", "The form could not be read.")
		return
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	filter := readInboxFilter(back).values()
	ids := r.PostForm["ids"]
	f := newForm(r, "action", "assignee", "disposition", "reason", "case", "template", "title")
	f.Values["ids"] = strings.Join(ids, " ")
	action := f.V("action")
	var err error
	var caseID string
	switch action {
	case "assign", "acknowledge", "disposition", "close", "reopen":
		_, err = w.o.Cases.TriageAlerts(r.Context(), sc, cases.Triage{IDs: ids, Action: cases.TriageAction(action), Assignee: f.V("assignee"),
			Disposition: cases.Disposition(f.V("disposition")), Reason: f.V("reason")})
	case "add-to-case":
		if f.V("case") == "" {
			err = fault.Invalidf("case", "give the ID of the case to add the alerts to (CS-…)")
			break
		}
		if len(ids) == 0 {
			err = fault.Invalidf("ids", "tick at least one alert")
			break
		}
		_, err = w.o.Cases.AddAlerts(r.Context(), sc, f.V("case"), ids)
		caseID = f.V("case")
	case "new-case":
		if len(ids) == 0 {
			err = fault.Invalidf("ids", "tick at least one alert")
			break
		}
		var c cases.Case
		c, err = w.o.Cases.CreateCase(r.Context(), sc, cases.NewCase{Template: f.V("template"), Title: f.V("title"), AlertIDs: ids})
		if err == nil {
			http.Redirect(rw, r, "/cases/"+c.ID+"?done=created", http.StatusSeeOther)
			return
		}
	default:
		err = fault.Invalidf("action", "choose what to do with the ticked alerts")
	}
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) && action == "add-to-case" && caseID != "" {
			// The case named is not one the caller may see; say so at the
			// field (the alerts, if one is out of scope, stay unnamed).
			f.Set("case", "There is no case "+caseID+" that you can see.")
			w.renderInbox(rw, r, sc, back, http.StatusNotFound, f, "")
			return
		}
		if !f.fieldError(err, "ids", "assignee", "disposition", "reason", "case", "template", "title") {
			w.fail(rw, r, sc, err)
			return
		}
		w.renderInbox(rw, r, sc, back, http.StatusUnprocessableEntity, f, "")
		return
	}
	filter.Set("done", action)
	filter.Set("n", strconv.Itoa(len(dedupe(ids))))
	http.Redirect(rw, r, "/alerts?"+filter.Encode()+"#results", http.StatusSeeOther)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// alertsSaveView saves the inbox's filter under a name of the caller's.
func (w *Web) alertsSaveView(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	q := r.PostFormValue("query")
	if _, err := w.o.Cases.SaveView(r.Context(), sc, r.PostFormValue("name"), q); err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) {
			back, _ := url.ParseQuery(q)
			f := &form{Values: map[string]string{"view": r.PostFormValue("name")}, Errors: map[string]string{}}
			field := "view"
			if inv.Field == "query" {
				field = "form"
			}
			f.Set(field, sentence(inv.Reason))
			w.renderInbox(rw, r, sc, back, http.StatusUnprocessableEntity, f, "")
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	back, _ := url.ParseQuery(q)
	v := readInboxFilter(back).values()
	v.Set("done", "view")
	http.Redirect(rw, r, "/alerts?"+v.Encode(), http.StatusSeeOther)
}

func (w *Web) alertsDeleteView(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if err := w.o.Cases.DeleteView(r.Context(), sc, r.PathValue("id")); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/alerts", http.StatusSeeOther)
}

type alertData struct {
	A cases.Alert
}

// alertPage shows one alert.
func (w *Web) alertPage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	a, err := w.o.Cases.GetAlert(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, a.Title, "alerts")
	v.D = alertData{A: a}
	w.render(rw, r, http.StatusOK, "alert", v)
}
