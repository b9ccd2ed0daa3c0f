package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// RELPListener receives RELP, the Reliable Event Logging Protocol that
// rsyslog's omrelp speaks (https://www.rsyslog.com/doc/relp.html and
// librelp's doc/relp.html). Every frame is
//
//	TXNR SP COMMAND SP DATALEN [SP DATA] TRAILER
//
// with TRAILER a single LF, and the sender keeps each message until the
// server answers its transaction number with "rsp" and code 200. Vigil
// sends that 200 only after JetStream has acknowledged the event, so a
// message rsyslog forgot is a message the stream holds: if Vigil dies
// first, rsyslog resends everything unanswered on its next session (with
// new transaction numbers), and the stable event IDs drop the copies.
//
// Commands: "open" (answered with Vigil's offers: relp_version=0,
// commands=syslog), "syslog" (one message), "close" (answered, then the
// connection ends). Anything else is answered 500. On Close Vigil sends
// "serverclose" so senders reconnect elsewhere promptly.
type RELPListener struct {
	streamServer
	// writing holds each session's write lock (a chan struct{} of
	// capacity 1, by net.Conn, so it can be waited for with a timeout),
	// so Close's serverclose never lands inside a response frame.
	writing sync.Map
	// afterPublish, when set (by tests), runs between a batch's durable
	// publish and its answers: the moment a crash leaves stored events
	// unanswered.
	afterPublish func(net.Conn)
}

// relpMaxDataLen is the largest DATALEN accepted whatever MaxMessage
// says: beyond it the frame is not a real message and the stream is
// treated as garbage. librelp's own default maximum is 128 KiB.
const relpMaxDataLen = 1 << 30

// NewRELPListener returns a RELP listener.
func NewRELPListener(opts ListenerOptions) (*RELPListener, error) {
	if err := opts.validate(ListenerRELP); err != nil {
		return nil, err
	}
	l := &RELPListener{}
	l.base = base{o: opts, protocol: ListenerRELP, log: opts.Logger}
	l.listen = func(ctx context.Context) (net.Listener, error) {
		var lc net.ListenConfig
		return lc.Listen(ctx, "tcp", opts.Addr)
	}
	l.handle = l.serve
	l.goodbye = l.serverclose
	return l, nil
}

// serverclose tells a session's sender that Vigil is going, so it
// reconnects (elsewhere) rather than waiting for answers that will not
// come. Best effort: skipped when the session is stuck writing (a sender
// not reading), each wait bounded to 200 ms, since Close says goodbye to
// every session in turn.
func (l *RELPListener) serverclose(c net.Conn) {
	v, ok := l.writing.Load(c)
	if !ok {
		return
	}
	lock := v.(chan struct{})
	select {
	case lock <- struct{}{}:
	case <-time.After(200 * time.Millisecond):
		return
	}
	defer func() { <-lock }()
	_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = c.Write([]byte("0 serverclose 0\n"))
}

// relpFrame is one frame; Data is valid until the next read.
type relpFrame struct {
	txnr      uint64
	command   string
	data      []byte
	truncated bool
}

// relpReader reads RELP frames with memory bounded by max.
type relpReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// errRELPSyntax is a frame that does not follow the grammar; the session
// cannot continue because the next frame's start is unknown.
var errRELPSyntax = errors.New("relp: malformed frame")

func (rr *relpReader) number(maxDigits int) (uint64, byte, error) {
	var n uint64
	digits := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && digits > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, err
		}
		if c < '0' || c > '9' {
			if digits == 0 {
				return 0, c, fmt.Errorf("%w: expected a number, got %q", errRELPSyntax, c)
			}
			return n, c, nil
		}
		if digits == maxDigits {
			return 0, c, fmt.Errorf("%w: number longer than %d digits", errRELPSyntax, maxDigits)
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
}

