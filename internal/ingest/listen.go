package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// Listener names: the name of each listener in the org mapping file's
// listeners section, in the metrics, and events.Source.Protocol.
const (
	ListenerSyslogUDP = "syslog-udp"
	ListenerSyslogTCP = "syslog-tcp"
	ListenerSyslogTLS = "syslog-tls"
	ListenerRELP      = "relp"
	ListenerHTTP      = "http"
	ListenerBulk      = "es-bulk"
	ListenerNetFlow   = "netflow"
)

// Listener defaults.
const (
	// DefaultBatch is the most events a connection publishes at once. A
	// connection publishes sooner whenever it has read all the sender
	// has sent so far, so the batch only fills under load.
	DefaultBatch = 512
	// DefaultMaxConns bounds a stream listener's open connections; the
	// listener stops accepting until one closes. With DefaultBatch and
	// 64 KiB messages one connection holds at most 64 KiB (read buffer)
	// + 64 KiB (frame) + its batch.
	DefaultMaxConns = 1024
)

// ListenerOptions configure one listener.
type ListenerOptions struct {
	// Addr is where to listen (host:port; port 0 picks a free one,
	// which Addr() then reports).
	Addr string
	// Name is the listener's name in the org map and metrics (one of the
	// Listener names when empty, by protocol), so two listeners of one
	// protocol can map to different organisations.
	Name string
	// Normaliser parses every message. Required.
	Normaliser *Normaliser
	// Publisher publishes the events durably. Required.
	Publisher *Publisher
	// Orgs maps senders to organisations. Required.
	Orgs *OrgMap
	// Metrics counts what is accepted; nil counts nothing.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock for ReceivedAt (time.Now when nil).
	Now func() time.Time
	// MaxMessage cuts each message at this many bytes
	// (DefaultMaxMessage when 0).
	MaxMessage int
	// Batch is the most events published at once (DefaultBatch when 0).
	Batch int
	// MaxConns bounds open connections of a stream listener
	// (DefaultMaxConns when 0).
	MaxConns int
}

func (o *ListenerOptions) validate(protocol string) error {
	switch {
	case o.Normaliser == nil:
		return fmt.Errorf("ingest %s listener: Normaliser is required", protocol)
	case o.Publisher == nil:
		return fmt.Errorf("ingest %s listener: Publisher is required", protocol)
	case o.Orgs == nil:
		return fmt.Errorf("ingest %s listener: Orgs is required", protocol)
	case o.MaxMessage < 0 || o.Batch < 0 || o.MaxConns < 0:
		return fmt.Errorf("ingest %s listener: MaxMessage, Batch and MaxConns must not be negative", protocol)
	}
	if o.Name == "" {
		o.Name = protocol
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	return nil
}

// base is what every network listener shares: options, the protocol
// name, and turning raw messages into published events.
type base struct {
	o        ListenerOptions
	protocol string
	log      *slog.Logger
}

// batch collects one publish's events.
type batch struct {
	evs   []events.Event
	flows []flowItem // the flow listener's, published in their own encoding
	acc   []acceptedEvent
}

func (b *batch) len() int { return len(b.evs) + len(b.flows) }

func (b *batch) reset() {
	clear(b.evs) // let the events' strings go
	clear(b.flows)
	b.evs, b.flows, b.acc = b.evs[:0], b.flows[:0], b.acc[:0]
}

// add normalises one message from remote into the batch, owned by the
// organisation the map gives the sender.
func (l *base) add(b *batch, raw []byte, truncated bool, remote netip.AddrPort, now time.Time) {
	src := events.Source{Protocol: l.protocol}
	if remote.IsValid() {
		src.Addr = remote.String()
	}
	ev := l.o.Normaliser.Normalise(Record{Raw: raw, Truncated: truncated, Source: src, ReceivedAt: now})
	ev.Org = l.o.Orgs.Org(l.o.Name, remote.Addr())
	b.evs = append(b.evs, ev)
	host := ""
	if remote.IsValid() {
		host = remote.Addr().Unmap().String()
	}
	b.acc = append(b.acc, acceptedEvent{org: ev.Org, addr: host, bytes: len(raw), parseError: ev.ParseError != ""})
}

// flush publishes the batch durably and counts it; the caller
// acknowledges its sender only after a nil return.
func (l *base) flush(ctx context.Context, b *batch) error {
	if b.len() == 0 {
		return nil
	}
	if err := l.o.Publisher.Publish(ctx, b.evs); err != nil {
		return err
	}
	if err := l.o.Publisher.publishFlows(ctx, b.flows); err != nil {
		return err
	}
	l.o.Metrics.accepted(l.o.Name, l.o.Now(), b.acc)
	b.reset()
	return nil
}

// remoteAddr is a connection's or datagram's sender.
func remoteAddr(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap
	}
	return netip.AddrPort{}
}

