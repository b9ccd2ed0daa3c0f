package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var testExporter = netip.MustParseAddr("192.0.2.7")

// decodeAll decodes datagrams in order with dec, failing on any error.
func decodeAll(t testing.TB, dec *NetFlowDecoder, datagrams [][]byte) ([]Flow, DecodeStats) {
	t.Helper()
	var all []Flow
	var sum DecodeStats
	for i, d := range datagrams {
		flows, st, err := dec.Decode(testExporter, d, nil)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		all = append(all, flows...)
		sum.NoTemplate += st.NoTemplate
		sum.Templates += st.Templates
		sum.Options += st.Options
	}
	return all, sum
}

// softflowd's recorded exports decode to the 40 flows the capture holds,
// with the same times whichever version and time encoding carried them.
func TestNetFlowSamples(t *testing.T) {
	for _, s := range netflowSamples {
		want := flowsFor(testFlows(), s.version)
		t.Run(s.name, func(t *testing.T) {
			flows, st := decodeAll(t, NewNetFlowDecoder(TemplateOptions{}), loadSamples(t, s.name))
			if len(flows) != len(want) || st.NoTemplate != 0 {
				t.Fatalf("%d flows (want %d), stats %+v", len(flows), len(want), st)
			}
			if s.version != 5 && (st.Templates == 0 || st.Options == 0) {
				// softflowd sends its flow templates and an options
				// template with one options record (v9: sampling; IPFIX:
				// systemInitTimeMilliseconds, which places uptime times).
				t.Errorf("no template or options record read: %+v", st)
			}
			for i := range flows {
				f := &flows[i]
				w, ok := want[f.Src.String()]
				if !ok {
					t.Fatalf("flow from %s not written", f.Src)
				}
				start, end := pcapStart.Add(w.Times[0]), pcapStart.Add(w.Times[len(w.Times)-1])
				if f.Dst != w.Dst || f.Proto != w.Proto || f.Packets != uint64(len(w.Sizes)) || f.Bytes != w.Bytes() ||
					!f.Start.Equal(start) || !f.End.Equal(end) || int(f.Version) != s.version {
					t.Errorf("flow %+v, want %+v from %s to %s", f, w, start, end)
				}
				if w.Proto != 1 && (f.SrcPort != w.SrcPort || f.DstPort != w.DstPort) {
					t.Errorf("ports %d > %d, want %d > %d", f.SrcPort, f.DstPort, w.SrcPort, w.DstPort)
				}
			}
		})
	}
}

// A datagram sent again gives the same event IDs (JetStream and the store
// drop the copy); another exporter's identical bytes do not.
func TestNetFlowIDsStable(t *testing.T) {
	for _, s := range netflowSamples {
		data := loadSamples(t, s.name)
		a, _ := decodeAll(t, NewNetFlowDecoder(TemplateOptions{}), data)
		dec := NewNetFlowDecoder(TemplateOptions{})
		b, _ := decodeAll(t, dec, data)
		again, _ := decodeAll(t, dec, data)
		seen := map[string]bool{}
		// Each decode is received at another time, as a datagram sent
		// again would be: the ID must not change with it.
		flowID := func(exporter netip.Addr, f *Flow) string {
			received := time.Now().Add(time.Duration(len(seen)) * time.Second)
			return newFlowSource(netip.AddrPortFrom(exporter, 2055), "RJ1", received, nil).event(f).ID
		}
		for i := range a {
			id := flowID(testExporter, &a[i])
			if !a[i].Start.IsZero() && id[:11] != fmt.Sprintf("%011x", a[i].Start.UnixMilli()) {
				t.Errorf("%s: flow %d: ID %s does not begin with its start time %v", s.name, i, id, a[i].Start)
			}
			if id != flowID(testExporter, &b[i]) || id != flowID(testExporter, &again[i]) {
				t.Errorf("%s: flow %d: IDs differ between decodes", s.name, i)
			}
			if id == flowID(netip.MustParseAddr("192.0.2.8"), &a[i]) {
				t.Errorf("%s: flow %d: another exporter's flow has the same ID", s.name, i)
			}
			if seen[id] {
				t.Errorf("%s: flow %d: ID %s twice", s.name, i, id)
			}
			seen[id] = true
		}
	}
}

