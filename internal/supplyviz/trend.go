package supplyviz

import (
	"fmt"
	"time"

	"github.com/vigil-health/vigil/internal/supply"
)

const (
	trendPlotH = 240.0
	trendAxisL = 64.0 // room for the HHI labels left of the plot
	trendAxisR = 52.0 // and the share labels right of it
	// trendMaxMarkers: beyond this many snapshots the lines carry no
	// markers (they would touch) and no per-point tooltips.
	trendMaxMarkers = 60
)

var (
	hhiLine   = Hex("#0072b2") // Okabe–Ito blue
	shareLine = Hex("#009e73") // Okabe–Ito bluish green: apart from blue for every common deficiency
	threshold = Hex("#d5281b")
	threshInk = Hex("#aa2016")
)

// TrendChart draws how one group's concentration changed across recorded
// snapshots, oldest first: the Herfindahl–Hirschman index as a solid line
// with round markers, the largest supplier group's share as a dashed line
// with square markers, and the 1,500 and 2,500 thresholds. Both lines use
// one vertical scale — HHI 0–10,000 on the left, share 0–100 % on the
// right — which is exact, not a convenience: one supplier with every
// organisation is both 10,000 and 100 %. Where the largest supplier
// changes (and at the first snapshot) its name is written by its marker;
// o.Names maps supplier IDs to names (IDs are shown when absent).
//
// Snapshots are placed by the time they were taken, so a gap in recording
// shows as a gap; when all share one instant they are evenly spaced.
func TrendChart(points []supply.TrendPoint, o ChartOptions) *Scene {
	width := margin + chartLabelW + chartBarW + chartValW + margin
	top := headerH + 8 + 20 + 24
	height := top + trendPlotH + 34 + 40
	if o.Footer != "" {
		height += 18
	}
	title := o.Title
	if title == "" {
		title = "Concentration over recorded snapshots"
	}
	s := &Scene{Width: width, Height: height, Background: white, Title: title}
	chartHeader(s, title, o.Subtitle)

	// Legend: the two lines and the thresholds, each drawn as it appears.
	x, y := margin, headerH+8.0
	legend := func(sample []Shape, label string) {
		s.Add(sample...)
		s.Add(&Text{X: x + 34, Y: y + 11.5, S: label, Size: 11, Color: ink})
		x += 34 + textWidth(label, 11, false) + 18
	}
	hl := &Path{Paint: Paint{Stroke: hhiLine, Width: 2.2}}
	hl.MoveTo(x, y+7)
	hl.LineTo(x+28, y+7)
	legend([]Shape{hl, dot(x+14, y+7)}, "HHI (left axis)")
	sl := &Path{Paint: Paint{Stroke: shareLine, Width: 2.2, Dash: []float64{6, 3}}}
	sl.MoveTo(x, y+7)
	sl.LineTo(x+28, y+7)
	legend([]Shape{sl, square(x+14, y+7)}, "Largest supplier's share (right axis)")
	tl := &Path{Paint: Paint{Stroke: threshold, Width: 1.6, Dash: []float64{5, 3}}}
	tl.MoveTo(x, y+7)
	tl.LineTo(x+28, y+7)
	legend([]Shape{tl}, "Thresholds")

	px0, px1 := margin+trendAxisL, width-margin-trendAxisR
	bottom := top + trendPlotH
	yOf := func(hhi float64) float64 { return top + (1-min(max(hhi, 0), 10000)/10000)*trendPlotH }
	for _, v := range []float64{0, 2500, 5000, 7500, 10000} {
		gy := yOf(v)
		p := &Path{Paint: Paint{Stroke: rule, Width: 1}}
		p.MoveTo(px0, gy)
		p.LineTo(px1, gy)
		s.Add(p,
			&Text{X: px0 - 6, Y: gy + 4, S: thousands(v), Size: 10.5, Anchor: End, Color: ink2},
			&Text{X: px1 + 6, Y: gy + 4, S: fmt.Sprintf("%d %%", int(v/100)), Size: 10.5, Color: ink2})
	}
	s.Add(&Text{X: px0 - 6, Y: top - 10, S: "HHI", Size: 10.5, Bold: true, Anchor: End, Color: ink2},
		&Text{X: px1 + 6, Y: top - 10, S: "Share", Size: 10.5, Bold: true, Color: ink2})
	for _, t := range []struct {
		v     float64
		label string
	}{{HHIModerate, "1,500 moderately concentrated"}, {HHIHigh, "2,500 highly concentrated"}} {
		gy := yOf(t.v)
		p := &Path{Paint: Paint{Stroke: threshold, Width: 1.6, Dash: []float64{5, 3}}}
		p.MoveTo(px0, gy)
		p.LineTo(px1, gy)
		s.Add(p, &Text{X: px1 - 4, Y: gy - 4, S: t.label, Size: 10.5, Bold: true, Anchor: End, Color: threshInk, Halo: white})
	}
	axis := &Path{Paint: Paint{Stroke: ruleDark, Width: 1}}
	axis.MoveTo(px0, bottom)
	axis.LineTo(px1, bottom)
	s.Add(axis)

	xs := trendXs(points, px0+20, px1-20)
	if len(points) < 2 {
		msg := "No snapshots recorded yet: nothing to compare."
		if len(points) == 1 {
			msg = "One snapshot so far: a trend needs at least two."
		}
		// Above the lone point, or below it when it is high.
		my := top + 36
		if len(points) == 1 && max(points[0].HHI, points[0].TopShare*10000) > 7000 {
			my = bottom - 50
		}
		s.Add(&Text{X: (px0 + px1) / 2, Y: my, S: msg, Size: 13, Anchor: Middle, Color: ink2, Halo: white})
	}
	name := o.supplierName
	trendLines(s, points, xs, yOf, name)
	// The largest supplier's name where it changes.
	for i, p := range points {
		if i > 0 && p.TopSupplierID == points[i-1].TopSupplierID || p.TopSupplierID == "" {
			continue
		}
		sy := yOf(p.TopShare * 10000)
		ty := sy - 9
		if ty < top+12 || (p.HHI > p.TopShare*10000 && yOf(p.HHI)-sy < 16) {
			ty = sy + 18
		}
		anchor := Middle
		switch {
		case i == 0 && len(points) > 1:
			anchor = Start
		case i == len(points)-1 && len(points) > 1:
			anchor = End
		}
		s.Add(&Text{X: xs[i], Y: ty, S: fit(name(p.TopSupplierID), 10.5, true, 200), Size: 10.5, Bold: true, Anchor: anchor, Color: ink, Halo: white})
	}
	// Dates under the axis, skipping any that would touch the one before.
	withTime := false
	for i := 1; i < len(points); i++ {
		withTime = withTime || trendDate(points[i].TakenAt, false) == trendDate(points[i-1].TakenAt, false)
	}
	lastEnd := px0 - 1000
	for i, p := range points {
		lab := trendDate(p.TakenAt, withTime)
		w := textWidth(lab, 10.5, false)
		left := xs[i] - w/2
		if left < lastEnd+8 {
			continue
		}
		tick := &Path{Paint: Paint{Stroke: ruleDark, Width: 1}}
		tick.MoveTo(xs[i], bottom)
		tick.LineTo(xs[i], bottom+4)
		s.Add(tick, &Text{X: xs[i], Y: bottom + 17, S: lab, Size: 10.5, Anchor: Middle, Color: ink2})
		lastEnd = left + w
	}
	fy := bottom + 34 + 18
	s.Add(&Text{X: margin, Y: fy, S: "HHI: the sum of squared percentage shares, 0–10,000; one supplier serving every organisation is 10,000 and 100 %.", Size: 10.5, Color: ink2})
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: fy + 18, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	s.Desc = trendDesc(points, name)
	return s
}

