package supplyviz

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/supply"
)

// Impact classes of graph nodes, as supply.GraphNode.Impact gives them.
const (
	classHardDown   = "hard-down"
	classDegraded   = "degraded"
	classExposed    = "exposed"
	classAffected   = "affected" // a product downstream of the compromise
	classUnaffected = ""
)

// classStyle is how one impact class looks: a pale tint behind the text
// (dark text stays readable on every tint), a strong strip at the left
// edge, and for hard-down a hatch, so that the class never rests on colour
// alone; every node also names its class in words.
type classStyle struct {
	Label       string
	Tint, Strip Color
	Hatch       Color
}

var classStyles = map[string]classStyle{
	classHardDown:   {"Hard-down", Hex("#f9d7d3"), Hex("#d5281b"), Hex("#7a1209")},
	classDegraded:   {"Degraded", Hex("#fde6c8"), Hex("#ed8b00"), None},
	classExposed:    {"Exposed", Hex("#fff6bf"), Hex("#e5c700"), None},
	classAffected:   {"Affected product", Hex("#f3e0ea"), Hex("#7c2855"), None},
	classUnaffected: {"Not affected", Hex("#f0f4f5"), Hex("#aeb7bd"), None},
}

func classRank(c string) int {
	switch c {
	case classHardDown:
		return 0
	case classDegraded:
		return 1
	case classExposed:
		return 2
	case classAffected:
		return 3
	}
	return 4
}

// GraphOptions tune GraphPicture.
type GraphOptions struct {
	// Title heads the picture; a default names the centre.
	Title string
	// Footer is a line at the bottom (source and date, for a board paper).
	Footer string
	// Link, if set, gives the address each node links to in inline SVG
	// (typically the graph recentred on that node).
	Link func(nodeID string) string
	// Group returns the group (ICB) of an organisation node, to aggregate
	// organisations when a column holds more than AggregateOver of them.
	Group func(nodeID string) (code, name string)
	// Caption, if set, gives a node's second line (e.g. "NHS trust · QKK");
	// the default names its kind.
	Caption func(n supply.GraphNode) string
	// AggregateOver is the number of organisations in one column above
	// which they are drawn per group (default 12).
	AggregateOver int
	// MaxPerColumn caps the nodes drawn in one column; the rest become one
	// "N more" node (default 24).
	MaxPerColumn int
}

// Graph picture geometry, in scene units.
const (
	nodeW    = 248.0
	nodeH    = 64.0
	colGap   = 84.0
	rowGap   = 14.0
	margin   = 24.0
	headerH  = 64.0
	stripW   = 8.0
	labelPad = 14.0
)

// vnode is a node as drawn: a graph node, an aggregate of organisations,
// or the "more" node of a column.
type vnode struct {
	id      string
	kind    string // supplier, product, org, group, more
	label   string
	caption string
	impact  string
	count   int // organisations in a group, nodes in a "more"
	rank    int
	center  bool
	link    string
	x, y    float64
	order   float64
	members []string
	classes map[string]int // organisations per impact class, for groups
}

type vedge struct {
	from, to string // impact flow: from what is depended on to what depends on it
	critical bool
	kind     string
	n        int
	services []string
}

// flow returns an edge's direction of impact: a product's compromise
// reaches what depends on it and the organisations that deploy it; a
// supplier's reaches its products and a group parent's its subsidiaries.
func flow(e supply.GraphEdge) (src, dst string) {
	switch e.Kind {
	case "owns", "parent":
		return e.From, e.To
	default: // deployment (org → product) and dependencies (A depends on B)
		return e.To, e.From
	}
}

