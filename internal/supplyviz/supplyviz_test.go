package supplyviz

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/supply"
)

var update = flag.Bool("update", false, "rewrite testdata/*.svg golden files")

// smallGraph is the pathology case around the supplier: a supplier, its
// group parent, two products (one hosted), and deploying organisations.
func smallGraph() supply.Graph {
	return supply.Graph{
		Center: "supplier:SYNNOVIS", Depth: 2, Generation: 7,
		Nodes: []supply.GraphNode{
			{ID: "supplier:SYNNOVIS", Kind: "supplier", Label: "Synnovis Analytics LLP"},
			{ID: "supplier:SYNLAB", Kind: "supplier", Label: "SYNLAB AG"},
			{ID: "product:SYN-LIMS", Kind: "product", Label: "Synnovis pathology LIMS and managed service", Impact: "affected"},
			{ID: "product:DC-HOST", Kind: "product", Label: "Datacentre hosting"},
			{ID: "org:RJ1", Kind: "org", Label: "Guy's and St Thomas' NHS Foundation Trust", Impact: "hard-down"},
			{ID: "org:RJZ", Kind: "org", Label: "King's College Hospital NHS Foundation Trust", Impact: "hard-down"},
			{ID: "org:G85003", Kind: "org", Label: "Practice Three (Lewisham)", Impact: "degraded"},
			{ID: "org:F84001", Kind: "org", Label: "Practice Five (Tower Hamlets)", Impact: "exposed"},
		},
		Edges: []supply.GraphEdge{
			{From: "supplier:SYNLAB", To: "supplier:SYNNOVIS", Kind: "parent", Critical: true},
			{From: "supplier:SYNNOVIS", To: "product:SYN-LIMS", Kind: "owns", Critical: true},
			{From: "product:SYN-LIMS", To: "product:DC-HOST", Kind: "hosting", Critical: false},
			{From: "org:RJ1", To: "product:SYN-LIMS", Kind: "deployment", Critical: true, Service: "pathology"},
			{From: "org:RJZ", To: "product:SYN-LIMS", Kind: "deployment", Critical: true, Service: "pathology"},
			{From: "org:G85003", To: "product:SYN-LIMS", Kind: "deployment", Critical: true, Service: "pathology"},
			{From: "org:F84001", To: "product:SYN-LIMS", Kind: "deployment", Critical: false, Service: "pathology"},
		},
	}
}

