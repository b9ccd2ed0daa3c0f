package sigma

import "strings"

// anchored finds a few needles in long texts by their rarest short
// substrings (anchors), searched with strings.Index — vectorised, a
// fraction of a nanosecond a byte, where an automaton reads one byte at
// a time — and checks each needle where its anchor occurs. SigmaHQ's
// keyword searches (Mimikatz's "sekurlsa::", "privilege::debug"…) meet
// every text of every Windows event, PowerShell script blocks included,
// and most of those bytes hold no anchor at all.
type anchored struct {
	needles []string // lower-cased
	sets    []anchorSet
}

// anchorSet is one anchor, in every case its ASCII letters can take
// (variants[0] is the lower-case one), and the needles holding it.
type anchorSet struct {
	variants []string
	cands    []anchorCand
}

type anchorCand struct {
	needle int32
	off    int // of the anchor in the needle
}

// anchorMinText is the text length from which anchors beat the automaton.
const anchorMinText = 64

// maxAnchorScans bounds the searches a text costs (each anchor variant
// is one pass with strings.Index); needles needing more keep the
// automaton.
const maxAnchorScans = 8

// newAnchored picks an anchor for each needle, or returns nil when they
// would cost more than maxAnchorScans passes or some needle has no rare
// enough part. Needles share anchors where they can: an anchor already
// searched for costs only its checks.
func newAnchored(needles []string) *anchored {
	a := &anchored{needles: needles}
	idx := map[string]int{}
	scans := 0
	for k, n := range needles {
		best, off, cost := "", 0, 0.0
		for i := 0; i < len(n); i++ {
			for j := i + 1; j <= len(n) && j-i <= 4; j++ {
				variants, checks := anchorCost(n[i:j])
				if _, ok := idx[n[i:j]]; ok {
					variants = 0
				}
				// A pass more is paid on every text; weigh it so that
				// needles gather on a few anchors without letters.
				if c := 3*variants + checks; best == "" || c < cost {
					best, off, cost = n[i:j], i, c
				}
			}
		}
		if best == "" || cost > 3*maxAnchorScans {
			return nil
		}
		s, ok := idx[best]
		if !ok {
			s = len(a.sets)
			idx[best] = s
			a.sets = append(a.sets, anchorSet{variants: caseVariants(best)})
			scans += len(a.sets[s].variants)
			if scans > maxAnchorScans {
				return nil
			}
		}
		a.sets[s].cands = append(a.sets[s].cands, anchorCand{needle: int32(k), off: off})
	}
	return a
}

// anchorCost estimates, in passes over the text, what searching for sub
// costs: one pass a case variant, and checking its needles wherever it
// occurs, some fifty passes' worth a byte at which it occurs (letters and
// spaces are common in text, digits and path punctuation less, the rest
// rare).
func anchorCost(sub string) (variants, checks float64) {
	variants, freq := 1.0, 1.0
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		switch {
		case c >= 0x80:
			freq *= 0.01
		case 'a' <= c && c <= 'z':
			variants *= 2
			freq *= 0.05
		case c == ' ':
			freq *= 0.15
		case '0' <= c && c <= '9':
			freq *= 0.03
		case c == '.' || c == '\\' || c == '/' || c == '-' || c == '_' || c == ',':
			freq *= 0.03
		default:
			freq *= 0.005
		}
	}
	return variants, 50 * freq
}

// caseVariants is s (lower case) with its ASCII letters in every case.
func caseVariants(s string) []string {
	out := []string{s}
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			for _, v := range out[:len(out):len(out)] {
				b := []byte(v)
				b[i] = c - 'a' + 'A'
				out = append(out, string(b))
			}
		}
	}
	return out
}

// each calls found with every needle occurring in s; s is lower-cased,
// or ASCII to fold as it is compared when fold is set.
func (a *anchored) each(s string, fold bool, found func(needle int32)) {
	for i := range a.sets {
		set := &a.sets[i]
		variants := set.variants
		if !fold {
			variants = variants[:1]
		}
		for _, v := range variants {
			for from := 0; ; {
				j := strings.Index(s[from:], v)
				if j < 0 {
					break
				}
				p := from + j
				for _, c := range set.cands {
					n := a.needles[c.needle]
					start := p - c.off
					if start < 0 || start+len(n) > len(s) {
						continue
					}
					w := s[start : start+len(n)]
					if (fold && eqFoldASCII(w, n)) || (!fold && w == n) {
						found(c.needle)
					}
				}
				from = p + 1 // anchors may overlap
			}
		}
	}
}
