package supplyviz

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// MaxPNGPixels bounds a PNG's width and height, so a huge graph cannot ask
// for gigabytes of memory; larger scenes are scaled down to fit.
const MaxPNGPixels = 8000

// PNGSize is the pixel size WritePNG produces for s at scale.
func PNGSize(s *Scene, scale float64) (w, h int, eff float64) {
	if scale <= 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		scale = 1
	}
	sw, sh := math.Max(s.Width, 1), math.Max(s.Height, 1)
	if m := math.Max(sw, sh) * scale; m > MaxPNGPixels {
		scale *= MaxPNGPixels / m
	}
	return max(1, int(math.Ceil(sw*scale))), max(1, int(math.Ceil(sh*scale))), scale
}

// WritePNG rasterises s at scale (2 gives print-quality pixels for a page
// picture) with the embedded Go fonts, and encodes it as PNG.
//
// The printer draws what the SVG printer draws, in the same units: line
// widths, dashes, hatching and text halos are scene units times scale.
// Shapes are rasterised with golang.org/x/image/vector (anti-aliased, exact
// area coverage, the same bytes on every platform) one bounding box at a
// time, and text is drawn from the fonts' glyph outlines, so a halo is a
// real outline of the glyphs as in SVG's paint-order="stroke".
func WritePNG(w io.Writer, s *Scene, scale float64) error {
	pw, ph, sc := PNGSize(s, scale)
	img := image.NewRGBA(image.Rect(0, 0, pw, ph))
	bg := color.Color(color.White)
	if !s.Background.none() {
		bg = rgba(s.Background)
	}
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	r := &pngPrinter{img: img, scale: sc, buf: new(sfnt.Buffer)}
	for _, it := range s.Items {
		r.shape(it)
	}
	return png.Encode(w, img)
}

func rgba(c Color) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, c.A} }

type pngPrinter struct {
	img   *image.RGBA
	scale float64
	ras   vector.Rasterizer
	buf   *sfnt.Buffer
}

// vec is a point in device pixels.
type vec struct{ x, y float64 }

// contour is one flattened subpath in device pixels.
type contour struct {
	pts    []vec
	closed bool
}

func (r *pngPrinter) shape(it Shape) {
	switch x := it.(type) {
	case *Rect:
		if x.W <= 0 || x.H <= 0 {
			return
		}
		r.paint(x.Paint, rectSegs(x))
	case *Path:
		if len(x.Segs) == 0 {
			return
		}
		r.paint(x.Paint, x.Segs)
	case *Text:
		if x.S == "" || x.Size <= 0 {
			return
		}
		r.text(x)
	case *Group:
		for _, c := range x.Items {
			r.shape(c)
		}
	}
}

// rectSegs is a rectangle as a path, its corners rounded with cubic
// quarter circles when it has a radius.
func rectSegs(x *Rect) []Seg {
	var p Path
	rad := math.Min(x.Radius, math.Min(x.W, x.H)/2)
	x0, y0, x1, y1 := x.X, x.Y, x.X+x.W, x.Y+x.H
	if rad <= 0 {
		p.MoveTo(x0, y0)
		p.LineTo(x1, y0)
		p.LineTo(x1, y1)
		p.LineTo(x0, y1)
		p.Close()
		return p.Segs
	}
	k := rad * 0.5522847498 // control distance of a cubic quarter circle
	p.MoveTo(x0+rad, y0)
	p.LineTo(x1-rad, y0)
	p.CubicTo(x1-rad+k, y0, x1, y0+rad-k, x1, y0+rad)
	p.LineTo(x1, y1-rad)
	p.CubicTo(x1, y1-rad+k, x1-rad+k, y1, x1-rad, y1)
	p.LineTo(x0+rad, y1)
	p.CubicTo(x0+rad-k, y1, x0, y1-rad+k, x0, y1-rad)
	p.LineTo(x0, y0+rad)
	p.CubicTo(x0, y0+rad-k, x0+rad-k, y0, x0+rad, y0)
	p.Close()
	return p.Segs
}

