package supply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/vigil-health/vigil/internal/org"
)

// The graph is the register held in memory for queries, rebuilt from the
// store when the register changes. Every node has a dense int32 index;
// adjacency is stored in CSR form (an offsets slice and one flat edge
// slice), so a traversal touches only flat slices — no maps, no pointers
// to chase and no allocation in the hot loop. Maps are used only to turn
// the caller's IDs into indices at the start of a query.
//
// Memory (measured figures in BENCH_NOTES.md): per organisation ~150 bytes
// plus its strings; per supplier ~80; per product ~70; per dependency edge
// 2×8 bytes (forward and reverse); per deployment 12 bytes plus 2×4 bytes
// of per-org index; plus one map entry (~60 bytes) per ID.
type graph struct {
	gen     int64
	orgGen  int64 // the organisation tree's generation it was built from
	builtAt time.Time
	epoch   int64 // Service.epoch when it was built

	orgs   []orgNode
	orgIdx map[string]int32

	sup        []supNode
	supIdx     map[string]int32
	supByODS   map[string]int32
	supProdOff []int32 // products of supplier i: supProd[supProdOff[i]:supProdOff[i+1]]
	supProd    []int32
	supKidOff  []int32 // direct group subsidiaries of supplier i
	supKid     []int32

	prod    []prodNode
	prodIdx map[string]int32
	revOff  []int32 // products that depend on product p: rev[revOff[p]:revOff[p+1]]
	rev     []edge
	fwdOff  []int32 // products p depends on
	fwd     []edge

	dep        []deployment // sorted by product, then org, then service
	prodDepOff []int32      // deployments of product p: dep[prodDepOff[p]:prodDepOff[p+1]]
	orgDepOff  []int32      // deployments of org o: dep[orgDep[orgDepOff[o]:orgDepOff[o+1]]]
	orgDep     []int32

	services []string
	svcIdx   map[string]int32

	cve       map[string][]int32 // CVE → products
	prodVulns map[int32][]string

	cycles [][]string
	stats  GraphStats

	// reports caches the whole-register reports computed over this graph
	// (reports.go); everything above is immutable once built.
	reports reports
	// lookup is the index of names and IDs for forgiving lookup and
	// suggestions (lookup.go), built on first use: most queries name an
	// ID exactly and never need it.
	lookup lazyLookup
}

type orgNode struct {
	code, name, path string
	node             string // "org:CODE", built once so paths allocate no strings
	typ              org.Type
	icb, region      int32 // index of the ICB / region organisation, or -1
	icbCode, region_ string
	pop              int64
	closed           bool
}

type supNode struct {
	id, name string
	parent   int32 // group parent, or -1
	root     int32 // top of the group (itself when no parent)
	tenant   int32 // tenant organisation, or -1
	ods      int32 // the NHS body this supplier is, or -1
	critical bool  // designated critical
	// The register's other identifiers, for register search (lookup.go).
	ch, duns, country, odsCode string
}

type prodNode struct {
	id, name string
	node     string // "product:ID"
	kind     ProductKind
	supplier int32
}

// edge is one dependency seen from one end: to is the other product.
type edge struct {
	to   int32
	crit bool
	kind uint8 // index into DependencyKinds()
}

// deployment is 12 bytes: org × product × service.
type deployment struct {
	org, prod int32
	svc       uint16
	crit      uint8 // index into Criticalities(): 0 critical … 3 low
	fallback  bool
}

func (d *deployment) stops() bool { return d.crit <= 1 }