// squares are two hand-made "ICBs" side by side (one with a hole) and a
// small one inside the London box, so the inset appears.
func squares() []geo.Boundary {
	sq := func(x0, y0, x1, y1 float64) [][2]float64 {
		return [][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	return []geo.Boundary{
		{Level: geo.LevelICB, Code: "QAA", Name: "NHS Alpha Integrated Care Board", Parent: "Y63", Label: [2]float64{-2, 53.5},
			Polygons: [][][][2]float64{{sq(-3, 53, -1, 54), sq(-2.2, 53.3, -1.8, 53.7)}}},
		{Level: geo.LevelICB, Code: "QBB", Name: "NHS Beta Integrated Care Board", Parent: "Y61", Label: [2]float64{0, 53.5},
			Polygons: [][][][2]float64{{sq(-1, 53, 1, 54)}}},
		{Level: geo.LevelICB, Code: "QKK", Name: "NHS South East London Integrated Care Board", Parent: "Y56", Label: [2]float64{-0.05, 51.45},
			Polygons: [][][][2]float64{{sq(-0.2, 51.35, 0.1, 51.55)}}},
	}
}

func concentration() supply.ConcentrationResult {
	return supply.ConcentrationResult{Service: "gp-clinical", By: supply.ByICB, Groups: []supply.ConcentrationGroup{
		{Code: "QKK", Name: "NHS South East London Integrated Care Board", Organisations: 4, HHI: 10000,
			Shares: []supply.Share{{SupplierID: "EMIS", Name: "EMIS Health", Organisations: 4, Share: 1}}},
		{Code: "QMF", Name: "NHS North East London Integrated Care Board", Organisations: 4, HHI: 3750,
			Shares: []supply.Share{{SupplierID: "EMIS", Name: "EMIS Health", Organisations: 2.5, Share: 0.625},
				{SupplierID: "TPP", Name: "The Phoenix Partnership", Organisations: 1, Share: 0.25},
				{SupplierID: "VIS", Name: "Vision", Organisations: 0.5, Share: 0.125}}},
		{Code: "QHM", Name: "NHS North East and North Cumbria Integrated Care Board", Organisations: 5, HHI: 2000,
			Shares: []supply.Share{{SupplierID: "TPP", Name: "The Phoenix Partnership", Organisations: 2, Share: 0.4},
				{SupplierID: "EMIS", Name: "EMIS Health", Organisations: 1, Share: 0.2}, {SupplierID: "VIS", Name: "Vision", Organisations: 1, Share: 0.2},
				{SupplierID: "MED", Name: "Medicus", Organisations: 1, Share: 0.2}}},
	}}
}

// trend is four snapshots a quarter apart: the market tips from EMIS to
// TPP (named by ID only, as the store has it).
func trend() []supply.TrendPoint {
	return []supply.TrendPoint{
		{TakenAt: "2026-03-01T09:00:00Z", Organisations: 4, HHI: 5312.5, TopSupplierID: "EMIS", TopShare: 0.625},
		{TakenAt: "2026-06-01T09:00:00Z", Organisations: 4, HHI: 2200, TopSupplierID: "EMIS", TopShare: 0.4},
		{TakenAt: "2026-09-01T09:00:00Z", Organisations: 5, HHI: 3400, TopSupplierID: "TPP", TopShare: 0.5},
		{TakenAt: "2026-12-01T15:30:00.5Z", Organisations: 5, HHI: 10000, TopSupplierID: "TPP", TopShare: 1},
	}
}

func mapOptions() MapOptions {
	return MapOptions{Title: "Organisations affected if Synnovis is compromised", Subtitle: "By ICB", LegendTitle: "Affected organisations",
		Values: map[string]MapValue{"QKK": {Value: 6, Label: "6", Detail: "6 affected, 2 hard-down"}, "QAA": {Value: 1, Label: "1", Detail: "1 affected"}},
		Bins:   CountBins(6), NoData: "Not affected", Unmapped: []string{"2 organisations with no ICB recorded"}}
}

func pictures() map[string]*Scene {
	return map[string]*Scene{
		"graph":         GraphPicture(smallGraph(), GraphOptions{Footer: "Vigil test", Link: func(id string) string { return "/suppliers/graph?node=" + id }}),
		"graph-empty":   GraphPicture(supply.Graph{}, GraphOptions{}),
		"map":           MapPicture(squares(), mapOptions()),
		"map-empty":     MapPicture(nil, MapOptions{Title: "Nothing"}),
		"shares":        SharesChart(concentration(), ChartOptions{Footer: "Vigil test"}),
		"hhi":           HHIChart(concentration(), ChartOptions{}),
		"shares-empty":  SharesChart(supply.ConcentrationResult{}, ChartOptions{}),
		"hhi-empty":     HHIChart(supply.ConcentrationResult{}, ChartOptions{}),
		"trend":         TrendChart(trend(), ChartOptions{Title: "Concentration of gp-clinical in NHS South East London ICB over time", Footer: "Vigil test", Names: map[string]string{"EMIS": "EMIS Health"}}),
		"trend-one":     TrendChart(trend()[:1], ChartOptions{}),
		"trend-empty":   TrendChart(nil, ChartOptions{}),
		"shares-phone":  SharesChartPhone(concentration(), ChartOptions{Footer: "Vigil test"}),
		"hhi-phone":     HHIChartPhone(concentration(), ChartOptions{}),
		"trend-phone":   TrendChartPhone(trend(), ChartOptions{Title: "Concentration of gp-clinical in NHS South East London ICB over time", Footer: "Vigil test", Names: map[string]string{"EMIS": "EMIS Health"}}),
		"map-phone":     MapPicturePhone(squares(), mapOptions()),
		"graph-grouped": GraphPicture(bigGraph(40), GraphOptions{Group: func(id string) (string, string) { return "Q" + id[len(id)-1:], "ICB " + id[len(id)-1:] }}),
	}
}

// bigGraph is a product deployed by n organisations in ten ICBs.
func bigGraph(n int) supply.Graph {
	g := supply.Graph{Center: "product:P", Depth: 1, Nodes: []supply.GraphNode{{ID: "product:P", Kind: "product", Label: "Big product"}}}
	for i := 0; i < n; i++ {
		id := "org:O" + string(rune('A'+i/10)) + string(rune('0'+i%10))
		imp := []string{"hard-down", "degraded", "exposed"}[i%3]
		g.Nodes = append(g.Nodes, supply.GraphNode{ID: id, Kind: "org", Label: "Organisation " + id[4:], Impact: imp})
		g.Edges = append(g.Edges, supply.GraphEdge{From: id, To: "product:P", Kind: "deployment", Critical: i%2 == 0, Service: "epr"})
	}
	return g
}

// TestPhonePictures: the phone variants are PhoneWidth wide and hold no
// text under PhoneText, so a phone shows every label at 13 px or more;
// the graph, which is not redrawn, is scaled to the same end.
func TestPhonePictures(t *testing.T) {
	for name, s := range pictures() {
		if !strings.HasSuffix(name, "-phone") {
			continue
		}
		if s.Width != PhoneWidth || MinTextSize(s) < PhoneText {
			t.Errorf("%s: %v wide, smallest text %v; want %v and at least %v", name, s.Width, MinTextSize(s), PhoneWidth, PhoneText)
		}
	}
	for _, s := range []*Scene{
		SharesChartPhone(supply.ConcentrationResult{}, ChartOptions{}), HHIChartPhone(supply.ConcentrationResult{}, ChartOptions{}),
		TrendChartPhone(nil, ChartOptions{}), TrendChartPhone(trend()[:1], ChartOptions{}), MapPicturePhone(nil, MapOptions{Title: "Nothing"}),
	} {
		if MinTextSize(s) < PhoneText {
			t.Errorf("%s: smallest text %v", s.Title, MinTextSize(s))
		}
	}
	g := GraphPicture(smallGraph(), GraphOptions{Footer: "Vigil test"})
	if k := PhoneScale(g); MinTextSize(g)*k < 13 || k > 1.5 {
		t.Errorf("graph: smallest text %v scaled by %v", MinTextSize(g), k)
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, g, SVGOptions{Scale: 2}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`width="%s" height="%s"`, fnum(2*g.Width), fnum(2*g.Height)); !strings.Contains(buf.String(), want) {
		t.Errorf("scaled SVG lacks %s", want)
	}
}

func TestSVGGolden(t *testing.T) {
	for name, s := range pictures() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSVG(&buf, s, SVGOptions{}); err != nil {
				t.Fatal(err)
			}
			checkSVG(t, buf.Bytes())
			golden := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; look at both, then run go test ./internal/supplyviz -update if the change is meant", golden)
			}
		})
	}
	// Stale goldens: files with no picture.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.svg"))
	ps := pictures()
	for _, f := range files {
		if _, ok := ps[strings.TrimSuffix(filepath.Base(f), ".svg")]; !ok {
			t.Errorf("stale golden file %s: no picture of that name", f)
		}
	}
}

