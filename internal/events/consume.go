package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/flatjson"
)

// The store's side of the ingest flow (DESIGN: "durable consumers, each
// acks after its own write"): a durable consumer of the events stream that
// fetches a batch, appends it to the Store in one call and only then
// acknowledges its messages. A crash before the acknowledgement
// redelivers the batch, which Append's idempotence by ID stores once.

// DefaultDurable is the store consumer's name; its pending messages are
// the store's lag behind the stream.
const DefaultDurable = "events-store"

// DefaultFetchBytes bounds one fetch's messages together: about 6,000
// syslog events a transaction of the store under load. A message larger
// than this (one event near the 1 MiB message limit) is fetched alone.
const DefaultFetchBytes = 4 << 20

// DefaultBatchEvents bounds the events a consumer handles at once: a
// block's worth (8,192), about 7 MB of syslog events or 10 MB of flows.
const DefaultBatchEvents = 8192

// ConsumerOptions configure Consume.
type ConsumerOptions struct {
	// Stream is the stream to read (ingest.EventStream); it must exist.
	Stream string
	// Durable is the consumer's name (default DefaultDurable).
	Durable string
	// Namespace is the deployment's on the bus (bus.Bus.Namespace()):
	// Stream and Durable are named in it.
	Namespace bus.Namespace
	// Batch is how many messages a fetch asks for (default 1000).
	Batch int
	// MaxBytes bounds a fetch's messages together (default
	// DefaultFetchBytes): a message holds up to a listener's batch of
	// events, so this, not Batch, is what bounds a fetch's memory and
	// the store's transaction under load.
	MaxBytes int
	// MaxWait is how long a fetch waits for a full batch (default 250 ms).
	MaxWait time.Duration
	Logger  *slog.Logger
	// Stored, when set, is told each batch stored (for metrics and tests).
	Stored func(n int)
	// DecodeFields gives a handler each event's Fields as a map (the
	// store keeps them as the JSON they came in, and does not need it).
	DecodeFields bool
	// MaxEvents bounds the events handed to the handler at once
	// (default DefaultBatchEvents): a fetch holding more, by its
	// messages' count headers, is decoded and handled in parts, so that
	// the memory a fetch takes as events stays bounded whatever its
	// messages' encoding.
	MaxEvents int
	// Records hands events of an encoding with a records decoder
	// (RegisterStreamRecords) to the handler as records, without lines
	// or fields: Consume sets it for a store that keeps records.
	Records bool
	// DeliverNew makes a consumer created now start with the messages
	// published from now on, not those already on the stream (the IOC
	// matcher's, which retro-matching covers for the past).
	DeliverNew bool
}

// Handler does a consumer's work on one fetched batch of events; the
// batch's messages are acknowledged once it returns nil, and handed back
// for redelivery when it fails, so it must be idempotent by event ID.
type Handler func(ctx context.Context, evs []Event) error

// Consume starts storing the stream's events in st and returns a stop
// function that ends it and waits for the batch under way.
func Consume(ctx context.Context, js jetstream.JetStream, st Store, o ConsumerOptions) (stop func(), err error) {
	if st == nil {
		return nil, errors.New("events: consume: a store is required")
	}
	if rk, ok := st.(interface{ keepsRecords() bool }); ok && rk.keepsRecords() {
		o.Records = true
	}
	return ConsumeWith(ctx, js, o, st.Append)
}

