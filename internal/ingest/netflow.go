package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Flow export: NetFlow v5 (Cisco's fixed 48-byte record), NetFlow v9
// (RFC 3954: templates, options templates and data FlowSets) and IPFIX
// (RFC 7011: template sets 2, options template sets 3, data sets ≥ 256,
// variable-length fields, enterprise-specific elements), all on one UDP
// port, told apart by the first two bytes (the version). The decoders are
// pure: bytes in, Flows out, every length checked before it is read, so
// a malformed or hostile datagram yields an error and whatever flows
// came before the damage, never a panic. Templates live in a
// TemplateCache keyed by exporter address, version, source ID /
// observation domain and template ID (netflow_template.go).

// Flow formats, as events.Source.Format records them.
const (
	FormatNetFlowV5 = "netflow-v5"
	FormatNetFlowV9 = "netflow-v9"
	FormatIPFIX     = "ipfix"
	// FormatNetFlow names a datagram that could not be read at all
	// (unknown version, a header cut short).
	FormatNetFlow = "netflow"
)

// Flow is one flow record as an exporter reported it. Optional elements
// are in Has (the has* bits); zero values are then meaningful.
type Flow struct {
	// Version is 5, 9 or 10 (IPFIX).
	Version uint16
	// Domain is the v9 source ID or the IPFIX observation domain (v5:
	// engine type << 8 | engine ID); Seq is the header's sequence
	// number and Index the record's place among the datagram's flows.
	// With the exporter they identify the record.
	Domain uint32
	Seq    uint32
	Index  int

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	ToS              uint8
	TCPFlags         uint16
	Bytes, Packets   uint64
	// Start and End are the first and last packet's times (zero when the
	// record does not say, or says relative to a time not yet known).
	Start, End         time.Time
	Input, Output      uint32
	NextHop            netip.Addr
	SrcAS, DstAS       uint32
	SrcMask, DstMask   uint8
	ICMPType, ICMPCode uint8
	VLAN               uint16
	Direction          uint8
	EndReason          uint8
	NATSrc, NATDst     netip.Addr
	NATSrcPort         uint16
	NATDstPort         uint16
	// RevBytes and RevPackets are an RFC 5103 biflow's reverse direction
	// (IPFIX, enterprise 29305).
	RevBytes, RevPackets uint64
	// Sampling is the v5 header's sampling interval (0: none given).
	Sampling uint16
	Has      uint32
	// Record is the record's bytes as received (part of the event ID).
	Record []byte
}

// Flow.Has bits.
const (
	hasPorts uint32 = 1 << iota
	hasToS
	hasTCPFlags
	hasInput
	hasOutput
	hasNextHop
	hasAS
	hasMask
	hasICMP
	hasVLAN
	hasDirection
	hasEndReason
	hasNAT
	hasNATPorts
	hasReverse
	hasBytes
	hasPackets
	hasProto
)

// DecodeStats are what one datagram held besides its flows.
type DecodeStats struct {
	// NoTemplate counts data sets (and their bytes) dropped because no
	// template for them was known (yet).
	NoTemplate, NoTemplateBytes int
	// Templates counts template and options template records learnt,
	// Withdrawn those withdrawn, Rejected those refused (too many
	// fields, malformed), Options the options data records read.
	Templates, Withdrawn, Rejected, Options int
}

// ErrNetFlowVersion is Decode's error for a datagram that is no flow
// export Vigil reads.
var ErrNetFlowVersion = errors.New("netflow: not NetFlow v5, v9 or IPFIX")

// Decoder limits.
const (
	// maxTemplateFields bounds a template's fields: real templates have
	// under a hundred, and each field is held in memory per template.
	maxTemplateFields = 512
	// maxV5Records is the most records a v5 header may announce (Cisco
	// sends at most 30; a 64 KiB datagram holds 1,364).
	maxV5Records = 1364
)

// NetFlowDecoder decodes datagrams, holding their exporters' templates.
// It is safe for concurrent use.
type NetFlowDecoder struct {
	Templates *TemplateCache
}

// NewNetFlowDecoder returns a decoder with a template cache of o.
func NewNetFlowDecoder(o TemplateOptions) *NetFlowDecoder {
	return &NetFlowDecoder{Templates: NewTemplateCache(o)}
}

// Decode appends the flows of one datagram from exporter to out. On a
// malformed datagram it returns the flows read before the damage with
// an error saying where (byte offset) and what.
func (d *NetFlowDecoder) Decode(exporter netip.Addr, data []byte, out []Flow) ([]Flow, DecodeStats, error) {
	var st DecodeStats
	if len(data) < 2 {
		return out, st, fmt.Errorf("%w: %d bytes", ErrNetFlowVersion, len(data))
	}
	switch v := binary.BigEndian.Uint16(data); v {
	case 5:
		out, err := DecodeNetFlowV5(data, out)
		return out, st, err
	case 9:
		return d.decodeV9(exporter, data, out, &st)
	case 10:
		return d.decodeIPFIX(exporter, data, out, &st)
	default:
		return out, st, fmt.Errorf("%w: version %d", ErrNetFlowVersion, v)
	}
}

func malformed(format string, off int, what string, a ...any) error {
	return fmt.Errorf("%s: byte %d: %s", format, off, fmt.Sprintf(what, a...))
}

// DecodeNetFlowV5 appends the records of a NetFlow v5 datagram to out.
// A v5 record's times are milliseconds of the exporter's uptime; the
// header gives the uptime and wall clock at export, which place them.
func DecodeNetFlowV5(data []byte, out []Flow) ([]Flow, error) {
	const hdr, rec = 24, 48
	if len(data) < hdr {
		return out, malformed(FormatNetFlowV5, len(data), "header cut short (%d of 24 bytes)", len(data))
	}
	count := int(binary.BigEndian.Uint16(data[2:]))
	uptime := binary.BigEndian.Uint32(data[4:])
	export := time.Unix(int64(binary.BigEndian.Uint32(data[8:])), int64(binary.BigEndian.Uint32(data[12:])%1e9)).UTC()
	seq := binary.BigEndian.Uint32(data[16:])
	domain := uint32(data[20])<<8 | uint32(data[21])
	sampling := binary.BigEndian.Uint16(data[22:]) & 0x3fff
	if count > maxV5Records {
		return out, malformed(FormatNetFlowV5, 2, "header announces %d records", count)
	}
	var err error
	if have := (len(data) - hdr) / rec; have < count {
		err = malformed(FormatNetFlowV5, hdr+have*rec, "header announces %d records, the datagram holds %d", count, have)
		count = have
	}
	for i := 0; i < count; i++ {
		r := data[hdr+i*rec : hdr+(i+1)*rec]
		f := Flow{
			Version: 5, Domain: domain, Seq: seq, Index: i, Record: r,
			Src:      netip.AddrFrom4([4]byte(r[0:4])),
			Dst:      netip.AddrFrom4([4]byte(r[4:8])),
			NextHop:  netip.AddrFrom4([4]byte(r[8:12])),
			Input:    uint32(binary.BigEndian.Uint16(r[12:])),
			Output:   uint32(binary.BigEndian.Uint16(r[14:])),
			Packets:  uint64(binary.BigEndian.Uint32(r[16:])),
			Bytes:    uint64(binary.BigEndian.Uint32(r[20:])),
			Start:    uptimeTime(export, uptime, binary.BigEndian.Uint32(r[24:])),
			End:      uptimeTime(export, uptime, binary.BigEndian.Uint32(r[28:])),
			SrcPort:  binary.BigEndian.Uint16(r[32:]),
			DstPort:  binary.BigEndian.Uint16(r[34:]),
			TCPFlags: uint16(r[37]), Proto: r[38], ToS: r[39],
			SrcAS: uint32(binary.BigEndian.Uint16(r[40:])), DstAS: uint32(binary.BigEndian.Uint16(r[42:])),
			SrcMask: r[44], DstMask: r[45],
			Sampling: sampling,
			Has:      hasPorts | hasToS | hasTCPFlags | hasInput | hasOutput | hasNextHop | hasAS | hasMask | hasBytes | hasPackets | hasProto,
		}
		if f.Proto == 1 {
			// v5 carries ICMP's type and code in the destination port.
			f.ICMPType, f.ICMPCode = uint8(f.DstPort>>8), uint8(f.DstPort)
			f.Has |= hasICMP
		}
		out = append(out, f)
	}
	return out, err
}

// uptimeTime places an uptime in milliseconds: export is the wall clock
// when the exporter's uptime was now. The difference is taken modulo
// 2³² (uptime wraps after 49.7 days) and read as signed, so a time just
// after export (clock skew) is not 49 days earlier.
func uptimeTime(export time.Time, now, at uint32) time.Time {
	return export.Add(-time.Duration(int32(now-at)) * time.Millisecond)
}

// ntpEpochOffset is 1900-01-01 to 1970-01-01 in seconds (IPFIX's
// dateTimeMicroseconds and dateTimeNanoseconds count from 1900).
const ntpEpochOffset = 2208988800

// v9 and IPFIX field kinds: what a template's field fills in a Flow.
const (
	fkSkip uint8 = iota
	fkBytes
	fkPackets
	fkBytesTotal
	fkPacketsTotal
	fkProto
	fkToS
	fkTCPFlags
	fkSrcPort
	fkDstPort
	fkSrc
	fkDst
	fkSrcMask
	fkDstMask
	fkInput
	fkOutput
	fkNextHop
	fkSrcAS
	fkDstAS
	fkEndUptime
	fkStartUptime
	fkICMPTypeCode
	fkICMPType
	fkICMPCode
	fkVLAN
	fkDirection
	fkEndReason
	fkStartSec
	fkEndSec
	fkStartMilli
	fkEndMilli
	fkStartNTP
	fkEndNTP
	fkStartDeltaMicro
	fkEndDeltaMicro
	fkSysInitMilli
	fkNATSrc
	fkNATDst
	fkNATSrcPort
	fkNATDstPort
	fkRevBytes
	fkRevPackets
)

// fieldKind maps an information element (v9 field type; IPFIX element
// with enterprise number pen) to what it fills.
func fieldKind(id uint16, pen uint32) uint8 {
	if pen == 29305 { // RFC 5103 reverse elements
		switch id {
		case 1:
			return fkRevBytes
		case 2:
			return fkRevPackets
		}
		return fkSkip
	}
	if pen != 0 {
		return fkSkip
	}
	switch id {
	case 1:
		return fkBytes
	case 2:
		return fkPackets
	case 85:
		return fkBytesTotal
	case 86:
		return fkPacketsTotal
	case 4:
		return fkProto
	case 5:
		return fkToS
	case 6:
		return fkTCPFlags
	case 7:
		return fkSrcPort
	case 11:
		return fkDstPort
	case 8, 27:
		return fkSrc
	case 12, 28:
		return fkDst
	case 9, 29:
		return fkSrcMask
	case 13, 30:
		return fkDstMask
	case 10:
		return fkInput
	case 14:
		return fkOutput
	case 15, 62:
		return fkNextHop
	case 16:
		return fkSrcAS
	case 17:
		return fkDstAS
	case 21:
		return fkEndUptime
	case 22:
		return fkStartUptime
	case 32, 139:
		return fkICMPTypeCode
	case 176, 178:
		return fkICMPType
	case 177, 179:
		return fkICMPCode
	case 58:
		return fkVLAN
	case 61:
		return fkDirection
	case 136:
		return fkEndReason
	case 150:
		return fkStartSec
	case 151:
		return fkEndSec
	case 152:
		return fkStartMilli
	case 153:
		return fkEndMilli
	case 154, 156:
		return fkStartNTP
	case 155, 157:
		return fkEndNTP
	case 158:
		return fkStartDeltaMicro
	case 159:
		return fkEndDeltaMicro
	case 160:
		return fkSysInitMilli
	case 225, 281:
		return fkNATSrc
	case 226, 282:
		return fkNATDst
	case 227:
		return fkNATSrcPort
	case 228:
		return fkNATDstPort
	}
	return fkSkip
}

// uintBE reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX's
// reduced-size encoding); longer values read their last 8 bytes.
func uintBE(b []byte) uint64 {
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func addrOf(b []byte) (netip.Addr, bool) {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b)), true
	case 16:
		return netip.AddrFrom16([16]byte(b)), true
	}
	return netip.Addr{}, false
}

