package vuln

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// CPE is a parsed Common Platform Enumeration name (NISTIR 7695): the
// eleven attributes of its well-formed name, each ANY ("*"), NA ("-") or
// a value. Values are kept unquoted and in lower case (CPE names compare
// case-insensitively), with their unquoted wildcards.
type CPE struct {
	// Attrs are part, vendor, product, version, update, edition,
	// language, sw_edition, target_sw, target_hw and other, in order.
	Attrs [11]CPEAttr
	// Raw is the name as written.
	Raw string
}

// The indexes of CPE.Attrs.
const (
	cpePart = iota
	cpeVendor
	cpeProduct
	cpeVersion
	cpeUpdate
	cpeEdition
	cpeLanguage
	cpeSWEdition
	cpeTargetSW
	cpeTargetHW
	cpeOther
)

var cpeAttrNames = [11]string{"part", "vendor", "product", "version", "update", "edition", "language",
	"sw_edition", "target_sw", "target_hw", "other"}

// CPEAttrKind says whether an attribute is ANY, NA or a value.
type CPEAttrKind uint8

// The kinds of a CPE attribute.
const (
	CPEValue CPEAttrKind = iota
	CPEAny               // "*": any value
	CPENA                // "-": not applicable
)

// CPEAttr is one attribute. A value may start or end with unquoted
// wildcards: "*" (any run of characters) and "?" (one character each).
type CPEAttr struct {
	Kind CPEAttrKind
	// Value is unquoted and lower case; PreStar/PostStar and
	// PreQ/PostQ are its leading and trailing wildcards.
	Value             string
	PreStar, PostStar bool
	PreQ, PostQ       int
}

func (a CPEAttr) String() string {
	switch a.Kind {
	case CPEAny:
		return "*"
	case CPENA:
		return "-"
	}
	var b strings.Builder
	if a.PreStar {
		b.WriteByte('*')
	}
	b.WriteString(strings.Repeat("?", a.PreQ))
	b.WriteString(a.Value)
	b.WriteString(strings.Repeat("?", a.PostQ))
	if a.PostStar {
		b.WriteByte('*')
	}
	return b.String()
}

func (a CPEAttr) wild() bool { return a.PreStar || a.PostStar || a.PreQ > 0 || a.PostQ > 0 }

// Part, Vendor, Product and Version are the attributes most callers want.
func (c CPE) Part() string    { return c.Attrs[cpePart].String() }
func (c CPE) Vendor() string  { return c.Attrs[cpeVendor].String() }
func (c CPE) Product() string { return c.Attrs[cpeProduct].String() }
func (c CPE) Version() string { return c.Attrs[cpeVersion].String() }

func (c CPE) String() string { return c.Raw }

// ParseCPE reads a CPE 2.3 formatted string
// ("cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*:*") or a CPE 2.2 URI
// ("cpe:/a:redhat:openshift:4.6::el8", which CSAF documents still use).
// The formatted string is read as NISTIR 7695 §6.2 says: a backslash
// quotes the character after it, "*" and "-" alone are ANY and NA, and
// unquoted "*" and "?" may only lead or trail a value. Errors say which
// attribute is wrong.
func ParseCPE(s string) (CPE, error) {
	switch {
	case strings.HasPrefix(strings.ToLower(s), "cpe:2.3:"):
		return parseCPE23(s)
	case strings.HasPrefix(strings.ToLower(s), "cpe:/"):
		return parseCPE22(s)
	}
	return CPE{}, fmt.Errorf("CPE %q: does not start with cpe:2.3: or cpe:/", s)
}

func parseCPE23(s string) (CPE, error) {
	c := CPE{Raw: s}
	rest := s[len("cpe:2.3:"):]
	// Split at unquoted colons.
	var parts []string
	start := 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case ':':
			parts = append(parts, rest[start:i])
			start = i + 1
		}
	}
	parts = append(parts, rest[start:])
	if len(parts) != 11 {
		return CPE{}, fmt.Errorf("CPE %q: %d attributes after cpe:2.3:, want 11", s, len(parts))
	}
	for i, p := range parts {
		a, err := parseCPE23Attr(p)
		if err != nil {
			return CPE{}, fmt.Errorf("CPE %q: %s: %w", s, cpeAttrNames[i], err)
		}
		c.Attrs[i] = a
	}
	if err := c.checkPart(); err != nil {
		return CPE{}, fmt.Errorf("CPE %q: %w", s, err)
	}
	return c, nil
}