// paint fills, hatches and strokes a path, in that order (as SVG does).
func (r *pngPrinter) paint(pt Paint, segs []Seg) {
	cs := r.flatten(segs)
	if len(cs) == 0 {
		return
	}
	if !pt.Fill.none() || !pt.Hatch.none() {
		// Paths are filled with the even-odd rule (a lake in a boundary
		// stays empty); the rasteriser fills by winding, so turn each
		// contour the way its depth asks.
		fill := evenOdd(cs)
		if !pt.Fill.none() {
			r.fill(fill, pt.Fill)
		}
		if !pt.Hatch.none() {
			r.hatch(fill, pt.Hatch)
		}
	}
	if !pt.Stroke.none() && pt.Width > 0 {
		dash := make([]float64, len(pt.Dash))
		for i, d := range pt.Dash {
			dash[i] = d * r.scale
		}
		r.fill(strokeOutline(cs, pt.Width*r.scale, dash), pt.Stroke)
	}
}

// flatten turns scene segments into contours in device pixels, curves
// into short lines.
func (r *pngPrinter) flatten(segs []Seg) []contour {
	var out []contour
	s := r.scale
	var start, last vec
	open := false // a contour is being built
	for _, g := range segs {
		switch g.Op {
		case MoveTo:
			start = vec{g.Pts[0].X * s, g.Pts[0].Y * s}
			last = start
			out = append(out, contour{pts: []vec{start}})
			open = true
		case LineTo, CubicTo:
			if !open {
				// After Close, drawing goes on from the closed contour's start.
				out = append(out, contour{pts: []vec{start}})
				last, open = start, true
			}
			c := &out[len(out)-1]
			if g.Op == LineTo {
				last = vec{g.Pts[0].X * s, g.Pts[0].Y * s}
				c.pts = append(c.pts, last)
				continue
			}
			p1 := vec{g.Pts[0].X * s, g.Pts[0].Y * s}
			p2 := vec{g.Pts[1].X * s, g.Pts[1].Y * s}
			p3 := vec{g.Pts[2].X * s, g.Pts[2].Y * s}
			c.pts = appendCubic(c.pts, last, p1, p2, p3)
			last = p3
		case Close:
			if open {
				out[len(out)-1].closed = true
				open = false
			}
			last = start
		}
	}
	return out
}

// flatness is how far (device pixels) a flattened curve may stray.
const flatness = 0.05

// appendCubic appends the cubic Bézier from a as evenly spaced lines, as
// many as its bend needs to stay within flatness.
func appendCubic(pts []vec, a, b, c, d vec) []vec {
	dd := math.Max(math.Hypot(a.x-2*b.x+c.x, a.y-2*b.y+c.y), math.Hypot(b.x-2*c.x+d.x, b.y-2*c.y+d.y))
	n := int(math.Ceil(math.Sqrt(0.75 * dd / flatness)))
	n = max(1, min(n, 100))
	for i := 1; i <= n; i++ {
		t := float64(i) / float64(n)
		u := 1 - t
		pts = append(pts, vec{
			u*u*u*a.x + 3*u*u*t*b.x + 3*u*t*t*c.x + t*t*t*d.x,
			u*u*u*a.y + 3*u*u*t*b.y + 3*u*t*t*c.y + t*t*t*d.y,
		})
	}
	return pts
}

func appendQuad(pts []vec, a, b, c vec) []vec {
	dd := math.Hypot(a.x-2*b.x+c.x, a.y-2*b.y+c.y)
	n := int(math.Ceil(math.Sqrt(0.25 * dd / flatness)))
	n = max(1, min(n, 100))
	for i := 1; i <= n; i++ {
		t := float64(i) / float64(n)
		u := 1 - t
		pts = append(pts, vec{u*u*a.x + 2*u*t*b.x + t*t*c.x, u*u*a.y + 2*u*t*b.y + t*t*c.y})
	}
	return pts
}

func area(pts []vec) float64 {
	a := 0.0
	for i := range pts {
		p, q := pts[i], pts[(i+1)%len(pts)]
		a += p.x*q.y - q.x*p.y
	}
	return a / 2
}

