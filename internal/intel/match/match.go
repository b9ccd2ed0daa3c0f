package match

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// What the fields of a normalised event hold. Ingest keeps each format's
// own field names (internal/ingest: Sysmon's DestinationIp, Zeek's
// id.resp_h, Suricata's dest_ip, CEF's dst, ECS's destination.ip, …), so
// the matcher knows the names that carry each kind of value; a name is
// compared in lower case.
const (
	fIP       = 1 << iota // an address (or address:port)
	fHost                 // a domain name, or an address
	fURL                  // a URL, or a path joined to the event's HTTP host
	fHTTPHost             // the HTTP host a path field goes with
	fHash                 // hex hashes, alone or as Sysmon's "SHA1=…,MD5=…"
	fEmail                // e-mail addresses ("Name <a@b>", lists)
	fUA                   // a user agent
	fJA3                  // a JA3 fingerprint
)

// Fields maps the (lower-case) field names the matcher reads to what
// they hold. docs/intel.md lists them.
var fieldKinds = map[string]uint8{
	// Addresses: Sysmon, Windows, Zeek, Suricata, NetFlow, CEF/LEEF,
	// Microsoft 365 and Entra ID, ECS.
	"sourceip": fIP, "destinationip": fIP, "ipaddress": fIP, "sourceaddress": fIP, "destaddress": fIP,
	"destinationaddress": fIP, "src_ip": fIP, "dest_ip": fIP, "dst_ip": fIP, "src": fIP, "dst": fIP,
	"srcip": fIP, "dstip": fIP, "src_addr": fIP, "dst_addr": fIP, "srcaddr": fIP, "dstaddr": fIP,
	"id.orig_h": fIP, "id.resp_h": fIP, "clientip": fIP, "clientipaddress": fIP, "actoripaddress": fIP,
	"calleripaddress": fIP, "remoteip": fIP, "remote_ip": fIP, "client_ip": fIP, "c-ip": fIP, "s-ip": fIP,
	"source.ip": fIP, "destination.ip": fIP, "client.ip": fIP, "server.ip": fIP, "related.ip": fIP,
	"source.address": fIP | fHost, "destination.address": fIP | fHost, "host.ip": fIP, "x-forwarded-for": fIP,
	"answers": fIP | fHost, "dns.answers.data": fIP | fHost,
	// Domains and host names.
	"queryname": fHost, "query": fHost, "rrname": fHost, "dns.rrname": fHost, "dns.query": fHost,
	"dns.question.name": fHost, "destinationhostname": fHost, "dhost": fHost, "server_name": fHost,
	"tls.sni": fHost, "sni": fHost, "tls.client.server_name": fHost, "url.domain": fHost,
	"destination.domain": fHost, "server.domain": fHost, "dns.queries.rrname": fHost,
	"host": fHost | fHTTPHost, "http.hostname": fHost | fHTTPHost, "cs-host": fHost | fHTTPHost,
	"hostname": fHost | fHTTPHost,
	// URLs (a value starting with / is a path: Zeek's uri, Suricata's http.url).
	"url": fURL, "url.full": fURL, "url.original": fURL, "request": fURL, "requesturl": fURL,
	"requesturi": fURL, "request_url": fURL, "uri": fURL, "http.url": fURL, "cs-uri": fURL,
	"target_url": fURL, "referrer": fURL, "http.http_refer": fURL,
	// Hashes.
	"hashes": fHash, "hash": fHash, "md5": fHash, "sha1": fHash, "sha256": fHash, "filehash": fHash,
	"file.hash.md5": fHash, "file.hash.sha1": fHash, "file.hash.sha256": fHash,
	"process.hash.md5": fHash, "process.hash.sha1": fHash, "process.hash.sha256": fHash,
	"fileinfo.md5": fHash, "fileinfo.sha1": fHash, "fileinfo.sha256": fHash,
	"hash.md5": fHash, "hash.sha1": fHash, "hash.sha256": fHash, "sha256hash": fHash, "md5hash": fHash,
	// E-mail.
	"sender": fEmail, "recipient": fEmail, "recipients": fEmail, "from": fEmail, "to": fEmail, "cc": fEmail,
	"mailfrom": fEmail, "rcptto": fEmail, "senderaddress": fEmail, "recipientaddress": fEmail,
	"p1sender": fEmail, "email.from.address": fEmail, "email.to.address": fEmail,
	"email.sender.address": fEmail, "email.cc.address": fEmail, "return_path": fEmail,
	// User agents and JA3.
	"useragent": fUA, "user_agent": fUA, "user_agent.original": fUA, "http.http_user_agent": fUA,
	"http_user_agent": fUA, "requestclientapplication": fUA, "cs(user-agent)": fUA, "cs-user-agent": fUA,
	"ja3": fJA3, "ja3_hash": fJA3, "tls.ja3.hash": fJA3, "tls.client.ja3": fJA3,
}

