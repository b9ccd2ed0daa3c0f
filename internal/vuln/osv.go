package vuln

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Withdrawn counts the withdrawn records left out, and Total the
	// advisories in the whole database: LoadPrepared loads only some.
	Withdrawn, Total int
	byPackage        map[string][]*Advisory
}

// LoadDB reads every OSV JSON record under dir (any depth, *.json) and
// every record inside *.zip archives there (osv.dev's per-ecosystem
// all.zip). A record that cannot be read is an error naming its file.
// A scan of a few SBOMs needs far fewer: LoadPrepared reads only those.
func LoadDB(dir string) (*DB, error) {
	db, _, _, _, err := loadDBCached(dir, nil)
	return db, err
}

func (db *DB) sortPackages() {
	for _, as := range db.byPackage {
		sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	}
}

// eachZipRecord calls fn with the *.json members of the archive at path,
// or only those named in members when it is not nil.
func eachZipRecord(path string, members map[string]bool, fn func(file string, b []byte) error) error {
	z, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer func() { _ = z.Close() }() // read only: a close error loses nothing
	for _, f := range z.File {
		if !strings.EqualFold(filepath.Ext(f.Name), ".json") || members != nil && !members[f.Name] {
			continue
		}
		b, err := readZipMember(f)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if err := fn(path+"!"+f.Name, b); err != nil {
			return err
		}
	}
	return nil
}

// maxRecordSize bounds an OSV record read from an archive.
const maxRecordSize = 64 << 20

// readZipMember reads an archive member into a buffer of the size its
// header gives (growing one as io.ReadAll does was a tenth of a scan),
// then reads on to the end, where archive/zip checks the size and the
// CRC-32: a member longer or shorter than its header says is an error.
func readZipMember(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxRecordSize {
		return nil, fmt.Errorf("%d bytes, more than the %d an OSV record may have", f.UncompressedSize64, maxRecordSize)
	}
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }() // read only
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	var more [1]byte
	if n, err := r.Read(more[:]); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("longer than its header says")
		}
		return nil, err
	}
	return b, nil
}

func (db *DB) add(file string, b []byte) error {
	a, err := decodeRecord(file, b)
	if err != nil {
		return err
	}
	db.insert(a)
	return nil
}

// decodeRecord decodes one OSV record read from file; a withdrawn one
// is nil.
func decodeRecord(file string, b []byte) (*Advisory, error) {
	var a Advisory
	if err := decodeJSON(b, &a); err != nil {
		return nil, fmt.Errorf("%s: OSV record: %w", file, positioned(b, err))
	}
	if a.ID == "" {
		return nil, fmt.Errorf("%s: OSV record has no id", file)
	}
	if a.Withdrawn != "" {
		return nil, nil
	}
	a.File = file
	return &a, nil
}

// insert adds a decoded advisory (nil: a withdrawn record, counted) and
// tells whether it was added: of the same ID twice (a file and an
// all.zip) the first read wins.
func (db *DB) insert(a *Advisory) bool {
	if a == nil {
		db.Withdrawn++
		return false
	}
	if _, ok := db.Advisories[a.ID]; ok {
		return false
	}
	db.Advisories[a.ID] = a
	for _, k := range a.packageKeys() {
		db.byPackage[k] = append(db.byPackage[k], a)
	}
	return true
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
