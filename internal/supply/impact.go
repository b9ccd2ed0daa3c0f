package supply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// Impact is how badly a compromise reaches an organisation.
type Impact string

// Impact classes, most severe first.
//
//   - hard-down: for some service every path from the compromised node to
//     the organisation is critical (every dependency edge on it critical and
//     the deployment's criticality critical or high) and the organisation
//     has no fallback for that service's affected deployments;
//   - degraded: some critical path exists, but so does a fallback or a
//     non-critical path;
//   - exposed: only non-critical paths.
//
// An organisation's class is its worst service's class.
const (
	HardDown Impact = "hard-down"
	Degraded Impact = "degraded"
	Exposed  Impact = "exposed"
)

func (i Impact) rank() int {
	switch i {
	case HardDown:
		return 0
	case Degraded:
		return 1
	}
	return 2
}

// Query names the compromised node: exactly one of Supplier (a supplier ID,
// or the ODS code of an NHS body registered as a supplier), Product or CVE.
type Query struct {
	Supplier string `json:"supplier,omitempty"`
	Product  string `json:"product,omitempty"`
	CVE      string `json:"cve,omitempty"`
}

// ImpactResult answers "what is affected if this is compromised (a CVE:
// exploited)?".
type ImpactResult struct {
	// Query is the question as resolved: the supplier's or product's ID
	// as the register has it, or the CVE ID in upper case.
	Query Query `json:"query"`
	// Subject names what the question is about, for people: the
	// supplier's or product's name, or the CVE ID (see Headline).
	Subject    string `json:"subject"`
	Generation int64  `json:"generation"`
	// Start lists the nodes the walk started from (for a supplier: itself
	// and its group subsidiaries' products).
	Start []string `json:"start"`
	// Products are the affected products the caller may see, nearest first.
	Products []AffectedProduct `json:"products"`
	// Affected are the affected organisations the caller may read, worst
	// impact first, then by ODS code.
	Affected []AffectedOrg `json:"affected"`
	Totals   ImpactTotals  `json:"totals"`
	// Truncated says Affected holds only the worst organisations, as many
	// as the caller asked for; Totals still count every one.
	Truncated bool `json:"truncated,omitempty"`
	// Names gives, for every node of Start and of the listed
	// organisations' Paths, its name for people: "supplier:SYNNOVIS" →
	// "Synnovis Analytics LLP", "product:…" and "org:…" likewise, a CVE
	// node its ID. Readers label paths from it and look nothing up.
	Names map[string]string `json:"names"`
}

// Limit keeps the n worst affected organisations (n > 0), leaving the
// totals whole: the national answer for a large hosting provider is tens
// of megabytes of JSON, and a dashboard wants the top of it.
func (r *ImpactResult) Limit(n int) {
	if n <= 0 || len(r.Affected) <= n {
		return
	}
	r.Affected, r.Truncated = r.Affected[:n], true
	if r.Names == nil {
		return
	}
	// Names keeps only the nodes still mentioned.
	kept := make(map[string]string, len(r.Start))
	keep := func(p []string) {
		for _, x := range p {
			if name, ok := r.Names[x]; ok {
				kept[x] = name
			}
		}
	}
	keep(r.Start)
	for _, a := range r.Affected {
		for _, p := range a.Paths {
			keep(p)
		}
	}
	r.Names = kept
}

// AffectedProduct is one product reached from the compromised node.
type AffectedProduct struct {
	ID           string `json:"product_id"`
	Name         string `json:"name"`
	SupplierID   string `json:"supplier_id"`
	SupplierName string `json:"supplier_name"`
	// Depth is the number of dependency edges from the compromised node
	// (0 for the compromised products themselves).
	Depth int `json:"depth"`
	// Critical is true when an all-critical dependency path reaches it.
	Critical bool `json:"critical"`
}