func reversed(pts []vec) []vec {
	out := make([]vec, len(pts))
	for i, p := range pts {
		out[len(pts)-1-i] = p
	}
	return out
}

// inside reports whether p is inside the closed polygon pts (even-odd).
func inside(p vec, pts []vec) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		a, b := pts[i], pts[j]
		if (a.y > p.y) != (b.y > p.y) && p.x < (b.x-a.x)*(p.y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
	}
	return in
}

func bounds(pts []vec) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range pts {
		b[0], b[1] = math.Min(b[0], p.x), math.Min(b[1], p.y)
		b[2], b[3] = math.Max(b[2], p.x), math.Max(b[3], p.y)
	}
	return b
}

// evenOdd orients contours so that filling by winding gives the even-odd
// result: a contour inside an even number of others (an outline, an
// island in a lake) turns one way, inside an odd number (a hole) the
// other. The rasteriser clamps coverage, so contours that merely overlap
// still fill once. Contours do not cross in the pictures (boundary rings,
// node boxes), which is what makes nesting depth the whole story.
func evenOdd(cs []contour) [][]vec {
	out := make([][]vec, 0, len(cs))
	for _, c := range cs {
		if len(c.pts) >= 3 {
			out = append(out, c.pts)
		}
	}
	if len(out) < 2 {
		return out
	}
	boxes := make([][4]float64, len(out))
	for i, p := range out {
		boxes[i] = bounds(p)
	}
	for i, p := range out {
		depth := 0
		for j, q := range out {
			if i == j {
				continue
			}
			b := boxes[j]
			if v := p[0]; v.x < b[0] || v.x > b[2] || v.y < b[1] || v.y > b[3] {
				continue
			}
			if inside(p[0], q) {
				depth++
			}
		}
		if (area(p) >= 0) != (depth%2 == 0) {
			out[i] = reversed(p)
		}
	}
	return out
}

// strokeOutline is the area a line of width w covers along the contours,
// with round joins and butt ends (SVG's default end, so dashes keep their
// gaps): a quadrilateral for every segment and a disc at every join, all
// turned the same way so that the rasteriser fills their union once. dash
// (device pixels) breaks the line into dashes.
func strokeOutline(cs []contour, w float64, dash []float64) [][]vec {
	type line struct {
		pts    []vec
		closed bool
	}
	var lines []line
	for _, c := range cs {
		pts := c.pts
		if c.closed && len(pts) > 1 && pts[0] != pts[len(pts)-1] {
			pts = append(pts[:len(pts):len(pts)], pts[0])
		}
		ds := dashed(pts, dash)
		for _, d := range ds {
			lines = append(lines, line{d, c.closed && len(ds) == 1})
		}
	}
	hw := w / 2
	var out [][]vec
	add := func(p []vec) {
		if area(p) < 0 {
			p = reversed(p)
		}
		out = append(out, p)
	}
	n := max(8, min(64, int(math.Ceil(2*math.Pi*hw/1.5))))
	disc := func(c vec) {
		p := make([]vec, n)
		for i := range p {
			a := 2 * math.Pi * float64(i) / float64(n)
			p[i] = vec{c.x + hw*math.Cos(a), c.y + hw*math.Sin(a)}
		}
		add(p)
	}
	for _, ln := range lines {
		l := ln.pts
		for i := 0; i+1 < len(l); i++ {
			a, b := l[i], l[i+1]
			d := math.Hypot(b.x-a.x, b.y-a.y)
			if d < 1e-9 {
				continue
			}
			nx, ny := -(b.y-a.y)/d*hw, (b.x-a.x)/d*hw
			add([]vec{{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}})
		}
		for i := 1; i+1 < len(l); i++ {
			disc(l[i])
		}
		if ln.closed && len(l) > 2 {
			disc(l[0]) // where the closed line meets itself
		}
	}
	return out
}

