package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// DisputeComment is one message of a dispute's thread.
type DisputeComment struct {
	Body string `json:"body"`
}

// registerAssuranceViews adds the published scoring method, profile
// comparison, disputes, sharing levels and the supply-chain views (issue
// 20). The assurance service decides what each caller sees.
func (a *API) registerAssuranceViews(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"Methodology":       reflect.TypeFor[assurance.Methodology](),
		"ProfileComparison": reflect.TypeFor[assurance.ProfileComparison](),
		"NewDispute":        reflect.TypeFor[assurance.NewDispute](),
		"Dispute":           reflect.TypeFor[assurance.Dispute](),
		"DisputeList":       reflect.TypeFor[List[assurance.Dispute]](),
		"DisputeAnswer":     reflect.TypeFor[assurance.DisputeAnswer](),
		"DisputeComment":    reflect.TypeFor[DisputeComment](),
		"Sharing":           reflect.TypeFor[assurance.Sharing](),
		"HeatMap":           reflect.TypeFor[assurance.HeatMap](),
		"Gaps":              reflect.TypeFor[assurance.Gaps](),
		"Priorities":        reflect.TypeFor[assurance.Priorities](),
	} {
		a.AddSchema(name, t)
	}
	as := a.o.Assurance
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	set := param{Name: "set", In: "query", Type: "string", Desc: "requirement set version; by default the one with the most accepted statements you may see"}
	a.route(rt, spec{Method: "GET", Path: "/assurance/methodology", Tag: "assurance", Summary: "The scoring method in force, generated from the code that scores: its version, points per case, how parts add up, profile comparison, the prioritisation rules and the change log",
		Response: "Methodology"}, func(*http.Request, scope.Scope) (any, error) {
		return assurance.GetMethodology(), nil
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/compare", Tag: "assurance", Summary: "A statement you may see against one profile's targets of its requirement set: each target met or short",
		Params: []param{id, {Name: "profile", In: "query", Type: "string", Desc: "the campaign's profile, else the set's first, when not given"}}, Response: "ProfileComparison"},
		func(r *http.Request, sc scope.Scope) (any, error) {
			return as.CompareProfile(r.Context(), sc, r.PathValue("id"), r.URL.Query().Get("profile"))
		})
	a.route(rt, spec{Method: "GET", Path: "/assurance/disputes", Tag: "assurance", Summary: "Disputes you may see: of the campaigns you assess and of the suppliers you represent, newest first",
		Params: []param{{Name: "supplier", In: "query", Type: "string"}, {Name: "status", In: "query", Type: "string", Desc: "open, upheld or amended"}}, Response: "DisputeList"},
		func(r *http.Request, sc scope.Scope) (any, error) {
			q := r.URL.Query()
			return list(as.ListDisputes(r.Context(), sc, assurance.DisputeFilter{SupplierID: q.Get("supplier"), Status: q.Get("status")}))
		})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/disputes", Tag: "assurance", Summary: "Dispute a statement's score (seq 0) or the review of one answer, with a reason (the supplier's representatives)",
		Params: []param{id}, Body: "NewDispute", Response: "Dispute", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var n assurance.NewDispute
		if err := decode(r, &n); err != nil {
			return nil, err
		}
		d, err := as.RaiseDispute(r.Context(), sc, r.PathValue("id"), n)
		if err != nil {
			return nil, err
		}
		return created{d}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/disputes/{id}", Tag: "assurance", Summary: "One dispute with its thread (the supplier's representatives and the assessors)",
		Params: []param{id}, Response: "Dispute"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetDispute(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/disputes/{id}/comments", Tag: "assurance", Summary: "Add to an open dispute's thread (either side)",
		Params: []param{id}, Body: "DisputeComment", Response: "Dispute", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b DisputeComment
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		d, err := as.CommentDispute(r.Context(), sc, r.PathValue("id"), b.Body)
		if err != nil {
			return nil, err
		}
		return created{d}, nil
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/disputes/{id}/answer", Tag: "assurance", Summary: "Answer a dispute (the campaign's assessors): uphold, or amend an answer's review to accepted or rejected (the score is recomputed and recorded)",
		Params: []param{id}, Body: "DisputeAnswer", Response: "Dispute"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b assurance.DisputeAnswer
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return as.AnswerDispute(r.Context(), sc, r.PathValue("id"), b)
	})
	a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/sharing", Tag: "assurance", Summary: "How a supplier shares its reviewed statements: every deploying organisation, only those deploying named products, or the national team only",
		Params: []param{id}, Response: "Sharing"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetSharing(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "PUT", Path: "/supply/suppliers/{id}/sharing", Tag: "assurance", Summary: "Choose how the supplier's reviewed statements are shared (the supplier's representatives)",
		Params: []param{id}, Body: "Sharing", Response: "Sharing"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b assurance.Sharing
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		if err := pathID(r, "supplier_id", &b.SupplierID); err != nil {
			return nil, err
		}
		return as.SetSharing(r.Context(), sc, b)
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/heatmap", Tag: "assurance", Summary: "Suppliers × requirements of one set: each supplier's latest accepted statement you may see, cell by cell",
		Params: []param{set}, Response: "HeatMap"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetHeatMap(r.Context(), sc, r.URL.Query().Get("set"))
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/gaps", Tag: "assurance", Summary: "Per requirement, the suppliers whose latest accepted statement does not meet it, by tier and deployment criticality",
		Params: []param{set, {Name: "requirement", In: "query", Type: "string", Desc: "key or ref"}, {Name: "tier", In: "query", Type: "string", Desc: "critical or all"},
			{Name: "criticality", In: "query", Type: "string", Desc: "least criticality of a deployment you can see: critical, high, medium, low"}}, Response: "Gaps"},
		func(r *http.Request, sc scope.Scope) (any, error) {
			q := r.URL.Query()
			return as.GetGaps(r.Context(), sc, assurance.GapQuery{SetID: q.Get("set"), Requirement: q.Get("requirement"), Tier: q.Get("tier"), Criticality: supply.Criticality(q.Get("criticality"))})
		})
	a.route(rt, spec{Method: "GET", Path: "/assurance/priorities", Tag: "assurance", Summary: "Prioritisation (a labelled combination): assurance gap, systemic importance and live exposure per supplier, each shown, and their mean",
		Params: []param{{Name: "supplier", In: "query", Type: "string"}}, Response: "Priorities"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetPriorities(r.Context(), sc, r.URL.Query().Get("supplier"))
	})
}
