// Package bus is Vigil's message bus: NATS JetStream, either an embedded
// server under the data directory (one machine, nothing else installed) or an
// external server or cluster named by a nats:// URL (the national service).
// Callers see the same API either way.
//
// Delivery follows DESIGN.md "durable first, then acknowledge": Publish
// returns only after JetStream has stored the message, and Consume acks a
// message only after its handler returned nil, i.e. after the handler's own
// durable write. Redelivery is always possible, so every handler must be
// idempotent on a stable ID.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultStartTimeout bounds start-up when Options.StartTimeout is zero: the
// embedded server becoming ready, or the external connection and its
// JetStream check.
const DefaultStartTimeout = 10 * time.Second

// serverName is fixed so the embedded server's identity, and therefore its
// JetStream metadata under DataDir/nats, is the same on every start.
const serverName = "vigil"

// connName is how Vigil's connections appear in the server's monitoring
// (connz), which is how operators tell them apart from other clients.
const connName = "vigil"

// drainTimeout bounds Close: in-flight handlers and pending acks get this long
// to finish before the connection is closed regardless.
const drainTimeout = 10 * time.Second

// Options configures Open. The zero value is invalid only because DataDir is
// required for the embedded server.
type Options struct {
	// DataDir is Vigil's data directory; the embedded server keeps its
	// JetStream file store in DataDir/nats. Required when URL is empty and
	// ignored otherwise.
	DataDir string

	// URL selects an external NATS server or cluster, e.g.
	// "nats://host:4222" or a comma-separated list of servers of one
	// cluster. Credentials may be given in the URL; they never appear in
	// errors or logs. Empty means run the embedded server.
	URL string

	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges. Without it an acknowledged message survives a killed
	// process (it was written to the OS before the ack) but not a power
	// loss or kernel crash, because JetStream fsyncs only every two
	// minutes. The cost is an fsync for every stored message (and consumer
	// state update), so each publish waits for the disk: BenchmarkPublish
	// (one publisher, 512-byte messages, ext4 on a virtual disk) measured
	// 39µs per publish without it and 1.6ms with it, about 40 times slower
	// (26,000 versus 640 messages a second). Only valid with the embedded
	// server; external servers set sync_always in their own config.
	SyncAlways bool

	// Replicas is how many servers of an external cluster hold each
	// stream and key-value bucket Vigil declares (EnsureStream, Lease);
	// 0 means 1. With 3, a stream survives the loss of one server: its
	// remaining two elect a new leader within a few seconds and go on
	// storing. It must not exceed the cluster's size, or declaring a
	// stream fails. The embedded server is one server: only 1.
	Replicas int

	// Prefix is the deployment's namespace on a shared NATS server
	// (Namespace): every stream, durable consumer, key-value bucket and
	// subject Vigil uses gets it, so deployments or test runs with
	// different prefixes on one server never see each other's messages.
	// Empty (the default) keeps the names unprefixed, as before there
	// was a prefix. Letters, digits and _ only, at most MaxPrefix.
	Prefix string

	// StartTimeout bounds Open: the embedded server becoming ready, or the
	// connection to the external server plus its JetStream check. Zero
	// means DefaultStartTimeout. A deadline on Open's context shortens it.
	StartTimeout time.Duration

	// Logger receives connection events and the embedded server's log.
	// Nil discards them.
	Logger *slog.Logger
}