// AffectedOrg is one affected organisation and why.
type AffectedOrg struct {
	ODS        string `json:"ods"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	ICB        string `json:"icb"`
	ICBName    string `json:"icb_name,omitempty"`
	Region     string `json:"region"`
	RegionName string `json:"region_name,omitempty"`
	Population int64  `json:"population,omitempty"`
	// Services are the affected business services, sorted.
	Services []string `json:"services"`
	Impact   Impact   `json:"impact"`
	// ServiceImpacts gives each service's own class.
	ServiceImpacts []ServiceImpact `json:"service_impacts"`
	// Paths are the shortest explaining paths, at most MaxPathsPerOrg, from
	// the compromised node to "org:ODS". For each affected deployment there
	// are up to two: the shortest all-critical-edge path and the shortest
	// path through a non-critical edge.
	Paths [][]string `json:"paths"`
	// PathDetails[i] describes Paths[i].
	PathDetails []PathDetail `json:"path_details"`
	// PathCount is the number of explaining paths found (Paths is capped).
	PathCount int `json:"path_count"`
}

// ServiceImpact is the class of one affected service at one organisation.
type ServiceImpact struct {
	Service  string   `json:"service"`
	Impact   Impact   `json:"impact"`
	Fallback bool     `json:"fallback"`
	Products []string `json:"products"`
}

// PathDetail says which deployment a path ends in and whether it is critical.
type PathDetail struct {
	Service     string      `json:"service"`
	Criticality Criticality `json:"criticality"`
	Fallback    bool        `json:"fallback"`
	// Critical: every edge critical and the deployment critical or high.
	Critical bool `json:"critical"`
}

// ImpactTotals sums the affected organisations.
type ImpactTotals struct {
	Organisations int   `json:"organisations"`
	HardDown      int   `json:"hard_down"`
	Degraded      int   `json:"degraded"`
	Exposed       int   `json:"exposed"`
	Population    int64 `json:"population"`
	Products      int   `json:"products"`
	// ByRegion and ByICB group affected organisations; Population is the
	// affected organisations' registered population, RegisteredPopulation
	// the whole region's or ICB's where known.
	ByRegion  []GroupTotal   `json:"by_region"`
	ByICB     []GroupTotal   `json:"by_icb"`
	ByService []ServiceTotal `json:"by_service"`
	ByType    []TypeTotal    `json:"by_type"`
}

// GroupTotal counts affected organisations in one region or ICB.
type GroupTotal struct {
	Code                 string `json:"code"`
	Name                 string `json:"name"`
	Organisations        int    `json:"organisations"`
	HardDown             int    `json:"hard_down"`
	Degraded             int    `json:"degraded"`
	Exposed              int    `json:"exposed"`
	Population           int64  `json:"population"`
	RegisteredPopulation int64  `json:"registered_population,omitempty"`
}

// ServiceTotal counts organisations affected in one service.
type ServiceTotal struct {
	Service       string `json:"service"`
	Organisations int    `json:"organisations"`
	HardDown      int    `json:"hard_down"`
	Degraded      int    `json:"degraded"`
	Exposed       int    `json:"exposed"`
}

// TypeTotal counts affected organisations of one type.
type TypeTotal struct {
	Type          string `json:"type"`
	Organisations int    `json:"organisations"`
	HardDown      int    `json:"hard_down"`
}

// ---- traversal ----

// A walk state is product p in one of two path states: 0 when every edge
// so far was critical, 1 when some edge was not (index p<<1|s).

// hit is one explaining path: a reached state and a deployment of its
// product; hits of one organisation are chained through next.
type hit struct {
	state, dep, next int32
}

// scratch holds a query's working arrays, reused through a sync.Pool so a
// query allocates only its result. Arrays are stamped with an epoch
// instead of being cleared.
type scratch struct {
	epoch    uint32
	seen     []uint32 // per state
	pred     []int32  // per state: previous state, or -(start index)-1
	dist     []int32  // per state
	queue    []int32
	orgSeen  []uint32 // per org
	orgFirst []int32
	orgLast  []int32
	orgVis   []uint32 // per org: epoch when visibility was computed
	orgOK    []bool
	hits     []hit
	orgs     []int32 // affected orgs in first-hit order
	svc      []svcAgg
	svcStamp []uint32 // per service: classify round that owns svcSlot
	svcSlot  []int32  // per service: index in svc
	round    uint32
	rank     []uint8 // per affected org (parallel to orgs): impact rank
	order    []int32 // indices into orgs, sorted for output
}

type svcAgg struct {
	svc                     uint16
	crit, noncrit, fallback bool
}

func (s *Service) getScratch(g *graph) *scratch {
	sc := s.pool.Get().(*scratch)
	sc.prepare(g)
	return sc
}

// prepare sizes the scratch for g and starts a new epoch. Whenever the
// epoch restarts, every epoch-stamped array is cleared: a stamp left by an
// earlier query (another caller's visibility, above all) must never match
// the new epoch.
func (sc *scratch) prepare(g *graph) {
	restart := false
	if nst := 2 * len(g.prod); len(sc.seen) != nst {
		sc.seen, sc.pred, sc.dist = make([]uint32, nst), make([]int32, nst), make([]int32, nst)
		restart = true
	}
	if n := len(g.orgs); len(sc.orgSeen) != n {
		sc.orgSeen, sc.orgFirst, sc.orgLast = make([]uint32, n), make([]int32, n), make([]int32, n)
		sc.orgVis, sc.orgOK = make([]uint32, n), make([]bool, n)
		restart = true
	}
	if len(sc.svcStamp) != len(g.services) {
		sc.svcStamp, sc.svcSlot, sc.round = make([]uint32, len(g.services)), make([]int32, len(g.services)), 0
	}
	sc.epoch++
	if restart || sc.epoch == 0 { // resized, or wrapped after 4 billion queries
		clear(sc.seen)
		clear(sc.orgSeen)
		clear(sc.orgVis)
		sc.epoch = 1
	}
	sc.queue, sc.hits, sc.orgs = sc.queue[:0], sc.hits[:0], sc.orgs[:0]
}

// orgVisible is view.orgVisible cached in scratch (no allocation).
func (sc *scratch) orgVisible(g *graph, v *view, o int32) bool {
	if sc.orgVis[o] != sc.epoch {
		sc.orgVis[o] = sc.epoch
		sc.orgOK[o] = v.sc.CanAt(scope.Read, g.orgs[o].path)
	}
	return sc.orgOK[o]
}

// walk runs a breadth-first search from the start products along reverse
// dependency edges (towards the products that depend on them). Visited
// states make cycles harmless. When v restricts the register, products the
// caller may not see are not entered.
func (g *graph) walk(sc *scratch, v *view, starts []int32) {
	for i, p := range starts {
		st := p << 1
		if sc.seen[st] == sc.epoch {
			continue
		}
		sc.seen[st], sc.pred[st], sc.dist[st] = sc.epoch, int32(-i-1), 0
		sc.queue = append(sc.queue, st)
	}
	restrict := v != nil && !v.all
	for h := 0; h < len(sc.queue); h++ {
		st := sc.queue[h]
		p, s := st>>1, st&1
		for _, e := range g.rev[g.revOff[p]:g.revOff[p+1]] {
			if restrict && !v.supplier[g.prod[e.to].supplier] {
				continue
			}
			ns := s
			if !e.crit {
				ns = 1
			}
			t := e.to<<1 | ns
			if sc.seen[t] == sc.epoch {
				continue
			}
			sc.seen[t], sc.pred[t], sc.dist[t] = sc.epoch, st, sc.dist[st]+1
			sc.queue = append(sc.queue, t)
		}
	}
}

// collect turns reached states into hits per visible, open organisation,
// in queue order, so each organisation's hits come shortest first.
func (g *graph) collect(sc *scratch, v *view) {
	for _, st := range sc.queue {
		p := st >> 1
		for d := g.prodDepOff[p]; d < g.prodDepOff[p+1]; d++ {
			o := g.dep[d].org
			if g.orgs[o].closed || !sc.orgVisible(g, v, o) {
				continue
			}
			h := int32(len(sc.hits))
			sc.hits = append(sc.hits, hit{state: st, dep: d, next: -1})
			if sc.orgSeen[o] != sc.epoch {
				sc.orgSeen[o] = sc.epoch
				sc.orgFirst[o] = h
				sc.orgs = append(sc.orgs, o)
			} else {
				sc.hits[sc.orgLast[o]].next = h
			}
			sc.orgLast[o] = h
		}
	}
}

// classify computes organisation o's per-service flags into sc.svc (in
// service order, which is alphabetical) and returns its worst impact.
func (g *graph) classify(sc *scratch, o int32, sorted bool) Impact {
	sc.svc = sc.svc[:0]
	sc.round++
	if sc.round == 0 {
		clear(sc.svcStamp)
		sc.round = 1
	}
	for h := sc.orgFirst[o]; h >= 0; h = sc.hits[h].next {
		x := &sc.hits[h]
		d := &g.dep[x.dep]
		var a *svcAgg
		if sc.svcStamp[d.svc] == sc.round {
			a = &sc.svc[sc.svcSlot[d.svc]]
		} else {
			sc.svcStamp[d.svc], sc.svcSlot[d.svc] = sc.round, int32(len(sc.svc))
			sc.svc = append(sc.svc, svcAgg{svc: d.svc})
			a = &sc.svc[len(sc.svc)-1]
		}
		if x.state&1 == 0 && d.stops() {
			a.crit = true
		} else {
			a.noncrit = true
		}
		a.fallback = a.fallback || d.fallback
	}
	if sorted && len(sc.svc) > 1 {
		// Insertion sort: a handful of services, and no allocation.
		for i := 1; i < len(sc.svc); i++ {
			for j := i; j > 0 && sc.svc[j].svc < sc.svc[j-1].svc; j-- {
				sc.svc[j], sc.svc[j-1] = sc.svc[j-1], sc.svc[j]
			}
		}
		for i := range sc.svc {
			sc.svcSlot[sc.svc[i].svc] = int32(i)
		}
	}
	worst := Exposed
	for i := range sc.svc {
		if c := sc.svc[i].impact(); c.rank() < worst.rank() {
			worst = c
		}
	}
	return worst
}

func (a *svcAgg) impact() Impact {
	switch {
	case a.crit && !a.noncrit && !a.fallback:
		return HardDown
	case a.crit:
		return Degraded
	}
	return Exposed
}

// starts resolves a query to start products, each with the path prefix
// that leads to it (supplier chain or CVE), and returns the query as
// resolved (the register's IDs) and its subject's name. A supplier or
// product is found by Lookup's rule among what v sees; a miss is a *Miss.
func (g *graph) starts(q Query, v *view) (prods []int32, prefix [][]string, start []string, rq Query, subject string, err error) {
	if err := q.check(); err != nil {
		return nil, nil, nil, q, "", err
	}
	switch {
	case q.Supplier != "":
		si, err := g.resolve(v, KindSupplier, q.Supplier)
		if err != nil {
			return nil, nil, nil, q, "", err
		}
		if id := g.sup[si].id; !strings.EqualFold(q.Supplier, g.sup[si].odsCode) {
			q.Supplier = id // an ODS code stays as asked: it names the NHS body
		}
		subject = g.sup[si].name
		// The supplier and its group subsidiaries, depth first, each with
		// the chain of supplier nodes from the queried one.
		type item struct {
			s     int32
			chain []string
		}
		stack := []item{{si, []string{supplierNode(g.sup[si].id)}}}
		seen := map[int32]bool{si: true}
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			start = append(start, supplierNode(g.sup[it.s].id))
			for _, p := range g.supProd[g.supProdOff[it.s]:g.supProdOff[it.s+1]] {
				if v.productVisible(g, p) {
					prods = append(prods, p)
					prefix = append(prefix, it.chain)
				}
			}
			kids := g.supKid[g.supKidOff[it.s]:g.supKidOff[it.s+1]]
			for i := len(kids) - 1; i >= 0; i-- {
				k := kids[i]
				if !seen[k] {
					seen[k] = true
					c := append(append([]string(nil), it.chain...), supplierNode(g.sup[k].id))
					stack = append(stack, item{k, c})
				}
			}
		}
	case q.Product != "":
		p, err := g.resolve(v, KindProduct, q.Product)
		if err != nil {
			return nil, nil, nil, q, "", err
		}
		q.Product, subject = g.prod[p].id, g.prod[p].name
		prods, prefix, start = []int32{p}, [][]string{nil}, []string{g.prod[p].node}
	default:
		c := normCVE(q.CVE)
		if !validCVE(c) {
			return nil, nil, nil, q, "", cveInvalid(q.CVE)
		}
		q.CVE, subject = c, c
		start = []string{cveNode(c)}
		for _, p := range g.cve[c] {
			if v.productVisible(g, p) {
				prods = append(prods, p)
				prefix = append(prefix, []string{cveNode(c)})
			}
		}
	}
	return prods, prefix, start, q, subject, nil
}

// nodeName is the name of a node ("supplier:X", "product:Y", "org:Z",
// "cve:…") for people, or its ID when it names nothing in g.
func (g *graph) nodeName(node string) string {
	kind, id, _ := strings.Cut(node, ":")
	switch kind {
	case "supplier":
		if i, ok := g.supIdx[id]; ok {
			return g.sup[i].name
		}
	case "product":
		if i, ok := g.prodIdx[id]; ok {
			return g.prod[i].name
		}
	case "org":
		if i, ok := g.orgIdx[id]; ok {
			return g.orgs[i].name
		}
	}
	return id
}

// nameNodes adds the name of every node of paths not yet in names.
func (g *graph) nameNodes(names map[string]string, paths [][]string) {
	for _, p := range paths {
		for _, n := range p {
			if _, ok := names[n]; !ok {
				names[n] = g.nodeName(n)
			}
		}
	}
}

// chunk hands out sub-slices of large blocks. reset takes the blocks back
// (what was handed out must no longer be used), so a streamed answer
// builds every organisation in the same memory.
type chunk[T any] struct {
	buf   []T
	used  int
	block int // elements per block; 4096 when 0
}

func (c *chunk[T]) take(n int) []T {
	if len(c.buf)-c.used < n {
		b := c.block
		if b == 0 {
			b = 4096
		}
		c.buf, c.used = make([]T, max(n, b)), 0
	}
	s := c.buf[c.used : c.used+n : c.used+n]
	c.used += n
	return s
}

func (c *chunk[T]) reset() {
	clear(c.buf[:c.used]) // drop references, so the collector may free what they held
	c.used = 0
}

// orgAlloc carves an affected organisation's slices.
type orgAlloc struct {
	strs    chunk[string]
	impacts chunk[ServiceImpact]
	paths   chunk[[]string]
	details chunk[PathDetail]
}

// newOrgAlloc returns an allocator whose blocks hold about n
// organisations' slices: one for streaming, thousands for a whole answer.
func newOrgAlloc(n int) *orgAlloc {
	al := &orgAlloc{}
	al.strs.block, al.impacts.block, al.paths.block, al.details.block = 32*n, 4*n, 8*n, 8*n
	return al
}

func (al *orgAlloc) reset() {
	al.strs.reset()
	al.impacts.reset()
	al.paths.reset()
	al.details.reset()
}

// pathsFor counts o's hits (its explaining paths).
func (a *AffectedOrg) pathsFor(sc *scratch, o int32) int {
	n := 0
	for h := sc.orgFirst[o]; h >= 0; h = sc.hits[h].next {
		n++
	}
	return n
}

// path rebuilds the explaining path of one hit.
func (g *graph) path(sc *scratch, prefix [][]string, h hit, strs *chunk[string]) []string {
	n := int(sc.dist[h.state]) + 2
	st := h.state
	for sc.pred[st] >= 0 {
		st = sc.pred[st]
	}
	pre := prefix[-sc.pred[st]-1]
	out := strs.take(len(pre) + n)
	copy(out, pre)
	out[len(out)-1] = g.orgs[g.dep[h.dep].org].node
	i := len(out) - 2
	for st = h.state; ; st = sc.pred[st] {
		out[i] = g.prod[st>>1].node
		i--
		if sc.pred[st] < 0 {
			break
		}
	}
	return out
}

// Impact answers which organisations, services, ICBs and regions are
// affected if q's supplier or product is compromised, or its CVE exploited. The answer is
// built whole; for the national answer of a large supplier (tens of
// megabytes of JSON) use OpenImpact, which builds one organisation at a
// time.
func (s *Service) Impact(ctx context.Context, sc scope.Scope, q Query) (ImpactResult, error) {
	st, err := s.OpenImpact(ctx, sc, q, 0)
	if err != nil {
		return ImpactResult{}, err
	}
	defer st.Close()
	return st.Result(0), nil
}

// impactRun is a blast radius walked, ordered and totalled, whose
// affected organisations are built on demand (buildOrg), one at a time if
// the caller wishes: the walk's scratch holds everything needed. It owns
// a scratch until close.
type impactRun struct {
	s        *Service
	g        *graph
	sc       *scratch
	prefix   [][]string
	maxPaths int
	head     ImpactResult // Query, Generation and Start
	totals   ImpactTotals // whole, and Products counted
}

// runImpact walks the graph from q's start nodes, orders the affected
// organisations (worst first, then by code) and totals them. Only the
// classes are computed here, not the paths, so this costs a fraction of
// building the answer and allocates next to nothing per organisation.
func (g *graph) runImpact(s *Service, scp scope.Scope, q Query, maxPaths int) (*impactRun, error) {
	v := g.viewFor(scp)
	prods, prefix, start, q, subject, err := g.starts(q, v)
	if err != nil {
		return nil, err
	}
	sc := s.getScratch(g)
	g.walk(sc, v, prods)
	g.collect(sc, v)
	r := &impactRun{s: s, g: g, sc: sc, prefix: prefix, maxPaths: maxPaths,
		head: ImpactResult{Query: q, Subject: subject, Generation: g.gen, Start: start, Products: []AffectedProduct{}, Affected: []AffectedOrg{}}}

	// Order affected organisations (worst first, then by code — org
	// indices follow code order) before building results, so the sort
	// moves int32s, not result structs; total them on the way.
	acc := newTotals(g)
	sc.rank, sc.order = sc.rank[:0], sc.order[:0]
	for i, o := range sc.orgs {
		worst := g.classify(sc, o, false)
		acc.add(&g.orgs[o], worst, sc.svc)
		sc.rank = append(sc.rank, uint8(worst.rank()))
		sc.order = append(sc.order, int32(i))
	}
	sort.Slice(sc.order, func(i, j int) bool {
		a, b := sc.order[i], sc.order[j]
		if sc.rank[a] != sc.rank[b] {
			return sc.rank[a] < sc.rank[b]
		}
		return sc.orgs[a] < sc.orgs[b]
	})
	r.totals = acc.finish()
	r.products(func(*AffectedProduct) bool { r.totals.Products++; return true })
	return r, nil
}

// close gives the scratch back; the run must not be used afterwards.
func (r *impactRun) close() {
	if r.sc != nil {
		r.s.pool.Put(r.sc)
		r.sc = nil
	}
}

// products calls yield with each affected product, nearest first (p is
// reused: copy it to keep it).
func (r *impactRun) products(yield func(p *AffectedProduct) bool) {
	g, sc := r.g, r.sc
	var ap AffectedProduct
	for _, st := range sc.queue {
		p := st >> 1
		// List each product once, at its shorter state (the all-critical
		// one on a tie); BFS order puts that state first.
		if o := st ^ 1; sc.seen[o] == sc.epoch && (sc.dist[o] < sc.dist[st] || (sc.dist[o] == sc.dist[st] && o&1 == 0)) {
			continue
		}
		sp := g.sup[g.prod[p].supplier]
		ap = AffectedProduct{ID: g.prod[p].id, Name: g.prod[p].name, SupplierID: sp.id, SupplierName: sp.name,
			Depth: int(sc.dist[st]), Critical: sc.seen[p<<1] == sc.epoch}
		if !yield(&ap) {
			return
		}
	}
}

// startNames is a result's names map with the names of its start nodes,
// sized for the start, the listed organisations and every affected
// product, so it is not rehashed while the organisations are named.
func (r *impactRun) startNames(listed int) map[string]string {
	names := make(map[string]string, len(r.head.Start)+listed+r.totals.Products)
	r.g.nameNodes(names, [][]string{r.head.Start})
	return names
}

// nameOrg adds to names the nodes of the k-th organisation's listed
// paths that are not there yet: the organisation, and the products on
// them, found by index along the walk (seen marks products named, so a
// product on thousands of paths costs one map insert, not thousands of
// lookups by node string). The paths' supplier and CVE starts are Start,
// named with the summary.
func (r *impactRun) nameOrg(k int, names map[string]string, seen []bool) {
	g, sc := r.g, r.sc
	o := sc.orgs[sc.order[k]]
	names[g.orgs[o].node] = g.orgs[o].name
	n := 0
	for h := sc.orgFirst[o]; h >= 0 && n < r.maxPaths; h = sc.hits[h].next {
		n++
		for st := sc.hits[h].state; ; st = sc.pred[st] {
			if p := st >> 1; !seen[p] {
				seen[p] = true
				names[g.prod[p].node] = g.prod[p].name
			}
			if sc.pred[st] < 0 {
				break
			}
		}
	}
}

// affected is the number of affected organisations.
func (r *impactRun) affected() int { return len(r.sc.order) }

// class is the k-th affected organisation in answer order and its class.
func (r *impactRun) class(k int) (int32, Impact) {
	i := r.sc.order[k]
	return r.sc.orgs[i], [...]Impact{HardDown, Degraded, Exposed}[r.sc.rank[i]]
}

// buildOrg fills a with the k-th affected organisation in answer order,
// its slices carved from al.
func (r *impactRun) buildOrg(k int, a *AffectedOrg, al *orgAlloc) {
	g, sc, maxPaths := r.g, r.sc, r.maxPaths
	o := sc.orgs[sc.order[k]]
	worst := g.classify(sc, o, true)
	on := &g.orgs[o]
	*a = AffectedOrg{ODS: on.code, Name: on.name, Type: string(on.typ), ICB: on.icbCode, Region: on.region_, Population: on.pop, Impact: worst}
	if on.icb >= 0 {
		a.ICBName = g.orgs[on.icb].name
	}
	if on.region >= 0 {
		a.RegionName = g.orgs[on.region].name
	}
	a.ServiceImpacts = al.impacts.take(len(sc.svc))
	a.Services = al.strs.take(len(sc.svc))
	for i, x := range sc.svc {
		a.ServiceImpacts[i] = ServiceImpact{Service: g.services[x.svc], Impact: x.impact(), Fallback: x.fallback}
		a.Services[i] = g.services[x.svc]
	}
	n := min(maxPaths, a.pathsFor(sc, o))
	a.Paths, a.PathDetails = al.paths.take(n)[:0], al.details.take(n)[:0]
	for h := sc.orgFirst[o]; h >= 0; h = sc.hits[h].next {
		x := sc.hits[h]
		d := &g.dep[x.dep]
		si := &a.ServiceImpacts[sc.svcSlot[d.svc]]
		pid := g.prod[d.prod].id
		if len(si.Products) == 0 || si.Products[len(si.Products)-1] != pid {
			si.Products = appendUnique(si.Products, pid)
		}
		a.PathCount++
		if len(a.Paths) < maxPaths {
			a.Paths = append(a.Paths, g.path(sc, r.prefix, x, &al.strs))
			a.PathDetails = append(a.PathDetails, PathDetail{Service: g.services[d.svc], Criticality: Criticalities()[d.crit],
				Fallback: d.fallback, Critical: x.state&1 == 0 && d.stops()})
		}
	}
}

func appendUnique(s []string, x string) []string {
	for _, y := range s {
		if y == x {
			return s
		}
	}
	return append(s, x)
}

// totalsAcc sums affected organisations into ImpactTotals one at a time,
// so totals need neither the built organisations nor their paths.
type totalsAcc struct {
	g        *graph
	t        ImpactTotals
	reg, icb map[string]*GroupTotal
	svc      map[string]*ServiceTotal
	typ      map[string]*TypeTotal
}

func newTotals(g *graph) *totalsAcc {
	return &totalsAcc{g: g, reg: map[string]*GroupTotal{}, icb: map[string]*GroupTotal{},
		svc: map[string]*ServiceTotal{}, typ: map[string]*TypeTotal{}}
}

func (acc *totalsAcc) group(m map[string]*GroupTotal, code string) *GroupTotal {
	x := m[code]
	if x == nil {
		x = &GroupTotal{Code: code}
		if i, ok := acc.g.orgIdx[code]; ok {
			x.Name, x.RegisteredPopulation = acc.g.orgs[i].name, acc.g.orgs[i].pop
		}
		m[code] = x
	}
	return x
}

func countClass(i Impact, hd, dg, ex *int) {
	switch i {
	case HardDown:
		*hd++
	case Degraded:
		*dg++
	default:
		*ex++
	}
}

// add counts organisation on, whose worst class is worst and whose
// affected services are svcs.
func (acc *totalsAcc) add(on *orgNode, worst Impact, svcs []svcAgg) {
	t := &acc.t
	t.Organisations++
	t.Population += on.pop
	countClass(worst, &t.HardDown, &t.Degraded, &t.Exposed)
	for _, x := range [2]*GroupTotal{acc.group(acc.reg, on.region_), acc.group(acc.icb, on.icbCode)} {
		x.Organisations++
		x.Population += on.pop
		countClass(worst, &x.HardDown, &x.Degraded, &x.Exposed)
	}
	for i := range svcs {
		name := acc.g.services[svcs[i].svc]
		x := acc.svc[name]
		if x == nil {
			x = &ServiceTotal{Service: name}
			acc.svc[name] = x
		}
		x.Organisations++
		countClass(svcs[i].impact(), &x.HardDown, &x.Degraded, &x.Exposed)
	}
	typ := string(on.typ)
	y := acc.typ[typ]
	if y == nil {
		y = &TypeTotal{Type: typ}
		acc.typ[typ] = y
	}
	y.Organisations++
	if worst == HardDown {
		y.HardDown++
	}
}

// finish returns the totals, each list sorted by code or name.
func (acc *totalsAcc) finish() ImpactTotals {
	t := acc.t
	t.ByRegion, t.ByICB, t.ByService, t.ByType = []GroupTotal{}, []GroupTotal{}, []ServiceTotal{}, []TypeTotal{}
	for _, x := range acc.reg {
		t.ByRegion = append(t.ByRegion, *x)
	}
	for _, x := range acc.icb {
		t.ByICB = append(t.ByICB, *x)
	}
	for _, x := range acc.svc {
		t.ByService = append(t.ByService, *x)
	}
	for _, x := range acc.typ {
		t.ByType = append(t.ByType, *x)
	}
	sort.Slice(t.ByRegion, func(i, j int) bool { return t.ByRegion[i].Code < t.ByRegion[j].Code })
	sort.Slice(t.ByICB, func(i, j int) bool { return t.ByICB[i].Code < t.ByICB[j].Code })
	sort.Slice(t.ByService, func(i, j int) bool { return t.ByService[i].Service < t.ByService[j].Service })
	sort.Slice(t.ByType, func(i, j int) bool { return t.ByType[i].Type < t.ByType[j].Type })
	return t
}

// ---- reverse: what an organisation depends on ----

// DependsResult answers "what does this organisation depend on, at every depth?".
type DependsResult struct {
	Org        OrgRef `json:"org"`
	Generation int64  `json:"generation"`
	// Products reached from the organisation's deployments, nearest first.
	Products []DependedProduct `json:"products"`
	// Suppliers aggregates Products by top group parent.
	Suppliers []DependedSupplier `json:"suppliers"`
	// Names gives the name of every node of the products' Paths (the
	// organisation and the products), as ImpactResult.Names does.
	Names map[string]string `json:"names"`
}

// OrgRef identifies an organisation in results.
type OrgRef struct {
	ODS    string `json:"ods"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	ICB    string `json:"icb"`
	Region string `json:"region"`
}

