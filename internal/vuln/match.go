package vuln

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// Finding is one vulnerability affecting one component of an SBOM. Its
// JSON is the documented output of `vigil vuln scan --format json`.
type Finding struct {
	SBOM      string `json:"sbom"`
	Component string `json:"component"`
	PURL      string `json:"purl"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	Package   string `json:"package"`
	// ID is the advisory's; Aliases are its other names (CVE, GHSA, …),
	// including the IDs of the other loaded advisories merged into this
	// finding because they name the same vulnerability (Merged).
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Merged  []string `json:"merged,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Fixed is the first version out of the matched range, if it has one.
	Fixed string `json:"fixed,omitempty"`
	// Matched says why: the range ("ECOSYSTEM introduced 0, fixed
	// 1.1.0l-1~deb9u6") or "versions list" for an explicit version.
	Matched string `json:"matched"`
	// File is the OSV record the match came from.
	File string `json:"advisory_file"`
	// Related are the IDs the advisories name as related, not the same
	// vulnerability; KEV and EPSS are looked up in them last.
	Related []string `json:"related,omitempty"`

	// CVSS is every vector in the advisories' severity, scored here.
	CVSS []CVSS `json:"cvss,omitempty"`
	// Severity is the rating of the highest CVSS score, or the
	// database's own word (GitHub's "MODERATE") when there is no vector.
	Severity string `json:"severity,omitempty"`
	// KEV is set when CISA lists one of the finding's IDs as exploited.
	KEV *KEVEntry `json:"kev,omitempty"`
	// EPSS is FIRST's exploit prediction for one of the finding's CVEs.
	EPSS *EPSSScore `json:"epss,omitempty"`

	// The rest is set by the sources beyond OSV (sources.go): NVD CPE
	// matching, CSAF advisories, scanners' reports, VEX.
	//
	// Sources are where the finding came from: "OSV", "NVD", "CSAF
	// RHSA-2021:5186", "Trivy 0.50.1" (a report read as input).
	Sources []string `json:"sources,omitempty"`
	// CPE is the component's CPE name an NVD or CSAF criterion matched.
	CPE string `json:"cpe,omitempty"`
	// AlsoMatched are the reasons of the other sources that found the
	// same vulnerability in the same component ("NVD CPE …").
	AlsoMatched []string `json:"also_matched,omitempty"`
	// Remediations are a CSAF advisory's for the matched product.
	Remediations []Remediation `json:"remediations,omitempty"`
	// Suppressed is the VEX statement that says the component is not
	// affected; such findings are left out unless asked for.
	Suppressed *Suppression `json:"suppressed,omitempty"`
}

// Result is a scan of one SBOM.
type Result struct {
	SBOM     *SBOM
	Findings []Finding
	// Unsupported counts components whose purl type or distro OSV data
	// here does not cover (they were not scanned).
	Unsupported int
	// Warnings are ranges that could not be evaluated (a version that
	// does not parse in its ecosystem), each naming the advisory.
	Warnings []string
}

// Scan matches every component of s against db.
func Scan(s *SBOM, db *DB) *Result {
	r := &Result{SBOM: s}
	for _, c := range s.Components {
		if c.Ecosystem == "" {
			r.Unsupported++
			continue
		}
		var hits []advHit
		for _, a := range db.forPackage(c.Ecosystem, c.Package) {
			why, fix, ok, warn := affects(a, c)
			if warn != "" {
				r.Warnings = append(r.Warnings, warn)
			}
			if ok {
				hits = append(hits, advHit{a, why, fix})
			}
		}
		var fs []Finding
		fs, r.Warnings = componentFindings(s.File, c, hits, r.Warnings)
		r.Findings = append(r.Findings, fs...)
	}
	return r
}

// advHit is one advisory affecting a component, with the range that
// matched and the first fixed version.
type advHit struct {
	a   *Advisory
	why string
	fix string
}

// componentFindings makes one finding per vulnerability of component c
// from the advisories affecting it (in advisory ID order): advisories
// that alias each other (a GHSA and its PYSEC twin) are merged, the first
// ID in order speaking for the group. Scan and a stored inventory's match
// (stored.go) both make their findings here.
func componentFindings(file string, c Component, hits []advHit, warnings []string) ([]Finding, []string) {
	var out []Finding
	group := make([]int, len(hits))
	for i := range group {
		group[i] = i
	}
	find := func(i int) int {
		for group[i] != i {
			i = group[i]
		}
		return i
	}
	for i := range hits {
		for j := range i {
			if sameVuln(hits[i].a, hits[j].a) {
				group[find(i)] = find(j)
			}
		}
	}
	for i, h := range hits {
		if find(i) != i {
			continue
		}
		f := Finding{SBOM: file, Component: c.Name, PURL: c.PURL, Version: c.Version, Ecosystem: c.Ecosystem,
			Package: c.Package, ID: h.a.ID, Summary: h.a.Summary, Fixed: h.fix, Matched: h.why, File: h.a.File}
		names, related := map[string]bool{}, map[string]bool{}
		var group []*Advisory
		for j, o := range hits {
			if find(j) != i {
				continue
			}
			group = append(group, o.a)
			if j != i {
				f.Merged = append(f.Merged, o.a.ID)
				names[o.a.ID] = true
			}
			for _, al := range o.a.Aliases {
				names[al] = true
			}
			for _, rel := range o.a.Related {
				related[rel] = true
			}
		}
		delete(names, h.a.ID)
		for n := range names {
			f.Aliases = append(f.Aliases, n)
			delete(related, n)
		}
		sort.Strings(f.Aliases)
		delete(related, h.a.ID)
		for n := range related {
			f.Related = append(f.Related, n)
		}
		sort.Strings(f.Related)
		f.CVSS, f.Severity, warnings = severities(group, warnings)
		out = append(out, f)
	}
	return out, warnings
}