// validate fills defaults and rejects options that cannot work, naming the
// field so the operator knows which setting to fix.
func (o *Options) validate() error {
	if o.StartTimeout < 0 {
		return fmt.Errorf("bus: Options.StartTimeout: must not be negative, got %s", o.StartTimeout)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Replicas < 0 || o.Replicas > 5 {
		return fmt.Errorf("bus: Options.Replicas: want 1 to 5, got %d", o.Replicas)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if err := ValidatePrefix(o.Prefix); err != nil {
		return fmt.Errorf("bus: Options.Prefix: %w", err)
	}
	if strings.TrimSpace(o.URL) == "" {
		if o.Replicas > 1 {
			return fmt.Errorf("bus: Options.Replicas: the embedded server is one server, so 1, got %d", o.Replicas)
		}
		if o.DataDir == "" {
			return errors.New("bus: Options.DataDir: required for the embedded NATS server (or set Options.URL to use an external one)")
		}
		return nil
	}
	if o.SyncAlways {
		return errors.New("bus: Options.SyncAlways: applies only to the embedded server; set sync_always in the external NATS servers' jetstream config instead")
	}
	for i, s := range strings.Split(o.URL, ",") {
		if err := checkServerURL(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("bus: Options.URL: server %d: %w", i+1, err)
		}
	}
	return nil
}

// checkServerURL accepts what nats.go can dial. Its errors never contain
// the URL itself, which may carry a password or token.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole input; keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a valid URL (%v); want nats://host:port", err)
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("scheme %q not supported; want nats://host:port (or tls://, ws://, wss://)", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("missing host; want nats://host:port")
	}
	return nil
}

// redactURL returns the server list with credentials replaced, for errors and
// logs. A bare user part is replaced too, because NATS treats it as a token.
func redactURL(list string) string {
	parts := strings.Split(list, ",")
	for i, s := range parts {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			parts[i] = "<invalid URL>"
			continue
		}
		if u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx")
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// Bus is a connection to JetStream, plus the embedded server when there is
// one. Its methods are safe for concurrent use.
type Bus struct {
	log *slog.Logger
	srv *server.Server // nil when connected to an external server
	nc  *nats.Conn
	js  jetstream.JetStream

	replicas int
	ns       Namespace

	// connClosed is closed by the connection's ClosedHandler, which nats.go
	// calls once the drain has finished.
	connClosed chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open starts the embedded NATS server (URL empty) or connects to the
// external one, and checks that JetStream is available. On error everything
// Open started has been closed again.
func Open(ctx context.Context, opts Options) (*Bus, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: open: %w", err)
	}
	timeout := opts.StartTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	b := &Bus{
		log:        opts.Logger,
		connClosed: make(chan struct{}),
		replicas:   opts.Replicas,
		ns:         Namespace(opts.Prefix),
	}
	var err error
	if strings.TrimSpace(opts.URL) == "" {
		err = b.openEmbedded(opts, timeout)
	} else {
		err = b.openExternal(opts, timeout)
	}
	if err == nil {
		err = b.checkJetStream(ctx, opts, timeout)
	}
	if err != nil {
		if cerr := b.Close(); cerr != nil {
			b.log.Warn("bus: closing after failed open", "err", cerr)
		}
		return nil, err
	}
	return b, nil
}

// openEmbedded starts a server the way nats-server's own tests do: options
// in code, no listener (clients connect in-process, so no port is opened and
// nothing outside this process can reach it), no signal handlers (signals
// belong to the composition root).
func (b *Bus) openEmbedded(opts Options, timeout time.Duration) error {
	storeDir := filepath.Join(opts.DataDir, "nats")
	// Create it ourselves so a bad DataDir fails with the path in the error
	// rather than as a JetStream start-up failure.
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return fmt.Errorf("bus: Options.DataDir: create JetStream store: %w", err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName:             serverName,
		DontListen:             true,
		NoSigs:                 true,
		JetStream:              true,
		StoreDir:               storeDir,
		JetStreamMaxStore:      storeLimit(storeDir),
		SyncAlways:             opts.SyncAlways,
		DisableJetStreamBanner: true,
	})
	if err != nil {
		return fmt.Errorf("bus: embedded NATS server: %w", err)
	}
	slogger := &serverLogger{log: b.log.With("component", "nats-server")}
	srv.SetLoggerV2(slogger, false, false, false)
	b.srv = srv
	// Start does not block when DontListen is set; start-up failures are
	// reported through the logger's Fatalf and leave the server not ready.
	srv.Start()
	if !srv.ReadyForConnections(timeout) {
		if msg := slogger.fatal(); msg != "" {
			return fmt.Errorf("bus: embedded NATS server in %s did not start: %s", storeDir, msg)
		}
		return fmt.Errorf("bus: embedded NATS server in %s not ready after %s", storeDir, timeout)
	}
	if !srv.JetStreamEnabled() {
		return fmt.Errorf("bus: embedded NATS server in %s started without JetStream: %s", storeDir, slogger.fatal())
	}
	nc, err := nats.Connect("", b.connOptions(timeout, nats.InProcessServer(srv))...)
	if err != nil {
		return fmt.Errorf("bus: connect to embedded NATS server: %w", err)
	}
	b.nc = nc
	b.log.Info("bus: embedded NATS server started", "store_dir", storeDir, "sync_always", opts.SyncAlways)
	return nil
}

// openExternal connects to an external server or cluster. It does not retry
// a failed first connection: a wrong URL should stop start-up, not hang it.
func (b *Bus) openExternal(opts Options, timeout time.Duration) error {
	nc, err := nats.Connect(opts.URL, b.connOptions(timeout,
		// Once connected, keep reconnecting for ever: a cluster restart must
		// not kill Vigil. Healthy reports the outage to /readyz meanwhile.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(2*time.Second),
		nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		// Notice a dead server in about a minute rather than the default
		// four, so failover to another cluster member starts sooner.
		nats.PingInterval(20*time.Second),
		nats.MaxPingsOutstanding(3),
	)...)
	if err != nil {
		return fmt.Errorf("bus: connect to NATS at %s: %w", redactURL(opts.URL), err)
	}
	b.nc = nc
	b.log.Info("bus: connected to NATS", "addr", nc.ConnectedAddr(), "server", nc.ConnectedServerName())
	return nil
}

// connOptions are the connection options common to both modes.
func (b *Bus) connOptions(timeout time.Duration, extra ...nats.Option) []nats.Option {
	log := b.log
	return append([]nats.Option{
		nats.Name(connName),
		nats.Timeout(timeout),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus: reconnected to NATS", "addr", nc.ConnectedAddr())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Warn("bus: NATS async error", "subject", sub.Subject, "err", err)
				return
			}
			log.Warn("bus: NATS async error", "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connClosed) }),
	}, extra...)
}

// checkJetStream makes a round trip to the JetStream API, so Open fails now,
// naming the server, rather than at the first publish.
func (b *Bus) checkJetStream(ctx context.Context, opts Options, timeout time.Duration) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("bus: JetStream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		where := "embedded NATS server"
		if b.srv == nil {
			where = "NATS at " + redactURL(opts.URL)
		}
		return fmt.Errorf("bus: JetStream not available on %s (is it enabled, e.g. nats-server -js?): %w", where, err)
	}
	b.js = js
	return nil
}

