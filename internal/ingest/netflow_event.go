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
	copy   []flowCopy // copies, resolved
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
		s.copy = resolveCopies(s.copies)
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
		w.copy(s.copy)
	}
	w.b = append(w.b, '}')
	fields := w.b[lo:len(w.b):len(w.b)]
	mark := len(w.b)
	w.b = appendFlowRaw(w.b, f, s.hostText, &w)
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

// flowKey names a field a flow may have; flowKeys are their names, in
// the order they are written.
type flowKey uint8

const (
	fnVersion flowKey = iota
	fnExporter
	fnDomain
	fnSrcIP
	fnDstIP
	fnSrcPort
	fnDstPort
	fnProto
	fnProtoNumber
	fnBytes
	fnPackets
	fnStart
	fnEnd
	fnDuration
	fnTCPFlags
	fnToS
	fnInput
	fnOutput
	fnNextHop
	fnSrcAS
	fnDstAS
	fnICMPType
	fnICMPCode
	fnVLAN
	fnDirection
	fnEndReason
	fnNATSrcIP
	fnNATDstIP
	fnNATSrcPort
	fnNATDstPort
	fnReverseBytes
	fnReversePackets
	fnSampling
	numFlowKeys
)

var flowKeys = [numFlowKeys]string{"version", "exporter", "domain", "src_ip", "dst_ip", "src_port", "dst_port",
	"proto", "proto_number", "bytes", "packets", "start", "end", "duration", "tcp_flags", "tos", "input", "output",
	"next_hop", "src_as", "dst_as", "icmp_type", "icmp_code", "vlan", "direction", "end_reason",
	"nat_src_ip", "nat_dst_ip", "nat_src_port", "nat_dst_port", "reverse_bytes", "reverse_packets", "sampling_interval"}

// flowKeyJSON is each key as it follows another field: `,"name":`.
var flowKeyJSON = func() (out [numFlowKeys][]byte) {
	for k, name := range flowKeys {
		out[k] = []byte(`,"` + name + `":`)
	}
	return out
}()

// flowKeyOf is the flow field called name, or -1.
func flowKeyOf(name string) int {
	for k, n := range flowKeys {
		if n == name {
			return k
		}
	}
	return -1
}

// flowCopy is a log source's copy (fixedFor) resolved against the flow
// fields: the source and the name, each as a flowKey or -1 when no flow
// field has that name (a name an earlier copy made, or none).
type flowCopy struct {
	src, dst       string
	srcKey, dstKey int
	dstJSON        []byte // `,"name":`
}

func resolveCopies(copies [][2]string) []flowCopy {
	out := make([]flowCopy, len(copies))
	for i, c := range copies {
		out[i] = flowCopy{src: c[0], dst: c[1], srcKey: flowKeyOf(c[0]), dstKey: flowKeyOf(c[1])}
		out[i].dstJSON = append(appendJSONString([]byte{','}, c[1]), ':')
	}
	return out
}

// flowFields writes a flow's fields as a JSON object, remembering where
// each value is so that the log source's copies repeat it.
type flowFields struct {
	b  []byte
	at [numFlowKeys]flowSpan // a field's value in b; hi 0 when absent
	// extra are the copies under names no flow field has.
	extra []flowNamed
	// odd says a number written is not plain (events.NumbersPlain).
	odd bool
}

// flowSpan is a written value's bytes in b.
type flowSpan struct{ lo, hi int }

type flowNamed struct {
	key string
	flowSpan
}

// key starts field k (version, always first, is written by write).
func (w *flowFields) key(k flowKey) int {
	w.b = append(w.b, flowKeyJSON[k]...)
	return len(w.b)
}

func (w *flowFields) num(k flowKey, v uint64) {
	lo := w.key(k)
	if v < 1e15 {
		w.b = strconv.AppendUint(w.b, v, 10) // what appendJSONFloat writes for it, plain
	} else {
		w.b = appendJSONFloat(w.b, float64(v)) // the number a map's float64 gives
		w.odd = w.odd || !events.NumbersPlain(w.b[lo:])
	}
	w.at[k] = flowSpan{lo, len(w.b)}
}

func (w *flowFields) text(k flowKey, v string) {
	lo := w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
	w.at[k] = flowSpan{lo, len(w.b)}
}

