package app

import (
	"os"
	"strings"

	"github.com/vigil-health/vigil/internal/vuln"
)

// vulnSyncOptions are the leader's sync of the vulnerability sources
// (--vuln-sync-*; vuln.RunSync every --vuln-sync-interval).
func (a *App) vulnSyncOptions() vuln.SyncOptions {
	return vuln.SyncOptions{Dir: a.Config.VulnSyncDir, NVD: a.Config.VulnSyncNVD, KEV: a.Config.VulnSyncKEV,
		EPSS: a.Config.VulnSyncEPSS, CSAF: a.Config.VulnSyncCSAF, NVDAPIKey: a.Config.NVDAPIKey,
		OSV: a.Config.VulnSyncOSV, OSVEcosystems: splitList(a.Config.VulnSyncOSVEcosystems)}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// vulnOSVDir is the OSV directory stored SBOMs are matched against:
// --vuln-osv, else the synced DIR/osv when --vuln-sync-osv is given and
// a first sync has stored it (as vulnSourceFiles does for KEV and EPSS).
func (a *App) vulnOSVDir() string {
	if a.Config.VulnOSV != "" || a.Config.VulnSyncOSV == "" {
		return a.Config.VulnOSV
	}
	dir := a.Config.VulnSyncDir
	if dir == "" {
		dir = vuln.SyncDir()
	}
	if osv := vuln.SyncedOSV(dir); exists(osv) {
		return osv
	}
	return ""
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
