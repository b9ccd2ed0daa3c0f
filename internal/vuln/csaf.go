package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/package-url/packageurl-go"
)

// CSAF is a set of CSAF 2.0 documents (docs.oasis-open.org/csaf/csaf/v2.0):
// vendor security advisories, matched like advisories, and VEX
// documents, whose known_not_affected and fixed products are VEX
// statements (vex.go).
type CSAF struct {
	Docs []*CSAFDoc
}

// CSAFDoc is the part of a CSAF document a scan uses.
type CSAFDoc struct {
	File string
	// ID is document.tracking.id ("RHSA-2021:5186"); Category is
	// document.category ("csaf_security_advisory", "csaf_vex", …).
	ID, Category, Publisher, Title string
	Vulns                          []CSAFVuln
	// Products are the product tree's products by product ID, each with
	// what identifies it: purls and CPEs (from
	// product_identification_helper, or for a relationship's product,
	// its product_reference's).
	Products map[string]*CSAFProduct
	groups   map[string][]string
}

// CSAFProduct is one product of a product tree.
type CSAFProduct struct {
	ID, Name string
	PURLs    []string
	CPEs     []string
	// ProductName and Version or VersionRange come from the branches
	// above the product (product_name, product_version,
	// product_version_range) and are used, by name, only when the
	// product has no purl or CPE.
	ProductName, Version, VersionRange string
}

// identified says whether anything can match the product.
func (p *CSAFProduct) identified() bool { return len(p.PURLs)+len(p.CPEs) > 0 || p.ProductName != "" }

// CSAFVuln is one element of a document's vulnerabilities.
type CSAFVuln struct {
	// Where is its place: "vulnerabilities[2]".
	Where string
	CVE   string
	IDs   []string // ids[].text
	Title string
	// Status maps product_status categories (known_affected, fixed,
	// known_not_affected, first_affected, …) to product IDs.
	Status       map[string][]string
	Remediations []Remediation
	flags        []csafRefs
	threats      []csafRefs
	scores       []csafScore
}

// Remediation is a CSAF remediation: its category (vendor_fix,
// workaround, mitigation, none_available, no_fix_planned), details and
// URL.
type Remediation struct {
	Category string `json:"category"`
	Details  string `json:"details,omitempty"`
	URL      string `json:"url,omitempty"`
	products []string
}

type csafRefs struct {
	text     string // a flag's label, a threat's details
	category string
	products []string
}

type csafScore struct {
	products []string
	vectors  []string
}

// csafJSON is the document as read.
type csafJSON struct {
	Document *struct {
		Category    string `json:"category"`
		CSAFVersion string `json:"csaf_version"`
		Title       string `json:"title"`
		Publisher   struct {
			Name string `json:"name"`
		} `json:"publisher"`
		Tracking struct {
			ID string `json:"id"`
		} `json:"tracking"`
	} `json:"document"`
	ProductTree struct {
		Branches      []csafBranch      `json:"branches"`
		FullNames     []csafProductJSON `json:"full_product_names"`
		Relationships []struct {
			Category    string          `json:"category"`
			FullName    csafProductJSON `json:"full_product_name"`
			ProductRef  string          `json:"product_reference"`
			RelatesToRf string          `json:"relates_to_product_reference"`
		} `json:"relationships"`
		Groups []struct {
			GroupID    string   `json:"group_id"`
			ProductIDs []string `json:"product_ids"`
		} `json:"product_groups"`
	} `json:"product_tree"`
	Vulnerabilities []struct {
		CVE string `json:"cve"`
		IDs []struct {
			Text string `json:"text"`
		} `json:"ids"`
		Title         string              `json:"title"`
		ProductStatus map[string][]string `json:"product_status"`
		Remediations  []struct {
			Category   string   `json:"category"`
			Details    string   `json:"details"`
			URL        string   `json:"url"`
			ProductIDs []string `json:"product_ids"`
			GroupIDs   []string `json:"group_ids"`
		} `json:"remediations"`
		Flags []struct {
			Label      string   `json:"label"`
			ProductIDs []string `json:"product_ids"`
			GroupIDs   []string `json:"group_ids"`
		} `json:"flags"`
		Threats []struct {
			Category   string   `json:"category"`
			Details    string   `json:"details"`
			ProductIDs []string `json:"product_ids"`
			GroupIDs   []string `json:"group_ids"`
		} `json:"threats"`
		Scores []struct {
			Products []string `json:"products"`
			V3       *struct {
				Vector string `json:"vectorString"`
			} `json:"cvss_v3"`
		} `json:"scores"`
	} `json:"vulnerabilities"`
}