// supplierName is o.Names[id], or id when it has no name.
func (o ChartOptions) supplierName(id string) string {
	if n := o.Names[id]; n != "" {
		return n
	}
	return id
}

// trendLines draws the HHI line and the largest supplier's share (dashed)
// through the points at xs, and each point's markers with its tooltip.
func trendLines(s *Scene, points []supply.TrendPoint, xs []float64, yOf func(float64) float64, name func(string) string) {
	if len(points) > 1 {
		hp := &Path{Paint: Paint{Stroke: hhiLine, Width: 2.2}}
		sp := &Path{Paint: Paint{Stroke: shareLine, Width: 2.2, Dash: []float64{6, 3}}}
		for i, p := range points {
			if i == 0 {
				hp.MoveTo(xs[i], yOf(p.HHI))
				sp.MoveTo(xs[i], yOf(p.TopShare*10000))
				continue
			}
			hp.LineTo(xs[i], yOf(p.HHI))
			sp.LineTo(xs[i], yOf(p.TopShare*10000))
		}
		s.Add(sp, hp)
	}
	if len(points) <= trendMaxMarkers {
		for i, p := range points {
			s.Add(&Group{Title: fmt.Sprintf("%s: HHI %s (%s), largest %s %s, %d organisations",
				trendDate(p.TakenAt, true), thousands(p.HHI), HHIBand(p.HHI), name(p.TopSupplierID), pct(p.TopShare), p.Organisations),
				Items: []Shape{square(xs[i], yOf(p.TopShare*10000)), dot(xs[i], yOf(p.HHI))}})
		}
	}
}

