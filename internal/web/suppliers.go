package web

import (
	"net/http"

	"github.com/vigil-health/vigil/internal/scope"
)

// suppliers is the Suppliers area's page. It is a placeholder until the
// supplier register arrives: replace this handler (and add routes under
// /suppliers/ in Register) then.
func (w *Web) suppliers(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.placeholder("suppliers")(rw, r, sc)
}
