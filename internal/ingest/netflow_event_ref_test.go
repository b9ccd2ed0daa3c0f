package ingest

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// protoFields are protoName's answers as field values, boxed once.
var protoFields = sync.OnceValue(func() (out [256]any) {
	for i := range out {
		out[i] = protoName(uint8(i))
	}
	return out
})

func protoField(p uint8) any { return protoFields()[p] }

// flowTime formats a flow time for a field: RFC 3339 in UTC with
// milliseconds (2026-12-06T10:00:00.287Z), written by hand because
// time.Format was a tenth of a flow's event.
func flowTime(t time.Time) string {
	var b [24]byte
	return string(appendFlowTime(b[:0], t))
}

// boxedNumbers are the field values 0 to 65535 as interfaces, made once:
// boxing a float64 allocates, and most of a flow's numbers (ports,
// protocol, version, flags, interfaces, small counts) are in this range,
// which saves about fifteen allocations a flow for 1.5 MiB.
var boxedNumbers = sync.OnceValue(func() []any {
	out := make([]any, 65536)
	for i := range out {
		out[i] = float64(i)
	}
	return out
})

// numberField is v as a field value (float64, as every parser gives
// numbers).
func numberField(v uint64) any {
	if v < 65536 {
		return boxedNumbers()[v]
	}
	return float64(v)
}

// refFlowSource is the flow listener's events as they were made before
// their fields were written straight as JSON: a map of fields, the log
// source applied to it. Kept as the reference the encoder must agree
// with (TestFlowFieldsAsTheMapGave).
type refFlowSource struct {
	host     netip.Addr
	addr     string // host:port
	hostText any    // the host as a field value
	org      string
	received time.Time
	sources  *LogSources
}

func newRefFlowSource(exporter netip.AddrPort, org string, received time.Time, sources *LogSources) *refFlowSource {
	if sources == nil {
		sources = shippedLogSources()
	}
	s := &refFlowSource{host: exporter.Addr().Unmap(), org: org, received: received, sources: sources}
	if exporter.IsValid() {
		s.addr = exporter.String()
	}
	s.hostText = s.host.String()
	return s
}

