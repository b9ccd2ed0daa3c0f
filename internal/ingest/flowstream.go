package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil-health/vigil/internal/flatjson"

	"github.com/vigil-health/vigil/internal/events"
)

// Flows on the events stream (ADR 0013). A flow's event is about 800
// bytes of JSON for a record of 50, and JetStream, the store's consumer
// and the copies between them cost by the byte: the flow listener puts
// the decoded records on the stream instead, in the binary encoding
// below (events.StreamEncodingHeader FlowStreamEncoding), and every
// consumer makes each record's event from it — the same event, fields
// and raw text the listener would have made (flowSource.make), with
// the ID the listener gave it. Only a log-source mapping whose rule for
// flows asks nothing of the fields' values can be carried so (fixedFor);
// otherwise the listener publishes the events as NDJSON, as every other
// listener does.
//
// A message is a sequence of records, each led by its kind:
//
//	'C' context: org, exporter host:port, exporter host, received time,
//	    format, product, service, category, then the count of field
//	    copies and each copy's source and Sigma name — what the flow
//	    records after it share (a datagram's flowSource)
//	'F' flow: ID, then the Flow's fields in their order (appendFlowRecord)
//
// Strings are a uvarint length and the bytes; numbers little-endian of
// the field's width; addresses a length (0, 4 or 16) and the bytes;
// times seconds since 1970 (int64) and nanoseconds (uint32).
const FlowStreamEncoding = "vigil-flows/1"

func init() {
	events.RegisterStreamEncoding(FlowStreamEncoding, decodeFlowMessage)
	events.RegisterStreamRecords(FlowStreamEncoding, decodeFlowRecords)
}

// Record kinds.
const (
	flowRecContext = 'C'
	flowRecFlow    = 'F'
)

// maxFlowRecord bounds one encoded flow record (the ID and every field at
// its widest).
const maxFlowRecord = 512

// flowItem is a flow on its way to the stream.
type flowItem struct {
	src *flowSource
	f   Flow // Record cleared: the ID is made
	id  string
}

// flowContext is what a message's last context record said.
type flowContext struct {
	src    *flowSource
	format string
}

var le = binary.LittleEndian

func appendFlowStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFlowAddr(b []byte, a netip.Addr) []byte {
	switch {
	case a.Is4():
		b = append(b, 4)
		a4 := a.As4()
		return append(b, a4[:]...)
	case a.Is6():
		b = append(b, 16)
		a16 := a.As16()
		return append(b, a16[:]...)
	}
	return append(b, 0)
}

func appendFlowTimeBin(b []byte, t time.Time) []byte {
	b = le.AppendUint64(b, uint64(t.Unix()))
	return le.AppendUint32(b, uint32(t.Nanosecond()))
}

// appendFlowContext writes s's context record.
func appendFlowContext(b []byte, s *flowSource) []byte {
	b = append(b, flowRecContext)
	b = appendFlowStr(b, s.org)
	b = appendFlowStr(b, s.addr)
	b = appendFlowStr(b, s.hostText)
	b = appendFlowTimeBin(b, s.received)
	b = appendFlowStr(b, s.format)
	b = appendFlowStr(b, s.ls.Product)
	b = appendFlowStr(b, s.ls.Service)
	b = appendFlowStr(b, s.ls.Category)
	b = binary.AppendUvarint(b, uint64(len(s.copies)))
	for _, c := range s.copies {
		b = appendFlowStr(b, c[0])
		b = appendFlowStr(b, c[1])
	}
	return b
}

