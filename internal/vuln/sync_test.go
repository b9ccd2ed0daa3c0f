package vuln

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// nvdServer serves the 36 CVE records of ../shared/data/vuln/nvd as the
// CVE API 2.0 does: paged by startIndex/resultsPerPage, filtered by
// lastModStartDate/lastModEndDate on each record's lastModified. fail,
// when set, answers a request instead.
type nvdServer struct {
	mu       sync.Mutex
	recs     []json.RawMessage
	mod      []time.Time
	requests []string
	keys     []string
	fail     func(r *http.Request) int
}

func newNVDServer(t *testing.T) *nvdServer {
	t.Helper()
	needData(t)
	s := &nvdServer{}
	files, err := filepath.Glob(filepath.Join(dataDir, "nvd", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("NVD records: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Vulnerabilities {
			var one struct {
				CVE struct {
					ID           string `json:"id"`
					LastModified string `json:"lastModified"`
				} `json:"cve"`
			}
			if err := json.Unmarshal(v, &one); err != nil {
				t.Fatal(err)
			}
			if seen[one.CVE.ID] {
				continue
			}
			seen[one.CVE.ID] = true
			m, err := time.Parse("2006-01-02T15:04:05.000", strings.TrimSuffix(one.CVE.LastModified, "Z"))
			if err != nil {
				t.Fatalf("%s lastModified: %v", one.CVE.ID, err)
			}
			s.recs, s.mod = append(s.recs, v), append(s.mod, m)
		}
	}
	return s
}

func (s *nvdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RawQuery)
	s.keys = append(s.keys, r.Header.Get("apiKey"))
	if s.fail != nil {
		if code := s.fail(r); code != 0 {
			w.Header().Set("message", "test failure")
			w.WriteHeader(code)
			return
		}
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startIndex"))
	per, _ := strconv.Atoi(q.Get("resultsPerPage"))
	var from, to time.Time
	if v := q.Get("lastModStartDate"); v != "" {
		from, _ = time.Parse(nvdTime, v)
		to, _ = time.Parse(nvdTime, q.Get("lastModEndDate"))
	}
	var sel []json.RawMessage
	for i, v := range s.recs {
		if from.IsZero() || !s.mod[i].Before(from) && !s.mod[i].After(to) {
			sel = append(sel, v)
		}
	}
	end := min(start+per, len(sel))
	page := sel[min(start, len(sel)):end]
	if page == nil {
		page = []json.RawMessage{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"resultsPerPage": len(page), "startIndex": start,
		"totalResults": len(sel), "format": "NVD_CVE", "version": "2.0", "vulnerabilities": page})
}

func testSyncOptions(dir string, now *time.Time, sleeps *[]time.Duration) SyncOptions {
	return SyncOptions{Dir: dir, NVDPageSize: 10, NVDInterval: 6 * time.Second,
		Now: func() time.Time { return *now },
		Sleep: func(_ context.Context, d time.Duration) error {
			*sleeps = append(*sleeps, d)
			*now = now.Add(d)
			return nil
		}}
}

// TestSyncNVD: a first full sync pages through all 36 records, 10 a
// page, keeping to the request interval, with the API key as a header;
// LoadNVD reads the result. A later sync asks only for what was
// modified since, in a lastModStartDate/lastModEndDate window, and picks
// up a changed record.
func TestSyncNVD(t *testing.T) {
	srv := newNVDServer(t)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	now := time.Date(2026, 7, 8, 0, 0, 0, 0, time.UTC)
	var sleeps []time.Duration
	o := testSyncOptions(dir, &now, &sleeps)
	o.NVD, o.NVDAPIKey = ts.URL+"/rest/json/cves/2.0", "secret-key"
	var progress bytes.Buffer
	o.Progress = &progress
	through := now // the window ends when the sync began
	rep, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.NVD.Fetched != 4 || rep.NVD.Stored != len(srv.recs) || len(srv.recs) != 36 {
		t.Fatalf("report %+v, %d records served", rep.NVD, len(srv.recs))
	}
	for i, q := range srv.requests {
		if want := fmt.Sprintf("resultsPerPage=10&startIndex=%d", i*10); q != want {
			t.Errorf("request %d: %q, want %q", i, q, want)
		}
		if srv.keys[i] != "secret-key" {
			t.Errorf("request %d: apiKey header %q", i, srv.keys[i])
		}
	}
	if len(sleeps) != 3 || sleeps[0] != 6*time.Second {
		t.Errorf("sleeps between the 4 requests: %v, want three of 6s", sleeps)
	}
	if !strings.Contains(progress.String(), "NVD: 30–36 of 36 CVEs (full sync)") {
		t.Errorf("progress:\n%s", progress.String())
	}
	nvdDir, _, _, _ := SyncedPaths(dir)
	n, err := LoadNVD(nvdDir)
	if err != nil {
		t.Fatal(err)
	}
	if n.Len() != 36 {
		t.Fatalf("LoadNVD of the synced directory: %d CVEs", n.Len())
	}

	// A record modified after the first sync: the second asks for the
	// window since and stores just that one.
	srv.mu.Lock()
	srv.requests = nil
	changed := bytes.Replace(srv.recs[0], []byte(`"lastModified"`), []byte(`"sourceIdentifier":"changed@test","lastModified"`), 1)
	srv.recs[0], srv.mod[0] = changed, now.Add(time.Hour)
	srv.mu.Unlock()
	now = now.Add(2 * time.Hour)
	rep, err = Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := "lastModEndDate=" + urlQueryEscape(now.Format(nvdTime)) + "&lastModStartDate=" + urlQueryEscape(through.Format(nvdTime)) + "&resultsPerPage=10&startIndex=0"
	if len(srv.requests) != 1 || srv.requests[0] != want || rep.NVD.Stored != 1 {
		t.Fatalf("incremental sync: requests %q (want %q), report %+v", srv.requests, want, rep.NVD)
	}
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer(":", "%3A", "+", "%2B").Replace(s)
}

// TestSyncNVDResumes: NVD fails on the third page (503 three times);
// the sync stops with an error naming where it will go on, keeps the
// two pages stored, and the next sync starts at startIndex 20, not 0.
// A page that is not NVD JSON is refused whole.
func TestSyncNVDResumes(t *testing.T) {
	srv := newNVDServer(t)
	failing := true
	srv.fail = func(r *http.Request) int {
		if failing && r.URL.Query().Get("startIndex") == "20" {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	now := time.Date(2026, 7, 8, 0, 0, 0, 0, time.UTC)
	var sleeps []time.Duration
	o := testSyncOptions(dir, &now, &sleeps)
	o.NVD = ts.URL
	rep, err := Sync(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: test failure") || !strings.Contains(err.Error(), "goes on from startIndex 20") {
		t.Fatalf("error %v", err)
	}
	if rep.NVD.Stored != 20 {
		t.Fatalf("stored %d before the failure", rep.NVD.Stored)
	}
	failing = false
	srv.requests = nil
	rep, err = Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Then, the window finished, what changed since the first sync began.
	if len(srv.requests) != 3 || !strings.HasSuffix(srv.requests[0], "startIndex=20") || !strings.HasSuffix(srv.requests[1], "startIndex=30") ||
		!strings.Contains(srv.requests[2], "lastModStartDate=2026-07-08T00%3A00%3A00.000%2B00%3A00") || rep.NVD.Stored != 16 {
		t.Fatalf("resumed with %q, stored %d", srv.requests, rep.NVD.Stored)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"totalResults": 1, "vulnerabilities": [{"cve": {"id": "../../etc/passwd"}}]}`))
	}))
	defer bad.Close()
	o.Dir, o.NVD = t.TempDir(), bad.URL
	if _, err := Sync(context.Background(), o); err == nil || !strings.Contains(err.Error(), `vulnerabilities[0].cve.id "../../etc/passwd" is not a CVE ID`) {
		t.Fatalf("bad page: %v", err)
	}

	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"startIndex": 0, "totalResults": 5, "vulnerabilities": []}`))
	}))
	defer short.Close()
	o.Dir, o.NVD = t.TempDir(), short.URL
	if _, err := Sync(context.Background(), o); err == nil || !strings.Contains(err.Error(), "NVD gave no CVEs at startIndex 0 of 5") {
		t.Fatalf("empty page short of the total: %v", err)
	}
}

