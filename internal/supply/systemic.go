package supply

import (
	"context"
	"sort"

	"github.com/vigil-health/vigil/internal/scope"
)

// Weights of the systemic-importance score. A supplier's score sums, over
// every organisation its compromise reaches (through any depth of
// dependency, so hosting and component suppliers collect the organisations
// of the products built on them — reach centrality), the impact weight
// times (1 + registered population / PeoplePerOrg).
type Weights struct {
	HardDown     float64 `json:"hard_down"`
	Degraded     float64 `json:"degraded"`
	Exposed      float64 `json:"exposed"`
	PeoplePerOrg float64 `json:"people_per_org"`
}

// DefaultWeights: hard-down counts fully, degraded half, exposed a tenth;
// 10,000 registered people weigh as much as one more organisation.
var DefaultWeights = Weights{HardDown: 1, Degraded: 0.5, Exposed: 0.1, PeoplePerOrg: 10000}

// SystemicOptions tune Systemic.
type SystemicOptions struct {
	// Limit caps the ranked suppliers and products (default 50).
	Limit int
	// MinOrgs is the least number of organisations using a service in a
	// region or ICB for a single point of failure there to be reported
	// (default 2).
	MinOrgs int
}

// SystemicResult ranks suppliers and products by systemic importance and
// lists single points of failure.
type SystemicResult struct {
	Generation   int64          `json:"generation"`
	Weights      Weights        `json:"weights"`
	Suppliers    []SupplierRisk `json:"suppliers"`
	Products     []ProductRisk  `json:"products"`
	SinglePoints []SinglePoint  `json:"single_points"`
}

// SupplierRisk is one supplier group's reach.
type SupplierRisk struct {
	GroupID            string `json:"group_id"`
	Name               string `json:"name"`
	DesignatedCritical bool   `json:"designated_critical"`
	Products           int    `json:"products"`
	// DependentProducts are other groups' products that depend on this
	// group's, at any depth (fourth parties and beyond).
	DependentProducts int     `json:"dependent_products"`
	Organisations     int     `json:"organisations"`
	HardDown          int     `json:"hard_down"`
	Degraded          int     `json:"degraded"`
	Exposed           int     `json:"exposed"`
	Population        int64   `json:"population"`
	Score             float64 `json:"score"`
}

// ProductRisk is one product's reach: shared gateways, hosting and
// components rank high.
type ProductRisk struct {
	ProductID         string  `json:"product_id"`
	Name              string  `json:"name"`
	SupplierID        string  `json:"supplier_id"`
	DependentProducts int     `json:"dependent_products"`
	Organisations     int     `json:"organisations"`
	HardDown          int     `json:"hard_down"`
	Population        int64   `json:"population"`
	Score             float64 `json:"score"`
}

// SinglePoint is a supplier or product whose loss alone makes every
// organisation using a service in a region (or ICB) hard-down.
type SinglePoint struct {
	Node          string `json:"node"`
	Name          string `json:"name"`
	Service       string `json:"service"`
	By            Level  `json:"by"`
	Code          string `json:"code"`
	GroupName     string `json:"group_name"`
	Organisations int    `json:"organisations"`
	Population    int64  `json:"population"`
}

type reach struct {
	products, orgs, hd, dg, ex int
	pop                        int64
	score                      float64
}

// reachOf walks from starts and scores what it reaches; when hd is not nil
// it also counts hard-down organisations per (service, level, group).
func (g *graph) reachOf(sc *scratch, v *view, starts []int32, w Weights, hd map[concKey]int) reach {
	g.walk(sc, v, starts)
	g.collect(sc, v)
	var r reach
	for _, st := range sc.queue {
		if st&1 == 0 || sc.seen[st^1] != sc.epoch {
			r.products++
		}
	}
	for _, o := range sc.orgs {
		imp := g.classify(sc, o, false)
		on := &g.orgs[o]
		r.orgs++
		f := 1 + float64(on.pop)/w.PeoplePerOrg
		switch imp {
		case HardDown:
			r.hd++
			r.pop += on.pop
			r.score += w.HardDown * f
		case Degraded:
			r.dg++
			r.pop += on.pop
			r.score += w.Degraded * f
		default:
			r.ex++
			r.score += w.Exposed * f
		}
		if hd != nil {
			for _, a := range sc.svc {
				if a.impact() == HardDown {
					hd[concKey{a.svc, ByRegion, on.region_}]++
					hd[concKey{a.svc, ByICB, on.icbCode}]++
				}
			}
		}
	}
	return r
}