// ConsumeWith is Consume with any work in place of the store's append:
// detection and analytics read the stream through durable consumers of
// their own (o.Durable), each acknowledging after its own work.
func ConsumeWith(ctx context.Context, js jetstream.JetStream, o ConsumerOptions, handle Handler) (stop func(), err error) {
	if o.Stream == "" || handle == nil || js == nil {
		return nil, errors.New("events: consume: stream, handler and JetStream are required")
	}
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 250 * time.Millisecond
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultFetchBytes
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultBatchEvents
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// A batch fetched by a server that then died stays pending until
	// AckWait, and counts against MaxAckPending meanwhile: AckWait is
	// short enough that the batch comes back within half a minute (an
	// Append of a batch takes well under a second), and MaxAckPending
	// leaves room for many dead servers' batches, so new events keep
	// flowing while those wait (TestServeKillNine, which kills serve four
	// times in a few seconds, stalled for two minutes with 2 min and 4
	// batches). Only fetched messages are in memory, so neither bounds it.
	// Both count messages, each of which may hold a listener's batch of
	// events: a fetch is bounded by MaxBytes (4 MiB, about 5,600 syslog
	// events, appended in well under a second), so AckWait still leaves
	// a wide margin, and 32 fetches of 1,000 messages stay the most a
	// consumer can hold unacknowledged.
	o.Stream, o.Durable = o.Namespace.Name(o.Stream), o.Namespace.Name(o.Durable)
	cfg := jetstream.ConsumerConfig{
		Durable:       o.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 32 * o.Batch,
	}
	if o.DeliverNew {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("events: consumer %s on %s: %w", o.Durable, o.Stream, err)
	}
	// Two stages, so that the next batch is fetched and decoded (NATS and
	// JSON: the other core) while this one is appended (SQLite): the
	// fetcher hands each batch over a channel of one, the storer appends
	// and acknowledges it. At most three batches are in memory.
	cctx, cancel := context.WithCancel(ctx)
	batches := make(chan fetched, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(batches)
		retry(cctx, o.Logger, "events: fetch a batch", func() (bool, error) {
			return fetchGroups(cctx, cons, o, batches)
		})
	}()
	go func() {
		defer wg.Done()
		retry(cctx, o.Logger, "events: store a batch", func() (bool, error) {
			b, ok := <-batches
			if !ok {
				return false, cctx.Err()
			}
			if err := handle(cctx, b.evs); err != nil {
				b.nak()
				return false, err
			}
			for _, m := range b.msgs {
				if err := m.Ack(); err != nil {
					// Redelivered later and stored once (Append is idempotent).
					o.Logger.Warn("events: ack", "err", err)
				}
			}
			if o.Stored != nil {
				o.Stored(len(b.evs))
			}
			return true, nil
		})
	}()
	return func() { cancel(); wg.Wait() }, nil
}

// retry runs step until ctx ends, waiting after a failure (1 s, doubling
// to 30 s, reset by a success).
func retry(ctx context.Context, log *slog.Logger, what string, step func() (bool, error)) {
	backoff := time.Second
	for ctx.Err() == nil {
		ok, err := step()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn(what, "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		case ok:
			backoff = time.Second
		}
	}
}

// fetched is a batch of the stream's messages and their events.
type fetched struct {
	msgs []jetstream.Msg
	evs  []Event
}

// nak hands the batch back for redelivery a second later.
func (b fetched) nak() {
	for _, m := range b.msgs {
		_ = m.NakWithDelay(time.Second)
	}
}

// fetchGroups fetches up to o.Batch messages (o.MaxBytes together) and
// hands their events to out in groups of at most o.MaxEvents, by the
// messages' count headers (a message of more is a group alone), each
// group as soon as its messages have come: the handler starts on the
// first while the rest of the fetch arrives, and a fetch of compact
// messages (flow records are a tenth of their events' size) is never
// all in memory as events. It says whether it handed anything over.
func fetchGroups(ctx context.Context, cons jetstream.Consumer, o ConsumerOptions, out chan<- fetched) (bool, error) {
	sent, got, err := fetchInto(ctx, cons.Fetch, o.Batch, o, out, jetstream.FetchMaxBytes(o.MaxBytes))
	if err != nil || got > 0 {
		return sent, err
	}
	// Nothing: either nothing came within MaxWait, or the next message is
	// larger than MaxBytes (a server allowing larger messages than the
	// default), which the server refuses to a fetch bounded so and the
	// client reports as no messages. One message, unbounded, takes either
	// case.
	sent, _, err = fetchInto(ctx, cons.Fetch, 1, o, out)
	return sent, err
}

