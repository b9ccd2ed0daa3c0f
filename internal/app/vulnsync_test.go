package app

import (
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
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(kev) }))
	defer ts.Close()
	dir := t.TempDir()
	mod := func(c *config.Config) {
		c.VulnSyncInterval, c.VulnSyncKEV, c.VulnSyncDir = "1h", ts.URL+"/kev.json", dir
	}
	s := startWith(t, mod)
	_, kevPath, _, _ := vuln.SyncedPaths(dir)
	if k, _ := s.vulnSourceFiles(); k != "" {
		t.Errorf("before any sync the KEV file is %q", k)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := vuln.LoadKEV(kevPath); err == nil {
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
}