func (s *refFlowSource) event(f *Flow) events.Event {
	format := flowFormat(f.Version)
	m := make(map[string]any, 28)
	ev := events.Event{
		Org: s.org, ReceivedAt: s.received,
		Source: events.Source{Protocol: ListenerNetFlow, Format: format, Addr: s.addr},
		Fields: m,
	}
	received := s.received
	num := func(k string, v uint64) { m[k] = numberField(v) }
	num("version", uint64(f.Version))
	m["exporter"] = s.hostText
	if f.Domain != 0 {
		num("domain", uint64(f.Domain))
	}
	if f.Src.IsValid() {
		m["src_ip"] = f.Src.Unmap().String()
	}
	if f.Dst.IsValid() {
		m["dst_ip"] = f.Dst.Unmap().String()
	}
	if f.Has&hasPorts != 0 && (f.Proto == 6 || f.Proto == 17 || f.Proto == 132 || f.Has&hasProto == 0) {
		num("src_port", uint64(f.SrcPort))
		num("dst_port", uint64(f.DstPort))
	}
	if f.Has&hasProto != 0 {
		m["proto"] = protoField(f.Proto)
		num("proto_number", uint64(f.Proto))
	}
	if f.Has&hasBytes != 0 {
		num("bytes", f.Bytes)
	}
	if f.Has&hasPackets != 0 {
		num("packets", f.Packets)
	}
	if !f.Start.IsZero() {
		m["start"] = flowTime(f.Start)
	}
	if !f.End.IsZero() {
		m["end"] = flowTime(f.End)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.End.Before(f.Start) {
		m["duration"] = f.End.Sub(f.Start).Seconds()
	}
	if f.Has&hasTCPFlags != 0 && f.Proto == 6 {
		num("tcp_flags", uint64(f.TCPFlags))
	}
	if f.Has&hasToS != 0 && f.ToS != 0 {
		num("tos", uint64(f.ToS))
	}
	// Interfaces are SNMP ifIndex values; 0 is "not known" (softflowd's,
	// and v5's when the exporter has none).
	if f.Has&hasInput != 0 && f.Input != 0 {
		num("input", uint64(f.Input))
	}
	if f.Has&hasOutput != 0 && f.Output != 0 {
		num("output", uint64(f.Output))
	}
	if f.Has&hasNextHop != 0 && f.NextHop.IsValid() && !f.NextHop.IsUnspecified() {
		m["next_hop"] = f.NextHop.Unmap().String()
	}
	if f.Has&hasAS != 0 && (f.SrcAS != 0 || f.DstAS != 0) {
		num("src_as", uint64(f.SrcAS))
		num("dst_as", uint64(f.DstAS))
	}
	if f.Has&hasICMP != 0 && (f.Proto == 1 || f.Proto == 58) {
		num("icmp_type", uint64(f.ICMPType))
		num("icmp_code", uint64(f.ICMPCode))
	}
	if f.Has&hasVLAN != 0 && f.VLAN != 0 {
		num("vlan", uint64(f.VLAN))
	}
	if f.Has&hasDirection != 0 {
		if f.Direction == 1 {
			m["direction"] = "egress"
		} else {
			m["direction"] = "ingress"
		}
	}
	if f.Has&hasEndReason != 0 {
		num("end_reason", uint64(f.EndReason))
	}
	if f.Has&hasNAT != 0 {
		if f.NATSrc.IsValid() {
			m["nat_src_ip"] = f.NATSrc.Unmap().String()
		}
		if f.NATDst.IsValid() {
			m["nat_dst_ip"] = f.NATDst.Unmap().String()
		}
	}
	if f.Has&hasNATPorts != 0 {
		num("nat_src_port", uint64(f.NATSrcPort))
		num("nat_dst_port", uint64(f.NATDstPort))
	}
	if f.Has&hasReverse != 0 {
		num("reverse_bytes", f.RevBytes)
		num("reverse_packets", f.RevPackets)
	}
	if f.Sampling > 1 {
		num("sampling_interval", uint64(f.Sampling))
	}
	ev.Raw = refFlowRaw(f, m)
	ls := s.sources.Apply(format, m)
	ev.Product, ev.Service, ev.Category = ls.Product, ls.Service, ls.Category
	var own time.Time // the flow's own time: stable when the datagram is sent again
	switch {
	case !f.Start.IsZero():
		own = f.Start
	case !f.End.IsZero():
		own = f.End
	}
	ev.EventTime = own
	if own.IsZero() {
		ev.EventTime = received
	}
	ev.ID = flowID(s.host, f, own)
	return ev
}

// refFlowRaw renders the record on one line:
//
//	netflow-v9 192.0.2.1 tcp 10.0.0.1:51000 > 10.0.0.2:443 packets=3 bytes=180 start=… end=… tcp_flags=0x1b
func refFlowRaw(f *Flow, m map[string]any) string {
	b := make([]byte, 0, 192)
	b = append(b, flowFormat(f.Version)...)
	b = append(b, ' ')
	b = append(b, m["exporter"].(string)...)
	b = append(b, ' ')
	if p, ok := m["proto"].(string); ok {
		b = append(b, p...)
	} else {
		b = append(b, '-')
	}
	endpoint := func(ip string, port any) {
		if ip == "" {
			ip = "-"
		}
		if _, ok := port.(float64); ok && len(ip) > 0 && (ip[0] == '[' || containsByte(ip, ':')) {
			b = append(b, '[')
			b = append(b, ip...)
			b = append(b, ']')
		} else {
			b = append(b, ip...)
		}
		if p, ok := port.(float64); ok {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(p), 10)
		}
	}
	b = append(b, ' ')
	src, _ := m["src_ip"].(string)
	endpoint(src, m["src_port"])
	b = append(b, " > "...)
	dst, _ := m["dst_ip"].(string)
	endpoint(dst, m["dst_port"])
	if f.Has&hasPackets != 0 {
		b = append(b, " packets="...)
		b = strconv.AppendUint(b, f.Packets, 10)
	}
	if f.Has&hasBytes != 0 {
		b = append(b, " bytes="...)
		b = strconv.AppendUint(b, f.Bytes, 10)
	}
	if s, ok := m["start"].(string); ok {
		b = append(b, " start="...)
		b = append(b, s...)
	}
	if s, ok := m["end"].(string); ok {
		b = append(b, " end="...)
		b = append(b, s...)
	}
	if _, ok := m["tcp_flags"]; ok {
		b = append(b, " tcp_flags=0x"...)
		b = strconv.AppendUint(b, uint64(f.TCPFlags), 16)
	}
	if _, ok := m["icmp_type"]; ok {
		b = append(b, " icmp="...)
		b = strconv.AppendUint(b, uint64(f.ICMPType), 10)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(f.ICMPCode), 10)
	}
	if _, ok := m["input"]; ok {
		b = append(b, " in="...)
		b = strconv.AppendUint(b, uint64(f.Input), 10)
	}
	if _, ok := m["output"]; ok {
		b = append(b, " out="...)
		b = strconv.AppendUint(b, uint64(f.Output), 10)
	}
	return string(b)
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
