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
