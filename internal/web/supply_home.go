package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// ---- overview ----

// suppliers is the Suppliers area's page, the overview (registered only
// when the supply service is there: areas).
func (w *Web) suppliers(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.suppliersHome(rw, r, sc)
}

type supplyHomeData struct {
	Suppliers, Products int
	Supply              bool
	Stats               supply.GraphStats
	Systemic            *supply.SystemicResult
	Monopolies          []supply.Monopoly
	MoreMonopolies      int
	Services            []string
	Home                *org.Org
	Depends             *supply.DependsResult
	MyProducts          []supply.Product
	Rep                 bool
	GeoImport           bool
	BoundaryText        string
}

func (w *Web) suppliersHome(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	d := supplyHomeData{Supply: sc.Can(scope.Supply), GeoImport: geo.CanImport(sc)}
	sups, err := w.o.Supply.ListSuppliers(ctx, sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	prods, err := w.o.Supply.ListProducts(ctx, sc, "")
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d.Suppliers, d.Products = len(sups), len(prods)
	d.Rep = isRepOnly(sc)
	if d.Rep {
		d.MyProducts = prods
	}
	if d.Supply {
		if d.Stats, err = w.o.Supply.Stats(ctx); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		// Both reports are computed once per register generation and
		// visibility by the supply service, and warmed after a rebuild.
		sys, err := w.o.Supply.Systemic(ctx, sc, supply.SystemicOptions{Limit: 10})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Systemic = &sys
		rep, err := w.o.Supply.ConcentrationAll(ctx, sc)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Services = rep.Services
		for _, m := range rep.Monopolies {
			if m.By == supply.ByICB {
				d.Monopolies = append(d.Monopolies, m)
			}
		}
		if len(d.Monopolies) > 15 {
			d.MoreMonopolies = len(d.Monopolies) - 15
			d.Monopolies = d.Monopolies[:15]
		}
	}
	if !d.Rep && sc.Home != "" {
		if o, err := w.o.Orgs.Get(ctx, sc, sc.Home); err == nil && o.Type != org.National && o.Type != org.Supplier {
			d.Home = &o
			if dep, err := w.o.Supply.DependsOn(ctx, sc, o.Code); err == nil {
				d.Depends = &dep
			}
		}
	}
	if w.o.Boundaries != nil {
		if c, err := w.o.Boundaries.Counts(ctx); err == nil {
			var parts []string
			for _, l := range []struct {
				level      geo.Level
				one, other string
			}{{geo.LevelRegion, "region", "regions"}, {geo.LevelICB, "ICB", "ICBs"}, {geo.LevelSubICB, "sub-ICB location", "sub-ICB locations"}} {
				if n := c[l.level]; n == 1 {
					parts = append(parts, "1 "+l.one)
				} else if n > 1 {
					parts = append(parts, strconv.Itoa(n)+" "+l.other)
				}
			}
			d.BoundaryText = strings.Join(parts, ", ")
		}
	}
	v := w.page(r, sc, "Suppliers", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "suppliers", v)
}
