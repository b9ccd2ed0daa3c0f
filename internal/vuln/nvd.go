package vuln

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// NVD is a set of CVE records read from NVD CVE API 2.0 responses
// (services.nvd.nist.gov/rest/json/cves/2.0), indexed for CPE matching.
type NVD struct {
	// CVEs are the records read, rejected ones left out, by CVE ID.
	CVEs map[string]*NVDCVE
	// Rejected counts the records left out because NVD rejected them.
	Rejected int
	// byProduct lists the vulnerable criteria by vendor and product;
	// wild holds those whose vendor or product is ANY or a wildcard.
	byProduct map[string][]criterionRef
	wild      []criterionRef
}

// NVDCVE is the part of an NVD CVE record a scan uses.
type NVDCVE struct {
	ID           string `json:"id"`
	VulnStatus   string `json:"vulnStatus"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Metrics struct {
		V40 []nvdMetric `json:"cvssMetricV40"`
		V31 []nvdMetric `json:"cvssMetricV31"`
		V30 []nvdMetric `json:"cvssMetricV30"`
	} `json:"metrics"`
	Configurations []NVDConfig `json:"configurations"`
	// File is where the record was read, with its place in the page
	// ("nvd/page.json: vulnerabilities[3]").
	File string `json:"-"`
}

type nvdMetric struct {
	Source   string `json:"source"`
	Type     string `json:"type"`
	CVSSData struct {
		VectorString string `json:"vectorString"`
	} `json:"cvssData"`
}

// NVDConfig is one of a CVE's configurations: its nodes joined by
// Operator (AND or OR; OR when absent), the whole negated by Negate.
type NVDConfig struct {
	Operator string    `json:"operator"`
	Negate   bool      `json:"negate"`
	Nodes    []NVDNode `json:"nodes"`
}

// NVDNode is a configuration node: its CPE match criteria joined by
// Operator, negated by Negate.
type NVDNode struct {
	Operator string        `json:"operator"`
	Negate   bool          `json:"negate"`
	CPEMatch []NVDCPEMatch `json:"cpeMatch"`
}

// NVDCPEMatch is one CPE match criterion: a CPE name, perhaps with a
// version range, and whether a match is vulnerable (true) or only the
// platform the vulnerable one runs on (false).
type NVDCPEMatch struct {
	Vulnerable            bool   `json:"vulnerable"`
	Criteria              string `json:"criteria"`
	MatchCriteriaID       string `json:"matchCriteriaId"`
	VersionStartIncluding string `json:"versionStartIncluding"`
	VersionStartExcluding string `json:"versionStartExcluding"`
	VersionEndIncluding   string `json:"versionEndIncluding"`
	VersionEndExcluding   string `json:"versionEndExcluding"`
	cpe                   CPE
}

type criterionRef struct {
	cve        *NVDCVE
	cfg, node  int
	match      int
	productKey string
}

// LoadNVD reads NVD CVE API 2.0 responses: each path is a JSON file
// holding one page ({"vulnerabilities":[{"cve":{…}}, …]}) or a directory
// of such files (*.json, any depth). An error names the file and the
// field (vulnerabilities[3].cve.configurations[0].nodes[0].cpeMatch[1].criteria).
// When a CVE appears twice the first read is kept.
func LoadNVD(paths ...string) (*NVD, error) {
	n := &NVD{CVEs: map[string]*NVDCVE{}, byProduct: map[string][]criterionRef{}}
	for _, p := range paths {
		err := eachJSONFile(p, func(file string, b []byte) error { return n.add(file, b) })
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// eachJSONFile calls fn with path if it is a file, or with every *.json
// file under it, in the walk's order.
func eachJSONFile(path string, fn func(file string, b []byte) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	read := func(file string) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		return fn(file, b)
	}
	if !st.IsDir() {
		return read(path)
	}
	return filepath.WalkDir(path, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(file), ".json") {
			return nil
		}
		return read(file)
	})
}

// ParseNVD parses one NVD CVE API 2.0 page; file names it in errors.
func ParseNVD(file string, b []byte) (n *NVD, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("%s: cannot parse: %v", file, r)
		}
	}()
	n = &NVD{CVEs: map[string]*NVDCVE{}, byProduct: map[string][]criterionRef{}}
	if err := n.add(file, b); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NVD) add(file string, b []byte) error {
	var page struct {
		Vulnerabilities *[]struct {
			CVE *NVDCVE `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return fmt.Errorf("%s: NVD CVE API 2.0 page: %w", file, positioned(b, err))
	}
	if page.Vulnerabilities == nil {
		return fmt.Errorf("%s: not an NVD CVE API 2.0 page: no vulnerabilities list", file)
	}
	for i, v := range *page.Vulnerabilities {
		at := fmt.Sprintf("vulnerabilities[%d].cve", i)
		c := v.CVE
		switch {
		case c == nil:
			return fmt.Errorf("%s: %s: missing", file, at)
		case c.ID == "":
			return fmt.Errorf("%s: %s.id: missing", file, at)
		case strings.EqualFold(c.VulnStatus, "Rejected"):
			n.Rejected++
			continue
		}
		if _, ok := n.CVEs[c.ID]; ok {
			continue
		}
		c.File = fmt.Sprintf("%s: vulnerabilities[%d]", file, i)
		var refs []criterionRef
		for ci := range c.Configurations {
			cfg := &c.Configurations[ci]
			if err := checkOperator(cfg.Operator); err != nil {
				return fmt.Errorf("%s: %s.configurations[%d].operator: %w", file, at, ci, err)
			}
			for ni := range cfg.Nodes {
				node := &cfg.Nodes[ni]
				if err := checkOperator(node.Operator); err != nil {
					return fmt.Errorf("%s: %s.configurations[%d].nodes[%d].operator: %w", file, at, ci, ni, err)
				}
				for mi := range node.CPEMatch {
					m := &node.CPEMatch[mi]
					cp, err := ParseCPE(m.Criteria)
					if err != nil {
						return fmt.Errorf("%s: %s.configurations[%d].nodes[%d].cpeMatch[%d].criteria: %w", file, at, ci, ni, mi, err)
					}
					m.cpe = cp
					if m.Vulnerable {
						refs = append(refs, criterionRef{cve: c, cfg: ci, node: ni, match: mi, productKey: productKey(cp)})
					}
				}
			}
		}
		n.CVEs[c.ID] = c
		for _, r := range refs {
			if r.productKey == "" {
				n.wild = append(n.wild, r)
			} else {
				n.byProduct[r.productKey] = append(n.byProduct[r.productKey], r)
			}
		}
	}
	return nil
}

