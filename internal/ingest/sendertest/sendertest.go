// Package sendertest runs the real senders that Vigil's ingest tests
// forward through — Debian's rsyslogd and any other daemon — as child
// processes of a test: started in the foreground, stopped when the test
// ends, their output shown only when it fails; and softflowd, exporting
// the flows of a capture it writes (softflowd.go). A missing sender
// skips the test, or fails it under CI (internal/testneed).
package sendertest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// Rsyslogd runs Debian's rsyslogd in the foreground with conf (the text
// after the module loads), returning the UDP port it listens on for test
// input. It is stopped when the test ends.
func Rsyslogd(t testing.TB, conf string) (inPort string) {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		testneed.Missing(t, "rsyslogd (Debian package rsyslog)", err)
	}
	for module, pkg := range map[string]string{"omrelp": "rsyslog-relp", "gtls": "rsyslog-gnutls"} {
		if !strings.Contains(conf, module) {
			continue
		}
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/*" + module + ".so"); len(m) == 0 {
			testneed.Missing(t, "rsyslog's "+module+" (Debian package "+pkg+")", errors.New("no "+module+".so under /usr/lib/*/rsyslog"))
		}
	}
	dir := t.TempDir()
	inPort = FreeUDPPort(t)
	full := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port=%q)
%s
`, dir, inPort, conf)
	cf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cf, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-N1", "-f", cf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd rejects the configuration: %v\n%s\n%s", err, out, full)
	}
	cmd := exec.Command(bin, "-n", "-f", cf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	// rsyslogd reports a broken session on stderr, which the restart tests
	// provoke: shown only when the test fails.
	RunDaemon(t, "rsyslogd", cmd)
	WaitUDPBound(t, inPort)
	return inPort
}

// RunDaemon starts a sender's daemon for the test, stops it (SIGTERM,
// then SIGKILL after 5 s) when the test ends, and shows its output only
// if the test failed.
func RunDaemon(t testing.TB, name string, cmd *exec.Cmd) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, out.String())
		}
	})
}

// WaitUDPBound waits until something listens on 127.0.0.1:port over UDP
// (a daemon's input, which drops nothing once bound), reading
// /proc/net/udp rather than probing the port, which could take it from
// the daemon.
func WaitUDPBound(t testing.TB, port string) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0100007F:%04X", p)
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			time.Sleep(time.Second) // not Linux: give the daemon a moment
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on UDP 127.0.0.1:%s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitTCP waits until something accepts on addr over TCP.
func WaitTCP(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing accepts on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreeUDPPort is a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	_, p, _ := net.SplitHostPort(pc.LocalAddr().String())
	return p
}

// FreeTCPPort is a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}
