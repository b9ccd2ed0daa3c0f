package taxii

import (
	"net/http"
	"testing"
	"time"
)

// TestRetryAfter reads both forms RFC 9110 allows, and nothing else.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120": 2 * time.Minute, " 7200 ": 2 * time.Hour, "0": 0, "-5": 0, "soon": 0, "": 0,
		now.Add(90 * time.Minute).Format(http.TimeFormat): 90 * time.Minute,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := RetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
