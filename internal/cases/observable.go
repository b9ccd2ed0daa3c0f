package cases

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
)

// ObservableType is the kind of an observable.
type ObservableType string

const (
	ObsIP     ObservableType = "ip"
	ObsDomain ObservableType = "domain"
	ObsURL    ObservableType = "url"
	ObsMD5    ObservableType = "hash-md5"
	ObsSHA1   ObservableType = "hash-sha1"
	ObsSHA256 ObservableType = "hash-sha256"
	ObsEmail  ObservableType = "email"
	ObsUser   ObservableType = "user"
	ObsHost   ObservableType = "host"
	ObsFile   ObservableType = "file"
)

// ObservableTypes lists the kinds of observable.
func ObservableTypes() []ObservableType {
	return []ObservableType{ObsIP, ObsDomain, ObsURL, ObsMD5, ObsSHA1, ObsSHA256, ObsEmail, ObsUser, ObsHost, ObsFile}
}

// Observable is one thing seen: an address, a name, a hash. Its value is
// normalised (NormaliseObservable), so the same thing reported twice, in
// two spellings, is one observable and is "seen in other cases".
type Observable struct {
	Type  ObservableType `json:"type"`
	Value string         `json:"value"`
}

// maxURL bounds a URL observable; browsers and proxies stop near 8 KB.
const maxURL = 8192

// NormaliseObservable returns o's value in its one canonical spelling, or
// an error naming field and saying what is wrong:
//
//	ip           an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4; IPv6 compressed, lower case; no zone)
//	domain       lower case, no trailing dot, letters/digits/hyphens per label (internationalised names as xn--)
//	url          absolute, with a scheme and a host; scheme and host lower-cased; the rest kept
//	hash-*       hexadecimal of the right length (32, 40, 64), lower-cased
//	email        local@domain, the domain lower-cased
//	user, host, file  one line, trimmed; host lower-cased
func NormaliseObservable(field string, o Observable) (Observable, error) {
	v := strings.TrimSpace(o.Value)
	fail := func(format string, a ...any) (Observable, error) {
		return Observable{}, fault.Invalidf(field+".value", format, a...)
	}
	if v == "" {
		return fail("is required")
	}
	if p := safetext.Problem(v, safetext.Name, maxURL); p != "" {
		return fail("%s", p)
	}
	switch o.Type {
	case ObsIP:
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return fail("%q is not an IP address", v)
		}
		v = a.Unmap().String()
	case ObsDomain:
		d, ok := normDomain(v)
		if !ok {
			return fail("%q is not a domain name (letters, digits and hyphens in dot-separated labels; write internationalised names in their xn-- form)", v)
		}
		v = d
	case ObsURL:
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" || u.Host == "" || !schemeRE(u.Scheme) {
			return fail("%q is not an absolute URL with a scheme and a host", v)
		}
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = strings.ToLower(u.Host)
		v = u.String()
	case ObsMD5, ObsSHA1, ObsSHA256:
		want := map[ObservableType]int{ObsMD5: 32, ObsSHA1: 40, ObsSHA256: 64}[o.Type]
		v = strings.ToLower(v)
		if len(v) != want || strings.Trim(v, "0123456789abcdef") != "" {
			return fail("%q is not a %s: want %d hexadecimal digits", v, o.Type, want)
		}
	case ObsEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" || a.Address != v {
			return fail("%q is not an e-mail address (local@domain)", v)
		}
		at := strings.LastIndexByte(v, '@')
		d, ok := normDomain(v[at+1:])
		if !ok {
			return fail("%q: %q is not a domain name", v, v[at+1:])
		}
		v = v[:at+1] + d
	case ObsHost:
		if len(v) > 255 {
			return fail("is longer than 255 characters")
		}
		v = strings.ToLower(v)
	case ObsUser, ObsFile:
		if len(v) > 1024 {
			return fail("is longer than 1024 characters")
		}
	default:
		return Observable{}, fault.Invalidf(field+".type", "%q is not one of %s", string(o.Type), names(ObservableTypes()))
	}
	return Observable{Type: o.Type, Value: v}, nil
}

func schemeRE(s string) bool {
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// normDomain lower-cases d, drops one trailing dot and checks its labels
// (RFC 1035 letters, digits and hyphens; underscores allowed, as DNS
// service names use them).
func normDomain(d string) (string, bool) {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if d == "" || len(d) > 253 {
		return "", false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return d, true
}

// normObservables normalises a list and drops repeats (after
// normalisation), keeping the first order.
func normObservables(field string, in []Observable) ([]Observable, error) {
	if len(in) > maxObservables {
		return nil, fault.Invalidf(field, "has %d observables; at most %d", len(in), maxObservables)
	}
	out := make([]Observable, 0, len(in))
	seen := map[Observable]bool{}
	for i, o := range in {
		n, err := NormaliseObservable(fmt.Sprintf("%s[%d]", field, i), o)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
