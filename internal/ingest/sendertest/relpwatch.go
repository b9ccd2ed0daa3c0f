package sendertest

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// RELPWatch is a TCP proxy between a RELP sender (rsyslog's omrelp) and
// the listener under test that reads both directions of every session
// and records which syslog messages the listener answered "200 OK": the
// messages it took responsibility for. A sender may lose messages of its
// own (rsyslog's omrelp can drop what librelp held unacknowledged when a
// session breaks — rsyslog issue #2610), so a durability test judges the
// listener by what it acknowledged, and the sender by the rest.
type RELPWatch struct {
	ln     net.Listener
	target string
	key    func(data string) string

	mu    sync.Mutex
	acked map[string]int
	sent  map[string]int
	conns map[net.Conn]bool
}

// WatchRELP listens on 127.0.0.1 and forwards each session to target.
// key names a message from its syslog frame's data (e.g. the test's own
// sequence number in it); acknowledged messages are counted by key.
func WatchRELP(t testing.TB, target string, key func(data string) string) *RELPWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &RELPWatch{ln: ln, target: target, key: key, acked: map[string]int{}, sent: map[string]int{}, conns: map[net.Conn]bool{}}
	go w.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		w.mu.Lock()
		for c := range w.conns {
			_ = c.Close()
		}
		w.mu.Unlock()
	})
	return w
}

// Port is the proxy's port, for the sender's configuration.
func (w *RELPWatch) Port() string {
	_, p, _ := net.SplitHostPort(w.ln.Addr().String())
	return p
}

// Acked returns how many times each message was answered 200 OK.
func (w *RELPWatch) Acked() map[string]int { return w.copy(w.acked) }

// Sent returns how many times the sender sent each message.
func (w *RELPWatch) Sent() map[string]int { return w.copy(w.sent) }

func (w *RELPWatch) copy(m map[string]int) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (w *RELPWatch) track(c net.Conn, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		w.conns[c] = true
	} else {
		delete(w.conns, c)
	}
}

func (w *RELPWatch) accept() {
	for {
		down, err := w.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", w.target)
		if err != nil {
			_ = down.Close() // the listener is down: the sender retries later
			continue
		}
		go w.session(down, up)
	}
}

// session forwards one RELP session both ways, byte for byte, reading
// the frames as they pass; when either side ends, both are closed.
func (w *RELPWatch) session(down, up net.Conn) {
	w.track(down, true)
	w.track(up, true)
	defer func() {
		_ = down.Close()
		_ = up.Close()
		w.track(down, false)
		w.track(up, false)
	}()
	var mu sync.Mutex
	sent := map[uint64]string{} // txnr → key of a syslog frame awaiting its answer
	done := make(chan struct{}, 2)
	go func() { // sender → listener
		defer func() { done <- struct{}{} }()
		r := bufio.NewReader(io.TeeReader(down, up))
		for {
			txnr, cmd, data, err := readRELPFrame(r)
			if err != nil {
				return
			}
			if cmd == "syslog" {
				k := w.key(data)
				mu.Lock()
				sent[txnr] = k
				mu.Unlock()
				w.mu.Lock()
				w.sent[k]++
				w.mu.Unlock()
			}
		}
	}()
	go func() { // listener → sender
		defer func() { done <- struct{}{} }()
		r := bufio.NewReader(io.TeeReader(up, down))
		for {
			txnr, cmd, data, err := readRELPFrame(r)
			if err != nil {
				return
			}
			if cmd != "rsp" || !strings.HasPrefix(data, "200") {
				continue
			}
			mu.Lock()
			k, ok := sent[txnr]
			delete(sent, txnr)
			mu.Unlock()
			if ok {
				w.mu.Lock()
				w.acked[k]++
				w.mu.Unlock()
			}
		}
	}()
	<-done
}

// readRELPFrame reads "TXNR SP COMMAND SP DATALEN [SP DATA] LF".
func readRELPFrame(r *bufio.Reader) (txnr uint64, cmd, data string, err error) {
	word := func() (string, error) {
		s, err := r.ReadString(' ')
		return strings.TrimSuffix(s, " "), err
	}
	t, err := word()
	if err != nil {
		return 0, "", "", err
	}
	if txnr, err = strconv.ParseUint(strings.TrimSpace(t), 10, 64); err != nil {
		return 0, "", "", err
	}
	if cmd, err = word(); err != nil {
		return 0, "", "", err
	}
	// DATALEN ends with a space (data follows) or with the LF trailer.
	var num []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, "", "", err
		}
		if c == ' ' || c == '\n' {
			n, perr := strconv.Atoi(string(num))
			if perr != nil {
				return 0, "", "", perr
			}
			if c == '\n' {
				return txnr, cmd, "", nil
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return 0, "", "", err
			}
			if _, err := r.ReadByte(); err != nil { // the trailer
				return 0, "", "", err
			}
			return txnr, cmd, string(buf), nil
		}
		num = append(num, c)
	}
}
