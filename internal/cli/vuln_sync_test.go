package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-health/vigil/internal/testneed"
)

// TestVulnSyncCLI: `vigil vuln sync` fetches the KEV catalogue and an
// EPSS CSV from URLs into --dir, with progress on stderr and a table or
// JSON on stdout; the scan then reads the synced files. A source that
// answers badly is exit 1 naming it, and the good copy stays; no source
// at all is a usage error.
func TestVulnSyncCLI(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "vuln")
	kev, err := os.ReadFile(filepath.Join(data, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		testneed.Missing(t, "the KEV catalogue in ../shared/data/vuln/kev", err)
		return
	}
	epss, err := os.ReadFile(filepath.Join("..", "vuln", "testdata", "epss_scores-fixture.csv"))
	if err != nil {
		t.Fatal(err)
	}
	broken := false
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case broken:
			http.Error(w, "upstream down", http.StatusBadGateway)
		case r.URL.Path == "/kev.json":
			_, _ = w.Write(kev)
		case r.URL.Path == "/epss.csv":
			_, _ = w.Write(epss)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	dir := t.TempDir()
	t.Setenv("VIGIL_CACHE_DIR", t.TempDir())
	r := must(t, run(t, "", nil, "vuln", "sync", "--dir", dir, "--kev", ts.URL+"/kev.json", "--epss", ts.URL+"/epss.csv"))
	if !strings.Contains(r.stdout, "kev") || !strings.Contains(r.stderr, "vigil vuln sync: KEV: "+ts.URL+"/kev.json stored as") {
		t.Fatalf("stdout %s\nstderr %s", r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "vuln", "sync", "--dir", dir, "--kev", ts.URL+"/kev.json", "--format", "json"))
	var rep struct {
		KEV struct{ Fetched, Stored int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.KEV.Stored != 1 {
		t.Fatalf("json %s: %v", r.stdout, err)
	}
	r = must(t, run(t, "", nil, "vuln", "scan", "--osv", filepath.Join(data, "osv", "Go"),
		"--kev", filepath.Join(dir, "kev", "known_exploited_vulnerabilities.json"), "--epss", filepath.Join(dir, "epss", "epss_scores.csv"),
		filepath.Join(data, "sbom", "go-flux2-v0.26.3.spdx22.json")))
	if !strings.Contains(r.stdout, "KEV due 2023-10-31") {
		t.Errorf("scan with the synced KEV:\n%s", r.stdout)
	}

	broken = true
	r = run(t, "", nil, "vuln", "sync", "--dir", dir, "--kev", ts.URL+"/kev.json")
	if r.code != 1 || !strings.Contains(r.stderr, "KEV: GET "+ts.URL+"/kev.json: 502 Bad Gateway: upstream down; the previous copy is kept") {
		t.Fatalf("broken: exit %d, stderr %s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "kev", "known_exploited_vulnerabilities.json")); err != nil || len(b) != len(kev) {
		t.Fatalf("the good copy: %v", err)
	}
	if r := run(t, "", nil, "vuln", "sync", "--dir", dir); r.code != 2 || !strings.Contains(r.stderr, "name at least one source") {
		t.Fatalf("no source: exit %d, stderr %s", r.code, r.stderr)
	}
}

// osvZipOf builds an all.zip from the shared OSV records of one ecosystem.
func osvZipOf(t *testing.T, dir string) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		testneed.Missing(t, "the OSV records in "+dir, err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVulnSyncOSVCLI: `vigil vuln sync --osv URL --osv-ecosystems Go,npm`
// fetches URL/Go/all.zip and URL/npm/all.zip into DIR/osv, and `vigil
// vuln scan --db DIR/osv` finds in flux2's SPDX what it finds from the
// shared records directly. A sync again is answered 304; a corrupt
// archive is exit 1 naming the ecosystem, URL and entry, and the scan
// still reads the previous copy.
func TestVulnSyncOSVCLI(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "vuln")
	zips := map[string][]byte{"/Go/all.zip": osvZipOf(t, filepath.Join(data, "osv", "Go")),
		"/npm/all.zip": osvZipOf(t, filepath.Join(data, "osv", "npm"))}
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		b, ok := zips[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Mon, 07 Dec 2026 06:00:00 GMT")
		if r.Header.Get("If-Modified-Since") == "Mon, 07 Dec 2026 06:00:00 GMT" && len(b) > 1000 {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	}))
	defer ts.Close()
	dir := t.TempDir()
	t.Setenv("VIGIL_CACHE_DIR", t.TempDir())
	r := must(t, run(t, "", nil, "vuln", "sync", "--dir", dir, "--osv", ts.URL, "--osv-ecosystems", "Go,npm", "--format", "json"))
	var rep struct {
		OSV struct{ Fetched, Stored, Unchanged int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.OSV.Stored != 2 {
		t.Fatalf("json %s: %v\nstderr %s", r.stdout, err, r.stderr)
	}
	if !strings.Contains(r.stderr, "vigil vuln sync: OSV: "+ts.URL+"/Go/all.zip stored as "+filepath.Join(dir, "osv", "Go", "all.zip")) {
		t.Errorf("stderr %s", r.stderr)
	}
	sbom := filepath.Join(data, "sbom", "go-flux2-v0.26.3.spdx22.json")
	// The same findings; only the file each advisory came from differs.
	file := regexp.MustCompile(`"advisory_file":"[^"]*",`)
	want := file.ReplaceAllString(must(t, run(t, "", nil, "vuln", "scan", "--db", filepath.Join(data, "osv", "Go"), "--format", "json", sbom)).stdout, "")
	got := must(t, run(t, "", nil, "vuln", "scan", "--db", filepath.Join(dir, "osv"), "--format", "json", sbom)).stdout
	if !strings.Contains(got, filepath.Join(dir, "osv", "Go", "all.zip")+"!GO-2022-0603.json") {
		t.Errorf("findings do not name the synced archive:\n%s", got)
	}
	if got = file.ReplaceAllString(got, ""); !strings.Contains(got, `"GO-`) || got != want {
		t.Fatalf("scan of the synced archive:\n%s\nwant (from the records):\n%s", got, want)
	}

	r = must(t, run(t, "", nil, "vuln", "sync", "--dir", dir, "--osv", ts.URL, "--osv-ecosystems", "Go,npm"))
	if !strings.Contains(r.stderr, "OSV: "+ts.URL+"/Go/all.zip not modified") {
		t.Errorf("second sync stderr %s", r.stderr)
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("GO-2099-0001.json")
	_, _ = w.Write([]byte(`{"id": "GO-2099-0001", "affected": "everything"}`))
	_ = zw.Close()
	mu.Lock()
	zips["/Go/all.zip"] = buf.Bytes()
	mu.Unlock()
	r = run(t, "", nil, "vuln", "sync", "--dir", dir, "--osv", ts.URL, "--osv-ecosystems", "Go")
	if r.code != 1 || !strings.Contains(r.stderr, "OSV: Go: GET "+ts.URL+"/Go/all.zip: entry GO-2099-0001.json: OSV record") ||
		!strings.Contains(r.stderr, "the previous copy is kept") {
		t.Fatalf("corrupt archive: exit %d, stderr %s", r.code, r.stderr)
	}
	if got := file.ReplaceAllString(must(t, run(t, "", nil, "vuln", "scan", "--db", filepath.Join(dir, "osv"), "--format", "json", sbom)).stdout, ""); got != want {
		t.Fatalf("after a corrupt download the scan changed:\n%s", got)
	}
	if r := run(t, "", nil, "vuln", "sync", "--dir", dir, "--osv-ecosystems", "Go"); r.code != 2 {
		t.Fatalf("--osv-ecosystems without --osv: exit %d, stderr %s", r.code, r.stderr)
	}
}
