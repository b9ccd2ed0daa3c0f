package supply

import (
	"context"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/scope"
)

// ownBatch bounds the IDs in one IN list.
const ownBatch = 500

// Own returns the suppliers a supplier's representative represents —
// those whose tenant organisation, or whose group parent's, it reads (see
// access.go) — and their products, by ID. Who owns what is read from the
// graph, and only those rows from the store: a representative's page
// need not read the national register's 20,000 suppliers and 50,000
// products to keep its own dozen (ListSuppliers and ListProducts filter
// after reading all). An NHS reader, who sees the whole register and
// represents no supplier, gets nothing.
func (s *Service) Own(ctx context.Context, sc scope.Scope) ([]Supplier, []Product, error) {
	if nhsReader(sc) {
		return []Supplier{}, []Product{}, nil
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	v := g.viewFor(sc)
	var ids []any
	for i := range g.sup {
		if v.supplierVisible(int32(i)) {
			ids = append(ids, g.sup[i].id)
		}
	}
	sups, prods := []Supplier{}, []Product{}
	for start := 0; start < len(ids); start += ownBatch {
		batch := ids[start:min(start+ownBatch, len(ids))]
		in := "(?" + strings.Repeat(", ?", len(batch)-1) + ")"
		ss, err := queryAll(ctx, s.db.Q(), `SELECT `+supplierCols+` FROM supply_suppliers WHERE supplier_id IN `+in, scanSupplier, batch...)
		if err != nil {
			return nil, nil, err
		}
		ps, err := queryAll(ctx, s.db.Q(), `SELECT `+productCols+` FROM supply_products WHERE supplier_id IN `+in, scanProduct, batch...)
		if err != nil {
			return nil, nil, err
		}
		sups, prods = append(sups, ss...), append(prods, ps...)
	}
	sort.Slice(sups, func(i, j int) bool { return sups[i].ID < sups[j].ID })
	sort.Slice(prods, func(i, j int) bool { return prods[i].ID < prods[j].ID })
	return sups, prods, nil
}
