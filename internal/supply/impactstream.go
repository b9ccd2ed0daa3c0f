package supply

import (
	"context"
	"io"
	"iter"

	"github.com/vigil-health/vigil/internal/jsonstream"
	"github.com/vigil-health/vigil/internal/scope"
)

// ImpactStream is a blast radius whose affected organisations are built
// one at a time as they are read, so an answer of any size is written in
// the memory of one organisation. The national answer for the largest
// hosting provider lists 9,950 organisations with their paths (34 MB of
// JSON); built whole and encoded whole it took over 100 MB a request, and
// twenty such requests took a server past 3 GB (docs/performance.md).
//
// The walk, the order of the organisations and the totals are computed
// when the stream is opened (classes only, no paths: a fraction of the
// cost of the answer), so Summary is whole before anything is written and
// errors (not found, invalid query) come before the first byte.
//
// A stream holds one of the service's impact slots (Options.
// MaxConcurrentImpacts) and a query scratch until Close. It is not safe
// for concurrent use.
type ImpactStream struct {
	s     *Service
	r     *impactRun
	limit int // organisations listed; all when 0
	al    *orgAlloc
	org   AffectedOrg
}

// OpenImpact starts the blast radius of q as sc may see it, listing at
// most limit affected organisations (the worst; all when limit <= 0;
// the totals always count every one). It waits for a free impact slot
// while ctx allows. The caller must Close the stream.
func (s *Service) OpenImpact(ctx context.Context, sc scope.Scope, q Query, limit int) (*ImpactStream, error) {
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	r, err := g.runImpact(s, sc, q, s.opts.MaxPathsPerOrg)
	if err != nil {
		s.release()
		return nil, err
	}
	return &ImpactStream{s: s, r: r, limit: max(limit, 0), al: newOrgAlloc(4)}, nil
}

// Close releases the stream's slot and scratch. It is safe to call twice.
func (st *ImpactStream) Close() {
	if st.r == nil {
		return
	}
	st.r.close()
	st.r = nil
	st.s.release()
}

// Len is the number of affected organisations the stream lists (after
// the limit).
func (st *ImpactStream) Len() int {
	n := st.r.affected()
	if st.limit > 0 && n > st.limit {
		return st.limit
	}
	return n
}

// Summary is the answer without its products and organisations: query,
// subject, generation, start nodes (with their names), whole totals and
// whether the list is cut.
func (st *ImpactStream) Summary() ImpactResult {
	res := st.r.head
	res.Products, res.Affected = nil, nil
	res.Totals = st.r.totals
	res.Truncated = st.Len() < st.r.affected()
	res.Names = st.r.startNames(st.Len())
	return res
}

// Result builds the listed answer whole: every listed organisation and
// the nearest maxProducts products (all when maxProducts <= 0; Totals.
// Products still counts every one). For small answers and for pages that
// show the top of a large one with OpenImpact's limit.
func (st *ImpactStream) Result(maxProducts int) ImpactResult {
	res := st.Summary()
	n := st.r.totals.Products
	if maxProducts > 0 {
		n = min(n, maxProducts)
	}
	res.Products = make([]AffectedProduct, 0, n)
	st.r.products(func(p *AffectedProduct) bool {
		res.Products = append(res.Products, *p)
		return len(res.Products) < n
	})
	// Result slices are carved from a few large blocks: thousands of
	// affected organisations then cost a handful of allocations.
	res.Affected = make([]AffectedOrg, st.Len())
	al := newOrgAlloc(128)
	seen := make([]bool, len(st.r.g.prod))
	for k := range res.Affected {
		st.r.buildOrg(k, &res.Affected[k], al)
		st.r.nameOrg(k, res.Names, seen)
	}
	return res
}

// Products yields the affected products, nearest first. The value is
// reused: copy it to keep it.
func (st *ImpactStream) Products() iter.Seq[*AffectedProduct] {
	return func(yield func(*AffectedProduct) bool) { st.r.products(yield) }
}

// Affected yields the listed organisations, worst first, then by ODS
// code, each built as it is reached. The value and its slices are reused
// for the next organisation: copy what you keep.
func (st *ImpactStream) Affected() iter.Seq[*AffectedOrg] {
	return func(yield func(*AffectedOrg) bool) {
		for k := range st.Len() {
			st.al.reset()
			st.r.buildOrg(k, &st.org, st.al)
			if !yield(&st.org) {
				return
			}
		}
	}
}

// WriteJSON writes the answer as the JSON document of ImpactResult — the
// same bytes encoding/json writes for the whole result (without HTML
// escaping), compact when indent is empty, else indented by it — one
// product and one organisation at a time, through a 64 KiB buffer, so
// the first bytes leave before the last organisation is built. It stops
// at the first write error (a client gone).
func (st *ImpactStream) WriteJSON(w io.Writer, indent string) error {
	sum := st.Summary()
	o := jsonstream.NewWriter(w, indent)
	o.Open('{')
	o.Field("query", sum.Query)
	o.Field("subject", sum.Subject)
	o.Field("generation", sum.Generation)
	o.Field("start", sum.Start)
	o.Key("products")
	o.Open('[')
	for p := range st.Products() {
		if o.Elem(p) != nil {
			break
		}
	}
	o.Close(']')
	o.Key("affected")
	o.Open('[')
	seen := make([]bool, len(st.r.g.prod))
	k := 0
	for a := range st.Affected() {
		st.r.nameOrg(k, sum.Names, seen)
		k++
		if o.Elem(a) != nil {
			break
		}
	}
	o.Close(']')
	o.Field("totals", sum.Totals)
	if sum.Truncated {
		o.Field("truncated", true)
	}
	o.Field("names", sum.Names)
	o.Close('}')
	return o.End()
}
