package supplyviz

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/supply"
)

// ChartOptions describe a concentration chart.
type ChartOptions struct {
	Title, Subtitle, Footer string
	// MaxRows caps the groups drawn (default 50); the rest are counted.
	MaxRows int
	// Names maps supplier IDs to names, for charts whose input carries
	// only IDs (TrendChart).
	Names map[string]string
}

// Okabe–Ito colours: distinguishable with the common colour-vision
// deficiencies. The eighth slot is for "other suppliers".
var supplierColours = []Color{Hex("#0072b2"), Hex("#e69f00"), Hex("#009e73"), Hex("#cc79a7"), Hex("#56b4e9"), Hex("#d55e00"), Hex("#f0e442")}

var otherColour = Hex("#bab0ac")

// textOn picks black or white text for a fill, by relative luminance.
func textOn(c Color) Color {
	lum := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	l := 0.2126*lum(c.R) + 0.7152*lum(c.G) + 0.0722*lum(c.B)
	if (l+0.05)/0.05 >= (1.05)/(l+0.05) {
		return ink
	}
	return white
}

const (
	chartLabelW = 250.0
	chartBarW   = 420.0
	chartValW   = 96.0
	barH        = 18.0
	barGap      = 8.0
)

func groupLabel(g supply.ConcentrationGroup) string {
	n := shortArea(g.Name)
	if g.Code != "" && g.Code != n {
		n += " " + g.Code
	}
	return n
}

// rows orders groups most concentrated first and caps them.
func chartRows(res supply.ConcentrationResult, maxRows int) ([]supply.ConcentrationGroup, int) {
	if maxRows <= 0 {
		maxRows = 50
	}
	gs := append([]supply.ConcentrationGroup(nil), res.Groups...)
	sort.SliceStable(gs, func(i, j int) bool {
		if gs[i].HHI != gs[j].HHI {
			return gs[i].HHI > gs[j].HHI
		}
		return gs[i].Code < gs[j].Code
	})
	if len(gs) > maxRows {
		return gs[:maxRows], len(gs) - maxRows
	}
	return gs, 0
}

func chartHeader(s *Scene, title, subtitle string) float64 {
	s.Add(&Text{X: margin, Y: 30, S: fit(title, 18, true, s.Width-2*margin), Size: 18, Bold: true, Color: ink})
	if subtitle != "" {
		s.Add(&Text{X: margin, Y: 50, S: fit(subtitle, 12, false, s.Width-2*margin), Size: 12, Color: ink2})
	}
	return headerH
}

