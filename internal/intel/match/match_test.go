package match

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

var now = time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)

func ind(n int, pat string) Indicator {
	return Indicator{ID: fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", n), Pattern: pat, Source: "feed.json", Confidence: 80}
}

// hitsOf is "indicator-number:kind:field:value[:listed]" for each hit.
func hitsOf(ix *Index, fields map[string]any) []string {
	ev := &events.Event{ID: "e1", Org: "RJ1", Fields: fields}
	var out []string
	for _, h := range ix.Match(ev, now, nil) {
		var n int // the indicator's number, from its id
		_, _ = fmt.Sscanf(ix.Info(h.Indicator).ID, "indicator--%08x", &n)
		s := fmt.Sprintf("%d:%s:%s:%s", n, h.Kind, h.Field, h.Value)
		if h.Listed != "" {
			s += ":" + h.Listed
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestMatch(t *testing.T) {
	inds := []Indicator{
		ind(0, "[ipv4-addr:value = '198.51.100.7']"),
		ind(1, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"),
		ind(2, "[ipv4-addr:value = '203.0.0.0/8']"), // encloses 1
		ind(3, "[domain-name:value = 'evil.example']"),
		ind(4, "[url:value = 'HTTP://Bad.Example/dl/payload.exe']"),
		ind(5, "[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']"),
		ind(6, "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"),
		ind(7, "[email-addr:value = 'phish@lure.example']"),
		ind(8, "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'EvilBot/1.0']"),
		ind(9, "[network-traffic:extensions.'x-tls'.ja3 = 'e7d705a3286e19ea42f587b344ee6865']"),
		ind(10, "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']"),
		ind(11, "[domain-name:value = 'evil.example']"), // a second source for the same domain: merged into 3
		ind(12, "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')] OR [domain-name:value = 'lure.example']"),
		ind(13, "[ipv6-addr:value ISSUBSET '::ffff:100.64.0.0/106']"),
	}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }})
	if st.Indicators != len(inds)-1 || len(st.Skipped) != 1 || st.Skipped[SkipMerged] != 1 {
		t.Fatalf("stats %+v", st)
	}
	cases := []struct {
		name   string
		fields map[string]any
		want   []string
	}{
		{"exact address", map[string]any{"DestinationIp": "198.51.100.7"}, []string{"0:ip:DestinationIp:198.51.100.7"}},
		{"mapped address", map[string]any{"IpAddress": "::ffff:198.51.100.7"}, []string{"0:ip:IpAddress:::ffff:198.51.100.7"}},
		{"nested blocks", map[string]any{"id.resp_h": "203.0.113.9"}, []string{"1:ip:id.resp_h:203.0.113.9:203.0.113.0/24", "2:ip:id.resp_h:203.0.113.9:203.0.0.0/8"}},
		{"outer block only", map[string]any{"dst": "203.9.9.9"}, []string{"2:ip:dst:203.9.9.9:203.0.0.0/8"}},
		{"no block", map[string]any{"dst": "204.0.0.1", "src": "202.255.255.255"}, nil},
		{"ipv6 block", map[string]any{"destination.ip": "2001:db8:bad:1::5"}, []string{"10:ip:destination.ip:2001:db8:bad:1::5:2001:db8:bad::/48"}},
		{"domain, two sources merged", map[string]any{"QueryName": "Evil.Example."}, []string{"3:domain:QueryName:Evil.Example."}},
		{"subdomain", map[string]any{"dns.rrname": "a.b.evil.example"}, []string{"3:domain:dns.rrname:a.b.evil.example:evil.example"}},
		{"look-alike is not a subdomain", map[string]any{"query": "notevil.example"}, nil},
		{"url without scheme", map[string]any{"url": "bad.example/dl/payload.exe"}, []string{"4:url:url:bad.example/dl/payload.exe"}},
		{"url path joined to host", map[string]any{"host": "BAD.example", "uri": "/dl/payload.exe"}, []string{"4:url:uri:bad.example/dl/payload.exe"}},
		{"url's host is a domain", map[string]any{"url.full": "https://x.evil.example:8443/a"}, []string{"3:domain:url.full:x.evil.example:evil.example"}},
		{"sysmon hashes", map[string]any{"Hashes": "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=00000000000000000000000000000000"},
			[]string{"5:sha256:Hashes:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "6:md5:Hashes:D41D8CD98F00B204E9800998ECF8427E", "6:sha1:Hashes:DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}},
		{"email in a list", map[string]any{"to": []any{"x@nhs.net", "Lure <Phish@Lure.example>"}}, []string{"12:domain:to:Lure.example", "7:email:to:Phish@Lure.example"}},
		{"user agent", map[string]any{"user_agent": "EvilBot/1.0"}, []string{"8:user-agent:user_agent:EvilBot/1.0"}},
		{"ja3", map[string]any{"tls.ja3.hash": "E7D705A3286E19EA42F587B344EE6865"}, []string{"9:ja3:tls.ja3.hash:E7D705A3286E19EA42F587B344EE6865"}},
		{"IN and OR", map[string]any{"src_ip": "192.0.2.2"}, []string{"12:ip:src_ip:192.0.2.2"}},
		{"address with port", map[string]any{"src": "192.0.2.1:51515"}, []string{"12:ip:src:192.0.2.1:51515"}},
		{"mapped block is IPv4", map[string]any{"src": "100.64.1.1", "dst": "::ffff:100.64.9.9"}, []string{"13:ip:dst:::ffff:100.64.9.9:100.64.0.0/10", "13:ip:src:100.64.1.1:100.64.0.0/10"}},
		{"unknown field", map[string]any{"CommandLine": "198.51.100.7 evil.example"}, nil},
		{"numbers and bools ignored", map[string]any{"dst": 3.0, "query": true}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hitsOf(ix, c.fields); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
	info := ix.Info(3)
	if info.ID != inds[3].ID || info.Source != "feed.json" || info.Confidence != 80 {
		t.Errorf("info %+v", info)
	}
}

// TestBuildSkips: what is revoked, expired, not yet valid, not stix, too
// restricted, invalid or not indexable is left out and counted.
func TestBuildSkips(t *testing.T) {
	mk := func(n int, f func(*Indicator)) Indicator {
		i := ind(n, "[ipv4-addr:value = '10.0.0.1']")
		f(&i)
		return i
	}
	inds := []Indicator{
		mk(0, func(i *Indicator) {}),
		mk(1, func(i *Indicator) { i.Revoked = true }),
		mk(2, func(i *Indicator) { i.ValidUntil = now.Add(-time.Second) }),
		mk(3, func(i *Indicator) { i.ValidFrom = now.Add(time.Hour) }),
		mk(4, func(i *Indicator) { i.PatternType = "sigma" }),
		mk(5, func(i *Indicator) { i.TLP = stix.TLPRed }),
		mk(6, func(i *Indicator) { i.Pattern = "[ipv4-addr:value = ]" }),
		mk(7, func(i *Indicator) {
			i.Pattern = "[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']"
		}),
		mk(8, func(i *Indicator) { i.Pattern = "[process:name = 'evil.exe']" }),
		mk(9, func(i *Indicator) {
			i.ValidUntil = now.Add(time.Minute)
			i.Pattern = "[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.9']" // other values: not merged with 0
		}),
	}
	ix, st := Build(inds, Options{Now: func() time.Time { return now }})
	// 7, over two events, is loaded (window.go); 8 has no value to index on.
	want := map[string]int{SkipRevoked: 1, SkipExpired: 1, SkipNotYetValid: 1, SkipPatternType: 1, SkipTLP: 1, SkipInvalid: 1, SkipNoAnchor: 1}
	if st.Indicators != 3 || fmt.Sprint(st.Skipped) != fmt.Sprint(want) {
		t.Fatalf("stats %+v", st)
	}
	ev := &events.Event{Fields: map[string]any{"dst": "10.0.0.1"}}
	if n := len(ix.Match(ev, now, nil)); n != 2 {
		t.Errorf("%d hits now, want 2", n)
	}
	// Indicator 9 runs out while loaded: a hit checks valid_until.
	if hs := ix.Match(ev, now.Add(2*time.Minute), nil); len(hs) != 1 || ix.Info(hs[0].Indicator).ID != inds[0].ID {
		t.Errorf("after valid_until: %+v", hs)
	}
}

// TestNormaliseBlocks: a v4-mapped block narrower than the mapped range
// is IPv4; a wider one stays IPv6 (and so holds every IPv4 address).
func TestNormaliseBlocks(t *testing.T) {
	for in, want := range map[string]string{"::ffff:10.0.0.0/104": "10.0.0.0/8", "::ffff:0:0/90": "::ffc0:0:0/90", "10.1.2.3/8": "10.0.0.0/8", "fe80::1%eth0": "fe80::1"} {
		v, err := Normalise(KindIP, in)
		if err != nil || v.Text != want {
			t.Errorf("%s: %q, %v; want %s", in, v.Text, err, want)
		}
	}
}

func TestValuesUnsupported(t *testing.T) {
	for _, src := range []string{
		"[ipv4-addr:value = '10.0.0.1' AND ipv4-addr:value = '10.0.0.2']",
		"[ipv4-addr:value != '10.0.0.1']",
		"[ipv4-addr:value = '10.0.0.1'] WITHIN 10 SECONDS",
		"[domain-name:value LIKE '%.evil.example']",
		"[file:hashes.'SHA-512' = '" + strings.Repeat("a", 128) + "']",
		"[url:value NOT = 'http://x/']",
	} {
		p, err := pattern.Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := Values(p); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", src, err)
		}
	}
}

// TestBlocksAgainstScan compares the range table with a scan of every
// block, over nested, adjacent and disjoint blocks of both families.
func TestBlocksAgainstScan(t *testing.T) {
	var pats []Indicator
	blocksText := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.2.0.0/16", "11.0.0.0/8", "0.0.0.0/1", "192.168.0.0/16", "192.168.255.255/32",
		"2001:db8::/32", "2001:db8:1::/48", "::/0", "255.255.255.0/24"}
	for i, b := range blocksText {
		pats = append(pats, ind(i, "[ipv4-addr:value ISSUBSET '"+b+"']"))
	}
	ix, st := Build(pats, Options{Now: func() time.Time { return now }})
	if st.Indicators != len(pats) {
		t.Fatalf("%+v", st)
	}
	for _, a := range []string{"10.0.0.0", "10.1.2.127", "10.1.2.128", "10.1.2.255", "10.1.3.0", "10.2.255.255", "10.3.0.0", "11.255.255.255", "12.0.0.0", "127.0.0.1",
		"128.0.0.0", "192.168.255.255", "192.168.255.254", "2001:db8:1::1", "2001:db8:2::", "2001:db9::", "::1", "255.255.255.255", "0.0.0.0"} {
		v, _ := Normalise(KindIP, a)
		var want []string
		for _, b := range blocksText {
			bv, _ := Normalise(KindIP, b)
			if bv.Prefix.Contains(v.Prefix.Addr()) || bv.Prefix.Bits() == 0 && bv.Prefix.Addr().Is6() {
				want = append(want, bv.Text)
			}
		}
		var got []string
		for _, h := range ix.Match(&events.Event{Fields: map[string]any{"dst": a}}, now, nil) {
			got = append(got, cmpOr(h.Listed, h.Value+"/32"))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v want %v", a, got, want)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