// GraphStats describes the in-memory graph.
type GraphStats struct {
	Generation   int64     `json:"generation"`
	BuiltAt      time.Time `json:"built_at"`
	BuildMillis  int64     `json:"build_ms"`
	Orgs         int       `json:"orgs"`
	Suppliers    int       `json:"suppliers"`
	Products     int       `json:"products"`
	Dependencies int       `json:"dependencies"`
	Deployments  int       `json:"deployments"`
	Services     int       `json:"services"`
	Vulns        int       `json:"vulns"`
	// Bytes estimates the graph's heap footprint (slices, strings, maps).
	Bytes int64 `json:"bytes"`
	// Cycles lists dependency cycles (strongly connected groups of
	// products), at most 20, each as product IDs.
	Cycles [][]string `json:"cycles,omitempty"`
	// Skipped counts stored rows left out because they point at something
	// missing (an organisation removed from the tree, say).
	Skipped int `json:"skipped"`
}

func crIndex(c Criticality) uint8 {
	for i, k := range Criticalities() {
		if k == c {
			return uint8(i)
		}
	}
	return 3
}

func dkIndex(k DependencyKind) uint8 {
	for i, x := range DependencyKinds() {
		if x == k {
			return uint8(i)
		}
	}
	return 0
}

// orgPath returns o's materialised path, computing it from parents when the
// source left it empty.
func orgPaths(orgs []org.Org) []string {
	byCode := make(map[string]int, len(orgs))
	for i, o := range orgs {
		byCode[o.Code] = i
	}
	out := make([]string, len(orgs))
	var build func(i, depth int) string
	build = func(i, depth int) string {
		if out[i] != "" {
			return out[i]
		}
		o := orgs[i]
		if o.Path != "" {
			out[i] = o.Path
			return o.Path
		}
		p := "/"
		if j, ok := byCode[o.Parent]; ok && o.Parent != o.Code && depth < 32 {
			p = build(j, depth+1)
		}
		out[i] = p + o.Code + "/"
		return out[i]
	}
	for i := range orgs {
		build(i, 0)
	}
	return out
}

// load reads the register and the organisation tree into a new graph.
func (s *Service) load(ctx context.Context) (*graph, error) {
	t0 := time.Now()
	q := s.db.Q()
	gen, err := s.generation(ctx, q)
	if err != nil {
		return nil, err
	}
	// Read before the tree itself: a change committed in between makes the
	// next check rebuild rather than being missed.
	orgGen, err := s.orgGeneration(ctx)
	if err != nil {
		return nil, err
	}
	orgs, err := s.orgs.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("supply: list organisations: %w", err)
	}
	reg, err := readRegister(ctx, q, false)
	if err != nil {
		return nil, err
	}
	g := buildGraph(orgs, reg)
	g.gen, g.orgGen = gen, orgGen
	g.stats.Generation = gen
	g.stats.BuildMillis = time.Since(t0).Milliseconds()
	g.stats.BuiltAt = s.now().UTC()
	return g, nil
}

