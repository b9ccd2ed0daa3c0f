package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
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
	c := &cobra.Command{Use: "vuln", Short: "Vulnerability management: scan SBOMs against OSV, NVD and CSAF advisories, with VEX; stored SBOMs, inventories and findings"}
	c.AddCommand(e.vulnScanCmd(), e.vulnSBOMCmd(), e.vulnInventoryCmd(), e.vulnFindingsCmd(), e.vulnMatchCmd(), e.vulnFindingActCmd(), e.vulnVEXCmd(), e.vulnKPIsCmd(), e.vulnSyncCmd())
	return c
}

func (e *env) vulnScanCmd() *cobra.Command {
	var osvDir, kevFile, epssFile string
	var nvdPaths, csafPaths, vexFiles []string
	var showSuppressed bool
	var out *output
	c := &cobra.Command{
		Use:   "scan --osv DIR [--nvd DIR|FILE] [--csaf DIR|FILE] [--vex FILE] [--kev FILE] [--epss FILE] SBOM|REPORT...",
		Short: "Scan SBOMs against OSV, NVD and CSAF advisories, offline, with VEX",
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

--nvd DIR|FILE (repeat, or separate with commas) reads NVD CVE API 2.0 JSON pages
({"vulnerabilities":[{"cve":…}]}) and matches the CPEs of every component — those the SBOM
gives with a purl and those without one (CycloneDX cpe, SPDX cpe23Type references) —
against each CVE's configurations: CPE 2.3 criteria with versionStart/End
Including/Excluding, nodes joined by AND/OR, negate. A platform-only node ("running on
Windows") none of whose CPEs is in the SBOM is assumed met, and the finding says so. The
finding's matched gives the criterion ("NVD CPE cpe:2.3:a:busybox:busybox:*:… versionEndExcluding
1.32.0") and cpe the component's CPE that met it.

--csaf DIR|FILE reads CSAF 2.0 documents: products listed known_affected (first_ or
last_affected) become findings for components of the same purl or CPE (or, for a product
with neither, the same name and version from its branches), unless the same vulnerability
lists the component fixed or known_not_affected; a finding carries the product's
remediations. csaf_vex documents given here are VEX statements too.

--vex FILE (repeat, or separate with commas) reads OpenVEX, CycloneDX VEX or CSAF VEX. A
finding is suppressed when the last statement naming its vulnerability (ID or alias) and
its component (purl, CPE, CycloneDX bom-ref or BOM-Link, or the product the SBOM describes)
says not_affected, fixed, false_positive or resolved. Suppressed findings are left out;
--show-suppressed lists them with the statement (file, place, status, justification).

An input may also be a Trivy JSON, Grype JSON or SARIF 2.1.0 report instead of an SBOM (told
from the content): its packages are scanned as components and its own findings are kept,
merged with Vigil's when they name the same vulnerability in the same package; sources says
which tool reported each. With only reports, --osv may be left out.

'vigil vuln sync' fetches NVD, KEV, EPSS and CSAF over the network into a directory whose
nvd, kev/known_exploited_vulnerabilities.json, epss/epss_scores.csv and csaf these flags read.

The exit status is 0 with or without findings; it is not 0 when an SBOM or an OSV record
cannot be read (the error names the file, and the line for broken JSON).`,
		Example: `  vigil vuln scan --osv ../shared/data/vuln/osv ../shared/data/vuln/sbom/go-minikube-v1.23.1.cdx15.json
  vigil vuln scan --osv ../shared/data/vuln/osv --kev ../shared/data/vuln/kev/known_exploited_vulnerabilities.json \
    --epss epss_scores-2025-08-25.csv ../shared/data/vuln/sbom/go-flux2-v0.26.3.spdx22.json
  vigil vuln scan --osv osv-dumps/ --format json bom.xml image.spdx.json
  vigil vuln scan --nvd ../shared/data/vuln/nvd ../shared/data/vuln/sbom/container-alpine-3.17.cdx14.xml
  vigil vuln scan --osv ../shared/data/vuln/osv --vex flux2.openvex.json --show-suppressed flux2.spdx.json
  vigil vuln scan --osv ../shared/data/vuln/osv trivy-report.json grype-report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			reports := false
			for _, a := range args {
				s, err := vuln.ReadInput(a)
				if err != nil {
					return err
				}
				sboms = append(sboms, s)
				comps = append(comps, s.Components...)
				reports = reports || s.Tool != ""
			}
			if osvDir == "" && len(nvdPaths) == 0 && len(csafPaths) == 0 && !reports {
				return usagef("--osv is required: the directory of OSV advisories to scan against (or --nvd, --csaf, or a scanner's report)")
			}
			var src vuln.Sources
			var err error
			if len(nvdPaths) > 0 {
				if src.NVD, err = vuln.LoadNVD(nvdPaths...); err != nil {
					return err
				}
			}
			var vexStatements []vuln.VEXStatement
			if len(csafPaths) > 0 {
				if src.CSAF, err = vuln.LoadCSAF(csafPaths...); err != nil {
					return err
				}
				vexStatements = append(vexStatements, src.CSAF.VEXStatements()...)
			}
			if len(vexFiles) > 0 {
				v, err := vuln.LoadVEX(vexFiles...)
				if err != nil {
					return err
				}
				vexStatements = append(vexStatements, v.Statements...)
			}
			if len(vexStatements) > 0 {
				src.VEX = &vuln.VEX{Statements: vexStatements}
			}
			db, prepared := &vuln.DB{}, vuln.PreparedUsed
			indexPath := ""
			if osvDir != "" {
				indexPath = vuln.IndexPath(osvDir)
				if db, prepared, err = vuln.LoadPrepared(osvDir, comps, indexPath); err != nil {
					return err
				}
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
			// The sources column, and the suppression one, only when
			// something beyond OSV is in play: the plain scan's table
			// stays as it was.
			extra := src.NVD != nil || src.CSAF != nil || reports
			var tab *table
			if !out.is("json") {
				tab = newTable(bw)
				cols := []string{"SBOM", "COMPONENT", "VERSION", "ECOSYSTEM", "ID", "SEVERITY", "KEV", "EPSS", "ALIASES", "FIXED", "MATCHED"}
				if extra {
					cols = append(cols, "SOURCES")
				}
				if showSuppressed {
					cols = append(cols, "SUPPRESSED")
				}
				tab.header(cols...)
			}
			findings, suppressedAll := 0, 0
			for _, s := range sboms {
				r := vuln.Scan(s, db)
				suppressed := r.Extend(src)
				suppressedAll += suppressed
				vuln.Prioritise(r.Findings, kev, epss)
				for _, w := range r.Warnings {
					printf(e.stderr, "vigil vuln scan: %s: not evaluated: %s\n", s.File, w)
				}
				for _, f := range r.Findings {
					if f.Suppressed != nil && !showSuppressed {
						continue
					}
					findings++
					if tab != nil {
						name := f.Package
						if f.Component != "" && f.Component != f.Package {
							name = f.Component + " (" + f.Package + ")" // a binary package and the source package OSV names
						}
						row := []any{f.SBOM, name, f.Version, f.Ecosystem, f.ID, severityCell(&f), kevCell(f.KEV), epssCell(f.EPSS),
							strings.Join(f.Aliases, ","), f.Fixed, f.Matched}
						if extra {
							row = append(row, strings.Join(f.Sources, ","))
						}
						if showSuppressed {
							row = append(row, suppressedCell(f.Suppressed))
						}
						tab.row(row...)
						continue
					}
					if err := enc.Encode(f); err != nil {
						return err
					}
				}
				what := s.Format
				if s.Tool != "" {
					what = vuln.Format(string(s.Format) + " from " + s.Tool)
				}
				more := ""
				if extra {
					more = fmt.Sprintf(", %d without purl but with a CPE", len(s.CPEOnly))
				}
				if src.VEX != nil {
					more += fmt.Sprintf(", %d suppressed by VEX", suppressed)
				}
				printf(e.stderr, "vigil vuln scan: %s: %s, %s scanned (%d without purl, %d of an ecosystem not covered%s), %s\n",
					s.File, what, phrase.Count(len(s.Components)-r.Unsupported, "component", "components"),
					s.NoPURL, r.Unsupported, more, phrase.Count(len(r.Findings)-suppressed, "finding", "findings"))
			}
			if tab != nil {
				if err := tab.flush(); err != nil {
					return err
				}
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			var sources []string
			if osvDir != "" {
				sources = append(sources, fmt.Sprintf("%s, %d read (%d withdrawn left out)",
					phrase.Count(db.Total, "advisory", "advisories"), db.Len(), db.Withdrawn))
			}
			if src.NVD != nil {
				sources = append(sources, phrase.Count(src.NVD.Len(), "NVD CVE", "NVD CVEs"))
			}
			if src.CSAF != nil {
				sources = append(sources, fmt.Sprintf("%s (%d products named by neither purl, CPE nor name)",
					phrase.Count(len(src.CSAF.Docs), "CSAF document", "CSAF documents"), src.CSAF.Unidentified()))
			}
			if src.VEX != nil {
				v := fmt.Sprintf("%s, %d findings suppressed", phrase.Count(len(src.VEX.Statements), "VEX statement", "VEX statements"), suppressedAll)
				if showSuppressed {
					v += " (listed)"
				}
				sources = append(sources, v)
			}
			sources = append(sources, phrase.Count(len(sboms), "input", "inputs"))
			printf(e.stderr, "vigil vuln scan: %s, %s in %s\n", strings.Join(sources, ", "),
				phrase.Count(findings, "finding", "findings"), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&osvDir, "osv", "", "directory of OSV advisory JSON files (any depth; all.zip archives too)")
	c.Flags().StringVar(&osvDir, "db", "", "the same as --osv (the name issue 18 gives it)")
	c.Flags().StringVar(&kevFile, "kev", "", "CISA KEV catalogue (known_exploited_vulnerabilities.json) to mark exploited findings")
	c.Flags().StringVar(&epssFile, "epss", "", "FIRST EPSS scores CSV (#model_version line, then cve,epss,percentile)")
	c.Flags().StringSliceVar(&nvdPaths, "nvd", nil, "NVD CVE API 2.0 JSON pages, files or directories, for CPE matching (repeat, or separate with commas)")
	c.Flags().StringSliceVar(&csafPaths, "csaf", nil, "CSAF 2.0 advisories, files or directories; csaf_vex documents also suppress (repeat, or separate with commas)")
	c.Flags().StringSliceVar(&vexFiles, "vex", nil, "OpenVEX, CycloneDX VEX or CSAF VEX files whose statements suppress findings (repeat, or separate with commas)")
	c.Flags().BoolVar(&showSuppressed, "show-suppressed", false, "list the findings VEX suppressed too, each with the statement that did")
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

// suppressedCell is "not_affected: vulnerable_code_not_present, by Acme
// PSIRT (vex.json statements[3])".
func suppressedCell(s *vuln.Suppression) string {
	if s == nil {
		return ""
	}
	why := s.Status
	if s.Justification != "" {
		why += ": " + s.Justification
	}
	if s.Author != "" {
		why += ", by " + s.Author
	}
	return why + " (" + s.File + " " + s.Statement + ")"
}

func epssCell(e *vuln.EPSSScore) string {
	if e == nil {
		return ""
	}
	return strconv.FormatFloat(e.Score, 'f', 3, 64)
}
