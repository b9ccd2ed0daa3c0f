package geo

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseGeoJSON feeds the boundary upload's parser (what a national
// user's file goes through before anything is stored) arbitrary bytes,
// seeded with the small ONS-shaped files in testdata. It must not panic,
// and whatever it accepts must be what the maps and the store expect:
// known levels, sane codes, closed rings of WGS84 points, no duplicates,
// and geometry that survives the JSON the store keeps it in.
func FuzzParseGeoJSON(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.geojson"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, in, errs := ParseGeoJSON("fuzz.geojson", data)
		if in < 0 {
			t.Fatalf("%d points in", in)
		}
		for _, e := range errs {
			if !strings.HasPrefix(e, "fuzz.geojson: ") {
				t.Errorf("error %q does not name the file", e)
			}
		}
		seen := map[string]bool{}
		for _, b := range bs {
			checkBoundary(t, b)
			k := string(b.Level) + "/" + b.Code
			if seen[k] {
				t.Errorf("%s twice", k)
			}
			seen[k] = true
			// What the store writes it reads back the same.
			geom, err := json.Marshal(b.Polygons)
			if err != nil {
				t.Fatalf("%s: marshal: %v", k, err)
			}
			var back [][][][2]float64
			if err := json.Unmarshal(geom, &back); err != nil || len(back) != len(b.Polygons) {
				t.Fatalf("%s: geometry does not round-trip: %v", k, err)
			}
		}
	})
}

func checkBoundary(t *testing.T, b Boundary) {
	t.Helper()
	switch b.Level {
	case LevelRegion, LevelICB, LevelSubICB:
	default:
		t.Errorf("level %q", b.Level)
	}
	if b.Code == "" || len(b.Code) > 16 || b.Code != strings.ToUpper(b.Code) || b.Parent != strings.ToUpper(b.Parent) {
		t.Errorf("code %q, parent %q", b.Code, b.Parent)
	}
	if b.Name == "" {
		t.Errorf("%s: no name", b.Code)
	}
	if len(b.Polygons) == 0 {
		t.Errorf("%s: no polygons", b.Code)
	}
	ok := func(p [2]float64) bool {
		return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
	}
	if !ok(b.Label) {
		t.Errorf("%s: label %v", b.Code, b.Label)
	}
	for _, p := range b.Polygons {
		if len(p) == 0 {
			t.Errorf("%s: a polygon without rings", b.Code)
		}
		for _, ring := range p {
			if len(ring) < 4 {
				t.Errorf("%s: a ring of %d points", b.Code, len(ring))
			}
			for _, pt := range ring {
				if !ok(pt) {
					t.Errorf("%s: point %v", b.Code, pt)
				}
			}
		}
	}
}

// TestParseSeeds checks the seeds say what they are meant to: the good
// files parse whole, the problem file reports each of its features.
func TestParseSeeds(t *testing.T) {
	for file, want := range map[string]int{"icbs.geojson": 2, "regions.geojson": 1, "sub-icbs.geojson": 1} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		bs, _, errs := ParseGeoJSON(file, data)
		if len(errs) > 0 || len(bs) != want {
			t.Errorf("%s: %d boundaries, errors %q", file, len(bs), errs)
		}
		for _, b := range bs {
			checkBoundary(t, b)
		}
	}
	data, err := os.ReadFile(filepath.Join("testdata", "problems.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	bs, _, errs := ParseGeoJSON("problems.geojson", data)
	if len(errs) != 7 || len(bs) != 0 { // one per feature
		t.Errorf("problems.geojson: %d boundaries, %d errors: %q", len(bs), len(errs), errs)
	}
}