// buildGraph indexes orgs and reg. Rows pointing at missing objects are
// skipped and counted.
func buildGraph(orgs []org.Org, reg *Register) *graph {
	g := &graph{}
	sort.Slice(orgs, func(i, j int) bool { return orgs[i].Code < orgs[j].Code })
	paths := orgPaths(orgs)
	g.orgs = make([]orgNode, len(orgs))
	g.orgIdx = make(map[string]int32, len(orgs))
	for i, o := range orgs {
		g.orgIdx[o.Code] = int32(i)
		g.orgs[i] = orgNode{code: o.Code, node: orgNodeName(o.Code), name: o.Name, path: paths[i], typ: o.Type, icbCode: o.ICB, region_: o.Region,
			pop: o.Population, closed: o.Status == org.Closed, icb: -1, region: -1}
	}
	for i := range g.orgs {
		o := &g.orgs[i]
		if j, ok := g.orgIdx[o.icbCode]; ok {
			o.icb = j
		}
		if j, ok := g.orgIdx[o.region_]; ok {
			o.region = j
		}
		// An ICB's own region and a region itself group under themselves.
		switch o.typ {
		case org.ICB:
			if o.icbCode == "" {
				o.icbCode, o.icb = o.code, int32(i)
			}
		case org.Region:
			if o.region_ == "" {
				o.region_, o.region = o.code, int32(i)
			}
		}
	}

	// An ICB's or region's registered population is its open practices'
	// patients when the organisation row carries none (the ODS extracts
	// give patients per practice only).
	var icbPop, regionPop = map[int32]int64{}, map[int32]int64{}
	for i := range g.orgs {
		o := &g.orgs[i]
		if o.typ != org.GPPractice || o.closed || o.pop <= 0 {
			continue
		}
		if o.icb >= 0 {
			icbPop[o.icb] += o.pop
		}
		if o.region >= 0 {
			regionPop[o.region] += o.pop
		}
	}
	for i := range g.orgs {
		o := &g.orgs[i]
		if o.pop > 0 {
			continue
		}
		switch o.typ {
		case org.ICB:
			o.pop = icbPop[int32(i)]
		case org.Region:
			o.pop = regionPop[int32(i)]
		}
	}

	// Suppliers.
	g.sup = make([]supNode, len(reg.Suppliers))
	g.supIdx = make(map[string]int32, len(reg.Suppliers))
	g.supByODS = map[string]int32{}
	for i, sp := range reg.Suppliers {
		g.supIdx[sp.ID] = int32(i)
	}
	for i, sp := range reg.Suppliers {
		n := supNode{id: sp.ID, name: sp.Name, ch: sp.CompaniesHouseNumber, duns: sp.DUNS, country: sp.Country, odsCode: sp.ODSCode,
			parent: -1, tenant: -1, ods: -1, critical: sp.DesignatedCritical}
		if j, ok := g.supIdx[sp.ParentID]; ok && sp.ParentID != sp.ID {
			n.parent = j
		}
		if j, ok := g.orgIdx[sp.TenantOrg]; ok {
			n.tenant = j
		}
		if j, ok := g.orgIdx[sp.ODSCode]; ok {
			n.ods = j
			g.supByODS[sp.ODSCode] = int32(i)
		}
		g.sup[i] = n
	}
	for i := range g.sup {
		r, n := int32(i), 0
		for g.sup[r].parent >= 0 && n < 64 {
			r = g.sup[r].parent
			n++
		}
		if n == 64 { // a parent cycle: imports refuse them, but stay safe
			r = int32(i)
		}
		g.sup[i].root = r
	}
	g.supKidOff, g.supKid = csr(len(g.sup), len(g.sup), func(emit func(from, to int32)) {
		for i, sp := range g.sup {
			if sp.parent >= 0 {
				emit(sp.parent, int32(i))
			}
		}
	})

	// Products.
	g.prod = make([]prodNode, 0, len(reg.Products))
	g.prodIdx = make(map[string]int32, len(reg.Products))
	for _, p := range reg.Products {
		si, ok := g.supIdx[p.SupplierID]
		if !ok {
			g.stats.Skipped++
			continue
		}
		g.prodIdx[p.ID] = int32(len(g.prod))
		g.prod = append(g.prod, prodNode{id: p.ID, node: productNode(p.ID), name: p.Name, kind: p.Kind, supplier: si})
	}
	g.supProdOff, g.supProd = csr(len(g.sup), len(g.prod), func(emit func(from, to int32)) {
		for i, p := range g.prod {
			emit(p.supplier, int32(i))
		}
	})

	// Dependencies, in both directions.
	type dpair struct {
		from, to int32
		e        edge
	}
	ds := make([]dpair, 0, len(reg.Dependencies))
	for _, d := range reg.Dependencies {
		a, ok1 := g.prodIdx[d.ProductID]
		b, ok2 := g.prodIdx[d.DependsOnID]
		if !ok1 || !ok2 || a == b {
			g.stats.Skipped++
			continue
		}
		ds = append(ds, dpair{a, b, edge{crit: d.Critical, kind: dkIndex(d.Kind)}})
	}
	g.fwdOff, g.fwd = csrEdges(len(g.prod), len(ds), func(emit func(from int32, e edge)) {
		for _, d := range ds {
			e := d.e
			e.to = d.to
			emit(d.from, e)
		}
	})
	g.revOff, g.rev = csrEdges(len(g.prod), len(ds), func(emit func(from int32, e edge)) {
		for _, d := range ds {
			e := d.e
			e.to = d.from
			emit(d.to, e)
		}
	})

	// Deployments, sorted by product so each product's are one range.
	g.svcIdx = map[string]int32{}
	g.dep = make([]deployment, 0, len(reg.Deployments))
	for _, d := range reg.Deployments {
		o, ok1 := g.orgIdx[d.OrgODS]
		p, ok2 := g.prodIdx[d.ProductID]
		if !ok1 || !ok2 {
			g.stats.Skipped++
			continue
		}
		sv, ok := g.svcIdx[d.Service]
		if !ok {
			if len(g.services) >= 1<<16-1 {
				g.stats.Skipped++
				continue
			}
			sv = int32(len(g.services))
			g.svcIdx[d.Service] = sv
			g.services = append(g.services, d.Service)
		}
		g.dep = append(g.dep, deployment{org: o, prod: p, svc: uint16(sv), crit: crIndex(d.Criticality), fallback: d.HasFallback})
	}
	// Number services alphabetically, so per-service results come out sorted.
	order := make([]int32, len(g.services))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(i, j int) bool { return g.services[order[i]] < g.services[order[j]] })
	remap := make([]uint16, len(g.services))
	sorted := make([]string, len(g.services))
	for newIdx, old := range order {
		remap[old] = uint16(newIdx)
		sorted[newIdx] = g.services[old]
		g.svcIdx[g.services[old]] = int32(newIdx)
	}
	g.services = sorted
	for i := range g.dep {
		g.dep[i].svc = remap[g.dep[i].svc]
	}
	sort.Slice(g.dep, func(i, j int) bool {
		a, b := &g.dep[i], &g.dep[j]
		if a.prod != b.prod {
			return a.prod < b.prod
		}
		if a.org != b.org {
			return a.org < b.org
		}
		return a.svc < b.svc
	})
	g.prodDepOff = make([]int32, len(g.prod)+1)
	for _, d := range g.dep {
		g.prodDepOff[d.prod+1]++
	}
	for i := 1; i < len(g.prodDepOff); i++ {
		g.prodDepOff[i] += g.prodDepOff[i-1]
	}
	g.orgDepOff, g.orgDep = csr(len(g.orgs), len(g.dep), func(emit func(from, to int32)) {
		for i, d := range g.dep {
			emit(d.org, int32(i))
		}
	})

	// Vulnerabilities.
	g.cve = map[string][]int32{}
	g.prodVulns = map[int32][]string{}
	for _, v := range reg.Vulns {
		p, ok := g.prodIdx[v.ProductID]
		if !ok {
			g.stats.Skipped++
			continue
		}
		c := normCVE(v.CVE)
		g.cve[c] = append(g.cve[c], p)
		g.prodVulns[p] = append(g.prodVulns[p], c)
		g.stats.Vulns++
	}

	g.cycles = g.findCycles(20)
	g.stats.Orgs, g.stats.Suppliers, g.stats.Products = len(g.orgs), len(g.sup), len(g.prod)
	g.stats.Dependencies, g.stats.Deployments, g.stats.Services = len(g.fwd), len(g.dep), len(g.services)
	g.stats.Cycles = g.cycles
	g.stats.Bytes = g.sizeEstimate()
	return g
}

