package ingest

import (
	"bufio"
	"errors"
	"io"
)

// Framing is how messages are delimited on a syslog TCP stream (RFC 6587).
type Framing int

const (
	// FramingUnknown: no frame read yet.
	FramingUnknown Framing = iota
	// FramingOctetCounting is "MSG-LEN SP SYSLOG-MSG" (RFC 6587 3.4.1,
	// the framing RFC 5425 requires for TLS): any byte may appear in a
	// message, including LF.
	FramingOctetCounting
	// FramingLF is non-transparent framing (RFC 6587 3.4.2): each message
	// ends with LF (a CR before it is dropped, a NUL ends it too), which
	// is what rsyslog's and syslog-ng's plain TCP outputs and logger -T
	// send by default.
	FramingLF
)

func (f Framing) String() string {
	switch f {
	case FramingOctetCounting:
		return "octet-counting"
	case FramingLF:
		return "lf"
	}
	return "unknown"
}

// DefaultMaxMessage is the message size limit when none is configured:
// 64 KiB, rsyslog's $MaxMessageSize ceiling for most deployments and far
// above a Windows event with a long PowerShell script block in practice.
const DefaultMaxMessage = 64 << 10

// ErrFraming means the stream cannot be framed any further (an octet
// count that is not a number); the listener should close the connection,
// because where the next message starts is unknown.
var ErrFraming = errors.New("syslog framing lost")

// Frame is one message cut from a stream. Data is valid until the next
// call to Next.
type Frame struct {
	Data []byte
	// Truncated says Data is the first MaxSize bytes of a longer message;
	// the rest was read and discarded.
	Truncated bool
}

// Framer cuts a syslog TCP stream into messages. The framing is detected
// from the first byte of the connection, as RFC 6587 section 3.4 allows:
// a digit starts an octet count, anything else ('<' for a syslog PRI)
// means LF framing. A connection keeps the framing it started with,
// because a message without PRI that starts with digits ("2026-…") would
// otherwise be taken for a count. Memory is bounded by MaxSize whatever
// the sender does.
type Framer struct {
	r       *bufio.Reader
	max     int
	framing Framing
	buf     []byte
}

// NewFramer returns a Framer over r cutting messages at max bytes
// (DefaultMaxMessage when max <= 0).
func NewFramer(r io.Reader, max int) *Framer {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &Framer{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Buffered returns how many bytes are read from the stream and not yet
// framed. A listener publishes its batch when this is 0, before the next
// read can block, so a sender that waits is never kept waiting by Vigil.
func (f *Framer) Buffered() int { return f.r.Buffered() }

// Framing returns the framing detected on the stream so far.
func (f *Framer) Framing() Framing { return f.framing }

// Next returns the next message. At the end of the stream it returns
// io.EOF (io.ErrUnexpectedEOF when the stream ended inside an
// octet-counted message; a last LF-framed message without its LF is
// returned whole). Empty LF-framed lines are skipped.
func (f *Framer) Next() (Frame, error) {
	for {
		if f.framing == FramingUnknown {
			b, err := f.r.Peek(1)
			if err != nil {
				return Frame{}, err
			}
			if b[0] >= '0' && b[0] <= '9' {
				f.framing = FramingOctetCounting
			} else {
				f.framing = FramingLF
			}
		}
		if f.framing == FramingOctetCounting {
			fr, err := f.nextCounted()
			if err == nil && len(fr.Data) == 0 {
				continue // "0 ": an empty message carries nothing to keep
			}
			return fr, err
		}
		fr, err := f.nextLine()
		if err != nil || len(fr.Data) > 0 || fr.Truncated {
			return fr, err
		}
	}
}

// nextCounted reads "MSG-LEN SP MSG". Between frames it tolerates LF or
// CR (some senders add them after each counted message).
func (f *Framer) nextCounted() (Frame, error) {
	var n, digits int
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		if digits == 0 && (c == '\n' || c == '\r') {
			continue
		}
		if c == ' ' && digits > 0 {
			break
		}
		if c < '0' || c > '9' || digits == 9 {
			return Frame{}, ErrFraming
		}
		n = n*10 + int(c-'0')
		digits++
	}
	keep := min(n, f.max)
	if cap(f.buf) < keep {
		f.buf = make([]byte, keep)
	}
	f.buf = f.buf[:keep]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	if n > keep {
		if _, err := f.r.Discard(n - keep); err != nil {
			return Frame{Data: f.buf, Truncated: true}, io.ErrUnexpectedEOF
		}
	}
	return Frame{Data: f.buf, Truncated: n > keep}, nil
}

// nextLine reads up to LF or NUL (some senders end frames with NUL
// instead of LF), keeping at most max bytes. It scans bufio's buffer in
// place, so a line costs one copy into f.buf.
func (f *Framer) nextLine() (Frame, error) {
	f.buf = f.buf[:0]
	truncated := false
	for {
		if f.r.Buffered() == 0 {
			if _, err := f.r.Peek(1); err != nil {
				if err == io.EOF && (len(f.buf) > 0 || truncated) {
					break // a last message without its LF
				}
				return Frame{}, err
			}
		}
		b, _ := f.r.Peek(f.r.Buffered())
		end := len(b)
		for k, c := range b {
			if c == '\n' || c == 0 {
				end = k
				break
			}
		}
		line := b[:end]
		if room := f.max - len(f.buf); len(line) > room {
			line, truncated = line[:room], true
		}
		f.buf = append(f.buf, line...)
		if end < len(b) {
			_, _ = f.r.Discard(end + 1)
			break
		}
		_, _ = f.r.Discard(end)
	}
	if n := len(f.buf); n > 0 && f.buf[n-1] == '\r' {
		f.buf = f.buf[:n-1]
	}
	return Frame{Data: f.buf, Truncated: truncated}, nil
}
