// Package vuln scans software bills of materials against OSV advisories,
// offline (issue 18, first slice): it reads CycloneDX and SPDX SBOMs,
// loads a directory of OSV records and reports which advisory affects
// which component, and by which range.
package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/package-url/packageurl-go"
	"github.com/spdx/tools-golang/tagvalue"
)

// Format is the kind of an SBOM file.
type Format string

// The SBOM formats ReadSBOM knows.
const (
	CycloneDXJSON   Format = "CycloneDX JSON"
	CycloneDXXML    Format = "CycloneDX XML"
	SPDXJSON        Format = "SPDX JSON"
	SPDXTagValue    Format = "SPDX tag-value"
	unknownFormat   Format = ""
	maxSBOMSize            = 512 << 20
	spdxPurlRefTyp         = "purl"
	spdxCPE23RefTyp        = "cpe23Type"
)

// SBOM is the part of a bill of materials a scan needs.
type SBOM struct {
	File   string
	Format Format
	// Components are those with a purl, in document order; duplicates
	// (one package listed twice) are kept once.
	Components []Component
	// NoPURL counts the components without a usable purl: OSV cannot
	// match them.
	NoPURL int
	// CPEOnly are the components without a purl that name a CPE
	// (counted in NoPURL too): only CPE matching (NVD, CSAF) reaches
	// them (cpe.go).
	CPEOnly []Component
	// Serial is a CycloneDX BOM's serialNumber ("urn:uuid:…"), and
	// Subject the component the SBOM describes (CycloneDX
	// metadata.component): CycloneDX VEX names components by them.
	Serial  string
	Subject Component
	// Tool and Reported are set when the file is a scanner's report
	// (Trivy JSON, Grype JSON, SARIF; reports.go): the tool and version
	// that wrote it, and the findings it reported.
	Tool     string
	Reported []Finding
}

// Component is one package of an SBOM, named by its purl.
type Component struct {
	Name    string // as the SBOM names it
	Version string // the purl's version
	PURL    string // as written in the SBOM
	// Ecosystem and Package are the OSV ecosystem ("Go", "PyPI",
	// "Debian:9", "Alpine:v3.17", …) and package name the purl maps to;
	// Ecosystem is empty for a purl type OSV data here does not cover.
	Ecosystem string
	Package   string
	// CPEs are the CPE names the SBOM gives the component (CycloneDX
	// cpe, SPDX cpe23Type references), for NVD and CSAF matching.
	CPEs []string `json:",omitempty"`
	// BOMRef is its CycloneDX bom-ref, which CycloneDX VEX names.
	BOMRef string `json:",omitempty"`
}

// ReadSBOM reads an SBOM file, recognising its format from its content.
func ReadSBOM(path string) (*SBOM, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSBOMSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an SBOM may have", path, st.Size(), maxSBOMSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSBOM(path, b)
}