// Systemic ranks supplier groups and products by systemic importance and
// finds single points of failure, over the organisations the caller may
// read. It needs scope.Supply. Results are computed once per register
// generation for each distinct visibility and MinOrgs, and shared
// (reports.go).
func (s *Service) Systemic(ctx context.Context, sc scope.Scope, o SystemicOptions) (SystemicResult, error) {
	if err := needSupply(sc, "systemic risk"); err != nil {
		return SystemicResult{}, err
	}
	g, err := s.current(ctx)
	if err != nil {
		return SystemicResult{}, err
	}
	return s.systemicCached(ctx, g, sc, o)
}

func (g *graph) systemic(s *Service, scp scope.Scope, o SystemicOptions) SystemicResult {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	if o.MinOrgs <= 0 {
		o.MinOrgs = 2
	}
	w := DefaultWeights
	v := g.viewFor(scp)
	res := SystemicResult{Generation: g.gen, Weights: w, Suppliers: []SupplierRisk{}, Products: []ProductRisk{}, SinglePoints: []SinglePoint{}}
	sc := s.getScratch(g)
	defer s.pool.Put(sc)

	// Products of each group (root), for group walks.
	groupProds := map[int32][]int32{}
	for p := range g.prod {
		r := g.sup[g.prod[p].supplier].root
		groupProds[r] = append(groupProds[r], int32(p))
	}
	for root, ps := range groupProds {
		s.resetScratch(sc)
		r := g.reachOf(sc, v, ps, w, nil)
		if r.orgs == 0 && r.products == len(ps) {
			continue
		}
		res.Suppliers = append(res.Suppliers, SupplierRisk{GroupID: g.sup[root].id, Name: g.sup[root].name, DesignatedCritical: g.sup[root].critical,
			Products: len(ps), DependentProducts: r.products - len(ps), Organisations: r.orgs, HardDown: r.hd, Degraded: r.dg, Exposed: r.ex,
			Population: r.pop, Score: r.score})
	}
	sort.Slice(res.Suppliers, func(i, j int) bool {
		a, b := &res.Suppliers[i], &res.Suppliers[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.GroupID < b.GroupID
	})
	if len(res.Suppliers) > o.Limit {
		res.Suppliers = res.Suppliers[:o.Limit]
	}

	// Products others depend on (gateways, hosting, components).
	for p := range g.prod {
		if g.revOff[p] == g.revOff[p+1] {
			continue
		}
		s.resetScratch(sc)
		r := g.reachOf(sc, v, []int32{int32(p)}, w, nil)
		res.Products = append(res.Products, ProductRisk{ProductID: g.prod[p].id, Name: g.prod[p].name, SupplierID: g.sup[g.prod[p].supplier].id,
			DependentProducts: r.products - 1, Organisations: r.orgs, HardDown: r.hd, Population: r.pop, Score: r.score})
	}
	sort.Slice(res.Products, func(i, j int) bool {
		a, b := &res.Products[i], &res.Products[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.ProductID < b.ProductID
	})
	if len(res.Products) > o.Limit {
		res.Products = res.Products[:o.Limit]
	}

	res.SinglePoints = g.singlePoints(s, sc, v, o.MinOrgs, w, groupProds)
	return res
}

// resetScratch starts a new epoch for another walk within one query.
func (s *Service) resetScratch(sc *scratch) {
	sc.epoch++
	if sc.epoch == 0 {
		clear(sc.seen)
		clear(sc.orgSeen)
		clear(sc.orgVis)
		sc.epoch = 1
	}
	sc.queue, sc.hits, sc.orgs = sc.queue[:0], sc.hits[:0], sc.orgs[:0]
}

// singlePoints finds nodes whose loss makes a whole region or ICB
// hard-down for a service. Candidates come from the forward, all-critical
// closure of a few organisations' deployments of the service in each group
// (a node must reach every organisation critically, so it lies in every
// closure); each candidate is then checked by one walk.
func (g *graph) singlePoints(s *Service, sc *scratch, v *view, minOrgs int, w Weights, groupProds map[int32][]int32) []SinglePoint {
	vis := func(o int32) bool { return sc.orgVisible(g, v, o) }
	s.resetScratch(sc)
	acc := g.concentration(vis)
	// Orgs using each service per group, to sample closures from.
	users := map[concKey][]int32{}
	for o := range g.orgs {
		on := &g.orgs[o]
		if on.closed || !vis(int32(o)) {
			continue
		}
		var done []uint16
		for _, di := range g.orgDep[g.orgDepOff[o]:g.orgDepOff[o+1]] {
			sv := g.dep[di].svc
			dup := false
			for _, x := range done {
				dup = dup || x == sv
			}
			if dup {
				continue
			}
			done = append(done, sv)
			for _, k := range []concKey{{sv, ByRegion, on.region_}, {sv, ByICB, on.icbCode}} {
				if a := acc[k]; a != nil && a.orgs >= minOrgs {
					users[k] = append(users[k], int32(o))
				}
			}
		}
	}
	closure := func(o int32, sv uint16) map[int32]bool {
		out := map[int32]bool{}
		var stack []int32
		for _, di := range g.orgDep[g.orgDepOff[o]:g.orgDepOff[o+1]] {
			d := &g.dep[di]
			if d.svc == sv && d.stops() && !d.fallback && !out[d.prod] {
				out[d.prod] = true
				stack = append(stack, d.prod)
			}
		}
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range g.fwd[g.fwdOff[p]:g.fwdOff[p+1]] {
				if e.crit && !out[e.to] {
					out[e.to] = true
					stack = append(stack, e.to)
				}
			}
		}
		return out
	}
	candProds, candGroups := map[int32]bool{}, map[int32]bool{}
	for k, os := range users {
		samples := []int32{os[0], os[len(os)/2], os[len(os)-1]}
		var inter map[int32]bool
		var interG map[int32]bool
		for _, o := range samples {
			c := closure(o, k.svc)
			cg := map[int32]bool{}
			for p := range c {
				cg[g.sup[g.prod[p].supplier].root] = true
			}
			if inter == nil {
				inter, interG = c, cg
				continue
			}
			for p := range inter {
				if !c[p] {
					delete(inter, p)
				}
			}
			for x := range interG {
				if !cg[x] {
					delete(interG, x)
				}
			}
		}
		for p := range inter {
			candProds[p] = true
		}
		for x := range interG {
			candGroups[x] = true
		}
	}
	var out []SinglePoint
	check := func(node, name string, starts []int32) {
		s.resetScratch(sc)
		hd := map[concKey]int{}
		g.reachOf(sc, v, starts, w, hd)
		for k, n := range hd {
			a := acc[k]
			if a == nil || a.orgs < minOrgs || n != a.orgs {
				continue
			}
			out = append(out, SinglePoint{Node: node, Name: name, Service: g.services[k.svc], By: k.level, Code: k.group,
				GroupName: g.groupName(k.level, k.group), Organisations: a.orgs, Population: a.pop})
		}
	}
	for x := range candGroups {
		if v.supplierVisible(x) {
			check(supplierNode(g.sup[x].id), g.sup[x].name, groupProds[x])
		}
	}
	for p := range candProds {
		if v.productVisible(g, p) {
			check(productNode(g.prod[p].id), g.prod[p].name, []int32{p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.By != b.By {
			return a.By == ByRegion
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Node < b.Node
	})
	if out == nil {
		out = []SinglePoint{}
	}
	return out
}