// Close drains the connection (in-flight handlers finish, their acks are
// sent), then shuts the embedded server down and waits until it has
// released its store. Later calls return the first call's result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Bus) close() error {
	var errs []error
	if b.nc != nil {
		if err := b.nc.Drain(); err != nil {
			// Drain refuses a connection that is closed or reconnecting;
			// pending acks are lost then, and redelivery covers them.
			b.nc.Close()
		}
		select {
		case <-b.connClosed:
		case <-time.After(drainTimeout + time.Second):
			b.nc.Close()
			errs = append(errs, errors.New("bus: NATS connection did not close after drain"))
		}
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.log.Info("bus: embedded NATS server stopped")
	}
	return errors.Join(errs...)
}

// JetStream returns the JetStream context for what this package does not
// wrap (stream info, key-value, direct gets). Names used on it are the
// server's: put them in Namespace() first.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn returns the underlying connection, e.g. for core NATS request-reply.
// Subjects used on it are the server's: put them in Namespace() first.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Namespace is the deployment's namespace (Options.Prefix), which this
// package's methods apply to the names and subjects they are given.
func (b *Bus) Namespace() Namespace { return b.ns }

// Embedded reports whether the bus runs its own server rather than using an
// external one.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Healthy returns nil when the connection is up and JetStream answers. It is
// cheap enough for /readyz and metric scrapes: one AccountInfo round trip.
func (b *Bus) Healthy(ctx context.Context) error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("bus: NATS connection is %s", strings.ToLower(st.String()))
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("bus: JetStream: %w", err)
	}
	return nil
}