// checkSVG parses the document and checks its accessibility basics.
func checkSVG(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var root *xml.StartElement
	titles := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == nil {
				c := se.Copy()
				root = &c
			}
			if se.Name.Local == "title" {
				titles++
			}
			if se.Name.Local == "script" || se.Name.Local == "style" || se.Name.Local == "foreignObject" {
				t.Errorf("SVG has a <%s>", se.Name.Local)
			}
			for _, a := range se.Attr {
				if a.Name.Local == "style" || strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("SVG has attribute %s", a.Name.Local)
				}
			}
		}
	}
	if root == nil || root.Name.Local != "svg" {
		t.Fatal("no <svg> root")
	}
	attrs := map[string]string{}
	for _, a := range root.Attr {
		attrs[a.Name.Local] = a.Value
	}
	if attrs["role"] != "img" || attrs["aria-labelledby"] == "" || titles == 0 || !bytes.Contains(b, []byte("<desc")) {
		t.Errorf("SVG root lacks role=img, aria-labelledby, <title> or <desc>: %v", attrs)
	}
}

func TestPNG(t *testing.T) {
	for name, s := range pictures() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePNG(&buf, s, 2); err != nil {
				t.Fatal(err)
			}
			img, format, err := image.Decode(&buf)
			if err != nil || format != "png" {
				t.Fatalf("decode: %v %s", err, format)
			}
			w, h, _ := PNGSize(s, 2)
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h || w < int(s.Width*2)-1 || h < int(s.Height*2)-1 {
				t.Errorf("size %v, want %dx%d for a %gx%g scene at 2×", b, w, h, s.Width, s.Height)
			}
			if os.Getenv("VIGIL_PICTURES") != "" {
				os.MkdirAll(os.Getenv("VIGIL_PICTURES"), 0o755)
				var again bytes.Buffer
				WritePNG(&again, s, 2)
				os.WriteFile(filepath.Join(os.Getenv("VIGIL_PICTURES"), name+".png"), again.Bytes(), 0o644)
			}
		})
	}
}

