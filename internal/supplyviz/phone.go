package supplyviz

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/supply"
)

// Pictures for phones. A page shows a picture scaled to its column; on a
// phone (375 CSS px wide, about 335 px of column) a chart drawn 800 units
// wide shrinks to 40 % and its 12-unit labels to under 5 px. The phone
// variants are drawn PhoneWidth wide, with fewer rows and no text smaller
// than PhoneText, so a phone shows them at about 93 % and every label at
// 13 px or more; pages offer them to narrow screens through <picture>.
//
// The dependency graph is not redrawn: its columns need their width. A
// phone is sent it at its own size times PhoneScale (the page scrolls it
// sideways), which is as readable as the phone variants.
const (
	PhoneWidth = 360.0
	PhoneText  = 14.0
	// phoneMargin is the room left and right.
	phoneMargin = 12.0
	// phoneRows is how many groups a phone chart draws by default.
	phoneRows = 10
	// phoneLegible is the smallest text, in CSS px, a phone should show.
	phoneLegible = 13.0
)

// MinTextSize is the size of the smallest text in s (0 if it has none).
func MinTextSize(s *Scene) float64 {
	m := 0.0
	var walk func([]Shape)
	walk = func(items []Shape) {
		for _, it := range items {
			switch x := it.(type) {
			case *Text:
				if x.S != "" && (m == 0 || x.Size < m) {
					m = x.Size
				}
			case *Group:
				walk(x.Items)
			}
		}
	}
	walk(s.Items)
	return m
}

// PhoneScale is how much larger than drawn s must be shown for its
// smallest text to read at 13 px: 1 when it already does.
func PhoneScale(s *Scene) float64 {
	m := MinTextSize(s)
	if m <= 0 || m >= phoneLegible {
		return 1
	}
	return math.Ceil(phoneLegible/m*100) / 100
}

// phoneText adds lines of wrapped text at PhoneText and returns the y of
// the next line.
func phoneText(s *Scene, text string, y float64, bold bool, c Color, lines int) float64 {
	// A number and its unit stay on one line.
	text = strings.ReplaceAll(text, " %", "\u00a0%")
	for _, l := range wrap(text, PhoneText, bold, phoneWrap, lines) {
		s.Add(&Text{X: phoneMargin, Y: y, S: l, Size: PhoneText, Bold: bold, Color: c})
		y += PhoneText + 5
	}
	return y
}

// phoneWrap is the width phone text is wrapped to: the column less a
// tenth, since a phone's browser draws the picture's text in its own sans
// serif (DejaVu Sans on Debian's Chromium), wider than the font the
// widths are measured with — at the full width a map's title ran off the
// right edge at 390 px.
const phoneWrap = (PhoneWidth - 2*phoneMargin) * 0.9

// phoneHeader writes the title (three lines at most) and subtitle and
// returns the y below them.
func phoneHeader(s *Scene, title, subtitle string) float64 {
	y := 26.0
	for _, l := range wrap(title, 17, true, phoneWrap, 3) {
		s.Add(&Text{X: phoneMargin, Y: y, S: l, Size: 17, Bold: true, Color: ink})
		y += 22
	}
	if subtitle != "" {
		y = phoneText(s, subtitle, y, false, ink2, 3)
	}
	return y + 4
}

// phoneKeys lays out legend keys (a swatch and a label) flowing across
// the width; it returns the y below them.
func phoneKeys(s *Scene, y float64, labels []string, paints []Paint) float64 {
	x := phoneMargin
	right := PhoneWidth - phoneMargin
	for i, l := range labels {
		l = fit(l, PhoneText, false, right-phoneMargin-22)
		w := 22 + textWidth(l, PhoneText, false) + 14
		if x > phoneMargin && x+w-14 > right {
			x, y = phoneMargin, y+22
		}
		s.Add(&Rect{X: x, Y: y, W: 15, H: 15, Paint: paints[i]}, &Text{X: x + 21, Y: y + 13, S: l, Size: PhoneText, Color: ink})
		x += w
	}
	return y + 22
}

