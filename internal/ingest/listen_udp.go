package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// udpQueue is how many datagrams wait between the socket reader and the
// publisher. When it is full the reader stops reading, the kernel's
// socket buffer fills and the kernel drops further datagrams (counted in
// /proc/net/snmp's Udp RcvbufErrors): UDP syslog has no way to slow a
// sender, so the bound is what keeps memory flat. 8192 datagrams of at
// most 64 KiB is a 512 MiB worst case, about 16 MiB for typical 2 KiB
// messages.
const udpQueue = 8192

// UDPListener receives syslog over UDP: one datagram is one message (RFC
// 5426). There is nothing to acknowledge; a datagram read is published
// as soon as possible, in batches of what arrived meanwhile.
type UDPListener struct {
	udpServer
}

// udpServer is what the UDP listeners share: a socket reader, a bounded
// queue and a publisher that turns each datagram into events (handle)
// and publishes them in batches.
type udpServer struct {
	base
	handle func(b *batch, d datagram)

	mu      sync.Mutex
	pc      net.PacketConn
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type datagram struct {
	data     []byte
	from     netip.AddrPort
	received time.Time
}

// NewUDPListener returns a syslog UDP listener.
func NewUDPListener(opts ListenerOptions) (*UDPListener, error) {
	if err := opts.validate(ListenerSyslogUDP); err != nil {
		return nil, err
	}
	l := &UDPListener{udpServer{base: base{o: opts, protocol: ListenerSyslogUDP, log: opts.Logger}}}
	l.handle = l.addDatagram
	return l, nil
}

// Start binds the socket and starts reading; a second call does nothing.
func (l *udpServer) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("ingest %s listener: closed", l.o.Name)
	}
	if l.started {
		return nil
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", l.o.Addr)
	if err != nil {
		return fmt.Errorf("ingest %s listener on %s: %w", l.o.Name, l.o.Addr, err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		// A larger kernel buffer rides out bursts while a batch publishes;
		// the kernel caps it at net.core.rmem_max.
		_ = uc.SetReadBuffer(8 << 20)
	}
	l.pc, l.started = pc, true
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	q := make(chan datagram, udpQueue)
	l.wg.Add(2)
	go l.read(q)
	go l.publish(cctx, q)
	l.log.Info("ingest: listening", "listener", l.o.Name, "addr", pc.LocalAddr().String())
	return nil
}

// Addr returns the bound address (nil before Start).
func (l *udpServer) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pc == nil {
		return nil
	}
	return l.pc.LocalAddr()
}

// read copies each datagram into the queue until the socket closes.
func (l *udpServer) read(q chan<- datagram) {
	defer l.wg.Done()
	defer close(q)
	buf := make([]byte, 65536) // the largest UDP payload
	for {
		n, from, err := l.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("ingest: UDP read", "listener", l.o.Name, "err", err)
			continue
		}
		if n == 0 {
			continue
		}
		q <- datagram{data: append([]byte(nil), buf[:n]...), from: remoteAddr(from), received: l.o.Now()}
	}
}

// publish drains the queue in batches of whatever has arrived.
func (l *udpServer) publish(ctx context.Context, q <-chan datagram) {
	defer l.wg.Done()
	var b batch
	for d := range q {
		l.handle(&b, d)
	more:
		for b.len() < l.o.Batch {
			select {
			case d, ok := <-q:
				if !ok {
					break more
				}
				l.handle(&b, d)
			default:
				break more
			}
		}
		if err := l.flush(ctx, &b); err != nil {
			l.log.Warn("ingest: UDP events lost: publish failed", "listener", l.o.Name, "events", b.len(), "err", err)
			l.o.Metrics.drop(l.o.Name, b.len())
			b.reset()
		}
	}
}

func (l *UDPListener) addDatagram(b *batch, d datagram) {
	// A trailing LF (logger, many appliances) is framing, not message.
	data := d.data
	for len(data) > 0 && (data[len(data)-1] == '\n' || data[len(data)-1] == 0) {
		data = data[:len(data)-1]
	}
	l.add(b, data, false, d.from, d.received)
}

// Close stops reading, publishes what was already read (for at most
// closeGrace) and waits. Later calls do nothing.
func (l *udpServer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	var err error
	if l.pc != nil {
		err = l.pc.Close()
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		// The bus is not answering: stop waiting for it; what is still
		// queued is counted as dropped.
		l.cancel()
		<-done
	}
	if l.cancel != nil {
		l.cancel()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
