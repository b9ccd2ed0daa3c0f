package vuln

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IndexPath is where the prepared index of the OSV directory dir is kept:
// which records name which package. With it a scan decodes only the
// records of its components' packages instead of every record of the
// database — osv.dev's PyPI all.zip alone holds tens of thousands —
// which is what keeps a scan's cost to its SBOM's size. Indexes live in
// $VIGIL_CACHE_DIR, or the user's cache directory (~/.cache/vigil), one
// per directory, never in the OSV directory itself (it may be read-only,
// or shared). It is "" when there is no cache directory.
func IndexPath(dir string) string {
	base := os.Getenv("VIGIL_CACHE_DIR")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(c, "vigil")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "osv-index-"+hex.EncodeToString(sum[:12]))
}

// indexVersion changes whenever osvIndex or what it records changes, so an
// index written by another version is rebuilt rather than misread.
const indexVersion = 2

// osvIndex is what IndexFile holds.
type osvIndex struct {
	Version int
	// Fingerprint is of every record file's path, size and modification
	// time: any change to the directory rebuilds the index.
	Fingerprint string
	// Files are the record files, relative to the directory.
	Files []string
	// Packages maps packageKey to the records naming the package, each
	// once, in the order LoadDB would read them.
	Packages map[string][]recordRef
	// Advisories and Withdrawn are LoadDB's counts for the whole
	// directory.
	Advisories, Withdrawn int
	// offsets and entries are the packages of an index read from its
	// file (Packages is nil then): see encodeIndex.
	offsets, entries []byte
}

// recordRef is one record: a *.json file, or a member of a *.zip archive.
type recordRef struct {
	File   int    // index into Files
	Member string // the archive member, or "" for a *.json file
}

// Prepared says how LoadPrepared found the index.
type Prepared string

// The ways LoadPrepared finds the index.
const (
	PreparedUsed    Prepared = "used"    // the index matched the directory
	PreparedBuilt   Prepared = "built"   // none matched; one was built and saved
	PreparedUnsaved Prepared = "unsaved" // none matched; one was built but could not be saved
)

// LoadPrepared loads, from the OSV directory dir, only the advisories
// that name a package of comps (all of them affect only those packages'
// findings, so Scan of those components finds what it would against
// LoadDB(dir)). It uses the index at indexPath (IndexPath(dir)) when the
// index matches the directory, and otherwise builds one — reading every
// record once, as LoadDB does — and saves it there for the next scan;
// with no indexPath, or one that cannot be written, it still scans,
// building the index in memory each time. DB's Total and Withdrawn are
// the whole directory's.
func LoadPrepared(dir string, comps []Component, indexPath string) (*DB, Prepared, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("OSV directory: %w", err)
	} else if !st.IsDir() {
		return nil, "", fmt.Errorf("OSV directory: %s is not a directory", dir)
	}
	files, fp, err := recordFiles(dir)
	if err != nil {
		return nil, "", err
	}
	how := PreparedUsed
	var idx *osvIndex
	if indexPath != "" {
		idx = readIndex(indexPath, fp, len(files))
	}
	if idx == nil {
		if idx, err = buildIndex(dir, files, fp); err != nil {
			return nil, "", err
		}
		how = PreparedBuilt
		if indexPath == "" || writeIndex(indexPath, idx) != nil {
			how = PreparedUnsaved
		}
	}
	seenKey := map[string]bool{}
	// The records the components need, by file, each once.
	need := map[int]map[string]bool{}
	for _, c := range comps {
		if c.Ecosystem == "" {
			continue
		}
		k := packageKey(c.Ecosystem, c.Package)
		if seenKey[k] {
			continue
		}
		seenKey[k] = true
		refs, err := idx.lookup(k)
		if err != nil {
			return nil, "", fmt.Errorf("OSV index %s: %w (delete it to rebuild it)", indexPath, err)
		}
		for _, r := range refs {
			if need[r.File] == nil {
				need[r.File] = map[string]bool{}
			}
			need[r.File][r.Member] = true
		}
	}
	db := &DB{Advisories: map[string]*Advisory{}, byPackage: map[string][]*Advisory{}}
	order := make([]int, 0, len(need))
	for f := range need {
		order = append(order, f)
	}
	sort.Ints(order) // the walk's order, so the first of two same IDs wins as in LoadDB
	for _, f := range order {
		path := filepath.Join(dir, idx.Files[f])
		if need[f][""] {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, "", err
			}
			if err := db.add(path, b); err != nil {
				return nil, "", err
			}
			continue
		}
		if err := eachZipRecord(path, need[f], db.add); err != nil {
			return nil, "", err
		}
	}
	db.sortPackages()
	db.Total, db.Withdrawn = idx.Advisories, idx.Withdrawn
	return db, how, nil
}

