package app

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/testneed"
	"github.com/vigil-health/vigil/internal/vuln"
)

// TestVulnSyncLeaderDuty: with --vuln-sync-interval the leader fetches
// the KEV catalogue into --vuln-sync-dir at start; a server started once
// a synced copy is there matches with it when --vuln-kev is not given.
func TestVulnSyncLeaderDuty(t *testing.T) {
	kev, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "vuln", "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		testneed.Missing(t, "the KEV catalogue in ../shared/data/vuln/kev", err)
		return
	}
	// An OSV all.zip of two shared Go records, for --vuln-sync-osv.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, id := range []string{"GO-2022-0603", "GO-2024-2611"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "vuln", "osv", "Go", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if zf, err := zw.Create(id + ".json"); err != nil {
			t.Fatal(err)
		} else if _, err := zf.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/osv/Go/all.zip" {
			_, _ = w.Write(zbuf.Bytes())
			return
		}
		_, _ = w.Write(kev)
	}))
	defer ts.Close()
	dir := t.TempDir()
	mod := func(c *config.Config) {
		c.VulnSyncInterval, c.VulnSyncKEV, c.VulnSyncDir = "1h", ts.URL+"/kev.json", dir
		c.VulnSyncOSV, c.VulnSyncOSVEcosystems = ts.URL+"/osv", "Go"
	}
	s := startWith(t, mod)
	_, kevPath, _, _ := vuln.SyncedPaths(dir)
	// (No "before any sync" check here: the leader syncs at start, so
	// the file may already be there by now.)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := vuln.LoadKEV(kevPath); err == nil && fileThere(filepath.Join(vuln.SyncedOSV(dir), "Go", "all.zip.state")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not sync the KEV catalogue within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Close()
	s2 := startWith(t, mod)
	if k, _ := s2.vulnSourceFiles(); k != kevPath {
		t.Errorf("KEV file %q, want the synced %q", k, kevPath)
	}
	if o := s2.vulnOSVDir(); o != vuln.SyncedOSV(dir) {
		t.Errorf("OSV directory %q, want the synced %q", o, vuln.SyncedOSV(dir))
	}
	if db, err := vuln.LoadDB(s2.vulnOSVDir()); err != nil || db.Len() != 2 {
		t.Errorf("the synced OSV archive: %v", err)
	}
}

func fileThere(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
