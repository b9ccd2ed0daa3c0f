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
		st, err := prepareBatch(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		var changes []audit.Actor
		var evs []Event
		counts := map[string]int{}
		for i, r := range batch {
			cr, change, err := w.s.storeAlert(ctx, tx, st, r)
			if err != nil {
				return err
			}
			res[i] = createRes{res: cr}
			if cr.Redelivered {
				continue
			}
			changes = append(changes, audit.Actor{Scope: r.sc, Change: change})
			if cr.Created {
				counts[cr.Alert.Org]++
			}
			kind := "alert.created"
			if !cr.Created {
				kind = "alert.repeated"
			}
			a := cr.Alert
			evs = append(evs, Event{Kind: kind, Org: a.Org, Alert: a.ID, Actor: actorName(r.sc), At: a.UpdatedAt,
				Detail: map[string]string{"severity": string(a.Severity), "source": a.Source, "type": a.Type}})
		}
		for _, org := range sortedKeys(counts) {
			if err := countAlerts(ctx, tx, org, counts[org]); err != nil {
				return err
			}
		}
		if _, err := w.s.audit.AppendAll(ctx, tx, changes); err != nil {
			return err
		}
		w.s.after(tx, "alerts", evs...)
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

// batchStmts are the writer's statements, prepared once per batch:
// SQLite parses a statement on every execution otherwise, which was a
// fifth of the writer's time.
type batchStmts struct {
	upsert, message, record *sql.Stmt
}

func prepareBatch(ctx context.Context, tx *store.Tx) (*batchStmts, error) {
	st := &batchStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&st.upsert, upsertAlertSQL}, {&st.message, `SELECT alert_id FROM alert_messages WHERE msg_id = ?`},
		{&st.record, `INSERT INTO alert_messages (msg_id, alert_id, received_at) VALUES (?, ?, ?)`}} {
		var err error
		if *p.dst, err = tx.Raw().PrepareContext(ctx, tx.Rebind(p.q)); err != nil {
			st.close()
			return nil, fmt.Errorf("cases: prepare: %w", err)
		}
	}
	return st, nil
}

func (st *batchStmts) close() {
	for _, s := range []*sql.Stmt{st.upsert, st.message, st.record} {
		if s != nil {
			_ = s.Close() // prepared inside a finished transaction: nothing left to lose
		}
	}
}

// storeAlert stores one request inside tx — the alert (or its repeat) and
// the bus message ID — and returns its audit change.
func (s *Service) storeAlert(ctx context.Context, tx *store.Tx, st *batchStmts, r createReq) (CreateResult, audit.Change, error) {
	a := r.alert
	if r.msgID != "" {
		var id string
		err := st.message.QueryRowContext(ctx, r.msgID).Scan(&id)
		if err == nil {
			stored, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
			if err != nil {
				return CreateResult{}, audit.Change{}, fmt.Errorf("cases: read alert of message %s: %w", r.msgID, err)
			}
			return CreateResult{Alert: stored, Redelivered: true}, audit.Change{}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return CreateResult{}, audit.Change{}, fmt.Errorf("cases: look up message %s: %w", r.msgID, err)
		}
	}
	created, err := insertAlert(ctx, tx, st.upsert, &a)
	if err != nil {
		return CreateResult{}, audit.Change{}, err
	}
	if r.msgID != "" {
		if _, err := st.record.ExecContext(ctx, r.msgID, a.ID, ts(s.now())); err != nil {
			return CreateResult{}, audit.Change{}, fmt.Errorf("cases: record message %s: %w", r.msgID, err)
		}
	}
	c := audit.Change{Action: "alert.create", ObjectType: "alert", ObjectID: a.ID, Org: a.Org, After: a}
	if !created {
		c = audit.Change{Action: "alert.repeat", ObjectType: "alert", ObjectID: a.ID, Org: a.Org,
			After: map[string]any{"occurrences": a.Occurrences, "last_seen": a.LastSeen, "source_ref": a.SourceRef}}
	}
	return CreateResult{Alert: a, Created: created}, c, nil
}
