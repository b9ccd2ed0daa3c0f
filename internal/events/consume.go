package events

import (
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
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable:       o.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       2 * time.Minute,
		MaxAckPending: 4 * o.Batch,
	})
	if err != nil {
		return nil, fmt.Errorf("events: consumer %s on %s: %w", o.Durable, o.Stream, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		backoff := time.Second
		for cctx.Err() == nil {
			n, err := consumeBatch(cctx, cons, st, o)
			if err != nil {
				if cctx.Err() != nil {
					return
				}
				o.Logger.Warn("events: store a batch", "err", err, "retry_in", backoff)
				select {
				case <-cctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			backoff = time.Second
			if n > 0 && o.Stored != nil {
				o.Stored(n)
			}
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}

// consumeBatch fetches up to o.Batch messages, appends their events and
// acknowledges them; a message that is not an event is terminated (logged,
// never redelivered), and a store failure hands the batch back.
func consumeBatch(ctx context.Context, cons jetstream.Consumer, st Store, o ConsumerOptions) (int, error) {
	batch, err := cons.Fetch(o.Batch, jetstream.FetchMaxWait(o.MaxWait))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
			return 0, nil
		}
		return 0, err
	}
	var msgs []jetstream.Msg
	var evs []Event
	for m := range batch.Messages() {
		var ev Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil || ev.ID == "" || ev.Org == "" {
			o.Logger.Error("events: not an event on the stream; dropped", "subject", m.Subject(), "err", err)
			_ = m.Term()
			continue
		}
		msgs = append(msgs, m)
		evs = append(evs, ev)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && len(msgs) == 0 {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	if err := st.Append(ctx, evs); err != nil {
		for _, m := range msgs {
			_ = m.NakWithDelay(time.Second)
		}
		return 0, err
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			// Redelivered later and stored once (Append is idempotent).
			o.Logger.Warn("events: ack", "err", err)
		}
	}
	return len(evs), nil
}