// Replicas is Options.Replicas: how many servers hold each stream.
func (b *Bus) Replicas() int { return b.replicas }

// EnsureStream creates the stream, or updates it to cfg if it exists, so
// every process can declare the streams it needs at start-up. A cfg
// without Replicas gets the bus's (Options.Replicas): a stream created
// with one replica is scaled up when the servers restart with more.
// cfg's name and subjects are put in the bus's Namespace.
func (b *Bus) EnsureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = b.replicas
	}
	cfg = b.ns.Stream(cfg)
	s, err := b.js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		if cfg.Replicas > 1 {
			return nil, fmt.Errorf("bus: ensure stream %q with %d replicas (does the NATS cluster have that many JetStream servers up? --nats-replicas): %w", cfg.Name, cfg.Replicas, err)
		}
		return nil, fmt.Errorf("bus: ensure stream %q: %w", cfg.Name, err)
	}
	return s, nil
}

// Publish stores data on subject and returns only after JetStream has
// acknowledged that the message is stored, so a caller may then acknowledge
// its own sender. msgID, when not empty, becomes the Nats-Msg-Id header:
// JetStream drops a second message with the same ID within the stream's
// Duplicates window (two minutes by default), so a retried publish stores
// nothing twice. Outside that window only idempotent consumers prevent
// duplicates, hence msgID should be the message's stable ID. subject is
// put in the bus's Namespace.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte, msgID string) error {
	subject = b.ns.Subject(subject)
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := b.js.Publish(ctx, subject, data, opts...)
	if err != nil {
		return fmt.Errorf("bus: publish to %s: %w", subject, err)
	}
	if ack.Duplicate {
		b.log.Debug("bus: duplicate publish dropped", "subject", subject, "msg_id", msgID, "stream", ack.Stream, "seq", ack.Sequence)
	}
	return nil
}

// Notify publishes data on subject with core NATS: not stored, delivered
// at most once to whoever is subscribed at that moment, and it returns
// without waiting for the server. It is for notices whose loss a receiver
// can survive, such as "organisations changed" (a receiver that misses one
// catches up at its own periodic check). Anything that must not be lost
// goes through Publish instead.
func (b *Bus) Notify(subject string, data []byte) error {
	subject = b.ns.Subject(subject)
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("bus: notify %s: %w", subject, err)
	}
	return nil
}

// Subscribe calls fn for every core NATS message on subject (wildcards
// allowed), one at a time, until stop is called or the bus closes. fn must
// be quick: it runs on the subscription's delivery goroutine. subject is
// put in the bus's Namespace, and fn is given each message's subject as
// its publisher named it (Namespace.Local).
func (b *Bus) Subscribe(subject string, fn func(subject string, data []byte)) (stop func(), err error) {
	subject = b.ns.Subject(subject)
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) { fn(b.ns.Local(m.Subject), m.Data) })
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	// Make sure the server has the interest before returning, so a notice
	// published right after Subscribe returns is not missed.
	if err := b.nc.Flush(); err != nil {
		return nil, errors.Join(fmt.Errorf("bus: subscribe %s: %w", subject, err), sub.Unsubscribe())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Unsubscribing fails only on a closed connection, which has
			// dropped the interest already.
			if err := sub.Unsubscribe(); err != nil {
				b.log.Debug("bus: unsubscribe", "subject", subject, "err", err)
			}
		})
	}, nil
}

