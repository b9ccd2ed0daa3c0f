package match

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vigil-health/vigil/internal/intel/pattern"
)

// Kind is what an indicator value is, which decides the index it goes in
// and the event fields it is looked for in.
type Kind uint8

// The kinds of value the index holds.
const (
	KindIP     Kind = iota + 1 // an address or a CIDR block
	KindDomain                 // a domain and its subdomains
	KindURL
	KindMD5
	KindSHA1
	KindSHA256
	KindEmail
	KindUserAgent
	KindJA3
)

var kindNames = [...]string{"", "ip", "domain", "url", "md5", "sha1", "sha256", "email", "user-agent", "ja3"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Value is one value an indicator's pattern compares with.
type Value struct {
	Kind Kind
	// Text is the value normalised as the index keys it (lower-case
	// domain, e-mail address, hash; URL with its scheme left out and its
	// host in lower case); for KindIP, an address or a prefix.
	Text string
	// Prefix is set for KindIP: the address (a /32 or /128) or block.
	Prefix netip.Prefix
}

// ErrUnsupported is a pattern the index cannot decide: anything but
// comparisons joined by OR, over the properties the index holds. The
// reference pattern.Matcher still can decide many of them, but only by
// running each pattern on each event.
var ErrUnsupported = errors.New("not an indexable pattern")

// Values are the values a pattern compares with, when the pattern is
// one observation of comparisons joined by OR (or observations joined by
// OR), each `path = 'value'`, `path IN ('a', 'b')` or, for addresses,
// `path ISSUBSET 'cidr'`, over the common SCO properties. Anything else
// — AND, FOLLOWEDBY, qualifiers, NOT, other operators, other properties —
// is ErrUnsupported with the reason.
func Values(p *pattern.Pattern) ([]Value, error) {
	var out []Value
	if err := obsValues(p.Expr, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func obsValues(e pattern.ObsExpr, out *[]Value) error {
	switch x := e.(type) {
	case *pattern.Observation:
		return cmpValues(x.Cmp, out)
	case *pattern.ObsGroup:
		return obsValues(x.Expr, out)
	case *pattern.ObsBinary:
		if x.Op != pattern.ObsOr {
			return fmt.Errorf("%w: %s joins observations (needs several events)", ErrUnsupported, x.Op)
		}
		if err := obsValues(x.L, out); err != nil {
			return err
		}
		return obsValues(x.R, out)
	case *pattern.Qualified:
		return fmt.Errorf("%w: qualifier %s (needs several events)", ErrUnsupported, x.Q.Kind)
	}
	return fmt.Errorf("%w: unknown expression", ErrUnsupported)
}

func cmpValues(c pattern.CmpExpr, out *[]Value) error {
	switch x := c.(type) {
	case *pattern.CmpGroup:
		return cmpValues(x.Expr, out)
	case *pattern.CmpBinary:
		if x.And {
			return fmt.Errorf("%w: AND inside an observation", ErrUnsupported)
		}
		if err := cmpValues(x.L, out); err != nil {
			return err
		}
		return cmpValues(x.R, out)
	case *pattern.Exists:
		return fmt.Errorf("%w: EXISTS", ErrUnsupported)
	case *pattern.Comparison:
		return comparison(x, out)
	}
	return fmt.Errorf("%w: unknown comparison", ErrUnsupported)
}

func comparison(c *pattern.Comparison, out *[]Value) error {
	kind := pathKind(c.Path)
	if kind == 0 {
		return fmt.Errorf("%w: property %s", ErrUnsupported, c.Path)
	}
	if c.Not {
		return fmt.Errorf("%w: NOT %s", ErrUnsupported, c.Op)
	}
	var lits []pattern.Literal
	switch {
	case c.Op == pattern.Eq:
		lits = []pattern.Literal{c.Value}
	case c.Op == pattern.In && c.Value.Kind == pattern.Set:
		lits = c.Value.Set
	case c.Op == pattern.IsSubset && kind == KindIP:
		lits = []pattern.Literal{c.Value}
	default:
		return fmt.Errorf("%w: operator %s on %s", ErrUnsupported, c.Op, c.Path)
	}
	for _, l := range lits {
		var s string
		switch l.Kind {
		case pattern.String:
			s = l.Str
		case pattern.Hex:
			s = hex.EncodeToString(l.Bytes)
		default:
			return fmt.Errorf("%w: %s literal for %s", ErrUnsupported, l.Kind, c.Path)
		}
		v, err := Normalise(kind, s)
		if err != nil {
			return fmt.Errorf("%s %q: %w", c.Path, s, err)
		}
		*out = append(*out, v)
	}
	return nil
}

// pathKind is the kind of value a property holds, 0 for one the index
// does not hold.
func pathKind(p pattern.Path) Kind {
	var keys []string
	for _, s := range p.Steps {
		if !s.IsIndex {
			keys = append(keys, strings.ToLower(s.Key))
		}
	}
	last := ""
	if len(keys) > 0 {
		last = keys[len(keys)-1]
	}
	joined := strings.Join(keys, ".")
	switch p.Type {
	case "ipv4-addr", "ipv6-addr":
		if joined == "value" {
			return KindIP
		}
	case "domain-name":
		if joined == "value" {
			return KindDomain
		}
	case "url":
		if joined == "value" {
			return KindURL
		}
	case "email-addr":
		if joined == "value" {
			return KindEmail
		}
	case "email-message":
		switch joined {
		case "from_ref.value", "sender_ref.value", "to_refs.value", "cc_refs.value", "bcc_refs.value":
			return KindEmail
		}
	case "file", "artifact":
		if len(keys) == 2 && keys[0] == "hashes" {
			return hashKind(keys[1])
		}
	case "network-traffic":
		switch joined {
		case "src_ref.value", "dst_ref.value":
			return KindIP // a domain-name ref is told apart by Normalise's caller
		case "extensions.http-request-ext.request_header.user-agent":
			return KindUserAgent
		}
	case "user-agent", "x-user-agent", "http-user-agent":
		if joined == "value" {
			return KindUserAgent
		}
	case "ja3-fingerprint", "x-ja3", "ja3":
		if joined == "value" || joined == "md5" {
			return KindJA3
		}
	}
	// JA3 has no standard STIX property: producers put it under custom
	// extensions of network-traffic (…'x-tls-ext'.ja3, …ja3_hash).
	if p.Type == "network-traffic" || strings.HasPrefix(p.Type, "x-") {
		switch last {
		case "ja3", "ja3_hash", "ja3-md5", "ja3_md5":
			return KindJA3
		}
	}
	return 0
}

func hashKind(alg string) Kind {
	switch strings.ReplaceAll(strings.ToLower(alg), "-", "") {
	case "md5":
		return KindMD5
	case "sha1":
		return KindSHA1
	case "sha256":
		return KindSHA256
	}
	return 0
}

// Normalise checks a value of kind and gives it the form the index keys
// it by. A network-traffic reference that is not an address is read as a
// domain.
func Normalise(kind Kind, s string) (Value, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Value{}, errors.New("empty value")
	}
	switch kind {
	case KindIP:
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap().WithZone("")
			return Value{Kind: KindIP, Text: a.String(), Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// ::ffff:10.0.0.0/104 is 10.0.0.0/8; a wider block stays IPv6.
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			p = netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
			if !p.IsValid() {
				return Value{}, errors.New("not a valid CIDR block")
			}
			return Value{Kind: KindIP, Text: p.String(), Prefix: p}, nil
		}
		if strings.ContainsAny(s, ":/") || !strings.Contains(s, ".") {
			return Value{}, errors.New("not an IP address or CIDR block")
		}
		return Normalise(KindDomain, s)
	case KindDomain:
		d := strings.TrimSuffix(strings.ToLower(s), ".")
		if d == "" || strings.ContainsAny(d, " /:@\t") {
			return Value{}, errors.New("not a domain name")
		}
		return Value{Kind: KindDomain, Text: d}, nil
	case KindURL:
		k := urlKey(s, nil)
		if len(k) == 0 {
			return Value{}, errors.New("not a URL")
		}
		return Value{Kind: KindURL, Text: string(k)}, nil
	case KindMD5, KindSHA1, KindSHA256, KindJA3:
		want := map[Kind]int{KindMD5: 32, KindSHA1: 40, KindSHA256: 64, KindJA3: 32}[kind]
		h := strings.ToLower(s)
		if len(h) != want || !isHex(h) {
			return Value{}, fmt.Errorf("not a %s: want %d hex digits", kind, want)
		}
		return Value{Kind: kind, Text: h}, nil
	case KindEmail:
		e := strings.ToLower(s)
		if i := strings.IndexByte(e, '@'); i <= 0 || i == len(e)-1 {
			return Value{}, errors.New("not an e-mail address")
		}
		return Value{Kind: KindEmail, Text: e}, nil
	case KindUserAgent:
		return Value{Kind: KindUserAgent, Text: s}, nil
	}
	return Value{}, fmt.Errorf("unknown kind %d", kind)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// urlKey appends to buf the key of a URL: what follows the scheme, with
// the host (and port) in lower case and "/" for an empty path; "" when
// there is no host. "HTTP://Evil.Example/a?b" and "evil.example/a?b"
// have one key, so a proxy log that leaves out the scheme still matches.
func urlKey(s string, buf []byte) []byte {
	if i := strings.Index(s, "://"); i >= 0 && i < 16 {
		s = s[i+3:]
	}
	if j := strings.IndexByte(s, '@'); j >= 0 && j < strings.IndexAny(s+"/", "/?#") {
		s = s[j+1:] // user info is not part of where it points
	}
	end := strings.IndexAny(s, "/?#")
	host, rest := s, ""
	if end >= 0 {
		host, rest = s[:end], s[end:]
	}
	if host == "" {
		return nil
	}
	buf = buf[:0]
	for i := 0; i < len(host); i++ {
		buf = append(buf, lower(host[i]))
	}
	if rest == "" || rest[0] != '/' {
		buf = append(buf, '/')
	}
	return append(buf, rest...)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
