package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// A flow becomes one event: Source.Protocol "netflow", Source.Addr the
// exporter, Source.Format netflow-v5, netflow-v9 or ipfix, the log source
// from logsources.yaml (Sigma's taxonomy has flows as service netflow),
// and flat fields named as the rest of ingest names network fields
// (src_ip, dst_ip, src_port, dst_port, as the firewall and Suricata
// mappings do). There is no text to keep, so Raw is a one-line rendering
// of the record.

// flowFormat is the format name of a flow export version.
func flowFormat(v uint16) string {
	switch v {
	case 5:
		return FormatNetFlowV5
	case 9:
		return FormatNetFlowV9
	}
	return FormatIPFIX
}

// protoNames are the IANA protocol numbers' keywords flows mostly carry.
var protoNames = [256]string{1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
	51: "ah", 58: "ipv6-icmp", 88: "eigrp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp"}

// protoName is the protocol's keyword, or its number as text.
func protoName(p uint8) string {
	if s := protoNames[p]; s != "" {
		return s
	}
	return strconv.Itoa(int(p))
}

// flowID derives the stable event ID of a flow from SHA-256 over
// "netflow", the exporter's address (without port), the version, source
// ID / observation domain, the header's sequence number, the record's
// index and its bytes, led by the flow's own time (timeLocalID). A datagram sent again (or
// looped through two collectors' relays) gives the same IDs; the record's
// bytes keep an exporter that restarted, and so counts its sequence
// from 0 again, from colliding with what it sent before.
func flowID(exporter netip.Addr, f *Flow, own time.Time) string {
	var b [512]byte
	buf := append(b[:0], "netflow\x00"...)
	buf = exporter.Unmap().AppendTo(buf)
	buf = append(buf, 0)
	buf = binary.BigEndian.AppendUint16(buf, f.Version)
	buf = binary.BigEndian.AppendUint32(buf, f.Domain)
	buf = binary.BigEndian.AppendUint32(buf, f.Seq)
	buf = binary.BigEndian.AppendUint32(buf, uint32(f.Index))
	var sum [sha256.Size]byte
	if len(buf)+len(f.Record) <= len(b) {
		// One call on the stack (no allocation) for every usual record.
		sum = sha256.Sum256(append(buf, f.Record...))
	} else {
		h := sha256.New()
		h.Write(buf)
		h.Write(f.Record)
		h.Sum(sum[:0])
	}
	return timeLocalID(sum[:], own)
}

// appendFlowTime writes a flow time for a field: RFC 3339 in UTC with
// milliseconds (2026-12-06T10:00:00.287Z), by hand because time.Format
// was a tenth of a flow's event.
func appendFlowTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// FlowEvent turns f, exported by exporter (host:port), into an event
// owned by org; sources gives its log source (the shipped mapping when
// nil). Its fields come encoded (events.Event.FieldsJSON; LoadFields
// gives the map).
func FlowEvent(f *Flow, exporter netip.AddrPort, org string, received time.Time, sources *LogSources) events.Event {
	s := newFlowSource(exporter, org, received, sources)
	return s.event(f)
}

// flowSource is what a datagram's flows share, worked out once.
type flowSource struct {
	host     netip.Addr
	addr     string // host:port
	hostText string // the host as text
	hostJSON []byte // and as a JSON string
	org      string
	received time.Time
	sources  *LogSources

	// What the log sources give the format last seen (fixedFor).
	format string
	ls     LogSource
	copies [][2]string
	fixed  bool

	// buf holds the flows' fields, each event's a slice of it never
	// written again: an allocation every few dozen flows instead of one
	// a flow. The listener hands what is left of it to the next
	// datagram's.
	buf []byte
}

func newFlowSource(exporter netip.AddrPort, org string, received time.Time, sources *LogSources) *flowSource {
	if sources == nil {
		sources = shippedLogSources()
	}
	s := &flowSource{host: exporter.Addr().Unmap(), org: org, received: received, sources: sources}
	if exporter.IsValid() {
		s.addr = exporter.String()
	}
	s.hostText = s.host.String()
	s.hostJSON = appendJSONString(nil, s.hostText)
	return s
}

// flowBuf is the size of a flowSource's buffer; flowRoom what a flow's
// fields and raw text take at most, but for a rare IPv6 flow with every
// field, which then makes the buffer grow once.
const (
	flowBuf  = 32 << 10
	flowRoom = 1 << 10
)