func (w *flowFields) addr(k flowKey, a netip.Addr) {
	lo := w.key(k)
	w.b = appendJSONAddr(w.b, a)
	w.at[k] = flowSpan{lo, len(w.b)}
}

func (w *flowFields) time(k flowKey, t time.Time) {
	lo := w.key(k)
	w.b = append(w.b, '"')
	w.b = appendFlowTime(w.b, t)
	w.b = append(w.b, '"')
	w.at[k] = flowSpan{lo, len(w.b)}
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
	w.b = append(w.b, `{"version":`...)
	lo := len(w.b)
	w.b = appendJSONFloat(w.b, float64(f.Version))
	w.at[fnVersion] = flowSpan{lo, len(w.b)}
	lo = w.key(fnExporter)
	w.b = append(w.b, hostJSON...)
	w.at[fnExporter] = flowSpan{lo, len(w.b)}
	if f.Domain != 0 {
		w.num(fnDomain, uint64(f.Domain))
	}
	if f.Src.IsValid() {
		w.addr(fnSrcIP, f.Src)
	}
	if f.Dst.IsValid() {
		w.addr(fnDstIP, f.Dst)
	}
	if flowHasPorts(f) {
		w.num(fnSrcPort, uint64(f.SrcPort))
		w.num(fnDstPort, uint64(f.DstPort))
	}
	if f.Has&hasProto != 0 {
		w.text(fnProto, protoName(f.Proto))
		w.num(fnProtoNumber, uint64(f.Proto))
	}
	if f.Has&hasBytes != 0 {
		w.num(fnBytes, f.Bytes)
	}
	if f.Has&hasPackets != 0 {
		w.num(fnPackets, f.Packets)
	}
	if !f.Start.IsZero() {
		w.time(fnStart, f.Start)
	}
	if !f.End.IsZero() {
		w.time(fnEnd, f.End)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.End.Before(f.Start) {
		lo := w.key(fnDuration)
		w.b = appendJSONFloat(w.b, f.End.Sub(f.Start).Seconds())
		w.odd = w.odd || !events.NumbersPlain(w.b[lo:])
		w.at[fnDuration] = flowSpan{lo, len(w.b)}
	}
	if flowHasTCPFlags(f) {
		w.num(fnTCPFlags, uint64(f.TCPFlags))
	}
	if f.Has&hasToS != 0 && f.ToS != 0 {
		w.num(fnToS, uint64(f.ToS))
	}
	// Interfaces are SNMP ifIndex values; 0 is "not known" (softflowd's,
	// and v5's when the exporter has none).
	if flowHasInput(f) {
		w.num(fnInput, uint64(f.Input))
	}
	if flowHasOutput(f) {
		w.num(fnOutput, uint64(f.Output))
	}
	if f.Has&hasNextHop != 0 && f.NextHop.IsValid() && !f.NextHop.IsUnspecified() {
		w.addr(fnNextHop, f.NextHop)
	}
	if f.Has&hasAS != 0 && (f.SrcAS != 0 || f.DstAS != 0) {
		w.num(fnSrcAS, uint64(f.SrcAS))
		w.num(fnDstAS, uint64(f.DstAS))
	}
	if flowHasICMP(f) {
		w.num(fnICMPType, uint64(f.ICMPType))
		w.num(fnICMPCode, uint64(f.ICMPCode))
	}
	if f.Has&hasVLAN != 0 && f.VLAN != 0 {
		w.num(fnVLAN, uint64(f.VLAN))
	}
	if f.Has&hasDirection != 0 {
		if f.Direction == 1 {
			w.text(fnDirection, "egress")
		} else {
			w.text(fnDirection, "ingress")
		}
	}
	if f.Has&hasEndReason != 0 {
		w.num(fnEndReason, uint64(f.EndReason))
	}
	if f.Has&hasNAT != 0 {
		if f.NATSrc.IsValid() {
			w.addr(fnNATSrcIP, f.NATSrc)
		}
		if f.NATDst.IsValid() {
			w.addr(fnNATDstIP, f.NATDst)
		}
	}
	if f.Has&hasNATPorts != 0 {
		w.num(fnNATSrcPort, uint64(f.NATSrcPort))
		w.num(fnNATDstPort, uint64(f.NATDstPort))
	}
	if f.Has&hasReverse != 0 {
		w.num(fnReverseBytes, f.RevBytes)
		w.num(fnReversePackets, f.RevPackets)
	}
	if f.Sampling > 1 {
		w.num(fnSampling, uint64(f.Sampling))
	}
}

// copy adds the log source's copies in order, as Apply does to a map: a
// field present is copied under the new name unless that name is set
// already.
func (w *flowFields) copy(copies []flowCopy) {
	for i := range copies {
		c := &copies[i]
		src, ok := w.find(c.srcKey, c.src)
		if !ok {
			continue
		}
		if _, set := w.find(c.dstKey, c.dst); set {
			continue
		}
		w.b = append(w.b, c.dstJSON...)
		v := flowSpan{len(w.b), 0}
		w.b = append(w.b, w.b[src.lo:src.hi]...)
		v.hi = len(w.b)
		if c.dstKey >= 0 {
			w.at[c.dstKey] = v
		} else {
			w.extra = append(w.extra, flowNamed{c.dst, v})
		}
	}
}

// find is the value of field k, or of the copy called name when k is -1.
func (w *flowFields) find(k int, name string) (flowSpan, bool) {
	if k >= 0 {
		return w.at[k], w.at[k].hi != 0
	}
	for _, e := range w.extra {
		if e.key == name {
			return e.flowSpan, true
		}
	}
	return flowSpan{}, false
}

// written is field k's text as write wrote it (a string's without its
// quotes), when w is not nil and k was written: raw text copies what the
// fields formatted already rather than formatting it again. Each caller
// takes it only where its own formatting would give the same text.
func (w *flowFields) written(k flowKey) ([]byte, bool) {
	if w == nil || w.at[k].hi == 0 {
		return nil, false
	}
	v := w.b[w.at[k].lo:w.at[k].hi]
	if len(v) >= 2 && v[0] == '"' {
		v = v[1 : len(v)-1]
	}
	return v, true
}

// appendFlowRaw renders the record on one line (w, when not nil, holds
// f's fields written, to copy from):
//
//	netflow-v9 192.0.2.1 tcp 10.0.0.1:51000 > 10.0.0.2:443 packets=3 bytes=180 start=… end=… tcp_flags=0x1b
func appendFlowRaw(b []byte, f *Flow, host string, w *flowFields) []byte {
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
	addr := func(ip netip.Addr, k flowKey) {
		if v, ok := w.written(k); ok && ip.Zone() == "" {
			b = append(b, v...)
		} else {
			b = ip.Unmap().AppendTo(b)
		}
	}
	num := func(v uint64, k flowKey) {
		if s, ok := w.written(k); ok && v < 1e15 {
			b = append(b, s...)
		} else {
			b = strconv.AppendUint(b, v, 10)
		}
	}
	tm := func(t time.Time, k flowKey) {
		if v, ok := w.written(k); ok {
			b = append(b, v...)
		} else {
			b = appendFlowTime(b, t)
		}
	}
	endpoint := func(ip netip.Addr, port uint16, ipKey, portKey flowKey) {
		switch {
		case !ip.IsValid():
			b = append(b, '-')
		case ports && ip.Unmap().Is6():
			b = append(b, '[')
			addr(ip, ipKey)
			b = append(b, ']')
		default:
			addr(ip, ipKey)
		}
		if ports {
			b = append(b, ':')
			num(uint64(port), portKey)
		}
	}
	b = append(b, ' ')
	endpoint(f.Src, f.SrcPort, fnSrcIP, fnSrcPort)
	b = append(b, " > "...)
	endpoint(f.Dst, f.DstPort, fnDstIP, fnDstPort)
	if f.Has&hasPackets != 0 {
		b = append(b, " packets="...)
		num(f.Packets, fnPackets)
	}
	if f.Has&hasBytes != 0 {
		b = append(b, " bytes="...)
		num(f.Bytes, fnBytes)
	}
	if !f.Start.IsZero() {
		b = append(b, " start="...)
		tm(f.Start, fnStart)
	}
	if !f.End.IsZero() {
		b = append(b, " end="...)
		tm(f.End, fnEnd)
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