type csafBranch struct {
	Category string           `json:"category"`
	Name     string           `json:"name"`
	Product  *csafProductJSON `json:"product"`
	Branches []csafBranch     `json:"branches"`
}

type csafProductJSON struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Helper    *struct {
		CPE   string   `json:"cpe"`
		PURL  string   `json:"purl"`
		PURLs []string `json:"purls"` // CSAF 2.1
	} `json:"product_identification_helper"`
}

// LoadCSAF reads CSAF documents: each path a JSON file or a directory
// of them (*.json, any depth).
func LoadCSAF(paths ...string) (*CSAF, error) {
	c := &CSAF{}
	for _, p := range paths {
		err := eachJSONFile(p, func(file string, b []byte) error {
			d, err := ParseCSAF(file, b)
			if err != nil {
				return err
			}
			c.Docs = append(c.Docs, d)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// isCSAF says whether a JSON document looks like CSAF.
func isCSAF(b []byte) bool {
	return bytes.Contains(b, []byte(`"csaf_version"`)) && bytes.Contains(b, []byte(`"document"`))
}

// ParseCSAF parses one CSAF 2.0 document; file names it in errors, which
// also name the field.
func ParseCSAF(file string, b []byte) (d *CSAFDoc, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%s: cannot parse: %v", file, r)
		}
	}()
	var j csafJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: CSAF: %w", file, positioned(b, err))
	}
	if j.Document == nil || j.Document.CSAFVersion == "" {
		return nil, fmt.Errorf("%s: not a CSAF document: no document.csaf_version", file)
	}
	if !strings.HasPrefix(j.Document.CSAFVersion, "2.") {
		return nil, fmt.Errorf("%s: document.csaf_version: %q, want 2.0", file, j.Document.CSAFVersion)
	}
	if j.Document.Tracking.ID == "" {
		return nil, fmt.Errorf("%s: document.tracking.id: missing", file)
	}
	d = &CSAFDoc{File: file, ID: j.Document.Tracking.ID, Category: j.Document.Category, Publisher: j.Document.Publisher.Name,
		Title: j.Document.Title, Products: map[string]*CSAFProduct{}, groups: map[string][]string{}}
	addProduct := func(where string, p csafProductJSON) error {
		if p.ProductID == "" {
			return fmt.Errorf("%s: %s.product_id: missing", file, where)
		}
		cp := &CSAFProduct{ID: p.ProductID, Name: p.Name}
		if h := p.Helper; h != nil {
			if h.PURL != "" {
				cp.PURLs = append(cp.PURLs, h.PURL)
			}
			cp.PURLs = append(cp.PURLs, h.PURLs...)
			if h.CPE != "" {
				if _, err := ParseCPE(h.CPE); err != nil {
					return fmt.Errorf("%s: %s.product_identification_helper.cpe: %w", file, where, err)
				}
				cp.CPEs = append(cp.CPEs, h.CPE)
			}
			for i, u := range cp.PURLs {
				if _, err := packageurl.FromString(u); err != nil {
					return fmt.Errorf("%s: %s.product_identification_helper.purl[%d]: %q: %w", file, where, i, u, err)
				}
			}
		}
		d.Products[p.ProductID] = cp
		return nil
	}
	type branchCtx struct{ name, version, vrange string }
	var walk func(where string, bs []csafBranch, ctx branchCtx) error
	walk = func(where string, bs []csafBranch, ctx branchCtx) error {
		for i, br := range bs {
			at := fmt.Sprintf("%s[%d]", where, i)
			c := ctx
			switch br.Category {
			case "product_name":
				c.name = br.Name
			case "product_version":
				c.version = br.Name
			case "product_version_range":
				c.vrange = br.Name
			}
			if br.Product != nil {
				if err := addProduct(at+".product", *br.Product); err != nil {
					return err
				}
				p := d.Products[br.Product.ProductID]
				p.ProductName, p.Version, p.VersionRange = c.name, c.version, c.vrange
			}
			if err := walk(at+".branches", br.Branches, c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("product_tree.branches", j.ProductTree.Branches, branchCtx{}); err != nil {
		return nil, err
	}
	for i, p := range j.ProductTree.FullNames {
		if err := addProduct(fmt.Sprintf("product_tree.full_product_names[%d]", i), p); err != nil {
			return nil, err
		}
	}
	// A relationship's product ("openssl-1.1.1k as a component of RHEL
	// 8") is the component of product_reference, installed on the
	// other: it is identified by the component's purls and CPEs.
	for i, r := range j.ProductTree.Relationships {
		at := fmt.Sprintf("product_tree.relationships[%d].full_product_name", i)
		if err := addProduct(at, r.FullName); err != nil {
			return nil, err
		}
		cp := d.Products[r.FullName.ProductID]
		if ref, ok := d.Products[r.ProductRef]; ok && !cp.identified() {
			cp.PURLs, cp.CPEs = ref.PURLs, ref.CPEs
			cp.ProductName, cp.Version, cp.VersionRange = ref.ProductName, ref.Version, ref.VersionRange
		}
	}
	for _, g := range j.ProductTree.Groups {
		d.groups[g.GroupID] = g.ProductIDs
	}
	for i, v := range j.Vulnerabilities {
		cv := CSAFVuln{Where: fmt.Sprintf("vulnerabilities[%d]", i), CVE: v.CVE, Title: v.Title, Status: v.ProductStatus}
		for _, id := range v.IDs {
			cv.IDs = append(cv.IDs, id.Text)
		}
		for _, r := range v.Remediations {
			cv.Remediations = append(cv.Remediations, Remediation{Category: r.Category, Details: r.Details, URL: r.URL,
				products: d.expand(r.ProductIDs, r.GroupIDs)})
		}
		for _, f := range v.Flags {
			cv.flags = append(cv.flags, csafRefs{text: f.Label, products: d.expand(f.ProductIDs, f.GroupIDs)})
		}
		for _, t := range v.Threats {
			cv.threats = append(cv.threats, csafRefs{text: t.Details, category: t.Category, products: d.expand(t.ProductIDs, t.GroupIDs)})
		}
		for _, s := range v.Scores {
			if s.V3 != nil && s.V3.Vector != "" {
				cv.scores = append(cv.scores, csafScore{products: s.Products, vectors: []string{s.V3.Vector}})
			}
		}
		if cv.CVE == "" && len(cv.IDs) == 0 {
			return nil, fmt.Errorf("%s: %s: neither cve nor ids", file, cv.Where)
		}
		d.Vulns = append(d.Vulns, cv)
	}
	return d, nil
}

// expand is product IDs with the groups' products added.
func (d *CSAFDoc) expand(ids, groups []string) []string {
	out := append([]string(nil), ids...)
	for _, g := range groups {
		out = append(out, d.groups[g]...)
	}
	return out
}

// name is the vulnerability's ID: its CVE, or its first other ID.
func (v *CSAFVuln) name() string {
	if v.CVE != "" {
		return v.CVE
	}
	return v.IDs[0]
}

// aliases are its IDs other than name.
func (v *CSAFVuln) aliases() []string {
	var out []string
	for _, id := range v.IDs {
		if id != v.name() {
			out = append(out, id)
		}
	}
	return out
}

// affectedStatuses are the product_status categories that say a product
// is affected; csaf_vex and advisories alike use them.
var affectedStatuses = []string{"known_affected", "first_affected", "last_affected"}

// Unidentified counts the products of the documents' product_status
// lists that give no purl or CPE: nothing can match them.
func (c *CSAF) Unidentified() int {
	n := 0
	for _, d := range c.Docs {
		seen := map[string]bool{}
		for _, v := range d.Vulns {
			for _, ids := range v.Status {
				for _, id := range ids {
					if p := d.Products[id]; (p == nil || !p.identified()) && !seen[id] {
						seen[id] = true
						n++
					}
				}
			}
		}
	}
	return n
}

// MatchCSAF matches the components of s against the products the
// documents list as known_affected (or first_ or last_affected): by purl
// (type, namespace and name the same; the version too when the product's
// purl has one; qualifiers only those the product names) or by CPE (the
// product's CPE as a criterion, its version compared exactly). A
// component the same vulnerability lists as fixed or known_not_affected
// is not a finding. Each finding names the document, the status and the
// product, and carries that product's remediations and CVSS v3 scores.
func (c *CSAF) MatchCSAF(s *SBOM) []Finding {
	if c == nil {
		return nil
	}
	all, _ := cpesOf(s)
	var out []Finding
	comps := append(append([]Component(nil), s.Components...), s.CPEOnly...)
	for _, d := range c.Docs {
		for vi := range d.Vulns {
			v := &d.Vulns[vi]
			for ci := range comps {
				comp := &comps[ci]
				var hit *CSAFProduct
				var how, status string
				for _, st := range affectedStatuses {
					for _, id := range v.Status[st] {
						if p := d.Products[id]; p != nil {
							if h := p.matches(comp, all); h != "" && hit == nil {
								hit, how, status = p, h, st
							}
						}
					}
				}
				if hit == nil || d.clears(v, comp, all) {
					continue
				}
				f := Finding{SBOM: s.File, Component: comp.Name, PURL: comp.PURL, Version: comp.Version, Ecosystem: comp.Ecosystem,
					Package: comp.Package, ID: v.name(), Aliases: v.aliases(), Summary: v.Title,
					Matched: fmt.Sprintf("CSAF %s %s %s (%s)", d.ID, status, hit.ID, how),
					File:    d.File + ": " + v.Where, Sources: []string{"CSAF " + d.ID}}
				if strings.HasPrefix(how, "cpe ") {
					f.CPE = strings.TrimPrefix(how, "cpe ")
				}
				if f.Ecosystem == "" {
					f.Ecosystem = "CPE"
				}
				if f.Package == "" {
					f.Package = comp.Name
				}
				for _, r := range v.Remediations {
					if slices.Contains(r.products, hit.ID) {
						f.Remediations = append(f.Remediations, r)
						if r.Category == "vendor_fix" && f.Fixed == "" && len(v.Status["first_fixed"]) > 0 {
							if p := d.Products[v.Status["first_fixed"][0]]; p != nil {
								f.Fixed = p.Version
								if f.Fixed == "" {
									f.Fixed = p.Name
								}
							}
						}
					}
				}
				var vecs []string
				for _, sc := range v.scores {
					if slices.Contains(sc.products, hit.ID) {
						vecs = append(vecs, sc.vectors...)
					}
				}
				f.CVSS, f.Severity = scoreVectors(vecs)
				out = append(out, f)
			}
		}
	}
	return out
}

// clears says whether the vulnerability lists the component as fixed or
// not affected, which outweighs a match on a looser affected product.
func (d *CSAFDoc) clears(v *CSAFVuln, comp *Component, all []sbomCPE) bool {
	for _, st := range []string{"fixed", "first_fixed", "known_not_affected"} {
		for _, id := range v.Status[st] {
			if p := d.Products[id]; p != nil && p.matches(comp, all) != "" {
				return true
			}
		}
	}
	return false
}

// matches says how the product identifies the component ("purl …",
// "cpe …"), or "".
func (p *CSAFProduct) matches(comp *Component, _ []sbomCPE) string {
	for _, u := range p.PURLs {
		if comp.PURL != "" && matchPURL(u, comp.PURL) {
			return "purl " + u
		}
	}
	for _, raw := range p.CPEs {
		crit, err := ParseCPE(raw)
		if err != nil {
			continue
		}
		for _, cr := range comp.CPEs {
			cp, err := parseSBOMCPE(cr)
			if err != nil {
				continue
			}
			if matchCPEName(crit, cp, versionOf(cp, comp), p.order(comp)) {
				return "cpe " + raw
			}
		}
	}
	if len(p.PURLs)+len(p.CPEs) == 0 && p.ProductName != "" && p.vexProduct().names(nil, comp) {
		return "name " + p.Name
	}
	return ""
}

// order is how the product's versions compare with the component's: in
// the ecosystem of the product's purl (product_identification_helper),
// else of the component's purl, else loosely.
func (p *CSAFProduct) order(comp *Component) versionOrder {
	for _, u := range p.PURLs {
		if o := orderOfPURL(u); o != "" {
			return o
		}
	}
	return orderOfPURL(comp.PURL)
}

// vexProduct is how a product with neither purl nor CPE is named: by
// its branches' product name and version or range.
func (p *CSAFProduct) vexProduct() VEXProduct {
	return VEXProduct{Name: p.ProductName, Version: p.Version, Range: versRange(p.VersionRange)}
}

// versRange is a CSAF product_version_range as a vers range: it is one
// already ("vers:npm/>=1.0|<2.0"), or comparisons ("<=1.14.0",
// ">=1.0, <2.0") read as vers:generic.
func versRange(r string) string {
	r = strings.TrimSpace(r)
	if r == "" || strings.HasPrefix(r, "vers:") {
		return r
	}
	parts := strings.FieldsFunc(r, func(c rune) bool { return c == ',' || c == ' ' || c == '|' })
	return "vers:generic/" + strings.Join(parts, "|")
}

// matchCPEName matches a product's or statement's CPE against a
// component's: every attribute as matchAttr says, the version compared
// in order when both give one.
func matchCPEName(crit, comp CPE, ver string, order versionOrder) bool {
	if !crit.matchesExceptVersion(comp) {
		return false
	}
	va := crit.Attrs[cpeVersion]
	switch va.Kind {
	case CPEAny:
		return true
	case CPENA:
		return comp.Attrs[cpeVersion].Kind == CPENA
	}
	if ver == "" {
		return false
	}
	if va.wild() {
		return globCPE(va, ver)
	}
	return order.compare(va.Value, ver) == 0
}

// matchPURL says whether a purl from an advisory or VEX statement names
// the component's purl: type, namespace and name the same (names
// compared as the purl spec says for the type: case-insensitively for
// those that are), the version the same when the statement gives one,
// and each qualifier the statement gives the same in the component's.
func matchPURL(stmt, comp string) bool {
	a, err := packageurl.FromString(stmt)
	if err != nil {
		return false
	}
	b, err := packageurl.FromString(comp)
	if err != nil {
		return false
	}
	fold := func(s string) string {
		switch a.Type {
		case "npm", "golang", "maven", "nuget", "cargo", "gem", "swift", "docker", "oci":
			return s
		}
		return strings.ToLower(s)
	}
	if !strings.EqualFold(a.Type, b.Type) || fold(a.Namespace) != fold(b.Namespace) {
		return false
	}
	an, bn := fold(a.Name), fold(b.Name)
	if a.Type == "pypi" {
		an, bn = normalisePyPI(an), normalisePyPI(bn)
	}
	if an != bn {
		return false
	}
	// Versions are equal in the purl type's own order (Maven 1.0 = 1.0.0,
	// PyPI 1.0 = 1.0.0, a Go module's v written or not).
	if a.Version != "" && orderOfPURL(stmt).compare(a.Version, b.Version) != 0 {
		return false
	}
	bq := b.Qualifiers.Map()
	for k, v := range a.Qualifiers.Map() {
		if bq[k] != v {
			return false
		}
	}
	return true
}

// vexStatements turns the document's known_not_affected, fixed and
// affected product lists into VEX statements (vex.go), one per
// vulnerability, status and product, with the product's flag
// (justification) and impact threat (detail).
func (d *CSAFDoc) vexStatements() []VEXStatement {
	var out []VEXStatement
	statuses := map[string]string{"known_not_affected": "not_affected", "fixed": "fixed", "first_fixed": "fixed",
		"known_affected": "affected", "first_affected": "affected", "last_affected": "affected",
		"under_investigation": "under_investigation"}
	for _, v := range d.Vulns {
		cats := make([]string, 0, len(v.Status))
		for st := range v.Status {
			cats = append(cats, st)
		}
		sort.Strings(cats)
		for _, st := range cats {
			status, ok := statuses[st]
			if !ok {
				continue
			}
			for _, id := range v.Status[st] {
				p := d.Products[id]
				if p == nil || !p.identified() {
					continue
				}
				s := VEXStatement{File: d.File, Format: "CSAF VEX", Where: fmt.Sprintf("%s.product_status.%s %s", v.Where, st, id),
					Vulnerability: v.name(), Aliases: v.aliases(), Status: status, Author: d.Publisher}
				for _, f := range v.flags {
					if slices.Contains(f.products, id) {
						s.Justification = f.text
					}
				}
				for _, t := range v.threats {
					if t.category == "impact" && slices.Contains(t.products, id) {
						s.Detail = t.text
					}
				}
				for _, u := range p.PURLs {
					s.Products = append(s.Products, VEXProduct{PURL: u})
				}
				for _, c := range p.CPEs {
					s.Products = append(s.Products, VEXProduct{CPE: c})
				}
				if len(s.Products) == 0 {
					s.Products = append(s.Products, p.vexProduct())
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// VEXStatements are the statements of the csaf_vex documents among the
// set: given as advisories, they suppress too.
func (c *CSAF) VEXStatements() []VEXStatement {
	var out []VEXStatement
	for _, d := range c.Docs {
		if d.Category == "csaf_vex" {
			out = append(out, d.vexStatements()...)
		}
	}
	return out
}
