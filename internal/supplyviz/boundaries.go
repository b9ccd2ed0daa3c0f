package supplyviz

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the map boundaries' schema (domain "geo").
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "geo", FS: sub}
}

// Level is a kind of area on a map.
type Level string

// Map levels; the codes are ODS codes (Y56, QKK, 72Q).
const (
	LevelRegion Level = "region"
	LevelICB    Level = "icb"
	LevelSubICB Level = "sub-icb"
)

// Boundary is one area's outline.
type Boundary struct {
	Level   Level  `json:"level"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	ONSCode string `json:"ons_code,omitempty"`
	// Parent is the region of an ICB, or the ICB of a sub-ICB location.
	Parent string `json:"parent,omitempty"`
	// Label is where the area's label goes (ONS's label point), [lon, lat].
	Label [2]float64 `json:"label"`
	// Polygons are [polygon][ring][point] of [lon, lat]; the first ring of
	// each polygon is its outline, the others holes.
	Polygons [][][][2]float64 `json:"polygons"`
}

// Boundaries stores the map outlines.
type Boundaries struct {
	db    *store.DB
	audit *audit.Log
	now   func() time.Time
}

// BoundaryOptions are the dependencies of Boundaries.
type BoundaryOptions struct {
	DB    *store.DB
	Audit *audit.Log
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewBoundaries checks o and returns the boundary store.
func NewBoundaries(o BoundaryOptions) (*Boundaries, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("supplyviz: BoundaryOptions.DB is required")
	case o.Audit == nil:
		return nil, errors.New("supplyviz: BoundaryOptions.Audit is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Boundaries{db: o.DB, audit: o.Audit, now: o.Now}, nil
}

// ErrForbidden means the caller may not import boundaries (a national
// administrator or supply-chain manager may).
var ErrForbidden = fault.New(fault.ErrForbidden, "importing map boundaries needs national administrator or national supply-chain rights")

// CanImport reports whether sc may import boundaries.
func CanImport(sc scope.Scope) bool { return sc.National(scope.Admin) || sc.National(scope.Supply) }

// GeoImportReport says what an import did (or, on a dry run, would do).
type GeoImportReport struct {
	Source   string `json:"source"`
	DryRun   bool   `json:"dry_run"`
	Features int    `json:"features"`
	// Levels counts features per level (region, icb, sub-icb).
	Levels  map[Level]int `json:"levels"`
	Created int           `json:"created"`
	Updated int           `json:"updated"`
	// PointsIn and PointsKept measure the simplification.
	PointsIn   int      `json:"points_in"`
	PointsKept int      `json:"points_kept"`
	Errors     []string `json:"errors,omitempty"`
}

// MaxGeoJSONBytes bounds one GeoJSON document (the ONS super-generalised
// files are under 1.2 MB; the full-resolution ones are far larger than a
// map needs).
const MaxGeoJSONBytes = 64 << 20

// ImportGeoJSON loads the boundaries in an ONS GeoJSON file (ICBs, NHS
// England regions or sub-ICB locations: the level is read from the
// properties, ICB23CDH, NHSER24CDH or SICBL23CDH, which hold ODS codes).
// Polygons are simplified (about 280 m), which is finer than any map
// Vigil draws. Existing rows of the same level and code are replaced. The
// import is all or nothing and is audited.
func (b *Boundaries) ImportGeoJSON(ctx context.Context, sc scope.Scope, path string, dryRun bool) (GeoImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return GeoImportReport{}, fmt.Errorf("import boundaries: %w", err)
	}
	defer f.Close()
	return b.ImportGeoJSONFrom(ctx, sc, filepath.Base(path), f, dryRun)
}

// ImportGeoJSONFrom is ImportGeoJSON over a reader (an uploaded file);
// name is the source named in the report and the audit log.
func (b *Boundaries) ImportGeoJSONFrom(ctx context.Context, sc scope.Scope, name string, r io.Reader, dryRun bool) (rep GeoImportReport, err error) {
	rep = GeoImportReport{Source: name, DryRun: dryRun, Levels: map[Level]int{}}
	if !CanImport(sc) {
		return rep, ErrForbidden
	}
	defer func() {
		// Parsing untrusted input must never take the server down.
		if p := recover(); p != nil {
			err = fmt.Errorf("import boundaries %s: internal error: %v", name, p)
		}
	}()
	data, err := io.ReadAll(io.LimitReader(r, MaxGeoJSONBytes+1))
	if err != nil {
		return rep, fmt.Errorf("import boundaries %s: %w", name, err)
	}
	if len(data) > MaxGeoJSONBytes {
		rep.Errors = append(rep.Errors, fmt.Sprintf("%s: larger than %d MB; use the super-generalised (BSC) boundary set", name, MaxGeoJSONBytes>>20))
		return rep, nil
	}
	bs, in, errs := ParseGeoJSON(name, data)
	rep.Features, rep.PointsIn, rep.Errors = len(bs), in, errs
	for _, x := range bs {
		rep.Levels[x.Level]++
		for _, p := range x.Polygons {
			for _, ring := range p {
				rep.PointsKept += len(ring)
			}
		}
	}
	if len(errs) > 0 || len(bs) == 0 {
		if len(errs) == 0 {
			rep.Errors = append(rep.Errors, name+": no features")
		}
		return rep, nil
	}
	existing := map[string]bool{}
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, code FROM geo_boundaries`)
	if err != nil {
		return rep, fmt.Errorf("import boundaries: %w", err)
	}
	for rows.Next() {
		var l, c string
		if err := rows.Scan(&l, &c); err != nil {
			rows.Close()
			return rep, err
		}
		existing[l+"/"+c] = true
	}
	rows.Close()
	for _, x := range bs {
		if existing[string(x.Level)+"/"+x.Code] {
			rep.Updated++
		} else {
			rep.Created++
		}
	}
	if dryRun {
		return rep, nil
	}
	at := b.now().UTC().Format(time.RFC3339)
	err = b.db.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range bs {
			geom, err := json.Marshal(x.Polygons)
			if err != nil {
				return err
			}
			pts := 0
			for _, p := range x.Polygons {
				for _, ring := range p {
					pts += len(ring)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM geo_boundaries WHERE level = ? AND code = ?`, string(x.Level), x.Code); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO geo_boundaries (level, code, name, ons_code, parent, label_lon, label_lat, geometry, points, source, imported_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, string(x.Level), x.Code, x.Name, x.ONSCode, x.Parent, x.Label[0], x.Label[1], string(geom), pts, name, at); err != nil {
				return err
			}
		}
		summary := struct {
			Source   string        `json:"source"`
			Levels   map[Level]int `json:"levels"`
			Created  int           `json:"created"`
			Updated  int           `json:"updated"`
			PointsIn int           `json:"points_in"`
			Kept     int           `json:"points_kept"`
		}{name, rep.Levels, rep.Created, rep.Updated, rep.PointsIn, rep.PointsKept}
		_, err := b.audit.Append(ctx, tx, sc, audit.Change{Action: "geo.import", ObjectType: "geo_boundaries", ObjectID: name, After: summary})
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("import boundaries %s: %w", name, err)
	}
	return rep, nil
}

// Load returns the boundaries of one level, by code. Boundaries are public
// geography, so there is no scope: what a map shows on them is scoped by
// the data it is given.
func (b *Boundaries) Load(ctx context.Context, level Level) ([]Boundary, error) {
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, code, name, ons_code, parent, label_lon, label_lat, geometry FROM geo_boundaries WHERE level = ? ORDER BY code`, string(level))
	if err != nil {
		return nil, fmt.Errorf("load boundaries: %w", err)
	}
	defer rows.Close()
	var out []Boundary
	for rows.Next() {
		var x Boundary
		var l, geom string
		if err := rows.Scan(&l, &x.Code, &x.Name, &x.ONSCode, &x.Parent, &x.Label[0], &x.Label[1], &geom); err != nil {
			return nil, err
		}
		x.Level = Level(l)
		if err := json.Unmarshal([]byte(geom), &x.Polygons); err != nil {
			return nil, fmt.Errorf("load boundaries: %s %s: %w", l, x.Code, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Counts returns how many boundaries each level holds.
func (b *Boundaries) Counts(ctx context.Context) (map[Level]int, error) {
	rows, err := b.db.Q().QueryContext(ctx, `SELECT level, COUNT(*) FROM geo_boundaries GROUP BY level`)
	if err != nil {
		return nil, fmt.Errorf("count boundaries: %w", err)
	}
	defer rows.Close()
	out := map[Level]int{}
	for rows.Next() {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return nil, err
		}
		out[Level(l)] = n
	}
	return out, rows.Err()
}

// ---- GeoJSON ----

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
	sicblKey = regexp.MustCompile(`^SICBL\d\dCDH$`)
	icbKey   = regexp.MustCompile(`^ICB\d\dCDH$`)
	nhserKey = regexp.MustCompile(`^NHSER\d\dCDH$`)
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
		case sicblKey.MatchString(k):
			sicbl = k
		case icbKey.MatchString(k):
			icb = k
		case nhserKey.MatchString(k):
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
