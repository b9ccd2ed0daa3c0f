package events

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
)

// Window is the one rule for a search's time range, shared by the API, the
// pages and the command line: either since (a duration back from now:
// 15m, 24h, 7d, 2w) or from and to (RFC 3339 times or dates, to
// defaulting to now), never both; with neither, the last 24 hours.
func Window(since, from, to string, now time.Time) (time.Time, time.Time, error) {
	since, from, to = strings.TrimSpace(since), strings.TrimSpace(from), strings.TrimSpace(to)
	if since != "" && (from != "" || to != "") {
		return time.Time{}, time.Time{}, &fault.Invalid{Field: "since", Reason: "give either since (a duration such as 24h or 7d) or from and to, not both"}
	}
	if from == "" && to == "" {
		if since == "" {
			since = "24h"
		}
		d, err := ParseAgo(since)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return now.Add(-d), time.Time{}, nil
	}
	var start, end time.Time
	var err error
	if from != "" {
		if start, err = parseWhen("from", from); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if to != "" {
		if end, err = parseWhen("to", to); err != nil {
			return time.Time{}, time.Time{}, err
		}
		if !start.IsZero() && !end.After(start) {
			return time.Time{}, time.Time{}, &fault.Invalid{Field: "to", Reason: "must be after from"}
		}
	}
	return start, end, nil
}

// ParseAgo reads a duration back from now: 90s, 15m, 24h, 7d or 2w.
func ParseAgo(s string) (time.Duration, error) {
	bad := &fault.Invalid{Field: "since", Reason: strconv.Quote(s) + ": want a duration such as 15m, 24h, 7d or 2w"}
	if s == "" {
		return 0, bad
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if m, ok := unit[s[len(s)-1]]; ok {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 || n > 3660 {
			return 0, bad
		}
		return time.Duration(n) * m, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// parseWhen reads an RFC 3339 time or a date (midnight UTC).
func parseWhen(field, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &fault.Invalid{Field: field, Reason: strconv.Quote(s) + ": want an RFC 3339 time such as 2026-12-06T09:00:00Z, or a date"}
}

// HistogramRange is the range and number of bars (at most max) in which
// a page draws q's histogram. A range of a day or more is drawn in whole
// hours — its start rounded down and its end up to the hour, each bar a
// whole number of hours — so that a histogram of every event reads the
// hourly counts (events_hours) rather than the events: over 7 days at
// 10M events, 3 ms instead of 5.3 s. The first bar may so begin up to an
// hour before the range; the caption says where the bars start. A
// shorter range is drawn as asked, in max bars.
func HistogramRange(q Query, now time.Time, max int) (Query, int) {
	until, since := q.Until, q.Since
	if until.IsZero() {
		until = now
	}
	if since.IsZero() {
		since = until.Add(-24 * time.Hour)
	}
	if max <= 0 || until.Sub(since) < 24*time.Hour {
		return q, max
	}
	start := since.Truncate(time.Hour)
	end := until.Truncate(time.Hour)
	if end.Before(until) {
		end = end.Add(time.Hour)
	}
	hours := int64(end.Sub(start) / time.Hour)
	width := (hours + int64(max) - 1) / int64(max)
	n := (hours + width - 1) / width
	q.Since, q.Until = start, start.Add(time.Duration(n*width)*time.Hour)
	return q, int(n)
}
