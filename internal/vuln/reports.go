package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"
)

// The scanners' report formats ReadInput knows besides SBOMs.
const (
	TrivyJSON Format = "Trivy JSON"
	GrypeJSON Format = "Grype JSON"
	SARIF     Format = "SARIF"
)

// ReadInput reads what `vigil vuln scan` is given: an SBOM (ReadSBOM) or
// a scanner's report — Trivy JSON, Grype JSON or SARIF 2.1.0 — told
// apart by content. A report's packages become the SBOM's components
// (purls kept, so OSV, NVD and CSAF match them too) and its findings
// are kept in Reported, each saying which tool reported it.
func ReadInput(path string) (*SBOM, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSBOMSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an SBOM or report may have", path, st.Size(), maxSBOMSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseInput(path, b)
}

// ParseInput parses the bytes of an SBOM or report; path names it.
func ParseInput(path string, b []byte) (s *SBOM, err error) {
	f := sniffReport(b)
	if f == unknownFormat {
		return ParseSBOM(path, b)
	}
	return ParseReport(path, b)
}

// sniffReport tells a report from an SBOM by its top-level keys: Trivy
// writes SchemaVersion and Results, Grype matches and descriptor, SARIF
// version 2.1.0 and runs.
func sniffReport(b []byte) Format {
	t := bytes.TrimLeft(b, "\ufeff \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return unknownFormat
	}
	// SBOMs are read on every scan and can be large: a look for the
	// keys first spares them a second decoding.
	if bytes.Contains(t, []byte(`"bomFormat"`)) || bytes.Contains(t, []byte(`"spdxVersion"`)) ||
		!bytes.Contains(t, []byte(`"SchemaVersion"`)) && !bytes.Contains(t, []byte(`"matches"`)) && !bytes.Contains(t, []byte(`"runs"`)) {
		return unknownFormat
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(t, &top) != nil {
		return unknownFormat
	}
	_, cdx := top["bomFormat"]
	_, spdx := top["spdxVersion"]
	if cdx || spdx {
		return unknownFormat
	}
	if _, ok := top["SchemaVersion"]; ok {
		if _, ok := top["Results"]; ok {
			return TrivyJSON
		}
		if _, ok := top["ArtifactName"]; ok {
			return TrivyJSON
		}
	}
	if _, ok := top["matches"]; ok {
		if _, ok := top["descriptor"]; ok {
			return GrypeJSON
		}
	}
	if _, ok := top["runs"]; ok {
		var v string
		if json.Unmarshal(top["version"], &v) == nil && strings.HasPrefix(v, "2.1") {
			return SARIF
		}
	}
	return unknownFormat
}

// ParseReport parses a Trivy JSON, Grype JSON or SARIF report.
func ParseReport(path string, b []byte) (s *SBOM, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s: cannot parse: %v", path, r)
		}
	}()
	s = &SBOM{File: path, Format: sniffReport(b)}
	switch s.Format {
	case TrivyJSON:
		err = readTrivy(s, b)
	case GrypeJSON:
		err = readGrype(s, b)
	case SARIF:
		err = readSARIF(s, b)
	default:
		return nil, fmt.Errorf("%s: not a Trivy JSON, Grype JSON or SARIF 2.1.0 report", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, s.Format, positioned(b, err))
	}
	return s, nil
}

// reportComponents builds components, once each, from a report's
// packages.
type reportComponents struct {
	s    *SBOM
	seen map[string]int // key -> index in s.Components, or -1-index in s.CPEOnly
}