// phoneChart is what the two concentration charts share on a phone: the
// header, a legend, then per group a label line (name and HHI) over a
// bar drawn by bar, and the notes below.
func phoneChart(res supply.ConcentrationResult, o ChartOptions, title string, keys []string, paints []Paint, note string,
	bar func(s *Scene, g supply.ConcentrationGroup, x, y, w float64)) *Scene {
	maxRows := o.MaxRows
	if maxRows <= 0 {
		maxRows = phoneRows
	}
	rows, rest := chartRows(res, maxRows)
	// Drawn once to measure the height, then again at that height.
	draw := func(height float64) *Scene {
		s := &Scene{Width: PhoneWidth, Height: height, Background: white, Title: title}
		y := phoneHeader(s, title, o.Subtitle)
		y = phoneKeys(s, y, keys, paints) + 6
		cw := PhoneWidth - 2*phoneMargin
		if len(rows) == 0 {
			y = phoneText(s, "No organisations use this service (or none you can see).", y+8, false, ink2, 2)
		}
		for _, g := range rows {
			hhi := "HHI " + thousands(g.HHI)
			hw := textWidth(hhi, PhoneText, g.HHI > HHIHigh)
			s.Add(&Text{X: phoneMargin, Y: y + 14, S: fit(groupLabel(g), PhoneText, false, cw-hw-10), Size: PhoneText, Color: ink},
				&Text{X: PhoneWidth - phoneMargin, Y: y + 14, S: hhi, Size: PhoneText, Bold: g.HHI > HHIHigh, Anchor: End, Color: ink})
			bar(s, g, phoneMargin, y+20, cw)
			y += 20 + 22 + 10
		}
		y += 8
		if rest > 0 {
			y = phoneText(s, fmt.Sprintf("%d less concentrated groups not drawn (see the table).", rest), y, false, ink2, 2)
		}
		y = phoneText(s, note, y, false, ink2, 4)
		if o.Footer != "" {
			y = phoneText(s, o.Footer, y, false, ink2, 4)
		}
		s.Height = math.Max(height, y)
		return s
	}
	s := draw(0)
	return draw(s.Height + 4)
}

// SharesChartPhone is SharesChart for a phone: each group's name and HHI
// on a line above its bar of shares.
func SharesChartPhone(res supply.ConcentrationResult, o ChartOptions) *Scene {
	colour, ids, names := shareColours(res)
	var keys []string
	var paints []Paint
	for i, id := range ids {
		if i == len(supplierColours) {
			keys = append(keys, fmt.Sprintf("%d other suppliers", len(ids)-i))
			paints = append(paints, Paint{Fill: otherColour})
			break
		}
		keys = append(keys, names[id])
		paints = append(paints, Paint{Fill: colour[id]})
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Supplier shares of %s by %s", res.Service, levelName(res.By))
	}
	s := phoneChart(res, o, title, keys, paints, "Shares count organisations using each supplier group; one with k suppliers counts 1/k to each.",
		func(s *Scene, g supply.ConcentrationGroup, x, y, w float64) {
			grp := &Group{Title: fmt.Sprintf("%s: %d organisations, HHI %s (%s)", g.Name, g.Organisations, thousands(g.HHI), HHIBand(g.HHI))}
			cx, other := x, 0.0
			seg := func(share float64, c Color, tip string) {
				sw := share * w
				items := []Shape{&Rect{X: cx, Y: y, W: sw, H: 22, Paint: Paint{Fill: c, Stroke: white, Width: 0.8}}}
				if lab := pct(share); sw >= textWidth(lab, PhoneText, true)+8 {
					items = append(items, &Text{X: cx + sw/2, Y: y + 16, S: lab, Size: PhoneText, Bold: true, Anchor: Middle, Color: textOn(c)})
				}
				grp.Items = append(grp.Items, &Group{Title: tip, Items: items})
				cx += sw
			}
			for _, sh := range g.Shares {
				c, named := colour[sh.SupplierID]
				if !named {
					other += sh.Share
					continue
				}
				seg(sh.Share, c, fmt.Sprintf("%s: %s of %s", sh.Name, pct(sh.Share), g.Name))
			}
			if other > 0 {
				seg(other, otherColour, fmt.Sprintf("Other suppliers: %s of %s", pct(other), g.Name))
			}
			s.Add(grp)
		})
	s.Desc = chartDesc(res, nil)
	return s
}

