package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/semaphore"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/events"
)

// The EVENTS stream: every listener publishes what it read at once (a
// TCP, TLS or RELP read batch, an HTTP request, a NetFlow datagram or
// what the UDP queue held) as stream messages of many events each, on
// events.<ORG> (the owning organisation's ODS code, so a consumer — the
// event store, detection — can shard or filter by organisation; a
// message holds one organisation's events only). A message is NDJSON:
// each event's events.Event JSON on its own line, at most
// maxMessageBytes a message, with the event count in the
// events.StreamCountHeader header (events.AppendStreamEvents reads it).
// Before batching each message was one event's JSON, which reads the
// same as a message of one line, so a stream written by an older server
// is still consumed.
//
// One message per batch rather than per event because JetStream's own
// cost is per message — storing, delivering and acknowledging each event
// as its own message was a third of the CPU of syslog end to end
// (docs/performance.md). The price is deduplication: Nats-Msg-Id is the
// event's ID for a message of one event (as before) and a digest of the
// events' IDs otherwise, so JetStream drops the same batch published
// again within the Duplicates window, but not a resent batch cut
// differently (RELP after a reconnect may read its resent window in
// other batches). The store's consumer deduplicates by event ID
// (events.Store.Append skips an ID it holds), so such a batch lands
// twice on the stream and once in the store.
//
// JSON rather than a compact encoding: the event already holds its raw
// text and the fields parsed from it, so a binary encoding would save
// little beside the field names, and JSON keeps the stream readable with
// the nats CLI and by a consumer in any language. The stream's file store
// compresses with S2, which takes most of the field names' repetition
// back on disk. Flows are the exception (flowstream.go, ADR 0013): a
// flow's event is ten times its record, so the records travel and each
// consumer makes the events.
const (
	EventStream  = "EVENTS"
	eventSubject = "events"
)

// Stream limit defaults (StreamOptions zero values). The stream is a
// buffer between the listeners and the store, not the archive: a week
// covers a store that was down over a long weekend, and 50 GiB bounds
// the disk when it stays down longer (JetStream then drops the oldest
// events, which the store's consumer will never see — the store's own
// lag alarm is what catches that). Two minutes of duplicate window cover
// a sender resending what a killed or restarted server left unanswered;
// the store deduplicates by event ID beyond it. Ten minutes had JetStream
// hold every ID of the window in memory: at 1,300 events/s the server's
// RSS grew by 180 MB over a 20-minute soak, all of it there.
const (
	DefaultStreamMaxAge     = 7 * 24 * time.Hour
	DefaultStreamMaxBytes   = 50 << 30
	DefaultStreamDuplicates = 2 * time.Minute
)

// EventSubject is the subject org's events are published on.
func EventSubject(org string) string { return eventSubject + "." + strings.ToUpper(org) }

// StreamOptions are the EVENTS stream's limits; zero values take the
// defaults above.
type StreamOptions struct {
	// MaxAge drops events older than this from the stream.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size on disk; the oldest events go
	// first.
	MaxBytes int64
	// Duplicates is the window within which a repeated Nats-Msg-Id is
	// dropped. JetStream keeps every ID of the window in memory (by
	// estimate, not measured, about 100 bytes each: the 32-character ID,
	// its entry and the map), one per message: a message holds a
	// listener's batch under load, so this is far less than one per
	// event, but a trickle of single events is one ID each. The store's
	// consumer deduplicates by event ID beyond the window anyway.
	Duplicates time.Duration
	// Replicas is how many servers of an external NATS cluster hold the
	// stream (1 when 0; 3 survives the loss of one server). The embedded
	// server is one server.
	Replicas int
}

