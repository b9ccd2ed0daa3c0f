package ingest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// The capture, its flows and softflowd live in sendertest (the CLI's
// end-to-end test runs softflowd too); these names keep the tests short.
type pcapFlow = sendertest.PcapFlow

var pcapStart = sendertest.PcapStart

func needSoftflowd(t testing.TB) string { return sendertest.SoftflowdPath(t) }
func testFlows() []pcapFlow             { return sendertest.TestFlows() }
func writePcap(t testing.TB, path string, flows []pcapFlow) {
	t.Helper()
	sendertest.WritePcap(t, path, flows)
}
func runSoftflowd(t testing.TB, pcap, addr string, version int, extra ...string) {
	t.Helper()
	sendertest.Softflowd(t, pcap, addr, version, extra...)
}
func flowsFor(flows []pcapFlow, version int) map[string]pcapFlow {
	return sendertest.FlowsFor(flows, version)
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
			checkMsgIDs(t, got)
			ids := map[string]bool{}
			for _, e := range got {
				ev := e.ev
				if ids[ev.ID] {
					t.Errorf("event ID %q seen before", ev.ID)
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
					"dst_ip": f.Dst.String(), "proto_number": float64(f.Proto), "proto": protoName(f.Proto),
					"packets": float64(len(f.Sizes)), "bytes": float64(f.Bytes()), "version": float64(v.version),
					"start": flowTime(pcapStart.Add(f.Times[0])), "end": flowTime(pcapStart.Add(f.Times[len(f.Times)-1])),
				}
				if f.Proto == 1 {
					fields["icmp_type"], fields["icmp_code"] = float64(8), float64(0)
				} else {
					fields["src_port"], fields["dst_port"] = float64(f.SrcPort), float64(f.DstPort)
					fields["destination.port"] = float64(f.DstPort)
				}
				if f.Proto == 6 {
					flags := 0x02
					if len(f.Sizes) > 1 {
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
				if !ev.EventTime.Equal(pcapStart.Add(f.Times[0])) {
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