// HHIChartPhone is HHIChart for a phone: each group's name and HHI on a
// line above its bar, the 1,500 and 2,500 thresholds marked across.
func HHIChartPhone(res supply.ConcentrationResult, o ChartOptions) *Scene {
	var keys []string
	var paints []Paint
	for _, b := range HHIBins() {
		keys = append(keys, b.Label)
		paints = append(paints, Paint{Fill: b.Fill, Hatch: b.Hatch})
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Concentration of %s by %s (HHI)", res.Service, levelName(res.By))
	}
	s := phoneChart(res, o, title, keys, paints, "HHI: the sum of squared percentage shares, 0–10,000. Dashed: the 1,500 and 2,500 thresholds.",
		func(s *Scene, g supply.ConcentrationGroup, x, y, w float64) {
			bin := HHIBins()[max(0, binOf(HHIBins(), g.HHI))]
			s.Add(&Group{Title: fmt.Sprintf("%s: HHI %s, %s; %d organisations", g.Name, thousands(g.HHI), HHIBand(g.HHI), g.Organisations),
				Items: []Shape{&Rect{X: x, Y: y, W: math.Max(1, g.HHI/10000*w), H: 22, Paint: Paint{Fill: bin.Fill, Hatch: bin.Hatch}}}})
			for _, t := range []float64{HHIModerate, HHIHigh} {
				p := &Path{Paint: Paint{Stroke: threshold, Width: 1.6, Dash: []float64{4, 3}}}
				p.MoveTo(x+t/10000*w, y-2)
				p.LineTo(x+t/10000*w, y+24)
				s.Add(p)
			}
		})
	s.Desc = chartDesc(res, nil)
	return s
}

// shareColours gives the suppliers with the most organisations overall
// their colours, and returns the supplier IDs in that order with names.
func shareColours(res supply.ConcentrationResult) (map[string]Color, []string, map[string]string) {
	total := map[string]float64{}
	names := map[string]string{}
	for _, g := range res.Groups {
		for _, sh := range g.Shares {
			total[sh.SupplierID] += sh.Organisations
			names[sh.SupplierID] = sh.Name
		}
	}
	ids := make([]string, 0, len(total))
	for id := range total {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if total[ids[i]] != total[ids[j]] {
			return total[ids[i]] > total[ids[j]]
		}
		return ids[i] < ids[j]
	})
	colour := map[string]Color{}
	for i, id := range ids {
		if i < len(supplierColours) {
			colour[id] = supplierColours[i]
		}
	}
	return colour, ids, names
}

