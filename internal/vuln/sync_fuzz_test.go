package vuln

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The sync reads what NVD, CISA, FIRST and CSAF providers (or whatever
// answers at their URLs) send: each parser of it must not panic, and
// what it accepts must be safe to use as a file name or a URL.

func FuzzSplitNVDPage(f *testing.F) {
	for _, name := range []string{"CVE-2024-3094.json", "nvd-api2-multi-record-page.json"} {
		if b, err := os.ReadFile(filepath.Join(dataDir, "nvd", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"totalResults":1,"vulnerabilities":[{"cve":{"id":"CVE-2024-0001"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := SplitNVDPage("page", b)
		if err != nil {
			return
		}
		for _, c := range p.CVEs {
			if !cveIDRE().MatchString(c.ID) || filepath.Base(c.ID) != c.ID {
				t.Fatalf("accepted ID %q", c.ID)
			}
			if _, err := ParseNVD(c.ID, c.Page); err != nil {
				t.Fatalf("a split page does not read back: %v", err)
			}
		}
	})
}

func FuzzParseCSAFDistribution(f *testing.F) {
	f.Add(uint8(0), []byte(`{"feed":{"entry":[{"updated":"2024-01-01T00:00:00Z","link":[{"rel":"self","href":"a/b.json"},{"rel":"hash","href":"a/b.json.sha256"}]}]}}`))
	f.Add(uint8(1), []byte("\"2022/a.json\",\"2024-01-01T00:00:00Z\"\n\"2023/b.json\",\"2024-01-02T00:00:00Z\"\n"))
	f.Add(uint8(2), []byte(`{"distributions":[{"directory_url":"https://x.test/csaf/"}],"public_openpgp_keys":[]}`))
	f.Add(uint8(3), []byte("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.json\n"))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		const base = "https://provider.test/csaf/"
		var es []CSAFEntry
		var err error
		switch which % 4 {
		case 0:
			es, err = ParseROLIEFeed("feed.json", base, b)
		case 1:
			es, err = ParseChangesCSV("changes.csv", base, b)
		case 2:
			_, _ = ParseProviderMetadata("provider-metadata.json", b)
		case 3:
			_, _ = ParseHashFile("a.sha256", b, 32)
		}
		if err != nil {
			return
		}
		for _, e := range es {
			if _, err := resolve(base, e.URL); err != nil {
				t.Fatalf("accepted URL %q: %v", e.URL, err)
			}
		}
	})
}

// FuzzCheckOSVZip: whatever answers at an OSV archive's URL, the check
// before it replaces the good copy must not panic, and an archive it
// accepts must load as LoadDB reads it.
func FuzzCheckOSVZip(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if w, err := zw.Create("GO-2099-0001.json"); err == nil {
		_, _ = w.Write([]byte(`{"id":"GO-2099-0001","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`))
	}
	_ = zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "all.zip")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		n, err := checkOSVZip(p)
		if err != nil {
			return
		}
		db, err := LoadDB(dir)
		if err != nil {
			t.Fatalf("checked archive does not load: %v", err)
		}
		if db.Len()+db.Withdrawn > n {
			t.Fatalf("LoadDB read %d records, the check %d", db.Len()+db.Withdrawn, n)
		}
	})
}