// streamServer runs the accept loop of a TCP-based listener (syslog TCP,
// TLS, RELP): connections are bounded by MaxConns, each handled on its
// own goroutine, and Close stops accepting, closes every connection and
// waits for their handlers.
type streamServer struct {
	base
	listen func(ctx context.Context) (net.Listener, error)
	handle func(ctx context.Context, c net.Conn)
	// goodbye, when set, runs for each open connection as Close closes
	// them, before the connection is closed (RELP's serverclose).
	goodbye func(c net.Conn)

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Start listens and begins accepting; it returns once the address is
// bound. A second call does nothing.
func (s *streamServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("ingest %s listener: closed", s.o.Name)
	}
	if s.started {
		return nil
	}
	ln, err := s.listen(ctx)
	if err != nil {
		return fmt.Errorf("ingest %s listener on %s: %w", s.o.Name, s.o.Addr, err)
	}
	s.started, s.ln, s.conns = true, ln, map[net.Conn]struct{}{}
	// The connections' context is not ctx's child: Start's ctx bounds
	// start-up; Close ends the connections.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(1)
	go s.accept(cctx)
	s.log.Info("ingest: listening", "listener", s.o.Name, "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address (nil before Start).
func (s *streamServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *streamServer) accept(ctx context.Context) {
	defer s.wg.Done()
	slots := make(chan struct{}, s.o.MaxConns)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c, err := s.ln.Accept()
		if err != nil {
			<-slots
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("ingest: accept", "listener", s.o.Name, "err", err)
			select {
			case <-time.After(50 * time.Millisecond): // e.g. out of file descriptors
			case <-ctx.Done():
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("ingest: connection handler panicked", "listener", s.o.Name, "remote", c.RemoteAddr().String(), "panic", p)
				}
				_ = c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				<-slots
				s.wg.Done()
			}()
			s.handle(ctx, c)
		}()
	}
}

// Close stops accepting and ends every connection gracefully: it shuts
// the read side, so each handler sees the end of its stream, publishes
// what it had read (a TCP sender counts that as delivered) and returns.
// Handlers still busy after closeGrace (the bus not answering) are cut
// off: their publish is abandoned and nothing of it acknowledged. Later
// calls do nothing.
func (s *streamServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	var conns []net.Conn
	if s.ln != nil {
		err = s.ln.Close()
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		if s.goodbye != nil {
			s.goodbye(c)
		}
		closeRead(c)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		s.cancel()
		for _, c := range conns {
			_ = c.Close()
		}
		<-done
	}
	if s.cancel != nil {
		s.cancel()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// closeGrace is how long Close lets what listeners already read publish
// before giving up on it.
const closeGrace = 5 * time.Second

// closeRead shuts the read side of c (of the TCP connection under TLS),
// or closes it when it has no read side to shut.
func closeRead(c net.Conn) {
	nc := c
	if tc, ok := c.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if cr, ok := nc.(interface{ CloseRead() error }); ok && cr.CloseRead() == nil {
		return
	}
	_ = c.Close()
}