// nameFilter rejects most field names without hashing them: a bit for
// each (length, first, last letter) of a known name. Hashing every name
// of every event was 40% of matching time.
var nameFilter = func() (f [nameFilterBits / 64]uint64) {
	for k := range fieldKinds {
		h := nameBit(len(k), k[0], k[len(k)-1])
		f[h/64] |= 1 << (h % 64)
	}
	return f
}()

const nameFilterBits = 8192

func nameBit(n int, first, last byte) uint {
	return (uint(n)*131 + uint(lower(first))*31 + uint(lower(last))) % nameFilterBits
}

// FieldNames lists the field names the matcher reads (lower case).
func FieldNames() []string {
	out := make([]string, 0, len(fieldKinds))
	for k := range fieldKinds {
		out = append(out, k)
	}
	return out
}

// Hit is one indicator value found in an event.
type Hit struct {
	// Indicator is the indicator's number in the Index (Index.Info).
	Indicator uint32
	Kind      Kind
	// Field is the event's field; Value what in it matched (the field's
	// value, or the part of it that is an address, host or hash).
	Field, Value string
	// Listed is the indicator's value when it differs from Value: the
	// listed domain a subdomain falls under, the CIDR block an address
	// falls in.
	Listed string
	// Events is how many events a match of a pattern over several
	// events (window.go) spans, this one the last; 0 for one event.
	Events int
	// obs are the observations of a pattern over several events this
	// event satisfies, before the Window decides.
	obs uint64
}

// scratch is the per-call state of Match, on the stack.
type scratch struct {
	hits           []Hit
	now            uint32
	org            string
	cand           bool // a hit is of an indicator decided beyond the index
	host, hostName string
	path, pathName string
	lastHost       string
	buf            [512]byte
}

// Match appends to dst the hits of ev's fields and returns it. It
// allocates nothing for an event without a hit. Patterns over several
// events need a Window and are left out: Matcher.Match decides them.
func (ix *Index) Match(ev *events.Event, now time.Time, dst []Hit) []Hit {
	return ix.match(ev, now, dst, false)
}

// match is Match; with partial, the hits of patterns over several
// events are kept, carrying the observations the event satisfies.
func (ix *Index) match(ev *events.Event, now time.Time, dst []Hit, partial bool) []Hit {
	if len(ix.inds) == 0 {
		return dst
	}
	start := len(dst)
	s := scratch{hits: dst, now: uint32(max(now.Unix(), 0)), org: ev.Org}
	var nb [64]byte
	for name, v := range ev.Fields {
		if len(name) > len(nb) || len(name) == 0 {
			continue
		}
		if h := nameBit(len(name), name[0], name[len(name)-1]); nameFilter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for i := 0; i < len(name); i++ {
			nb[i] = lower(name[i])
		}
		f := fieldKinds[string(nb[:len(name)])]
		if f == 0 {
			continue
		}
		switch x := v.(type) {
		case string:
			ix.value(&s, name, f, x)
		case []any:
			for _, e := range x {
				if t, ok := e.(string); ok {
					ix.value(&s, name, f, t)
				}
			}
		}
	}
	if s.host != "" && s.path != "" && len(ix.url) > 0 && len(s.host)+len(s.path) < len(s.buf) {
		b := s.buf[:0]
		for i := 0; i < len(s.host); i++ {
			b = append(b, lower(s.host[i]))
		}
		b = append(b, s.path...)
		if p, ok := ix.url[string(b)]; ok {
			ix.emit(&s, p, KindURL, s.pathName, string(b), "")
		}
		if len(ix.scans[KindURL]) > 0 {
			ix.scan(&s, KindURL, s.pathName, s.host+s.path)
		}
	}
	if s.cand {
		return ix.resolve(ev, s.hits, start, partial)
	}
	return s.hits
}

// scan runs the LIKE/MATCHES scans of kind k on v.
func (ix *Index) scan(s *scratch, k Kind, name, v string) {
	if len(v) > maxScanLen {
		return
	}
	for i := range ix.scans[k] {
		sc := &ix.scans[k][i]
		if sc.test(v) {
			ix.emit(s, sc.ind, k, name, v, "")
		}
	}
}

// resolve decides the candidate hits from start on: those of
// indicators the index decides alone stay; the others stay when the
// event satisfies an observation of the pattern in full — with partial,
// a pattern over several events keeps one hit carrying the
// observations satisfied; without, it is dropped.
func (ix *Index) resolve(ev *events.Event, hits []Hit, start int, partial bool) []Hit {
	v := viewOf(ev)
	masks := map[uint32]uint64{}
	out := hits[:start]
	for _, h := range hits[start:] {
		x := ix.inds[h.Indicator].extra
		if x == 0 {
			out = append(out, h)
			continue
		}
		c := ix.complex[x-1]
		m, seen := masks[h.Indicator]
		if !seen {
			m = c.mask(v)
			masks[h.Indicator] = m
		}
		switch {
		case m == 0:
		case c.expr == nil:
			out = append(out, h)
		case partial && !seen:
			h.obs = m
			out = append(out, h)
		}
	}
	return out
}

