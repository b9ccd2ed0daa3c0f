// Package match is the IOC matcher: an index built from the store's
// active indicators that checks each normalised event's addresses,
// domains, URLs, file hashes, e-mail addresses, user agents and JA3
// fingerprints against all of them at once — hash maps for exact values,
// a table of ranges for CIDR blocks, a walk up a domain's labels for
// subdomains — rather than running each pattern on each event
// (pattern.Matcher, the reference, does that).
//
// An Index is immutable once built; Matcher holds the current one behind
// an atomic pointer, so a reload builds a new Index beside the old and
// swaps it in, and matching never waits.
package match

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// Indicator is what the index needs of a STIX indicator.
type Indicator struct {
	ID          string
	Pattern     string
	PatternType string // "" is read as stix
	// Source is where the indicator came from (the file, feed or TAXII
	// status the store recorded); CreatedBy its created_by_ref.
	Source, CreatedBy string
	TLP               stix.TLP // 0: unmarked
	// Confidence is 0–100, -1 when the indicator gives none.
	Confidence            int
	ValidFrom, ValidUntil time.Time
	Revoked               bool
	// Orgs are the organisations among the explicit recipients of a
	// TLP:RED or TLP:AMBER+STRICT indicator (intel.Store.RecipientOrgs):
	// it is matched only against their events.
	Orgs []string
}

// FromObject reads an indicator out of a STIX object.
func FromObject(o *stix.Object, source string) (Indicator, error) {
	if o.Type != "indicator" {
		return Indicator{}, fmt.Errorf("%s is a %s, not an indicator", o.ID, o.Type)
	}
	in := Indicator{ID: o.ID, Source: source, CreatedBy: o.CreatedByRef, Revoked: o.Revoked, Confidence: -1}
	in.TLP, _ = stix.TLPOfObject(o)
	if _, err := o.Get("pattern", &in.Pattern); err != nil {
		return in, err
	}
	if _, err := o.Get("pattern_type", &in.PatternType); err != nil {
		return in, err
	}
	var c *int
	if _, err := o.Get("confidence", &c); err != nil {
		return in, err
	}
	if c != nil {
		in.Confidence = *c
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"valid_from", &in.ValidFrom}, {"valid_until", &in.ValidUntil}} {
		var s string
		if ok, err := o.Get(f.name, &s); err != nil {
			return in, err
		} else if ok && s != "" {
			t, err := stix.ParseTimestamp(s)
			if err != nil {
				return in, fmt.Errorf("%s: %w", f.name, err)
			}
			*f.t = t
		}
	}
	return in, nil
}

// Options say which indicators an Index loads.
type Options struct {
	// Now decides validity (time.Now when nil).
	Now func() time.Time
	// MaxTLP is the most restrictive marking loaded (AMBER when 0). A
	// hit is an alert in the inbox of the event's organisation, so an
	// AMBER+STRICT or RED indicator, loaded when MaxTLP allows, is
	// matched only against the events of the organisations among its
	// recipients (Indicator.Orgs), and left out when there are none.
	MaxTLP stix.TLP
	// MaxScans bounds the LIKE/MATCHES expressions run on every value of
	// their kind (residual.go); 256 when 0.
	MaxScans int
	// KeepValues keeps the values loaded (Index.Values), for
	// retro-matching a few new indicators; a live index does without.
	KeepValues bool
}

// Why an indicator is not loaded.
const (
	SkipRevoked     = "revoked"
	SkipExpired     = "past valid_until"
	SkipNotYetValid = "before valid_from"
	SkipPatternType = "pattern_type is not stix"
	SkipInvalid     = "pattern does not parse"
	SkipUnsupported = "pattern is not indexable"
	SkipTLP         = "marking above the matcher's ceiling"
)

// Stats say what a Build loaded and left out.
type Stats struct {
	Indicators int            `json:"indicators"`
	Values     map[string]int `json:"values"`
	Skipped    map[string]int `json:"skipped"`
	Built      time.Time      `json:"built"`
	BuildTime  time.Duration  `json:"build_time"`
}

// meta is what a hit reports of its indicator, kept small: a million of
// them are 32 MB.
type meta struct {
	uuid       [16]byte
	validUntil uint32 // Unix seconds, 0 for none
	source     uint32 // into Index.strs
	createdBy  uint32 // into Index.strs
	extra      uint32 // 1 + index into Index.complex; 0 for an indicator the index decides alone
	orgs       uint32 // 1 + index into Index.orgSets; 0 for any organisation
	tlp        stix.TLP
	confidence int8 // -1 for none
}

// multiBit marks a posting that is an index into Index.multi (the value
// belongs to several indicators) rather than an indicator.
const multiBit = 1 << 31

