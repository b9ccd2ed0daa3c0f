package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/testneed"
)

// needLogger returns util-linux's logger, or stops the test.
func needLogger(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("logger")
	if err != nil {
		testneed.Missing(t, "logger (Debian package bsdutils)", err)
	}
	return p
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func runLogger(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(needLogger(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("logger %v: %v\n%s", args, err, out)
	}
}

// util-linux's logger sends RFC 5424 and RFC 3164 over UDP, and over TCP
// with octet counting and with LF framing; every message lands on the
// EVENTS stream, parsed, on the subject of the organisation the mapping
// gives the sender, and the metrics count it.
func TestLoggerIntoSyslogListeners(t *testing.T) {
	r := newRig(t, `
default: RJ1
listeners:
  syslog-tcp: R1H
senders:
  - match: 127.0.0.0/8
    org: RQM
  - match: 127.0.0.1
    org: RJ1
`, PublisherOptions{})
	udp, err := NewUDPListener(r.opts())
	start(t, udp, err)
	// 127.0.0.1 is mapped exactly, which wins over the block and over
	// the TCP listener's default: every event is RJ1's.
	tcp, err := NewTCPListener(r.opts(), nil)
	start(t, tcp, err)

	runLogger(t, "-d", "-n", "127.0.0.1", "-P", port(udp.Addr()), "--rfc5424", "-t", "vigiltest", "udp 5424 message")
	runLogger(t, "-d", "-n", "127.0.0.1", "-P", port(udp.Addr()), "--rfc3164", "-t", "vigiltest", "udp 3164 message")
	runLogger(t, "-T", "-n", "127.0.0.1", "-P", port(tcp.Addr()), "--octet-count", "--rfc5424", "-t", "vigiltest", "tcp octet-counted message")
	runLogger(t, "-T", "-n", "127.0.0.1", "-P", port(tcp.Addr()), "--rfc5424", "-t", "vigiltest", "tcp lf-framed message")
	// Several messages on one connection, from a file (one per line).
	f := filepath.Join(t.TempDir(), "lines")
	if err := os.WriteFile(f, []byte("line one\nline two\nline three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runLogger(t, "-T", "-n", "127.0.0.1", "-P", port(tcp.Addr()), "--octet-count", "-t", "vigiltest", "-f", f)

	got := r.waitEvents(7)
	checkMsgIDs(t, got)
	want := []string{"line one", "line three", "line two", "tcp lf-framed message", "tcp octet-counted message", "udp 3164 message", "udp 5424 message"}
	if m := messages(got); !slices.Equal(m, want) {
		t.Fatalf("messages = %q, want %q", m, want)
	}
	for _, e := range got {
		if e.ev.Org != "RJ1" || e.subject != "events.RJ1" {
			t.Errorf("%q: org %s on %s, want RJ1", e.ev.Raw, e.ev.Org, e.subject)
		}
		if e.ev.Fields["syslog.appname"] != "vigiltest" || e.ev.ParseError != "" {
			t.Errorf("%q: fields %v, parse error %q", e.ev.Raw, e.ev.Fields, e.ev.ParseError)
		}
		wantProto := ListenerSyslogTCP
		if e.ev.Fields["message"] == "udp 5424 message" || e.ev.Fields["message"] == "udp 3164 message" {
			wantProto = ListenerSyslogUDP
		}
		if e.ev.Source.Protocol != wantProto {
			t.Errorf("%q: protocol %s, want %s", e.ev.Raw, e.ev.Source.Protocol, wantProto)
		}
	}
	counts, _ := r.metrics.Snapshot()
	total := map[string]int64{}
	for _, c := range counts {
		total[c.Listener] += c.Events
	}
	if total[ListenerSyslogUDP] != 2 || total[ListenerSyslogTCP] != 5 {
		t.Errorf("metrics counted %v", counts)
	}
	seen := r.metrics.Senders()
	if len(seen) != 2 || seen[0].Addr != "127.0.0.1" || seen[0].Org != "RJ1" {
		t.Errorf("last seen = %+v", seen)
	}
}

// A listener's mapping: a sender mapped by block, one by nothing (the
// listener's default), and with no mapping at all the national root.
func TestListenerOrgFallbacks(t *testing.T) {
	r := newRig(t, "listeners:\n  syslog-tcp: R1H\n", PublisherOptions{})
	tcp, err := NewTCPListener(r.opts(), nil)
	start(t, tcp, err)
	o := r.opts()
	o.Name = "udp-unmapped"
	udp, err := NewUDPListener(o)
	start(t, udp, err)
	runLogger(t, "-T", "-n", "127.0.0.1", "-P", port(tcp.Addr()), "--rfc5424", "to the listener's default")
	runLogger(t, "-d", "-n", "127.0.0.1", "-P", port(udp.Addr()), "--rfc5424", "to the root")
	for _, e := range r.waitEvents(2) {
		want := "R1H"
		if e.ev.Source.Protocol == ListenerSyslogUDP {
			want = testRoot
		}
		if e.ev.Org != want || e.subject != EventSubject(want) {
			t.Errorf("%s: org %s on %s, want %s", e.ev.Source.Protocol, e.ev.Org, e.subject, want)
		}
	}
}

// A sender that resends a message (rsyslog after a reconnect) — the
// same bytes from the same host, from a new port — gives the same event
// ID, and the stream keeps one copy.
func TestResentEventStoredOnce(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	tcp, err := NewTCPListener(r.opts(), nil)
	start(t, tcp, err)
	line := "<13>1 2026-12-06T13:00:00Z host app 1 - - resent after a crash\n"
	for range 3 {
		c, err := net.Dial("tcp", tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// And straight through the publisher, twice, as a restarted process
	// would publish a batch it was not sure of.
	ev := r.norm.Parse([]byte("<13>1 2026-12-06T13:00:01Z host app 1 - - published twice"), events.Source{Protocol: "syslog-tcp", Addr: "192.0.2.1:5000"}, time.Now())
	ev.Org = "RJ1"
	for range 2 {
		if err := r.pub.Publish(context.Background(), []events.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	r.waitEvents(2)
	time.Sleep(300 * time.Millisecond) // any late copy would have landed
	if n := r.streamCount(); n != 2 {
		t.Fatalf("stream holds %d events, want 2 (one per distinct event)", n)
	}
	waitFor(t, "duplicates counted", func() bool { _, d := r.metrics.Snapshot(); return d == 3 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testCert writes a self-signed certificate for 127.0.0.1 and its key,
// returning their paths and a pool that trusts it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Syslog over TLS (RFC 5425: octet counting) with the certificate and
// key read from files; a client that does not speak TLS gets nothing
// stored.
func TestSyslogTLS(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	certFile, keyFile, pool := testCert(t)
	conf, err := TLSConfigFromFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewTCPListener(r.opts(), conf)
	start(t, l, err)
	// Plain text to the TLS port: the handshake fails, nothing stored.
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		fmt.Fprintf(c, "<13>plain text to a TLS port\n")
		c.Close()
	}
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		msg := "<13>1 2026-12-06T13:00:00Z host app - - - over TLS " + strconv.Itoa(i)
		fmt.Fprintf(c, "%d %s", len(msg), msg)
	}
	c.Close()
	got := r.waitEvents(3)
	time.Sleep(200 * time.Millisecond)
	if n := r.streamCount(); n != 3 {
		t.Fatalf("stream holds %d events, want 3", n)
	}
	if m := messages(got); !slices.Equal(m, []string{"over TLS 0", "over TLS 1", "over TLS 2"}) {
		t.Fatalf("messages %q", m)
	}
	if got[0].ev.Source.Protocol != ListenerSyslogTLS {
		t.Errorf("protocol %s", got[0].ev.Source.Protocol)
	}
	if _, err := TLSConfigFromFiles(certFile, ""); err == nil {
		t.Error("a TLS config without a key was accepted")
	}
}

// Listeners start and close twice without harm, and report their
// address only once bound.
func TestListenerLifecycle(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	type listener interface {
		Start(context.Context) error
		Close() error
		Addr() net.Addr
	}
	for _, mk := range []func() (listener, error){
		func() (listener, error) {
			return NewUDPListener(r.opts())
		},
		func() (listener, error) {
			return NewTCPListener(r.opts(), nil)
		},
		func() (listener, error) {
			return NewRELPListener(r.opts())
		},
	} {
		l, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		if l.Addr() != nil {
			t.Error("address before Start")
		}
		ctx := context.Background()
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if l.Addr() == nil {
			t.Error("no address after Start")
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Start(ctx); err == nil {
			t.Error("Start after Close succeeded")
		}
	}
	if _, err := NewTCPListener(ListenerOptions{}, nil); err == nil {
		t.Error("a listener without a Normaliser was built")
	}
}

// Backpressure on TCP: while the store holds every in-flight slot, a TCP
// listener reads no further than the batch it cannot publish, so the
// sender's writes block (its kernel buffers fill) instead of Vigil's
// memory growing; once room returns every message is stored.
func TestTCPBackpressure(t *testing.T) {
	r := newRig(t, "", PublisherOptions{MaxInFlight: 64})
	l, err := NewTCPListener(r.opts(), nil)
	start(t, l, err)
	if !r.pub.sem.TryAcquire(64) {
		t.Fatal("could not take the slots")
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("<13>1 2026-12-06T13:00:00Z host app - - - " + strings.Repeat("x", 16<<10))
	blocked := make(chan int, 1)
	done := make(chan int, 1)
	go func() {
		defer c.Close()
		for i := 0; i < 4096; i++ {
			m := append(append([]byte{}, msg...), []byte(fmt.Sprintf(" %05d\n", i))...)
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Write(m)
			if err != nil {
				// Blocked: say so, then finish this message once the
				// listener reads again, and stop.
				blocked <- i
				_ = c.SetWriteDeadline(time.Time{})
				if _, err := c.Write(m[n:]); err != nil {
					t.Error(err)
				}
				done <- i + 1
				return
			}
		}
		done <- 4096
	}()
	var sent int
	select {
	case sent = <-blocked:
		t.Logf("the sender blocked after %d messages of %d KiB", sent, len(msg)>>10)
	case n := <-done:
		t.Fatalf("the sender wrote all %d messages (%d MiB) without blocking", n, n*len(msg)>>20)
	}
	if n := r.streamCount(); n != 0 {
		t.Fatalf("%d events stored while there was no room", n)
	}
	r.pub.sem.Release(64)
	total := <-done
	r.waitEvents(total)
	time.Sleep(200 * time.Millisecond)
	if n := r.streamCount(); n != uint64(total) {
		t.Fatalf("stream holds %d events, want %d", n, total)
	}
}

// Closing a TCP listener stores what its connections had read — a TCP
// sender counted it delivered — before the connections end.
func TestTCPCloseStoresWhatWasRead(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	l, err := NewTCPListener(r.opts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		fmt.Fprintf(c, "<13>1 2026-12-06T13:00:00Z host app - - - before close %03d\n", i)
	}
	// Close once the listener has read something (the connection is
	// registered); what it has read by then must be stored.
	waitFor(t, "the connection accepted", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.conns) == 1
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The sender's side ends: reads see EOF (or a reset).
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after Close")
	}
	n := r.streamCount()
	t.Logf("%d of 100 messages were read before Close and stored", n)
	if n == 0 {
		t.Error("nothing stored")
	}
	msgs := messages(r.readAll())
	for i, m := range msgs {
		if m != fmt.Sprintf("before close %03d", i) {
			t.Fatalf("stored %q as message %d: the stored ones must be the first read", m, i)
		}
	}
}