// GraphPicture lays out a neighbourhood of the dependency graph in columns,
// with impact flowing left to right: what the centre depends on to its
// left, what depends on it and the organisations using it to its right.
// Nodes are coloured (and labelled) by impact class; critical edges are
// solid and the others dashed; large sets of organisations are aggregated
// by ICB. An empty graph gives a picture that says so.
func GraphPicture(g supply.Graph, o GraphOptions) *Scene {
	if o.AggregateOver <= 0 {
		o.AggregateOver = 12
	}
	if o.MaxPerColumn <= 0 {
		o.MaxPerColumn = 24
	}
	byID := map[string]supply.GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	title := o.Title
	if title == "" {
		title = "Dependency graph around " + nodeName(byID, g.Center)
	}
	// Rank: breadth first from the centre, +1 along the flow, -1 against it.
	adj := map[string][]supply.GraphEdge{}
	for _, e := range g.Edges {
		if _, ok := byID[e.From]; !ok {
			continue
		}
		if _, ok := byID[e.To]; !ok {
			continue
		}
		adj[e.From] = append(adj[e.From], e)
		adj[e.To] = append(adj[e.To], e)
	}
	rank := map[string]int{}
	if _, ok := byID[g.Center]; ok {
		rank[g.Center] = 0
		queue := []string{g.Center}
		for h := 0; h < len(queue); h++ {
			cur := queue[h]
			for _, e := range adj[cur] {
				src, dst := flow(e)
				next, d := dst, 1
				if dst == cur {
					next, d = src, -1
				}
				if _, seen := rank[next]; !seen {
					rank[next] = rank[cur] + d
					queue = append(queue, next)
				}
			}
		}
	}
	// Nodes not connected to the centre (none from Neighbourhood) go right.
	maxRank := 0
	for _, r := range rank {
		maxRank = max(maxRank, r)
	}
	var vnodes []*vnode
	vby := map[string]*vnode{}
	for _, n := range g.Nodes {
		r, ok := rank[n.ID]
		if !ok {
			r = maxRank + 1
		}
		v := &vnode{id: n.ID, kind: n.Kind, label: n.Label, impact: n.Impact, rank: r, center: n.ID == g.Center}
		if o.Caption != nil {
			v.caption = o.Caption(n)
		}
		vnodes = append(vnodes, v)
		vby[n.ID] = v
	}
	var vedges []*vedge
	for _, e := range g.Edges {
		if vby[e.From] == nil || vby[e.To] == nil {
			continue
		}
		src, dst := flow(e)
		ve := &vedge{from: src, to: dst, critical: e.Critical, kind: e.Kind, n: 1}
		if e.Service != "" {
			ve.services = []string{e.Service}
		}
		vedges = append(vedges, ve)
	}

	// Columns.
	cols := map[int][]*vnode{}
	for _, v := range vnodes {
		cols[v.rank] = append(cols[v.rank], v)
	}
	alias := map[string]string{} // node → the aggregate that replaced it
	var ranks []int
	for r := range cols {
		ranks = append(ranks, r)
	}
	sort.Ints(ranks)
	for _, r := range ranks {
		col := cols[r]
		// Aggregate organisations by group when there are many.
		var orgs []*vnode
		for _, v := range col {
			if v.kind == "org" && !v.center {
				orgs = append(orgs, v)
			}
		}
		if len(orgs) > o.AggregateOver && o.Group != nil {
			groups := map[string]*vnode{}
			keep := col[:0:0]
			for _, v := range col {
				if v.kind != "org" || v.center {
					keep = append(keep, v)
				}
			}
			for _, v := range orgs {
				code, name := o.Group(v.id)
				if code == "" {
					code, name = "?", "Organisations with no ICB recorded"
				}
				gid := "group:" + code
				gv := groups[gid]
				if gv == nil {
					gv = &vnode{id: gid, kind: "group", label: name, impact: classUnaffected, rank: r}
					groups[gid] = gv
					keep = append(keep, gv)
				}
				gv.count++
				gv.members = append(gv.members, v.id)
				if gv.classes == nil {
					gv.classes = map[string]int{}
				}
				gv.classes[v.impact]++
				if classRank(v.impact) < classRank(gv.impact) {
					gv.impact = v.impact
				}
				alias[v.id] = gid
				vby[gid] = gv
			}
			col = keep
		}
		// Cap the column.
		if len(col) > o.MaxPerColumn {
			sort.SliceStable(col, func(i, j int) bool { return nodeLess(col[i], col[j]) })
			more := &vnode{id: "more:" + strconv.Itoa(r), kind: "more", impact: classUnaffected, rank: r}
			for _, v := range col[o.MaxPerColumn-1:] {
				more.count++
				more.members = append(more.members, v.id)
				alias[v.id] = more.id
				for _, m := range v.members {
					alias[m] = more.id
				}
			}
			col = append(col[:o.MaxPerColumn-1:o.MaxPerColumn-1], more)
			vby[more.id] = more
		}
		cols[r] = col
	}
	resolve := func(id string) string {
		for i := 0; i < 3; i++ {
			a, ok := alias[id]
			if !ok {
				break
			}
			id = a
		}
		return id
	}
	// Merge edges that now join the same pair of drawn nodes.
	merged := map[[2]string]*vedge{}
	var edges []*vedge
	for _, e := range vedges {
		f, t := resolve(e.from), resolve(e.to)
		if f == t {
			continue
		}
		k := [2]string{f, t}
		if m := merged[k]; m != nil {
			m.n++
			m.critical = m.critical || e.critical
			for _, s := range e.services {
				m.services = appendOnce(m.services, s)
			}
			continue
		}
		ne := &vedge{from: f, to: t, critical: e.critical, kind: e.kind, n: 1, services: append([]string(nil), e.services...)}
		merged[k] = ne
		edges = append(edges, ne)
	}

	// Order within columns: by impact and name, then a few barycentre
	// sweeps to shorten edges and reduce crossings.
	for _, r := range ranks {
		col := cols[r]
		sort.SliceStable(col, func(i, j int) bool { return nodeLess(col[i], col[j]) })
		for i, v := range col {
			v.order = float64(i)
		}
	}
	nbrs := map[string][]string{}
	for _, e := range edges {
		nbrs[e.from] = append(nbrs[e.from], e.to)
		nbrs[e.to] = append(nbrs[e.to], e.from)
	}
	for sweep := 0; sweep < 6; sweep++ {
		seq := ranks
		if sweep%2 == 1 {
			seq = make([]int, len(ranks))
			for i, r := range ranks {
				seq[len(ranks)-1-i] = r
			}
		}
		for _, r := range seq {
			col := cols[r]
			bary := make(map[*vnode]float64, len(col))
			for _, v := range col {
				sum, n := 0.0, 0
				for _, m := range nbrs[v.id] {
					if w := vby[m]; w != nil && w.rank != r {
						sum += w.order / math.Max(1, float64(len(cols[w.rank])))
						n++
					}
				}
				if n > 0 {
					bary[v] = sum / float64(n)
				} else {
					bary[v] = v.order / math.Max(1, float64(len(col)))
				}
			}
			sort.SliceStable(col, func(i, j int) bool { return bary[col[i]] < bary[col[j]] })
			for i, v := range col {
				v.order = float64(i)
			}
		}
	}

	// Geometry.
	tallest := 1
	for _, r := range ranks {
		tallest = max(tallest, len(cols[r]))
	}
	bodyH := float64(tallest)*(nodeH+rowGap) - rowGap
	width := 2*margin + float64(max(1, len(ranks)))*(nodeW+colGap) - colGap
	width = math.Max(width, 800) // the key needs this much
	for ci, r := range ranks {
		col := cols[r]
		h := float64(len(col))*(nodeH+rowGap) - rowGap
		x := margin + float64(ci)*(nodeW+colGap)
		y0 := headerH + (bodyH-h)/2
		for i, v := range col {
			v.x, v.y = x, y0+float64(i)*(nodeH+rowGap)
		}
	}
	// Centre the columns when the picture is wider than they need.
	if need := 2*margin + float64(len(ranks))*(nodeW+colGap) - colGap; need < width {
		for _, r := range ranks {
			for _, v := range cols[r] {
				v.x += (width - need) / 2
			}
		}
	}
	legendY := headerH + bodyH + 28
	height := legendY + 88
	if o.Footer != "" {
		height += 18
	}

	s := &Scene{Width: width, Height: height, Background: white, Title: title}
	s.Desc = graphDesc(g, byID, cols, ranks)
	s.Add(&Text{X: margin, Y: 30, S: fit(title, 18, true, width-2*margin), Size: 18, Bold: true, Color: ink})
	sub := fmt.Sprintf("%d nodes within %d steps", len(g.Nodes), g.Depth)
	if g.Truncated {
		sub += " (truncated: the neighbourhood is larger than can be drawn)"
	}
	s.Add(&Text{X: margin, Y: 50, S: sub + " · impact flows left to right", Size: 12.5, Color: ink2})

	if len(g.Nodes) == 0 {
		s.Add(&Text{X: width / 2, Y: headerH + 20, S: "Nothing to draw: no nodes in this neighbourhood.", Size: 14, Anchor: Middle, Color: ink2})
	}
	// Edges under nodes.
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].critical != edges[j].critical {
			return !edges[i].critical // critical on top
		}
		return false
	})
	for _, e := range edges {
		a, b := vby[e.from], vby[e.to]
		if a == nil || b == nil {
			continue
		}
		s.Add(edgeShape(a, b, e))
	}
	for _, r := range ranks {
		for _, v := range cols[r] {
			if o.Link != nil && (v.kind == "supplier" || v.kind == "product" || v.kind == "org") {
				v.link = o.Link(v.id)
			}
			s.Add(nodeShape(v, byID))
		}
	}
	graphLegend(s, legendY)
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: height - 12, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	return s
}

