package supplyviz

import (
	"bufio"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
)

// SVGOptions tune WriteSVG.
type SVGOptions struct {
	// IDPrefix keeps the ids of the title, description and patterns unique
	// when several pictures sit in one HTML page.
	IDPrefix string
	// Inline writes the picture for embedding in an HTML page: no XML
	// declaration and links on groups that have them. Its width and
	// height are the drawn size (times Scale); the page's stylesheet may
	// scale it to the column, the viewBox keeping its proportions.
	Inline bool
	// Scale multiplies the width and height the picture asks for (not its
	// drawing): 1.2 shows every text 20 % larger wherever the picture is
	// shown at its own size. Zero means 1.
	Scale float64
}

// WriteSVG prints s as an SVG 1.1 document. The root has role="img" and is
// labelled by its <title> and described by its <desc>; texts are real text,
// so screen readers and search can read labels. Only presentation
// attributes are used (no style elements or attributes, no script), so an
// inline picture passes a Content-Security-Policy without 'unsafe-inline'.
func WriteSVG(w io.Writer, s *Scene, o SVGOptions) error {
	bw := bufio.NewWriter(w)
	p := &svgPrinter{w: bw, o: o, hatches: map[Color]string{}}
	p.scene(s)
	return bw.Flush()
}

type svgPrinter struct {
	w       *bufio.Writer
	o       SVGOptions
	hatches map[Color]string
	order   []Color
}

func (p *svgPrinter) str(s string) { p.w.WriteString(s) }

func (p *svgPrinter) attr(name, v string) {
	p.str(" ")
	p.str(name)
	p.str(`="`)
	xml.EscapeText(p.w, []byte(v))
	p.str(`"`)
}

func (p *svgPrinter) num(name string, v float64) { p.attr(name, fnum(v)) }

