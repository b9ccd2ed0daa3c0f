package ingest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/ingest/sendertest"
)

// The senders' daemons run through sendertest; these names keep the
// package's tests short.
func rsyslogd(t *testing.T, conf string) string { return sendertest.Rsyslogd(t, conf) }

func runDaemon(t *testing.T, name string, cmd *exec.Cmd) { sendertest.RunDaemon(t, name, cmd) }

func waitUDPBound(t *testing.T, port string) { sendertest.WaitUDPBound(t, port) }

func freeUDPPort(t *testing.T) string { return sendertest.FreeUDPPort(t) }

// rsyslog forwards to Vigil as deployed: omfwd over TCP with octet
// counting, omfwd over TLS (gtls, RFC 5425) and omrelp, each message
// arriving once on the stream.
func TestRsyslogForwards(t *testing.T) {
	r := newRig(t, "listeners:\n  relp: RQM\n  syslog-tcp: R1H\n  syslog-tls: RJ1\n", PublisherOptions{})
	tcp, err := NewTCPListener(r.opts(), nil)
	start(t, tcp, err)
	relp, err := NewRELPListener(r.opts())
	start(t, relp, err)
	certFile, keyFile, _ := testCert(t)
	conf, err := TLSConfigFromFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsL, err := NewTCPListener(r.opts(), conf)
	start(t, tlsL, err)
	tlsConf := fmt.Sprintf(`action(type="omfwd" target="127.0.0.1" port=%q protocol="tcp" TCP_Framing="octet-counted"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="anon"
       template="RSYSLOG_SyslogProtocol23Format")`, port(tlsL.Addr()))
	in := rsyslogd(t, fmt.Sprintf(`
global(DefaultNetstreamDriverCAFile=%q)
module(load="omrelp")
action(type="omfwd" target="127.0.0.1" port=%q protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omrelp" target="127.0.0.1" port=%q template="RSYSLOG_SyslogProtocol23Format")
%s
`, certFile, port(tcp.Addr()), port(relp.Addr()), tlsConf))
	const n = 20
	for i := range n {
		runLogger(t, "-d", "-n", "127.0.0.1", "-P", in, "--rfc5424", "-t", "rsyslogtest", fmt.Sprintf("forwarded %02d", i))
	}
	const outputs = 3
	got := r.waitEvents(n * outputs)
	time.Sleep(500 * time.Millisecond)
	if c := r.streamCount(); c != uint64(n*outputs) {
		t.Fatalf("stream holds %d events, want %d", c, n*outputs)
	}
	per := map[string][]string{}
	for _, e := range got {
		per[e.ev.Source.Protocol+" "+e.ev.Org] = append(per[e.ev.Source.Protocol+" "+e.ev.Org], e.ev.Fields["message"].(string))
		if e.ev.Fields["syslog.appname"] != "rsyslogtest" {
			t.Errorf("%q parsed as %v", e.ev.Raw, e.ev.Fields)
		}
	}
	for _, k := range []string{"relp RQM", "syslog-tcp R1H", "syslog-tls RJ1"} {
		msgs := per[k]
		slices.Sort(msgs)
		if len(msgs) != n || msgs[0] != "forwarded 00" || msgs[n-1] != fmt.Sprintf("forwarded %02d", n-1) {
			t.Errorf("%s: %d messages %q", k, len(msgs), msgs)
		}
	}
}

// Kill and resend: a RELP session dies after its batch is stored but
// before the answers leave (as when Vigil is killed at that moment), and
// later the whole listener goes away while rsyslog keeps sending, and a
// new one starts on the same address. rsyslog resends every unanswered
// message; each is on the stream under one event ID: a resent batch is
// dropped by JetStream as a duplicate when it is cut as the stored one
// was, and otherwise lands again under the same IDs, which the store
// keeps once.
func TestRsyslogRELPResendsAfterListenerRestart(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	o := r.opts()
	relp, err := NewRELPListener(o)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	relp.afterPublish = func(c net.Conn) { once.Do(func() { c.Close() }) }
	if err := relp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := relp.Addr().String()
	in := rsyslogd(t, fmt.Sprintf(`
module(load="omrelp")
action(type="omrelp" target="127.0.0.1" port=%q template="RSYSLOG_SyslogProtocol23Format"
       action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList")
`, port(relp.Addr())))
	send := func(from, to int) {
		for i := from; i < to; i++ {
			runLogger(t, "-d", "-n", "127.0.0.1", "-P", in, "--rfc5424", "-t", "resend", fmt.Sprintf("message %03d", i))
		}
	}
	send(0, 30)
	r.waitEvents(1)
	if err := relp.Close(); err != nil { // mid-stream, maybe
		t.Fatal(err)
	}
	send(30, 60) // queued in rsyslog while Vigil is away
	o.Addr = addr
	relp2, err := NewRELPListener(o)
	start(t, relp2, err)
	r.waitEvents(60)
	time.Sleep(time.Second)
	all := r.readAll()
	var got []streamEvent
	ids := map[string]bool{}
	for _, e := range all {
		if !ids[e.ev.ID] {
			ids[e.ev.ID] = true
			got = append(got, e)
		}
	}
	if len(got) != 60 {
		t.Fatalf("stream holds %d distinct events, want 60", len(got))
	}
	if _, dups := r.metrics.Snapshot(); dups == 0 && len(all) == len(got) {
		t.Error("no event was resent: the session was not cut between store and answer")
	}
	t.Logf("%d events on the stream, %d distinct; %d dropped as duplicates", len(all), len(got), func() int64 { _, d := r.metrics.Snapshot(); return d }())
	msgs := messages(got)
	for i, m := range msgs {
		if m != fmt.Sprintf("message %03d", i) {
			t.Fatalf("message %d is %q", i, m)
		}
	}
}