func appendOnce(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

func nodeLess(a, b *vnode) bool {
	if a.center != b.center {
		return a.center
	}
	if a.kind == "more" || b.kind == "more" {
		return b.kind == "more" && a.kind != "more"
	}
	if ra, rb := classRank(a.impact), classRank(b.impact); ra != rb {
		return ra < rb
	}
	if a.kind != b.kind {
		return kindOrder(a.kind) < kindOrder(b.kind)
	}
	if a.label != b.label {
		return a.label < b.label
	}
	return a.id < b.id
}

func kindOrder(k string) int {
	switch k {
	case "supplier":
		return 0
	case "product":
		return 1
	case "group":
		return 2
	case "org":
		return 3
	}
	return 4
}

func nodeName(by map[string]supply.GraphNode, id string) string {
	if n, ok := by[id]; ok && n.Label != "" {
		return n.Label
	}
	_, x, _ := strings.Cut(id, ":")
	return x
}

var kindLabels = map[string]string{"supplier": "Supplier", "product": "Product", "org": "Organisation", "group": "ICB", "more": ""}

func (v *vnode) captionText() string {
	cap := v.caption
	switch {
	case v.kind == "group":
		cap = fmt.Sprintf("%d organisations", v.count)
		var parts []string
		for _, c := range []string{classHardDown, classDegraded, classExposed} {
			if n := v.classes[c]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(classStyles[c].Label)))
			}
		}
		if len(parts) > 0 {
			return cap + ": " + strings.Join(parts, ", ")
		}
		return cap
	case v.kind == "more":
		return ""
	case cap == "":
		cap = kindLabels[v.kind]
	}
	if v.center {
		cap = "Centre · " + cap
	}
	if v.impact != classUnaffected {
		cap += " · " + classStyles[v.impact].Label
	}
	return cap
}

