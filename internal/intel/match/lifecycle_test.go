package match

import (
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestLifecycle: decay, allowlist and de-duplication as Build applies
// them (issue 19 item 6).
func TestLifecycle(t *testing.T) {
	day := 24 * time.Hour
	d := intel.DefaultDecay()
	at := func(n int, pat string, conf int, from time.Time, f func(*Indicator)) Indicator {
		i := ind(n, pat)
		i.Confidence, i.ValidFrom = conf, from
		if f != nil {
			f(&i)
		}
		return i
	}
	inds := []Indicator{
		// An address of confidence 80, 59 days old: 80 × 0.5^(59/30) = 20.4, loaded.
		at(0, "[ipv4-addr:value = '198.51.100.1']", 80, now.Add(-59*day), nil),
		// 61 days old: 19.7 < 20, decayed.
		at(1, "[ipv4-addr:value = '198.51.100.2']", 80, now.Add(-61*day), nil),
		// As old, but sighted yesterday: fresh again.
		at(2, "[ipv4-addr:value = '198.51.100.3']", 80, now.Add(-61*day), func(i *Indicator) { i.LastSeen = now.Add(-day) }),
		// A hash decays slowly: 80 × 0.5^(61/365) = 71.
		at(3, "[file:hashes.MD5 = '00112233445566778899aabbccddeeff']", 80, now.Add(-61*day), nil),
		// No confidence: base 50; a domain, 90-day half-life: 50 × 0.5^(100/90) = 23, loaded.
		at(4, "[domain-name:value = 'old.example']", -1, now.Add(-100*day), nil),
		// Allowlisted: never loaded.
		at(5, "[domain-name:value = 'WWW.Google.com']", 90, now, nil),
		// One value allowlisted, the other loaded.
		at(6, "[ipv4-addr:value = '8.8.8.8' OR domain-name:value = 'evil.example']", 90, now, nil),
		// The same value as 4 from another source, GREEN and more confident: merged into 4.
		at(7, "[domain-name:value = 'old.example']", 95, now, func(i *Indicator) { i.Source, i.TLP = "partner-taxii", stix.TLPGreen }),
		// A block holding an allowlisted address: loaded, but a hit on that address is allowlisted.
		at(8, "[ipv4-addr:value ISSUBSET '9.9.0.0/16']", 90, now, nil),
	}
	inds[4].TLP = stix.TLPAmber
	allow := map[string]bool{intel.NormaliseValue("www.google.com."): true, intel.NormaliseValue("8.8.8.8"): true, intel.NormaliseValue("9.9.9.9"): true}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }, Decay: &d, Allow: allow})
	if st.Skipped[SkipDecayed] != 1 || st.Skipped[SkipAllowlisted] != 1 || st.Skipped[SkipMerged] != 1 || st.Indicators != 6 {
		t.Fatalf("stats %+v", st)
	}
	hit := func(field, value string) []Info {
		var out []Info
		for _, h := range ix.Match(&events.Event{Fields: map[string]any{field: value}}, now, nil) {
			out = append(out, ix.Info(h.Indicator))
		}
		return out
	}
	for _, c := range []struct {
		field, value string
		n            int
	}{{"dst", "198.51.100.1", 1}, {"dst", "198.51.100.2", 0}, {"dst", "198.51.100.3", 1}, {"md5", "00112233445566778899aabbccddeeff", 1},
		{"query", "www.google.com", 0}, {"dst", "8.8.8.8", 0}, {"query", "evil.example", 1}} {
		if got := hit(c.field, c.value); len(got) != c.n {
			t.Errorf("%s=%s: %d hits, want %d", c.field, c.value, len(got), c.n)
		}
	}
	for _, c := range []struct {
		value       string
		allowlisted bool
	}{{"9.9.9.9", true}, {"9.9.9.10", false}} {
		hs := ix.Match(&events.Event{Fields: map[string]any{"dst": c.value}}, now, nil)
		if len(hs) != 1 || ix.Allowlisted(hs[0]) != c.allowlisted {
			t.Errorf("%s in a listed block: %+v, allowlisted %v", c.value, hs, c.allowlisted)
		}
	}
	m := hit("query", "old.example")
	if len(m) != 1 || m[0].ID != inds[4].ID || m[0].Source != "feed.json, partner-taxii" || m[0].Confidence != 95 || m[0].TLP != stix.TLPGreen {
		t.Errorf("merged indicator: %+v", m)
	}
	// The formula as documented.
	if s := d.Score(80, []string{"ip"}, now.Add(-30*day), now); s < 39.99 || s > 40.01 {
		t.Errorf("one half-life: %v", s)
	}
	if s := d.Score(80, []string{"ip", "sha256"}, now.Add(-365*day), now); s < 39.99 || s > 40.01 {
		t.Errorf("mixed kinds decay at the slowest rate: %v", s)
	}
}

