package supply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// ExposureResult says where one organisation is exposed through its
// suppliers, from what the caller may see. It is the organisation's side
// of the blast radius: where DependsOn lists everything it depends on,
// this picks out what would hurt.
type ExposureResult struct {
	Org        OrgRef `json:"org"`
	Generation int64  `json:"generation"`
	// Unprotected are the business services the organisation relies on
	// critically (a critical or high deployment) with no fallback in any
	// of its deployments for that service.
	Unprotected []UnprotectedService `json:"unprotected"`
	// SinglePoints are the supplier groups and products whose loss alone
	// would leave one of its services hard-down — the single points of
	// failure it sits behind — by the same rule as the blast radius.
	SinglePoints []OrgSinglePoint `json:"single_points"`
	// Vulns are the known CVEs of the products it depends on, at any
	// depth, those on a critical path first.
	Vulns []ExposedVuln `json:"vulns"`
}

// UnprotectedService is a critical service without a fallback.
type UnprotectedService struct {
	Service string `json:"service"`
	// Products are the products deployed critically for it.
	Products []ProductRef `json:"products"`
}

// ProductRef names a product and, where the answer needs it, its supplier.
type ProductRef struct {
	ID           string `json:"product_id"`
	Name         string `json:"name"`
	SupplierID   string `json:"supplier_id,omitempty"`
	SupplierName string `json:"supplier_name,omitempty"`
}

// OrgSinglePoint is a supplier group or product whose loss alone makes one
// of an organisation's services hard-down.
type OrgSinglePoint struct {
	// Node is "supplier:ID" (a supplier group) or "product:ID".
	Node    string `json:"node"`
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Service string `json:"service"`
	// Depth is how many dependency steps from a deployment it is at the
	// nearest (0: deployed directly).
	Depth int `json:"depth"`
	// Areas are the ICB and region where the same node is a single point
	// of failure for every organisation using the service — shown only to
	// callers who may read the systemic-risk report (scope.Supply).
	Areas []SinglePointArea `json:"areas,omitempty"`
}

// SinglePointArea is an ICB or region that a single point of failure
// leaves hard-down as a whole.
type SinglePointArea struct {
	By            Level  `json:"by"`
	Code          string `json:"code"`
	Name          string `json:"name"`
	Organisations int    `json:"organisations"`
}

// ExposedVuln is a known CVE in a product an organisation depends on.
type ExposedVuln struct {
	CVE string `json:"cve"`
	ProductRef
	Depth int `json:"depth"`
	// Critical: the product is on an all-critical path from a critical or
	// high deployment, so its compromise could stop a service.
	Critical bool     `json:"critical"`
	Services []string `json:"services"`
}

// reachFlags is what the forward walk learns about one product for one
// service of the organisation.
type reachFlags struct {
	crit, noncrit, fallback bool
}