func nodeShape(v *vnode, by map[string]supply.GraphNode) *Group {
	st := classStyles[v.impact]
	grp := &Group{Link: v.link, Attrs: []Attr{{"class", "vz-node"}, {"data-node", v.id}}}
	if v.kind == "more" {
		label := fmt.Sprintf("%d more not drawn", v.count)
		grp.Title = label + " (see the table below the picture)"
		grp.Items = append(grp.Items,
			&Rect{X: v.x, Y: v.y, W: nodeW, H: nodeH, Radius: 4, Paint: Paint{Fill: white, Stroke: ruleDark, Width: 1.2, Dash: []float64{4, 3}}},
			&Text{X: v.x + nodeW/2, Y: v.y + nodeH/2 + 5, S: label, Size: 13, Anchor: Middle, Color: ink2})
		return grp
	}
	radius := 4.0
	switch v.kind {
	case "org", "group":
		radius = 12
	case "supplier":
		radius = 0
	}
	border, bw := ruleDark, 1.0
	if v.center {
		border, bw = darkBlue, 3
	}
	if v.kind == "group" {
		// A stacked look: a second card behind the first.
		grp.Items = append(grp.Items, &Rect{X: v.x + 4, Y: v.y - 4, W: nodeW, H: nodeH, Radius: radius, Paint: Paint{Fill: st.Tint, Stroke: ruleDark, Width: 1}})
	}
	grp.Items = append(grp.Items,
		&Rect{X: v.x, Y: v.y, W: nodeW, H: nodeH, Radius: radius, Paint: Paint{Fill: st.Tint}},
		&Rect{X: v.x, Y: v.y, W: stripW, H: nodeH, Paint: Paint{Fill: st.Strip, Hatch: st.Hatch}},
		&Rect{X: v.x, Y: v.y, W: nodeW, H: nodeH, Radius: radius, Paint: Paint{Stroke: border, Width: bw}},
	)
	tw := nodeW - stripW - labelPad - 8
	tx := v.x + stripW + labelPad/2 + 2
	// Names of NHS bodies are long: up to two lines, then the caption.
	lines := wrap(v.label, 13.5, true, tw, 2)
	ty := v.y + 26
	if len(lines) == 2 {
		ty = v.y + 20
	}
	for _, l := range lines {
		grp.Items = append(grp.Items, &Text{X: tx, Y: ty, S: l, Size: 13.5, Bold: true, Color: ink})
		ty += 16
	}
	grp.Items = append(grp.Items, &Text{X: tx, Y: ty + 3, S: fit(v.captionText(), 11.5, false, tw), Size: 11.5, Color: ink2})
	tip := v.label
	if _, x, ok := strings.Cut(v.id, ":"); ok && v.kind != "group" {
		tip += " (" + x + ")"
	}
	if c := v.captionText(); c != "" {
		tip += " — " + c
	}
	if v.kind == "group" && len(v.members) > 0 {
		names := make([]string, 0, len(v.members))
		for _, m := range v.members {
			names = append(names, nodeName(by, m))
		}
		sort.Strings(names)
		if len(names) > 12 {
			names = append(names[:12], fmt.Sprintf("and %d more", len(names)-12))
		}
		tip += ": " + strings.Join(names, ", ")
	}
	grp.Title = tip
	return grp
}