func (c CPE) checkPart() error {
	p := c.Attrs[cpePart]
	if p.Kind == CPEValue && (p.wild() || p.Value != "a" && p.Value != "o" && p.Value != "h") {
		return fmt.Errorf("part: %q is not a, o, h or *", p.String())
	}
	return nil
}

func parseCPE23Attr(p string) (CPEAttr, error) {
	switch p {
	case "":
		return CPEAttr{}, fmt.Errorf("empty (write * for any value)")
	case "*":
		return CPEAttr{Kind: CPEAny}, nil
	case "-":
		return CPEAttr{Kind: CPENA}, nil
	}
	// Unquote first, remembering which characters were unquoted
	// wildcards.
	type ch struct {
		c    byte
		wild bool
	}
	var cs []ch
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return CPEAttr{}, fmt.Errorf("%q ends with a lone backslash", p)
			}
			i++
			if p[i] < 0x21 || p[i] > 0x7e {
				return CPEAttr{}, fmt.Errorf("%q quotes a character that is not printable ASCII", p)
			}
			cs = append(cs, ch{p[i], false})
		case c == '*' || c == '?':
			cs = append(cs, ch{c, true})
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-':
			cs = append(cs, ch{c, false})
		default:
			return CPEAttr{}, fmt.Errorf("%q: %q must be quoted with a backslash", p, rune(c))
		}
	}
	var a CPEAttr
	switch {
	case len(cs) > 0 && cs[0].wild && cs[0].c == '*':
		a.PreStar, cs = true, cs[1:]
	default:
		for len(cs) > 0 && cs[0].wild && cs[0].c == '?' {
			a.PreQ, cs = a.PreQ+1, cs[1:]
		}
	}
	switch {
	case len(cs) > 0 && cs[len(cs)-1].wild && cs[len(cs)-1].c == '*':
		a.PostStar, cs = true, cs[:len(cs)-1]
	default:
		for len(cs) > 0 && cs[len(cs)-1].wild && cs[len(cs)-1].c == '?' {
			a.PostQ, cs = a.PostQ+1, cs[:len(cs)-1]
		}
	}
	var b strings.Builder
	for _, c := range cs {
		if c.wild {
			return CPEAttr{}, fmt.Errorf("%q: an unquoted %c may only start or end a value", p, c.c)
		}
		b.WriteByte(c.c)
	}
	if b.Len() == 0 {
		return CPEAttr{}, fmt.Errorf("%q is only wildcards", p)
	}
	a.Value = strings.ToLower(b.String())
	return a, nil
}

// parseCPE22 reads the CPE 2.2 URI binding (NISTIR 7695 §6.1.3): up to
// seven colon-separated, percent-encoded components after "cpe:/", an
// empty one being ANY, and an edition packed as
// ~edition~sw_edition~target_sw~target_hw~other.
func parseCPE22(s string) (CPE, error) {
	c := CPE{Raw: s}
	for i := range c.Attrs {
		c.Attrs[i] = CPEAttr{Kind: CPEAny}
	}
	parts := strings.Split(s[len("cpe:/"):], ":")
	if len(parts) > 7 {
		return CPE{}, fmt.Errorf("CPE %q: %d components after cpe:/, at most 7", s, len(parts))
	}
	set := func(i int, v string) error {
		a, err := cpe22Attr(v)
		if err != nil {
			return fmt.Errorf("CPE %q: %s: %w", s, cpeAttrNames[i], err)
		}
		c.Attrs[i] = a
		return nil
	}
	for i, p := range parts {
		if i == cpeEdition && strings.HasPrefix(p, "~") {
			packed := strings.Split(p[1:], "~")
			if len(packed) != 5 {
				return CPE{}, fmt.Errorf("CPE %q: packed edition %q has %d fields, want 5", s, p, len(packed))
			}
			for j, idx := range []int{cpeEdition, cpeSWEdition, cpeTargetSW, cpeTargetHW, cpeOther} {
				if err := set(idx, packed[j]); err != nil {
					return CPE{}, err
				}
			}
			continue
		}
		if err := set(i, p); err != nil {
			return CPE{}, err
		}
	}
	if err := c.checkPart(); err != nil {
		return CPE{}, fmt.Errorf("CPE %q: %w", s, err)
	}
	return c, nil
}