func checkOperator(op string) error {
	switch strings.ToUpper(op) {
	case "", "AND", "OR":
		return nil
	}
	return fmt.Errorf("%q is not AND or OR", op)
}

// productKey is "vendor\x00product" for a CPE naming both plainly, and
// "" when either is ANY or a wildcard.
func productKey(c CPE) string {
	v, p := c.Attrs[cpeVendor], c.Attrs[cpeProduct]
	if v.Kind != CPEValue || p.Kind != CPEValue || v.wild() || p.wild() {
		return ""
	}
	return v.Value + "\x00" + p.Value
}

// Len is how many CVE records are loaded.
func (n *NVD) Len() int { return len(n.CVEs) }

// versionOf is the version a component's CPE gives, or the component's
// own when the CPE leaves it ANY; "" when neither is known.
func versionOf(cp CPE, c *Component) string {
	if a := cp.Attrs[cpeVersion]; a.Kind == CPEValue && !a.wild() {
		return a.Value
	}
	if cp.Attrs[cpeVersion].Kind == CPEAny {
		return strings.ToLower(c.Version)
	}
	return ""
}

// matchCriterion says whether a CPE match criterion matches a component
// CPE (of version ver, compared in order), and in words why.
func matchCriterion(m *NVDCPEMatch, cp CPE, ver string, order versionOrder) (string, bool) {
	if !m.cpe.matchesExceptVersion(cp) {
		return "", false
	}
	va := m.cpe.Attrs[cpeVersion]
	ranged := m.VersionStartIncluding != "" || m.VersionStartExcluding != "" || m.VersionEndIncluding != "" || m.VersionEndExcluding != ""
	switch {
	case va.Kind == CPENA:
		if cp.Attrs[cpeVersion].Kind != CPENA {
			return "", false
		}
	case va.Kind == CPEValue:
		if ver == "" || (va.wild() && !globCPE(va, ver)) || (!va.wild() && order.compare(va.Value, ver) != 0) {
			return "", false
		}
	case ranged:
		if ver == "" {
			return "", false // an unknown version is not put inside a range
		}
		for _, b := range []struct {
			bound string
			ok    func(int) bool
		}{
			{m.VersionStartIncluding, func(c int) bool { return c >= 0 }},
			{m.VersionStartExcluding, func(c int) bool { return c > 0 }},
			{m.VersionEndIncluding, func(c int) bool { return c <= 0 }},
			{m.VersionEndExcluding, func(c int) bool { return c < 0 }},
		} {
			if b.bound != "" && !b.ok(order.compare(ver, b.bound)) {
				return "", false
			}
		}
	}
	why := describeCriterion(m)
	if order != "" && (ranged || va.Kind == CPEValue) {
		why += " (" + order.String() + ")" // which order judged the version
	}
	return why, true
}

