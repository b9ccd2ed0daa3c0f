package vuln

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// recordCache keeps what a match last read of each OSV record, by its
// place (a file's path, or "ARCHIVE!MEMBER"), so that the next match
// reads and decodes only the records whose file changed (size or
// modification time) or whose archive member changed (size or CRC-32,
// from the archive's directory, without inflating it). A national OSV
// mirror holds hundreds of thousands of records: reading and
// fingerprinting all of them again when one changed took longer than
// the incremental match it was for.
type recordCache map[string]cachedRecord

// cachedRecord is one record as last read: the advisory (nil when the
// record is withdrawn) and its fingerprint.
type cachedRecord struct {
	key string // size and time, or size and CRC-32
	a   *Advisory
	fp  string
}

// loadDBCached reads every OSV JSON record under dir (any depth,
// *.json) and every *.json member of *.zip archives there, in the walk's
// order — the first of an ID read winning, withdrawn ones counted and
// left out (DB.insert) — taking unchanged records from cache, and returns the
// database, each advisory's fingerprint, the cache for next time and how
// many records it read anew. A nil cache reads everything.
func loadDBCached(dir string, cache recordCache) (*DB, map[string]string, recordCache, int, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, nil, nil, 0, fmt.Errorf("OSV directory: %w", err)
	} else if !st.IsDir() {
		return nil, nil, nil, 0, fmt.Errorf("OSV directory: %s is not a directory", dir)
	}
	db := &DB{Advisories: map[string]*Advisory{}, byPackage: map[string][]*Advisory{}}
	fps := map[string]string{}
	next := recordCache{}
	read := 0
	take := func(place, key string, body func() ([]byte, error)) error {
		c, ok := cache[place]
		if !ok || c.key != key {
			b, err := body()
			if err != nil {
				return err
			}
			if c, err = parseRecord(place, key, b); err != nil {
				return err
			}
			read++
		}
		next[place] = c
		if db.insert(c.a) {
			fps[c.a.ID] = c.fp
		}
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return nil
		case strings.EqualFold(filepath.Ext(path), ".json"):
			st, err := d.Info()
			if err != nil {
				return err
			}
			return take(path, fmt.Sprintf("%d:%d", st.Size(), st.ModTime().UnixNano()), func() ([]byte, error) { return os.ReadFile(path) })
		case strings.EqualFold(filepath.Ext(path), ".zip"):
			z, err := zip.OpenReader(path)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			defer func() { _ = z.Close() }() // read only
			for _, f := range z.File {
				if !strings.EqualFold(filepath.Ext(f.Name), ".json") {
					continue
				}
				err := take(path+"!"+f.Name, fmt.Sprintf("%d:%08x", f.UncompressedSize64, f.CRC32), func() ([]byte, error) {
					b, err := readZipMember(f)
					if err != nil {
						return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
					}
					return b, nil
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, 0, err
	}
	db.sortPackages()
	db.Total = len(db.Advisories)
	return db, fps, next, read, nil
}

// parseRecord decodes one OSV record as DB.add does and fingerprints it.
func parseRecord(place, key string, b []byte) (cachedRecord, error) {
	a, err := decodeRecord(place, b)
	if err != nil || a == nil {
		return cachedRecord{key: key}, err
	}
	return cachedRecord{key: key, a: a, fp: advisoryFP(a)}, nil
}

// advisoryFP is an advisory's fingerprint: what tells a match that it
// changed.
func advisoryFP(a *Advisory) string {
	b, _ := json.Marshal(a)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}
