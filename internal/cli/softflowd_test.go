package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// Issue 16's flows end to end: Debian's softflowd reads a capture the
// test writes and exports its flows as NetFlow v5, v9 and IPFIX, one
// after another, to a real `vigil serve --netflow`; `vigil events`, run
// beside the server on its data, counts every flow of every export (the
// same flow in another version is another event: its ID covers the
// version) and finds a known one with its addresses, ports, protocol,
// packets and bytes.
func TestServeSoftflowd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vigil serve as a process")
	}
	sendertest.SoftflowdPath(t)
	flows := sendertest.TestFlows()
	pcap := filepath.Join(t.TempDir(), "flows.pcap")
	sendertest.WritePcap(t, pcap, flows)

	dir, nfPort, _ := serveNetFlow(t)

	versions := []int{5, 9, 10}
	want := 0
	for _, v := range versions {
		sendertest.Softflowd(t, pcap, "127.0.0.1:"+nfPort, v)
		want += len(sendertest.FlowsFor(flows, v))
	}

	// The flows' times are the capture's, not the clock's.
	window := []string{"--from", sendertest.PcapStart.Add(-time.Hour).Format(time.RFC3339), "--to", sendertest.PcapStart.Add(time.Hour).Format(time.RFC3339)}
	count := func(q string) int {
		t.Helper()
		r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "events", "count", q}, window...)...))
		n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if err != nil {
			t.Fatalf("events count printed %q", r.stdout)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n != want; {
		n = count("protocol=netflow")
		if n > want {
			t.Fatalf("%d flows stored, want %d", n, want)
		}
		if n != want && time.Now().After(deadline) {
			t.Fatalf("%d flows stored after 20 s, want %d", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The IPv4 flows are from 10.1/16; the query language has no IPv6 prefixes.
	if n := count("protocol=netflow AND NOT src_ip=10.0.0.0/8"); n != 2*4 {
		t.Errorf("%d IPv6 flows, want 8 (four each from v9 and IPFIX)", n)
	}

	// A TCP flow of five packets, once in each version.
	f := flows[4]
	if f.Proto != 6 || len(f.Sizes) != 5 || !f.Src.Is4() {
		t.Fatalf("flow 4 is not the five-packet IPv4 TCP flow the test expects: %+v", f)
	}
	q := fmt.Sprintf("src_ip=%s AND dst_port=%d", f.Src, f.DstPort)
	r := must(t, run(t, "", nil, append([]string{"--data-dir", dir, "events", "search", q, "--format", "json"}, window...)...))
	seen := map[float64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			EventTime time.Time `json:"event_time"`
			Source    struct{ Protocol, Format string }
			Fields    map[string]any
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		for k, w := range map[string]any{
			"src_ip": f.Src.String(), "dst_ip": f.Dst.String(), "src_port": float64(f.SrcPort), "dst_port": float64(f.DstPort),
			"proto": "tcp", "proto_number": float64(6), "packets": float64(len(f.Sizes)), "bytes": float64(f.Bytes()),
		} {
			if ev.Fields[k] != w {
				t.Errorf("%s = %v (%T), want %v", k, ev.Fields[k], ev.Fields[k], w)
			}
		}
		if ev.Source.Protocol != "netflow" || !ev.EventTime.Equal(sendertest.PcapStart.Add(f.Times[0])) {
			t.Errorf("source %+v, event time %s: %s", ev.Source, ev.EventTime, line)
		}
		v, _ := ev.Fields["version"].(float64)
		if seen[v] {
			t.Errorf("version %v twice", v)
		}
		seen[v] = true
	}
	if len(seen) != len(versions) || !seen[5] || !seen[9] || !seen[10] {
		t.Errorf("versions %v of %s, want 5, 9 and 10", seen, q)
	}
}

// serveNetFlow starts `vigil serve --netflow` on a fresh data directory
// and returns the directory, the NetFlow port (bound) and the server.
func serveNetFlow(t testing.TB, extra ...string) (dir, nfPort string, p *serveProc) {
	t.Helper()
	dir = t.TempDir()
	httpAddr := "127.0.0.1:" + sendertest.FreeTCPPort(t)
	nfPort = sendertest.FreeUDPPort(t)
	p = &serveProc{t: t, args: append([]string{"serve", "--data-dir", dir, "--http", httpAddr, "--netflow", "127.0.0.1:" + nfPort, "--log-level", "warn"}, extra...), http: httpAddr}
	p.start()
	t.Cleanup(p.stop)
	sendertest.WaitUDPBound(t, nfPort)
	return dir, nfPort, p
}
