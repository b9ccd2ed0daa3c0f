package supplyviz

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/geo"
)

// MapValue is one area's value on a choropleth.
type MapValue struct {
	// Value picks the area's bin.
	Value float64
	// Label is printed on and beside the map ("12", "45 %", "HHI 10,000").
	Label string
	// Detail is the area's tooltip and its line in the ranking.
	Detail string
}

// Bin is one class of a choropleth's legend: values from Min (inclusive)
// up to the next bin's Min.
type Bin struct {
	Min   float64
	Label string
	Fill  Color
	// Hatch marks a bin by pattern too (the worst class).
	Hatch Color
}

// MapOptions describe a choropleth.
type MapOptions struct {
	Title, Subtitle string
	LegendTitle     string
	// Values by area code (ODS); areas without one are drawn as NoData.
	Values map[string]MapValue
	Bins   []Bin
	// NoData labels areas without a value ("Not affected", "No data").
	NoData string
	// NoDataHatch hatches areas without a value (use it when "no value"
	// means "unknown" rather than zero).
	NoDataHatch bool
	// Link, if set, gives the address of an area in inline SVG.
	Link func(code string) string
	// Footer is a line at the bottom; the ONS attribution is always added.
	Footer string
	// Unmapped names values whose area has no boundary (e.g. organisations
	// with no ICB recorded), to say so beside the map.
	Unmapped []string
}

// Attribution is the credit the ONS boundary licence requires.
const Attribution = "Boundaries: Office for National Statistics, Open Government Licence v3.0; contains OS data © Crown copyright and database right 2023–2024."

const (
	mapW     = 520.0
	mapH     = 600.0
	panelW   = 330.0
	panelGap = 28.0
)

// londonBox is Greater London, drawn again larger in an inset when the
// areas are small (ICBs and sub-ICB locations).
var londonBox = [4]float64{-0.52, 51.28, 0.34, 51.70} // lon0, lat0, lon1, lat1

type projection struct {
	lon0, lat1, k, cosLat, ox, oy float64
}

func (p projection) pt(lon, lat float64) (float64, float64) {
	return p.ox + (lon-p.lon0)*p.cosLat*p.k, p.oy + (p.lat1-lat)*p.k
}

// fitProjection is equirectangular, scaled by cos(latitude) at the middle
// of bbox, so England keeps its shape, fitted into w×h at (x, y).
func fitProjection(bbox [4]float64, x, y, w, h float64) projection {
	mid := (bbox[1] + bbox[3]) / 2
	c := math.Cos(mid * math.Pi / 180)
	bw, bh := (bbox[2]-bbox[0])*c, bbox[3]-bbox[1]
	if bw <= 0 || bh <= 0 {
		return projection{lon0: bbox[0], lat1: bbox[3], k: 1, cosLat: c, ox: x, oy: y}
	}
	k := math.Min(w/bw, h/bh)
	return projection{lon0: bbox[0], lat1: bbox[3], k: k, cosLat: c, ox: x + (w-bw*k)/2, oy: y + (h-bh*k)/2}
}

func bboxOf(bs []geo.Boundary) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, x := range bs {
		for _, p := range x.Polygons {
			if len(p) == 0 {
				continue
			}
			for _, pt := range p[0] {
				b[0], b[1] = math.Min(b[0], pt[0]), math.Min(b[1], pt[1])
				b[2], b[3] = math.Max(b[2], pt[0]), math.Max(b[3], pt[1])
			}
		}
	}
	if math.IsInf(b[0], 0) {
		return [4]float64{-6.4, 49.9, 1.8, 55.8} // England
	}
	return b
}

func binOf(bins []Bin, v float64) int {
	i := -1
	for j, b := range bins {
		if v >= b.Min {
			i = j
		}
	}
	return i
}

