package cli

import (
	"bufio"
	"encoding/json"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/vuln"
)

// vulnCmd is `vigil vuln`: vulnerability management (issue 18). Its
// first slice is an offline SBOM scan against OSV advisories.
func (e *env) vulnCmd() *cobra.Command {
	c := &cobra.Command{Use: "vuln", Short: "Vulnerability management: scan SBOMs against OSV advisories; stored SBOMs, inventories and findings"}
	c.AddCommand(e.vulnScanCmd(), e.vulnSBOMCmd(), e.vulnInventoryCmd(), e.vulnFindingsCmd(), e.vulnMatchCmd())
	return c
}

func (e *env) vulnScanCmd() *cobra.Command {
	var osvDir, kevFile, epssFile string
	var out *output
	c := &cobra.Command{
		Use:   "scan --osv DIR [--kev FILE] [--epss FILE] SBOM...",
		Short: "Scan SBOMs against a directory of OSV advisories, offline",
		Long: `Scan software bills of materials against OSV advisories and print every vulnerability that
affects a component. No server, data directory or network is needed (like osv-scanner's
offline mode).

The SBOMs may be CycloneDX 1.2–1.6 (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value); the
format is recognised from the content. Components are named by their purl: golang → Go,
pypi → PyPI, npm → npm, maven → Maven (group:artifact), deb → Debian (source package from
the upstream qualifier, release from distro=debian-9), apk → Alpine (distro=alpine-3.17.2 →
Alpine:v3.17). Components without a purl, or of another type, are counted and not scanned.

--osv (or --db) is a directory of OSV JSON records, read at any depth (osv.dev's per-ecosystem
all.zip archives in it are read too). The first scan indexes the directory (which records
name which package) into the cache directory ($VIGIL_CACHE_DIR, else ~/.cache/vigil), and
later scans read only the records of their components' packages; a change to any record file
rebuilds the index. The OSV directory itself is only read. Withdrawn records are
left out. A component is
affected when its version is in an advisory's SEMVER or ECOSYSTEM range (introduced, fixed,
last_affected, compared in the ecosystem's own version order) or in its versions list.
Advisories that alias each other make one finding, listing every alias.

Each finding carries its advisories' CVSS 3.0/3.1/4.0 vectors with the score and severity
computed from them (the database's own word, GitHub's "MODERATE", when there is no vector).
--kev FILE reads CISA's known_exploited_vulnerabilities.json and --epss FILE FIRST's daily
EPSS CSV; a finding whose ID or alias (or, failing those, an ID its advisory names as
related) is listed carries the entry. Each SBOM's findings are printed by priority: listed in
KEV first, then by highest CVSS score, then by EPSS score.

--format table (the default) is for people; its KEV column gives the date CISA expects a fix. --format json prints one JSON object a finding:
sbom, component, purl, version, ecosystem, package, id, aliases, merged (other advisory IDs
merged into it), summary, fixed (the first fixed version, if any), matched (the range that
matched, e.g. "SEMVER introduced 0, fixed 0.0.0-20220127200216-cd36cc0744dd", or "versions
list"), advisory_file, related, cvss (a list of vector, version, score, severity), severity,
kev (cve, date_added, due_date, via: alias or related) and epss (cve, score, percentile, via)
when known; it is the documented output for other tools.

The exit status is 0 with or without findings; it is not 0 when an SBOM or an OSV record
cannot be read (the error names the file, and the line for broken JSON).`,
		Example: `  vigil vuln scan --osv ../shared/data/vuln/osv ../shared/data/vuln/sbom/go-minikube-v1.23.1.cdx15.json
  vigil vuln scan --osv ../shared/data/vuln/osv --kev ../shared/data/vuln/kev/known_exploited_vulnerabilities.json \
    --epss epss_scores-2025-08-25.csv ../shared/data/vuln/sbom/go-flux2-v0.26.3.spdx22.json
  vigil vuln scan --osv osv-dumps/ --format json bom.xml image.spdx.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if osvDir == "" {
				return usagef("--osv is required: the directory of OSV advisories to scan against")
			}
			if len(args) == 0 {
				return usagef("give one or more SBOM files to scan")
			}
			start := time.Now()
			// A scan is short and its garbage small beside what it reads:
			// collecting less often took a fifth off a scan's CPU; the
			// limit keeps a huge SBOM from growing the heap unchecked.
			debug.SetGCPercent(400)
			debug.SetMemoryLimit(1 << 30)
			// Every SBOM is read before anything is printed, so a bad
			// file stops the scan without a partial result; their
			// ecosystems say which of the OSV folders to read.
			sboms := make([]*vuln.SBOM, 0, len(args))
			var comps []vuln.Component
			for _, a := range args {
				s, err := vuln.ReadSBOM(a)
				if err != nil {
					return err
				}
				sboms = append(sboms, s)
				comps = append(comps, s.Components...)
			}
			indexPath := vuln.IndexPath(osvDir)
			db, prepared, err := vuln.LoadPrepared(osvDir, comps, indexPath)
			if err != nil {
				return err
			}
			if prepared != vuln.PreparedUsed {
				how := "saved as " + indexPath + " for the next scan"
				if prepared == vuln.PreparedUnsaved {
					how = "not saved (no writable cache directory: set VIGIL_CACHE_DIR): every scan reads every record"
				}
				printf(e.stderr, "vigil vuln scan: indexed the OSV directory's %s; %s\n", phrase.Count(db.Total, "advisory", "advisories"), how)
			}
			var kev *vuln.KEV
			if kevFile != "" {
				if kev, err = vuln.LoadKEV(kevFile); err != nil {
					return err
				}
			}
			var epss *vuln.EPSS
			if epssFile != "" {
				if epss, err = vuln.LoadEPSS(epssFile); err != nil {
					return err
				}
			}
			bw := bufio.NewWriterSize(e.stdout, 64<<10)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			var tab *table
			if !out.is("json") {
				tab = newTable(bw)
				tab.header("SBOM", "COMPONENT", "VERSION", "ECOSYSTEM", "ID", "SEVERITY", "KEV", "EPSS", "ALIASES", "FIXED", "MATCHED")
			}
			findings := 0
			for _, s := range sboms {
				r := vuln.Scan(s, db)
				vuln.Prioritise(r.Findings, kev, epss)
				for _, w := range r.Warnings {
					printf(e.stderr, "vigil vuln scan: %s: range not evaluated: %s\n", s.File, w)
				}
				for _, f := range r.Findings {
					findings++
					if tab != nil {
						name := f.Package
						if f.Component != "" && f.Component != f.Package {
							name = f.Component + " (" + f.Package + ")" // a binary package and the source package OSV names
						}
						tab.row(f.SBOM, name, f.Version, f.Ecosystem, f.ID, severityCell(&f), kevCell(f.KEV), epssCell(f.EPSS),
							strings.Join(f.Aliases, ","), f.Fixed, f.Matched)
						continue
					}
					if err := enc.Encode(f); err != nil {
						return err
					}
				}
				printf(e.stderr, "vigil vuln scan: %s: %s, %s scanned (%d without purl, %d of an ecosystem not covered), %s\n",
					s.File, s.Format, phrase.Count(len(s.Components)-r.Unsupported, "component", "components"),
					s.NoPURL, r.Unsupported, phrase.Count(len(r.Findings), "finding", "findings"))
			}
			if tab != nil {
				if err := tab.flush(); err != nil {
					return err
				}
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			printf(e.stderr, "vigil vuln scan: %s, %d read (%d withdrawn left out), %s, %s in %s\n",
				phrase.Count(db.Total, "advisory", "advisories"), db.Len(), db.Withdrawn, phrase.Count(len(sboms), "SBOM", "SBOMs"),
				phrase.Count(findings, "finding", "findings"), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&osvDir, "osv", "", "directory of OSV advisory JSON files (any depth; all.zip archives too)")
	c.Flags().StringVar(&osvDir, "db", "", "the same as --osv (the name issue 18 gives it)")
	c.Flags().StringVar(&kevFile, "kev", "", "CISA KEV catalogue (known_exploited_vulnerabilities.json) to mark exploited findings")
	c.Flags().StringVar(&epssFile, "epss", "", "FIRST EPSS scores CSV (#model_version line, then cve,epss,percentile)")
	out = formatFlag(c, "table", "json")
	return c
}

// severityCell is "HIGH 8.3", or the database's word when nothing scored.
func severityCell(f *vuln.Finding) string {
	if sc := f.Score(); sc >= 0 {
		return f.Severity + " " + strconv.FormatFloat(sc, 'f', 1, 64)
	}
	return f.Severity
}

// kevCell marks a KEV-listed finding with CISA's due date.
func kevCell(k *vuln.KEVEntry) string {
	if k == nil {
		return ""
	}
	if k.Via == "related" {
		return "KEV due " + k.DueDate + " (related " + k.CVE + ")"
	}
	return "KEV due " + k.DueDate
}

func epssCell(e *vuln.EPSSScore) string {
	if e == nil {
		return ""
	}
	return strconv.FormatFloat(e.Score, 'f', 3, 64)
}
