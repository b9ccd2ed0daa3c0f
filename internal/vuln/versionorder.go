package vuln

import (
	"strings"

	"github.com/package-url/packageurl-go"
)

// versionOrder is how the versions of a CPE or vendor-advisory match are
// compared (NVD cpeMatch ranges, CSAF products, VEX statements): in an
// ecosystem's own order when the match says which ecosystem it is in —
// the component's purl beside its CPE, a CSAF product's purl
// (product_identification_helper), a vers range's scheme — and otherwise
// in the loose order of compareLoose (cpe.go), whose rules are:
//
//   - a leading v is dropped; runs of digits compare as numbers, runs of
//     letters as text, and anything else only separates (1.2.3 = 1_2_3);
//   - a version that is a prefix of another is older (1.0 < 1.0.1);
//   - a trailing pre-release word (dev, snapshot, alpha, beta, pre,
//     preview, rc, cr) sorts before the version without it, in that
//     order (1.0.0-alpha < 1.0.0-beta < 1.0.0-rc1 < 1.0.0); any other
//     word sorts after (OpenSSL's 1.1.1 < 1.1.1l), and so does a number
//     against a word in the same place (1.0.rc1 < 1.0.1).
//
// The zero value is the loose order.
type versionOrder string

// purlOrders maps purl types (and vers schemes, which use the same
// names) to the osv-scalibr/semantic ecosystem that orders their
// versions.
var purlOrders = map[string]versionOrder{
	"golang": "Go", "pypi": "PyPI", "npm": "npm", "maven": "Maven", "nuget": "NuGet",
	"gem": "RubyGems", "cargo": "crates.io", "composer": "Packagist", "hex": "Hex", "pub": "Pub",
	"cran": "CRAN", "hackage": "Hackage", "swift": "SwiftURL", "conan": "ConanCenter",
	"deb": "Debian", "rpm": "Red Hat", "apk": "Alpine",
	// vers schemes that are not purl types
	"semver": "npm", "debian": "Debian", "alpine": "Alpine", "alpm": "", "generic": "",
}

// orderOfPURL is the order of a purl's versions; loose for a type no
// ecosystem orders, or when purl does not parse.
func orderOfPURL(purl string) versionOrder {
	if purl == "" {
		return ""
	}
	p, err := packageurl.FromString(purl)
	if err != nil {
		return ""
	}
	if p.Type == "deb" && strings.EqualFold(p.Namespace, "ubuntu") {
		return "Ubuntu"
	}
	return purlOrders[strings.ToLower(p.Type)]
}

// orderOfVers is the order a vers range's scheme names ("vers:npm/…");
// for vers:generic, and a scheme no ecosystem orders, it is fallback.
func orderOfVers(r string, fallback versionOrder) versionOrder {
	rest, ok := strings.CutPrefix(r, "vers:")
	if !ok {
		return fallback
	}
	scheme, _, _ := strings.Cut(rest, "/")
	if o := purlOrders[strings.ToLower(scheme)]; o != "" {
		return o
	}
	return fallback
}

// compare orders a and b: -1, 0 or +1. A version the ecosystem cannot
// read (an Alpine version that is not one) is compared loosely with the
// other rather than failing the match.
func (o versionOrder) compare(a, b string) int {
	if o != "" {
		if o == "Go" || o == "npm" || o == "crates.io" {
			// purls and CPEs write a Go module's v (v1.2.3); only the
			// semver ecosystems drop it: in others a v may mean something.
			a, b = strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")
		}
		if c, err := Compare(string(o), a, b); err == nil {
			return c
		}
	}
	return compareLoose(a, b)
}

// String names the order in a finding's explanation.
func (o versionOrder) String() string {
	if o == "" {
		return "loose version order"
	}
	return string(o) + " version order"
}
