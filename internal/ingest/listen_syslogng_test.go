package ingest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/testneed"
)

// syslogNGRoot is where syslog-ng-core is unpacked: Debian's package
// conflicts with rsyslog, which the other tests need, so .ci/run unpacks
// it (apt-get download, dpkg -x) instead of installing it, as the issue
// suggests. VIGIL_SYSLOG_NG_ROOT overrides it; an installed syslog-ng
// (root "/") works too.
func syslogNGRoot(t *testing.T) string {
	t.Helper()
	roots := []string{os.Getenv("VIGIL_SYSLOG_NG_ROOT"), "/opt/syslog-ng", "/"}
	for _, r := range roots {
		if r == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(r, "usr/sbin/syslog-ng")); err == nil {
			return r
		}
	}
	testneed.Missing(t, "syslog-ng (Debian's syslog-ng-core, unpacked under /opt/syslog-ng by .ci/run)", fmt.Errorf("no usr/sbin/syslog-ng under %v", roots))
	return ""
}

// syslogNGCmd runs one of the package's programs with its libraries.
func syslogNGCmd(root, prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(root, prog), args...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"), "SYSLOGNG_PREFIX="+filepath.Join(root, "usr"))
	return cmd
}

// syslog-ng forwards to Vigil with its syslog() driver (RFC 5424, octet
// counting) over TCP and TLS and its network() driver (RFC 3164, LF)
// over TCP; loggen, its load generator, sends straight to the TCP
// listener. Every message lands once.
func TestSyslogNGForwards(t *testing.T) {
	root := syslogNGRoot(t)
	r := newRig(t, "", PublisherOptions{})
	tcp, err := NewTCPListener(r.opts(), nil)
	start(t, tcp, err)
	certFile, keyFile, _ := testCert(t)
	conf, err := TLSConfigFromFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsL, err := NewTCPListener(r.opts(), conf)
	start(t, tlsL, err)

	dir := t.TempDir()
	in := freeUDPPort(t)
	cf := filepath.Join(dir, "syslog-ng.conf")
	text := fmt.Sprintf(`@version: 3.38
options { keep-hostname(yes); stats-freq(0); };
source s_in { syslog(ip("127.0.0.1") port(%s) transport("udp")); };
destination d_5424 { syslog("127.0.0.1" transport("tcp") port(%s)); };
destination d_3164 { network("127.0.0.1" transport("tcp") port(%s) persist-name("vigil-3164")); };
destination d_tls { syslog("127.0.0.1" transport("tls") port(%s)
                    tls(ca-file(%q) peer-verify(required-trusted))); };
log { source(s_in); destination(d_5424); destination(d_3164); destination(d_tls); };
`, in, port(tcp.Addr()), port(tcp.Addr()), port(tlsL.Addr()), certFile)
	if err := os.WriteFile(cf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(root, "usr/lib/syslog-ng/3.38")
	if out, err := syslogNGCmd(root, "usr/sbin/syslog-ng", "--module-path="+mod, "-f", cf, "-s").CombinedOutput(); err != nil {
		t.Fatalf("syslog-ng rejects the configuration: %v\n%s", err, out)
	}
	cmd := syslogNGCmd(root, "usr/sbin/syslog-ng", "--module-path="+mod, "-f", cf, "-F", "--no-caps",
		"-R", filepath.Join(dir, "persist"), "-p", filepath.Join(dir, "pid"), "-c", filepath.Join(dir, "ctl"))
	runDaemon(t, "syslog-ng", cmd)
	waitUDPBound(t, in)
	const n = 10
	for i := range n {
		runLogger(t, "-d", "-n", "127.0.0.1", "-P", in, "--rfc5424", "-t", "ngtest", fmt.Sprintf("via syslog-ng %02d", i))
	}
	got := r.waitEvents(3 * n)
	per := map[string][]string{}
	for _, e := range got {
		k := e.ev.Source.Protocol + " " + e.ev.Source.Format
		msg, _ := e.ev.Fields["message"].(string)
		per[k] = append(per[k], msg)
	}
	for _, k := range []string{"syslog-tcp rfc5424", "syslog-tcp rfc3164", "syslog-tls rfc5424"} {
		msgs := per[k]
		slices.Sort(msgs)
		if len(msgs) != n || msgs[0] != "via syslog-ng 00" {
			t.Errorf("%s: %d messages %q", k, len(msgs), msgs)
		}
	}

	// loggen: 2,000 RFC 5424 messages, octet counted, over TCP.
	before := r.streamCount()
	lg := syslogNGCmd(root, "usr/bin/loggen", "--inet", "--stream", "--syslog-proto", "--number", "2000",
		"--rate", "100000", "--size", "200", "127.0.0.1", port(tcp.Addr()))
	lgOut, err := lg.CombinedOutput()
	if err != nil {
		t.Fatalf("loggen: %v\n%s", err, lgOut)
	}
	r.waitEvents(int(before) + 2000)
	time.Sleep(300 * time.Millisecond)
	if c := r.streamCount(); c != before+2000 {
		t.Fatalf("after loggen the stream holds %d, want %d\n%s", c, before+2000, lgOut)
	}
	last := r.readAll()
	if e := last[len(last)-1].ev; e.ParseError != "" || !strings.Contains(e.Raw, "seq: ") {
		t.Errorf("loggen's message stored as %+v", e)
	}
}
