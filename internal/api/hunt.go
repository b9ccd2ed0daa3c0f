package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
)

// registerHunts adds retro-hunts and the rule test (issue 17): the
// store applies the caller's scope to every event a hunt reads.
func (a *API) registerHunts(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"HuntRequest": reflect.TypeFor[sigma.HuntRequest](), "HuntResult": reflect.TypeFor[sigma.HuntResult](),
		"RuleTestRequest": reflect.TypeFor[sigma.RuleTestRequest](), "RuleTestResult": reflect.TypeFor[sigma.RuleTestResult](),
	} {
		a.AddSchema(name, t)
	}
	a.route(rt, spec{Method: "POST", Path: "/hunts", Tag: "detection",
		Summary: "Run Sigma rules over the stored events you may read (a retro-hunt), newest first; correlation rules do not run here",
		Body:    "HuntRequest", Response: "HuntResult"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in sigma.HuntRequest
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return sigma.RetroHunt(r.Context(), a.o.Events, sc, in)
	})
	a.route(rt, spec{Method: "POST", Path: "/rules/test", Tag: "detection",
		Summary: "Test Sigma rules on sample events before saving them: which rules each sample's log source reaches, which match and why",
		Body:    "RuleTestRequest", Response: "RuleTestResult"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var in sigma.RuleTestRequest
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return sigma.TestRules(r.Context(), in)
	})
}