// fnum formats a coordinate to at most two decimals, without trailing zeros.
func fnum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0" // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (p *svgPrinter) scene(s *Scene) {
	w, h := math.Max(s.Width, 1), math.Max(s.Height, 1)
	id := p.o.IDPrefix
	if !p.o.Inline {
		p.str(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	p.str(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1"`)
	p.attr("viewBox", "0 0 "+fnum(w)+" "+fnum(h))
	k := p.o.Scale
	if k <= 0 {
		k = 1
	}
	p.num("width", w*k)
	p.num("height", h*k)
	p.attr("role", "img")
	p.attr("aria-labelledby", id+"title "+id+"desc")
	p.attr("font-family", fontFamily)
	p.str(">\n<title")
	p.attr("id", id+"title")
	p.str(">")
	xml.EscapeText(p.w, []byte(s.Title))
	p.str("</title>\n<desc")
	p.attr("id", id+"desc")
	p.str(">")
	xml.EscapeText(p.w, []byte(s.Desc))
	p.str("</desc>\n")
	p.collectHatches(s.Items)
	if len(p.order) > 0 {
		p.str("<defs>\n")
		for _, c := range p.order {
			// Lines 45° apart, 6 units apart: visible in print and in grey.
			p.str(`<pattern patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"`)
			p.attr("id", p.hatches[c])
			p.str(`><rect width="2.2" height="6"`)
			p.attr("fill", c.hex())
			p.opacity("fill-opacity", c)
			p.str("/></pattern>\n")
		}
		p.str("</defs>\n")
	}
	if !s.Background.none() {
		p.str(`<rect x="0" y="0"`)
		p.num("width", w)
		p.num("height", h)
		p.attr("fill", s.Background.hex())
		p.str("/>\n")
	}
	for _, it := range s.Items {
		p.shape(it)
	}
	p.str("</svg>\n")
}

func (p *svgPrinter) collectHatches(items []Shape) {
	for _, it := range items {
		var h Color
		switch x := it.(type) {
		case *Rect:
			h = x.Hatch
		case *Path:
			h = x.Hatch
		case *Group:
			p.collectHatches(x.Items)
		}
		if !h.none() {
			if _, ok := p.hatches[h]; !ok {
				p.hatches[h] = p.o.IDPrefix + "hatch-" + strings.TrimPrefix(h.hex(), "#")
				p.order = append(p.order, h)
			}
		}
	}
}

func (p *svgPrinter) opacity(name string, c Color) {
	if c.A != 255 {
		p.attr(name, fnum(float64(c.A)/255))
	}
}

func (p *svgPrinter) paint(pt Paint, hatchPass bool) {
	switch {
	case hatchPass:
		p.attr("fill", "url(#"+p.hatches[pt.Hatch]+")")
		p.attr("stroke", "none")
		return
	case pt.Fill.none():
		p.attr("fill", "none")
	default:
		p.attr("fill", pt.Fill.hex())
		p.opacity("fill-opacity", pt.Fill)
	}
	if pt.Stroke.none() || pt.Width <= 0 {
		return
	}
	p.attr("stroke", pt.Stroke.hex())
	p.opacity("stroke-opacity", pt.Stroke)
	p.num("stroke-width", pt.Width)
	if len(pt.Dash) > 0 {
		ds := make([]string, len(pt.Dash))
		for i, d := range pt.Dash {
			ds[i] = fnum(d)
		}
		p.attr("stroke-dasharray", strings.Join(ds, " "))
	}
}

func (p *svgPrinter) shape(it Shape) {
	switch x := it.(type) {
	case *Rect:
		for pass := 0; pass < 2; pass++ {
			if pass == 1 && x.Hatch.none() {
				break
			}
			p.str("<rect")
			p.num("x", x.X)
			p.num("y", x.Y)
			p.num("width", math.Max(x.W, 0))
			p.num("height", math.Max(x.H, 0))
			if x.Radius > 0 {
				p.num("rx", x.Radius)
			}
			p.paint(x.Paint, pass == 1)
			p.str("/>\n")
		}
	case *Path:
		if len(x.Segs) == 0 {
			return
		}
		d := pathData(x.Segs)
		for pass := 0; pass < 2; pass++ {
			if pass == 1 && x.Hatch.none() {
				break
			}
			p.str("<path")
			p.attr("d", d)
			p.paint(x.Paint, pass == 1)
			if !x.Fill.none() || pass == 1 {
				p.attr("fill-rule", "evenodd")
			}
			p.str("/>\n")
		}
	case *Text:
		if x.S == "" {
			return
		}
		p.str("<text")
		p.num("x", x.X)
		p.num("y", x.Y)
		p.num("font-size", x.Size)
		if x.Bold {
			p.attr("font-weight", "bold")
		}
		switch x.Anchor {
		case Middle:
			p.attr("text-anchor", "middle")
		case End:
			p.attr("text-anchor", "end")
		}
		c := x.Color
		if c.none() {
			c = ink
		}
		p.attr("fill", c.hex())
		if !x.Halo.none() {
			p.attr("stroke", x.Halo.hex())
			p.attr("stroke-width", "3")
			p.attr("stroke-linejoin", "round")
			p.attr("paint-order", "stroke")
		}
		p.str(">")
		xml.EscapeText(p.w, []byte(x.S))
		p.str("</text>\n")
	case *Group:
		link := p.o.Inline && x.Link != ""
		if link {
			p.str("<a")
			p.attr("href", x.Link)
			p.str(">\n")
		}
		p.str("<g")
		for _, a := range x.Attrs {
			if a.Name == "class" || strings.HasPrefix(a.Name, "data-") && validDataName(a.Name) {
				p.attr(a.Name, a.Value)
			}
		}
		p.str(">\n")
		if x.Title != "" {
			p.str("<title>")
			xml.EscapeText(p.w, []byte(x.Title))
			p.str("</title>\n")
		}
		for _, c := range x.Items {
			p.shape(c)
		}
		p.str("</g>\n")
		if link {
			p.str("</a>\n")
		}
	}
}

func validDataName(n string) bool {
	for _, r := range n {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func pathData(segs []Seg) string {
	var b strings.Builder
	for _, s := range segs {
		switch s.Op {
		case MoveTo:
			b.WriteString("M" + fnum(s.Pts[0].X) + " " + fnum(s.Pts[0].Y))
		case LineTo:
			b.WriteString("L" + fnum(s.Pts[0].X) + " " + fnum(s.Pts[0].Y))
		case CubicTo:
			b.WriteString("C" + fnum(s.Pts[0].X) + " " + fnum(s.Pts[0].Y) + " " + fnum(s.Pts[1].X) + " " + fnum(s.Pts[1].Y) +
				" " + fnum(s.Pts[2].X) + " " + fnum(s.Pts[2].Y))
		case Close:
			b.WriteString("Z")
		}
	}
	return b.String()
}