func areaPath(x geo.Boundary, p projection, paint Paint) *Path {
	path := &Path{Paint: paint}
	for _, poly := range x.Polygons {
		for _, ring := range poly {
			var lx, ly float64
			for i, pt := range ring {
				px, py := p.pt(pt[0], pt[1])
				px, py = math.Round(px*10)/10, math.Round(py*10)/10
				if i == 0 {
					path.MoveTo(px, py)
				} else if px != lx || py != ly {
					path.LineTo(px, py)
				}
				lx, ly = px, py
			}
			path.Close()
		}
	}
	return path
}

// MapPicture draws a choropleth of bs (one level) coloured by o.Values in
// o.Bins, with a legend, a ranking of the highest areas, a London inset
// for ICBs and smaller areas, and the ONS attribution. With no boundaries
// it draws a picture that says so.
func MapPicture(bs []geo.Boundary, o MapOptions) *Scene {
	width := margin + mapW + panelGap + panelW + margin
	top := headerH + 8
	height := top + mapH + 56
	if o.Footer != "" {
		height += 16
	}
	s := &Scene{Width: width, Height: height, Background: white, Title: o.Title}
	s.Add(&Text{X: margin, Y: 30, S: fit(o.Title, 18, true, width-2*margin), Size: 18, Bold: true, Color: ink})
	if o.Subtitle != "" {
		s.Add(&Text{X: margin, Y: 50, S: fit(o.Subtitle, 12, false, width-2*margin), Size: 12, Color: ink2})
	}
	noData, paintOf := mapPaints(o)
	if len(bs) == 0 {
		s.Desc = "No map: boundaries have not been imported."
		s.Add(&Rect{X: margin, Y: top, W: mapW, H: mapH, Paint: Paint{Fill: paleGrey, Stroke: rule, Width: 1}})
		s.Add(&Text{X: margin + mapW/2, Y: top + mapH/2, S: "No boundaries imported", Size: 14, Bold: true, Anchor: Middle, Color: ink2})
	}
	proj := fitProjection(bboxOf(bs), margin, top, mapW, mapH)
	for _, x := range bs {
		pt, class := paintOf(x.Code)
		g := &Group{Title: areaTip(x, o, class), Attrs: []Attr{{"class", "vz-area"}, {"data-area", x.Code}}, Items: []Shape{areaPath(x, proj, pt)}}
		if o.Link != nil {
			g.Link = o.Link(x.Code)
		}
		s.Add(g)
	}
	// Labels: every region; for smaller areas only those with a value.
	// Each is nudged up or down until it clears those already placed
	// (London's label point sits inside the South East's box).
	small := len(bs) > 0 && bs[0].Level != geo.LevelRegion
	lp := &labeller{}
	for _, x := range bs {
		v, ok := o.Values[x.Code]
		lx, ly := proj.pt(x.Label[0], x.Label[1])
		if !small {
			var lines []*Text
			lines = append(lines, &Text{X: lx, Y: ly - 2, S: shortArea(x.Name), Size: 11, Bold: true, Anchor: Middle, Color: ink, Halo: white})
			if ok && v.Label != "" {
				lines = append(lines, &Text{X: lx, Y: ly + 12, S: v.Label, Size: 11, Anchor: Middle, Color: ink, Halo: white})
			}
			lp.place(s, lines)
			continue
		}
		if ok && v.Label != "" && !inBox(x.Label, londonBox) {
			lp.place(s, []*Text{{X: lx, Y: ly + 4, S: v.Label, Size: 10.5, Bold: true, Anchor: Middle, Color: ink, Halo: white}})
		}
	}
	panelX := margin + mapW + panelGap
	y := top + 4
	// London inset.
	if small {
		var ldn []geo.Boundary
		for _, x := range bs {
			if inBox(x.Label, londonBox) {
				ldn = append(ldn, x)
			}
		}
		if len(ldn) > 0 {
			iw, ih := panelW, 170.0
			s.Add(&Text{X: panelX, Y: y + 10, S: "London (enlarged)", Size: 13, Bold: true, Color: ink})
			s.Add(&Rect{X: panelX, Y: y + 18, W: iw, H: ih, Paint: Paint{Stroke: rule, Width: 1}})
			ip := fitProjection(bboxOf(ldn), panelX+6, y+24, iw-12, ih-12)
			for _, x := range ldn {
				pt, class := paintOf(x.Code)
				s.Add(&Group{Title: areaTip(x, o, class), Attrs: []Attr{{"class", "vz-area"}, {"data-area", x.Code}}, Items: []Shape{areaPath(x, ip, pt)}})
			}
			for _, x := range ldn {
				if v, ok := o.Values[x.Code]; ok && v.Label != "" {
					lx, ly := ip.pt(x.Label[0], x.Label[1])
					s.Add(&Text{X: lx, Y: ly + 4, S: v.Label, Size: 10.5, Bold: true, Anchor: Middle, Color: ink, Halo: white})
				}
			}
			// Where the inset is on the main map.
			x0, y0 := proj.pt(londonBox[0], londonBox[3])
			x1, y1 := proj.pt(londonBox[2], londonBox[1])
			s.Add(&Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0, Paint: Paint{Stroke: ink, Width: 1}})
			y += 18 + ih + 26
		}
	}
	// Legend.
	s.Add(&Text{X: panelX, Y: y, S: fit(o.LegendTitle, 13, true, panelW), Size: 13, Bold: true, Color: ink})
	y += 10
	for _, b := range o.Bins {
		s.Add(&Rect{X: panelX, Y: y, W: 26, H: 16, Paint: Paint{Fill: b.Fill, Hatch: b.Hatch, Stroke: ruleDark, Width: 0.8}})
		s.Add(&Text{X: panelX + 34, Y: y + 12.5, S: fit(b.Label, 12.5, false, panelW-34), Size: 12.5, Color: ink})
		y += 22
	}
	if o.NoData != "" {
		s.Add(&Rect{X: panelX, Y: y, W: 26, H: 16, Paint: Paint{Fill: noData.Fill, Hatch: noData.Hatch, Stroke: ruleDark, Width: 0.8}})
		s.Add(&Text{X: panelX + 34, Y: y + 12.5, S: fit(o.NoData, 12.5, false, panelW-34), Size: 12.5, Color: ink})
		y += 22
	}
	// Ranking.
	rk := rankAreas(bs, o)
	if len(rk) > 0 {
		y += 14
		s.Add(&Text{X: panelX, Y: y, S: "Highest", Size: 13, Bold: true, Color: ink})
		y += 6
		room := int((top + mapH - y) / 18)
		for i, r := range rk {
			if i >= min(room, 12) {
				s.Add(&Text{X: panelX, Y: y + 14, S: fmt.Sprintf("and %d more (see the table)", len(rk)-i), Size: 11, Color: ink2})
				y += 18
				break
			}
			y += 18
			s.Add(&Text{X: panelX + 48, Y: y, S: r.v.Label, Size: 12, Bold: true, Anchor: End, Color: ink})
			s.Add(&Text{X: panelX + 56, Y: y, S: fit(shortArea(r.name)+" "+r.code, 12, false, panelW-56), Size: 12, Color: ink})
		}
	}
	if len(o.Unmapped) > 0 && y < top+mapH-20 {
		y += 24
		for _, l := range wrap("Not on the map: "+strings.Join(o.Unmapped, "; "), 11, false, panelW, 3) {
			s.Add(&Text{X: panelX, Y: y, S: l, Size: 11, Color: ink2})
			y += 15
		}
	}
	fy := top + mapH + 28
	for _, l := range wrap(Attribution, 10, false, width-2*margin, 2) {
		s.Add(&Text{X: margin, Y: fy, S: l, Size: 10, Color: ink2})
		fy += 14
	}
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: fy + 2, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	if s.Desc == "" {
		s.Desc = mapDesc(o, len(bs), len(rk))
	}
	return s
}