// SharesChart draws each group's market shares as one horizontal stacked
// bar (suppliers in a fixed colour each, the largest seven named, the rest
// as "other suppliers"), most concentrated group first, with its HHI.
func SharesChart(res supply.ConcentrationResult, o ChartOptions) *Scene {
	rows, rest := chartRows(res, o.MaxRows)
	// The suppliers with the most organisations overall get colours.
	colour, ids, names := shareColours(res)
	width := margin + chartLabelW + chartBarW + chartValW + margin
	// Legend lines first, to know the height.
	type key struct {
		label string
		c     Color
	}
	var keys []key
	for i, id := range ids {
		if i == len(supplierColours) {
			keys = append(keys, key{fmt.Sprintf("%d other suppliers", len(ids)-i), otherColour})
			break
		}
		keys = append(keys, key{names[id], colour[id]})
	}
	legendRows := 0
	{
		x := 0.0
		if len(keys) > 0 {
			legendRows = 1
		}
		for _, k := range keys {
			w := 20 + math.Min(textWidth(k.label, 11.5, false), 220) + 18
			if x+w > width-2*margin {
				legendRows++
				x = 0
			}
			x += w
		}
	}
	top := headerH + 8 + float64(legendRows)*20 + 28
	height := top + float64(len(rows))*(barH+barGap) + 40
	if rest > 0 {
		height += 18
	}
	if o.Footer != "" {
		height += 18
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Supplier shares of %s by %s", res.Service, levelName(res.By))
	}
	s := &Scene{Width: width, Height: height, Background: white, Title: title}
	chartHeader(s, title, o.Subtitle)
	// Legend.
	x, y := margin, headerH+8.0
	for _, k := range keys {
		lab := fit(k.label, 11.5, false, 220)
		w := 20 + textWidth(lab, 11.5, false) + 18
		if x+w > width-margin {
			x, y = margin, y+20
		}
		s.Add(&Rect{X: x, Y: y, W: 14, H: 14, Paint: Paint{Fill: k.c}}, &Text{X: x + 20, Y: y + 11.5, S: lab, Size: 11.5, Color: ink})
		x += w
	}
	bx := margin + chartLabelW
	// Axis and grid.
	axisY := top - 8
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		gx := bx + f*chartBarW
		p := &Path{Paint: Paint{Stroke: rule, Width: 1}}
		p.MoveTo(gx, axisY)
		p.LineTo(gx, top+float64(len(rows))*(barH+barGap))
		s.Add(p, &Text{X: gx, Y: axisY - 4, S: fmt.Sprintf("%d %%", int(f*100)), Size: 10.5, Anchor: Middle, Color: ink2})
	}
	s.Add(&Text{X: bx + chartBarW + chartValW - 4, Y: axisY - 4, S: "HHI", Size: 10.5, Bold: true, Anchor: End, Color: ink2})
	if len(rows) == 0 {
		s.Add(&Text{X: width / 2, Y: top + 20, S: "No organisations use this service (or none you can see).", Size: 13, Anchor: Middle, Color: ink2})
	}
	for i, g := range rows {
		ry := top + float64(i)*(barH+barGap)
		s.Add(&Text{X: bx - 8, Y: ry + 13, S: fit(groupLabel(g), 12, false, chartLabelW-12), Size: 12, Anchor: End, Color: ink})
		grp := &Group{Title: fmt.Sprintf("%s: %d organisations, HHI %s (%s)", g.Name, g.Organisations, thousands(g.HHI), HHIBand(g.HHI))}
		cx := bx
		other := 0.0
		for _, sh := range g.Shares {
			c, named := colour[sh.SupplierID]
			if !named {
				other += sh.Share
				continue
			}
			w := sh.Share * chartBarW
			grp.Items = append(grp.Items, &Group{Title: fmt.Sprintf("%s: %s of %s", sh.Name, pct(sh.Share), g.Name), Items: segment(cx, ry, w, c, sh.Share)})
			cx += w
		}
		if other > 0 {
			w := other * chartBarW
			grp.Items = append(grp.Items, &Group{Title: fmt.Sprintf("Other suppliers: %s of %s", pct(other), g.Name), Items: segment(cx, ry, w, otherColour, other)})
		}
		s.Add(grp)
		s.Add(&Text{X: bx + chartBarW + chartValW - 4, Y: ry + 13, S: thousands(g.HHI), Size: 12, Bold: g.HHI > HHIHigh, Anchor: End, Color: ink})
	}
	fy := top + float64(len(rows))*(barH+barGap) + 18
	if rest > 0 {
		s.Add(&Text{X: margin, Y: fy, S: fmt.Sprintf("%d less concentrated groups not drawn (see the table).", rest), Size: 11, Color: ink2})
		fy += 18
	}
	s.Add(&Text{X: margin, Y: fy, S: "Shares count organisations using each supplier group for the service; an organisation with k suppliers counts 1/k to each.", Size: 10.5, Color: ink2})
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: fy + 18, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	s.Desc = chartDesc(res, rows)
	return s
}

func segment(x, y, w float64, c Color, share float64) []Shape {
	out := []Shape{&Rect{X: x, Y: y, W: w, H: barH, Paint: Paint{Fill: c, Stroke: white, Width: 0.8}}}
	if lab := pct(share); w >= textWidth(lab, 10.5, true)+8 {
		out = append(out, &Text{X: x + w/2, Y: y + 13, S: lab, Size: 10.5, Bold: true, Anchor: Middle, Color: textOn(c)})
	}
	return out
}

