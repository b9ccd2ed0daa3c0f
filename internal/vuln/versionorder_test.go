package vuln

import (
	"strings"
	"testing"
)

// TestVersionOrder: where an ecosystem's own order and the loose one
// disagree, a CPE or vendor-advisory match on a component of that
// ecosystem takes the ecosystem's.
func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		purl        string
		a, b        string
		want, loose int
	}{
		{"pkg:maven/org.apache.logging.log4j/log4j-core", "2.15", "2.15.0", 0, -1}, // Maven pads with zeros
		{"pkg:maven/org.example/lib", "1.0-ga", "1.0", 0, 1},                       // "ga" is the release
		{"pkg:pypi/django", "1!1.0", "2.0", 1, -1},                                 // PEP 440 epoch
		{"pkg:pypi/django", "1.0", "1.0.0", 0, -1},
		{"pkg:pypi/django", "1.0.post1", "1.0", 1, 1},
		{"pkg:npm/lodash", "1.0.0+build.7", "1.0.0", 0, 1}, // semver ignores build metadata
		{"pkg:npm/lodash", "1.0.0-alpha.10", "1.0.0-alpha.9", 1, 1},
		{"pkg:golang/golang.org/x/net", "v0.17.0", "0.17.0", 0, 0},
		{"pkg:nuget/Newtonsoft.Json", "13.0.1.0", "13.0.1", 0, 1},
		{"pkg:deb/debian/openssl?distro=debian-9", "1:1.0-1", "2.0-1", 1, -1}, // Debian epoch
		{"pkg:deb/debian/openssl", "1.1.0l-1~deb9u5", "1.1.0l-1", -1, 1},      // ~ sorts first
		{"pkg:deb/ubuntu/openssl", "1.1.1f-1ubuntu2.16", "1.1.1f-1ubuntu2.2", 1, 1},
		{"pkg:rpm/redhat/openssl", "1:1.1.1k-7.el8", "3.0.7-1.el9", 1, -1},
		{"pkg:rpm/redhat/openssl", "1.0~rc1", "1.0", -1, -1},
		{"pkg:apk/alpine/musl", "1.2.3-r4", "1.2.3-r10", -1, -1},
		{"pkg:apk/alpine/musl", "1.2.3_rc1", "1.2.3", -1, -1},
		{"pkg:gem/rails", "7.0.0.rc1", "7.0.0", -1, -1},
		{"pkg:cargo/serde", "1.0.0+x", "1.0.0", 0, 1},
		{"pkg:composer/laravel/framework", "v9.0.0", "9.0.0", 0, 0},
		// no ecosystem: the loose order
		{"pkg:github/curl/curl", "7.88.1", "7.88.1a", -1, -1},
		{"", "1.1.1", "1.1.1l", -1, -1},
		{"not a purl", "2.15", "2.15.0", -1, -1},
	} {
		o := orderOfPURL(tc.purl)
		if got := o.compare(tc.a, tc.b); got != tc.want {
			t.Errorf("%s (%s): %q vs %q = %d, want %d", tc.purl, o, tc.a, tc.b, got, tc.want)
		}
		if got := o.compare(tc.b, tc.a); got != -tc.want {
			t.Errorf("%s (%s): %q vs %q = %d, want %d", tc.purl, o, tc.b, tc.a, got, -tc.want)
		}
		if got := compareLoose(tc.a, tc.b); got != tc.loose {
			t.Errorf("loose: %q vs %q = %d, want %d", tc.a, tc.b, got, tc.loose)
		}
	}
	// A version the ecosystem cannot read is compared loosely, not
	// dropped: an Alpine version that is not one.
	if got := versionOrder("Alpine").compare("1.2.3-r4", "not-a-version"); got != compareLoose("1.2.3-r4", "not-a-version") {
		t.Errorf("unreadable Alpine version: %d", got)
	}
}

