package supply

import (
	"context"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// Graph is a neighbourhood of the dependency graph, for pictures.
type Graph struct {
	Center     string      `json:"center"`
	Depth      int         `json:"depth"`
	Generation int64       `json:"generation"`
	Nodes      []GraphNode `json:"nodes"`
	Edges      []GraphEdge `json:"edges"`
	// Truncated is true when MaxNeighbourhood nodes were reached.
	Truncated bool `json:"truncated"`
}

// GraphNode is a supplier, product or organisation.
type GraphNode struct {
	ID    string `json:"id"` // "supplier:X", "product:Y", "org:Z"
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// Impact colours the node when the centre is a supplier or product:
	// the class an organisation would suffer if the centre were
	// compromised, or "affected" for a product downstream of it.
	Impact string `json:"impact,omitempty"`
}

// GraphEdge is a dependency ("product A depends on B"), a deployment
// ("org uses product for service") or ownership ("supplier owns product",
// "group parent of supplier").
type GraphEdge struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Kind     string `json:"kind"` // dependency kind, "deployment", "owns", "parent"
	Critical bool   `json:"critical"`
	Service  string `json:"service,omitempty"`
}

// MaxNeighbourhood bounds the nodes of one Neighbourhood answer.
const MaxNeighbourhood = 2000

// Neighbourhood returns the nodes within depth hops of nodeID ("supplier:X",
// "product:Y" or "org:Z"; depth 1–6), in both directions, limited to what
// the caller may see.
func (s *Service) Neighbourhood(ctx context.Context, sc scope.Scope, nodeID string, depth int) (Graph, error) {
	g, err := s.current(ctx)
	if err != nil {
		return Graph{}, err
	}
	if depth < 1 {
		depth = 1
	}
	if depth > 6 {
		depth = 6
	}
	v := g.viewFor(sc)
	kind, id, _ := strings.Cut(strings.TrimSpace(nodeID), ":")
	var k Kind
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "supplier":
		k = KindSupplier
	case "product":
		k = KindProduct
	case "org":
		k = KindOrg
	default:
		return Graph{}, fault.Invalidf("node", "want supplier:ID, product:ID or org:ODS")
	}
	// The centre by Lookup's rule: an ID in any case, or a name.
	i, err := g.resolve(v, k, id)
	if err != nil {
		return Graph{}, err
	}
	switch k {
	case KindSupplier:
		nodeID = supplierNode(g.sup[i].id)
	case KindProduct:
		nodeID = g.prod[i].node
	default:
		nodeID = g.orgs[i].node
	}
	out := Graph{Center: nodeID, Depth: depth, Generation: g.gen, Nodes: []GraphNode{}, Edges: []GraphEdge{}}
	seen := map[string]int{} // node → index in out.Nodes
	edges := map[GraphEdge]bool{}
	type item struct {
		id string
		d  int
	}
	var queue []item
	addNode := func(n string, d int) bool {
		if _, ok := seen[n]; ok {
			return true
		}
		if len(out.Nodes) >= MaxNeighbourhood {
			out.Truncated = true
			return false
		}
		k, x, _ := strings.Cut(n, ":")
		label := x
		switch k {
		case "supplier":
			label = g.sup[g.supIdx[x]].name
		case "product":
			label = g.prod[g.prodIdx[x]].name
		case "org":
			label = g.orgs[g.orgIdx[x]].name
		}
		seen[n] = len(out.Nodes)
		out.Nodes = append(out.Nodes, GraphNode{ID: n, Kind: k, Label: label})
		queue = append(queue, item{n, d})
		return true
	}
	addEdge := func(e GraphEdge, other string, d int) {
		if addNode(other, d) && !edges[e] {
			edges[e] = true
			out.Edges = append(out.Edges, e)
		}
	}
	addNode(nodeID, 0)
	for h := 0; h < len(queue); h++ {
		it := queue[h]
		if it.d >= depth {
			continue
		}
		nd := it.d + 1
		k, x, _ := strings.Cut(it.id, ":")
		switch k {
		case "supplier":
			i := g.supIdx[x]
			for _, p := range g.supProd[g.supProdOff[i]:g.supProdOff[i+1]] {
				addEdge(GraphEdge{From: it.id, To: productNode(g.prod[p].id), Kind: "owns", Critical: true}, productNode(g.prod[p].id), nd)
			}
			if par := g.sup[i].parent; par >= 0 && v.supplierVisible(par) {
				n := supplierNode(g.sup[par].id)
				addEdge(GraphEdge{From: n, To: it.id, Kind: "parent", Critical: true}, n, nd)
			}
			for _, c := range g.supKid[g.supKidOff[i]:g.supKidOff[i+1]] {
				n := supplierNode(g.sup[c].id)
				addEdge(GraphEdge{From: it.id, To: n, Kind: "parent", Critical: true}, n, nd)
			}
		case "product":
			p := g.prodIdx[x]
			sn := supplierNode(g.sup[g.prod[p].supplier].id)
			addEdge(GraphEdge{From: sn, To: it.id, Kind: "owns", Critical: true}, sn, nd)
			for _, e := range g.fwd[g.fwdOff[p]:g.fwdOff[p+1]] {
				if v.productVisible(g, e.to) {
					n := productNode(g.prod[e.to].id)
					addEdge(GraphEdge{From: it.id, To: n, Kind: string(DependencyKinds()[e.kind]), Critical: e.crit}, n, nd)
				}
			}
			for _, e := range g.rev[g.revOff[p]:g.revOff[p+1]] {
				if v.productVisible(g, e.to) {
					n := productNode(g.prod[e.to].id)
					addEdge(GraphEdge{From: n, To: it.id, Kind: string(DependencyKinds()[e.kind]), Critical: e.crit}, n, nd)
				}
			}
			for d := g.prodDepOff[p]; d < g.prodDepOff[p+1]; d++ {
				dp := &g.dep[d]
				if g.orgs[dp.org].closed || !sc.CanAt(scope.Read, g.orgs[dp.org].path) {
					continue
				}
				n := orgNodeName(g.orgs[dp.org].code)
				addEdge(GraphEdge{From: n, To: it.id, Kind: "deployment", Critical: dp.stops(), Service: g.services[dp.svc]}, n, nd)
			}
		case "org":
			o := g.orgIdx[x]
			for _, di := range g.orgDep[g.orgDepOff[o]:g.orgDepOff[o+1]] {
				dp := &g.dep[di]
				if !v.productVisible(g, dp.prod) {
					continue
				}
				n := productNode(g.prod[dp.prod].id)
				addEdge(GraphEdge{From: it.id, To: n, Kind: "deployment", Critical: dp.stops(), Service: g.services[dp.svc]}, n, nd)
			}
		}
	}
	// Colour by impact when the centre can be compromised.
	if kind == "supplier" || kind == "product" {
		q := Query{Supplier: id}
		if kind == "product" {
			q = Query{Product: id}
		}
		// Classes only: the walk's ranks, no paths or results built.
		if r, err := g.runImpact(s, sc, q, 0); err == nil {
			for k := range r.affected() {
				o, class := r.class(k)
				if i, ok := seen[g.orgs[o].node]; ok {
					out.Nodes[i].Impact = string(class)
				}
			}
			r.products(func(p *AffectedProduct) bool {
				if i, ok := seen[productNode(p.ID)]; ok {
					out.Nodes[i].Impact = "affected"
				}
				return true
			})
			r.close()
		}
	}
	sort.Slice(out.Edges, func(i, j int) bool {
		a, b := &out.Edges[i], &out.Edges[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Service < b.Service
	})
	return out, nil
}