// Index is an immutable set of indicators, indexed by value.
type Index struct {
	inds  []meta
	strs  []string
	multi [][]uint32

	ip4     map[uint32]uint32   // IPv4 addresses
	ip      map[[16]byte]uint32 // IPv6 addresses
	cidr    blocks
	domain  map[string]uint32
	url     map[string]uint32
	md5     map[[16]byte]uint32
	sha1    map[[20]byte]uint32
	sha256  map[[32]byte]uint32
	ja3     map[[16]byte]uint32
	email   map[string]uint32
	ua      map[string]uint32
	minDots int // hint: the fewest labels a domain indicator has - 1
	// Filters in front of the maps most look-ups miss (bloom.go).
	seed             maphash.Seed
	ip4Bloom, dBloom bloom
	values           []Value
	// Indicators decided beyond the index (residual.go), the scans
	// anchoring some of them, by kind, and the organisations restricted
	// indicators are matched for.
	complex []*complexInd
	scans   [KindJA3 + 1][]scan
	nMulti  int
	orgSets [][]string

	stats Stats
}

// Empty is an index of nothing.
func Empty() *Index {
	ix, _ := Build(nil, Options{})
	return ix
}

// builder collects postings before they are frozen.
type builder struct {
	ix   *Index
	strs map[string]uint32
}

func (b *builder) intern(s string) uint32 {
	if i, ok := b.strs[s]; ok {
		return i
	}
	i := uint32(len(b.ix.strs))
	b.ix.strs = append(b.ix.strs, s)
	b.strs[s] = i
	return i
}

// add appends indicator i to the posting p.
func (b *builder) add(p uint32, ok bool, i uint32) uint32 {
	if !ok {
		return i
	}
	if p&multiBit == 0 {
		if p == i {
			return p
		}
		b.ix.multi = append(b.ix.multi, []uint32{p, i})
		return uint32(len(b.ix.multi)-1) | multiBit
	}
	l := b.ix.multi[p&^multiBit]
	if l[len(l)-1] != i {
		b.ix.multi[p&^multiBit] = append(l, i)
	}
	return p
}

func addTo[K comparable](b *builder, m map[K]uint32, k K, i uint32) {
	p, ok := m[k]
	m[k] = b.add(p, ok, i)
}

