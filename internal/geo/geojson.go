package geo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
)

type geoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string          `json:"type"`
		ID         json.RawMessage `json:"id"`
		Properties map[string]any  `json:"properties"`
		Geometry   *struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

var (
	sicblKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^SICBL\d\dCDH$`) })
	icbKey   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ICB\d\dCDH$`) })
	nhserKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^NHSER\d\dCDH$`) })
)

// simplifyTolerance is the Douglas–Peucker tolerance in degrees of
// latitude (about 280 m). The ONS super-generalised files already have a
// point every 500 m or so; a national map 520 pixels wide shows about 1 km
// a pixel and the London inset about 180 m, so this drops a third of the
// points and no visible detail.
const simplifyTolerance = 0.0025

// ParseGeoJSON reads a FeatureCollection of ONS boundaries. It returns the
// boundaries (simplified), the number of points read, and one error per
// bad feature ("name: feature 3: reason"). It never panics on bad input.
func ParseGeoJSON(name string, data []byte) (bs []Boundary, pointsIn int, errs []string) {
	var doc geoJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, 0, []string{fmt.Sprintf("%s: byte %d: not valid JSON: %v", name, se.Offset, err)}
		}
		return nil, 0, []string{fmt.Sprintf("%s: not a GeoJSON FeatureCollection: %v", name, err)}
	}
	if doc.Type != "FeatureCollection" {
		return nil, 0, []string{fmt.Sprintf("%s: type %q: want a GeoJSON FeatureCollection", name, doc.Type)}
	}
	seen := map[string]int{}
	for i, f := range doc.Features {
		where := fmt.Sprintf("%s: feature %d", name, i+1)
		x, ok := boundaryProps(f.Properties)
		if !ok {
			errs = append(errs, where+": no ODS code property (want ICB23CDH, NHSER24CDH or SICBL23CDH)")
			continue
		}
		where += " (" + x.Code + ")"
		if f.Geometry == nil {
			errs = append(errs, where+": no geometry")
			continue
		}
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				errs = append(errs, where+": bad Polygon coordinates: "+err.Error())
				continue
			}
			polys = [][][][2]float64{p}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				errs = append(errs, where+": bad MultiPolygon coordinates: "+err.Error())
				continue
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: geometry type %q: want Polygon or MultiPolygon", where, f.Geometry.Type))
			continue
		}
		bad := ""
		var out [][][][2]float64
		for _, p := range polys {
			var np [][][2]float64
			for ri, ring := range p {
				pointsIn += len(ring)
				for _, pt := range ring {
					if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
						bad = fmt.Sprintf("point [%g, %g] is not a longitude and latitude (WGS84)", pt[0], pt[1])
					}
				}
				if len(ring) < 4 {
					if ri == 0 {
						bad = fmt.Sprintf("a ring of %d points (want at least 4, closed)", len(ring))
					}
					continue
				}
				s := simplifyRing(ring, simplifyTolerance)
				if len(s) >= 4 {
					np = append(np, s)
				} else if ri == 0 {
					break // an islet smaller than the tolerance
				}
			}
			if len(np) > 0 {
				out = append(out, np)
			}
		}
		if bad != "" {
			errs = append(errs, where+": "+bad)
			continue
		}
		if len(out) == 0 {
			errs = append(errs, where+": no polygon")
			continue
		}
		k := string(x.Level) + "/" + x.Code
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Sprintf("%s: the same %s code as feature %d", where, x.Level, j))
			continue
		}
		seen[k] = i + 1
		x.Polygons = out
		if x.Label == ([2]float64{}) {
			x.Label = centroid(out)
		}
		bs = append(bs, x)
	}
	sort.Slice(bs, func(i, j int) bool {
		if bs[i].Level != bs[j].Level {
			return bs[i].Level < bs[j].Level
		}
		return bs[i].Code < bs[j].Code
	})
	return bs, pointsIn, errs
}

func prop(p map[string]any, k string) string {
	switch v := p[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func propNum(p map[string]any, k string) float64 {
	if v, ok := p[k].(float64); ok {
		return v
	}
	return 0
}

// boundaryProps reads the level, codes and name of an ONS feature. The
// most specific code wins: a sub-ICB feature also names its ICB and region.
func boundaryProps(p map[string]any) (Boundary, bool) {
	var sicbl, icb, nhser string
	for k := range p {
		switch {
		case sicblKey().MatchString(k):
			sicbl = k
		case icbKey().MatchString(k):
			icb = k
		case nhserKey().MatchString(k):
			nhser = k
		}
	}
	stem := func(k string) string { return strings.TrimSuffix(k, "H") } // ICB23CDH → ICB23CD
	nameOf := func(k string) string { return strings.TrimSuffix(k, "CDH") + "NM" }
	var x Boundary
	switch {
	case sicbl != "":
		x = Boundary{Level: LevelSubICB, Code: prop(p, sicbl), Name: prop(p, nameOf(sicbl)), ONSCode: prop(p, stem(sicbl))}
		if icb != "" {
			x.Parent = prop(p, icb)
		}
	case icb != "":
		x = Boundary{Level: LevelICB, Code: prop(p, icb), Name: prop(p, nameOf(icb)), ONSCode: prop(p, stem(icb))}
		if nhser != "" {
			x.Parent = prop(p, nhser)
		}
	case nhser != "":
		x = Boundary{Level: LevelRegion, Code: prop(p, nhser), Name: prop(p, nameOf(nhser)), ONSCode: prop(p, stem(nhser))}
	default:
		return Boundary{}, false
	}
	if x.Code == "" || len(x.Code) > 16 {
		return Boundary{}, false
	}
	x.Code = strings.ToUpper(x.Code)
	x.Parent = strings.ToUpper(x.Parent)
	if x.Name == "" {
		x.Name = x.Code
	}
	lon, lat := propNum(p, "LONG"), propNum(p, "LAT")
	if lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90 && (lon != 0 || lat != 0) {
		x.Label = [2]float64{lon, lat}
	}
	return x, true
}

// simplifyRing applies Douglas–Peucker to a closed ring (distances in
// degrees, longitude scaled by cos(latitude) so the tolerance is the same
// north–south and east–west), and rounds to 5 decimals (about 1 m).
func simplifyRing(ring [][2]float64, tol float64) [][2]float64 {
	n := len(ring)
	if n < 4 {
		return ring
	}
	k := math.Cos(ring[0][1] * math.Pi / 180)
	keep := make([]bool, n)
	keep[0], keep[n-1] = true, true
	// Split the ring at its farthest point from the start, so both halves
	// are open polylines.
	far, fd := 0, -1.0
	for i := 1; i < n-1; i++ {
		dx, dy := (ring[i][0]-ring[0][0])*k, ring[i][1]-ring[0][1]
		if d := dx*dx + dy*dy; d > fd {
			far, fd = i, d
		}
	}
	if far > 0 {
		keep[far] = true
	}
	type span struct{ a, b int }
	stack := []span{{0, far}, {far, n - 1}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.b-s.a < 2 {
			continue
		}
		ax, ay := ring[s.a][0]*k, ring[s.a][1]
		bx, by := ring[s.b][0]*k, ring[s.b][1]
		best, bd := -1, tol
		for i := s.a + 1; i < s.b; i++ {
			if d := segDist(ring[i][0]*k, ring[i][1], ax, ay, bx, by); d > bd {
				best, bd = i, d
			}
		}
		if best >= 0 {
			keep[best] = true
			stack = append(stack, span{s.a, best}, span{best, s.b})
		}
	}
	out := make([][2]float64, 0, n/4+4)
	for i, pt := range ring {
		if keep[i] {
			out = append(out, [2]float64{round5(pt[0]), round5(pt[1])})
		}
	}
	return out
}

func round5(v float64) float64 { return math.Round(v*1e5) / 1e5 }

func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l := dx*dx + dy*dy
	if l == 0 {
		return math.Hypot(px-ax, py-ay)
	}
	t := ((px-ax)*dx + (py-ay)*dy) / l
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
}

// centroid is the mean of the outer rings' points: good enough for a label
// when the file has no label point.
func centroid(polys [][][][2]float64) [2]float64 {
	var sx, sy float64
	n := 0
	for _, p := range polys {
		if len(p) == 0 {
			continue
		}
		for _, pt := range p[0] {
			sx += pt[0]
			sy += pt[1]
			n++
		}
	}
	if n == 0 {
		return [2]float64{}
	}
	return [2]float64{sx / float64(n), sy / float64(n)}
}
