package ingest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// BenchmarkNetFlowDecode decodes softflowd's recorded exports (29 and
// 11 flows a datagram in v5; v9 and IPFIX as softflowd packs them, its
// templates learnt once) on one goroutine, no I/O, in three stages:
// decode (bytes to Flows), event (and each flow to its events.Event:
// fields, raw rendering, SHA-256 ID, log source) and json (and each
// event to the JSON the stream carries). The figures in
// docs/performance.md come from
//
//	go test -run '^$' -bench NetFlowDecode -benchmem ./internal/ingest/
func BenchmarkNetFlowDecode(b *testing.B) {
	for _, s := range netflowSamples[:3] {
		data := loadSamples(b, s.name)
		for _, stage := range []string{"decode", "event", "json"} {
			b.Run(s.name+"/"+stage, func(b *testing.B) {
				dec := NewNetFlowDecoder(TemplateOptions{})
				decodeAll(b, dec, data) // templates
				var flows []Flow
				var buf, arena []byte
				from := netip.AddrPortFrom(testExporter, 2055)
				records := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var err error
					flows, _, err = dec.Decode(testExporter, data[i%len(data)], flows[:0])
					if err != nil {
						b.Fatal(err)
					}
					records += len(flows)
					if stage == "decode" {
						continue
					}
					src := newFlowSource(from, "RJ1", received, nil)
					src.buf = arena // as the listener hands it on
					for j := range flows {
						ev := src.event(&flows[j])
						if stage == "json" {
							if buf, err = appendEventJSON(buf[:0], &ev); err != nil {
								b.Fatal(err)
							}
						}
					}
					arena = src.buf
				}
				b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(records, 1)), "ns/record")
			})
		}
	}
}

// BenchmarkNetFlowIntoStream is the listener's work for b.N datagrams of
// softflowd's v5 or IPFIX export (each with its own sequence number, so
// every flow is a new event): its queue and publisher goroutine — decode,
// events, org mapping, JSON and the durable publish into an embedded
// JetStream's EVENTS stream — the clock stopping once every batch is
// acknowledged. The socket is left out (a sender in the same process
// could outrun the kernel's buffer and measure drops instead).
//
//	go test -run '^$' -bench NetFlowIntoStream -benchtime 10000x ./internal/ingest/
func BenchmarkNetFlowIntoStream(b *testing.B) {
	for _, s := range []string{"softflowd-v5", "softflowd-ipfix"} {
		b.Run(s, func(b *testing.B) {
			r := newRig(b, "", PublisherOptions{})
			l, err := NewNetFlowListener(r.opts(), TemplateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			samples := loadSamples(b, s)
			from := netip.AddrPortFrom(testExporter, 2055)
			var bt batch
			for _, d := range samples { // templates
				l.handle(&bt, datagram{data: d, from: from, received: time.Now()})
			}
			bt.reset()
			seqAt := 16 // v5's flow_sequence; IPFIX's sequence number is at 8
			if s == "softflowd-ipfix" {
				seqAt = 8
			}
			data := make([][]byte, b.N)
			for i := range data {
				d := append([]byte(nil), samples[i%len(samples)]...)
				binary.BigEndian.PutUint32(d[seqAt:], uint32(i+1000))
				data[i] = d
			}
			// The listener's own queue and publisher: datagrams queued as the
			// socket reader queues them.
			q := make(chan datagram, udpQueue)
			l.wg.Add(1)
			b.ResetTimer()
			go l.publish(b.Context(), q)
			for i := range data {
				q <- datagram{data: data[i], from: from, received: time.Now()}
			}
			close(q)
			l.wg.Wait()
			b.StopTimer()
			flows := 0
			for _, d := range data {
				f, _, _ := l.dec.Decode(testExporter, d, nil)
				flows += len(f)
			}
			if got := r.streamCount(); got != uint64(flows) {
				b.Fatalf("stream holds %d of %d", got, flows)
			}
			b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkSoftflowdIntoStream is the whole path with the real exporter:
// softflowd reads a capture of 100,000 one-packet UDP flows (written
// first, not timed) and exports them as NetFlow v9 over loopback to the
// listener, which publishes them to the stream; the clock runs from
// softflowd's start until the stream holds every flow, or stops 5 s
// after the count last moved, reporting what arrived (UDP: datagrams
// beyond the socket's buffer are lost, counted by the kernel). b.N is
// ignored: run it once.
//
//	go test -run '^$' -bench SoftflowdIntoStream -benchtime 1x ./internal/ingest/
func BenchmarkSoftflowdIntoStream(b *testing.B) {
	const n = 100000
	flows := sendertest.ManyFlows(n)
	pcap := filepath.Join(b.TempDir(), "many.pcap")
	writePcap(b, pcap, flows)
	r := newRig(b, "", PublisherOptions{})
	l, err := NewNetFlowListener(r.opts(), TemplateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	start := time.Now()
	runSoftflowd(b, pcap, l.Addr().String(), 9)
	exported := time.Since(start)
	last, moved := uint64(0), time.Now()
	for {
		got := r.streamCount()
		if got != last {
			last, moved = got, time.Now()
		}
		if got >= n || time.Since(moved) > 5*time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := moved.Sub(start)
	b.StopTimer()
	b.ReportMetric(float64(last)/took.Seconds(), "records/s")
	b.ReportMetric(float64(last), "stored")
	b.ReportMetric(exported.Seconds(), "softflowd-s")
	if fc := r.metrics.Flows(); len(fc) == 1 {
		b.ReportMetric(float64(fc[0].Flows), "decoded")
	}
}

// BenchmarkFlowStreamDecode is a consumer's work on a message of flow
// records (flowstream.go): each record's event and its stream line.
//
//	go test -run '^$' -bench FlowStreamDecode -benchmem ./internal/ingest/
func BenchmarkFlowStreamDecode(b *testing.B) {
	flows, _ := decodeAll(b, NewNetFlowDecoder(TemplateOptions{}), loadSamples(b, "softflowd-v9"))
	src := newFlowSource(netip.AddrPortFrom(testExporter, 2055), "RJ1", received, nil)
	src.logSource(&flows[0])
	var msg []byte
	n := 0
	for n < 500 {
		for i := range flows {
			if n%25 == 0 {
				msg = appendFlowContext(msg, src)
			}
			msg = appendFlowRecord(msg, fmt.Sprintf("%032x", n), &flows[i])
			n++
		}
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var evs []events.Event
	for b.Loop() {
		var err error
		if evs, err = decodeFlowMessage(evs[:0], msg); err != nil || len(evs) != n {
			b.Fatal(len(evs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
}
