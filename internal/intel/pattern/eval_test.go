package pattern

import (
	"errors"
	"testing"
)

func TestMatch(t *testing.T) {
	ev := Fields{
		"ipv4-addr:value":                    {"10.1.2.3"},
		"ipv6-addr:value":                    {"2001:db8:dead:beef::1"},
		"domain-name:value":                  {"Mail.Example.COM"},
		"url:value":                          {"http://example.com/foo"},
		"file:hashes.'SHA-256'":              {"AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F"},
		"file:hashes.MD5":                    {"cead3f77f6cda6ec00f57d76c9a6879f"},
		"file:name":                          {"Final Report.exe"},
		"file:size":                          {"371712"},
		"file:created":                       {"2014-01-13T07:03:17Z"},
		"file:magic_number_hex":              {"ffd8"},
		"email-addr:value":                   {"JDoe@example.com"},
		"network-traffic:dst_ref.value":      {"203.0.113.33"},
		"domain-name:resolves_to_refs.value": {"198.51.100.1", "198.51.100.7"},
		"process:is_hidden":                  {"true"},
	}
	for src, want := range map[string]bool{
		`[ipv4-addr:value = '10.1.2.3']`:                                                                                   true,
		`[ipv4-addr:value = '10.1.2.3/32']`:                                                                                true,
		`[ipv4-addr:value = '10.1.2.4']`:                                                                                   false,
		`[ipv4-addr:value ISSUBSET '10.0.0.0/8']`:                                                                          true,
		`[ipv4-addr:value ISSUBSET '10.1.3.0/24']`:                                                                         false,
		`[ipv4-addr:value NOT ISSUBSET '192.168.0.0/16']`:                                                                  true,
		`[ipv6-addr:value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`:                                          true,
		`[ipv4-addr:value ISSUBSET '::/0']`:                                                                                false,
		`[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24']`:                                                        true,
		`[domain-name:value = 'mail.example.com']`:                                                                         true,
		`[domain-name:value LIKE '%.example.com']`:                                                                         true,
		`[domain-name:value LIKE 'example.com']`:                                                                           false,
		`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`:                                   true,
		`[url:value MATCHES '^http://example\\.com/']`:                                                                     true,
		`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`:                     true,
		`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:name = 'x']`: false,
		`[file:hashes.MD5 IN ('79054025255fb1a26e4bc422aef54eb4', 'cead3f77f6cda6ec00f57d76c9a6879f')]`:                    true,
		`[file:size > 1024 AND file:size <= 371712]`:                                                                       true,
		`[file:size < 1024]`:                                       false,
		`[file:size = 371712]`:                                     true,
		`[file:size != 371712]`:                                    false,
		`[file:created >= t'2014-01-01T00:00:00Z']`:                true,
		`[file:magic_number_hex = h'FFD8']`:                        true,
		`[email-addr:value = 'jdoe@example.com']`:                  true,
		`[domain-name:resolves_to_refs[*].value = '198.51.100.7']`: true,
		`[domain-name:resolves_to_refs[0].value = '198.51.100.7']`: false,
		`[domain-name:resolves_to_refs[1].value = '198.51.100.7']`: true,
		`[domain-name:resolves_to_refs[5].value = '198.51.100.7']`: false,
		`[EXISTS file:name]`:                                       true,
		`[NOT EXISTS file:name]`:                                   false,
		`[NOT EXISTS file:path]`:                                   true,
		`[file:path != 'x']`:                                       false, // absent: false even negated
		`[file:name NOT = 'x']`:                                    true,
		`[process:is_hidden = true]`:                               true,
		`([file:name = 'x'] OR [ipv4-addr:value = '10.1.2.3'])`:    true,
		`[file:name = 'x'] OR [url:value = 'nope']`:                false,
	} {
		p, err := Parse(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		m, err := Compile(p)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := m.Match(ev); got != want {
			t.Errorf("%s: match %v, want %v", src, got, want)
		}
	}
}

func TestCompileNotSingle(t *testing.T) {
	for _, src := range []string{
		`[a:b = 1] AND [a:b = 2]`,
		`[a:b = 1] FOLLOWEDBY [a:b = 2]`,
		`[a:b = 1] WITHIN 5 SECONDS`,
		`([a:b = 1] OR [a:b = 2]) REPEATS 2 TIMES`,
	} {
		p, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(p); !errors.Is(err, ErrNotSingle) {
			t.Errorf("%s: %v, want ErrNotSingle", src, err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	m := MustCompile(`[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR domain-name:value = 'evil.example']`)
	ev := Fields{"ipv4-addr:value": {"192.168.1.1"}, "domain-name:value": {"good.example"}}
	b.ReportAllocs()
	for b.Loop() {
		m.Match(ev)
	}
}