func cpe22Attr(v string) (CPEAttr, error) {
	switch v {
	case "":
		return CPEAttr{Kind: CPEAny}, nil
	case "-":
		return CPEAttr{Kind: CPENA}, nil
	}
	// %01 is ?, %02 is *, at either end only.
	a := CPEAttr{}
	for strings.HasPrefix(v, "%01") {
		a.PreQ++
		v = v[3:]
	}
	if strings.HasPrefix(v, "%02") {
		a.PreStar, v = true, v[3:]
	}
	if strings.HasSuffix(v, "%02") {
		a.PostStar, v = true, v[:len(v)-3]
	}
	for strings.HasSuffix(v, "%01") {
		a.PostQ++
		v = v[:len(v)-3]
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return CPEAttr{}, fmt.Errorf("%q: %w", v, err)
	}
	if u == "" {
		if a.wild() {
			return CPEAttr{}, fmt.Errorf("%q is only wildcards", v)
		}
		return CPEAttr{Kind: CPEAny}, nil
	}
	for _, r := range u {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return CPEAttr{}, fmt.Errorf("%q: not printable ASCII", u)
		}
	}
	a.Value = strings.ToLower(u)
	return a, nil
}

// matchAttr says whether the attribute of a criterion (an NVD
// configuration's, an advisory's) matches that of a component's CPE, as
// CPE name matching (NISTIR 7696 §6.1) has it, with one leniency: a
// component attribute that is ANY (unknown) matches any criterion value,
// since SBOM tools write * for what they do not know.
func matchAttr(crit, comp CPEAttr) bool {
	switch {
	case crit.Kind == CPEAny:
		return true
	case comp.Kind == CPEAny:
		return true
	case crit.Kind == CPENA || comp.Kind == CPENA:
		return crit.Kind == comp.Kind
	case !crit.wild():
		return crit.Value == comp.Value
	}
	return globCPE(crit, comp.Value)
}

// globCPE matches a value against an attribute with wildcards.
func globCPE(a CPEAttr, v string) bool {
	lo, hi := a.PreQ, a.PostQ
	if len(v) < lo+hi+len(a.Value) {
		return false
	}
	inner := v[lo : len(v)-hi]
	switch {
	case a.PreStar && a.PostStar:
		return strings.Contains(inner, a.Value)
	case a.PreStar:
		return strings.HasSuffix(inner, a.Value) && (a.PreQ == 0 || len(inner) >= len(a.Value))
	case a.PostStar:
		return strings.HasPrefix(inner, a.Value)
	}
	return inner == a.Value
}

// matchesExceptVersion says whether crit matches comp in every attribute
// but the version. Part, vendor and product must be named by the
// component: an SBOM CPE of * for the product matches nothing.
func (crit CPE) matchesExceptVersion(comp CPE) bool {
	for i := range crit.Attrs {
		if i == cpeVersion {
			continue
		}
		if (i == cpeVendor || i == cpeProduct) && comp.Attrs[i].Kind != CPEValue {
			return false
		}
		if !matchAttr(crit.Attrs[i], comp.Attrs[i]) {
			return false
		}
	}
	return true
}