// Data that arrives before its template is counted and dropped; once the
// template arrives the next data decodes. Templates are per exporter and
// observation domain.
func TestNetFlowDataBeforeTemplate(t *testing.T) {
	tmpl := ipfixMessage(1, 7, ipfixSet(2, ipfixTemplate(300, [][3]uint32{{8, 4, 0}, {12, 4, 0}, {1, 8, 0}})...))
	data := ipfixMessage(2, 7, ipfixSet(300, append(append([]byte{10, 0, 0, 1, 10, 0, 0, 2}, be64(1234)...), 10, 0, 0, 3, 10, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9)...))
	dec := NewNetFlowDecoder(TemplateOptions{})
	flows, st, err := dec.Decode(testExporter, data, nil)
	if err != nil || len(flows) != 0 || st.NoTemplate != 1 || st.NoTemplateBytes != 32 {
		t.Fatalf("before the template: %d flows, %+v, %v", len(flows), st, err)
	}
	if _, st, err = dec.Decode(testExporter, tmpl, nil); err != nil || st.Templates != 1 {
		t.Fatalf("template: %+v, %v", st, err)
	}
	flows, _, err = dec.Decode(testExporter, data, nil)
	if err != nil || len(flows) != 2 || flows[0].Bytes != 1234 || flows[1].Dst.String() != "10.0.0.4" || flows[1].Bytes != 9 {
		t.Fatalf("after: %+v, %v", flows, err)
	}
	// Another exporter, or another domain of the same one, has no template.
	if flows, st, _ := dec.Decode(netip.MustParseAddr("192.0.2.99"), data, nil); len(flows) != 0 || st.NoTemplate != 1 {
		t.Errorf("another exporter: %d flows", len(flows))
	}
	if flows, st, _ := dec.Decode(testExporter, ipfixMessage(3, 8, ipfixSet(300, data[20:]...)), nil); len(flows) != 0 || st.NoTemplate != 1 {
		t.Errorf("another domain: %d flows", len(flows))
	}
	// A withdrawal forgets it.
	if _, st, err := dec.Decode(testExporter, ipfixMessage(4, 7, ipfixSet(2, 1, 44, 0, 0)), nil); err != nil || st.Withdrawn != 1 {
		t.Fatalf("withdrawal: %+v %v", st, err)
	}
	if flows, st, _ := dec.Decode(testExporter, data, nil); len(flows) != 0 || st.NoTemplate != 1 {
		t.Errorf("after withdrawal: %d flows", len(flows))
	}
}