func (ix *Index) value(s *scratch, name string, f uint8, v string) {
	v = strings.TrimSpace(v)
	if v == "" || v == "-" {
		return
	}
	if f&fIP != 0 {
		if ix.addr(s, name, v) || f&fHost == 0 {
			return
		}
	}
	if f&fHTTPHost != 0 && s.host == "" {
		s.host, s.hostName = v, name
	}
	if f&fHost != 0 {
		ix.host(s, name, v)
	}
	if f&fURL != 0 {
		ix.urlValue(s, name, v)
	}
	if f&fHash != 0 {
		ix.hashes(s, name, v)
	}
	if f&fEmail != 0 {
		ix.emails(s, name, v)
	}
	if f&fUA != 0 && len(ix.ua) > 0 {
		if p, ok := ix.ua[v]; ok {
			ix.emit(s, p, KindUserAgent, name, v, "")
		}
	}
	if f&fUA != 0 && len(ix.scans[KindUserAgent]) > 0 {
		ix.scan(s, KindUserAgent, name, v)
	}
	if f&fJA3 != 0 && len(v) == 32 {
		var k [16]byte
		if decodeHex(k[:], v) {
			if p, ok := ix.ja3[k]; ok {
				ix.emit(s, p, KindJA3, name, v, "")
			}
		}
	}
}

// addr looks an address (or address:port) up, reporting whether v was one.
func (ix *Index) addr(s *scratch, name, v string) bool {
	a, err := netip.ParseAddr(v)
	if err != nil {
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			return false
		}
		a = ap.Addr()
	}
	a = a.Unmap()
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	if a.Is4() {
		if len(ix.ip4) > 0 {
			b := a.As4()
			k := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			if ix.ip4Bloom.has(hashU32(k)) {
				if p, ok := ix.ip4[k]; ok {
					ix.emit(s, p, KindIP, name, v, "")
				}
			}
		}
	} else if len(ix.ip) > 0 {
		if p, ok := ix.ip[a.As16()]; ok {
			ix.emit(s, p, KindIP, name, v, "")
		}
	}
	if len(ix.cidr.b) > 0 {
		for e := ix.cidr.innermost(addrKey(a)); e >= 0; e = ix.cidr.b[e].parent {
			ix.emitBlock(s, e, name, v)
		}
	}
	return true
}

func (ix *Index) emitBlock(s *scratch, e int32, name, v string) {
	b := &ix.cidr.b[e]
	if !ix.any(s, b.post) {
		return
	}
	ix.emit(s, b.post, KindIP, name, v, b.prefix.String())
}

// any says whether a posting holds an indicator still valid: the work of
// formatting what matched is done only then.
func (ix *Index) any(s *scratch, p uint32) bool {
	if p&multiBit == 0 {
		return ix.valid(s, p)
	}
	for _, i := range ix.multi[p&^multiBit] {
		if ix.valid(s, i) {
			return true
		}
	}
	return false
}

// host looks a host name up: an address as an address, a domain and
// every domain it is under (a.b.evil.example under evil.example).
func (ix *Index) host(s *scratch, name, v string) {
	if c := v[0]; (c >= '0' && c <= '9' || c == '[' || strings.IndexByte(v, ':') >= 0) && ix.addr(s, name, strings.Trim(v, "[]")) {
		return
	}
	if len(ix.scans[KindDomain]) > 0 {
		ix.scan(s, KindDomain, name, strings.TrimSuffix(v, "."))
	}
	if len(ix.domain) == 0 || len(v) > 253 || v == s.lastHost {
		return // nothing listed, not a name, or the host just looked up (a URL's, then dhost)
	}
	b := s.buf[:0]
	dots := 0
	for i := 0; i < len(v); i++ {
		c := lower(v[i])
		if c == '.' {
			dots++
		}
		b = append(b, c)
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
		dots--
	}
	for i := 0; dots >= ix.minDots; {
		if p, ok := ix.lookupDomain(b[i:]); ok {
			listed := ""
			if i > 0 {
				listed = v[i:len(b)]
			}
			ix.emit(s, p, KindDomain, name, v, listed)
		}
		j := bytes.IndexByte(b[i:], '.')
		if j < 0 {
			break
		}
		i += j + 1
		dots--
	}
	s.lastHost = v
}