// Exposure answers for organisation ods what ExposureResult describes.
// The organisation must be readable; products and suppliers the caller
// may not see are not entered, as in DependsOn.
//
// A node is a single point of failure for service S when the blast radius
// of its loss would class S hard-down at this organisation (see
// svcAgg.impact): some deployment of S is reached from it along an
// all-critical path and stops the service, none is reached otherwise, and
// no deployment reached has a fallback. Walking forward from each
// deployment of S, a product is reached critically, non-critically or
// both; a supplier group is the union of its products, as a supplier
// query starts from all of them.
func (s *Service) Exposure(ctx context.Context, sc scope.Scope, ods string) (ExposureResult, error) {
	g, err := s.current(ctx)
	if err != nil {
		return ExposureResult{}, err
	}
	o, ok := g.orgIdx[strings.ToUpper(strings.TrimSpace(ods))]
	if !ok || !sc.CanAt(scope.Read, g.orgs[o].path) {
		return ExposureResult{}, fmt.Errorf("organisation %s: %w", ods, fault.ErrNotFound)
	}
	v := g.viewFor(sc)
	on := g.orgs[o]
	res := ExposureResult{Org: OrgRef{ODS: on.code, Name: on.name, Type: string(on.typ), ICB: on.icbCode, Region: on.region_},
		Generation: g.gen, Unprotected: []UnprotectedService{}, SinglePoints: []OrgSinglePoint{}, Vulns: []ExposedVuln{}}

	bySvc := map[uint16][]*deployment{}
	var svcs []uint16
	for _, di := range g.orgDep[g.orgDepOff[o]:g.orgDepOff[o+1]] {
		d := &g.dep[di]
		if !v.productVisible(g, d.prod) {
			continue
		}
		if bySvc[d.svc] == nil {
			svcs = append(svcs, d.svc)
		}
		bySvc[d.svc] = append(bySvc[d.svc], d)
	}
	sort.Slice(svcs, func(i, j int) bool { return svcs[i] < svcs[j] }) // services are numbered alphabetically

	// Over all services: the nearest depth of each product, whether it is
	// reached critically anywhere, and the services it serves — for the
	// vulnerabilities.
	depth := map[int32]int{}
	critAny := map[int32]bool{}
	served := map[int32][]string{}
	type state struct {
		p    int32
		crit bool
		dist int
	}
	for _, sv := range svcs {
		svc := g.services[sv]
		deps := bySvc[sv]
		flags := map[int32]*reachFlags{}
		stops, fallback := false, false
		for _, d := range deps {
			stops = stops || d.stops()
			fallback = fallback || d.fallback
			seen := map[int32]uint8{} // 1: reached non-critically, 2: critically
			queue := []state{{d.prod, d.stops(), 0}}
			for len(queue) > 0 {
				st := queue[0]
				queue = queue[1:]
				mark := uint8(1)
				if st.crit {
					mark = 2
				}
				if seen[st.p]&mark != 0 {
					continue
				}
				seen[st.p] |= mark
				f := flags[st.p]
				if f == nil {
					f = &reachFlags{}
					flags[st.p] = f
				}
				f.crit = f.crit || st.crit
				f.noncrit = f.noncrit || !st.crit
				f.fallback = f.fallback || d.fallback
				if old, ok := depth[st.p]; !ok || st.dist < old {
					depth[st.p] = st.dist
				}
				critAny[st.p] = critAny[st.p] || st.crit
				served[st.p] = appendUnique(served[st.p], svc)
				for _, e := range g.fwd[g.fwdOff[st.p]:g.fwdOff[st.p+1]] {
					if v.productVisible(g, e.to) {
						queue = append(queue, state{e.to, st.crit && e.crit, st.dist + 1})
					}
				}
			}
		}
		if stops && !fallback {
			u := UnprotectedService{Service: svc}
			for _, d := range deps {
				if d.stops() {
					u.Products = appendRef(u.Products, g.productRef(d.prod))
				}
			}
			res.Unprotected = append(res.Unprotected, u)
		}
		// Products, then supplier groups as the union of their products.
		groups := map[int32]*reachFlags{}
		groupDepth := map[int32]int{}
		for p, f := range flags {
			if f.crit && !f.noncrit && !f.fallback {
				res.SinglePoints = append(res.SinglePoints, OrgSinglePoint{Node: g.prod[p].node, Kind: "product", ID: g.prod[p].id,
					Name: g.prod[p].name, Service: svc, Depth: depth[p]})
			}
			root := g.sup[g.prod[p].supplier].root
			gf := groups[root]
			if gf == nil {
				gf = &reachFlags{}
				groups[root] = gf
				groupDepth[root] = depth[p]
			}
			gf.crit, gf.noncrit, gf.fallback = gf.crit || f.crit, gf.noncrit || f.noncrit, gf.fallback || f.fallback
			groupDepth[root] = min(groupDepth[root], depth[p])
		}
		for root, f := range groups {
			if f.crit && !f.noncrit && !f.fallback {
				sp := g.sup[root]
				res.SinglePoints = append(res.SinglePoints, OrgSinglePoint{Node: supplierNode(sp.id), Kind: "supplier", ID: sp.id,
					Name: sp.name, Service: svc, Depth: groupDepth[root]})
			}
		}
	}
	sort.Slice(res.SinglePoints, func(i, j int) bool {
		a, b := &res.SinglePoints[i], &res.SinglePoints[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Kind != b.Kind {
			return a.Kind == "supplier"
		}
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		return a.ID < b.ID
	})
	if err := s.markWideSinglePoints(ctx, g, sc, on, res.SinglePoints); err != nil {
		return ExposureResult{}, err
	}

	for p, ds := range depth {
		for _, cve := range g.prodVulns[p] {
			ev := ExposedVuln{CVE: cve, ProductRef: g.productRef(p), Depth: ds, Critical: critAny[p], Services: served[p]}
			sort.Strings(ev.Services)
			res.Vulns = append(res.Vulns, ev)
		}
	}
	sort.Slice(res.Vulns, func(i, j int) bool {
		a, b := &res.Vulns[i], &res.Vulns[j]
		if a.Critical != b.Critical {
			return a.Critical
		}
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		if a.CVE != b.CVE {
			return a.CVE > b.CVE // newer first
		}
		return a.ID < b.ID
	})
	return res, nil
}

// markWideSinglePoints adds to each single point of failure the ICB and
// region where it leaves everyone using the service hard-down, from the
// caller's cached systemic report. That report is for supply-chain
// managers (scope.Supply) and counts only organisations the caller may
// read, so others get the organisation's own view only.
func (s *Service) markWideSinglePoints(ctx context.Context, g *graph, sc scope.Scope, on orgNode, sps []OrgSinglePoint) error {
	if len(sps) == 0 || !sc.Can(scope.Supply) {
		return nil
	}
	sys, err := s.systemicCached(ctx, g, sc, SystemicOptions{})
	if err != nil {
		return err
	}
	type key struct{ node, svc, code string }
	wide := map[key]SinglePoint{}
	for _, p := range sys.SinglePoints {
		wide[key{p.Node, p.Service, p.Code}] = p
	}
	for i := range sps {
		for _, code := range []string{on.icbCode, on.region_} {
			if p, ok := wide[key{sps[i].Node, sps[i].Service, code}]; ok && code != "" {
				sps[i].Areas = append(sps[i].Areas, SinglePointArea{By: p.By, Code: p.Code, Name: p.GroupName, Organisations: p.Organisations})
			}
		}
	}
	return nil
}

func (g *graph) productRef(p int32) ProductRef {
	pn := &g.prod[p]
	sp := &g.sup[pn.supplier]
	return ProductRef{ID: pn.id, Name: pn.name, SupplierID: sp.id, SupplierName: sp.name}
}

func appendRef(rs []ProductRef, r ProductRef) []ProductRef {
	for _, x := range rs {
		if x.ID == r.ID {
			return rs
		}
	}
	return append(rs, r)
}
