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
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/intel"
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
	// Modified is the version's modified; LastSeen its last sighting
	// (zero for none). Both keep its score from decaying (intel.Decay).
	Modified, LastSeen time.Time
	// FalsePositiveOrgs is how many organisations hold it false
	// (intel.Evidence): each halves its score.
	FalsePositiveOrgs int
	Revoked           bool
	// Orgs are the organisations among the explicit recipients of a
	// TLP:RED or TLP:AMBER+STRICT indicator (intel.Store.RecipientOrgs):
	// it is matched only against their events.
	Orgs []string
	// Pending is an indicator submitted to a moderated collection and not
	// approved yet (intel.Store.PendingOrgs): whatever its marking, it is
	// matched only against the events of Orgs, its submitters'.
	Pending bool
}

// restricted is an indicator matched only for its Orgs.
func (in *Indicator) restricted() bool { return in.TLP >= stix.TLPAmberStrict || in.Pending }

// FromObject reads an indicator out of a STIX object.
func FromObject(o *stix.Object, source string) (Indicator, error) {
	if o.Type != "indicator" {
		return Indicator{}, fmt.Errorf("%s is a %s, not an indicator", o.ID, o.Type)
	}
	in := Indicator{ID: o.ID, Source: source, CreatedBy: o.CreatedByRef, Revoked: o.Revoked, Confidence: -1, Modified: o.Modified}
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
	// Decay, when not nil, leaves out an indicator whose score has
	// decayed below its threshold (intel.Decay: by age since it was last
	// asserted or seen, at the rate of the kinds of value it lists).
	Decay *intel.Decay
	// DecayFor, when not nil, is the decay model of an indicator's
	// source (intel.DecayConfig.For), used instead of Decay.
	DecayFor func(source string) intel.Decay
	// Allow holds values that never match (intel.NormaliseValue form):
	// an indicator's allowlisted values are not loaded, and one listing
	// nothing else is left out. An allowlisted CIDR block covers the
	// addresses and blocks inside it, an allowlisted domain the names
	// under it.
	Allow map[string]bool
}