func (o *StreamOptions) validate() error {
	switch {
	case o.Replicas < 0 || o.Replicas > 5:
		return fmt.Errorf("ingest stream: Replicas %d is not 1 to 5", o.Replicas)
	case o.MaxAge < 0:
		return fmt.Errorf("ingest stream: MaxAge %s is negative", o.MaxAge)
	case o.MaxBytes < 0:
		return fmt.Errorf("ingest stream: MaxBytes %d is negative", o.MaxBytes)
	case o.Duplicates < 0:
		return fmt.Errorf("ingest stream: Duplicates %s is negative", o.Duplicates)
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultStreamMaxAge
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultStreamMaxBytes
	}
	if o.Duplicates == 0 {
		o.Duplicates = DefaultStreamDuplicates
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Duplicates > o.MaxAge {
		return fmt.Errorf("ingest stream: Duplicates %s is longer than MaxAge %s", o.Duplicates, o.MaxAge)
	}
	return nil
}

// EventStreamConfig is the EVENTS stream's configuration for o (defaults
// filled; o must have passed validation or be zero).
func EventStreamConfig(o StreamOptions) jetstream.StreamConfig {
	_ = o.validate()
	return jetstream.StreamConfig{
		Name:        EventStream,
		Description: "Ingested events on events.<ORG>: NDJSON of events.Event, one listener batch of one organisation per message (Vigil-Events header: the count)",
		Subjects:    []string{eventSubject + ".>"},
		Storage:     jetstream.FileStorage,
		Compression: jetstream.S2Compression,
		MaxAge:      o.MaxAge,
		MaxBytes:    o.MaxBytes,
		Discard:     jetstream.DiscardOld,
		Duplicates:  o.Duplicates,
		Replicas:    o.Replicas,
	}
}

// ErrBusy is Publisher.TryPublish's refusal when the in-flight bound is
// reached: the sender should retry later (HTTP 429).
var ErrBusy = errors.New("ingest: too many events in flight; retry later")

// Publisher defaults.
const (
	// DefaultMaxInFlight bounds the events published and not yet
	// acknowledged by JetStream, across all listeners. With the 64 KiB
	// message limit the worst case is 1 GiB of raw text, but real
	// syslog and Windows events average under 2 KiB: about 40 MiB.
	DefaultMaxInFlight = 16384
	// DefaultAckTimeout is how long a batch waits for JetStream's acks
	// before the publish counts as failed (the sender is then not
	// acknowledged and will resend).
	DefaultAckTimeout = 30 * time.Second
	// publishChunk is the most events one Publish acquires in-flight
	// slots for at once, so a large HTTP body cannot wait for more slots
	// than exist.
	publishChunk = 1024
)

// PublisherOptions configure NewPublisher.
type PublisherOptions struct {
	// Conn is the NATS connection (bus.Bus.Conn()). Required.
	Conn *nats.Conn
	// Namespace is the deployment's (bus.Bus.Namespace()): the stream
	// and subjects are named in it.
	Namespace bus.Namespace
	// Stream are the EVENTS stream's limits.
	Stream StreamOptions
	// MaxInFlight bounds events published but not yet acknowledged
	// (DefaultMaxInFlight when 0): the listeners' memory bound.
	MaxInFlight int
	// AckTimeout bounds the wait for a batch's acks (DefaultAckTimeout
	// when 0).
	AckTimeout time.Duration
	// Metrics, when set, counts duplicates JetStream dropped.
	Metrics *Metrics
	// Logger says when the stream had to be made smaller than the
	// default; nil discards.
	Logger *slog.Logger
}

// Publisher publishes normalised events on the EVENTS stream durably: a
// Publish returns nil only once JetStream has stored every event of the
// batch, so a listener acknowledges its sender after it. A batch goes as
// few messages as it can (one per organisation, split at
// maxMessageBytes), published asynchronously, then every ack is awaited.
// It is safe for concurrent use by every listener.
type Publisher struct {
	js         jetstream.JetStream
	ns         bus.Namespace
	sem        *semaphore.Weighted
	max        int64
	ackTimeout time.Duration
	metrics    *Metrics
	inflight   atomic.Int64
}

// NewPublisher declares the EVENTS stream (creating or updating it) and
// returns a Publisher on it.
func NewPublisher(ctx context.Context, opts PublisherOptions) (*Publisher, error) {
	if opts.Conn == nil {
		return nil, errors.New("ingest publisher: Conn is required")
	}
	defaultSize := opts.Stream.MaxBytes == 0
	if err := opts.Stream.validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.MaxInFlight < 0:
		return nil, fmt.Errorf("ingest publisher: MaxInFlight %d is negative", opts.MaxInFlight)
	case opts.AckTimeout < 0:
		return nil, fmt.Errorf("ingest publisher: AckTimeout %s is negative", opts.AckTimeout)
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.AckTimeout == 0 {
		opts.AckTimeout = DefaultAckTimeout
	}
	js, err := jetstream.New(opts.Conn,
		// The semaphore holds publishes to MaxInFlight, so the client's own
		// stall limit never trips first.
		jetstream.WithPublishAsyncMaxPending(opts.MaxInFlight+1),
		jetstream.WithPublishAsyncTimeout(opts.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("ingest publisher: JetStream: %w", err)
	}
	if err := ensureEventStream(ctx, js, opts.Namespace, opts.Stream, defaultSize, opts.Logger); err != nil {
		return nil, err
	}
	return &Publisher{
		js: js, ns: opts.Namespace, sem: semaphore.NewWeighted(int64(opts.MaxInFlight)), max: int64(opts.MaxInFlight),
		ackTimeout: opts.AckTimeout, metrics: opts.Metrics,
	}, nil
}

// minStreamBytes is the smallest EVENTS stream ensureEventStream settles
// for when the disk is short: about ten minutes at 10,000 events/s.
const minStreamBytes = 1 << 30

// ensureEventStream creates or updates the EVENTS stream. JetStream
// reserves a stream's MaxBytes against the room it was given (by default
// three quarters of the free disk when the embedded server starts), so the
// default 50 GiB does not fit a smaller disk: with the default size the
// stream is halved until it fits, down to minStreamBytes, and the log says
// so; a size that was asked for is kept or refused.
func ensureEventStream(ctx context.Context, js jetstream.JetStream, ns bus.Namespace, o StreamOptions, defaultSize bool, log *slog.Logger) error {
	for {
		_, err := js.CreateOrUpdateStream(ctx, ns.Stream(EventStreamConfig(o)))
		var apiErr *jetstream.APIError
		if err == nil || !defaultSize || !errors.As(err, &apiErr) || !noRoom(apiErr) || o.MaxBytes/2 < minStreamBytes {
			if err != nil {
				return fmt.Errorf("ingest publisher: ensure stream %s (%d MiB): %w", ns.Name(EventStream), o.MaxBytes>>20, err)
			}
			return nil
		}
		o.MaxBytes /= 2
		if log != nil {
			log.Warn("ingest: the disk has no room for the default EVENTS stream; using a smaller one (the oldest events leave the stream sooner; the store keeps them)",
				"max_bytes", o.MaxBytes, "default", DefaultStreamMaxBytes)
		}
	}
}

// jsErrCodeStorageResources is JetStream's "insufficient storage
// resources available"; on a cluster the same shortage is
// jsErrCodeNoPeers, "no suitable peers for placement, insufficient
// storage" (no replica has the room).
const (
	jsErrCodeStorageResources = 10047
	jsErrCodeNoPeers          = 10005
)

// noRoom reports whether err says the stream's size does not fit.
func noRoom(err *jetstream.APIError) bool {
	return err.ErrorCode == jsErrCodeStorageResources ||
		err.ErrorCode == jsErrCodeNoPeers && strings.Contains(err.Description, "insufficient storage")
}

// Publish publishes evs and returns once JetStream has stored all of
// them, waiting for in-flight room when other batches hold it. Every
// event must have its Org set. On error some events may be stored and
// others not; the sender resends the batch and the IDs deduplicate it.
func (p *Publisher) Publish(ctx context.Context, evs []events.Event) error {
	return p.publish(ctx, evs, false)
}

// TryPublish is Publish that fails with ErrBusy, publishing nothing, when
// there is no in-flight room for the first chunk right now; once it has
// begun it waits for room like Publish. HTTP handlers use it to answer
// 429 rather than hold a connection open.
func (p *Publisher) TryPublish(ctx context.Context, evs []events.Event) error {
	return p.publish(ctx, evs, true)
}

func (p *Publisher) publish(ctx context.Context, evs []events.Event, try bool) error {
	return p.inChunks(ctx, len(evs), try, func(lo, hi int) error { return p.publishChunk(ctx, evs[lo:hi]) })
}

// inChunks publishes n items in chunks of at most publishChunk, each
// holding in-flight room for its items while chunk(lo, hi) publishes
// them; try is TryPublish's refusal of the first chunk when there is no
// room now.
func (p *Publisher) inChunks(ctx context.Context, total int, try bool, chunk func(lo, hi int) error) error {
	for lo := 0; lo < total; {
		n := min(total-lo, publishChunk, int(p.max))
		if try {
			if !p.sem.TryAcquire(int64(n)) {
				return ErrBusy
			}
			try = false
		} else if err := p.sem.Acquire(ctx, int64(n)); err != nil {
			return fmt.Errorf("ingest: wait for in-flight room: %w", err)
		}
		p.inflight.Add(int64(n))
		err := chunk(lo, lo+n)
		p.inflight.Add(-int64(n))
		p.sem.Release(int64(n))
		if err != nil {
			return err
		}
		lo += n
	}
	return nil
}

// publishChunk publishes evs as stream messages of many events each (the
// NDJSON described at the top of this file: one message per
// organisation, split at maxMessageBytes) asynchronously and waits for
// every ack.
func (p *Publisher) publishChunk(ctx context.Context, evs []events.Event) error {
	var c chunkMsgs
	var firstErr error
	for i := range evs {
		ev := &evs[i]
		if ev.Org == "" || ev.ID == "" {
			firstErr = fmt.Errorf("ingest: event %d of the batch has no org or ID", i)
			break
		}
		if len(evs) > 1 && !c.first(ev.ID, len(evs)) {
			continue
		}
		m := c.of(ev.Org, func() *batchMsg { return newBatchMsg(ev.Org, len(evs)-i) })
		mark := len(m.data)
		var err error
		m.data, err = appendEventJSON(m.data, ev)
		if err != nil {
			firstErr = fmt.Errorf("ingest: encode event %s: %w", ev.ID, err)
			break
		}
		m.data = append(m.data, '\n')
		if len(m.data) > maxMessageBytes && m.n > 0 {
			// The event does not fit: the message goes without it, and
			// the event starts the next one.
			line := m.data[mark:]
			m.data = m.data[:mark]
			if firstErr = p.send(m, &c.pending); firstErr != nil {
				break
			}
			next := newBatchMsg(ev.Org, len(evs)-i)
			next.data = append(next.data, line...)
			*m = *next
		}
		m.add(ev.ID)
	}
	return p.finish(ctx, &c, firstErr)
}

// chunkMsgs are the messages a chunk is published in: one being filled
// per organisation, those sent, and the IDs seen. An event twice in one
// chunk (a datagram sent twice, a record a source repeats) goes once:
// JetStream's dedup by message ID would not see it inside one message.
type chunkMsgs struct {
	open    []*batchMsg
	pending []pendingMsg
	seen    map[string]struct{}
	dups    int
}

// first says whether id is new to the chunk of n, counting a duplicate
// otherwise.
func (c *chunkMsgs) first(id string, n int) bool {
	if c.seen == nil {
		c.seen = make(map[string]struct{}, n)
	}
	if _, ok := c.seen[id]; ok {
		c.dups++
		return false
	}
	c.seen[id] = struct{}{}
	return true
}

// of is org's open message, made by mk when it has none.
func (c *chunkMsgs) of(org string, mk func() *batchMsg) *batchMsg {
	for _, m := range c.open {
		if m.org == org {
			return m
		}
	}
	m := mk()
	c.open = append(c.open, m)
	return m
}

// finish sends the chunk's open messages (unless firstErr) and waits for
// every acknowledgement.
func (p *Publisher) finish(ctx context.Context, c *chunkMsgs, firstErr error) error {
	if firstErr == nil {
		for _, m := range c.open {
			if m.n == 0 {
				continue
			}
			if firstErr = p.send(m, &c.pending); firstErr != nil {
				break
			}
		}
	}
	p.metrics.duplicate(c.dups)
	return p.awaitAcks(ctx, c.pending, firstErr)
}

// send publishes m asynchronously, adding it to pending.
func (p *Publisher) send(m *batchMsg, pending *[]pendingMsg) error {
	f, err := p.js.PublishMsgAsync(m.msg(p.ns.Subject(EventSubject(m.org))))
	if err != nil {
		return fmt.Errorf("ingest: publish %d events of %s: %w", m.n, m.org, err)
	}
	*pending = append(*pending, pendingMsg{f, m.n})
	return nil
}

// awaitAcks waits for the acknowledgement of every pending message and
// returns the first error (firstErr when there was one already).
func (p *Publisher) awaitAcks(ctx context.Context, pending []pendingMsg, firstErr error) error {
	timer := time.NewTimer(p.ackTimeout)
	defer timer.Stop()
	for _, pm := range pending {
		f := pm.f
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				p.metrics.duplicate(pm.n)
			}
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("ingest: publish to %s: %w", f.Msg().Subject, err)
			}
		case <-timer.C:
			// Waiting on: the futures time out by themselves
			// (WithPublishAsyncTimeout); this is the backstop.
			if firstErr == nil {
				firstErr = fmt.Errorf("ingest: no acknowledgement from JetStream within %s", p.ackTimeout)
			}
			return firstErr
		case <-ctx.Done():
			if firstErr == nil {
				firstErr = fmt.Errorf("ingest: waiting for acknowledgements: %w", ctx.Err())
			}
			return firstErr
		}
	}
	return firstErr
}

