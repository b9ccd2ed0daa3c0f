package events

import (
	"context"
	"log/slog"
	"time"
)

// RunRetention applies p every interval until ctx ends or stop is called
// (the first time at once): `vigil serve`'s retention ticker. Every server
// of a deployment runs it; Retain is safe to run twice, and the second
// finds nothing to delete. Failures are logged and tried again next time.
func RunRetention(ctx context.Context, st Store, p Policy, interval time.Duration, log *slog.Logger) (stop func()) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			res, err := st.Retain(ctx, p)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("events retention", "err", err)
			case res.Deleted > 0 || len(res.DaysDropped) > 0:
				log.Info("events retention", "deleted", res.Deleted, "days_dropped", res.DaysDropped)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
