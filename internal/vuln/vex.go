package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// VEX is a set of statements about whether components are affected by
// vulnerabilities, read from OpenVEX, CycloneDX VEX and CSAF VEX
// documents. A finding is suppressed when the last statement, in the
// order read, that names its vulnerability (ID or alias) and its
// component says not affected, fixed, false positive or resolved; an
// "affected" or "under investigation" statement after it lifts that.
type VEX struct {
	Statements []VEXStatement
}

// VEXStatement is one statement, whatever its format.
type VEXStatement struct {
	File string
	// Format is "OpenVEX", "CycloneDX VEX" or "CSAF VEX"; Where is the
	// statement's place in its document ("statements[3]",
	// "vulnerabilities[0]", "vulnerabilities[0].product_status.known_not_affected CSAFPID-0001").
	Format, Where string
	Vulnerability string
	Aliases       []string
	// Status is the format's own word: OpenVEX not_affected, affected,
	// fixed, under_investigation; CycloneDX analysis.state
	// not_affected, false_positive, resolved, exploitable, in_triage; CSAF
	// mapped to OpenVEX's words.
	Status        string
	Justification string
	Detail        string
	// Author is who made the statement: OpenVEX author, CSAF
	// publisher, CycloneDX metadata's first author or manufacturer.
	Author   string
	Products []VEXProduct
}

// VEXProduct is what a statement applies to: a purl, a CPE, or a
// CycloneDX bom-ref (Serial set for a BOM-Link,
// urn:cdx:SERIAL/VERSION#REF). Subcomponents, in OpenVEX, are the
// packages inside the product the statement is about.
type VEXProduct struct {
	PURL, CPE, Ref, Serial string
	// Name with Version or a vers Range names a product by name only
	// (a CSAF product with no purl or CPE): the component or the SBOM's
	// subject of that name, case aside.
	Name, Version, Range string
	Subcomponents        []VEXProduct
	// Versions are a CycloneDX affects entry's versions: the statement
	// holds for a version one of them gives as "unaffected".
	Versions []VEXVersion
}

// VEXVersion is a CycloneDX affects version: one version or a vers
// range, and its status (affected, unaffected, unknown).
type VEXVersion struct {
	Version, Range, Status string
}