// recordFiles lists the record files under dir (*.json and *.zip, at any
// depth, in the walk's order) relative to it, with their fingerprint.
func recordFiles(dir string) ([]string, string, error) {
	var files []string
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if d.IsDir() || ext != ".json" && ext != ".zip" {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", rel, st.Size(), st.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// readIndex is the index at path if it was written by this version for
// a directory with this fingerprint, and nil otherwise (missing, stale or
// damaged: it is rebuilt). Only its header is read here: lookup finds a
// package's records in the file's bytes, so a scan's cost does not grow
// with the packages of the whole database (decoding the index as a gob
// map took a sixth of a small SBOM's scan).
func readIndex(path, fp string, nfiles int) *osvIndex {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	idx, err := parseIndex(b)
	if err != nil || idx.Version != indexVersion || idx.Fingerprint != fp || len(idx.Files) != nfiles {
		return nil
	}
	return idx
}

// The index file: indexMagic, then uvarints and strings (a uvarint
// length and the bytes): the version, Advisories, Withdrawn, the
// Fingerprint, the count of Files and each file, the count of packages;
// then for each package in key order a 4-byte little-endian offset of
// its entry; then the entries: the package key, the count of its
// records and each record's file number and member.
const indexMagic = "vigil OSV index\n"

// parseIndex reads the header of an index file; the packages stay in
// the bytes for lookup.
func parseIndex(b []byte) (*osvIndex, error) {
	r := indexReader{b: b}
	if !bytes.HasPrefix(b, []byte(indexMagic)) {
		return nil, errors.New("not an index")
	}
	r.i = len(indexMagic)
	idx := &osvIndex{Version: r.int(), Advisories: r.int(), Withdrawn: r.int(), Fingerprint: r.str()}
	if idx.Version != indexVersion {
		return idx, r.err
	}
	n := r.int()
	for i := 0; i < n && r.err == nil; i++ {
		idx.Files = append(idx.Files, r.str())
	}
	keys := r.int()
	if r.err == nil && (keys > (len(b)-r.i)/4) {
		r.err = errors.New("damaged")
	}
	if r.err != nil {
		return nil, r.err
	}
	idx.offsets = b[r.i : r.i+4*keys]
	idx.entries = b[r.i+4*keys:]
	return idx, nil
}

// lookup is the records naming the package key.
func (idx *osvIndex) lookup(key string) ([]recordRef, error) {
	if idx.Packages != nil {
		return idx.Packages[key], nil
	}
	n := len(idx.offsets) / 4
	var err error
	entry := func(i int) indexReader {
		r := indexReader{b: idx.entries, i: int(binary.LittleEndian.Uint32(idx.offsets[4*i:]))}
		if r.i > len(r.b) {
			r.err = errors.New("damaged")
		}
		return r
	}
	i := sort.Search(n, func(i int) bool {
		r := entry(i)
		k := r.str()
		if r.err != nil {
			err = r.err
			return true
		}
		return k >= key
	})
	if err != nil || i == n {
		return nil, err
	}
	r := entry(i)
	if r.str() != key {
		return nil, r.err
	}
	n = r.int()
	if n > (len(r.b)-r.i)/2 { // a record takes two bytes at least
		return nil, errors.New("damaged")
	}
	refs := make([]recordRef, n)
	for j := range refs {
		refs[j] = recordRef{File: r.int(), Member: r.str()}
		if refs[j].File >= len(idx.Files) && r.err == nil {
			r.err = errors.New("damaged: a record of no file")
		}
	}
	return refs, r.err
}

// indexReader reads an index file's uvarints and strings; the first
// error sticks and what follows it reads as zero.
type indexReader struct {
	b   []byte
	i   int
	err error
}

func (r *indexReader) int() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 || v > 1<<31 {
		r.err = errors.New("damaged")
		return 0
	}
	r.i += n
	return int(v)
}

func (r *indexReader) str() string {
	n := r.int()
	if r.err != nil || n > len(r.b)-r.i {
		if r.err == nil {
			r.err = errors.New("damaged")
		}
		return ""
	}
	s := string(r.b[r.i : r.i+n])
	r.i += n
	return s
}

// encodeIndex is the file readIndex reads.
func encodeIndex(idx *osvIndex) []byte {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, indexMagic...)
	b = binary.AppendUvarint(b, uint64(idx.Version))
	b = binary.AppendUvarint(b, uint64(idx.Advisories))
	b = binary.AppendUvarint(b, uint64(idx.Withdrawn))
	str(idx.Fingerprint)
	b = binary.AppendUvarint(b, uint64(len(idx.Files)))
	for _, f := range idx.Files {
		str(f)
	}
	keys := make([]string, 0, len(idx.Packages))
	for k := range idx.Packages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	offsets := len(b)
	b = append(b, make([]byte, 4*len(keys))...)
	entries := len(b)
	for i, k := range keys {
		binary.LittleEndian.PutUint32(b[offsets+4*i:], uint32(len(b)-entries))
		str(k)
		b = binary.AppendUvarint(b, uint64(len(idx.Packages[k])))
		for _, r := range idx.Packages[k] {
			b = binary.AppendUvarint(b, uint64(r.File))
			str(r.Member)
		}
	}
	return b
}

