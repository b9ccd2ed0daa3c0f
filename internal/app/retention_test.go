package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
)

// --events-retention RJ1=/1MiB: serve applies retention by size to RJ1
// alone, as soon as it starts, dropping RJ1's oldest days and keeping its
// newest; another trust's events, under no limit, stay whole.
func TestServeRetentionBySizePerOrganisation(t *testing.T) {
	data := t.TempDir()
	first := startWith(t, func(c *config.Config) { c.DataDir = data; c.EventsMaxAge = "forever" })
	ctx := context.Background()
	// Yesterday's noon, so that each day's events lie in one UTC day
	// whatever the hour the test runs.
	now := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	var evs []events.Event
	for _, org := range []string{"RJ1", "RJZ"} {
		for day := range 3 {
			for i := range 250 {
				// Random bytes as hex: compressed (both stores compress
				// the raw text) each still takes about 2.4 KB.
				raw := make([]byte, 2400)
				_, _ = rand.Read(raw)
				at := now.Add(-time.Duration(day)*24*time.Hour - time.Duration(i)*time.Second)
				evs = append(evs, events.Event{ID: fmt.Sprintf("%s-%d-%d", org, day, i), Org: org, ReceivedAt: at, EventTime: at,
					Source: events.Source{Protocol: "file"}, Fields: map[string]any{"n": float64(i)}, Raw: hex.EncodeToString(raw)})
			}
		}
	}
	if err := first.Events.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	s := startWith(t, func(c *config.Config) {
		c.DataDir = data
		c.EventsMaxAge = "forever"
		c.EventsRetentionOrgs = "RJ1=/1MiB"
	})
	count := func(org string, since time.Duration) int64 {
		t.Helper()
		n, err := s.Events.Count(ctx, scope.System("test"), events.Query{Text: "org=" + org, Since: now.Add(-since)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for count("RJ1", 96*time.Hour) == 750 {
		if time.Now().After(deadline) {
			t.Fatal("RJ1 still holds all 750 events (about 1.8 MB compressed) over its 1 MiB limit")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count("RJ1", 23*time.Hour); n != 250 {
		t.Errorf("RJ1's newest day holds %d events, want all 250", n)
	}
	if n := count("RJ1", 96*time.Hour); n > 500 {
		t.Errorf("RJ1 holds %d events after retention, want its oldest day gone", n)
	}
	if n := count("RJZ", 96*time.Hour); n != 750 {
		t.Errorf("RJZ holds %d events, want all 750 (it has no limit)", n)
	}
}