func (rr *relpReader) next() (relpFrame, error) {
	var f relpFrame
	// Some senders put a LF between frames; tolerate it as librelp does.
	for {
		b, err := rr.r.Peek(1)
		if err != nil {
			return f, err
		}
		if b[0] != '\n' && b[0] != '\r' {
			break
		}
		_, _ = rr.r.ReadByte()
	}
	txnr, sep, err := rr.number(9)
	if err != nil {
		return f, err
	}
	if sep != ' ' {
		return f, fmt.Errorf("%w: expected SP after TXNR, got %q", errRELPSyntax, sep)
	}
	f.txnr = txnr
	var cmd [32]byte
	n := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			return f, unexpected(err)
		}
		if c == ' ' {
			break
		}
		if n == len(cmd) || c < 'a' || c > 'z' {
			return f, fmt.Errorf("%w: command is not 1–32 letters", errRELPSyntax)
		}
		cmd[n] = c
		n++
	}
	if n == 0 {
		return f, fmt.Errorf("%w: empty command", errRELPSyntax)
	}
	f.command = string(cmd[:n])
	datalen, sep, err := rr.number(10)
	if err != nil {
		return f, unexpected(err)
	}
	if datalen > relpMaxDataLen {
		return f, fmt.Errorf("%w: DATALEN %d too large", errRELPSyntax, datalen)
	}
	switch {
	case datalen == 0 && sep == '\n':
		return f, nil
	case sep != ' ':
		return f, fmt.Errorf("%w: expected SP after DATALEN, got %q", errRELPSyntax, sep)
	}
	keep := min(int(datalen), rr.max)
	if cap(rr.buf) < keep {
		rr.buf = make([]byte, keep)
	}
	rr.buf = rr.buf[:keep]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return f, unexpected(err)
	}
	if int(datalen) > keep {
		if _, err := rr.r.Discard(int(datalen) - keep); err != nil {
			return f, unexpected(err)
		}
		f.truncated = true
	}
	f.data = rr.buf
	c, err := rr.r.ReadByte()
	if err != nil {
		return f, unexpected(err)
	}
	if c != '\n' {
		return f, fmt.Errorf("%w: expected LF trailer after %d bytes of DATA, got %q", errRELPSyntax, datalen, c)
	}
	return f, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// relpOffers is Vigil's answer to "open": version 0 of the protocol, and
// the one command it serves besides the session commands.
const relpOffers = "200 OK\nrelp_version=0\nrelp_software=vigil\ncommands=syslog"

// writeRsp appends a response frame for txnr.
func writeRsp(w *bufio.Writer, txnr uint64, data string) {
	w.WriteString(strconv.FormatUint(txnr, 10))
	w.WriteString(" rsp ")
	w.WriteString(strconv.Itoa(len(data)))
	if data != "" {
		w.WriteByte(' ')
		w.WriteString(data)
	}
	w.WriteByte('\n')
}

// serve runs one RELP session.
func (l *RELPListener) serve(ctx context.Context, c net.Conn) {
	remote := remoteAddr(c.RemoteAddr())
	rr := &relpReader{r: bufio.NewReaderSize(c, 64<<10), max: l.o.MaxMessage}
	w := bufio.NewWriter(c)
	var b batch
	var pending []uint64 // syslog transactions in the batch, answered after its publish
	opened := false
	lock := make(chan struct{}, 1)
	l.writing.Store(c, lock)
	defer l.writing.Delete(c)
	flush := func() error {
		lock <- struct{}{}
		defer func() { <-lock }()
		return w.Flush()
	}
	logEnd := func(msg string, err error) {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			l.log.Warn("ingest: RELP session ended: "+msg, "listener", l.o.Name, "remote", remote.String(), "err", err)
		}
	}
	for {
		f, err := rr.next()
		if err == nil {
			switch f.command {
			case "open":
				opened = true
				writeRsp(w, f.txnr, relpOffers)
			case "syslog":
				if !opened {
					writeRsp(w, f.txnr, "500 open the session first")
					break
				}
				l.add(&b, f.data, f.truncated, remote, l.o.Now())
				pending = append(pending, f.txnr)
			case "close":
				if perr := l.flush(ctx, &b); perr != nil {
					logEnd("publish failed", perr)
					return
				}
				for _, t := range pending {
					writeRsp(w, t, "200 OK")
				}
				writeRsp(w, f.txnr, "")
				_ = flush()
				return
			default:
				writeRsp(w, f.txnr, "500 unknown command "+f.command)
			}
		}
		if err != nil || len(pending) >= l.o.Batch || rr.r.Buffered() == 0 {
			if b.len() > 0 {
				if perr := l.flush(ctx, &b); perr != nil {
					// The transactions stay unanswered: the sender resends
					// them on its next session.
					logEnd("publish failed, transactions left unanswered", perr)
					return
				}
				if l.afterPublish != nil {
					l.afterPublish(c)
				}
			}
			for _, t := range pending {
				writeRsp(w, t, "200 OK")
			}
			pending = pending[:0]
			if werr := flush(); werr != nil {
				logEnd("write", werr)
				return
			}
		}
		if err != nil {
			logEnd("read", err)
			return
		}
	}
}
