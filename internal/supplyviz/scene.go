// Package supplyviz draws the supply chain's pictures: the dependency graph
// around a supplier, product or organisation, choropleth maps of England by
// ICB or region (impact and concentration), and concentration charts. The
// maps are drawn on the boundaries that package geo keeps.
//
// Every picture is built as a Scene — a few shapes, paths and texts in
// drawing order — and printed by one of two small printers: WriteSVG
// (accessible: role="img", <title> and <desc>, real text) and WritePNG
// (raster, for documents that cannot take SVG). Both are pure Go, need no
// network and are deterministic: the same input gives the same bytes, so
// the SVG printer is tested with golden files.
package supplyviz

import (
	"fmt"
	"strconv"
)

// Color is an sRGB colour; A = 0 means "none".
type Color struct{ R, G, B, A uint8 }

// Hex parses "#rrggbb" (anything else is black), fully opaque.
func Hex(s string) Color {
	if len(s) != 7 || s[0] != '#' {
		return Color{A: 255}
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return Color{A: 255}
	}
	return Color{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

// None is the absent colour.
var None = Color{}

func (c Color) none() bool { return c.A == 0 }

func (c Color) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Paint is how a shape is filled and outlined.
type Paint struct {
	Fill   Color
	Stroke Color
	Width  float64   // stroke width
	Dash   []float64 // stroke dash pattern; nil is solid
	// Hatch draws diagonal lines of this colour over the fill, so that a
	// class is told apart by pattern as well as by colour.
	Hatch Color
}

// Shape is one drawable item of a Scene: *Rect, *Path, *Text or *Group.
type Shape interface{ shape() }

// Rect is a rectangle with optionally rounded corners.
type Rect struct {
	X, Y, W, H float64
	Radius     float64
	Paint
}

// Op is a path operation.
type Op uint8

// Path operations.
const (
	MoveTo Op = iota
	LineTo
	CubicTo // three points: two controls and the end
	Close
)

// Seg is one path operation and its points.
type Seg struct {
	Op  Op
	Pts [3]Point
}

// Point is a position in scene units (1 unit = 1 CSS pixel).
type Point struct{ X, Y float64 }

// Path is a sequence of subpaths; filled with the even-odd rule so that
// holes (a lake in a boundary) stay empty.
type Path struct {
	Segs []Seg
	Paint
}

// MoveTo starts a subpath.
func (p *Path) MoveTo(x, y float64) { p.Segs = append(p.Segs, Seg{Op: MoveTo, Pts: [3]Point{{x, y}}}) }

// LineTo adds a line.
func (p *Path) LineTo(x, y float64) { p.Segs = append(p.Segs, Seg{Op: LineTo, Pts: [3]Point{{x, y}}}) }

// CubicTo adds a cubic Bézier curve.
func (p *Path) CubicTo(x1, y1, x2, y2, x, y float64) {
	p.Segs = append(p.Segs, Seg{Op: CubicTo, Pts: [3]Point{{x1, y1}, {x2, y2}, {x, y}}})
}

// Close closes the subpath.
func (p *Path) Close() { p.Segs = append(p.Segs, Seg{Op: Close}) }

// Anchor is a text's horizontal alignment at its X.
type Anchor uint8

// Text anchors.
const (
	Start Anchor = iota
	Middle
	End
)

// Text is one line of text with its baseline at Y.
type Text struct {
	X, Y   float64
	S      string
	Size   float64
	Bold   bool
	Anchor Anchor
	Color  Color
	// Halo outlines the glyphs in this colour, to keep a label readable
	// over a coloured map.
	Halo Color
}

// Attr is an extra SVG attribute of a group: class, or data-* for the
// page's script. Other names are dropped by the printer.
type Attr struct{ Name, Value string }

// Group gathers shapes. In SVG it becomes <g>, with Title as its tooltip
// and accessible name, and Link (when the printer is asked for links) as an
// <a> around it; PNG ignores all but the shapes.
type Group struct {
	Title string
	Link  string
	Attrs []Attr
	Items []Shape
}

func (*Rect) shape()  {}
func (*Path) shape()  {}
func (*Text) shape()  {}
func (*Group) shape() {}

// Scene is a picture: a size, a title and description for accessibility,
// a background, and shapes in drawing order.
type Scene struct {
	Width, Height float64
	Title, Desc   string
	Background    Color
	Items         []Shape
}

// Add appends shapes.
func (s *Scene) Add(items ...Shape) { s.Items = append(s.Items, items...) }

// Colours shared by the pictures. Text colours meet WCAG AA on white.
var (
	white    = Hex("#ffffff")
	ink      = Hex("#212b32")
	ink2     = Hex("#4c6272")
	rule     = Hex("#d8dde0")
	ruleDark = Hex("#768692")
	paleGrey = Hex("#f0f4f5")
	darkBlue = Hex("#003087")
)

// fontFamily is what SVG readers fall back through; widths are measured
// with the Go font that the PNG printer embeds, which is at least as wide
// as these, so labels that fit in PNG fit in SVG.
const fontFamily = "Liberation Sans, Arial, Helvetica, sans-serif"
