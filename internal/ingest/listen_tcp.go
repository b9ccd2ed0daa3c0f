package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// TCPListener receives syslog over TCP (RFC 6587: octet counting or LF
// framing, told apart by the connection's first byte) or, with a TLS
// configuration, over TLS (RFC 5425, which requires octet counting; LF
// framing is accepted too, as rsyslog's gtls driver sends it unless told
// otherwise).
//
// Plain syslog over TCP has no application acknowledgement: a sender
// counts a message delivered once its kernel took it. The nearest to
// "durable before acknowledged" is to publish what was read before
// reading more. So a connection reads until it has a batch or the sender
// pauses, publishes it and waits for JetStream's acks, and only then
// reads again; while it waits, TCP's window fills and the sender blocks.
// Memory per connection is thus bounded (the 64 KiB read buffer, one
// frame, one batch), and a store falling behind slows senders instead of
// growing Vigil. What TCP cannot give — a message in the sender's socket
// buffer when Vigil is killed — only RELP gives.
type TCPListener struct {
	streamServer
}

// NewTCPListener returns a syslog TCP listener, or a TLS one when tlsConf
// is not nil (build it with TLSConfigFromFiles).
func NewTCPListener(opts ListenerOptions, tlsConf *tls.Config) (*TCPListener, error) {
	protocol := ListenerSyslogTCP
	if tlsConf != nil {
		protocol = ListenerSyslogTLS
	}
	if err := opts.validate(protocol); err != nil {
		return nil, err
	}
	l := &TCPListener{}
	l.base = base{o: opts, protocol: protocol, log: opts.Logger}
	l.listen = func(ctx context.Context) (net.Listener, error) {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", opts.Addr)
		if err != nil || tlsConf == nil {
			return ln, err
		}
		return tls.NewListener(ln, tlsConf), nil
	}
	l.handle = l.serve
	return l, nil
}

// TLSConfigFromFiles loads a PEM certificate chain and key for the TLS
// listener. Senders are not asked for certificates: they are identified
// by address, as on plain TCP.
func TLSConfigFromFiles(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("ingest TLS: both a certificate file and a key file are required (--tls-cert, --tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("ingest TLS: load %s and %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// serve reads one connection until it ends, publishing before reading
// more.
func (l *TCPListener) serve(ctx context.Context, c net.Conn) {
	remote := remoteAddr(c.RemoteAddr())
	if tc, ok := c.(*tls.Conn); ok {
		// Handshake now, bounded, so a peer that connects and says
		// nothing holds a slot for at most this long.
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			l.log.Warn("ingest: TLS handshake", "listener", l.o.Name, "remote", remote.String(), "err", err)
			return
		}
	}
	fr := NewFramer(c, l.o.MaxMessage)
	var b batch
	for {
		f, err := fr.Next()
		if err == nil {
			l.add(&b, f.Data, f.Truncated, remote, l.o.Now())
		}
		if b.len() > 0 && (err != nil || b.len() >= l.o.Batch || fr.Buffered() == 0) {
			if perr := l.flush(ctx, &b); perr != nil {
				l.log.Warn("ingest: publish failed; closing the connection", "listener", l.o.Name, "remote", remote.String(), "events", b.len(), "err", perr)
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				l.log.Warn("ingest: connection ended", "listener", l.o.Name, "remote", remote.String(), "framing", fr.Framing().String(), "err", err)
			}
			return
		}
	}
}
