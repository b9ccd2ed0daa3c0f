package supplyviz

import (
	"image/color"
	"io"
	"math"

	"github.com/fogleman/gg"
	"github.com/golang/freetype/truetype"
	"golang.org/x/image/font"
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
func WritePNG(w io.Writer, s *Scene, scale float64) error {
	pw, ph, sc := PNGSize(s, scale)
	dc := gg.NewContext(pw, ph)
	r := &pngPrinter{dc: dc, scale: sc, faces: map[faceKey]font.Face{}}
	if s.Background.none() {
		dc.SetColor(color.White)
	} else {
		dc.SetColor(rgba(s.Background))
	}
	dc.Clear()
	dc.Scale(sc, sc)
	dc.SetLineJoinRound()
	dc.SetFillRuleEvenOdd()
	for _, it := range s.Items {
		r.shape(it)
	}
	return dc.EncodePNG(w)
}

type faceKey struct {
	size float64
	bold bool
}

type pngPrinter struct {
	dc    *gg.Context
	scale float64
	faces map[faceKey]font.Face
}

func rgba(c Color) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, c.A} }

func (r *pngPrinter) face(size float64, bold bool) font.Face {
	k := faceKey{math.Round(size*r.scale*4) / 4, bold}
	f, ok := r.faces[k]
	if !ok {
		f = truetype.NewFace(fontFor(bold), &truetype.Options{Size: k.size, DPI: 72, Hinting: font.HintingNone})
		r.faces[k] = f
	}
	return f
}

// paint fills and strokes the current path (which build sets up again for
// each pass, since gg consumes it).
func (r *pngPrinter) paint(pt Paint, bbox [4]float64, build func()) {
	dc := r.dc
	if !pt.Fill.none() {
		build()
		dc.SetColor(rgba(pt.Fill))
		dc.Fill()
	}
	if !pt.Hatch.none() {
		build()
		dc.Clip()
		// Diagonal lines like the SVG pattern: 6 units apart, 2.2 wide,
		// only across the shape's box (lines across the whole canvas cost
		// the rasteriser seconds per shape).
		dc.SetColor(rgba(pt.Hatch))
		dc.SetLineWidth(2.2)
		dc.SetDash()
		x0, y0, x1, y1 := bbox[0]-3, bbox[1]-3, bbox[2]+3, bbox[3]+3
		h := y1 - y0
		// Phase the lines to scene coordinates, so neighbours line up.
		start := math.Floor((x0-h)/(6*math.Sqrt2)) * 6 * math.Sqrt2
		for x := start; x < x1; x += 6 * math.Sqrt2 {
			dc.DrawLine(x, y0, x+h, y1)
		}
		dc.Stroke()
		dc.ResetClip()
	}
	if !pt.Stroke.none() && pt.Width > 0 {
		build()
		dc.SetColor(rgba(pt.Stroke))
		dc.SetLineWidth(pt.Width)
		dc.SetDash(pt.Dash...)
		dc.Stroke()
		dc.SetDash()
	}
}

func (r *pngPrinter) shape(it Shape) {
	dc := r.dc
	switch x := it.(type) {
	case *Rect:
		if x.W <= 0 || x.H <= 0 {
			return
		}
		r.paint(x.Paint, [4]float64{x.X, x.Y, x.X + x.W, x.Y + x.H}, func() {
			dc.NewSubPath()
			if x.Radius > 0 {
				dc.DrawRoundedRectangle(x.X, x.Y, x.W, x.H, math.Min(x.Radius, math.Min(x.W, x.H)/2))
			} else {
				dc.DrawRectangle(x.X, x.Y, x.W, x.H)
			}
		})
	case *Path:
		if len(x.Segs) == 0 {
			return
		}
		r.paint(x.Paint, segBox(x.Segs), func() {
			for _, s := range x.Segs {
				switch s.Op {
				case MoveTo:
					dc.MoveTo(s.Pts[0].X, s.Pts[0].Y)
				case LineTo:
					dc.LineTo(s.Pts[0].X, s.Pts[0].Y)
				case CubicTo:
					dc.CubicTo(s.Pts[0].X, s.Pts[0].Y, s.Pts[1].X, s.Pts[1].Y, s.Pts[2].X, s.Pts[2].Y)
				case Close:
					dc.ClosePath()
				}
			}
		})
	case *Text:
		if x.S == "" || x.Size <= 0 {
			return
		}
		dc.SetFontFace(r.face(x.Size, x.Bold))
		ax := 0.0
		switch x.Anchor {
		case Middle:
			ax = 0.5
		case End:
			ax = 1
		}
		// gg places glyphs at transformed positions but does not scale
		// them: the face is already scaled, so anchor with its own width.
		px, py := dc.TransformPoint(x.X, x.Y)
		dc.Push()
		dc.Identity()
		if !x.Halo.none() {
			dc.SetColor(rgba(x.Halo))
			d := 1.5 * r.scale
			for _, o := range [][2]float64{{-d, 0}, {d, 0}, {0, -d}, {0, d}, {-d, -d}, {d, d}, {-d, d}, {d, -d}} {
				dc.DrawStringAnchored(x.S, px+o[0], py+o[1], ax, 0)
			}
		}
		c := x.Color
		if c.none() {
			c = ink
		}
		dc.SetColor(rgba(c))
		dc.DrawStringAnchored(x.S, px, py, ax, 0)
		dc.Pop()
	case *Group:
		for _, c := range x.Items {
			r.shape(c)
		}
	}
}

func segBox(segs []Seg) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, s := range segs {
		n := 1
		switch s.Op {
		case Close:
			n = 0
		case CubicTo:
			n = 3
		}
		for _, p := range s.Pts[:n] {
			b[0], b[1] = math.Min(b[0], p.X), math.Min(b[1], p.Y)
			b[2], b[3] = math.Max(b[2], p.X), math.Max(b[3], p.Y)
		}
	}
	if math.IsInf(b[0], 0) {
		return [4]float64{}
	}
	return b
}
