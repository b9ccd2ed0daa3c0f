package app

import (
	"os"

	"github.com/vigil-health/vigil/internal/vuln"
)

// vulnSyncOptions are the leader's sync of the vulnerability sources
// (--vuln-sync-*; vuln.RunSync every --vuln-sync-interval).
func (a *App) vulnSyncOptions() vuln.SyncOptions {
	return vuln.SyncOptions{Dir: a.Config.VulnSyncDir, NVD: a.Config.VulnSyncNVD, KEV: a.Config.VulnSyncKEV,
		EPSS: a.Config.VulnSyncEPSS, CSAF: a.Config.VulnSyncCSAF, NVDAPIKey: a.Config.NVDAPIKey}
}

// vulnSourceFiles are the KEV catalogue and EPSS CSV the stored SBOMs are
// matched with: --vuln-kev and --vuln-epss, else the synced copies when
// their URLs are synced and a copy is already there (a server started
// before the first sync matches without them until it restarts, rather
// than failing every match on a file not yet fetched).
func (a *App) vulnSourceFiles() (kev, epss string) {
	kev, epss = a.Config.VulnKEV, a.Config.VulnEPSS
	dir := a.Config.VulnSyncDir
	if dir == "" {
		dir = vuln.SyncDir()
	}
	_, skev, sepss, _ := vuln.SyncedPaths(dir)
	if kev == "" && a.Config.VulnSyncKEV != "" && exists(skev) {
		kev = skev
	}
	if epss == "" && a.Config.VulnSyncEPSS != "" && exists(sepss) {
		epss = sepss
	}
	return kev, epss
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
