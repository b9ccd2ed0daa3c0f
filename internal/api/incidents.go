package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// SharedTo answers POST /incidents/{id}/updates.
type SharedTo struct {
	Organisations int `json:"organisations"`
}

// registerIncidents adds the national incident routes (issue 15). The
// national team opens, reads, refreshes and shares; an affected
// organisation reads and answers only through its own child case.
func (a *API) registerIncidents(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"NewIncident":      reflect.TypeFor[cases.NewIncident](),
		"Incident":         reflect.TypeFor[cases.Incident](),
		"IncidentList":     reflect.TypeFor[List[cases.IncidentSummary]](),
		"IncidentChild":    reflect.TypeFor[cases.IncidentChild](),
		"IncidentAck":      reflect.TypeFor[cases.IncidentAck](),
		"IncidentUpdate":   reflect.TypeFor[cases.IncidentUpdate](),
		"IncidentSharedTo": reflect.TypeFor[SharedTo](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	a.route(rt, spec{Method: "POST", Path: "/incidents", Tag: "incidents",
		Summary: "Open a national incident from a supplier compromise: the blast radius from the supplier register, and a child case for each affected organisation with its impact class and dependency paths (national team only)",
		Body:    "NewIncident", Response: "Incident", Status: 201}, a.openIncident)
	a.route(rt, spec{Method: "GET", Path: "/incidents", Tag: "incidents", Summary: "National incidents you may see, newest first, with their acknowledgement counts",
		Response: "IncidentList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(a.o.Cases.ListIncidents(r.Context(), sc))
	})
	a.route(rt, spec{Method: "GET", Path: "/incidents/{id}", Tag: "incidents",
		Summary: "A national incident: every child case, acknowledgement progress by region and ICB, and who has not answered",
		Params:  []param{id}, Response: "Incident"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.Cases.GetIncident(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/incidents/{id}/refresh", Tag: "incidents",
		Summary: "Ask the supplier register again: organisations newly affected get a child case, those no longer affected are marked (never dropped)",
		Params:  []param{id}, Response: "Incident"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.Cases.RefreshIncident(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/incidents/{id}/updates", Tag: "incidents",
		Summary: "Copy an update from the national team into the timeline of every affected organisation's case",
		Params:  []param{id}, Body: "IncidentUpdate", Response: "IncidentSharedTo"}, a.shareIncidentUpdate)
	a.route(rt, spec{Method: "GET", Path: "/cases/{id}/incident", Tag: "incidents",
		Summary: "An organisation's part in a national incident, through its own child case: impact, status, acknowledgement",
		Params:  []param{id}, Response: "IncidentChild"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.Cases.IncidentPart(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/cases/{id}/incident", Tag: "incidents",
		Summary: "Acknowledge a national incident on the organisation's child case and report status: services-down, fallback-in-use or restored",
		Params:  []param{id}, Body: "IncidentAck", Response: "IncidentChild"}, a.acknowledgeIncident)
}

func (a *API) openIncident(r *http.Request, sc scope.Scope) (any, error) {
	var n cases.NewIncident
	if err := decode(r, &n); err != nil {
		return nil, err
	}
	inc, err := a.o.Cases.OpenIncident(r.Context(), sc, n)
	if err != nil {
		return nil, err
	}
	return created{inc}, nil
}

func (a *API) shareIncidentUpdate(r *http.Request, sc scope.Scope) (any, error) {
	var u cases.IncidentUpdate
	if err := decode(r, &u); err != nil {
		return nil, err
	}
	n, err := a.o.Cases.ShareIncidentUpdate(r.Context(), sc, r.PathValue("id"), u)
	if err != nil {
		return nil, err
	}
	return SharedTo{Organisations: n}, nil
}

func (a *API) acknowledgeIncident(r *http.Request, sc scope.Scope) (any, error) {
	var ack cases.IncidentAck
	if err := decode(r, &ack); err != nil {
		return nil, err
	}
	return a.o.Cases.AcknowledgeIncident(r.Context(), sc, r.PathValue("id"), ack)
}
