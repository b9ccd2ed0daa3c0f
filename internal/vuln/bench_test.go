package vuln

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadDB reads the shared OSV records (851 files) as `vigil vuln
// scan --db` does at every run.
func BenchmarkLoadDB(b *testing.B) {
	needData(b)
	dir := filepath.Join(dataDir, "osv")
	for b.Loop() {
		if _, err := LoadDB(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSBOM reads and scans each shared SBOM against a loaded
// database: the per-SBOM work once the database is in memory.
func BenchmarkScanSBOM(b *testing.B) {
	needData(b)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		b.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dataDir, "sbom", "*"))
	for _, p := range paths {
		b.Run(filepath.Base(p), func(b *testing.B) {
			for b.Loop() {
				s, err := ReadSBOM(p)
				if err != nil {
					b.Fatal(err)
				}
				Scan(s, db)
			}
		})
	}
}

// BenchmarkScanEndToEnd is `vigil vuln scan --db DIR --format json SBOM`
// without the process, on the layout docs/performance.md measures (each
// ecosystem's records zipped into DIR/<Ecosystem>/all.zip): read the
// SBOM, load its records through the prepared index (built once, before
// the loop), scan, order and print the findings as JSON lines.
func BenchmarkScanEndToEnd(b *testing.B) {
	needData(b)
	dir := zipOSV(b)
	index := filepath.Join(b.TempDir(), "index")
	paths, _ := filepath.Glob(filepath.Join(dataDir, "sbom", "*"))
	for _, p := range paths {
		s, err := ReadInput(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := LoadPrepared(dir, s.Components, index); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range paths {
		b.Run(filepath.Base(p), func(b *testing.B) {
			for b.Loop() {
				s, err := ReadInput(p)
				if err != nil {
					b.Fatal(err)
				}
				db, how, err := LoadPrepared(dir, s.Components, index)
				if err != nil || how != PreparedUsed {
					b.Fatal(how, err)
				}
				r := Scan(s, db)
				r.Extend(Sources{})
				Prioritise(r.Findings, nil, nil)
				w := bufio.NewWriterSize(io.Discard, 64<<10)
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for _, f := range r.Findings {
					if err := enc.Encode(f); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// zipOSV writes the shared OSV records as osv.dev lays them out, one
// all.zip per ecosystem, and returns the directory.
func zipOSV(b *testing.B) string {
	dir := b.TempDir()
	ecos, _ := filepath.Glob(filepath.Join(dataDir, "osv", "*"))
	for _, eco := range ecos {
		files, _ := filepath.Glob(filepath.Join(eco, "*.json"))
		if err := os.MkdirAll(filepath.Join(dir, filepath.Base(eco)), 0o755); err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, filepath.Base(eco), "all.zip"))
		if err != nil {
			b.Fatal(err)
		}
		z := zip.NewWriter(out)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			w, err := z.Create(filepath.Base(f))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				b.Fatal(err)
			}
		}
		if err := z.Close(); err != nil {
			b.Fatal(err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}