// event makes f's event. Its fields are written straight as the JSON the
// stream carries, in a fixed order — the flat map every other event
// builds, and encoding it, were most of a flow's cost between the socket
// and the stream (docs/performance.md). A mapping whose rule for flows
// looks at field values (fixedFor) gets the map: the fields are decoded,
// the rule applied to them, and the event carries the map.
func (s *flowSource) event(f *Flow) events.Event {
	s.logSource(f)
	return s.make(f, flowID(s.host, f, flowOwnTime(f)))
}

// logSource works out what the log sources give f's format, unless it is
// the format of the flow before.
func (s *flowSource) logSource(f *Flow) {
	if format := flowFormat(f.Version); format != s.format {
		s.format = format
		s.ls, s.copies, s.fixed = s.sources.fixedFor(format)
	}
}

// flowOwnTime is the flow's own time (zero when it has none): stable
// when the datagram is sent again.
func flowOwnTime(f *Flow) time.Time {
	if !f.Start.IsZero() {
		return f.Start
	}
	return f.End
}

// make is f's event with ID id, of s.format.
func (s *flowSource) make(f *Flow, id string) events.Event {
	ev := events.Event{
		ID: id, Org: s.org, ReceivedAt: s.received, EventTime: flowOwnTime(f),
		Source: events.Source{Protocol: ListenerNetFlow, Format: s.format, Addr: s.addr},
	}
	if ev.EventTime.IsZero() {
		ev.EventTime = s.received
	}
	if cap(s.buf)-len(s.buf) < flowRoom {
		s.buf = make([]byte, 0, flowBuf)
	}
	lo := len(s.buf)
	w := flowFields{b: s.buf}
	w.write(f, s.hostJSON)
	if s.fixed {
		w.copy(s.copies)
	}
	w.b = append(w.b, '}')
	fields := w.b[lo:len(w.b):len(w.b)]
	mark := len(w.b)
	w.b = appendFlowRaw(w.b, f, s.hostText)
	ev.Raw = string(w.b[mark:])
	s.buf = w.b[:mark]
	var m map[string]any
	if !s.fixed {
		m = make(map[string]any, 32)
	}
	if s.fixed || json.Unmarshal(fields, &m) != nil { // written above, so it decodes
		ev.SetFieldsJSON(fields)
		ev.Product, ev.Service, ev.Category = s.ls.Product, s.ls.Service, s.ls.Category
		return ev
	}
	ls := s.sources.Apply(s.format, m)
	ev.Fields = m
	ev.Product, ev.Service, ev.Category = ls.Product, ls.Service, ls.Category
	return ev
}

// flowFields writes a flow's fields as a JSON object, remembering where
// each value is so that the log source's copies repeat it.
type flowFields struct {
	b    []byte
	keys [40]flowSpan
	n    int
}

// flowSpan is a written field: its name, and its value's bytes in b.
type flowSpan struct {
	key    string
	lo, hi int
}

// key starts field k (a name needing no escapes).
func (w *flowFields) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *flowFields) done(k string, lo int) {
	if w.n < len(w.keys) {
		w.keys[w.n] = flowSpan{k, lo, len(w.b)}
	}
	w.n++
}

func (w *flowFields) num(k string, v uint64) {
	w.key(k)
	lo := len(w.b)
	w.b = appendJSONFloat(w.b, float64(v)) // the number a map's float64 gives
	w.done(k, lo)
}

func (w *flowFields) text(k, v string) {
	w.key(k)
	lo := len(w.b)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
	w.done(k, lo)
}

func (w *flowFields) addr(k string, a netip.Addr) {
	w.key(k)
	lo := len(w.b)
	w.b = appendJSONAddr(w.b, a)
	w.done(k, lo)
}

func (w *flowFields) time(k string, t time.Time) {
	w.key(k)
	lo := len(w.b)
	w.b = append(w.b, '"')
	w.b = appendFlowTime(w.b, t)
	w.b = append(w.b, '"')
	w.done(k, lo)
}