// decayOf is the decay model of a source, and whether there is one.
func (o Options) decayOf(source string) (intel.Decay, bool) {
	if o.DecayFor != nil {
		return o.DecayFor(source), true
	}
	if o.Decay != nil {
		return *o.Decay, true
	}
	return intel.Decay{}, false
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
	SkipDecayed     = "score decayed below the threshold"
	SkipAllowlisted = "every value allowlisted"
	// SkipFalsePositive is an indicator that would match but for the
	// false positives organisations reported (intel.Decay.ScoreWith).
	SkipFalsePositive = "score lowered below the threshold by false positives"
	// SkipMerged is an indicator listing the same values as one loaded
	// before it: one indicator is loaded, naming both sources.
	SkipMerged = "same values as another indicator (merged, sources kept)"
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
	// allow is Options.Allow, for Allowlisted.
	allow allowSet
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

// merge folds indicator in into loaded indicator j of the same values:
// its source joins j's, and j keeps the higher confidence, the lower TLP
// (the values are known at it) and the later valid_until.
func (b *builder) merge(j uint32, in Indicator) {
	m := &b.ix.inds[j]
	if src := b.ix.strs[m.source]; in.Source != "" && !slices.Contains(strings.Split(src, ", "), in.Source) {
		m.source = b.intern(src + ", " + in.Source)
	}
	if in.Confidence >= 0 && in.Confidence <= 100 && int8(in.Confidence) > m.confidence {
		m.confidence = int8(in.Confidence)
	}
	if in.TLP < m.tlp {
		m.tlp = in.TLP
	}
	if m.validUntil != 0 {
		if in.ValidUntil.IsZero() {
			m.validUntil = 0
		} else if u := uint32(min(max(in.ValidUntil.Unix(), 1), 1<<32-1)); u > m.validUntil {
			m.validUntil = u
		}
	}
}

// Allowlisted reports whether what a hit matched in the event is on the
// allowlist: an allowlisted address inside a listed block, or an
// allowlisted host under a listed domain, raises nothing. (The values
// the indicators list were checked when the index was built.) It is for
// the few events that hit, not for Match's path.
func (ix *Index) Allowlisted(h Hit) bool {
	if len(ix.allow.exact) == 0 {
		return false
	}
	v := intel.NormaliseValue(h.Value)
	if a, err := netip.ParseAddr(v); err == nil {
		return ix.allow.coversPrefix(netip.PrefixFrom(a, a.BitLen()))
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		a := ap.Addr().Unmap()
		return ix.allow.coversPrefix(netip.PrefixFrom(a, a.BitLen()))
	}
	return ix.allow.coversName(v)
}

// allowSet is the allowlist as Build and Allowlisted read it: exact
// values, and the CIDR blocks among them apart, which cover what lies
// inside them.
type allowSet struct {
	exact  map[string]bool
	blocks []netip.Prefix
}

func newAllowSet(m map[string]bool) allowSet {
	a := allowSet{exact: m}
	for k := range m {
		if p, err := netip.ParsePrefix(k); err == nil && !p.IsSingleIP() {
			a.blocks = append(a.blocks, p.Masked())
		}
	}
	return a
}

// coversPrefix: the address or block is allowlisted, or lies inside an
// allowlisted block.
func (a allowSet) coversPrefix(p netip.Prefix) bool {
	k := p.Addr().Unmap().String()
	if !p.IsSingleIP() {
		k = p.Masked().String()
	}
	if a.exact[k] {
		return true
	}
	for _, b := range a.blocks {
		if b.Bits() <= p.Bits() && b.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// coversName: the value is allowlisted, or is a name under an
// allowlisted domain (www.example.org under example.org).
func (a allowSet) coversName(v string) bool {
	for d := v; d != ""; {
		if a.exact[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}

// covers is whether the allowlist covers one of an indicator's values.
func (a allowSet) covers(v Value) bool {
	switch v.Kind {
	case KindIP:
		return a.coversPrefix(v.Prefix)
	case KindDomain:
		return a.coversName(allowKey(v))
	}
	return a.exact[allowKey(v)]
}

// allowKey is a value as the allowlist keeps it (intel.NormaliseValue).
func allowKey(v Value) string {
	if v.Kind == KindIP {
		if v.Prefix.IsSingleIP() {
			return v.Prefix.Addr().Unmap().String()
		}
		return v.Prefix.String()
	}
	return intel.NormaliseValue(v.Text)
}

// valuesKey identifies an indicator by the set of values it lists.
func valuesKey(vals []Value) string {
	ks := make([]string, len(vals))
	for i, v := range vals {
		ks[i] = v.Kind.String() + ":" + allowKey(v)
	}
	slices.Sort(ks)
	return strings.Join(slices.Compact(ks), "\x00")
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
	allow := newAllowSet(o.Allow)
	// Each source's model, worked out once: a million indicators come
	// from a few sources.
	bySource := map[string]intel.Decay{}
	decays := func(src string) (intel.Decay, bool) {
		if d, ok := bySource[src]; ok {
			return d, true
		}
		d, ok := o.decayOf(src)
		if ok {
			bySource[src] = d
		}
		return d, ok
	}
	ix := &Index{
		ip4: map[uint32]uint32{}, ip: map[[16]byte]uint32{}, domain: map[string]uint32{}, url: map[string]uint32{},
		md5: map[[16]byte]uint32{}, sha1: map[[20]byte]uint32{}, sha256: map[[32]byte]uint32{},
		ja3: map[[16]byte]uint32{}, email: map[string]uint32{}, ua: map[string]uint32{},
		strs: []string{""}, minDots: -1,
	}
	b := &builder{ix: ix, strs: map[string]uint32{"": 0}}
	st := Stats{Values: map[string]int{}, Skipped: map[string]int{}}
	cidrs := map[netip.Prefix]uint32{}
	// same maps the values of each indicator loaded to it, by a 128-bit
	// hash of their sorted keys: 16 bytes an entry rather than the keys
	// themselves, as a million indicators pass through here.
	same := map[[2]uint64]uint32{}
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
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
		case in.restricted() && len(in.Orgs) == 0:
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
		if why == "" && len(o.Allow) > 0 {
			kept := vals[:0:0]
			for _, v := range vals {
				if !allow.covers(v) {
					kept = append(kept, v)
				}
			}
			if vals = kept; len(vals) == 0 {
				why = SkipAllowlisted
			}
		}
		if d, ok := decays(in.Source); why == "" && ok {
			kinds := make([]string, len(vals))
			for k, v := range vals {
				kinds[k] = v.Kind.String()
			}
			if d.ScoreWith(in.Confidence, kinds, intel.Fresh(in.ValidFrom, in.Modified, in.LastSeen), now, in.FalsePositiveOrgs) < d.Threshold {
				why = SkipDecayed
				if in.FalsePositiveOrgs > 0 && d.ScoreWith(in.Confidence, kinds, intel.Fresh(in.ValidFrom, in.Modified, in.LastSeen), now, 0) >= d.Threshold {
					why = SkipFalsePositive
				}
			}
		}
		if why != "" {
			st.Skipped[why]++
			continue
		}
		vk := valuesKey(vals)
		if cx != nil {
			// Decided beyond the index: its values are only anchors, so
			// only the same pattern is the same indicator.
			vk += "\x00" + in.Pattern
		}
		if in.restricted() {
			// A restricted indicator merges only with one of the same
			// marking and recipients: merged into a wider one it would
			// name its source to organisations it was not shared with,
			// and a wider one merged into it would match too few.
			orgs := slices.Sorted(slices.Values(in.Orgs))
			vk += "\x00" + in.TLP.String() + "\x00" + strings.Join(orgs, ",") + "\x00" + strconv.FormatBool(in.Pending)
		}
		key := [2]uint64{maphash.String(seeds[0], vk), maphash.String(seeds[1], vk)}
		if j, ok := same[key]; ok {
			b.merge(j, in)
			st.Skipped[SkipMerged]++
			continue
		}
		i := uint32(len(ix.inds))
		same[key] = i
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
		if in.restricted() {
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
	ix.allow = allow
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