// mapPaints gives the paint of areas without a value and a function
// that paints an area and names its class.
func mapPaints(o MapOptions) (Paint, func(code string) (Paint, string)) {
	noData := Paint{Fill: Hex("#f4f6f7"), Stroke: white, Width: 0.8}
	if o.NoDataHatch {
		noData.Hatch = Hex("#e3e8ea") // light: most of a map may be "no data"
	}
	return noData, func(code string) (Paint, string) {
		v, ok := o.Values[code]
		if !ok {
			return noData, o.NoData
		}
		i := binOf(o.Bins, v.Value)
		if i < 0 {
			return noData, o.NoData
		}
		return Paint{Fill: o.Bins[i].Fill, Hatch: o.Bins[i].Hatch, Stroke: white, Width: 0.8}, o.Bins[i].Label
	}
}

// areaTip is an area's tooltip: its name, code and value or class.
func areaTip(x geo.Boundary, o MapOptions, class string) string {
	tip := x.Name + " (" + x.Code + "): "
	if v, ok := o.Values[x.Code]; ok && v.Detail != "" {
		return tip + v.Detail
	}
	return tip + class
}

type rankedArea struct {
	code, name string
	v          MapValue
}

// rankAreas orders the mapped areas with a value, highest first.
func rankAreas(bs []geo.Boundary, o MapOptions) []rankedArea {
	var rk []rankedArea
	names := map[string]string{}
	for _, x := range bs {
		names[x.Code] = x.Name
	}
	for code, v := range o.Values {
		if n, ok := names[code]; ok {
			rk = append(rk, rankedArea{code, n, v})
		}
	}
	sort.Slice(rk, func(i, j int) bool {
		if rk[i].v.Value != rk[j].v.Value {
			return rk[i].v.Value > rk[j].v.Value
		}
		return rk[i].code < rk[j].code
	})
	return rk
}