// HHIChart draws each group's Herfindahl–Hirschman index as a horizontal
// bar, most concentrated first, coloured by band, with the 1,500 and
// 2,500 thresholds marked.
func HHIChart(res supply.ConcentrationResult, o ChartOptions) *Scene {
	rows, rest := chartRows(res, o.MaxRows)
	width := margin + chartLabelW + chartBarW + chartValW + margin
	top := headerH + 8 + 20 + 40
	height := top + float64(len(rows))*(barH+barGap) + 40
	if rest > 0 {
		height += 18
	}
	if o.Footer != "" {
		height += 18
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Concentration of %s by %s (HHI)", res.Service, levelName(res.By))
	}
	s := &Scene{Width: width, Height: height, Background: white, Title: title}
	chartHeader(s, title, o.Subtitle)
	// Legend: the bands.
	x, y := margin, headerH+8.0
	for _, b := range HHIBins() {
		lab := b.Label
		s.Add(&Rect{X: x, Y: y, W: 14, H: 14, Paint: Paint{Fill: b.Fill, Hatch: b.Hatch}}, &Text{X: x + 20, Y: y + 11.5, S: lab, Size: 11, Color: ink})
		x += 20 + textWidth(lab, 11, false) + 16
		if x > width-margin-150 {
			x, y = margin, y+20
		}
	}
	bx := margin + chartLabelW
	axisY := top - 8
	end := top + float64(len(rows))*(barH+barGap)
	for _, v := range []float64{0, 2500, 5000, 7500, 10000} {
		gx := bx + v/10000*chartBarW
		p := &Path{Paint: Paint{Stroke: rule, Width: 1}}
		p.MoveTo(gx, axisY)
		p.LineTo(gx, end)
		if v != HHIHigh { // the threshold's own label marks 2,500
			s.Add(p, &Text{X: gx, Y: axisY - 4, S: thousands(v), Size: 10.5, Anchor: Middle, Color: ink2})
		} else {
			s.Add(p)
		}
	}
	for i, g := range rows {
		ry := top + float64(i)*(barH+barGap)
		bin := HHIBins()[max(0, binOf(HHIBins(), g.HHI))]
		s.Add(&Text{X: bx - 8, Y: ry + 13, S: fit(groupLabel(g), 12, false, chartLabelW-12), Size: 12, Anchor: End, Color: ink})
		s.Add(&Group{Title: fmt.Sprintf("%s: HHI %s, %s; %d organisations", g.Name, thousands(g.HHI), HHIBand(g.HHI), g.Organisations),
			Items: []Shape{&Rect{X: bx, Y: ry, W: math.Max(1, g.HHI/10000*chartBarW), H: barH, Paint: Paint{Fill: bin.Fill, Hatch: bin.Hatch}}}})
		s.Add(&Text{X: bx + chartBarW + chartValW - 4, Y: ry + 13, S: thousands(g.HHI), Size: 12, Bold: g.HHI > HHIHigh, Anchor: End, Color: ink})
	}
	// Thresholds over the bars.
	for _, t := range []struct {
		v     float64
		label string
	}{{HHIModerate, "1,500 moderately concentrated"}, {HHIHigh, "2,500 highly concentrated"}} {
		gx := bx + t.v/10000*chartBarW
		p := &Path{Paint: Paint{Stroke: Hex("#d5281b"), Width: 1.6, Dash: []float64{5, 3}}}
		p.MoveTo(gx, axisY-20)
		p.LineTo(gx, end)
		anchor, tx := Start, gx+4
		if t.v == HHIModerate {
			anchor, tx = End, gx-4
		}
		s.Add(p, &Text{X: tx, Y: axisY - 22, S: t.label, Size: 10.5, Bold: true, Anchor: anchor, Color: Hex("#aa2016")})
	}
	if len(rows) == 0 {
		s.Add(&Text{X: width / 2, Y: top + 20, S: "No organisations use this service (or none you can see).", Size: 13, Anchor: Middle, Color: ink2})
	}
	fy := end + 18
	if rest > 0 {
		s.Add(&Text{X: margin, Y: fy, S: fmt.Sprintf("%d less concentrated groups not drawn (see the table).", rest), Size: 11, Color: ink2})
		fy += 18
	}
	s.Add(&Text{X: margin, Y: fy, S: "HHI: the sum of squared percentage shares, 0–10,000; 10,000 means one supplier serves every organisation.", Size: 10.5, Color: ink2})
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: fy + 18, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	s.Desc = chartDesc(res, rows)
	return s
}

func chartDesc(res supply.ConcentrationResult, rows []supply.ConcentrationGroup) string {
	d := fmt.Sprintf("Concentration of %s by %s: %d groups.", res.Service, levelName(res.By), len(res.Groups))
	var hi []string
	for i, g := range rows {
		if i == 5 {
			break
		}
		top := ""
		if len(g.Shares) > 0 {
			top = fmt.Sprintf(", largest %s %s", g.Shares[0].Name, pct(g.Shares[0].Share))
		}
		hi = append(hi, fmt.Sprintf("%s HHI %s%s", g.Name, thousands(g.HHI), top))
	}
	if len(hi) > 0 {
		d += " Most concentrated: " + strings.Join(hi, "; ") + "."
	}
	return d
}

func levelName(l supply.Level) string {
	switch l {
	case supply.ByICB:
		return "ICB"
	case supply.ByRegion:
		return "region"
	}
	return "nation"
}

// pct formats a fraction as a whole percentage ("33 %"), or "<1 %".
func pct(f float64) string { return phrase.Percent(f) }

// thousands formats a number rounded to a whole with thousands separators.
func thousands(v float64) string { return phrase.Round(v) }
