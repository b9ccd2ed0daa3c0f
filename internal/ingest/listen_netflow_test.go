package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// needSoftflowd returns Debian's softflowd (in /usr/sbin, often not on a
// user's PATH), or stops the test.
func needSoftflowd(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("softflowd"); err == nil {
		return p
	}
	const p = "/usr/sbin/softflowd"
	if _, err := os.Stat(p); err != nil {
		testneed.Missing(t, "softflowd (Debian package softflowd)", err)
	}
	return p
}

// pcapFlow is one unidirectional flow the test writes into a capture.
type pcapFlow struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	proto            uint8
	sizes            []int           // IP total length of each packet
	times            []time.Duration // each packet's offset from the capture's start
}

func (f pcapFlow) bytes() (n uint64) {
	for _, s := range f.sizes {
		n += uint64(s)
	}
	return n
}

// testFlows are 40 distinct IPv4 flows (TCP, UDP and ICMP) and 4 IPv6
// ones (TCP, UDP) of one to five packets, spread over about four seconds. The capture's last
// packet falls on a whole second, because a v9 header gives the export
// time in whole seconds and softflowd -a exports at the last packet's
// time.
func testFlows() []pcapFlow {
	var flows []pcapFlow
	var last time.Duration
	for i := range 44 {
		f := pcapFlow{
			src:     netip.AddrFrom4([4]byte{10, 1, byte(i / 10), byte(i%10 + 1)}),
			dst:     netip.AddrFrom4([4]byte{192, 168, byte(i % 3), byte(i + 10)}),
			srcPort: uint16(40000 + i*7),
			dstPort: []uint16{443, 80, 53, 22, 3389, 1433}[i%6],
			proto:   6,
		}
		if i >= 40 { // IPv6: NetFlow v9 and IPFIX carry it, v5 cannot
			f.src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i)})
			f.dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(i)})
		}
		switch {
		case i%7 == 6 && i < 40:
			f.proto, f.srcPort, f.dstPort = 1, 0, 8<<8 // echo request
		case i%3 == 2:
			f.proto = 17
		}
		for k := range 1 + i%5 {
			f.sizes = append(f.sizes, 60+i*13+k*101)
			at := time.Duration(i)*97*time.Millisecond + time.Duration(k)*31*time.Millisecond
			f.times = append(f.times, at)
			last = max(last, at)
		}
		flows = append(flows, f)
	}
	shift := last.Truncate(time.Second) + time.Second - last
	for i := range flows {
		for k := range flows[i].times {
			flows[i].times[k] += shift
		}
	}
	return flows
}

// pcapStart is the capture's first instant (the flows' times follow it).
var pcapStart = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// writePcap writes flows as a classic pcap (Ethernet, IPv4, TCP/UDP/ICMP
// headers and zero payload to each packet's size), packets in time order.
func writePcap(t testing.TB, path string, flows []pcapFlow) {
	t.Helper()
	type pkt struct {
		at   time.Duration
		data []byte
	}
	var pkts []pkt
	for fi, f := range flows {
		for k, size := range f.sizes {
			ip := make([]byte, size)
			ethertype := uint16(0x0800)
			var l4 []byte
			if f.src.Is4() {
				ip[0], ip[1] = 0x45, 0
				binary.BigEndian.PutUint16(ip[2:], uint16(size))
				binary.BigEndian.PutUint16(ip[4:], uint16(fi*16+k))
				ip[8], ip[9] = 64, f.proto
				copy(ip[12:16], f.src.AsSlice())
				copy(ip[16:20], f.dst.AsSlice())
				binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
				l4 = ip[20:]
			} else {
				ethertype = 0x86dd
				ip[0] = 0x60
				binary.BigEndian.PutUint16(ip[4:], uint16(size-40))
				ip[6], ip[7] = f.proto, 64
				copy(ip[8:24], f.src.AsSlice())
				copy(ip[24:40], f.dst.AsSlice())
				l4 = ip[40:]
			}
			switch f.proto {
			case 6:
				binary.BigEndian.PutUint16(l4[0:], f.srcPort)
				binary.BigEndian.PutUint16(l4[2:], f.dstPort)
				binary.BigEndian.PutUint32(l4[4:], uint32(1000+k))
				l4[12] = 5 << 4
				l4[13] = 0x18 // PSH ACK
				if k == 0 {
					l4[13] = 0x02 // SYN
				}
				binary.BigEndian.PutUint16(l4[14:], 65535)
			case 17:
				binary.BigEndian.PutUint16(l4[0:], f.srcPort)
				binary.BigEndian.PutUint16(l4[2:], f.dstPort)
				binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
			case 1:
				l4[0], l4[1] = byte(f.dstPort>>8), byte(f.dstPort)
				binary.BigEndian.PutUint16(l4[4:], uint16(fi))
			}
			frame := make([]byte, 14, 14+size)
			copy(frame[0:6], []byte{0x02, 0, 0, 0, 0, 2})
			copy(frame[6:12], []byte{0x02, 0, 0, 0, 0, 1})
			binary.BigEndian.PutUint16(frame[12:], ethertype)
			pkts = append(pkts, pkt{f.times[k], append(frame, ip...)})
		}
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].at < pkts[j].at })
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	b.Write(hdr)
	for _, p := range pkts {
		ts := pcapStart.Add(p.at)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p.data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(p.data)))
		b.Write(rec)
		b.Write(p.data)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// runSoftflowd has softflowd read pcap and export every flow to addr in
