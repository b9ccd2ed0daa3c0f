package match

import (
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// FuzzMatch: any pattern (feeds are untrusted) and any event value (so
// are events) build and match without panicking, and an exact value
// loaded is found again in a field of its kind.
func FuzzMatch(f *testing.F) {
	for _, s := range []struct{ pat, field, value string }{
		{"[ipv4-addr:value = '198.51.100.7']", "DestinationIp", "198.51.100.7"},
		{"[ipv4-addr:value ISSUBSET '10.0.0.0/8']", "src", "10.1.2.3:443"},
		{"[ipv6-addr:value ISSUBSET '2001:db8::/32']", "dst", "[2001:db8::1]:443"},
		{"[domain-name:value = 'evil.example']", "QueryName", "a.b.EVIL.example."},
		{"[url:value = 'http://x.example/a?b']", "url", "HTTPS://user@X.example:8080/a?b#c"},
		{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "Hashes", "MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=zz"},
		{"[email-addr:value = 'a@b.example']", "to", "X <A@B.example>; c@d, <>@"},
		{"[network-traffic:extensions.'x'.ja3 = 'e7d705a3286e19ea42f587b344ee6865'] OR [domain-name:value IN ('a.b', 'c.d')]", "ja3", "e7d705a3286e19ea42f587b344ee6865"},
		{"[url:value = '://']", "uri", "/"},
		{"[domain-name:value = '.']", "host", "..."},
		{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name LIKE '%.exe']", "Image", `C:\\x\\evil.exe`},
		{"[domain-name:value LIKE '%.evil.example'] FOLLOWEDBY [url:value MATCHES '^http://(a|b)+$'] WITHIN 5 SECONDS", "url", "http://abab"},
		{"([ipv4-addr:value = '10.0.0.1'] AND [user-account:account_login NOT LIKE 'svc_%' AND ipv4-addr:value = '10.0.0.2']) REPEATS 2 TIMES", "src", "10.0.0.1"},
		{"[email-message:subject MATCHES '(?i)invoice' AND email-addr:value = 'a@b.example'] START t'2026-01-01T00:00:00Z' STOP t'2027-01-01T00:00:00Z'", "from", "a@b.example"},
	} {
		f.Add(s.pat, s.field, s.value)
	}
	f.Fuzz(func(t *testing.T, pat, field, value string) {
		inds := []Indicator{{ID: "indicator--00000000-0000-4000-8000-000000000001", Pattern: pat},
			{ID: "indicator--00000000-0000-4000-8000-000000000002", Pattern: "[domain-name:value = 'evil.example'] OR [ipv4-addr:value ISSUBSET '10.0.0.0/8']"}}
		ix, _ := Build(inds, Options{Now: func() time.Time { return now }, KeepValues: true})
		m := NewMatcher(ix)
		for _, name := range []string{field, "url", "host", "uri", "dst", "Hashes", "to", "user_agent", "ja3", "query"} {
			ev := &events.Event{Fields: map[string]any{name: value, "uri": value, "host": value}}
			for _, h := range ix.Match(ev, now, nil) {
				if int(h.Indicator) >= ix.Len() {
					t.Fatalf("hit of indicator %d of %d", h.Indicator, ix.Len())
				}
				_ = ix.Info(h.Indicator)
			}
			ev.Fields = map[string]any{name: []any{value, 1.0, nil, true}, "subject": value, "Image": value, "user": value}
			ix.Match(ev, now, nil)
			for range 3 {
				_, hs := m.Match(ev, now, nil)
				for _, h := range hs {
					if h.obs != 0 || int(h.Indicator) >= ix.Len() {
						t.Fatalf("hit %+v", h)
					}
				}
			}
		}
		RetroQueries(ix.Values())
	})
}