// recordCtx is what a data record's times are relative to.
type recordCtx struct {
	version uint16
	export  time.Time // header's export time
	uptime  uint32    // v9 header's uptime (ms)
	sysInit time.Time // IPFIX: the exporter's systemInitTimeMilliseconds, when known
}

// fill sets f's element of kind k from the value v.
func (c *recordCtx) fill(f *Flow, k uint8, v []byte, sysInit *time.Time) {
	switch k {
	case fkBytes:
		f.Bytes, f.Has = uintBE(v), f.Has|hasBytes
	case fkPackets:
		f.Packets, f.Has = uintBE(v), f.Has|hasPackets
	case fkBytesTotal:
		if f.Has&hasBytes == 0 {
			f.Bytes, f.Has = uintBE(v), f.Has|hasBytes
		}
	case fkPacketsTotal:
		if f.Has&hasPackets == 0 {
			f.Packets, f.Has = uintBE(v), f.Has|hasPackets
		}
	case fkProto:
		f.Proto, f.Has = uint8(uintBE(v)), f.Has|hasProto
	case fkToS:
		f.ToS, f.Has = uint8(uintBE(v)), f.Has|hasToS
	case fkTCPFlags:
		f.TCPFlags, f.Has = uint16(uintBE(v)), f.Has|hasTCPFlags
	case fkSrcPort:
		f.SrcPort, f.Has = uint16(uintBE(v)), f.Has|hasPorts
	case fkDstPort:
		f.DstPort, f.Has = uint16(uintBE(v)), f.Has|hasPorts
	case fkSrc:
		if a, ok := addrOf(v); ok {
			f.Src = a
		}
	case fkDst:
		if a, ok := addrOf(v); ok {
			f.Dst = a
		}
	case fkSrcMask:
		f.SrcMask, f.Has = uint8(uintBE(v)), f.Has|hasMask
	case fkDstMask:
		f.DstMask, f.Has = uint8(uintBE(v)), f.Has|hasMask
	case fkInput:
		f.Input, f.Has = uint32(uintBE(v)), f.Has|hasInput
	case fkOutput:
		f.Output, f.Has = uint32(uintBE(v)), f.Has|hasOutput
	case fkNextHop:
		if a, ok := addrOf(v); ok {
			f.NextHop, f.Has = a, f.Has|hasNextHop
		}
	case fkSrcAS:
		f.SrcAS, f.Has = uint32(uintBE(v)), f.Has|hasAS
	case fkDstAS:
		f.DstAS, f.Has = uint32(uintBE(v)), f.Has|hasAS
	case fkStartUptime, fkEndUptime:
		var t time.Time
		ms := uint32(uintBE(v))
		if c.version == 9 {
			t = uptimeTime(c.export, c.uptime, ms)
		} else if !c.sysInit.IsZero() {
			t = c.sysInit.Add(time.Duration(ms) * time.Millisecond)
		}
		if k == fkStartUptime {
			f.Start = t
		} else {
			f.End = t
		}
	case fkICMPTypeCode:
		tc := uint16(uintBE(v))
		f.ICMPType, f.ICMPCode, f.Has = uint8(tc>>8), uint8(tc), f.Has|hasICMP
	case fkICMPType:
		f.ICMPType, f.Has = uint8(uintBE(v)), f.Has|hasICMP
	case fkICMPCode:
		f.ICMPCode, f.Has = uint8(uintBE(v)), f.Has|hasICMP
	case fkVLAN:
		f.VLAN, f.Has = uint16(uintBE(v)), f.Has|hasVLAN
	case fkDirection:
		f.Direction, f.Has = uint8(uintBE(v)), f.Has|hasDirection
	case fkEndReason:
		f.EndReason, f.Has = uint8(uintBE(v)), f.Has|hasEndReason
	case fkStartSec:
		f.Start = time.Unix(int64(uintBE(v)&math.MaxUint32), 0).UTC()
	case fkEndSec:
		f.End = time.Unix(int64(uintBE(v)&math.MaxUint32), 0).UTC()
	case fkStartMilli:
		f.Start = milliTime(uintBE(v))
	case fkEndMilli:
		f.End = milliTime(uintBE(v))
	case fkStartNTP:
		f.Start = ntpTime(uintBE(v))
	case fkEndNTP:
		f.End = ntpTime(uintBE(v))
	case fkStartDeltaMicro:
		f.Start = c.export.Add(-time.Duration(uint32(uintBE(v))) * time.Microsecond)
	case fkEndDeltaMicro:
		f.End = c.export.Add(-time.Duration(uint32(uintBE(v))) * time.Microsecond)
	case fkSysInitMilli:
		if sysInit != nil {
			*sysInit = milliTime(uintBE(v))
		}
	case fkNATSrc:
		if a, ok := addrOf(v); ok {
			f.NATSrc, f.Has = a, f.Has|hasNAT
		}
	case fkNATDst:
		if a, ok := addrOf(v); ok {
			f.NATDst, f.Has = a, f.Has|hasNAT
		}
	case fkNATSrcPort:
		f.NATSrcPort, f.Has = uint16(uintBE(v)), f.Has|hasNATPorts
	case fkNATDstPort:
		f.NATDstPort, f.Has = uint16(uintBE(v)), f.Has|hasNATPorts
	case fkRevBytes:
		f.RevBytes, f.Has = uintBE(v), f.Has|hasReverse
	case fkRevPackets:
		f.RevPackets, f.Has = uintBE(v), f.Has|hasReverse
	}
}

