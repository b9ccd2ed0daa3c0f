package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/scope"
)

// IntelUnallow is the body of POST /intel/allowlist/remove.
type IntelUnallow struct {
	Values []string `json:"values"`
	Reason string   `json:"reason,omitempty"`
}

// IntelUnallowed is what POST /intel/allowlist/remove did.
type IntelUnallowed struct {
	Removed int `json:"removed"`
}

// IntelDecayDefault is the body of PUT /intel/decay/default.
type IntelDecayDefault struct {
	Model string `json:"model"`
}

// IntelDecaySource is the body of PUT /intel/decay/sources.
type IntelDecaySource struct {
	Source string `json:"source"`
	// Model "" takes the source's own model away (it decays by the default).
	Model string `json:"model"`
}

// registerIntelDecay adds the routes of decay models, verdicts and
// removing allowlist entries: read by anyone signed in (verdicts only
// from the organisations the caller reads), changed by national
// analysts and administrators, as they apply to every organisation.
func (a *API) registerIntelDecay(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"IntelUnallow": reflect.TypeFor[IntelUnallow](), "IntelUnallowed": reflect.TypeFor[IntelUnallowed](),
		"IntelDecay": reflect.TypeFor[intel.DecayConfig](), "IntelDecayModel": reflect.TypeFor[intel.DecayModel](),
		"IntelDecayDefault": reflect.TypeFor[IntelDecayDefault](), "IntelDecaySource": reflect.TypeFor[IntelDecaySource](),
		"IntelVerdictList": reflect.TypeFor[List[intel.Verdict]](),
	} {
		a.AddSchema(name, t)
	}
	s := a.o.Intel
	a.route(rt, spec{Method: "POST", Path: "/intel/allowlist/remove", Tag: "intel",
		Summary: "Take values off the allowlist, so indicators listing them match again (national analysts and administrators; audited)",
		Body:    "IntelUnallow", Response: "IntelUnallowed"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelUnallow
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		n, err := s.Unallow(r.Context(), sc, in.Values, in.Reason)
		if err != nil {
			return nil, err
		}
		return IntelUnallowed{Removed: n}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/decay", Tag: "intel",
		Summary:  "Decay models (half-life by kind of value, threshold, false positives that withdraw an indicator), the deployment default and the sources' models you may see (a feed's only if you read the feed)",
		Response: "IntelDecay"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return s.DecayView(r.Context(), sc)
	})
	name := param{Name: "name", In: "path", Type: "string", Desc: "the model's name"}
	a.route(rt, spec{Method: "PUT", Path: "/intel/decay/models/{name}", Tag: "intel",
		Summary: "Define or change a decay model (national analysts and administrators; audited)",
		Params:  []param{name}, Body: "IntelDecayModel", Response: "IntelDecayModel"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in intel.DecayModel
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		in.Name = r.PathValue("name")
		return s.SetDecayModel(r.Context(), sc, in)
	})
	a.route(rt, spec{Method: "PUT", Path: "/intel/decay/default", Tag: "intel",
		Summary: "Choose the deployment's default decay model, for sources without one (national analysts and administrators; audited)",
		Body:    "IntelDecayDefault", Response: "IntelDecay"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelDecayDefault
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		if err := s.SetDefaultDecay(r.Context(), sc, in.Model); err != nil {
			return nil, err
		}
		return s.DecayView(r.Context(), sc)
	})
	a.route(rt, spec{Method: "PUT", Path: "/intel/decay/sources", Tag: "intel",
		Summary: `Give a source ("feed:NAME", a file, or a prefix ending in *) a decay model, or with model "" take it away (national analysts and administrators; audited)`,
		Body:    "IntelDecaySource", Response: "IntelDecay"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in IntelDecaySource
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		if err := s.AssignDecay(r.Context(), sc, in.Source, in.Model); err != nil {
			return nil, err
		}
		return s.DecayView(r.Context(), sc)
	})
	a.route(rt, spec{Method: "GET", Path: "/intel/verdicts", Tag: "intel",
		Summary: "Verdicts on indicators from the organisations you read: IOC alerts closed as true or false positives, and reported sightings (seen, false positive, expired)",
		Params:  []param{{Name: "indicator", In: "query", Type: "string", Desc: "only this indicator's"}}, Response: "IntelVerdictList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(s.Verdicts(r.Context(), sc, r.URL.Query().Get("indicator")))
	})
}
