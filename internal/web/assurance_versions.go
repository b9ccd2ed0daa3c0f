package web

import (
	"net/http"
	"strconv"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// A statement's submitted versions (issue 20): the statement page lists
// them (partials_assurance_versions.html); each opens read-only, with the
// answers changed since the version before. The assurance service decides
// who may read them: whoever may read the statement.

var assuranceVersionPageNames = []string{"assurance_version"}

func (w *Web) registerAssuranceVersions(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	h("GET", "/assurance/statements/{id}/versions/{n}", httpd.Authenticated, "One submitted version of a statement, read-only, with what changed since the version before", w.assuranceVersion)
}

func (w *Web) assuranceVersion(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		w.fail(rw, r, sc, fault.NotFoundf("no version %q of statement %s", r.PathValue("n"), id))
		return
	}
	v, err := w.o.Assurance.GetVersion(r.Context(), sc, id, n)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	p := w.page(r, sc, "Statement "+id+", version "+strconv.Itoa(n), "assurance")
	p.D = v
	w.render(rw, r, http.StatusOK, "assurance_version", p)
}

// statementVersions are the versions the statement page lists.
func (w *Web) statementVersions(r *http.Request, sc scope.Scope, id string) ([]assurance.StatementVersion, error) {
	return w.o.Assurance.ListVersions(r.Context(), sc, id)
}