// milliTime reads milliseconds since 1970, refusing years past 9999
// (which no JSON time can hold).
func milliTime(ms uint64) time.Time {
	if ms > 253402300799999 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// ntpTime reads an NTP timestamp: seconds since 1900 in the high 32 bits,
// a binary fraction in the low.
func ntpTime(v uint64) time.Time {
	sec := int64(v>>32) - ntpEpochOffset
	frac := v & math.MaxUint32
	return time.Unix(sec, int64(frac*1e9>>32)).UTC()
}

// decodeV9 reads a NetFlow v9 export packet (RFC 3954).
func (d *NetFlowDecoder) decodeV9(exporter netip.Addr, data []byte, out []Flow, st *DecodeStats) ([]Flow, DecodeStats, error) {
	const hdr = 20
	if len(data) < hdr {
		return out, *st, malformed(FormatNetFlowV9, len(data), "header cut short (%d of 20 bytes)", len(data))
	}
	c := recordCtx{
		version: 9,
		uptime:  binary.BigEndian.Uint32(data[4:]),
		export:  time.Unix(int64(binary.BigEndian.Uint32(data[8:])), 0).UTC(),
	}
	seq := binary.BigEndian.Uint32(data[12:])
	domain := binary.BigEndian.Uint32(data[16:])
	tk := templateKey{exporter: exporter, version: 9, domain: domain}
	index := 0
	err := walkSets(FormatNetFlowV9, "FlowSet", data, hdr, func(id uint16, body []byte, base int) (err error) {
		switch {
		case id == 0 || id == 1:
			err = d.v9Templates(tk, body, base, id == 1, st)
		case id >= 256:
			tk.id = id
			out, err = d.dataSet(tk, &c, seq, &index, body, out, st)
		}
		return err
	})
	return out, *st, err
}

// walkSets calls set for each set (v9: FlowSet) of a message whose
// header is hdr bytes, with its ID, its body and the body's offset in
// data; a set header or length that does not fit stops it, as does an
// error from set.
func walkSets(format, what string, data []byte, hdr int, set func(id uint16, body []byte, base int) error) error {
	for off := hdr; off < len(data); {
		if len(data)-off < 4 {
			return malformed(format, off, "%d bytes left, too few for a %s header", len(data)-off, what)
		}
		id := binary.BigEndian.Uint16(data[off:])
		n := int(binary.BigEndian.Uint16(data[off+2:]))
		if n < 4 || n > len(data)-off {
			return malformed(format, off+2, "%s %d length %d (%d bytes left)", what, id, n, len(data)-off)
		}
		if err := set(id, data[off+4:off+n], off+4); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// v9Templates learns the template records of a template (options false)
// or options template FlowSet body starting at byte base.
func (d *NetFlowDecoder) v9Templates(tk templateKey, b []byte, base int, options bool, st *DecodeStats) error {
	for off := 0; len(b)-off >= 4; {
		id := binary.BigEndian.Uint16(b[off:])
		if id == 0 && off > 0 {
			return nil // padding to a 32-bit boundary (some exporters pad more)
		}
		var scopeLen, optLen, count int
		fields := off + 4
		if options {
			if len(b)-off < 6 {
				return malformed(FormatNetFlowV9, base+off, "options template header cut short")
			}
			scopeLen, optLen = int(binary.BigEndian.Uint16(b[off+2:])), int(binary.BigEndian.Uint16(b[off+4:]))
			if scopeLen%4 != 0 || optLen%4 != 0 {
				return malformed(FormatNetFlowV9, base+off+2, "options template %d: scope length %d and option length %d are not multiples of 4", id, scopeLen, optLen)
			}
			count = (scopeLen + optLen) / 4
			fields = off + 6
		} else {
			count = int(binary.BigEndian.Uint16(b[off+2:]))
		}
		if id < 256 {
			return malformed(FormatNetFlowV9, base+off, "template ID %d is below 256", id)
		}
		if len(b)-fields < count*4 {
			return malformed(FormatNetFlowV9, base+off, "template %d of %d fields cut short", id, count)
		}
		t := &template{options: options, scope: scopeLen / 4}
		ok := count <= maxTemplateFields
		if ok {
			t.fields = make([]tmplField, count)
			for i := range count {
				p := fields + i*4
				ft, fl := binary.BigEndian.Uint16(b[p:]), binary.BigEndian.Uint16(b[p+2:])
				k := fieldKind(ft, 0)
				if options && i < t.scope {
					k = fkSkip // v9 scope types (system, interface…) are not elements
				}
				t.fields[i] = tmplField{length: fl, kind: k}
			}
			ok = t.finish(false)
		}
		if ok {
			tk.id = id
			d.Templates.put(tk, t)
			st.Templates++
		} else {
			st.Rejected++
		}
		off = fields + count*4
	}
	return nil
}

// decodeIPFIX reads an IPFIX message (RFC 7011).
func (d *NetFlowDecoder) decodeIPFIX(exporter netip.Addr, data []byte, out []Flow, st *DecodeStats) ([]Flow, DecodeStats, error) {
	const hdr = 16
	if len(data) < hdr {
		return out, *st, malformed(FormatIPFIX, len(data), "header cut short (%d of 16 bytes)", len(data))
	}
	n := int(binary.BigEndian.Uint16(data[2:]))
	if n < hdr || n > len(data) {
		return out, *st, malformed(FormatIPFIX, 2, "message length %d, datagram %d bytes", n, len(data))
	}
	data = data[:n]
	c := recordCtx{version: 10, export: time.Unix(int64(binary.BigEndian.Uint32(data[4:])), 0).UTC()}
	seq := binary.BigEndian.Uint32(data[8:])
	domain := binary.BigEndian.Uint32(data[12:])
	tk := templateKey{exporter: exporter, version: 10, domain: domain}
	c.sysInit = d.Templates.sysInit(tk)
	index := 0
	err := walkSets(FormatIPFIX, "set", data, hdr, func(id uint16, body []byte, base int) (err error) {
		switch {
		case id == 2 || id == 3:
			err = d.ipfixTemplates(tk, body, base, id == 3, st)
		case id >= 256:
			tk.id = id
			out, err = d.dataSet(tk, &c, seq, &index, body, out, st)
		}
		return err
	})
	return out, *st, err
}

// ipfixTemplates learns (or withdraws) the records of a template set
// (options false) or an options template set.
func (d *NetFlowDecoder) ipfixTemplates(tk templateKey, b []byte, base int, options bool, st *DecodeStats) error {
	for off := 0; len(b)-off >= 4; {
		id := binary.BigEndian.Uint16(b[off:])
		count := int(binary.BigEndian.Uint16(b[off+2:]))
		if id == 0 && count == 0 {
			return nil // padding
		}
		if id < 256 && !(id == 2 || id == 3) {
			return malformed(FormatIPFIX, base+off, "template ID %d is below 256", id)
		}
		p := off + 4
		if count == 0 { // withdrawal (RFC 7011 §8.1); IDs 2 and 3 withdraw all
			tk.id = id
			d.Templates.withdraw(tk)
			st.Withdrawn++
			off = p
			continue
		}
		scope := 0
		if options {
			if len(b)-p < 2 {
				return malformed(FormatIPFIX, base+p, "options template %d header cut short", id)
			}
			scope = int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if scope == 0 || scope > count {
				return malformed(FormatIPFIX, base+p-2, "options template %d: scope field count %d of %d fields", id, scope, count)
			}
		}
		t := &template{options: options, scope: scope}
		keep := count <= maxTemplateFields
		if keep {
			t.fields = make([]tmplField, 0, count)
		}
		for i := 0; i < count; i++ {
			if len(b)-p < 4 {
				return malformed(FormatIPFIX, base+p, "template %d cut short at field %d of %d", id, i+1, count)
			}
			ie, fl := binary.BigEndian.Uint16(b[p:]), binary.BigEndian.Uint16(b[p+2:])
			p += 4
			var pen uint32
			if ie&0x8000 != 0 {
				if len(b)-p < 4 {
					return malformed(FormatIPFIX, base+p, "template %d: enterprise number of field %d cut short", id, i+1)
				}
				pen = binary.BigEndian.Uint32(b[p:])
				p += 4
				ie &^= 0x8000
			}
			if keep {
				t.fields = append(t.fields, tmplField{length: fl, kind: fieldKind(ie, pen)})
			}
		}
		if keep && t.finish(true) && id >= 256 {
			tk.id = id
			d.Templates.put(tk, t)
			st.Templates++
		} else {
			st.Rejected++
		}
		off = p
	}
	return nil
}

// dataSet decodes the records of a data set body with template tk.
// Records of an options template are read for what the collector needs
// (systemInitTimeMilliseconds) and are no flows.
func (d *NetFlowDecoder) dataSet(tk templateKey, c *recordCtx, seq uint32, index *int, b []byte, out []Flow, st *DecodeStats) ([]Flow, error) {
	t := d.Templates.get(tk)
	if t == nil {
		st.NoTemplate++
		st.NoTemplateBytes += len(b)
		return out, nil
	}
	format := FormatIPFIX
	if tk.version == 9 {
		format = FormatNetFlowV9
	}
	for off := 0; off < len(b); {
		if len(b)-off < t.min {
			return out, nil // padding (v9: to 4 bytes; IPFIX may pad)
		}
		start := off
		var f Flow
		var sysInit time.Time
		for _, fd := range t.fields {
			l := int(fd.length)
			if fd.length == 65535 { // IPFIX variable length (RFC 7011 §7)
				if len(b)-off < 1 {
					return out, malformed(format, off, "template %d: variable-length field cut short", tk.id)
				}
				l = int(b[off])
				off++
				if l == 255 {
					if len(b)-off < 2 {
						return out, malformed(format, off, "template %d: variable-length field cut short", tk.id)
					}
					l = int(binary.BigEndian.Uint16(b[off:]))
					off += 2
				}
			}
			if len(b)-off < l {
				if t.variable {
					return out, malformed(format, off, "template %d: field of %d bytes, %d left", tk.id, l, len(b)-off)
				}
				return out, nil
			}
			if fd.kind != fkSkip {
				c.fill(&f, fd.kind, b[off:off+l], &sysInit)
			}
			off += l
		}
		if off == start {
			return out, nil // a template of empty fields reads nothing
		}
		if t.options {
			st.Options++
			if !sysInit.IsZero() && tk.version == 10 {
				d.Templates.setSysInit(tk, sysInit)
				c.sysInit = sysInit
			}
			continue
		}
		f.Version, f.Domain, f.Seq, f.Index, f.Record = tk.version, tk.domain, seq, *index, b[start:off]
		*index++
		if f.Proto == 1 || f.Proto == 58 {
			if f.Has&hasICMP == 0 && f.Has&hasPorts != 0 && f.DstPort != 0 {
				// Some exporters carry ICMP's type and code in the port.
				f.ICMPType, f.ICMPCode, f.Has = uint8(f.DstPort>>8), uint8(f.DstPort), f.Has|hasICMP
			}
		}
		out = append(out, f)
	}
	return out, nil
}