// appendJSONAddr writes a as a JSON string (IPv4-mapped addresses as
// IPv4).
func appendJSONAddr(b []byte, a netip.Addr) []byte {
	a = a.Unmap()
	if a.Zone() != "" {
		return appendJSONString(b, a.String())
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// The conditions under which a flow has a field, shared by the fields
// and the raw text.
func flowHasPorts(f *Flow) bool {
	return f.Has&hasPorts != 0 && (f.Proto == 6 || f.Proto == 17 || f.Proto == 132 || f.Has&hasProto == 0)
}
func flowHasTCPFlags(f *Flow) bool { return f.Has&hasTCPFlags != 0 && f.Proto == 6 }
func flowHasICMP(f *Flow) bool     { return f.Has&hasICMP != 0 && (f.Proto == 1 || f.Proto == 58) }
func flowHasInput(f *Flow) bool    { return f.Has&hasInput != 0 && f.Input != 0 }
func flowHasOutput(f *Flow) bool   { return f.Has&hasOutput != 0 && f.Output != 0 }

// write writes '{' and f's fields, named as the rest of ingest names
// network fields; fields that say nothing (interface 0, ToS 0, AS 0) are
// left out.
func (w *flowFields) write(f *Flow, hostJSON []byte) {
	w.b = append(w.b, '{')
	w.num("version", uint64(f.Version))
	w.key("exporter")
	lo := len(w.b)
	w.b = append(w.b, hostJSON...)
	w.done("exporter", lo)
	if f.Domain != 0 {
		w.num("domain", uint64(f.Domain))
	}
	if f.Src.IsValid() {
		w.addr("src_ip", f.Src)
	}
	if f.Dst.IsValid() {
		w.addr("dst_ip", f.Dst)
	}
	if flowHasPorts(f) {
		w.num("src_port", uint64(f.SrcPort))
		w.num("dst_port", uint64(f.DstPort))
	}
	if f.Has&hasProto != 0 {
		w.text("proto", protoName(f.Proto))
		w.num("proto_number", uint64(f.Proto))
	}
	if f.Has&hasBytes != 0 {
		w.num("bytes", f.Bytes)
	}
	if f.Has&hasPackets != 0 {
		w.num("packets", f.Packets)
	}
	if !f.Start.IsZero() {
		w.time("start", f.Start)
	}
	if !f.End.IsZero() {
		w.time("end", f.End)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.End.Before(f.Start) {
		w.key("duration")
		lo := len(w.b)
		w.b = appendJSONFloat(w.b, f.End.Sub(f.Start).Seconds())
		w.done("duration", lo)
	}
	if flowHasTCPFlags(f) {
		w.num("tcp_flags", uint64(f.TCPFlags))
	}
	if f.Has&hasToS != 0 && f.ToS != 0 {
		w.num("tos", uint64(f.ToS))
	}
	// Interfaces are SNMP ifIndex values; 0 is "not known" (softflowd's,
	// and v5's when the exporter has none).
	if flowHasInput(f) {
		w.num("input", uint64(f.Input))
	}
	if flowHasOutput(f) {
		w.num("output", uint64(f.Output))
	}
	if f.Has&hasNextHop != 0 && f.NextHop.IsValid() && !f.NextHop.IsUnspecified() {
		w.addr("next_hop", f.NextHop)
	}
	if f.Has&hasAS != 0 && (f.SrcAS != 0 || f.DstAS != 0) {
		w.num("src_as", uint64(f.SrcAS))
		w.num("dst_as", uint64(f.DstAS))
	}
	if flowHasICMP(f) {
		w.num("icmp_type", uint64(f.ICMPType))
		w.num("icmp_code", uint64(f.ICMPCode))
	}
	if f.Has&hasVLAN != 0 && f.VLAN != 0 {
		w.num("vlan", uint64(f.VLAN))
	}
	if f.Has&hasDirection != 0 {
		if f.Direction == 1 {
			w.text("direction", "egress")
		} else {
			w.text("direction", "ingress")
		}
	}
	if f.Has&hasEndReason != 0 {
		w.num("end_reason", uint64(f.EndReason))
	}
	if f.Has&hasNAT != 0 {
		if f.NATSrc.IsValid() {
			w.addr("nat_src_ip", f.NATSrc)
		}
		if f.NATDst.IsValid() {
			w.addr("nat_dst_ip", f.NATDst)
		}
	}
	if f.Has&hasNATPorts != 0 {
		w.num("nat_src_port", uint64(f.NATSrcPort))
		w.num("nat_dst_port", uint64(f.NATDstPort))
	}
	if f.Has&hasReverse != 0 {
		w.num("reverse_bytes", f.RevBytes)
		w.num("reverse_packets", f.RevPackets)
	}
	if f.Sampling > 1 {
		w.num("sampling_interval", uint64(f.Sampling))
	}
}

// copy adds the log source's copies (source, Sigma name) in order, as
// Apply does to a map: a field present is copied under the new name
// unless that name is set already.
func (w *flowFields) copy(copies [][2]string) {
	for _, c := range copies {
		src, ok := w.find(c[0])
		if !ok {
			continue
		}
		if _, set := w.find(c[1]); set {
			continue
		}
		if w.n > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, c[1])
		w.b = append(w.b, ':')
		lo := len(w.b)
		w.b = append(w.b, w.b[src.lo:src.hi]...)
		w.done(c[1], lo)
	}
}

func (w *flowFields) find(k string) (flowSpan, bool) {
	for _, s := range w.keys[:min(w.n, len(w.keys))] {
		if s.key == k {
			return s, true
		}
	}
	return flowSpan{}, false
}

// appendFlowRaw renders the record on one line:
//
//	netflow-v9 192.0.2.1 tcp 10.0.0.1:51000 > 10.0.0.2:443 packets=3 bytes=180 start=… end=… tcp_flags=0x1b
func appendFlowRaw(b []byte, f *Flow, host string) []byte {
	b = append(b, flowFormat(f.Version)...)
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, ' ')
	if f.Has&hasProto != 0 {
		b = append(b, protoName(f.Proto)...)
	} else {
		b = append(b, '-')
	}
	ports := flowHasPorts(f)
	endpoint := func(ip netip.Addr, port uint16) {
		switch {
		case !ip.IsValid():
			b = append(b, '-')
		case ports && ip.Unmap().Is6():
			b = append(b, '[')
			b = ip.Unmap().AppendTo(b)
			b = append(b, ']')
		default:
			b = ip.Unmap().AppendTo(b)
		}
		if ports {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(port), 10)
		}
	}
	b = append(b, ' ')
	endpoint(f.Src, f.SrcPort)
	b = append(b, " > "...)
	endpoint(f.Dst, f.DstPort)
	if f.Has&hasPackets != 0 {
		b = append(b, " packets="...)
		b = strconv.AppendUint(b, f.Packets, 10)
	}
	if f.Has&hasBytes != 0 {
		b = append(b, " bytes="...)
		b = strconv.AppendUint(b, f.Bytes, 10)
	}
	if !f.Start.IsZero() {
		b = append(b, " start="...)
		b = appendFlowTime(b, f.Start)
	}
	if !f.End.IsZero() {
		b = append(b, " end="...)
		b = appendFlowTime(b, f.End)
	}
	if flowHasTCPFlags(f) {
		b = append(b, " tcp_flags=0x"...)
		b = strconv.AppendUint(b, uint64(f.TCPFlags), 16)
	}
	if flowHasICMP(f) {
		b = append(b, " icmp="...)
		b = strconv.AppendUint(b, uint64(f.ICMPType), 10)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(f.ICMPCode), 10)
	}
	if flowHasInput(f) {
		b = append(b, " in="...)
		b = strconv.AppendUint(b, uint64(f.Input), 10)
	}
	if flowHasOutput(f) {
		b = append(b, " out="...)
		b = strconv.AppendUint(b, uint64(f.Output), 10)
	}
	return b
}

// datagramEvent is the event for a datagram no flow could be read from:
// kept, as unparseable text is, with the error and the first bytes in
// hex.
func datagramEvent(data []byte, exporter netip.AddrPort, org string, received time.Time, err error) events.Event {
	const keep = 256
	head := data[:min(len(data), keep)]
	raw := "netflow datagram of " + strconv.Itoa(len(data)) + " bytes: " + hex.EncodeToString(head)
	src := events.Source{Protocol: ListenerNetFlow, Format: FormatNetFlow}
	if exporter.IsValid() {
		src.Addr = exporter.String()
	}
	return events.Event{
		ID: eventID(src, 0, data, time.Time{}), Org: org, ReceivedAt: received, EventTime: received, Source: src,
		Fields: map[string]any{"message": raw}, Raw: raw, Truncated: len(data) > keep,
		ParseError: err.Error(),
	}
}

var shippedOnce = sync.OnceValue(func() *LogSources { ls, _ := LoadLogSources(nil); return ls })

func shippedLogSources() *LogSources { return shippedOnce() }
