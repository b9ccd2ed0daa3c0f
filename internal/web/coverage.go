package web

import (
	"net/http"
	"strings"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
)

// The ATT&CK coverage page (issue 17): the live rules (--rules) laid
// over the ATT&CK matrix, each technique shaded by how many rules cover
// it and marked with the alerts those rules raised in the organisations
// the caller may read. The figures are sigma.CoverageOf's; no script.

type coverageData struct {
	C sigma.Coverage
}

func (w *Web) coveragePage(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	c, err := w.o.Coverage(r.Context(), sc, strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("org"))))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	p := w.page(r, sc, "ATT&CK coverage", "coverage")
	p.D = coverageData{C: c}
	w.render(rw, r, http.StatusOK, "coverage", p)
}

// coverageShade is a technique cell's class by its number of rules.
func coverageShade(n int) string {
	switch {
	case n == 0:
		return "cov-0"
	case n == 1:
		return "cov-1"
	case n < 5:
		return "cov-2"
	case n < 20:
		return "cov-3"
	}
	return "cov-4"
}
