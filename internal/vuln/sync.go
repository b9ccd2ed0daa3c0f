package vuln

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Online sync (issue 18 item 3): NVD CVE API 2.0, CISA KEV, FIRST EPSS
// and CSAF providers are fetched into a directory laid out as the
// offline readers expect it, so a closed network can carry the same
// directory across on a disk and `vigil vuln scan` reads it either way:
//
//	DIR/nvd/cves/CVE-YYYY-NNNN.json   one NVD API 2.0 page per CVE (LoadNVD)
//	DIR/kev/known_exploited_vulnerabilities.json   (LoadKEV)
//	DIR/epss/epss_scores.csv          gunzipped (LoadEPSS)
//	DIR/csaf/<host>/<name>.json       checked documents (LoadCSAF)
//	DIR/osv/<Ecosystem>/all.zip       osv.dev archives, checked (LoadDB)
//
// Each source keeps its state (what was fetched to when, ETags, the page
// an interrupted NVD sync reached) in a *.state file beside its data, so
// a sync that stops half way resumes where it stopped. Nothing is
// replaced until the new copy has been read and checked the way a scan
// reads it: a bad response is an error naming the source, URL and
// field, and the previous good copy stays.

// SyncOptions says what to fetch and where to keep it.
type SyncOptions struct {
	// Dir is the directory of the synced sources (SyncDir by default).
	Dir string
	// NVD is the CVE API 2.0 endpoint
	// (https://services.nvd.nist.gov/rest/json/cves/2.0); KEV the
	// catalogue's JSON URL; EPSS the daily CSV's URL (gzipped or not);
	// CSAF a provider's provider-metadata.json. Empty ones are skipped.
	NVD, KEV, EPSS, CSAF string
	// OSV is the base URL of osv.dev's per-ecosystem archives
	// (https://osv-vulnerabilities.storage.googleapis.com): each of
	// OSVEcosystems (DefaultOSVEcosystems when empty) is fetched from
	// OSV/<Ecosystem>/all.zip into DIR/osv/<Ecosystem>/all.zip.
	OSV           string
	OSVEcosystems []string
	// NVDAPIKey is sent as the apiKey header; it raises NVD's limit
	// from 5 to 50 requests in 30 seconds.
	NVDAPIKey string
	// NVDPageSize is resultsPerPage (NVD's maximum, 2000, by default).
	NVDPageSize int
	// NVDInterval is the least time between two NVD requests: by default
	// 6 s without a key and 0.6 s with one (NVD's published limits,
	// 5 and 50 requests in a rolling 30 s window).
	NVDInterval time.Duration
	// Client is the HTTP client (http.DefaultClient's settings with a
	// 60 s timeout by default).
	Client *http.Client
	// Progress gets a line per page, file or document fetched (nil: none).
	Progress io.Writer
	// Now and Sleep are injected for tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// SourceReport is what a sync did for one source.
type SourceReport struct {
	Fetched   int      `json:"fetched"`   // responses read
	Stored    int      `json:"stored"`    // files written
	Unchanged int      `json:"unchanged"` // already up to date
	Errors    []string `json:"errors,omitempty"`
}

// SyncReport is what Sync did, by source.
type SyncReport struct {
	Dir  string       `json:"dir"`
	NVD  SourceReport `json:"nvd"`
	KEV  SourceReport `json:"kev"`
	EPSS SourceReport `json:"epss"`
	CSAF SourceReport `json:"csaf"`
	OSV  SourceReport `json:"osv"`
}

// SyncDir is the default directory of synced sources:
// $VIGIL_CACHE_DIR/vuln-sources, else ~/.cache/vigil/vuln-sources.
func SyncDir() string {
	base := os.Getenv("VIGIL_CACHE_DIR")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(c, "vigil")
	}
	return filepath.Join(base, "vuln-sources")
}

// SyncedPaths are where Sync keeps each source under dir, as the scan's
// --nvd, --kev, --epss and --csaf read them.
func SyncedPaths(dir string) (nvd, kev, epss, csaf string) {
	return filepath.Join(dir, "nvd"), filepath.Join(dir, "kev", "known_exploited_vulnerabilities.json"),
		filepath.Join(dir, "epss", "epss_scores.csv"), filepath.Join(dir, "csaf")
}

