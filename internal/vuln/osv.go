package vuln

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Advisory is the part of an OSV record (ossf.github.io/osv-schema) a
// scan uses.
type Advisory struct {
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases"`
	Summary   string     `json:"summary"`
	Withdrawn string     `json:"withdrawn"`
	Affected  []Affected `json:"affected"`
	// Related are IDs of other vulnerabilities the record names, not
	// the same one (GO-2023-2102 relates CVE-2023-44487).
	Related []string `json:"related"`
	// Severity is the record's scores: {"type": "CVSS_V3", "score":
	// "CVSS:3.1/AV:N/…"}.
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	// DatabaseSpecific.Severity is a database's own word ("MODERATE"
	// in GitHub's), used only when there is no vector.
	DatabaseSpecific struct {
		Severity json.RawMessage `json:"severity"`
	} `json:"database_specific"`
	// File is where the record was read from.
	File string `json:"-"`
}

// Affected is one package an advisory affects.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges   []Range  `json:"ranges"`
	Versions []string `json:"versions"`
}

// Range is an OSV range: events in the order of the range's type.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// DB is a set of OSV advisories indexed by ecosystem and package.
type DB struct {
	// Advisories are the records loaded, withdrawn ones left out, by ID.
	Advisories map[string]*Advisory
	// Withdrawn counts the withdrawn records left out.
	Withdrawn int
	byPackage map[string][]*Advisory
}

// LoadDB reads every OSV JSON record under dir (any depth, *.json) and
// every record inside *.zip archives there (osv.dev's per-ecosystem
// all.zip). A record that cannot be read is an error naming its file.
func LoadDB(dir string) (*DB, error) { return LoadDBFor(dir, nil) }

// osvEcosystems are the ecosystem names osv.dev gives its per-ecosystem
// folders (DIR/<Ecosystem>/all.zip or DIR/<Ecosystem>/*.json).
var osvEcosystems = map[string]bool{
	"AlmaLinux": true, "Alpine": true, "Android": true, "Bitnami": true, "CRAN": true, "Chainguard": true,
	"Debian": true, "GHC": true, "GIT": true, "GSD": true, "GitHub Actions": true, "Go": true, "Hackage": true,
	"Hex": true, "Linux": true, "Mageia": true, "Maven": true, "MinimOS": true, "NuGet": true, "OSS-Fuzz": true,
	"Packagist": true, "Pub": true, "PyPI": true, "Red Hat": true, "Rocky Linux": true, "RubyGems": true,
	"SUSE": true, "SwiftURL": true, "UVI": true, "Ubuntu": true, "Wolfi": true, "crates.io": true,
	"openSUSE": true, "npm": true,
}

// LoadDBFor is LoadDB reading only what can match the given ecosystems
// ("Go", "Debian:9", … as Component.Ecosystem has them; nil: all): a
// folder directly under dir named for another OSV ecosystem is not read,
// as osv-scanner reads only the ecosystems a scan needs. Any other
// folder and every file elsewhere are read, so nothing that could match
// is missed.
func LoadDBFor(dir string, ecosystems []string) (*DB, error) {
	db := &DB{Advisories: map[string]*Advisory{}, byPackage: map[string][]*Advisory{}}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("OSV directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("OSV directory: %s is not a directory", dir)
	}
	var want map[string]bool
	if ecosystems != nil {
		want = map[string]bool{}
		for _, e := range ecosystems {
			base, _, _ := strings.Cut(e, ":")
			want[base] = true
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if want != nil && osvEcosystems[d.Name()] && !want[d.Name()] && filepath.Dir(path) == filepath.Clean(dir) {
				return fs.SkipDir
			}
			return nil
		case strings.EqualFold(filepath.Ext(path), ".json"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return db.add(path, b)
		case strings.EqualFold(filepath.Ext(path), ".zip"):
			return db.addZip(path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, as := range db.byPackage {
		sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	}
	return db, nil
}

func (db *DB) addZip(path string) error {
	z, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer func() { _ = z.Close() }() // read only: a close error loses nothing
	for _, f := range z.File {
		if !strings.EqualFold(filepath.Ext(f.Name), ".json") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(r, 64<<20))
		_ = r.Close() // read only
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if err := db.add(path+"!"+f.Name, b); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) add(file string, b []byte) error {
	var a Advisory
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("%s: OSV record: %w", file, positioned(b, err))
	}
	if a.ID == "" {
		return fmt.Errorf("%s: OSV record has no id", file)
	}
	if a.Withdrawn != "" {
		db.Withdrawn++
		return nil
	}
	if _, ok := db.Advisories[a.ID]; ok {
		// The same ID twice (a file and an all.zip): the first read wins.
		return nil
	}
	a.File = file
	db.Advisories[a.ID] = &a
	seen := map[string]bool{}
	for _, af := range a.Affected {
		k := packageKey(af.Package.Ecosystem, af.Package.Name)
		if !seen[k] {
			seen[k] = true
			db.byPackage[k] = append(db.byPackage[k], &a)
		}
	}
	return nil
}

// Len is how many advisories are loaded.
func (db *DB) Len() int { return len(db.Advisories) }

func packageKey(ecosystem, name string) string {
	if ecosystem == "PyPI" {
		name = normalisePyPI(name)
	}
	return ecosystem + "\x00" + name
}

// forPackage is the advisories naming the package, in ID order (sorted
// once by LoadDB, so concurrent scans only read).
func (db *DB) forPackage(ecosystem, name string) []*Advisory {
	return db.byPackage[packageKey(ecosystem, name)]
}
