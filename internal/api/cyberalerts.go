package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/vuln"
)

// registerCyberAlerts adds the national cyber alert routes (issue 18,
// items 7–9). The national team issues; each organisation in scope reads
// and answers its own part; the dashboard counts what the caller may see
// (a trust its own, a region its organisations, the national team all).
func (a *API) registerCyberAlerts(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"NewCyberAlert":       reflect.TypeFor[vuln.NewAlert](),
		"CyberAlert":          reflect.TypeFor[vuln.CyberAlert](),
		"CyberAlertList":      reflect.TypeFor[List[vuln.AlertSummary]](),
		"CyberAlertResponse":  reflect.TypeFor[vuln.Response](),
		"CyberAlertOrgList":   reflect.TypeFor[List[vuln.AlertOrg]](),
		"CyberAlertDashboard": reflect.TypeFor[vuln.Dashboard](),
		"CyberAlertHistory":   reflect.TypeFor[List[vuln.HistoryEntry]](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	format := param{Name: "format", In: "query", Type: "string", Desc: "json (default) or csv"}
	a.route(rt, spec{Method: "POST", Path: "/cyber-alerts", Tag: "cyber-alerts",
		Summary: "Issue a national cyber alert: the organisations in scope are worked out from the supplier register (deployments of products carrying the CVEs or of the named products at the affected versions, directly or through dependencies), each with the path that put it there, and e-mailed (national team only)",
		Body:    "NewCyberAlert", Response: "CyberAlert", Status: 201}, a.issueCyberAlert)
	a.route(rt, spec{Method: "GET", Path: "/cyber-alerts", Tag: "cyber-alerts",
		Summary: "National cyber alerts you may see, newest first, with the response counts of the organisations you may see",
		Params: []param{{Name: "org", In: "query", Type: "string", Desc: "only alerts with this organisation in scope"},
			{Name: "limit", In: "query", Type: "integer", Desc: "at most this many (default and most 500)"}},
		Response: "CyberAlertList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		f := vuln.ListFilter{Org: r.URL.Query().Get("org")}
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fault.Invalidf("limit", "want a positive whole number")
			}
			f.Limit = n
		}
		return list(a.o.CyberAlerts.List(r.Context(), sc, f))
	})
	a.route(rt, spec{Method: "GET", Path: "/cyber-alerts/{id}", Tag: "cyber-alerts",
		Summary: "A national cyber alert: what it asks, and each organisation you may see with why it is in scope, its clocks and its responses",
		Params:  []param{id}, Response: "CyberAlert"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.CyberAlerts.Get(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/cyber-alerts/{id}/responses", Tag: "cyber-alerts",
		Summary: "Answer an alert for one or more organisations (all or none): acknowledge, applicability (affected, not-affected with a reason, investigating), update (remediation progress) or close (with evidence)",
		Params:  []param{id}, Body: "CyberAlertResponse", Response: "CyberAlertOrgList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var resp vuln.Response
		if err := decode(r, &resp); err != nil {
			return nil, err
		}
		return list(a.o.CyberAlerts.Respond(r.Context(), sc, r.PathValue("id"), resp))
	})
	a.route(rt, spec{Method: "GET", Path: "/cyber-alerts/history", Tag: "cyber-alerts",
		Summary:  "An organisation's part in every alert that reached it, newest first, with the hours it took to acknowledge and to close",
		Params:   []param{{Name: "org", In: "query", Type: "string", Required: true, Desc: "the organisation's ODS code"}},
		Response: "CyberAlertHistory"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.CyberAlerts.History(r.Context(), sc, r.URL.Query().Get("org")))
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/cyber-alerts/dashboard", Tag: "cyber-alerts",
		Summary: "Response dashboard over every alert: response rate, acknowledgements and updates overdue, by region, ICB and organisation type, and the overdue organisations (?format=csv: one line an organisation and alert)",
		Params:  []param{format}, Response: "CyberAlertDashboard"}, a.cyberAlertDashboard(false))
	a.routeRaw(rt, spec{Method: "GET", Path: "/cyber-alerts/{id}/dashboard", Tag: "cyber-alerts",
		Summary: "Response dashboard of one alert (?format=csv: one line an organisation)",
		Params:  []param{id, format}, Response: "CyberAlertDashboard"}, a.cyberAlertDashboard(true))
}

func (a *API) issueCyberAlert(r *http.Request, sc scope.Scope) (any, error) {
	var n vuln.NewAlert
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	ca, err := a.o.CyberAlerts.Issue(r.Context(), sc, n)
	if err != nil {
		return nil, err
	}
	return created{ca}, nil
}

func (a *API) cyberAlertDashboard(one bool) rawHandler {
	return func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
		format := r.URL.Query().Get("format")
		if format != "" && format != "json" && format != "csv" {
			return fault.Invalidf("format", "want json or csv")
		}
		id := ""
		if one {
			id = r.PathValue("id")
		}
		d, err := a.o.CyberAlerts.Dashboard(r.Context(), sc, id)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="vigil-cyber-alerts.csv"`)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			_ = d.WriteCSV(w) // a failed write: the client has gone
			return nil
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(d) // a failed write: the client has gone
		return nil
	}
}
