package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vigil-health/vigil/internal/events"
)

// sampleAndRandomFlows is softflowd's sample flows and n random ones (randomFlow,
// seeded with seed).
func sampleAndRandomFlows(t *testing.T, seed uint64, n int) []Flow {
	t.Helper()
	var flows []Flow
	for _, s := range netflowSamples {
		got, _ := decodeAll(t, NewNetFlowDecoder(TemplateOptions{}), loadSamples(t, s.name))
		flows = append(flows, got...)
	}
	if len(flows) == 0 {
		t.Fatal("no sample flows")
	}
	r := rand.New(rand.NewPCG(seed, 2026))
	for range n {
		flows = append(flows, randomFlow(r))
	}
	return flows
}

// The flow listener writes a flow's fields straight as JSON; the event it
// makes must read back exactly as the map the fields were built in before
// (refFlowSource, the earlier code kept as the reference) — the same
// fields, values, raw text, log source and ID — for softflowd's real
// exports and for flows with every combination of what a record may
// carry, under the shipped log-source mapping and under mappings that
// copy fields differently or look at their values.
func TestFlowFieldsAsTheMapGave(t *testing.T) {
	flows := sampleAndRandomFlows(t, 16, 3000)
	mappings := map[string]string{
		"shipped": "",
		// Copies in a chain, one onto a name the flow has (not copied),
		// one from a field that is absent, one to a name needing escapes.
		"copies": `rules:
  - formats: [netflow-v5, netflow-v9, ipfix]
    product: netflow
    category: flow
    fields: {src_ip: dst_ip, bytes: octets, octets: "o\"ctets", nat_src_ip: SourceNat, proto: Protocol}
`,
		// A rule that looks at the values: the map path.
		"values": `rules:
  - formats: [ipfix, netflow-v9, netflow-v5]
    match: {proto: tcp}
    product: netflow
    service: tcp
    fields: {dst_port: DestinationPort}
  - formats: [ipfix, netflow-v9, netflow-v5]
    exists: [icmp_type]
    product: netflow
    service: icmp
  - product: any
    service_field: proto
`,
		// No rule takes flows: no log source, no copies.
		"none": `rules:
  - formats: [json]
    product: other
`,
	}
	exporters := []netip.AddrPort{
		netip.AddrPortFrom(testExporter, 2055),
		netip.MustParseAddrPort("[2001:db8::9]:4739"),
		netip.MustParseAddrPort("[::ffff:198.51.100.4]:9995"),
		{},
	}
	for name, y := range mappings {
		ls, err := LoadLogSources([]byte(y))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			copied := 0
			for i := range flows {
				exp := exporters[i%len(exporters)]
				want := newRefFlowSource(exp, "RJ1", received, ls).event(&flows[i])
				src := newFlowSource(exp, "RJ1", received, ls)
				got := src.event(&flows[i])
				if name != "values" && got.FieldsJSON() == nil {
					t.Fatalf("flow %d: fields not written as JSON under a fixed mapping", i)
				}
				a, b := roundTrip(t, &got), roundTrip(t, &want)
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("flow %d (%+v):\n got %s\nwant %s", i, flows[i], mustJSON(t, a), mustJSON(t, b))
				}
				if _, ok := a.Fields["octets"]; ok {
					copied++
				}
			}
			if name == "copies" && copied == 0 {
				t.Error("no field was copied")
			}
		})
	}
}

