package audit

import (
	"context"
	"log/slog"
	"time"
)

// PublishOptions configure PublishHeads.
type PublishOptions struct {
	// Publish sends the head somewhere outside the database (the bus). A
	// failure is logged and the head is sent again at the next change.
	Publish func(ctx context.Context, h Head) error
	// MinInterval spaces publications: at most one per interval (default
	// one second), whatever the rate of commits; the last head is always
	// sent.
	MinInterval time.Duration
	// Poll is how often the head is read without a commit in this
	// process, to publish entries other processes appended (default 30 s).
	Poll   time.Duration
	Logger *slog.Logger
}

// PublishHeads sends the chain head through o.Publish when it has
// moved: after commits of this process (throttled to one publication per
// MinInterval) and, for entries appended by other processes, when a poll
// finds it moved. It publishes the current head when it starts and runs
// until ctx ends. A collector that keeps what it receives holds a record
// of the chain outside the database, against which a cut end shows
// (`vigil audit verify --expect-head`). Only one PublishHeads may run per
// Log.
func (l *Log) PublishHeads(ctx context.Context, o PublishOptions) {
	if o.MinInterval <= 0 {
		o.MinInterval = time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	poll := time.NewTicker(o.Poll)
	defer poll.Stop()
	var last Head
	sent := false
	for {
		h, err := l.Head(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			o.Logger.Warn("audit head: read", "err", err)
		case !sent || h != last:
			if err := o.Publish(ctx, h); err != nil {
				if ctx.Err() != nil {
					return
				}
				o.Logger.Warn("audit head: publish", "seq", h.Seq, "err", err)
			} else {
				last, sent = h, true
			}
		}
		// Commits meanwhile are coalesced into one signal.
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.MinInterval):
		}
		select {
		case <-ctx.Done():
			return
		case <-l.changed:
		case <-poll.C:
		}
	}
}
