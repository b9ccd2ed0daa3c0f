package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