func sameVuln(a, b *Advisory) bool {
	names := map[string]bool{a.ID: true}
	for _, al := range a.Aliases {
		names[al] = true
	}
	if names[b.ID] {
		return true
	}
	for _, al := range b.Aliases {
		if names[al] {
			return true
		}
	}
	return false
}

// affects says whether a affects c, and by which range.
func affects(a *Advisory, c Component) (why, fixed string, ok bool, warn string) {
	version := canonical(c.Ecosystem, c.Version)
	for _, af := range a.Affected {
		if packageKey(af.Package.Ecosystem, af.Package.Name) != packageKey(c.Ecosystem, c.Package) {
			continue
		}
		for _, v := range af.Versions {
			if canonical(c.Ecosystem, v) == version {
				return "versions list", "", true, ""
			}
		}
		for _, rg := range af.Ranges {
			if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
				continue // GIT ranges name commits, which an SBOM does not have
			}
			why, fixed, ok, err := inRange(c.Ecosystem, version, rg)
			if err != nil {
				warn = fmt.Sprintf("%s: %s %s: %v", a.ID, c.Package, c.Version, err)
				continue
			}
			if ok {
				return why, fixed, true, ""
			}
		}
	}
	return "", "", false, warn
}

// canonical drops the v of Go module versions: purls write v1.2.3, OSV
// writes 1.2.3.
func canonical(ecosystem, v string) string {
	if ecosystem == "Go" {
		return strings.TrimPrefix(v, "v")
	}
	return v
}

// Compare orders two versions of an ecosystem ("Go", "PyPI", "npm",
// "Maven", "Debian:9", "Alpine:v3.17", …) with osv-scalibr's semantic
// package: -1, 0 or +1.
func Compare(ecosystem, a, b string) (int, error) {
	va, err := semantic.Parse(canonical(ecosystem, a), ecosystem)
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", a, err)
	}
	c, err := va.CompareStr(canonical(ecosystem, b))
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", b, err)
	}
	return c, nil
}

// errNoEvents is a range without events, which OSV forbids.
var errNoEvents = errors.New("range has no events")

// inRange evaluates an OSV SEMVER or ECOSYSTEM range as the OSV schema
// says: the version is affected from an introduced version up to (not
// including) the next fixed version, or up to and including the next
// last_affected; events are ordered by version first, since the schema
// does not require them ordered. "limit" does not end an interval here:
// it bounds GIT ranges only in practice.
func inRange(ecosystem, version string, rg Range) (why, fixed string, ok bool, err error) {
	if len(rg.Events) == 0 {
		return "", "", false, errNoEvents
	}
	evs := append([]Event(nil), rg.Events...)
	val := func(e Event) string {
		switch {
		case e.Introduced != "":
			return e.Introduced
		case e.Fixed != "":
			return e.Fixed
		case e.LastAffected != "":
			return e.LastAffected
		}
		return e.Limit
	}
	var sortErr error
	sort.SliceStable(evs, func(i, j int) bool {
		vi, vj := val(evs[i]), val(evs[j])
		if vi == "0" || vj == "0" {
			return vi == "0" && vj != "0"
		}
		c, err := Compare(ecosystem, vi, vj)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return "", "", false, sortErr
	}
	cmp := func(other string) (int, error) {
		if other == "0" {
			return 1, nil
		}
		return Compare(ecosystem, version, other)
	}
	introduced := ""
	for _, e := range evs {
		switch {
		case e.Introduced != "":
			if introduced != "" {
				continue // already inside an interval
			}
			c, err := cmp(e.Introduced)
			if err != nil {
				return "", "", false, err
			}
			if c >= 0 {
				introduced = e.Introduced
			}
		case introduced == "":
		case e.Fixed != "":
			c, err := cmp(e.Fixed)
			if err != nil {
				return "", "", false, err
			}
			if c < 0 {
				return fmt.Sprintf("%s introduced %s, fixed %s", rg.Type, introduced, e.Fixed), e.Fixed, true, nil
			}
			introduced = ""
		case e.LastAffected != "":
			c, err := cmp(e.LastAffected)
			if err != nil {
				return "", "", false, err
			}
			if c <= 0 {
				return fmt.Sprintf("%s introduced %s, last_affected %s", rg.Type, introduced, e.LastAffected), "", true, nil
			}
			introduced = ""
		}
	}
	if introduced != "" {
		return fmt.Sprintf("%s introduced %s (no fix)", rg.Type, introduced), "", true, nil
	}
	return "", "", false, nil
}
