// Package feeds reads the plain intelligence feeds that are not STIX or
// MISP JSON: abuse.ch's CSV feeds (Feodo Tracker, URLhaus, ThreatFox),
// one-value-a-line text feeds, and MISP warning lists of known-benign
// values. A feed becomes a MISP event (package misp) so that it is
// converted to STIX, and checked against warning lists, as MISP's are.
package feeds

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Warninglist is one MISP warning list (misp-warninglists list.json).
type Warninglist struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        string   `json:"type"` // string, substring, hostname, cidr, regex
	Version     int      `json:"version"`
	List        []string `json:"list"`
	Matching    []string `json:"matching_attributes"`

	matching map[string]bool
	strs     map[string]bool
	prefixes map[int]map[netip.Prefix]bool // by prefix length
	regexps  []*regexp.Regexp
	substrs  []string
}

// ParseWarninglist reads a list.json (plain or gzip). Errors name the
// file and the field or entry.
func ParseWarninglist(name string, data []byte) (*Warninglist, error) {
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, 512<<20)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var w Warninglist
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%s: not a MISP warning list: %w", name, err)
	}
	switch {
	case strings.TrimSpace(w.Name) == "":
		return nil, fmt.Errorf("%s: name: required", name)
	case len(w.List) == 0:
		return nil, fmt.Errorf("%s: list: required, and not empty", name)
	}
	w.matching = map[string]bool{}
	for _, m := range w.Matching {
		w.matching[m] = true
	}
	switch w.Type {
	case "string", "hostname":
		w.strs = map[string]bool{}
		for _, v := range w.List {
			w.strs[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")] = true
		}
	case "substring":
		for _, v := range w.List {
			if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
				w.substrs = append(w.substrs, v)
			}
		}
	case "cidr":
		w.prefixes = map[int]map[netip.Prefix]bool{}
		for i, v := range w.List {
			p, err := netip.ParsePrefix(strings.TrimSpace(v))
			if err != nil {
				a, err2 := netip.ParseAddr(strings.TrimSpace(v))
				if err2 != nil {
					return nil, fmt.Errorf("%s: list[%d]: %q is not a CIDR block or an address", name, i, v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			p = p.Masked()
			if w.prefixes[p.Bits()] == nil {
				w.prefixes[p.Bits()] = map[netip.Prefix]bool{}
			}
			w.prefixes[p.Bits()][p] = true
		}
	case "regex":
		for i, v := range w.List {
			re, err := phpRegexp(v)
			if err != nil {
				return nil, fmt.Errorf("%s: list[%d]: %q: %v", name, i, v, err)
			}
			w.regexps = append(w.regexps, re)
		}
	default:
		return nil, fmt.Errorf("%s: type: %q, want string, substring, hostname, cidr or regex", name, w.Type)
	}
	return &w, nil
}

// phpRegexp reads MISP's PCRE "/re/flags" as Go's RE2.
func phpRegexp(s string) (*regexp.Regexp, error) {
	if len(s) >= 2 && s[0] == '/' {
		end := strings.LastIndexByte(s, '/')
		if end > 0 {
			body, flags := s[1:end], s[end+1:]
			f := ""
			for _, c := range flags {
				if strings.ContainsRune("ims", c) {
					f += string(c)
				}
			}
			if f != "" {
				body = "(?" + f + ")" + body
			}
			s = body
		}
	}
	return regexp.Compile(s)
}

// Match reports whether a value of a MISP attribute type is on the list.
func (w *Warninglist) Match(typ, value string) bool {
	if len(w.matching) > 0 && !w.matching[typ] {
		return false
	}
	parts := []string{value}
	if strings.Contains(typ, "|") {
		parts = strings.Split(value, "|")
	}
	for _, v := range parts {
		if w.match(typ, strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}

func (w *Warninglist) match(typ, v string) bool {
	l := strings.ToLower(v)
	switch w.Type {
	case "string":
		return w.strs[l] || w.strs[strings.TrimSuffix(l, ".")]
	case "substring":
		for _, s := range w.substrs {
			if strings.Contains(l, s) {
				return true
			}
		}
	case "hostname":
		h := hostOf(l)
		for h != "" {
			if w.strs[h] {
				return true
			}
			_, rest, ok := strings.Cut(h, ".")
			if !ok {
				break
			}
			h = rest
		}
	case "cidr":
		a, err := netip.ParseAddr(v)
		if err != nil {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return false
			}
			a = p.Addr()
		}
		for bits, set := range w.prefixes {
			if bits > a.BitLen() {
				continue
			}
			p, err := a.Prefix(bits)
			if err == nil && set[p] {
				return true
			}
		}
	case "regex":
		for _, re := range w.regexps {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// hostOf is a URL's host, or the value itself.
func hostOf(v string) string {
	if strings.Contains(v, "://") {
		if u, err := url.Parse(v); err == nil {
			return strings.TrimSuffix(u.Hostname(), ".")
		}
	}
	return strings.TrimSuffix(v, ".")
}

// Warninglists is a set of lists.
type Warninglists []*Warninglist

// LoadWarninglists reads list.json and list.json.gz files: a path is a
// list file, or a directory searched for them (misp-warninglists'
// lists/<name>/list.json layout).
func LoadWarninglists(paths ...string) (Warninglists, error) {
	var ws Warninglists
	for _, p := range paths {
		var files []string
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if n := d.Name(); !d.IsDir() && (n == "list.json" || n == "list.json.gz") {
					files = append(files, path)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		} else {
			files = []string{p}
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			w, err := ParseWarninglist(f, b)
			if err != nil {
				return nil, err
			}
			ws = append(ws, w)
		}
	}
	return ws, nil
}

// Benign names the lists a value is on; it is a misp.Benign.
func (ws Warninglists) Benign(typ, value string) []string {
	var names []string
	for _, w := range ws {
		if w.Match(typ, value) {
			names = append(names, w.Name)
		}
	}
	return names
}