// lookupDomain asks the filter first: most names are not listed.
func (ix *Index) lookupDomain(d []byte) (uint32, bool) {
	if !ix.dBloom.has(maphash.Bytes(ix.seed, d)) {
		return 0, false
	}
	p, ok := ix.domain[string(d)]
	return p, ok
}

// urlValue looks up a URL, and its host as a host; a path is kept to be
// joined to the event's HTTP host.
func (ix *Index) urlValue(s *scratch, name, v string) {
	if v[0] == '/' {
		if s.path == "" {
			s.path, s.pathName = v, name
		}
		return
	}
	if len(ix.url) > 0 && len(v) < len(s.buf) {
		if k := urlKey(v, s.buf[:0]); len(k) > 0 {
			if p, ok := ix.url[string(k)]; ok {
				ix.emit(s, p, KindURL, name, v, "")
			}
		}
	}
	if len(ix.scans[KindURL]) > 0 {
		ix.scan(s, KindURL, name, v)
	}
	rest := v
	if i := strings.Index(rest, "://"); i >= 0 && i < 16 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") && strings.IndexByte(rest, ':') == i {
		rest = rest[:i] // host:port, not an IPv6 address
	}
	if rest != "" {
		ix.host(s, name, rest)
	}
}

// hashes looks up every run of 32, 40 or 64 hex digits in v: a bare
// hash, or Sysmon's "SHA1=…,MD5=…,SHA256=…,IMPHASH=…".
func (ix *Index) hashes(s *scratch, name, v string) {
	for i := 0; i < len(v); {
		if hexVal(v[i]) < 0 {
			i++
			continue
		}
		j := i
		for j < len(v) && hexVal(v[j]) >= 0 {
			j++
		}
		h := v[i:j]
		switch len(h) {
		case 32:
			var k [16]byte
			decodeHex(k[:], h)
			if p, ok := ix.md5[k]; ok {
				ix.emit(s, p, KindMD5, name, h, "")
			}
		case 40:
			var k [20]byte
			decodeHex(k[:], h)
			if p, ok := ix.sha1[k]; ok {
				ix.emit(s, p, KindSHA1, name, h, "")
			}
		case 64:
			var k [32]byte
			decodeHex(k[:], h)
			if p, ok := ix.sha256[k]; ok {
				ix.emit(s, p, KindSHA256, name, h, "")
			}
		}
		i = j
	}
}

// emails looks up each address of a list ("a@x, B <b@y>"), and its
// domain as a host.
func (ix *Index) emails(s *scratch, name, v string) {
	for v != "" {
		one := v
		if i := strings.IndexAny(v, ",;"); i >= 0 {
			one, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if i := strings.IndexByte(one, '<'); i >= 0 {
			one = one[i+1:]
			if j := strings.IndexByte(one, '>'); j >= 0 {
				one = one[:j]
			}
		}
		one = strings.TrimSpace(one)
		at := strings.LastIndexByte(one, '@')
		if at <= 0 || at == len(one)-1 || len(one) > len(s.buf) {
			continue
		}
		if len(ix.email) > 0 {
			b := s.buf[:0]
			for i := 0; i < len(one); i++ {
				b = append(b, lower(one[i]))
			}
			if p, ok := ix.email[string(b)]; ok {
				ix.emit(s, p, KindEmail, name, one, "")
			}
		}
		if len(ix.scans[KindEmail]) > 0 {
			ix.scan(s, KindEmail, name, one)
		}
		ix.host(s, name, one[at+1:])
	}
}

// valid says whether indicator i is valid now and may be matched for
// the event's organisation.
func (ix *Index) valid(s *scratch, i uint32) bool {
	m := &ix.inds[i]
	if m.validUntil != 0 && s.now >= m.validUntil {
		return false
	}
	return m.orgs == 0 || slices.Contains(ix.orgSets[m.orgs-1], s.org)
}

// emit adds a hit for each valid indicator of posting p, once per
// indicator and value.
func (ix *Index) emit(s *scratch, p uint32, k Kind, name, v, listed string) {
	one := func(i uint32) {
		if !ix.valid(s, i) {
			return
		}
		for _, h := range s.hits {
			if h.Indicator == i && h.Value == v {
				return
			}
		}
		if ix.inds[i].extra != 0 {
			s.cand = true
		}
		s.hits = append(s.hits, Hit{Indicator: i, Kind: k, Field: name, Value: v, Listed: listed})
	}
	if p&multiBit == 0 {
		one(p)
		return
	}
	for _, i := range ix.multi[p&^multiBit] {
		one(i)
	}
}

// decodeHex decodes len(dst)*2 hex digits of s into dst.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		a, b := hexVal(s[2*i]), hexVal(s[2*i+1])
		if a < 0 || b < 0 {
			return false
		}
		dst[i] = byte(a<<4 | b)
	}
	return true
}