// IPFIX's variable-length fields (one- and three-byte lengths),
// enterprise elements (skipped unless known: RFC 5103's reverse counts
// are), reduced-size integers, NTP-format times, padding, and a template
// redefined under the same ID.
func TestIPFIXFieldEncodings(t *testing.T) {
	fields := [][3]uint32{
		{27, 16, 0}, {28, 16, 0}, // IPv6 addresses
		{7, 2, 0}, {11, 2, 0}, {4, 1, 0},
		{82, 65535, 0},  // interfaceName, variable
		{1, 4, 0},       // octetDeltaCount in 4 bytes
		{2, 2, 0},       // packetDeltaCount in 2 bytes
		{1, 8, 29305},   // reverse octets
		{999, 65535, 9}, // an unknown enterprise element, variable
		{156, 8, 0},     // flowStartNanoseconds (NTP format)
		{153, 8, 0},     // flowEndMilliseconds
		{225, 4, 0},     // postNATSourceIPv4Address
		{6, 2, 0},       // tcpControlBits in 2 bytes
	}
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	start := time.Date(2026, 12, 6, 10, 0, 0, 500_000_000, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	var rec []byte
	rec = append(rec, src.AsSlice()...)
	rec = append(rec, dst.AsSlice()...)
	rec = append(rec, 0xc3, 0x50, 0x01, 0xbb, 6) // 50000 > 443 tcp
	rec = append(rec, 4, 'e', 't', 'h', '0')
	rec = append(rec, be32(5000)...)
	rec = append(rec, 0, 7)
	rec = append(rec, be64(7000)...)
	long := strings.Repeat("x", 300)
	rec = append(rec, 255, 1, 44)
	rec = append(rec, long...)
	rec = append(rec, be64(uint64(start.Unix()+ntpEpochOffset)<<32|1<<31)...)
	rec = append(rec, be64(uint64(end.UnixMilli()))...)
	rec = append(rec, 203, 0, 113, 9)
	rec = append(rec, 0, 0x12)
	msg := ipfixMessage(1, 1, append(ipfixSet(2, ipfixTemplate(256, fields)...), ipfixSet(256, append(rec, 0, 0, 0)...)...))
	dec := NewNetFlowDecoder(TemplateOptions{})
	flows, _, err := dec.Decode(testExporter, msg, nil)
	if err != nil || len(flows) != 1 {
		t.Fatalf("%d flows, %v", len(flows), err)
	}
	f := flows[0]
	if f.Src != src || f.Dst != dst || f.SrcPort != 50000 || f.DstPort != 443 || f.Proto != 6 || f.Bytes != 5000 || f.Packets != 7 ||
		f.RevBytes != 7000 || !f.Start.Equal(start) || !f.End.Equal(end) || f.NATSrc.String() != "203.0.113.9" || f.TCPFlags != 0x12 {
		t.Fatalf("%+v", f)
	}
	ev := FlowEvent(&f, netip.AddrPortFrom(testExporter, 2055), "RJ1", start, nil)
	if err := ev.LoadFields(); err != nil {
		t.Fatal(err)
	}
	if ev.Raw != "ipfix 192.0.2.7 tcp [2001:db8::1]:50000 > [2001:db8::2]:443 packets=7 bytes=5000 start=2026-12-06T10:00:00.500Z end=2026-12-06T10:00:02.000Z tcp_flags=0x12" {
		t.Errorf("raw %q", ev.Raw)
	}
	if ev.Fields["reverse_bytes"] != float64(7000) || ev.Fields["nat_src_ip"] != "203.0.113.9" || ev.Fields["duration"] != 1.5 || ev.Source.Addr != "192.0.2.7:2055" {
		t.Errorf("fields %v source %+v", ev.Fields, ev.Source)
	}
	// The same ID redefined: 2 fields now.
	msg = ipfixMessage(2, 1, append(ipfixSet(2, ipfixTemplate(256, [][3]uint32{{8, 4, 0}, {12, 4, 0}})...), ipfixSet(256, 1, 2, 3, 4, 5, 6, 7, 8)...))
	if flows, _, err := dec.Decode(testExporter, msg, nil); err != nil || len(flows) != 1 || flows[0].Dst.String() != "5.6.7.8" {
		t.Fatalf("redefined: %+v %v", flows, err)
	}
}

// Malformed input never panics: every prefix of every recorded datagram,
// and headers and sets that lie about their lengths, give an error naming
// the byte, keeping the flows before the damage.
func TestNetFlowMalformed(t *testing.T) {
	for _, s := range netflowSamples {
		data := loadSamples(t, s.name)
		for _, d := range data {
			for n := 0; n < len(d); n++ {
				dec := NewNetFlowDecoder(TemplateOptions{})
				_, _, _ = dec.Decode(testExporter, data[0], nil)
				_, _, _ = dec.Decode(testExporter, d[:n], nil)
				for _, b := range []byte{0, 0xff} { // one byte spoilt
					bad := append([]byte(nil), d...)
					bad[n] = b
					_, _, _ = dec.Decode(testExporter, bad, nil)
				}
			}
		}
	}
	v5 := loadSamples(t, "softflowd-v5")[0]
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not NetFlow"},
		{"v7", []byte{0, 7, 0, 0}, "version 7"},
		{"v5 header", v5[:20], "netflow-v5: byte 20: header cut short"},
		{"v5 count", v5[:24+48*2+10], "header announces 29 records, the datagram holds 2"},
		{"v9 set length", []byte{0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2}, "netflow-v9: byte 22: FlowSet 256 length 2"},
		{"v9 template id", append([]byte{0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, 0, 12, 0, 5, 0, 1, 0, 8, 0, 4), "template ID 5 is below 256"},
		{"ipfix length", ipfixMessage(1, 1, nil)[:15], "ipfix: byte 15: header cut short"},
		{"ipfix message length", append(ipfixMessage(1, 1, nil), 0), ""},
		{"ipfix template cut", ipfixMessage(1, 1, ipfixSet(2, 1, 0, 0, 3, 0, 8, 0, 4)), "template 256 cut short at field 2 of 3"},
		{"ipfix scope", ipfixMessage(1, 1, ipfixSet(3, 1, 0, 0, 1, 0, 0, 0, 8, 0, 4)), "scope field count 0 of 1"},
	}
	for _, c := range cases {
		flows, _, err := NewNetFlowDecoder(TemplateOptions{}).Decode(testExporter, c.data, nil)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if c.name == "v5 count" && len(flows) != 2 {
			t.Errorf("%s: %d flows kept, want the 2 whole records", c.name, len(flows))
		}
		if c.name == "empty" && !errors.Is(err, ErrNetFlowVersion) {
			t.Errorf("%s: %v is not ErrNetFlowVersion", c.name, err)
		}
	}
	// A template of more fields than the bound is refused, not held.
	var many [][3]uint32
	for i := range maxTemplateFields + 1 {
		many = append(many, [3]uint32{uint32(i%200 + 1), 1, 0})
	}
	dec := NewNetFlowDecoder(TemplateOptions{})
	if _, st, err := dec.Decode(testExporter, ipfixMessage(1, 1, ipfixSet(2, ipfixTemplate(256, many)...)), nil); err != nil || st.Rejected != 1 || st.Templates != 0 {
		t.Errorf("oversized template: %+v %v", st, err)
	}
}

// The cache holds at most MaxTemplates (least recently used evicted) and
// forgets a template not resent within the TTL.
func TestTemplateCacheBounds(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := NewTemplateCache(TemplateOptions{MaxTemplates: 3, TTL: time.Minute, Now: func() time.Time { return now }})
	k := func(id uint16) templateKey { return templateKey{exporter: testExporter, version: 10, id: id} }
	for id := uint16(256); id < 260; id++ {
		c.put(k(id), &template{min: 1})
		if id == 257 {
			c.get(k(256)) // 256 used: 257 is now the least recent
		}
	}
	if n, ev, _ := c.Len(); n != 3 || ev != 1 || c.get(k(257)) != nil || c.get(k(256)) == nil {
		t.Fatalf("len %d evicted %d", n, ev)
	}
	now = now.Add(2 * time.Minute)
	if c.get(k(256)) != nil {
		t.Fatal("template outlived its TTL")
	}
	if _, _, exp := c.Len(); exp != 1 {
		t.Errorf("expired %d", exp)
	}
}

// A datagram no flow can be read from is kept as an event with a parse
// error; a datagram sent twice is stored once.
func TestNetFlowListenerBadAndResent(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	l, err := NewNetFlowListener(r.opts(), TemplateOptions{})
	start(t, l, err)
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v5 := loadSamples(t, "softflowd-v5")
	for _, d := range [][]byte{v5[0], v5[0], []byte("<13>not a flow"), v5[1]} {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	// The resent datagram's 29 flows are either dropped as duplicates by
	// the publisher (its batch the same as the first's, or both in one
	// batch) or reach the stream again in a batch cut differently, where
	// the store keeps each event ID once: together, 29. Wait for all 70.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, dup := r.metrics.Snapshot()
		if r.streamCount()+uint64(dup) >= 70 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream holds %d events and %d were dropped as duplicates, want 70 in all", r.streamCount(), dup)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := r.readAll()
	bad := 0
	ids := map[string]bool{}
	for _, e := range got {
		ids[e.ev.ID] = true
		if e.ev.ParseError != "" {
			bad++
			if e.ev.Source.Format != FormatNetFlow || !strings.Contains(e.ev.ParseError, "version 15409") || !strings.Contains(e.ev.Raw, "3c31333e") {
				t.Errorf("bad datagram's event %+v", e.ev)
			}
		}
	}
	if len(ids) != 41 || bad != 1 {
		t.Errorf("%d distinct events, %d with a parse error", len(ids), bad)
	}
	if _, dup := r.metrics.Snapshot(); dup+int64(len(got)-len(ids)) != 29 {
		t.Errorf("%d duplicates dropped and %d repeated on the stream, want the 29 flows sent twice", dup, len(got)-len(ids))
	}
	if fc := r.metrics.Flows(); len(fc) != 1 || fc[0].Datagrams != 4 || fc[0].Malformed != 1 || fc[0].Flows != 29*2+11 {
		t.Errorf("flow metrics %+v", fc)
	}
}

// ipfixMessage wraps sets in an IPFIX header.
func ipfixMessage(seq, domain uint32, sets []byte) []byte {
	b := []byte{0, 10, 0, 0}
	b = append(b, be32(uint32(time.Date(2026, 12, 6, 10, 0, 5, 0, time.UTC).Unix()))...)
	b = append(b, be32(seq)...)
	b = append(b, be32(domain)...)
	b = append(b, sets...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

func ipfixSet(id uint16, body ...byte) []byte {
	b := []byte{byte(id >> 8), byte(id), 0, 0}
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// ipfixTemplate is one template record: fields are {element, length,
// enterprise number (0: none)}.
func ipfixTemplate(id uint16, fields [][3]uint32) []byte {
	b := []byte{byte(id >> 8), byte(id), byte(len(fields) >> 8), byte(len(fields))}
	for _, f := range fields {
		ie := uint16(f[0])
		if f[2] != 0 {
			ie |= 0x8000
		}
		b = append(b, byte(ie>>8), byte(ie), byte(f[1]>>8), byte(f[1]))
		if f[2] != 0 {
			b = append(b, be32(f[2])...)
		}
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