// add adds a package and returns it as a component. A package without
// a purl is counted in NoPURL (and kept in CPEOnly when it has CPEs, or
// else only as the subject of its reported findings).
func (rc *reportComponents) add(name, version, purl, srcName string, cpes []string) (Component, error) {
	key := name + "\x00" + version + "\x00" + purl
	if i, ok := rc.seen[key]; ok {
		if i >= 0 {
			return rc.s.Components[i], nil
		}
		return rc.s.CPEOnly[-1-i], nil
	}
	if purl == "" {
		rc.s.NoPURL++
		c := Component{Name: name, Version: version, CPEs: cpes}
		if len(cpes) > 0 {
			rc.s.CPEOnly = append(rc.s.CPEOnly, c)
			rc.seen[key] = -len(rc.s.CPEOnly)
		} else {
			rc.seen[key] = -1 << 30
		}
		return c, nil
	}
	c, err := componentOf(name, purl)
	if err != nil {
		return Component{}, err
	}
	if srcName != "" && c.Ecosystem != "" && (strings.HasPrefix(purl, "pkg:deb/") || strings.HasPrefix(purl, "pkg:apk/")) {
		if p, err := packageurl.FromString(purl); err == nil && p.Qualifiers.Map()["upstream"] == "" {
			// Trivy writes the source package apart, not as upstream=.
			c.Package = srcName
		}
	}
	c.CPEs = cpes
	rc.s.Components = append(rc.s.Components, c)
	rc.seen[key] = len(rc.s.Components) - 1
	return c, nil
}

func reportedFinding(s *SBOM, c Component, id, where, summary, fixed, severity string, aliases, vectors []string) Finding {
	f := Finding{SBOM: s.File, Component: c.Name, PURL: c.PURL, Version: c.Version, Ecosystem: c.Ecosystem, Package: c.Package,
		ID: id, Summary: summary, Fixed: fixed, Matched: "reported by " + s.Tool, File: s.File + ": " + where,
		Sources: []string{s.Tool}}
	if f.Package == "" {
		f.Package = c.Name
	}
	for _, a := range aliases {
		if a != "" && a != id && !slices.Contains(f.Aliases, a) {
			f.Aliases = append(f.Aliases, a)
		}
	}
	f.CVSS, f.Severity = scoreVectors(vectors)
	if f.Severity == "" {
		f.Severity = strings.ToUpper(severity)
	}
	return f
}

