package vuln

import (
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds the files matching the patterns, when small, to a
// fuzz corpus.
func seedFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
}

// FuzzParseCPE: no string makes the CPE parser panic; what it accepts
// has eleven attributes, every value one non-empty, and matches itself
// when it names a vendor and product.
func FuzzParseCPE(f *testing.F) {
	for _, s := range []string{"cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*:*", `cpe:2.3:a:xz:xz-utils:5.2.2-1.2\+deb9u1:*:*:*:*:*:*:*`,
		"cpe:2.3:h:espressif:esp32:-:*:*:*:*:*:*:*", "cpe:2.3:a:v:p??:*1:*:*:*:*:*:*:*", "cpe:/a:redhat:openshift:4.6::el8",
		"cpe:/a:hp:insight:7.4::~~online~win2003~x64~", "cpe:/a:a:b:%01%02x%02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCPE(s)
		if err != nil {
			return
		}
		for i, a := range c.Attrs {
			if a.Kind == CPEValue && a.Value == "" {
				t.Fatalf("%q: attribute %d is an empty value", s, i)
			}
		}
		plain := c.Attrs[cpeVendor].Kind == CPEValue && c.Attrs[cpeProduct].Kind == CPEValue
		for _, a := range c.Attrs {
			plain = plain && !a.wild()
		}
		if plain && c.Attrs[cpeVersion].Kind == CPEValue && !matchCPEName(c, c, c.Attrs[cpeVersion].Value, "") {
			t.Fatalf("%q does not match itself", s)
		}
	})
}

// FuzzParseNVD: no input makes the NVD reader panic or return both
// nothing and no error.
func FuzzParseNVD(f *testing.F) {
	f.Add([]byte(`{"vulnerabilities":[{"cve":{"id":"CVE-1","configurations":[{"operator":"AND","nodes":[{"operator":"OR","negate":true,"cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:a:b:*:*:*:*:*:*:*:*","versionEndExcluding":"2"}]}]}]}}]}`))
	seedFiles(f, filepath.Join(dataDir, "nvd", "CVE-2020-13595.json"), filepath.Join(dataDir, "nvd", "CVE-2018-1000500.json"))
	comp := Component{Name: "b", Version: "1", CPEs: []string{"cpe:2.3:a:a:b:1:*:*:*:*:*:*:*"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNVD("fuzz.json", b)
		if (n == nil) == (err == nil) {
			t.Fatalf("nvd %v, error %v", n, err)
		}
		if n != nil {
			n.MatchNVD(&SBOM{CPEOnly: []Component{comp}})
		}
	})
}

// FuzzParseCSAF: no input makes the CSAF reader panic; what it reads
// can be matched and turned into VEX statements.
func FuzzParseCSAF(f *testing.F) {
	f.Add([]byte(`{"document":{"csaf_version":"2.0","category":"csaf_vex","tracking":{"id":"X"}},"product_tree":{"branches":[{"category":"product_name","name":"p","branches":[{"category":"product_version_range","name":"<=1","product":{"product_id":"P"}}]}]},"vulnerabilities":[{"cve":"CVE-1","product_status":{"known_not_affected":["P"]}}]}`))
	seedFiles(f, filepath.Join(dataDir, "csaf", "bsi-2022-0001.json"), filepath.Join(dataDir, "csaf", "csaf_vex", "sec-vex-2022-0001.json"),
		fixture("dropwizard-jackson.csaf-vex.json"))
	s := &SBOM{Subject: Component{Name: "p", Version: "1"}, Components: []Component{{Name: "p", Version: "1", PURL: "pkg:npm/p@1", CPEs: []string{"cpe:2.3:a:v:p:1:*:*:*:*:*:*:*"}}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseCSAF("fuzz.json", b)
		if (d == nil) == (err == nil) {
			t.Fatalf("csaf %v, error %v", d, err)
		}
		if d != nil {
			c := &CSAF{Docs: []*CSAFDoc{d}}
			c.MatchCSAF(s)
			(&VEX{Statements: d.vexStatements()}).Apply(s, []Finding{{ID: "CVE-1", Component: "p", PURL: "pkg:npm/p@1", Version: "1"}})
		}
	})
}

// FuzzParseVEX: no input makes the OpenVEX or CycloneDX VEX readers
// panic, and their statements can be applied.
func FuzzParseVEX(f *testing.F) {
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/p@1","subcomponents":[{"@id":"pkg:npm/q"}]}],"status":"not_affected"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected"},"affects":[{"ref":"urn:cdx:x/1#r","versions":[{"range":"vers:semver/<2","status":"unaffected"}]}]}]}`))
	seedFiles(f, filepath.Join(dataDir, "vex", "openvex", "*.json"), filepath.Join(dataDir, "vex", "cyclonedx", "vex.json"), fixture("*vex.json"))
	s := &SBOM{Serial: "urn:uuid:x", Subject: Component{Name: "p", BOMRef: "r"}, Components: []Component{{Name: "p", Version: "1", PURL: "pkg:npm/p@1", BOMRef: "r"}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		sts, err := ParseVEX("fuzz.json", b)
		if err != nil {
			return
		}
		(&VEX{Statements: sts}).Apply(s, []Finding{{ID: "CVE-1", Component: "p", PURL: "pkg:npm/p@1", Version: "1"}})
	})
}

// FuzzParseReport: no input makes the Trivy, Grype or SARIF readers
// panic or return both nothing and no error; every reported finding has
// an ID and names its tool.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","PkgIdentifier":{"PURL":"pkg:npm/a@1"}}]}]}`))
	f.Add([]byte(`{"matches":[{"vulnerability":{"id":"CVE-1"},"artifact":{"name":"a","cpes":["cpe:2.3:a:a:a:1:*:*:*:*:*:*:*"]}}],"descriptor":{"name":"grype"}}`))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Grype"}},"results":[{"ruleId":"CVE-1-a","message":{"text":"A high vulnerability in npm package: a, version 1 was found at: /x"}}]}]}`))
	seedFiles(f, fixture("trivy-*.json"), fixture("grype-*.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseReport("fuzz.json", b)
		if (s == nil) == (err == nil) {
			t.Fatalf("report %v, error %v", s, err)
		}
		if s == nil {
			return
		}
		for _, r := range s.Reported {
			if r.ID == "" || len(r.Sources) != 1 || r.Sources[0] == "" {
				t.Fatalf("reported finding %+v", r)
			}
		}
	})
}
