package web

import (
	"net/http"

	"github.com/vigil-health/vigil/internal/scope"
)

// area is one of the product's areas in the navigation.
type area struct {
	Key, Label, Href string
	handler          func(http.ResponseWriter, *http.Request, scope.Scope)
}

// areas lists the product's areas that have pages, in navigation order.
// An area still to come (monitoring, alerts and incidents, intelligence,
// vulnerabilities, assurance) has no entry: no navigation link, no card on
// the home page and no address — its address answers 404 like any other
// unknown one — until it arrives with real pages and adds itself here.
// An empty page promising what will come is no use to anyone at work.
func (w *Web) areas() []area {
	var out []area
	if w.o.Supply != nil {
		out = append(out, area{Key: "suppliers", Label: "Suppliers", Href: "/suppliers", handler: w.suppliers})
	}
	if w.o.KPIs != nil {
		out = append(out, area{Key: "cases", Label: "Case KPIs", Href: "/cases/kpis", handler: w.kpis})
	}
	return out
}