func TestPNGDeterministicAndBounded(t *testing.T) {
	s := GraphPicture(smallGraph(), GraphOptions{})
	var a, b bytes.Buffer
	WritePNG(&a, s, 1)
	WritePNG(&b, s, 1)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same scene gave different PNG bytes")
	}
	huge := &Scene{Width: 100000, Height: 50}
	w, h, sc := PNGSize(huge, 2)
	if w > MaxPNGPixels || h < 1 || sc >= 2 {
		t.Errorf("huge scene: %dx%d at %g", w, h, sc)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, &Scene{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestGraphLayout(t *testing.T) {
	s := GraphPicture(smallGraph(), GraphOptions{})
	var buf bytes.Buffer
	WriteSVG(&buf, s, SVGOptions{})
	out := buf.String()
	// Every class is named in words, not only coloured.
	for _, w := range []string{"Hard-down", "Degraded", "Exposed", "Affected product", "Centre · Supplier"} {
		if !strings.Contains(out, w) {
			t.Errorf("graph lacks %q", w)
		}
	}
	// Non-critical edges are dashed; critical ones are not.
	if !strings.Contains(out, `stroke-dasharray="6 4"`) {
		t.Error("no dashed (non-critical) edge")
	}
	// Columns: the supplier's parent left of it, products right, orgs further right.
	x := map[string]float64{}
	for _, it := range s.Items {
		g, ok := it.(*Group)
		if !ok {
			continue
		}
		for _, a := range g.Attrs {
			if a.Name == "data-node" {
				x[a.Value] = g.Items[0].(*Rect).X
			}
		}
	}
	if !(x["supplier:SYNLAB"] < x["supplier:SYNNOVIS"] && x["supplier:SYNNOVIS"] < x["product:SYN-LIMS"] && x["product:SYN-LIMS"] < x["org:RJ1"]) {
		t.Errorf("columns out of order: %v", x)
	}
	if x["product:DC-HOST"] >= x["product:SYN-LIMS"] {
		t.Errorf("the hosting the LIMS depends on should be left of it: %v", x)
	}
	// Inline SVG links nodes; the exported file does not.
	buf.Reset()
	WriteSVG(&buf, GraphPicture(smallGraph(), GraphOptions{Link: func(id string) string { return "/g?node=" + id }}), SVGOptions{Inline: true, IDPrefix: "g1-"})
	if !strings.Contains(buf.String(), `<a href="/g?node=org:RJ1">`) || strings.Contains(buf.String(), "<?xml") || !strings.Contains(buf.String(), `id="g1-title"`) {
		t.Errorf("inline SVG: links, declaration or id prefix wrong:\n%.600s", buf.String())
	}
}

func TestGraphAggregatesAndCaps(t *testing.T) {
	s := GraphPicture(bigGraph(40), GraphOptions{Group: func(id string) (string, string) { return "Q" + id[len(id)-1:], "ICB " + id[len(id)-1:] }})
	nodes := 0
	for _, it := range s.Items {
		if g, ok := it.(*Group); ok && len(g.Attrs) > 1 && g.Attrs[1].Name == "data-node" {
			nodes++
		}
	}
	if nodes != 11 { // the product and ten ICB groups
		t.Errorf("%d nodes drawn, want 11 (40 organisations aggregated into 10 ICBs)", nodes)
	}
	s = GraphPicture(bigGraph(60), GraphOptions{MaxPerColumn: 10})
	var buf bytes.Buffer
	WriteSVG(&buf, s, SVGOptions{})
	if !strings.Contains(buf.String(), "51 more not drawn") {
		t.Error("capped column lacks its “more” node")
	}
}

func TestBins(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{1, []string{"1"}},
		{3, []string{"1", "2 or more"}},
		{6, []string{"1", "2–4", "5 or more"}},
		{400, []string{"1–24", "25–49", "50–99", "100–249", "250 or more"}},
	} {
		var got []string
		for _, b := range CountBins(tc.max) {
			got = append(got, b.Label)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("CountBins(%d) = %v, want %v", tc.max, got, tc.want)
		}
	}
	for v, want := range map[float64]string{0: "Unconcentrated", 1499: "Unconcentrated", 1500: "Moderately concentrated", 2500: "Moderately concentrated",
		2501: "Highly concentrated", 10000: "One supplier"} {
		if got := HHIBand(v); got != want {
			t.Errorf("HHIBand(%g) = %s, want %s", v, got, want)
		}
		if got := HHIBins()[binOf(HHIBins(), v)].Label; !strings.HasPrefix(got, strings.Split(want, " ")[0]) {
			t.Errorf("bin of %g = %s, want %s", v, got, want)
		}
	}
}

func TestTextFit(t *testing.T) {
	long := "NHS Cheshire and Merseyside Integrated Care Board"
	if f := fit(long, 12, false, 100); textWidth(f, 12, false) > 100 || !strings.HasSuffix(f, "…") {
		t.Errorf("fit = %q", f)
	}
	if f := fit("RJ1", 12, false, 100); f != "RJ1" {
		t.Errorf("short text changed: %q", f)
	}
	lines := wrap(Attribution, 10, false, 300, 2)
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("wrap = %q", lines)
	}
	if fit("", 12, false, 0) != "" || len(wrap("", 10, false, 100, 2)) != 0 {
		t.Error("empty text")
	}
}

