package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The store's side of the ingest flow (DESIGN: "durable consumers, each
// acks after its own write"): a durable consumer of the events stream that
// fetches a batch, appends it to the Store in one call and only then
// acknowledges its messages. A crash before the acknowledgement
// redelivers the batch, which Append's idempotence by ID stores once.

// DefaultDurable is the store consumer's name; its pending messages are
// the store's lag behind the stream.
const DefaultDurable = "events-store"

// ConsumerOptions configure Consume.
type ConsumerOptions struct {
	// Stream is the stream to read (ingest.EventStream); it must exist.
	Stream string
	// Durable is the consumer's name (default DefaultDurable).
	Durable string
	// Batch is how many messages a fetch asks for (default 1000).
	Batch int
	// MaxWait is how long a fetch waits for a full batch (default 250 ms).
	MaxWait time.Duration
	Logger  *slog.Logger
	// Stored, when set, is told each batch stored (for metrics and tests).
	Stored func(n int)
}

// Consume starts storing the stream's events in st and returns a stop
// function that ends it and waits for the batch under way.
func Consume(ctx context.Context, js jetstream.JetStream, st Store, o ConsumerOptions) (stop func(), err error) {
	if o.Stream == "" || st == nil || js == nil {
		return nil, errors.New("events: consume: stream, store and JetStream are required")
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
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable:       o.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 32 * o.Batch,
	})
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
			b, err := fetchBatch(cons, o)
			if err != nil || len(b.evs) == 0 {
				return false, err
			}
			select {
			case batches <- b:
				return true, nil
			case <-cctx.Done():
				b.nak() // not stored: redelivered at once to whoever is next
				return false, cctx.Err()
			}
		})
	}()
	go func() {
		defer wg.Done()
		retry(cctx, o.Logger, "events: store a batch", func() (bool, error) {
			b, ok := <-batches
			if !ok {
				return false, cctx.Err()
			}
			if err := st.Append(cctx, b.evs); err != nil {
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

// fetchBatch fetches up to o.Batch messages and decodes their events; a
// message that is not an event is terminated (logged, never
// redelivered). No messages within o.MaxWait is an empty batch.
func fetchBatch(cons jetstream.Consumer, o ConsumerOptions) (fetched, error) {
	batch, err := cons.Fetch(o.Batch, jetstream.FetchMaxWait(o.MaxWait))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
			return fetched{}, nil
		}
		return fetched{}, err
	}
	var b fetched
	for m := range batch.Messages() {
		ev, err := decodeStreamEvent(m.Data())
		if err != nil {
			o.Logger.Error("events: not an event on the stream; dropped", "subject", m.Subject(), "err", err)
			_ = m.Term()
			continue
		}
		b.msgs = append(b.msgs, m)
		b.evs = append(b.evs, ev)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && len(b.msgs) == 0 {
		return fetched{}, err
	}
	return b, nil
}

// streamEvent is an Event as the stream carries it, its fields left as
// the JSON they are.
type streamEvent struct {
	Event
	Fields json.RawMessage `json:"fields"`
}

// decodeStreamEvent reads one message of the events stream: an Event as
// JSON, whose fields the store keeps as they came (Event.fieldsJSON).
func decodeStreamEvent(data []byte) (Event, error) {
	var w streamEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, err
	}
	ev := w.Event
	switch {
	case ev.ID == "":
		return Event{}, errors.New("no id")
	case ev.Org == "":
		return Event{}, errors.New("no org")
	case len(w.Fields) > 0 && w.Fields[0] == '{' && !htmlEscaped(w.Fields):
		ev.fieldsJSON = w.Fields
	case len(w.Fields) > 0 && w.Fields[0] == '{':
		// encoding/json's Marshal wrote < > & as \u003c…, which free
		// text would not find: decoded, and encoded again by the store.
		if err := json.Unmarshal(w.Fields, &ev.Fields); err != nil {
			return Event{}, err
		}
	case len(w.Fields) == 0 || string(w.Fields) == "null":
	default:
		return Event{}, errors.New("fields is not an object")
	}
	return ev, nil
}

func htmlEscaped(b []byte) bool {
	return bytes.Contains(b, []byte(`\u003c`)) || bytes.Contains(b, []byte(`\u003e`)) || bytes.Contains(b, []byte(`\u0026`))
}