// appendFlowRecord writes f's flow record.
func appendFlowRecord(b []byte, id string, f *Flow) []byte {
	b = append(b, flowRecFlow)
	b = appendFlowStr(b, id)
	b = le.AppendUint16(b, f.Version)
	b = le.AppendUint32(b, f.Domain)
	b = appendFlowAddr(b, f.Src)
	b = appendFlowAddr(b, f.Dst)
	b = le.AppendUint16(b, f.SrcPort)
	b = le.AppendUint16(b, f.DstPort)
	b = append(b, f.Proto, f.ToS)
	b = le.AppendUint16(b, f.TCPFlags)
	b = le.AppendUint64(b, f.Bytes)
	b = le.AppendUint64(b, f.Packets)
	b = appendFlowTimeBin(b, f.Start)
	b = appendFlowTimeBin(b, f.End)
	b = le.AppendUint32(b, f.Input)
	b = le.AppendUint32(b, f.Output)
	b = appendFlowAddr(b, f.NextHop)
	b = le.AppendUint32(b, f.SrcAS)
	b = le.AppendUint32(b, f.DstAS)
	b = append(b, f.SrcMask, f.DstMask, f.ICMPType, f.ICMPCode)
	b = le.AppendUint16(b, f.VLAN)
	b = append(b, f.Direction, f.EndReason)
	b = appendFlowAddr(b, f.NATSrc)
	b = appendFlowAddr(b, f.NATDst)
	b = le.AppendUint16(b, f.NATSrcPort)
	b = le.AppendUint16(b, f.NATDstPort)
	b = le.AppendUint64(b, f.RevBytes)
	b = le.AppendUint64(b, f.RevPackets)
	b = le.AppendUint16(b, f.Sampling)
	return le.AppendUint32(b, f.Has)
}

// flowReader reads a flow message; the first fault stops it.
type flowReader struct {
	b   []byte
	i   int
	err error
}

func (r *flowReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("byte %d: %s", r.i, what)
	}
	r.i = len(r.b)
}

// take reads n bytes; after a fault it gives n zeros (at most 16) or
// nil, so that a fixed-width read needs no check of its own.
func (r *flowReader) take(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b)-r.i < n {
		r.fail(what + " cut short")
		if n <= len(flowZeros) {
			return flowZeros[:n:n]
		}
		return nil
	}
	out := r.b[r.i : r.i+n]
	r.i += n
	return out
}

var flowZeros [16]byte

func (r *flowReader) u8(what string) uint8   { return r.take(1, what)[0] }
func (r *flowReader) u16(what string) uint16 { return le.Uint16(r.take(2, what)) }
func (r *flowReader) u32(what string) uint32 { return le.Uint32(r.take(4, what)) }
func (r *flowReader) u64(what string) uint64 { return le.Uint64(r.take(8, what)) }

func (r *flowReader) uvarint(what string) int {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b[r.i:])
	if k <= 0 || n > uint64(len(r.b)) {
		r.fail(what + ": bad length")
		return 0
	}
	r.i += k
	return int(n)
}

// str reads a string, which must be valid UTF-8 (the events' JSON would
// otherwise say something else than the event).
func (r *flowReader) str(what string) string { return r.strLike(what, "") }

// strLike is str giving like itself when the bytes are the same: the
// context records of one message mostly repeat the one before.
func (r *flowReader) strLike(what, like string) string {
	b := r.bytes(what)
	if string(b) == like {
		return like
	}
	return string(b)
}

// bytes reads a string's bytes, which must be valid UTF-8.
func (r *flowReader) bytes(what string) []byte {
	b := r.take(r.uvarint(what), what)
	if r.err == nil && !utf8.Valid(b) {
		r.fail(what + " is not UTF-8")
	}
	return b
}

func (r *flowReader) addr(what string) netip.Addr {
	switch n := r.u8(what); n {
	case 0:
		return netip.Addr{}
	case 4:
		return netip.AddrFrom4([4]byte(r.take(4, what)))
	case 16:
		return netip.AddrFrom16([16]byte(r.take(16, what)))
	default:
		r.fail(what + ": an address of " + fmt.Sprint(n) + " bytes")
	}
	return netip.Addr{}
}

func (r *flowReader) time(what string) time.Time {
	sec, ns := int64(r.u64(what)), r.u32(what)
	if ns >= 1e9 {
		r.fail(what + ": nanoseconds out of range")
	}
	return time.Unix(sec, int64(ns)).UTC()
}