// fetchInto is one fetch of fetchGroups: it says whether it handed
// anything over and how many messages came.
func fetchInto(ctx context.Context, fetch func(int, ...jetstream.FetchOpt) (jetstream.MessageBatch, error), n int,
	o ConsumerOptions, out chan<- fetched, opts ...jetstream.FetchOpt) (sent bool, got int, err error) {
	batch, err := fetch(n, append(opts, jetstream.FetchMaxWait(o.MaxWait))...)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
			return false, 0, nil
		}
		return false, 0, err
	}
	var group []jetstream.Msg
	events := 0
	hand := func() error {
		b := decodeFetch(group, o)
		group, events = nil, 0
		if len(b.evs) == 0 {
			return nil
		}
		select {
		case out <- b:
			sent = true
			return nil
		case <-ctx.Done():
			b.nak() // not stored: redelivered at once to whoever is next
			return ctx.Err()
		}
	}
	for m := range batch.Messages() {
		got++
		if err != nil {
			_ = m.NakWithDelay(time.Second) // stopping: the rest go back
			continue
		}
		c := msgEvents(m)
		if events > 0 && events+c > o.MaxEvents {
			err = hand()
		}
		if err != nil {
			_ = m.NakWithDelay(time.Second)
			continue
		}
		group = append(group, m)
		events += c
	}
	if err == nil && len(group) > 0 {
		err = hand()
	}
	if err == nil && got == 0 {
		if berr := batch.Error(); berr != nil && !errors.Is(berr, jetstream.ErrNoMessages) && !errors.Is(berr, context.DeadlineExceeded) {
			err = berr
		}
	}
	return sent, got, err
}

// msgEvents is how many events a message holds, by its count header.
func msgEvents(m jetstream.Msg) int {
	if h := m.Headers(); h != nil {
		if c, err := strconv.Atoi(h.Get(StreamCountHeader)); err == nil && c > 0 {
			return c
		}
	}
	return 1
}

// decodeFields turns the events' fields JSON into their Fields maps; an
// event whose fields do not decode keeps none (and is logged).
func decodeFields(evs []Event, log *slog.Logger) {
	for i := range evs {
		if err := evs[i].LoadFields(); err != nil {
			log.Error("events: fields that do not decode", "id", evs[i].ID, "err", err)
		}
	}
}