// compareLoose orders two versions that belong to no known ecosystem (a
// CPE's, a vendor advisory's): runs of digits compare as numbers, runs of
// letters as text, separators only separate. A trailing letter run that
// is a pre-release word (alpha, beta, rc, dev, pre, preview, snapshot)
// sorts before the version without it (1.0.0-rc1 < 1.0.0); any other
// (OpenSSL's 1.1.1l) sorts after (1.1.1 < 1.1.1l). A leading v is
// dropped.
func compareLoose(a, b string) int {
	ta, tb := looseTokens(a), looseTokens(b)
	for i := 0; ; i++ {
		switch {
		case i >= len(ta) && i >= len(tb):
			return 0
		case i >= len(ta):
			if preRelease(tb[i]) {
				return 1
			}
			return -1
		case i >= len(tb):
			if preRelease(ta[i]) {
				return -1
			}
			return 1
		}
		if c := compareToken(ta[i], tb[i]); c != 0 {
			return c
		}
	}
}

func looseTokens(v string) []string {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	var out []string
	cur := ""
	kind := 0 // 1 digits, 2 letters
	flush := func() {
		if cur != "" {
			out = append(out, cur)
		}
		cur, kind = "", 0
	}
	for _, r := range v {
		k := 0
		switch {
		case r >= '0' && r <= '9':
			k = 1
		case unicode.IsLetter(r):
			k = 2
		}
		if k == 0 {
			flush()
			continue
		}
		if k != kind {
			flush()
		}
		kind = k
		cur += string(r)
	}
	flush()
	return out
}

var preWords = map[string]int{"dev": 1, "snapshot": 1, "alpha": 2, "a": 2, "beta": 3, "b": 3, "pre": 4, "preview": 4, "rc": 5, "cr": 5}

func preRelease(t string) bool {
	_, ok := preWords[t]
	return ok && t != "a" && t != "b" // a lone a/b is OpenSSL's letter more often than alpha/beta
}

func isDigits(t string) bool { return t != "" && t[0] >= '0' && t[0] <= '9' }

func compareToken(x, y string) int {
	dx, dy := isDigits(x), isDigits(y)
	switch {
	case dx && dy:
		x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	case dx:
		return 1 // 1.0.1 > 1.0.rc1
	case dy:
		return -1
	}
	px, okx := preWords[x]
	py, oky := preWords[y]
	if okx && oky && px != py {
		if px < py {
			return -1
		}
		return 1
	}
	return strings.Compare(x, y)
}

// cpeOnly is the component for an SBOM entry without a purl that names
// a CPE: its version is the SBOM's, or else the CPE's.
func cpeOnly(p purlOf) (Component, bool) {
	if len(p.cpes) == 0 {
		return Component{}, false
	}
	c := Component{Name: p.name, Version: p.version, CPEs: p.cpes, BOMRef: p.ref}
	if c.Version == "" {
		if cp, err := parseSBOMCPE(p.cpes[0]); err == nil && cp.Attrs[cpeVersion].Kind == CPEValue {
			c.Version = cp.Attrs[cpeVersion].Value
		}
	}
	return c, true
}

// parseSBOMCPE parses a CPE an SBOM gives. SBOM tools do not always
// quote what the formatted string requires quoted (syft writes
// "v51.1.0+incompatible" with a bare +), so when the strict parse fails
// the name is read again with every such character quoted.
func parseSBOMCPE(s string) (CPE, error) {
	c, err := ParseCPE(s)
	if err == nil || !strings.HasPrefix(strings.ToLower(s), "cpe:2.3:") {
		return c, err
	}
	var b strings.Builder
	b.WriteString(s[:len("cpe:2.3:")])
	rest := s[len("cpe:2.3:"):]
	for i := 0; i < len(rest); i++ {
		ch := rest[i]
		switch {
		case ch == '\\':
			b.WriteByte(ch)
			if i+1 < len(rest) {
				i++
				b.WriteByte(rest[i])
			}
			continue
		case ch == ':' || ch == '*' || ch == '?' || ch == '_' || ch == '.' || ch == '-' ||
			ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9':
		case ch > 0x20 && ch < 0x7f:
			b.WriteByte('\\')
		}
		b.WriteByte(ch)
	}
	c2, err2 := ParseCPE(b.String())
	if err2 != nil {
		return CPE{}, err
	}
	c2.Raw = s
	return c2, nil
}