// TrendChartPhone is TrendChart for a phone: the same two lines on one
// scale, the axes labelled at PhoneText, the legend one key a line.
func TrendChartPhone(points []supply.TrendPoint, o ChartOptions) *Scene {
	title := o.Title
	if title == "" {
		title = "Concentration over recorded snapshots"
	}
	name := o.supplierName
	const plotH = 220.0
	draw := func(height float64) *Scene {
		s := &Scene{Width: PhoneWidth, Height: height, Background: white, Title: title}
		y := phoneHeader(s, title, o.Subtitle)
		legend := func(sample []Shape, label string) {
			s.Add(sample...)
			s.Add(&Text{X: phoneMargin + 36, Y: y + 12, S: label, Size: PhoneText, Color: ink})
			y += 22
		}
		line := func(c Color, w float64, dash []float64) *Path {
			p := &Path{Paint: Paint{Stroke: c, Width: w, Dash: dash}}
			p.MoveTo(phoneMargin, y+7)
			p.LineTo(phoneMargin+28, y+7)
			return p
		}
		legend([]Shape{line(hhiLine, 2.2, nil), dot(phoneMargin+14, y+7)}, "HHI (left axis)")
		legend([]Shape{line(shareLine, 2.2, []float64{6, 3}), square(phoneMargin+14, y+7)}, "Largest supplier's share (right)")
		legend([]Shape{line(threshold, 1.6, []float64{5, 3})}, "Thresholds: 1,500 and 2,500")
		top := y + 24
		px0 := phoneMargin + textWidth("10,000", PhoneText, false) + 6
		px1 := PhoneWidth - phoneMargin - textWidth("100 %", PhoneText, false) - 6
		bottom := top + plotH
		yOf := func(hhi float64) float64 { return top + (1-min(max(hhi, 0), 10000)/10000)*plotH }
		for _, v := range []float64{0, 5000, 10000} {
			gy := yOf(v)
			p := &Path{Paint: Paint{Stroke: rule, Width: 1}}
			p.MoveTo(px0, gy)
			p.LineTo(px1, gy)
			s.Add(p, &Text{X: px0 - 5, Y: gy + 5, S: thousands(v), Size: PhoneText, Anchor: End, Color: ink2},
				&Text{X: px1 + 5, Y: gy + 5, S: fmt.Sprintf("%d %%", int(v/100)), Size: PhoneText, Color: ink2})
		}
		for _, v := range []float64{HHIModerate, HHIHigh} {
			p := &Path{Paint: Paint{Stroke: threshold, Width: 1.6, Dash: []float64{5, 3}}}
			p.MoveTo(px0, yOf(v))
			p.LineTo(px1, yOf(v))
			s.Add(p)
		}
		axis := &Path{Paint: Paint{Stroke: ruleDark, Width: 1}}
		axis.MoveTo(px0, bottom)
		axis.LineTo(px1, bottom)
		s.Add(axis)
		xs := trendXs(points, px0+12, px1-12)
		if len(points) < 2 {
			msg := "No snapshots recorded yet."
			if len(points) == 1 {
				msg = "One snapshot: a trend needs two."
			}
			s.Add(&Text{X: (px0 + px1) / 2, Y: top + 40, S: msg, Size: PhoneText, Anchor: Middle, Color: ink2, Halo: white})
		}
		trendLines(s, points, xs, yOf, name)
		// Dates under the axis: the first and the last, and between them
		// those that clear their neighbours.
		type label struct {
			x, left, w float64
			s          string
			a          Anchor
		}
		var labs []label
		for i, p := range points {
			lab := trendDate(p.TakenAt, false)
			w := textWidth(lab, PhoneText, false)
			l := label{x: xs[i], left: xs[i] - w/2, w: w, s: lab, a: Middle}
			switch {
			case len(points) > 1 && i == 0:
				l.x, l.left, l.a = px0, px0, Start
			case len(points) > 1 && i == len(points)-1:
				l.x, l.left, l.a = px1, px1-w, End
			}
			labs = append(labs, l)
		}
		lastEnd := px0 - 1000
		for i, l := range labs {
			if i > 0 && l.left < lastEnd+10 {
				continue
			}
			if n := len(labs) - 1; i > 0 && i < n && l.left+l.w+10 > labs[n].left {
				continue // the last date has the room
			}
			s.Add(&Text{X: l.x, Y: bottom + 20, S: l.s, Size: PhoneText, Anchor: l.a, Color: ink2})
			lastEnd = l.left + l.w
		}
		y = bottom + 46
		if n := len(points); n > 0 {
			last := points[n-1]
			y = phoneText(s, fmt.Sprintf("Latest: HHI %s (%s); largest %s %s.", thousands(last.HHI), strings.ToLower(HHIBand(last.HHI)), name(last.TopSupplierID), pct(last.TopShare)), y, false, ink, 3)
		}
		if o.Footer != "" {
			y = phoneText(s, o.Footer, y, false, ink2, 4)
		}
		s.Height = math.Max(height, y)
		return s
	}
	s := draw(0)
	s = draw(s.Height + 4)
	s.Desc = trendDesc(points, name)
	return s
}

