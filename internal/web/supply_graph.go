package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// ---- graph ----

type graphData struct {
	Node   string
	Depth  int
	Depths []int
	// Problem is what the centre field lacks, or what it may have meant.
	Problem problemView
	Graph   *supply.Graph
	SVG     any    // template.HTML of the inline picture
	Size    string // graph-s…graph-xl: how far the picture may shrink
	Rows    []graphRow
	// Queries built by url.Values.Encode, so safe to put in a URL as is.
	Query     template.URL
	LessQuery template.URL
	MoreQuery template.URL
	Impact    bool
	// Choices are the centre field's suggestions, as supplier:ID,
	// product:ID and org:ODS.
	Choices []supply.Match
	// ImpactQuery asks the blast radius of the centre (supplier or product).
	ImpactQuery template.URL
}

type graphRow struct {
	supply.GraphNode
	Page   string
	Centre string
	Class  string
}

func readGraphQuery(v url.Values) (string, int) {
	node := strings.TrimSpace(v.Get("node"))
	if len(node) > 140 {
		node = node[:140]
	}
	if k, x, ok := strings.Cut(node, ":"); ok && k == "org" {
		node = k + ":" + strings.ToUpper(x)
	}
	depth, err := strconv.Atoi(v.Get("depth"))
	if err != nil || depth < 1 {
		depth = 2
	}
	return node, min(depth, 6)
}

func graphQuery(node string, depth int) string {
	return url.Values{"node": {node}, "depth": {strconv.Itoa(depth)}}.Encode()
}

func (w *Web) supplyGraph(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	ctx := r.Context()
	node, depth := readGraphQuery(r.URL.Query())
	d := graphData{Node: node, Depth: depth, Depths: []int{1, 2, 3, 4, 5, 6}}
	status := http.StatusOK
	if node != "" {
		g, err := w.o.Supply.Neighbourhood(ctx, sc, node, depth)
		var ve *fault.Invalid
		switch {
		case errors.As(err, &ve) && ve.Field == "node":
			d.Problem.Error, status = "Give the centre as supplier:ID, product:ID or org:ODS code.", http.StatusUnprocessableEntity
		case err != nil:
			p, ok := w.formProblem(ctx, sc, err, func(m supply.Match) string { return "/suppliers/graph?" + graphQuery(string(m.Kind)+":"+m.ID, depth) })
			if !ok {
				w.fail(rw, r, sc, err)
				return
			}
			// The form again, saying what the centre may have meant. A
			// centre that names nothing the caller may see keeps its
			// status, 404, as the address of anything else not found.
			d.Problem, status = p, fault.Status(err)
			if status == http.StatusBadRequest {
				status = http.StatusUnprocessableEntity
			}
		default:
			// Links follow the centre as the register names it.
			node = g.Center
			d.Node = node
			d.Graph = &g
			s := w.graphScene(ctx, sc, g, true)
			html, err := inlineSVG(s, "vzg-")
			if err != nil {
				w.fail(rw, r, sc, err)
				return
			}
			d.SVG = html
			switch {
			case s.Width > 1800:
				d.Size = "graph-xl"
			case s.Width > 1400:
				d.Size = "graph-l"
			case s.Width > 1000:
				d.Size = "graph-m"
			default:
				d.Size = "graph-s"
			}
			d.Query = template.URL(graphQuery(node, depth))
			d.LessQuery = template.URL(graphQuery(node, max(1, depth-1)))
			d.MoreQuery = template.URL(graphQuery(node, min(6, depth+1)))
			k, x, _ := strings.Cut(g.Center, ":")
			d.Impact = k == "supplier" || k == "product"
			if d.Impact {
				d.ImpactQuery = template.URL(url.Values{k: {x}}.Encode())
			}
			for _, n := range g.Nodes {
				row := graphRow{GraphNode: n, Centre: "/suppliers/graph?" + graphQuery(n.ID, depth), Class: n.Impact}
				kind, x, _ := strings.Cut(n.ID, ":")
				switch kind {
				case "supplier":
					row.Page = "/suppliers/s/" + url.PathEscape(x)
				case "product":
					row.Page = "/suppliers/p/" + url.PathEscape(x)
				case "org":
					row.Page = "/orgs/" + url.PathEscape(x)
				}
				d.Rows = append(d.Rows, row)
			}
			sort.SliceStable(d.Rows, func(i, j int) bool {
				if d.Rows[i].ID == g.Center || d.Rows[j].ID == g.Center {
					return d.Rows[i].ID == g.Center
				}
				return impactOrder(d.Rows[i].Impact) < impactOrder(d.Rows[j].Impact)
			})
		}
	}
	d.Choices = w.nodeChoices(ctx, sc, node)
	v := w.page(r, sc, "Dependency graph", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_graph", v)
}

func impactOrder(c string) int {
	switch c {
	case "hard-down":
		return 0
	case "degraded":
		return 1
	case "exposed":
		return 2
	case "affected":
		return 3
	}
	return 4
}

// nodeChoices suggests centres for the graph: of the kind typed before
// the colon, matching what follows it, or else the most used suppliers,
// products and (for those who read any) organisations.
func (w *Web) nodeChoices(ctx context.Context, sc scope.Scope, node string) []supply.Match {
	kind, text, ok := strings.Cut(node, ":")
	kinds := []supply.Kind{supply.KindSupplier, supply.KindProduct, supply.KindOrg}
	if k := supply.Kind(strings.ToLower(strings.TrimSpace(kind))); ok && (k == supply.KindSupplier || k == supply.KindProduct || k == supply.KindOrg) {
		kinds = []supply.Kind{k}
	} else {
		text = ""
	}
	var out []supply.Match
	for _, k := range kinds {
		ms := w.choices(ctx, sc, k, text)
		if len(kinds) > 1 {
			ms = ms[:min(len(ms), 20)]
		}
		for _, m := range ms {
			m.ID = string(k) + ":" + m.ID
			out = append(out, m)
		}
	}
	return out
}