// describeCriterion is "cpe:2.3:a:busybox:busybox:*:… versionEndExcluding 1.32.0".
func describeCriterion(m *NVDCPEMatch) string {
	var b strings.Builder
	b.WriteString(m.Criteria)
	for _, r := range []struct{ name, v string }{
		{"versionStartIncluding", m.VersionStartIncluding}, {"versionStartExcluding", m.VersionStartExcluding},
		{"versionEndIncluding", m.VersionEndIncluding}, {"versionEndExcluding", m.VersionEndExcluding},
	} {
		if r.v != "" {
			fmt.Fprintf(&b, " %s %s", r.name, r.v)
		}
	}
	return b.String()
}

// sbomCPE is one CPE of an SBOM, parsed, with its component.
type sbomCPE struct {
	cpe   CPE
	comp  *Component
	ver   string
	order versionOrder // the component's purl's ecosystem's, else loose
}

// cpesOf parses the CPEs of every component of s (those with a purl and
// those without); a CPE that does not parse is a warning.
func cpesOf(s *SBOM) ([]sbomCPE, []string) {
	var out []sbomCPE
	var warns []string
	each := func(cs []Component) {
		for i := range cs {
			c := &cs[i]
			for _, raw := range c.CPEs {
				cp, err := parseSBOMCPE(raw)
				if err != nil {
					warns = append(warns, fmt.Sprintf("component %q: %v", c.Name, err))
					continue
				}
				out = append(out, sbomCPE{cp, c, versionOf(cp, c), orderOfPURL(c.PURL)})
			}
		}
	}
	each(s.Components)
	each(s.CPEOnly)
	return out, warns
}

// MatchNVD matches the CPEs of every component of s — with a purl or
// without — against the CVEs' configurations. A configuration is
// evaluated as NVD defines it: each node's criteria joined by the
// node's operator (negated when it says so), the nodes joined by the
// configuration's operator. A vulnerable criterion must match the
// component judged; a platform criterion (vulnerable false: "running on
// Windows") may match any CPE of the same SBOM. A node that names only
// platforms, none of them in the SBOM, is taken as met (an application's
// SBOM seldom lists its operating system) and the finding says so. One
// finding per CVE per component, saying which criterion matched.
func (n *NVD) MatchNVD(s *SBOM) ([]Finding, []string) {
	all, warns := cpesOf(s)
	var out []Finding
	type key struct {
		comp *Component
		cve  string
	}
	done := map[key]bool{}
	for _, sc := range all {
		cands := append(append([]criterionRef(nil), n.byProduct[productKey(sc.cpe)]...), n.wild...)
		for _, r := range cands {
			k := key{sc.comp, r.cve.ID}
			if done[k] {
				continue
			}
			m := &r.cve.Configurations[r.cfg].Nodes[r.node].CPEMatch[r.match]
			why, ok := matchCriterion(m, sc.cpe, sc.ver, sc.order)
			if !ok {
				continue
			}
			cfgOK, assumed := evalConfig(&r.cve.Configurations[r.cfg], sc, all)
			if !cfgOK {
				continue
			}
			done[k] = true
			f := nvdFinding(s, sc, r.cve, m)
			f.Matched = "NVD CPE " + why
			if assumed != "" {
				f.Matched += "; running on " + assumed + " (platform not in the SBOM: assumed)"
			} else if on := platformMet(&r.cve.Configurations[r.cfg], all); on != "" {
				f.Matched += "; running on " + on
			}
			out = append(out, f)
		}
	}
	return out, warns
}

