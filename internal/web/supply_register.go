package web

import (
	"errors"
	"net/http"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

type registerData struct {
	Query string
	Rows  []supply.RegisterRow
	Total int
	More  int
	Error string
}

const registerPage = 200

// supplyRegister lists the register, or what a search finds in it (the
// supply package's register search, answered from the graph).
func (w *Web) supplyRegister(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query().Get("q")
	res, err := w.o.Supply.SearchRegister(r.Context(), sc, q, registerPage)
	d := registerData{Query: res.Query, Rows: res.Rows, Total: res.Total, More: res.Total - len(res.Rows)}
	status := http.StatusOK
	var inv *fault.Invalid
	switch {
	case errors.As(err, &inv):
		// The same bound as every other search, said in words.
		d.Query, d.Error, status = q, "Your search "+inv.Reason+".", http.StatusBadRequest
	case err != nil:
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Supplier register", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_register", v)
}
