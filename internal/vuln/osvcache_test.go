package vuln

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sameDB fails unless got holds what want holds: the same advisories
// (by ID, each from the same place, alike), the same withdrawn count and
// the same per-package lists in the same order.
func sameDB(t *testing.T, when string, got, want *DB) {
	t.Helper()
	if len(got.Advisories) != len(want.Advisories) || got.Withdrawn != want.Withdrawn || got.Total != want.Total {
		t.Fatalf("%s: %d advisories, %d withdrawn, %d in all; want %d, %d, %d", when,
			len(got.Advisories), got.Withdrawn, got.Total, len(want.Advisories), want.Withdrawn, want.Total)
	}
	for id, w := range want.Advisories {
		g := got.Advisories[id]
		if g == nil || g.File != w.File || advisoryFP(g) != advisoryFP(w) {
			t.Fatalf("%s: advisory %s differs", when, id)
		}
	}
	if len(got.byPackage) != len(want.byPackage) {
		t.Fatalf("%s: %d packages, want %d", when, len(got.byPackage), len(want.byPackage))
	}
	for k, ws := range want.byPackage {
		gs := got.byPackage[k]
		if !slices.EqualFunc(gs, ws, func(a, b *Advisory) bool { return a.ID == b.ID }) {
			t.Fatalf("%s: package %q lists %d advisories, want %d", when, k, len(gs), len(ws))
		}
	}
}

// writeZip writes the members (name → body) as an archive, as osv.dev's
// all.zip holds its records.
func writeZip(t testing.TB, path string, names []string, members map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	for _, n := range names {
		w, err := z.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(members[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// A match after one record changed reads that record alone, from a file
// or from inside an archive, and what it loads is what reading the whole
// directory again loads: the change, a record gone, a record withdrawn,
// and an ID in both a file and an archive (the first read wins).
func TestLoadDBCached(t *testing.T) {
	osv := goOSV(t)
	goDir := filepath.Join(osv, "Go")
	ents, err := os.ReadDir(goDir)
	if err != nil {
		t.Fatal(err)
	}
	// Half of the records move into an archive, as another ecosystem's
	// all.zip; one of them stays as a file too.
	zipDir := filepath.Join(osv, "Zipped")
	if err := os.MkdirAll(zipDir, 0o755); err != nil {
		t.Fatal(err)
	}
	members := map[string][]byte{}
	var names []string
	for i, e := range ents {
		if i%2 == 1 {
			continue
		}
		p := filepath.Join(goDir, e.Name())
		b := readFile(t, p)
		members[e.Name()], names = b, append(names, e.Name())
		if i == 0 {
			continue // in both places
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(zipDir, "all.zip")
	writeZip(t, archive, names, members)

	check := func(when string, cache recordCache, wantRead int) recordCache {
		t.Helper()
		want, err := LoadDB(osv)
		if err != nil {
			t.Fatal(err)
		}
		got, fps, next, read, err := loadDBCached(osv, cache)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		sameDB(t, when, got, want)
		for id, a := range want.Advisories {
			if fps[id] != advisoryFP(a) {
				t.Fatalf("%s: fingerprint of %s", when, id)
			}
		}
		if read != wantRead {
			t.Errorf("%s: read %d records, want %d", when, read, wantRead)
		}
		return next
	}
	all := len(ents) + 1
	cache := check("from nothing", nil, all)
	cache = check("nothing changed", cache, 0)

	// A file widened.
	var file string
	for _, e := range ents[1:] {
		if p := filepath.Join(goDir, e.Name()); fileExists(p) {
			file = p
			break
		}
	}
	widen(t, file)
	cache = check("a file changed", cache, 1)

	// An archive member widened, another gone, a third withdrawn.
	changed, gone, withdrawn := names[1], names[2], names[3]
	tmp := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(tmp, members[changed], 0o644); err != nil {
		t.Fatal(err)
	}
	widen(t, tmp)
	members[changed] = readFile(t, tmp)
	members[withdrawn] = []byte(strings.Replace(string(members[withdrawn]), `"id":`, `"withdrawn": "2026-12-01T00:00:00Z", "id":`, 1))
	names = slices.DeleteFunc(names, func(n string) bool { return n == gone })
	writeZip(t, archive, names, members)
	cache = check("archive members changed", cache, 2)

	// The file that is also in the archive removed: the archive's copy
	// is read from the cache, not again.
	if err := os.Remove(filepath.Join(goDir, ents[0].Name())); err != nil {
		t.Fatal(err)
	}
	check("a duplicate file removed", cache, 0)
}

// BenchmarkLoadDBCached is an incremental match's reading of a national
// OSV mirror: the shared Go records copied under new IDs into one
// all.zip of 100,000 (VIGIL_OSV_RECORDS scales it), then the directory
// read from nothing, as LoadDB reads it, and read again after one member
// changed, with the cache.
//
//	go test -run '^$' -bench LoadDBCached -benchtime 1x ./internal/vuln/
func BenchmarkLoadDBCached(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("VIGIL_OSV_RECORDS")); err == nil && v > 0 {
		n = v
	}
	src := filepath.Join(sharedVuln, "osv", "Go")
	ents, err := os.ReadDir(src)
	if err != nil {
		b.Skipf("OSV advisories in %s: %v", src, err)
	}
	var recs []map[string]any
	for _, e := range ents {
		bs, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(bs, &m); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, m)
	}
	dir := filepath.Join(b.TempDir(), "osv")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	members := make(map[string][]byte, n)
	names := make([]string, n)
	record := func(i int, extra string) []byte {
		m := recs[i%len(recs)]
		m["id"] = fmt.Sprintf("BENCH-%06d", i)
		m["summary"] = extra
		bs, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		return bs
	}
	for i := range n {
		names[i] = fmt.Sprintf("BENCH-%06d.json", i)
		members[names[i]] = record(i, "")
	}
	archive := filepath.Join(dir, "all.zip")
	writeZip(b, archive, names, members)
	for b.Loop() {
		start := time.Now()
		db, _, cache, read, err := loadDBCached(dir, nil)
		if err != nil || read != n || db.Len() == 0 {
			b.Fatalf("from nothing: %d read, %v", read, err)
		}
		full := time.Since(start)
		members[names[n/2]] = record(n/2, "changed")
		writeZip(b, archive, names, members)
		start = time.Now()
		if _, _, _, read, err = loadDBCached(dir, cache); err != nil || read != 1 {
			b.Fatalf("one changed: %d read, %v", read, err)
		}
		inc := time.Since(start)
		b.ReportMetric(float64(n), "records")
		b.ReportMetric(full.Seconds(), "full-read-s")
		b.ReportMetric(inc.Seconds(), "one-changed-s")
	}
}