// evalConfig evaluates a configuration for the component of sc.
func evalConfig(cfg *NVDConfig, sc sbomCPE, all []sbomCPE) (bool, string) {
	and := strings.EqualFold(cfg.Operator, "AND")
	var assumed []string
	res := and
	for i := range cfg.Nodes {
		node := &cfg.Nodes[i]
		v := evalNode(node, sc, all)
		if !v && and && !node.Negate && platformOnly(node) {
			v = true
			assumed = append(assumed, node.CPEMatch[0].Criteria)
		}
		if and {
			res = res && v
		} else {
			res = res || v
		}
	}
	if cfg.Negate {
		res = !res
	}
	return res, strings.Join(assumed, " or ")
}

func evalNode(node *NVDNode, sc sbomCPE, all []sbomCPE) bool {
	and := strings.EqualFold(node.Operator, "AND")
	res := and
	for i := range node.CPEMatch {
		m := &node.CPEMatch[i]
		hit := false
		if m.Vulnerable {
			_, hit = matchCriterion(m, sc.cpe, sc.ver, sc.order)
		} else {
			for _, o := range all {
				if _, ok := matchCriterion(m, o.cpe, o.ver, o.order); ok {
					hit = true
					break
				}
			}
		}
		if and {
			res = res && hit
		} else {
			res = res || hit
		}
	}
	if node.Negate {
		return !res
	}
	return res
}

func platformOnly(node *NVDNode) bool {
	for _, m := range node.CPEMatch {
		if m.Vulnerable {
			return false
		}
	}
	return len(node.CPEMatch) > 0
}

// platformMet names the SBOM CPE that met a platform criterion, if any.
func platformMet(cfg *NVDConfig, all []sbomCPE) string {
	for _, node := range cfg.Nodes {
		for i := range node.CPEMatch {
			m := &node.CPEMatch[i]
			if m.Vulnerable {
				continue
			}
			for _, o := range all {
				if _, ok := matchCriterion(m, o.cpe, o.ver, o.order); ok {
					return o.cpe.Raw
				}
			}
		}
	}
	return ""
}

func nvdFinding(s *SBOM, sc sbomCPE, c *NVDCVE, m *NVDCPEMatch) Finding {
	comp := sc.comp
	f := Finding{SBOM: s.File, Component: comp.Name, PURL: comp.PURL, Version: comp.Version, Ecosystem: comp.Ecosystem,
		Package: comp.Package, ID: c.ID, Summary: c.summary(), Fixed: m.VersionEndExcluding, File: c.File,
		Sources: []string{"NVD"}, CPE: sc.cpe.Raw}
	if f.Version == "" {
		f.Version = sc.ver
	}
	if f.Package == "" {
		f.Package = sc.cpe.Attrs[cpeVendor].Value + ":" + sc.cpe.Attrs[cpeProduct].Value
	}
	if f.Ecosystem == "" {
		f.Ecosystem = "CPE"
	}
	f.CVSS, f.Severity = scoreVectors(c.vectors())
	return f
}

// vectors are the record's CVSS v4.0, v3.1 and v3.0 vectors, NVD's own
// (Primary) first, each once.
func (c *NVDCVE) vectors() []string {
	var out []string
	seen := map[string]bool{}
	for _, ms := range [][]nvdMetric{c.Metrics.V40, c.Metrics.V31, c.Metrics.V30} {
		sorted := append([]nvdMetric(nil), ms...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Type == "Primary" && sorted[j].Type != "Primary" })
		for _, m := range sorted {
			if v := m.CVSSData.VectorString; v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// scoreVectors scores CVSS vectors, leaving out those that do not parse,
// and gives the rating of the highest score.
func scoreVectors(vs []string) ([]CVSS, string) {
	var out []CVSS
	best := -1.0
	sev := ""
	for _, v := range vs {
		c, err := ScoreCVSS(v)
		if err != nil {
			continue
		}
		out = append(out, c)
		if c.Score > best {
			best, sev = c.Score, c.Severity
		}
	}
	return out, sev
}

// summary is the first sentence of the English description, cut to
// 200 characters.
func (c *NVDCVE) summary() string {
	for _, d := range c.Descriptions {
		if d.Lang != "en" {
			continue
		}
		s := strings.TrimSpace(d.Value)
		if i := strings.Index(s, ". "); i > 0 {
			s = s[:i+1]
		}
		if r := []rune(s); len(r) > 200 {
			s = string(r[:199]) + "…"
		}
		return s
	}
	return ""
}