func edgeShape(a, b *vnode, e *vedge) *Group {
	col := ink2
	w := 1.4
	if e.critical {
		col, w = ink, 1.8
	}
	var dash []float64
	if !e.critical {
		dash = []float64{6, 4}
	}
	p := &Path{Paint: Paint{Stroke: col, Width: w, Dash: dash}}
	var tip Point // arrow tip
	var dir float64
	switch {
	case b.x > a.x+1: // left to right
		x1, y1 := a.x+nodeW, a.y+nodeH/2
		x2, y2 := b.x-2, b.y+nodeH/2
		dx := (x2 - x1) / 2
		p.MoveTo(x1, y1)
		p.CubicTo(x1+dx, y1, x2-dx, y2, x2, y2)
		tip, dir = Point{x2, y2}, 0
	case b.x < a.x-1: // right to left (against the usual flow)
		x1, y1 := a.x, a.y+nodeH/2
		x2, y2 := b.x+nodeW+2, b.y+nodeH/2
		dx := (x1 - x2) / 2
		p.MoveTo(x1, y1)
		p.CubicTo(x1-dx, y1, x2+dx, y2, x2, y2)
		tip, dir = Point{x2, y2}, math.Pi
	default: // same column: a loop out to the right
		x1, y1 := a.x+nodeW, a.y+nodeH/2
		x2, y2 := b.x+nodeW+2, b.y+nodeH/2
		bulge := 40 + math.Abs(y2-y1)/6
		p.MoveTo(x1, y1)
		p.CubicTo(x1+bulge, y1, x2+bulge, y2, x2, y2)
		tip, dir = Point{x2, y2}, math.Pi
	}
	// Arrow head.
	const al, aw = 9.0, 4.5
	head := &Path{Paint: Paint{Fill: col}}
	cx, cy := math.Cos(dir), math.Sin(dir)
	head.MoveTo(tip.X, tip.Y)
	head.LineTo(tip.X-al*cx-aw*cy, tip.Y-al*cy+aw*cx)
	head.LineTo(tip.X-al*cx+aw*cy, tip.Y-al*cy-aw*cx)
	head.Close()
	desc := "critical"
	if !e.critical {
		desc = "not critical"
	}
	var what string
	switch e.kind {
	case "owns":
		what = "supplies"
	case "parent":
		what = "group parent of"
	case "deployment":
		what = "used by"
	default:
		what = "needed by (" + e.kind + ")"
	}
	t := fmt.Sprintf("%s %s %s, %s", a.label, what, b.label, desc)
	if len(e.services) > 0 {
		sort.Strings(e.services)
		t += " — services: " + strings.Join(e.services, ", ")
	}
	if e.n > 1 {
		t += fmt.Sprintf(" (%d links)", e.n)
	}
	return &Group{Title: t, Attrs: []Attr{{"class", "vz-edge"}, {"data-from", a.id}, {"data-to", b.id}}, Items: []Shape{p, head}}
}