// TestCPEMatchEcosystemOrder: an NVD criterion "log4j before 2.15.0"
// does not match a Maven component at 2.15 (Maven's 2.15 is 2.15.0)
// named by the same CPE; a component with only the CPE is compared
// loosely, where 2.15 < 2.15.0. npm's build metadata is ignored.
func TestCPEMatchEcosystemOrder(t *testing.T) {
	page := `{"vulnerabilities":[
	 {"cve":{"id":"CVE-2021-44228","descriptions":[{"lang":"en","value":"Log4Shell."}],
	  "configurations":[{"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,
	   "criteria":"cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*","versionStartIncluding":"2.0.1","versionEndExcluding":"2.15.0"}]}]}]}},
	 {"cve":{"id":"CVE-2099-0001","descriptions":[{"lang":"en","value":"Test."}],
	  "configurations":[{"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,
	   "criteria":"cpe:2.3:a:example:widget:*:*:*:*:*:node.js:*:*","versionEndIncluding":"1.0.0"}]}]}]}}]}`
	n, err := ParseNVD("page.json", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	s := &SBOM{File: "bom.json",
		Components: []Component{
			{Name: "log4j-core", Version: "2.15", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.15", Ecosystem: "Maven",
				Package: "org.apache.logging.log4j:log4j-core", CPEs: []string{"cpe:2.3:a:apache:log4j:2.15:*:*:*:*:*:*:*"}},
			{Name: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Ecosystem: "Maven",
				Package: "org.apache.logging.log4j:log4j-core", CPEs: []string{"cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"}},
			{Name: "widget", Version: "1.0.0+build.7", PURL: "pkg:npm/widget@1.0.0%2Bbuild.7", Ecosystem: "npm", Package: "widget",
				CPEs: []string{"cpe:2.3:a:example:widget:1.0.0\\+build.7:*:*:*:*:node.js:*:*"}},
		},
		CPEOnly: []Component{{Name: "log4j", Version: "2.15", CPEs: []string{"cpe:2.3:a:apache:log4j:2.15:*:*:*:*:*:*:*"}}},
	}
	fs, warns := n.MatchNVD(s)
	if len(warns) > 0 {
		t.Fatalf("warnings %v", warns)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.ID+" "+f.PURL+" "+f.Version)
	}
	want := []string{
		"CVE-2021-44228 pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 2.14.1",
		"CVE-2099-0001 pkg:npm/widget@1.0.0%2Bbuild.7 1.0.0+build.7",
		"CVE-2021-44228  2.15",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := "versionEndExcluding 2.15.0 (Maven version order)"; !strings.HasSuffix(fs[0].Matched, w) || strings.Contains(fs[2].Matched, "order") {
		t.Errorf("matched: %q, %q; want the first to end %q", fs[0].Matched, fs[2].Matched, w)
	}
}

// TestVendorAdvisoryEcosystemOrder: a CSAF product's purl helper gives
// the order its CPE's version is compared in, and purl versions compare
// in their type's order; a vers range in its scheme's, vers:generic in
// the component's.
func TestVendorAdvisoryEcosystemOrder(t *testing.T) {
	comp := &Component{Name: "lib", Version: "2.0.0", CPEs: []string{"cpe:2.3:a:example:lib:2.0.0:*:*:*:*:*:*:*"}}
	withPURL := &CSAFProduct{PURLs: []string{"pkg:maven/org.example/lib@2.0"}, CPEs: []string{"cpe:2.3:a:example:lib:2.0:*:*:*:*:*:*:*"}}
	if got := withPURL.matches(comp, nil); got != "cpe cpe:2.3:a:example:lib:2.0:*:*:*:*:*:*:*" {
		t.Errorf("product with a Maven purl helper: %q", got)
	}
	cpeOnly := &CSAFProduct{CPEs: []string{"cpe:2.3:a:example:lib:2.0:*:*:*:*:*:*:*"}}
	if got := cpeOnly.matches(comp, nil); got != "" {
		t.Errorf("product with a CPE only, loosely 2.0 != 2.0.0: %q", got)
	}
	for _, tc := range []struct {
		stmt, comp string
		want       bool
	}{
		{"pkg:pypi/django@1.0", "pkg:pypi/django@1.0.0", true},
		{"pkg:maven/org.example/lib@2.0", "pkg:maven/org.example/lib@2.0.0", true},
		{"pkg:golang/golang.org/x/net@v0.17.0", "pkg:golang/golang.org/x/net@0.17.0", true},
		{"pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.21", false},
		{"pkg:github/curl/curl@7.88", "pkg:github/curl/curl@7.88.0", false},
	} {
		if got := matchPURL(tc.stmt, tc.comp); got != tc.want {
			t.Errorf("matchPURL(%s, %s) = %v", tc.stmt, tc.comp, got)
		}
	}
	for _, tc := range []struct {
		r, v     string
		fallback versionOrder
		want     bool
	}{
		{"vers:pypi/<2.0", "1!1.0", "", false}, // epoch 1 is after any epoch-0 version
		{"vers:generic/<2.0", "1!1.0", "", true},
		{"vers:generic/<2.0", "1!1.0", "PyPI", false},
		{"vers:maven/>=2.15.0", "2.15", "", true},
		{"vers:deb/<1.1.0l-1", "1.1.0l-1~deb9u5", "", true},
		{"vers:semver/<=1.0.0", "1.0.0+build", "", true},
	} {
		got, err := inVers(tc.r, tc.v, tc.fallback)
		if err != nil || got != tc.want {
			t.Errorf("inVers(%s, %s, %q) = %v %v", tc.r, tc.v, tc.fallback, got, err)
		}
	}
}