// MapPicturePhone is MapPicture for a phone: the map the width of the
// screen, region names (or, for smaller areas, the values that have room)
// on it, and the legend, the highest areas and the attribution below.
func MapPicturePhone(bs []geo.Boundary, o MapOptions) *Scene {
	cw := PhoneWidth - 2*phoneMargin
	mapH := cw * 1.2
	draw := func(height float64) *Scene {
		s := &Scene{Width: PhoneWidth, Height: height, Background: white, Title: o.Title}
		top := phoneHeader(s, o.Title, o.Subtitle)
		noData, paintOf := mapPaints(o)
		if len(bs) == 0 {
			s.Desc = "No map: boundaries have not been imported."
			s.Add(&Rect{X: phoneMargin, Y: top, W: cw, H: 120, Paint: Paint{Fill: paleGrey, Stroke: rule, Width: 1}},
				&Text{X: PhoneWidth / 2, Y: top + 65, S: "No boundaries imported", Size: 15, Bold: true, Anchor: Middle, Color: ink2})
			mapH = 120
		}
		proj := fitProjection(bboxOf(bs), phoneMargin, top, cw, mapH)
		drawAreas(s, bs, o, proj, paintOf, true)
		small := len(bs) > 0 && bs[0].Level != geo.LevelRegion
		lp := &labeller{}
		for _, x := range bs {
			v, ok := o.Values[x.Code]
			lx, ly := proj.pt(x.Label[0], x.Label[1])
			if !small {
				lines := []*Text{{X: lx, Y: ly - 2, S: shortArea(x.Name), Size: PhoneText, Bold: true, Anchor: Middle, Color: ink, Halo: white}}
				if ok && v.Label != "" {
					lines = append(lines, &Text{X: lx, Y: ly + 15, S: v.Label, Size: PhoneText, Anchor: Middle, Color: ink, Halo: white})
				}
				lp.placeWithin(s, lines, phoneMargin, PhoneWidth-phoneMargin, false)
				continue
			}
			if ok && v.Label != "" {
				// Only where it has room: the list below has them all.
				lp.placeWithin(s, []*Text{{X: lx, Y: ly + 5, S: v.Label, Size: PhoneText, Bold: true, Anchor: Middle, Color: ink, Halo: white}}, phoneMargin, PhoneWidth-phoneMargin, true)
			}
		}
		y := top + mapH + 28
		s.Add(&Text{X: phoneMargin, Y: y, S: fit(o.LegendTitle, 15, true, cw), Size: 15, Bold: true, Color: ink})
		y += 10
		key := func(p Paint, label string) {
			p.Stroke, p.Width = ruleDark, 0.8
			s.Add(&Rect{X: phoneMargin, Y: y, W: 26, H: 17, Paint: p},
				&Text{X: phoneMargin + 34, Y: y + 14, S: fit(label, PhoneText, false, cw-34), Size: PhoneText, Color: ink})
			y += 24
		}
		for _, b := range o.Bins {
			key(Paint{Fill: b.Fill, Hatch: b.Hatch}, b.Label)
		}
		if o.NoData != "" {
			key(noData, o.NoData)
		}
		rk := rankAreas(bs, o)
		if len(rk) > 0 {
			y += 16
			s.Add(&Text{X: phoneMargin, Y: y, S: "Highest", Size: 15, Bold: true, Color: ink})
			for i, r := range rk {
				if i == 8 {
					y += 22
					s.Add(&Text{X: phoneMargin, Y: y, S: fmt.Sprintf("and %d more (see the table)", len(rk)-i), Size: PhoneText, Color: ink2})
					break
				}
				y += 22
				lw := max(56, textWidth(r.v.Label, PhoneText, true)+4)
				s.Add(&Text{X: phoneMargin + lw, Y: y, S: r.v.Label, Size: PhoneText, Bold: true, Anchor: End, Color: ink},
					&Text{X: phoneMargin + lw + 8, Y: y, S: fit(shortArea(r.name)+" "+r.code, PhoneText, false, cw-lw-8), Size: PhoneText, Color: ink})
			}
		}
		y += 28
		if len(o.Unmapped) > 0 {
			y = phoneText(s, "Not on the map: "+strings.Join(o.Unmapped, "; "), y, false, ink2, 3)
		}
		y = phoneText(s, Attribution, y, false, ink2, 5)
		if o.Footer != "" {
			y = phoneText(s, o.Footer, y, false, ink2, 4)
		}
		s.Height = math.Max(height, y)
		if s.Desc == "" {
			s.Desc = mapDesc(o, len(bs), len(rk))
		}
		return s
	}
	s := draw(0)
	return draw(s.Height + 4)
}