// Handler processes one message. Returning nil acknowledges it, so a
// handler must make its effect durable before returning; returning an error
// asks for redelivery after a short backoff, unless it is Reject's, which
// ends the message's deliveries. ctx is cancelled when the consumer stops.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// Reject marks a handler's error as final: the message can never be
// handled (it is malformed, or invalid for its consumer), so redelivering
// it would only repeat the failure and, with backoff, keep it circling for
// ever. The message is terminated (JetStream delivers it no more) and
// logged with the reason; the messages after it are not held up.
func Reject(err error) error {
	if err == nil {
		return nil
	}
	return &rejected{err}
}

type rejected struct{ err error }

func (r *rejected) Error() string { return "rejected: " + r.err.Error() }
func (r *rejected) Unwrap() error { return r.err }

// IsRejected reports whether err was made by Reject.
func IsRejected(err error) bool {
	var r *rejected
	return errors.As(err, &r)
}

// Nak backoff: the first retry comes quickly (a transient store error), later
// ones spread out so a poison message does not spin.
const (
	nakDelayMin = 500 * time.Millisecond
	nakDelayMax = 30 * time.Second
)

// nakDelay doubles per delivery from nakDelayMin up to nakDelayMax.
func nakDelay(delivered uint64) time.Duration {
	d := nakDelayMin
	for i := uint64(1); i < delivered && d < nakDelayMax; i++ {
		d *= 2
	}
	return min(d, nakDelayMax)
}

// Consume creates (or updates) the durable pull consumer durable on stream
// with explicit acks and runs handler for each message, one at a time, until
// stop is called or ctx is done. The consumer's position is kept by the
// server, so after a restart it resumes after the last acknowledged message.
//
// stop waits for a running handler to return; do not call it from inside
// the handler. Messages fetched but not yet handled when it stops are
// redelivered after the consumer's AckWait (30 s by default).
//
// stream and durable are put in the bus's Namespace, and the handler sees
// each message's subject as its publisher named it (Namespace.Local).
func (b *Bus) Consume(ctx context.Context, stream, durable string, handler Handler) (stop func(), err error) {
	if stream == "" || durable == "" || handler == nil {
		return nil, errors.New("bus: consume: stream, durable and handler are required")
	}
	stream, durable = b.ns.Name(stream), b.ns.Name(durable)
	if b.ns != "" {
		inner := handler
		handler = func(ctx context.Context, msg jetstream.Msg) error {
			return inner(ctx, localMsg{msg, b.ns.Local(msg.Subject())})
		}
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:   durable,
		AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on stream %s: %w", durable, stream, err)
	}
	log := b.log.With("stream", stream, "consumer", durable)
	hctx, cancel := context.WithCancel(ctx)
	// Messages whose handler was interrupted by stopping are handed back
	// only after the subscription has closed. A NAK sent while it is still
	// open lets the server redeliver into this consumer's outstanding pull
	// request, where the message is dropped and then sits unacknowledged
	// until AckWait (30 s) — seen under load in TestConsumeStopsWhenContextDone.
	var imu sync.Mutex
	var interrupted []jetstream.Msg
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		if !handle(hctx, log, handler, msg) {
			imu.Lock()
			interrupted = append(interrupted, msg)
			imu.Unlock()
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("bus: consume", "err", err)
	}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: consume %s on stream %s: %w", durable, stream, err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cc.Stop()
			// Closed fires once the subscription's delivery goroutine has
			// returned from the running handler, if any.
			<-cc.Closed()
			cancel()
			imu.Lock()
			defer imu.Unlock()
			for _, msg := range interrupted {
				if err := msg.Nak(); err != nil {
					log.Warn("bus: nak", "subject", msg.Subject(), "err", err)
				}
			}
			interrupted = nil
		})
	}
	// A done ctx cancels the handler's context at once (it is a child), so
	// a handler stuck on I/O returns and stop does not wait on it. Watching
	// hctx rather than ctx also releases this registration when stop is
	// called first, since stop cancels hctx.
	context.AfterFunc(hctx, stop)
	return stop, nil
}