// Build indexes the indicators that are active: not revoked, within
// their validity, a stix pattern the index can decide, marked no higher
// than o.MaxTLP. Stats count what was left out and why.
func Build(inds []Indicator, o Options) (*Index, Stats) {
	start := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxTLP == 0 {
		o.MaxTLP = stix.TLPAmber
	}
	if o.MaxScans <= 0 {
		o.MaxScans = defaultMaxScans
	}
	nScans := 0
	now := o.Now()
	ix := &Index{
		ip4: map[uint32]uint32{}, ip: map[[16]byte]uint32{}, domain: map[string]uint32{}, url: map[string]uint32{},
		md5: map[[16]byte]uint32{}, sha1: map[[20]byte]uint32{}, sha256: map[[32]byte]uint32{},
		ja3: map[[16]byte]uint32{}, email: map[string]uint32{}, ua: map[string]uint32{},
		strs: []string{""}, minDots: -1,
	}
	b := &builder{ix: ix, strs: map[string]uint32{"": 0}}
	st := Stats{Values: map[string]int{}, Skipped: map[string]int{}}
	cidrs := map[netip.Prefix]uint32{}
	for _, in := range inds {
		why := ""
		var vals []Value
		switch {
		case in.Revoked:
			why = SkipRevoked
		case !in.ValidUntil.IsZero() && !in.ValidUntil.After(now):
			why = SkipExpired
		case in.ValidFrom.After(now):
			why = SkipNotYetValid
		case in.PatternType != "" && in.PatternType != "stix":
			why = SkipPatternType
		case in.TLP > o.MaxTLP:
			why = SkipTLP
		case in.TLP >= stix.TLPAmberStrict && len(in.Orgs) == 0:
			why = SkipNoRecipient
		}
		u, err := uuidOf(in.ID)
		if why == "" && err != nil {
			why = SkipInvalid
		}
		var cx *complexInd
		var anchors [][]anchor
		if why == "" {
			p, err := pattern.Parse(in.Pattern)
			if err != nil {
				why = SkipInvalid
			} else if vals, err = Values(p); err != nil {
				vals = nil
				if cx, anchors, why = plan(p); why == "" {
					for _, as := range anchors {
						for _, a := range as {
							if a.scan == nil {
								vals = append(vals, a.val)
							}
						}
						nScans += scans(as)
					}
					if nScans > o.MaxScans {
						nScans -= scansOf(anchors)
						why = SkipTooManyScans
					}
				}
			}
		}
		if why != "" {
			st.Skipped[why]++
			continue
		}
		i := uint32(len(ix.inds))
		m := meta{uuid: u, source: b.intern(in.Source), createdBy: b.intern(in.CreatedBy), tlp: in.TLP, confidence: -1}
		if in.Confidence >= 0 && in.Confidence <= 100 {
			m.confidence = int8(in.Confidence)
		}
		if !in.ValidUntil.IsZero() {
			m.validUntil = uint32(min(max(in.ValidUntil.Unix(), 1), 1<<32-1))
		}
		if cx != nil {
			ix.complex = append(ix.complex, cx)
			m.extra = uint32(len(ix.complex))
			if cx.expr != nil {
				ix.nMulti++
			}
			for _, as := range anchors {
				for _, a := range as {
					if a.scan != nil {
						a.scan.ind = i
						ix.scans[a.scan.kind] = append(ix.scans[a.scan.kind], *a.scan)
					}
				}
			}
		}
		if in.TLP >= stix.TLPAmberStrict {
			ix.orgSets = append(ix.orgSets, slices.Clone(in.Orgs))
			m.orgs = uint32(len(ix.orgSets))
		}
		ix.inds = append(ix.inds, m)
		if o.KeepValues {
			ix.values = append(ix.values, vals...)
		}
		for _, v := range vals {
			st.Values[v.Kind.String()]++
			switch v.Kind {
			case KindIP:
				if a := v.Prefix.Addr(); v.Prefix.IsSingleIP() && a.Is4() {
					b4 := a.As4()
					addTo(b, ix.ip4, uint32(b4[0])<<24|uint32(b4[1])<<16|uint32(b4[2])<<8|uint32(b4[3]), i)
				} else if v.Prefix.IsSingleIP() {
					addTo(b, ix.ip, a.As16(), i)
				} else {
					p, ok := cidrs[v.Prefix]
					cidrs[v.Prefix] = b.add(p, ok, i)
				}
			case KindDomain:
				addTo(b, ix.domain, v.Text, i)
				if d := strings.Count(v.Text, "."); ix.minDots < 0 || d < ix.minDots {
					ix.minDots = d
				}
			case KindURL:
				addTo(b, ix.url, v.Text, i)
			case KindEmail:
				addTo(b, ix.email, v.Text, i)
			case KindUserAgent:
				addTo(b, ix.ua, v.Text, i)
			case KindMD5:
				addTo(b, ix.md5, [16]byte(mustHex(v.Text)), i)
			case KindJA3:
				addTo(b, ix.ja3, [16]byte(mustHex(v.Text)), i)
			case KindSHA1:
				addTo(b, ix.sha1, [20]byte(mustHex(v.Text)), i)
			case KindSHA256:
				addTo(b, ix.sha256, [32]byte(mustHex(v.Text)), i)
			}
		}
	}
	ix.cidr = buildBlocks(cidrs)
	ix.seed = maphash.MakeSeed()
	ix.ip4Bloom, ix.dBloom = newBloom(len(ix.ip4)), newBloom(len(ix.domain))
	for k := range ix.ip4 {
		ix.ip4Bloom.add(hashU32(k))
	}
	for k := range ix.domain {
		ix.dBloom.add(hashString(ix.seed, k))
	}
	st.Indicators = len(ix.inds)
	st.Built = now
	st.BuildTime = time.Since(start)
	ix.stats = st
	return ix, st
}

// Stats say what the index holds.
func (ix *Index) Stats() Stats { return ix.stats }

// Values are the values loaded, when built with KeepValues.
func (ix *Index) Values() []Value { return ix.values }

// Len is how many indicators the index holds.
func (ix *Index) Len() int { return len(ix.inds) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err) // Normalise checked it
	}
	return b
}

// uuidOf reads the UUID of a STIX id.
func uuidOf(id string) ([16]byte, error) {
	var u [16]byte
	_, rest, ok := strings.Cut(id, "--")
	if !ok || len(rest) != 36 {
		return u, errors.New("not a STIX id")
	}
	h := strings.ReplaceAll(rest, "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		return u, errors.New("not a STIX id")
	}
	return [16]byte(b), nil
}

// Info is what a hit says of its indicator.
type Info struct {
	ID         string
	Source     string
	CreatedBy  string
	TLP        stix.TLP
	Confidence int // -1 for none
	ValidUntil time.Time
}

// Info describes indicator i of a Hit.
func (ix *Index) Info(i uint32) Info {
	m := ix.inds[i]
	u := hex.EncodeToString(m.uuid[:])
	in := Info{
		ID:     "indicator--" + u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:],
		Source: ix.strs[m.source], CreatedBy: ix.strs[m.createdBy], TLP: m.tlp, Confidence: int(m.confidence),
	}
	if m.validUntil != 0 {
		in.ValidUntil = time.Unix(int64(m.validUntil), 0).UTC()
	}
	return in
}

func scansOf(as [][]anchor) int {
	n := 0
	for _, a := range as {
		n += scans(a)
	}
	return n
}