// trivyJSON is Trivy's JSON report (SchemaVersion 2): each result's
// packages (listed with --list-all-pkgs) and vulnerabilities.
type trivyJSON struct {
	SchemaVersion int    `json:"SchemaVersion"`
	ArtifactName  string `json:"ArtifactName"`
	Trivy         struct {
		Version string `json:"Version"`
	} `json:"Trivy"`
	Results []struct {
		Target   string `json:"Target"`
		Type     string `json:"Type"`
		Packages []struct {
			Name       string `json:"Name"`
			Version    string `json:"Version"`
			SrcName    string `json:"SrcName"`
			Identifier struct {
				PURL string `json:"PURL"`
			} `json:"Identifier"`
		} `json:"Packages"`
		Vulnerabilities []struct {
			VulnerabilityID  string                `json:"VulnerabilityID"`
			PkgName          string                `json:"PkgName"`
			PkgIdentifier    struct{ PURL string } `json:"PkgIdentifier"`
			InstalledVersion string                `json:"InstalledVersion"`
			FixedVersion     string                `json:"FixedVersion"`
			Severity         string                `json:"Severity"`
			Title            string                `json:"Title"`
			VendorIDs        []string              `json:"VendorIDs"`
			CVSS             map[string]struct {
				V3Vector  string `json:"V3Vector"`
				V40Vector string `json:"V40Vector"`
			} `json:"CVSS"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

func readTrivy(s *SBOM, b []byte) error {
	var t trivyJSON
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	s.Tool = "Trivy"
	if t.Trivy.Version != "" {
		s.Tool += " " + t.Trivy.Version
	}
	s.Subject = Component{Name: t.ArtifactName}
	rc := &reportComponents{s: s, seen: map[string]int{}}
	for ri, r := range t.Results {
		for pi, p := range r.Packages {
			if p.Name == "" {
				return fmt.Errorf("Results[%d].Packages[%d].Name: missing", ri, pi)
			}
			if _, err := rc.add(p.Name, p.Version, p.Identifier.PURL, p.SrcName, nil); err != nil {
				return fmt.Errorf("Results[%d].Packages[%d].Identifier.PURL: %w", ri, pi, err)
			}
		}
		for vi, v := range r.Vulnerabilities {
			at := fmt.Sprintf("Results[%d].Vulnerabilities[%d]", ri, vi)
			if v.VulnerabilityID == "" {
				return fmt.Errorf("%s.VulnerabilityID: missing", at)
			}
			src := ""
			for _, p := range r.Packages {
				if p.Name == v.PkgName && p.Version == v.InstalledVersion {
					src = p.SrcName
				}
			}
			c, err := rc.add(v.PkgName, v.InstalledVersion, v.PkgIdentifier.PURL, src, nil)
			if err != nil {
				return fmt.Errorf("%s.PkgIdentifier.PURL: %w", at, err)
			}
			var vecs []string
			for _, k := range sortedKeys(v.CVSS) {
				for _, vec := range []string{v.CVSS[k].V40Vector, v.CVSS[k].V3Vector} {
					if vec != "" && !slices.Contains(vecs, vec) {
						vecs = append(vecs, vec)
					}
				}
			}
			s.Reported = append(s.Reported, reportedFinding(s, c, v.VulnerabilityID, at+" ("+r.Target+")", v.Title,
				v.FixedVersion, v.Severity, v.VendorIDs, vecs))
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// grypeJSON is Grype's JSON report: matches of an artifact (with its
// purl and CPEs) and a vulnerability.
type grypeJSON struct {
	Matches []struct {
		Vulnerability struct {
			ID          string `json:"id"`
			Severity    string `json:"severity"`
			Description string `json:"description"`
			Fix         struct {
				Versions []string `json:"versions"`
				State    string   `json:"state"`
			} `json:"fix"`
			CVSS []struct {
				Vector  string `json:"vector"`
				Version string `json:"version"`
			} `json:"cvss"`
		} `json:"vulnerability"`
		Related []struct {
			ID string `json:"id"`
		} `json:"relatedVulnerabilities"`
		Artifact struct {
			Name    string   `json:"name"`
			Version string   `json:"version"`
			Type    string   `json:"type"`
			PURL    string   `json:"purl"`
			CPEs    []string `json:"cpes"`
		} `json:"artifact"`
	} `json:"matches"`
	Source struct {
		Type   string          `json:"type"`
		Target json.RawMessage `json:"target"`
	} `json:"source"`
	Descriptor struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"descriptor"`
}

func readGrype(s *SBOM, b []byte) error {
	var g grypeJSON
	if err := json.Unmarshal(b, &g); err != nil {
		return err
	}
	s.Tool = "Grype"
	if g.Descriptor.Version != "" {
		s.Tool += " " + g.Descriptor.Version
	}
	rc := &reportComponents{s: s, seen: map[string]int{}}
	for i, m := range g.Matches {
		at := fmt.Sprintf("matches[%d]", i)
		a := m.Artifact
		switch {
		case m.Vulnerability.ID == "":
			return fmt.Errorf("%s.vulnerability.id: missing", at)
		case a.Name == "":
			return fmt.Errorf("%s.artifact.name: missing", at)
		}
		c, err := rc.add(a.Name, a.Version, a.PURL, "", a.CPEs)
		if err != nil {
			return fmt.Errorf("%s.artifact.purl: %w", at, err)
		}
		var aliases, vecs []string
		for _, r := range m.Related {
			aliases = append(aliases, r.ID)
		}
		for _, c := range m.Vulnerability.CVSS {
			if strings.HasPrefix(c.Vector, "CVSS:") {
				vecs = append(vecs, c.Vector)
			}
		}
		fixed := ""
		if m.Vulnerability.Fix.State == "fixed" && len(m.Vulnerability.Fix.Versions) > 0 {
			fixed = m.Vulnerability.Fix.Versions[0]
		}
		s.Reported = append(s.Reported, reportedFinding(s, c, m.Vulnerability.ID, at, firstSentence(m.Vulnerability.Description),
			fixed, m.Vulnerability.Severity, aliases, vecs))
	}
	return nil
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// sarifJSON is SARIF 2.1.0, as far as vulnerability scanners fill it.
type sarifJSON struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					Properties struct {
						SecuritySeverity string   `json:"security-severity"`
						Tags             []string `json:"tags"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID  string `json:"ruleId"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				Physical struct {
					Artifact struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Properties struct {
				PURLs []string `json:"purls"`
			} `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

// The message layouts of the two scanners that write SARIF for
// packages. Trivy: "Package: openssl\nInstalled Version: 1.1.1k\n
// Vulnerability CVE-…\nSeverity: HIGH\nFixed Version: 1.1.1l\nLink: …".
// Grype: "A high vulnerability in deb package: openssl, version 1.1.1k
// was found at: /var/lib/dpkg/status".
var (
	sarifTrivyLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^(Package|Installed Version|Severity|Fixed Version):[ \t]*(.*?)\s*$`)
	})
	sarifGrypeMsg = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)^An? (\w+) vulnerability in (\S+) package: (\S+), version (\S+) was found at: ?(.*)$`)
	})
)

// readSARIF reads the results of each run. SARIF has no place for a
// package, so the package and version come from the message, in
// Trivy's or Grype's layout, or a result's properties.purls when a tool
// writes them; a result naming no package is kept with the artifact's
// URI as its component.
func readSARIF(s *SBOM, b []byte) error {
	var doc sarifJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	rc := &reportComponents{s: s, seen: map[string]int{}}
	for ri, run := range doc.Runs {
		tool := strings.TrimSpace(run.Tool.Driver.Name + " " + run.Tool.Driver.Version)
		if tool == "" {
			return fmt.Errorf("runs[%d].tool.driver.name: missing", ri)
		}
		if s.Tool == "" {
			s.Tool = tool
		}
		sev, title := map[string]string{}, map[string]string{}
		for _, r := range run.Tool.Driver.Rules {
			sev[r.ID], title[r.ID] = r.Properties.SecuritySeverity, r.ShortDescription.Text
		}
		for i, r := range run.Results {
			at := fmt.Sprintf("runs[%d].results[%d]", ri, i)
			if r.RuleID == "" {
				return fmt.Errorf("%s.ruleId: missing", at)
			}
			id, name, version, severity, fixed, purl := r.RuleID, "", "", "", "", ""
			if len(r.Properties.PURLs) > 0 {
				purl = r.Properties.PURLs[0]
				if p, err := packageurl.FromString(purl); err == nil {
					name, version = joinNS(p.Namespace, p.Name, "/"), p.Version
				}
			}
			if m := sarifGrypeMsg().FindStringSubmatch(r.Message.Text); m != nil {
				severity = m[1]
				if name == "" {
					name, version = m[3], m[4]
				}
				// Grype's rule IDs are the vulnerability and the package.
				id = strings.TrimSuffix(id, "-"+m[3])
			} else if ms := sarifTrivyLine().FindAllStringSubmatch(r.Message.Text, -1); ms != nil {
				for _, m := range ms {
					switch m[1] {
					case "Package":
						if name == "" {
							name = m[2]
						}
					case "Installed Version":
						if version == "" {
							version = m[2]
						}
					case "Severity":
						severity = m[2]
					case "Fixed Version":
						fixed = m[2]
					}
				}
				// Old Trivy templates wrote rule IDs as "[HIGH] CVE-…".
				if j := strings.LastIndexByte(id, ']'); j >= 0 {
					id = strings.TrimSpace(id[j+1:])
				}
			}
			if name == "" && len(r.Locations) > 0 {
				name = r.Locations[0].Physical.Artifact.URI
			}
			if name == "" {
				return fmt.Errorf("%s: names no package (message, properties.purls) and no location", at)
			}
			c, err := rc.add(name, version, purl, "", nil)
			if err != nil {
				return fmt.Errorf("%s.properties.purls[0]: %w", at, err)
			}
			if severity == "" {
				severity = securitySeverity(sev[r.RuleID])
			}
			summary := title[r.RuleID]
			if summary == "" {
				summary = firstSentence(firstLine(r.Message.Text))
			}
			f := reportedFinding(s, c, id, at, summary, fixed, severity, nil, nil)
			f.Sources = []string{tool}
			f.Matched = "reported by " + tool
			s.Reported = append(s.Reported, f)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// securitySeverity turns GitHub's SARIF security-severity, a CVSS-like
// score ("9.8"), into its rating; anything else is kept as it is.
func securitySeverity(v string) string {
	var f float64
	if _, err := fmt.Sscanf(v, "%g", &f); err != nil {
		return v
	}
	switch {
	case f >= 9:
		return "CRITICAL"
	case f >= 7:
		return "HIGH"
	case f >= 4:
		return "MEDIUM"
	case f > 0:
		return "LOW"
	}
	return "NONE"
}
