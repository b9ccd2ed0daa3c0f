package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerSchemes adds the health-scheme evidence routes (issue 20): a
// supplier's and a product's evidence with the cross-links evaluated,
// recording DTAC, DCB0129, DCB0160, charter signatures and NCSC
// principle states, the cross-link table, and the expiring-evidence
// list. The assurance service decides who sees and records what
// (assessors, the supplier's own representatives, the deploying
// organisation for DCB0160).
func (a *API) registerSchemes(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"SupplierEvidence":     reflect.TypeFor[assurance.SupplierEvidence](),
		"ProductEvidence":      reflect.TypeFor[assurance.ProductEvidence](),
		"DTAC":                 reflect.TypeFor[assurance.DTAC](),
		"DCB0129":              reflect.TypeFor[assurance.DCB0129](),
		"DCB0160":              reflect.TypeFor[assurance.DCB0160](),
		"CharterInput":         reflect.TypeFor[assurance.CharterInput](),
		"CharterSignatures":    reflect.TypeFor[[]assurance.CharterSignature](),
		"PrinciplesInput":      reflect.TypeFor[assurance.PrinciplesInput](),
		"PrincipleAssessments": reflect.TypeFor[[]assurance.PrincipleAssessment](),
		"CrossLinks":           reflect.TypeFor[[]assurance.CrossLink](),
		"ExpiringList":         reflect.TypeFor[List[assurance.ExpiringItem]](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	as := a.o.Assurance
	a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/evidence", Tag: "assurance",
		Summary: "A supplier's health-scheme evidence (certificates, DSPT, DTAC, DCB0129, DCB0160 you may see, charter, NCSC principles) with the cross-links evaluated: pass, fail or unknown, and why",
		Params:  []param{id}, Response: "SupplierEvidence"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.Evidence(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "GET", Path: "/supply/products/{id}/evidence", Tag: "assurance", Summary: "A product's DTAC and clinical safety records with the cross-links that concern it",
		Params: []param{id}, Response: "ProductEvidence"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.ProductEvidence(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/products/{id}/dtac", Tag: "assurance",
		Summary: "Record (or replace, by version) a product version's DTAC: C1–C4 pass or fail, D score 0–100 (assessors, or the supplier's own representatives)",
		Params:  []param{id}, Body: "DTAC", Response: "DTAC"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var d assurance.DTAC
		if err := decode(r, &d); err != nil {
			return nil, err
		}
		if err := pathID(r, "product_id", &d.ProductID); err != nil {
			return nil, err
		}
		return as.PutDTAC(r.Context(), sc, d)
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/products/{id}/dcb0129", Tag: "assurance",
		Summary: "Record (or replace, by version) a product version's DCB0129 clinical safety record: safety case report, hazard log, Clinical Safety Officer (assessors, or the supplier's own representatives)",
		Params:  []param{id}, Body: "DCB0129", Response: "DCB0129"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var d assurance.DCB0129
		if err := decode(r, &d); err != nil {
			return nil, err
		}
		if err := pathID(r, "product_id", &d.ProductID); err != nil {
			return nil, err
		}
		return as.PutDCB0129(r.Context(), sc, d)
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/products/{id}/dcb0160", Tag: "assurance",
		Summary: "Record (or replace) an organisation's DCB0160 clinical safety record for a product it deploys (write access to the organisation)",
		Params:  []param{id}, Body: "DCB0160", Response: "DCB0160"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var d assurance.DCB0160
		if err := decode(r, &d); err != nil {
			return nil, err
		}
		if err := pathID(r, "product_id", &d.ProductID); err != nil {
			return nil, err
		}
		return as.PutDCB0160(r.Context(), sc, d)
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/suppliers/{id}/charter", Tag: "assurance",
		Summary: "Record the supplier's signature of NHS Cyber Security Charter commitments (by key or number 1–8, or all) on a date; answers all eight",
		Params:  []param{id}, Body: "CharterInput", Response: "CharterSignatures"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in assurance.CharterInput
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return as.SignCharter(r.Context(), sc, r.PathValue("id"), in)
	})
	a.route(rt, spec{Method: "POST", Path: "/supply/suppliers/{id}/ncsc-principles", Tag: "assurance",
		Summary: "Set the supplier's state (met, partly, not_met, not_applicable) for NCSC supply-chain principles 1–12 as assessed on a date; answers all twelve",
		Params:  []param{id}, Body: "PrinciplesInput", Response: "PrincipleAssessments"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in assurance.PrinciplesInput
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return as.SetPrinciples(r.Context(), sc, r.PathValue("id"), in)
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/links", Tag: "assurance", Summary: "The cross-links between the schemes, each with what it needs and why",
		Response: "CrossLinks"}, func(*http.Request, scope.Scope) (any, error) {
		return assurance.Links(), nil
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/expiring", Tag: "assurance",
		Summary:  "Dated evidence you may see that lapses within the period (default 30d) or has lapsed and not been replaced, soonest first",
		Params:   []param{{Name: "within", In: "query", Type: "string", Desc: "days or weeks, e.g. 60d or 8w"}},
		Response: "ExpiringList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		within, err := assurance.ParseWithin(r.URL.Query().Get("within"))
		if err != nil {
			return nil, err
		}
		return list(as.Expiring(r.Context(), sc, within))
	})
}
