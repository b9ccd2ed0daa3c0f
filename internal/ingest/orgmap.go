package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// An org mapping file says which organisation owns the events a listener
// receives, by the sender's address (docs/ingest.md documents it):
//
//	default: RJ1            # every listener's fallback; the national root when absent
//	listeners:              # a listener's own fallback, by listener name
//	  syslog-udp: R1H
//	  relp: RQM
//	senders:                # by the sender's address: an exact address or a CIDR block
//	  - match: 10.20.0.0/16
//	    org: RJ1
//	  - match: 10.20.5.7
//	    org: R1H
//
// An event's organisation is the exact address's, else the longest
// matching block's, else the listener's, else the file's default, else
// the national root (OrgMapOptions.Root), so with nothing configured
// events are still stored. HTTP senders are not mapped: their ingest
// token names their organisation.

// orgCode is what an owning organisation's code may be: the org
// package's rule (an ODS code such as RJ1, Y56 or A81001, ENG, a
// supplier tenant's SUP-X). The code becomes a subject token, so '.',
// '*', '>' and spaces can never reach it.
var orgCode = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,15}$`) })

type orgMapFile struct {
	Default   string            `yaml:"default"`
	Listeners map[string]string `yaml:"listeners"`
	Senders   []struct {
		Match string `yaml:"match"`
		Org   string `yaml:"org"`
	} `yaml:"senders"`
}

// orgTable is one loaded mapping; it is never changed once built, so
// lookups need no lock (Reload swaps in a new one).
type orgTable struct {
	def       string
	listeners map[string]string
	exact     map[netip.Addr]string
	// prefixes sorted longest first, so the first match is the most
	// specific.
	prefixes []orgPrefix
}

type orgPrefix struct {
	p   netip.Prefix
	org string
}

// OrgMap maps a listener and a sender's address to the owning
// organisation. It is safe for concurrent use; Reload replaces the
// mapping atomically, and a mapping that fails to load leaves the one in
// use in place.
type OrgMap struct {
	root  string
	path  string
	known func(code string) bool
	table atomic.Pointer[orgTable]
}

// NewOrgMap returns the mapping read from path ("" for none: every event
// is the root's) with root, the national root's code, as the last
// fallback. known, when not nil, says whether an organisation exists; a
// mapping naming one that does not is refused (at start and on reload),
// since its events would belong to nobody.
func NewOrgMap(root, path string, known func(code string) bool) (*OrgMap, error) {
	root = strings.ToUpper(strings.TrimSpace(root))
	if !orgCode().MatchString(root) {
		return nil, fmt.Errorf("ingest org map: the national root %q is not an organisation code", root)
	}
	m := &OrgMap{root: root, path: path, known: known}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload reads the mapping file again (after an operator changed it,
// e.g. on SIGHUP); on error the previous mapping stays.
func (m *OrgMap) Reload() error {
	if m.path == "" {
		m.table.Store(&orgTable{})
		return nil
	}
	data, err := os.ReadFile(m.path)
	if err != nil {
		return fmt.Errorf("ingest org map: %w", err)
	}
	t, err := parseOrgMap(data)
	if err != nil {
		return fmt.Errorf("ingest org map %s: %w", m.path, err)
	}
	if m.known != nil {
		for _, code := range t.codes() {
			if !m.known(code) {
				return fmt.Errorf("ingest org map %s: organisation %s is not in Vigil's organisation tree", m.path, code)
			}
		}
	}
	m.table.Store(t)
	return nil
}

// ParseOrgMap checks a mapping file's text, for tests and a "check the
// file" command.
func ParseOrgMap(data []byte) error {
	_, err := parseOrgMap(data)
	return err
}

func parseOrgMap(data []byte) (*orgTable, error) {
	var f orgMapFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file (io.EOF from the decoder) is a mapping of nothing.
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	t := &orgTable{listeners: map[string]string{}, exact: map[netip.Addr]string{}}
	code := func(where, s string) (string, error) {
		c := strings.ToUpper(strings.TrimSpace(s))
		if !orgCode().MatchString(c) {
			return "", fmt.Errorf("%s: %q is not an organisation code (an ODS code such as RJ1)", where, s)
		}
		return c, nil
	}
	var err error
	if f.Default != "" {
		if t.def, err = code("default", f.Default); err != nil {
			return nil, err
		}
	}
	for name, org := range f.Listeners {
		if t.listeners[name], err = code("listeners."+name, org); err != nil {
			return nil, err
		}
	}
	for i, s := range f.Senders {
		where := fmt.Sprintf("senders[%d]", i)
		org, err := code(where+".org", s.Org)
		if err != nil {
			return nil, err
		}
		match := strings.TrimSpace(s.Match)
		if strings.Contains(match, "/") {
			p, err := netip.ParsePrefix(match)
			if err != nil {
				return nil, fmt.Errorf("%s.match: %q is not a CIDR block (e.g. 10.20.0.0/16)", where, s.Match)
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("%s.match: %q has host bits set; did you mean %s?", where, s.Match, p.Masked())
			}
			t.prefixes = append(t.prefixes, orgPrefix{p, org})
			continue
		}
		a, err := netip.ParseAddr(match)
		if err != nil {
			return nil, fmt.Errorf("%s.match: %q is neither an address nor a CIDR block", where, s.Match)
		}
		if prev, dup := t.exact[a.Unmap()]; dup && prev != org {
			return nil, fmt.Errorf("%s.match: %s is mapped twice (to %s and %s)", where, a, prev, org)
		}
		t.exact[a.Unmap()] = org
	}
	sort.SliceStable(t.prefixes, func(i, j int) bool { return t.prefixes[i].p.Bits() > t.prefixes[j].p.Bits() })
	return t, nil
}

// codes returns every organisation the mapping names, sorted.
func (t *orgTable) codes() []string {
	seen := map[string]bool{}
	if t.def != "" {
		seen[t.def] = true
	}
	for _, c := range t.listeners {
		seen[c] = true
	}
	for _, c := range t.exact {
		seen[c] = true
	}
	for _, p := range t.prefixes {
		seen[p.org] = true
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Org returns the organisation owning events that listener received
// from addr (invalid when the transport has no address).
func (m *OrgMap) Org(listener string, addr netip.Addr) string {
	t := m.table.Load()
	if addr.IsValid() {
		addr = addr.Unmap()
		if org, ok := t.exact[addr]; ok {
			return org
		}
		for _, p := range t.prefixes {
			if p.p.Contains(addr) {
				return p.org
			}
		}
	}
	if org, ok := t.listeners[listener]; ok {
		return org
	}
	if t.def != "" {
		return t.def
	}
	return m.root
}