// pendingMsg is a published message awaiting its ack, and how many
// events it holds.
type pendingMsg struct {
	f jetstream.PubAckFuture
	n int
}

// maxMessageBytes is the most a stream message of several events holds:
// well under NATS's default max_payload (1 MiB), which an external
// server may have lowered, and small enough that the store's consumer
// fetches many at once. An event larger than this goes alone.
const maxMessageBytes = 512 << 10

// batchMsg is a stream message being filled with one organisation's
// events.
type batchMsg struct {
	org  string
	data []byte
	n    int
	id   string // the only event's ID while n == 1
	h    hash.Hash
	// enc is the message's encoding (events.StreamEncodingHeader), ""
	// for NDJSON; flows is what a flow message's last context record
	// said (flowstream.go).
	enc   string
	flows flowContext
}

// newBatchMsg starts org's message, its buffer sized for the events
// left of the chunk (about 1 KiB each, at most a message's worth) so
// that it seldom grows while it fills.
func newBatchMsg(org string, left int) *batchMsg {
	return &batchMsg{org: org, data: make([]byte, 0, min(left<<10, maxMessageBytes+64<<10))}
}

// add counts an event whose JSON line is in data.
func (m *batchMsg) add(id string) {
	m.n++
	if m.n == 1 {
		m.id = id
		return
	}
	if m.h == nil {
		m.h = sha256.New()
		m.h.Write([]byte(m.id))
		m.h.Write([]byte{'\n'})
	}
	m.h.Write([]byte(id))
	m.h.Write([]byte{'\n'})
}

// msg is the finished message on subject. Its Nats-Msg-Id is the event's
// own ID when it holds one event (as every message did before batching),
// otherwise a digest of its events' IDs in order: the same batch sent
// again inside the duplicates window is dropped by JetStream; a resent
// batch cut differently is not, and the store's idempotence by event ID
// takes it.
func (m *batchMsg) msg(subject string) *nats.Msg {
	id := m.id
	if m.n > 1 {
		id = "b" + hex.EncodeToString(m.h.Sum(nil)[:16])
	}
	h := nats.Header{}
	h.Set(jetstream.MsgIDHeader, id)
	h.Set(events.StreamCountHeader, strconv.Itoa(m.n))
	if m.enc != "" {
		h.Set(events.StreamEncodingHeader, m.enc)
	}
	return &nats.Msg{Subject: subject, Data: m.data, Header: h}
}

// InFlight returns the events being published now and the bound, for
// a readiness or load report.
func (p *Publisher) InFlight() (n, limit int64) {
	return p.inflight.Load(), p.max
}