// buildIndex reads every record once and notes which packages each names.
func buildIndex(dir string, files []string, fp string) (*osvIndex, error) {
	idx := &osvIndex{Version: indexVersion, Fingerprint: fp, Files: files, Packages: map[string][]recordRef{}}
	seen := map[string]bool{}
	for i, rel := range files {
		path := filepath.Join(dir, rel)
		note := func(file string, b []byte) error {
			var a struct {
				ID        string     `json:"id"`
				Withdrawn string     `json:"withdrawn"`
				Affected  []Affected `json:"affected"`
			}
			if err := decodeJSON(b, &a); err != nil {
				return fmt.Errorf("%s: OSV record: %w", file, positioned(b, err))
			}
			switch {
			case a.ID == "":
				return fmt.Errorf("%s: OSV record has no id", file)
			case a.Withdrawn != "":
				idx.Withdrawn++
				return nil
			case seen[a.ID]:
				return nil // the first read wins, as in LoadDB
			}
			seen[a.ID] = true
			idx.Advisories++
			ref := recordRef{File: i}
			if _, member, ok := strings.Cut(file, "!"); ok && strings.EqualFold(filepath.Ext(rel), ".zip") {
				ref.Member = member
			}
			keys := map[string]bool{}
			for _, af := range a.Affected {
				k := packageKey(af.Package.Ecosystem, af.Package.Name)
				if !keys[k] {
					keys[k] = true
					idx.Packages[k] = append(idx.Packages[k], ref)
				}
			}
			return nil
		}
		var err error
		if strings.EqualFold(filepath.Ext(rel), ".zip") {
			err = eachZipRecord(path, nil, note)
		} else {
			var b []byte
			if b, err = os.ReadFile(path); err == nil {
				err = note(path, b)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// writeIndex saves the index beside the records, whole or not at all.
func writeIndex(path string, idx *osvIndex) error {
	b := encodeIndex(idx)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return nil
}
