package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		since, from, to string
		start, end      string
		err             string
	}{
		{"", "", "", "2026-12-05T12:00:00Z", "", ""},
		{"7d", "", "", "2026-11-29T12:00:00Z", "", ""},
		{"90m", "", "", "2026-12-06T10:30:00Z", "", ""},
		{"", "2026-12-01", "2026-12-02T06:00:00Z", "2026-12-01T00:00:00Z", "2026-12-02T06:00:00Z", ""},
		{"", "2026-12-01", "", "2026-12-01T00:00:00Z", "", ""},
		{"24h", "2026-12-01", "", "", "", "not both"},
		{"yesterday", "", "", "", "", "want a duration"},
		{"-5d", "", "", "", "", "want a duration"},
		{"", "soon", "", "", "", "want an RFC 3339 time"},
		{"", "2026-12-02", "2026-12-01", "", "", "after from"},
	} {
		s, e, err := Window(c.since, c.from, c.to, now)
		if c.err != "" {
			if err == nil || !contains(err.Error(), c.err) {
				t.Errorf("Window(%q,%q,%q) error %v, want %q", c.since, c.from, c.to, err, c.err)
			}
			continue
		}
		if err != nil || fmtT(s) != c.start || fmtT(e) != c.end {
			t.Errorf("Window(%q,%q,%q) = %s, %s, %v; want %s, %s", c.since, c.from, c.to, fmtT(s), fmtT(e), err, c.start, c.end)
		}
	}
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A cell a sender wrote never starts a spreadsheet formula.
func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "host1": "host1", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// A page's histogram of a day or more is drawn in whole hours, so that a
// histogram of every event can read the hourly counts.
func TestHistogramRange(t *testing.T) {
	now := time.Date(2026, 12, 6, 17, 42, 13, 0, time.UTC)
	q, n := HistogramRange(Query{Since: now.Add(-7 * 24 * time.Hour)}, now, 48)
	if !q.Since.Equal(time.Date(2026, 11, 29, 17, 0, 0, 0, time.UTC)) || n > 48 || n < 40 {
		t.Fatalf("7 days: %s to %s in %d bars", q.Since, q.Until, n)
	}
	width := q.Until.Sub(q.Since) / time.Duration(n)
	if width%time.Hour != 0 || q.Until.Before(now) || q.Until.Sub(now) > width+time.Hour {
		t.Errorf("7 days: bars of %s ending %s", width, q.Until)
	}
	// Short ranges are drawn as asked.
	short := Query{Since: now.Add(-15 * time.Minute)}
	if got, n := HistogramRange(short, now, 48); got != short || n != 48 {
		t.Errorf("15 minutes: %+v in %d bars", got, n)
	}
	// The store answers the aligned histogram of every event from its
	// hourly counts, and the bars hold every event of the range.
	eachEngine(t, func(t *testing.T, s engine, clk *clock) {
		ctx := context.Background()
		if err := s.Append(ctx, sample()); err != nil {
			t.Fatal(err)
		}
		q, n := HistogramRange(Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0}, t0, 48)
		bs, err := s.Histogram(ctx, scope.System("test"), q, n)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for _, b := range bs {
			total += b.Count
		}
		want, err := s.Count(ctx, scope.System("test"), Query{Since: t0.Add(-7 * 24 * time.Hour), Until: t0.Add(time.Nanosecond)})
		if err != nil {
			t.Fatal(err)
		}
		if total != want || len(bs) != n {
			t.Errorf("%d bars hold %d events, want %d", len(bs), total, want)
		}
	})
}