// unmarshalFields decodes an event's fields JSON as encoding/json.Unmarshal
// into a map[string]any would. Fields are flat (ingest flattens them):
// flatjson decodes them three times as fast, and anything else (an object
// inside, a number out of range) goes to encoding/json.
func unmarshalFields(b []byte) (map[string]any, error) {
	s := string(b)
	m := make(map[string]any, strings.Count(s, `"`)/3)
	if flatjson.DecodeRecord(s, m) == nil {
		return m, nil
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeFetch decodes msgs' events; a message none of whose lines is an
// event is terminated (logged, never redelivered), and a line that is
// not an event is logged and skipped.
func decodeFetch(msgs []jetstream.Msg, o ConsumerOptions) fetched {
	// The events go into one slice of the size the count headers give:
	// growing it message by message copied every event several times.
	size := 0
	for _, m := range msgs {
		size += msgEvents(m)
	}
	b := fetched{evs: make([]Event, 0, size)}
	for _, m := range msgs {
		n := len(b.evs)
		var err error
		// The message's data is its own (the client copies each message
		// out of its read buffer) and nothing writes to it: the events'
		// strings can be slices of it rather than of a copy.
		b.evs, err = appendStreamMessage(b.evs, m.Headers(), m.Data(), bytesString(m.Data()), o.Records)
		if err != nil {
			o.Logger.Error("events: not an event on the stream; dropped", "subject", m.Subject(), "err", err)
		}
		if len(b.evs) == n {
			if err == nil {
				o.Logger.Error("events: an empty message on the stream; dropped", "subject", m.Subject())
			}
			_ = m.Term()
			continue
		}
		b.msgs = append(b.msgs, m)
	}
	if o.DecodeFields {
		decodeFields(b.evs, o.Logger)
	}
	return b
}

// bytesString is b as a string without a copy; b must not change while
// the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// StreamCountHeader is the header of an events stream message giving how
// many events it holds, so a reader can count them without decoding.
const StreamCountHeader = "Vigil-Events"

// AppendStreamEvents decodes one message of the events stream and appends
// its events to dst. A message is NDJSON: each event as JSON on its own
// line (JSON strings escape every newline, so lines cannot be cut
// inside an event), all of one organisation (the message's subject).
// Before listeners batched, a message was one event's JSON without a
// newline — the same thing with one line, so a stream written before
// the change reads alike. A line that is not an event is reported,
// naming its line number, and the others are still appended.
func AppendStreamEvents(dst []Event, data []byte) ([]Event, error) {
	// One string for the message: the events' strings are slices of it
	// (decodeEventJSON), not an allocation each.
	return appendStreamEvents(dst, data, string(data))
}

// appendStreamEvents is AppendStreamEvents of data whose text is the
// same bytes as a string.
func appendStreamEvents(dst []Event, data []byte, text string) ([]Event, error) {
	var errs []error
	for line, lo := 1, 0; lo < len(data); line++ {
		hi := len(data)
		if i := bytes.IndexByte(data[lo:], '\n'); i >= 0 {
			hi = lo + i
		}
		l, t := data[lo:hi], text[lo:hi]
		lo = hi + 1
		if blank(l) {
			continue
		}
		ev, err := decodeStreamLine(l, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		dst = append(dst, ev)
	}
	return dst, errors.Join(errs...)
}

// blank says whether b is only JSON's whitespace.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// streamEvent is an Event as the stream carries it, its fields left as
// the JSON they are.
type streamEvent struct {
	Event
	Fields json.RawMessage `json:"fields"`
}

// decodeStreamEvent reads one event of the events stream: an Event as
// JSON, whose fields the store keeps as they came (Event.fieldsJSON).
func decodeStreamEvent(data []byte) (Event, error) {
	return decodeStreamLine(data, string(data))
}

// decodeStreamLine is decodeStreamEvent of line, whose text is the same
// bytes as a string: by hand when it can (decodeEventJSON), otherwise
// with encoding/json.
func decodeStreamLine(line []byte, text string) (Event, error) {
	ev, fields, ok := decodeEventJSON(line, text)
	if ok {
		ev.line = line
	} else {
		var w streamEvent
		if err := json.Unmarshal(line, &w); err != nil {
			return Event{}, err
		}
		ev, fields = w.Event, w.Fields
	}
	switch {
	case ev.ID == "":
		return Event{}, errors.New("no id")
	case ev.Org == "":
		return Event{}, errors.New("no org")
	case len(fields) > 0 && fields[0] == '{' && !htmlEscaped(fields):
		ev.fieldsJSON = fields
	case len(fields) > 0 && fields[0] == '{':
		// encoding/json's Marshal wrote < > & as \u003c…, which free
		// text would not find: decoded, and encoded again by the store.
		ev.line = nil
		if err := json.Unmarshal(fields, &ev.Fields); err != nil {
			return Event{}, err
		}
	case len(fields) == 0 || string(fields) == "null":
	default:
		return Event{}, errors.New("fields is not an object")
	}
	return ev, nil
}

func htmlEscaped(b []byte) bool {
	return bytes.Contains(b, []byte(`\u003c`)) || bytes.Contains(b, []byte(`\u003e`)) || bytes.Contains(b, []byte(`\u0026`))
}