// DependedProduct is one product an organisation depends on.
type DependedProduct struct {
	ID           string `json:"product_id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	SupplierID   string `json:"supplier_id"`
	SupplierName string `json:"supplier_name"`
	GroupID      string `json:"group_id"`
	GroupName    string `json:"group_name"`
	// Depth is 0 for products deployed directly, 1 for their dependencies…
	Depth    int      `json:"depth"`
	Services []string `json:"services"`
	// Critical: an all-critical path joins a critical or high deployment to it,
	// so its loss could stop a service.
	Critical bool `json:"critical"`
	// Paths from "org:ODS" to this product, shortest first (at most MaxPathsPerOrg).
	Paths [][]string `json:"paths"`
}

// DependedSupplier is one supplier group an organisation depends on.
type DependedSupplier struct {
	GroupID  string   `json:"group_id"`
	Name     string   `json:"name"`
	Products int      `json:"products"`
	MinDepth int      `json:"min_depth"`
	Services []string `json:"services"`
	Critical bool     `json:"critical"`
}

// DependsOn walks forward from an organisation's deployments through every
// dependency, at every depth. The organisation — its ODS code in any case,
// or its name (Lookup's rule) — must be one the caller may read; a miss is
// a *Miss suggesting only organisations they may read.
func (s *Service) DependsOn(ctx context.Context, sc scope.Scope, ods string) (DependsResult, error) {
	g, err := s.current(ctx)
	if err != nil {
		return DependsResult{}, err
	}
	v := g.viewFor(sc)
	o, err := g.resolve(v, KindOrg, ods)
	if err != nil {
		return DependsResult{}, err
	}
	on := g.orgs[o]
	res := DependsResult{Org: OrgRef{ODS: on.code, Name: on.name, Type: string(on.typ), ICB: on.icbCode, Region: on.region_},
		Generation: g.gen, Products: []DependedProduct{}, Suppliers: []DependedSupplier{}, Names: map[string]string{on.node: on.name}}
	type agg struct {
		i        int // index in res.Products
		services map[string]bool
	}
	byProd := map[int32]*agg{}
	type item struct {
		p    int32
		crit bool
		path []string
	}
	for di := g.orgDepOff[o]; di < g.orgDepOff[o+1]; di++ {
		d := g.dep[g.orgDep[di]]
		if !v.productVisible(g, d.prod) {
			continue
		}
		svc := g.services[d.svc]
		// BFS per deployment, so each product learns every service through it.
		seen := map[int32]uint8{}
		queue := []item{{d.prod, d.stops(), []string{orgNodeName(on.code), productNode(g.prod[d.prod].id)}}}
		seen[d.prod] = 1
		if d.stops() {
			seen[d.prod] = 3
		}
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			a := byProd[it.p]
			if a == nil {
				pn := g.prod[it.p]
				sp := g.sup[pn.supplier]
				res.Products = append(res.Products, DependedProduct{ID: pn.id, Name: pn.name, Kind: string(pn.kind), SupplierID: sp.id,
					SupplierName: sp.name, GroupID: g.sup[sp.root].id, GroupName: g.sup[sp.root].name, Depth: len(it.path) - 2})
				res.Names[pn.node] = pn.name
				a = &agg{i: len(res.Products) - 1, services: map[string]bool{}}
				byProd[it.p] = a
			}
			dp := &res.Products[a.i]
			a.services[svc] = true
			dp.Critical = dp.Critical || it.crit
			if d := len(it.path) - 2; d < dp.Depth {
				dp.Depth = d
			}
			if len(dp.Paths) < s.opts.MaxPathsPerOrg {
				dp.Paths = append(dp.Paths, it.path)
			}
			for _, e := range g.fwd[g.fwdOff[it.p]:g.fwdOff[it.p+1]] {
				if !v.productVisible(g, e.to) {
					continue
				}
				c := it.crit && e.crit
				mark := uint8(1)
				if c {
					mark = 3
				}
				// Revisit a product only to upgrade it to critical.
				if seen[e.to]&mark == mark {
					continue
				}
				seen[e.to] |= mark
				np := append(append(make([]string, 0, len(it.path)+1), it.path...), productNode(g.prod[e.to].id))
				queue = append(queue, item{e.to, c, np})
			}
		}
	}
	groups := map[string]*DependedSupplier{}
	for p, a := range byProd {
		dp := &res.Products[a.i]
		for sv := range a.services {
			dp.Services = append(dp.Services, sv)
		}
		sort.Strings(dp.Services)
		sort.Slice(dp.Paths, func(i, j int) bool { return len(dp.Paths[i]) < len(dp.Paths[j]) })
		root := g.sup[g.sup[g.prod[p].supplier].root]
		x := groups[root.id]
		if x == nil {
			x = &DependedSupplier{GroupID: root.id, Name: root.name, MinDepth: dp.Depth}
			groups[root.id] = x
		}
		x.Products++
		x.MinDepth = min(x.MinDepth, dp.Depth)
		x.Critical = x.Critical || dp.Critical
		for _, sv := range dp.Services {
			x.Services = appendUnique(x.Services, sv)
		}
	}
	sort.Slice(res.Products, func(i, j int) bool {
		a, b := &res.Products[i], &res.Products[j]
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		return a.ID < b.ID
	})
	for _, x := range groups {
		sort.Strings(x.Services)
		res.Suppliers = append(res.Suppliers, *x)
	}
	sort.Slice(res.Suppliers, func(i, j int) bool {
		a, b := &res.Suppliers[i], &res.Suppliers[j]
		if a.MinDepth != b.MinDepth {
			return a.MinDepth < b.MinDepth
		}
		return a.GroupID < b.GroupID
	})
	return res, nil
}

var errNoSupply = errors.New("needs the supply-chain manager role")

// needSupply returns ErrNotFound (never "forbidden") when sc cannot read
// supply-chain reports.
func needSupply(sc scope.Scope, what string) error {
	if !sc.Can(scope.Supply) {
		return fmt.Errorf("%s (%v): %w", what, errNoSupply, fault.ErrNotFound)
	}
	return nil
}