// context reads a context record into a flowSource of its own; what is
// the same as in prev (the message's context before, or nil) is shared
// with it rather than made again.
func (r *flowReader) context(prev *flowSource) *flowSource {
	if prev == nil {
		prev = &flowSource{}
	}
	s := &flowSource{fixed: true}
	s.org = r.strLike("org", prev.org)
	s.addr = r.strLike("exporter", prev.addr)
	s.hostText = r.strLike("exporter host", prev.hostText)
	s.received = r.time("received time")
	s.format = r.strLike("format", prev.format)
	s.ls.Product = r.strLike("product", prev.ls.Product)
	s.ls.Service = r.strLike("service", prev.ls.Service)
	s.ls.Category = r.strLike("category", prev.ls.Category)
	n := r.uvarint("copies")
	same := n == len(prev.copies)
	for i := range n {
		if r.err != nil {
			break
		}
		var c [2]string
		if same {
			c = [2]string{r.strLike("copy source", prev.copies[i][0]), r.strLike("copy name", prev.copies[i][1])}
			same = c == prev.copies[i]
		} else {
			c = [2]string{r.str("copy source"), r.str("copy name")}
		}
		s.copies = append(s.copies, c)
	}
	if r.err == nil && s.org == "" {
		r.fail("no org")
	}
	if same && prev.copy != nil {
		s.copies, s.copy = prev.copies, prev.copy
	} else {
		s.copy = resolveCopies(s.copies)
	}
	if s.hostText == prev.hostText && prev.hostJSON != nil {
		s.hostJSON = prev.hostJSON
	} else {
		s.hostJSON = appendJSONString(nil, s.hostText)
	}
	return s
}

// flow reads a flow record; its ID's bytes are the message's.
func (r *flowReader) flow(f *Flow) (id []byte) {
	id = r.bytes("ID")
	f.Version = r.u16("version")
	f.Domain = r.u32("domain")
	f.Src, f.Dst = r.addr("source address"), r.addr("destination address")
	f.SrcPort, f.DstPort = r.u16("source port"), r.u16("destination port")
	f.Proto, f.ToS = r.u8("protocol"), r.u8("ToS")
	f.TCPFlags = r.u16("TCP flags")
	f.Bytes, f.Packets = r.u64("bytes"), r.u64("packets")
	f.Start, f.End = r.time("start"), r.time("end")
	f.Input, f.Output = r.u32("input"), r.u32("output")
	f.NextHop = r.addr("next hop")
	f.SrcAS, f.DstAS = r.u32("source AS"), r.u32("destination AS")
	f.SrcMask, f.DstMask, f.ICMPType, f.ICMPCode = r.u8("source mask"), r.u8("destination mask"), r.u8("ICMP type"), r.u8("ICMP code")
	f.VLAN = r.u16("VLAN")
	f.Direction, f.EndReason = r.u8("direction"), r.u8("end reason")
	f.NATSrc, f.NATDst = r.addr("NAT source"), r.addr("NAT destination")
	f.NATSrcPort, f.NATDstPort = r.u16("NAT source port"), r.u16("NAT destination port")
	f.RevBytes, f.RevPackets = r.u64("reverse bytes"), r.u64("reverse packets")
	f.Sampling = r.u16("sampling")
	f.Has = r.u32("present fields")
	if r.err == nil && len(id) == 0 {
		r.fail("a flow without an ID")
	}
	return id
}

// flowLineBuf is the size of the buffers a flow message's lines are
// written into, each line a slice of one that is never written again.
const flowLineBuf = 64 << 10

// decodeFlowMessage is the events.StreamDecoder of FlowStreamEncoding:
// each flow record becomes the event the listener would have made, its
// stream line written with it (flowLine).
func decodeFlowMessage(dst []events.Event, data []byte) ([]events.Event, error) {
	return decodeFlows(dst, data, false)
}

// decodeFlowRecords is FlowStreamEncoding's records decoder (ADR 0014):
// decodeFlowMessage's events without their lines, each with its record
// and its context's (events.Event.SetStreamRecord), for the block store
// to keep as they are. Writing the lines was two fifths of the CPU of
// storing flows, and compressing them (800 bytes a flow, not 110) another
// sixth. A flow whose log source copies a field to EventID, which a
// block's keys hold, still gets its line.
func decodeFlowRecords(dst []events.Event, data []byte) ([]events.Event, error) {
	return decodeFlows(dst, data, true)
}