func mapDesc(o MapOptions, areas, valued int) string {
	d := fmt.Sprintf("Map of England: %d areas, %d with a value.", areas, valued)
	if o.Subtitle != "" {
		d = o.Subtitle + ". " + d
	}
	var hi []string
	type kv struct {
		k string
		v MapValue
	}
	var all []kv
	for k, v := range o.Values {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v.Value != all[j].v.Value {
			return all[i].v.Value > all[j].v.Value
		}
		return all[i].k < all[j].k
	})
	for i, x := range all {
		if i == 5 {
			break
		}
		hi = append(hi, x.k+" "+x.v.Label)
	}
	if len(hi) > 0 {
		d += " Highest: " + strings.Join(hi, ", ") + "."
	}
	return d
}

func inBox(p [2]float64, b [4]float64) bool {
	return p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]
}

// ShortArea drops the words every ICB name shares ("NHS South East
// London Integrated Care Board" → "South East London").
func ShortArea(name string) string { return shortArea(name) }

func shortArea(name string) string {
	n := strings.TrimPrefix(name, "NHS ")
	n = strings.TrimSuffix(n, " Integrated Care Board")
	n = strings.TrimSuffix(n, " ICB")
	return n
}

// Scales for the supply-chain maps, colour-blind safe (ColorBrewer
// sequential ramps) and each worst class hatched.

// CountBins classes organisation counts into up to five bins ending at
// max (1, 2–4, 5–9, … with round breaks).
func CountBins(max int) []Bin {
	reds := []Color{Hex("#fee5d9"), Hex("#fcae91"), Hex("#fb6a4a"), Hex("#de2d26"), Hex("#a50f15")}
	breaks := []int{1}
	for _, b := range []int{2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000} {
		if b <= max {
			breaks = append(breaks, b)
		}
	}
	for len(breaks) > 5 { // keep the first and the largest
		breaks = append(breaks[:1], breaks[len(breaks)-4:]...)
	}
	bins := make([]Bin, len(breaks))
	for i, b := range breaks {
		lab := fmt.Sprint(b)
		if i+1 < len(breaks) {
			if hi := breaks[i+1] - 1; hi > b {
				lab = fmt.Sprintf("%d–%d", b, hi)
			}
		} else if b < max {
			lab = fmt.Sprintf("%d or more", b)
		}
		c := reds[len(reds)-len(breaks)+i]
		bins[i] = Bin{Min: float64(b), Label: lab, Fill: c}
	}
	bins[len(bins)-1].Hatch = Hex("#67000d")
	return bins
}