// csr builds offsets and a flat target list from (from, to) pairs emitted
// twice (once to count, once to fill), keeping emission order per source.
func csr(nodes, hint int, each func(emit func(from, to int32))) ([]int32, []int32) {
	off := make([]int32, nodes+1)
	each(func(from, _ int32) { off[from+1]++ })
	for i := 1; i <= nodes; i++ {
		off[i] += off[i-1]
	}
	out := make([]int32, off[nodes])
	pos := make([]int32, nodes)
	copy(pos, off[:nodes])
	each(func(from, to int32) {
		out[pos[from]] = to
		pos[from]++
	})
	return off, out
}

func csrEdges(nodes, hint int, each func(emit func(from int32, e edge))) ([]int32, []edge) {
	off := make([]int32, nodes+1)
	each(func(from int32, _ edge) { off[from+1]++ })
	for i := 1; i <= nodes; i++ {
		off[i] += off[i-1]
	}
	out := make([]edge, off[nodes])
	pos := make([]int32, nodes)
	copy(pos, off[:nodes])
	each(func(from int32, e edge) {
		out[pos[from]] = e
		pos[from]++
	})
	return off, out
}

// findCycles returns up to max dependency cycles (Tarjan's strongly
// connected components, iterative so deep chains cannot overflow the stack).
func (g *graph) findCycles(max int) [][]string {
	n := len(g.prod)
	index := make([]int32, n)
	low := make([]int32, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	type frame struct{ v, ei int32 }
	var call []frame
	var next int32
	var out [][]string
	for s := 0; s < n; s++ {
		if index[s] >= 0 {
			continue
		}
		call = append(call[:0], frame{int32(s), g.fwdOff[s]})
		index[s], low[s] = next, next
		next++
		stack = append(stack, int32(s))
		on[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.ei < g.fwdOff[v+1] {
				w := g.fwd[f.ei].to
				f.ei++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					on[w] = true
					call = append(call, frame{w, g.fwdOff[w]})
				} else if on[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				if low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				var comp []string
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					on[w] = false
					comp = append(comp, g.prod[w].id)
					if w == v {
						break
					}
				}
				if len(comp) > 1 && len(out) < max {
					sort.Strings(comp)
					out = append(out, comp)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], ",") < strings.Join(out[j], ",") })
	return out
}

