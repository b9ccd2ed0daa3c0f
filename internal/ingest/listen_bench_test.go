package ingest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkTCPIntoStream sends b.N RFC 5424 messages (about 150 bytes,
// octet counted) over one TCP connection into the syslog TCP listener
// and counts until the EVENTS stream of an embedded JetStream holds all
// of them: framing, normalising, JSON encoding and the durable publish,
// end to end. The figures in docs/performance.md come from
//
//	go test -run '^$' -bench TCPIntoStream -benchtime 200000x ./internal/ingest/
func BenchmarkTCPIntoStream(b *testing.B) {
	r := newRig(b, "", PublisherOptions{})
	l, err := NewTCPListener(r.opts(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 64<<10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg := fmt.Sprintf("<13>1 2026-12-06T13:00:00.%06dZ host01.trust.nhs.uk sshd 4242 - - Accepted publickey for user%d from 10.20.5.7 port 51122 ssh2", i%1000000, i)
		fmt.Fprintf(w, "%d %s", len(msg), msg)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for r.streamCount() < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("stream holds %d of %d", r.streamCount(), b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoggenIntoStream is BenchmarkTCPIntoStream with syslog-ng's
// loggen as the sender (RFC 5424, octet counted, 200-byte messages, no
// rate limit), the load generator, over one connection and over
// four:
//
//	go test -run '^$' -bench LoggenIntoStream -benchtime 200000x ./internal/ingest/
func BenchmarkLoggenIntoStream(b *testing.B) {
	root := os.Getenv("VIGIL_SYSLOG_NG_ROOT")
	if root == "" {
		root = "/opt/syslog-ng"
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/loggen")); err != nil {
		b.Skipf("loggen not unpacked under %s: %v", root, err)
	}
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			r := newRig(b, "", PublisherOptions{})
			l, err := NewTCPListener(r.opts(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			// loggen's --number is per connection.
			per := max(b.N/conns, 1)
			total := per * conns
			b.ResetTimer()
			out, err := syslogNGCmd(root, "usr/bin/loggen", "--inet", "--stream", "--syslog-proto", "--number", strconv.Itoa(per),
				"--active-connections", strconv.Itoa(conns), "--rate", "10000000", "--interval", "3600", "--size", "200", "127.0.0.1", port(l.Addr())).CombinedOutput()
			if err != nil {
				b.Fatalf("loggen: %v\n%s", err, out)
			}
			deadline := time.Now().Add(5 * time.Minute)
			for r.streamCount() < uint64(total) {
				if time.Now().After(deadline) {
					b.Fatalf("stream holds %d of %d\n%s", r.streamCount(), total, out)
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
