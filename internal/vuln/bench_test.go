package vuln

import (
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
