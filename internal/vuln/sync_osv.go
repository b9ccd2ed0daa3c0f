package vuln

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// OSV online sync: osv.dev publishes each ecosystem's records as one
// archive, BASE/<Ecosystem>/all.zip (the bucket
// https://osv-vulnerabilities.storage.googleapis.com). Each is fetched
// with a conditional GET, streamed to a temporary file beside its place
// (npm's and PyPI's archives are hundreds of MB, so never held in
// memory), and renamed over DIR/osv/<Ecosystem>/all.zip only once the
// archive opens and every *.json member reads as an OSV record, the way
// LoadDB will read it. `vigil vuln scan --db DIR/osv` then reads it.

// maxOSVZip bounds one downloaded archive (osv.dev's largest, all
// ecosystems together, is about 1 GB; one ecosystem's is far less).
const maxOSVZip = 2 << 30

// SyncedOSV is where Sync keeps the OSV archives under dir: the
// directory `vigil vuln scan --db` and `--vuln-osv` read.
func SyncedOSV(dir string) string { return filepath.Join(dir, "osv") }

// DefaultOSVEcosystems are synced when OSV is given without a list.
var DefaultOSVEcosystems = []string{"Go", "npm", "PyPI", "Maven", "crates.io", "NuGet", "RubyGems", "Packagist", "Debian", "Alpine"}

// checkEcosystem refuses a name that could leave DIR/osv or the URL's
// path: osv.dev's names are words with dots, colons and spaces
// ("crates.io", "Debian:12", "Ubuntu:22.04:LTS").
func checkEcosystem(e string) error {
	if e == "" || e == "." || e == ".." || strings.ContainsAny(e, `/\`) || strings.ContainsRune(e, 0) {
		return fmt.Errorf("--osv-ecosystems: %q is not an ecosystem name", e)
	}
	return nil
}

func (s *syncer) syncOSV(ctx context.Context, base string, r *SourceReport) error {
	ecos := s.o.OSVEcosystems
	if len(ecos) == 0 {
		ecos = DefaultOSVEcosystems
	}
	var errs []error
	for _, e := range ecos {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := s.syncOSVEcosystem(ctx, base, e, r); err != nil {
			errs = append(errs, err) // one failed ecosystem does not stop the others
		}
	}
	return errors.Join(errs...)
}

func (s *syncer) syncOSVEcosystem(ctx context.Context, base, eco string, r *SourceReport) error {
	u := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(eco) + "/all.zip"
	path := filepath.Join(SyncedOSV(s.o.Dir), eco, "all.zip")
	statePath := path + ".state"
	var st fileState
	if err := readState(statePath, &st); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "vigil-vuln-sync")
	if fileExists(path) && st.URL == u {
		if st.ETag != "" {
			req.Header.Set("If-None-Match", st.ETag)
		}
		if st.LastModified != "" {
			req.Header.Set("If-Modified-Since", st.LastModified)
		}
	}
	kept := ""
	if fileExists(path) {
		kept = "; the previous copy is kept"
	}
	res, err := s.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w%s", eco, redactURL(u), err, kept)
	}
	defer func() { _ = res.Body.Close() }()
	r.Fetched++
	switch res.StatusCode {
	case http.StatusNotModified:
		r.Unchanged++
		s.progress("OSV: %s not modified", redactURL(u))
		return nil
	case http.StatusOK:
	default:
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096)) // for the message only
		return fmt.Errorf("%s: %w%s", eco, &httpError{url: redactURL(u), status: res.StatusCode, body: snippet(b)}, kept)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".sync-*.zip")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // gone after the rename; else the bad copy
	n, err := io.Copy(f, io.LimitReader(res.Body, maxOSVZip+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: GET %s: reading the body: %w%s", eco, redactURL(u), err, kept)
	}
	if n > maxOSVZip {
		return fmt.Errorf("%s: GET %s: the archive is larger than %d MB%s", eco, redactURL(u), maxOSVZip>>20, kept)
	}
	count, err := checkOSVZip(tmp)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w%s", eco, redactURL(u), err, kept)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	r.Stored++
	s.progress("OSV: %s stored as %s (%d records, %d bytes)", redactURL(u), path, count, n)
	return writeState(statePath, fileState{URL: u, ETag: res.Header.Get("ETag"),
		LastModified: res.Header.Get("Last-Modified"), Fetched: s.o.Now().UTC()})
}

// checkOSVZip reads every *.json member of the archive at path as LoadDB
// does and says how many records it holds; an error names the member
// (and the line and column) that does not read.
func checkOSVZip(path string) (int, error) {
	z, err := zip.OpenReader(path)
	if err != nil { // named plainly, not by the temporary path
		return 0, fmt.Errorf("not a zip archive: %w", err)
	}
	_ = z.Close() // read only
	n := 0
	err = eachZipRecord(path, nil, func(file string, b []byte) error {
		member := file[strings.LastIndex(file, "!")+1:]
		var a Advisory
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("entry %s: OSV record: %w", member, positioned(b, err))
		}
		if a.ID == "" {
			return fmt.Errorf("entry %s: OSV record has no id", member)
		}
		n++
		return nil
	})
	if err != nil {
		// eachZipRecord names the temporary file; the member is what matters.
		return 0, errors.New(strings.TrimPrefix(err.Error(), path+": "))
	}
	return n, nil
}