func TestTrendChart(t *testing.T) {
	// Placed by time: a quarter apart, so evenly here; all at one instant,
	// evenly by order.
	xs := trendXs(trend(), 0, 300)
	if xs[0] != 0 || xs[3] != 300 || xs[1] < 95 || xs[1] > 105 {
		t.Errorf("by time: %v", xs)
	}
	same := trend()
	for i := range same {
		same[i].TakenAt = "2026-03-01T09:00:00Z"
	}
	if xs := trendXs(same, 0, 300); xs[1] != 100 || xs[2] != 200 {
		t.Errorf("one instant: %v", xs)
	}
	var buf bytes.Buffer
	WriteSVG(&buf, TrendChart(trend(), ChartOptions{Names: map[string]string{"EMIS": "EMIS Health"}}), SVGOptions{})
	for _, w := range []string{"EMIS Health", ">TPP<", "1,500 moderately concentrated", "2,500 highly concentrated", "1 Jun 2026",
		"HHI 2,200 (Moderately concentrated), largest EMIS Health 40 %, 4 organisations", "HHI went from 5,313 (Highly concentrated) to 10,000 (One supplier)"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("trend chart lacks %q", w)
		}
	}
	for n, want := range map[int]string{0: "No snapshots recorded yet", 1: "One snapshot so far"} {
		buf.Reset()
		WriteSVG(&buf, TrendChart(trend()[:n], ChartOptions{}), SVGOptions{})
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%d snapshots: no %q", n, want)
		}
	}
}

