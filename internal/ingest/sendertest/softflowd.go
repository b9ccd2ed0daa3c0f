package sendertest

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// SoftflowdPath returns Debian's softflowd (in /usr/sbin, often not on a
// user's PATH), or stops the test.
func SoftflowdPath(t testing.TB) string {
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

// Softflowd has softflowd read pcap and export every flow to addr in
// NetFlow version (5, 9 or 10 for IPFIX), in the foreground (-r implies
// -d and no control socket); -a takes the capture's times as the clock,
// so the exported times are the packets' own; at the end of the file it
// expires and exports every flow, then exits. extra are more of
// softflowd's options (-A milli, -b).
func Softflowd(t testing.TB, pcap, addr string, version int, extra ...string) {
	t.Helper()
	args := append([]string{"-r", pcap, "-n", addr, "-v", strconv.Itoa(version), "-a"}, extra...)
	out, err := exec.Command(SoftflowdPath(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("softflowd %v: %v\n%s", args, err, out)
	}
}

// PcapFlow is one unidirectional flow a test writes into a capture.
type PcapFlow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP: DstPort is type<<8 | code, SrcPort 0
	Proto            uint8
	Sizes            []int           // IP total length of each packet
	Times            []time.Duration // each packet's offset from PcapStart
}

// ManyFlows is n one-packet UDP flows (DNS queries from 10/8 to
// 192.168/16), 10 µs apart from PcapStart: the load of the flow
// benchmarks.
func ManyFlows(n int) []PcapFlow {
	flows := make([]PcapFlow, n)
	for i := range flows {
		flows[i] = PcapFlow{
			Src:     netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			Dst:     netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}),
			SrcPort: uint16(1024 + i%60000), DstPort: 53, Proto: 17,
			Sizes: []int{80}, Times: []time.Duration{time.Duration(i) * 10 * time.Microsecond},
		}
	}
	return flows
}

// Bytes is the flow's IP bytes, as an exporter counts them.
func (f PcapFlow) Bytes() (n uint64) {
	for _, s := range f.Sizes {
		n += uint64(s)
	}
	return n
}

// PcapStart is the capture's first instant (the flows' times follow it).
var PcapStart = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// TestFlows are 40 distinct IPv4 flows (TCP, UDP and ICMP) and 4 IPv6
// ones (TCP, UDP) of one to five packets, spread over about four
// seconds. The capture's last packet falls on a whole second, because a
// v9 header gives the export time in whole seconds and softflowd -a
// exports at the last packet's time.
func TestFlows() []PcapFlow {
	var flows []PcapFlow
	var last time.Duration
	for i := range 44 {
		f := PcapFlow{
			Src:     netip.AddrFrom4([4]byte{10, 1, byte(i / 10), byte(i%10 + 1)}),
			Dst:     netip.AddrFrom4([4]byte{192, 168, byte(i % 3), byte(i + 10)}),
			SrcPort: uint16(40000 + i*7),
			DstPort: []uint16{443, 80, 53, 22, 3389, 1433}[i%6],
			Proto:   6,
		}
		if i >= 40 { // IPv6: NetFlow v9 and IPFIX carry it, v5 cannot
			f.Src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i)})
			f.Dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(i)})
		}
		switch {
		case i%7 == 6 && i < 40:
			f.Proto, f.SrcPort, f.DstPort = 1, 0, 8<<8 // echo request
		case i%3 == 2:
			f.Proto = 17
		}
		for k := range 1 + i%5 {
			f.Sizes = append(f.Sizes, 60+i*13+k*101)
			at := time.Duration(i)*97*time.Millisecond + time.Duration(k)*31*time.Millisecond
			f.Times = append(f.Times, at)
			last = max(last, at)
		}
		flows = append(flows, f)
	}
	shift := last.Truncate(time.Second) + time.Second - last
	for i := range flows {
		for k := range flows[i].Times {
			flows[i].Times[k] += shift
		}
	}
	return flows
}

// FlowsFor are the flows an export in version carries, by source
// address: v5 has no IPv6.
func FlowsFor(flows []PcapFlow, version int) map[string]PcapFlow {
	want := map[string]PcapFlow{}
	for _, f := range flows {
		if version != 5 || f.Src.Is4() {
			want[f.Src.String()] = f
		}
	}
	return want
}

// WritePcap writes flows as a classic pcap (Ethernet, IPv4 or IPv6,
// TCP/UDP/ICMP headers and zero payload to each packet's size), packets
// in time order.
func WritePcap(t testing.TB, path string, flows []PcapFlow) {
	t.Helper()
	type pkt struct {
		at   time.Duration
		data []byte
	}
	var pkts []pkt
	for fi, f := range flows {
		for k, size := range f.Sizes {
			ip := make([]byte, size)
			ethertype := uint16(0x0800)
			var l4 []byte
			if f.Src.Is4() {
				ip[0], ip[1] = 0x45, 0
				binary.BigEndian.PutUint16(ip[2:], uint16(size))
				binary.BigEndian.PutUint16(ip[4:], uint16(fi*16+k))
				ip[8], ip[9] = 64, f.Proto
				copy(ip[12:16], f.Src.AsSlice())
				copy(ip[16:20], f.Dst.AsSlice())
				binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
				l4 = ip[20:]
			} else {
				ethertype = 0x86dd
				ip[0] = 0x60
				binary.BigEndian.PutUint16(ip[4:], uint16(size-40))
				ip[6], ip[7] = f.Proto, 64
				copy(ip[8:24], f.Src.AsSlice())
				copy(ip[24:40], f.Dst.AsSlice())
				l4 = ip[40:]
			}
			switch f.Proto {
			case 6:
				binary.BigEndian.PutUint16(l4[0:], f.SrcPort)
				binary.BigEndian.PutUint16(l4[2:], f.DstPort)
				binary.BigEndian.PutUint32(l4[4:], uint32(1000+k))
				l4[12] = 5 << 4
				l4[13] = 0x18 // PSH ACK
				if k == 0 {
					l4[13] = 0x02 // SYN
				}
				binary.BigEndian.PutUint16(l4[14:], 65535)
			case 17:
				binary.BigEndian.PutUint16(l4[0:], f.SrcPort)
				binary.BigEndian.PutUint16(l4[2:], f.DstPort)
				binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
			case 1:
				l4[0], l4[1] = byte(f.DstPort>>8), byte(f.DstPort)
				binary.BigEndian.PutUint16(l4[4:], uint16(fi))
			}
			frame := make([]byte, 14, 14+size)
			copy(frame[0:6], []byte{0x02, 0, 0, 0, 0, 2})
			copy(frame[6:12], []byte{0x02, 0, 0, 0, 0, 1})
			binary.BigEndian.PutUint16(frame[12:], ethertype)
			pkts = append(pkts, pkt{f.Times[k], append(frame, ip...)})
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
		ts := PcapStart.Add(p.at)
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

// ipChecksum is the IPv4 header checksum of h.
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
