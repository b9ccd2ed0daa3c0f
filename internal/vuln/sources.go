package vuln

import (
	"slices"
	"sort"
)

// Sources are the advisory sources a scan uses besides OSV, and the VEX
// statements it applies; any may be nil.
type Sources struct {
	NVD  *NVD
	CSAF *CSAF
	VEX  *VEX
}

// Extend adds to an OSV scan's result what the other sources find in
// its SBOM: NVD CPE matches, CSAF advisories' products and the findings
// a scanner's report gave (SBOM.Reported). A finding for a
// vulnerability and component already found — the same ID or alias —
// is merged into the first: its source is added to Sources and its
// reason to AlsoMatched, so there stays one finding per vulnerability
// per component. Then the VEX statements mark what they suppress. It
// returns how many findings were suppressed.
func (r *Result) Extend(src Sources) int {
	for i := range r.Findings {
		if len(r.Findings[i].Sources) == 0 {
			r.Findings[i].Sources = []string{"OSV"}
		}
	}
	if src.NVD != nil {
		fs, warns := src.NVD.MatchNVD(r.SBOM)
		r.Warnings = append(r.Warnings, warns...)
		r.merge(fs)
	}
	if src.CSAF != nil {
		r.merge(src.CSAF.MatchCSAF(r.SBOM))
	}
	r.merge(r.SBOM.Reported)
	return src.VEX.Apply(r.SBOM, r.Findings)
}

// merge adds findings, merging each into an earlier one for the same
// component and vulnerability.
func (r *Result) merge(fs []Finding) {
	for _, f := range fs {
		if i := r.same(&f); i >= 0 {
			g := &r.Findings[i]
			for _, s := range f.Sources {
				if !slices.Contains(g.Sources, s) {
					g.Sources = append(g.Sources, s)
				}
			}
			g.AlsoMatched = append(g.AlsoMatched, f.Matched)
			for _, a := range append([]string{f.ID}, f.Aliases...) {
				if a != g.ID && !slices.Contains(g.Aliases, a) {
					g.Aliases = append(g.Aliases, a)
				}
			}
			sort.Strings(g.Aliases)
			if g.CPE == "" {
				g.CPE = f.CPE
			}
			if g.Fixed == "" {
				g.Fixed = f.Fixed
			}
			g.Remediations = append(g.Remediations, f.Remediations...)
			if len(g.CVSS) == 0 && g.Severity == "" {
				g.CVSS, g.Severity = f.CVSS, f.Severity
			}
			continue
		}
		r.Findings = append(r.Findings, f)
	}
}

// same is the index of the finding for f's component that shares an ID
// or alias with f, or -1.
func (r *Result) same(f *Finding) int {
	names := map[string]bool{f.ID: true}
	for _, a := range f.Aliases {
		names[a] = true
	}
	for i := range r.Findings {
		g := &r.Findings[i]
		if g.Component != f.Component || g.PURL != f.PURL || g.Version != f.Version {
			continue
		}
		if names[g.ID] {
			return i
		}
		for _, a := range g.Aliases {
			if names[a] {
				return i
			}
		}
		for _, a := range g.Merged {
			if names[a] {
				return i
			}
		}
	}
	return -1
}
