package events

import (
	"strings"
	"testing"
	"time"
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