// ShareBins classes fractions (0–1) of population or organisations.
func ShareBins() []Bin {
	return []Bin{
		{Min: 0.000001, Label: "Under 10 %", Fill: Hex("#fee5d9")},
		{Min: 0.10, Label: "10 % to 25 %", Fill: Hex("#fcae91")},
		{Min: 0.25, Label: "25 % to 50 %", Fill: Hex("#fb6a4a")},
		{Min: 0.50, Label: "50 % to 75 %", Fill: Hex("#de2d26")},
		{Min: 0.75, Label: "75 % or more", Fill: Hex("#a50f15"), Hatch: Hex("#67000d")},
	}
}

// HHI thresholds in the usual competition-authority reading.
const (
	HHIModerate = 1500
	HHIHigh     = 2500
)

// HHIBins classes Herfindahl–Hirschman indices (0–10,000).
func HHIBins() []Bin {
	return []Bin{
		{Min: 0, Label: "Unconcentrated (under 1,500)", Fill: Hex("#dadaeb")},
		{Min: HHIModerate, Label: "Moderately concentrated (1,500–2,500)", Fill: Hex("#9e9ac8")},
		{Min: HHIHigh + 1e-6, Label: "Highly concentrated (over 2,500)", Fill: Hex("#6a51a3")},
		{Min: 9999.5, Label: "One supplier (10,000)", Fill: Hex("#3f007d"), Hatch: Hex("#bcbddc")},
	}
}

// HHIBand names the band of an HHI value.
func HHIBand(h float64) string {
	switch {
	case h >= 9999.5:
		return "One supplier"
	case h > HHIHigh:
		return "Highly concentrated"
	case h >= HHIModerate:
		return "Moderately concentrated"
	}
	return "Unconcentrated"
}

// labeller places groups of centred text lines without overlap.
type labeller struct{ boxes [][4]float64 }

func (l *labeller) place(s *Scene, lines []*Text) {
	l.placeWithin(s, lines, math.Inf(-1), math.Inf(1), false)
}

// placeWithin places lines at the first nudge that clears the labels
// already placed and stays between x0 and x1 (shifted sideways if need
// be); with optional, lines that find no such place are left out.
func (l *labeller) placeWithin(s *Scene, lines []*Text, x0, x1 float64, optional bool) {
	box := func(dy float64) [4]float64 {
		b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for _, t := range lines {
			w := textWidth(t.S, t.Size, t.Bold)
			b[0], b[2] = math.Min(b[0], t.X-w/2-2), math.Max(b[2], t.X+w/2+2)
			b[1], b[3] = math.Min(b[1], t.Y+dy-t.Size), math.Max(b[3], t.Y+dy+3)
		}
		return b
	}
	// Keep the lines inside the picture.
	if b := box(0); b[0] < x0 || b[2] > x1 {
		dx := x0 - b[0]
		if b[2] > x1 {
			dx = x1 - b[2]
		}
		for _, t := range lines {
			t.X += dx
		}
	}
	clear := func(b [4]float64) bool {
		for _, o := range l.boxes {
			if b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3] {
				return false
			}
		}
		return true
	}
	dy, found := 0.0, false
	for _, try := range []float64{0, 14, -14, 28, -28, 42, -42} {
		if clear(box(try)) {
			dy, found = try, true
			break
		}
	}
	if !found && optional {
		return
	}
	l.boxes = append(l.boxes, box(dy))
	for _, t := range lines {
		t.Y += dy
		s.Add(t)
	}
}
