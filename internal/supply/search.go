package supply

import (
	"context"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
)

// RegisterRow is one supplier of a register search with its group
// parent's name and its products.
type RegisterRow struct {
	Supplier
	ParentName string       `json:"parent_name,omitempty"`
	Products   []ProductRef `json:"products"`
}

// RegisterSearch is a page of the register.
type RegisterSearch struct {
	Query string        `json:"query"`
	Rows  []RegisterRow `json:"rows"`
	// Total counts every matching supplier; Rows holds at most the limit.
	Total int `json:"total"`
}

// SearchRegister lists the suppliers sc may see whose ID, name, Companies
// House number, ODS code or DUNS, or one of whose products' ID or name,
// contains q (ignoring case, spaces and punctuation; every supplier when
// q is empty), by ID, at most limit of them (all when limit <= 0), with
// the total. It answers from the graph.
func (s *Service) SearchRegister(ctx context.Context, sc scope.Scope, q string, limit int) (RegisterSearch, error) {
	q = strings.TrimSpace(q)
	if p := safetext.SearchProblem(q); p != "" {
		return RegisterSearch{}, fault.Invalidf("q", "%s", p)
	}
	g, err := s.current(ctx)
	if err != nil {
		return RegisterSearch{}, err
	}
	v := g.viewFor(sc)
	x := g.index()
	key := squash(q)
	res := RegisterSearch{Query: q, Rows: []RegisterRow{}}
	has := func(e *lkEntry) bool {
		return strings.Contains(e.id, key) || strings.Contains(e.key, key) || (e.extra != "" && strings.Contains(e.extra, key))
	}
	order := make([]int32, 0, len(g.sup))
	for i := range g.sup {
		order = append(order, int32(i))
	}
	sort.Slice(order, func(a, b int) bool { return g.sup[order[a]].id < g.sup[order[b]].id })
	for _, i := range order {
		if !v.supplierVisible(i) {
			continue
		}
		prods := g.supProd[g.supProdOff[i]:g.supProdOff[i+1]]
		if q != "" && !has(&x.sup[i]) {
			found := false
			for _, p := range prods {
				if found = has(&x.prod[p]); found {
					break
				}
			}
			if !found {
				continue
			}
		}
		res.Total++
		if limit > 0 && len(res.Rows) >= limit {
			continue
		}
		sp := &g.sup[i]
		row := RegisterRow{Supplier: Supplier{ID: sp.id, Name: sp.name, CompaniesHouseNumber: sp.ch, DUNS: sp.duns, Country: sp.country,
			ODSCode: sp.odsCode, DesignatedCritical: sp.critical}, Products: make([]ProductRef, 0, len(prods))}
		if sp.parent >= 0 {
			row.ParentID = g.sup[sp.parent].id
			if v.supplierVisible(sp.parent) {
				row.ParentName = g.sup[sp.parent].name
			}
		}
		for _, p := range prods {
			row.Products = append(row.Products, ProductRef{ID: g.prod[p].id, Name: g.prod[p].name})
		}
		sort.Slice(row.Products, func(a, b int) bool { return row.Products[a].ID < row.Products[b].ID })
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}
