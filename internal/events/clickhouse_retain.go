package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Retain deletes what p no longer keeps, by the SQL store's rules
// (retain.go): days older than every organisation's age limit are dropped
// whole — `ALTER TABLE events DROP PARTITION`, the day's files removed at
// once — then each organisation whose own age limit is shorter, or whose
// events take more than its MaxBytes, loses its older days (never its
// newest) by a mutation, `ALTER TABLE events DELETE WHERE org = … AND
// event_ns < …`, which the server applies by rewriting those days' parts;
// Retain waits for it to finish. ClickHouse 18.16 has no table TTL, which
// would otherwise do the first part by itself.
func (s *ClickHouse) Retain(ctx context.Context, p Policy) (RetainResult, error) {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	res, err := retainDays(ctx, s, p, s.now())
	if err != nil {
		return res, err
	}
	return res, s.waitMutations(ctx)
}

// deleteOrgBefore deletes org's events of days before day by a mutation
// (Retain waits for them all), counting them from ds.
func (s *ClickHouse) deleteOrgBefore(ctx context.Context, org string, day int64, ds []dayStat) (int64, error) {
	var n int64
	for _, d := range ds {
		if d.day < day {
			n += d.events
		}
	}
	q := "ALTER TABLE events DELETE WHERE org = " + chString(org) + " AND event_ns < " + strconv.FormatInt(day*nsPerDay, 10)
	if err := s.exec(ctx, s.db, q); err != nil {
		return 0, fmt.Errorf("events: delete %s's days before %s: %w", org, dayName(day), err)
	}
	return n, nil
}

// chMutationWait bounds how long Retain waits for its deletes: a mutation
// the server cannot finish must not hold the retention ticker for ever
// (18.16's system.mutations says nothing of failures); the next run waits
// again.
const chMutationWait = 30 * time.Minute

// waitMutations waits until the server has applied every mutation of the
// events table (18.16 has no setting to make ALTER … DELETE wait).
func (s *ClickHouse) waitMutations(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, chMutationWait)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		var n struct {
			C int64 `json:"c"`
		}
		err := s.query(ctx, "SELECT count() AS c FROM system.mutations WHERE database = "+chString(s.db)+" AND table = 'events' AND is_done = 0",
			func(row []byte) error { return json.Unmarshal(row, &n) })
		if err != nil {
			return fmt.Errorf("events: wait for deletes: %w", err)
		}
		if n.C == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("events: %d deletes still running on the server: %w", n.C, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// dayStats counts each organisation's events and bytes per day, oldest
// first, from the events themselves: three narrow columns, which the
// server reads at hundreds of millions of rows a second.
func (s *ClickHouse) dayStats(ctx context.Context) (map[string][]dayStat, error) {
	out := map[string][]dayStat{}
	err := s.query(ctx, "SELECT org, toString(day) AS d, count() AS n, sum(size) AS b FROM events GROUP BY org, day ORDER BY org, day", func(row []byte) error {
		var r struct {
			Org string `json:"org"`
			D   string `json:"d"`
			N   int64  `json:"n"`
			B   int64  `json:"b"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		day, err := parseDayName(r.D[:4] + r.D[5:7] + r.D[8:10])
		if err != nil {
			return err
		}
		out[r.Org] = append(out[r.Org], dayStat{day: day, events: r.N, bytes: r.B})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events: read day counts: %w", err)
	}
	return out, nil
}

// dropDaysBefore drops the partitions (days) before day.
func (s *ClickHouse) dropDaysBefore(ctx context.Context, day int64, stats map[string][]dayStat) ([]string, int64, error) {
	n, set := daysBefore(stats, day)
	err := s.query(ctx, "SELECT DISTINCT partition AS p FROM system.parts WHERE database = "+chString(s.db)+" AND table = 'events' AND active", func(row []byte) error {
		var r struct {
			P string `json:"p"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		if len(r.P) != 10 {
			return nil // not a day
		}
		d, err := parseDayName(r.P[:4] + r.P[5:7] + r.P[8:10])
		if err == nil && d < day {
			set[d] = true
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("events: list partitions: %w", err)
	}
	names := dayNames(set)
	for _, name := range names {
		// The partition's value, made from an integer day number.
		if err := s.exec(ctx, s.db, "ALTER TABLE events DROP PARTITION '"+name+"'"); err != nil {
			return nil, 0, fmt.Errorf("events: drop day %s: %w", name, err)
		}
	}
	return names, n, nil
}
