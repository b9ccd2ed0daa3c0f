package sigma

import (
	"strings"
	"testing"
)

func TestACSearcher(t *testing.T) {
	a := newACSearcher([]string{"he", "she", "his", "hers", "\\cmd.exe", "a\x00b"})
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"ushers", true},
		{"USHERS", true},
		{"hi", false},
		{"this", true},
		{"c:\\windows\\CMD.EXE /c", true},
		{"cmd.exe", false},
		{"xa\x00by", true},
		{"", false},
		{"h", false},
	} {
		if got := a.scan(c.s, true); got != c.want {
			t.Errorf("contains(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// FuzzACSearcher checks the automaton against strings.Contains on the
// lower-cased text, for any needles and ASCII text.
func FuzzACSearcher(f *testing.F) {
	f.Add("ushers", "he", "she", "his", "hers")
	f.Add("aaaaab", "aab", "ab", "b", "aaaa")
	f.Add("xyz", "q", "r", "s", "t")
	f.Fuzz(func(t *testing.T, s, n1, n2, n3, n4 string) {
		if !isASCII(s) {
			return
		}
		var needles []string
		for _, n := range []string{n1, n2, n3, n4} {
			if n != "" {
				needles = append(needles, lowerPattern(n))
			}
		}
		if len(needles) == 0 {
			return
		}
		a := newACSearcher(needles)
		if a == nil {
			return
		}
		want := false
		for _, n := range needles {
			want = want || strings.Contains(strings.ToLower(s), n)
		}
		if got := a.scan(s, true); got != want {
			t.Fatalf("contains(%q) over %q = %v, want %v", s, needles, got, want)
		}
	})
}

// FuzzACMulti checks that the prefilter's automaton reports every needle
// as often as it occurs (strings.Count, overlaps included).
func FuzzACMulti(f *testing.F) {
	f.Add("ushers", "he", "she", "his", "hers")
	f.Add("aaaaab", "aab", "ab", "b", "aaaa")
	f.Add("xyz", "q", "r", "s", "t")
	f.Add("abab", "ab", "ab", "bab", "a")
	f.Fuzz(func(t *testing.T, s, n1, n2, n3, n4 string) {
		var needles []string
		for _, n := range []string{n1, n2, n3, n4} {
			if n != "" {
				needles = append(needles, n)
			}
		}
		a := newACMulti(needles)
		if a == nil {
			return
		}
		got := make([]int, len(needles))
		a.each(s, false, func(k int32) { got[k]++ })
		for k, n := range needles {
			want := 0
			for i := 0; i+len(n) <= len(s); i++ {
				if s[i:i+len(n)] == n {
					want++
				}
			}
			if got[k] != want {
				t.Fatalf("needle %q in %q: reported %d times, occurs %d", n, s, got[k], want)
			}
		}
	})
}

// FuzzAnchored checks the anchor search against strings.Count on the
// folded text: every needle reported as often as it occurs.
func FuzzAnchored(f *testing.F) {
	f.Add("privilege::debug and SEKURLSA::x", "sekurlsa::", "privilege::debug", "eo.oe.kiwi", "kiwi legit printer")
	f.Add("::::", "::", ":::", "a::", "::b")
	f.Fuzz(func(t *testing.T, s, n1, n2, n3, n4 string) {
		if !isASCII(s) {
			return
		}
		var needles []string
		for _, n := range []string{n1, n2, n3, n4} {
			if n != "" {
				needles = append(needles, strings.ToLower(n))
			}
		}
		a := newAnchored(needles)
		if a == nil {
			return
		}
		lower := strings.ToLower(s)
		for _, fold := range []bool{true, false} {
			text := s
			if !fold {
				text = lower
			}
			got := make([]int, len(needles))
			a.each(text, fold, func(k int32) { got[k]++ })
			for k, n := range needles {
				want := 0
				for i := 0; i+len(n) <= len(lower); i++ {
					if lower[i:i+len(n)] == n {
						want++
					}
				}
				if got[k] != want {
					t.Fatalf("fold %v: needle %q in %q: reported %d times, occurs %d", fold, n, s, got[k], want)
				}
			}
		}
	})
}
