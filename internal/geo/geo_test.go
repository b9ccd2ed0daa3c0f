package geo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
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

func storeOn(t testing.TB, db *store.DB) *Store {
	t.Helper()
	b, err := New(Options{DB: db, Audit: audit.New(db, nil), Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }})
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
	b := storeOn(t, db)
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
	if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'geo.import'`).Scan(&n); err != nil || n != 4 {
		t.Errorf("%d geo.import audit entries (%v), want 4", n, err)
	}
}

func TestImportRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { importRefusals(t, storeOn(t, db)) }, geoSets...)
}

func importRefusals(t *testing.T, b *Store) {
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

// TestExistingDatabaseKeepsBoundaries opens a database whose boundaries
// were made by the schema as it shipped inside supplyviz (domain "geo",
// version 1, a frozen copy in testdata): this package's migrations apply
// nothing again and every boundary is still there.
func TestExistingDatabaseKeepsBoundaries(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("testdata", "schema-0001_geo-as-shipped.sql"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		before := store.MigrationSet{Domain: "geo", FS: fstest.MapFS{"0001_geo.sql": {Data: shipped}}}
		if _, err := db.Migrate(ctx, before); err != nil {
			t.Fatal(err)
		}
		rep, err := storeOn(t, db).ImportGeoJSONFrom(ctx, national, "old.geojson", strings.NewReader(`{"type":"FeatureCollection","features":[`+sqFeature("QKK")+`]}`), false)
		if err != nil || rep.Created != 1 {
			t.Fatalf("import into the old schema: %+v %v", rep, err)
		}
		done, err := db.Migrate(ctx, Migrations())
		if err != nil || len(done) != 0 {
			t.Fatalf("migrating an existing database applied %v (%v); want nothing", done, err)
		}
		if err := db.Check(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		bs, err := storeOn(t, db).Load(ctx, LevelICB)
		if err != nil || len(bs) != 1 || bs[0].Code != "QKK" || len(bs[0].Polygons) != 1 {
			t.Fatalf("after the upgrade: %+v %v", bs, err)
		}
	}, audit.Migrations(), org.Migrations())
}