// handle runs handler and settles msg: ack on success, nak with backoff on
// error. A lost ack only causes a redelivery, which idempotent handlers
// absorb, so acks are not waited for. It returns false, leaving msg
// unsettled, when the handler failed because the consumer is stopping: the
// caller hands such messages back once the subscription has closed.
func handle(ctx context.Context, log *slog.Logger, handler Handler, msg jetstream.Msg) bool {
	err := handler(ctx, msg)
	if err == nil {
		if aerr := msg.Ack(); aerr != nil {
			log.Warn("bus: ack", "subject", msg.Subject(), "err", aerr)
		}
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	var delivered, seq uint64
	if md, merr := msg.Metadata(); merr == nil {
		delivered, seq = md.NumDelivered, md.Sequence.Stream
	}
	if IsRejected(err) {
		log.Warn("bus: message rejected, not redelivered", "subject", msg.Subject(), "seq", seq, "err", err)
		if terr := msg.Term(); terr != nil {
			log.Warn("bus: term", "subject", msg.Subject(), "seq", seq, "err", terr)
		}
		return true
	}
	delay := nakDelay(delivered)
	log.Warn("bus: handler failed, will redeliver", "subject", msg.Subject(), "seq", seq,
		"delivered", delivered, "retry_in", delay, "err", err)
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		log.Warn("bus: nak", "subject", msg.Subject(), "seq", seq, "err", nerr)
	}
	return true
}

// localMsg is a message whose Subject is the one its publisher named,
// outside the namespace.
type localMsg struct {
	jetstream.Msg
	subject string
}

func (m localMsg) Subject() string { return m.subject }

// serverLogger adapts the embedded server's printf-style logger to slog and
// keeps its last fatal message, which explains a failed start-up.
type serverLogger struct {
	log *slog.Logger

	mu        sync.Mutex
	lastFatal string
}

// Noticef is debug, not info: the embedded server's notices are its
// start-up banner, JetStream's settings, "Server is ready" and the shutdown
// steps — a dozen lines at every start that tell the person running Vigil
// nothing (Open logs one line of its own). Its warnings and errors pass.
func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf records the message instead of exiting, as nats-server's own logger
// would: the process belongs to Vigil, and Open turns it into an error.
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	l.mu.Lock()
	l.lastFatal = msg
	l.mu.Unlock()
}

func (l *serverLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastFatal
}

// storeLimit is the room the embedded server's JetStream may reserve for
// streams: what the streams already in storeDir reserve, plus three
// quarters of the disk's free space (nats-server's own default is only the
// latter). A stream keeps the reservation it was made with, and JetStream
// refuses every stream change, even one that shrinks a stream, while its
// reservations exceed its limit; so when the disk fills after the EVENTS
// stream was made (50 GiB reserved with 80 GB free, 46 GB of room with 61
// GB free), nats-server's default stopped the next start at its first
// stream ("insufficient storage resources available"). New streams still
// get no more than three quarters of the free space. 0 (nats-server's
// default) when the free space cannot be read.
func storeLimit(storeDir string) int64 {
	free, ok := freeBytes(storeDir)
	if !ok {
		return 0
	}
	return reservedBytes(storeDir) + free/4*3
}

// reservedBytes sums max_bytes of the file streams stored under storeDir
// (each stream's meta.inf is its configuration as JSON); an unreadable
// one counts nothing.
func reservedBytes(storeDir string) int64 {
	metas, _ := filepath.Glob(filepath.Join(storeDir, "jetstream", "*", "streams", "*", "meta.inf"))
	var n int64
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var c struct {
			MaxBytes int64  `json:"max_bytes"`
			Storage  string `json:"storage"`
		}
		if json.Unmarshal(b, &c) == nil && c.MaxBytes > 0 && c.Storage != "memory" {
			n += c.MaxBytes
		}
	}
	return n
}
