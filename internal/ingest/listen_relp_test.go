package ingest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// relpClient speaks RELP by hand, to check the frames byte for byte.
type relpClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRELP(t *testing.T, addr string) *relpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &relpClient{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *relpClient) send(txnr int, cmd, data string) {
	rc.t.Helper()
	var err error
	if data == "" {
		_, err = fmt.Fprintf(rc.c, "%d %s 0\n", txnr, cmd)
	} else {
		_, err = fmt.Fprintf(rc.c, "%d %s %d %s\n", txnr, cmd, len(data), data)
	}
	if err != nil {
		rc.t.Fatal(err)
	}
}

// frame reads one response frame: "TXNR COMMAND DATALEN[ DATA]".
func (rc *relpClient) frame() string {
	rc.t.Helper()
	var txnr, n int
	var cmd string
	if _, err := fmt.Fscanf(rc.r, "%d %s %d", &txnr, &cmd, &n); err != nil {
		rc.t.Fatalf("reading a RELP frame: %v", err)
	}
	data := ""
	if n > 0 {
		buf := make([]byte, n+1)
		if _, err := io.ReadFull(rc.r, buf); err != nil {
			rc.t.Fatal(err)
		}
		data = string(buf[1:])
	}
	if b, err := rc.r.ReadByte(); err != nil || b != '\n' {
		rc.t.Fatalf("frame %d %s: no LF trailer (%q, %v)", txnr, cmd, b, err)
	}
	if data == "" {
		return fmt.Sprintf("%d %s", txnr, cmd)
	}
	return fmt.Sprintf("%d %s %s", txnr, cmd, data)
}

// A RELP session as librelp runs it: open with offers, pipelined syslog
// transactions answered 200 only once their events are on the stream, an
// unknown command answered 500, close answered and the connection ended.
func TestRELPSession(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	l, err := NewRELPListener(r.opts())
	start(t, l, err)
	rc := dialRELP(t, l.Addr().String())
	rc.send(1, "open", "relp_version=0\nrelp_software=librelp,1.11.0,https://www.rsyslog.com\ncommands=syslog")
	if got := rc.frame(); got != "1 rsp "+relpOffers {
		t.Fatalf("open answered %q", got)
	}
	for i := 2; i <= 4; i++ {
		rc.send(i, "syslog", fmt.Sprintf("<13>1 2026-12-06T13:00:0%dZ host app - - - relp %d", i, i))
	}
	got := map[string]bool{}
	for range 3 {
		got[rc.frame()] = true
	}
	for i := 2; i <= 4; i++ {
		if !got[fmt.Sprintf("%d rsp 200 OK", i)] {
			t.Fatalf("answers %v lack %d", got, i)
		}
	}
	// Answered means stored: no waiting.
	if n := r.streamCount(); n != 3 {
		t.Fatalf("after the answers the stream holds %d events, want 3", n)
	}
	rc.send(5, "starttls", "")
	if got := rc.frame(); !strings.HasPrefix(got, "5 rsp 500 ") {
		t.Errorf("unknown command answered %q", got)
	}
	rc.send(6, "close", "")
	if got := rc.frame(); got != "6 rsp" {
		t.Errorf("close answered %q", got)
	}
	if _, err := rc.r.ReadByte(); err != io.EOF {
		t.Errorf("after close: %v, want EOF", err)
	}
	evs := r.readAll()
	if evs[0].ev.Source.Protocol != ListenerRELP || evs[0].ev.Org != testRoot {
		t.Errorf("event %+v", evs[0].ev)
	}
}

// Frames that break the grammar end the session without an answer; a
// syslog before open is refused; an oversized message is cut and kept.
func TestRELPMalformed(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	o := r.opts()
	o.MaxMessage = 16
	l, err := NewRELPListener(o)
	start(t, l, err)

	rc := dialRELP(t, l.Addr().String())
	rc.send(1, "syslog", "<13>too early")
	if got := rc.frame(); !strings.HasPrefix(got, "1 rsp 500") {
		t.Errorf("syslog before open answered %q", got)
	}
	rc.send(2, "open", "relp_version=0")
	rc.frame()
	rc.send(3, "syslog", "<13>a message longer than sixteen bytes")
	if got := rc.frame(); got != "3 rsp 200 OK" {
		t.Errorf("long message answered %q", got)
	}
	evs := r.waitEvents(1)
	if !evs[0].ev.Truncated || len(evs[0].ev.Raw) != 16 {
		t.Errorf("long message stored as %q truncated=%v", evs[0].ev.Raw, evs[0].ev.Truncated)
	}
	for _, garbage := range []string{"x syslog 3 abc\n", "4 syslog 3 abcd\n", "5 SYSLOG 1 a\n", "6 syslog 99999999999 a\n"} {
		rc := dialRELP(t, l.Addr().String())
		rc.send(1, "open", "relp_version=0")
		rc.frame()
		fmt.Fprint(rc.c, garbage)
		if _, err := rc.r.ReadByte(); err != io.EOF {
			t.Errorf("%q: session went on (%v)", garbage, err)
		}
	}
}

// Closing the listener tells open sessions with serverclose, so rsyslog
// reconnects at once instead of waiting on a dead session.
func TestRELPServerclose(t *testing.T) {
	r := newRig(t, "", PublisherOptions{})
	l, err := NewRELPListener(r.opts())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	rc := dialRELP(t, l.Addr().String())
	rc.send(1, "open", "relp_version=0")
	rc.frame()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rc.frame(); got != "0 serverclose" {
		t.Errorf("on Close the session got %q", got)
	}
}