// trendXs places the points between x0 and x1 by when they were taken, or
// evenly when the times cannot be read or are all the same.
func trendXs(points []supply.TrendPoint, x0, x1 float64) []float64 {
	xs := make([]float64, len(points))
	if len(points) == 1 {
		xs[0] = (x0 + x1) / 2
	}
	if len(points) < 2 {
		return xs
	}
	ts := make([]time.Time, len(points))
	ok := true
	for i, p := range points {
		t, err := time.Parse(time.RFC3339Nano, p.TakenAt)
		ts[i], ok = t, ok && err == nil
	}
	span := ts[len(ts)-1].Sub(ts[0])
	for i := range points {
		if ok && span > 0 {
			xs[i] = x0 + float64(ts[i].Sub(ts[0]))/float64(span)*(x1-x0)
		} else {
			xs[i] = x0 + float64(i)/float64(len(points)-1)*(x1-x0)
		}
	}
	return xs
}

// trendDate writes a snapshot's time as "2 Jan 2026" (with the time of
// day, "2 Jan 2026 14:05", when asked); the raw text if it is not a time.
func trendDate(at string, withTime bool) string {
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return at
	}
	if withTime {
		return t.UTC().Format("2 Jan 2006 15:04")
	}
	return t.UTC().Format("2 Jan 2006")
}

func trendDesc(points []supply.TrendPoint, name func(string) string) string {
	switch len(points) {
	case 0:
		return "No concentration snapshots have been recorded."
	case 1:
		p := points[0]
		return fmt.Sprintf("One snapshot, %s: HHI %s (%s), largest supplier %s with %s.", trendDate(p.TakenAt, true), thousands(p.HHI), HHIBand(p.HHI), name(p.TopSupplierID), pct(p.TopShare))
	}
	a, b := points[0], points[len(points)-1]
	return fmt.Sprintf("%d snapshots from %s to %s. HHI went from %s (%s) to %s (%s); the largest supplier's share from %s (%s) to %s (%s).",
		len(points), trendDate(a.TakenAt, true), trendDate(b.TakenAt, true), thousands(a.HHI), HHIBand(a.HHI), thousands(b.HHI), HHIBand(b.HHI),
		pct(a.TopShare), name(a.TopSupplierID), pct(b.TopShare), name(b.TopSupplierID))
}

// dot is a round marker of the HHI line; square one of the share line.
func dot(x, y float64) Shape {
	return &Rect{X: x - 4, Y: y - 4, W: 8, H: 8, Radius: 4, Paint: Paint{Fill: hhiLine, Stroke: white, Width: 1.2}}
}

func square(x, y float64) Shape {
	return &Rect{X: x - 3.5, Y: y - 3.5, W: 7, H: 7, Paint: Paint{Fill: shareLine, Stroke: white, Width: 1.2}}
}
