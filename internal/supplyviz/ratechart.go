package supplyviz

import (
	"fmt"
	"strings"
)

// RatePoint is the share of organisations that had answered within
// Hours of being asked; Elapsed is false while the figure can still grow.
type RatePoint struct {
	Hours   int
	Count   int
	Rate    float64
	Elapsed bool
}

// RateOptions describe a response-rate chart.
type RateOptions struct {
	Title, Subtitle, Footer string
	// Of is how many organisations the rates are shares of.
	Of int
	// ClockHours draws a dashed line at the deadline (0: none).
	ClockHours int
}

var (
	rateLine  = Hex("#005eb8")
	clockLine = Hex("#d4351c")
)

// RateChart draws the cumulative share answered against hours since
// issue as a step line (the share only changes when someone answers), a
// marker and a percentage at each reported time, hollow where the time
// has not passed yet for every alert counted.
func RateChart(points []RatePoint, o RateOptions) *Scene {
	const plotH, axisL, axisR = 180.0, 44.0, 16.0
	width := 640.0
	top := headerH + 16
	bottom := top + plotH
	height := bottom + 44
	if o.Footer != "" {
		height += 18
	}
	s := &Scene{Width: width, Height: height, Background: white, Title: o.Title}
	chartHeader(s, o.Title, o.Subtitle)
	px0, px1 := margin+axisL, width-margin-axisR
	maxH := 168
	for _, p := range points {
		maxH = max(maxH, p.Hours)
	}
	xOf := func(h int) float64 { return px0 + float64(h)/float64(maxH)*(px1-px0) }
	yOf := func(r float64) float64 { return bottom - min(max(r, 0), 1)*plotH }
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		gy := yOf(v)
		g := &Path{Paint: Paint{Stroke: rule, Width: 1}}
		g.MoveTo(px0, gy)
		g.LineTo(px1, gy)
		s.Add(g, &Text{X: px0 - 6, Y: gy + 4, S: fmt.Sprintf("%d %%", int(v*100)), Size: 10.5, Anchor: End, Color: ink2})
	}
	axis := &Path{Paint: Paint{Stroke: ruleDark, Width: 1}}
	axis.MoveTo(px0, top)
	axis.LineTo(px0, bottom)
	axis.LineTo(px1, bottom)
	s.Add(axis)
	if o.ClockHours > 0 && o.ClockHours <= maxH {
		cx := xOf(o.ClockHours)
		c := &Path{Paint: Paint{Stroke: clockLine, Width: 1.6, Dash: []float64{5, 3}}}
		c.MoveTo(cx, top)
		c.LineTo(cx, bottom)
		s.Add(c, &Text{X: cx + 4, Y: top + 10, S: fmt.Sprintf("%d-hour clock", o.ClockHours), Size: 10.5, Bold: true, Color: clockLine, Halo: white})
	}
	line := &Path{Paint: Paint{Stroke: rateLine, Width: 2.2}}
	line.MoveTo(xOf(0), yOf(0))
	prev := 0.0
	for _, p := range points {
		x := xOf(p.Hours)
		line.LineTo(x, yOf(prev))
		line.LineTo(x, yOf(p.Rate))
		prev = p.Rate
	}
	s.Add(line)
	var desc []string
	lastEnd, anyOpen := px0-1000.0, false
	for i, p := range points {
		x, y := xOf(p.Hours), yOf(p.Rate)
		fill, so := rateLine, ""
		if !p.Elapsed {
			fill, so, anyOpen = white, " so far", true
		}
		what := fmt.Sprintf("Within %d hours: %d of %d (%s%s)", p.Hours, p.Count, o.Of, pct(p.Rate), so)
		desc = append(desc, what)
		items := []Shape{&Rect{X: x - 4, Y: y - 4, W: 8, H: 8, Radius: 4, Paint: Paint{Fill: fill, Stroke: rateLine, Width: 1.6}}}
		// The percentage where it changes (and first), unless it would
		// touch the one before; every value is in the tooltip and the table.
		label := pct(p.Rate)
		lw := textWidth(label, 10.5, true)
		anchor, left := Middle, x-lw/2
		if x+lw/2 > width-margin {
			anchor, left = End, x-lw
		}
		if (i == 0 || p.Rate != points[i-1].Rate) && left > lastEnd+6 {
			ly := y - 9
			if ly < top+8 {
				ly = y + 18
			}
			items = append(items, &Text{X: x, Y: ly, S: label, Size: 10.5, Bold: true, Anchor: anchor, Color: ink, Halo: white})
			lastEnd = left + lw
		}
		s.Add(&Group{Title: what, Attrs: []Attr{{"class", "rate-point"}, {"data-hours", fmt.Sprint(p.Hours)}}, Items: items})
		tick := &Path{Paint: Paint{Stroke: ruleDark, Width: 1}}
		tick.MoveTo(x, bottom)
		tick.LineTo(x, bottom+4)
		s.Add(tick, &Text{X: x, Y: bottom + 17, S: fmt.Sprintf("%dh", p.Hours), Size: 10.5, Anchor: Middle, Color: ink2})
	}
	axisNote := "Hours since issue"
	if anyOpen {
		axisNote += " (hollow: not yet that long for every alert counted, so the share can still grow)"
	}
	s.Add(&Text{X: (px0 + px1) / 2, Y: bottom + 34, S: fit(axisNote, 10.5, false, width-2*margin), Size: 10.5, Anchor: Middle, Color: ink2})
	if o.Footer != "" {
		s.Add(&Text{X: margin, Y: bottom + 52, S: fit(o.Footer, 11, false, width-2*margin), Size: 11, Color: ink2})
	}
	s.Desc = strings.Join(desc, "; ") + "."
	return s
}

// Beside places scenes left to right, tops aligned, gap apart, as one
// picture (a PNG export of two maps); nil scenes are left out.
func Beside(title string, gap float64, scenes ...*Scene) *Scene {
	out := &Scene{Title: title, Background: white}
	var descs []string
	x := 0.0
	for _, sc := range scenes {
		if sc == nil {
			continue
		}
		if out.Width > 0 {
			x += gap
		}
		for _, it := range sc.Items {
			out.Add(shift(it, x, 0))
		}
		x += sc.Width
		out.Width = x
		out.Height = max(out.Height, sc.Height)
		if sc.Desc != "" {
			descs = append(descs, sc.Desc)
		}
	}
	if len(out.Items) == 0 {
		return nil
	}
	out.Desc = strings.Join(descs, " ")
	return out
}

// shift is a copy of sh moved by dx, dy.
func shift(sh Shape, dx, dy float64) Shape {
	switch v := sh.(type) {
	case *Rect:
		c := *v
		c.X, c.Y = c.X+dx, c.Y+dy
		return &c
	case *Text:
		c := *v
		c.X, c.Y = c.X+dx, c.Y+dy
		return &c
	case *Path:
		c := *v
		c.Segs = make([]Seg, len(v.Segs))
		for i, sg := range v.Segs {
			for j := range sg.Pts {
				sg.Pts[j].X += dx
				sg.Pts[j].Y += dy
			}
			c.Segs[i] = sg
		}
		return &c
	case *Group:
		c := *v
		c.Items = make([]Shape, len(v.Items))
		for i, it := range v.Items {
			c.Items[i] = shift(it, dx, dy)
		}
		return &c
	}
	return sh
}