// NetFlow version (5, 9 or 10 for IPFIX), in the foreground (-r implies
// -d and no control socket); -a takes the capture's times as the clock,
// so the exported times are the packets' own; at the end of the file it
// expires and exports every flow, then exits.
func runSoftflowd(t testing.TB, pcap, addr string, version int, extra ...string) {
	t.Helper()
	args := append([]string{"-r", pcap, "-n", addr, "-v", strconv.Itoa(version), "-a"}, extra...)
	out, err := exec.Command(needSoftflowd(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("softflowd %v: %v\n%s", args, err, out)
	}
}

// Debian's softflowd reads a capture the test writes and exports its
// flows as NetFlow v5, v9 and IPFIX to the listener; every flow is one
// event on the EVENTS stream with the addresses, ports, protocol,
// packets, bytes and times written, owned by the organisation mapped
// from the exporter's address.
func TestSoftflowdIntoNetFlowListener(t *testing.T) {
	needSoftflowd(t)
	flows := testFlows()
	pcap := filepath.Join(t.TempDir(), "flows.pcap")
	writePcap(t, pcap, flows)
	for _, v := range []struct {
		version int
		format  string
		extra   []string
	}{
		{5, FormatNetFlowV5, nil},
		{9, FormatNetFlowV9, nil},
		{10, FormatIPFIX, nil},
		{10, FormatIPFIX, []string{"-A", "milli"}},
		{10, FormatIPFIX, []string{"-b"}}, // RFC 5103 biflows: reverse counts as enterprise elements
	} {
		t.Run(fmt.Sprintf("%s%v", v.format, v.extra), func(t *testing.T) {
			r := newRig(t, "senders:\n  - match: 127.0.0.1\n    org: RJ1\n", PublisherOptions{})
			l, err := NewNetFlowListener(r.opts(), TemplateOptions{})
			start(t, l, err)
			runSoftflowd(t, pcap, l.Addr().String(), v.version, v.extra...)
			want := flowsFor(flows, v.version)
			n := len(want)
			got := r.waitEvents(n)
			if len(got) != n {
				t.Fatalf("%d events, want %d", len(got), n)
			}
			ids := map[string]bool{}
			for _, e := range got {
				ev := e.ev
				if ev.ID == "" || e.msgID != ev.ID || ids[ev.ID] {
					t.Errorf("event ID %q, Nats-Msg-Id %q (seen before: %v)", ev.ID, e.msgID, ids[ev.ID])
				}
				ids[ev.ID] = true
				if ev.Org != "RJ1" || e.subject != "events.RJ1" || ev.ParseError != "" {
					t.Errorf("%s: org %s on %s, parse error %q", ev.Raw, ev.Org, e.subject, ev.ParseError)
				}
				if ev.Source.Protocol != ListenerNetFlow || ev.Source.Format != v.format || ev.Product != "netflow" || ev.Service != "netflow" {
					t.Errorf("%s: source %+v, log source %s/%s/%s", ev.Raw, ev.Source, ev.Product, ev.Service, ev.Category)
				}
				if host, _, _ := net.SplitHostPort(ev.Source.Addr); host != "127.0.0.1" || ev.Fields["exporter"] != "127.0.0.1" {
					t.Errorf("%s: source addr %s, exporter %v", ev.Raw, ev.Source.Addr, ev.Fields["exporter"])
				}
				src, _ := ev.Fields["src_ip"].(string)
				f, ok := want[src]
				if !ok {
					t.Errorf("event for no flow written: %s", ev.Raw)
					continue
				}
				delete(want, src)
				fields := map[string]any{
					"dst_ip": f.dst.String(), "proto_number": float64(f.proto), "proto": protoName(f.proto),
					"packets": float64(len(f.sizes)), "bytes": float64(f.bytes()), "version": float64(v.version),
					"start": flowTime(pcapStart.Add(f.times[0])), "end": flowTime(pcapStart.Add(f.times[len(f.times)-1])),
				}
				if f.proto == 1 {
					fields["icmp_type"], fields["icmp_code"] = float64(8), float64(0)
				} else {
					fields["src_port"], fields["dst_port"] = float64(f.srcPort), float64(f.dstPort)
					fields["destination.port"] = float64(f.dstPort)
				}
				if f.proto == 6 {
					flags := 0x02
					if len(f.sizes) > 1 {
						flags |= 0x18
					}
					fields["tcp_flags"] = float64(flags)
				}
				for k, w := range fields {
					if ev.Fields[k] != w {
						t.Errorf("%s: %s = %v (%T), want %v", ev.Raw, k, ev.Fields[k], ev.Fields[k], w)
					}
				}
				if slices.Contains(v.extra, "-b") && (ev.Fields["reverse_bytes"] != float64(0) || ev.Fields["reverse_packets"] != float64(0)) {
					t.Errorf("%s: biflow's reverse counts %v %v, want 0 (the capture is one way)", ev.Raw, ev.Fields["reverse_bytes"], ev.Fields["reverse_packets"])
				}
				if !ev.EventTime.Equal(pcapStart.Add(f.times[0])) {
					t.Errorf("%s: event time %s, want the flow's start", ev.Raw, ev.EventTime)
				}
			}
			if len(want) > 0 {
				t.Errorf("%d flows without an event", len(want))
			}
			fc := r.metrics.Flows()
			if len(fc) != 1 || fc[0].Flows != int64(n) || fc[0].Malformed != 0 || fc[0].NoTemplate != 0 {
				t.Errorf("flow metrics %+v", fc)
			}
			if v.version != 5 && fc[0].Templates == 0 {
				t.Errorf("no template counted: %+v", fc)
			}
			counts, _ := r.metrics.Snapshot()
			if len(counts) != 1 || counts[0].Events != int64(n) || counts[0].Org != "RJ1" {
				t.Errorf("event counts %+v", counts)
			}
		})
	}
}

// captureSoftflowd runs softflowd on pcap towards a plain UDP socket and
// returns the datagrams it sent, in order.
func captureSoftflowd(t testing.TB, pcap string, version int, extra ...string) [][]byte {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.(*net.UDPConn).SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	runSoftflowd(t, pcap, pc.LocalAddr().String(), version, extra...)
	var out [][]byte
	buf := make([]byte, 65536)
	for {
		if err := pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

// netflowSamples are softflowd's datagrams for testFlows, recorded under
// testdata/netflow/ by TestRecordSoftflowdSamples (VIGIL_NETFLOW_RECORD=1):
// real exports, read by the decoder tests, fuzz seeds and benchmarks
// without softflowd installed.
var netflowSamples = []struct {
	name    string
	version int
	extra   []string
}{
	{"softflowd-v5", 5, nil},
	{"softflowd-v9", 9, nil},
	{"softflowd-ipfix", 10, nil},
	{"softflowd-ipfix-milli", 10, []string{"-A", "milli"}},
	{"softflowd-ipfix-biflow", 10, []string{"-b"}},
}

func TestRecordSoftflowdSamples(t *testing.T) {
	if os.Getenv("VIGIL_NETFLOW_RECORD") == "" {
		t.Skip("VIGIL_NETFLOW_RECORD=1 records softflowd's datagrams under testdata/netflow/")
	}
	pcap := filepath.Join(t.TempDir(), "flows.pcap")
	writePcap(t, pcap, testFlows())
	dir := filepath.Join("testdata", "netflow")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range netflowSamples {
		for i, d := range captureSoftflowd(t, pcap, s.version, s.extra...) {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.bin", s.name, i)), d, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// loadSamples returns the recorded datagrams of one sample, in order.
func loadSamples(t testing.TB, name string) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; ; i++ {
		d, err := os.ReadFile(filepath.Join("testdata", "netflow", fmt.Sprintf("%s-%d.bin", name, i)))
		if err != nil {
			if i == 0 {
				t.Fatalf("no recorded %s datagrams: %v", name, err)
			}
			return out
		}
		out = append(out, d)
	}
}

// flowsFor are the flows a version exports, by source address: v5 has no
// IPv6.
func flowsFor(flows []pcapFlow, version int) map[string]pcapFlow {
	want := map[string]pcapFlow{}
	for _, f := range flows {
		if version != 5 || f.src.Is4() {
			want[f.src.String()] = f
		}
	}
	return want
}