// dashed splits a polyline into the dashes of pattern (on, off, on, …);
// an empty or unusable pattern leaves it whole.
func dashed(pts []vec, pattern []float64) [][]vec {
	total := 0.0
	for _, d := range pattern {
		if d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			return [][]vec{pts}
		}
		total += d
	}
	if len(pattern) == 0 || total <= 0 {
		return [][]vec{pts}
	}
	if len(pattern)%2 == 1 { // SVG repeats an odd list to make it even
		pattern = append(pattern[:len(pattern):len(pattern)], pattern...)
	}
	var out [][]vec
	var cur []vec
	k, left, on := 0, pattern[0], true
	if on && len(pts) > 0 {
		cur = []vec{pts[0]}
	}
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		d := math.Hypot(b.x-a.x, b.y-a.y)
		at := 0.0
		for d-at > left {
			at += left
			t := at / d
			p := vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t}
			if on {
				out = append(out, append(cur, p))
				cur = nil
			} else {
				cur = []vec{p}
			}
			on = !on
			k = (k + 1) % len(pattern)
			left = pattern[k]
		}
		left -= d - at
		if on {
			cur = append(cur, b)
		}
	}
	if on && len(cur) > 1 {
		out = append(out, cur)
	}
	return out
}

// region is the pixel rectangle the polygons touch, within the picture.
func (r *pngPrinter) region(ps [][]vec) image.Rectangle {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range ps {
		pb := bounds(p)
		b[0], b[1] = math.Min(b[0], pb[0]), math.Min(b[1], pb[1])
		b[2], b[3] = math.Max(b[2], pb[2]), math.Max(b[3], pb[3])
	}
	if math.IsInf(b[0], 0) || math.IsNaN(b[0]+b[1]+b[2]+b[3]) {
		return image.Rectangle{}
	}
	lim := func(v float64) int { return int(math.Max(-1, math.Min(v, MaxPNGPixels+1))) }
	rect := image.Rect(lim(math.Floor(b[0])), lim(math.Floor(b[1])), lim(math.Ceil(b[2]))+1, lim(math.Ceil(b[3]))+1)
	return rect.Intersect(r.img.Bounds())
}

// rasterise adds the polygons, shifted to rect's origin, to the rasteriser.
func (r *pngPrinter) rasterise(ps [][]vec, rect image.Rectangle) {
	r.ras.Reset(rect.Dx(), rect.Dy())
	ox, oy := float64(rect.Min.X), float64(rect.Min.Y)
	for _, p := range ps {
		if len(p) < 3 {
			continue
		}
		r.ras.MoveTo(float32(p[0].x-ox), float32(p[0].y-oy))
		for _, q := range p[1:] {
			r.ras.LineTo(float32(q.x-ox), float32(q.y-oy))
		}
		r.ras.ClosePath()
	}
}

// fill paints the polygons' area (by winding, coverage clamped) in c.
func (r *pngPrinter) fill(ps [][]vec, c Color) {
	rect := r.region(ps)
	if rect.Empty() {
		return
	}
	r.rasterise(ps, rect)
	r.ras.DrawOp = draw.Over
	r.ras.Draw(r.img, rect, image.NewUniform(rgba(c)), image.Point{})
}

