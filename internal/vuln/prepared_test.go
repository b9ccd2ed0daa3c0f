package vuln

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedIndex is the index of the shared OSV records, as built.
func sharedIndex(t testing.TB) *osvIndex {
	needData(t)
	dir := filepath.Join(dataDir, "osv")
	files, fp, err := recordFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := buildIndex(dir, files, fp)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestIndexFile: the index read back from its file finds every package's
// records as the index built in memory does, nothing for a package no
// record names, and a damaged or stale file is not used.
func TestIndexFile(t *testing.T) {
	idx := sharedIndex(t)
	path := filepath.Join(t.TempDir(), "index")
	if err := writeIndex(path, idx); err != nil {
		t.Fatal(err)
	}
	got := readIndex(path, idx.Fingerprint, len(idx.Files))
	if got == nil {
		t.Fatal("the index just written is not read")
	}
	if got.Advisories != idx.Advisories || got.Withdrawn != idx.Withdrawn || !reflect.DeepEqual(got.Files, idx.Files) {
		t.Fatalf("header %d %d %d files, want %d %d %d", got.Advisories, got.Withdrawn, len(got.Files), idx.Advisories, idx.Withdrawn, len(idx.Files))
	}
	if len(idx.Packages) < 100 {
		t.Fatalf("%d packages indexed", len(idx.Packages))
	}
	for k, want := range idx.Packages {
		refs, err := got.lookup(k)
		if err != nil || !reflect.DeepEqual(refs, want) {
			t.Fatalf("%q: %v %v, want %v", k, refs, err, want)
		}
	}
	for _, k := range []string{"", "Go\x00", "Go\x00github.com/no/such", "zzz\x00z", "\x00"} {
		if refs, err := got.lookup(k); len(refs) != 0 || err != nil {
			t.Errorf("%q: %v %v, want none", k, refs, err)
		}
	}
	if readIndex(path, "another fingerprint", len(idx.Files)) != nil {
		t.Error("an index of another fingerprint is used")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 5, len(indexMagic) + 3, len(b) / 3, len(b) - 1} {
		if err := os.WriteFile(path, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if d := readIndex(path, idx.Fingerprint, len(idx.Files)); d != nil {
			for k := range idx.Packages {
				_, _ = d.lookup(k) // a truncated file may be read: its lookups must not panic
			}
		}
	}
}

// FuzzIndexFile: no index file makes reading it or looking a package up
// panic.
func FuzzIndexFile(f *testing.F) {
	idx := &osvIndex{Version: indexVersion, Fingerprint: "fp", Files: []string{"Go/all.zip", "npm/a.json"},
		Packages: map[string][]recordRef{"Go\x00x": {{File: 0, Member: "GO-1.json"}}, "npm\x00a": {{File: 1}}}}
	f.Add(encodeIndex(idx))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseIndex(b)
		if err != nil || d.Version != indexVersion {
			return
		}
		for _, k := range []string{"Go\x00x", "npm\x00a", "", "zz"} {
			refs, err := d.lookup(k)
			for _, r := range refs {
				if err == nil && (r.File < 0 || r.File >= len(d.Files)) {
					t.Fatalf("%q: record of file %d of %d", k, r.File, len(d.Files))
				}
			}
		}
	})
}

// TestZipMemberChecked: a record in an all.zip is read whole, and one
// whose CRC-32 or size does not match its header is an error naming it.
func TestZipMemberChecked(t *testing.T) {
	rec := []byte(`{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"versions":["v1.0.0"]}]}`)
	for _, tc := range []struct {
		name      string
		crc, size uint32
		want      string
	}{
		{"good", crc32.ChecksumIEEE(rec), uint32(len(rec)), ""},
		{"bad crc", crc32.ChecksumIEEE(rec) + 1, uint32(len(rec)), "GO-1.json: zip: checksum error"},
		{"short header", crc32.ChecksumIEEE(rec), uint32(len(rec) - 5), "GO-1.json: "},
	} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "Go"), 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		z := zip.NewWriter(&buf)
		w, err := z.CreateRaw(&zip.FileHeader{Name: "GO-1.json", Method: zip.Store, CRC32: tc.crc,
			CompressedSize64: uint64(len(rec)), UncompressedSize64: uint64(tc.size)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Go", "all.zip"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := LoadDB(dir)
		switch {
		case tc.want == "" && (err != nil || db.Len() != 1):
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
