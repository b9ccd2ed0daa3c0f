package vuln

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func fixture(name string) string { return filepath.Join("testdata", "formats", name) }

// TestParseCPE reads CPE 2.3 formatted strings (quoting, ANY, NA,
// wildcards) and CPE 2.2 URIs, and refuses broken names naming the
// attribute.
func TestParseCPE(t *testing.T) {
	for _, tc := range []struct {
		in                       string
		vendor, product, version string
		update, targetSW         string
	}{
		{"cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*:*", "busybox", "busybox", "1.35.0", "*", "*"},
		{`cpe:2.3:a:xz:xz-utils:5.2.2-1.2\+deb9u1:*:*:*:*:*:*:*`, "xz", "xz-utils", "5.2.2-1.2+deb9u1", "*", "*"},
		{`cpe:2.3:a:golang:x\/net:v0.0.0-2021:*:*:*:*:*:*:*`, "golang", "x/net", "v0.0.0-2021", "*", "*"},
		{"cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*", "espressif", "esp32", "-", "*", "*"},
		{"cpe:2.3:a:Microsoft:Edge:*:beta:*:*:*:node.js:*:*", "microsoft", "edge", "*", "beta", "node.js"},
		{`cpe:2.3:a:foo\\bar:big\$money:10.*:*:*:*:*:*:*:*`, `foo\bar`, "big$money", "10.*", "*", "*"},
		{"cpe:2.3:a:vendor:pro??:*:*:*:*:*:*:*:*", "vendor", "pro??", "*", "*", "*"},
		{"cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha", "csaf-tools", "cvrf-csaf-converter", "1.0.0-alpha", "*", "*"},
		{"cpe:/a:redhat:openshift:4.6::el8", "redhat", "openshift", "4.6", "*", "*"},
		{"cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~", "hp", "insight_diagnostics", "7.4.0.1570", "*", "win2003"},
		{"cpe:/a:acme:my%21app:1.0", "acme", "my!app", "1.0", "*", "*"},
	} {
		c, err := ParseCPE(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := []string{c.Vendor(), c.Product(), c.Version(), c.Attrs[cpeUpdate].String(), c.Attrs[cpeTargetSW].String()}
		want := []string{tc.vendor, tc.product, tc.version, tc.update, tc.targetSW}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", tc.in, got, want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*", "10 attributes after cpe:2.3:, want 11"},
		{"cpe:2.3:a:busybox:busybox:1.35.0+x:*:*:*:*:*:*:*", `version: "1.35.0+x": '+' must be quoted`},
		{`cpe:2.3:a:busybox:busybox:1.35\:*:*:*:*:*:*:*`, "10 attributes"},
		{`cpe:2.3:a:busybox:busy*box:1:*:*:*:*:*:*:*`, "product: \"busy*box\": an unquoted * may only start or end a value"},
		{`cpe:2.3:a:busybox::1:*:*:*:*:*:*:*`, "product: empty"},
		{`cpe:2.3:x:busybox:busybox:1:*:*:*:*:*:*:*`, `part: "x" is not a, o, h or *`},
		{`cpe:2.3:a:b:c:1:*:*:*:*:*:*:x\`, "other: \"x\\\\\" ends with a lone backslash"},
		{"cpe:2.3:a:b:c:1:*:*:*:*:*:*:**", "other: \"**\" is only wildcards"},
		{"pkg:npm/x@1", "does not start with cpe:2.3: or cpe:/"},
		{"cpe:/a:b:c:1:2:3:4:5", "at most 7"},
		{"cpe:/a:b:c:1::~a~b:en", `packed edition "~a~b" has 2 fields`},
		{"cpe:/a:acme:my%20app:1.0", `product: "my app": not printable ASCII`},
	} {
		_, err := ParseCPE(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	// SBOM tools' unquoted punctuation is read all the same.
	c, err := parseSBOMCPE("cpe:2.3:a:Azure:azure-sdk-for-go:v51.1.0+incompatible:*:*:*:*:*:*:*")
	if err != nil || c.Version() != "v51.1.0+incompatible" || c.Raw != "cpe:2.3:a:Azure:azure-sdk-for-go:v51.1.0+incompatible:*:*:*:*:*:*:*" {
		t.Errorf("lenient parse: %+v %v", c, err)
	}
}

// TestMatchCriterion: an NVD criterion against component CPEs — the
// version range bounds, ANY/NA, wildcards, and a component CPE of ANY.
func TestMatchCriterion(t *testing.T) {
	mk := func(crit string, start, startEx, end, endEx string) *NVDCPEMatch {
		c, err := ParseCPE(crit)
		if err != nil {
			t.Fatal(err)
		}
		return &NVDCPEMatch{Vulnerable: true, Criteria: crit, VersionStartIncluding: start, VersionStartExcluding: startEx,
			VersionEndIncluding: end, VersionEndExcluding: endEx, cpe: c}
	}
	any := "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*"
	for _, tc := range []struct {
		m    *NVDCPEMatch
		comp string
		want bool
	}{
		{mk(any, "", "", "", "1.32.0"), "cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*", true},
		{mk(any, "", "", "", "1.32.0"), "cpe:2.3:a:busybox:busybox:1.32.0:*:*:*:*:*:*:*", false},
		{mk(any, "", "", "1.32.0", ""), "cpe:2.3:a:busybox:busybox:1.32.0:*:*:*:*:*:*:*", true},
		{mk(any, "1.30", "", "", ""), "cpe:2.3:a:busybox:busybox:1.29.9:*:*:*:*:*:*:*", false},
		{mk(any, "", "1.30", "", ""), "cpe:2.3:a:busybox:busybox:1.30:*:*:*:*:*:*:*", false},
		{mk(any, "", "1.30", "", ""), "cpe:2.3:a:busybox:busybox:1.30.1:*:*:*:*:*:*:*", true},
		{mk(any, "", "", "", "1.32.0"), "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*", false}, // no version: not put in a range
		{mk(any, "", "", "", ""), "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*", true},
		{mk(any, "", "", "", "1.32.0"), "cpe:2.3:a:other:busybox:1.0:*:*:*:*:*:*:*", false},
		{mk("cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", "", "", "", ""), "cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", true},
		{mk("cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", "", "", "", ""), "cpe:2.3:a:tukaani:xz:5.6.2:*:*:*:*:*:*:*", false},
		{mk("cpe:2.3:a:tukaani:xz:5.6.*:*:*:*:*:*:*:*", "", "", "", ""), "cpe:2.3:a:tukaani:xz:5.6.2:*:*:*:*:*:*:*", true},
		{mk("cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*", "", "", "", ""), "cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*", true},
		{mk("cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*", "", "", "", ""), "cpe:2.3:h:espressif:esp32:3:*:*:*:*:*:*:*", false},
		{mk("cpe:2.3:a:mozilla:firefox:*:*:*:*:esr:*:*:*", "", "", "", ""), "cpe:2.3:a:mozilla:firefox:115:*:*:*:*:*:*:*", true},
		{mk("cpe:2.3:a:mozilla:firefox:*:*:*:*:esr:*:*:*", "", "", "", ""), "cpe:2.3:a:mozilla:firefox:115:*:*:*:-:*:*:*", false},
		{mk("cpe:2.3:a:mozilla:firefox:*:*:*:*:esr:*:*:*", "", "", "", ""), "cpe:2.3:o:mozilla:firefox:115:*:*:*:esr:*:*:*", false},
	} {
		comp, err := ParseCPE(tc.comp)
		if err != nil {
			t.Fatal(err)
		}
		c := Component{}
		if _, got := matchCriterion(tc.m, comp, versionOf(comp, &c), ""); got != tc.want {
			t.Errorf("%s against %s: %v, want %v", describeCriterion(tc.m), tc.comp, got, tc.want)
		}
	}
}

func TestCompareLoose(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.31.1", "1.32.0", -1},
		{"1.32", "1.32.0", -1},
		{"10.0", "9.9", 1},
		{"v1.2.3", "1.2.3", 0},
		{"1.0.0-rc1", "1.0.0", -1},
		{"1.0.0-alpha", "1.0.0-beta", -1},
		{"1.0.0-dev1", "1.0.0-rc2", -1},
		{"1.1.1", "1.1.1l", -1},
		{"1.1.1k", "1.1.1l", -1},
		{"5.2.2-1.2+deb9u1", "5.6.0", -1},
		{"116.0.5845.187", "116.0.5845.96", 1},
		{"007", "7", 0},
	} {
		if got := compareLoose(tc.a, tc.b); got != tc.want {
			t.Errorf("compareLoose(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareLoose(tc.b, tc.a); got != -tc.want {
			t.Errorf("compareLoose(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

var sharedNVD = sync.OnceValues(func() (*NVD, error) { return LoadNVD(filepath.Join(dataDir, "nvd")) })

// TestNVDShared reads the 36 shared NVD records and matches them by CPE:
// on the hand-made appliance SBOM, each finding checked by hand against
// its record; on the shared alpine SBOM, busybox 1.35.0 (a binary with a
// CPE and no purl) is outside CVE-2018-1000500's range (before 1.32.0).
func TestNVDShared(t *testing.T) {
	needData(t)
	n, err := sharedNVD()
	if err != nil {
		t.Fatal(err)
	}
	if n.Len() != 36 || n.Rejected != 0 {
		t.Fatalf("%d CVEs, %d rejected", n.Len(), n.Rejected)
	}
	c := n.CVEs["CVE-2018-1000500"]
	m := c.Configurations[0].Nodes[0].CPEMatch[0]
	if m.Criteria != "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*" || m.VersionEndExcluding != "1.32.0" || !m.Vulnerable {
		t.Errorf("CVE-2018-1000500 criterion %+v", m)
	}
	if !strings.HasSuffix(c.File, "CVE-2018-1000500.json: vulnerabilities[0]") {
		t.Errorf("file %s", c.File)
	}
	if v := n.CVEs["CVE-2023-4863"].vectors(); len(v) == 0 || !strings.HasPrefix(v[0], "CVSS:3.1/") {
		t.Errorf("CVE-2023-4863 vectors %v", v)
	}

	s, err := ReadInput(fixture("appliance-cpe.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Components) != 1 || len(s.CPEOnly) != 6 || s.NoPURL != 6 || s.Serial != "urn:uuid:6f1b8a52-3c1e-4c5e-9d1a-2b7e0f6c4a10" ||
		s.Subject.Name != "Example Imaging Appliance" || s.Subject.BOMRef != "appliance" {
		t.Fatalf("appliance SBOM: %d components, %d by CPE only, %d without purl, serial %q, subject %+v",
			len(s.Components), len(s.CPEOnly), s.NoPURL, s.Serial, s.Subject)
	}
	fs, warns := n.MatchNVD(s)
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	got := map[string]Finding{}
	for _, f := range fs {
		got[f.ID+" "+f.Component] = f
	}
	want := map[string]struct{ matched, cpe, fixed, severity string }{
		"CVE-2018-1000500 busybox": {"NVD CPE cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:* versionEndExcluding 1.32.0",
			"cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*", "1.32.0", "HIGH"},
		"CVE-2020-13595 esp-idf": {"NVD CPE cpe:2.3:a:espressif:esp-idf:*:*:*:*:*:*:*:* versionStartIncluding 4.0.0 versionEndIncluding 4.2; running on cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*",
			"cpe:2.3:a:espressif:esp-idf:4.1:*:*:*:*:*:*:*", "", "MEDIUM"},
		"CVE-2024-3094 xz": {"NVD CPE cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", "cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*", "", "CRITICAL"},
	}
	if len(got) != len(want) {
		t.Errorf("%d findings, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		f, ok := got[k]
		if !ok {
			t.Errorf("no finding %s", k)
			continue
		}
		if f.Matched != w.matched || f.CPE != w.cpe || f.Fixed != w.fixed || f.Severity != w.severity ||
			!slices.Equal(f.Sources, []string{"NVD"}) {
			t.Errorf("%s: matched %q cpe %q fixed %q severity %q sources %v", k, f.Matched, f.CPE, f.Fixed, f.Severity, f.Sources)
		}
	}
	if f := got["CVE-2024-3094 xz"]; f.PURL != "pkg:generic/tukaani/xz@5.6.1" || f.Package != "tukaani:xz" {
		t.Errorf("xz keeps its purl: %+v", f)
	}

	// Without the esp32 in the SBOM the platform is assumed, and said so.
	s.CPEOnly = slices.DeleteFunc(s.CPEOnly, func(c Component) bool { return c.Name == "esp32" })
	fs, _ = n.MatchNVD(s)
	found := false
	for _, f := range fs {
		if f.ID == "CVE-2020-13595" {
			found = strings.HasSuffix(f.Matched, "; running on cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:* (platform not in the SBOM: assumed)")
		}
	}
	if !found {
		t.Errorf("no assumed-platform finding: %+v", fs)
	}

	alpine, err := ReadInput(sbomPath("container-alpine-3.17.cdx14.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(alpine.CPEOnly) != 1 || alpine.CPEOnly[0].Name != "busybox" || alpine.CPEOnly[0].Version != "1.35.0" {
		t.Fatalf("alpine CPE-only components %+v", alpine.CPEOnly)
	}
	if fs, _ := n.MatchNVD(alpine); len(fs) != 0 {
		t.Errorf("alpine: %+v", fs)
	}
	// flux2's syft CPEs (unquoted + and /) are all read.
	flux, err := ReadInput(sbomPath("go-flux2-v0.26.3.spdx22.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, warns := n.MatchNVD(flux); len(warns) != 0 {
		t.Errorf("flux2 CPE warnings %v", warns)
	}
	// The tag-value form carries the same 280 cpe23Type references.
	count := func(s *SBOM) int {
		n := 0
		for _, c := range s.Components {
			n += len(c.CPEs)
		}
		return n
	}
	fluxTV, err := ReadInput(sbomPath("go-flux2-v0.26.3.spdx22.tag.spdx"))
	if err != nil {
		t.Fatal(err)
	}
	if count(flux) != 280 || count(fluxTV) != 280 {
		t.Errorf("flux2 CPEs: %d in JSON, %d in tag-value, want 280", count(flux), count(fluxTV))
	}
}

// TestNVDConfigurations: AND and OR, negated nodes, a platform the SBOM
// has or lacks, and bad records named by file and field.
func TestNVDConfigurations(t *testing.T) {
	page := `{"vulnerabilities":[{"cve":{"id":"CVE-2099-0001","descriptions":[{"lang":"en","value":"App on OS. More."}],
	"configurations":[{"operator":"AND","nodes":[
	  {"operator":"OR","cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:acme:app:*:*:*:*:*:*:*:*","versionEndExcluding":"2.0"}]},
	  {"operator":"OR","negate":true,"cpeMatch":[{"vulnerable":false,"criteria":"cpe:2.3:o:acme:safe_os:*:*:*:*:*:*:*:*"}]}]}]}},
	{"cve":{"id":"CVE-2099-0002","vulnStatus":"Rejected"}}]}`
	n, err := ParseNVD("page.json", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if n.Len() != 1 || n.Rejected != 1 {
		t.Fatalf("%d CVEs, %d rejected", n.Len(), n.Rejected)
	}
	app := Component{Name: "app", Version: "1.5", CPEs: []string{"cpe:2.3:a:acme:app:1.5:*:*:*:*:*:*:*"}}
	safe := Component{Name: "os", CPEs: []string{"cpe:2.3:o:acme:safe_os:3:*:*:*:*:*:*:*"}}
	if fs, _ := n.MatchNVD(&SBOM{CPEOnly: []Component{app}}); len(fs) != 1 || fs[0].Summary != "App on OS." {
		t.Errorf("app alone: %+v", fs)
	}
	if fs, _ := n.MatchNVD(&SBOM{CPEOnly: []Component{app, safe}}); len(fs) != 0 {
		t.Errorf("app on the negated OS: %+v", fs)
	}
	app.CPEs = []string{"cpe:2.3:a:acme:app:2.0:*:*:*:*:*:*:*"}
	if fs, _ := n.MatchNVD(&SBOM{CPEOnly: []Component{app}}); len(fs) != 0 {
		t.Errorf("app 2.0: %+v", fs)
	}

	for _, tc := range []struct{ in, want string }{
		{`{"vulnerabilities":[{"cve":{"id":"CVE-1","configurations":[{"nodes":[{"operator":"OR","cpeMatch":[{"criteria":"cpe:2.3:a:b"}]}]}]}}]}`,
			"page.json: vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0].criteria: CPE \"cpe:2.3:a:b\": 2 attributes"},
		{`{"vulnerabilities":[{"cve":{"id":"CVE-1","configurations":[{"nodes":[{"operator":"XOR"}]}]}}]}`,
			"page.json: vulnerabilities[0].cve.configurations[0].nodes[0].operator: \"XOR\" is not AND or OR"},
		{`{"vulnerabilities":[{"cve":{"descriptions":[]}}]}`, "page.json: vulnerabilities[0].cve.id: missing"},
		{"{\"vulnerabilities\":\n[{\"cve\": 7}]}", "page.json: NVD CVE API 2.0 page: line 2"},
		{`{"resultsPerPage":0}`, "no vulnerabilities list"},
	} {
		if _, err := ParseNVD("page.json", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestCSAFShared reads the shared CSAF 2.0 advisories and VEX documents:
// BSI-2022-0001's CPE-named products match the appliance SBOM's
// converter 1.0.0-dev1 (known_affected) and not 1.0.0-rc2 (fixed); a
// relationship's product takes its component's identity; a CSAF VEX
// product named only by its branches suppresses by name and range.
func TestCSAFShared(t *testing.T) {
	needData(t)
	c, err := LoadCSAF(filepath.Join(dataDir, "csaf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 19 {
		t.Fatalf("%d documents", len(c.Docs))
	}
	byID := map[string]*CSAFDoc{}
	for _, d := range c.Docs {
		byID[d.ID] = d
	}
	bsi := byID["BSI-2022-0001"]
	if bsi == nil || bsi.Category != "csaf_security_advisory" || len(bsi.Vulns) != 1 || bsi.Vulns[0].CVE != "CVE-2022-27193" ||
		len(bsi.Vulns[0].Status["known_affected"]) != 5 {
		t.Fatalf("BSI-2022-0001 %+v", bsi)
	}
	if p := bsi.Products["CSAFPID-0006"]; p.Version != "1.0.0-rc2" || p.ProductName != "CVRF-CSAF-Converter" ||
		!slices.Equal(p.CPEs, []string{"cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-rc2"}) {
		t.Errorf("CSAFPID-0006 %+v", p)
	}
	rh := byID["RHSA-2021:5186"]
	if rh == nil || len(rh.Products) != 7 {
		t.Fatalf("RHSA-2021:5186 %+v", rh)
	}

	s, err := ReadInput(fixture("appliance-cpe.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs := c.MatchCSAF(s)
	if len(fs) != 1 {
		t.Fatalf("%d findings: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.ID != "CVE-2022-27193" || f.Component != "cvrf-csaf-converter" || f.Version != "1.0.0-dev1" ||
		f.Matched != "CSAF BSI-2022-0001 known_affected CSAFPID-0002 (cpe cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-dev1)" ||
		f.Fixed != "1.0.0-rc2" || len(f.Remediations) != 1 || f.Remediations[0].Category != "vendor_fix" ||
		f.Remediations[0].URL != "https://github.com/csaf-tools/CVRF-CSAF-Converter/releases/tag/1.0.0-rc2" ||
		!slices.Equal(f.Sources, []string{"CSAF BSI-2022-0001"}) || f.Severity != "MEDIUM" {
		t.Errorf("finding %+v", f)
	}

	// SEC-VEX-2022-0001: Secvisogram <=1.14.0 is known_not_affected by
	// CVE-2021-44228, component_not_present.
	vs := c.VEXStatements()
	var sec []VEXStatement
	for _, st := range vs {
		if strings.HasSuffix(st.File, "sec-vex-2022-0001.json") {
			sec = append(sec, st)
		}
	}
	if len(sec) != 3 || sec[0].Vulnerability != "CVE-2021-44228" || sec[0].Status != "not_affected" ||
		sec[0].Justification != "component_not_present" || sec[0].Detail != "Secvisogram is written in JavaScript. No Java is included." ||
		sec[0].Products[0].Name != "Secvisogram" || sec[0].Products[0].Range != "vers:generic/<=1.14.0" {
		t.Fatalf("sec-vex statements %+v", sec)
	}
	sbom := &SBOM{File: "secvisogram.cdx.json", Subject: Component{Name: "Secvisogram", Version: "1.13.2"},
		Components: []Component{{Name: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}}}
	findings := []Finding{{Component: "log4j-core", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Version: "2.14.1", ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}}}
	if n := (&VEX{Statements: sec}).Apply(sbom, findings); n != 1 || findings[0].Suppressed.Statement != "vulnerabilities[0].product_status.known_not_affected CSAFPID-0001" {
		t.Errorf("Secvisogram 1.13.2: %d suppressed, %+v", n, findings[0].Suppressed)
	}
	findings[0].Suppressed = nil
	sbom.Subject.Version = "1.15.0"
	if n := (&VEX{Statements: sec}).Apply(sbom, findings); n != 0 {
		t.Errorf("Secvisogram 1.15.0 is outside <=1.14.0: %+v", findings[0].Suppressed)
	}

	for _, tc := range []struct{ in, want string }{
		{`{"document":{"csaf_version":"2.0","tracking":{}}}`, "doc.json: document.tracking.id: missing"},
		{`{"document":{"csaf_version":"1.2","tracking":{"id":"X"}}}`, `document.csaf_version: "1.2", want 2.0`},
		{`{"document":{"csaf_version":"2.0","tracking":{"id":"X"}},"product_tree":{"branches":[{"branches":[{"product":{"product_id":"P","product_identification_helper":{"cpe":"cpe:9"}}}]}]}}`,
			"doc.json: product_tree.branches[0].branches[0].product.product_identification_helper.cpe"},
		{`{"document":{"csaf_version":"2.0","tracking":{"id":"X"}},"product_tree":{"full_product_names":[{"product_id":"P","product_identification_helper":{"purl":"npm/x"}}]}}`,
			"doc.json: product_tree.full_product_names[0].product_identification_helper.purl[0]"},
		{`{"document":{"csaf_version":"2.0","tracking":{"id":"X"}},"vulnerabilities":[{"title":"t"}]}`, "doc.json: vulnerabilities[0]: neither cve nor ids"},
		{"{\"document\":\n\"x\"}", "doc.json: CSAF: line 2"},
	} {
		if _, err := ParseCSAF("doc.json", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestVEXSuppressesSharedFindings: statements in each VEX format
// suppress findings the shared SBOMs really have (checked first to be
// there), leave the rest, and say which statement did it.
func TestVEXSuppressesSharedFindings(t *testing.T) {
	needData(t)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		t.Fatal(err)
	}
	scan := func(file string, vexFiles ...string) map[string]*Suppression {
		s, err := ReadInput(sbomPath(file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := LoadVEX(vexFiles...)
		if err != nil {
			t.Fatal(err)
		}
		r := Scan(s, db)
		n := r.Extend(Sources{VEX: v})
		out := map[string]*Suppression{}
		for _, f := range r.Findings {
			out[f.ID+" "+f.Package] = f.Suppressed
		}
		c := 0
		for _, s := range out {
			if s != nil {
				c++
			}
		}
		if c != n {
			t.Errorf("Extend says %d suppressed, %d are", n, c)
		}
		return out
	}

	// OpenVEX on flux2's golang.org/x/net.
	got := scan("go-flux2-v0.26.3.spdx22.json", fixture("flux2-xnet.openvex.json"))
	for _, k := range []string{"GO-2023-2102 golang.org/x/net", "GO-2022-1144 golang.org/x/net", "GO-2022-0969 golang.org/x/net"} {
		if _, ok := got[k]; !ok {
			t.Fatalf("flux2 has no finding %s", k)
		}
	}
	want := Suppression{File: fixture("flux2-xnet.openvex.json"), Format: "OpenVEX", Statement: "statements[0]", Vulnerability: "CVE-2023-39325",
		Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path", Detail: "flux2 serves no HTTP/2 from golang.org/x/net/http2",
		Author: "Vigil test fixture (hand-written)"}
	if s := got["GO-2023-2102 golang.org/x/net"]; s == nil || *s != want {
		t.Errorf("GO-2023-2102: %+v", s)
	}
	if s := got["GO-2022-1144 golang.org/x/net"]; s != nil {
		t.Errorf("GO-2022-1144 is affected again by statements[2]: %+v", s)
	}
	if s := got["GO-2022-0969 golang.org/x/net"]; s != nil {
		t.Errorf("GO-2022-0969's statement is about v0.17.0: %+v", s)
	}
	n := 0
	for _, s := range got {
		if s != nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("flux2: %d suppressed, want 1", n)
	}

	// CycloneDX VEX (BOM-Link to dropwizard's serial) and CSAF VEX (a
	// purl without the SBOM's ?type=jar) on dropwizard; the shared
	// CycloneDX example's BOM-Link names another BOM and suppresses nothing.
	got = scan("maven-dropwizard-1.3.15.cdx12.json", fixture("dropwizard-snakeyaml.cdx-vex.json"),
		fixture("dropwizard-jackson.csaf-vex.json"), filepath.Join(dataDir, "vex", "cyclonedx", "vex.json"))
	for _, k := range []string{"GHSA-mjmj-j48q-9wg2 org.yaml:snakeyaml", "GHSA-57j2-w4cx-62h2 com.fasterxml.jackson.core:jackson-databind",
		"GHSA-jjjh-jjxp-wpff com.fasterxml.jackson.core:jackson-databind"} {
		if _, ok := got[k]; !ok {
			t.Fatalf("dropwizard has no finding %s", k)
		}
	}
	if s := got["GHSA-mjmj-j48q-9wg2 org.yaml:snakeyaml"]; s == nil || s.Format != "CycloneDX VEX" || s.Statement != "vulnerabilities[0]" ||
		s.Justification != "code_not_reachable" || s.Vulnerability != "CVE-2022-1471" {
		t.Errorf("snakeyaml: %+v", s)
	}
	if s := got["GHSA-57j2-w4cx-62h2 com.fasterxml.jackson.core:jackson-databind"]; s == nil || s.Format != "CSAF VEX" ||
		s.Justification != "vulnerable_code_not_in_execute_path" || s.Detail != "Only fixed-depth configuration objects are deserialised." ||
		s.Author != "Vigil test fixture (hand-written)" {
		t.Errorf("jackson CVE-2020-36518: %+v", s)
	}
	if s := got["GHSA-jjjh-jjxp-wpff com.fasterxml.jackson.core:jackson-databind"]; s != nil {
		t.Errorf("in_triage suppresses nothing: %+v", s)
	}
	n = 0
	for _, s := range got {
		if s != nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("dropwizard: %d suppressed, want 2", n)
	}
}

// TestVEXShared reads every shared OpenVEX and CycloneDX VEX document.
func TestVEXShared(t *testing.T) {
	needData(t)
	sts, err := LoadVEX(filepath.Join(dataDir, "vex", "openvex", "vex-v0.2.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sts.Statements) != 5 {
		t.Fatalf("%d statements", len(sts.Statements))
	}
	st := sts.Statements[3]
	if st.Vulnerability != "CVE-2023-3446" || st.Status != "not_affected" || st.Justification != "vulnerable_code_not_present" ||
		len(st.Products) != 1 || len(st.Products[0].Subcomponents) != 2 || st.Products[0].Subcomponents[0].PURL != "pkg:apk/alpine/libssl3@3.0.8-r3" {
		t.Errorf("statement 3 %+v", st)
	}
	old, err := LoadVEX(filepath.Join(dataDir, "vex", "openvex", "vex-v0.0.1.json"))
	if err != nil || len(old.Statements) != 1 || old.Statements[0].Vulnerability != "CVE-2023-12345" || len(old.Statements[0].Products) != 2 {
		t.Errorf("v0.0.1: %+v %v", old, err)
	}
	// The subcomponent suppresses in an SBOM without a subject.
	s := &SBOM{Components: []Component{{Name: "libssl3", Version: "3.0.8-r3", PURL: "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64&distro=alpine-3.17.2"}}}
	fs := []Finding{{Component: "libssl3", PURL: s.Components[0].PURL, Version: "3.0.8-r3", ID: "ALPINE-CVE-2023-3446", Aliases: []string{"CVE-2023-3446"}}}
	if sts.Apply(s, fs) != 1 {
		t.Errorf("libssl3 not suppressed")
	}
	// …but not in the SBOM of another image.
	s.Subject = Component{Name: "other", PURL: "pkg:oci/other@sha256%3Aabc"}
	fs[0].Suppressed = nil
	if sts.Apply(s, fs) != 0 {
		t.Errorf("libssl3 of another image suppressed")
	}

	files, _ := filepath.Glob(filepath.Join(dataDir, "vex", "cyclonedx", "*", "*", "vex*.json"))
	files = append(files, filepath.Join(dataDir, "vex", "cyclonedx", "vex.json"))
	read := 0
	for _, f := range files {
		v, err := LoadVEX(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		read += len(v.Statements)
	}
	if len(files) != 25 || read != 111 {
		t.Errorf("%d CycloneDX VEX files, %d statements", len(files), read)
	}
	// CISA case 1: product-ABC 4.2 is not affected by Log4Shell; the
	// statement names the SBOM's subject, so it covers the component.
	v, err := LoadVEX(filepath.Join(dataDir, "vex", "cyclonedx", "CISA-Use-Cases", "Case-1", "vex-not_affected.json"))
	if err != nil {
		t.Fatal(err)
	}
	s = &SBOM{Subject: Component{Name: "ABC", Version: "4.2", BOMRef: "product-ABC"},
		Components: []Component{{Name: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}}}
	fs = []Finding{{Component: "log4j-core", PURL: s.Components[0].PURL, Version: "2.14.1", ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}}}
	if v.Apply(s, fs) != 1 || fs[0].Suppressed.Justification != "code_not_present" {
		t.Errorf("CISA case 1: %+v", fs[0].Suppressed)
	}

	for _, tc := range []struct{ in, want string }{
		{`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a@1"}],"status":"maybe"}]}`,
			`v.json: OpenVEX: statements[0].status: "maybe" is not`},
		{`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{},"products":[{"@id":"pkg:npm/a@1"}],"status":"fixed"}]}`,
			"v.json: OpenVEX: statements[0].vulnerability: missing"},
		{`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","products":[{}],"status":"fixed"}]}`,
			"v.json: OpenVEX: statements[0].products[0]: no @id"},
		{`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"fine"},"affects":[{"ref":"x"}]}]}`,
			`v.json: CycloneDX VEX: vulnerabilities[0].analysis.state: "fine"`},
		{`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"resolved"},"affects":[{"ref":"urn:cdx:abc/1"}]}]}`,
			`vulnerabilities[0].affects[0].ref: BOM-Link "urn:cdx:abc/1" has no #bom-ref`},
		{"{\"@context\":\"https://openvex.dev/ns\",\n\"statements\":7}", "v.json: OpenVEX: line 2"},
		{`{"hello":1}`, "v.json: not an OpenVEX, CycloneDX VEX or CSAF document"},
	} {
		if _, err := ParseVEX("v.json", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestInVers(t *testing.T) {
	for _, tc := range []struct {
		r, v string
		want bool
	}{
		{"vers:generic/>=1.0|<=2.3", "2.0", true},
		{"vers:generic/>=1.0|<=2.3", "2.4", false},
		{"vers:semver/<1.5.0|>=7.0.0", "8.0.0", true},
		{"vers:semver/<1.5.0|>=7.0.0", "3.0.0", false},
		{"vers:semver/<7.0.0|>=1.5.0", "3.0.0", true},
		{"vers:npm/1.2.3|2.0.0", "2.0.0", true},
		{"vers:npm/!=1.2.3", "1.2.3", false},
		{"vers:generic/*", "9", true},
	} {
		got, err := inVers(tc.r, tc.v, "")
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %v %v", tc.r, tc.v, got, err)
		}
	}
	if _, err := inVers("semver/<1", "1", ""); err == nil {
		t.Error("no vers: prefix accepted")
	}
}

// TestReports reads the hand-made Trivy, Grype and SARIF reports: their
// packages become components with their purls, their findings are kept
// and merged into the OSV findings naming the same vulnerability.
func TestReports(t *testing.T) {
	needData(t)
	db, err := LoadDB(filepath.Join(dataDir, "osv"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := sharedNVD()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file             string
		format           Format
		tool             string
		comps, cpeOnly   int
		reported         int
		find             string // ID component
		sources          []string
		fixed, severity  string
		component, purl  string
		ecosystem, pkg   string
		unmergedReported string // a reported finding kept on its own
	}{
		{"trivy-image.json", TrivyJSON, "Trivy 0.58.1", 3, 0, 2, "DLA-3008-1 libssl1.1", []string{"OSV", "Trivy 0.58.1"},
			"1.1.0l-1~deb9u6", "CRITICAL", "libssl1.1", "pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&distro=debian-9.13", "Debian:9", "openssl", ""},
		{"grype-image.json", GrypeJSON, "Grype 0.86.1", 1, 1, 2, "GO-2023-2102 golang.org/x/net", []string{"OSV", "Grype 0.86.1"},
			"0.17.0", "HIGH", "golang.org/x/net", "pkg:golang/golang.org/x/net@v0.0.0-20211216030914-fe4d6282115f", "Go", "golang.org/x/net",
			"CVE-2022-48174 busybox"},
		{"trivy-image.sarif.json", SARIF, "Trivy 0.58.1", 0, 0, 1, "CVE-2022-1292 libssl1.1", []string{"Trivy 0.58.1"},
			"1.1.0l-1~deb9u6", "CRITICAL", "libssl1.1", "", "", "libssl1.1", "CVE-2022-1292 libssl1.1"},
		{"grype-image.sarif.json", SARIF, "Grype 0.86.1", 0, 0, 1, "CVE-2022-48174 busybox", []string{"Grype 0.86.1"},
			"", "CRITICAL", "busybox", "", "", "busybox", "CVE-2022-48174 busybox"},
	} {
		s, err := ReadInput(fixture(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if s.Format != tc.format || s.Tool != tc.tool || len(s.Components) != tc.comps || len(s.CPEOnly) != tc.cpeOnly || len(s.Reported) != tc.reported {
			t.Errorf("%s: %s from %q, %d components, %d CPE only, %d reported", tc.file, s.Format, s.Tool, len(s.Components), len(s.CPEOnly), len(s.Reported))
		}
		r := Scan(s, db)
		r.Extend(Sources{NVD: n})
		byKey := map[string]Finding{}
		for _, f := range r.Findings {
			if _, dup := byKey[f.ID+" "+f.Component]; dup {
				t.Errorf("%s: two findings %s %s", tc.file, f.ID, f.Component)
			}
			byKey[f.ID+" "+f.Component] = f
		}
		f, ok := byKey[tc.find]
		if !ok {
			t.Errorf("%s: no finding %s", tc.file, tc.find)
			continue
		}
		if !slices.Equal(f.Sources, tc.sources) || f.Fixed != tc.fixed || f.Severity != tc.severity || f.Component != tc.component ||
			f.PURL != tc.purl || f.Ecosystem != tc.ecosystem || f.Package != tc.pkg {
			t.Errorf("%s: %s: %+v", tc.file, tc.find, f)
		}
		if tc.unmergedReported != "" {
			if g, ok := byKey[tc.unmergedReported]; !ok || g.Matched != "reported by "+tc.tool || !strings.HasPrefix(g.File, fixture(tc.file)+": ") {
				t.Errorf("%s: reported finding %+v", tc.file, g)
			}
		}
	}

	// Trivy's DLA-3008-1 vendor ID merges its CVE into the OSV finding;
	// the x/net CVE merges into GO-2023-2102.
	s, _ := ReadInput(fixture("trivy-image.json"))
	r := Scan(s, db)
	r.Extend(Sources{})
	for _, f := range r.Findings {
		if f.ID == "DLA-3008-1" && !slices.Contains(f.Aliases, "CVE-2022-1292") {
			t.Errorf("DLA-3008-1 aliases %v", f.Aliases)
		}
		if f.ID == "GO-2023-2102" && (!slices.Equal(f.AlsoMatched, []string{"reported by Trivy 0.58.1"}) || f.Matched != "SEMVER introduced 0, fixed 0.17.0") {
			t.Errorf("GO-2023-2102 %+v", f)
		}
	}

	for _, tc := range []struct{ in, want string }{
		{`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"PkgName":"a"}]}]}`, "r.json: Trivy JSON: Results[0].Vulnerabilities[0].VulnerabilityID: missing"},
		{`{"SchemaVersion":2,"Results":[{"Packages":[{"Name":"a","Identifier":{"PURL":"npm/a"}}]}]}`, "r.json: Trivy JSON: Results[0].Packages[0].Identifier.PURL"},
		{`{"matches":[{"vulnerability":{"id":"CVE-1"},"artifact":{}}],"descriptor":{"name":"grype"}}`, "r.json: Grype JSON: matches[0].artifact.name: missing"},
		{`{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[]}]}`, "r.json: SARIF: runs[0].tool.driver.name: missing"},
		{`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"R","message":{"text":"hello"}}]}]}`,
			"r.json: SARIF: runs[0].results[0]: names no package"},
		{"{\"SchemaVersion\":2,\n\"Results\":[{\"Packages\":7}]}", "r.json: Trivy JSON: line 2"},
	} {
		if _, err := ParseInput("r.json", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	// An SBOM is still an SBOM.
	b, err := os.ReadFile(sbomPath("maven-dropwizard-1.3.15.cdx12.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ParseInput("bom.json", b); err != nil || s.Format != CycloneDXJSON || s.Tool != "" {
		t.Errorf("dropwizard read as %v, %v", s, err)
	}
}