func graphLegend(s *Scene, y float64) {
	x := margin
	s.Add(&Text{X: x, Y: y, S: "Key", Size: 13, Bold: true, Color: ink})
	y += 14
	for _, c := range []string{classHardDown, classDegraded, classExposed, classAffected, classUnaffected} {
		st := classStyles[c]
		s.Add(&Rect{X: x, Y: y, W: 22, H: 14, Paint: Paint{Fill: st.Tint, Stroke: ruleDark, Width: 1}},
			&Rect{X: x, Y: y, W: 6, H: 14, Paint: Paint{Fill: st.Strip, Hatch: st.Hatch}})
		s.Add(&Text{X: x + 28, Y: y + 11.5, S: st.Label, Size: 12.5, Color: ink})
		x += 28 + textWidth(st.Label, 12.5, false) + 22
	}
	x = margin
	y += 30
	line := func(label string, dash []float64, c Color, w float64) {
		p := &Path{Paint: Paint{Stroke: c, Width: w, Dash: dash}}
		p.MoveTo(x, y-4)
		p.LineTo(x+34, y-4)
		head := &Path{Paint: Paint{Fill: c}}
		head.MoveTo(x+40, y-4)
		head.LineTo(x+31, y-8.5)
		head.LineTo(x+31, y+0.5)
		head.Close()
		s.Add(p, head, &Text{X: x + 48, Y: y, S: label, Size: 12.5, Color: ink})
		x += 48 + textWidth(label, 12.5, false) + 26
	}
	line("Critical dependency", nil, ink, 1.8)
	line("Not critical", []float64{6, 4}, ink2, 1.4)
	s.Add(&Text{X: margin, Y: y + 22, S: "Arrows point the way a compromise spreads. Thick blue border: the centre of the picture.", Size: 12.5, Color: ink2})
}

func graphDesc(g supply.Graph, by map[string]supply.GraphNode, cols map[int][]*vnode, ranks []int) string {
	if len(g.Nodes) == 0 {
		return "An empty dependency graph."
	}
	counts := map[string]int{}
	for _, n := range g.Nodes {
		counts[n.Impact]++
	}
	var parts []string
	for _, c := range []string{classHardDown, classDegraded, classExposed, classAffected} {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c], strings.ToLower(classStyles[c].Label)))
		}
	}
	d := fmt.Sprintf("Dependency graph around %s: %d nodes and %d links in %d columns.", nodeName(by, g.Center), len(g.Nodes), len(g.Edges), len(ranks))
	if len(parts) > 0 {
		d += " Impact if it is compromised: " + strings.Join(parts, ", ") + "."
	}
	return d
}