func decodeFlows(dst []events.Event, data []byte, records bool) ([]events.Event, error) {
	r := flowReader{b: data}
	var src *flowLine
	var ctxRec []byte // src's context record
	keep := false     // src's flows are kept as records
	var lines []byte
	var errs []error
	for r.i < len(r.b) {
		at := r.i
		switch kind := r.u8("record"); kind {
		case flowRecContext:
			var prev *flowLine
			if src != nil {
				prev = src
			}
			src = newFlowLine(r.context(prev.source()), prev)
			if src.err != nil {
				r.fail(src.err.Error())
			}
			ctxRec = r.b[at:r.i]
			keep = records && !src.copiesTo("EventID")
		case flowRecFlow:
			var f Flow
			id := r.flow(&f)
			if r.err != nil {
				break
			}
			if src == nil {
				r.fail("a flow record before any context record")
				break
			}
			if flowFormat(f.Version) != src.format {
				r.fail("a flow of " + flowFormat(f.Version) + " in a context of " + src.format)
				break
			}
			if keep {
				ev := src.event(&f)
				if !jsonTimeFits(ev.EventTime) {
					errs = append(errs, fmt.Errorf("flow %s: %w", id, errFlowTime))
					continue
				}
				ev.ID = bytesString(id) // the message's, which nothing writes
				ev.SetStreamRecord(FlowStreamEncoding, ctxRec, r.b[at:r.i])
				dst = append(dst, ev)
				continue
			}
			if cap(lines)-len(lines) < 2*flowRoom {
				lines = make([]byte, 0, flowLineBuf)
			}
			ev, line, err := src.appendLine(lines, &f, id)
			if err != nil {
				errs = append(errs, fmt.Errorf("flow %s: %w", id, err))
				continue
			}
			lines = line
			dst = append(dst, ev)
		default:
			r.fail(fmt.Sprintf("a record of kind %#x", kind))
		}
	}
	if r.err != nil {
		errs = append(errs, r.err)
	}
	return dst, errors.Join(errs...)
}

// errFlowTime is a flow's time that a JSON line cannot hold.
var errFlowTime = errors.New("its time is out of range")

// copiesTo says whether the context's log source copies a field to name.
func (s *flowSource) copiesTo(name string) bool {
	for _, c := range s.copies {
		if c[1] == name {
			return true
		}
	}
	return false
}

// flowLine writes the events of one context's flows with their stream
// lines: what appendEventJSON would write for the event make gives, byte
// for byte (TestFlowStreamGivesTheListenersEvents), with what the
// context's lines share written once — the organisation, received time,
// source and log source — and the event's strings, fields and raw text
// slices of its line.
type flowLine struct {
	*flowSource
	mid      []byte // `,"org":…,"received_at":…,"event_time":`
	recvJSON []byte // the received time as a JSON string
	tail     []byte // `,"source":{…},"product":…,"fields":`
	rawPlain bool   // the exporter's text needs no escape in raw
	w        flowFields
	err      error
}

// source is l's flowSource (nil for a nil l).
func (l *flowLine) source() *flowSource {
	if l == nil {
		return nil
	}
	return l.flowSource
}

// newFlowLine is s's flowLine; prev, the message's flowLine before (or
// nil), is not used again, and its buffers and what is the same are
// taken over.
func newFlowLine(s *flowSource, prev *flowLine) *flowLine {
	l := &flowLine{flowSource: s}
	if prev != nil {
		l.mid, l.recvJSON, l.w.extra = prev.mid[:0], prev.recvJSON[:0], prev.w.extra[:0]
		if s.addr == prev.addr && s.format == prev.format && s.ls == prev.ls && s.hostText == prev.hostText {
			l.tail, l.rawPlain = prev.tail, prev.rawPlain
		}
	}
	var ok bool
	if l.recvJSON, ok = appendJSONTime(l.recvJSON, s.received, true); !ok {
		l.err = errors.New("the received time is out of range")
		return l
	}
	l.mid = append(l.mid, `,"org":`...)
	l.mid = appendJSONString(l.mid, s.org)
	l.mid = append(l.mid, `,"received_at":`...)
	l.mid = append(l.mid, l.recvJSON...)
	l.mid = append(l.mid, `,"event_time":`...)
	if l.tail != nil {
		return l
	}
	l.tail = append(l.tail, `,"source":{"protocol":`...)
	l.tail = appendJSONString(l.tail, ListenerNetFlow)
	l.tail = appendOmitEmpty(l.tail, "addr", s.addr)
	l.tail = appendOmitEmpty(l.tail, "format", s.format)
	l.tail = append(l.tail, '}')
	l.tail = appendOmitEmpty(l.tail, "product", s.ls.Product)
	l.tail = appendOmitEmpty(l.tail, "service", s.ls.Service)
	l.tail = appendOmitEmpty(l.tail, "category", s.ls.Category)
	l.tail = append(l.tail, `,"fields":`...)
	l.rawPlain = jsonPlain(s.hostText)
	return l
}