// maxBody bounds any one response read: the KEV catalogue is 1.5 MB, an
// NVD page of 2,000 CVEs about 30 MB, the gunzipped EPSS CSV 10 MB.
const maxBody = 256 << 20

// Sync fetches every source named in o into o.Dir. A source that fails
// does not stop the others; the error joins every failure, and the
// report says what each source did.
func Sync(ctx context.Context, o SyncOptions) (SyncReport, error) {
	s, err := newSyncer(o)
	if err != nil {
		return SyncReport{}, err
	}
	rep := SyncReport{Dir: s.o.Dir}
	var errs []error
	run := func(name, u string, r *SourceReport, fn func(context.Context, string, *SourceReport) error) {
		if u == "" {
			return
		}
		if err := fn(ctx, u, r); err != nil {
			r.Errors = append(r.Errors, err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	run("NVD", o.NVD, &rep.NVD, s.syncNVD)
	run("KEV", o.KEV, &rep.KEV, s.syncKEV)
	run("EPSS", o.EPSS, &rep.EPSS, s.syncEPSS)
	run("CSAF", o.CSAF, &rep.CSAF, s.syncCSAF)
	run("OSV", o.OSV, &rep.OSV, s.syncOSV)
	return rep, errors.Join(errs...)
}

// RunSync runs Sync every interval until ctx is done (a leader duty of
// `vigil serve`, --vuln-sync-interval). A failed run is logged and tried
// again at the next tick; the previous copies stay in use meanwhile.
func RunSync(ctx context.Context, o SyncOptions, interval time.Duration, log *slog.Logger) (stop func()) {
	if interval <= 0 || o.NVD+o.KEV+o.EPSS+o.CSAF+o.OSV == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			rep, err := Sync(ctx, o)
			if err != nil && ctx.Err() == nil {
				log.Warn("vulnerability sources sync failed; the previous copies stay in use", "err", err)
			} else if err == nil {
				log.Info("vulnerability sources synced", "dir", rep.Dir, "nvd", rep.NVD.Stored, "kev", rep.KEV.Stored,
					"epss", rep.EPSS.Stored, "csaf", rep.CSAF.Stored, "osv", rep.OSV.Stored)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

type syncer struct {
	o       SyncOptions
	mu      sync.Mutex
	lastNVD time.Time
}

func newSyncer(o SyncOptions) (*syncer, error) {
	if o.Dir == "" {
		o.Dir = SyncDir()
		if o.Dir == "" {
			return nil, errors.New("no directory for the synced sources: give --dir or set VIGIL_CACHE_DIR")
		}
	}
	for _, u := range []struct{ name, v string }{{"nvd", o.NVD}, {"kev", o.KEV}, {"epss", o.EPSS}, {"csaf", o.CSAF}, {"osv", o.OSV}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("--%s %q: not an http(s) URL", u.name, u.v)
		}
	}
	for _, e := range o.OSVEcosystems {
		if err := checkEcosystem(e); err != nil {
			return nil, err
		}
	}
	if o.NVDPageSize <= 0 || o.NVDPageSize > 2000 {
		o.NVDPageSize = 2000
	}
	if o.NVDInterval == 0 {
		o.NVDInterval = 6 * time.Second
		if o.NVDAPIKey != "" {
			o.NVDInterval = 600 * time.Millisecond
		}
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	return &syncer{o: o}, nil
}

func (s *syncer) progress(format string, a ...any) {
	if s.o.Progress != nil {
		fmt.Fprintf(s.o.Progress, "vigil vuln sync: "+format+"\n", a...)
	}
}

// response is one HTTP answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get fetches u with the given headers. A status other than 200 and 304
// is an error quoting the start of the body; so is a body over maxBody.
func (s *syncer) get(ctx context.Context, u string, hdr map[string]string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "vigil-vuln-sync")
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := s.o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", redactURL(u), err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("GET %s: the response is larger than %d MB", redactURL(u), maxBody>>20)
	}
	r := &response{status: res.StatusCode, header: res.Header, body: b}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotModified {
		return r, &httpError{url: redactURL(u), status: res.StatusCode, body: snippet(b), msg: res.Header.Get("message")}
	}
	return r, nil
}

// httpError is a response other than 200 or 304.
type httpError struct {
	url, body, msg string
	status         int
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("GET %s: %d %s", e.url, e.status, http.StatusText(e.status))
	if e.msg != "" { // NVD explains a refusal in a "message" header
		s += ": " + e.msg
	} else if e.body != "" {
		s += ": " + e.body
	}
	return s
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// redactURL drops a query's values that look like keys, so errors and
// logs never carry one.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.User = nil
	q := p.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "key") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, "REDACTED")
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// writeAtomic writes b to path through a temporary file in the same
// directory, so a reader sees the old file or the new one, never half.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".sync-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

func readState(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w (remove it to sync this source afresh)", path, err)
	}
	return nil
}

func writeState(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

// fileState is the state of a source fetched as one file.
type fileState struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// syncFile fetches one file with a conditional GET, turns the body into
// what is stored with conv (which also checks it), and replaces path.
func (s *syncer) syncFile(ctx context.Context, name, u, path string, r *SourceReport, conv func([]byte) ([]byte, error)) error {
	statePath := path + ".state"
	var st fileState
	if err := readState(statePath, &st); err != nil {
		return err
	}
	hdr := map[string]string{}
	if _, err := os.Stat(path); err == nil && st.URL == u {
		hdr["If-None-Match"], hdr["If-Modified-Since"] = st.ETag, st.LastModified
	}
	res, err := s.get(ctx, u, hdr)
	if err != nil {
		if fileExists(path) {
			return fmt.Errorf("%w; the previous copy is kept", err)
		}
		return err
	}
	r.Fetched++
	if res.status == http.StatusNotModified {
		r.Unchanged++
		s.progress("%s: %s not modified", name, redactURL(u))
		return nil
	}
	out, err := conv(res.body)
	if err != nil {
		return fmt.Errorf("GET %s: %w; the previous copy is kept", redactURL(u), err)
	}
	if err := writeAtomic(path, out); err != nil {
		return err
	}
	r.Stored++
	s.progress("%s: %s stored as %s (%d bytes)", name, redactURL(u), path, len(out))
	return writeState(statePath, fileState{URL: u, ETag: res.header.Get("ETag"),
		LastModified: res.header.Get("Last-Modified"), Fetched: s.o.Now().UTC()})
}

func (s *syncer) syncKEV(ctx context.Context, u string, r *SourceReport) error {
	_, path, _, _ := SyncedPaths(s.o.Dir)
	return s.syncFile(ctx, "KEV", u, path, r, func(b []byte) ([]byte, error) {
		if _, err := ParseKEV("response", b); err != nil {
			return nil, err
		}
		return b, nil
	})
}

func (s *syncer) syncEPSS(ctx context.Context, u string, r *SourceReport) error {
	_, _, path, _ := SyncedPaths(s.o.Dir)
	return s.syncFile(ctx, "EPSS", u, path, r, func(b []byte) ([]byte, error) {
		b, err := gunzipMaybe(b)
		if err != nil {
			return nil, err
		}
		if _, err := ParseEPSS(b); err != nil {
			return nil, fmt.Errorf("EPSS CSV: %w", err)
		}
		return b, nil
	})
}

// gunzipMaybe gunzips b when it starts with gzip's magic number (FIRST
// publishes epss_scores-YYYY-MM-DD.csv.gz; a mirror may serve it plain).
func gunzipMaybe(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if len(out) > maxBody {
		return nil, fmt.Errorf("gzip: more than %d MB unpacked", maxBody>>20)
	}
	return out, nil
}

// ParseKEV reads CISA's known_exploited_vulnerabilities.json from b;
// name names it in errors.
func ParseKEV(name string, b []byte) (*KEV, error) {
	var doc struct {
		CatalogVersion  string `json:"catalogVersion"`
		Vulnerabilities []struct {
			CVE       string `json:"cveID"`
			DateAdded string `json:"dateAdded"`
			DueDate   string `json:"dueDate"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("KEV catalogue %s: %w", name, positioned(b, err))
	}
	if doc.Vulnerabilities == nil {
		return nil, fmt.Errorf("KEV catalogue %s: no vulnerabilities list (is it CISA's known_exploited_vulnerabilities.json?)", name)
	}
	k := &KEV{Version: doc.CatalogVersion, Entries: make(map[string]KEVEntry, len(doc.Vulnerabilities))}
	for i, v := range doc.Vulnerabilities {
		if v.CVE == "" {
			return nil, fmt.Errorf("KEV catalogue %s: vulnerability %d has no cveID", name, i)
		}
		k.Entries[v.CVE] = KEVEntry{CVE: v.CVE, DateAdded: v.DateAdded, DueDate: v.DueDate}
	}
	return k, nil
}

var cveIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`) })

// nvdState is where the NVD sync stands.
type nvdState struct {
	URL string `json:"url"`
	// Through is the end of the last window fully synced: the next sync
	// asks for what was modified since.
	Through time.Time `json:"through,omitzero"`
	// Pending is a window under way: the next sync goes on from its
	// StartIndex.
	Pending *nvdWindow `json:"pending,omitempty"`
}

type nvdWindow struct {
	// Start and End bound lastModified; both zero for the first, full
	// sync.
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end"`
	StartIndex int       `json:"start_index"`
	Total      int       `json:"total"`
}

// nvdMaxRange is NVD's limit on a lastModStartDate–lastModEndDate range.
const nvdMaxRange = 120 * 24 * time.Hour

// nvdTime is the layout NVD takes for dates (ISO 8601 with an offset).
const nvdTime = "2006-01-02T15:04:05.000-07:00"

// syncNVD pages through the CVE API: the first sync everything, later
// ones what changed since the last (lastModStartDate/lastModEndDate, in
// windows of at most 120 days). Each page is checked whole as LoadNVD
// reads it before any of its CVEs is written, and the state is saved
// after each page, so an interrupted sync goes on from that page.
func (s *syncer) syncNVD(ctx context.Context, u string, r *SourceReport) error {
	dir, _, _, _ := SyncedPaths(s.o.Dir)
	statePath := filepath.Join(dir, "nvd.state")
	var st nvdState
	if err := readState(statePath, &st); err != nil {
		return err
	}
	if st.URL != u {
		st = nvdState{URL: u}
	}
	now := s.o.Now().UTC().Truncate(time.Millisecond)
	for {
		if st.Pending == nil {
			if !st.Through.IsZero() && !now.After(st.Through) {
				return nil
			}
			w := &nvdWindow{Start: st.Through, End: now}
			if !w.Start.IsZero() && w.End.Sub(w.Start) > nvdMaxRange {
				w.End = w.Start.Add(nvdMaxRange)
			}
			st.Pending = w
		}
		w := st.Pending
		for {
			n, total, err := s.nvdPage(ctx, u, w, dir, r)
			if err != nil {
				return fmt.Errorf("%w (the sync goes on from startIndex %d next time)", err, w.StartIndex)
			}
			if n == 0 && w.StartIndex < total {
				// An empty page short of the total: going on would mark
				// the window done with CVEs never fetched.
				return fmt.Errorf("NVD gave no CVEs at startIndex %d of %d (the sync goes on from there next time)", w.StartIndex, total)
			}
			w.StartIndex += n
			w.Total = total
			if err := writeState(statePath, st); err != nil {
				return err
			}
			if w.StartIndex >= total {
				break
			}
		}
		st.Through, st.Pending = w.End, nil
		if err := writeState(statePath, st); err != nil {
			return err
		}
		if !st.Through.Before(now) {
			return nil
		}
	}
}

// nvdPage fetches and stores one page, returning how many CVEs it held
// and the total NVD gave.
func (s *syncer) nvdPage(ctx context.Context, base string, w *nvdWindow, dir string, r *SourceReport) (int, int, error) {
	p, err := url.Parse(base)
	if err != nil {
		return 0, 0, err
	}
	q := p.Query()
	if !w.Start.IsZero() {
		q.Set("lastModStartDate", w.Start.Format(nvdTime))
		q.Set("lastModEndDate", w.End.Format(nvdTime))
	}
	q.Set("startIndex", strconv.Itoa(w.StartIndex))
	q.Set("resultsPerPage", strconv.Itoa(s.o.NVDPageSize))
	p.RawQuery = q.Encode()
	res, err := s.nvdGet(ctx, p.String())
	if err != nil {
		return 0, 0, err
	}
	r.Fetched++
	name := fmt.Sprintf("NVD page startIndex=%d", w.StartIndex)
	page, err := SplitNVDPage(name, res.body)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range page.CVEs {
		if err := writeAtomic(filepath.Join(dir, "cves", c.ID+".json"), c.Page); err != nil {
			return 0, 0, err
		}
		r.Stored++
	}
	s.progress("NVD: %d–%d of %d CVEs%s", w.StartIndex, w.StartIndex+len(page.CVEs), page.Total, windowText(w))
	return len(page.CVEs), page.Total, nil
}

func windowText(w *nvdWindow) string {
	if w.Start.IsZero() {
		return " (full sync)"
	}
	return fmt.Sprintf(" modified %s – %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
}

// nvdGet keeps to the request interval and tries again, after a pause,
// when NVD answers 403 (its rate-limit answer), 429 or 5xx, as its
// documentation asks: three tries in all.
func (s *syncer) nvdGet(ctx context.Context, u string) (*response, error) {
	var last error
	for try := 0; try < 3; try++ {
		s.mu.Lock()
		wait := s.o.NVDInterval - s.o.Now().Sub(s.lastNVD)
		s.mu.Unlock()
		if !s.lastNVD.IsZero() && wait > 0 {
			if err := s.o.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		s.mu.Lock()
		s.lastNVD = s.o.Now()
		s.mu.Unlock()
		res, err := s.get(ctx, u, map[string]string{"apiKey": s.o.NVDAPIKey})
		var he *httpError
		if err == nil {
			return res, nil
		}
		if !errors.As(err, &he) || (he.status != 403 && he.status != 429 && he.status < 500) {
			return nil, err
		}
		last = err
		if err := s.o.Sleep(ctx, time.Duration(try+1)*s.o.NVDInterval); err != nil {
			return nil, err
		}
	}
	return nil, last
}

// NVDPage is an API 2.0 page split into one page per CVE, as stored.
type NVDPage struct {
	StartIndex, Total int
	CVEs              []NVDPageCVE
}

// NVDPageCVE is one CVE of a page: its ID and a page holding it alone.
type NVDPageCVE struct {
	ID   string
	Page []byte
}

// SplitNVDPage checks an NVD CVE API 2.0 response as LoadNVD reads it
// (every criterion parsed) and splits it into one page per CVE. name
// names the page in errors.
func SplitNVDPage(name string, b []byte) (*NVDPage, error) {
	var raw struct {
		StartIndex      *int              `json:"startIndex"`
		TotalResults    *int              `json:"totalResults"`
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, positioned(b, err))
	}
	if raw.TotalResults == nil || raw.Vulnerabilities == nil {
		return nil, fmt.Errorf("%s: no totalResults or vulnerabilities (is it an NVD CVE API 2.0 response?)", name)
	}
	if _, err := ParseNVD(name, b); err != nil {
		return nil, err
	}
	p := &NVDPage{Total: *raw.TotalResults}
	if raw.StartIndex != nil {
		p.StartIndex = *raw.StartIndex
	}
	for i, v := range raw.Vulnerabilities {
		var one struct {
			CVE struct {
				ID string `json:"id"`
			} `json:"cve"`
		}
		if err := json.Unmarshal(v, &one); err != nil {
			return nil, fmt.Errorf("%s: vulnerabilities[%d]: %w", name, i, err)
		}
		// The ID becomes a file name: only a CVE ID is taken.
		if !cveIDRE().MatchString(one.CVE.ID) {
			return nil, fmt.Errorf("%s: vulnerabilities[%d].cve.id %q is not a CVE ID", name, i, one.CVE.ID)
		}
		var page bytes.Buffer
		page.WriteString(`{"vulnerabilities":[`)
		page.Write(v)
		page.WriteString("]}\n")
		p.CVEs = append(p.CVEs, NVDPageCVE{ID: one.CVE.ID, Page: page.Bytes()})
	}
	return p, nil
}