// ParseSBOM parses the bytes of an SBOM; path names it in errors and in
// the SBOM.
func ParseSBOM(path string, b []byte) (s *SBOM, err error) {
	defer func() {
		if r := recover(); r != nil { // a parser of untrusted bytes must not take the CLI down
			s, err = nil, fmt.Errorf("%s: cannot parse: %v", path, r)
		}
	}()
	s = &SBOM{File: path, Format: sniff(b)}
	var purls []purlOf
	switch s.Format {
	case CycloneDXJSON, CycloneDXXML:
		purls, err = readCycloneDX(b, s.Format, s)
	case SPDXJSON, SPDXTagValue:
		purls, err = readSPDX(b, s.Format)
	default:
		return nil, fmt.Errorf("%s: not a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) SBOM", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, s.Format, positioned(b, err))
	}
	seen := map[string]bool{}
	for _, p := range purls {
		if p.purl == "" {
			s.NoPURL++
			if c, ok := cpeOnly(p); ok && !seen["\x01"+c.Name+"\x00"+c.Version+"\x00"+strings.Join(c.CPEs, " ")] {
				seen["\x01"+c.Name+"\x00"+c.Version+"\x00"+strings.Join(c.CPEs, " ")] = true
				s.CPEOnly = append(s.CPEOnly, c)
			}
			continue
		}
		c, err := componentOf(p.name, p.purl)
		if err != nil {
			return nil, fmt.Errorf("%s: component %q: %w", path, p.name, err)
		}
		c.CPEs, c.BOMRef = p.cpes, p.ref
		// Debian binary packages of one source package stay apart:
		// libssl1.1 and openssl are two installed packages.
		key := c.Name + "\x00" + c.Ecosystem + "\x00" + c.Package + "\x00" + c.Version
		if c.Ecosystem == "" {
			key = c.PURL
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		s.Components = append(s.Components, c)
	}
	return s, nil
}

type purlOf struct {
	name, purl string
	version    string   // as the SBOM gives it, for components without a purl
	cpes       []string // CPE names, for NVD and CSAF matching
	ref        string   // CycloneDX bom-ref
}

// sniff tells the format from the first bytes: CycloneDX JSON has
// "bomFormat", SPDX JSON "spdxVersion", SPDX tag-value starts with
// tag: value lines, and CycloneDX XML is XML.
func sniff(b []byte) Format {
	t := bytes.TrimLeft(b, "\ufeff \t\r\n")
	switch {
	case len(t) == 0:
		return unknownFormat
	case t[0] == '{':
		// Keys come in any order (cyclonedx-py sorts them, so bomFormat
		// comes after every component): look through the whole file.
		switch {
		case bytes.Contains(t, []byte(`"bomFormat"`)):
			return CycloneDXJSON
		case bytes.Contains(t, []byte(`"spdxVersion"`)):
			return SPDXJSON
		}
	case t[0] == '<':
		if bytes.Contains(t[:min(len(t), 1<<12)], []byte("cyclonedx.org/schema/bom")) {
			return CycloneDXXML
		}
	case bytes.Contains(t[:min(len(t), 1<<12)], []byte("SPDXVersion:")):
		return SPDXTagValue
	}
	return unknownFormat
}

// cdxJSON is the part of a CycloneDX JSON document a scan reads: the
// components, with those nested inside them. Decoding only this, not the
// whole BOM into cyclonedx-go's types (hashes, licences, external
// references, properties of every component), made reading an SBOM three
// to five times as fast, and reading was four fifths of a scan
// (BenchmarkScanSBOM); the XML form is read the same way (readCDXXML).
type cdxJSON struct {
	Serial   string `json:"serialNumber"`
	Metadata struct {
		Component *cdxJSONComponent `json:"component"`
	} `json:"metadata"`
	Components []cdxJSONComponent `json:"components"`
}

type cdxJSONComponent struct {
	BOMRef     string             `json:"bom-ref"`
	Group      string             `json:"group"`
	Name       string             `json:"name"`
	Version    string             `json:"version"`
	PackageURL string             `json:"purl"`
	CPE        string             `json:"cpe"`
	Components []cdxJSONComponent `json:"components"`
}

func readCycloneDX(b []byte, f Format, s *SBOM) ([]purlOf, error) {
	var out []purlOf
	one := func(group, name, version, purl, cpe, ref string) purlOf {
		p := purlOf{name: cdxName(group, name), purl: strings.TrimSpace(purl), version: version, ref: ref}
		if cpe = strings.TrimSpace(cpe); cpe != "" {
			p.cpes = []string{cpe}
		}
		return p
	}
	subject := func(p purlOf) {
		s.Subject = Component{Name: p.name, Version: p.version, PURL: p.purl, CPEs: p.cpes, BOMRef: p.ref}
	}
	if f == CycloneDXJSON {
		var bom cdxJSON
		if err := decodeJSON(b, &bom); err != nil {
			return nil, err
		}
		s.Serial = bom.Serial
		if m := bom.Metadata.Component; m != nil {
			subject(one(m.Group, m.Name, m.Version, m.PackageURL, m.CPE, m.BOMRef))
		}
		var walk func(cs []cdxJSONComponent)
		walk = func(cs []cdxJSONComponent) {
			for i := range cs {
				c := &cs[i]
				out = append(out, one(c.Group, c.Name, c.Version, c.PackageURL, c.CPE, c.BOMRef))
				walk(c.Components)
			}
		}
		walk(bom.Components)
		return out, nil
	}
	doc, err := readCDXXML(b)
	if err != nil {
		return nil, err
	}
	s.Serial = doc.serial
	if m := doc.subject; m != nil {
		subject(one(m.group, m.name, m.version, m.purl, m.cpe, m.ref))
	}
	for _, c := range doc.components {
		out = append(out, one(c.group, c.name, c.version, c.purl, c.cpe, c.ref))
	}
	return out, nil
}

// cdxName is a CycloneDX component's name with its group (a Maven group
// ID) before it.
func cdxName(group, name string) string {
	if group != "" {
		return group + ":" + name
	}
	return name
}

// spdxJSON is the part of an SPDX JSON document a scan reads: each
// package's name and external references. As with cdxJSON, decoding only
// this is what makes reading fast; tools-golang still reads tag-value.
// It also reads element IDs without the SPDXRef- prefix (early syft
// releases wrote them; tools-golang refuses them) since IDs are not read.
type spdxJSON struct {
	Packages []struct {
		Name    string `json:"name"`
		Version string `json:"versionInfo"`
		Refs    []struct {
			Type    string `json:"referenceType"`
			Locator string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

// spdxBareID finds a tag-value SPDXID without its SPDXRef- prefix.
var spdxBareID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^(SPDXID:[ \t]*)([^S\s]\S*|S[^P\s]\S*)$`) })

func readSPDX(b []byte, f Format) ([]purlOf, error) {
	if f == SPDXJSON {
		var doc spdxJSON
		if err := decodeJSON(b, &doc); err != nil {
			return nil, err
		}
		out := make([]purlOf, 0, len(doc.Packages))
		for _, p := range doc.Packages {
			po := purlOf{name: p.Name, version: p.Version}
			for _, r := range p.Refs {
				switch {
				case r.Type == spdxPurlRefTyp && po.purl == "":
					po.purl = strings.TrimSpace(r.Locator)
				case r.Type == spdxCPE23RefTyp:
					po.cpes = append(po.cpes, strings.TrimSpace(r.Locator))
				}
			}
			out = append(out, po)
		}
		return out, nil
	}
	doc, err := tagvalue.Read(bytes.NewReader(b))
	if err != nil {
		// Early syft releases wrote element IDs without the SPDXRef-
		// prefix the spec requires (fluxcd/flux2 v0.26.3's release SBOM
		// has 245 of them); tools-golang refuses those, so the IDs get
		// their prefix and the document is read again. IDs only tie
		// elements together, which a scan does not use.
		fixed := spdxBareID().ReplaceAll(b, []byte("${1}SPDXRef-${2}"))
		if bytes.Equal(fixed, b) {
			return nil, err
		}
		if doc, err = tagvalue.Read(bytes.NewReader(fixed)); err != nil {
			return nil, err
		}
	}
	var out []purlOf
	for _, p := range doc.Packages {
		if p == nil {
			continue
		}
		po := purlOf{name: p.PackageName, version: p.PackageVersion}
		for _, r := range p.PackageExternalReferences {
			switch {
			case r == nil:
			case r.RefType == spdxPurlRefTyp && po.purl == "":
				po.purl = strings.TrimSpace(r.Locator)
			case r.RefType == spdxCPE23RefTyp:
				po.cpes = append(po.cpes, strings.TrimSpace(r.Locator))
			}
		}
		out = append(out, po)
	}
	return out, nil
}

// positioned adds the line and column of a JSON syntax or type error.
func positioned(b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var se2 *jsontext.SyntacticError
	var te2 *jsonv2.SemanticError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.As(err, &se2):
		off = se2.ByteOffset
	case errors.As(err, &te2):
		off = te2.ByteOffset
	}
	if off < 0 || off > int64(len(b)) {
		return err
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(b[:off], '\n'))
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}

// componentOf maps a purl to its OSV ecosystem and package name. The
// names keep what tells packages apart: a Maven group ID
// (group:artifact), an npm scope (@scope/name), a Go module's full path.
func componentOf(name, purl string) (Component, error) {
	p, err := packageurl.FromString(purl)
	if err != nil {
		return Component{}, fmt.Errorf("purl %q: %w", purl, err)
	}
	c := Component{Name: name, Version: p.Version, PURL: purl}
	q := p.Qualifiers.Map()
	switch p.Type {
	case packageurl.TypeGolang:
		c.Ecosystem, c.Package = "Go", joinNS(p.Namespace, p.Name, "/")
	case packageurl.TypePyPi:
		c.Ecosystem, c.Package = "PyPI", normalisePyPI(p.Name)
	case packageurl.TypeNPM:
		c.Ecosystem, c.Package = "npm", joinNS(p.Namespace, p.Name, "/")
	case packageurl.TypeMaven:
		c.Ecosystem, c.Package = "Maven", joinNS(p.Namespace, p.Name, ":")
	case packageurl.TypeDebian:
		// OSV's Debian records name the source package; syft writes it
		// as upstream=, sometimes with its own version after an @.
		if rel := distroRelease(q["distro"], "debian-"); rel != "" {
			c.Ecosystem = "Debian:" + rel
		}
		c.Package = sourcePackage(p.Name, q["upstream"])
	case packageurl.TypeApk:
		if rel := distroRelease(q["distro"], "alpine-"); rel != "" {
			c.Ecosystem = "Alpine:v" + rel
		}
		c.Package = sourcePackage(p.Name, q["upstream"])
	}
	if c.Ecosystem != "" && c.Version == "" {
		c.Ecosystem = "" // nothing to compare: not scanned
	}
	return c, nil
}

func joinNS(ns, name, sep string) string {
	if ns == "" {
		return name
	}
	return ns + sep + name
}

// distroRelease turns a purl distro qualifier (debian-9, debian-11.6,
// alpine-3.17.2) into the release OSV names (9, 11, 3.17).
func distroRelease(distro, prefix string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(distro), prefix)
	if !ok || rest == "" {
		return ""
	}
	parts := strings.Split(rest, ".")
	if prefix == "alpine-" {
		if len(parts) < 2 {
			return ""
		}
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

func sourcePackage(name, upstream string) string {
	if upstream == "" {
		return name
	}
	if i := strings.IndexByte(upstream, '@'); i > 0 {
		upstream = upstream[:i]
	}
	return upstream
}

// normalisePyPI is PEP 503's name normalisation: PyPI treats Flask,
// flask and runs of -, _ and . alike.
func normalisePyPI(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}
