package supplyviz

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

// geoDir holds the real ONS boundary files (not copied into the repository).
var geoDir = filepath.Join("..", "..", "..", "shared", "data", "nhs", "geo")

func geoFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(geoDir, name)
	if _, err := os.Stat(p); err != nil {
		testneed.Missing(t, "the ONS boundaries in ../shared/data/nhs/geo", err)
	}
	return p
}

var geoSets = []store.MigrationSet{audit.Migrations(), org.Migrations(), Migrations()}

func newBoundaries(t testing.TB) (*Boundaries, *store.DB) {
	t.Helper()
	return boundariesOn(t, storetest.SQLite(t, geoSets...)), nil
}

func boundariesOn(t testing.TB, db *store.DB) *Boundaries {
	t.Helper()
	b, err := NewBoundaries(BoundaryOptions{DB: db, Audit: audit.New(db, nil), Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var national = scope.Scope{UserID: "u1", Email: "nat@nhs.test", Grants: []scope.Grant{{Role: scope.NationalAdmin, Org: "ENG", Path: "/"}}}

// TestImportRealBoundaries loads the real ONS files on SQLite and
// PostgreSQL.
func TestImportRealBoundaries(t *testing.T) {
	icb, reg, sicbl := geoFile(t, "icb_apr2023_en_bsc.geojson"), geoFile(t, "nhser_jan2024_en_bsc.geojson"), geoFile(t, "sicbl_apr2023_en_bsc.geojson")
	storetest.Each(t, func(t *testing.T, db *store.DB) { importReal(t, db, icb, reg, sicbl) }, geoSets...)
}

func importReal(t *testing.T, db *store.DB, icb, reg, sicbl string) {
	b := boundariesOn(t, db)
	ctx := context.Background()

	// Dry run: the report, and nothing written.
	rep, err := b.ImportGeoJSON(ctx, national, icb, true)
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("dry run: %v %v", err, rep.Errors)
	}
	if rep.Features != 42 || rep.Levels[LevelICB] != 42 || rep.Created != 42 || rep.PointsIn != 23809 {
		t.Errorf("dry run report %+v", rep)
	}
	if c, _ := b.Counts(ctx); len(c) != 0 {
		t.Fatalf("dry run wrote %v", c)
	}

	for _, f := range []string{icb, reg, sicbl} {
		rep, err := b.ImportGeoJSON(ctx, national, f, false)
		if err != nil || len(rep.Errors) > 0 {
			t.Fatalf("import %s: %v %v", f, err, rep.Errors)
		}
		// Simplified, still enough to draw.
		if rep.PointsKept*4 > rep.PointsIn*3 || rep.PointsKept < rep.PointsIn/10 {
			t.Errorf("%s: kept %d of %d points", f, rep.PointsKept, rep.PointsIn)
		}
		t.Logf("%s: %d features, %d of %d points kept", filepath.Base(f), rep.Features, rep.PointsKept, rep.PointsIn)
	}
	c, err := b.Counts(ctx)
	if err != nil || c[LevelICB] != 42 || c[LevelRegion] != 7 || c[LevelSubICB] != 106 {
		t.Fatalf("counts %v %v", c, err)
	}
	icbs, err := b.Load(ctx, LevelICB)
	if err != nil {
		t.Fatal(err)
	}
	var qkk *Boundary
	for i := range icbs {
		if icbs[i].Code == "QKK" {
			qkk = &icbs[i]
		}
	}
	if qkk == nil || qkk.Name != "NHS South East London Integrated Care Board" || qkk.Parent != "Y56" || qkk.ONSCode == "" || len(qkk.Polygons) == 0 {
		t.Fatalf("QKK = %+v", qkk)
	}
	if qkk.Label[0] > 0.2 || qkk.Label[0] < -0.3 || qkk.Label[1] < 51.3 || qkk.Label[1] > 51.6 {
		t.Errorf("QKK label point %v is not in south-east London", qkk.Label)
	}
	regs, _ := b.Load(ctx, LevelRegion)
	if len(regs) != 7 || regs[0].Code != "Y56" || regs[0].Name != "London" {
		t.Errorf("regions: %d, first %+v", len(regs), regs[0].Code)
	}

	// Re-import replaces: updated, not created; audited each time.
	rep, err = b.ImportGeoJSON(ctx, national, reg, false)
	if err != nil || rep.Updated != 7 || rep.Created != 0 {
		t.Errorf("re-import: %+v %v", rep, err)
	}
	var n int
	db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'geo.import'`).Scan(&n)
	if n != 4 {
		t.Errorf("%d geo.import audit entries, want 4", n)
	}

	// The real maps, for looking at (VIGIL_PICTURES=dir).
	for _, lv := range []Level{LevelICB, LevelRegion} {
		bs, _ := b.Load(ctx, lv)
		vals := map[string]MapValue{}
		for i, x := range bs {
			if i%3 != 0 {
				vals[x.Code] = MapValue{Value: float64(i % 9), Label: strings.Repeat("I", 0) + x.Code}
			}
		}
		s := MapPicture(bs, MapOptions{Title: "Test map of " + string(lv), LegendTitle: "Count", Values: vals, Bins: CountBins(8), NoData: "None"})
		var svg, pngb bytes.Buffer
		if err := WriteSVG(&svg, s, SVGOptions{}); err != nil {
			t.Fatal(err)
		}
		checkSVG(t, svg.Bytes())
		if svg.Len() > 300<<10 {
			t.Errorf("%s map SVG is %d KB; simplify more", lv, svg.Len()>>10)
		}
		start := time.Now()
		if err := WritePNG(&pngb, s, 1.5); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s map: SVG %d KB, PNG %d KB in %v", lv, svg.Len()>>10, pngb.Len()>>10, time.Since(start))
		if d := os.Getenv("VIGIL_PICTURES"); d != "" && db.Dialect == store.SQLite {
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "real-"+string(lv)+".png"), pngb.Bytes(), 0o644)
			os.WriteFile(filepath.Join(d, "real-"+string(lv)+".svg"), svg.Bytes(), 0o644)
		}
	}
}

func TestImportRefusals(t *testing.T) {
	b, _ := newBoundaries(t)
	ctx := context.Background()
	trust := scope.Scope{UserID: "u2", Grants: []scope.Grant{{Role: scope.OrgAdmin, Org: "RJ1", Path: "/ENG/Y56/QKK/RJ1/"}}}
	if _, err := b.ImportGeoJSONFrom(ctx, trust, "x.geojson", strings.NewReader(`{}`), false); !errors.Is(err, ErrForbidden) {
		t.Errorf("trust admin import: %v, want ErrForbidden", err)
	}
	for name, tc := range map[string]struct{ doc, want string }{
		"not json":     {`{"type":`, "not valid JSON"},
		"not fc":       {`{"type":"Feature"}`, "want a GeoJSON FeatureCollection"},
		"empty":        {`{"type":"FeatureCollection","features":[]}`, "no features"},
		"no code":      {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"NAME":"x"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`, "feature 1: no ODS code"},
		"point":        {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"},"geometry":{"type":"Point","coordinates":[0,0]}}]}`, `feature 1 (QKK): geometry type "Point"`},
		"no geometry":  {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"}}]}`, "no geometry"},
		"projected":    {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"},"geometry":{"type":"Polygon","coordinates":[[[530000,180000],[531000,180000],[531000,181000],[530000,180000]]]}}]}`, "not a longitude and latitude"},
		"short ring":   {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}}]}`, "a ring of 2 points"},
		"bad coords":   {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"},"geometry":{"type":"Polygon","coordinates":"x"}}]}`, "bad Polygon coordinates"},
		"duplicate":    {`{"type":"FeatureCollection","features":[` + sqFeature("QKK") + `,` + sqFeature("QKK") + `]}`, "feature 2 (QKK): the same icb code as feature 1"},
		"nested wrong": {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK"},"geometry":{"type":"MultiPolygon","coordinates":[[[1,2]]]}}]}`, "bad MultiPolygon coordinates"},
	} {
		rep, err := b.ImportGeoJSONFrom(ctx, national, "t.geojson", strings.NewReader(tc.doc), false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(strings.Join(rep.Errors, "\n"), tc.want) {
			t.Errorf("%s: errors %q, want %q", name, rep.Errors, tc.want)
		}
	}
	if c, _ := b.Counts(ctx); len(c) != 0 {
		t.Errorf("bad files wrote %v", c)
	}
	// A good one in the same form works, and labels default to a centroid.
	rep, err := b.ImportGeoJSONFrom(ctx, national, "t.geojson", strings.NewReader(`{"type":"FeatureCollection","features":[`+sqFeature("QKK")+`]}`), false)
	if err != nil || len(rep.Errors) > 0 || rep.Created != 1 {
		t.Fatalf("good file: %+v %v", rep, err)
	}
	bs, _ := b.Load(ctx, LevelICB)
	if len(bs) != 1 || bs[0].Label == ([2]float64{}) {
		t.Errorf("loaded %+v", bs)
	}
}

func sqFeature(code string) string {
	return `{"type":"Feature","properties":{"ICB23CDH":"` + code + `","ICB23NM":"Test"},"geometry":{"type":"Polygon","coordinates":[[[0,51],[0.1,51],[0.1,51.1],[0,51.1],[0,51]]]}}`
}

// Parsing never panics, whatever the bytes.
func TestParseGeoJSONNeverPanics(t *testing.T) {
	for _, doc := range []string{"", "null", "[]", `{"type":"FeatureCollection","features":null}`, `{"type":"FeatureCollection","features":[null]}`,
		`{"type":"FeatureCollection","features":[{"properties":null,"geometry":null}]}`,
		`{"type":"FeatureCollection","features":[{"properties":{"ICB23CDH":5},"geometry":{"type":"MultiPolygon","coordinates":[[]]}}]}`,
		`{"type":"FeatureCollection","features":[{"properties":{"ICB23CDH":"Q"},"geometry":{"type":"MultiPolygon","coordinates":[[[]]]}}]}`} {
		ParseGeoJSON("x", []byte(doc))
	}
}