// mask is the polygons' coverage over rect.
func (r *pngPrinter) mask(ps [][]vec, rect image.Rectangle) *image.Alpha {
	m := image.NewAlpha(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	r.rasterise(ps, rect)
	r.ras.DrawOp = draw.Src
	r.ras.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	return m
}

// hatch draws the SVG printer's pattern over the shape: lines 2.2 units
// wide, 6 units apart at 45° (rising to the right), phased to scene
// coordinates so that neighbouring shapes' lines meet.
func (r *pngPrinter) hatch(shape [][]vec, c Color) {
	rect := r.region(shape)
	if rect.Empty() {
		return
	}
	in := r.mask(shape, rect)
	s := r.scale
	// In scene units a stripe is where (x+y)/√2 mod 6 is in [0, 2.2).
	x0, y0 := float64(rect.Min.X)/s-3, float64(rect.Min.Y)/s-3
	x1, y1 := float64(rect.Max.X)/s+3, float64(rect.Max.Y)/s+3
	var lines []contour
	for k := math.Floor((x0 + y0) / (6 * math.Sqrt2)); k*6*math.Sqrt2 <= x1+y1; k++ {
		c := math.Sqrt2 * (6*k + 1.1) // the stripe's centre line: x + y = c
		lines = append(lines, contour{pts: []vec{{(c - y0) * s, y0 * s}, {(c - y1) * s, y1 * s}}})
	}
	stripes := r.mask(strokeOutline(lines, 2.2*s, nil), rect)
	for i, a := range stripes.Pix {
		stripes.Pix[i] = uint8((uint32(a)*uint32(in.Pix[i]) + 127) / 255)
	}
	draw.DrawMask(r.img, rect, image.NewUniform(rgba(c)), image.Point{}, stripes, image.Point{}, draw.Over)
}

// text draws a line of text from the font's glyph outlines, its halo first
// (a 3-unit outline with round joins, as the SVG printer's stroke).
func (r *pngPrinter) text(x *Text) {
	f := fontFor(x.Bold)
	ppem := fixed.Int26_6(math.Round(x.Size * r.scale * 64))
	if ppem <= 0 {
		return
	}
	type glyph struct {
		i  sfnt.GlyphIndex
		at fixed.Int26_6
	}
	var gs []glyph
	var pen fixed.Int26_6
	prev := sfnt.GlyphIndex(0)
	for n, ch := range x.S {
		i, err := f.GlyphIndex(r.buf, ch)
		if err != nil {
			continue
		}
		if n > 0 {
			if k, err := f.Kern(r.buf, prev, i, ppem, font.HintingNone); err == nil {
				pen += k
			}
		}
		gs = append(gs, glyph{i, pen})
		if a, err := f.GlyphAdvance(r.buf, i, ppem, font.HintingNone); err == nil {
			pen += a
		}
		prev = i
	}
	ox := x.X * r.scale
	switch x.Anchor {
	case Middle:
		ox -= float64(pen) / 64 / 2
	case End:
		ox -= float64(pen) / 64
	}
	oy := x.Y * r.scale
	var cs []contour
	for _, g := range gs {
		segs, err := f.LoadGlyph(r.buf, g.i, ppem, nil)
		if err != nil {
			continue
		}
		gx := ox + float64(g.at)/64
		at := func(p fixed.Point26_6) vec { return vec{gx + float64(p.X)/64, oy + float64(p.Y)/64} }
		var last vec
		for _, sg := range segs {
			switch sg.Op {
			case sfnt.SegmentOpMoveTo:
				if n := len(cs); n > 0 {
					cs[n-1].closed = true
				}
				last = at(sg.Args[0])
				cs = append(cs, contour{pts: []vec{last}})
			case sfnt.SegmentOpLineTo:
				last = at(sg.Args[0])
				cs[len(cs)-1].pts = append(cs[len(cs)-1].pts, last)
			case sfnt.SegmentOpQuadTo:
				c := &cs[len(cs)-1]
				c.pts = appendQuad(c.pts, last, at(sg.Args[0]), at(sg.Args[1]))
				last = at(sg.Args[1])
			case sfnt.SegmentOpCubeTo:
				c := &cs[len(cs)-1]
				c.pts = appendCubic(c.pts, last, at(sg.Args[0]), at(sg.Args[1]), at(sg.Args[2]))
				last = at(sg.Args[2])
			}
		}
		if n := len(cs); n > 0 {
			cs[n-1].closed = true
		}
	}
	if len(cs) == 0 {
		return
	}
	if !x.Halo.none() {
		r.fill(strokeOutline(cs, 3*r.scale, nil), x.Halo)
	}
	c := x.Color
	if c.none() {
		c = ink
	}
	// Glyph outlines are filled by winding, as fonts are drawn.
	ps := make([][]vec, 0, len(cs))
	for _, k := range cs {
		ps = append(ps, k.pts)
	}
	r.fill(ps, c)
}