// roundTrip is ev as the stream carries it and a consumer decodes it.
func roundTrip(t *testing.T, ev *events.Event) events.Event {
	t.Helper()
	line, err := appendEventJSON(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	var out events.Event
	if err := json.Unmarshal(line, &out); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// randomFlow is a flow with a random choice of what a record may carry,
// numbers at the edges of what JSON and float64 hold among them.
func randomFlow(r *rand.Rand) Flow {
	addr := func() netip.Addr {
		switch r.IntN(5) {
		case 0:
			return netip.Addr{}
		case 1:
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(256))})
		case 2:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))}).As16()) // v4-mapped
		case 3:
			return netip.IPv4Unspecified()
		}
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(256))})
	}
	big := func() uint64 {
		switch r.IntN(6) {
		case 0:
			return 0
		case 1:
			return math.MaxUint64 - uint64(r.IntN(3))
		case 2:
			return 1<<53 + uint64(r.IntN(3))
		case 3:
			return 1e15 + uint64(r.IntN(3)) - 1
		case 4:
			return 5e18 + uint64(r.IntN(1000))
		}
		return uint64(r.IntN(1 << 20))
	}
	t0 := time.Date(2026, 12, 6, 10, 0, 0, r.IntN(1e9), time.UTC)
	when := func() time.Time {
		switch r.IntN(4) {
		case 0:
			return time.Time{}
		case 1:
			return t0.Add(-time.Duration(r.IntN(5000)) * time.Millisecond)
		}
		return t0.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
	}
	protos := []uint8{0, 1, 6, 17, 58, 132, 47, 200}
	f := Flow{
		Version: []uint16{5, 9, 10}[r.IntN(3)], Domain: uint32(r.IntN(3)), Seq: r.Uint32(), Index: r.IntN(30),
		Src: addr(), Dst: addr(), SrcPort: uint16(r.IntN(65536)), DstPort: uint16(r.IntN(65536)),
		Proto: protos[r.IntN(len(protos))], ToS: uint8(r.IntN(3)), TCPFlags: uint16(r.IntN(0x200)),
		Bytes: big(), Packets: big(), Start: when(), End: when(),
		Input: uint32(r.IntN(3)), Output: uint32(r.IntN(3)), NextHop: addr(),
		SrcAS: uint32(r.IntN(2)), DstAS: uint32(r.IntN(70000)), ICMPType: uint8(r.IntN(20)), ICMPCode: uint8(r.IntN(5)),
		VLAN: uint16(r.IntN(3)), Direction: uint8(r.IntN(2)), EndReason: uint8(r.IntN(5)),
		NATSrc: addr(), NATDst: addr(), NATSrcPort: uint16(r.IntN(65536)), NATDstPort: uint16(r.IntN(65536)),
		RevBytes: big(), RevPackets: big(), Sampling: uint16(r.IntN(4)),
		Has:    r.Uint32(),
		Record: []byte{byte(r.IntN(256)), byte(r.IntN(256))},
	}
	return f
}

// Flow records on the stream (flowstream.go) become, in a consumer, the
// events the listener would have made: the same event, its stream line
// that JSON, and its fields that line's — for softflowd's exports and
// random flows, several datagrams' contexts in one message, and a
// received time in a zone other than UTC.
// flowMessage is flows as one message of FlowStreamEncoding, as the
// listener would publish them, with their events: a datagram's worth of
// flows share a source, and the mapping (each of mappings in turn), the
// exporter, the organisation and the received time change between them.
func flowMessage(flows []Flow, mappings ...*LogSources) ([]byte, []events.Event) {
	london := time.FixedZone("BST", 3600)
	exporters := []netip.AddrPort{netip.AddrPortFrom(testExporter, 2055), netip.MustParseAddrPort("[2001:db8::9]:4739")}
	var msg []byte
	var want []events.Event
	var last flowContext
	for i := range flows {
		f := &flows[i]
		if i%7 == 0 || last.src == nil || flowFormat(f.Version) != last.format {
			ls := mappings[i/7%len(mappings)]
			recv := received.Add(time.Duration(i) * time.Millisecond)
			if i%3 == 0 {
				recv = recv.In(london)
			}
			last.src = newFlowSource(exporters[i/7%2], []string{"RJ1", "RX1"}[i/14%2], recv, ls)
			last.src.logSource(f)
			last.format = last.src.format
			msg = appendFlowContext(msg, last.src)
		}
		ev := last.src.event(f)
		want = append(want, ev)
		msg = appendFlowRecord(msg, ev.ID, f)
	}
	return msg, want
}

func TestFlowStreamGivesTheListenersEvents(t *testing.T) {
	flows := sampleAndRandomFlows(t, 13, 2000)
	copies, err := LoadLogSources([]byte(`rules:
  - formats: [netflow-v5, netflow-v9, ipfix]
    product: netflow
    service: "h\"sc\u00e9n"
    fields: {src_ip: dst_ip, bytes: octets, proto: Protocol}
`))
	if err != nil {
		t.Fatal(err)
	}
	msg, want := flowMessage(flows, nil, copies)
	h := nats.Header{}
	h.Set(events.StreamEncodingHeader, FlowStreamEncoding)
	got, err := events.AppendStreamMessage(nil, h, msg)
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d events of %d: %v", len(got), len(want), err)
	}
	odd := 0
	for i := range got {
		a, b := roundTrip(t, &got[i]), roundTrip(t, &want[i])
		b.ReceivedAt, b.EventTime = b.ReceivedAt.UTC(), b.EventTime.UTC()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("flow %d:\n got %s\nwant %s", i, mustJSON(t, a), mustJSON(t, b))
		}
		// The line the store keeps is this event as the encoder writes
		// it, byte for byte, and holds its fields.
		line, _ := appendEventJSON(nil, &got[i])
		if !bytes.Equal(got[i].StreamLine(), line) {
			t.Fatalf("flow %d: the stream line\n%s\nthe event\n%s", i, got[i].StreamLine(), line)
		}
		// What it says of its numbers is what the store would find.
		if got[i].StreamLinePlain() != events.NumbersPlain(line) {
			t.Fatalf("flow %d: plain numbers %v, but the line %s", i, got[i].StreamLinePlain(), line)
		}
		if !got[i].StreamLinePlain() {
			odd++
		}
		fromLine, err := events.AppendStreamEvents(nil, line)
		if err != nil || len(fromLine) != 1 {
			t.Fatalf("flow %d: its line: %v", i, err)
		}
		if c := roundTrip(t, &fromLine[0]); !reflect.DeepEqual(c, a) {
			t.Fatalf("flow %d: the line says\n%s\nthe event\n%s", i, mustJSON(t, c), mustJSON(t, a))
		}
		if fj := got[i].FieldsJSON(); fj == nil || !bytes.Contains(line, fj) {
			t.Fatalf("flow %d: fields %s not in the line", i, fj)
		}
	}
	if odd == 0 || odd == len(got) {
		t.Errorf("%d of %d lines with numbers not plain: the random flows should give some and not all", odd, len(got))
	}
	// Cut anywhere, a message gives the flows before the cut and an
	// error naming the byte, never a panic or an event that is not whole.
	for cut := 1; cut < 600; cut += 7 {
		part, err := events.AppendStreamMessage(nil, h, msg[:cut])
		if err == nil && cut < len(msg) {
			// Only a cut between records reads cleanly.
			if _, err2 := events.AppendStreamMessage(nil, h, msg[:cut+1]); err2 == nil {
				t.Fatalf("cut at %d and %d: no error", cut, cut+1)
			}
		}
		for _, ev := range part {
			if ev.ID == "" || ev.Org == "" {
				t.Fatalf("cut at %d: %+v", cut, ev)
			}
		}
	}
	// An unknown encoding is an error, not NDJSON.
	h.Set(events.StreamEncodingHeader, "vigil-flows/99")
	if evs, err := events.AppendStreamMessage(nil, h, msg); err == nil || len(evs) != 0 {
		t.Fatalf("unknown encoding: %d events, %v", len(evs), err)
	}
}

