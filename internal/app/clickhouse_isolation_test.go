package app

import (
	"testing"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/events/chtest"
)

// TestTenantIsolationEventsOnClickHouse walks every route as
// TestTenantIsolation does, with `vigil serve --events-url` putting the
// events on ClickHouse (issue 21): the events routes, the search pages,
// counts, histograms and exports read from there, under the same scope.
func TestTenantIsolationEventsOnClickHouse(t *testing.T) {
	bundle := attackBundle(t)
	testTenantIsolation(t, func(t testing.TB) *Server {
		s := startWith(t, func(c *config.Config) {
			c.EventsURL, c.Attack, c.VulnOSV, c.IntelFeedsPrivate = chtest.URL(t), bundle, isolationOSV(t), true
		})
		if _, ok := s.Events.(*events.ClickHouse); !ok {
			t.Fatalf("--events-url gave a %T store", s.Events)
		}
		return s
	})
}