// TestAllowlistCovers: an allowlisted block covers the addresses and
// blocks inside it, an allowlisted domain the names under it, both when
// the index is built and when a hit is checked.
func TestAllowlistCovers(t *testing.T) {
	allow := map[string]bool{}
	for _, v := range []string{"10.20.0.0/16", "2001:db8::/32", "trusted.example", "192.0.2.7"} {
		allow[intel.NormaliseValue(v)] = true
	}
	inds := []Indicator{
		ind(0, "[ipv4-addr:value = '10.20.3.4']"),                                            // inside the allowlisted block
		ind(1, "[ipv4-addr:value ISSUBSET '10.20.128.0/17']"),                                // a block inside it
		ind(2, "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),                                    // a wider block: loaded
		ind(3, "[domain-name:value = 'cdn.trusted.example']"),                                // under the allowlisted domain
		ind(4, "[domain-name:value = 'nottrusted.example']"),                                 // only a suffix of the text: loaded
		ind(5, "[ipv6-addr:value = '2001:db8::1']"),                                          // inside the v6 block
		ind(6, "[domain-name:value = 'evil.example']"),                                       // loaded
		ind(7, "[ipv4-addr:value = '10.21.0.1' OR domain-name:value = 'a.trusted.example']"), // one value left
	}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }, Allow: allow})
	if st.Skipped[SkipAllowlisted] != 4 || st.Indicators != 4 {
		t.Fatalf("stats %+v", st)
	}
	for _, c := range []struct {
		field, value string
		hits         int
		allowlisted  bool
	}{
		{"dst", "10.20.3.4", 1, true},  // the /8 indicator hits, but the address is allowlisted
		{"dst", "10.30.0.1", 1, false}, // the /8 indicator, not covered
		{"dst", "10.21.0.1", 2, false}, // indicator 7's remaining value, and the /8
		{"query", "x.trusted.example", 0, false},
		{"query", "nottrusted.example", 1, false},
		{"query", "evil.example", 1, false},
	} {
		hs := ix.Match(&events.Event{Fields: map[string]any{c.field: c.value}}, now, nil)
		if len(hs) != c.hits || (len(hs) > 0 && ix.Allowlisted(hs[0]) != c.allowlisted) {
			t.Errorf("%s=%s: %d hits (allowlisted %v), want %d (%v)", c.field, c.value, len(hs), len(hs) > 0 && ix.Allowlisted(hs[0]), c.hits, c.allowlisted)
		}
	}
	// A listed domain whose subdomain is allowlisted: the hit on that
	// subdomain is allowlisted, its siblings are not.
	ix, _ = Build([]Indicator{ind(0, "[domain-name:value = 'shared.example']")}, Options{Now: func() time.Time { return now }, Allow: map[string]bool{"mail.shared.example": true}})
	for v, want := range map[string]bool{"smtp.mail.shared.example": true, "www.shared.example": false} {
		hs := ix.Match(&events.Event{Fields: map[string]any{"query": v}}, now, nil)
		if len(hs) != 1 || ix.Allowlisted(hs[0]) != want {
			t.Errorf("%s: %+v, want allowlisted %v", v, hs, want)
		}
	}
}

// TestDecayPerSourceAndFalsePositives: each indicator decays by its
// source's model; false positives from organisations halve its score
// and withdraw it at the model's count.
func TestDecayPerSourceAndFalsePositives(t *testing.T) {
	day := 24 * time.Hour
	fast := intel.DecayModel{Name: "fast", HalfLifeDays: map[string]float64{"ip": 5}, Threshold: 20, FalsePositiveOrgs: 2}.Decay()
	models := func(src string) intel.Decay {
		if src == "feed:fast" {
			return fast
		}
		return intel.DefaultDecay()
	}
	mk := func(n int, src string, age time.Duration, fps int) Indicator {
		i := ind(n, "[ipv4-addr:value = '198.51.100."+string(rune('1'+n))+"']")
		i.Source, i.Confidence, i.ValidFrom, i.FalsePositiveOrgs = src, 80, now.Add(-age), fps
		return i
	}
	inds := []Indicator{
		mk(0, "feed:fast", 9*day, 0),      // 80 × 0.5^(9/5) = 23: loaded
		mk(1, "feed:fast", 11*day, 0),     // 80 × 0.5^(11/5) = 17.4: decayed
		mk(2, "national.json", 11*day, 0), // standard: 80 × 0.5^(11/30) = 62: loaded
		mk(3, "national.json", 0, 1),      // one false positive: 40, loaded
		mk(4, "national.json", 0, 2),      // two: 20, loaded (not under 20)
		mk(5, "national.json", 30*day, 2), // 40 / 4 = 10: lowered by false positives
		mk(6, "feed:fast", 0, 2),          // the fast model withdraws at 2
		mk(7, "national.json", 0, 3),      // standard withdraws at 3
	}
	_, st := Build(inds, Options{Now: func() time.Time { return now }, DecayFor: models})
	if st.Indicators != 4 || st.Skipped[SkipDecayed] != 1 || st.Skipped[SkipFalsePositive] != 3 {
		t.Fatalf("stats %+v", st)
	}
	if s := fast.ScoreWith(80, []string{"ip"}, now, now, 1); s != 40 {
		t.Errorf("one false positive: %v", s)
	}
	if s := intel.DefaultDecay().ScoreWith(80, []string{"ip"}, now, now, 3); s != 0 {
		t.Errorf("withdrawn: %v", s)
	}
}
