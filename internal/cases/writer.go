package cases

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The alert writer: one goroutine takes creation requests and commits all
// those waiting at that moment in one transaction, each with its own audit
// entry, then answers each. Why: SQLite has one writer at a time, and
// connections that contend for it wait in its busy handler, which sleeps
// (1 ms, 2 ms, 5 ms … up to 100 ms) — measured, fifty clients creating
// alerts through their own transactions reached a few hundred a second,
// most of it asleep. Queued in Go, the writer never contends, and a batch
// pays for BEGIN and COMMIT once. On PostgreSQL the audit chain's head row
// serialises writers anyway, so batching helps there too. A request waits
// for no timer: a lone request is committed at once, alone.

// createReq is one alert to store. msgID, when set, is the bus message it
// came from: a message already stored is answered Redelivered and changes
// nothing.
type createReq struct {
	alert Alert
	sc    scope.Scope
	msgID string
	done  chan createRes
}

type createRes struct {
	res CreateResult
	err error
}

type writer struct {
	s    *Service
	max  int
	reqs chan createReq
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.RWMutex
	shut bool
}

func newWriter(s *Service, max int) *writer {
	w := &writer{s: s, max: max, reqs: make(chan createReq, max), stop: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w
}

// errClosed answers requests after Close.
var errClosed = fault.New(fault.ErrUnavailable, "the alert service is shutting down; send the alert again")

func (w *writer) submit(ctx context.Context, r createReq) (CreateResult, error) {
	r.done = make(chan createRes, 1)
	w.mu.RLock()
	if w.shut {
		w.mu.RUnlock()
		return CreateResult{}, errClosed
	}
	select {
	case w.reqs <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return CreateResult{}, context.Cause(ctx)
	}
	// Once queued the request is written whatever the caller's context
	// does, so its answer is waited for: a caller that left simply does
	// not read it (done is buffered).
	select {
	case res := <-r.done:
		return res.res, res.err
	case <-ctx.Done():
		return CreateResult{}, context.Cause(ctx)
	}
}

func (w *writer) close() {
	w.mu.Lock()
	w.shut = true
	w.mu.Unlock()
	close(w.reqs)
	w.wg.Wait()
}

func (w *writer) run() {
	defer w.wg.Done()
	batch := make([]createReq, 0, w.max)
	for r := range w.reqs {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < w.max {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.write(batch)
	}
}

// write commits batch in one transaction. If that fails, each request is
// retried alone, so one request's failure (a unique message ID taken by
// another process meanwhile) fails only that request.
func (w *writer) write(batch []createReq) {
	// Background: the requests' own contexts may end while they wait, and
	// a batch must not fail because one caller left.
	ctx := context.Background()
	res := make([]createRes, len(batch))
	err := w.s.db.InTx(ctx, func(tx *store.Tx) error {
		for i := range batch {
			r, err := w.s.storeAlert(ctx, tx, batch[i])
			if err != nil {
				return err
			}
			res[i] = createRes{res: r}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			w.write([]createReq{r})
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			res[i] = createRes{err: err}
		}
		r.done <- res[i]
	}
}

// storeAlert stores one request inside tx: the alert (or its repeat), the
// bus message ID, the audit entry and the event.
func (s *Service) storeAlert(ctx context.Context, tx *store.Tx, r createReq) (CreateResult, error) {
	a := r.alert
	if r.msgID != "" {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT alert_id FROM alert_messages WHERE msg_id = ?`, r.msgID).Scan(&id)
		if err == nil {
			stored, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
			if err != nil {
				return CreateResult{}, fmt.Errorf("cases: read alert of message %s: %w", r.msgID, err)
			}
			return CreateResult{Alert: stored, Redelivered: true}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return CreateResult{}, fmt.Errorf("cases: look up message %s: %w", r.msgID, err)
		}
	}
	created, err := insertAlert(ctx, tx, &a)
	if err != nil {
		return CreateResult{}, err
	}
	if r.msgID != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_messages (msg_id, alert_id, received_at) VALUES (?, ?, ?)`, r.msgID, a.ID, ts(s.now())); err != nil {
			return CreateResult{}, fmt.Errorf("cases: record message %s: %w", r.msgID, err)
		}
	}
	c := audit.Change{Action: "alert.create", ObjectType: "alert", ObjectID: a.ID, Org: a.Org, After: a}
	kind := "alert.created"
	if !created {
		c = audit.Change{Action: "alert.repeat", ObjectType: "alert", ObjectID: a.ID, Org: a.Org,
			After: map[string]any{"occurrences": a.Occurrences, "last_seen": a.LastSeen, "source_ref": a.SourceRef}}
		kind = "alert.repeated"
	}
	if _, err := s.audit.Append(ctx, tx, r.sc, c); err != nil {
		return CreateResult{}, err
	}
	s.after(tx, "alert:"+a.ID+":"+fmt.Sprint(a.Occurrences), Event{Kind: kind, Org: a.Org, Alert: a.ID, Actor: actorName(r.sc), At: a.UpdatedAt,
		Detail: map[string]string{"severity": string(a.Severity), "source": a.Source, "type": a.Type}})
	return CreateResult{Alert: a, Created: created}, nil
}