func (g *graph) sizeEstimate() int64 {
	const mapEntry = 64 // bucket share, key header and value, rounded up
	var b int64
	for _, o := range g.orgs {
		b += int64(len(o.code) + len(o.name) + len(o.path) + len(o.icbCode) + len(o.region_) + len(o.node))
	}
	b += int64(cap(g.orgs)) * int64(unsafe.Sizeof(orgNode{}))
	for _, s := range g.sup {
		b += int64(len(s.id) + len(s.name) + len(s.ch) + len(s.duns) + len(s.country) + len(s.odsCode))
	}
	b += int64(cap(g.sup)) * int64(unsafe.Sizeof(supNode{}))
	for _, p := range g.prod {
		b += int64(len(p.id) + len(p.name) + len(p.node))
	}
	b += int64(cap(g.prod)) * int64(unsafe.Sizeof(prodNode{}))
	b += int64(cap(g.fwd)+cap(g.rev)) * int64(unsafe.Sizeof(edge{}))
	b += int64(cap(g.dep)) * int64(unsafe.Sizeof(deployment{}))
	b += 4 * int64(cap(g.supProdOff)+cap(g.supProd)+cap(g.supKidOff)+cap(g.supKid)+cap(g.revOff)+cap(g.fwdOff)+
		cap(g.prodDepOff)+cap(g.orgDepOff)+cap(g.orgDep))
	b += mapEntry * int64(len(g.orgIdx)+len(g.supIdx)+len(g.supByODS)+len(g.prodIdx)+len(g.svcIdx)+len(g.cve)+len(g.prodVulns))
	b += 16 * int64(g.stats.Vulns) * 2
	return b
}

// Node names used in paths and neighbourhood graphs.
func supplierNode(id string) string  { return "supplier:" + id }
func productNode(id string) string   { return "product:" + id }
func orgNodeName(code string) string { return "org:" + code }
func cveNode(id string) string       { return "cve:" + id }