// Suppression is why a finding is suppressed: the statement and its
// document.
type Suppression struct {
	File          string `json:"file"`
	Format        string `json:"format"`
	Statement     string `json:"statement"`
	Vulnerability string `json:"vulnerability"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
	Detail        string `json:"detail,omitempty"`
	Author        string `json:"author,omitempty"`
	// VEX is the stored VEX document's ID, for stored findings.
	VEX string `json:"vex_id,omitempty"`
}

// suppresses says whether a status clears a finding.
func suppresses(status string) bool {
	switch status {
	case "not_affected", "fixed", "false_positive", "resolved", "resolved_with_pedigree":
		return true
	}
	return false
}

// LoadVEX reads VEX documents, telling the format from the content:
// OpenVEX (@context openvex.dev), CycloneDX (bomFormat with
// vulnerabilities) or CSAF (document.csaf_version).
func LoadVEX(paths ...string) (*VEX, error) {
	v := &VEX{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		sts, err := ParseVEX(p, b)
		if err != nil {
			return nil, err
		}
		v.Statements = append(v.Statements, sts...)
	}
	return v, nil
}

// ParseVEX parses one VEX document; file names it in errors, which name
// the field too.
func ParseVEX(file string, b []byte) (sts []VEXStatement, err error) {
	defer func() {
		if r := recover(); r != nil {
			sts, err = nil, fmt.Errorf("%s: cannot parse: %v", file, r)
		}
	}()
	switch {
	case bytes.Contains(b, []byte(`openvex.dev/ns`)):
		return parseOpenVEX(file, b)
	case bytes.Contains(b, []byte(`"bomFormat"`)):
		return parseCycloneDXVEX(file, b)
	case isCSAF(b):
		d, err := ParseCSAF(file, b)
		if err != nil {
			return nil, err
		}
		return d.vexStatements(), nil
	}
	return nil, fmt.Errorf("%s: not an OpenVEX, CycloneDX VEX or CSAF document", file)
}

// openVEXJSON is OpenVEX 0.0.1 to 0.2.0: vulnerability and products
// were plain strings in 0.0.1 and objects since.
type openVEXJSON struct {
	Context    string `json:"@context"`
	Author     string `json:"author"`
	Statements *[]struct {
		Vulnerability json.RawMessage   `json:"vulnerability"`
		Products      []json.RawMessage `json:"products"`
		Subcomponents []json.RawMessage `json:"subcomponents"` // 0.0.1
		Status        string            `json:"status"`
		Justification string            `json:"justification"`
		Impact        string            `json:"impact_statement"`
		Notes         string            `json:"status_notes"`
		Action        string            `json:"action_statement"`
	} `json:"statements"`
}

type openVEXProduct struct {
	ID          string `json:"@id"`
	Identifiers struct {
		PURL  string `json:"purl"`
		CPE23 string `json:"cpe23"`
		CPE22 string `json:"cpe22"`
	} `json:"identifiers"`
	Subcomponents []json.RawMessage `json:"subcomponents"`
}

func parseOpenVEX(file string, b []byte) ([]VEXStatement, error) {
	var doc openVEXJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: OpenVEX: %w", file, positioned(b, err))
	}
	if doc.Statements == nil {
		return nil, fmt.Errorf("%s: OpenVEX: statements: missing", file)
	}
	var out []VEXStatement
	for i, s := range *doc.Statements {
		at := fmt.Sprintf("statements[%d]", i)
		st := VEXStatement{File: file, Format: "OpenVEX", Where: at, Status: s.Status, Justification: s.Justification, Detail: s.Impact,
			Author: doc.Author}
		if st.Detail == "" {
			st.Detail = s.Notes
		}
		var name string
		if json.Unmarshal(s.Vulnerability, &name) == nil {
			st.Vulnerability = name
		} else {
			var v struct {
				Name    string   `json:"name"`
				ID      string   `json:"@id"`
				Aliases []string `json:"aliases"`
			}
			if err := json.Unmarshal(s.Vulnerability, &v); err != nil {
				return nil, fmt.Errorf("%s: OpenVEX: %s.vulnerability: %v", file, at, err)
			}
			st.Vulnerability, st.Aliases = v.Name, v.Aliases
			if st.Vulnerability == "" {
				st.Vulnerability = v.ID
			}
		}
		if st.Vulnerability == "" {
			return nil, fmt.Errorf("%s: OpenVEX: %s.vulnerability: missing", file, at)
		}
		switch st.Status {
		case "not_affected", "affected", "fixed", "under_investigation":
		default:
			return nil, fmt.Errorf("%s: OpenVEX: %s.status: %q is not not_affected, affected, fixed or under_investigation", file, at, st.Status)
		}
		var subs []VEXProduct
		for j, raw := range s.Subcomponents {
			p, err := openVEXProductOf(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: OpenVEX: %s.subcomponents[%d]: %v", file, at, j, err)
			}
			subs = append(subs, p)
		}
		for j, raw := range s.Products {
			p, err := openVEXProductOf(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: OpenVEX: %s.products[%d]: %v", file, at, j, err)
			}
			p.Subcomponents = append(p.Subcomponents, subs...)
			st.Products = append(st.Products, p)
		}
		if len(st.Products) == 0 {
			return nil, fmt.Errorf("%s: OpenVEX: %s.products: none", file, at)
		}
		out = append(out, st)
	}
	return out, nil
}

// openVEXProductOf reads a product or subcomponent: a string (0.0.1) or
// an object whose @id is a purl (or any IRI) and whose identifiers may
// give a purl and CPEs.
func openVEXProductOf(raw json.RawMessage) (VEXProduct, error) {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return productFromID(id), nil
	}
	var p openVEXProduct
	if err := json.Unmarshal(raw, &p); err != nil {
		return VEXProduct{}, err
	}
	out := productFromID(p.ID)
	if p.Identifiers.PURL != "" {
		out.PURL = p.Identifiers.PURL
	}
	if c := p.Identifiers.CPE23; c != "" {
		out.CPE = c
	} else if c := p.Identifiers.CPE22; c != "" {
		out.CPE = c
	}
	for _, s := range p.Subcomponents {
		sp, err := openVEXProductOf(s)
		if err != nil {
			return VEXProduct{}, err
		}
		out.Subcomponents = append(out.Subcomponents, sp)
	}
	if out.PURL == "" && out.CPE == "" && out.Ref == "" && len(out.Subcomponents) == 0 {
		return VEXProduct{}, fmt.Errorf("no @id, purl or CPE")
	}
	return out, nil
}

func productFromID(id string) VEXProduct {
	switch {
	case strings.HasPrefix(id, "pkg:"):
		return VEXProduct{PURL: id}
	case strings.HasPrefix(strings.ToLower(id), "cpe:"):
		return VEXProduct{CPE: id}
	}
	return VEXProduct{Ref: id}
}

type cdxVEXJSON struct {
	Metadata struct {
		Authors []struct {
			Name string `json:"name"`
		} `json:"authors"`
		Manufacture struct {
			Name string `json:"name"`
		} `json:"manufacture"`
	} `json:"metadata"`
	Components      []cdxJSONComponent `json:"components"`
	Vulnerabilities *[]struct {
		ID         string `json:"id"`
		References []struct {
			ID string `json:"id"`
		} `json:"references"`
		Analysis *struct {
			State         string `json:"state"`
			Justification string `json:"justification"`
			Detail        string `json:"detail"`
		} `json:"analysis"`
		Affects []struct {
			Ref      string `json:"ref"`
			Versions []struct {
				Version string `json:"version"`
				Range   string `json:"range"`
				Status  string `json:"status"`
			} `json:"versions"`
		} `json:"affects"`
	} `json:"vulnerabilities"`
}

// parseCycloneDXVEX reads a CycloneDX document's vulnerabilities that
// have an analysis. affects refs naming a component of the same
// document become that component's purl and CPE; others stay refs,
// matched against the scanned SBOM's bom-refs (and its serial number for
// a BOM-Link).
func parseCycloneDXVEX(file string, b []byte) ([]VEXStatement, error) {
	var doc cdxVEXJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: CycloneDX VEX: %w", file, positioned(b, err))
	}
	if doc.Vulnerabilities == nil {
		return nil, fmt.Errorf("%s: CycloneDX VEX: vulnerabilities: missing (a BOM without VEX data)", file)
	}
	own := map[string]cdxJSONComponent{}
	var walk func(cs []cdxJSONComponent)
	walk = func(cs []cdxJSONComponent) {
		for _, c := range cs {
			if c.BOMRef != "" {
				own[c.BOMRef] = c
			}
			walk(c.Components)
		}
	}
	walk(doc.Components)
	author := doc.Metadata.Manufacture.Name
	if len(doc.Metadata.Authors) > 0 {
		author = doc.Metadata.Authors[0].Name
	}
	var out []VEXStatement
	for i, v := range *doc.Vulnerabilities {
		at := fmt.Sprintf("vulnerabilities[%d]", i)
		if v.Analysis == nil || v.Analysis.State == "" {
			continue // no VEX analysis: a plain vulnerability listing
		}
		if v.ID == "" {
			return nil, fmt.Errorf("%s: CycloneDX VEX: %s.id: missing", file, at)
		}
		st := VEXStatement{File: file, Format: "CycloneDX VEX", Where: at, Vulnerability: v.ID, Status: v.Analysis.State,
			Justification: v.Analysis.Justification, Detail: v.Analysis.Detail, Author: author}
		for _, r := range v.References {
			if r.ID != "" {
				st.Aliases = append(st.Aliases, r.ID)
			}
		}
		switch st.Status {
		case "resolved", "resolved_with_pedigree", "exploitable", "in_triage", "false_positive", "not_affected":
		default:
			return nil, fmt.Errorf("%s: CycloneDX VEX: %s.analysis.state: %q is not a CycloneDX impact analysis state", file, at, st.Status)
		}
		for j, a := range v.Affects {
			if a.Ref == "" {
				return nil, fmt.Errorf("%s: CycloneDX VEX: %s.affects[%d].ref: missing", file, at, j)
			}
			p := VEXProduct{Ref: a.Ref}
			if strings.HasPrefix(a.Ref, "urn:cdx:") {
				serialVer, ref, ok := strings.Cut(strings.TrimPrefix(a.Ref, "urn:cdx:"), "#")
				if !ok {
					return nil, fmt.Errorf("%s: CycloneDX VEX: %s.affects[%d].ref: BOM-Link %q has no #bom-ref", file, at, j, a.Ref)
				}
				serial, _, _ := strings.Cut(serialVer, "/")
				p.Serial, p.Ref = serial, ref
			} else if c, ok := own[a.Ref]; ok {
				p.PURL, p.CPE = c.PackageURL, c.CPE
			} else if strings.HasPrefix(a.Ref, "pkg:") {
				p.PURL = a.Ref
			}
			for _, ver := range a.Versions {
				p.Versions = append(p.Versions, VEXVersion{Version: ver.Version, Range: ver.Range, Status: ver.Status})
			}
			st.Products = append(st.Products, p)
		}
		if len(st.Products) == 0 {
			continue // affects is optional; a statement about nothing suppresses nothing
		}
		out = append(out, st)
	}
	return out, nil
}

// Apply marks the findings of s that a statement suppresses, and
// returns how many it marked.
func (v *VEX) Apply(s *SBOM, fs []Finding) int {
	if v == nil {
		return 0
	}
	n := 0
	for i := range fs {
		f := &fs[i]
		names := map[string]bool{f.ID: true}
		for _, a := range f.Aliases {
			names[a] = true
		}
		for _, m := range f.Merged {
			names[m] = true
		}
		var last *VEXStatement
		for j := range v.Statements {
			st := &v.Statements[j]
			if !st.names(names) {
				continue
			}
			if st.appliesTo(s, f) {
				last = st
			}
		}
		if last != nil && suppresses(last.Status) {
			f.Suppressed = &Suppression{File: last.File, Format: last.Format, Statement: last.Where, Vulnerability: last.Vulnerability,
				Status: last.Status, Justification: last.Justification, Detail: last.Detail, Author: last.Author}
			n++
		}
	}
	return n
}

func (st *VEXStatement) names(names map[string]bool) bool {
	if names[st.Vulnerability] {
		return true
	}
	for _, a := range st.Aliases {
		if names[a] {
			return true
		}
	}
	return false
}

// appliesTo says whether one of the statement's products is the
// finding's component, or the product the SBOM describes (then the
// statement covers every component in it).
func (st *VEXStatement) appliesTo(s *SBOM, f *Finding) bool {
	comp := componentOfFinding(s, f)
	for _, p := range st.Products {
		if len(p.Subcomponents) > 0 {
			// The product must be the SBOM's subject when the SBOM
			// names one; the subcomponent must be the component.
			if s.Subject.PURL != "" && !p.names(s, &s.Subject) {
				continue
			}
			for _, sub := range p.Subcomponents {
				if sub.names(s, comp) && sub.versionHolds(comp.Version) {
					return true
				}
			}
			continue
		}
		if p.names(s, comp) && p.versionHolds(comp.Version) {
			return true
		}
		if (s.Subject.Name != "" || s.Subject.PURL != "" || s.Subject.BOMRef != "") && p.names(s, &s.Subject) &&
			p.versionHolds(s.Subject.Version) {
			return true
		}
	}
	return false
}

// componentOfFinding is the SBOM component a finding is about.
func componentOfFinding(s *SBOM, f *Finding) *Component {
	for _, cs := range [][]Component{s.Components, s.CPEOnly} {
		for i := range cs {
			c := &cs[i]
			if c.Name == f.Component && c.PURL == f.PURL && (c.Version == f.Version || c.PURL == "") {
				return c
			}
		}
	}
	return &Component{Name: f.Component, PURL: f.PURL, Version: f.Version}
}

// names says whether the product is the component c of s (s may be nil
// when only purl, CPE and name count).
func (p VEXProduct) names(s *SBOM, c *Component) bool {
	if p.Name != "" {
		if !strings.EqualFold(p.Name, c.Name) {
			return false
		}
		switch {
		case p.Version != "":
			return orderOfPURL(c.PURL).compare(p.Version, c.Version) == 0
		case p.Range != "":
			ok, err := inVers(p.Range, c.Version, orderOfPURL(c.PURL))
			return err == nil && ok
		}
		return true
	}
	if p.Serial != "" {
		if s == nil {
			return false
		}
		if !strings.EqualFold(strings.TrimPrefix(s.Serial, "urn:uuid:"), p.Serial) {
			return false
		}
		return p.Ref != "" && (c.BOMRef == p.Ref || c.PURL != "" && p.Ref == c.PURL)
	}
	if p.PURL != "" && c.PURL != "" && matchPURL(p.PURL, c.PURL) {
		return true
	}
	if p.CPE != "" {
		crit, err := ParseCPE(p.CPE)
		if err == nil {
			for _, raw := range c.CPEs {
				if cp, err := parseSBOMCPE(raw); err == nil && matchCPEName(crit, cp, versionOf(cp, c), orderOfPURL(c.PURL)) {
					return true
				}
			}
		}
	}
	return p.Ref != "" && p.PURL == "" && c.BOMRef == p.Ref
}

// versionHolds says whether a CycloneDX affects entry's versions make
// the statement hold for version v: with none it holds; otherwise the
// first entry naming v (exactly or by range) decides, and it holds when
// that entry says unaffected.
func (p VEXProduct) versionHolds(v string) bool {
	if len(p.Versions) == 0 {
		return true
	}
	for _, e := range p.Versions {
		in := false
		switch {
		case e.Version != "":
			in = compareLoose(e.Version, v) == 0
		case e.Range != "":
			ok, err := inVers(e.Range, v, "")
			in = err == nil && ok
		}
		if in {
			return e.Status == "unaffected"
		}
	}
	return false
}

// inVers says whether v is inside a vers range ("vers:semver/>=1.0|<2.3",
// github.com/package-url/purl-spec VERSION-RANGE-SPEC), comparing
// versions in the order of the range's scheme (versionorder.go), or for
// vers:generic and schemes no ecosystem orders in fallback's.
func inVers(r, v string, fallback versionOrder) (bool, error) {
	order := orderOfVers(r, fallback)
	rest, ok := strings.CutPrefix(r, "vers:")
	if !ok {
		return false, fmt.Errorf("vers range %q: no vers: prefix", r)
	}
	_, cons, ok := strings.Cut(rest, "/")
	if !ok || cons == "" {
		return false, fmt.Errorf("vers range %q: no constraints", r)
	}
	if cons == "*" {
		return true, nil
	}
	type con struct{ op, ver string }
	var cs []con
	for _, c := range strings.Split(cons, "|") {
		c = strings.TrimSpace(c)
		op := ""
		for _, o := range []string{">=", "<=", "!=", ">", "<", "="} {
			if strings.HasPrefix(c, o) {
				op, c = o, c[len(o):]
				break
			}
		}
		if op == "" {
			op = "="
		}
		if c == "" {
			return false, fmt.Errorf("vers range %q: a constraint has no version", r)
		}
		cs = append(cs, con{op, c})
	}
	for _, c := range cs {
		switch c.op {
		case "=":
			if order.compare(v, c.ver) == 0 {
				return true, nil
			}
		case "!=":
			if order.compare(v, c.ver) == 0 {
				return false, nil
			}
		}
	}
	var rs []con
	for _, c := range cs {
		if c.op != "=" && c.op != "!=" {
			rs = append(rs, c)
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return order.compare(rs[i].ver, rs[j].ver) < 0 })
	sat := func(c con) bool {
		x := order.compare(v, c.ver)
		switch c.op {
		case ">=":
			return x >= 0
		case ">":
			return x > 0
		case "<=":
			return x <= 0
		}
		return x < 0
	}
	for i, c := range rs {
		lower := c.op == ">" || c.op == ">="
		switch {
		case !lower && i == 0:
			if sat(c) {
				return true, nil
			}
		case lower && i == len(rs)-1:
			if sat(c) {
				return true, nil
			}
		case lower && i+1 < len(rs):
			next := rs[i+1]
			if (next.op == "<" || next.op == "<=") && sat(c) && sat(next) {
				return true, nil
			}
		}
	}
	return false, nil
}
