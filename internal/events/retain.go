package events

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/store"
)

// Retain deletes what p no longer keeps, in two passes.
//
// By age: days older than every organisation's limit go whole — on
// PostgreSQL by dropping the day's partition, on SQLite by deleting the
// day's range of the time index — and then each organisation whose limit
// is shorter loses its own older days. By size: while an organisation's
// events take more than its MaxBytes (as events_hours counts them), its
// oldest day goes, never its newest.
func (s *SQL) Retain(ctx context.Context, p Policy) (RetainResult, error) {
	if s.db.Dialect == store.SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return retainDays(ctx, s, p, s.now())
}

// dayStore is what retention needs of a store: each organisation's events
// and bytes per day, dropping every organisation's days before a day
// whole, and deleting one organisation's days before a day (ds are its
// day counts, oldest first).
type dayStore interface {
	dayStats(ctx context.Context) (map[string][]dayStat, error)
	dropDaysBefore(ctx context.Context, day int64, stats map[string][]dayStat) ([]string, int64, error)
	deleteOrgBefore(ctx context.Context, org string, day int64, ds []dayStat) (int64, error)
}

// retainDays applies p at now to st, the same way for every store: the
// days before every organisation's age limit go whole, then each
// organisation's own older days, by age and then by size (never its
// newest day).
func retainDays(ctx context.Context, st dayStore, p Policy, now time.Time) (RetainResult, error) {
	var res RetainResult
	cutoff := func(l Limit) int64 { // the first day kept; MinInt64 keeps all
		if l.MaxAge <= 0 {
			return math.MinInt64
		}
		return dayOf(now.Add(-l.MaxAge).UnixNano()) + 1
	}
	days, err := st.dayStats(ctx)
	if err != nil {
		return res, err
	}
	limitOf := func(org string) Limit {
		if l, ok := p.Orgs[org]; ok {
			return l
		}
		return p.Default
	}

	// Whole days: those before every organisation's cut-off, including
	// the default's (which covers organisations yet to appear).
	whole := cutoff(p.Default)
	for _, l := range p.Orgs {
		whole = min(whole, cutoff(l))
	}
	if whole != math.MinInt64 {
		dropped, n, err := st.dropDaysBefore(ctx, whole, days)
		if err != nil {
			return res, err
		}
		res.DaysDropped, res.Deleted = dropped, n
		if days, err = st.dayStats(ctx); err != nil {
			return res, err
		}
	}

	// Each organisation's own age, then size.
	orgs := make([]string, 0, len(days))
	for org := range days {
		orgs = append(orgs, org)
	}
	sort.Strings(orgs)
	for _, org := range orgs {
		l := limitOf(org)
		ds := days[org]
		cut := cutoff(l)
		if l.MaxBytes > 0 {
			// Newest first: keep days while they fit; the newest always.
			var sum int64
			for i := len(ds) - 1; i >= 0; i-- {
				sum += ds[i].bytes
				if sum > l.MaxBytes && i < len(ds)-1 {
					cut = max(cut, ds[i].day+1)
					break
				}
			}
		}
		if cut == math.MinInt64 || len(ds) == 0 || ds[0].day >= cut {
			continue
		}
		n, err := st.deleteOrgBefore(ctx, org, cut, ds)
		if err != nil {
			return res, err
		}
		res.Deleted += n
	}
	return res, nil
}

// daysBefore sums the events of the days before day in stats and gives
// those days: what dropping them removes.
func daysBefore(stats map[string][]dayStat, day int64) (int64, map[int64]bool) {
	var n int64
	set := map[int64]bool{}
	for _, ds := range stats {
		for _, d := range ds {
			if d.day < day {
				n += d.events
				set[d.day] = true
			}
		}
	}
	return n, set
}

// dayNames are the days of set as dates, in order.
func dayNames(set map[int64]bool) []string {
	names := make([]string, 0, len(set))
	for d := range set {
		names = append(names, dayName(d))
	}
	sort.Strings(names)
	return names
}

type dayStat struct {
	day           int64
	events, bytes int64
}

// dayStats reads events_hours summed by day: per organisation, its days
// oldest first.
func (s *SQL) dayStats(ctx context.Context) (map[string][]dayStat, error) {
	return readDayStats(ctx, s.db)
}

// readDayStats sums events_hours by organisation and day.
func readDayStats(ctx context.Context, db *store.DB) (map[string][]dayStat, error) {
	rows, err := db.Q().QueryContext(ctx, `SELECT org, hour, events, bytes FROM events_hours ORDER BY org, hour`)
	if err != nil {
		return nil, fmt.Errorf("events: read hour counts: %w", err)
	}
	defer rows.Close()
	out := map[string][]dayStat{}
	for rows.Next() {
		var org string
		var hour, events, bytes int64
		if err := rows.Scan(&org, &hour, &events, &bytes); err != nil {
			return nil, fmt.Errorf("events: read hour counts: %w", err)
		}
		day := dayOf(hour * nsPerHour)
		ds := out[org]
		if len(ds) == 0 || ds[len(ds)-1].day != day {
			ds = append(ds, dayStat{day: day})
		}
		ds[len(ds)-1].events += events
		ds[len(ds)-1].bytes += bytes
		out[org] = ds
	}
	return out, rows.Err()
}

// dropDaysBefore removes every event of days before day.
func (s *SQL) dropDaysBefore(ctx context.Context, day int64, stats map[string][]dayStat) ([]string, int64, error) {
	n, set := daysBefore(stats, day)
	if s.db.Dialect == store.Postgres {
		parts, err := s.partitions(ctx)
		if err != nil {
			return nil, 0, err
		}
		for _, d := range parts {
			if d < day {
				set[d] = true
			}
		}
	}
	names := dayNames(set)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if s.db.Dialect == store.Postgres {
			for d := range set {
				// DDL takes no bound values; the name is made from an
				// integer day number.
				name := "events_d" + strings.ReplaceAll(dayName(d), "-", "")
				if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
					return fmt.Errorf("events: drop partition %s: %w", name, err)
				}
				s.days.Delete(d)
			}
		} else if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE event_ns < ?`, day*nsPerDay); err != nil {
			return fmt.Errorf("events: delete days before %s: %w", dayName(day), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events_hours WHERE hour < ?`, day*24); err != nil {
			return fmt.Errorf("events: delete day counts: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return names, n, nil
}

// partitions lists the day numbers of the PostgreSQL partitions of events
// in the current schema.
func (s *SQL) partitions(ctx context.Context) ([]int64, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'events' AND p.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("events: list partitions: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		t, err := parseDayName(strings.TrimPrefix(name, "events_d"))
		if err != nil {
			continue // not one of ours
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func parseDayName(s string) (int64, error) {
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, err
	}
	return dayOf(t.UnixNano()), nil
}

// deleteOrgBefore deletes org's events of days before day.
func (s *SQL) deleteOrgBefore(ctx context.Context, org string, day int64, _ []dayStat) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q, args := `DELETE FROM events WHERE org = ? AND event_ns < ?`, []any{org, day * nsPerDay}
		if s.db.Dialect == store.Postgres {
			q, args = `DELETE FROM events WHERE org = ? AND day < ?`, []any{org, day}
		}
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("events: delete %s's days before %s: %w", org, dayName(day), err)
		}
		n, _ = r.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM events_hours WHERE org = ? AND hour < ?`, org, day*24); err != nil {
			return fmt.Errorf("events: delete day counts: %w", err)
		}
		return nil
	})
	return n, err
}