// jsonPlain says whether s is written in a JSON string as it is.
func jsonPlain(s string) bool { return flatjson.PlainRun(s, 0, true) == len(s) }

// event is f's event without its ID, line, fields or raw text.
func (l *flowLine) event(f *Flow) events.Event {
	ev := events.Event{
		Org: l.org, ReceivedAt: l.received, EventTime: flowOwnTime(f),
		Source:  events.Source{Protocol: ListenerNetFlow, Format: l.format, Addr: l.addr},
		Product: l.ls.Product, Service: l.ls.Service, Category: l.ls.Category,
	}
	if ev.EventTime.IsZero() {
		ev.EventTime = l.received
	}
	return ev
}

// appendLine appends f's line to b and returns its event and b.
func (l *flowLine) appendLine(b []byte, f *Flow, id []byte) (events.Event, []byte, error) {
	ev := l.event(f)
	start := len(b)
	b = append(b, `{"id":`...)
	if flatjson.PlainRun(id, 0, true) == len(id) {
		// As it is: the event's ID is the line's copy.
		b = append(b, '"')
		b = append(b, id...)
		ev.ID = bytesString(b[len(b)-len(id):])
		b = append(b, '"')
	} else {
		ev.ID = string(id)
		b = appendJSONString(b, ev.ID)
	}
	b = append(b, l.mid...)
	if flowOwnTime(f).IsZero() {
		b = append(b, l.recvJSON...)
	} else {
		var ok bool
		if b, ok = appendJSONTime(b, ev.EventTime, true); !ok {
			return events.Event{}, b[:start], errFlowTime
		}
	}
	b = append(b, l.tail...)
	l.w.b, l.w.at, l.w.extra, l.w.odd = b, [numFlowKeys]flowSpan{}, l.w.extra[:0], false
	fieldsAt := len(b)
	l.w.write(f, l.hostJSON)
	l.w.copy(l.copy)
	b = append(l.w.b, '}')
	ev.SetFieldsJSON(b[fieldsAt:len(b):len(b)])
	b = append(b, `,"raw":`...)
	if l.rawPlain {
		b = append(b, '"')
		rawAt := len(b)
		b = appendFlowRaw(b, f, l.hostText, &l.w)
		ev.Raw = bytesString(b[rawAt:])
		b = append(b, '"')
	} else {
		ev.Raw = string(appendFlowRaw(nil, f, l.hostText, &l.w))
		b = appendJSONString(b, ev.Raw)
	}
	b = append(b, '}')
	ev.SetStreamLine(b[start:len(b):len(b)], !l.w.odd)
	return ev, b, nil
}

// bytesString is b as a string without a copy; b is never written again.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// publishFlows publishes items as flow messages (one per organisation,
// split before maxMessageBytes) and waits for every ack, as Publish does
// for events.
func (p *Publisher) publishFlows(ctx context.Context, items []flowItem) error {
	return p.inChunks(ctx, len(items), false, func(lo, hi int) error { return p.publishFlowChunk(ctx, items[lo:hi]) })
}

func (p *Publisher) publishFlowChunk(ctx context.Context, items []flowItem) error {
	var c chunkMsgs
	var firstErr error
	newMsg := func(org string, left int) *batchMsg {
		return &batchMsg{org: org, enc: FlowStreamEncoding, data: make([]byte, 0, min(left*160+1024, maxMessageBytes+64<<10))}
	}
	var ctxRec []byte
	for i := range items {
		it := &items[i]
		if !c.first(it.id, len(items)) {
			continue
		}
		m := c.of(it.src.org, func() *batchMsg { return newMsg(it.src.org, len(items)-i) })
		want := flowContext{it.src, it.src.format}
		ctxRec = ctxRec[:0]
		if m.flows != want {
			ctxRec = appendFlowContext(ctxRec, it.src)
		}
		if m.n > 0 && len(m.data)+len(ctxRec)+maxFlowRecord > maxMessageBytes {
			if firstErr = p.send(m, &c.pending); firstErr != nil {
				break
			}
			*m = *newMsg(it.src.org, len(items)-i)
			ctxRec = appendFlowContext(ctxRec[:0], it.src)
		}
		m.data = append(m.data, ctxRec...)
		m.flows = want
		m.data = appendFlowRecord(m.data, it.id, &it.f)
		m.add(it.id)
	}
	return p.finish(ctx, &c, firstErr)
}
