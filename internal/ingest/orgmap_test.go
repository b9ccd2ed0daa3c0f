package ingest

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/bus/bustest"
)

// The mapping's order of precedence: exact address, longest block, the
// listener's default, the file's default, the national root; IPv4 seen
// as IPv6 (::ffff:a.b.c.d) maps as IPv4.
func TestOrgMapPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`
default: qkk
listeners:
  relp: RQM
senders:
  - match: 10.0.0.0/8
    org: Y56
  - match: 10.20.0.0/16
    org: RJ1
  - match: 10.20.5.7
    org: R1H
  - match: 2001:db8::/32
    org: RJ1
  - match: 198.51.100.0/24
    org: sup-x
`)
	m, err := NewOrgMap("eng", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ listener, addr, want string }{
		{"syslog-tcp", "10.20.5.7", "R1H"},
		{"syslog-tcp", "::ffff:10.20.5.7", "R1H"},
		{"syslog-tcp", "10.20.9.9", "RJ1"},
		{"syslog-tcp", "10.1.1.1", "Y56"},
		{"syslog-tcp", "2001:db8::1", "RJ1"},
		{"relp", "192.0.2.1", "RQM"},
		{"relp", "198.51.100.9", "SUP-X"},
		{"syslog-udp", "192.0.2.1", "QKK"},
		{"syslog-udp", "", "QKK"},
	} {
		var a netip.Addr
		if c.addr != "" {
			a = netip.MustParseAddr(c.addr)
		}
		if got := m.Org(c.listener, a); got != c.want {
			t.Errorf("%s from %s: %s, want %s", c.listener, c.addr, got, c.want)
		}
	}
	// A broken file on reload leaves the mapping in use.
	write("senders:\n  - match: 10.0.0.0/33\n    org: RJ1\n")
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "senders[0].match") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if got := m.Org("x", netip.MustParseAddr("10.20.5.7")); got != "R1H" {
		t.Errorf("after a failed reload: %s", got)
	}
	write("default: RJ1\n")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := m.Org("x", netip.MustParseAddr("10.20.5.7")); got != "RJ1" {
		t.Errorf("after reload: %s", got)
	}
	// Nothing configured: the national root.
	none, err := NewOrgMap("ENG", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := none.Org("relp", netip.MustParseAddr("10.0.0.1")); got != "ENG" {
		t.Errorf("no mapping: %s", got)
	}
}

// Mapping files that are wrong are refused with the field named.
func TestOrgMapErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"default: R J1\n", "default"},
		{"listeners:\n  relp: events.*\n", "listeners.relp"},
		{"listeners:\n  relp: -X\n", "listeners.relp"},
		{"senders:\n  - match: 10.0.0.1/8\n    org: RJ1\n", "host bits set; did you mean 10.0.0.0/8"},
		{"senders:\n  - match: host.example\n    org: RJ1\n", "senders[0].match"},
		{"senders:\n  - match: 10.0.0.1\n    org: RJ1\n  - match: 10.0.0.1\n    org: R1H\n", "mapped twice"},
		{"senders:\n  - match: 10.0.0.1\n    org: \"\"\n", "senders[0].org"},
		{"defualt: RJ1\n", "defualt"},
	} {
		if err := ParseOrgMap([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want one naming %q", c.yaml, err, c.want)
		}
	}
	if err := ParseOrgMap(nil); err != nil {
		t.Errorf("an empty file: %v", err)
	}
	if _, err := NewOrgMap("", "", nil); err == nil {
		t.Error("no national root accepted")
	}
	if _, err := NewOrgMap("ENG", filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("a missing file accepted")
	}
	// With the organisation tree to check against, an unknown code is
	// refused by name.
	path := filepath.Join(t.TempDir(), "map.yaml")
	if err := os.WriteFile(path, []byte("default: RJ1\nsenders:\n  - match: 10.0.0.0/8\n    org: XYZ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	known := func(code string) bool { return code == "RJ1" || code == "ENG" }
	if _, err := NewOrgMap("ENG", path, known); err == nil || !strings.Contains(err.Error(), "organisation XYZ is not in") {
		t.Errorf("an unknown organisation: %v", err)
	}
}

// The Service builds what the flags ask for, starts the listeners on
// their addresses, reports them, and closes them; options that cannot
// work are refused by name, and a listener that cannot bind undoes the
// start.
func TestService(t *testing.T) {
	b := bustest.Run(t)
	ctx := context.Background()
	certFile, keyFile, _ := testCert(t)
	s, err := NewService(ctx, ServiceOptions{
		Conn: b.Conn(), Root: "ENG",
		SyslogUDP: "127.0.0.1:0", SyslogTCP: "127.0.0.1:0", SyslogTLS: "127.0.0.1:0", RELP: "127.0.0.1:0", NetFlow: "127.0.0.1:0",
		TLSCert: certFile, TLSKey: keyFile, Authenticate: testAuth,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	if len(addrs) != 5 || addrs[ListenerRELP] == nil || addrs[ListenerSyslogUDP].Network() != "udp" || addrs[ListenerNetFlow].Network() != "udp" {
		t.Errorf("addresses %v", addrs)
	}
	if s.EventsHandler() == nil || s.BulkHandler() == nil || s.Metrics() == nil {
		t.Error("handlers missing")
	}
	// Another service cannot bind the TCP address the first holds: its
	// UDP listener, started first, is closed again.
	s2, err := NewService(ctx, ServiceOptions{Conn: b.Conn(), Root: "ENG", SyslogUDP: "127.0.0.1:0", SyslogTCP: addrs[ListenerSyslogTCP].String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(ctx); err == nil || !strings.Contains(err.Error(), "syslog-tcp") {
		t.Errorf("second bind: %v", err)
	}
	if err := s2.listeners[0].Start(ctx); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("the UDP listener of a failed start is not closed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []ServiceOptions{
		{Root: "ENG"},
		{Conn: b.Conn()},
		{Conn: b.Conn(), Root: "ENG", TLSCert: certFile, TLSKey: keyFile},
		{Conn: b.Conn(), Root: "ENG", SyslogTLS: "127.0.0.1:0"},
		{Conn: b.Conn(), Root: "ENG", Stream: StreamOptions{MaxAge: -1}},
	} {
		if _, err := NewService(ctx, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