// TestPNGDrawsWhatSVGDraws checks the PNG printer's rules at the pixel:
// even-odd holes, strokes and dashes in scene units times the scale, the
// hatch pattern and text halos.
func TestPNGDrawsWhatSVGDraws(t *testing.T) {
	red, blue, black := Hex("#ff0000"), Hex("#0000ff"), Hex("#000000")
	sq := func(p *Path, x0, y0, x1, y1 float64) { // both squares turn the same way
		p.MoveTo(x0, y0)
		p.LineTo(x1, y0)
		p.LineTo(x1, y1)
		p.LineTo(x0, y1)
		p.Close()
	}
	holed := &Path{Paint: Paint{Fill: red}}
	sq(holed, 10, 10, 90, 90)
	sq(holed, 30, 30, 70, 70)
	dashed := &Path{Paint: Paint{Stroke: blue, Width: 4, Dash: []float64{10, 10}}}
	dashed.MoveTo(100, 20)
	dashed.LineTo(200, 20)
	s := &Scene{Width: 300, Height: 200}
	s.Add(holed, dashed,
		&Rect{X: 100, Y: 50, W: 60, H: 60, Paint: Paint{Fill: white, Hatch: black}},
		&Rect{X: 200, Y: 100, W: 90, H: 90, Paint: Paint{Fill: black}},
		&Text{X: 245, Y: 160, S: "I", Size: 40, Bold: true, Anchor: Middle, Color: black, Halo: white})
	var buf bytes.Buffer
	if err := WritePNG(&buf, s, 2); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Hatch stripes are centred on x + y = √2·(6k + 1.1); at x = 130 the
	// one for k = 22 crosses y ≈ 58.2, and the next gap is 3 units below.
	stripeY := math.Sqrt2*(6*22+1.1) - 130
	at := func(x, y float64) Color { // scene units
		r, g, b, _ := img.At(int(x*2), int(y*2)).RGBA()
		return Color{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	}
	for _, c := range []struct {
		what string
		x, y float64
		want Color
	}{
		{"filled ring", 20, 50, red},
		{"hole of the ring (even-odd)", 50, 50, white},
		{"dash", 105, 20, blue},
		{"dash, 1.5 units off the line (width 4 is 2 each side)", 105, 21.5, blue},
		{"gap between dashes", 115, 20, white},
		{"dash after the gap", 125, 20, blue},
		{"beyond the dash's width", 105, 23, white},
		{"hatch stripe", 130, stripeY, black},
		{"between hatch stripes", 130, stripeY + 3*math.Sqrt2, white},
		{"text on the dark square", 245, 150, black},
	} {
		if got := at(c.x, c.y); got != c.want {
			t.Errorf("%s at (%g, %g): %v, want %v", c.what, c.x, c.y, got, c.want)
		}
	}
	// The halo: a white outline around the glyph, inside the dark square.
	halo := 0
	for x := 230.0; x < 260; x += 0.5 {
		if at(x, 150) == white {
			halo++
		}
	}
	if halo == 0 {
		t.Error("no halo around the text")
	}
}

// TestRealMaps draws England from the real ONS boundaries (parsed by geo,
// as an import would store them): small enough SVGs, PNGs in time, and
// the pictures themselves for looking at with VIGIL_PICTURES=dir.
func TestRealMaps(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "nhs", "geo")
	for _, f := range []string{"icb_apr2023_en_bsc.geojson", "nhser_jan2024_en_bsc.geojson"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("ONS boundaries needed in CI: %v", err)
			}
			t.Skipf("no %s: %v", f, err)
		}
		bs, _, errs := geo.ParseGeoJSON(f, data)
		if len(errs) > 0 || len(bs) == 0 {
			t.Fatalf("%s: %d boundaries, %v", f, len(bs), errs)
		}
		vals := map[string]MapValue{}
		for i, x := range bs {
			if i%3 != 0 {
				vals[x.Code] = MapValue{Value: float64(i % 9), Label: x.Code}
			}
		}
		s := MapPicture(bs, MapOptions{Title: "Test map of " + f, LegendTitle: "Count", Values: vals, Bins: CountBins(8), NoData: "None"})
		var svg, pngb bytes.Buffer
		if err := WriteSVG(&svg, s, SVGOptions{}); err != nil {
			t.Fatal(err)
		}
		checkSVG(t, svg.Bytes())
		if svg.Len() > 300<<10 {
			t.Errorf("%s map SVG is %d KB; simplify more", f, svg.Len()>>10)
		}
		start := time.Now()
		if err := WritePNG(&pngb, s, 1.5); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s map: SVG %d KB, PNG %d KB in %v", f, svg.Len()>>10, pngb.Len()>>10, time.Since(start))
		if d := os.Getenv("VIGIL_PICTURES"); d != "" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(f, ".geojson")
			if err := os.WriteFile(filepath.Join(d, "real-"+name+".png"), pngb.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "real-"+name+".svg"), svg.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
