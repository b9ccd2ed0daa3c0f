package api

import (
	"net/http"
	"reflect"
	"strconv"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerAssuranceVersions adds a statement's submitted versions (issue
// 20): the list, and one version as submitted with what changed since the
// one before. Whoever may read the statement may read them; the
// assurance service decides.
func (a *API) registerAssuranceVersions(rt *httpd.Router) {
	a.AddSchema("StatementVersion", reflect.TypeFor[assurance.StatementVersion]())
	a.AddSchema("StatementVersionList", reflect.TypeFor[List[assurance.StatementVersion]]())
	as := a.o.Assurance
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/versions", Tag: "assurance",
		Summary: "A statement's submitted versions, oldest first: who signed each, in what role, when, and how many answers changed since the one before",
		Params:  []param{id}, Response: "StatementVersionList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(as.ListVersions(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/versions/{n}", Tag: "assurance",
		Summary: "One submitted version of a statement, as submitted (evidence references for the supplier and assessors only), with the answers whose adherence or justification changed since the version before",
		Params:  []param{id, {Name: "n", In: "path", Type: "integer", Required: true, Desc: "the version number: 1, 2, …"}}, Response: "StatementVersion"},
		func(r *http.Request, sc scope.Scope) (any, error) {
			n, err := strconv.Atoi(r.PathValue("n"))
			if err != nil || n < 1 {
				return nil, fault.Invalidf("n", "%q is not a version number (1, 2, …)", r.PathValue("n"))
			}
			return as.GetVersion(r.Context(), sc, r.PathValue("id"), n)
		})
}