// TestSyncKEVAndEPSS: the KEV catalogue and a gzipped EPSS CSV are
// stored where the scan reads them; a second sync is a conditional GET
// answered 304; a broken response is an error and the good copy stays.
func TestSyncKEVAndEPSS(t *testing.T) {
	needData(t)
	kev, err := os.ReadFile(filepath.Join(dataDir, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	epss, err := os.ReadFile(filepath.Join("testdata", "epss_scores-fixture.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(epss)
	_ = zw.Close()
	broken := false
	var conditional []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			conditional = append(conditional, r.URL.Path)
			if !broken && inm == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("ETag", `"v1"`)
		switch {
		case broken:
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		case r.URL.Path == "/kev.json":
			_, _ = w.Write(kev)
		case r.URL.Path == "/epss_scores-current.csv.gz":
			_, _ = w.Write(gz.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	dir := t.TempDir()
	o := SyncOptions{Dir: dir, KEV: ts.URL + "/kev.json", EPSS: ts.URL + "/epss_scores-current.csv.gz"}
	rep, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	_, kevPath, epssPath, _ := SyncedPaths(dir)
	k, err := LoadKEV(kevPath)
	if err != nil || len(k.Entries) != 1404 || rep.KEV.Stored != 1 {
		t.Fatalf("KEV: %v, %+v", err, rep.KEV)
	}
	e, err := LoadEPSS(epssPath)
	if err != nil || e.Scores["CVE-2023-44487"].Score != 0.94408 {
		t.Fatalf("EPSS: %v", err)
	}
	rep, err = Sync(context.Background(), o)
	if err != nil || rep.KEV.Unchanged != 1 || rep.EPSS.Unchanged != 1 || len(conditional) != 2 {
		t.Fatalf("second sync: %v, %+v %+v, conditional %v", err, rep.KEV, rep.EPSS, conditional)
	}
	broken = true
	_, err = Sync(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "KEV: GET "+ts.URL+"/kev.json: KEV catalogue response: line 1 column 2") ||
		!strings.Contains(err.Error(), "the previous copy is kept") || !strings.Contains(err.Error(), "EPSS: GET") {
		t.Fatalf("broken responses: %v", err)
	}
	if k, err := LoadKEV(kevPath); err != nil || len(k.Entries) != 1404 {
		t.Fatalf("KEV after a broken response: %v", err)
	}
	if _, err := LoadEPSS(epssPath); err != nil {
		t.Fatalf("EPSS after a broken response: %v", err)
	}
}

// csafProvider serves the shared CSAF documents as a provider would: the
// six advisories through a ROLIE feed (SHA-256 and SHA-512 links), the
// 13 VEX documents through a directory with changes.csv (SHA-512 files
// only). tamper names a document whose hash file is wrong. With signer,
// each document has a detached signature (.asc) and the metadata names
// the key; badSig names a document whose signature is of other bytes.
func csafProvider(t *testing.T, tamper string, signer *openpgp.Entity, badSig string) (*httptest.Server, *[]string) {
	t.Helper()
	needData(t)
	var pubKey bytes.Buffer
	keysJSON := "[]"
	if signer != nil {
		aw, err := armor.Encode(&pubKey, openpgp.PublicKeyType, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.Serialize(aw); err != nil {
			t.Fatal(err)
		}
		_ = aw.Close()
		keysJSON = fmt.Sprintf(`[{"fingerprint": "%X", "url": "openpgp/key.asc"}]`, signer.PrimaryKey.Fingerprint)
	}
	files := map[string][]byte{}
	var advisories, vex []string
	for _, sub := range []string{"", "csaf_vex"} {
		ms, _ := filepath.Glob(filepath.Join(dataDir, "csaf", sub, "*.json"))
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(m)
			p := "/advisories/2022/" + name
			if sub != "" {
				p = "/vex/2022/" + name
				vex = append(vex, name)
			} else {
				advisories = append(advisories, name)
			}
			files[p] = b
			if signer != nil {
				signed := b
				if name == badSig {
					signed = append([]byte("x"), b...)
				}
				var sig bytes.Buffer
				if err := openpgp.ArmoredDetachSign(&sig, signer, bytes.NewReader(signed), nil); err != nil {
					t.Fatal(err)
				}
				files[p+".asc"] = sig.Bytes()
			}
			s2, s5 := sha256.Sum256(b), sha512.Sum512(b)
			if name == tamper {
				s5[0] ^= 1
				s2[0] ^= 1
			}
			files[p+".sha512"] = fmt.Appendf(nil, "%x  %s\n", s5, name)
			if sub == "" {
				files[p+".sha256"] = fmt.Appendf(nil, "%x  %s\n", s2, name)
			}
		}
	}
	sort.Strings(advisories)
	sort.Strings(vex)
	var fetched []string
	var ts *httptest.Server
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched = append(fetched, r.URL.Path)
		switch r.URL.Path {
		case "/.well-known/csaf/provider-metadata.json":
			fmt.Fprintf(w, `{"canonical_url": %q, "publisher": {"name": "Test provider", "category": "vendor", "namespace": "https://example.test"},
				"distributions": [{"rolie": {"feeds": [{"url": %q, "tlp_label": "WHITE"}]}}, {"directory_url": %q}],
				"role": "csaf_trusted_provider", "public_openpgp_keys": %s}`,
				ts.URL+"/.well-known/csaf/provider-metadata.json", ts.URL+"/feed-white.json", ts.URL+"/vex/", keysJSON)
		case "/.well-known/csaf/openpgp/key.asc":
			_, _ = w.Write(pubKey.Bytes())
		case "/feed-white.json":
			var entries []string
			for _, a := range advisories {
				entries = append(entries, fmt.Sprintf(`{"id": %q, "updated": "2024-01-01T00:00:00Z",
					"link": [{"rel": "self", "href": "advisories/2022/%[1]s"}, {"rel": "hash", "href": "advisories/2022/%[1]s.sha256"},
					{"rel": "hash", "href": "advisories/2022/%[1]s.sha512"}, {"rel": "signature", "href": "advisories/2022/%[1]s.asc"}],
					"format": {"schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0"},
					"content": {"type": "application/json", "src": "advisories/2022/%[1]s"}}`, a))
			}
			fmt.Fprintf(w, `{"feed": {"id": "white", "title": "TLP:WHITE", "updated": "2024-01-01T00:00:00Z", "entry": [%s]}}`, strings.Join(entries, ","))
		case "/vex/changes.csv":
			for _, v := range vex {
				fmt.Fprintf(w, "\"2022/%s\",\"2024-02-01T00:00:00Z\"\n", v)
			}
		default:
			b, ok := files[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(b)
		}
	}))
	return ts, &fetched
}

// TestSyncCSAF: every document of both distributions is fetched, checked
// against its hash (SHA-512 where given) and stored where LoadCSAF reads
// it; a second sync fetches no document again; a document whose hash
// does not match is an error naming it and is not stored, the others are.
func TestSyncCSAF(t *testing.T) {
	ts, fetched := csafProvider(t, "", nil, "")
	defer ts.Close()
	dir := t.TempDir()
	o := SyncOptions{Dir: dir, CSAF: ts.URL + "/.well-known/csaf/provider-metadata.json"}
	rep, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CSAF.Stored != 19 {
		t.Fatalf("stored %+v", rep.CSAF)
	}
	for _, f := range *fetched {
		if strings.HasSuffix(f, ".sha256") {
			t.Errorf("%s fetched though the .sha512 was there", f)
		}
	}
	_, _, _, csafDir := SyncedPaths(dir)
	c, err := LoadCSAF(csafDir)
	if err != nil || len(c.Docs) != 19 {
		t.Fatalf("LoadCSAF of the synced directory: %v", err)
	}
	*fetched = nil
	rep, err = Sync(context.Background(), o)
	if err != nil || rep.CSAF.Unchanged != 19 || rep.CSAF.Stored != 0 || len(*fetched) != 3 {
		t.Fatalf("second sync: %v %+v, fetched %v", err, rep.CSAF, *fetched)
	}

	bad, _ := csafProvider(t, "rhsa-2021_5186.json", nil, "")
	defer bad.Close()
	dir = t.TempDir()
	o = SyncOptions{Dir: dir, CSAF: bad.URL + "/.well-known/csaf/provider-metadata.json"}
	rep, err = Sync(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "feed-white.json: feed.entry[3]: "+bad.URL+"/advisories/2022/rhsa-2021_5186.json: sha512 mismatch") ||
		!strings.Contains(err.Error(), "1 of 19 documents not stored") {
		t.Fatalf("tampered: %v", err)
	}
	if rep.CSAF.Stored != 18 {
		t.Fatalf("tampered: stored %d", rep.CSAF.Stored)
	}
	host := strings.ReplaceAll(strings.TrimPrefix(bad.URL, "http://"), ":", "_")
	if _, err := os.Stat(filepath.Join(dir, "csaf", host, "rhsa-2021_5186.json")); err == nil {
		t.Fatal("the tampered document was stored")
	}
}

// TestSyncCSAFSignatures: when the provider metadata names an OpenPGP
// key (checked against its fingerprint), every document must carry a
// good detached signature by it: one signed over other bytes is refused
// and named, the rest stored. A key whose fingerprint is not the one
// the metadata gives stops the sync before any document.
func TestSyncCSAFSignatures(t *testing.T) {
	signer, err := openpgp.NewEntity("CSAF test provider", "", "csaf@provider.test", &packet.Config{Algorithm: packet.PubKeyAlgoEd25519})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := csafProvider(t, "", signer, "2022-evd-uc-05-001.json")
	defer ts.Close()
	var progress bytes.Buffer
	rep, err := Sync(context.Background(), SyncOptions{Dir: t.TempDir(), CSAF: ts.URL + "/.well-known/csaf/provider-metadata.json", Progress: &progress})
	if err == nil || !strings.Contains(err.Error(), "changes.csv line 8: "+ts.URL+"/vex/2022/2022-evd-uc-05-001.json: OpenPGP signature 2022-evd-uc-05-001.json.asc:") ||
		rep.CSAF.Stored != 18 {
		t.Fatalf("bad signature: stored %d, %v", rep.CSAF.Stored, err)
	}
	if !strings.Contains(progress.String(), "rhsa-2022_0011.json stored (sha512 and signature checked)") {
		t.Errorf("progress:\n%s", progress.String())
	}

	// The metadata names the key by a fingerprint that is not the key's.
	wrong, _ := csafProvider(t, "", signer, "")
	defer wrong.Close()
	meta := &CSAFProviderMetadata{}
	meta.PublicOpenPGPKeys = append(meta.PublicOpenPGPKeys, struct {
		Fingerprint string `json:"fingerprint"`
		URL         string `json:"url"`
	}{Fingerprint: "00" + fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint)[2:], URL: "openpgp/key.asc"})
	s, _ := newSyncer(SyncOptions{Dir: t.TempDir()})
	if _, err := s.csafKeys(context.Background(), wrong.URL+"/.well-known/csaf/provider-metadata.json", meta); err == nil ||
		!strings.Contains(err.Error(), "public_openpgp_keys[0]: the key at "+wrong.URL+"/.well-known/csaf/openpgp/key.asc is not the one with fingerprint") {
		t.Fatalf("wrong fingerprint: %v", err)
	}
}

// TestSyncOptionsErrors: URLs and the directory are checked first.
func TestSyncOptionsErrors(t *testing.T) {
	if _, err := Sync(context.Background(), SyncOptions{Dir: t.TempDir(), KEV: "file:///etc/passwd"}); err == nil || !strings.Contains(err.Error(), `--kev "file:///etc/passwd": not an http(s) URL`) {
		t.Fatalf("%v", err)
	}
	if _, err := ParseChangesCSV("changes.csv", "https://x.test/", []byte("\"../../secret.json\",\"2024-01-01T00:00:00Z\"\n")); err == nil || !strings.Contains(err.Error(), "changes.csv line 1: path") {
		t.Fatalf("%v", err)
	}
	if _, err := ParseHashFile("a.sha256", []byte("abcd  a.json"), 32); err == nil || !strings.Contains(err.Error(), "not a 256-bit hex digest") {
		t.Fatalf("%v", err)
	}
}

// TestRunSync: the leader's duty syncs at once, then every interval, and
// stops when told.
func TestRunSync(t *testing.T) {
	needData(t)
	kev, err := os.ReadFile(filepath.Join(dataDir, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hits := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		_, _ = w.Write(kev)
	}))
	defer ts.Close()
	dir := t.TempDir()
	stop := RunSync(context.Background(), SyncOptions{Dir: dir, KEV: ts.URL}, 50*time.Millisecond, slogDiscard())
	_, kevPath, _, _ := SyncedPaths(dir)
	deadline := time.Now().Add(4 * time.Second)
	for {
		mu.Lock()
		n := hits
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d syncs in 4 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if _, err := LoadKEV(kevPath); err != nil {
		t.Fatal(err)
	}
	if stop := RunSync(context.Background(), SyncOptions{Dir: dir}, time.Minute, slogDiscard()); stop == nil {
		t.Fatal("nil stop")
	} else {
		stop() // nothing to sync: returns at once
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
