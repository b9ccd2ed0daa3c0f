package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerAssurance adds the supplier-assurance routes (issue 20):
// requirement sets, which are published reference data any signed-in
// caller reads, and DSPT statuses, of an organisation the caller may see
// or of a supplier (with an ODS code) the caller may see. The assurance
// service and the org and supply services it asks decide what is visible.
func (a *API) registerAssurance(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"RequirementSetSummaries": reflect.TypeFor[[]assurance.Summary](),
		"RequirementSet":          reflect.TypeFor[assurance.Set](),
		"DSPTStatuses":            reflect.TypeFor[[]assurance.DSPTStatus](),
		"Certificate":             reflect.TypeFor[assurance.Certificate](),
		"Certificates":            reflect.TypeFor[[]assurance.Certificate](),
	} {
		a.AddSchema(name, t)
	}
	a.route(rt, spec{Method: "GET", Path: "/assurance/sets", Tag: "assurance", Summary: "Requirement sets held, with their counts of requirements, outcomes, indicators and profiles",
		Response: "RequirementSetSummaries"}, a.listSets)
	a.route(rt, spec{Method: "GET", Path: "/assurance/sets/{id}", Tag: "assurance", Summary: "One requirement set: its tree, indicators, rules and profiles",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "RequirementSet"}, a.getSet)
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}/dspt", Tag: "assurance", Summary: "An organisation's DSPT statuses by edition, newest first",
		Params: []param{{Name: "code", In: "path", Type: "string", Required: true}}, Response: "DSPTStatuses"}, a.orgDSPT)
	if a.o.Supply != nil {
		a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/dspt", Tag: "assurance", Summary: "A supplier's DSPT statuses by edition (a supplier that is an NHS body, with an ODS code; else none)",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "DSPTStatuses"}, a.supplierDSPT)
		a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/certificates", Tag: "assurance", Summary: "A supplier's Cyber Essentials and ISO 27001 certificates, soonest expiry first, each valid, expiring or expired",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "Certificates"}, a.supplierCertificates)
		a.route(rt, spec{Method: "POST", Path: "/supply/suppliers/{id}/certificates", Tag: "assurance", Summary: "Record (or renew, by scheme and number) a supplier's certificate (supply-chain managers)",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Body: "Certificate", Response: "Certificate"}, a.putCertificate)
	}
}

func (a *API) listSets(r *http.Request, _ scope.Scope) (any, error) {
	return a.o.Assurance.List(r.Context())
}

func (a *API) getSet(r *http.Request, _ scope.Scope) (any, error) {
	return a.o.Assurance.Get(r.Context(), r.PathValue("id"))
}

func (a *API) orgDSPT(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.OrgDSPT(r.Context(), sc, r.PathValue("code"))
}

func (a *API) supplierDSPT(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.SupplierDSPT(r.Context(), sc, r.PathValue("id"))
}

func (a *API) supplierCertificates(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.Certificates(r.Context(), sc, r.PathValue("id"))
}

func (a *API) putCertificate(r *http.Request, sc scope.Scope) (any, error) {
	var c assurance.Certificate
	if err := decode(r, &c); err != nil {
		return nil, err
	}
	if err := pathID(r, "supplier_id", &c.SupplierID); err != nil {
		return nil, err
	}
	return a.o.Assurance.PutCertificate(r.Context(), sc, c)
}