// FuzzFlowStream: a flow message of any bytes never panics, and every
// event it gives is whole and its line is valid JSON of that event.
func FuzzFlowStream(f *testing.F) {
	src := newFlowSource(netip.AddrPortFrom(testExporter, 2055), "RJ1", received, nil)
	for _, s := range netflowSamples {
		flows, _ := decodeAll(f, NewNetFlowDecoder(TemplateOptions{}), loadSamples(f, s.name))
		var msg []byte
		for i := range flows {
			if i == 0 {
				src.logSource(&flows[i])
				msg = appendFlowContext(msg, src)
			}
			msg = appendFlowRecord(msg, "id"+strconv.Itoa(i), &flows[i])
		}
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := decodeFlowMessage(nil, data)
		// The records decoder reads what this one reads, refuses what it
		// refuses, and its records, one after another each run of one
		// context led by it (as a block keeps them), read as the same
		// events with their lines.
		recs, rerr := decodeFlowRecords(nil, data)
		if len(recs) != len(evs) || fmt.Sprint(err) != fmt.Sprint(rerr) {
			t.Fatalf("%d events (%v), %d records (%v)", len(evs), err, len(recs), rerr)
		}
		var block, ctx []byte
		for i := range recs {
			if recs[i].ID != evs[i].ID || recs[i].Org != evs[i].Org || !recs[i].EventTime.Equal(evs[i].EventTime) {
				t.Fatalf("record %d: %s %s %v, event %s %s %v", i, recs[i].ID, recs[i].Org, recs[i].EventTime, evs[i].ID, evs[i].Org, evs[i].EventTime)
			}
			enc, c, rec := recs[i].StreamRecord()
			if enc != FlowStreamEncoding || rec == nil {
				t.Fatalf("record %d has no record: %q", i, enc)
			}
			if i == 0 || !bytes.Equal(c, ctx) {
				block, ctx = append(block, c...), c
			}
			block = append(block, rec...)
		}
		again, err := decodeFlowMessage(nil, block)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("the records as a block: %d of %d events: %v", len(again), len(evs), err)
		}
		for i := range again {
			if !bytes.Equal(again[i].StreamLine(), evs[i].StreamLine()) {
				t.Fatalf("event %d from the block\n%s\nfrom the message\n%s", i, again[i].StreamLine(), evs[i].StreamLine())
			}
		}
		for i := range evs {
			ev := &evs[i]
			if ev.ID == "" || ev.Org == "" {
				t.Fatalf("%+v", ev)
			}
			line, err := appendEventJSON(nil, ev)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(line, ev.StreamLine()) {
				t.Fatalf("stream line\n%s\nevent\n%s", ev.StreamLine(), line)
			}
			if ev.StreamLinePlain() != events.NumbersPlain(line) {
				t.Fatalf("plain numbers %v: %s", ev.StreamLinePlain(), line)
			}
			back, err := events.AppendStreamEvents(nil, line)
			if err != nil || len(back) != 1 || back[0].ID != ev.ID || back[0].Org != ev.Org {
				t.Fatalf("%s: %v", line, err)
			}
		}
	})
}
